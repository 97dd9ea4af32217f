/*-------------------------------------------------------------------------
 *
 * outcomes.c
 *	  Turn what emit_log_hook reported into events, counters and history
 *	  counts.
 *
 * Session kinds (timeouts, cancels, terminations) are one closed events row
 * each, with the pid, the pool key, query_id, the query and the server's
 * message in detail.  connection_refused and authentication_failed are
 * episodes per pool: one row, open while attempts keep failing, the count
 * in detail; so a storm leaves a bounded number of rows while the counters
 * stay exact.
 *
 * A cancel or termination that pool_observer itself sent (policy.c notes
 * it just before kill()) counts as cancelled_by_pool_observer /
 * terminated_by_pool_observer only: no event (the detection episode has
 * the action), not in the history's queries_cancelled / sessions_terminated.
 *
 * A fast or smart shutdown terminates every session with the same 57P01 as
 * pg_terminate_backend().  session_terminated records are therefore held
 * back for one sample and dropped if the sampler has been told to exit
 * meanwhile (the postmaster signals it together with the backends).
 *
 * Layer 3.
 *
 * IDENTIFICATION
 *	  src/outcomes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "storage/pmsignal.h"
#include "utils/memutils.h"

#include "counters.h"
#include "events.h"
#include "guc.h"
#include "kinds.h"
#include "outcome_classify.h"
#include "outcomes.h"
#include "pending.h"
#include "pools.h"
#include "shmem.h"

/* Session events of this sample, inserted at publish. */
#define PO_OUTCOME_EVENTS_MAX	PO_INTAKE_RING_SIZE
/* session_terminated records held back one sample. */
#define PO_DEFER_MAX			256
/* Open attempt episodes; beyond this, the counts go on but no new row. */
#define PO_ATTEMPT_EPISODES_MAX	64

typedef struct PoAttemptEpisode
{
	bool		in_use;
	bool		dirty;
	int			kind;			/* PO_EVENT_CONNECTION_REFUSED or _AUTH_.. */
	PoPoolKey	key;
	int			slot;			/* pool slot, for a reset check */
	int64		count;
	int			reason;
	TimestampTz last_at;
	PoEvent		ev;				/* ev.id once inserted */
} PoAttemptEpisode;

static PoEvent *new_events = NULL;
static int	n_new_events = 0;
static PoIntakeRecord *deferred = NULL;
static int	n_deferred = 0;
static PoIntakeRecord *deferring = NULL;	/* this sample's, for the next */
static int	n_deferring = 0;
static PoAttemptEpisode episodes[PO_ATTEMPT_EPISODES_MAX];

static void handle(const PoIntakeRecord *rec, TimestampTz now);

static void
ensure_buffers(void)
{
	if (new_events != NULL)
		return;
	new_events = MemoryContextAlloc(TopMemoryContext,
									sizeof(PoEvent) * PO_OUTCOME_EVENTS_MAX);
	deferred = MemoryContextAlloc(TopMemoryContext,
								  sizeof(PoIntakeRecord) * PO_DEFER_MAX);
	deferring = MemoryContextAlloc(TopMemoryContext,
								   sizeof(PoIntakeRecord) * PO_DEFER_MAX);
}

/* Forget open episodes and held-back records (after reset()). */
void
po_outcomes_reset_local(void)
{
	memset(episodes, 0, sizeof(episodes));
	n_new_events = 0;
	n_deferred = 0;
	n_deferring = 0;
}

/*
 * Start of a sample, after the pools' begin: the session_terminated
 * records held back by the last sample are taken now, unless a shutdown
 * has begun.
 */
void
po_outcomes_begin_sample(TimestampTz now)
{
	PoIntakeRecord *tmp;
	int			i;

	ensure_buffers();
	n_new_events = 0;
	/* last sample's held-back records become this sample's to take */
	tmp = deferred;
	deferred = deferring;
	deferring = tmp;
	n_deferred = n_deferring;
	n_deferring = 0;
	if (ProcDiePending || !PostmasterIsAlive())
		n_deferred = 0;
	for (i = 0; i < n_deferred; i++)
		handle(&deferred[i], now);
	n_deferred = 0;
}

