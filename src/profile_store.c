/*-------------------------------------------------------------------------
 *
 * profile_store.c
 *	  The busy-time profile's store: its shared memory segment, and the
 *	  entries with their hash (find, insert, a pool's 'other' entry).
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
 * The entry operations do not lock: the sampler calls them (the lookup
 * lock-free, the rest under the lock it holds exclusively), and the
 * postmaster at load.  See profile.c for the locking rules.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/profile_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "storage/shmem.h"

#include "guc.h"
#include "profile_store.h"

#define PO_PROFILE_SHMEM_NAME	"pool_observer profile"

PoProfileShared *po_prof = NULL;
PoProfileEntry *po_prof_entries = NULL;
int32 *po_prof_hash = NULL;
int32 *po_prof_touched = NULL;
PoProfileBucketHdr *po_prof_buckets = NULL;
PoProfileHistSlot *po_prof_slots = NULL;
PoProfileHistEntry *po_prof_tops = NULL;

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

	memset(po_prof_entries, 0, sizeof(PoProfileEntry) * total_entries());
	for (i = 0; i < po_prof->nhash; i++)
		po_prof_hash[i] = -1;
	for (i = 0; i < po_prof->history_size; i++)
	{
		po_prof_buckets[i].seq = -1;
		po_prof_buckets[i].bucket_start = 0;
	}
	memset(po_prof_slots, 0,
		   sizeof(PoProfileHistSlot) * (Size) po_prof->history_size * po_prof->pool_slots);
	memset(po_prof_tops, 0, sizeof(PoProfileHistEntry) *
		   (Size) po_prof->history_size * po_prof->pool_slots * po_prof->top);
	po_prof->folded = 0;
	po_prof->nused = 0;
	po_prof->ntouched = 0;
	po_prof->cur_bucket = -1;
	po_prof->cur_seq = -1;
	po_prof->generation++;
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

	po_prof = ShmemInitStruct(PO_PROFILE_SHMEM_NAME, po_profile_shmem_size(), &found);
	ptr = (char *) po_prof + MAXALIGN(sizeof(PoProfileShared));
	po_prof_entries = (PoProfileEntry *) ptr;
	ptr += MAXALIGN(sizeof(PoProfileEntry) * nent);
	po_prof_hash = (int32 *) ptr;
	ptr += MAXALIGN(sizeof(int32) * nhash);
	po_prof_touched = (int32 *) ptr;
	ptr += MAXALIGN(sizeof(int32) * nent);
	po_prof_buckets = (PoProfileBucketHdr *) ptr;
	ptr += MAXALIGN(sizeof(PoProfileBucketHdr) * po_history_size);
	po_prof_slots = (PoProfileHistSlot *) ptr;
	ptr += MAXALIGN(sizeof(PoProfileHistSlot) * nslots);
	po_prof_tops = (PoProfileHistEntry *) ptr;

	if (!found)
	{
		memset(po_prof, 0, sizeof(PoProfileShared));
		po_prof->max_entries = po_max_profile_entries;
		po_prof->pool_slots = po_pool_slots();
		po_prof->history_size = po_history_size;
		po_prof->top = po_profile_top;
		po_prof->nhash = nhash;
		po_prof->enabled = po_profile_enabled;
		po_prof->generation = 1;
		po_profile_clear_locked();
	}
}

/* ---------------------------------------------------------------------
 * The entries
 * ---------------------------------------------------------------------
 */

/* Look key up in the hash; -1 if absent (*free_pos: where it would go). */
int32
po_profile_hash_find(const PoProfileKey *key, int32 *free_pos)
{
	uint32		h = hash_bytes((const unsigned char *) key, sizeof(PoProfileKey));
	int32		mask = po_prof->nhash - 1;
	int32		pos = h & mask;
	int32		probes;

	*free_pos = -1;
	for (probes = 0; probes < po_prof->nhash; probes++)
	{
		int32		idx = po_prof_hash[pos];

		if (idx < 0 || idx >= po_prof->max_entries)
		{
			*free_pos = pos;
			return -1;
		}
		if (memcmp(&po_prof_entries[idx].key, key, sizeof(PoProfileKey)) == 0)
			return idx;
		pos = (pos + 1) & mask;
	}
	return -1;
}


/* The 'other' entry of key's pool slot, started over for a new pool. */
int32
po_profile_other_for(const PoProfileKey *key, TimestampTz now)
{
	int32		idx = other_index(key->pool_slot);
	PoProfileEntry *e = &po_prof_entries[idx];
	PoPoolKey	pool = key->pool;

	/* the overflow pool's sessions differ in role: one remainder for all */
	if (key->pool_slot == po_prof->pool_slots - 1)
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
int32
po_profile_insert_entry(const PoProfileKey *key, int32 free_pos)
{
	int32		idx;
	PoProfileEntry *e;

	if (po_prof->nused >= po_prof->max_entries || free_pos < 0)
		return -1;
	idx = po_prof->nused++;
	e = &po_prof_entries[idx];
	memset(e, 0, sizeof(PoProfileEntry));
	e->key = *key;
	e->in_use = true;
	e->bucket_seq = -1;
	po_prof_hash[free_pos] = idx;
	return idx;
}
