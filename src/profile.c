/*-------------------------------------------------------------------------
 *
 * profile.c
 *	  The bounded busy-time profile: where each pool's busy time goes.
 *
 * Every sample, each busy client backend adds one sample to its pool's
 * entry keyed by (state, wait event, query id); busy time is the sum of
 * the sample interval in force when each sample was taken, so a reload
 * that changes the interval keeps the seconds right.  Per history bucket
 * the profile_top largest entries of each pool are kept, with the pool's
 * totals, so the remainder ('other') is exact.
 *
 * The store (its segment, its entries and their hash) is in
 * profile_store.c.
 *
 * Entries that do not fit (max_entries in use) are folded into their
 * pool's 'other' entry and counted in "folded".  An 'other' entry belongs
 * to a pool slot; when another pool takes the slot, the entry starts over.
 *
 * Locking: po_shared->lock (see shmem.h).
 * - Only the sampler writes.  Noting runs without the lock: it only reads
 *	 the store (no other process writes it but reset()), and notes the
 *	 sample in the sampler's local memory.  A backend whose tag (see
 *	 PoProfileTag) did not change since its last sample costs a few
 *	 comparisons against its status slot's cache and a count for its
 *	 entry: no key, no hashing.  Any other has its key made and looked up,
 *	 and a new key's query text captured, outside the lock too.
 *	 po_profile_fold_locked() then applies the notes under the lock the
 *	 sampler holds exclusively to publish: a few additions per entry
 *	 noted (not per backend) and the bucket's top, O(touched *
 *	 profile_top).
 * - reset() clears the store under the lock exclusively and bumps the
 *	 generation; a sample noted across a reset is dropped at fold time, and
 *	 the lock-free lookups of the noting stay within the arrays
 *	 whatever they see (indexes are bounded, probes are bounded).
 * - Readers (profile_read.c) take the lock shared for one chunk at a time.
 * - Save and load (profile_state.c) run in the postmaster alone and take
 *	 no lock.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/profile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "guc.h"
#include "profile_store.h"
#include "shmem.h"


/*
 * The sampler's cache, one per backend status slot.  Written at fold time
 * only, and all invalid after a reset() (cache_generation).
 */
typedef struct PoProfileCache
{
	PoProfileTag tag;
	int32		entry;			/* < total_entries() */
	bool		valid;
	bool		folded;
} PoProfileCache;

/* Where a noted sample goes. */
#define PEND_EXISTING	0		/* entry: an entry index */
#define PEND_NEW		1		/* entry: index into news[] */
#define PEND_FOLD		2		/* the pool's 'other' entry */

/* One busy backend noted in the current sample (sampler-local). */
typedef struct PoProfilePending
{
	PoProfileTag tag;
	PoProfileKey key;
	int32		status_slot;	/* -1: no cache */
	int32		entry;
	uint8		kind;			/* PEND_* */
} PoProfilePending;

/* A key first seen in the current sample, with its captured text. */
typedef struct PoProfileNew
{
	PoProfileKey key;
	int32		assigned;		/* entry index, set at fold */
	bool		folded;
	char		query[PO_PROFILE_QUERY_LEN];
} PoProfileNew;

/* the sampler's local memory, allocated once */
static PoProfileCache *cache = NULL;
static PoProfileKey *cache_key = NULL;	/* to find a folded one's 'other' entry */
static int	ncache = 0;
static PoProfilePending *pend = NULL;
static int	npend = 0;
static PoProfileNew *news = NULL;
static int	nnews = 0;
static int	maxpend = 0;

/*
 * Samples noted per entry by note_same() (total_entries() counts, zero
 * outside a sample), and the entries with a count.
 */
static uint32 *hits = NULL;
static int32 *hit_list = NULL;
static int	nhits = 0;
static int	nhits_max = 0;
static uint32 sample_generation = 0;
static uint32 cache_generation = 0;	/* of every valid cache entry */
static TimestampTz sample_now = 0;
static uint32 sample_ms = 0;

/* ---------------------------------------------------------------------
 * The sampler
 * ---------------------------------------------------------------------
 */

/* The profile state of a backend state; NONE when it is not busy. */
static inline uint8
profile_state_of(BackendState state)
{
	if (po_state_is_running(state))
		return PO_PROFILE_STATE_ACTIVE;
	if (po_state_is_idle_in_xact(state))
		return PO_PROFILE_STATE_IDLE_IN_XACT;
	return PO_PROFILE_STATE_NONE;
}

static void
clear_hits(void)
{
	int			i;

	for (i = 0; i < nhits; i++)
		hits[hit_list[i]] = 0;
	nhits = 0;
}

