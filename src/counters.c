/*-------------------------------------------------------------------------
 *
 * counters.c
 *	  Per-pool outcome counters: see counters.h.
 *
 * Shared rows are handed out in order and never freed until reset(), so a
 * lookup scans only the rows in use; the sampler caches each key's row in
 * a local hash and checks the cached row's key before trusting it (a
 * reset() from another backend may have cleared it meanwhile).
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/counters.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "counters.h"
#include "guc.h"
#include "shmem.h"

typedef struct PoCounters
{
	int32		nused;			/* rows 0 .. nused-1 handed out */
	PoCounterRow rows[FLEXIBLE_ARRAY_MEMBER];	/* po_pool_slots() */
} PoCounters;

/* The sampler's additions of this sample, per key. */
typedef struct PoCounterAccum
{
	PoPoolKey	key;			/* hash key; zero for the overflow entry */
	bool		overflow;
	int			row;			/* cached shared row, -1 unknown */
	bool		dirty;
	int64		d[PO_NUM_COUNTERS];
} PoCounterAccum;

static PoCounters *ctrs = NULL;
static HTAB *accum = NULL;
static PoCounterAccum overflow_accum;
static bool any_dirty = false;	/* some accumulator has additions */

/* Version of the saved section; bump when PoCounterRow changes. */
#define PO_COUNTERS_STATE_VERSION	1

Size
po_counters_shmem_size(void)
{
	return add_size(offsetof(PoCounters, rows),
					mul_size(sizeof(PoCounterRow), po_pool_slots()));
}

/* Caller holds AddinShmemInitLock. */
void
po_counters_shmem_init(void)
{
	bool		found;

	ctrs = ShmemInitStruct("pool_observer counters", po_counters_shmem_size(),
						   &found);
	if (!found)
		po_counters_clear_locked();
}

/* Caller holds the lock exclusively, or is the postmaster. */
void
po_counters_clear_locked(void)
{
	memset(ctrs, 0, po_counters_shmem_size());
}

/* Forget the sampler's cache and pending additions (after reset()). */
void
po_counters_reset_local(void)
{
	if (accum != NULL)
		hash_destroy(accum);
	accum = NULL;
	memset(&overflow_accum, 0, sizeof(overflow_accum));
}

static void
ensure_accum(void)
{
	HASHCTL		ctl;

	if (accum != NULL)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PoPoolKey);
	ctl.entrysize = sizeof(PoCounterAccum);
	ctl.hcxt = TopMemoryContext;
	accum = hash_create("pool_observer counters", Min(po_max_pools, 1024), &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&overflow_accum, 0, sizeof(overflow_accum));
	overflow_accum.overflow = true;
	overflow_accum.row = -1;
}

/*
 * Add n to one counter of a pool, in the sampler's local memory; made
 * visible by po_counters_publish_locked().  overflow: the key is not
 * known (a role or database that does not exist); counted in the overflow
 * row.  Sampler only.
 */
void
po_counters_note(const PoPoolKey *key, bool overflow, PoCounter counter,
				 int64 n)
{
	PoCounterAccum *a = NULL;
	bool		found;

	Assert(counter >= 0 && counter < PO_NUM_COUNTERS);
	ensure_accum();
	if (!overflow)
	{
		a = hash_search(accum, key, HASH_FIND, NULL);
		if (a == NULL && hash_get_num_entries(accum) < po_max_pools)
		{
			a = hash_search(accum, key, HASH_ENTER, &found);
			memset(((char *) a) + sizeof(PoPoolKey), 0,
				   sizeof(PoCounterAccum) - sizeof(PoPoolKey));
			a->row = -1;
		}
	}
	if (a == NULL)
		a = &overflow_accum;
	a->d[counter] += n;
	a->dirty = true;
	any_dirty = true;
}

/* The shared row of an accumulator; the overflow row when full. */
static PoCounterRow *
row_for(PoCounterAccum *a, TimestampTz now)
{
	int			slot;
	PoCounterRow *r;

	if (a->overflow)
		slot = po_overflow_slot();
	else if (a->row >= 0 && a->row < ctrs->nused && ctrs->rows[a->row].in_use &&
			 memcmp(&ctrs->rows[a->row].key, &a->key, sizeof(PoPoolKey)) == 0)
		slot = a->row;
	else
	{
		for (slot = 0; slot < ctrs->nused; slot++)
			if (ctrs->rows[slot].in_use &&
				memcmp(&ctrs->rows[slot].key, &a->key, sizeof(PoPoolKey)) == 0)
				break;
		if (slot >= ctrs->nused)
		{
			if (ctrs->nused < po_max_pools)
			{
				slot = ctrs->nused++;
				memset(&ctrs->rows[slot], 0, sizeof(PoCounterRow));
				ctrs->rows[slot].key = a->key;
			}
			else
				slot = po_overflow_slot();
		}
		a->row = slot;
	}
	r = &ctrs->rows[slot];
	if (!r->in_use)
	{
		r->in_use = true;
		r->since = now;
	}
	return r;
}

