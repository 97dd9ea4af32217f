/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  Settings of pool_observer: the variables, their bounds, and the
 *	  named constants other modules size things by.
 *
 * Layer 0.  Modules read a setting through its variable here; the bounds
 * below are the ones guc.c declares, so code that validates saved state
 * (persist.c) uses the same numbers.
 *
 * IDENTIFICATION
 *	  src/guc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_GUC_H
#define PO_GUC_H

/* Bounds of the size settings (need a restart). */
#define PO_MAX_POOLS_MAX		10000
#define PO_HISTORY_SIZE_MIN		2
#define PO_HISTORY_SIZE_MAX		100000
#define PO_MAX_EVENTS_MIN		10
#define PO_MAX_EVENTS_MAX		1000000
#define PO_MAX_PROFILE_ENTRIES_MIN	4
#define PO_MAX_PROFILE_ENTRIES_MAX	1000000
#define PO_PROFILE_TOP_MIN		1
#define PO_PROFILE_TOP_MAX		100
#define PO_MAX_ACTIONS_PER_MINUTE_MAX	10000

/* pool_observer.sampling_method */
#define PO_SAMPLING_DIRECT	0
#define PO_SAMPLING_PGSTAT	1

/* Memory */
extern int	po_max_pools;
extern int	po_history_size;
extern int	po_max_events;
extern int	po_max_profile_entries;
extern int	po_profile_top;

/* Sampling */
extern bool po_enabled;
extern int	po_sample_interval;
extern int	po_history_interval;
extern int	po_sampling_method;
extern bool po_profile_enabled;

/* Detection thresholds (ms; zero or negative disables) */
extern int	po_idle_in_transaction_threshold;
extern int	po_slow_statement_threshold;
extern int	po_long_transaction_threshold;
extern int	po_lock_wait_threshold;
extern int	po_saturation_threshold;
extern double po_churn_threshold;
extern int	po_max_connections_warn;

/* Actions */
extern int	po_idle_in_transaction_terminate_after;
extern int	po_long_transaction_terminate_after;
extern int	po_slow_statement_cancel_after;
extern bool po_terminate_only_blockers;
extern bool po_dry_run;
extern char *po_exempt_roles;
extern char *po_exempt_applications;
extern bool po_act_on_superusers;
extern int	po_max_actions_per_minute;
extern bool po_log_events;

/* Pool slots: max_pools, plus one overflow pool. */
#define po_pool_slots()		(po_max_pools + 1)
#define po_overflow_slot()	(po_max_pools)

/*
 * The pool slots that may be in use, given high, one past the highest slot
 * below the overflow slot that is (po_pools_high()): those below high, then
 * the overflow slot.  A sample walks these, not every slot of max_pools.
 *
 *	for (i = po_pool_slot_first(high); i < po_pool_slots();
 *		 i = po_pool_slot_next(i, high))
 */
static inline int
po_pool_slot_first(int high)
{
	return high > 0 ? 0 : po_overflow_slot();
}

static inline int
po_pool_slot_next(int i, int high)
{
	if (i + 1 < high)
		return i + 1;
	return i < po_overflow_slot() ? po_overflow_slot() : po_pool_slots();
}

extern void po_define_gucs(void);

#endif							/* PO_GUC_H */
