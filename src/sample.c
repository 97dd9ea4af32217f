/*-------------------------------------------------------------------------
 *
 * sample.c
 *	  Backend states -> local snapshot -> pools, server figures, history.
 *
 * The sampler reads the shared backend status array in place, one entry at
 * a time under that entry's change counter, copying only the fixed-size
 * fields it needs: no query text, no snapshot of the whole array.  Wait
 * events come from PGPROC, read without locks (a sample is an instant; a
 * value one instruction stale is as good as any).  Query text is copied only
 * for sessions that open an event.
 *
 * Where the status array cannot be attached (a future layout), or when
 * pool_observer.sampling_method = pgstat, the public snapshot interface is
 * used instead; it is slower but uses only exported functions.
 *
 * IDENTIFICATION
 *	  src/sample.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "pool_observer.h"

/* The shared backend status array, when attached. */
static PgBackendStatus *status_array = NULL;

/* Worker-local pool table (published to po_pools) and its index. */
typedef struct PoPoolEntry
{
	PoPoolKey	key;
	int			slot;
} PoPoolEntry;

static PoPool *local_pools = NULL;
static PoBackend *backends_buf = NULL;

/*
 * Pool slot of the backend last seen in each status slot (-1: none), so that
 * a steady backend costs one key comparison instead of a hash lookup.  An
 * entry is used only if that pool slot still holds the very same key.
 */
static int *pool_of_status_slot = NULL;
static HTAB *pool_hash = NULL;
static int	free_pool_slots = 0;
static uint32 local_reset_generation = 0;
static bool took_over = false;

/* server-wide rate window */
static TimestampTz server_win_start = 0;
static int64 server_win_count = 0;
static double server_rate = 0.0;

/* Per-slot wait information gathered from PGPROC. */
typedef struct PoProcInfo
{
	int			pid;
	uint32		wait_event_info;
	TimestampTz lock_wait_start;
	TransactionId xmin;
} PoProcInfo;

bool
po_is_busy(BackendState state)
{
	return state == STATE_RUNNING || state == STATE_FASTPATH ||
		state == STATE_IDLEINTRANSACTION ||
		state == STATE_IDLEINTRANSACTION_ABORTED;
}

bool
po_is_idle_in_xact(BackendState state)
{
	return state == STATE_IDLEINTRANSACTION ||
		state == STATE_IDLEINTRANSACTION_ABORTED;
}

void
po_addr_from_sockaddr(const struct sockaddr_storage *ss, PoAddr *out)
{
	memset(out, 0, sizeof(PoAddr));
	if (ss->ss_family == AF_INET)
	{
		out->family = 4;
		memcpy(out->addr, &((const struct sockaddr_in *) ss)->sin_addr, 4);
	}
	else if (ss->ss_family == AF_INET6)
	{
		out->family = 6;
		memcpy(out->addr, &((const struct sockaddr_in6 *) ss)->sin6_addr, 16);
	}
}

/*
 * Attach to the server's backend status array.  It is created before any
 * extension's shared memory, so it is always found; a size mismatch (a
 * layout this code does not know) raises an ERROR, which we turn into a
 * fallback to the snapshot interface.
 */
