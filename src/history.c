/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Fold samples into fixed-width buckets, per pool and for the server;
 *	  copy one bucket at a time for readers.
 *
 * history_size buckets in a ring, each with one row per pool slot.  A
 * bucket is identified by its sequence number (bucket_start / width), so a
 * sample whose sequence differs from the current bucket's starts the next
 * one, overwriting the oldest (counted in worker.history_overwritten).
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/history.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bitutils.h"
#include "storage/shmem.h"

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

/* After loading saved history; the postmaster, before anyone else runs. */
void
po_history_set_current(int cur)
{
	hist->hist_cur = cur;
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

/*
 * Fold this sample into the current bucket, starting a new one when the
 * sample falls past it.  Returns the number of buckets overwritten (0 or
 * 1).  Caller holds the lock exclusively.
 */
uint64
po_history_fold_locked(const PoServerSample *server, int64 new_conns,
					   const PoPool *pools)
{
	int64		width = (int64) po_history_interval * USECS_PER_SEC;
	int64		seq = server->sampled_at / width;
	int			cur = hist->hist_cur;
	uint64		overwritten = 0;
	PoBucket   *bk;
	int			i;
	double		util;

	if (cur < 0 || po_buckets[cur].seq != seq)
	{
		cur = (cur + 1) % po_history_size;
		bk = &po_buckets[cur];
		if (bk->seq != -1)
			overwritten++;
		memset(bk, 0, sizeof(PoBucket));
		bk->seq = seq;
		bk->bucket_start = seq * width;
		bk->width_us = width;
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

	for (i = 0; i < po_pool_slots(); i++)
	{
		const PoPool *p = &pools[i];

		if (p->in_use && p->present)
			fold_pool(po_hist_row(cur, i), p);
	}
	return overwritten;
}

/* The current bucket, read under the lock, for a reader to start from. */
int
po_history_reader_start(void)
{
	int			cur;

	LWLockAcquire(po_shared->lock, LW_SHARED);
	cur = hist->hist_cur;
	LWLockRelease(po_shared->lock);
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
	LWLockAcquire(po_shared->lock, LW_SHARED);
	*bk = po_buckets[b];
	if (rows != NULL && bk->seq != -1)
		memcpy(rows, po_hist_row(b, 0), sizeof(PoHistRow) * po_pool_slots());
	LWLockRelease(po_shared->lock);

	return bk->seq != -1 && bk->samples > 0;
}
