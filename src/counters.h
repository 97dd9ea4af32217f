/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  Per-pool outcome counters since the server started or reset():
 *	  what PostgreSQL itself did to each pool, and pool_observer's own
 *	  actions (the pool_counters view).
 *
 * Layer 1.  One row per pool key, max_pools rows plus the overflow row.
 * Guarded by po_shared->lock: the sampler adds under it exclusively once
 * per sample (po_counters_publish_locked()); readers copy the rows under
 * it shared.  The sampler accumulates a sample's additions in local memory
 * first (po_counters_note()), so a storm costs one lock acquisition.
 *
 * IDENTIFICATION
 *	  src/counters.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_COUNTERS_H
#define PO_COUNTERS_H

#include "statefile.h"
#include "types.h"

/* Counter columns, in the order of the pool_counters view. */
typedef enum PoCounter
{
	PO_CTR_NEW_CONNECTIONS = 0,
	PO_CTR_REFUSED,
	PO_CTR_AUTH_FAILED,
	PO_CTR_STATEMENT_TIMEOUT,
	PO_CTR_LOCK_TIMEOUT,
	PO_CTR_IIT_TIMEOUT,
	PO_CTR_IDLE_SESSION_TIMEOUT,
	PO_CTR_TRANSACTION_TIMEOUT,
	PO_CTR_QUERY_CANCELLED,
	PO_CTR_SESSION_TERMINATED,
	PO_CTR_TERMINATED_BY_PO,
	PO_CTR_CANCELLED_BY_PO
} PoCounter;

#define PO_NUM_COUNTERS		(PO_CTR_CANCELLED_BY_PO + 1)

/* Window over which health judges refusals and timeouts. */
#define PO_COUNTERS_WINDOW_US	((int64) 60 * USECS_PER_SEC)

typedef struct PoCounterRow
{
	PoPoolKey	key;
	bool		in_use;
	TimestampTz since;
	int64		c[PO_NUM_COUNTERS];
	/* for health: the last refusal, and timeouts in the current window */
	TimestampTz last_refused_at;
	int64		refused_window;	/* refusals in the window ending at
								 * last_refused_at */
	TimestampTz timeout_window_start;
	int64		timeouts_window;
	int64		timeouts_prev_window;
} PoCounterRow;

extern Size po_counters_shmem_size(void);
extern void po_counters_shmem_init(void);
extern void po_counters_clear_locked(void);
extern void po_counters_reset_local(void);

extern void po_counters_note(const PoPoolKey *key, bool overflow,
							 PoCounter counter, int64 n);
extern void po_counters_publish_locked(TimestampTz now);
extern int	po_counters_copy(PoCounterRow *rows);

extern void po_counters_save(PoStateFile *sf);
extern bool po_counters_load(PoStateFile *sf);

#endif							/* PO_COUNTERS_H */
