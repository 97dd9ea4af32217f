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
