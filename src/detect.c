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
 * changed ones to the shared ring once per sample.  A sampler started
 * after another one ended goes on with the episodes it left open
 * (detect_takeover.c hands them over, po_detect_adopt_event()).
 *
 * What each kind means comes from the kind table (kinds.c); this file has
 * no kind-specific rule except how pool and server kinds are measured.
 *
 * Layer 3.
 *
 * IDENTIFICATION
 *	  src/detect.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "detect.h"
#include "guc.h"
#include "kinds.h"
#include "policy.h"
#include "shmem.h"
#include "status.h"

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
	char		why[128];		/* the action's reason, kept in ev.detail */
	PoEvent		ev;
} PoEpisode;

static HTAB *episodes = NULL;
static uint64 cycle = 0;

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
 * Go on with one event a previous sampler left open, as the same episode;
 * false when it must end now instead (a pool episode, or a duplicate, which
 * can only be stale).  Before the first sample (po_detect_take_over()).
 */
bool
po_detect_adopt_event(const PoEvent *ev)
{
	PoEpisodeKey key;
	PoEpisode  *ep;
	bool		found;
	const char *why;

	if (ev->has_pool ||
		(ev->pid == 0 && ev->kind != PO_EVENT_SERVER_CONNECTIONS_HIGH))
		return false;
	ensure_episodes();
	/* as session_episode() and detect_server() make them */
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
		return false;
	memset(((char *) ep) + sizeof(PoEpisodeKey), 0,
		   sizeof(PoEpisode) - sizeof(PoEpisodeKey));
	memcpy(&ep->ev, ev, sizeof(PoEvent));
	ep->seen_cycle = cycle;
	ep->suppressed_once = ev->action == PO_ACTION_SUPPRESSED;
	ep->acted = ev->action != PO_ACTION_NONE &&
		ev->action != PO_ACTION_SUPPRESSED;
	/* the reason record_action() appended, kept across samples */
	why = strstr(ep->ev.detail, "action: ");
	if (why != NULL)
		strlcpy(ep->why, why + strlen("action: "), sizeof(ep->why));
	return true;
}

/* ---------------------------------------------------------------------
 * Episodes
 * ---------------------------------------------------------------------
 */

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

/* Append the action's reason to the event's detail. */
static void
append_why(PoEvent *ev, const char *why)
{
	Size		len = strlen(ev->detail);

	if (why[0] != '\0')
		snprintf(ev->detail + len, PO_DETAIL_LEN - len,
				 "%saction: %s", len > 0 ? "; " : "", why);
}

/*
 * Record an action and its reason.  The reason stays in the detail even
 * when the kind rewrites its detail every sample (see detect_sessions()).
 */
static void
record_action(PoSample *s, PoEpisode *ep, PoAction action, const char *why)
{
	ep->ev.action = action;
	ep->ev.action_at = s->now;
	ep->log_action = true;
	strlcpy(ep->why, why != NULL ? why : "", sizeof(ep->why));
	append_why(&ep->ev, ep->why);
}