bool
po_status_attach(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = false;

	PG_TRY();
	{
		bool		found;
		PgBackendStatus *arr;

		arr = ShmemInitStruct("Backend Status Array",
							  mul_size(sizeof(PgBackendStatus),
									   po_num_status_slots()),
							  &found);
		if (found)
		{
			status_array = arr;
			ok = true;
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		status_array = NULL;
	}
	PG_END_TRY();

	return ok;
}

static inline bool
use_direct(void)
{
	return status_array != NULL && po_sampling_method == PO_SAMPLING_DIRECT;
}

/* Copy what we need of one status entry; caller handles the change count. */
static inline void
copy_status(volatile PgBackendStatus *be, PoBackend *b)
{
	b->pid = be->st_procpid;
	b->type = be->st_backendType;
	b->state = be->st_state;
	b->dbid = be->st_databaseid;
	b->roleid = be->st_userid;
	b->backend_start = be->st_proc_start_timestamp;
	b->xact_start = be->st_xact_start_timestamp;
	b->query_start = be->st_activity_start_timestamp;
	b->state_change = be->st_state_start_timestamp;
	b->query_id = be->st_query_id;
	po_addr_from_sockaddr((const struct sockaddr_storage *) &be->st_clientaddr.addr,
						  &b->addr);
	/* the buffer is NAMEDATALEN bytes and always NUL-terminated */
	strncpy(b->appname, (const char *) be->st_appname, NAMEDATALEN);
	b->appname[NAMEDATALEN - 1] = '\0';
}

/*
 * Read one entry of the shared status array consistently.  Returns false if
 * the slot is unused.  The retry loop is bounded: an entry that keeps
 * changing under us is skipped for this sample.
 */
static bool
read_status_slot_cc(int slot, PoBackend *b, int *cc)
{
	volatile PgBackendStatus *be = &status_array[slot];
	int			attempt;

	for (attempt = 0; attempt < 100; attempt++)
	{
		int			before;
		int			after;
		bool		valid;

		pgstat_begin_read_activity(be, before);
		valid = be->st_procpid > 0;
		if (valid)
			copy_status(be, b);
		pgstat_end_read_activity(be, after);

		if (pgstat_read_activity_complete(before, after))
		{
			b->slot = slot;
			*cc = before;
			return valid;
		}
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

static bool
read_status_slot(int slot, PoBackend *b)
{
	int			cc;

	return read_status_slot_cc(slot, b, &cc);
}

/*
 * The last consistent copy of each status slot and the change count it was
 * read at: an entry whose count has not moved has not changed, so a steady
 * (idle) backend costs one cache line of the status array.
 */
static PoBackend *slot_copy = NULL;
static int *slot_cc = NULL;

/* Copy the PGPROC fields we need; pid was checked by the caller. */
static inline void
copy_proc(PGPROC *proc, uint32 *wei, TimestampTz *lock_wait_start,
		  TransactionId *xmin)
{
	*wei = *((volatile uint32 *) &proc->wait_event_info);
	*xmin = *((volatile TransactionId *) &proc->xmin);
	*lock_wait_start = 0;
	if ((*wei & 0xFF000000) == PG_WAIT_LOCK)
		*lock_wait_start = (TimestampTz) pg_atomic_read_u64(&proc->waitStart);
}

/* Wait information of every backend with its pid, for the snapshot path. */
static int
read_proc_info(PoProcInfo *info, int max)
{
	int			i;
	int			n = 0;
	int			nprocs = Min((int) ProcGlobal->allProcCount, MaxBackends);

	for (i = 0; i < nprocs && n < max; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		int			pid = proc->pid;

		if (pid == 0)
			continue;
		info[n].pid = pid;
		copy_proc(proc, &info[n].wait_event_info, &info[n].lock_wait_start,
				  &info[n].xmin);
		n++;
	}
	return n;
}

static int
cmp_procinfo_pid(const void *a, const void *b)
{
	int			pa = ((const PoProcInfo *) a)->pid;
	int			pb = ((const PoProcInfo *) b)->pid;

	return (pa > pb) - (pa < pb);
}

/*
 * The PGPROC of each status slot, remembered across samples so that a
 * steady server costs one PGPROC read per backend rather than a scan of
 * every PGPROC.  An entry is trusted only while its pid matches; any miss
 * rebuilds the whole map with one scan.
 */
static PGPROC **proc_of_slot = NULL;

static void
rebuild_proc_map(void)
{
	int			i;
	int			nprocs = Min((int) ProcGlobal->allProcCount, MaxBackends);

	if (proc_of_slot == NULL)
		proc_of_slot = MemoryContextAlloc(TopMemoryContext,
										  sizeof(PGPROC *) * MaxBackends);
	memset(proc_of_slot, 0, sizeof(PGPROC *) * MaxBackends);
	for (i = 0; i < nprocs; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		int			slot;

		if (proc->pid == 0)
			continue;
		slot = po_status_slot_of_proc(proc, i);
		if (slot >= 0 && slot < MaxBackends)
			proc_of_slot[slot] = proc;
	}
}

static inline PGPROC *
proc_for(const PoBackend *b, bool *rebuilt)
{
	PGPROC	   *proc = proc_of_slot ? proc_of_slot[b->slot] : NULL;

	if ((proc == NULL || proc->pid != b->pid) && !*rebuilt)
	{
		rebuild_proc_map();
		*rebuilt = true;
		proc = proc_of_slot[b->slot];
	}
	return (proc != NULL && proc->pid == b->pid) ? proc : NULL;
}

/*
 * Read every backend into out[] (at most max entries).  Returns the count.
 * Wait information is joined from PGPROC.
 */
int
po_read_backends(PoBackend *out, int max)
{
	int			n = 0;
	int			i;
	int			nslots = MaxBackends;

	if (use_direct())
	{
		bool		rebuilt = false;

		if (slot_copy == NULL)
		{
			slot_copy = MemoryContextAllocZero(TopMemoryContext,
											   sizeof(PoBackend) * nslots);
			slot_cc = MemoryContextAlloc(TopMemoryContext, sizeof(int) * nslots);
			memset(slot_cc, 0xff, sizeof(int) * nslots);	/* -1: odd, never matches */
		}
		for (i = 0; i < nslots && n < max; i++)
		{
			PoBackend  *b = &out[n];
			PGPROC	   *proc;
			int			cc = *((volatile int *) &status_array[i].st_changecount);

			pg_read_barrier();
			if (cc == slot_cc[i] && (cc & 1) == 0)
			{
				if (slot_copy[i].pid <= 0)
					continue;
				*b = slot_copy[i];
			}
			else
			{
				bool		valid;

				b->slot = -1;	/* set only by a consistent read */
				valid = read_status_slot_cc(i, b, &cc);
				slot_cc[i] = -1;
				if (!valid)
				{
					if (b->slot == i)	/* a consistent read of an empty slot */
					{
						slot_copy[i].pid = 0;
						slot_cc[i] = cc;
					}
					continue;
				}
				slot_copy[i] = *b;
				slot_cc[i] = cc;
			}
			b->pool = -1;
			b->wait_event_info = 0;
			b->lock_wait_start = 0;
			b->xmin = InvalidTransactionId;
			/* an idle backend waits on its client, holds no snapshot */
			if (b->state != STATE_IDLE)
			{
				proc = proc_for(b, &rebuilt);
				if (proc != NULL)
					copy_proc(proc, &b->wait_event_info, &b->lock_wait_start,
							  &b->xmin);
			}
			n++;
		}
	}
	else
	{
		PoProcInfo *info = palloc(sizeof(PoProcInfo) * nslots);
		int			ninfo = read_proc_info(info, nslots);
		int			nb;

		/* the snapshot has no slot numbers: join on pid */
		qsort(info, ninfo, sizeof(PoProcInfo), cmp_procinfo_pid);
		pgstat_clear_snapshot();
		nb = pgstat_fetch_stat_numbackends();
		for (i = 0; i < nb && n < max; i++)
		{
			LocalPgBackendStatus *local = po_local_beentry(i);
			PoBackend  *b = &out[n];
			PoProcInfo	key = {0};
			PoProcInfo *pi;

			if (local == NULL || local->backendStatus.st_procpid <= 0)
				continue;
			copy_status(&local->backendStatus, b);
			b->slot = -1;
			b->pool = -1;
			b->wait_event_info = 0;
			b->lock_wait_start = 0;
			b->xmin = InvalidTransactionId;
			key.pid = b->pid;
			pi = bsearch(&key, info, ninfo, sizeof(PoProcInfo), cmp_procinfo_pid);
			if (pi != NULL)
			{
				b->wait_event_info = pi->wait_event_info;
				b->lock_wait_start = pi->lock_wait_start;
				b->xmin = pi->xmin;
			}
			n++;
		}
		pfree(info);
	}
	return n;
}

/*
 * Read again the backend seen as "old", just before acting on it.  Returns
 * false if the process has gone.  The caller compares start times.
 */
bool
po_reread_backend(const PoBackend *old, PoBackend *cur)
{
	if (use_direct() && old->slot >= 0)
	{
		if (!read_status_slot(old->slot, cur))
			return false;
		return cur->pid == old->pid;
	}
	else
	{
		int			nb;
		int			i;

		pgstat_clear_snapshot();
		nb = pgstat_fetch_stat_numbackends();
		for (i = 0; i < nb; i++)
		{
			LocalPgBackendStatus *local = po_local_beentry(i);

			if (local != NULL && local->backendStatus.st_procpid == old->pid)
			{
				copy_status(&local->backendStatus, cur);
				cur->slot = -1;
				return true;
			}
		}
		return false;
	}
}

/*
 * Copy the current query text of a backend, bounded by len; no more than
 * len bytes are read however large track_activity_query_size is.  The text
 * is in the backend's database encoding and may end inside a multibyte
 * character: readers clip it in their own encoding.
 */
void
po_read_query(const PoBackend *be, char *buf, Size len)
{
	buf[0] = '\0';
	if (use_direct() && be->slot >= 0)
	{
		volatile PgBackendStatus *st = &status_array[be->slot];
		int			attempt;

		for (attempt = 0; attempt < 100; attempt++)
		{
			int			before;
			int			after;
			bool		same;

			pgstat_begin_read_activity(st, before);
			same = st->st_procpid == be->pid;
			if (same)
			{
				const char *raw = (const char *) st->st_activity_raw;
				Size		n = strnlen(raw, len - 1);

				memcpy(buf, raw, n);
				buf[n] = '\0';
			}
			pgstat_end_read_activity(st, after);
			if (pgstat_read_activity_complete(before, after))
			{
				if (!same)
					buf[0] = '\0';
				return;
			}
			CHECK_FOR_INTERRUPTS();
		}
		buf[0] = '\0';
	}
	else
	{
		const char *act = pgstat_get_backend_current_activity(be->pid, false);

		if (act != NULL)
			strlcpy(buf, act, len);
	}
}

/* ---------------------------------------------------------------------
 * Pools
 * ---------------------------------------------------------------------
 */

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

	if (pool_of_status_slot == NULL)
		pool_of_status_slot = MemoryContextAlloc(TopMemoryContext,
												 sizeof(int) * MaxBackends);
	memset(pool_of_status_slot, -1, sizeof(int) * MaxBackends);
}

/* Forget every pool, episode and cached name (after reset()). */
void
po_sampler_reset_local(void)
{
	if (local_pools != NULL)
	{
		hash_destroy(pool_hash);
		pfree(local_pools);
		local_pools = NULL;
		pool_hash = NULL;
	}
	server_win_start = 0;
	server_win_count = 0;
	server_rate = 0.0;
	po_detect_reset_local();
	po_policy_reset_local();
	ensure_local_state();
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

	if (free_pool_slots <= 0)
	{
		local_pools[po_overflow_slot()].in_use = true;
		return po_overflow_slot();
	}

	for (slot = 0; slot < po_max_pools; slot++)
		if (!local_pools[slot].in_use)
			break;
	if (slot >= po_max_pools)
	{
		/* cannot happen: free_pool_slots says otherwise */
		free_pool_slots = 0;
		local_pools[po_overflow_slot()].in_use = true;
		return po_overflow_slot();
	}

	entry = hash_search(pool_hash, key, HASH_ENTER, &found);
	entry->slot = slot;
	memset(&local_pools[slot], 0, sizeof(PoPool));
	local_pools[slot].key = *key;
	local_pools[slot].in_use = true;
	local_pools[slot].last_present = now;
	free_pool_slots--;
	return slot;
}

static void
make_key(PoPoolKey *key, Oid dbid, Oid roleid, const PoAddr *addr,
		 const char *appname)
{
	memset(key, 0, sizeof(PoPoolKey));
	key->dbid = dbid;
	key->roleid = roleid;
	key->addr = *addr;
	strlcpy(key->appname, appname, NAMEDATALEN);
}

/*
 * Take the new connections from the ring and count them in their pools.
 * Returns the number of new connections, attributed or not.
 */
static int64
drain_connection_ring(TimestampTz now)
{
	uint64		tail = po_shared->ring_tail;
	uint64		head = pg_atomic_read_u64(&po_shared->ring_head);
	int64		count = 0;
	uint64		lost = 0;

	if (head < tail)			/* cannot happen; start over */
		tail = head;
	if (head - tail > PO_CONN_RING_SIZE)
	{
		lost += head - tail - PO_CONN_RING_SIZE;
		count += head - tail - PO_CONN_RING_SIZE;
		tail = head - PO_CONN_RING_SIZE;
	}

	for (; tail < head; tail++)
	{
		PoConnSlot *cs = &po_conn_ring[tail % PO_CONN_RING_SIZE];
		char		datname[NAMEDATALEN];
		char		usename[NAMEDATALEN];
		char		appname[NAMEDATALEN];
		PoAddr		addr;
		uint64		seq = pg_atomic_read_u64(&cs->seq);
		Oid			dbid;
		Oid			roleid;

		if (seq != tail + 1)
		{
			/* still being written: take it next time, unless lapped */
			if (seq < tail + 1 && head - tail < PO_CONN_RING_SIZE / 2)
				break;
			lost++;
			count++;
			continue;
		}
		pg_read_barrier();
		memcpy(datname, cs->datname, NAMEDATALEN);
		memcpy(usename, cs->usename, NAMEDATALEN);
		memcpy(appname, cs->appname, NAMEDATALEN);
		addr = cs->addr;
		pg_read_barrier();
		count++;
		if (pg_atomic_read_u64(&cs->seq) != tail + 1)
		{
			lost++;
			continue;
		}
		datname[NAMEDATALEN - 1] = '\0';
		usename[NAMEDATALEN - 1] = '\0';
		appname[NAMEDATALEN - 1] = '\0';

		dbid = po_database_oid(datname);
		roleid = po_role_oid(usename);
		if (OidIsValid(dbid) && OidIsValid(roleid))
		{
			PoPoolKey	key;
			int			slot;

			make_key(&key, dbid, roleid, &addr, appname);
			slot = pool_slot_for(&key, now);
			local_pools[slot].new_conn_sample++;
		}
		else
			lost++;
	}

	/* kept in shared memory, so a restarted sampler goes on from here */
	po_shared->ring_tail = tail;

	if (lost > 0)
	{
		SpinLockAcquire(&po_shared->mutex);
		po_shared->conns_unattributed += lost;
		SpinLockRelease(&po_shared->mutex);
	}
	return count;
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

/* Group client backends into pools and compute the server figures. */
static void
build_pools(PoSample *s, PoServerSample *server, int64 new_conns)
{
	int			i;
	int64		evict_after_us;

	for (i = 0; i < po_pool_slots(); i++)
	{
		PoPool	   *p = &local_pools[i];

		p->connections = p->active = p->idle = p->idle_in_xact = p->waiting = 0;
		p->oldest_xact_start = p->oldest_iit_start = p->oldest_query_start = 0;
	}

	memset(server, 0, sizeof(PoServerSample));
	server->sampled_at = s->now;
	server->max_connections = po_usable_connections();

	for (i = 0; i < s->nbackends; i++)
	{
		PoBackend  *b = &s->backends[i];
		PoPoolKey	key;
		PoPool	   *p;
		int			cached;

		switch (b->type)
		{
			case B_BACKEND:
				break;
			case B_AUTOVAC_WORKER:
			case B_AUTOVAC_LAUNCHER:
				server->autovacuum++;
				continue;
			case B_WAL_SENDER:
				server->walsenders++;
				continue;
			case B_BG_WORKER:
				server->bgworkers++;
				continue;
			default:
				server->other_backends++;
				continue;
		}

		/* b->appname is zero-padded (copy_status): no strlcpy needed */
		memset(&key, 0, sizeof(PoPoolKey));
		key.dbid = b->dbid;
		key.roleid = b->roleid;
		key.addr = b->addr;
		memcpy(key.appname, b->appname, NAMEDATALEN);
		if (b->slot >= 0 && b->slot < MaxBackends &&
			(cached = pool_of_status_slot[b->slot]) >= 0 &&
			cached < po_max_pools && local_pools[cached].in_use &&
			memcmp(&local_pools[cached].key, &key, sizeof(PoPoolKey)) == 0)
			b->pool = cached;
		else
		{
			b->pool = pool_slot_for(&key, s->now);
			if (b->slot >= 0 && b->slot < MaxBackends)
				pool_of_status_slot[b->slot] = b->pool;
		}
		p = &local_pools[b->pool];

		p->connections++;
		server->client_connections++;
		if (b->state == STATE_IDLE)
		{
			p->idle++;
			server->idle++;
		}
		else if (po_is_idle_in_xact(b->state))
		{
			p->idle_in_xact++;
			server->idle_in_xact++;
			keep_oldest(&p->oldest_iit_start, b->state_change);
		}
		else if (b->state == STATE_RUNNING || b->state == STATE_FASTPATH)
		{
			p->active++;
			server->active++;
			keep_oldest(&p->oldest_query_start, b->query_start);
		}
		if ((b->wait_event_info & 0xFF000000) == PG_WAIT_LOCK)
		{
			p->waiting++;
			server->waiting++;
		}
		keep_oldest(&p->oldest_xact_start, b->xact_start);
	}

	evict_after_us = Max((int64) 60 * USECS_PER_SEC,
						 (int64) 2 * po_history_interval * USECS_PER_SEC);

	for (i = 0; i < po_pool_slots(); i++)
	{
		PoPool	   *p = &local_pools[i];
		int64		wc;

		if (!p->in_use)
			continue;

		p->present = p->connections > 0 || p->new_conn_sample > 0;
		if (p->present)
			p->last_present = s->now;
		p->new_conn_total += p->new_conn_sample;
		wc = p->win_count;
		p->new_conn_rate = update_rate(s->now, &p->win_start, &wc,
									   p->new_conn_rate, p->new_conn_sample);
		p->win_count = (int32) wc;

		if (p->connections > 0 &&
			p->active + p->idle_in_xact == p->connections)
		{
			if (p->saturated_since == 0)
				p->saturated_since = s->now;
		}
		else
			p->saturated_since = 0;

		if (p->saturated_since != 0 &&
			(po_saturation_threshold <= 0 ||
			 s->now - p->saturated_since >= (int64) po_saturation_threshold * 1000))
			server->saturated_pools++;

		/* forget pools gone for a while; the overflow slot stays */
		if (!p->present && i != po_overflow_slot() &&
			s->now - p->last_present > evict_after_us &&
			p->new_conn_rate == 0.0)
		{
			hash_search(pool_hash, &p->key, HASH_REMOVE, NULL);
			memset(p, 0, sizeof(PoPool));
			free_pool_slots++;
		}
		else if (p->present)
			server->npools++;
	}

	server_rate = update_rate(s->now, &server_win_start, &server_win_count,
							  server_rate, new_conns);
	server->new_conn_rate = server_rate;
}

/* ---------------------------------------------------------------------
 * History
 * ---------------------------------------------------------------------
 */

/* Fold this sample into the current bucket.  Caller holds the lock. */
static void
fold_history_locked(const PoServerSample *server, int64 new_conns,
					uint64 *overwritten)
{
	int64		width = (int64) po_history_interval * USECS_PER_SEC;
	int64		seq = server->sampled_at / width;
	int			cur = po_shared->hist_cur;
	PoBucket   *bk;
	int			i;
	double		util;

	if (cur < 0 || po_buckets[cur].seq != seq)
	{
		cur = (cur + 1) % po_history_size;
		bk = &po_buckets[cur];
		if (bk->seq != -1)
			(*overwritten)++;
		memset(bk, 0, sizeof(PoBucket));
		bk->seq = seq;
		bk->bucket_start = seq * width;
		bk->width_us = width;
		memset(po_hist_row(cur, 0), 0, sizeof(PoHistRow) * po_pool_slots());
		po_shared->hist_cur = cur;
	}
	bk = &po_buckets[cur];

	bk->samples++;
	bk->conn_sum += server->client_connections;
	bk->conn_max = Max(bk->conn_max, server->client_connections);
	bk->max_connections = server->max_connections;
	util = (double) server->client_connections / server->max_connections;
	bk->util_max = Max(bk->util_max, util);
	bk->active_max = Max(bk->active_max, server->active);
	bk->iit_max = Max(bk->iit_max, server->idle_in_xact);
	bk->waiting_max = Max(bk->waiting_max, server->waiting);
	bk->new_conns += new_conns;

	for (i = 0; i < po_pool_slots(); i++)
	{
		const PoPool *p = &local_pools[i];
		PoHistRow  *row;

		if (!p->in_use || !p->present)
			continue;
		row = po_hist_row(cur, i);
		if (row->samples == 0 ||
			memcmp(&row->key, &p->key, sizeof(PoPoolKey)) != 0)
		{
			memset(row, 0, sizeof(PoHistRow));
			row->key = p->key;
		}
		row->samples++;
		row->conn_sum += p->connections;
		row->conn_max = Max(row->conn_max, p->connections);
		row->active_sum += p->active;
		row->active_max = Max(row->active_max, p->active);
		row->iit_max = Max(row->iit_max, p->idle_in_xact);
		row->waiting_max = Max(row->waiting_max, p->waiting);
		util = p->connections > 0 ?
			(double) (p->active + p->idle_in_xact) / p->connections : 0.0;
		row->util_sum += util;
		row->util_max = Max(row->util_max, util);
		row->new_conns += p->new_conn_sample;
	}
}

/* ---------------------------------------------------------------------
 * One sample
 * ---------------------------------------------------------------------
 */
void
po_sample_once(MemoryContext cycle_cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cycle_cxt);
	instr_time	start;
	instr_time	duration;
	uint64		request;
	uint32		generation;
	PoSample	s;
	PoServerSample server;
	int64		new_conns;
	uint64		overwritten = 0;
	double		us;
	int			i;

	INSTR_TIME_SET_CURRENT(start);

	SpinLockAcquire(&po_shared->mutex);
	request = po_shared->sample_requests;
	generation = po_shared->reset_generation;
	SpinLockRelease(&po_shared->mutex);

	ensure_local_state();
	if (generation != local_reset_generation)
	{
		po_sampler_reset_local();
		local_reset_generation = generation;
	}
	if (!took_over)
	{
		/* a restarted sampler goes on with its predecessor's episodes */
		po_detect_take_over();
		took_over = true;
	}

	memset(&s, 0, sizeof(s));
	s.now = GetCurrentTimestamp();
	/* allocated once: a fresh 40 kB array every sample costs page faults */
	if (backends_buf == NULL)
		backends_buf = MemoryContextAlloc(TopMemoryContext,
										  sizeof(PoBackend) * MaxBackends);
	s.backends = backends_buf;
	s.nbackends = po_read_backends(s.backends, MaxBackends);

	for (i = 0; i < po_pool_slots(); i++)
		local_pools[i].new_conn_sample = 0;
	new_conns = drain_connection_ring(s.now);
	build_pools(&s, &server, new_conns);

	/* episodes, actions; fills the over-threshold counts */
	s.pools = local_pools;
	s.server = &server;
	po_detect(&s);

	LWLockAcquire(po_shared->lock, LW_EXCLUSIVE);
	memcpy(po_pools, local_pools, sizeof(PoPool) * po_pool_slots());
	po_shared->server = server;
	fold_history_locked(&server, new_conns, &overwritten);
	po_detect_publish_locked(&s);
	LWLockRelease(po_shared->lock);

	po_detect_after_publish(&s);
	po_catalog_done();

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	us = INSTR_TIME_GET_MICROSEC(duration);

	SpinLockAcquire(&po_shared->mutex);
	po_shared->samples++;
	po_shared->last_sample_at = s.now;
	po_shared->sample_us_sum += us;
	po_shared->sample_us_last = us;
	if (us > po_shared->sample_us_max)
		po_shared->sample_us_max = us;
	po_shared->history_overwritten += overwritten;
	if (request > po_shared->requests_served)
		po_shared->requests_served = request;
	SpinLockRelease(&po_shared->mutex);

	ConditionVariableBroadcast(&po_shared->sample_cv);
	MemoryContextSwitchTo(oldcxt);
}
