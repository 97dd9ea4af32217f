/*-------------------------------------------------------------------------
 *
 * funcs_advice.c
 *	  _advice_figures_1_1(window): the figures advice is built from, one
 *	  row per pool seen in the window and one for the server.
 *
 * The window's buckets are read here, newest first; advice_history.c
 * merges their pools' rows (the busy-connection distribution, the
 * refusals and timeouts) and advice_profile.c the profile rows of the same
 * buckets (each pool's top queries).  This file checks the window, says
 * what the figures cover and makes the rows.  The verdicts and the reasons
 * are made from these figures by pool_observer.advice() in SQL.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_advice.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "advice.h"
#include "funcs_util.h"
#include "guc.h"
#include "history.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(po_advice_figures_1_1);

#define PO_ADVICE_FIGURES_COLS_V1_1	29

/* The percentile advice reports as busy_p95. */
#define PO_ADVICE_PERCENTILE	0.95

/* The window, what of it was read, and the server-only figures. */
typedef struct AdviceWindow
{
	int64		win;			/* its length, microseconds */
	TimestampTz now;
	TimestampTz start;			/* now - win */
	TimestampTz first_start;	/* of the oldest bucket read */
	int			nbuckets;		/* read */
	int32		max_connections;	/* of the newest bucket */
	long		cpus;
	char	   *note;			/* NULL, or what the figures cover */
} AdviceWindow;

/*
 * The window as microseconds, or an ERROR for NULL, <= 0 or more than a
 * year.  A window longer than the history kept is not an error: the note
 * column says what the figures cover.
 */
static int64
window_us(FunctionCallInfo fcinfo)
{
	Interval   *iv;
	double		secs;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("\"window\" must not be null"));
	iv = PG_GETARG_INTERVAL_P(0);
	secs = po_interval_seconds(iv);
	if (!(secs > 0))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("\"window\" must be greater than zero"));
	if (secs > 366.0 * SECS_PER_DAY)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("\"window\" must be at most one year"),
				errdetail("History keeps %d buckets of %d s.",
						  po_history_size, po_history_interval));
	return (int64) (secs * USECS_PER_SEC);
}

/* The note column: NULL, or what the window's figures cover. */
static char *
window_note(int nbuckets, TimestampTz now, TimestampTz start,
			TimestampTz first_start, int64 win)
{
	double		secs;
	const char *covered;

	if (nbuckets == 0)
		return "no samples in the window yet";
	if (first_start <= start)
		return NULL;
	secs = (double) (now - first_start) / USECS_PER_SEC;
	if (secs < 120)
		covered = psprintf("%.0f s", secs);
	else if (secs < 7200)
		covered = psprintf("%.0f min", secs / 60);
	else
		covered = psprintf("%.1f h", secs / 3600);
	if (win > (int64) po_history_size * po_history_interval * USECS_PER_SEC)
		return psprintf("the window is longer than the history kept (%d buckets of %d s): figures cover only the last %s",
						po_history_size, po_history_interval, covered);
	return psprintf("figures cover only the last %s: history starts at %s",
					covered, timestamptz_to_str(first_start));
}

/*
 * The history buckets that overlap the window, newest first (k =
 * history_size is the current bucket), each with the profile bucket of the
 * same index.
 */
static void
read_window(AdviceState *st, AdviceWindow *w)
{
	PoHistRow  *rows = palloc(sizeof(PoHistRow) * po_pool_slots());
	int			cur = po_history_reader_start();
	int			k;

	for (k = po_history_size; k >= 1; k--)
	{
		PoBucket	bk;

		CHECK_FOR_INTERRUPTS();
		if (!po_history_copy_bucket(cur, k, &bk, rows))
		{
			/* an empty bucket: there is nothing older */
			break;
		}
		if (bk.bucket_start + bk.width_us <= w->start)
			break;
		w->nbuckets++;
		w->first_start = bk.bucket_start;
		if (w->max_connections == 0)
			w->max_connections = bk.max_connections;	/* the newest */
		po_advice_add_server_bucket(st, &bk);
		po_advice_add_history_rows(st, rows);
		po_advice_add_profile_bucket(st, (cur + k) % po_history_size, bk.seq);
	}
	pfree(rows);
}

/* The profile columns: NULL for the server and for a pool without a top. */
static int
top_datums(const AdvicePool *ap, bool is_server, Datum *values, bool *nulls,
		   int i)
{
	bool		has_top = !is_server && ap->top.query_id != 0;
	bool		has_iit = !is_server && ap->iit.query_id != 0;

	nulls[i] = !has_top;
	values[i++] = Int64GetDatum(ap->top.query_id);
	nulls[i] = !has_top || ap->top.text == (Datum) 0;
	values[i++] = ap->top.text;
	nulls[i] = !has_top || ap->profile_ms == 0;
	values[i++] = Float8GetDatum(ap->profile_ms > 0 ?
								 (double) ap->top.busy_ms / ap->profile_ms : 0.0);
	nulls[i] = !has_top || ap->top.busy_ms == 0;
	values[i++] = Float8GetDatum(ap->top.busy_ms > 0 ?
								 (double) ap->top.lock_ms / ap->top.busy_ms : 0.0);
	nulls[i] = !has_iit;
	values[i++] = Int64GetDatum(ap->iit.query_id);
	nulls[i] = !has_iit || ap->iit.text == (Datum) 0;
	values[i++] = ap->iit.text;
	return i;
}

