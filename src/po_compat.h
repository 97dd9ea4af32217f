/*-------------------------------------------------------------------------
 *
 * po_compat.h
 *	  Every PG_VERSION_NUM test of pool_observer lives here.
 *
 * Built and tested (`make test`, test/matrix.sh) against PostgreSQL 15, 17,
 * 18 and 19, the versions Debian ships; the branches for 14 and 16 follow
 * those versions' headers.  Header moves that need no version test (19
 * declares get_database_name() in utils/lsyscache.h and heap_form_tuple()
 * only in access/htup_details.h) are plain #includes in the .c files.
 *
 * IDENTIFICATION
 *	  src/po_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_COMPAT_H
#define PO_COMPAT_H

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"

#if PG_VERSION_NUM < 140000
#error "pool_observer requires PostgreSQL 14 or later"
#endif

/* Materialized set-returning functions. */
#if PG_VERSION_NUM >= 160000
#define po_init_srf(fcinfo)	InitMaterializedSRF((fcinfo), 0)
#elif PG_VERSION_NUM >= 150000
#define po_init_srf(fcinfo)	SetSingleFuncCall((fcinfo), 0)
#else
extern void po_init_srf(FunctionCallInfo fcinfo);
#define PO_NEED_INIT_SRF 1
#endif

/* 15 renamed EmitWarningsOnPlaceholders(). */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix)	EmitWarningsOnPlaceholders(prefix)
#endif

/* Shared memory is requested from shmem_request_hook since 15. */
#if PG_VERSION_NUM >= 150000
#define PO_HAVE_SHMEM_REQUEST_HOOK 1
#endif

/*
 * Slots of the backend status array: regular backends first, then one per
 * auxiliary process.  Mirrors NumBackendStatSlots in backend_status.c.
 */
#if PG_VERSION_NUM >= 170000
#define po_num_status_slots()	(MaxBackends + NUM_AUXILIARY_PROCS)
#else
#define po_num_status_slots()	(MaxBackends + NUM_AUXPROCTYPES)
#endif

/* Status array slot of the i-th PGPROC (negative for none). */
#if PG_VERSION_NUM >= 170000
#define po_status_slot_of_proc(proc, i)	(i)
#else
#define po_status_slot_of_proc(proc, i)	((proc)->backendId - 1)
#endif

/* Entry i (0-based) of the local backend status snapshot. */
#if PG_VERSION_NUM >= 160000
#define po_local_beentry(i)		pgstat_get_local_beentry_by_index((i) + 1)
#else
#define po_local_beentry(i)		pgstat_fetch_stat_local_beentry((i) + 1)
#endif

/* Slots reserved for superusers (and, from 16, reserved_connections). */
#if PG_VERSION_NUM >= 160000
#define po_reserved_connections()	(SuperuserReservedConnections + ReservedConnections)
#else
#define po_reserved_connections()	(ReservedBackends)
#endif

#endif							/* PO_COMPAT_H */
