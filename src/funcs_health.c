/*-------------------------------------------------------------------------
 *
 * funcs_health.c
 *	  SQL functions of the health and worker views.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_health.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "counters.h"
#include "funcs_util.h"
#include "guc.h"
#include "intake.h"
#include "kinds.h"
#include "outcomes.h"
#include "shmem.h"
#include "snapshot.h"

PG_FUNCTION_INFO_V1(po_health_1_0);
PG_FUNCTION_INFO_V1(po_worker_1_0);
PG_FUNCTION_INFO_V1(po_outcome_stats_1_1);

#define PO_HEALTH_COLS_V1_0		13
#define PO_WORKER_COLS_V1_0		14
#define PO_OUTCOME_STATS_COLS_V1_1	2

#define PO_MAX_REASONS			(PO_NUM_EVENT_KINDS + 7)

typedef struct PoReasons
{
	Datum		text[PO_MAX_REASONS];
	int			n;
	int			level;			/* 0 ok, 1 warning, 2 critical */
} PoReasons;

static void
add_reason(PoReasons *r, int level, const char *fmt,...) pg_attribute_printf(3, 4);

static void
add_reason(PoReasons *r, int level, const char *fmt,...)
{
	va_list		args;
	char		buf[256];

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	if (r->n < PO_MAX_REASONS)
		r->text[r->n++] = CStringGetTextDatum(buf);
	r->level = Max(r->level, level);
}

/*
 * Is the sampler alive and recent?  A stale sampler counts as stopped.  A
 * last sample in the future (more than a second, for the skew between
 * taking the time and publishing it) means the clock stepped back: the
 * sample's age is unknown, so it is not fresh either.
 */
static bool
sampler_fresh(pid_t pid, TimestampTz last, TimestampTz now)
{
	int64		limit_us = Max((int64) 5 * po_sample_interval * 1000,
							   (int64) 2 * USECS_PER_SEC);

	return pid != 0 && last != 0 && now - last <= limit_us &&
		last - now <= USECS_PER_SEC;
}

static void
sampler_reasons(PoReasons *r, pid_t pid, TimestampTz last)
{
	TimestampTz now = GetCurrentTimestamp();

	if (pid == 0)
		add_reason(r, 2, "sampler is not running");
	else if (!po_enabled)
		add_reason(r, 1, "sampling is disabled (pool_observer.enabled = off)");
	else if (last > now && !sampler_fresh(pid, last, now))
		add_reason(r, 2, "last sample is %.1f s in the future (the clock stepped back)",
				   (double) (last - now) / USECS_PER_SEC);
	else if (!sampler_fresh(pid, last, now))
		add_reason(r, 2, "sampler has not sampled for %.1f s",
				   last == 0 ? 0.0 : (double) (now - last) / USECS_PER_SEC);
}

static void
connection_reasons(PoReasons *r, const PoServerSample *server, double util)
{
	if (util >= 0.95)
		add_reason(r, 2, "%d of %d usable connections in use",
				   server->client_connections, server->max_connections);
	else if (po_max_connections_warn > 0 &&
			 (int64) server->client_connections * 100 >
			 (int64) po_max_connections_warn * server->max_connections)
		add_reason(r, 1, "%d of %d usable connections in use (over %d%%)",
				   server->client_connections, server->max_connections,
				   po_max_connections_warn);
}

/* One warning per kind with something past its threshold, in table order. */
static void
kind_reasons(PoReasons *r, const PoServerSample *server)
{
	static const int order[] = {
		PO_EVENT_POOL_SATURATED, PO_EVENT_IDLE_IN_TRANSACTION,
		PO_EVENT_SLOW_STATEMENT, PO_EVENT_LONG_TRANSACTION, PO_EVENT_LOCK_WAIT
	};
	int			i;

	for (i = 0; i < lengthof(order); i++)
	{
		const PoKindInfo *k = &po_kinds[order[i]];

		if (k->health_reason != NULL && server->over[order[i]] > 0)
			add_reason(r, 1, k->health_reason, server->over[order[i]]);
	}
}

/*
 * Which outcome kinds log_min_messages hides from emit_log_hook (it sees
 * only what goes to the server log; LOG ranks above ERROR there), or NULL.
 */
