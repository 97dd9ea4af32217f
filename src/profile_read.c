/*-------------------------------------------------------------------------
 *
 * profile_read.c
 *	  Reading the busy-time profile: entries and history buckets copied out
 *	  a bounded chunk at a time.
 *
 * Readers take po_shared->lock shared for one chunk (PO_PROFILE_CHUNK
 * entries, or PO_PROFILE_SLOT_CHUNK pool slots of one bucket), release it,
 * and form tuples afterwards (see profile.c for the layout and the rest of
 * the locking rules).
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/profile_read.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "profile_store.h"
#include "shmem.h"

/* entries scanned per reader chunk, at most (in use or not) */
#define PO_PROFILE_SCAN_LIMIT	512

int
po_profile_pool_slots(void)
{
	return po_prof->pool_slots;
}

/* Entries a reader may get in all: max_profile_entries + pool slots. */
int
po_profile_capacity(void)
{
	return total_entries();
}

/*
 * Copy up to max (<= PO_PROFILE_CHUNK) po_prof_entries in use, scanning from *pos
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

		/* po_prof_entries are handed out in order: skip the unused ones at once */
		if (*pos >= po_prof->nused && *pos < po_prof->max_entries)
			*pos = po_prof->max_entries;
		if (*pos >= total)
			break;
		e = &po_prof_entries[*pos];
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
	return po_prof->history_size;
}

int
po_profile_cur_bucket(void)
{
	int			cur;

	po_lock_shared();
	cur = po_prof->cur_bucket;
	po_unlock_shared();
	return cur;
}

/* Allocate the po_prof_entries of a copy buffer (in the current context). */
void
po_profile_bucket_alloc(PoProfileBucketCopy *copy)
{
	memset(copy, 0, offsetof(PoProfileBucketCopy, entries));
	copy->top = po_prof->top;
	copy->entries = palloc(sizeof(PoProfileHistEntry) *
						   (Size) PO_PROFILE_SLOT_CHUNK * po_prof->top);
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
	if (bucket < 0 || bucket >= po_prof->history_size ||
		first_slot < 0 || first_slot >= po_prof->pool_slots)
		return;
	copy->seq = po_prof_buckets[bucket].seq;
	copy->bucket_start = po_prof_buckets[bucket].bucket_start;
	if (copy->seq == -1)
		return;
	copy->nslots = Min(PO_PROFILE_SLOT_CHUNK, po_prof->pool_slots - first_slot);
	memcpy(copy->slots, hist_slot(bucket, first_slot),
		   sizeof(PoProfileHistSlot) * copy->nslots);
	memcpy(copy->entries, hist_top(bucket, first_slot),
		   sizeof(PoProfileHistEntry) * (Size) copy->nslots * po_prof->top);
}

void
po_profile_stats(PoProfileStats *out)
{
	po_lock_shared();
	out->enabled = po_prof->enabled;
	out->folded = po_prof->folded;
	out->entries_used = po_prof->nused;
	out->entries_max = po_prof->max_entries;
	po_unlock_shared();
}
