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
	PO_INTAKE_CONNECT = 1		/* a client authenticated successfully */
} PoIntakeType;

/* One record.  Strings are NUL-terminated; the drain terminates them too. */
typedef struct PoIntakeRecord
{
	int32		type;			/* PoIntakeType */
	int32		pid;
	TimestampTz at;
	PoAddr		addr;
	char		datname[NAMEDATALEN];
	char		usename[NAMEDATALEN];
	char		appname[NAMEDATALEN];
} PoIntakeRecord;

extern Size po_intake_shmem_size(void);
extern void po_intake_shmem_init(void);
extern bool po_intake_put(const PoIntakeRecord *rec);
extern int	po_intake_drain(PoIntakeRecord *out, int max, uint64 *lost);

#endif							/* PO_INTAKE_H */
