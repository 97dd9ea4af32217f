/*-------------------------------------------------------------------------
 *
 * funcs_control.c
 *	  SQL functions that control the sampler: sample_now(), reset(), and
 *	  the check that the library is preloaded.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_control.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "counters.h"
#include "events.h"
#include "guc.h"
#include "history.h"
#include "profile.h"
#include "shmem.h"
#include "snapshot.h"

PG_FUNCTION_INFO_V1(po_assert_loaded_1_0);
PG_FUNCTION_INFO_V1(po_sample_now_1_0);
PG_FUNCTION_INFO_V1(po_reset_1_0);

/* How long sample_now() waits for the sampler. */
#define PO_SAMPLE_WAIT_MS	30000

Datum
po_assert_loaded_1_0(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	PG_RETURN_BOOL(true);
}

/* Ask the sampler for a sample and wait until it is published. */
static TimestampTz
request_sample(void)
{
	uint64		ticket;
	Latch	   *latch;
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz last;

	if (!po_enabled)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("pool_observer sampling is disabled"),
				errhint("Set pool_observer.enabled to on and reload the configuration."));

	SpinLockAcquire(&po_shared->mutex);
	ticket = ++po_shared->sample_requests;
	latch = po_shared->worker_latch;
	SpinLockRelease(&po_shared->mutex);

	if (latch == NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("pool_observer sampler is not running"),
				errhint("It is restarted automatically within seconds; check the server log if it is not."));
	SetLatch(latch);

	ConditionVariablePrepareToSleep(&po_shared->sample_cv);
	for (;;)
	{
		uint64		served;
		pid_t		pid;

		SpinLockAcquire(&po_shared->mutex);
		served = po_shared->requests_served;
		pid = po_shared->worker_pid;
		last = po_shared->last_sample_at;
		SpinLockRelease(&po_shared->mutex);

		if (served >= ticket)
			break;
		if (pid == 0 ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), PO_SAMPLE_WAIT_MS))
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					errmsg("pool_observer sampler did not take a sample"),
					errdetail("The sampler stopped or did not answer within %d seconds.",
							  PO_SAMPLE_WAIT_MS / 1000));
		}
		(void) ConditionVariableTimedSleep(&po_shared->sample_cv, 1000,
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return last;
}

Datum
po_sample_now_1_0(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	PG_RETURN_TIMESTAMPTZ(request_sample());
}

Datum
po_reset_1_0(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	if (!superuser())
		ereport(ERROR,
				errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				errmsg("permission denied to reset pool_observer"),
				errdetail("Only superusers may reset pool_observer."));

	/*
	 * The sampler drops its own pools and episodes at its next sample, and
	 * does not publish a sample begun before this: the generation changes
	 * under the lock, where the sampler checks it before publishing.
	 */
	po_lock_exclusive();
	po_snapshot_clear_locked();
	po_events_clear_locked();
	po_history_clear_locked();
	po_counters_clear_locked();
	po_profile_clear_locked();
	SpinLockAcquire(&po_shared->mutex);
	po_shared->reset_generation++;
	SpinLockRelease(&po_shared->mutex);
	po_unlock_exclusive();
	PG_RETURN_VOID();
}
