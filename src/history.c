/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Fold samples into fixed-width buckets, per pool and for the server;
 *	  copy one bucket at a time for readers.
 *
 * history_size buckets in a ring, each with one row per pool slot.  A
 * bucket is identified by its sequence number (bucket_start / width), so a
 * sample past the current bucket's end starts the next one, overwriting
 * the oldest (counted in worker.history_overwritten).
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/history.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "port/pg_bitutils.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "history.h"
#include "shmem.h"

typedef struct PoHistory
{
	int32		hist_cur;		/* current bucket, -1 when none */
} PoHistory;

static PoHistory *hist = NULL;
PoBucket   *po_buckets = NULL;
PoHistRow  *po_hist_rows = NULL;

static Size
rows_size(void)
{
	return mul_size(mul_size(sizeof(PoHistRow), po_pool_slots()),
					po_history_size);
}

Size
po_history_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(PoHistory));

	size = add_size(size, MAXALIGN(mul_size(sizeof(PoBucket), po_history_size)));
	return add_size(size, rows_size());
}

/* Caller holds AddinShmemInitLock. */
void
po_history_shmem_init(void)
{
	bool		found;
	char	   *ptr;

	ptr = ShmemInitStruct("pool_observer history", po_history_shmem_size(), &found);
	hist = (PoHistory *) ptr;
	ptr += MAXALIGN(sizeof(PoHistory));
	po_buckets = (PoBucket *) ptr;
	ptr += MAXALIGN(mul_size(sizeof(PoBucket), po_history_size));
	po_hist_rows = (PoHistRow *) ptr;
	if (!found)
		po_history_clear_locked();
}

/* Caller holds the lock exclusively, or is the postmaster. */
void
po_history_clear_locked(void)
{
	int			i;

	memset(po_hist_rows, 0, rows_size());
	for (i = 0; i < po_history_size; i++)
	{
		memset(&po_buckets[i], 0, sizeof(PoBucket));
		po_buckets[i].seq = -1;
	}
	hist->hist_cur = -1;
}

/* Caller holds the lock (either mode), or is the postmaster. */
int
po_history_current(void)
{
	return hist->hist_cur;
}

/* The bin of a busy count; see PO_BUSY_EXACT. */
int
po_busy_bin(int32 busy)
{
	int			bin;

	if (busy < PO_BUSY_EXACT)
		return Max(busy, 0);
	bin = PO_BUSY_EXACT + pg_leftmost_one_pos32((uint32) busy) - 4;
	return Min(bin, PO_BUSY_BINS - 1);
}

/* The largest busy count a bin holds. */
int32
po_busy_bin_upper(int bin)
{
	if (bin < PO_BUSY_EXACT)
		return bin;
	return (int32) ((UINT64CONST(1) << (bin - PO_BUSY_EXACT + 5)) - 1);
}

static void
fold_pool(PoHistRow *row, const PoPool *p)
{
	double		util;
	int32		busy = p->active + p->idle_in_xact;

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
	row->busy_max = Max(row->busy_max, busy);
	row->busy_sum += busy;
	row->iit_sum += p->idle_in_xact;
	row->busy_bins[po_busy_bin(busy)]++;
	if (p->connections > 0 && busy == p->connections)
		row->sat_samples++;
}

/* Add a pool's outcomes of this sample to its row and to the bucket. */
static void
fold_outcomes(PoHistRow *row, PoBucket *bk, const PoPool *p)
{
	int			k;

	if (row->samples == 0 ||
		memcmp(&row->key, &p->key, sizeof(PoPoolKey)) != 0)
	{
		memset(row, 0, sizeof(PoHistRow));
		row->key = p->key;
		/* a pool with outcomes only (refused attempts): one sample, empty */
		row->samples = 1;
	}
	for (k = 0; k < PO_NUM_HIST_OUTCOMES; k++)
	{
		row->outcomes[k] += p->out_sample[k];
		bk->outcomes[k] += p->out_sample[k];
	}
}

static bool
has_outcomes(const PoPool *p)
{
	int			k;

	for (k = 0; k < PO_NUM_HIST_OUTCOMES; k++)
		if (p->out_sample[k] > 0)
			return true;
	return false;
}

/*
 * Fold this sample into the current bucket, starting a new one when the
 * sample falls past the current bucket's end.  Returns the number of
 * buckets overwritten (0 or 1).  Caller holds the lock exclusively.
 *
 * Bucket starts only increase and buckets never overlap, whatever
 * history_interval was when each was made: a bucket keeps its own width
 * (width_us) until its end, and the next one starts at the sample's
 * aligned bucket of the current width, or at the previous bucket's end if
 * that is later (a shorter first bucket after a change of width).  A
 * sample from before the current bucket's end (the clock stepped back)
 * goes into the current bucket.
 */