static const char *
outcomes_hidden(void)
{
	int			level = po_client_log_min_messages();

	if (level >= PANIC)
		return "every outcome kind (statement and session timeouts, cancels, terminations, refused connections, failed logins)";
	if (level == LOG || level >= FATAL)
		return "statement_timeout, lock_timeout and query_cancelled";
	return NULL;
}

/* "db/user/app" of a counters row, for a reason. */
static void
pool_label(const PoCounterRow *row, bool overflow, char *buf, Size len)
{
	const char *dat = overflow ? NULL : get_database_name(row->key.dbid);
	const char *usr = overflow ? NULL : GetUserNameFromId(row->key.roleid, true);

	if (overflow)
		snprintf(buf, len, "(other pools)");
	else
		snprintf(buf, len, "%s/%s/%s", dat ? dat : "?", usr ? usr : "?",
				 row->key.appname);
}

/*
 * Refused connections in the last minute (critical), timeouts above
 * PO_TIMEOUTS_PER_MINUTE_WARN in one pool (warning), and the
 * log_min_messages precondition (warning).
 */
static void
outcome_reasons(PoReasons *r)
{
	PoCounterRow *rows = palloc(sizeof(PoCounterRow) * po_pool_slots());
	TimestampTz now = GetCurrentTimestamp();
	int			refusing = 0,
				timing_out = 0;
	int64		refused_max = 0,
				timeouts_max = 0;
	int			refused_at = -1,
				timeouts_at = -1;
	int			slot;
	char		label[3 * NAMEDATALEN + 8];
	const char *hidden = outcomes_hidden();

	(void) po_counters_copy(rows);
	for (slot = 0; slot < po_pool_slots(); slot++)
	{
		const PoCounterRow *row = &rows[slot];
		int64		t = 0;

		if (!row->in_use)
			continue;
		if (row->last_refused_at != 0 &&
			now - row->last_refused_at < PO_COUNTERS_WINDOW_US)
		{
			refusing++;
			if (row->refused_window > refused_max)
			{
				refused_max = row->refused_window;
				refused_at = slot;
			}
		}
		if (row->timeout_window_start != 0 &&
			now - row->timeout_window_start < PO_COUNTERS_WINDOW_US)
			t = Max(row->timeouts_window, row->timeouts_prev_window);
		else if (row->timeout_window_start != 0 &&
				 now - row->timeout_window_start < 2 * PO_COUNTERS_WINDOW_US)
			t = row->timeouts_window;
		if (t > PO_TIMEOUTS_PER_MINUTE_WARN)
		{
			timing_out++;
			if (t > timeouts_max)
			{
				timeouts_max = t;
				timeouts_at = slot;
			}
		}
	}
	if (refused_at >= 0)
	{
		pool_label(&rows[refused_at], refused_at == po_overflow_slot(),
				   label, sizeof(label));
		add_reason(r, 2, "connections being refused in %d pool(s): %s (%lld in the last minute)",
				   refusing, label, (long long) refused_max);
	}
	if (timeouts_at >= 0)
	{
		pool_label(&rows[timeouts_at], timeouts_at == po_overflow_slot(),
				   label, sizeof(label));
		add_reason(r, 1, "more than %d timeouts a minute in %d pool(s): %s (%lld)",
				   PO_TIMEOUTS_PER_MINUTE_WARN, timing_out, label,
				   (long long) timeouts_max);
	}
	if (hidden != NULL)
		add_reason(r, 1, "log_min_messages = %s hides %s from pool_observer",
				   GetConfigOption("log_min_messages", false, false), hidden);
	pfree(rows);
}

/*
 * The outcome columns of the worker view (1.1): intake records dropped
 * because the ring was full, and the kinds log_min_messages hides.
 */
