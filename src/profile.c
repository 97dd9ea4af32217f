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
 * Memory is fixed at start, in its own segment "pool_observer profile":
 *
 *	PoProfileShared
 *	entries[max_entries + pool_slots]	the last pool_slots are the per-pool
 *										'other' entries, at max_entries + slot
 *	hash[nhash]							open addressing, linear probing, index
 *										into entries or -1; nhash is a power
 *										of two >= 2 * max_entries, so probes
 *										stay short; entries are removed only
 *										all at once (reset), so no tombstones
 *	touched[max_entries + pool_slots]	entries with time in the current bucket
 *	buckets[history_size]				seq and start of each bucket
 *	slots[history_size * pool_slots]	each pool's totals per bucket
 *	top[history_size * pool_slots * profile_top]
 *
 * Entries that do not fit (max_entries in use) are folded into their
 * pool's 'other' entry and counted in "folded".  An 'other' entry belongs
 * to a pool slot; when another pool takes the slot, the entry starts over.
 *
 * Locking: po_shared->lock (see shmem.h).
 * - Only the sampler writes.  po_profile_add() runs without the lock: it
 *	 only reads the store (no other process writes it but reset()), and
 *	 notes the sample in the sampler's local memory.  A backend whose key
 *	 did not change since its last sample costs one key comparison against
 *	 its status slot's cache, no hashing; a new key captures its query text
 *	 there too, outside the lock.  po_profile_fold_locked() then applies
 *	 the notes under the lock the sampler holds exclusively to publish:
 *	 a few additions per busy backend and the bucket's top, O(touched *
 *	 profile_top).
 * - reset() clears the store under the lock exclusively and bumps the
 *	 generation; a sample noted across a reset is dropped at fold time, and
 *	 the lock-free lookups of po_profile_add() stay within the arrays
 *	 whatever they see (indexes are bounded, probes are bounded).
 * - Readers take the lock shared for one chunk (PO_PROFILE_CHUNK entries,
 *	 or PO_PROFILE_SLOT_CHUNK pool slots of one bucket), release it, and
 *	 form tuples afterwards.
 * - Save and load run in the postmaster alone and take no lock.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/profile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "guc.h"
#include "profile.h"
#include "shmem.h"

#define PO_PROFILE_SHMEM_NAME	"pool_observer profile"

/* entries scanned per reader chunk, at most (in use or not) */
#define PO_PROFILE_SCAN_LIMIT	512

/* state file section */
#define PO_PROFILE_MAGIC		0x504F5052	/* "POPR" */
#define PO_PROFILE_FORMAT		2

typedef struct PoProfileBucketHdr
{
	int64		seq;			/* -1: empty */
	TimestampTz bucket_start;
} PoProfileBucketHdr;

typedef struct PoProfileShared
{
	/* shape, fixed at start */
	int32		max_entries;
	int32		pool_slots;
	int32		history_size;
	int32		top;
	int32		nhash;
	/* guarded by po_shared->lock */
	uint32		generation;		/* bumped by every clear */
	bool		enabled;
	uint64		folded;
	int32		nused;			/* entries in use below max_entries */
	int32		ntouched;
	int32		cur_bucket;		/* -1: none */
	int64		cur_seq;
} PoProfileShared;

/* The state file section's header; what follows is described at save. */
typedef struct PoProfileFileHeader
{
	uint32		magic;
	uint32		format;
	uint32		sizeof_entry;
	uint32		sizeof_slot;
	uint32		sizeof_hist_entry;
	int32		pool_slots;
	int32		history_size;
	int32		top;
	int32		nentries;		/* entries that follow */
	int32		nbuckets;		/* non-empty buckets that follow */
	int32		cur_bucket;
	int32		pad;
	int64		cur_seq;
	uint64		folded;
} PoProfileFileHeader;

/* One saved bucket: its header, then nslots non-empty slots. */
typedef struct PoProfileFileBucket
{
	int32		bucket;
	int32		nslots;
	PoProfileBucketHdr hdr;
} PoProfileFileBucket;

/* One saved slot of a bucket, followed by slot.nentries top entries. */
typedef struct PoProfileFileSlot
{
	int32		slot;
	int32		pad;
	PoProfileHistSlot hs;
} PoProfileFileSlot;

