/*-------------------------------------------------------------------------
 *
 * pools.c
 *	  Group client backends into pools; rates, saturation, eviction.
 *
 * A pool is (database, role, application_name, client address).  The
 * sampler keeps its pool table in local memory, with a hash from key to
 * slot; a full table sends new pools to the overflow slot.  Each status
 * slot remembers the pool slot of the backend last seen in it, so a steady
 * backend (in a pool or the overflow pool) costs no key and no lookup.  A
 * new connection is counted once pending.c hands it over (see PoPendingConn).
 *
 * Layer 3.
 *
 * IDENTIFICATION
 *	  src/pools.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "counters.h"
#include "guc.h"
#include "kinds.h"
#include "pending.h"
#include "pools.h"
#include "shmem.h"

typedef struct PoPoolEntry
{
	PoPoolKey	key;
	int			slot;
} PoPoolEntry;

static PoPool *local_pools = NULL;
static HTAB *pool_hash = NULL;
static int	free_pool_slots = 0;

/*
 * The pool of the backend last seen in each status slot: its pool slot
 * (-1: none), that slot's epoch then and the status entry's change count
 * then (-1: none); used only while both still hold (pool_of()).  One
 * array, so that a sample reads one stream of it.
 */
typedef struct PoSlotPool
{
	int			pool;
	int			changecount;
	uint64		epoch;
} PoSlotPool;

static PoSlotPool *pool_of_status_slot = NULL;

/* The next epoch to give a pool slot. */
static uint64 next_epoch = 1;

/* The busy client backends of the sample (indexes into its backends). */
static int *busy_list = NULL;
static int	nbusy = 0;

/*
 * The client backends of the sample for which some session kind may hold
 * (po_session_kinds_possible()), likewise: what detection looks at.
 */
static int *session_list = NULL;
static int	nsessions = 0;

static int64 sample_new_conns = 0;

/*
 * One past the highest pool slot in use below the overflow slot: slots are
 * taken lowest first, so with few pools a sample's loops stop early.
 */
static int	pool_high = 0;

/* server-wide rate window */
static TimestampTz server_win_start = 0;
static int64 server_win_count = 0;
static double server_rate = 0.0;

static void
ensure_local_state(void)
{
	HASHCTL		ctl;

	if (local_pools != NULL)
		return;

	local_pools = MemoryContextAllocZero(TopMemoryContext,
										 sizeof(PoPool) * po_pool_slots());
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PoPoolKey);
	ctl.entrysize = sizeof(PoPoolEntry);
	ctl.hcxt = TopMemoryContext;
	pool_hash = hash_create("pool_observer pools", po_max_pools, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	free_pool_slots = po_max_pools;
	pool_high = 0;

	if (pool_of_status_slot == NULL)
	{
		pool_of_status_slot = MemoryContextAlloc(TopMemoryContext,
												 sizeof(PoSlotPool) * MaxBackends);
		busy_list = MemoryContextAlloc(TopMemoryContext,
									   sizeof(int) * MaxBackends);
		session_list = MemoryContextAlloc(TopMemoryContext,
										  sizeof(int) * MaxBackends);
	}
	nbusy = 0;
	nsessions = 0;
	/* pool and change count -1, an epoch no pool slot ever has */
	memset(pool_of_status_slot, 0xff, sizeof(PoSlotPool) * MaxBackends);
}

/*
 * The busy client backends of the last po_pools_build() (running, or idle
 * in a transaction), as indexes into its backends, in order.
 */
int
po_pools_busy(const int **list)
{
	ensure_local_state();
	*list = busy_list;
	return nbusy;
}

/*
 * The client backends (in a pool or not yet) of the last po_pools_build()
 * for which po_session_kinds_possible() holds, likewise: detection's.
 */
int
po_pools_sessions(const int **list)
{
	ensure_local_state();
	*list = session_list;
	return nsessions;
}

/* The sampler's pool table, po_pool_slots() rows. */
PoPool *
po_pools_local(void)
{
	ensure_local_state();
	return local_pools;
}

/* pool_high: no slot from it up to the overflow slot is in use. */
int
po_pools_high(void)
{
	return pool_high;
}

/* Forget every pool (after reset()). */
void
po_pools_reset_local(void)
{
	if (local_pools != NULL)
	{
		hash_destroy(pool_hash);
		pfree(local_pools);
		local_pools = NULL;
		pool_hash = NULL;
	}
	po_pending_reset();
	server_win_start = 0;
	server_win_count = 0;
	server_rate = 0.0;
	ensure_local_state();
}

