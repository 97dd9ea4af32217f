/*-------------------------------------------------------------------------
 *
 * funcs_pools.c
 *	  SQL functions of the pool views: pools, pool_history, server_history;
 *	  and the client backends the sessions view shows.
 *
 * Readers copy from shared memory under the lock held shared, release it,
 * and only then form tuples, so a slow client never holds up the sampler;
 * history is copied one bucket at a time.  The C entry points carry the SQL
 * API version (_1_0); a later version with more columns gets new symbols
 * and these stay.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_pools.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

#include "counters.h"
#include "funcs_util.h"
#include "guc.h"
#include "history.h"
#include "shmem.h"
#include "snapshot.h"
#include "status.h"

PG_FUNCTION_INFO_V1(po_pools_1_0);
PG_FUNCTION_INFO_V1(po_pool_history_1_0);
PG_FUNCTION_INFO_V1(po_server_history_1_0);
PG_FUNCTION_INFO_V1(po_pool_counters_1_1);
PG_FUNCTION_INFO_V1(po_pool_history_1_1);
PG_FUNCTION_INFO_V1(po_server_history_1_1);
PG_FUNCTION_INFO_V1(po_client_backends_1_1);

#define PO_POOLS_COLS_V1_0			17
#define PO_POOL_HISTORY_COLS_V1_0	16
#define PO_SERVER_HISTORY_COLS_V1_0	10
#define PO_POOL_COUNTERS_COLS_V1_1	(4 + PO_NUM_COUNTERS + 2)
#define PO_POOL_HISTORY_COLS_V1_1	(PO_POOL_HISTORY_COLS_V1_0 + PO_NUM_HIST_OUTCOMES)
#define PO_SERVER_HISTORY_COLS_V1_1	(PO_SERVER_HISTORY_COLS_V1_0 + PO_NUM_HIST_OUTCOMES)
#define PO_CLIENT_BACKENDS_COLS_V1_1	1

Datum
po_pools_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoPool	   *pools;
	TimestampTz sampled_at;
	int			slot;

	po_require_loaded();
	po_init_srf(fcinfo);

	pools = palloc(sizeof(PoPool) * po_pool_slots());
	po_snapshot_copy_pools(pools, &sampled_at);

	for (slot = 0; slot < po_pool_slots(); slot++)
	{
		PoPool	   *p = &pools[slot];
		Datum		values[PO_POOLS_COLS_V1_0];
		bool		nulls[PO_POOLS_COLS_V1_0];
		int			busy = p->active + p->idle_in_xact;
		int			i;

		if (!p->in_use || (!p->present && p->new_conn_rate == 0.0))
			continue;
		memset(nulls, 0, sizeof(nulls));
		i = po_pool_key_datums(&p->key, slot == po_overflow_slot(), values, nulls, 0);
		values[i++] = Int32GetDatum(p->connections);
		values[i++] = Int32GetDatum(p->active);
		values[i++] = Int32GetDatum(p->idle);
		values[i++] = Int32GetDatum(p->idle_in_xact);
		values[i++] = Int32GetDatum(p->waiting);
		values[i++] = Float8GetDatum(p->connections > 0 ?
									 (double) busy / p->connections : 0.0);
		values[i] = po_timestamp_or_null(p->saturated_since, &nulls[i]);
		i++;
		nulls[i] = p->oldest_xact_start == 0;
		values[i++] = po_interval_datum(sampled_at - p->oldest_xact_start);
		nulls[i] = p->oldest_iit_start == 0;
		values[i++] = po_interval_datum(sampled_at - p->oldest_iit_start);
		nulls[i] = p->oldest_query_start == 0;
		values[i++] = po_interval_datum(sampled_at - p->oldest_query_start);
		values[i++] = Float8GetDatum(p->new_conn_rate);
		values[i++] = BoolGetDatum(slot == po_overflow_slot());
		values[i] = po_timestamp_or_null(sampled_at, &nulls[i]);
		i++;
		Assert(i == PO_POOLS_COLS_V1_0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Visit buckets oldest first.  Each bucket (and its pool rows, when rows is
 * wanted) is copied under the lock on its own, so reading the whole
 * history never holds the lock for long.
 */
typedef void (*bucket_visitor) (ReturnSetInfo *rsinfo, const PoBucket *bk,
								const PoHistRow *rows);

static void
visit_history(ReturnSetInfo *rsinfo, bool with_rows, bucket_visitor visit)
{
	PoHistRow  *rows = with_rows ? palloc(sizeof(PoHistRow) * po_pool_slots()) : NULL;
	int			cur = po_history_reader_start();
	int			k;

	for (k = 1; k <= po_history_size; k++)
	{
		PoBucket	bk;

		if (po_history_copy_bucket(cur, k, &bk, rows))
			visit(rsinfo, &bk, rows);
		CHECK_FOR_INTERRUPTS();
	}
}