/* The sampler's cache, one per backend status slot. */
typedef struct PoProfileCache
{
	PoProfileKey key;
	int32		entry;
	uint32		generation;
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

static PoProfileShared *prof = NULL;
static PoProfileEntry *entries = NULL;
static int32 *hashtab = NULL;
static int32 *touched = NULL;
static PoProfileBucketHdr *buckets = NULL;
static PoProfileHistSlot *slots = NULL;
static PoProfileHistEntry *tops = NULL;

/* the sampler's local memory, allocated once */
static PoProfileCache *cache = NULL;
static int	ncache = 0;
static PoProfilePending *pend = NULL;
static int	npend = 0;
static PoProfileNew *news = NULL;
static int	nnews = 0;
static int	maxpend = 0;
static uint32 sample_generation = 0;
static TimestampTz sample_now = 0;
static uint32 sample_ms = 0;

#define total_entries()		(prof->max_entries + prof->pool_slots)
#define other_index(slot)	(prof->max_entries + (slot))
#define hist_slot(b, s)		(&slots[(Size) (b) * prof->pool_slots + (s)])
#define hist_top(b, s)		(&tops[((Size) (b) * prof->pool_slots + (s)) * prof->top])

/* ---------------------------------------------------------------------
 * Shared memory
 * ---------------------------------------------------------------------
 */

static int
hash_size_for(int max_entries)
{
	int			n = 16;

	while (n < 2 * max_entries)
		n *= 2;
	return n;
}

Size
po_profile_shmem_size(void)
{
	Size		nent = (Size) po_max_profile_entries + po_pool_slots();
	Size		nslots = mul_size(po_history_size, po_pool_slots());
	Size		size;

	size = MAXALIGN(sizeof(PoProfileShared));
	size = add_size(size, MAXALIGN(mul_size(sizeof(PoProfileEntry), nent)));
	size = add_size(size, MAXALIGN(mul_size(sizeof(int32),
											hash_size_for(po_max_profile_entries))));
	size = add_size(size, MAXALIGN(mul_size(sizeof(int32), nent)));
	size = add_size(size, MAXALIGN(mul_size(sizeof(PoProfileBucketHdr),
											po_history_size)));
	size = add_size(size, MAXALIGN(mul_size(sizeof(PoProfileHistSlot), nslots)));
	size = add_size(size, MAXALIGN(mul_size(mul_size(sizeof(PoProfileHistEntry),
													 nslots),
											po_profile_top)));
	return size;
}

/* Caller holds the lock exclusively, or is the postmaster. */
void
po_profile_clear_locked(void)
{
	int			i;

	memset(entries, 0, sizeof(PoProfileEntry) * total_entries());
	for (i = 0; i < prof->nhash; i++)
		hashtab[i] = -1;
	for (i = 0; i < prof->history_size; i++)
	{
		buckets[i].seq = -1;
		buckets[i].bucket_start = 0;
	}
	memset(slots, 0,
		   sizeof(PoProfileHistSlot) * (Size) prof->history_size * prof->pool_slots);
	memset(tops, 0, sizeof(PoProfileHistEntry) *
		   (Size) prof->history_size * prof->pool_slots * prof->top);
	prof->folded = 0;
	prof->nused = 0;
	prof->ntouched = 0;
	prof->cur_bucket = -1;
	prof->cur_seq = -1;
	prof->generation++;
}

/* Caller holds AddinShmemInitLock. */
void
po_profile_shmem_init(void)
{
	bool		found;
	char	   *ptr;
	Size		nent = (Size) po_max_profile_entries + po_pool_slots();
	Size		nslots = (Size) po_history_size * po_pool_slots();
	int			nhash = hash_size_for(po_max_profile_entries);

	prof = ShmemInitStruct(PO_PROFILE_SHMEM_NAME, po_profile_shmem_size(), &found);
	ptr = (char *) prof + MAXALIGN(sizeof(PoProfileShared));
	entries = (PoProfileEntry *) ptr;
	ptr += MAXALIGN(sizeof(PoProfileEntry) * nent);
	hashtab = (int32 *) ptr;
	ptr += MAXALIGN(sizeof(int32) * nhash);
	touched = (int32 *) ptr;
	ptr += MAXALIGN(sizeof(int32) * nent);
	buckets = (PoProfileBucketHdr *) ptr;
	ptr += MAXALIGN(sizeof(PoProfileBucketHdr) * po_history_size);
	slots = (PoProfileHistSlot *) ptr;
	ptr += MAXALIGN(sizeof(PoProfileHistSlot) * nslots);
	tops = (PoProfileHistEntry *) ptr;

	if (!found)
	{
		memset(prof, 0, sizeof(PoProfileShared));
		prof->max_entries = po_max_profile_entries;
		prof->pool_slots = po_pool_slots();
		prof->history_size = po_history_size;
		prof->top = po_profile_top;
		prof->nhash = nhash;
		prof->enabled = po_profile_enabled;
		prof->generation = 1;
		po_profile_clear_locked();
	}
}

/* ---------------------------------------------------------------------
 * The sampler
 * ---------------------------------------------------------------------
 */

/* The profile state of a backend state; NONE when it is not busy. */
uint8
po_profile_state_of(BackendState state)
{
	if (po_state_is_running(state))
		return PO_PROFILE_STATE_ACTIVE;
	if (po_state_is_idle_in_xact(state))
		return PO_PROFILE_STATE_IDLE_IN_XACT;
	return PO_PROFILE_STATE_NONE;
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
		pend = MemoryContextAlloc(TopMemoryContext,
								  sizeof(PoProfilePending) * maxpend);
		news = MemoryContextAlloc(TopMemoryContext,
								  sizeof(PoProfileNew) * maxpend);
	}
	npend = 0;
	nnews = 0;
	sample_now = now;
	sample_ms = (uint32) Max(interval_ms, 0);
	/* a reset between here and the fold drops this sample */
	sample_generation = prof->generation;
}

