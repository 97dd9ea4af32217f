/*-------------------------------------------------------------------------
 *
 * po_compat.h
 *	  Every PG_VERSION_NUM test of pool_observer lives here.
 *
 * Supported: PostgreSQL 15 to 19; built and tested (`make test`,
 * test/matrix.sh) against 15, 17, 18 and 19, the versions Debian ships; 16
 * follows the same guards.  Header moves that need no version test (19
 * declares get_database_name() in utils/lsyscache.h and heap_form_tuple()
 * only in access/htup_details.h) are plain #includes in the .c files.
 * Layer 0: included by every module that needs one of these.
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

#if PG_VERSION_NUM < 150000
#error "pool_observer requires PostgreSQL 15 or later"
#endif

/*
 * Materialized set-returning functions; the _scalar form for a function
 * returning SETOF a base type (its descriptor is the expected one).
 */
#if PG_VERSION_NUM >= 160000
#define po_init_srf(fcinfo)	InitMaterializedSRF((fcinfo), 0)
#define po_init_srf_scalar(fcinfo) \
	InitMaterializedSRF((fcinfo), MAT_SRF_USE_EXPECTED_DESC)
#else
#define po_init_srf(fcinfo)	SetSingleFuncCall((fcinfo), 0)
#define po_init_srf_scalar(fcinfo) \
	SetSingleFuncCall((fcinfo), SRF_SINGLE_USE_EXPECTED)
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
/* A hint to start loading the cache line at p; no effect elsewhere. */
#if defined(__GNUC__) || defined(__clang__)
#define po_prefetch(p)	__builtin_prefetch(p)
#else
#define po_prefetch(p)	((void) 0)
#endif

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

/* transaction_timeout (17+) off for the calling process. */
#if PG_VERSION_NUM >= 170000
#define po_set_transaction_timeout_off() \
	SetConfigOption("transaction_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE)
#else
#define po_set_transaction_timeout_off()	((void) 0)
#endif

/*
 * Rewrite s the way the server rewrites application_name before storing
 * it (check_application_name(), pg_clean_ascii() in src/common/string.c):
 * every byte outside printable ASCII (32..126) becomes '?' on 15, and
 * "\xNN" from 16.  The result is truncated to outlen - 1 bytes, as
 * backend status truncates it to NAMEDATALEN - 1.
 */
static inline void
po_clean_ascii(const char *s, char *out, size_t outlen)
{
	size_t		n = 0;

	for (; *s != '\0' && n + 1 < outlen; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c >= 32 && c <= 126)
			out[n++] = (char) c;
		else
		{
#if PG_VERSION_NUM >= 160000
			char		esc[5];
			size_t		k;

			snprintf(esc, sizeof(esc), "\\x%02x", c);
			for (k = 0; k < 4 && n + 1 < outlen; k++)
				out[n++] = esc[k];
#else
			out[n++] = '?';
#endif
		}
	}
	out[n] = '\0';
}

/*
 * The log_min_messages that applies to client backends.  19 made it one
 * level per process type (log_min_messages[BackendType]); a connection that
 * is refused for want of a slot is reported by a dead-end backend, so the
 * stricter of the two is what can hide outcomes from emit_log_hook.
 */
#if PG_VERSION_NUM >= 190000
#define po_client_log_min_messages() \
	Max(log_min_messages[B_BACKEND], log_min_messages[B_DEAD_END_BACKEND])
#else
#define po_client_log_min_messages()	(log_min_messages)
#endif

#endif							/* PO_COMPAT_H */
