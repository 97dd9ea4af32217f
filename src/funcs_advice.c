/*-------------------------------------------------------------------------
 *
 * funcs_advice.c
 *	  The figures advice is built from: per pool and for the server, the
 *	  busy-connection distribution of the samples in a window, the
 *	  refusals and timeouts, and the pool's top queries in the profile.
 *
 * Only the buckets that overlap the window are read, newest first, each
 * copied under the lock on its own; the pools' rows are merged by pool key
 * (a slot may hold another pool in another bucket).  The profile rows of
 * the same bucket belong to the pool its history row names (see
 * po_profile_history_1_1()); they are summed per pool and query id, and
 * the texts of each pool's top queries are then looked up in one pass over
 * the cumulative profile.  The verdicts and the reasons are made from
 * these figures by pool_observer.advice() in SQL.
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

#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

#include "funcs_util.h"
#include "guc.h"
#include "history.h"
#include "profile.h"
#include "shmem.h"
#include "snapshot.h"

PG_FUNCTION_INFO_V1(po_advice_figures_1_1);

#define PO_ADVICE_FIGURES_COLS_V1_1	29

/* The percentile advice reports as busy_p95. */
#define PO_ADVICE_PERCENTILE	0.95

/* One pool's figures, merged over the buckets of the window. */
typedef struct AdviceKey
{
	PoPoolKey	key;
	bool		overflow;
} AdviceKey;

/* A pool's top query in the profile, and its text once found. */
typedef struct AdviceTop
{
	int64		query_id;		/* as SQL shows it: ties go to the smallest */
	uint64		busy_ms;		/* 0: none */
	uint64		lock_ms;
	Datum		text;			/* (Datum) 0 until found */
} AdviceTop;

typedef struct AdvicePool
{
	AdviceKey	k;				/* hash key: first */
	int32		idx;			/* in AdviceState.byidx */
	int64		samples;
	int64		sat_samples;
	int64		busy_sum;
	int64		iit_sum;
	int64		new_conns;
	int32		conn_max;
	int32		busy_max;
	int64		bins[PO_BUSY_BINS];
	int64		refused;
	int64		timeouts;
	/* the profile */
	bool		profiled;		/* some profile slot of the window is ours */
	uint64		profile_ms;		/* all of its busy time, 'other' included */
	AdviceTop	top;			/* most busy time */
	AdviceTop	iit;			/* most busy time idle in transaction */
} AdvicePool;

/*
 * Busy time per pool and query id, over the profile buckets of the window.
 * The key is the pool's index, not its key: one small hash per top entry.
 */
typedef struct AdviceQueryKey
{
	int32		pool;
	int32		pad;
	uint64		query_id;
} AdviceQueryKey;

typedef struct AdviceQuery
{
	AdviceQueryKey key;
	char		status;			/* simplehash */
	uint64		busy_ms;
	uint64		iit_ms;			/* idle in transaction */
	uint64		lock_ms;		/* waiting on a heavyweight lock */
} AdviceQuery;

#define SH_PREFIX			advq
#define SH_ELEMENT_TYPE		AdviceQuery
#define SH_KEY_TYPE			AdviceQueryKey
#define SH_KEY				key
#define SH_HASH_KEY(tb, k) \
	hash_combine(murmurhash32((uint32) (k).pool), \
				 hash_combine(murmurhash32((uint32) (k).query_id), \
							  murmurhash32((uint32) ((k).query_id >> 32))))
#define SH_EQUAL(tb, a, b)	((a).pool == (b).pool && (a).query_id == (b).query_id)
#define SH_SCOPE			static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* What one call gathers. */
typedef struct AdviceState
{
	HTAB	   *pools;			/* AdviceKey -> AdvicePool */
	AdvicePool **byidx;			/* by AdvicePool.idx */
	int			npools;
	int			maxpools;
	AdvicePool	server;
	int64		active_bins[PO_BUSY_BINS];
	advq_hash  *queries;
	AdvicePool **slot_pool;		/* the current bucket's pool per slot */
	PoProfileBucketCopy copy;
} AdviceState;

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

/* ---------------------------------------------------------------------
 * History: the samples and the outcomes
 * ---------------------------------------------------------------------
 */

