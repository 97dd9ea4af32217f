/*-------------------------------------------------------------------------
 *
 * kinds.c
 *	  The one table of event kinds: see kinds.h.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/kinds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"

#include "events.h"
#include "guc.h"
#include "kinds.h"

static TimestampTz
iit_since(const PoBackend *b)
{
	return po_state_is_idle_in_xact(b->state) ? b->state_change : 0;
}

static bool
iit_same(const PoBackend *old, const PoBackend *cur)
{
	return po_state_is_idle_in_xact(cur->state) &&
		cur->state_change == old->state_change;
}

static TimestampTz
slow_since(const PoBackend *b)
{
	return po_state_is_running(b->state) ? b->query_start : 0;
}

static bool
slow_same(const PoBackend *old, const PoBackend *cur)
{
	return po_state_is_running(cur->state) &&
		cur->query_start == old->query_start;
}

static TimestampTz
long_since(const PoBackend *b)
{
	return b->xact_start;
}

static bool
long_same(const PoBackend *old, const PoBackend *cur)
{
	return cur->xact_start != 0 && cur->xact_start == old->xact_start;
}

/*
 * How far back a long transaction holds the vacuum horizon: the age, in
 * transactions, of the xmin it holds.
 */
static void
long_detail(PoEvent *ev, const PoBackend *b)
{
	if (TransactionIdIsNormal(b->xmin))
	{
		TransactionId next = XidFromFullTransactionId(ReadNextFullTransactionId());

		snprintf(ev->detail, PO_DETAIL_LEN, "backend_xmin_age=%d",
				 (int) (next - b->xmin));
	}
	else
		snprintf(ev->detail, PO_DETAIL_LEN, "backend_xmin_age=0");
}

/*
 * Waiting on a lock: in the wait queue (lock_wait_start, which stays set
 * while the wait event clears for a moment during the deadlock check or an
 * interrupt, so one wait is one episode), or showing a lock wait event
 * without it (a standby's recovery conflict wait sets no waitStart).
 */
static TimestampTz
lock_since(const PoBackend *b)
{
	if (b->lock_wait_start != 0)
		return b->lock_wait_start;
	return po_wait_is_lock(b->wait_event_info) ? b->query_start : 0;
}

static void
lock_detail(PoEvent *ev, const PoBackend *b)
{
	snprintf(ev->detail, PO_DETAIL_LEN, "blocked_by=%d",
			 ev->nblockers > 0 ? ev->blockers[0] : 0);
}

const PoKindInfo po_kinds[PO_NUM_ALL_KINDS] = {
	[PO_EVENT_IDLE_IN_TRANSACTION] = {
		.name = "idle_in_transaction",
		.scope = PO_SCOPE_SESSION,
		.detect_ms = &po_idle_in_transaction_threshold,
		.act_ms = &po_idle_in_transaction_terminate_after,
		.signal = PO_SIGNAL_TERMINATE,
		.only_blockers = &po_terminate_only_blockers,
		.since = iit_since,
		.same = iit_same,
		.health_reason = "%d session(s) idle in transaction longer than pool_observer.idle_in_transaction_threshold",
	},
	[PO_EVENT_SLOW_STATEMENT] = {
		.name = "slow_statement",
		.scope = PO_SCOPE_SESSION,
		.detect_ms = &po_slow_statement_threshold,
		.act_ms = &po_slow_statement_cancel_after,
		.signal = PO_SIGNAL_CANCEL,
		.since = slow_since,
		.same = slow_same,
		.health_reason = "%d statement(s) running longer than pool_observer.slow_statement_threshold",
	},
	[PO_EVENT_LONG_TRANSACTION] = {
		.name = "long_transaction",
		.scope = PO_SCOPE_SESSION,
		.detect_ms = &po_long_transaction_threshold,
		.act_ms = &po_long_transaction_terminate_after,
		.signal = PO_SIGNAL_TERMINATE,
		.since = long_since,
		.same = long_same,
		.detail = long_detail,
		.health_reason = "%d transaction(s) open longer than pool_observer.long_transaction_threshold",
	},
	[PO_EVENT_LOCK_WAIT] = {
		.name = "lock_wait",
		.scope = PO_SCOPE_SESSION,
		.detect_ms = &po_lock_wait_threshold,
		.since = lock_since,
		.detail = lock_detail,
		.health_reason = "%d session(s) waiting on a lock longer than pool_observer.lock_wait_threshold",
	},
	[PO_EVENT_POOL_SATURATED] = {
		.name = "pool_saturated",
		.scope = PO_SCOPE_POOL,
		.detect_ms = &po_saturation_threshold,
		.health_reason = "%d saturated pool(s)",
	},
	[PO_EVENT_CONNECTION_CHURN] = {
		.name = "connection_churn",
		.scope = PO_SCOPE_POOL,
	},
	[PO_EVENT_SERVER_CONNECTIONS_HIGH] = {
		.name = "server_connections_high",
		.scope = PO_SCOPE_SERVER,
	},

	/*
	 * Outcome kinds: one closed row per session outcome; connection_refused
	 * and authentication_failed are per-pool episodes (outcomes.c).  Their
	 * health sentences are in funcs_health.c (a rate, not a count).
	 */
	[PO_EVENT_STATEMENT_TIMEOUT] = {.name = "statement_timeout",.scope = PO_SCOPE_SESSION},
	[PO_EVENT_LOCK_TIMEOUT] = {.name = "lock_timeout",.scope = PO_SCOPE_SESSION},
	[PO_EVENT_IDLE_IN_TRANSACTION_TIMEOUT] = {.name = "idle_in_transaction_timeout",.scope = PO_SCOPE_SESSION},
	[PO_EVENT_IDLE_SESSION_TIMEOUT] = {.name = "idle_session_timeout",.scope = PO_SCOPE_SESSION},
	[PO_EVENT_TRANSACTION_TIMEOUT] = {.name = "transaction_timeout",.scope = PO_SCOPE_SESSION},
	[PO_EVENT_QUERY_CANCELLED] = {.name = "query_cancelled",.scope = PO_SCOPE_SESSION},
	[PO_EVENT_SESSION_TERMINATED] = {.name = "session_terminated",.scope = PO_SCOPE_SESSION},
	[PO_EVENT_CONNECTION_REFUSED] = {.name = "connection_refused",.scope = PO_SCOPE_POOL},
	[PO_EVENT_AUTHENTICATION_FAILED] = {.name = "authentication_failed",.scope = PO_SCOPE_POOL},
};

const char *
po_event_kind_name(int kind)
{
	if (kind < 0 || kind >= PO_NUM_ALL_KINDS)
		return "unknown";
	return po_kinds[kind].name;
}

/* Detection threshold in ms, 0 when disabled or not in ms. */
int
po_kind_detect_ms(const PoKindInfo *k)
{
	return k->detect_ms != NULL ? Max(*k->detect_ms, 0) : 0;
}

/* Action delay in ms, 0 when disabled or none. */
int
po_kind_act_ms(const PoKindInfo *k)
{
	return k->act_ms != NULL ? Max(*k->act_ms, 0) : 0;
}

/*
 * An episode opens at the smaller of the detection threshold and the
 * action delay, so that an action is always recorded on an episode.
 */
int
po_kind_open_ms(const PoKindInfo *k)
{
	int			d = po_kind_detect_ms(k);
	int			a = po_kind_act_ms(k);

	if (d > 0 && a > 0)
		return Min(d, a);
	return d > 0 ? d : a;
}
