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
 * Locking: the segment has its own LWLock (tranche "pool_observer
 * profile"), so that it does not depend on the rest of the shared state.
 * - Only the sampler writes, between po_profile_begin_sample() and
 *	 po_profile_end_sample(), holding the lock exclusively; a sample touches
 *	 the store only for its busy backends, and a backend whose key did not
 *	 change since its last sample costs one key comparison, no hashing
 *	 (the per status slot cache, which is the sampler's own memory).
 * - reset() takes the lock exclusively and bumps the generation, which
 *	 invalidates every cache entry.
 * - Readers take it shared for one bounded chunk at a time (entries, or
 *	 one bucket), release it, and form tuples afterwards, so a reader never
 *	 delays a sample by more than one chunk's memcpy.
 * - Save and load run in the postmaster alone and take no lock.
 *
 * IDENTIFICATION
 *	  src/profile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "profile.h"

/*
 * Settings.  Defined here until guc.c registers them (see docs-draft/
 * profile.md); then these definitions move there.
 */
bool		po_profile_enabled = true;
int			po_max_profile_entries = PO_PROFILE_DEFAULT_MAX_ENTRIES;
int			po_profile_top = PO_PROFILE_DEFAULT_TOP;

#define PO_PROFILE_SHMEM_NAME	"pool_observer profile"
#define PO_PROFILE_TRANCHE		"pool_observer profile"

/* entries copied per lock acquisition by readers, at most */
#define PO_PROFILE_SCAN_LIMIT	512

/* file format of the profile section */
#define PO_PROFILE_MAGIC		0x504F5052	/* "POPR" */
#define PO_PROFILE_FORMAT		1

typedef struct PoProfileBucketHdr
{
	int64		seq;			/* -1: empty */
	TimestampTz bucket_start;
} PoProfileBucketHdr;

typedef struct PoProfileShared
{
	LWLock	   *lock;
	/* shape, fixed at start */
	int32		max_entries;
	int32		pool_slots;
	int32		history_size;
	int32		top;
	int32		nhash;
	/* guarded by lock */
	uint32		generation;		/* bumped by reset and load */
	bool		enabled;
	uint64		folded;
	int32		nused;			/* entries in use below max_entries */
	int32		ntouched;
	int32		cur_bucket;		/* -1: none */
	int64		cur_seq;
	/* the sample under way; sampler only */
	TimestampTz now;
	int32		interval_ms;
	bool		in_sample;
} PoProfileShared;

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
	int32		nentries;
	int32		cur_bucket;
	int64		cur_seq;
	uint64		folded;
} PoProfileFileHeader;

/* The sampler's cache, one per backend status slot. */
typedef struct PoProfileCache
{
	PoProfileKey key;
	int32		entry;
	uint32		generation;
	bool		valid;
	bool		folded;
} PoProfileCache;

static PoProfileShared *prof = NULL;
static PoProfileEntry *entries = NULL;
static int32 *hashtab = NULL;
static int32 *touched = NULL;
static PoProfileBucketHdr *buckets = NULL;
static PoProfileHistSlot *slots = NULL;
static PoProfileHistEntry *tops = NULL;

static PoProfileCache *cache = NULL;
static int	ncache = 0;

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

static int
shape_pool_slots(void)
{
	return po_max_pools + 1;
}

Size
po_profile_shmem_size(void)
{
	Size		nent = (Size) po_max_profile_entries + shape_pool_slots();
	Size		nslots = mul_size(po_history_size, shape_pool_slots());
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

/* From shmem_request_hook (or _PG_init before 15). */
void
po_profile_shmem_request(void)
{
	RequestAddinShmemSpace(po_profile_shmem_size());
	RequestNamedLWLockTranche(PO_PROFILE_TRANCHE, 1);
}

/* Empty everything.  Caller holds the lock exclusively, or is alone. */
static void
clear_locked(void)
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

/*
 * Attach to (found) or create the segment.  Called from shmem_startup_hook
 * holding AddinShmemInitLock; found is ignored, ShmemInitStruct says.
 */
void
po_profile_shmem_init(bool found)
{
	char	   *ptr;
	Size		nent = (Size) po_max_profile_entries + shape_pool_slots();
	Size		nslots = (Size) po_history_size * shape_pool_slots();
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
		prof->lock = &(GetNamedLWLockTranche(PO_PROFILE_TRANCHE))->lock;
		prof->max_entries = po_max_profile_entries;
		prof->pool_slots = shape_pool_slots();
		prof->history_size = po_history_size;
		prof->top = po_profile_top;
		prof->nhash = nhash;
		prof->enabled = po_profile_enabled;
		prof->generation = 1;
		clear_locked();
	}
}

/* ---------------------------------------------------------------------
 * The sampler
 * ---------------------------------------------------------------------
 */

/* Allocate the per status slot cache, once, in the sampler. */
void
po_profile_local_init(int status_slots)
{
	if (cache != NULL && ncache >= status_slots)
		return;
	cache = MemoryContextAllocZero(TopMemoryContext,
								   sizeof(PoProfileCache) * status_slots);
	ncache = status_slots;
}

/* The profile state of a backend state; NONE when it is not busy. */
uint8
po_profile_state_of(BackendState state)
{
	switch (state)
	{
		case STATE_RUNNING:
		case STATE_FASTPATH:
			return PO_PROFILE_STATE_ACTIVE;
		case STATE_IDLEINTRANSACTION:
		case STATE_IDLEINTRANSACTION_ABORTED:
			return PO_PROFILE_STATE_IDLE_IN_XACT;
		default:
			return PO_PROFILE_STATE_NONE;
	}
}

/* What the worker view shows as profile_enabled; once per sample. */
void
po_profile_set_enabled(bool enabled)
{
	LWLockAcquire(prof->lock, LW_EXCLUSIVE);
	prof->enabled = enabled;
	LWLockRelease(prof->lock);
}

/*
 * Start adding one sample's backends; takes the lock exclusively until
 * po_profile_end_sample().  bucket is the history bucket the sample is
 * folded into (-1: none) and bucket_seq its identity: a new seq empties
 * the bucket's profile rows.
 */
void
po_profile_begin_sample(TimestampTz now, int interval_ms, int bucket,
						int64 bucket_seq, TimestampTz bucket_start)
{
	LWLockAcquire(prof->lock, LW_EXCLUSIVE);
	prof->in_sample = true;
	prof->now = now;
	prof->interval_ms = Max(interval_ms, 0);

	if (bucket >= prof->history_size)
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
}

static int32
hash_find(const PoProfileKey *key, uint32 h, int32 *free_pos)
{
	int32		mask = prof->nhash - 1;
	int32		pos = h & mask;

	for (;;)
	{
		int32		idx = hashtab[pos];

		if (idx < 0)
		{
			*free_pos = pos;
			return -1;
		}
		if (memcmp(&entries[idx].key, key, sizeof(PoProfileKey)) == 0)
			return idx;
		pos = (pos + 1) & mask;
	}
}

/* The 'other' entry of key's pool slot, started over for a new pool. */
static int32
other_for(const PoProfileKey *key)
{
	int32		idx = other_index(key->pool_slot);
	PoProfileEntry *e = &entries[idx];

	if (!e->in_use || memcmp(&e->key.pool, &key->pool, sizeof(PoPoolKey)) != 0)
	{
		memset(e, 0, sizeof(PoProfileEntry));
		e->key.pool = key->pool;
		e->key.pool_slot = key->pool_slot;
		e->key.other = true;
		e->in_use = true;
		e->first_seen = prof->now;
		e->bucket_seq = -1;
	}
	return idx;
}

/* A new entry for key, or -1 when the store is full. */
static int32
insert_entry(const PoProfileKey *key, int32 free_pos)
{
	int32		idx;
	PoProfileEntry *e;

	if (prof->nused >= prof->max_entries)
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
	uint32		ms = (uint32) prof->interval_ms;

	if (e->samples == 0)
		e->first_seen = prof->now;
	e->samples++;
	e->busy_ms += ms;
	e->last_seen = prof->now;

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
	e->bucket_ms += ms;
	hist_slot(prof->cur_bucket, e->key.pool_slot)->samples++;
	hist_slot(prof->cur_bucket, e->key.pool_slot)->busy_ms += ms;
}

/*
 * Add one sample of the busy backend in status_slot.  key must be zeroed
 * before filling, key->state not NONE and key->other false.  On a new
 * entry query_fn (if any) captures the statement text, once.  Between
 * begin and end sample only.
 */
void
po_profile_add(int status_slot, const PoProfileKey *key,
			   PoProfileQueryFn query_fn, void *query_arg)
{
	PoProfileCache *c = NULL;
	int32		idx = -1;
	bool		folded = false;

	Assert(prof->in_sample);
	Assert(LWLockHeldByMeInMode(prof->lock, LW_EXCLUSIVE));
	if (key->pool_slot < 0 || key->pool_slot >= prof->pool_slots ||
		key->state == PO_PROFILE_STATE_NONE || key->other)
		return;

	if (status_slot >= 0 && status_slot < ncache)
		c = &cache[status_slot];

	if (c != NULL && c->valid && c->generation == prof->generation &&
		memcmp(&c->key, key, sizeof(PoProfileKey)) == 0 &&
		entries[c->entry].in_use &&
		memcmp(&entries[c->entry].key.pool, &key->pool, sizeof(PoPoolKey)) == 0)
	{
		idx = c->entry;
		folded = c->folded;
	}
	else
	{
		uint32		h = hash_bytes((const unsigned char *) key, sizeof(PoProfileKey));
		int32		free_pos = -1;

		idx = hash_find(key, h, &free_pos);
		if (idx < 0)
		{
			idx = insert_entry(key, free_pos);
			if (idx >= 0 && query_fn != NULL)
			{
				query_fn(query_arg, entries[idx].query, PO_PROFILE_QUERY_LEN);
				entries[idx].query[PO_PROFILE_QUERY_LEN - 1] = '\0';
			}
		}
		if (idx < 0)
		{
			idx = other_for(key);
			folded = true;
		}
		if (c != NULL)
		{
			c->key = *key;
			c->entry = idx;
			c->generation = prof->generation;
			c->valid = true;
			c->folded = folded;
		}
	}
	if (folded)
		prof->folded++;
	accrue(idx);
}

/* Forget the cache of a status slot, e.g. when its backend has gone. */
void
po_profile_forget_slot(int status_slot)
{
	if (status_slot >= 0 && status_slot < ncache)
		cache[status_slot].valid = false;
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

/*
 * Recompute the current bucket's top entries from the entries touched in
 * it (O(touched * profile_top)), then release the lock.
 */
void
po_profile_end_sample(void)
{
	int			b = prof->cur_bucket;

	Assert(prof->in_sample);
	if (b >= 0)
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
				n--;			/* the last one drops out */
			memmove(&top[pos + 1], &top[pos], sizeof(PoProfileHistEntry) * (n - pos));
			top[pos].query_id = e->key.query_id;
			top[pos].busy_ms = e->bucket_ms;
			top[pos].samples = e->bucket_samples;
			top[pos].wait_event_info = e->key.wait_event_info;
			top[pos].state = e->key.state;
			hs->nentries = n + 1;
		}
	}
	prof->in_sample = false;
	LWLockRelease(prof->lock);
}