/* The pool of a history row, created on first sight. */
static AdvicePool *
pool_of(AdviceState *st, const PoPoolKey *pkey, bool overflow)
{
	AdviceKey	key;
	AdvicePool *ap;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.key = *pkey;
	key.overflow = overflow;
	ap = hash_search(st->pools, &key, HASH_ENTER, &found);
	if (found)
		return ap;
	memset((char *) ap + sizeof(AdviceKey), 0,
		   sizeof(AdvicePool) - sizeof(AdviceKey));
	if (st->npools == st->maxpools)
	{
		st->maxpools *= 2;
		st->byidx = repalloc(st->byidx, sizeof(AdvicePool *) * st->maxpools);
	}
	ap->idx = st->npools;
	st->byidx[st->npools++] = ap;
	return ap;
}

/*
 * Merge one bucket's pool rows, and note in st->slot_pool which pool each
 * slot held in it (NULL: none).  The outcomes are pool_history's
 * refused_connections and timeouts columns, summed over the same rows.
 */
static void
add_history_rows(AdviceState *st, const PoHistRow *rows)
{
	int			slot;

	for (slot = 0; slot < po_pool_slots(); slot++)
	{
		const PoHistRow *r = &rows[slot];
		bool		overflow = slot == po_overflow_slot();
		AdvicePool *ap = st->slot_pool[slot];

		if (r->samples == 0)
		{
			st->slot_pool[slot] = NULL;
			continue;
		}
		/* most slots hold the same pool as in the bucket before */
		if (ap == NULL || ap->k.overflow != overflow ||
			memcmp(&ap->k.key, &r->key, sizeof(PoPoolKey)) != 0)
			ap = st->slot_pool[slot] = pool_of(st, &r->key, overflow);
		ap->samples += r->samples;
		ap->sat_samples += r->sat_samples;
		ap->busy_sum += r->busy_sum;
		ap->iit_sum += r->iit_sum;
		ap->new_conns += r->new_conns;
		ap->conn_max = Max(ap->conn_max, r->conn_max);
		ap->busy_max = Max(ap->busy_max, r->busy_max);
		add_bins(ap->bins, r->busy_bins);
		ap->refused += r->outcomes[PO_HO_REFUSED];
		ap->timeouts += r->outcomes[PO_HO_TIMEOUTS];
		st->server.refused += r->outcomes[PO_HO_REFUSED];
		st->server.timeouts += r->outcomes[PO_HO_TIMEOUTS];
	}
}

static void
add_server_bucket(AdviceState *st, const PoBucket *bk)
{
	st->server.samples += bk->samples;
	st->server.busy_sum += bk->busy_sum;
	st->server.conn_max = Max(st->server.conn_max, bk->conn_max);
	st->server.busy_max = Max(st->server.busy_max, bk->busy_max);
	st->server.new_conns += bk->new_conns;
	add_bins(st->server.bins, bk->busy_bins);
	add_bins(st->active_bins, bk->active_bins);
}

/* ---------------------------------------------------------------------
 * The profile: busy time per pool and query id, the tops, their texts
 * ---------------------------------------------------------------------
 */

/* One top entry of a pool's profile slot. */
static void
add_profile_entry(AdviceState *st, const AdvicePool *ap,
				  const PoProfileHistEntry *e)
{
	AdviceQueryKey key;
	AdviceQuery *q;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.pool = ap->idx;
	key.query_id = e->query_id;
	q = advq_insert(st->queries, key, &found);
	if (!found)
		q->busy_ms = q->iit_ms = q->lock_ms = 0;
	q->busy_ms += e->busy_ms;
	if (e->state == PO_PROFILE_STATE_IDLE_IN_XACT)
		q->iit_ms += e->busy_ms;
	if ((e->wait_event_info & 0xFF000000) == PG_WAIT_LOCK)
		q->lock_ms += e->busy_ms;
}

/*
 * Add profile bucket b, whose history bucket (same index) was copied with
 * identity seq into st->slot_pool.  A profile bucket of another identity
 * was overwritten since: it is skipped, as profile_history shows it
 * without a pool.  The pool's busy time is what profile_history shows for
 * it: its top entries plus the 'other' remainder.
 */
