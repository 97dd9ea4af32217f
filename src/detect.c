/*-------------------------------------------------------------------------
 *
 * detect.c
 *	  Turn successive samples into event episodes, and act on them.
 *
 * An episode opens when a session (or pool, or the server) first crosses a
 * threshold and ends when it no longer does, so pool_observer.events gets
 * one row per episode.  A session episode is keyed by what started the
 * condition (the idle period, the statement, the transaction, the lock
 * wait), so a new statement is a new episode.  The sampler keeps its open
 * episodes, with a full copy of their event, in local memory and writes the
 * changed ones to the shared ring once per sample.
 *
 * Blockers are costly to compute (pg_blocking_pids() takes every lock
 * manager partition lock), so the lock graph is built only in samples that
 * need it, and from at most PO_MAX_LOCK_WAITERS waiting sessions.
 *
 * IDENTIFICATION
 *	  src/detect.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "pool_observer.h"

static const char *const po_event_kind_names[PO_NUM_EVENT_KINDS] = {
	"idle_in_transaction",
	"slow_statement",
	"long_transaction",
	"lock_wait",
	"pool_saturated",
	"connection_churn",
	"server_connections_high"
};

static const char *const po_action_names[] = {
	"none",
	"terminated",
	"cancelled",
	"would_terminate",
	"would_cancel",
	"exempt",
	"suppressed",
	"failed"
};

typedef struct PoEpisodeKey
{
	int32		kind;
	int32		pid;
	TimestampTz backend_start;
	TimestampTz cond_start;
	PoPoolKey	pool;
} PoEpisodeKey;

typedef struct PoEpisode
{
	PoEpisodeKey key;			/* must be first */
	uint64		seen_cycle;
	bool		is_new;			/* not yet in the shared ring */
	bool		dirty;			/* changed since last published */
	bool		ended;
	bool		log_open;
	bool		log_action;
	bool		acted;			/* a final action was recorded */
	bool		suppressed_once;
	PoEvent		ev;
} PoEpisode;

static HTAB *episodes = NULL;
static uint64 cycle = 0;

const char *
po_event_kind_name(int kind)
{
	if (kind < 0 || kind >= PO_NUM_EVENT_KINDS)
		return "unknown";
	return po_event_kind_names[kind];
}

const char *
po_action_name(int action)
{
	if (action < 0 || action > PO_ACTION_FAILED)
		return "unknown";
	return po_action_names[action];
}

void
po_detect_reset_local(void)
{
	if (episodes != NULL)
		hash_destroy(episodes);
	episodes = NULL;
}