/* ---------------------------------------------------------------------
 * Readers
 * ---------------------------------------------------------------------
 */

/* Was the segment set up (false until the module wires it in)? */
bool
po_profile_attached(void)
{
	return prof != NULL;
}

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
 * Copy up to max entries in use, scanning from *pos on, under the lock in
 * shared mode for this chunk only; *pos is where the next call goes on.
 * Done when *pos >= po_profile_capacity().
 */
int
po_profile_read_entries(int *pos, PoProfileEntry *out, int max)
{
	int			n = 0;
	int			scanned = 0;
	int			total = total_entries();

	LWLockAcquire(prof->lock, LW_SHARED);
	while (*pos < total && n < max && scanned < PO_PROFILE_SCAN_LIMIT)
	{
		const PoProfileEntry *e = &entries[*pos];

		if (e->in_use && e->samples > 0)
			memcpy(&out[n++], e, sizeof(PoProfileEntry));
		(*pos)++;
		scanned++;
	}
	LWLockRelease(prof->lock);
	return n;
}

int
po_profile_cur_bucket(void)
{
	int			cur;

	LWLockAcquire(prof->lock, LW_SHARED);
	cur = prof->cur_bucket;
	LWLockRelease(prof->lock);
	return cur;
}

int
po_profile_history_size(void)
{
	return prof->history_size;
}

