/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  The core shared state: the lock every store shares and the worker's
 *	  figures.  Which lock guards which field is described in shmem.h,
 *	  beside the struct.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "po_compat.h"
#include "shmem.h"

PoShared   *po_shared = NULL;

Size
po_shmem_size(void)
{
	return MAXALIGN(sizeof(PoShared));
}

/*
 * Attach to (or create) the core segment.  Caller holds AddinShmemInitLock
 * and has requested the tranche "pool_observer".
 */
void
po_shmem_init(bool *found)
{
	po_shared = ShmemInitStruct("pool_observer", po_shmem_size(), found);
	if (!*found)
	{
		memset(po_shared, 0, sizeof(PoShared));
		po_shared->lock = &(GetNamedLWLockTranche("pool_observer"))->lock;
		SpinLockInit(&po_shared->mutex);
		ConditionVariableInit(&po_shared->sample_cv);
		pg_atomic_init_u32(&po_shared->writers_waiting, 0);
		ConditionVariableInit(&po_shared->writer_cv);
	}
}

/*
 * ERROR out unless the library was preloaded (and so has shared memory).
 */
void
po_require_loaded(void)
{
	if (po_shared == NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("pool_observer must be loaded via shared_preload_libraries"),
				errhint("Add pool_observer to shared_preload_libraries and restart the server."));
}

/* Connections available to ordinary roles. */
int
po_usable_connections(void)
{
	int			usable = MaxConnections - po_reserved_connections();

	return Max(usable, 1);
}

/*
 * Remember that pool_observer is about to send signo to the backend
 * (pid, backend_start).  The oldest entry is overwritten when the ring is
 * full: a signal that old has long been reported.
 */
void
po_note_signal(int pid, TimestampTz backend_start, int signo)
{
	PoSentSignal *e;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&po_shared->mutex);
	e = &po_shared->sent[po_shared->sent_next];
	po_shared->sent_next = (po_shared->sent_next + 1) % PO_SENT_SIGNALS;
	e->pid = pid;
	e->signo = signo;
	e->backend_start = backend_start;
	e->sent_at = now;
	SpinLockRelease(&po_shared->mutex);
}

/*
 * Was signo sent to (pid, backend_start) by pool_observer?  An entry
 * matches once: it is cleared when taken.
 */
bool
po_take_signal(int pid, TimestampTz backend_start, int signo)
{
	bool		found = false;
	int			i;

	SpinLockAcquire(&po_shared->mutex);
	for (i = 0; i < PO_SENT_SIGNALS; i++)
	{
		PoSentSignal *e = &po_shared->sent[i];

		if (e->pid == pid && e->signo == signo &&
			(backend_start == 0 || e->backend_start == backend_start))
		{
			e->pid = 0;
			found = true;
			break;
		}
	}
	SpinLockRelease(&po_shared->mutex);
	return found;
}

/*
 * The lock protocol of po_shared->lock (see shmem.h): writers announce
 * themselves so that no stream of readers can hold them off.
 */
void
po_lock_exclusive(void)
{
	pg_atomic_fetch_add_u32(&po_shared->writers_waiting, 1);
	LWLockAcquire(po_shared->lock, LW_EXCLUSIVE);
}

void
po_unlock_exclusive(void)
{
	LWLockRelease(po_shared->lock);
	pg_atomic_fetch_sub_u32(&po_shared->writers_waiting, 1);
	ConditionVariableBroadcast(&po_shared->writer_cv);
}

void
po_lock_shared(void)
{
	if (pg_atomic_read_u32(&po_shared->writers_waiting) != 0)
	{
		int			slept;

		ConditionVariablePrepareToSleep(&po_shared->writer_cv);
		for (slept = 0; slept < PO_READER_WAIT_MAX_MS; slept += 10)
		{
			if (pg_atomic_read_u32(&po_shared->writers_waiting) == 0)
				break;
			(void) ConditionVariableTimedSleep(&po_shared->writer_cv, 10,
											   PG_WAIT_EXTENSION);
		}
		ConditionVariableCancelSleep();
	}
	LWLockAcquire(po_shared->lock, LW_SHARED);
}

void
po_unlock_shared(void)
{
	LWLockRelease(po_shared->lock);
}
