/*-------------------------------------------------------------------------
 *
 * pool_observer.c
 *	  Module entry: settings, shared memory hooks, the sampler worker's
 *	  registration and the hook that counts new connections.
 *
 * Everything here runs only when the library is in shared_preload_libraries.
 * Loaded any other way (CREATE EXTENSION alone), _PG_init does nothing and
 * every SQL function reports how to preload it.
 *
 * IDENTIFICATION
 *	  src/pool_observer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "pool_observer.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

#ifdef PO_HAVE_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

#ifdef PO_HAVE_SHMEM_REQUEST_HOOK
static void
po_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	po_shmem_request();
}
#endif

static void
po_shmem_startup_hook(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	po_shmem_startup();
}

/*
 * Record a successful new client connection in the ring, so that the sampler
 * sees connections that come and go between two samples (an application
 * without a pool).  Lock-free: one atomic increment and a copy of the key.
 */
static void
po_client_auth_hook(Port *port, int status)
{
	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);

	if (status == STATUS_OK && po_shared != NULL && !am_walsender && port != NULL)
	{
		uint64		pos = pg_atomic_fetch_add_u64(&po_shared->ring_head, 1);
		PoConnSlot *slot = &po_conn_ring[pos % PO_CONN_RING_SIZE];

		/* invalidate first, so a reader never mixes two entries */
		pg_atomic_write_u64(&slot->seq, 0);
		pg_write_barrier();
		po_addr_from_sockaddr(&port->raddr.addr, &slot->addr);
		strlcpy(slot->datname, port->database_name ? port->database_name : "",
				NAMEDATALEN);
		strlcpy(slot->usename, port->user_name ? port->user_name : "",
				NAMEDATALEN);
		strlcpy(slot->appname,
				port->application_name ? port->application_name : "",
				NAMEDATALEN);
		pg_write_barrier();
		pg_atomic_write_u64(&slot->seq, pos + 1);
	}
}

static void
po_register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* consistent state, not recovery finished: it samples standbys too */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pool_observer");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "po_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pool_observer sampler");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pool_observer sampler");
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	po_define_gucs();

#ifdef PO_HAVE_SHMEM_REQUEST_HOOK
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = po_shmem_request_hook;
#else
	po_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = po_shmem_startup_hook;
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = po_client_auth_hook;

	if (!IsBinaryUpgrade)
		po_register_worker();
}