/* Allocate a copy buffer for po_profile_read_bucket(). */
void
po_profile_bucket_alloc(PoProfileBucketCopy *copy)
{
	copy->pool_slots = prof->pool_slots;
	copy->top = prof->top;
	copy->slots = palloc(sizeof(PoProfileHistSlot) * prof->pool_slots);
	copy->entries = palloc(sizeof(PoProfileHistEntry) *
						   (Size) prof->pool_slots * prof->top);
}

/* Copy one bucket (all pools' totals and tops) under the lock, shared. */
void
po_profile_read_bucket(int bucket, PoProfileBucketCopy *copy)
{
	copy->seq = -1;
	copy->bucket_start = 0;
	if (bucket < 0 || bucket >= prof->history_size)
		return;
	LWLockAcquire(prof->lock, LW_SHARED);
	copy->seq = buckets[bucket].seq;
	copy->bucket_start = buckets[bucket].bucket_start;
	if (copy->seq != -1)
	{
		memcpy(copy->slots, hist_slot(bucket, 0),
			   sizeof(PoProfileHistSlot) * prof->pool_slots);
		memcpy(copy->entries, hist_top(bucket, 0),
			   sizeof(PoProfileHistEntry) * (Size) prof->pool_slots * prof->top);
	}
	LWLockRelease(prof->lock);
}