/*
 * The columns from overflow to now: the pool's busy-count figures, then
 * those of the server alone (NULL in a pool's row) and the window's.
 */
static int
figure_datums(const AdviceState *st, const AdvicePool *ap, bool is_server,
			  const AdviceWindow *w, Datum *values, bool *nulls, int i)
{
	const AdvicePool *server = &st->server;

	values[i++] = BoolGetDatum(ap->k.overflow);
	values[i++] = TimestampTzGetDatum(w->first_start);
	values[i++] = Int64GetDatum(ap->samples);
	values[i++] = Int64GetDatum(server->samples);
	values[i++] = Int32GetDatum(ap->conn_max);
	values[i++] = Float8GetDatum(ap->samples > 0 ?
								 (double) ap->busy_sum / ap->samples : 0.0);
	values[i++] = Int32GetDatum(po_advice_percentile(ap->bins, ap->samples,
													 PO_ADVICE_PERCENTILE,
													 ap->busy_max));
	values[i++] = Int32GetDatum(ap->busy_max);
	nulls[i] = is_server;
	values[i++] = Float8GetDatum(server->samples > 0 ?
								 (double) ap->sat_samples / server->samples : 0.0);
	nulls[i] = is_server || ap->busy_sum == 0;
	values[i++] = Float8GetDatum(ap->busy_sum > 0 ?
								 (double) ap->iit_sum / ap->busy_sum : 0.0);
	values[i++] = Int64GetDatum(ap->new_conns);
	/* server only: the limit, its CPUs and its active connections */
	nulls[i] = !is_server;
	values[i++] = Int32GetDatum(w->max_connections);
	nulls[i] = !is_server || w->cpus <= 0;
	values[i++] = Int32GetDatum((int32) w->cpus);
	nulls[i] = !is_server;
	values[i++] = Int32GetDatum(po_advice_percentile(st->active_bins,
													 server->samples,
													 PO_ADVICE_PERCENTILE,
													 server->busy_max));
	nulls[i] = w->note == NULL;
	values[i++] = w->note ? CStringGetTextDatum(w->note) : (Datum) 0;
	nulls[i] = false;
	values[i++] = Int32GetDatum(w->nbuckets);
	values[i++] = TimestampTzGetDatum(w->now);
	return i;
}

/* One row: a pool's, or the server's (NULL key). */
static void
put_row(ReturnSetInfo *rsinfo, const AdviceState *st, const AdvicePool *ap,
		bool is_server, const AdviceWindow *w)
{
	Datum		values[PO_ADVICE_FIGURES_COLS_V1_1];
	bool		nulls[PO_ADVICE_FIGURES_COLS_V1_1];
	int			i = 0;

	memset(nulls, 0, sizeof(nulls));
	if (is_server)
	{
		for (; i < 4; i++)
			nulls[i] = true;
	}
	else
		i = po_pool_key_datums(&ap->k.key, ap->k.overflow, values, nulls, i);
	i = figure_datums(st, ap, is_server, w, values, nulls, i);
	/* the profile's tops, and the outcomes (the server: all pools') */
	i = top_datums(ap, is_server, values, nulls, i);
	values[i++] = Int64GetDatum(ap->refused);
	values[i++] = Int64GetDatum(ap->timeouts);
	Assert(i == PO_ADVICE_FIGURES_COLS_V1_1);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * _advice_figures_1_1(window): one row per pool seen in the buckets that
 * overlap the last "window", and one server row (NULL key).
 */
Datum
po_advice_figures_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AdviceWindow w;
	AdviceState st;
	int			p;

	memset(&w, 0, sizeof(w));
	w.win = window_us(fcinfo);
	w.now = GetCurrentTimestamp();
	w.start = w.now - w.win;
	w.cpus = sysconf(_SC_NPROCESSORS_ONLN);

	po_require_loaded();
	po_init_srf(fcinfo);

	memset(&st, 0, offsetof(AdviceState, copy));
	po_advice_history_init(&st);
	po_advice_profile_init(&st);
	read_window(&st, &w);
	po_advice_pick_tops(&st);
	po_advice_find_texts(&st);
	w.note = window_note(w.nbuckets, w.now, w.start, w.first_start, w.win);

	/* the pools, then the server row */
	for (p = 0; p < st.npools; p++)
		put_row(rsinfo, &st, st.byidx[p], false, &w);
	if (w.nbuckets > 0)
		put_row(rsinfo, &st, &st.server, true, &w);
	return (Datum) 0;
}
