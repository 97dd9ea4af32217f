/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Whether to cancel or terminate a session, and doing it safely.
 *
 * The order of the checks is the contract: superusers (unless
 * act_on_superusers), then exempt roles and applications, then the rate
 * limit, then dry run.  Just before the signal the session is read again
 * and must still be the same one: same pid, same backend start, and the
 * kind's own check (same transaction or statement start), so a reused pid
 * is never hit.
 *
 * Layer 3.
 *
 * IDENTIFICATION
 *	  src/policy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "guc.h"
#include "policy.h"
#include "shmem.h"
#include "status.h"

/* Rate limit: times of the most recent actions, a ring of the limit's size. */
static TimestampTz *action_times = NULL;
static int	action_times_size = 0;
static int	action_times_next = 0;

/* Forget caches and the rate-limit window (reload or reset()). */
void
po_policy_reset_local(void)
{
	po_catalog_forget();
	if (action_times != NULL && action_times_size != po_max_actions_per_minute)
	{
		pfree(action_times);
		action_times = NULL;
		action_times_size = 0;
		action_times_next = 0;
	}
}

/*
 * Take one slot of the rate limit: allowed while fewer than
 * max_actions_per_minute actions happened in the last 60 seconds.
 */
static bool
take_rate_slot(TimestampTz now)
{
	int			limit = po_max_actions_per_minute;
	TimestampTz oldest;

	if (limit <= 0)
		return false;
	if (action_times == NULL)
	{
		action_times = MemoryContextAllocZero(TopMemoryContext,
											  sizeof(TimestampTz) * limit);
		action_times_size = limit;
		action_times_next = 0;
	}
	/* the slot we would overwrite holds the limit-th most recent action */
	oldest = action_times[action_times_next];
	if (oldest != 0 && now - oldest < 60 * USECS_PER_SEC)
		return false;
	action_times[action_times_next] = now;
	action_times_next = (action_times_next + 1) % action_times_size;
	return true;
}

/*
 * Decide what to do about a session past an action threshold.  Returns
 * TERMINATED/CANCELLED when the signal should be sent now, or the action to
 * record instead.  why receives a short reason for the event's detail.
 */
PoAction
po_policy_decide(const PoBackend *be, PoSignal sig,
				 char *why, Size whylen)
{
	const char *rolname = po_role_name(be->roleid);

	why[0] = '\0';
	if (!po_act_on_superusers && po_role_is_superuser(be->roleid))
	{
		snprintf(why, whylen, "superuser session");
		return PO_ACTION_EXEMPT;
	}
	if (po_name_in_list(rolname, po_exempt_roles))
	{
		snprintf(why, whylen, "role in pool_observer.exempt_roles");
		return PO_ACTION_EXEMPT;
	}
	if (po_name_in_list(be->appname, po_exempt_applications))
	{
		snprintf(why, whylen, "application in pool_observer.exempt_applications");
		return PO_ACTION_EXEMPT;
	}
	if (!take_rate_slot(GetCurrentTimestamp()))
	{
		snprintf(why, whylen, "pool_observer.max_actions_per_minute reached");
		return PO_ACTION_SUPPRESSED;
	}
	if (po_dry_run)
	{
		snprintf(why, whylen, "pool_observer.dry_run is on");
		return sig == PO_SIGNAL_TERMINATE ?
			PO_ACTION_WOULD_TERMINATE : PO_ACTION_WOULD_CANCEL;
	}
	return sig == PO_SIGNAL_TERMINATE ?
		PO_ACTION_TERMINATED : PO_ACTION_CANCELLED;
}

/*
 * Send the kind's signal if the session is still the one we decided about,
 * and count it.  Returns false (and sends nothing) otherwise.
 */
bool
po_signal_session(const PoBackend *be, const PoKindInfo *kind)
{
	PoBackend	cur;
	int			signo = kind->signal == PO_SIGNAL_TERMINATE ? SIGTERM : SIGINT;
	bool		sent;

	if (be->pid == MyProcPid || be->pid <= 0 || kind->same == NULL ||
		kind->signal == PO_SIGNAL_NONE)
		return false;
	memset(&cur, 0, sizeof(cur));
	if (!po_reread_backend(be, &cur) ||
		cur.pid != be->pid || cur.backend_start != be->backend_start ||
		cur.type != B_BACKEND || !kind->same(be, &cur))
		return false;

	/* so that what PostgreSQL then reports is counted as ours */
	po_note_signal(be->pid, be->backend_start, signo);

	/* as pg_signal_backend() does: the whole process group if any */
#ifdef HAVE_SETSID
	sent = kill(-be->pid, signo) == 0;
	if (!sent)
#endif
		sent = kill(be->pid, signo) == 0;
	if (sent)
		po_count(actions_taken, 1);
	return sent;
}

/*
 * Record an action taken on demand (terminate_idle_in_transaction(),
 * cancel_slow_statements()): one closed event, and the log line.
 */
void
po_record_on_demand(PoEvent *ev)
{
	LWLockAcquire(po_shared->lock, LW_EXCLUSIVE);
	po_event_insert_locked(ev);
	LWLockRelease(po_shared->lock);
	po_event_log(ev, "action");
}