void
po_profile_stats(PoProfileStats *out)
{
	LWLockAcquire(prof->lock, LW_SHARED);
	out->enabled = prof->enabled;
	out->folded = prof->folded;
	out->entries_used = prof->nused;
	out->entries_max = prof->max_entries;
	LWLockRelease(prof->lock);
}

/* reset(): forget everything. */
void
po_profile_reset(void)
{
	LWLockAcquire(prof->lock, LW_EXCLUSIVE);
	clear_locked();
	LWLockRelease(prof->lock);
}

/* ---------------------------------------------------------------------
 * Persistence
 *
 * Section format: PoProfileFileHeader, nentries PoProfileEntry (in use
 * only, 'other' ones included), then history_size PoProfileBucketHdr,
 * history_size * pool_slots PoProfileHistSlot and history_size *
 * pool_slots * top PoProfileHistEntry, then a CRC-32C of all of it.
 * The postmaster alone calls these, at shutdown and at start, so they
 * take no lock.
 * ---------------------------------------------------------------------
 */

static bool
write_crc(FILE *f, const void *data, Size len, pg_crc32c *crc)
{
	COMP_CRC32C(*crc, data, len);
	return fwrite(data, 1, len, f) == len;
}

/* Append the profile section to f; false on a write error. */
bool
po_profile_save(FILE *f)
{
	PoProfileFileHeader hdr;
	pg_crc32c	crc;
	bool		ok;
	int			i;
	Size		nslots = (Size) prof->history_size * prof->pool_slots;

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

	INIT_CRC32C(crc);
	ok = write_crc(f, &hdr, sizeof(hdr), &crc);
	for (i = 0; ok && i < total_entries(); i++)
		if (entries[i].in_use)
			ok = write_crc(f, &entries[i], sizeof(PoProfileEntry), &crc);
	if (ok)
		ok = write_crc(f, buckets, sizeof(PoProfileBucketHdr) * prof->history_size, &crc);
	if (ok)
		ok = write_crc(f, slots, sizeof(PoProfileHistSlot) * nslots, &crc);
	if (ok)
		ok = write_crc(f, tops, sizeof(PoProfileHistEntry) * nslots * prof->top, &crc);
	FIN_CRC32C(crc);
	if (ok)
		ok = fwrite(&crc, 1, sizeof(crc), f) == sizeof(crc);
	return ok && !ferror(f);
}

