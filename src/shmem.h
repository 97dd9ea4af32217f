/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  The core shared state of pool_observer and its lock protocol.
 *
 * Layer 1.  Each store (events.c, history.c, snapshot.c, intake.c) owns
 * its own shared memory segment; this one holds the lock they share and
 * the worker's own figures.
 *
 * Locking:
 * - mutex (spinlock) guards the fields marked so below: the worker's pid,
 *	 latch and counters, and the sample request counters.  Held for a few
 *	 assignments; no allocation, no ereport, no loop inside.
 * - lock (LWLock) guards the published pools and server sample
 *	 (snapshot.c), the event ring (events.c) and the history (history.c).
 *	 The sampler computes a sample in local memory and takes the lock
 *	 exclusively once per sample to publish it.  Backends take it
 *	 exclusively only to add an on-demand action's event, or for reset().
 *	 Readers take it shared, copy a bounded chunk, release it, and only then
 *	 form tuples.
 *
 *	 Nobody takes the lock with LWLockAcquire() directly, but through
 *	 po_lock_exclusive()/po_unlock_exclusive() and po_lock_shared()/
 *	 po_unlock_shared(), because an LWLock lets new shared holders in while
 *	 an exclusive waiter waits: readers that overlap each other (eight
 *	 sessions looping over the events view) would hold the sampler off for
 *	 ever.  The protocol:
 *	 - a writer increments writers_waiting before it waits for the lock,
 *	   and decrements it and broadcasts writer_cv after releasing it;
 *	 - a reader that sees writers_waiting > 0 sleeps on writer_cv until it
 *	   is 0 (at most PO_READER_WAIT_MAX_MS: a bound, not a timing), then
 *	   takes the lock shared.
 *	 So once a writer waits, only readers that read writers_waiting before
 *	 it was raised can still get in, each for one bounded chunk: a writer
 *	 waits for at most one chunk per concurrent reader, however many there
 *	 are.  Nothing between po_lock_exclusive() and po_unlock_exclusive()
 *	 may throw (they copy and assign only), so writers_waiting cannot leak;
 *	 were it ever to, readers would still get in after the bounded wait.
 * - rate_times[] (the sampler's rate-limit window) is guarded by mutex; it
 *	 lives here so that it survives reloads and sampler restarts.
 * - The intake ring (intake.c) is lock-free.
 *
 * IDENTIFICATION
 *	  src/shmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_SHMEM_H
#define PO_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#include "guc.h"

/*
 * A signal pool_observer sent (policy.c, just before kill()), so that the
 * drain counts the outcome PostgreSQL then reports as pool_observer's own
 * (cancelled_by_pool_observer, terminated_by_pool_observer) and not as a
 * query_cancelled or session_terminated.  A small ring, guarded by mutex.
 */
#define PO_SENT_SIGNALS		64

typedef struct PoSentSignal
{
	int32		pid;			/* 0: unused or already matched */
	int32		signo;			/* SIGINT or SIGTERM */
	TimestampTz backend_start;
	TimestampTz sent_at;
} PoSentSignal;

typedef struct PoShared
{
	LWLock	   *lock;
	slock_t		mutex;

	/* guarded by mutex */
	pid_t		worker_pid;
	Latch	   *worker_latch;
	TimestampTz worker_started_at;
	int32		worker_starts;
	uint64		samples;
	TimestampTz last_sample_at;
	double		sample_us_sum;
	double		sample_us_max;
	double		sample_us_last;
	uint64		events_total;
	uint64		events_dropped;
	uint64		history_overwritten;
	uint64		actions_taken;
	uint64		actions_suppressed;
	uint64		conns_unattributed;
	uint64		sample_requests;
	uint64		requests_served;
	uint32		reset_generation;	/* changed only with lock held exclusively, too */

	/* the rate-limit window: monotonic times (us) of the last actions */
	int32		rate_next;		/* slot of the next action */
	int64		rate_times[PO_MAX_ACTIONS_PER_MINUTE_MAX];	/* 0: none */
	uint64		outcomes_dropped;	/* intake records lost: ring full */
	int32		sent_next;		/* next slot of sent[] */
	PoSentSignal sent[PO_SENT_SIGNALS];

	/* sample_now() waits here for requests_served to reach its ticket */
	ConditionVariable sample_cv;

	/* see "lock" above */
	pg_atomic_uint32 writers_waiting;
	ConditionVariable writer_cv;
} PoShared;

/* How long a reader waits for writers at most, per acquisition. */
#define PO_READER_WAIT_MAX_MS	1000

extern PoShared *po_shared;

extern Size po_shmem_size(void);
extern void po_shmem_init(bool *found);
extern void po_require_loaded(void);
extern int	po_usable_connections(void);
extern void po_note_signal(int pid, TimestampTz backend_start, int signo);
extern bool po_take_signal(int pid, TimestampTz backend_start, int signo);
extern void po_lock_exclusive(void);
extern void po_unlock_exclusive(void);
extern void po_lock_shared(void);
extern void po_unlock_shared(void);

/* Add to one of the mutex-guarded counters. */
#define po_count(field, n) \
	do { \
		SpinLockAcquire(&po_shared->mutex); \
		po_shared->field += (n); \
		SpinLockRelease(&po_shared->mutex); \
	} while (0)

#endif							/* PO_SHMEM_H */