static void
apply(PoCounterAccum *a, TimestampTz now)
{
	PoCounterRow *r;
	int64		timeouts;
	int			i;

	if (!a->dirty)
		return;
	r = row_for(a, now);
	for (i = 0; i < PO_NUM_COUNTERS; i++)
		r->c[i] += a->d[i];

	if (a->d[PO_CTR_REFUSED] > 0)
	{
		if (now - r->last_refused_at > PO_COUNTERS_WINDOW_US)
			r->refused_window = 0;
		r->refused_window += a->d[PO_CTR_REFUSED];
		r->last_refused_at = now;
	}
	timeouts = a->d[PO_CTR_STATEMENT_TIMEOUT] + a->d[PO_CTR_LOCK_TIMEOUT] +
		a->d[PO_CTR_IIT_TIMEOUT] + a->d[PO_CTR_IDLE_SESSION_TIMEOUT] +
		a->d[PO_CTR_TRANSACTION_TIMEOUT];
	if (timeouts > 0)
	{
		if (now - r->timeout_window_start >= PO_COUNTERS_WINDOW_US)
		{
			r->timeouts_prev_window =
				now - r->timeout_window_start < 2 * PO_COUNTERS_WINDOW_US ?
				r->timeouts_window : 0;
			r->timeouts_window = 0;
			r->timeout_window_start = now;
		}
		r->timeouts_window += timeouts;
	}
	memset(a->d, 0, sizeof(a->d));
	a->dirty = false;
}

/* Make this sample's additions visible.  Caller holds the lock exclusively. */
void
po_counters_publish_locked(TimestampTz now)
{
	HASH_SEQ_STATUS seq;
	PoCounterAccum *a;

	/* most samples count nothing: no walk over every pool's accumulator */
	if (accum == NULL || !any_dirty)
		return;
	hash_seq_init(&seq, accum);
	while ((a = hash_seq_search(&seq)) != NULL)
		apply(a, now);
	apply(&overflow_accum, now);
	any_dirty = false;
}

/*
 * Copy every row (po_pool_slots() of them) under the lock shared.  Returns
 * the number of rows handed out (the overflow row is rows[max_pools]).
 */
int
po_counters_copy(PoCounterRow *rows)
{
	int			n;

	po_lock_shared();
	memcpy(rows, ctrs->rows, sizeof(PoCounterRow) * po_pool_slots());
	n = ctrs->nused;
	po_unlock_shared();
	return n;
}

/*
 * Save the rows in use (the postmaster at shutdown; nobody else runs).
 * Section layout: version, row count, then each row with its slot number.
 */
void
po_counters_save(PoStateFile *sf)
{
	int32		version = PO_COUNTERS_STATE_VERSION;
	int32		nrows = 0;
	int32		slot;

	for (slot = 0; slot < po_pool_slots(); slot++)
		if (ctrs->rows[slot].in_use)
			nrows++;
	po_state_put(sf, &version, sizeof(version));
	po_state_put(sf, &nrows, sizeof(nrows));
	for (slot = 0; slot < po_pool_slots(); slot++)
	{
		if (!ctrs->rows[slot].in_use)
			continue;
		po_state_put(sf, &slot, sizeof(slot));
		po_state_put(sf, &ctrs->rows[slot], sizeof(PoCounterRow));
	}
}

static bool
row_is_valid(const PoCounterRow *r, TimestampTz now)
{
	int			i;

	if (!r->in_use || r->since <= 0 || r->since > now)
		return false;
	for (i = 0; i < PO_NUM_COUNTERS; i++)
		if (r->c[i] < 0)
			return false;
	if (r->refused_window < 0 || r->timeouts_window < 0 ||
		r->timeouts_prev_window < 0 || r->last_refused_at > now ||
		r->timeout_window_start > now)
		return false;
	if (r->key.addr.family != 0 && r->key.addr.family != 4 &&
		r->key.addr.family != 6)
		return false;
	if (memchr(r->key.appname, '\0', NAMEDATALEN) == NULL)
		return false;
	return true;
}

/*
 * Load the section saved by po_counters_save() (the postmaster, before
 * anyone else runs).  Every field is checked; on any problem nothing is
 * kept and false is returned.  Rows whose slot no longer exists (a smaller
 * max_pools) are folded into the overflow row.
 */
bool
po_counters_load(PoStateFile *sf)
{
	int32		version;
	int32		nrows;
	int32		i;
	TimestampTz now = GetCurrentTimestamp();

	po_counters_clear_locked();
	if (!po_state_get(sf, &version, sizeof(version)) ||
		version != PO_COUNTERS_STATE_VERSION ||
		!po_state_get(sf, &nrows, sizeof(nrows)) ||
		nrows < 0 || nrows > 1000000)
		return false;

	for (i = 0; i < nrows; i++)
	{
		int32		slot;
		PoCounterRow r;
		PoCounterRow *dst;
		int			k;

		if (!po_state_get(sf, &slot, sizeof(slot)) ||
			!po_state_get(sf, &r, sizeof(r)) ||
			slot < 0 || !row_is_valid(&r, now))
		{
			po_counters_clear_locked();
			return false;
		}
		if (slot >= po_max_pools || ctrs->nused >= po_max_pools)
			dst = &ctrs->rows[po_overflow_slot()];
		else
			dst = &ctrs->rows[ctrs->nused++];
		if (!dst->in_use)
		{
			*dst = r;
			if (dst == &ctrs->rows[po_overflow_slot()])
				memset(&dst->key, 0, sizeof(PoPoolKey));
		}
		else
		{
			for (k = 0; k < PO_NUM_COUNTERS; k++)
				dst->c[k] += r.c[k];
			dst->since = Min(dst->since, r.since);
		}
	}
	return true;
}