static void
add_profile_bucket(AdviceState *st, int b, int64 seq)
{
	int			nslots = po_profile_pool_slots();
	int			first;

	if (nslots != po_pool_slots() || b >= po_profile_history_size())
		return;
	for (first = 0; first < nslots; first += PO_PROFILE_SLOT_CHUNK)
	{
		PoProfileBucketCopy *copy = &st->copy;
		int			s;

		po_lock_shared();
		po_profile_copy_bucket_locked(b, first, copy);
		po_unlock_shared();
		if (copy->seq != seq)
			return;

		for (s = 0; s < copy->nslots; s++)
		{
			const PoProfileHistSlot *hs = &copy->slots[s];
			const PoProfileHistEntry *top = &copy->entries[(Size) s * copy->top];
			AdvicePool *ap = st->slot_pool[first + s];
			uint64		top_ms = 0;
			int			i;

			if (ap == NULL || hs->samples == 0)
				continue;
			for (i = 0; i < hs->nentries && i < copy->top; i++)
			{
				top_ms += top[i].busy_ms;
				if (top[i].query_id != 0)
					add_profile_entry(st, ap, &top[i]);
			}
			ap->profiled = true;
			ap->profile_ms += Max(hs->busy_ms, top_ms);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

/* Is query id a, with busy time a_ms, ahead of the current top t? */
static bool
top_before(int64 a, uint64 a_ms, const AdviceTop *t)
{
	if (a_ms != t->busy_ms)
		return a_ms > t->busy_ms;
	return a < t->query_id;
}

/*
 * Each pool's top query (most busy time, ties to the smallest query id as
 * SQL compares them) and top query idle in transaction (most such time,
 * when there is any).
 */
static void
pick_tops(AdviceState *st)
{
	advq_iterator it;
	AdviceQuery *q;

	advq_start_iterate(st->queries, &it);
	while ((q = advq_iterate(st->queries, &it)) != NULL)
	{
		AdvicePool *ap = st->byidx[q->key.pool];
		int64		id = (int64) q->key.query_id;

		if (ap->top.query_id == 0 || top_before(id, q->busy_ms, &ap->top))
		{
			ap->top.query_id = id;
			ap->top.busy_ms = q->busy_ms;
			ap->top.lock_ms = q->lock_ms;
		}
		if (q->iit_ms > 0 &&
			(ap->iit.query_id == 0 || top_before(id, q->iit_ms, &ap->iit)))
		{
			ap->iit.query_id = id;
			ap->iit.busy_ms = q->iit_ms;
		}
	}
}

/* The text of a profile entry as the profile view shows it. */
static Datum
entry_text(const PoProfileEntry *e)
{
	if (po_may_read_query_of(e->key.pool.roleid))
		return po_safe_text(e->query, PO_PROFILE_QUERY_LEN);
	return CStringGetTextDatum("<insufficient privilege>");
}

static int
cmp_query_id(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Give ap's tops the text of entry e, when e is of one of them. */
static int
take_text(AdvicePool *ap, const PoProfileEntry *e)
{
	int64		id = (int64) e->key.query_id;
	int			found = 0;

	if (ap->top.query_id == id && ap->top.text == (Datum) 0)
	{
		ap->top.text = entry_text(e);
		found++;
	}
	if (ap->iit.query_id == id && ap->iit.text == (Datum) 0)
	{
		ap->iit.text = entry_text(e);
		found++;
	}
	return found;
}

/*
 * The texts of the tops: for each, the first cumulative profile entry of
 * the same pool (for the overflow pool: of the overflow slot) and query id
 * that has one.  Entries are copied a chunk at a time; a query id no pool
 * wants costs a binary search.
 */
static void
find_texts(AdviceState *st)
{
	int64	   *wanted = palloc(sizeof(int64) * 2 * Max(st->npools, 1));
	int			nwanted = 0;
	int			missing;
	int			overflow_slot = po_profile_pool_slots() - 1;
	int			cap = po_profile_capacity();
	int			pos = 0;
	PoProfileEntry *buf;
	int			p;

	for (p = 0; p < st->npools; p++)
	{
		if (st->byidx[p]->top.query_id != 0)
			wanted[nwanted++] = st->byidx[p]->top.query_id;
		if (st->byidx[p]->iit.query_id != 0)
			wanted[nwanted++] = st->byidx[p]->iit.query_id;
	}
	missing = nwanted;
	if (nwanted == 0)
		return;
	qsort(wanted, nwanted, sizeof(int64), cmp_query_id);

	buf = palloc(sizeof(PoProfileEntry) * PO_PROFILE_CHUNK);
	while (pos < cap && missing > 0)
	{
		int			n = po_profile_read_entries(&pos, buf, PO_PROFILE_CHUNK);
		int			i;

		for (i = 0; i < n && missing > 0; i++)
		{
			const PoProfileEntry *e = &buf[i];
			int64		id = (int64) e->key.query_id;

			if (e->key.other || e->query[0] == '\0' || id == 0 ||
				bsearch(&id, wanted, nwanted, sizeof(int64), cmp_query_id) == NULL)
				continue;
			if (e->key.pool_slot == overflow_slot)
			{
				for (p = 0; p < st->npools; p++)
					if (st->byidx[p]->k.overflow)
						missing -= take_text(st->byidx[p], e);
			}
			else
			{
				AdviceKey	key;
				AdvicePool *ap;

				memset(&key, 0, sizeof(key));
				key.key = e->key.pool;
				ap = hash_search(st->pools, &key, HASH_FIND, NULL);
				if (ap != NULL)
					missing -= take_text(ap, e);
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(buf);
	pfree(wanted);
}

/* ---------------------------------------------------------------------
 * _advice_figures_1_1
 * ---------------------------------------------------------------------
 */

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
	AdviceState st;
	AdvicePool *ap;
	int32		max_connections = 0;
	int			cur;
	int			k;
	int			p;
	int			nbuckets = 0;
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char	   *note;

	po_require_loaded();
	po_init_srf(fcinfo);

	memset(&st, 0, offsetof(AdviceState, copy));
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(AdviceKey);
	ctl.entrysize = sizeof(AdvicePool);
	ctl.hcxt = CurrentMemoryContext;
	st.pools = hash_create("pool_observer advice", 64, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	st.maxpools = 64;
	st.byidx = palloc(sizeof(AdvicePool *) * st.maxpools);
	st.queries = advq_create(CurrentMemoryContext, 256, NULL);
	st.slot_pool = palloc0(sizeof(AdvicePool *) * po_pool_slots());
	rows = palloc(sizeof(PoHistRow) * po_pool_slots());
	po_profile_bucket_alloc(&st.copy);

	/* newest first (k = history_size is the current bucket), stop past start */
	cur = po_history_reader_start();
	for (k = po_history_size; k >= 1; k--)
	{
		PoBucket	bk;

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
		add_server_bucket(&st, &bk);
		add_history_rows(&st, rows);
		add_profile_bucket(&st, (cur + k) % po_history_size, bk.seq);
	}
	pick_tops(&st);
	find_texts(&st);
	note = window_note(nbuckets, now, start, first_start, win);

	/* the pools, then the server row */
	for (p = 0; p <= st.npools; p++)
	{
		Datum		values[PO_ADVICE_FIGURES_COLS_V1_1];
		bool		nulls[PO_ADVICE_FIGURES_COLS_V1_1];
		bool		is_server = p == st.npools;
		int			i = 0;

		if (is_server && nbuckets == 0)
			break;
		ap = is_server ? &st.server : st.byidx[p];
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
		values[i++] = Int64GetDatum(st.server.samples);
		values[i++] = Int32GetDatum(ap->conn_max);
		values[i++] = Float8GetDatum(ap->samples > 0 ?
									 (double) ap->busy_sum / ap->samples : 0.0);
		values[i++] = Int32GetDatum(percentile(ap->bins, ap->samples,
											   PO_ADVICE_PERCENTILE,
											   ap->busy_max));
		values[i++] = Int32GetDatum(ap->busy_max);
		nulls[i] = is_server;
		values[i++] = Float8GetDatum(st.server.samples > 0 ?
									 (double) ap->sat_samples / st.server.samples : 0.0);
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
		values[i++] = Int32GetDatum(percentile(st.active_bins, st.server.samples,
											   PO_ADVICE_PERCENTILE,
											   st.server.busy_max));
		nulls[i] = note == NULL;
		values[i++] = note ? CStringGetTextDatum(note) : (Datum) 0;
		nulls[i] = false;
		values[i++] = Int32GetDatum(nbuckets);
		values[i++] = TimestampTzGetDatum(now);
		/* the profile's tops, and the outcomes (the server: all pools') */
		i = top_datums(ap, is_server, values, nulls, i);
		values[i++] = Int64GetDatum(ap->refused);
		values[i++] = Int64GetDatum(ap->timeouts);
		Assert(i == PO_ADVICE_FIGURES_COLS_V1_1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