static void
ensure_episodes(void)
{
	HASHCTL		ctl;

	if (episodes != NULL)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PoEpisodeKey);
	ctl.entrysize = sizeof(PoEpisode);
	ctl.hcxt = TopMemoryContext;
	episodes = hash_create("pool_observer episodes", 64, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Take over the episodes a previous sampler left open in the ring.  The
 * postmaster restarts the sampler after SIGTERM or an ERROR; its episode
 * table was local and is gone, so without this an ongoing condition would
 * get a second row while the first one stayed open for ever.  Session and
 * server episodes have everything their key needs in the event and go on
 * as the same row, with their recorded action.  Pool episodes are keyed by
 * the old sampler's pool table: they end now, and a condition that
 * persists opens a new episode.  Called once, before the first sample.
 */
void
po_detect_take_over(void)
{
	int			i;

	ensure_episodes();
	LWLockAcquire(po_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < po_max_events; i++)
	{
		PoEvent    *ev = &po_events[i];
		PoEpisodeKey key;
		PoEpisode  *ep;
		bool		found;

		if (ev->id == 0 || ev->ended_at != 0)
			continue;
		if (ev->has_pool ||
			(ev->pid == 0 && ev->kind != PO_EVENT_SERVER_CONNECTIONS_HIGH))
		{
			ev->ended_at = ev->last_seen_at;
			continue;
		}

		/* as session_episode() and po_detect() make them */
		memset(&key, 0, sizeof(key));
		key.kind = ev->kind;
		if (ev->pid != 0)
		{
			key.pid = ev->pid;
			key.backend_start = ev->backend_start;
			key.cond_start = ev->started_at;
		}

		ep = hash_search(episodes, &key, HASH_ENTER, &found);
		if (found)
		{
			/* a duplicate can only be stale: end it */
			ev->ended_at = ev->last_seen_at;
			continue;
		}
		memset(((char *) ep) + sizeof(PoEpisodeKey), 0,
			   sizeof(PoEpisode) - sizeof(PoEpisodeKey));
		memcpy(&ep->ev, ev, sizeof(PoEvent));
		ep->seen_cycle = cycle;
		ep->suppressed_once = ev->action == PO_ACTION_SUPPRESSED;
		ep->acted = ev->action != PO_ACTION_NONE &&
			ev->action != PO_ACTION_SUPPRESSED;
	}
	LWLockRelease(po_shared->lock);
}

/* Smallest positive of two thresholds, 0 if neither is set. */
static int
open_threshold(int detect_ms, int act_ms)
{
	if (detect_ms > 0 && act_ms > 0)
		return Min(detect_ms, act_ms);
	return detect_ms > 0 ? detect_ms : Max(act_ms, 0);
}

static inline bool
past(TimestampTz now, TimestampTz since, int ms)
{
	return ms > 0 && since != 0 && now - since >= (int64) ms * 1000;
}

/* ---------------------------------------------------------------------
 * Lock graph
 * ---------------------------------------------------------------------
 */
typedef struct PidIndex
{
	int			pid;
	int			idx;
} PidIndex;

static int
cmp_pid_index(const void *a, const void *b)
{
	int			pa = ((const PidIndex *) a)->pid;
	int			pb = ((const PidIndex *) b)->pid;

	return (pa > pb) - (pa < pb);
}

static void
add_pid(int **arr, int *n, int pid)
{
	int			i;

	for (i = 0; i < *n; i++)
		if ((*arr)[i] == pid)
			return;
	if (*n % 8 == 0)
		*arr = *n == 0 ? palloc(sizeof(int) * 8) :
			repalloc(*arr, sizeof(int) * (*n + 8));
	(*arr)[(*n)++] = pid;
}

/* Who blocks whom, for the sessions waiting on a heavyweight lock. */
static void
build_lock_graph(PoSample *s)
{
	PidIndex   *index;
	int			i;
	int			nwaiters = 0;

	if (s->graph_done)
		return;
	s->graph_done = true;
	s->nblockers = palloc0(sizeof(int) * s->nbackends);
	s->blockers = palloc0(sizeof(int *) * s->nbackends);
	s->nblocked = palloc0(sizeof(int) * s->nbackends);
	s->blocked = palloc0(sizeof(int *) * s->nbackends);

	index = palloc(sizeof(PidIndex) * Max(s->nbackends, 1));
	for (i = 0; i < s->nbackends; i++)
	{
		index[i].pid = s->backends[i].pid;
		index[i].idx = i;
	}
	qsort(index, s->nbackends, sizeof(PidIndex), cmp_pid_index);

	for (i = 0; i < s->nbackends && nwaiters < PO_MAX_LOCK_WAITERS; i++)
	{
		PoBackend  *b = &s->backends[i];
		ArrayType  *arr;
		int32	   *pids;
		int			n;
		int			j;

		if ((b->wait_event_info & 0xFF000000) != PG_WAIT_LOCK)
			continue;
		nwaiters++;
		arr = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids,
													 Int32GetDatum(b->pid)));
		n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
		pids = (int32 *) ARR_DATA_PTR(arr);
		for (j = 0; j < n; j++)
		{
			PidIndex	key = {0};
			PidIndex   *hit;

			add_pid(&s->blockers[i], &s->nblockers[i], pids[j]);
			key.pid = pids[j];
			hit = bsearch(&key, index, s->nbackends, sizeof(PidIndex),
						  cmp_pid_index);
			if (hit != NULL)
				add_pid(&s->blocked[hit->idx], &s->nblocked[hit->idx], b->pid);
		}
	}
	pfree(index);
}

static int
count_waiters(PoSample *s)
{
	int			i;
	int			n = 0;

	for (i = 0; i < s->nbackends; i++)
		if ((s->backends[i].wait_event_info & 0xFF000000) == PG_WAIT_LOCK)
			n++;
	return n;
}

/* ---------------------------------------------------------------------
 * Episodes
 * ---------------------------------------------------------------------
 */

/* Session columns of an event. */
void
po_fill_event_session(PoEvent *ev, const PoBackend *be)
{
	const char *dat = po_database_name(be->dbid);
	const char *usr = po_role_name(be->roleid);

	ev->pid = be->pid;
	ev->backend_start = be->backend_start;
	ev->query_id = be->query_id;
	ev->addr = be->addr;
	strlcpy(ev->datname, dat ? dat : "", NAMEDATALEN);
	strlcpy(ev->usename, usr ? usr : "", NAMEDATALEN);
	strlcpy(ev->appname, be->appname, NAMEDATALEN);
	po_read_query(be, ev->query, PO_QUERY_LEN);
}