static void
emit_pool_bucket_v(ReturnSetInfo *rsinfo, const PoBucket *bk,
				   const PoHistRow *rows, bool v1_1)
{
	int			slot;

	for (slot = 0; slot < po_pool_slots(); slot++)
	{
		const PoHistRow *r = &rows[slot];
		Datum		values[PO_POOL_HISTORY_COLS_V1_1];
		bool		nulls[PO_POOL_HISTORY_COLS_V1_1];
		int			i = 0;
		int			k;

		if (r->samples == 0)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[i++] = TimestampTzGetDatum(bk->bucket_start);
		i = po_pool_key_datums(&r->key, slot == po_overflow_slot(), values, nulls, i);
		values[i++] = Int32GetDatum(r->samples);
		values[i++] = Float8GetDatum((double) r->conn_sum / bk->samples);
		values[i++] = Int32GetDatum(r->conn_max);
		values[i++] = Float8GetDatum((double) r->active_sum / bk->samples);
		values[i++] = Int32GetDatum(r->active_max);
		values[i++] = Int32GetDatum(r->iit_max);
		values[i++] = Int32GetDatum(r->waiting_max);
		values[i++] = Float8GetDatum(r->util_sum / r->samples);
		values[i++] = Float8GetDatum(r->util_max);
		values[i++] = Int64GetDatum(r->new_conns);
		values[i++] = BoolGetDatum(slot == po_overflow_slot());
		Assert(i == PO_POOL_HISTORY_COLS_V1_0);
		if (v1_1)
		{
			for (k = 0; k < PO_NUM_HIST_OUTCOMES; k++)
				values[i++] = Int64GetDatum(r->outcomes[k]);
			Assert(i == PO_POOL_HISTORY_COLS_V1_1);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

static void
emit_pool_bucket(ReturnSetInfo *rsinfo, const PoBucket *bk, const PoHistRow *rows)
{
	emit_pool_bucket_v(rsinfo, bk, rows, false);
}

static void
emit_pool_bucket_1_1(ReturnSetInfo *rsinfo, const PoBucket *bk, const PoHistRow *rows)
{
	emit_pool_bucket_v(rsinfo, bk, rows, true);
}

static void
emit_server_bucket_v(ReturnSetInfo *rsinfo, const PoBucket *bk, bool v1_1)
{
	Datum		values[PO_SERVER_HISTORY_COLS_V1_1];
	bool		nulls[PO_SERVER_HISTORY_COLS_V1_1];
	int			i = 0;
	int			k;

	memset(nulls, 0, sizeof(nulls));
	values[i++] = TimestampTzGetDatum(bk->bucket_start);
	values[i++] = Int32GetDatum(bk->samples);
	values[i++] = Float8GetDatum((double) bk->conn_sum / bk->samples);
	values[i++] = Int32GetDatum(bk->conn_max);
	values[i++] = Int32GetDatum(bk->max_connections);
	values[i++] = Float8GetDatum(bk->util_max);
	values[i++] = Int32GetDatum(bk->active_max);
	values[i++] = Int32GetDatum(bk->iit_max);
	values[i++] = Int32GetDatum(bk->waiting_max);
	values[i++] = Int64GetDatum(bk->new_conns);
	Assert(i == PO_SERVER_HISTORY_COLS_V1_0);
	if (v1_1)
	{
		for (k = 0; k < PO_NUM_HIST_OUTCOMES; k++)
			values[i++] = Int64GetDatum(bk->outcomes[k]);
		Assert(i == PO_SERVER_HISTORY_COLS_V1_1);
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

static void
emit_server_bucket(ReturnSetInfo *rsinfo, const PoBucket *bk, const PoHistRow *rows)
{
	emit_server_bucket_v(rsinfo, bk, false);
}

static void
emit_server_bucket_1_1(ReturnSetInfo *rsinfo, const PoBucket *bk, const PoHistRow *rows)
{
	emit_server_bucket_v(rsinfo, bk, true);
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

Datum
po_pool_history_1_1(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	po_init_srf(fcinfo);
	visit_history((ReturnSetInfo *) fcinfo->resultinfo, true, emit_pool_bucket_1_1);
	return (Datum) 0;
}

Datum
po_server_history_1_1(PG_FUNCTION_ARGS)
{
	po_require_loaded();
	po_init_srf(fcinfo);
	visit_history((ReturnSetInfo *) fcinfo->resultinfo, false, emit_server_bucket_1_1);
	return (Datum) 0;
}

/* pool_counters: one row per pool since the start or reset(). */
Datum
po_pool_counters_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoCounterRow *rows;
	int			slot;

	po_require_loaded();
	po_init_srf(fcinfo);

	rows = palloc(sizeof(PoCounterRow) * po_pool_slots());
	(void) po_counters_copy(rows);
	for (slot = 0; slot < po_pool_slots(); slot++)
	{
		const PoCounterRow *r = &rows[slot];
		Datum		values[PO_POOL_COUNTERS_COLS_V1_1];
		bool		nulls[PO_POOL_COUNTERS_COLS_V1_1];
		int			i = 0;
		int			k;

		if (!r->in_use)
			continue;
		memset(nulls, 0, sizeof(nulls));
		i = po_pool_key_datums(&r->key, slot == po_overflow_slot(), values, nulls, i);
		for (k = 0; k < PO_NUM_COUNTERS; k++)
			values[i++] = Int64GetDatum(r->c[k]);
		values[i++] = TimestampTzGetDatum(r->since);
		values[i++] = BoolGetDatum(slot == po_overflow_slot());
		Assert(i == PO_POOL_COUNTERS_COLS_V1_1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(rows);
	return (Datum) 0;
}

/*
 * The pids of the client backends, from the status reader: the sessions
 * view filters pg_stat_activity by these, because pg_stat_activity hides
 * backend_type of another role's session from a caller that may not see
 * it.  No query text is read here.
 */
Datum
po_client_backends_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoBackend  *backends;
	int			n;
	int			b;

	po_require_loaded();
	po_init_srf_scalar(fcinfo);
	backends = palloc(sizeof(PoBackend) * MaxBackends);
	n = po_read_backends(backends, MaxBackends);
	for (b = 0; b < n; b++)
	{
		Datum		values[PO_CLIENT_BACKENDS_COLS_V1_1];
		bool		nulls[PO_CLIENT_BACKENDS_COLS_V1_1];
		int			i = 0;

		if (backends[b].type != B_BACKEND)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[i++] = Int32GetDatum(backends[b].pid);
		Assert(i == PO_CLIENT_BACKENDS_COLS_V1_1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(backends);
	return (Datum) 0;
}