static bool
load_failed(const char *why)
{
	ereport(LOG,
			errcode(ERRCODE_DATA_CORRUPTED),
			errmsg("pool_observer profile in the state file ignored: %s", why));
	return false;
}

static bool
valid_addr(const PoAddr *a)
{
	return a->family == 0 || a->family == 4 || a->family == 6;
}

/* Is every field of a saved entry possible? */
static bool
valid_entry(const PoProfileEntry *e, const PoProfileFileHeader *hdr)
{
	const PoProfileKey *k = &e->key;

	if (!e->in_use || k->pool_slot < 0 || k->pool_slot >= hdr->pool_slots)
		return false;
	if (!valid_addr(&k->pool.addr) ||
		memchr(k->pool.appname, '\0', NAMEDATALEN) == NULL ||
		memchr(e->query, '\0', PO_PROFILE_QUERY_LEN) == NULL)
		return false;
	if (k->other)
	{
		if (k->state != PO_PROFILE_STATE_NONE || k->wait_event_info != 0 ||
			k->query_id != 0 || e->query[0] != '\0')
			return false;
	}
	else if (k->state != PO_PROFILE_STATE_ACTIVE &&
			 k->state != PO_PROFILE_STATE_IDLE_IN_XACT)
		return false;
	if (e->first_seen > e->last_seen || e->first_seen < 0 ||
		e->bucket_samples > e->samples || e->bucket_ms > e->busy_ms)
		return false;
	return true;
}

/* Put a loaded entry in: its own slot, or fold it when it does not fit. */
static void
install_entry(const PoProfileEntry *e)
{
	int32		idx;
	PoProfileEntry *dst;

	if (!e->key.other)
	{
		uint32		h = hash_bytes((const unsigned char *) &e->key, sizeof(PoProfileKey));
		int32		free_pos = -1;

		idx = hash_find(&e->key, h, &free_pos);
		if (idx < 0)
			idx = insert_entry(&e->key, free_pos);
		if (idx >= 0)
		{
			dst = &entries[idx];
			memcpy(dst, e, sizeof(PoProfileEntry));
			return;
		}
	}
	/* an 'other' entry, or one that no longer fits: fold */
	prof->now = e->first_seen;
	idx = other_for(&e->key);
	dst = &entries[idx];
	if (dst->samples == 0 || e->first_seen < dst->first_seen)
		dst->first_seen = e->first_seen;
	dst->last_seen = Max(dst->last_seen, e->last_seen);
	dst->samples += e->samples;
	dst->busy_ms += e->busy_ms;
	if (dst->bucket_seq == e->bucket_seq)
	{
		dst->bucket_samples += e->bucket_samples;
		dst->bucket_ms += e->bucket_ms;
	}
	else if (e->bucket_seq > dst->bucket_seq)
	{
		dst->bucket_seq = e->bucket_seq;
		dst->bucket_samples = e->bucket_samples;
		dst->bucket_ms = e->bucket_ms;
	}
}

/*
 * Read the profile section written by po_profile_save() from f, validate
 * every field, and install it.  Entries whose pool slot no longer exists
 * are dropped; those past max_profile_entries are folded.  The history
 * comes back only with the same history_size, max_pools and profile_top.
 * On anything unexpected, logs why and leaves the profile empty; false.
 */
