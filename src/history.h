/*-------------------------------------------------------------------------
 *
 * history.h
 *	  History buckets: per pool and for the whole server.
 *
 * Layer 1.  Guarded by po_shared->lock: the sampler folds each sample in
 * under it exclusively; readers copy one bucket at a time under it shared.
 *
 * IDENTIFICATION
 *	  src/history.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_HISTORY_H
#define PO_HISTORY_H

#include "snapshot.h"
#include "statefile.h"
#include "types.h"

/*
 * The distribution of busy connections (active + idle in transaction) per
 * sample, for advice: bin b counts the samples with b busy connections for
 * b < PO_BUSY_EXACT, and above that one bin per power of two, bin
 * PO_BUSY_EXACT + k holding 2^(k+4) .. 2^(k+5) - 1.  30 bins reach 2^18,
 * past MAX_BACKENDS, so no count is ever clamped.  A percentile that falls
 * in an exact bin is exact; in a log2 bin it is reported as the bin's upper
 * end (capped at the largest value seen), never below the true value and
 * less than twice it.  120 bytes per pool per bucket.
 */
#define PO_BUSY_EXACT		16
#define PO_BUSY_BINS		(PO_BUSY_EXACT + 14)

/* Per pool and bucket. */
typedef struct PoHistRow
{
	PoPoolKey	key;
	int32		samples;		/* 0: this pool has no data in the bucket */
	int32		conn_max;
	int32		active_max;
	int32		iit_max;
	int32		waiting_max;
	int64		conn_sum;
	int64		active_sum;
	double		util_sum;
	double		util_max;
	int64		new_conns;
	int64		outcomes[PO_NUM_HIST_OUTCOMES];	/* PoHistOutcome */
	/* advice: busy = active + idle in transaction, per sample */
	int32		busy_max;
	int32		sat_samples;	/* samples with every connection busy */
	int64		busy_sum;
	int64		iit_sum;
	int32		busy_bins[PO_BUSY_BINS];
} PoHistRow;

/* Per bucket, for the whole server, plus the bucket's identity. */
typedef struct PoBucket
{
	int64		seq;			/* first sample time / width; -1 when empty */
	TimestampTz bucket_start;
	int64		width_us;
	int32		samples;
	int32		conn_max;
	int32		max_connections;
	int32		active_max;
	int32		iit_max;
	int32		waiting_max;
	int64		conn_sum;
	double		util_max;
	int64		new_conns;
	int64		outcomes[PO_NUM_HIST_OUTCOMES];	/* summed over the pools */
	/* advice: busy and active client connections of the server, per sample */
	int32		busy_max;
	int64		busy_sum;
	int32		busy_bins[PO_BUSY_BINS];
	int32		active_bins[PO_BUSY_BINS];
} PoBucket;

/* The stored arrays, for persist.c: history_size buckets, and rows. */
extern PoBucket *po_buckets;
extern PoHistRow *po_hist_rows; /* history_size * po_pool_slots() */

#define po_hist_row(bucket, slot) \
	(&po_hist_rows[(Size) (bucket) * po_pool_slots() + (slot)])

extern Size po_history_shmem_size(void);
extern void po_history_shmem_init(void);
extern void po_history_clear_locked(void);
extern int	po_history_current(void);
extern uint64 po_history_fold_locked(const PoServerSample *server,
									 int64 new_conns, const PoPool *pools,
									 int pool_high);
extern int	po_busy_bin(int32 busy);
extern int32 po_busy_bin_upper(int bin);
extern int	po_history_reader_start(void);
extern bool po_history_copy_bucket(int cur, int k, PoBucket *bk,
								   PoHistRow *rows);

/* The history section of the state file (see persist.c). */
#define PO_HISTORY_SECTION_VERSION	2
extern Size po_history_state_max_size(void);
extern void po_history_save(PoStateFile *sf);
extern PoStateLoad po_history_load(PoStateFile *sf, uint32 version);
extern void po_history_state_clear(void);

#endif							/* PO_HISTORY_H */
