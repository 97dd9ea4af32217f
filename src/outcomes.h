/*-------------------------------------------------------------------------
 *
 * outcomes.h
 *	  What PostgreSQL itself did, from the intake records emit_log_hook
 *	  wrote: events, per-pool counters and history counts.
 *
 * Layer 3.  Sampler-local; the sample's events are inserted and the
 * episodes updated in po_outcomes_publish_locked().
 *
 * IDENTIFICATION
 *	  src/outcomes.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_OUTCOMES_H
#define PO_OUTCOMES_H

#include "intake.h"
#include "snapshot.h"

/* Health: more timeouts than this in one pool within a minute warn. */
#define PO_TIMEOUTS_PER_MINUTE_WARN	10

/* A connection_refused / authentication_failed episode ends after this. */
#define PO_ATTEMPT_EPISODE_IDLE_US	((int64) 60 * USECS_PER_SEC)

extern void po_outcomes_begin_sample(TimestampTz now);
extern void po_outcomes_take(const PoIntakeRecord *rec, TimestampTz now);
extern void po_outcomes_publish_locked(TimestampTz now);
extern void po_outcomes_log(void);
extern void po_outcomes_reset_local(void);

#endif							/* PO_OUTCOMES_H */