/*
 * Is t the tag of backend b, whose pool is tag_pool (see PoProfileTag)?
 * While b's status entry is at the change count t was last matched at, its
 * query id (on PoBackend's second cache line) and state are t's.
 */
static inline bool
tag_is(PoProfileTag *t, const PoBackend *b, uint64 tag_pool, uint8 state)
{
	if (t->pool != tag_pool ||
		t->pool_slot != b->pool ||
		t->wait_event_info != b->wait_event_info)
		return false;
	if (b->changecount >= 0 && t->changecount == b->changecount)
		return true;
	if (t->query_id != b->query_id || t->state != state)
		return false;
	t->changecount = b->changecount;
	return true;
}

/*
 * Start noting one sample's busy backends.  interval_ms is the
 * sample_interval in force for this sample.  No lock.
 */
void
po_profile_begin_sample(TimestampTz now, int interval_ms)
{
	if (cache == NULL)
	{
		/* client backends have status slots below MaxBackends */
		ncache = MaxBackends;
		maxpend = MaxBackends;
		cache = MemoryContextAllocZero(TopMemoryContext,
									   sizeof(PoProfileCache) * ncache);
		cache_key = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(PoProfileKey) * ncache);
		pend = MemoryContextAlloc(TopMemoryContext,
								  sizeof(PoProfilePending) * maxpend);
		news = MemoryContextAlloc(TopMemoryContext,
								  sizeof(PoProfileNew) * maxpend);
		/* the store's size is fixed at start */
		nhits_max = total_entries();
		hits = MemoryContextAllocZero(TopMemoryContext,
									  sizeof(uint32) * nhits_max);
		hit_list = MemoryContextAlloc(TopMemoryContext,
									  sizeof(int32) * nhits_max);
	}
	clear_hits();
	npend = 0;
	nnews = 0;
	sample_now = now;
	sample_ms = (uint32) Max(interval_ms, 0);
	/* a reset between here and the fold drops this sample */
	sample_generation = po_prof->generation;
	if (cache_generation != sample_generation)
	{
		int			i;

		for (i = 0; i < ncache; i++)
			cache[i].valid = false;
		cache_generation = sample_generation;
	}
}

/*
 * Note one sample of busy backend b if its tag is the one of its last
 * sample in its status slot: true if noted, false if the caller must make
 * its tag and key and call note_new_tag().
 */
static inline bool
note_same(const PoBackend *b, uint64 tag_pool, uint8 state)
{
	PoProfileCache *c;
	PoProfilePending *p;
	int32		idx;

	if ((unsigned) b->slot >= (unsigned) ncache)
		return false;
	c = &cache[b->slot];
	if (!c->valid || !tag_is(&c->tag, b, tag_pool, state))
		return false;
	idx = c->entry;
	if (unlikely(c->folded))
	{
		/* into the pool's 'other' entry, which is checked at fold time */
		if (npend >= maxpend)
			return true;
		p = &pend[npend++];
		p->tag = c->tag;
		p->key = cache_key[b->slot];
		p->status_slot = b->slot;
		p->kind = PEND_FOLD;
		p->entry = idx;
		return true;
	}
	if (hits[idx]++ == 0)
		hit_list[nhits++] = idx;
	return true;
}

/*
 * Note one sample of the busy backend in status_slot (-1: none) with the
 * given tag and key.  key must be zeroed before filling, key->state not
 * NONE and key->other false.  For a key new to the store query_fn (if any)
 * captures the statement text, once.  Between po_profile_begin_sample()
 * and the fold; no lock.
 */
static void
note_new_tag(int status_slot, const PoProfileTag *tag,
			 const PoProfileKey *key,
			 PoProfileQueryFn query_fn, void *query_arg)
{
	PoProfileCache *c = NULL;
	PoProfilePending *p;
	int32		idx;
	int32		free_pos;
	int			i;

	if (npend >= maxpend || key->pool_slot < 0 ||
		key->pool_slot >= po_prof->pool_slots ||
		key->state == PO_PROFILE_STATE_NONE || key->other)
		return;
	if (status_slot >= 0 && status_slot < ncache)
		c = &cache[status_slot];

	p = &pend[npend++];
	p->tag = *tag;
	p->key = *key;
	p->status_slot = c != NULL ? status_slot : -1;
	if (c != NULL)
		c->valid = false;

	idx = po_profile_hash_find(key, &free_pos);
	if (idx >= 0)
	{
		p->kind = PEND_EXISTING;
		p->entry = idx;
		return;
	}

	/* new to the store: once per sample and key */
	for (i = 0; i < nnews; i++)
	{
		if (memcmp(&news[i].key, key, sizeof(PoProfileKey)) == 0)
		{
			p->kind = PEND_NEW;
			p->entry = i;
			return;
		}
	}
	if (po_prof->nused + nnews >= po_prof->max_entries)
	{
		p->kind = PEND_FOLD;
		p->entry = other_index(key->pool_slot);
		return;
	}
	news[nnews].key = *key;
	news[nnews].assigned = -1;
	news[nnews].folded = false;
	news[nnews].query[0] = '\0';
	if (query_fn != NULL)
	{
		query_fn(query_arg, news[nnews].query, PO_PROFILE_QUERY_LEN);
		news[nnews].query[PO_PROFILE_QUERY_LEN - 1] = '\0';
	}
	p->kind = PEND_NEW;
	p->entry = nnews++;
}

