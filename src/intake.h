/*-------------------------------------------------------------------------
 *
 * intake.h
 *	  The lock-free intake ring: what backends' hooks report, drained by
 *	  the sampler once per sample.
 *
 * Layer 1.  A writer (a hook, possibly in a backend that has no PGPROC
 * yet) reserves a position with a compare-and-swap on head, fills the
 * record and publishes it through the slot's seq; it never blocks, never
 * allocates and never throws.  When the ring is full the record is dropped
 * and counted.  Only the sampler drains; tail lives in shared memory so a
 * restarted sampler goes on where the last one stopped.
 *
 * IDENTIFICATION
 *	  src/intake.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_INTAKE_H
#define PO_INTAKE_H

#include "types.h"

#define PO_INTAKE_RING_SIZE		1024

/* Record types; 0 is never a valid type. */
typedef enum PoIntakeType
{
	PO_INTAKE_CONNECT = 1,		/* a client authenticated successfully */
	PO_INTAKE_OUTCOME = 2		/* PostgreSQL reported an outcome (a timeout,
								 * cancel, termination, refusal, failed
								 * login): emit_log_hook */
} PoIntakeType;

#define PO_INTAKE_MESSAGE_LEN	160
#define PO_INTAKE_QUERY_LEN		512

/*
 * One record, fixed-size whatever its type.  Strings are NUL-terminated;
 * the drain terminates them too.  The pool key travels as names (a refused
 * connection has no OIDs yet); the sampler resolves them.
 */
typedef struct PoIntakeRecord
{
	int32		type;			/* PoIntakeType */
	int32		pid;
	TimestampTz at;
	TimestampTz backend_start;	/* of the reporting backend */
	uint64		query_id;		/* OUTCOME: the statement's, 0 if none */
	int16		outcome;		/* OUTCOME: PoOutcomeKind */
	int16		reason;			/* OUTCOME: PoOutcomeReason */
	PoAddr		addr;
	char		datname[NAMEDATALEN];
	char		usename[NAMEDATALEN];
	char		appname[NAMEDATALEN];
	char		message[PO_INTAKE_MESSAGE_LEN]; /* OUTCOME: the server's */
	char		query[PO_INTAKE_QUERY_LEN]; /* OUTCOME: statement or last */
} PoIntakeRecord;

extern Size po_intake_shmem_size(void);
extern void po_intake_shmem_init(void);
extern bool po_intake_put(const PoIntakeRecord *rec);
extern int	po_intake_drain(PoIntakeRecord *out, int max, uint64 *lost);

#endif							/* PO_INTAKE_H */
