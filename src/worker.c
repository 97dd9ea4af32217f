/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The sampler background worker: signals, latch and timing.
 *
 * The worker sleeps on its latch until the next sample is due or a backend
 * asks for one (sample_now()), takes the sample in a per-cycle memory
 * context, and reports its own cost.  SIGTERM ends it through die(); the
 * postmaster restarts it after bgw_restart_time.  An ERROR also ends it
 * (and it is restarted), so no error can leave it half-working.
 *
 * Layer 4.
 *
 * IDENTIFICATION
 *	  src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cycle.h"
#include "guc.h"
#include "policy.h"
#include "shmem.h"
#include "status.h"
#include "types.h"
#include "worker.h"

/*
 * When the next periodic sample is due, on the monotonic clock
 * (po_monotonic_us()): a step of the wall clock, back or forward, neither
 * stops sampling nor fires a burst of samples.
 */
static int64 next_sample_at = 0;

/* Milliseconds until the next periodic sample is due. */
static long
po_ms_until_next_sample(void)
{
	int64		now = po_monotonic_us();
	long		ms;

	if (!po_enabled)
		return 60000L;
	if (next_sample_at <= now)
		return 0;
	ms = (long) ((next_sample_at - now + 999) / 1000);
	return Min(ms, (long) po_sample_interval);
}

/*
 * The settings of the sampler's own catalog transactions, whatever
 * postgresql.conf says: a serializable, read-only or deferrable default
 * would make it wait for a safe snapshot (or fail on a standby), a timeout
 * would cancel its scans, and search_path is not for it to resolve.  The
 * override source wins over the file on every reload.
 */
static void
po_worker_set_transaction_settings(void)
{
	static const char *const settings[][2] = {
		{"default_transaction_isolation", "read committed"},
		{"default_transaction_read_only", "off"},
		{"default_transaction_deferrable", "off"},
		{"statement_timeout", "0"},
		{"lock_timeout", "0"},
		{"idle_in_transaction_session_timeout", "0"},
		{"search_path", "pg_catalog"},
	};
	int			i;

	for (i = 0; i < lengthof(settings); i++)
		SetConfigOption(settings[i][0], settings[i][1], PGC_SUSET,
						PGC_S_OVERRIDE);
	po_set_transaction_timeout_off();
}

static bool
po_sample_requested(void)
{
	bool		req;

	SpinLockAcquire(&po_shared->mutex);
	req = po_shared->sample_requests > po_shared->requests_served;
	SpinLockRelease(&po_shared->mutex);
	return req;
}

static void
po_worker_detach(int code, Datum arg)
{
	SpinLockAcquire(&po_shared->mutex);
	po_shared->worker_pid = 0;
	po_shared->worker_latch = NULL;
	SpinLockRelease(&po_shared->mutex);
	/* wake anyone in sample_now(): it will see that nobody is sampling */
	ConditionVariableBroadcast(&po_shared->sample_cv);
}

/* Register the sampler; from _PG_init, in the postmaster. */
void
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
po_worker_main(Datum main_arg)
{
	MemoryContext cycle_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* shared catalogs only: role and database names */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	po_worker_set_transaction_settings();

	if (po_shared == NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("pool_observer shared memory is not initialized"));

	SpinLockAcquire(&po_shared->mutex);
	po_shared->worker_pid = MyProcPid;
	po_shared->worker_latch = MyLatch;
	po_shared->worker_started_at = GetCurrentTimestamp();
	po_shared->worker_starts++;
	SpinLockRelease(&po_shared->mutex);
	before_shmem_exit(po_worker_detach, (Datum) 0);

	pgstat_report_appname("pool_observer sampler");

	if (!po_status_attach())
		ereport(LOG,
				errmsg("pool_observer sampler uses the slower backend status snapshot"),
				errdetail("The shared backend status array could not be attached."));

	cycle_cxt = AllocSetContextCreate(TopMemoryContext,
									  "pool_observer sample",
									  ALLOCSET_DEFAULT_MINSIZE,
									  64 * 1024,
									  ALLOCSET_DEFAULT_MAXSIZE);
	next_sample_at = po_monotonic_us();

	for (;;)
	{
		bool		requested;

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 po_ms_until_next_sample(), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* a new interval counts from now */
			next_sample_at = po_monotonic_us();
			po_policy_reset_local();
		}

		requested = po_sample_requested();
		if (!requested && (!po_enabled || po_monotonic_us() < next_sample_at))
			continue;

		MemoryContextReset(cycle_cxt);
		po_sample_once(cycle_cxt);

		next_sample_at = po_monotonic_us() + (int64) po_sample_interval * 1000;
	}
}
