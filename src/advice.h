/*-------------------------------------------------------------------------
 *
 * advice.h
 *	  What _advice_figures_1_1() gathers over a window, shared by the
 *	  files of the advice alone: funcs_advice.c (the SQL function: the
 *	  window, the rows), advice_history.c (the busy-count figures and the
 *	  outcomes) and advice_profile.c (each pool's top queries).
 *
 * Layer 5 (below funcs_advice.c, which uses it).
 *
 * IDENTIFICATION
 *	  src/advice.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_ADVICE_H
#define PO_ADVICE_H

#include "utils/hsearch.h"

#include "history.h"
#include "profile.h"
#include "types.h"

/* One pool's figures, merged over the buckets of the window. */
typedef struct AdviceKey
{
	PoPoolKey	key;
	bool		overflow;
} AdviceKey;

/* A pool's top query in the profile, and its text once found. */
typedef struct AdviceTop
{
	int64		query_id;		/* as SQL shows it: ties go to the smallest */
	uint64		busy_ms;		/* 0: none */
	uint64		lock_ms;
	Datum		text;			/* (Datum) 0 until found */
} AdviceTop;

typedef struct AdvicePool
{
	AdviceKey	k;				/* hash key: first */
	int32		idx;			/* in AdviceState.byidx */
	int64		samples;
	int64		sat_samples;
	int64		busy_sum;
	int64		iit_sum;
	int64		new_conns;
	int32		conn_max;
	int32		busy_max;
	int64		bins[PO_BUSY_BINS];
	int64		refused;
	int64		timeouts;
	/* the profile */
	bool		profiled;		/* some profile slot of the window is ours */
	uint64		profile_ms;		/* all of its busy time, 'other' included */
	AdviceTop	top;			/* most busy time */
	AdviceTop	iit;			/* most busy time idle in transaction */
} AdvicePool;

/* busy time per pool and query id: advice_profile.c's own hash */
struct advq_hash;

/* What one call gathers. */
typedef struct AdviceState
{
	HTAB	   *pools;			/* AdviceKey -> AdvicePool */
	AdvicePool **byidx;			/* by AdvicePool.idx */
	int			npools;
	int			maxpools;
	AdvicePool	server;
	int64		active_bins[PO_BUSY_BINS];
	struct advq_hash *queries;
	AdvicePool **slot_pool;		/* the current bucket's pool per slot */
	PoProfileBucketCopy copy;	/* last: po_advice_profile_init() sets it */
} AdviceState;

/* advice_history.c: the samples and the outcomes */
extern void po_advice_history_init(AdviceState *st);
extern void po_advice_add_server_bucket(AdviceState *st, const PoBucket *bk);
extern void po_advice_add_history_rows(AdviceState *st, const PoHistRow *rows);
extern int32 po_advice_percentile(const int64 *bins, int64 n, double q,
								  int32 max);

/* advice_profile.c: busy time per pool and query id, the tops, their texts */
extern void po_advice_profile_init(AdviceState *st);
extern void po_advice_add_profile_bucket(AdviceState *st, int b, int64 seq);
extern void po_advice_pick_tops(AdviceState *st);
extern void po_advice_find_texts(AdviceState *st);

#endif							/* PO_ADVICE_H */
