/*-------------------------------------------------------------------------
 *
 * empty_pass.c
 *	  A background worker that wakes every 10 ms and does nothing else:
 *	  the floor of any sampler that is a PostgreSQL background worker.
 *
 * Its start and loop are pool_observer's (src/worker.c) without the
 * sample: connected to shared catalogs only, then WaitLatch with a
 * timeout, ResetLatch, CHECK_FOR_INTERRUPTS.  make bench loads it next to
 * pool_observer and pg_wait_sampling and reads its CPU time per pass in
 * the same windows, so that a per-pass ratio between samplers can be set
 * against what merely waking up costs.  It is a benchmark instrument,
 * never installed: bench/run.sh builds it in its temporary directory and
 * preloads it with dynamic_library_path pointing there.
 *
 * IDENTIFICATION
 *	  bench/empty_pass/empty_pass.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/wait_event.h"

PG_MODULE_MAGIC;

#define EMPTY_PASS_PERIOD_MS	10

void		_PG_init(void);
PGDLLEXPORT void empty_pass_main(Datum main_arg);

void
_PG_init(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	/* found through dynamic_library_path, which make bench sets */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "empty_pass");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "empty_pass_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "empty pass");
	snprintf(worker.bgw_type, BGW_MAXLEN, "empty pass");
	RegisterBackgroundWorker(&worker);
}

void
empty_pass_main(Datum main_arg)
{
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* as pool_observer's worker: in pg_stat_activity, where make bench finds it */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 EMPTY_PASS_PERIOD_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