Datum
po_outcome_stats_1_1(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[PO_OUTCOME_STATS_COLS_V1_1];
	bool		nulls[PO_OUTCOME_STATS_COLS_V1_1];
	uint64		dropped;
	const char *hidden = outcomes_hidden();
	int			i = 0;

	po_require_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SpinLockAcquire(&po_shared->mutex);
	dropped = po_shared->outcomes_dropped;
	SpinLockRelease(&po_shared->mutex);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int64GetDatum((int64) dropped);
	nulls[i] = hidden == NULL;
	values[i++] = hidden ? CStringGetTextDatum(hidden) : (Datum) 0;
	Assert(i == PO_OUTCOME_STATS_COLS_V1_1);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
po_health_1_0(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PoServerSample server;
	pid_t		pid;
	TimestampTz last;
	Datum		values[PO_HEALTH_COLS_V1_0];
	bool		nulls[PO_HEALTH_COLS_V1_0];
	PoReasons	r;
	double		util;
	int			i = 0;
	static const char *const levels[] = {"ok", "warning", "critical"};

	po_require_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	po_snapshot_copy_server(&server);
	SpinLockAcquire(&po_shared->mutex);
	pid = po_shared->worker_pid;
	last = po_shared->last_sample_at;
	SpinLockRelease(&po_shared->mutex);

	if (server.max_connections <= 0)
		server.max_connections = po_usable_connections();
	util = (double) server.client_connections / server.max_connections;

	memset(&r, 0, sizeof(r));
	sampler_reasons(&r, pid, last);
	connection_reasons(&r, &server, util);
	kind_reasons(&r, &server);
	outcome_reasons(&r);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = CStringGetTextDatum(levels[r.level]);
	values[i++] = PointerGetDatum(construct_array(r.text, r.n, TEXTOID, -1,
												  false, TYPALIGN_INT));
	values[i++] = Int32GetDatum(server.client_connections);
	values[i++] = Int32GetDatum(server.max_connections);
	values[i++] = Float8GetDatum(util);
	values[i++] = Int32GetDatum(server.over[PO_EVENT_POOL_SATURATED]);
	values[i++] = Int32GetDatum(server.over[PO_EVENT_IDLE_IN_TRANSACTION]);
	values[i++] = Int32GetDatum(server.over[PO_EVENT_SLOW_STATEMENT]);
	values[i] = po_timestamp_or_null(last, &nulls[i]);
	i++;
	values[i++] = BoolGetDatum(pid != 0);
	values[i++] = Int32GetDatum(server.over[PO_EVENT_LOCK_WAIT]);
	values[i++] = Int32GetDatum(server.over[PO_EVENT_LONG_TRANSACTION]);
	values[i++] = BoolGetDatum(po_enabled);
	Assert(i == PO_HEALTH_COLS_V1_0);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
po_worker_1_0(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PoShared	snap;
	Datum		values[PO_WORKER_COLS_V1_0];
	bool		nulls[PO_WORKER_COLS_V1_0];
	int			i = 0;

	po_require_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SpinLockAcquire(&po_shared->mutex);
	snap = *po_shared;
	SpinLockRelease(&po_shared->mutex);

	memset(nulls, 0, sizeof(nulls));
	nulls[i] = snap.worker_pid == 0;
	values[i++] = Int32GetDatum(snap.worker_pid);
	values[i] = po_timestamp_or_null(snap.worker_started_at, &nulls[i]);
	i++;
	values[i++] = Int64GetDatum((int64) snap.samples);
	values[i] = po_timestamp_or_null(snap.last_sample_at, &nulls[i]);
	i++;
	values[i++] = Float8GetDatum(snap.samples > 0 ?
								 snap.sample_us_sum / snap.samples : 0.0);
	values[i++] = Float8GetDatum(snap.sample_us_max);
	values[i++] = Int64GetDatum((int64) snap.events_total);
	values[i++] = Int64GetDatum((int64) snap.events_dropped);
	values[i++] = Int64GetDatum((int64) snap.history_overwritten);
	values[i++] = Int64GetDatum((int64) snap.actions_taken);
	values[i++] = Int64GetDatum((int64) snap.actions_suppressed);
	values[i++] = Float8GetDatum(snap.sample_us_last);
	values[i++] = Int64GetDatum((int64) snap.conns_unattributed);
	values[i++] = Int32GetDatum(Max(snap.worker_starts - 1, 0));
	Assert(i == PO_WORKER_COLS_V1_0);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
