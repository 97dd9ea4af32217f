/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of pool_observer and the lock protocol around it.
 *
 * One segment, sized once at start from max_pools, history_size and
 * max_events: PoShared, then the pool table, the event ring, the history
 * buckets with their per-pool rows, and the ring of new connections.
 *
 * Locking:
 * - po_shared->mutex (spinlock) guards the worker's counters, its pid and
 *	 latch, and the sample request counters.  Held for a few assignments.
 * - po_shared->lock (LWLock) guards the pool table, the server sample, the
 *	 event ring, next_event_id and the history.  Only the sampler writes the
 *	 pool table and history; it takes the lock exclusively once per sample to
 *	 publish what it computed in local memory.  Backends take it exclusively
 *	 only to add an event for an on-demand action, or for reset().  Readers
 *	 take it shared, copy, release, and only then form tuples; history is
 *	 copied one bucket at a time so that a full read never holds the lock
 *	 long.
 * - The connection ring is lock-free: a connecting backend reserves a
 *	 position with an atomic increment and publishes the entry through its
 *	 seq field; only the sampler reads it.
 *
 * IDENTIFICATION
 *	  src/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "pool_observer.h"

PoShared   *po_shared = NULL;
PoPool	   *po_pools = NULL;
PoEvent    *po_events = NULL;
PoBucket   *po_buckets = NULL;
PoHistRow  *po_hist_rows = NULL;
PoConnSlot *po_conn_ring = NULL;

static Size
po_shmem_size(void)
{
	Size		size;

	size = MAXALIGN(sizeof(PoShared));
	size = add_size(size, MAXALIGN(mul_size(sizeof(PoPool), po_pool_slots())));
	size = add_size(size, MAXALIGN(mul_size(sizeof(PoEvent), po_max_events)));
	size = add_size(size, MAXALIGN(mul_size(sizeof(PoBucket), po_history_size)));
	size = add_size(size, MAXALIGN(mul_size(mul_size(sizeof(PoHistRow),
													 po_pool_slots()),
											po_history_size)));
	size = add_size(size, MAXALIGN(mul_size(sizeof(PoConnSlot),
											PO_CONN_RING_SIZE)));
	return size;
}

void
po_shmem_request(void)
{
	RequestAddinShmemSpace(po_shmem_size());
	RequestNamedLWLockTranche("pool_observer", 1);
}

/*
 * Empty the pool table, the events and the history.  Caller holds the lock
 * exclusively, or is the postmaster before anyone else runs.
 */
void
po_clear_data_locked(void)
{
	int			i;

	memset(po_pools, 0, mul_size(sizeof(PoPool), po_pool_slots()));
	memset(po_events, 0, mul_size(sizeof(PoEvent), po_max_events));
	memset(po_hist_rows, 0,
		   mul_size(mul_size(sizeof(PoHistRow), po_pool_slots()),
					po_history_size));
	for (i = 0; i < po_history_size; i++)
	{
		memset(&po_buckets[i], 0, sizeof(PoBucket));
		po_buckets[i].seq = -1;
	}
	memset(&po_shared->server, 0, sizeof(PoServerSample));
	po_shared->hist_cur = -1;
	if (po_shared->next_event_id == 0)
		po_shared->next_event_id = 1;
}

void
po_shmem_startup(void)
{
	bool		found;
	char	   *ptr;
	int			i;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	po_shared = ShmemInitStruct("pool_observer", po_shmem_size(), &found);

	ptr = (char *) po_shared + MAXALIGN(sizeof(PoShared));
	po_pools = (PoPool *) ptr;
	ptr += MAXALIGN(mul_size(sizeof(PoPool), po_pool_slots()));
	po_events = (PoEvent *) ptr;
	ptr += MAXALIGN(mul_size(sizeof(PoEvent), po_max_events));
	po_buckets = (PoBucket *) ptr;
	ptr += MAXALIGN(mul_size(sizeof(PoBucket), po_history_size));
	po_hist_rows = (PoHistRow *) ptr;
	ptr += MAXALIGN(mul_size(mul_size(sizeof(PoHistRow), po_pool_slots()),
							 po_history_size));
	po_conn_ring = (PoConnSlot *) ptr;

	if (!found)
	{
		memset(po_shared, 0, sizeof(PoShared));
		po_shared->lock = &(GetNamedLWLockTranche("pool_observer"))->lock;
		SpinLockInit(&po_shared->mutex);
		ConditionVariableInit(&po_shared->sample_cv);
		pg_atomic_init_u64(&po_shared->ring_head, 0);
		for (i = 0; i < PO_CONN_RING_SIZE; i++)
			pg_atomic_init_u64(&po_conn_ring[i].seq, 0);
		po_shared->next_event_id = 1;
		po_clear_data_locked();
	}
	LWLockRelease(AddinShmemInitLock);

	/*
	 * The postmaster restores the state saved at the last clean shutdown and
	 * saves it again at the next one.  After a crash the shared memory is
	 * re-created, but the file was removed when it was loaded, so nothing
	 * stale comes back.
	 */
	if (!IsUnderPostmaster && !found)
	{
		po_persist_load();
		on_shmem_exit(po_persist_save, (Datum) 0);
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
