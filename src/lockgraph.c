/*-------------------------------------------------------------------------
 *
 * lockgraph.c
 *	  Who blocks whom, for the sessions waiting on a heavyweight lock.
 *
 * pg_blocking_pids() takes every lock manager partition lock, so the graph
 * is built only in samples that need it (detect.c decides), and from at
 * most PO_MAX_LOCK_WAITERS waiting sessions.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/lockgraph.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/fmgrprotos.h"

#include "lockgraph.h"

typedef struct PidIndex
{
	int			pid;
	int			idx;
} PidIndex;

static int
cmp_pid_index(const void *a, const void *b)
{
	int			pa = ((const PidIndex *) a)->pid;
	int			pb = ((const PidIndex *) b)->pid;

	return (pa > pb) - (pa < pb);
}

static void
add_pid(int **arr, int *n, int pid)
{
	int			i;

	for (i = 0; i < *n; i++)
		if ((*arr)[i] == pid)
			return;
	if (*n % 8 == 0)
		*arr = *n == 0 ? palloc(sizeof(int) * 8) :
			repalloc(*arr, sizeof(int) * (*n + 8));
	(*arr)[(*n)++] = pid;
}

int
po_count_lock_waiters(const PoBackend *backends, int nbackends)
{
	int			i;
	int			n = 0;

	for (i = 0; i < nbackends; i++)
		if (po_wait_is_lock(backends[i].wait_event_info))
			n++;
	return n;
}

/* Build the graph once per sample; later calls do nothing. */
void
po_lock_graph_build(PoLockGraph *g, const PoBackend *backends, int nbackends)
{
	PidIndex   *index;
	int			i;
	int			nwaiters = 0;

	if (g->built)
		return;
	g->built = true;
	g->nblockers = palloc0(sizeof(int) * Max(nbackends, 1));
	g->blockers = palloc0(sizeof(int *) * Max(nbackends, 1));
	g->nblocked = palloc0(sizeof(int) * Max(nbackends, 1));
	g->blocked = palloc0(sizeof(int *) * Max(nbackends, 1));

	index = palloc(sizeof(PidIndex) * Max(nbackends, 1));
	for (i = 0; i < nbackends; i++)
	{
		index[i].pid = backends[i].pid;
		index[i].idx = i;
	}
	qsort(index, nbackends, sizeof(PidIndex), cmp_pid_index);

	for (i = 0; i < nbackends && nwaiters < PO_MAX_LOCK_WAITERS; i++)
	{
		const PoBackend *b = &backends[i];
		ArrayType  *arr;
		int32	   *pids;
		int			n;
		int			j;

		if (!po_wait_is_lock(b->wait_event_info))
			continue;
		nwaiters++;
		arr = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids,
													 Int32GetDatum(b->pid)));
		n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
		pids = (int32 *) ARR_DATA_PTR(arr);
		for (j = 0; j < n; j++)
		{
			PidIndex	key = {0};
			PidIndex   *hit;

			add_pid(&g->blockers[i], &g->nblockers[i], pids[j]);
			key.pid = pids[j];
			hit = bsearch(&key, index, nbackends, sizeof(PidIndex),
						  cmp_pid_index);
			if (hit != NULL)
				add_pid(&g->blocked[hit->idx], &g->nblocked[hit->idx], b->pid);
		}
	}
	pfree(index);
}