/*
 * Note one sample of every busy client backend of this sample: busy lists
 * them (indexes into backends, whose pool po_pools_build() set; pools is
 * its pool table).  Between po_profile_begin_sample() and the fold; no
 * lock.
 */
void
po_profile_note_sample(const PoBackend *backends, const int *busy, int nbusy,
					   const PoPool *pools, PoProfileQueryFn query_fn)
{
	int			overflow_slot = po_prof->pool_slots - 1;
	int			i;

	for (i = 0; i < nbusy; i++)
	{
		const PoBackend *b = &backends[busy[i]];
		PoProfileTag tag;
		PoProfileKey key;
		uint64		tag_pool;
		uint8		state;

		if ((unsigned) b->pool > (unsigned) overflow_slot)
			continue;
		state = profile_state_of(b->state);
		if (state == PO_PROFILE_STATE_NONE)
			continue;

		tag_pool = b->pool == overflow_slot ?
			((uint64) b->dbid << 32) | b->roleid : pools[b->pool].epoch;
		if (note_same(b, tag_pool, state))
			continue;

		tag.pool = tag_pool;
		tag.query_id = b->query_id;
		tag.pool_slot = b->pool;
		tag.wait_event_info = b->wait_event_info;
		tag.state = state;
		tag.changecount = b->changecount;

		memset(&key, 0, sizeof(key));
		if (b->pool == overflow_slot)
		{
			/* the overflow pool: keep role and database, for the joins */
			PoAddr		none;

			memset(&none, 0, sizeof(none));
			po_make_pool_key(&key.pool, b->dbid, b->roleid, &none, "");
		}
		else
			key.pool = pools[b->pool].key;
		key.pool_slot = b->pool;
		key.wait_event_info = b->wait_event_info;
		key.query_id = b->query_id;
		key.state = state;
		note_new_tag(b->slot, &tag, &key, query_fn, (void *) b);
	}
}

/* Accrue n samples of this sample to entry idx. */
static void
accrue(int32 idx, uint32 n)
{
	PoProfileEntry *e = &po_prof_entries[idx];
	PoProfileHistSlot *hs;
	uint64		ms = (uint64) sample_ms * n;

	if (e->samples == 0)
		e->first_seen = sample_now;
	e->samples += n;
	e->busy_ms += ms;
	e->last_seen = sample_now;

	if (po_prof->cur_bucket < 0)
		return;
	if (e->bucket_seq != po_prof->cur_seq)
	{
		e->bucket_seq = po_prof->cur_seq;
		e->bucket_samples = 0;
		e->bucket_ms = 0;
		/* an 'other' entry started over may come twice: bounded anyway */
		if (po_prof->ntouched < total_entries())
			po_prof_touched[po_prof->ntouched++] = idx;
	}
	e->bucket_samples += n;
	e->bucket_ms += ms;
	hs = hist_slot(po_prof->cur_bucket, e->key.pool_slot);
	hs->samples += n;
	hs->busy_ms += ms;
}

/* Is a ahead of b in a pool's top?  Larger time first, then stable ids. */
static bool
top_before(const PoProfileEntry *a, const PoProfileHistEntry *b)
{
	if (a->bucket_ms != b->busy_ms)
		return a->bucket_ms > b->busy_ms;
	if (a->bucket_samples != b->samples)
		return a->bucket_samples > b->samples;
	return a->key.query_id < b->query_id;
}