static PoCounter
counter_of(int outcome)
{
	switch (outcome)
	{
		case PO_OUTCOME_STATEMENT_TIMEOUT:
			return PO_CTR_STATEMENT_TIMEOUT;
		case PO_OUTCOME_LOCK_TIMEOUT:
			return PO_CTR_LOCK_TIMEOUT;
		case PO_OUTCOME_IDLE_IN_XACT_TIMEOUT:
			return PO_CTR_IIT_TIMEOUT;
		case PO_OUTCOME_IDLE_SESSION_TIMEOUT:
			return PO_CTR_IDLE_SESSION_TIMEOUT;
		case PO_OUTCOME_TRANSACTION_TIMEOUT:
			return PO_CTR_TRANSACTION_TIMEOUT;
		case PO_OUTCOME_QUERY_CANCELLED:
			return PO_CTR_QUERY_CANCELLED;
		case PO_OUTCOME_SESSION_TERMINATED:
			return PO_CTR_SESSION_TERMINATED;
		case PO_OUTCOME_CONNECTION_REFUSED:
			return PO_CTR_REFUSED;
		default:
			return PO_CTR_AUTH_FAILED;
	}
}

static int
hist_of(int outcome)
{
	if (po_outcome_is_timeout(outcome))
		return PO_HO_TIMEOUTS;
	switch (outcome)
	{
		case PO_OUTCOME_QUERY_CANCELLED:
			return PO_HO_CANCELLED;
		case PO_OUTCOME_SESSION_TERMINATED:
			return PO_HO_TERMINATED;
		case PO_OUTCOME_CONNECTION_REFUSED:
			return PO_HO_REFUSED;
		default:
			return PO_HO_AUTH_FAILED;
	}
}

static void
fill_names(PoEvent *ev, const PoIntakeRecord *rec, const PoPoolKey *key)
{
	ev->addr = rec->addr;
	strlcpy(ev->datname, rec->datname, NAMEDATALEN);
	strlcpy(ev->usename, rec->usename, NAMEDATALEN);
	strlcpy(ev->appname, rec->appname, NAMEDATALEN);
}

static void
session_event(const PoIntakeRecord *rec, const PoPoolKey *key, int slot)
{
	PoEvent    *ev;

	if (n_new_events >= PO_OUTCOME_EVENTS_MAX)
		return;					/* counted, not recorded */
	ev = &new_events[n_new_events++];
	memset(ev, 0, sizeof(PoEvent));
	ev->kind = po_outcome_event_kind(rec->outcome);
	ev->action = PO_ACTION_NONE;
	ev->pid = rec->pid;
	ev->detected_at = ev->started_at = ev->last_seen_at = ev->ended_at = rec->at;
	ev->backend_start = rec->backend_start;
	ev->query_id = rec->query_id;
	ev->has_pool = false;
	ev->overflow = slot == po_overflow_slot();
	fill_names(ev, rec, key);
	strlcpy(ev->detail, rec->message, PO_DETAIL_LEN);
	strlcpy(ev->query, rec->query, PO_QUERY_LEN);
}

static void
attempt_episode(const PoIntakeRecord *rec, const PoPoolKey *key, int slot)
{
	int			kind = po_outcome_event_kind(rec->outcome);
	PoAttemptEpisode *free_ep = NULL;
	PoAttemptEpisode *ep = NULL;
	int			i;

	for (i = 0; i < PO_ATTEMPT_EPISODES_MAX; i++)
	{
		PoAttemptEpisode *e = &episodes[i];

		if (!e->in_use)
		{
			if (free_ep == NULL)
				free_ep = e;
			continue;
		}
		if (e->kind == kind && e->slot == slot &&
			memcmp(&e->key, key, sizeof(PoPoolKey)) == 0)
		{
			ep = e;
			break;
		}
	}
	if (ep == NULL)
	{
		if (free_ep == NULL)
			return;				/* counted, no row: bounded */
		ep = free_ep;
		memset(ep, 0, sizeof(PoAttemptEpisode));
		ep->in_use = true;
		ep->kind = kind;
		ep->key = *key;
		ep->slot = slot;
		ep->ev.kind = kind;
		ep->ev.action = PO_ACTION_NONE;
		ep->ev.has_pool = true;
		ep->ev.overflow = slot == po_overflow_slot();
		ep->ev.detected_at = ep->ev.started_at = rec->at;
		fill_names(&ep->ev, rec, key);
	}
	ep->count++;
	ep->reason = rec->reason;
	ep->last_at = Max(ep->last_at, rec->at);
	ep->ev.last_seen_at = ep->last_at;
	snprintf(ep->ev.detail, PO_DETAIL_LEN, "attempts=%lld reason=%s: %s",
			 (long long) ep->count, po_outcome_reason_name(ep->reason),
			 rec->message);
	ep->dirty = true;
}

