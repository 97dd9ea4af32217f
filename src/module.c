/*-------------------------------------------------------------------------
 *
 * module.c
 *	  Module entry: settings, shared memory of every store, the sampler's
 *	  registration and the hooks.
 *
 * Everything here runs only when the library is in shared_preload_libraries.
 * Loaded any other way (CREATE EXTENSION alone), _PG_init does nothing and
 * every SQL function reports how to preload it.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/module.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "counters.h"
#include "events.h"
#include "guc.h"
#include "history.h"
#include "hooks.h"
#include "intake.h"
#include "persist.h"
#include "profile.h"
#include "shmem.h"
#include "snapshot.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Every store's shared memory, added up. */
static Size
total_shmem_size(void)
{
	Size		size = po_shmem_size();

	size = add_size(size, po_snapshot_shmem_size());
	size = add_size(size, po_events_shmem_size());
	size = add_size(size, po_history_shmem_size());
	size = add_size(size, po_intake_shmem_size());
	size = add_size(size, po_counters_shmem_size());
	size = add_size(size, po_profile_shmem_size());
	return size;
}

/*
 * The most shared memory pool_observer may ask for, all stores together.
 * The size settings multiply (history_size x max_pools above all): a
 * product the machine cannot give would otherwise fail the server's start
 * with a message about shared memory that does not say why.
 */
#define PO_SHMEM_TOTAL_MAX	((Size) 1024 * 1024 * 1024)

static void
check_total_size(void)
{
	Size		total = total_shmem_size();

	if (total > PO_SHMEM_TOTAL_MAX)
		ereport(ERROR,
				errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				errmsg("pool_observer would need %zu MB of shared memory, more than its total of %zu MB",
					   total / (1024 * 1024), PO_SHMEM_TOTAL_MAX / (1024 * 1024)),
				errdetail("pool_observer.history_size = %d and pool_observer.max_pools = %d need %zu MB of history; pool_observer.max_events = %d needs %zu MB of events.",
						  po_history_size, po_max_pools,
						  po_history_shmem_size() / (1024 * 1024),
						  po_max_events, po_events_shmem_size() / (1024 * 1024)),
				errhint("Lower pool_observer.history_size, pool_observer.max_pools or pool_observer.max_events."));
}

static void
po_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(total_shmem_size());
	RequestNamedLWLockTranche("pool_observer", 1);
}

static void
po_shmem_startup_hook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	po_shmem_init(&found);
	po_snapshot_shmem_init();
	po_events_shmem_init();
	po_history_shmem_init();
	po_intake_shmem_init();
	po_counters_shmem_init();
	po_profile_shmem_init();
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

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	po_define_gucs();
	check_total_size();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = po_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = po_shmem_startup_hook;
	po_hooks_install();

	if (!IsBinaryUpgrade)
		po_register_worker();
}