/* Recompute bucket b's top po_prof_entries from the po_prof_entries touched in it. */
static void
rebuild_top(int b)
{
	int			s;
	int			i;

	for (s = 0; s < po_prof->pool_slots; s++)
		hist_slot(b, s)->nentries = 0;
	for (i = 0; i < po_prof->ntouched; i++)
	{
		const PoProfileEntry *e = &po_prof_entries[po_prof_touched[i]];
		PoProfileHistSlot *hs;
		PoProfileHistEntry *top;
		int			n;
		int			pos;

		if (e->key.other || !e->in_use || e->bucket_seq != po_prof->cur_seq)
			continue;
		hs = hist_slot(b, e->key.pool_slot);
		top = hist_top(b, e->key.pool_slot);
		n = hs->nentries;
		for (pos = n; pos > 0 && top_before(e, &top[pos - 1]); pos--)
			;
		if (pos >= po_prof->top)
			continue;
		if (n == po_prof->top)
			n--;				/* the last one drops out */
		memmove(&top[pos + 1], &top[pos], sizeof(PoProfileHistEntry) * (n - pos));
		top[pos].query_id = e->key.query_id;
		top[pos].busy_ms = e->bucket_ms;
		top[pos].samples = e->bucket_samples;
		top[pos].wait_event_info = e->key.wait_event_info;
		top[pos].state = e->key.state;
		hs->nentries = n + 1;
	}
}

/*
 * Make bucket (-1: none) the current bucket, as bucket_seq from
 * bucket_start; a new identity empties the bucket's profile rows.
 */
static void
set_cur_bucket(int bucket, int64 bucket_seq, TimestampTz bucket_start)
{
	if (bucket < 0 || bucket >= po_prof->history_size)
		bucket = -1;
	if (bucket >= 0 &&
		(bucket != po_prof->cur_bucket || bucket_seq != po_prof->cur_seq))
	{
		int			s;

		po_prof_buckets[bucket].seq = bucket_seq;
		po_prof_buckets[bucket].bucket_start = bucket_start;
		for (s = 0; s < po_prof->pool_slots; s++)
			memset(hist_slot(bucket, s), 0, sizeof(PoProfileHistSlot));
		memset(hist_top(bucket, 0), 0, sizeof(PoProfileHistEntry) *
			   (Size) po_prof->pool_slots * po_prof->top);
		po_prof->ntouched = 0;
	}
	po_prof->cur_bucket = bucket;
	po_prof->cur_seq = bucket >= 0 ? bucket_seq : -1;
}

/* Give each key first seen in this sample its entry, or its 'other' one. */
static void
assign_news(void)
{
	int			i;

	for (i = 0; i < nnews; i++)
	{
		PoProfileNew *n = &news[i];
		int32		free_pos;
		int32		idx = po_profile_hash_find(&n->key, &free_pos);

		if (idx < 0)
		{
			idx = po_profile_insert_entry(&n->key, free_pos);
			if (idx >= 0)
				memcpy(po_prof_entries[idx].query, n->query, PO_PROFILE_QUERY_LEN);
		}
		n->folded = idx < 0;
		n->assigned = idx >= 0 ? idx : po_profile_other_for(&n->key, sample_now);
	}
}

/* Accrue one noted sample to its entry and remember it in the cache. */
static void
apply_pending(const PoProfilePending *p)
{
	int32		idx;
	bool		folded;

	switch (p->kind)
	{
		case PEND_NEW:
			idx = news[p->entry].assigned;
			folded = news[p->entry].folded;
			break;
		case PEND_FOLD:
			idx = po_profile_other_for(&p->key, sample_now);
			folded = true;
			break;
		default:
			idx = p->entry;
			folded = false;
			break;
	}
	if (idx < 0 || idx >= total_entries())
		return;
	if (folded)
		po_prof->folded++;
	accrue(idx, 1);
	if (p->status_slot >= 0)
	{
		PoProfileCache *c = &cache[p->status_slot];

		c->tag = p->tag;
		cache_key[p->status_slot] = p->key;
		c->entry = idx;
		c->folded = folded;
		c->valid = true;
	}
}

/*
 * Apply the noted sample.  bucket is the history bucket the sample was
 * folded into (-1: none), bucket_seq and bucket_start its identity; a new
 * identity empties the bucket's profile rows.  enabled is what
 * worker.profile_enabled shows.  Caller (the sampler) holds the lock
 * exclusively.
 */
void
po_profile_fold_locked(bool enabled, int bucket, int64 bucket_seq,
					   TimestampTz bucket_start)
{
	int			i;

	po_prof->enabled = enabled;
	if (po_prof->generation != sample_generation)
	{
		/* reset() came in between: the cache and the notes are stale */
		clear_hits();
		npend = nnews = 0;
		return;
	}

	set_cur_bucket(bucket, bucket_seq, bucket_start);
	assign_news();
	for (i = 0; i < npend; i++)
		apply_pending(&pend[i]);
	for (i = 0; i < nhits; i++)
	{
		int32		idx = hit_list[i];

		accrue(idx, hits[idx]);
		hits[idx] = 0;
	}
	nhits = 0;
	if (po_prof->cur_bucket >= 0)
		rebuild_top(po_prof->cur_bucket);
	npend = nnews = 0;
}
