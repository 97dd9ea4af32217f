/*-------------------------------------------------------------------------
 *
 * funcs_advice.c
 *	  The figures advice is built from: per pool and for the server, the
 *	  busy-connection distribution of the samples in a window.
 *
 * Only the buckets that overlap the window are read, newest first, each
 * copied under the lock on its own; the pools' rows are merged by pool key
 * (a slot may hold another pool in another bucket).  The verdicts and the
 * reasons are made from these figures by pool_observer.advice() in SQL.
 *
 * Percentiles are nearest-rank over the merged bins (see PO_BUSY_EXACT in
 * history.h): exact below PO_BUSY_EXACT busy connections, otherwise the
 * upper end of a power-of-two bin capped at the largest value seen.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_advice.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "funcs_util.h"
#include "guc.h"
#include "history.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(po_advice_figures_1_1);

#define PO_ADVICE_FIGURES_COLS_V1_1	21

/* The percentile advice reports as busy_p95. */
#define PO_ADVICE_PERCENTILE	0.95

/* One pool's figures, merged over the buckets of the window. */
typedef struct AdviceKey
{
	PoPoolKey	key;
	bool		overflow;
} AdviceKey;

typedef struct AdvicePool
{
	AdviceKey	k;				/* hash key: first */
	int64		samples;
	int64		sat_samples;
	int64		busy_sum;
	int64		iit_sum;
	int64		new_conns;
	int32		conn_max;
	int32		busy_max;
	int64		bins[PO_BUSY_BINS];
} AdvicePool;

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

/* Nearest-rank percentile q of n samples in bins, capped at max. */
static int32
percentile(const int64 *bins, int64 n, double q, int32 max)
{
	int64		rank = (int64) ceil(q * n);
	int64		seen = 0;
	int			b;

	if (n <= 0)
		return 0;
	rank = Max(rank, 1);
	for (b = 0; b < PO_BUSY_BINS; b++)
	{
		seen += bins[b];
		if (seen >= rank)
			return Min(po_busy_bin_upper(b), max);
	}
	return max;
}

static void
add_bins(int64 *to, const int32 *from)
{
	int			b;

	for (b = 0; b < PO_BUSY_BINS; b++)
		to[b] += from[b];
}

/*
 * _advice_figures_1_1(window): one row per pool seen in the buckets that
 * overlap the last "window", and one server row (NULL key).
 */
