/*-------------------------------------------------------------------------
 *
 * funcs.c
 *	  SQL-callable functions of pool_observer.
 *
 * Readers copy from shared memory under the lock in shared mode, release
 * it, and only then form tuples, so a slow client never holds up the
 * sampler.  The C entry points carry the SQL API version (_1_0); a later
 * version with more columns gets new symbols and these stay.
 *
 * IDENTIFICATION
 *	  src/funcs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

#include "pool_observer.h"

PG_FUNCTION_INFO_V1(po_assert_loaded_1_0);
PG_FUNCTION_INFO_V1(po_pools_1_0);
PG_FUNCTION_INFO_V1(po_pool_history_1_0);
PG_FUNCTION_INFO_V1(po_server_history_1_0);
PG_FUNCTION_INFO_V1(po_events_1_0);
PG_FUNCTION_INFO_V1(po_health_1_0);
PG_FUNCTION_INFO_V1(po_worker_1_0);
PG_FUNCTION_INFO_V1(po_sample_now_1_0);
PG_FUNCTION_INFO_V1(po_reset_1_0);
PG_FUNCTION_INFO_V1(po_terminate_idle_in_transaction_1_0);
PG_FUNCTION_INFO_V1(po_cancel_slow_statements_1_0);

/* How long sample_now() waits for the sampler. */
#define PO_SAMPLE_WAIT_MS	30000

#ifdef PO_NEED_INIT_SRF
void
po_init_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	MemoryContext oldcxt;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("set-valued function called in context that cannot accept a set"));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcxt);
}
#endif

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static Datum
interval_datum(int64 usecs)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = Max(usecs, 0);
	return IntervalPGetDatum(iv);
}

/*
 * Text from a stored string: clipped to whole characters and checked in
 * this database's encoding (a session of another database may have written
 * it); invalid bytes become '?', so output never fails.
 */
static Datum
safe_text(const char *s, int maxlen)
{
	int			len = strnlen(s, maxlen);
	char	   *copy;
	int			i;

	len = pg_mbcliplen(s, len, len);
	if (pg_verifymbstr(s, len, true))
		return PointerGetDatum(cstring_to_text_with_len(s, len));

	copy = pnstrdup(s, len);
	for (i = 0; i < len; i++)
		if ((unsigned char) copy[i] >= 0x80)
			copy[i] = '?';
	return PointerGetDatum(cstring_to_text_with_len(copy, len));
}

/* inet from a stored address; false for none (Unix socket). */
static bool
addr_datum(const PoAddr *addr, Datum *d)
{
	char		buf[64];

	if (addr->family == 4)
		inet_ntop(AF_INET, addr->addr, buf, sizeof(buf));
	else if (addr->family == 6)
		inet_ntop(AF_INET6, addr->addr, buf, sizeof(buf));
	else
		return false;
	*d = DirectFunctionCall1(inet_in, CStringGetDatum(buf));
	return true;
}

static bool
name_datum(const char *name, Datum *d)
{
	NameData   *n;

	if (name == NULL || name[0] == '\0')
		return false;
	n = palloc0(sizeof(NameData));
	strlcpy(NameStr(*n), name, NAMEDATALEN);
	*d = NameGetDatum(n);
	return true;
}

/* The four key columns of a pool, starting at values[first]. */
static void
pool_key_datums(const PoPoolKey *key, bool overflow, Datum *values,
				bool *nulls, int first)
{
	if (overflow)
	{
		nulls[first] = nulls[first + 1] = nulls[first + 2] = nulls[first + 3] = true;
		return;
	}
	nulls[first] = !name_datum(get_database_name(key->dbid), &values[first]);
	nulls[first + 1] = !name_datum(GetUserNameFromId(key->roleid, true),
								   &values[first + 1]);
	values[first + 2] = safe_text(key->appname, NAMEDATALEN);
	nulls[first + 3] = !addr_datum(&key->addr, &values[first + 3]);
}

static Datum
pid_array(const int32 *pids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = Int32GetDatum(pids[i]);
	return PointerGetDatum(construct_array(elems, n, INT4OID, sizeof(int32),
										   true, TYPALIGN_INT));
}

static Datum
timestamp_or_null(TimestampTz t, bool *isnull)
{
	*isnull = (t == 0);
	return TimestampTzGetDatum(t);
}

