/*-------------------------------------------------------------------------
 *
 * profile.h
 *	  The bounded busy-time profile: where each pool's busy time goes, by
 *	  (state, wait event, query id), cumulative and per history bucket.
 *
 * Layer 1.  Its own shared memory segment, guarded by po_shared->lock:
 * the sampler notes a sample's busy backends in its local memory
 * (po_profile_begin_sample(), po_profile_note_sample()) and applies them
 * while it
 * holds the lock exclusively to publish (po_profile_fold_locked()).
 * Readers take the lock shared for one bounded chunk at a time.  See
 * profile.c for the memory layout.
 *
 * IDENTIFICATION
 *	  src/profile.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_PROFILE_H
#define PO_PROFILE_H

#include "snapshot.h"
#include "statefile.h"
#include "types.h"

/* Query text kept per profile entry, bytes including the NUL. */
#define PO_PROFILE_QUERY_LEN	256

/* Entries a reader copies per lock acquisition, at most. */
#define PO_PROFILE_CHUNK		64

/* Pool slots of a history bucket a reader copies per lock acquisition. */
#define PO_PROFILE_SLOT_CHUNK	64

/* The two busy states an entry is kept for. */
typedef enum PoProfileState
{
	PO_PROFILE_STATE_NONE = 0,	/* not busy; 'other' entries */
	PO_PROFILE_STATE_ACTIVE,	/* running, or a fastpath function call */
	PO_PROFILE_STATE_IDLE_IN_XACT	/* idle in transaction, aborted too */
} PoProfileState;

/*
 * What an entry is kept for.  Always memset to zero before filling: it is
 * hashed and compared as a blob, padding included.
 *
 * pool is the key of the pool in pool_slot.  For the overflow slot the
 * caller passes a key with only dbid and roleid set, so that the entry
 * still joins to pg_stat_statements and the query's visibility can be
 * decided by role.
 */
typedef struct PoProfileKey
{
	PoPoolKey	pool;
	int32		pool_slot;		/* 0 .. pool slots - 1 */
	uint32		wait_event_info;	/* 0 while on CPU */
	uint64		query_id;		/* 0 when unknown */
	uint8		state;			/* PoProfileState */
	bool		other;			/* the pool's folded remainder */
} PoProfileKey;

/*
 * A busy backend's entry named without its pool key: the pool slot and
 * which pool is in it (pools.c's epoch of the slot, a new one whenever the
 * slot is given a key; for the overflow slot, whose entries keep each
 * session's role and database instead, those two), the state, the wait
 * event and the query id.  Equal tags mean equal keys.  Compared field by
 * field: padding does not matter.
 */
typedef struct PoProfileTag
{
	uint64		pool;			/* epoch, or database << 32 | role */
	uint64		query_id;
	int32		pool_slot;
	uint32		wait_event_info;
	uint8		state;

	/*
	 * The backend's status change count when the tag was last matched (-1:
	 * none); not part of the tag's identity.  At the same count the status
	 * entry, so query id and state, are the same: they need not be read.
	 */
	int32		changecount;
} PoProfileTag;

/* One cumulative entry, as stored and as copied out to readers. */
typedef struct PoProfileEntry
{
	PoProfileKey key;
	bool		in_use;
	uint64		samples;
	uint64		busy_ms;		/* sum of the interval in force per sample */
	TimestampTz first_seen;
	TimestampTz last_seen;
	/* accrued in the current history bucket */
	int64		bucket_seq;		/* -1: none */
	uint32		bucket_samples;
	uint64		bucket_ms;
	char		query[PO_PROFILE_QUERY_LEN];	/* "" when none */
} PoProfileEntry;

/* One of the profile_top entries of a pool in a history bucket. */
typedef struct PoProfileHistEntry
{
	uint64		query_id;
	uint64		busy_ms;
	uint32		samples;
	uint32		wait_event_info;
	uint8		state;
} PoProfileHistEntry;

/* A pool's totals in a history bucket; its top entries go with it. */
typedef struct PoProfileHistSlot
{
	uint64		samples;		/* all of the pool's samples in the bucket */
	uint64		busy_ms;
	int32		nentries;		/* top entries, <= profile_top */
	int32		pad;
} PoProfileHistSlot;

/* Part of one history bucket copied out: nslots slots from first_slot. */
typedef struct PoProfileBucketCopy
{
	int64		seq;			/* -1: empty */
	TimestampTz bucket_start;
	int			first_slot;
	int			nslots;
	int			top;
	PoProfileHistSlot slots[PO_PROFILE_SLOT_CHUNK];
	PoProfileHistEntry *entries;	/* PO_PROFILE_SLOT_CHUNK * top */
} PoProfileBucketCopy;

typedef struct PoProfileStats
{
	bool		enabled;		/* as the sampler last saw the setting */
	uint64		folded;			/* samples folded into an 'other' entry */
	int32		entries_used;	/* non-'other' entries in use */
	int32		entries_max;
} PoProfileStats;

/*
 * Called once per new entry, to capture the statement text of the session
 * being noted (arg: its PoBackend).  Writes a NUL-terminated string of at
 * most len bytes into buf; an empty one when there is none to keep.
 */
typedef void (*PoProfileQueryFn) (void *arg, char *buf, Size len);

/* shared memory */
extern Size po_profile_shmem_size(void);
extern void po_profile_shmem_init(void);
extern void po_profile_clear_locked(void);

/* the sampler */
extern void po_profile_begin_sample(TimestampTz now, int interval_ms);
extern void po_profile_note_sample(const PoBackend *backends,
								   const int *busy, int nbusy,
								   const PoPool *pools,
								   PoProfileQueryFn query_fn);
extern void po_profile_fold_locked(bool enabled, int bucket, int64 bucket_seq,
								   TimestampTz bucket_start);

/* readers */
extern int	po_profile_pool_slots(void);
extern int	po_profile_capacity(void);
extern int	po_profile_read_entries(int *pos, PoProfileEntry *out, int max);
extern int	po_profile_history_size(void);
extern int	po_profile_cur_bucket(void);
extern void po_profile_bucket_alloc(PoProfileBucketCopy *copy);
extern void po_profile_copy_bucket_locked(int bucket, int first_slot,
										  PoProfileBucketCopy *copy);
extern void po_profile_stats(PoProfileStats *out);

/* the state file (persist.c, in the postmaster alone) */
extern void po_profile_save(PoStateFile *sf);
extern bool po_profile_load(PoStateFile *sf);

#endif							/* PO_PROFILE_H */