/* Start a sample: no new connections counted yet. */
void
po_pools_begin_sample(void)
{
	int			i;

	ensure_local_state();
	for (i = po_pool_slot_first(pool_high); i < po_pool_slots();
		 i = po_pool_slot_next(i, pool_high))
	{
		local_pools[i].new_conn_sample = 0;
		memset(local_pools[i].out_sample, 0, sizeof(local_pools[i].out_sample));
	}
	sample_new_conns = 0;
}

/*
 * The overflow slot, marked in use.  Its epoch is new when it comes into
 * use and whenever a pool slot is freed (finish_pools()): the backends
 * cached in it (pool_of()) then look for a pool of their own again.
 */
static int
use_overflow_slot(void)
{
	PoPool	   *o = &local_pools[po_overflow_slot()];

	if (!o->in_use)
	{
		o->in_use = true;
		o->epoch = next_epoch++;
	}
	return po_overflow_slot();
}

/* Find or create the pool of a key; the overflow slot when full. */
static int
pool_slot_for(const PoPoolKey *key, TimestampTz now)
{
	PoPoolEntry *entry;
	bool		found;
	int			slot;

	entry = hash_search(pool_hash, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->slot;

	for (slot = 0; free_pool_slots > 0 && slot < po_max_pools; slot++)
		if (!local_pools[slot].in_use)
			break;
	if (free_pool_slots <= 0 || slot >= po_max_pools)
	{
		free_pool_slots = 0;	/* full, or (cannot happen) none found */
		return use_overflow_slot();
	}

	entry = hash_search(pool_hash, key, HASH_ENTER, &found);
	entry->slot = slot;
	memset(&local_pools[slot], 0, sizeof(PoPool));
	local_pools[slot].key = *key;
	local_pools[slot].epoch = next_epoch++;
	local_pools[slot].in_use = true;
	local_pools[slot].last_present = now;
	free_pool_slots--;
	pool_high = Max(pool_high, slot + 1);
	return slot;
}

/* Count one new connection in a pool slot (and in pool_counters). */
static void
count_new_connection(int slot)
{
	PoPool	   *p = &local_pools[slot];

	p->new_conn_sample++;
	sample_new_conns++;
	po_counters_note(&p->key, slot == po_overflow_slot(),
					 PO_CTR_NEW_CONNECTIONS, 1);
}

/*
 * The pool slot of a pool given by names (an intake record), creating the
 * pool if need be; the overflow slot when the role or database is unknown
 * (dropped, or never existed) or the table is full.  key gets the key
 * (zero for the overflow slot).
 */
int
po_pools_slot_of_names(const char *datname, const char *usename,
					   const PoAddr *addr, const char *appname,
					   TimestampTz now, PoPoolKey *key)
{
	Oid			dbid = po_database_oid(datname);
	Oid			roleid = po_role_oid(usename);
	int			slot;

	ensure_local_state();
	if (!OidIsValid(dbid) || !OidIsValid(roleid))
	{
		memset(key, 0, sizeof(PoPoolKey));
		return use_overflow_slot();
	}
	po_make_pool_key(key, dbid, roleid, addr, appname);
	slot = pool_slot_for(key, now);
	if (slot == po_overflow_slot())
		memset(key, 0, sizeof(PoPoolKey));
	return slot;
}

/* Count a pending connection in its startup packet's pool. */
static void
count_in_startup_pool(const PoPendingConn *pc, TimestampTz now)
{
	Oid			dbid = po_database_oid(pc->datname);
	Oid			roleid = po_role_oid(pc->usename);
	PoPoolKey	key;

	if (!OidIsValid(dbid) || !OidIsValid(roleid))
	{
		/* role or database dropped meanwhile: not attributed */
		sample_new_conns++;
		po_count(conns_unattributed, 1);
		return;
	}
	po_make_pool_key(&key, dbid, roleid, &pc->addr, pc->appname);
	count_new_connection(pool_slot_for(&key, now));
}

/* A client authenticated: wait for its first sample (see PoPendingConn). */
void
po_pools_add_connection(const PoIntakeRecord *rec)
{
	PoPendingConn displaced;

	ensure_local_state();
	if (po_pending_add(rec, &displaced))
		count_in_startup_pool(&displaced, rec->at);
}

/* After counting the sampled sessions: those that ended before a sample. */
static void
resolve_pending(TimestampTz now)
{
	PoPendingIter it;
	PoPendingConn pc;

	po_pending_expire_begin(&it);
	while (po_pending_expire_next(&it, &pc))
		count_in_startup_pool(&pc, now);
}

static inline void
keep_oldest(TimestampTz *oldest, TimestampTz t)
{
	if (t != 0 && (*oldest == 0 || t < *oldest))
		*oldest = t;
}

/* Rate over a window of at least two seconds (or one sample interval). */
static double
update_rate(TimestampTz now, TimestampTz *win_start, int64 *win_count,
			double rate, int64 add)
{
	int64		window_us = Max((int64) 2000000, (int64) po_sample_interval * 1000);

	*win_count += add;
	if (*win_start == 0)
		*win_start = now;
	else if (now - *win_start >= window_us)
	{
		rate = (double) *win_count * 1000000.0 / (double) (now - *win_start);
		*win_start = now;
		*win_count = 0;
	}
	return rate;
}

/* Count non-client backends; true for a client backend. */
static bool
count_backend_type(const PoBackend *b, PoServerSample *server)
{
	/* the common case first */
	if (likely(b->type == B_BACKEND && OidIsValid(b->dbid) &&
			   OidIsValid(b->roleid)))
		return true;
	switch (b->type)
	{
		case B_INVALID:
			/* a status slot without a backend (status.c reads in place) */
			break;
		case B_BACKEND:

			/*
			 * From 18 a backend has a status entry while it authenticates,
			 * before it has a role and a database: not yet a connection of
			 * any pool (its new connection is counted once it is sampled
			 * with them, or when it is gone).
			 */
			if (!OidIsValid(b->dbid) || !OidIsValid(b->roleid))
			{
				server->other_backends++;
				return false;
			}
			return true;
		case B_AUTOVAC_WORKER:
		case B_AUTOVAC_LAUNCHER:
			server->autovacuum++;
			break;
		case B_WAL_SENDER:
			server->walsenders++;
			break;
		case B_BG_WORKER:
			server->bgworkers++;
			break;
		default:
			server->other_backends++;
			break;
	}
	return false;
}

/*
 * The pool slot of a client backend, from its status slot when unchanged:
 * without a key when the status entry is at the change count it was at
 * when its pool was last found and the slot is at the same epoch (the
 * same pool; for the overflow slot, no slot freed since); by key otherwise.
 */
static int
pool_of(const PoBackend *b, TimestampTz now)
{
	PoPoolKey	key;
	int			cached = -1;
	int			slot;
	bool		have_slot = (unsigned) b->slot < (unsigned) MaxBackends;

	if (have_slot)
	{
		const PoSlotPool *sp = &pool_of_status_slot[b->slot];

		cached = sp->pool;
		if ((unsigned) cached > (unsigned) po_overflow_slot() ||
			!local_pools[cached].in_use)
			cached = -1;
		else if (b->changecount >= 0 && b->changecount == sp->changecount &&
				 local_pools[cached].epoch == sp->epoch)
			return cached;
	}

	/* b->appname is zero-padded (status.c): no strlcpy needed */
	memset(&key, 0, sizeof(PoPoolKey));
	key.dbid = b->dbid;
	key.roleid = b->roleid;
	key.addr = b->addr;
	memcpy(key.appname, b->appname, NAMEDATALEN);
	if (cached >= 0 &&
		memcmp(&local_pools[cached].key, &key, sizeof(PoPoolKey)) == 0)
		slot = cached;
	else
		slot = pool_slot_for(&key, now);
	if (have_slot)
	{
		PoSlotPool *sp = &pool_of_status_slot[b->slot];

		sp->pool = slot;
		sp->epoch = local_pools[slot].epoch;
		sp->changecount = b->changecount;
	}
	return slot;
}

/*
 * Add one client backend to its pool.  any_pending: some connection may
 * still wait for its first sample.  Returns whether it is busy (running,
 * or idle in a transaction).
 */
static bool
count_client(PoBackend *b, TimestampTz now, bool any_pending)
{
	PoPool	   *p;
	bool		busy = false;

	b->pool = pool_of(b, now);
	p = &local_pools[b->pool];

	/* a new connection counts in the pool it is first sampled in */
	if (any_pending && po_pending_claim(b->pid, b->backend_start))
		count_new_connection(b->pool);

	/* the server's figures are the pools' sums (finish_pools()) */
	p->connections++;
	if (b->state == STATE_IDLE)
		p->idle++;
	else if (po_state_is_idle_in_xact(b->state))
	{
		p->idle_in_xact++;
		keep_oldest(&p->oldest_iit_start, b->state_change);
		busy = true;
	}
	else if (po_state_is_running(b->state))
	{
		p->active++;
		keep_oldest(&p->oldest_query_start, b->query_start);
		busy = true;
	}
	if (po_wait_is_lock(b->wait_event_info))
		p->waiting++;
	keep_oldest(&p->oldest_xact_start, b->xact_start);
	return busy;
}

/* After counting: presence, rates, saturation, eviction. */
static void
finish_pools(TimestampTz now, PoServerSample *server)
{
	int64		evict_after_us = Max((int64) 60 * USECS_PER_SEC,
									 (int64) 2 * po_history_interval * USECS_PER_SEC);
	int			i;

	for (i = po_pool_slot_first(pool_high); i < po_pool_slots();
		 i = po_pool_slot_next(i, pool_high))
	{
		PoPool	   *p = &local_pools[i];
		int64		wc;

		if (!p->in_use)
			continue;

		/* every client backend counted is in one pool in use */
		server->client_connections += p->connections;
		server->idle += p->idle;
		server->idle_in_xact += p->idle_in_xact;
		server->active += p->active;
		server->waiting += p->waiting;

		p->present = p->connections > 0 || p->new_conn_sample > 0;
		if (p->present)
			p->last_present = now;
		p->new_conn_total += p->new_conn_sample;
		wc = p->win_count;
		p->new_conn_rate = update_rate(now, &p->win_start, &wc,
									   p->new_conn_rate, p->new_conn_sample);
		p->win_count = (int32) wc;

		if (p->connections > 0 &&
			p->active + p->idle_in_xact == p->connections)
		{
			if (p->saturated_since == 0)
				p->saturated_since = now;
		}
		else
			p->saturated_since = 0;

		/* forget pools gone for a while; the overflow slot stays */
		if (!p->present && i != po_overflow_slot() &&
			now - p->last_present > evict_after_us &&
			p->new_conn_rate == 0.0)
		{
			hash_search(pool_hash, &p->key, HASH_REMOVE, NULL);
			memset(p, 0, sizeof(PoPool));
			free_pool_slots++;
			/* the overflow pool's backends may now get this slot */
			local_pools[po_overflow_slot()].epoch = next_epoch++;
		}
		else if (p->present)
			server->npools++;
	}
	while (pool_high > 0 && !local_pools[pool_high - 1].in_use)
		pool_high--;
}

/*
 * Group client backends into pools and compute the server figures, from
 * the entries of backends listed in live (po_sample_backends()).  Returns
 * the number of new connections counted in this sample.
 */
int64
po_pools_build(PoBackend *backends, const int *live, int nlive,
			   TimestampTz now, PoServerSample *server)
{
	bool		any_pending;
	int			n;
	int			nb = 0;
	int			i;
	int			j;

	ensure_local_state();
	for (i = po_pool_slot_first(pool_high); i < po_pool_slots();
		 i = po_pool_slot_next(i, pool_high))
	{
		PoPool	   *p = &local_pools[i];

		p->connections = p->active = p->idle = p->idle_in_xact = p->waiting = 0;
		p->oldest_xact_start = p->oldest_iit_start = p->oldest_query_start = 0;
	}

	memset(server, 0, sizeof(PoServerSample));
	server->sampled_at = now;
	server->max_connections = po_usable_connections();

	/* entries only leave pending in the loop: once none, none */
	any_pending = po_pending_any();
	n = Min(nlive, MaxBackends);	/* busy_list's size */
	nsessions = 0;
	for (j = 0; j < n; j++)
	{
		PoBackend  *b;

		i = live[j];
		b = &backends[i];

		if (count_backend_type(b, server) &&
			count_client(b, now, any_pending))
			busy_list[nb++] = i;
		if (b->type == B_BACKEND && po_session_kinds_possible(b))
			session_list[nsessions++] = i;
	}
	nbusy = nb;
	resolve_pending(now);

	finish_pools(now, server);

	server_rate = update_rate(now, &server_win_start, &server_win_count,
							  server_rate, sample_new_conns);
	server->new_conn_rate = server_rate;
	return sample_new_conns;
}
