/*-------------------------------------------------------------------------
 *
 * snapshot.h
 *	  The latest sample as published: one row per pool and the server's
 *	  figures.
 *
 * Layer 1.  Written by the sampler once per sample, under po_shared->lock
 * held exclusively; readers copy it under the lock held shared.
 *
 * IDENTIFICATION
 *	  src/snapshot.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_SNAPSHOT_H
#define PO_SNAPSHOT_H

#include "kinds.h"
#include "types.h"

/* Per-bucket outcome columns of pool_history and server_history. */
typedef enum PoHistOutcome
{
	PO_HO_REFUSED = 0,
	PO_HO_AUTH_FAILED,
	PO_HO_TIMEOUTS,
	PO_HO_CANCELLED,
	PO_HO_TERMINATED
} PoHistOutcome;

#define PO_NUM_HIST_OUTCOMES	(PO_HO_TERMINATED + 1)

/*
 * One pool in the latest sample.  Slot max_pools is the overflow pool that
 * absorbs every pool that did not fit.
 */
typedef struct PoPool
{
	PoPoolKey	key;
	bool		in_use;
	bool		present;		/* has connections or new ones this sample */
	int32		connections;
	int32		active;
	int32		idle;
	int32		idle_in_xact;
	int32		waiting;
	TimestampTz saturated_since;	/* 0 when not saturated */
	TimestampTz oldest_xact_start;	/* 0 when none */
	TimestampTz oldest_iit_start;
	TimestampTz oldest_query_start;
	double		new_conn_rate;	/* per second, over the last window */
	uint64		new_conn_total; /* since the pool was first seen */
	/* worker-private bookkeeping, copied along but not shown */
	int32		new_conn_sample;	/* new connections in this sample */
	int32		out_sample[PO_NUM_HIST_OUTCOMES];	/* outcomes this sample;
													 * not "present" */
	int32		win_count;
	TimestampTz win_start;
	TimestampTz last_present;

	/*
	 * Which pool the slot holds: a new number each time the slot is given a
	 * key (never reused, never 0); 0 for the overflow slot.
	 */
	uint64		epoch;
} PoPool;

/* Whole-server figures of the latest sample. */
typedef struct PoServerSample
{
	TimestampTz sampled_at;
	int32		client_connections;
	int32		active;
	int32		idle;
	int32		idle_in_xact;
	int32		waiting;
	int32		autovacuum;
	int32		walsenders;
	int32		bgworkers;
	int32		other_backends;
	int32		max_connections;	/* usable by ordinary roles */
	int32		npools;
	/* sessions or pools past each kind's detection threshold */
	int32		over[PO_NUM_EVENT_KINDS];
	double		new_conn_rate;
} PoServerSample;

extern Size po_snapshot_shmem_size(void);
extern void po_snapshot_shmem_init(void);
extern void po_snapshot_clear_locked(void);
extern void po_snapshot_publish_locked(const PoPool *pools, int pool_high,
									   const PoServerSample *server);
extern void po_snapshot_copy_pools(PoPool *pools, TimestampTz *sampled_at);
extern void po_snapshot_copy_server(PoServerSample *server);

#endif							/* PO_SNAPSHOT_H */