static void
fill_event_pool(PoEvent *ev, const PoPool *p, bool overflow)
{
	const char *dat = po_database_name(p->key.dbid);
	const char *usr = po_role_name(p->key.roleid);

	ev->has_pool = true;
	ev->overflow = overflow;
	ev->addr = p->key.addr;
	strlcpy(ev->datname, dat ? dat : "", NAMEDATALEN);
	strlcpy(ev->usename, usr ? usr : "", NAMEDATALEN);
	strlcpy(ev->appname, p->key.appname, NAMEDATALEN);
}

/* Find the episode of key, opening it if new. */
static PoEpisode *
touch_episode(PoSample *s, const PoEpisodeKey *key, bool *is_new)
{
	PoEpisode  *ep;
	bool		found;

	ep = hash_search(episodes, key, HASH_ENTER, &found);
	if (!found)
	{
		memset(((char *) ep) + sizeof(PoEpisodeKey), 0,
			   sizeof(PoEpisode) - sizeof(PoEpisodeKey));
		ep->is_new = true;
		ep->log_open = true;
		ep->ev.kind = key->kind;
		ep->ev.detected_at = s->now;
		ep->ev.started_at = key->cond_start != 0 ? key->cond_start : s->now;
		ep->ev.action = PO_ACTION_NONE;
	}
	ep->seen_cycle = cycle;
	ep->dirty = true;
	ep->ev.last_seen_at = s->now;
	*is_new = !found;
	return ep;
}

static void
set_pids(int32 *dst, int16 *ndst, const int *src, int n)
{
	int			i;

	n = Min(n, PO_MAX_PIDS);
	for (i = 0; i < n; i++)
		dst[i] = src[i];
	*ndst = (int16) n;
}

static void
record_action(PoSample *s, PoEpisode *ep, PoAction action, const char *why)
{
	ep->ev.action = action;
	ep->ev.action_at = s->now;
	ep->log_action = true;
	if (why != NULL && why[0] != '\0')
		snprintf(ep->ev.detail + strlen(ep->ev.detail),
				 PO_DETAIL_LEN - strlen(ep->ev.detail),
				 "%saction: %s", ep->ev.detail[0] ? "; " : "", why);
}

/* A session episode past its action threshold: apply the policy. */
static void
consider_action(PoSample *s, int bi, PoEpisode *ep, PoSignal sig, int after_ms)
{
	PoBackend  *b = &s->backends[bi];
	PoAction	action;
	char		why[128];

	if (ep->acted || !past(s->now, ep->key.cond_start, after_ms))
		return;

	/* terminate_only_blockers: not now; looked at again next sample */
	if (ep->key.kind == PO_EVENT_IDLE_IN_TRANSACTION && po_terminate_only_blockers)
	{
		build_lock_graph(s);
		if (s->nblocked[bi] == 0)
			return;
	}

	action = po_policy_decide(b, sig, why, sizeof(why));
	switch (action)
	{
		case PO_ACTION_NONE:
			return;
		case PO_ACTION_SUPPRESSED:
			if (!ep->suppressed_once)
			{
				ep->suppressed_once = true;
				record_action(s, ep, action, why);
				SpinLockAcquire(&po_shared->mutex);
				po_shared->actions_suppressed++;
				SpinLockRelease(&po_shared->mutex);
			}
			return;				/* retried once the rate allows */
		case PO_ACTION_TERMINATED:
		case PO_ACTION_CANCELLED:
			if (po_signal_session(b, ep->key.kind, sig))
			{
				SpinLockAcquire(&po_shared->mutex);
				po_shared->actions_taken++;
				SpinLockRelease(&po_shared->mutex);
				record_action(s, ep, action, NULL);
			}
			else
				record_action(s, ep, PO_ACTION_FAILED,
							  "the session changed or ended before the signal");
			break;
		default:
			record_action(s, ep, action, why);
			break;
	}
	ep->acted = true;
}