static void
handle(const PoIntakeRecord *rec, TimestampTz now)
{
	PoPoolKey	key;
	int			slot;
	int			outcome = rec->outcome;

	/* ours: counted apart, and no event */
	if (outcome == PO_OUTCOME_QUERY_CANCELLED &&
		po_take_signal(rec->pid, rec->backend_start, SIGINT))
	{
		slot = po_pools_slot_of_names(rec->datname, rec->usename, &rec->addr,
									  rec->appname, now, &key);
		po_counters_note(&key, slot == po_overflow_slot(),
						 PO_CTR_CANCELLED_BY_PO, 1);
		return;
	}
	if (outcome == PO_OUTCOME_SESSION_TERMINATED &&
		po_take_signal(rec->pid, rec->backend_start, SIGTERM))
	{
		slot = po_pools_slot_of_names(rec->datname, rec->usename, &rec->addr,
									  rec->appname, now, &key);
		po_counters_note(&key, slot == po_overflow_slot(),
						 PO_CTR_TERMINATED_BY_PO, 1);
		return;
	}

	slot = po_pools_slot_of_names(rec->datname, rec->usename, &rec->addr,
								  rec->appname, now, &key);
	po_counters_note(&key, slot == po_overflow_slot(), counter_of(outcome), 1);
	po_pools_local()[slot].out_sample[hist_of(outcome)]++;
	if (po_outcome_is_attempt(outcome))
		attempt_episode(rec, &key, slot);
	else
		session_event(rec, &key, slot);
}

/* One record of type PO_INTAKE_OUTCOME, drained this sample. */
void
po_outcomes_take(const PoIntakeRecord *rec, TimestampTz now)
{
	int			outcome = rec->outcome;

	if (outcome <= PO_OUTCOME_NONE || outcome >= PO_NUM_OUTCOME_KINDS)
		return;

	/* refused after authenticating: never a new connection */
	if (po_outcome_is_attempt(outcome))
		(void) po_pending_forget(rec->pid, rec->backend_start);

	/* hold a termination back one sample: it may be the shutdown's */
	if (outcome == PO_OUTCOME_SESSION_TERMINATED)
	{
		ensure_buffers();
		if (ProcDiePending)
			return;
		if (n_deferring < PO_DEFER_MAX)
		{
			deferring[n_deferring++] = *rec;
			return;
		}
	}
	handle(rec, now);
}

/*
 * Insert this sample's session events, insert or update the attempt
 * episodes, and end those without a failed attempt for a minute.  Caller
 * holds the lock exclusively.
 */
void
po_outcomes_publish_locked(TimestampTz now)
{
	int			i;

	for (i = 0; i < n_new_events; i++)
		po_event_insert_locked(&new_events[i]);

	for (i = 0; i < PO_ATTEMPT_EPISODES_MAX; i++)
	{
		PoAttemptEpisode *ep = &episodes[i];
		bool		ended;

		if (!ep->in_use)
			continue;
		ended = now - ep->last_at >= PO_ATTEMPT_EPISODE_IDLE_US;
		if (ended)
		{
			ep->ev.ended_at = ep->last_at;
			ep->dirty = true;
		}
		if (ep->dirty)
		{
			if (ep->ev.id == 0)
				po_event_insert_locked(&ep->ev);
			else
				po_event_update_locked(&ep->ev);
			ep->dirty = false;
		}
		if (ended)
			ep->in_use = false;
	}
}

/* The log lines of this sample's session events, after the lock. */
void
po_outcomes_log(void)
{
	int			i;

	for (i = 0; i < n_new_events; i++)
		po_event_log(&new_events[i], "outcome");
}
