/*-------------------------------------------------------------------------
 *
 * profile_store.h
 *	  The busy-time profile's shared memory layout, for the files of the
 *	  profile alone: profile_store.c (the segment and the entries),
 *	  profile.c (the per-sample path), profile_read.c (the chunked readers)
 *	  and profile_state.c (its state file section).  Nothing else includes
 *	  it; everyone else goes through profile.h.
 *
 * The layout is described in profile_store.c, the locking rules in
 * profile.c.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/profile_store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_PROFILE_STORE_H
#define PO_PROFILE_STORE_H

#include "profile.h"

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

/* The segment's parts, set by po_profile_shmem_init() (profile_store.c). */
extern PoProfileShared *po_prof;
extern PoProfileEntry *po_prof_entries;
extern int32 *po_prof_hash;
extern int32 *po_prof_touched;
extern PoProfileBucketHdr *po_prof_buckets;
extern PoProfileHistSlot *po_prof_slots;
extern PoProfileHistEntry *po_prof_tops;

#define total_entries()		(po_prof->max_entries + po_prof->pool_slots)
#define other_index(slot)	(po_prof->max_entries + (slot))
#define hist_slot(b, s)		(&po_prof_slots[(Size) (b) * po_prof->pool_slots + (s)])
#define hist_top(b, s)		(&po_prof_tops[((Size) (b) * po_prof->pool_slots + (s)) * po_prof->top])

/* the entries, shared by the sampler and the state file's load */
extern int32 po_profile_hash_find(const PoProfileKey *key, int32 *free_pos);
extern int32 po_profile_insert_entry(const PoProfileKey *key, int32 free_pos);
extern int32 po_profile_other_for(const PoProfileKey *key, TimestampTz now);

#endif							/* PO_PROFILE_STORE_H */