/* Look key up in the hash; -1 if absent (*free_pos: where it would go). */
static int32
hash_find(const PoProfileKey *key, int32 *free_pos)
{
	uint32		h = hash_bytes((const unsigned char *) key, sizeof(PoProfileKey));
	int32		mask = prof->nhash - 1;
	int32		pos = h & mask;
	int32		probes;

	*free_pos = -1;
	for (probes = 0; probes < prof->nhash; probes++)
	{
		int32		idx = hashtab[pos];

		if (idx < 0 || idx >= prof->max_entries)
		{
			*free_pos = pos;
			return -1;
		}
		if (memcmp(&entries[idx].key, key, sizeof(PoProfileKey)) == 0)
			return idx;
		pos = (pos + 1) & mask;
	}
	return -1;
}

/*
 * Note one sample of the busy backend in status_slot (-1: none).  key must
 * be zeroed before filling, key->state not NONE and key->other false.  For
 * a key new to the store query_fn (if any) captures the statement text,
 * once.  Between po_profile_begin_sample() and the fold; no lock.
 */
void
po_profile_add(int status_slot, const PoProfileKey *key,
			   PoProfileQueryFn query_fn, void *query_arg)
{
	PoProfileCache *c = NULL;
	PoProfilePending *p;
	int32		idx;
	int32		free_pos;
	int			i;

	if (npend >= maxpend || key->pool_slot < 0 ||
		key->pool_slot >= prof->pool_slots ||
		key->state == PO_PROFILE_STATE_NONE || key->other)
		return;
	if (status_slot >= 0 && status_slot < ncache)
		c = &cache[status_slot];

	p = &pend[npend++];
	p->key = *key;
	p->status_slot = c != NULL ? status_slot : -1;

	/* the same key as this slot's last sample: no hashing */
	if (c != NULL && c->valid && c->generation == sample_generation &&
		memcmp(&c->key, key, sizeof(PoProfileKey)) == 0)
	{
		p->kind = c->folded ? PEND_FOLD : PEND_EXISTING;
		p->entry = c->entry;
		return;
	}
	if (c != NULL)
		c->valid = false;

	idx = hash_find(key, &free_pos);
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
	if (prof->nused + nnews >= prof->max_entries)
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

/* The 'other' entry of key's pool slot, started over for a new pool. */
static int32
other_for(const PoProfileKey *key, TimestampTz now)
{
	int32		idx = other_index(key->pool_slot);
	PoProfileEntry *e = &entries[idx];
	PoPoolKey	pool = key->pool;

	/* the overflow pool's sessions differ in role: one remainder for all */
	if (key->pool_slot == prof->pool_slots - 1)
		memset(&pool, 0, sizeof(pool));
	if (!e->in_use || memcmp(&e->key.pool, &pool, sizeof(PoPoolKey)) != 0)
	{
		memset(e, 0, sizeof(PoProfileEntry));
		e->key.pool = pool;
		e->key.pool_slot = key->pool_slot;
		e->key.other = true;
		e->in_use = true;
		e->first_seen = now;
		e->bucket_seq = -1;
	}
	return idx;
}

/* A new entry for key at free_pos of the hash, or -1 when full. */
static int32
insert_entry(const PoProfileKey *key, int32 free_pos)
{
	int32		idx;
	PoProfileEntry *e;

	if (prof->nused >= prof->max_entries || free_pos < 0)
		return -1;
	idx = prof->nused++;
	e = &entries[idx];
	memset(e, 0, sizeof(PoProfileEntry));
	e->key = *key;
	e->in_use = true;
	e->bucket_seq = -1;
	hashtab[free_pos] = idx;
	return idx;
}

static void
accrue(int32 idx)
{
	PoProfileEntry *e = &entries[idx];
	PoProfileHistSlot *hs;

	if (e->samples == 0)
		e->first_seen = sample_now;
	e->samples++;
	e->busy_ms += sample_ms;
	e->last_seen = sample_now;

	if (prof->cur_bucket < 0)
		return;
	if (e->bucket_seq != prof->cur_seq)
	{
		e->bucket_seq = prof->cur_seq;
		e->bucket_samples = 0;
		e->bucket_ms = 0;
		/* an 'other' entry started over may come twice: bounded anyway */
		if (prof->ntouched < total_entries())
			touched[prof->ntouched++] = idx;
	}
	e->bucket_samples++;
	e->bucket_ms += sample_ms;
	hs = hist_slot(prof->cur_bucket, e->key.pool_slot);
	hs->samples++;
	hs->busy_ms += sample_ms;
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

/* Recompute bucket b's top entries from the entries touched in it. */
static void
rebuild_top(int b)
{
	int			s;
	int			i;

	for (s = 0; s < prof->pool_slots; s++)
		hist_slot(b, s)->nentries = 0;
	for (i = 0; i < prof->ntouched; i++)
	{
		const PoProfileEntry *e = &entries[touched[i]];
		PoProfileHistSlot *hs;
		PoProfileHistEntry *top;
		int			n;
		int			pos;

		if (e->key.other || !e->in_use || e->bucket_seq != prof->cur_seq)
			continue;
		hs = hist_slot(b, e->key.pool_slot);
		top = hist_top(b, e->key.pool_slot);
		n = hs->nentries;
		for (pos = n; pos > 0 && top_before(e, &top[pos - 1]); pos--)
			;
		if (pos >= prof->top)
			continue;
		if (n == prof->top)
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

	prof->enabled = enabled;
	if (prof->generation != sample_generation)
	{
		/* reset() came in between: the cache and the notes are stale */
		npend = nnews = 0;
		return;
	}

	if (bucket < 0 || bucket >= prof->history_size)
		bucket = -1;
	if (bucket >= 0 && (bucket != prof->cur_bucket || bucket_seq != prof->cur_seq))
	{
		int			s;

		buckets[bucket].seq = bucket_seq;
		buckets[bucket].bucket_start = bucket_start;
		for (s = 0; s < prof->pool_slots; s++)
			memset(hist_slot(bucket, s), 0, sizeof(PoProfileHistSlot));
		memset(hist_top(bucket, 0), 0, sizeof(PoProfileHistEntry) *
			   (Size) prof->pool_slots * prof->top);
		prof->ntouched = 0;
	}
	prof->cur_bucket = bucket;
	prof->cur_seq = bucket >= 0 ? bucket_seq : -1;

	for (i = 0; i < nnews; i++)
	{
		PoProfileNew *n = &news[i];
		int32		free_pos;
		int32		idx = hash_find(&n->key, &free_pos);

		if (idx < 0)
		{
			idx = insert_entry(&n->key, free_pos);
			if (idx >= 0)
				memcpy(entries[idx].query, n->query, PO_PROFILE_QUERY_LEN);
		}
		n->folded = idx < 0;
		n->assigned = idx >= 0 ? idx : other_for(&n->key, sample_now);
	}

	for (i = 0; i < npend; i++)
	{
		PoProfilePending *p = &pend[i];
		int32		idx;
		bool		folded;

		switch (p->kind)
		{
			case PEND_NEW:
				idx = news[p->entry].assigned;
				folded = news[p->entry].folded;
				break;
			case PEND_FOLD:
				idx = other_for(&p->key, sample_now);
				folded = true;
				break;
			default:
				idx = p->entry;
				folded = false;
				break;
		}
		if (idx < 0 || idx >= total_entries())
			continue;
		if (folded)
			prof->folded++;
		accrue(idx);
		if (p->status_slot >= 0)
		{
			PoProfileCache *c = &cache[p->status_slot];

			c->key = p->key;
			c->entry = idx;
			c->generation = prof->generation;
			c->folded = folded;
			c->valid = true;
		}
	}
	if (prof->cur_bucket >= 0)
		rebuild_top(prof->cur_bucket);
	npend = nnews = 0;
}

/* ---------------------------------------------------------------------
 * Readers
 * ---------------------------------------------------------------------
 */

int
po_profile_pool_slots(void)
{
	return prof->pool_slots;
}

/* Entries a reader may get in all: max_profile_entries + pool slots. */
int
po_profile_capacity(void)
{
	return total_entries();
}

/*
 * Copy up to max (<= PO_PROFILE_CHUNK) entries in use, scanning from *pos
 * on, under the lock shared for this chunk only; *pos is where the next
 * call goes on.  Done when *pos >= po_profile_capacity().
 */
int
po_profile_read_entries(int *pos, PoProfileEntry *out, int max)
{
	int			n = 0;
	int			scanned = 0;
	int			total = total_entries();

	max = Min(max, PO_PROFILE_CHUNK);
	po_lock_shared();
	while (*pos < total && n < max && scanned < PO_PROFILE_SCAN_LIMIT)
	{
		const PoProfileEntry *e;

		/* entries are handed out in order: skip the unused ones at once */
		if (*pos >= prof->nused && *pos < prof->max_entries)
			*pos = prof->max_entries;
		if (*pos >= total)
			break;
		e = &entries[*pos];
		if (e->in_use && e->samples > 0)
			memcpy(&out[n++], e, sizeof(PoProfileEntry));
		(*pos)++;
		scanned++;
	}
	po_unlock_shared();
	return n;
}

int
po_profile_history_size(void)
{
	return prof->history_size;
}

int
po_profile_cur_bucket(void)
{
	int			cur;

	po_lock_shared();
	cur = prof->cur_bucket;
	po_unlock_shared();
	return cur;
}

/* Allocate the entries of a copy buffer (in the current context). */
void
po_profile_bucket_alloc(PoProfileBucketCopy *copy)
{
	memset(copy, 0, offsetof(PoProfileBucketCopy, entries));
	copy->top = prof->top;
	copy->entries = palloc(sizeof(PoProfileHistEntry) *
						   (Size) PO_PROFILE_SLOT_CHUNK * prof->top);
}

/*
 * Copy up to PO_PROFILE_SLOT_CHUNK pool slots of bucket from first_slot
 * on: their totals and tops.  Caller holds the lock, shared at least.
 */
void
po_profile_copy_bucket_locked(int bucket, int first_slot,
							  PoProfileBucketCopy *copy)
{
	copy->seq = -1;
	copy->bucket_start = 0;
	copy->first_slot = first_slot;
	copy->nslots = 0;
	if (bucket < 0 || bucket >= prof->history_size ||
		first_slot < 0 || first_slot >= prof->pool_slots)
		return;
	copy->seq = buckets[bucket].seq;
	copy->bucket_start = buckets[bucket].bucket_start;
	if (copy->seq == -1)
		return;
	copy->nslots = Min(PO_PROFILE_SLOT_CHUNK, prof->pool_slots - first_slot);
	memcpy(copy->slots, hist_slot(bucket, first_slot),
		   sizeof(PoProfileHistSlot) * copy->nslots);
	memcpy(copy->entries, hist_top(bucket, first_slot),
		   sizeof(PoProfileHistEntry) * (Size) copy->nslots * prof->top);
}

void
po_profile_stats(PoProfileStats *out)
{
	po_lock_shared();
	out->enabled = prof->enabled;
	out->folded = prof->folded;
	out->entries_used = prof->nused;
	out->entries_max = prof->max_entries;
	po_unlock_shared();
}

/* ---------------------------------------------------------------------
 * The state file
 *
 * Section: PoProfileFileHeader; nentries PoProfileEntry (those in use,
 * 'other' ones included); then nbuckets times a PoProfileFileBucket
 * followed by its nslots non-empty slots, each a PoProfileFileSlot
 * followed by its nentries PoProfileHistEntry.  persist.c checksums the
 * file.  The postmaster alone calls these, so they take no lock.
 * ---------------------------------------------------------------------
 */

/* Write the profile section: only what is in use. */
void
po_profile_save(PoStateFile *sf)
{
	PoProfileFileHeader hdr;
	int			i;
	int			b;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = PO_PROFILE_MAGIC;
	hdr.format = PO_PROFILE_FORMAT;
	hdr.sizeof_entry = sizeof(PoProfileEntry);
	hdr.sizeof_slot = sizeof(PoProfileHistSlot);
	hdr.sizeof_hist_entry = sizeof(PoProfileHistEntry);
	hdr.pool_slots = prof->pool_slots;
	hdr.history_size = prof->history_size;
	hdr.top = prof->top;
	hdr.cur_bucket = prof->cur_bucket;
	hdr.cur_seq = prof->cur_seq;
	hdr.folded = prof->folded;
	for (i = 0; i < total_entries(); i++)
		if (entries[i].in_use)
			hdr.nentries++;
	for (b = 0; b < prof->history_size; b++)
		if (buckets[b].seq != -1)
			hdr.nbuckets++;
	po_state_put(sf, &hdr, sizeof(hdr));

	for (i = 0; i < total_entries(); i++)
		if (entries[i].in_use)
			po_state_put(sf, &entries[i], sizeof(PoProfileEntry));

	for (b = 0; b < prof->history_size; b++)
	{
		PoProfileFileBucket fb;
		int			s;

		if (buckets[b].seq == -1)
			continue;
		memset(&fb, 0, sizeof(fb));
		fb.bucket = b;
		fb.hdr = buckets[b];
		for (s = 0; s < prof->pool_slots; s++)
			if (hist_slot(b, s)->samples > 0)
				fb.nslots++;
		po_state_put(sf, &fb, sizeof(fb));
		for (s = 0; s < prof->pool_slots; s++)
		{
			PoProfileFileSlot fs;
			const PoProfileHistSlot *hs = hist_slot(b, s);

			if (hs->samples == 0)
				continue;
			memset(&fs, 0, sizeof(fs));
			fs.slot = s;
			fs.hs = *hs;
			po_state_put(sf, &fs, sizeof(fs));
			po_state_put(sf, hist_top(b, s),
						 sizeof(PoProfileHistEntry) * hs->nentries);
		}
	}
}

static bool
load_failed(const char *why)
{
	ereport(LOG,
			errcode(ERRCODE_DATA_CORRUPTED),
			errmsg("pool_observer profile in the state file ignored: %s", why));
	po_profile_clear_locked();
	return false;
}

/* Is every byte of buf from the first NUL on a NUL (and is there one)? */
static bool
valid_cstring(const char *buf, Size len)
{
	const char *nul = memchr(buf, '\0', len);
	const char *p;

	if (nul == NULL)
		return false;
	for (p = nul; p < buf + len; p++)
		if (*p != '\0')
			return false;
	return true;
}

static bool
valid_addr(const PoAddr *a)
{
	int			used = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
	int			i;

	if (a->family != 0 && a->family != 4 && a->family != 6)
		return false;
	for (i = used; i < 16; i++)
		if (a->addr[i] != 0)
			return false;
	return true;
}

static bool
valid_state(uint8 state)
{
	return state == PO_PROFILE_STATE_ACTIVE ||
		state == PO_PROFILE_STATE_IDLE_IN_XACT;
}

/* Is every field of a saved entry possible, padding included? */
static bool
valid_entry(const PoProfileEntry *e, const PoProfileFileHeader *hdr)
{
	const PoProfileKey *k = &e->key;
	PoProfileKey canon;

	if (!e->in_use || k->pool_slot < 0 || k->pool_slot >= hdr->pool_slots)
		return false;
	if (!valid_addr(&k->pool.addr) ||
		!valid_cstring(k->pool.appname, NAMEDATALEN) ||
		memchr(e->query, '\0', PO_PROFILE_QUERY_LEN) == NULL)
		return false;
	/* the key is hashed as a blob: its padding must be zero */
	memset(&canon, 0, sizeof(canon));
	po_make_pool_key(&canon.pool, k->pool.dbid, k->pool.roleid,
					 &k->pool.addr, k->pool.appname);
	canon.pool_slot = k->pool_slot;
	canon.wait_event_info = k->wait_event_info;
	canon.query_id = k->query_id;
	canon.state = k->state;
	canon.other = k->other;
	if (memcmp(&canon, k, sizeof(canon)) != 0)
		return false;
	if (k->other)
	{
		if (k->state != PO_PROFILE_STATE_NONE || k->wait_event_info != 0 ||
			k->query_id != 0 || e->query[0] != '\0')
			return false;
	}
	else if (!valid_state(k->state))
		return false;
	if (e->samples == 0 || e->first_seen <= 0 || e->first_seen > e->last_seen ||
		e->busy_ms > e->samples * (uint64) 3600000 ||
		e->bucket_seq < -1 ||
		e->bucket_samples > e->samples || e->bucket_ms > e->busy_ms ||
		(e->bucket_seq == -1 && (e->bucket_samples != 0 || e->bucket_ms != 0)))
		return false;
	return true;
}

/*
 * Read the section written by po_profile_save(), validating every field
 * before it is used.  Entries of pool slots that no longer exist are
 * dropped; those past max_profile_entries are folded into their pool's
 * 'other' entry.  The history comes back only with the same history_size,
 * max_pools and profile_top.  On anything invalid, logs why, leaves the
 * profile empty and returns false.
 */
bool
po_profile_load(PoStateFile *sf)
{
	PoProfileFileHeader hdr;
	bool		keep_history;
	bool		cur_found = false;
	int			i;

	po_profile_clear_locked();
	if (!po_state_get(sf, &hdr, sizeof(hdr)))
		return load_failed("section is too short");
	if (hdr.magic != PO_PROFILE_MAGIC)
		return load_failed("section is not a pool_observer profile");
	if (hdr.format != PO_PROFILE_FORMAT ||
		hdr.sizeof_entry != sizeof(PoProfileEntry) ||
		hdr.sizeof_slot != sizeof(PoProfileHistSlot) ||
		hdr.sizeof_hist_entry != sizeof(PoProfileHistEntry))
		return load_failed("written by another version of pool_observer");
	if (hdr.pool_slots < 1 || hdr.pool_slots > PO_MAX_POOLS_MAX + 1 ||
		hdr.history_size < PO_HISTORY_SIZE_MIN ||
		hdr.history_size > PO_HISTORY_SIZE_MAX ||
		hdr.top < PO_PROFILE_TOP_MIN || hdr.top > PO_PROFILE_TOP_MAX ||
		hdr.nentries < 0 ||
		hdr.nentries > PO_MAX_PROFILE_ENTRIES_MAX + hdr.pool_slots ||
		hdr.nbuckets < 0 || hdr.nbuckets > hdr.history_size ||
		hdr.cur_bucket < -1 || hdr.cur_bucket >= hdr.history_size ||
		(hdr.cur_bucket == -1) != (hdr.cur_seq == -1) || hdr.cur_seq < -1 ||
		hdr.pad != 0)
		return load_failed("header is invalid");

	for (i = 0; i < hdr.nentries; i++)
	{
		PoProfileEntry e;
		int32		free_pos;
		int32		idx;

		if (!po_state_get(sf, &e, sizeof(e)))
			return load_failed("section is too short");
		if (!valid_entry(&e, &hdr))
			return load_failed("an entry is invalid");
		if (e.key.pool_slot >= prof->pool_slots)
			continue;			/* max_pools was lowered */
		if (!e.key.other)
		{
			idx = hash_find(&e.key, &free_pos);
			if (idx >= 0)
				return load_failed("an entry is duplicated");
			idx = insert_entry(&e.key, free_pos);
			if (idx >= 0)
			{
				memcpy(&entries[idx], &e, sizeof(PoProfileEntry));
				continue;
			}
		}
		/* an 'other' entry, or one that no longer fits: fold */
		idx = other_for(&e.key, e.first_seen);
		{
			PoProfileEntry *dst = &entries[idx];

			if (dst->samples == 0 || e.first_seen < dst->first_seen)
				dst->first_seen = e.first_seen;
			dst->last_seen = Max(dst->last_seen, e.last_seen);
			dst->samples += e.samples;
			dst->busy_ms += e.busy_ms;
			if (dst->bucket_seq == e.bucket_seq)
			{
				dst->bucket_samples += e.bucket_samples;
				dst->bucket_ms += e.bucket_ms;
			}
			else if (e.bucket_seq > dst->bucket_seq)
			{
				dst->bucket_seq = e.bucket_seq;
				dst->bucket_samples = e.bucket_samples;
				dst->bucket_ms = e.bucket_ms;
			}
		}
	}

	keep_history = hdr.history_size == prof->history_size &&
		hdr.pool_slots == prof->pool_slots && hdr.top == prof->top;
	for (i = 0; i < hdr.nbuckets; i++)
	{
		PoProfileFileBucket fb;
		int			j;
		int			prev_slot = -1;

		if (!po_state_get(sf, &fb, sizeof(fb)))
			return load_failed("section is too short");
		if (fb.bucket < 0 || fb.bucket >= hdr.history_size ||
			fb.hdr.seq < 0 || fb.hdr.bucket_start < 0 ||
			fb.nslots < 0 || fb.nslots > hdr.pool_slots ||
			(keep_history && buckets[fb.bucket].seq != -1))
			return load_failed("a history bucket is invalid");
		if (fb.bucket == hdr.cur_bucket)
		{
			if (fb.hdr.seq != hdr.cur_seq)
				return load_failed("a history bucket is invalid");
			cur_found = true;
		}
		if (keep_history)
			buckets[fb.bucket] = fb.hdr;
		for (j = 0; j < fb.nslots; j++)
		{
			PoProfileFileSlot fs;
			PoProfileHistEntry top[PO_PROFILE_TOP_MAX];
			uint64		ms = 0;
			uint64		n = 0;
			int			k;

			if (!po_state_get(sf, &fs, sizeof(fs)))
				return load_failed("section is too short");
			if (fs.slot <= prev_slot || fs.slot >= hdr.pool_slots ||
				fs.pad != 0 || fs.hs.pad != 0 ||
				fs.hs.samples == 0 ||
				fs.hs.busy_ms > fs.hs.samples * (uint64) 3600000 ||
				fs.hs.nentries < 0 || fs.hs.nentries > hdr.top)
				return load_failed("a history row is invalid");
			prev_slot = fs.slot;
			if (!po_state_get(sf, top, sizeof(PoProfileHistEntry) * fs.hs.nentries))
				return load_failed("section is too short");
			for (k = 0; k < fs.hs.nentries; k++)
			{
				if (!valid_state(top[k].state) || top[k].samples == 0)
					return load_failed("a history row is invalid");
				ms += top[k].busy_ms;
				n += top[k].samples;
			}
			if (ms > fs.hs.busy_ms || n > fs.hs.samples)
				return load_failed("a history row is invalid");
			if (keep_history)
			{
				*hist_slot(fb.bucket, fs.slot) = fs.hs;
				memcpy(hist_top(fb.bucket, fs.slot), top,
					   sizeof(PoProfileHistEntry) * fs.hs.nentries);
			}
		}
	}
	if (hdr.cur_bucket >= 0 && !cur_found)
		return load_failed("the current history bucket is missing");
	prof->folded = hdr.folded;

	if (keep_history)
	{
		prof->cur_bucket = hdr.cur_bucket;
		prof->cur_seq = hdr.cur_seq;
		/* the entries with time in the current bucket */
		prof->ntouched = 0;
		for (i = 0; i < total_entries() && prof->cur_bucket >= 0; i++)
			if (entries[i].in_use && entries[i].bucket_seq == prof->cur_seq)
				touched[prof->ntouched++] = i;
	}
	else
	{
		/* no bucket is current: no entry has time in one */
		for (i = 0; i < total_entries(); i++)
		{
			entries[i].bucket_seq = -1;
			entries[i].bucket_samples = 0;
			entries[i].bucket_ms = 0;
		}
		if (hdr.nbuckets > 0)
			ereport(LOG,
					errmsg("pool_observer profile history discarded"),
					errdetail("pool_observer.history_size, pool_observer.max_pools or pool_observer.profile_top changed since it was saved."));
	}
	return true;
}