/* Open or update the episode of one session condition. */
static PoEpisode *
session_episode(PoSample *s, int bi, int kind, TimestampTz cond_start)
{
	PoBackend  *b = &s->backends[bi];
	PoEpisodeKey key;
	PoEpisode  *ep;
	bool		is_new;

	memset(&key, 0, sizeof(key));
	key.kind = kind;
	key.pid = b->pid;
	key.backend_start = b->backend_start;
	key.cond_start = cond_start;
	ep = touch_episode(s, &key, &is_new);
	if (is_new)
		po_fill_event_session(&ep->ev, b);
	if (s->graph_done)
	{
		set_pids(ep->ev.blocked, &ep->ev.nblocked, s->blocked[bi], s->nblocked[bi]);
		set_pids(ep->ev.blockers, &ep->ev.nblockers, s->blockers[bi], s->nblockers[bi]);
	}
	return ep;
}

static void
pool_episode(PoSample *s, int slot, int kind, const char *detail)
{
	PoEpisodeKey key;
	PoEpisode  *ep;
	bool		is_new;
	const PoPool *p = &s->pools[slot];

	memset(&key, 0, sizeof(key));
	key.kind = kind;
	key.pid = -1 - slot;		/* the overflow pool has no key of its own */
	key.pool = p->key;
	if (kind == PO_EVENT_POOL_SATURATED)
		key.cond_start = p->saturated_since;
	ep = touch_episode(s, &key, &is_new);
	if (is_new)
		fill_event_pool(&ep->ev, p, slot == po_overflow_slot());
	strlcpy(ep->ev.detail, detail, PO_DETAIL_LEN);
}

/*
 * How far back a long transaction holds the vacuum horizon: the age, in
 * transactions, of the xmin it holds.
 */
static void
xmin_detail(PoEvent *ev, const PoBackend *b)
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

void
po_detect(PoSample *s)
{
	int			open_iit;
	int			open_slow;
	int			open_long;
	int			i;
	bool		need_graph = false;
	HASH_SEQ_STATUS hs;
	PoEpisode  *ep;
	char		detail[PO_DETAIL_LEN];

	ensure_episodes();
	cycle++;

	open_iit = open_threshold(po_idle_in_transaction_threshold,
							  po_idle_in_transaction_terminate_after);
	open_slow = open_threshold(po_slow_statement_threshold,
							   po_slow_statement_cancel_after);
	open_long = open_threshold(po_long_transaction_threshold,
							   po_long_transaction_terminate_after);

	/*
	 * The lock graph is needed when a lock waiter is past its threshold, or
	 * when some session that may block others is past one of its own.
	 */
	if (count_waiters(s) > 0)
	{
		for (i = 0; i < s->nbackends && !need_graph; i++)
		{
			PoBackend  *b = &s->backends[i];

			if (b->type != B_BACKEND)
				continue;
			if ((b->wait_event_info & 0xFF000000) == PG_WAIT_LOCK &&
				past(s->now, b->lock_wait_start ? b->lock_wait_start : b->query_start,
					 po_lock_wait_threshold))
				need_graph = true;
			else if (po_is_idle_in_xact(b->state) && past(s->now, b->state_change, open_iit))
				need_graph = true;
			else if (past(s->now, b->xact_start, open_long))
				need_graph = true;
			else if ((b->state == STATE_RUNNING || b->state == STATE_FASTPATH) &&
					 past(s->now, b->query_start, open_slow))
				need_graph = true;
		}
		if (need_graph)
			build_lock_graph(s);
	}

	for (i = 0; i < s->nbackends; i++)
	{
		PoBackend  *b = &s->backends[i];
		PoEpisode  *e;

		if (b->type != B_BACKEND)
			continue;

		if (po_is_idle_in_xact(b->state) && past(s->now, b->state_change, open_iit))
		{
			if (past(s->now, b->state_change, po_idle_in_transaction_threshold))
				s->server->iit_over++;
			e = session_episode(s, i, PO_EVENT_IDLE_IN_TRANSACTION, b->state_change);
			consider_action(s, i, e, PO_SIGNAL_TERMINATE,
							po_idle_in_transaction_terminate_after);
		}

		if ((b->state == STATE_RUNNING || b->state == STATE_FASTPATH) &&
			past(s->now, b->query_start, open_slow))
		{
			if (past(s->now, b->query_start, po_slow_statement_threshold))
				s->server->slow_over++;
			e = session_episode(s, i, PO_EVENT_SLOW_STATEMENT, b->query_start);
			consider_action(s, i, e, PO_SIGNAL_CANCEL,
							po_slow_statement_cancel_after);
		}

		if (past(s->now, b->xact_start, open_long))
		{
			if (past(s->now, b->xact_start, po_long_transaction_threshold))
				s->server->long_xact_over++;
			e = session_episode(s, i, PO_EVENT_LONG_TRANSACTION, b->xact_start);
			xmin_detail(&e->ev, b);
			consider_action(s, i, e, PO_SIGNAL_TERMINATE,
							po_long_transaction_terminate_after);
		}

		if ((b->wait_event_info & 0xFF000000) == PG_WAIT_LOCK)
		{
			TimestampTz since = b->lock_wait_start ? b->lock_wait_start : b->query_start;

			if (past(s->now, since, po_lock_wait_threshold))
			{
				s->server->lock_wait_over++;
				e = session_episode(s, i, PO_EVENT_LOCK_WAIT, since);
				snprintf(e->ev.detail, PO_DETAIL_LEN, "blocked_by=%d",
						 e->ev.nblockers > 0 ? e->ev.blockers[0] : 0);
			}
		}
	}

	for (i = 0; i < po_pool_slots(); i++)
	{
		const PoPool *p = &s->pools[i];

		if (!p->in_use)
			continue;
		if (p->saturated_since != 0 &&
			past(s->now, p->saturated_since, po_saturation_threshold))
		{
			snprintf(detail, sizeof(detail), "connections=%d busy=%d",
					 p->connections, p->active + p->idle_in_xact);
			pool_episode(s, i, PO_EVENT_POOL_SATURATED, detail);
		}
		if (po_churn_threshold > 0 && p->new_conn_rate > po_churn_threshold)
		{
			snprintf(detail, sizeof(detail), "new_connections_per_s=%.1f",
					 p->new_conn_rate);
			pool_episode(s, i, PO_EVENT_CONNECTION_CHURN, detail);
		}
	}

	if (po_max_connections_warn > 0 &&
		(int64) s->server->client_connections * 100 >
		(int64) po_max_connections_warn * s->server->max_connections)
	{
		PoEpisodeKey key;
		bool		is_new;

		memset(&key, 0, sizeof(key));
		key.kind = PO_EVENT_SERVER_CONNECTIONS_HIGH;
		ep = touch_episode(s, &key, &is_new);
		snprintf(ep->ev.detail, PO_DETAIL_LEN,
				 "connections=%d usable=%d percent=%.1f",
				 s->server->client_connections, s->server->max_connections,
				 100.0 * s->server->client_connections / s->server->max_connections);
	}

	/* whatever was not seen this sample has ended */
	hash_seq_init(&hs, episodes);
	while ((ep = hash_seq_search(&hs)) != NULL)
	{
		if (ep->seen_cycle != cycle && !ep->ended)
		{
			ep->ended = true;
			ep->dirty = true;
			ep->ev.ended_at = s->now;
		}
	}
}

