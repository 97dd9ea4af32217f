/*-------------------------------------------------------------------------
 *
 * status_snapshot.c
 *	  Reading backend status through the snapshot interface: the fallback
 *	  of status.c where the status array cannot be attached, or with
 *	  pool_observer.sampling_method = pgstat.
 *
 * It uses only exported functions; it is slower than reading in place,
 * and in an ordinary backend it would replace the caller's own
 * pg_stat_activity snapshot, so status.c uses it only where it must.  The
 * snapshot has no slot numbers: PGPROC is joined on pid.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/status_snapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/proc.h"

#include "po_compat.h"
#include "status_copy.h"

/* Per-slot wait information gathered from PGPROC. */
typedef struct PoProcInfo
{
	int			pid;
	uint32		wait_event_info;
	TimestampTz lock_wait_start;
} PoProcInfo;

/* Wait information of every backend with its pid, for the snapshot path. */
static int
read_proc_info(PoProcInfo *info, int max)
{
	int			i;
	int			n = 0;
	int			nprocs = Min((int) ProcGlobal->allProcCount, MaxBackends);

	for (i = 0; i < nprocs && n < max; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		int			pid = proc->pid;

		if (pid == 0)
			continue;
		info[n].pid = pid;
		copy_proc(proc, &info[n].wait_event_info, &info[n].lock_wait_start);
		n++;
	}
	return n;
}

static int
cmp_procinfo_pid(const void *a, const void *b)
{
	int			pa = ((const PoProcInfo *) a)->pid;
	int			pb = ((const PoProcInfo *) b)->pid;

	return (pa > pb) - (pa < pb);
}

/* The snapshot path: it has no slot numbers, so PGPROC is joined on pid. */
int
po_status_read_snapshot(PoBackend *out, int max)
{
	int			nslots = MaxBackends;
	PoProcInfo *info = palloc(sizeof(PoProcInfo) * nslots);
	int			ninfo = read_proc_info(info, nslots);
	int			nb;
	int			n = 0;
	int			i;

	qsort(info, ninfo, sizeof(PoProcInfo), cmp_procinfo_pid);
	pgstat_clear_snapshot();
	nb = pgstat_fetch_stat_numbackends();
	for (i = 0; i < nb && n < max; i++)
	{
		LocalPgBackendStatus *local = po_local_beentry(i);
		PoBackend  *b = &out[n];
		PoProcInfo	key = {0};
		PoProcInfo *pi;

		if (local == NULL || local->backendStatus.st_procpid <= 0)
			continue;
		copy_status(&local->backendStatus, b);
		b->slot = -1;
		b->pool = -1;
		b->wait_event_info = 0;
		b->lock_wait_start = 0;
		b->xmin = InvalidTransactionId;
		key.pid = b->pid;
		pi = bsearch(&key, info, ninfo, sizeof(PoProcInfo), cmp_procinfo_pid);
		if (pi != NULL)
		{
			b->wait_event_info = pi->wait_event_info;
			b->lock_wait_start = pi->lock_wait_start;
		}
		n++;
	}
	pfree(info);
	return n;
}

/*
 * Read again, through the snapshot, the backend seen as "old".  Returns
 * false if the process has gone.
 */
bool
po_status_reread_snapshot(const PoBackend *old, PoBackend *cur)
{
	int			nb;
	int			i;

	pgstat_clear_snapshot();
	nb = pgstat_fetch_stat_numbackends();
	for (i = 0; i < nb; i++)
	{
		LocalPgBackendStatus *local = po_local_beentry(i);

		if (local != NULL && local->backendStatus.st_procpid == old->pid)
		{
			copy_status(&local->backendStatus, cur);
			cur->slot = -1;
			return true;
		}
	}
	return false;
}