/* A session episode past its kind's action delay: apply the policy. */
static void
consider_action(PoSample *s, int bi, PoEpisode *ep, const PoKindInfo *k)
{
	PoBackend  *b = &s->backends[bi];
	PoAction	action;
	char		why[128];

	if (ep->acted || !po_past(s->now, ep->key.cond_start, po_kind_act_ms(k)))
		return;

	/* only while it blocks someone: not now; looked at again next sample */
	if (k->only_blockers != NULL && *k->only_blockers)
	{
		po_lock_graph_build(&s->graph, s->backends, s->nbackends);
		if (s->graph.nblocked[bi] == 0)
			return;
	}

	action = po_policy_decide(b, k->signal, why, sizeof(why));
	switch (action)
	{
		case PO_ACTION_NONE:
			return;
		case PO_ACTION_SUPPRESSED:
			if (!ep->suppressed_once)
			{
				ep->suppressed_once = true;
				record_action(s, ep, action, why);
				po_count(actions_suppressed, 1);
			}
			return;				/* retried once the rate allows */
		case PO_ACTION_TERMINATED:
		case PO_ACTION_CANCELLED:
			if (po_signal_session(b, k))
				record_action(s, ep, action, NULL);
			else
			{
				/* no signal sent: the rate-limit slot is not used up */
				po_policy_give_back();
				record_action(s, ep, PO_ACTION_FAILED,
							  "the session changed or ended before the signal");
			}
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
	if (s->graph.built)
	{
		set_pids(ep->ev.blocked, &ep->ev.nblocked, s->graph.blocked[bi],
				 s->graph.nblocked[bi]);
		set_pids(ep->ev.blockers, &ep->ev.nblockers, s->graph.blockers[bi],
				 s->graph.nblockers[bi]);
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

/* ---------------------------------------------------------------------
 * Detection
 * ---------------------------------------------------------------------
 */

/*
 * Which session kinds each client backend is past the opening threshold
 * of (one bit per kind), and since when.  Returns whether any is.
 */
static bool
find_session_conditions(PoSample *s, const int *open_ms, uint8 *hits,
						TimestampTz *since)
{
	bool		any = false;
	int			kinds[PO_NUM_EVENT_KINDS];
	int			nkinds = 0;
	int			min_ms = PG_INT32_MAX;
	int			i;
	int			k;
	int			j;
	int			m;
	TimestampTz cutoff;
	TimestampTz earliest;

	/*
	 * Only the session kinds that can open at all (po_past is false for a
	 * threshold of 0 or less): the loop below runs once per backend that
	 * pools.c found may have one (po_pools_sessions()), and skips at once
	 * a backend none of whose times is past the smallest threshold.
	 */
	for (k = 0; k < PO_NUM_EVENT_KINDS; k++)
	{
		if (po_kinds[k].scope == PO_SCOPE_SESSION && open_ms[k] > 0)
		{
			kinds[nkinds++] = k;
			min_ms = Min(min_ms, open_ms[k]);
		}
	}

	memset(hits, 0, s->nbackends);
	if (nkinds == 0)
		return false;
	/* po_past(s->now, t, min_ms), min_ms > 0, for every session at once */
	cutoff = s->now - (int64) min_ms * 1000;
	for (j = 0; j < s->nsessions; j++)
	{
		const PoBackend *b;

		i = s->sessions[j];
		b = &s->backends[i];
		Assert(b->type == B_BACKEND && po_session_kinds_possible(b));
		earliest = po_session_earliest_since(b);
		if (earliest == 0 || earliest > cutoff)
			continue;
		for (m = 0; m < nkinds; m++)
		{
			TimestampTz t;

			k = kinds[m];
			t = po_kinds[k].since(b);
			if (!po_past(s->now, t, open_ms[k]))
				continue;
			hits[i] |= (uint8) (1 << k);
			since[i * PO_NUM_EVENT_KINDS + k] = t;
			any = true;
		}
	}
	return any;
}

/* detect_sessions()' per-backend arrays, kept across samples. */
static uint8 *hits_buf = NULL;
static TimestampTz *since_buf = NULL;

static void
detect_sessions(PoSample *s)
{
	int			open_ms[PO_NUM_EVENT_KINDS];
	uint8	   *hits;
	TimestampTz *since;
	int			i;
	int			k;

	/*
	 * Allocated once, for a sample's most backends (one per status slot):
	 * since[] is some 64 bytes per backend, and a fresh one every sample
	 * would be a malloc() and page faults each time.
	 */
	Assert(s->nbackends <= MaxBackends);
	if (hits_buf == NULL)
	{
		hits_buf = MemoryContextAlloc(TopMemoryContext, MaxBackends);
		since_buf = MemoryContextAlloc(TopMemoryContext, sizeof(TimestampTz) *
									   MaxBackends * PO_NUM_EVENT_KINDS);
	}
	hits = hits_buf;
	since = since_buf;

	StaticAssertStmt(PO_NUM_EVENT_KINDS <= 8, "one bit per kind in a uint8");
	for (k = 0; k < PO_NUM_EVENT_KINDS; k++)
		open_ms[k] = po_kind_open_ms(&po_kinds[k]);

	/*
	 * The lock graph is needed when some session past a threshold may block
	 * others or be blocked, which takes a lock waiter.
	 */
	if (!find_session_conditions(s, open_ms, hits, since))
	{
		/* no session past any threshold */
		return;
	}
	if (po_count_lock_waiters(s->backends, s->nbackends) > 0)
		po_lock_graph_build(&s->graph, s->backends, s->nbackends);

	for (i = 0; i < s->nbackends; i++)
	{
		if (hits[i] == 0)
			continue;
		po_read_xmin(&s->backends[i]);	/* for the details */
		for (k = 0; k < PO_NUM_EVENT_KINDS; k++)
		{
			const PoKindInfo *kind = &po_kinds[k];
			TimestampTz t = since[i * PO_NUM_EVENT_KINDS + k];
			PoEpisode  *ep;

			if ((hits[i] & (1 << k)) == 0)
				continue;
			if (po_past(s->now, t, po_kind_detect_ms(kind)))
				s->server->over[k]++;
			ep = session_episode(s, i, k, t);
			if (kind->detail != NULL)
			{
				kind->detail(&ep->ev, &s->backends[i]);
				append_why(&ep->ev, ep->why);
			}
			if (kind->signal != PO_SIGNAL_NONE)
				consider_action(s, i, ep, kind);
		}
	}
}

static void
detect_pools(PoSample *s)
{
	int			sat_ms = po_kind_detect_ms(&po_kinds[PO_EVENT_POOL_SATURATED]);
	char		detail[PO_DETAIL_LEN];
	int			i;

	for (i = po_pool_slot_first(s->pool_high); i < po_pool_slots();
		 i = po_pool_slot_next(i, s->pool_high))
	{
		const PoPool *p = &s->pools[i];

		if (!p->in_use)
			continue;
		if (po_past(s->now, p->saturated_since, sat_ms))
		{
			s->server->over[PO_EVENT_POOL_SATURATED]++;
			snprintf(detail, sizeof(detail), "connections=%d busy=%d",
					 p->connections, p->active + p->idle_in_xact);
			pool_episode(s, i, PO_EVENT_POOL_SATURATED, detail);
		}
		if (po_churn_threshold > 0 && p->new_conn_rate > po_churn_threshold)
		{
			s->server->over[PO_EVENT_CONNECTION_CHURN]++;
			snprintf(detail, sizeof(detail), "new_connections_per_s=%.1f",
					 p->new_conn_rate);
			pool_episode(s, i, PO_EVENT_CONNECTION_CHURN, detail);
		}
	}
}

/* The figures in the server_connections_high episode's detail. */
static int	detail_connections = -1;
static int	detail_usable = -1;

static void
detect_server(PoSample *s)
{
	PoServerSample *sv = s->server;
	PoEpisodeKey key;
	PoEpisode  *ep;
	bool		is_new;

	if (po_max_connections_warn <= 0 ||
		(int64) sv->client_connections * 100 <=
		(int64) po_max_connections_warn * sv->max_connections)
		return;

	sv->over[PO_EVENT_SERVER_CONNECTIONS_HIGH]++;
	memset(&key, 0, sizeof(key));
	key.kind = PO_EVENT_SERVER_CONNECTIONS_HIGH;
	ep = touch_episode(s, &key, &is_new);
	/* formatted when the figures change, not every sample of the episode */
	if (is_new || sv->client_connections != detail_connections ||
		sv->max_connections != detail_usable)
	{
		snprintf(ep->ev.detail, PO_DETAIL_LEN,
				 "connections=%d usable=%d percent=%.1f",
				 sv->client_connections, sv->max_connections,
				 100.0 * sv->client_connections / sv->max_connections);
		detail_connections = sv->client_connections;
		detail_usable = sv->max_connections;
	}
}

/*
 * Open, update and end episodes from this sample, acting where a kind says
 * so, and count what is past each kind's threshold in s->server->over[].
 */
void
po_detect(PoSample *s)
{
	HASH_SEQ_STATUS hs;
	PoEpisode  *ep;

	ensure_episodes();
	cycle++;

	detect_sessions(s);
	detect_pools(s);
	detect_server(s);

	/* whatever was not seen this sample has ended */
	if (hash_get_num_entries(episodes) == 0)
		return;
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

/* Write changed episodes to the ring.  Caller holds the lock exclusively. */
void
po_detect_publish_locked(void)
{
	HASH_SEQ_STATUS hs;
	PoEpisode  *ep;

	if (episodes == NULL || hash_get_num_entries(episodes) == 0)
		return;
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
			po_event_update_locked(&ep->ev);
	}
}

/* Log what opened or was done, and forget ended episodes. */
void
po_detect_after_publish(void)
{
	HASH_SEQ_STATUS hs;
	PoEpisode  *ep;

	if (episodes == NULL || hash_get_num_entries(episodes) == 0)
		return;
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
