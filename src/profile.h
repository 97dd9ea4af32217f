/*-------------------------------------------------------------------------
 *
 * profile.h
 *	  The bounded busy-time profile: where each pool's busy time goes, by
 *	  (state, wait event, query id).
 *
 * See profile.c for the memory layout, the lock protocol and the file
 * format.  Depends on the pool key type (PoPoolKey) only.
 *
 * IDENTIFICATION
 *	  src/profile.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_PROFILE_H
#define PO_PROFILE_H

#include <stdio.h>

#include "datatype/timestamp.h"
#include "utils/backend_status.h"

#include "pool_observer.h"		/* PoPoolKey; re-point at types.h */

/* Query text kept per profile entry, bytes including the NUL. */
#define PO_PROFILE_QUERY_LEN	256

/* Defaults of the settings, for guc.c and the README. */
#define PO_PROFILE_DEFAULT_MAX_ENTRIES	4096
#define PO_PROFILE_DEFAULT_TOP			5

/* The two busy states an entry is kept for. */
typedef enum PoProfileState
{
	PO_PROFILE_STATE_NONE = 0,	/* 'other' entries only */
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
	int32		pool_slot;		/* 0 .. pool_slots - 1 */
	uint32		wait_event_info;	/* 0 while on CPU */
	uint64		query_id;		/* 0 when unknown */
	uint8		state;			/* PoProfileState */
	bool		other;			/* the pool's folded remainder */
} PoProfileKey;

/* One cumulative entry, as stored and as copied out to readers. */
typedef struct PoProfileEntry
{
	PoProfileKey key;
	bool		in_use;
	uint64		samples;
	uint64		busy_ms;		/* sum of the interval in force per sample */
	TimestampTz first_seen;
	TimestampTz last_seen;
	/* accrued in the current history bucket (sampler-private meaning) */
	int64		bucket_seq;
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

/* A pool's totals in a history bucket; its top entries follow it. */
typedef struct PoProfileHistSlot
{
	uint64		samples;		/* all of the pool's samples in the bucket */
	uint64		busy_ms;
	int32		nentries;		/* top entries that follow, <= profile_top */
	int32		pad;
} PoProfileHistSlot;

/* One history bucket copied out: pool_slots slots, each with its top. */
typedef struct PoProfileBucketCopy
{
	int64		seq;			/* -1: empty */
	TimestampTz bucket_start;
	int			pool_slots;
	int			top;
	PoProfileHistSlot *slots;	/* pool_slots */
	PoProfileHistEntry *entries;	/* pool_slots * top */
} PoProfileBucketCopy;

typedef struct PoProfileStats
{
	bool		enabled;		/* as the sampler last saw the setting */
	uint64		folded;			/* samples folded into an 'other' entry */
	int32		entries_used;	/* non-'other' entries in use */
	int32		entries_max;
} PoProfileStats;

/*
 * Called on a miss, once per new entry, to capture a statement text of the
 * session being added.  Writes a NUL-terminated string of at most len
 * bytes into buf (an empty one when there is none).
 */
typedef void (*PoProfileQueryFn) (void *arg, char *buf, Size len);

/* settings; defined in guc.c once wired (see the report / docs-draft) */
extern bool po_profile_enabled;
extern int	po_max_profile_entries;
extern int	po_profile_top;

/* shared memory: any process */
extern Size po_profile_shmem_size(void);
extern void po_profile_shmem_request(void);
extern void po_profile_shmem_init(bool found);

/* the sampler */
extern void po_profile_local_init(int status_slots);
extern uint8 po_profile_state_of(BackendState state);
extern void po_profile_set_enabled(bool enabled);
extern void po_profile_begin_sample(TimestampTz now, int interval_ms,
									int bucket, int64 bucket_seq,
									TimestampTz bucket_start);
extern void po_profile_add(int status_slot, const PoProfileKey *key,
						   PoProfileQueryFn query_fn, void *query_arg);
extern void po_profile_forget_slot(int status_slot);
extern void po_profile_end_sample(void);

/* readers */
extern bool po_profile_attached(void);
extern int	po_profile_pool_slots(void);
extern int	po_profile_capacity(void);
extern int	po_profile_read_entries(int *pos, PoProfileEntry *out, int max);
extern int	po_profile_cur_bucket(void);
extern int	po_profile_history_size(void);
extern void po_profile_bucket_alloc(PoProfileBucketCopy *copy);
extern void po_profile_read_bucket(int bucket, PoProfileBucketCopy *copy);
extern void po_profile_stats(PoProfileStats *out);

/* reset() and persistence */
extern void po_profile_reset(void);
extern bool po_profile_save(FILE *f);
extern bool po_profile_load(FILE *f);

#endif							/* PO_PROFILE_H */
