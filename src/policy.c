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
#include "utils/timestamp.h"

#include "catalog.h"
#include "guc.h"
#include "policy.h"
#include "shmem.h"
#include "status.h"

/* Forget caches (reload or reset()).  The rate-limit window is kept. */
void
po_policy_reset_local(void)
{
	po_catalog_forget();
}

/*
 * The rate limit.  po_shared->rate_times is a ring of the times of the
 * last PO_MAX_ACTIONS_PER_MINUTE_MAX actions, in shared memory, so that
 * neither a reload nor a restarted sampler forgets them.  An action is
 * allowed while fewer than max_actions_per_minute of them are less than
 * 60 s old: the limit-th most recent one is older, or there is none.  A
 * changed limit thus applies at once to the actions already in the window.
 * Times are of the monotonic clock (po_monotonic_us()), the same in every
 * process, so a step of the wall clock neither opens nor closes the window.
 */
static bool
take_rate_slot(int64 now)
{
	int			limit = Min(po_max_actions_per_minute, PO_MAX_ACTIONS_PER_MINUTE_MAX);
	int64		nth;
	bool		ok;

	if (limit <= 0)
		return false;
	SpinLockAcquire(&po_shared->mutex);
	nth = po_shared->rate_times[(po_shared->rate_next - limit +
								 PO_MAX_ACTIONS_PER_MINUTE_MAX) %
								PO_MAX_ACTIONS_PER_MINUTE_MAX];
	ok = nth == 0 || now - nth >= 60 * USECS_PER_SEC;
	if (ok)
	{
		po_shared->rate_times[po_shared->rate_next] = now;
		po_shared->rate_next = (po_shared->rate_next + 1) %
			PO_MAX_ACTIONS_PER_MINUTE_MAX;
	}
	SpinLockRelease(&po_shared->mutex);
	return ok;
}

/*
 * Give back the slot the last po_policy_decide() took, when no signal was
 * sent after all (the re-check found the session changed or gone): only
 * actions taken count against the limit.  Only the sampler takes slots.
 */
void
po_policy_give_back(void)
{
	SpinLockAcquire(&po_shared->mutex);
	po_shared->rate_next = (po_shared->rate_next - 1 +
							PO_MAX_ACTIONS_PER_MINUTE_MAX) %
		PO_MAX_ACTIONS_PER_MINUTE_MAX;
	po_shared->rate_times[po_shared->rate_next] = 0;
	SpinLockRelease(&po_shared->mutex);
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
	const char *rolname;

	/* the catalog as of now: a role promoted or renamed a moment ago */
	po_catalog_refresh();
	rolname = po_role_name(be->roleid);

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
	if (po_appname_in_list(be->appname, po_exempt_applications))
	{
		snprintf(why, whylen, "application in pool_observer.exempt_applications");
		return PO_ACTION_EXEMPT;
	}
	if (!take_rate_slot(po_monotonic_us()))
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
	po_lock_exclusive();
	po_event_insert_locked(ev);
	po_unlock_exclusive();
	po_event_log(ev, "action");
}