/*
 * Add an event to the ring and return its id.  Caller holds the lock
 * exclusively.
 */
uint64
po_event_insert_locked(PoEvent *ev)
{
	uint64		id = po_shared->next_event_id++;
	PoEvent    *slot = &po_events[(id - 1) % po_max_events];
	bool		dropped = slot->id != 0;

	ev->id = id;
	memcpy(slot, ev, sizeof(PoEvent));

	SpinLockAcquire(&po_shared->mutex);
	po_shared->events_total++;
	if (dropped)
		po_shared->events_dropped++;
	SpinLockRelease(&po_shared->mutex);
	return id;
}

/* Write changed episodes to the ring.  Caller holds the lock exclusively. */
void
po_detect_publish_locked(PoSample *s)
{
	HASH_SEQ_STATUS hs;
	PoEpisode  *ep;

	hash_seq_init(&hs, episodes);
	while ((ep = hash_seq_search(&hs)) != NULL)
	{
		if (!ep->dirty)
			continue;
		ep->dirty = false;
		if (ep->is_new)
		{
			po_event_insert_locked(&ep->ev);
			ep->is_new = false;
		}
		else
		{
			PoEvent    *slot = &po_events[(ep->ev.id - 1) % po_max_events];

			/* overwritten by newer events meanwhile: nothing to update */
			if (slot->id == ep->ev.id)
				memcpy(slot, &ep->ev, sizeof(PoEvent));
		}
	}
}

