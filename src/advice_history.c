/*-------------------------------------------------------------------------
 *
 * advice_history.c
 *	  The advice's figures from the history: per pool and for the server,
 *	  the busy-connection distribution of the samples in the window, and
 *	  the refusals and timeouts.
 *
 * funcs_advice.c copies the buckets that overlap the window, newest first,
 * each under the lock on its own (po_history_copy_bucket()); the pools'
 * rows are merged here by pool key (a slot may hold another pool in
 * another bucket), and st->slot_pool notes which pool each slot held in
 * the bucket, for the profile rows of the same bucket (advice_profile.c).
 *
 * Percentiles are nearest-rank over the merged bins (see PO_BUSY_EXACT in
 * history.h): exact below PO_BUSY_EXACT busy connections, otherwise the
 * upper end of a power-of-two bin capped at the largest value seen.
 *
 * Layer 5 (below funcs_advice.c, which uses it).
 *
 * IDENTIFICATION
 *	  src/advice_history.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/hsearch.h"

#include "advice.h"
#include "guc.h"
#include "history.h"

/* The pools' hash, their index and the slots' pools of the bucket. */
void
po_advice_history_init(AdviceState *st)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(AdviceKey);
	ctl.entrysize = sizeof(AdvicePool);
	ctl.hcxt = CurrentMemoryContext;
	st->pools = hash_create("pool_observer advice", 64, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	st->maxpools = 64;
	st->byidx = palloc(sizeof(AdvicePool *) * st->maxpools);
	st->slot_pool = palloc0(sizeof(AdvicePool *) * po_pool_slots());
}

/* Nearest-rank percentile q of n samples in bins, capped at max. */
int32
po_advice_percentile(const int64 *bins, int64 n, double q, int32 max)
{
	int64		rank = (int64) ceil(q * n);
	int64		seen = 0;
	int			b;

	if (n <= 0)
		return 0;
	rank = Max(rank, 1);
	for (b = 0; b < PO_BUSY_BINS; b++)
	{
		seen += bins[b];
		if (seen >= rank)
			return Min(po_busy_bin_upper(b), max);
	}
	return max;
}

static void
add_bins(int64 *to, const int32 *from)
{
	int			b;

	for (b = 0; b < PO_BUSY_BINS; b++)
		to[b] += from[b];
}

/* The pool of a history row, created on first sight. */
static AdvicePool *
pool_of(AdviceState *st, const PoPoolKey *pkey, bool overflow)
{
	AdviceKey	key;
	AdvicePool *ap;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.key = *pkey;
	key.overflow = overflow;
	ap = hash_search(st->pools, &key, HASH_ENTER, &found);
	if (found)
		return ap;
	memset((char *) ap + sizeof(AdviceKey), 0,
		   sizeof(AdvicePool) - sizeof(AdviceKey));
	if (st->npools == st->maxpools)
	{
		st->maxpools *= 2;
		st->byidx = repalloc(st->byidx, sizeof(AdvicePool *) * st->maxpools);
	}
	ap->idx = st->npools;
	st->byidx[st->npools++] = ap;
	return ap;
}

/*
 * Merge one bucket's pool rows, and note in st->slot_pool which pool each
 * slot held in it (NULL: none).  The outcomes are pool_history's
 * refused_connections and timeouts columns, summed over the same rows.
 */
void
po_advice_add_history_rows(AdviceState *st, const PoHistRow *rows)
{
	int			slot;

	for (slot = 0; slot < po_pool_slots(); slot++)
	{
		const PoHistRow *r = &rows[slot];
		bool		overflow = slot == po_overflow_slot();
		AdvicePool *ap = st->slot_pool[slot];

		if (r->samples == 0)
		{
			st->slot_pool[slot] = NULL;
			continue;
		}
		/* most slots hold the same pool as in the bucket before */
		if (ap == NULL || ap->k.overflow != overflow ||
			memcmp(&ap->k.key, &r->key, sizeof(PoPoolKey)) != 0)
			ap = st->slot_pool[slot] = pool_of(st, &r->key, overflow);
		ap->samples += r->samples;
		ap->sat_samples += r->sat_samples;
		ap->busy_sum += r->busy_sum;
		ap->iit_sum += r->iit_sum;
		ap->new_conns += r->new_conns;
		ap->conn_max = Max(ap->conn_max, r->conn_max);
		ap->busy_max = Max(ap->busy_max, r->busy_max);
		add_bins(ap->bins, r->busy_bins);
		ap->refused += r->outcomes[PO_HO_REFUSED];
		ap->timeouts += r->outcomes[PO_HO_TIMEOUTS];
		st->server.refused += r->outcomes[PO_HO_REFUSED];
		st->server.timeouts += r->outcomes[PO_HO_TIMEOUTS];
	}
}

/* The server's figures of one bucket. */
void
po_advice_add_server_bucket(AdviceState *st, const PoBucket *bk)
{
	st->server.samples += bk->samples;
	st->server.busy_sum += bk->busy_sum;
	st->server.conn_max = Max(st->server.conn_max, bk->conn_max);
	st->server.busy_max = Max(st->server.busy_max, bk->busy_max);
	st->server.new_conns += bk->new_conns;
	add_bins(st->server.bins, bk->busy_bins);
	add_bins(st->active_bins, bk->active_bins);
}