uint64
po_history_fold_locked(const PoServerSample *server, int64 new_conns,
					   const PoPool *pools, int pool_high)
{
	int64		width = (int64) po_history_interval * USECS_PER_SEC;
	TimestampTz t = server->sampled_at;
	int			cur = hist->hist_cur;
	uint64		overwritten = 0;
	PoBucket   *bk;
	int			i;
	double		util;

	if (cur < 0 ||
		t >= po_buckets[cur].bucket_start + po_buckets[cur].width_us)
	{
		int64		seq = t / width;
		TimestampTz start = seq * width;
		TimestampTz end = start + width;

		if (cur >= 0)
		{
			TimestampTz prev_end = po_buckets[cur].bucket_start +
				po_buckets[cur].width_us;

			if (start < prev_end)
				start = prev_end;	/* t >= prev_end, so start <= t < end */
		}
		cur = (cur + 1) % po_history_size;
		bk = &po_buckets[cur];
		if (bk->seq != -1)
			overwritten++;
		memset(bk, 0, sizeof(PoBucket));
		bk->seq = seq;
		bk->bucket_start = start;
		bk->width_us = end - start;
		memset(po_hist_row(cur, 0), 0, sizeof(PoHistRow) * po_pool_slots());
		hist->hist_cur = cur;
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
	bk->busy_max = Max(bk->busy_max, server->active + server->idle_in_xact);
	bk->busy_sum += server->active + server->idle_in_xact;
	bk->busy_bins[po_busy_bin(server->active + server->idle_in_xact)]++;
	bk->active_bins[po_busy_bin(server->active)]++;

	for (i = po_pool_slot_first(pool_high); i < po_pool_slots();
		 i = po_pool_slot_next(i, pool_high))
	{
		const PoPool *p = &pools[i];

		if (p->in_use && p->present)
			fold_pool(po_hist_row(cur, i), p);
		if (p->in_use && has_outcomes(p))
			fold_outcomes(po_hist_row(cur, i), bk, p);
	}
	return overwritten;
}

/* The current bucket, read under the lock, for a reader to start from. */
int
po_history_reader_start(void)
{
	int			cur;

	po_lock_shared();
	cur = hist->hist_cur;
	po_unlock_shared();
	return cur;
}

/*
 * Copy the k-th bucket after "cur" (from po_history_reader_start()), so
 * k = 1 .. history_size visits the buckets oldest first, and, when rows is
 * not NULL, its po_pool_slots() pool rows.  Takes the lock shared for this
 * one bucket.  Returns false for an empty bucket.
 */
bool
po_history_copy_bucket(int cur, int k, PoBucket *bk, PoHistRow *rows)
{
	int			b;

	if (cur < 0)
		return false;
	b = (cur + k) % po_history_size;
	po_lock_shared();
	*bk = po_buckets[b];
	if (rows != NULL && bk->seq != -1)
		memcpy(rows, po_hist_row(b, 0), sizeof(PoHistRow) * po_pool_slots());
	po_unlock_shared();

	return bk->seq != -1 && bk->samples > 0;
}

/* ---------------------------------------------------------------------
 * The history section of the state file
 *
 * Payload: a PoHistorySection, then the buckets in use, oldest first, each
 * as a PoBucket, an int32 count of pool rows in use, and those rows, each
 * as an int32 slot (increasing), 4 bytes of padding and a PoHistRow.  An
 * empty history costs a few bytes however large history_size is.  History
 * of another shape (history_size, max_pools, struct sizes) is skipped with
 * a log line: its rows would belong to other pool slots.
 * ---------------------------------------------------------------------
 */
typedef struct PoHistorySection
{
	uint32		sizeof_bucket;
	uint32		sizeof_row;
	int32		history_size;
	int32		pool_slots;
	int32		nbuckets;
	int32		unused;
} PoHistorySection;

typedef struct PoHistRowHeader
{
	int32		slot;
	int32		unused;
} PoHistRowHeader;

/* The largest history section the current settings can make. */
Size
po_history_state_max_size(void)
{
	Size		per_bucket;

	per_bucket = add_size(sizeof(PoBucket) + sizeof(int32),
						  mul_size(sizeof(PoHistRowHeader) + sizeof(PoHistRow),
								   po_pool_slots()));
	return add_size(sizeof(PoHistorySection),
					mul_size(per_bucket, po_history_size));
}

static bool
bucket_in_use(const PoBucket *bk)
{
	return bk->seq != -1;
}

/* The postmaster, once every other process has exited: no lock needed. */
void
po_history_save(PoStateFile *sf)
{
	PoHistorySection hdr;
	int			cur = hist->hist_cur;
	int			k;

	memset(&hdr, 0, sizeof(hdr));
	hdr.sizeof_bucket = sizeof(PoBucket);
	hdr.sizeof_row = sizeof(PoHistRow);
	hdr.history_size = po_history_size;
	hdr.pool_slots = po_pool_slots();
	if (cur >= 0)
		for (k = 1; k <= po_history_size; k++)
			if (bucket_in_use(&po_buckets[(cur + k) % po_history_size]))
				hdr.nbuckets++;
	po_state_put(sf, &hdr, sizeof(hdr));
	if (cur < 0)
		return;

	for (k = 1; k <= po_history_size; k++)
	{
		int			b = (cur + k) % po_history_size;
		int32		nrows = 0;
		int			slot;

		if (!bucket_in_use(&po_buckets[b]))
			continue;
		for (slot = 0; slot < po_pool_slots(); slot++)
			if (po_hist_row(b, slot)->samples > 0)
				nrows++;
		po_state_put(sf, &po_buckets[b], sizeof(PoBucket));
		po_state_put(sf, &nrows, sizeof(nrows));
		for (slot = 0; slot < po_pool_slots(); slot++)
		{
			PoHistRowHeader rh;

			if (po_hist_row(b, slot)->samples <= 0)
				continue;
			memset(&rh, 0, sizeof(rh));
			rh.slot = slot;
			po_state_put(sf, &rh, sizeof(rh));
			po_state_put(sf, po_hist_row(b, slot), sizeof(PoHistRow));
		}
	}
}

static bool
valid_double(double d, double max)
{
	return !isnan(d) && d >= 0 && d <= max;
}

/* Is a saved bucket sane, and after prev (NULL for the first)? */
static bool
valid_bucket(const PoBucket *bk, const PoBucket *prev)
{
	if (bk->seq < 0 || bk->width_us <= 0 ||
		bk->width_us > (int64) 86400 * USECS_PER_SEC ||
		!IS_VALID_TIMESTAMP(bk->bucket_start) || bk->samples <= 0 ||
		bk->conn_max < 0 || bk->max_connections < 0 || bk->active_max < 0 ||
		bk->iit_max < 0 || bk->waiting_max < 0 || bk->conn_sum < 0 ||
		bk->new_conns < 0 || !valid_double(bk->util_max, 1e9))
		return false;
	return prev == NULL ||
		bk->bucket_start >= prev->bucket_start + prev->width_us;
}

static bool
valid_row(const PoHistRow *r, const PoBucket *bk)
{
	return r->samples > 0 && r->samples <= bk->samples &&
		r->conn_max >= 0 && r->active_max >= 0 && r->iit_max >= 0 &&
		r->waiting_max >= 0 && r->conn_sum >= 0 && r->active_sum >= 0 &&
		r->new_conns >= 0 &&
		valid_double(r->util_sum, r->samples * (1.0 + 1e-9)) &&
		valid_double(r->util_max, 1.0) &&
		(r->key.addr.family == 0 || r->key.addr.family == 4 ||
		 r->key.addr.family == 6) &&
		memchr(r->key.appname, '\0', NAMEDATALEN) != NULL;
}

/*
 * Restore saved history of the current shape into buckets 0 .. n-1.  The
 * postmaster, before anyone else runs, with the history cleared; on
 * PO_STATE_INVALID the caller clears it again.
 */
PoStateLoad
po_history_load(PoStateFile *sf, uint32 version)
{
	PoHistorySection hdr;
	int			b;

	if (version != PO_HISTORY_SECTION_VERSION)
		return PO_STATE_SKIPPED;
	if (!po_state_get(sf, &hdr, sizeof(hdr)))
		return PO_STATE_INVALID;
	if (hdr.sizeof_bucket != sizeof(PoBucket) ||
		hdr.sizeof_row != sizeof(PoHistRow))
		return PO_STATE_SKIPPED;
	if (hdr.history_size < PO_HISTORY_SIZE_MIN ||
		hdr.history_size > PO_HISTORY_SIZE_MAX ||
		hdr.pool_slots < 2 || hdr.pool_slots > PO_MAX_POOLS_MAX + 1 ||
		hdr.nbuckets < 0 || hdr.nbuckets > hdr.history_size)
		return PO_STATE_INVALID;
	if (hdr.history_size != po_history_size || hdr.pool_slots != po_pool_slots())
	{
		ereport(LOG,
				errmsg("pool_observer history from \"%s\" discarded", PO_STATE_FILE),
				errdetail("pool_observer.history_size or pool_observer.max_pools changed since it was saved."));
		return PO_STATE_SKIPPED;
	}

	for (b = 0; b < hdr.nbuckets; b++)
	{
		PoBucket   *bk = &po_buckets[b];
		int32		nrows;
		int32		prev_slot = -1;
		int			r;

		if (!po_state_get(sf, bk, sizeof(PoBucket)) ||
			!valid_bucket(bk, b > 0 ? &po_buckets[b - 1] : NULL) ||
			!po_state_get(sf, &nrows, sizeof(nrows)) ||
			nrows < 0 || nrows > po_pool_slots())
			return PO_STATE_INVALID;
		for (r = 0; r < nrows; r++)
		{
			PoHistRowHeader rh;
			PoHistRow  *row;

			if (!po_state_get(sf, &rh, sizeof(rh)) ||
				rh.slot <= prev_slot || rh.slot >= po_pool_slots())
				return PO_STATE_INVALID;
			prev_slot = rh.slot;
			row = po_hist_row(b, rh.slot);
			if (!po_state_get(sf, row, sizeof(PoHistRow)) || !valid_row(row, bk))
				return PO_STATE_INVALID;
		}
	}
	hist->hist_cur = hdr.nbuckets - 1;
	return PO_STATE_LOADED;
}

/* Forget whatever a load restored; the postmaster. */
void
po_history_state_clear(void)
{
	po_history_clear_locked();
}