/* Log what opened or was done, and forget ended episodes. */
void
po_detect_after_publish(PoSample *s)
{
	HASH_SEQ_STATUS hs;
	PoEpisode  *ep;

	hash_seq_init(&hs, episodes);
	while ((ep = hash_seq_search(&hs)) != NULL)
	{
		if (ep->log_open)
		{
			ep->log_open = false;
			po_event_log(&ep->ev, "event");
		}
		if (ep->log_action)
		{
			ep->log_action = false;
			po_event_log(&ep->ev, "action");
		}
		if (ep->ended)
			hash_search(episodes, &ep->key, HASH_REMOVE, NULL);
	}
}

/* ---------------------------------------------------------------------
 * Log lines
 * ---------------------------------------------------------------------
 */

/* Append value as a double-quoted, escaped string: one line, parseable. */
static void
append_quoted(StringInfo buf, const char *val, int maxlen)
{
	int			len = strnlen(val, maxlen);
	int			i;

	/* do not end inside a UTF-8 sequence */
	if (len == maxlen)
		while (len > 0 && ((unsigned char) val[len] & 0xC0) == 0x80)
			len--;

	appendStringInfoChar(buf, '"');
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) val[i];

		if (c == '"' || c == '\\')
		{
			appendStringInfoChar(buf, '\\');
			appendStringInfoChar(buf, (char) c);
		}
		else if (c == '\n')
			appendStringInfoString(buf, "\\n");
		else if (c == '\r')
			appendStringInfoString(buf, "\\r");
		else if (c == '\t')
			appendStringInfoString(buf, "\\t");
		else if (c < 0x20 || c == 0x7f)
			appendStringInfo(buf, "\\x%02x", c);
		else
			appendStringInfoChar(buf, (char) c);
	}
	appendStringInfoChar(buf, '"');
}

static void
append_pids(StringInfo buf, const char *name, const int32 *pids, int n)
{
	int			i;

	appendStringInfo(buf, " %s={", name);
	for (i = 0; i < n; i++)
		appendStringInfo(buf, "%s%d", i ? "," : "", pids[i]);
	appendStringInfoChar(buf, '}');
}

/*
 * One LOG line per opened episode or action, key=value, strings quoted and
 * escaped so that no value can break the line or fake a key.
 */
void
po_event_log(const PoEvent *ev, const char *what)
{
	StringInfoData buf;
	char		addr[64];

	if (!po_log_events)
		return;

	initStringInfo(&buf);
	appendStringInfo(&buf, "id=" UINT64_FORMAT " kind=%s action=%s",
					 ev->id, po_event_kind_name(ev->kind),
					 po_action_name(ev->action));
	if (!ev->has_pool && ev->pid != 0)
		appendStringInfo(&buf, " pid=%d", ev->pid);
	if (ev->datname[0] || ev->usename[0] || ev->has_pool || ev->pid != 0)
	{
		appendStringInfoString(&buf, " datname=");
		append_quoted(&buf, ev->datname, NAMEDATALEN);
		appendStringInfoString(&buf, " usename=");
		append_quoted(&buf, ev->usename, NAMEDATALEN);
		appendStringInfoString(&buf, " application_name=");
		append_quoted(&buf, ev->appname, NAMEDATALEN);
		addr[0] = '\0';
		if (ev->addr.family == 4)
			inet_ntop(AF_INET, ev->addr.addr, addr, sizeof(addr));
		else if (ev->addr.family == 6)
			inet_ntop(AF_INET6, ev->addr.addr, addr, sizeof(addr));
		appendStringInfo(&buf, " client_addr=%s", addr[0] ? addr : "local");
	}
	appendStringInfo(&buf, " duration_ms=" INT64_FORMAT,
					 (int64) ((ev->last_seen_at - ev->started_at) / 1000));
	if (!ev->has_pool && ev->pid != 0)
	{
		appendStringInfo(&buf, " query_id=" INT64_FORMAT, (int64) ev->query_id);
		append_pids(&buf, "blocked_pids", ev->blocked, ev->nblocked);
		append_pids(&buf, "blocked_by", ev->blockers, ev->nblockers);
	}
	appendStringInfoString(&buf, " detail=");
	append_quoted(&buf, ev->detail, PO_DETAIL_LEN);
	if (!ev->has_pool && ev->pid != 0)
	{
		appendStringInfoString(&buf, " query=");
		append_quoted(&buf, ev->query, 256);
	}

	/*
	 * Server log only: a client asking for LOG messages must not get them,
	 * and an on-demand call must not fail after acting because a name or
	 * query has no equivalent in the client's encoding.
	 */
	ereport(LOG_SERVER_ONLY,
			errmsg("pool_observer %s: %s", what, buf.data),
			errhidestmt(true));
	pfree(buf.data);
}
