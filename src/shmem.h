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
	uint32		reset_generation;
	uint64		outcomes_dropped;	/* intake records lost: ring full */
	int32		sent_next;		/* next slot of sent[] */
	PoSentSignal sent[PO_SENT_SIGNALS];

	/* sample_now() waits here for requests_served to reach its ticket */
	ConditionVariable sample_cv;
} PoShared;

extern PoShared *po_shared;

extern Size po_shmem_size(void);
extern void po_shmem_init(bool *found);
extern void po_require_loaded(void);
extern int	po_usable_connections(void);
extern void po_note_signal(int pid, TimestampTz backend_start, int signo);
extern bool po_take_signal(int pid, TimestampTz backend_start, int signo);

/* Add to one of the mutex-guarded counters. */
#define po_count(field, n) \
	do { \
		SpinLockAcquire(&po_shared->mutex); \
		po_shared->field += (n); \
		SpinLockRelease(&po_shared->mutex); \
	} while (0)

#endif							/* PO_SHMEM_H */