bool
po_profile_load(FILE *f)
{
	PoProfileFileHeader hdr;
	pg_crc32c	crc;
	pg_crc32c	stored;
	char	   *data = NULL;
	Size		nslots;
	Size		body;
	const PoProfileEntry *ents;
	const char *p;
	int			i;

	if (fread(&hdr, 1, sizeof(hdr), f) != sizeof(hdr))
		return load_failed("section is too short");
	if (hdr.magic != PO_PROFILE_MAGIC)
		return load_failed("section is not a pool_observer profile");
	if (hdr.format != PO_PROFILE_FORMAT ||
		hdr.sizeof_entry != sizeof(PoProfileEntry) ||
		hdr.sizeof_slot != sizeof(PoProfileHistSlot) ||
		hdr.sizeof_hist_entry != sizeof(PoProfileHistEntry))
		return load_failed("written by another version of pool_observer");
	if (hdr.pool_slots < 1 || hdr.pool_slots > 10001 ||
		hdr.history_size < 0 || hdr.history_size > 100000 ||
		hdr.top < 1 || hdr.top > 1000 ||
		hdr.nentries < 0 || hdr.nentries > 1000000 + hdr.pool_slots ||
		hdr.cur_bucket < -1 || hdr.cur_bucket >= hdr.history_size ||
		(hdr.cur_bucket == -1) != (hdr.cur_seq == -1))
		return load_failed("header is invalid");

	nslots = (Size) hdr.history_size * hdr.pool_slots;
	body = (Size) hdr.nentries * sizeof(PoProfileEntry) +
		(Size) hdr.history_size * sizeof(PoProfileBucketHdr) +
		nslots * sizeof(PoProfileHistSlot) +
		nslots * hdr.top * sizeof(PoProfileHistEntry);
	data = palloc_extended(body + sizeof(pg_crc32c), MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (data == NULL)
		return load_failed("out of memory");
	if (fread(data, 1, body + sizeof(pg_crc32c), f) != body + sizeof(pg_crc32c))
	{
		pfree(data);
		return load_failed("section is too short");
	}
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &hdr, sizeof(hdr));
	COMP_CRC32C(crc, data, body);
	FIN_CRC32C(crc);
	memcpy(&stored, data + body, sizeof(stored));
	if (!EQ_CRC32C(crc, stored))
	{
		pfree(data);
		return load_failed("checksum mismatch");
	}

	/* validate everything before installing anything */
	ents = (const PoProfileEntry *) data;
	for (i = 0; i < hdr.nentries; i++)
	{
		if (!valid_entry(&ents[i], &hdr))
		{
			pfree(data);
			return load_failed("an entry is invalid");
		}
	}
	p = data + (Size) hdr.nentries * sizeof(PoProfileEntry);
	{
		const PoProfileBucketHdr *bh = (const PoProfileBucketHdr *) p;
		const PoProfileHistSlot *hs = (const PoProfileHistSlot *)
			(p + (Size) hdr.history_size * sizeof(PoProfileBucketHdr));

		for (i = 0; i < hdr.history_size; i++)
			if (bh[i].seq < -1 || (bh[i].seq != -1 && bh[i].bucket_start < 0))
			{
				pfree(data);
				return load_failed("a history bucket is invalid");
			}
		for (i = 0; i < (int) nslots; i++)
			if (hs[i].nentries < 0 || hs[i].nentries > hdr.top)
			{
				pfree(data);
				return load_failed("a history row is invalid");
			}
	}

	clear_locked();
	for (i = 0; i < hdr.nentries; i++)
		if (ents[i].key.pool_slot < prof->pool_slots)
			install_entry(&ents[i]);
	prof->folded = hdr.folded;

	if (hdr.history_size == prof->history_size &&
		hdr.pool_slots == prof->pool_slots && hdr.top == prof->top)
	{
		memcpy(buckets, p, sizeof(PoProfileBucketHdr) * prof->history_size);
		p += sizeof(PoProfileBucketHdr) * prof->history_size;
		memcpy(slots, p, sizeof(PoProfileHistSlot) * nslots);
		p += sizeof(PoProfileHistSlot) * nslots;
		memcpy(tops, p, sizeof(PoProfileHistEntry) * nslots * prof->top);
		prof->cur_bucket = hdr.cur_bucket;
		prof->cur_seq = hdr.cur_seq;
		/* the entries with time in the current bucket */
		prof->ntouched = 0;
		for (i = 0; i < total_entries() && prof->cur_bucket >= 0; i++)
			if (entries[i].in_use && entries[i].bucket_seq == prof->cur_seq)
				touched[prof->ntouched++] = i;
	}
	else
		ereport(LOG,
				errmsg("pool_observer profile history discarded"),
				errdetail("pool_observer.history_size, pool_observer.max_pools or pool_observer.profile_top changed since it was saved."));

	pfree(data);
	return true;
}