/* ---------------------------------------------------------------------
 * Views
 * ---------------------------------------------------------------------
 */

Datum
po_assert_loaded_1_0(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	PG_RETURN_BOOL(true);
}

Datum
po_pools_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoPool	   *pools;
	TimestampTz sampled_at;
	int			nslots;
	int			i;

	po_require_loaded();
	po_init_srf(fcinfo);

	nslots = po_pool_slots();
	pools = palloc(sizeof(PoPool) * nslots);
	LWLockAcquire(po_shared->lock, LW_SHARED);
	memcpy(pools, po_pools, sizeof(PoPool) * nslots);
	sampled_at = po_shared->server.sampled_at;
	LWLockRelease(po_shared->lock);

	for (i = 0; i < nslots; i++)
	{
		PoPool	   *p = &pools[i];
		Datum		values[17];
		bool		nulls[17];
		int			busy;

		if (!p->in_use || (!p->present && p->new_conn_rate == 0.0))
			continue;
		memset(nulls, 0, sizeof(nulls));
		pool_key_datums(&p->key, i == po_overflow_slot(), values, nulls, 0);
		busy = p->active + p->idle_in_xact;
		values[4] = Int32GetDatum(p->connections);
		values[5] = Int32GetDatum(p->active);
		values[6] = Int32GetDatum(p->idle);
		values[7] = Int32GetDatum(p->idle_in_xact);
		values[8] = Int32GetDatum(p->waiting);
		values[9] = Float8GetDatum(p->connections > 0 ?
								   (double) busy / p->connections : 0.0);
		values[10] = timestamp_or_null(p->saturated_since, &nulls[10]);
		values[11] = interval_datum(sampled_at - p->oldest_xact_start);
		nulls[11] = p->oldest_xact_start == 0;
		values[12] = interval_datum(sampled_at - p->oldest_iit_start);
		nulls[12] = p->oldest_iit_start == 0;
		values[13] = interval_datum(sampled_at - p->oldest_query_start);
		nulls[13] = p->oldest_query_start == 0;
		values[14] = Float8GetDatum(p->new_conn_rate);
		values[15] = BoolGetDatum(i == po_overflow_slot());
		values[16] = timestamp_or_null(sampled_at, &nulls[16]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Visit buckets oldest first.  Each bucket (and its pool rows, when rows is
 * not NULL) is copied under the lock on its own, so reading the whole
 * history never holds the lock for long.
 */
typedef void (*bucket_visitor) (ReturnSetInfo *rsinfo, const PoBucket *bk,
								const PoHistRow *rows);

static void
visit_history(ReturnSetInfo *rsinfo, bool with_rows, bucket_visitor visit)
{
	int			nslots = po_pool_slots();
	PoHistRow  *rows = with_rows ? palloc(sizeof(PoHistRow) * nslots) : NULL;
	int			cur;
	int			k;

	LWLockAcquire(po_shared->lock, LW_SHARED);
	cur = po_shared->hist_cur;
	LWLockRelease(po_shared->lock);
	if (cur < 0)
		return;

	for (k = 1; k <= po_history_size; k++)
	{
		int			b = (cur + k) % po_history_size;
		PoBucket	bk;

		LWLockAcquire(po_shared->lock, LW_SHARED);
		bk = po_buckets[b];
		if (with_rows && bk.seq != -1)
			memcpy(rows, po_hist_row(b, 0), sizeof(PoHistRow) * nslots);
		LWLockRelease(po_shared->lock);

		if (bk.seq == -1 || bk.samples == 0)
			continue;
		visit(rsinfo, &bk, rows);
		CHECK_FOR_INTERRUPTS();
	}
}

static void
emit_pool_bucket(ReturnSetInfo *rsinfo, const PoBucket *bk, const PoHistRow *rows)
{
	int			i;

	for (i = 0; i < po_pool_slots(); i++)
	{
		const PoHistRow *r = &rows[i];
		Datum		values[16];
		bool		nulls[16];

		if (r->samples == 0)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = TimestampTzGetDatum(bk->bucket_start);
		pool_key_datums(&r->key, i == po_overflow_slot(), values, nulls, 1);
		values[5] = Int32GetDatum(r->samples);
		values[6] = Float8GetDatum((double) r->conn_sum / bk->samples);
		values[7] = Int32GetDatum(r->conn_max);
		values[8] = Float8GetDatum((double) r->active_sum / bk->samples);
		values[9] = Int32GetDatum(r->active_max);
		values[10] = Int32GetDatum(r->iit_max);
		values[11] = Int32GetDatum(r->waiting_max);
		values[12] = Float8GetDatum(r->util_sum / r->samples);
		values[13] = Float8GetDatum(r->util_max);
		values[14] = Int64GetDatum(r->new_conns);
		values[15] = BoolGetDatum(i == po_overflow_slot());
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

static void
emit_server_bucket(ReturnSetInfo *rsinfo, const PoBucket *bk, const PoHistRow *rows)
{
	Datum		values[10];
	bool		nulls[10];

	memset(nulls, 0, sizeof(nulls));
	values[0] = TimestampTzGetDatum(bk->bucket_start);
	values[1] = Int32GetDatum(bk->samples);
	values[2] = Float8GetDatum((double) bk->conn_sum / bk->samples);
	values[3] = Int32GetDatum(bk->conn_max);
	values[4] = Int32GetDatum(bk->max_connections);
	values[5] = Float8GetDatum(bk->util_max);
	values[6] = Int32GetDatum(bk->active_max);
	values[7] = Int32GetDatum(bk->iit_max);
	values[8] = Int32GetDatum(bk->waiting_max);
	values[9] = Int64GetDatum(bk->new_conns);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
po_pool_history_1_0(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	po_init_srf(fcinfo);
	visit_history((ReturnSetInfo *) fcinfo->resultinfo, true, emit_pool_bucket);
	return (Datum) 0;
}

Datum
po_server_history_1_0(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	po_init_srf(fcinfo);
	visit_history((ReturnSetInfo *) fcinfo->resultinfo, false, emit_server_bucket);
	return (Datum) 0;
}

/* Events copied under the lock at a time: the ring may be large. */
#define PO_EVENTS_CHUNK		256

static void
emit_event(ReturnSetInfo *rsinfo, const PoEvent *ev)
{
	Datum		values[19];
	bool		nulls[19];
	bool		session = !ev->has_pool && ev->pid != 0;
	TimestampTz until;

	memset(nulls, 0, sizeof(nulls));
	until = ev->ended_at != 0 ? ev->ended_at : ev->last_seen_at;
	values[0] = Int64GetDatum((int64) ev->id);
	values[1] = CStringGetTextDatum(po_event_kind_name(ev->kind));
	values[2] = TimestampTzGetDatum(ev->detected_at);
	values[3] = timestamp_or_null(ev->ended_at, &nulls[3]);
	values[4] = interval_datum(until - ev->started_at);
	values[5] = Int32GetDatum(ev->pid);
	nulls[5] = !session;
	nulls[6] = !name_datum(ev->datname, &values[6]);
	nulls[7] = !name_datum(ev->usename, &values[7]);
	if (session || ev->has_pool)
		values[8] = safe_text(ev->appname, NAMEDATALEN);
	else
		nulls[8] = true;
	nulls[9] = !addr_datum(&ev->addr, &values[9]);
	values[10] = Int64GetDatum((int64) ev->query_id);
	nulls[10] = !session || ev->query_id == 0;
	if (session && ev->query[0] != '\0')
		values[11] = safe_text(ev->query, PO_QUERY_LEN);
	else
		nulls[11] = true;
	values[12] = pid_array(ev->blocked, ev->nblocked);
	nulls[12] = !session;
	values[13] = CStringGetTextDatum(po_action_name(ev->action));
	values[14] = timestamp_or_null(ev->action_at, &nulls[14]);
	if (ev->detail[0] != '\0')
		values[15] = safe_text(ev->detail, PO_DETAIL_LEN);
	else
		nulls[15] = true;
	values[16] = TimestampTzGetDatum(ev->started_at);
	values[17] = TimestampTzGetDatum(ev->last_seen_at);
	values[18] = pid_array(ev->blockers, ev->nblockers);
	nulls[18] = !session;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * Events oldest first: the ring is read from the slot the next event will
 * take, a chunk at a time, so that the lock is never held for long however
 * large pool_observer.max_events is.
 */
Datum
po_events_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoEvent    *chunk;
	int			start;
	int			done;

	po_require_loaded();
	po_init_srf(fcinfo);

	chunk = palloc(sizeof(PoEvent) * PO_EVENTS_CHUNK);
	LWLockAcquire(po_shared->lock, LW_SHARED);
	start = (int) ((po_shared->next_event_id - 1) % po_max_events);
	LWLockRelease(po_shared->lock);

	for (done = 0; done < po_max_events;)
	{
		int			first = (start + done) % po_max_events;
		int			n = Min(PO_EVENTS_CHUNK, po_max_events - done);
		int			i;

		/* do not run past the end of the ring in one copy */
		n = Min(n, po_max_events - first);
		LWLockAcquire(po_shared->lock, LW_SHARED);
		memcpy(chunk, &po_events[first], sizeof(PoEvent) * n);
		LWLockRelease(po_shared->lock);

		for (i = 0; i < n; i++)
			if (chunk[i].id != 0)
				emit_event(rsinfo, &chunk[i]);
		done += n;
		CHECK_FOR_INTERRUPTS();
	}
	pfree(chunk);
	return (Datum) 0;
}

/* Is the sampler alive and recent?  A stale sampler counts as stopped. */
static bool
sampler_fresh(pid_t pid, TimestampTz last, TimestampTz now)
{
	int64		limit_us = Max((int64) 5 * po_sample_interval * 1000,
							   (int64) 2 * USECS_PER_SEC);

	return pid != 0 && last != 0 && now - last <= limit_us;
}

Datum
po_health_1_0(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PoServerSample server;
	pid_t		pid;
	TimestampTz last;
	TimestampTz now = GetCurrentTimestamp();
	Datum		values[13];
	bool		nulls[13];
	Datum		reasons[8];
	int			nreasons = 0;
	int			level = 0;		/* 0 ok, 1 warning, 2 critical */
	bool		running;
	double		util;
	static const char *const levels[] = {"ok", "warning", "critical"};

	po_require_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(po_shared->lock, LW_SHARED);
	server = po_shared->server;
	LWLockRelease(po_shared->lock);
	SpinLockAcquire(&po_shared->mutex);
	pid = po_shared->worker_pid;
	last = po_shared->last_sample_at;
	SpinLockRelease(&po_shared->mutex);

	running = pid != 0;
	if (server.max_connections <= 0)
		server.max_connections = po_usable_connections();
	util = (double) server.client_connections / server.max_connections;

#define REASON(lvl, ...) \
	do { \
		if (nreasons < lengthof(reasons)) \
			reasons[nreasons++] = CStringGetTextDatum(psprintf(__VA_ARGS__)); \
		level = Max(level, (lvl)); \
	} while (0)

	if (!running)
		REASON(2, "sampler is not running");
	else if (!po_enabled)
		REASON(1, "sampling is disabled (pool_observer.enabled = off)");
	else if (!sampler_fresh(pid, last, now))
		REASON(2, "sampler has not sampled for %.1f s",
			   last == 0 ? 0.0 : (double) (now - last) / USECS_PER_SEC);

	if (util >= 0.95)
		REASON(2, "%d of %d usable connections in use",
			   server.client_connections, server.max_connections);
	else if (po_max_connections_warn > 0 &&
			 (int64) server.client_connections * 100 >
			 (int64) po_max_connections_warn * server.max_connections)
		REASON(1, "%d of %d usable connections in use (over %d%%)",
			   server.client_connections, server.max_connections,
			   po_max_connections_warn);
	if (server.saturated_pools > 0)
		REASON(1, "%d saturated pool(s)", server.saturated_pools);
	if (server.iit_over > 0)
		REASON(1, "%d session(s) idle in transaction longer than pool_observer.idle_in_transaction_threshold",
			   server.iit_over);
	if (server.slow_over > 0)
		REASON(1, "%d statement(s) running longer than pool_observer.slow_statement_threshold",
			   server.slow_over);
	if (server.long_xact_over > 0)
		REASON(1, "%d transaction(s) open longer than pool_observer.long_transaction_threshold",
			   server.long_xact_over);
	if (server.lock_wait_over > 0)
		REASON(1, "%d session(s) waiting on a lock longer than pool_observer.lock_wait_threshold",
			   server.lock_wait_over);
#undef REASON

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(levels[level]);
	values[1] = PointerGetDatum(construct_array(reasons, nreasons, TEXTOID, -1,
												false, TYPALIGN_INT));
	values[2] = Int32GetDatum(server.client_connections);
	values[3] = Int32GetDatum(server.max_connections);
	values[4] = Float8GetDatum(util);
	values[5] = Int32GetDatum(server.saturated_pools);
	values[6] = Int32GetDatum(server.iit_over);
	values[7] = Int32GetDatum(server.slow_over);
	values[8] = timestamp_or_null(last, &nulls[8]);
	values[9] = BoolGetDatum(running);
	values[10] = Int32GetDatum(server.lock_wait_over);
	values[11] = Int32GetDatum(server.long_xact_over);
	values[12] = BoolGetDatum(po_enabled);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
po_worker_1_0(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PoShared	snap;
	Datum		values[14];
	bool		nulls[14];

	po_require_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SpinLockAcquire(&po_shared->mutex);
	snap.worker_pid = po_shared->worker_pid;
	snap.worker_started_at = po_shared->worker_started_at;
	snap.worker_starts = po_shared->worker_starts;
	snap.samples = po_shared->samples;
	snap.last_sample_at = po_shared->last_sample_at;
	snap.sample_us_sum = po_shared->sample_us_sum;
	snap.sample_us_max = po_shared->sample_us_max;
	snap.sample_us_last = po_shared->sample_us_last;
	snap.events_total = po_shared->events_total;
	snap.events_dropped = po_shared->events_dropped;
	snap.history_overwritten = po_shared->history_overwritten;
	snap.actions_taken = po_shared->actions_taken;
	snap.actions_suppressed = po_shared->actions_suppressed;
	snap.conns_unattributed = po_shared->conns_unattributed;
	SpinLockRelease(&po_shared->mutex);

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int32GetDatum(snap.worker_pid);
	nulls[0] = snap.worker_pid == 0;
	values[1] = timestamp_or_null(snap.worker_started_at, &nulls[1]);
	values[2] = Int64GetDatum((int64) snap.samples);
	values[3] = timestamp_or_null(snap.last_sample_at, &nulls[3]);
	values[4] = Float8GetDatum(snap.samples > 0 ?
							   snap.sample_us_sum / snap.samples : 0.0);
	values[5] = Float8GetDatum(snap.sample_us_max);
	values[6] = Int64GetDatum((int64) snap.events_total);
	values[7] = Int64GetDatum((int64) snap.events_dropped);
	values[8] = Int64GetDatum((int64) snap.history_overwritten);
	values[9] = Int64GetDatum((int64) snap.actions_taken);
	values[10] = Int64GetDatum((int64) snap.actions_suppressed);
	values[11] = Float8GetDatum(snap.sample_us_last);
	values[12] = Int64GetDatum((int64) snap.conns_unattributed);
	values[13] = Int32GetDatum(Max(snap.worker_starts - 1, 0));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------------------------------------------------------------------
 * sample_now() and reset()
 * ---------------------------------------------------------------------
 */

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

	LWLockAcquire(po_shared->lock, LW_EXCLUSIVE);
	po_clear_data_locked();
	LWLockRelease(po_shared->lock);

	/* the sampler drops its own pools and episodes at its next sample */
	SpinLockAcquire(&po_shared->mutex);
	po_shared->reset_generation++;
	SpinLockRelease(&po_shared->mutex);
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * On-demand actions
 * ---------------------------------------------------------------------
 */

/* older_than as microseconds, or an ERROR for NULL, <= 0 or absurd. */
static int64
older_than_us(FunctionCallInfo fcinfo)
{
	Interval   *iv;
	double		secs;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("\"older_than\" must not be null"));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("\"dry_run\" must not be null"));

	iv = PG_GETARG_INTERVAL_P(0);
	secs = (double) iv->time / USECS_PER_SEC +
		(double) iv->day * SECS_PER_DAY +
		(double) iv->month * DAYS_PER_MONTH * SECS_PER_DAY;
	if (secs <= 0)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("\"older_than\" must be greater than zero"));
	if (secs > 366.0 * SECS_PER_DAY)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("\"older_than\" must be at most one year"));
	return (int64) (secs * USECS_PER_SEC);
}

/* May the current user signal this backend?  As pg_signal_backend(). */
static bool
may_signal(const PoBackend *b)
{
	if (superuser_arg(b->roleid) && !superuser())
		return false;
	if (!has_privs_of_role(GetUserId(), b->roleid) &&
		!has_privs_of_role(GetUserId(), ROLE_PG_SIGNAL_BACKEND))
		return false;
	return true;
}

/* May the current user read this backend's query?  As pg_stat_activity. */
static bool
may_read_query(const PoBackend *b)
{
	return has_privs_of_role(GetUserId(), b->roleid) ||
		has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

static Datum
act_on_demand(FunctionCallInfo fcinfo, int kind)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		min_age;
	bool		dry_run;
	PoBackend  *backends;
	int			n;
	int			i;
	TimestampTz now;
	PoSignal	sig = kind == PO_EVENT_IDLE_IN_TRANSACTION ?
		PO_SIGNAL_TERMINATE : PO_SIGNAL_CANCEL;
	const char *caller;

	po_require_loaded();
	min_age = older_than_us(fcinfo);
	dry_run = PG_GETARG_BOOL(1);
	po_init_srf(fcinfo);

	caller = GetUserNameFromId(GetUserId(), false);
	backends = palloc(sizeof(PoBackend) * MaxBackends);
	n = po_read_backends(backends, MaxBackends);
	now = GetCurrentTimestamp();

	for (i = 0; i < n; i++)
	{
		PoBackend  *b = &backends[i];
		TimestampTz since;
		PoEvent    *ev;
		bool		done = false;
		Datum		values[6];
		bool		nulls[6];

		if (b->type != B_BACKEND || b->pid == MyProcPid)
			continue;
		if (kind == PO_EVENT_IDLE_IN_TRANSACTION)
		{
			if (!po_is_idle_in_xact(b->state))
				continue;
			since = b->state_change;
		}
		else
		{
			if (b->state != STATE_RUNNING && b->state != STATE_FASTPATH)
				continue;
			since = b->query_start;
		}
		if (since == 0 || now - since < min_age || !may_signal(b))
			continue;

		ev = palloc0(sizeof(PoEvent));
		ev->kind = kind;
		po_fill_event_session(ev, b);
		if (dry_run)
			ev->action = sig == PO_SIGNAL_TERMINATE ?
				PO_ACTION_WOULD_TERMINATE : PO_ACTION_WOULD_CANCEL;
		else
		{
			done = po_signal_session(b, kind, sig);
			ev->action = !done ? PO_ACTION_FAILED :
				sig == PO_SIGNAL_TERMINATE ? PO_ACTION_TERMINATED : PO_ACTION_CANCELLED;
		}
		ev->detected_at = ev->last_seen_at = ev->ended_at = ev->action_at = now;
		ev->started_at = since;
		snprintf(ev->detail, PO_DETAIL_LEN, "on demand by %s%s", caller,
				 dry_run ? " (dry run)" : "");

		LWLockAcquire(po_shared->lock, LW_EXCLUSIVE);
		po_event_insert_locked(ev);
		LWLockRelease(po_shared->lock);
		if (done)
		{
			SpinLockAcquire(&po_shared->mutex);
			po_shared->actions_taken++;
			SpinLockRelease(&po_shared->mutex);
		}
		po_event_log(ev, "action");

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(b->pid);
		nulls[1] = !name_datum(ev->usename, &values[1]);
		values[2] = safe_text(b->appname, NAMEDATALEN);
		values[3] = interval_datum(now - since);
		if (may_read_query(b))
			values[4] = safe_text(ev->query, PO_QUERY_LEN);
		else
			values[4] = CStringGetTextDatum("<insufficient privilege>");
		values[5] = BoolGetDatum(done);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(ev);
	}
	return (Datum) 0;
}

Datum
po_terminate_idle_in_transaction_1_0(PG_FUNCTION_ARGS)
{
	return act_on_demand(fcinfo, PO_EVENT_IDLE_IN_TRANSACTION);
}

Datum
po_cancel_slow_statements_1_0(PG_FUNCTION_ARGS)
{
	return act_on_demand(fcinfo, PO_EVENT_SLOW_STATEMENT);
}