Datum
po_advice_figures_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		win = window_us(fcinfo);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz start = now - win;
	TimestampTz first_start = 0;
	PoHistRow  *rows;
	HASHCTL		ctl;
	HTAB	   *pools;
	HASH_SEQ_STATUS seq;
	AdvicePool *ap;
	AdvicePool	server;
	int32		max_connections = 0;
	int64		active_bins[PO_BUSY_BINS];
	int			cur;
	int			k;
	int			nbuckets = 0;
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char	   *note = NULL;

	po_require_loaded();
	po_init_srf(fcinfo);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(AdviceKey);
	ctl.entrysize = sizeof(AdvicePool);
	ctl.hcxt = CurrentMemoryContext;
	pools = hash_create("pool_observer advice", 64, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&server, 0, sizeof(server));
	memset(active_bins, 0, sizeof(active_bins));
	rows = palloc(sizeof(PoHistRow) * po_pool_slots());

	/* newest first (k = history_size is the current bucket), stop past start */
	cur = po_history_reader_start();
	for (k = po_history_size; k >= 1; k--)
	{
		PoBucket	bk;
		int			slot;

		CHECK_FOR_INTERRUPTS();
		if (!po_history_copy_bucket(cur, k, &bk, rows))
		{
			/* an empty bucket: there is nothing older */
			break;
		}
		if (bk.bucket_start + bk.width_us <= start)
			break;
		nbuckets++;
		first_start = bk.bucket_start;
		if (max_connections == 0)
			max_connections = bk.max_connections;	/* the newest */

		server.samples += bk.samples;
		server.busy_sum += bk.busy_sum;
		server.conn_max = Max(server.conn_max, bk.conn_max);
		server.busy_max = Max(server.busy_max, bk.busy_max);
		server.new_conns += bk.new_conns;
		add_bins(server.bins, bk.busy_bins);
		add_bins(active_bins, bk.active_bins);

		for (slot = 0; slot < po_pool_slots(); slot++)
		{
			const PoHistRow *r = &rows[slot];
			AdviceKey	key;
			bool		found;

			if (r->samples == 0)
				continue;
			memset(&key, 0, sizeof(key));
			key.key = r->key;
			key.overflow = slot == po_overflow_slot();
			ap = hash_search(pools, &key, HASH_ENTER, &found);
			if (!found)
				memset((char *) ap + sizeof(AdviceKey), 0,
					   sizeof(AdvicePool) - sizeof(AdviceKey));
			ap->samples += r->samples;
			ap->sat_samples += r->sat_samples;
			ap->busy_sum += r->busy_sum;
			ap->iit_sum += r->iit_sum;
			ap->new_conns += r->new_conns;
			ap->conn_max = Max(ap->conn_max, r->conn_max);
			ap->busy_max = Max(ap->busy_max, r->busy_max);
			add_bins(ap->bins, r->busy_bins);
		}
	}

	if (nbuckets == 0)
		note = "no samples in the window yet";
	else if (first_start > start)
	{
		double		secs = (double) (now - first_start) / USECS_PER_SEC;
		const char *covered;

		if (secs < 120)
			covered = psprintf("%.0f s", secs);
		else if (secs < 7200)
			covered = psprintf("%.0f min", secs / 60);
		else
			covered = psprintf("%.1f h", secs / 3600);
		if (win > (int64) po_history_size * po_history_interval * USECS_PER_SEC)
			note = psprintf("the window is longer than the history kept (%d buckets of %d s): figures cover only the last %s",
							po_history_size, po_history_interval, covered);
		else
			note = psprintf("figures cover only the last %s: history starts at %s",
							covered, timestamptz_to_str(first_start));
	}

	/* the pools, then the server row */
	hash_seq_init(&seq, pools);
	for (;;)
	{
		Datum		values[PO_ADVICE_FIGURES_COLS_V1_1];
		bool		nulls[PO_ADVICE_FIGURES_COLS_V1_1];
		bool		is_server;
		int			i = 0;

		ap = hash_seq_search(&seq);
		is_server = ap == NULL;
		if (is_server)
		{
			if (nbuckets == 0)
				break;
			ap = &server;
		}
		memset(nulls, 0, sizeof(nulls));
		if (is_server)
		{
			for (; i < 4; i++)
				nulls[i] = true;
		}
		else
			i = po_pool_key_datums(&ap->k.key, ap->k.overflow, values, nulls, i);
		values[i++] = BoolGetDatum(ap->k.overflow);
		values[i++] = TimestampTzGetDatum(first_start);
		values[i++] = Int64GetDatum(ap->samples);
		values[i++] = Int64GetDatum(server.samples);
		values[i++] = Int32GetDatum(ap->conn_max);
		values[i++] = Float8GetDatum(ap->samples > 0 ?
									 (double) ap->busy_sum / ap->samples : 0.0);
		values[i++] = Int32GetDatum(percentile(ap->bins, ap->samples,
											   PO_ADVICE_PERCENTILE,
											   ap->busy_max));
		values[i++] = Int32GetDatum(ap->busy_max);
		nulls[i] = is_server;
		values[i++] = Float8GetDatum(server.samples > 0 ?
									 (double) ap->sat_samples / server.samples : 0.0);
		nulls[i] = is_server || ap->busy_sum == 0;
		values[i++] = Float8GetDatum(ap->busy_sum > 0 ?
									 (double) ap->iit_sum / ap->busy_sum : 0.0);
		values[i++] = Int64GetDatum(ap->new_conns);
		/* server only: the limit, its CPUs and its active connections */
		nulls[i] = !is_server;
		values[i++] = Int32GetDatum(max_connections);
		nulls[i] = !is_server || cpus <= 0;
		values[i++] = Int32GetDatum((int32) cpus);
		nulls[i] = !is_server;
		values[i++] = Int32GetDatum(percentile(active_bins, server.samples,
											   PO_ADVICE_PERCENTILE,
											   server.busy_max));
		nulls[i] = note == NULL;
		values[i++] = note ? CStringGetTextDatum(note) : (Datum) 0;
		nulls[i] = false;
		values[i++] = Int32GetDatum(nbuckets);
		values[i++] = TimestampTzGetDatum(now);
		Assert(i == PO_ADVICE_FIGURES_COLS_V1_1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if (is_server)
			break;
	}
	return (Datum) 0;
}
