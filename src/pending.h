/*-------------------------------------------------------------------------
 *
 * pending.h
 *	  New connections waiting for the sample that attributes them.
 *
 * Layer 2.  Sampler-local; pools.c counts what this table hands back.
 *
 * IDENTIFICATION
 *	  src/pending.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_PENDING_H
#define PO_PENDING_H

#include "utils/hsearch.h"

#include "intake.h"
#include "types.h"

/*
 * A connection that authenticated but has not been attributed yet: a new
 * connection counts in the pool in which its session is first sampled
 * (its application_name may have changed since the startup packet), in
 * the startup packet's pool only if it ended before any sample, and not
 * at all if PostgreSQL refused it after authentication (a connection
 * limit, CONNECT privilege, datallowconn: po_pending_forget()).  Keyed by
 * pid.
 */
typedef struct PoPendingConn
{
	int32		pid;			/* hash key */
	TimestampTz backend_start;
	PoAddr		addr;
	bool		gone;			/* the process had exited before this
								 * sample's drain */
	int32		samples;		/* samples it has waited */
	char		datname[NAMEDATALEN];
	char		usename[NAMEDATALEN];
	char		appname[NAMEDATALEN];
} PoPendingConn;

/* A walk over the connections that waited long enough (see pending.c). */
typedef struct PoPendingIter
{
	bool		active;
	HASH_SEQ_STATUS seq;
} PoPendingIter;

extern void po_pending_reset(void);
extern bool po_pending_any(void);
extern bool po_pending_add(const PoIntakeRecord *rec, PoPendingConn *displaced);
extern bool po_pending_forget(int pid, TimestampTz backend_start);
extern void po_pending_probe(void);
extern bool po_pending_claim(int pid, TimestampTz backend_start);
extern void po_pending_expire_begin(PoPendingIter *it);
extern bool po_pending_expire_next(PoPendingIter *it, PoPendingConn *out);

#endif							/* PO_PENDING_H */
