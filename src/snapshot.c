/*-------------------------------------------------------------------------
 *
 * snapshot.c
 *	  The published latest sample: see snapshot.h.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/snapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/shmem.h"

#include "guc.h"
#include "shmem.h"
#include "snapshot.h"

typedef struct PoSnapshot
{
	PoServerSample server;
	PoPool		pools[FLEXIBLE_ARRAY_MEMBER];	/* po_pool_slots() */
} PoSnapshot;

static PoSnapshot *snap = NULL;

Size
po_snapshot_shmem_size(void)
{
	return add_size(offsetof(PoSnapshot, pools),
					mul_size(sizeof(PoPool), po_pool_slots()));
}

/* Caller holds AddinShmemInitLock. */
void
po_snapshot_shmem_init(void)
{
	bool		found;

	snap = ShmemInitStruct("pool_observer pools", po_snapshot_shmem_size(), &found);
	if (!found)
		po_snapshot_clear_locked();
}

/* Caller holds the lock exclusively, or is the postmaster. */
void
po_snapshot_clear_locked(void)
{
	memset(snap, 0, po_snapshot_shmem_size());
}

/*
 * Pool slots below this were in use at the last publish (the sampler's
 * own; -1: not published yet by this process, so every slot is copied).
 */
static int	published_high = -1;

/*
 * Caller holds the lock exclusively.  Copies only the slots that are in
 * use now (below high: po_pools_high()) or were at the last publish (the
 * rest are unused in both), and the overflow slot.
 */
void
po_snapshot_publish_locked(const PoPool *pools, int high,
						   const PoServerSample *server)
{
	int			n;

	n = published_high < 0 ? po_max_pools : Max(high, published_high);
	memcpy(snap->pools, pools, sizeof(PoPool) * n);
	snap->pools[po_overflow_slot()] = pools[po_overflow_slot()];
	published_high = high;
	snap->server = *server;
}

/* Copy the pool table (po_pool_slots() rows) and the time it was sampled. */
void
po_snapshot_copy_pools(PoPool *pools, TimestampTz *sampled_at)
{
	po_lock_shared();
	memcpy(pools, snap->pools, sizeof(PoPool) * po_pool_slots());
	*sampled_at = snap->server.sampled_at;
	po_unlock_shared();
}

void
po_snapshot_copy_server(PoServerSample *server)
{
	po_lock_shared();
	*server = snap->server;
	po_unlock_shared();
}
