/*-------------------------------------------------------------------------
 *
 * status.c
 *	  Read every backend's status: in place (direct) or through the
 *	  snapshot interface; read one again; read one's query text; fill an
 *	  event's session columns from one.
 *
 * The direct path reads the shared backend status array in place, one
 * entry at a time under that entry's change counter, copying only the
 * fixed-size fields it needs: no query text, no snapshot of the whole
 * array.  Wait events come from PGPROC, read without locks (a sample is an
 * instant; a value one instruction stale is as good as any).  Query text is
 * copied only on request (for a session that opens an event).
 *
 * Where the status array cannot be attached (a layout this code does not
 * know), or when pool_observer.sampling_method = pgstat, the public
 * snapshot interface is used instead; it is slower but uses only exported
 * functions.  The snapshot path is for the sampler: in an ordinary backend
 * it would replace the caller's own pg_stat_activity snapshot.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/status.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "guc.h"
#include "status.h"
#include "status_copy.h"

StaticAssertDecl(offsetof(PoBackend, query_id) == 64,
				 "what every sample reads of a PoBackend fills its first 64 bytes");

/*
 * How many status slots ahead read_in_place() starts loading a slot's
 * lines (status entry, PoBackend, PGPROC wait event and waitStart): the
 * loads of a scan
 * are independent cache misses, lines other processes write, and started
 * early they overlap rather than queue.
 */
#define PO_PREFETCH_AHEAD	8

/* The shared backend status array, when attached. */
static PgBackendStatus *status_array = NULL;

/*
 * Attach to the server's backend status array.  It is created before any
 * extension's shared memory, so it is always found; a size mismatch (a
 * layout this code does not know) raises an ERROR, which we turn into a
 * fallback to the snapshot interface.
 */
bool
po_status_attach(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = false;

	PG_TRY();
	{
		bool		found;
		PgBackendStatus *arr;

		arr = ShmemInitStruct("Backend Status Array",
							  mul_size(sizeof(PgBackendStatus),
									   po_num_status_slots()),
							  &found);
		if (found)
		{
			status_array = arr;
			ok = true;
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		status_array = NULL;
	}
	PG_END_TRY();

	return ok;
}

static bool attach_tried = false;

/*
 * Read the status array in place?  The sampler does unless
 * sampling_method = pgstat.  An ordinary backend (the on-demand functions)
 * always does, attaching on first use: the snapshot interface would
 * replace the caller's own pg_stat_activity snapshot (with
 * stats_fetch_consistency = snapshot, a transaction would see
 * pg_stat_activity change under it).  Only if the array cannot be attached
 * does a backend fall back to the snapshot.
 */
static inline bool
use_direct(void)
{
	bool		sampler = MyBackendType == B_BG_WORKER;

	if (status_array == NULL && !attach_tried && !sampler)
	{
		attach_tried = true;
		(void) po_status_attach();
	}
	return status_array != NULL &&
		(po_sampling_method == PO_SAMPLING_DIRECT || !sampler);
}

/*
 * Read one entry of the shared status array consistently.  Returns false if
 * the slot is unused.  The retry loop is bounded: an entry that keeps
 * changing under us is skipped for this sample.  b must hold the slot's
 * last consistent copy, or have pid 0 (then everything is read).
 */
static bool
read_status_slot_cc(int slot, PoBackend *b, int *cc)
{
	volatile PgBackendStatus *be = &status_array[slot];
	int			attempt;

	/*
	 * The backend b held at its last consistent read (pid 0 if none): if
	 * the entry still belongs to it (same pid, same start), its address is
	 * kept.  Once an attempt has copied the address it is copied again in
	 * every later one, so a torn attempt cannot leave another's address.
	 */
	int			old_pid = b->pid;
	TimestampTz old_start = b->backend_start;
	bool		addr_copied = false;

	for (attempt = 0; attempt < 100; attempt++)
	{
		int			before;
		int			after;
		bool		valid;

		pgstat_begin_read_activity(be, before);
		valid = be->st_procpid > 0;
		if (valid)
		{
			bool		same = !addr_copied && old_pid > 0 &&
				be->st_procpid == old_pid &&
				be->st_proc_start_timestamp == old_start;

			copy_status_fields(be, b, same);
			addr_copied |= !same;
		}
		pgstat_end_read_activity(be, after);

		if (pgstat_read_activity_complete(before, after))
		{
			b->slot = slot;
			if (valid)
				b->changecount = before;
			*cc = before;
			return valid;
		}
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/*
 * The last consistent copy of each status slot and the change count it was
 * read at: an entry whose count has not moved has not changed, so a steady
 * (idle) backend costs one cache line of the status array.
 */
static PoBackend *slot_copy = NULL;
static int *slot_cc = NULL;

/*
 * Whether each slot_copy entry holds a backend (its pid > 0), and the
 * slots that do, in order: a sample touches an empty slot's status entry,
 * not its slot_copy entry, and the steps after the read walk the list.
 */
static uint8 *slot_live = NULL;
static int *live_list = NULL;
static int	nlive = 0;

/*
 * The PGPROC of each status slot, remembered across samples so that a
 * steady server costs one PGPROC read per backend rather than a scan of
 * every PGPROC.  An entry is trusted only while its pid matches; any miss
 * rebuilds the whole map with one scan.
 */
static PGPROC **proc_of_slot = NULL;

static void
rebuild_proc_map(void)
{
	int			i;
	int			nprocs = Min((int) ProcGlobal->allProcCount, MaxBackends);

	if (proc_of_slot == NULL)
		proc_of_slot = MemoryContextAlloc(TopMemoryContext,
										  sizeof(PGPROC *) * MaxBackends);
	memset(proc_of_slot, 0, sizeof(PGPROC *) * MaxBackends);
	for (i = 0; i < nprocs; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		int			slot;

		if (proc->pid == 0)
			continue;
		slot = po_status_slot_of_proc(proc, i);
		if (slot >= 0 && slot < MaxBackends)
			proc_of_slot[slot] = proc;
	}
}

static inline PGPROC *
proc_for(const PoBackend *b, bool *rebuilt)
{
	PGPROC	   *proc = proc_of_slot ? proc_of_slot[b->slot] : NULL;

	if ((proc == NULL || proc->pid != b->pid) && !*rebuilt)
	{
		rebuild_proc_map();
		*rebuilt = true;
		proc = proc_of_slot[b->slot];
	}
	return (proc != NULL && proc->pid == b->pid) ? proc : NULL;
}

/*
 * The PGPROC of each status slot whose pid matched at the change count in
 * slot_cc: while the count does not move the slot holds the same backend
 * (a backend's status entry is cleared, moving the count, before its
 * PGPROC is released), so its PGPROC need not be checked again.  NULL
 * where not checked since the count last moved.
 */
static PGPROC **proc_checked = NULL;

/*
 * Fill the PGPROC fields of b for read_in_place(): wait event and lock wait
 * start; the pid is checked once per change of the status entry.  An idle
 * backend waits on its client: nothing to read.  Touches only the first 64
 * bytes of b (xmin is read only by po_read_xmin()).
 */
static inline void
join_proc(PoBackend *b, PGPROC **checked, bool *rebuilt)
{
	PGPROC	   *proc = checked[b->slot];

	b->pool = -1;
	if (proc == NULL)
	{
		b->wait_event_info = 0;
		b->lock_wait_start = 0;
		if (b->state == STATE_IDLE)
			return;
		proc = proc_for(b, rebuilt);
		if (proc == NULL)
			return;
		checked[b->slot] = proc;
	}
	copy_proc(proc, &b->wait_event_info, &b->lock_wait_start);
}

/* An entry of slot_copy for a status slot with no backend this sample. */
static void
mark_empty(PoBackend *b, int slot)
{
	memset(b, 0, sizeof(PoBackend));
	b->slot = slot;
	b->type = B_INVALID;
	b->pool = -1;
	b->changecount = -1;
}

/* Allocate read_in_place()'s per-slot arrays: every slot empty. */
static void
alloc_slots(int nslots)
{
	int			i;

	slot_copy = MemoryContextAlloc(TopMemoryContext, sizeof(PoBackend) * nslots);
	for (i = 0; i < nslots; i++)
		mark_empty(&slot_copy[i], i);
	slot_cc = MemoryContextAlloc(TopMemoryContext, sizeof(int) * nslots);
	memset(slot_cc, 0xff, sizeof(int) * nslots);	/* -1: odd, never matches */
	proc_checked = MemoryContextAllocZero(TopMemoryContext,
										  sizeof(PGPROC *) * nslots);
	slot_live = MemoryContextAllocZero(TopMemoryContext, nslots);
	live_list = MemoryContextAlloc(TopMemoryContext, sizeof(int) * nslots);
}

/*
 * The direct path, in place: slot_copy, one entry per status slot, is
 * brought up to date and is the result (an empty slot has pid 0 and type
 * B_INVALID).  A status entry whose change count has not moved since the
 * last sample has not changed, so its entry is kept as it is, and only
 * the PGPROC fields of a backend that is not idle are read again.
 */
static int
read_in_place(PoBackend **result)
{
	int			nslots = MaxBackends;
	bool		rebuilt = false;
	int			n = 0;
	int			i;

	/*
	 * The arrays in locals: pg_read_barrier() is a compiler barrier too, and
	 * would make every global be loaded again for every slot.
	 */
	volatile PgBackendStatus *arr = status_array;
	PoBackend  *copy;
	int		   *ccs;
	PGPROC	  **checked;
	uint8	   *live;
	int		   *list;

	if (slot_copy == NULL)
		alloc_slots(nslots);
	copy = slot_copy;
	ccs = slot_cc;
	checked = proc_checked;
	live = slot_live;
	list = live_list;
	for (i = 0; i < nslots; i++)
	{
		PoBackend  *b = &copy[i];
		int			cc;

		/* independent cache misses: start a later slot's, to overlap them */
		if (i + PO_PREFETCH_AHEAD < nslots)
		{
			int			j = i + PO_PREFETCH_AHEAD;

			po_prefetch((const void *) &arr[j].st_changecount);
			if (live[j])
			{
				po_prefetch(&copy[j]);
				if (checked[j] != NULL)
				{
					po_prefetch(&checked[j]->wait_event_info);
					po_prefetch(&checked[j]->waitStart);
				}
			}
		}
		cc = arr[i].st_changecount;
		pg_read_barrier();
		if (cc == ccs[i] && (cc & 1) == 0)
		{
			if (!live[i])
				continue;
		}
		else
		{
			bool		valid;

			b->slot = -1;		/* set only by a consistent read */
			valid = read_status_slot_cc(i, b, &cc);
			ccs[i] = -1;
			checked[i] = NULL;
			live[i] = valid;
			if (!valid)
			{
				/* a consistent read of an empty slot is kept as such */
				if (b->slot == i)
					ccs[i] = cc;
				mark_empty(b, i);
				continue;
			}
			ccs[i] = cc;
		}
		join_proc(b, checked, &rebuilt);
		list[n++] = i;
	}
	nlive = n;
	*result = copy;
	return nslots;
}

/* The direct path for out[]: the backends of read_in_place(), compacted. */
static int
read_direct(PoBackend *out, int max)
{
	PoBackend  *all;
	int			nall = read_in_place(&all);
	int			n = 0;
	int			i;

	for (i = 0; i < nall && n < max; i++)
		if (all[i].pid > 0)
			out[n++] = all[i];
	return n;
}

/*
 * Read every backend into out[] (at most max entries).  Returns the count.
 * Wait information is joined from PGPROC.
 */
int
po_read_backends(PoBackend *out, int max)
{
	return use_direct() ? read_direct(out, max) : po_status_read_snapshot(out, max);
}

/*
 * The sampler's read: *backends is set to an array of the returned count,
 * *live to the indexes in it of the entries with a backend (*nlive of
 * them, in order).  On the direct path it is one entry per status slot,
 * read in place, and a slot without a backend has pid 0 and type
 * B_INVALID; on the snapshot path it is every backend, in buf (MaxBackends
 * entries).
 */
int
po_sample_backends(PoBackend **backends, PoBackend *buf,
				   const int **live, int *nlive_out)
{
	int			n;
	int			i;

	if (use_direct())
	{
		n = read_in_place(backends);
		*live = live_list;
		*nlive_out = nlive;
		return n;
	}
	*backends = buf;
	n = po_status_read_snapshot(buf, MaxBackends);
	if (live_list == NULL)
		live_list = MemoryContextAlloc(TopMemoryContext,
									   sizeof(int) * MaxBackends);
	for (i = 0; i < n; i++)
		live_list[i] = i;
	*live = live_list;
	*nlive_out = n;
	return n;
}

/*
 * Fill b->xmin, the oldest transaction its snapshot holds back (vacuum's
 * horizon), from its PGPROC; InvalidTransactionId when it holds none or
 * has gone.  Not read by every sample: only an event's detail needs it.
 */
void
po_read_xmin(PoBackend *b)
{
	PGPROC	   *proc = NULL;
	bool		rebuilt = false;

	b->xmin = InvalidTransactionId;
	if (b->pid <= 0)
		return;
	if (b->slot >= 0 && b->slot < MaxBackends)
		proc = proc_for(b, &rebuilt);
	else
	{
		int			nprocs = Min((int) ProcGlobal->allProcCount, MaxBackends);
		int			i;

		for (i = 0; i < nprocs && proc == NULL; i++)
			if (ProcGlobal->allProcs[i].pid == b->pid)
				proc = &ProcGlobal->allProcs[i];
	}
	if (proc != NULL && proc->pid == b->pid)
		b->xmin = *((volatile TransactionId *) &proc->xmin);
}

/* Does the sampler read the status array in place? */
bool
po_status_direct(void)
{
	return use_direct();
}

/*
 * Read again the backend seen as "old", just before acting on it.  Returns
 * false if the process has gone.  The caller compares start times.
 */
bool
po_reread_backend(const PoBackend *old, PoBackend *cur)
{
	int			cc;

	if (use_direct() && old->slot >= 0)
		return read_status_slot_cc(old->slot, cur, &cc) && cur->pid == old->pid;
	return po_status_reread_snapshot(old, cur);
}

/*
 * Copy the current query text of a backend, bounded by len; no more than
 * len bytes are read however large track_activity_query_size is.  The text
 * is in the backend's database encoding and may end inside a multibyte
 * character: readers clip it in their own encoding.
 */
void
po_read_query(const PoBackend *be, char *buf, Size len)
{
	buf[0] = '\0';
	if (use_direct() && be->slot >= 0)
	{
		volatile PgBackendStatus *st = &status_array[be->slot];
		int			attempt;

		for (attempt = 0; attempt < 100; attempt++)
		{
			int			before;
			int			after;
			bool		same;

			pgstat_begin_read_activity(st, before);
			same = st->st_procpid == be->pid;
			if (same)
			{
				const char *raw = (const char *) st->st_activity_raw;
				Size		n = strnlen(raw, len - 1);

				memcpy(buf, raw, n);
				buf[n] = '\0';
			}
			pgstat_end_read_activity(st, after);
			if (pgstat_read_activity_complete(before, after))
			{
				if (!same)
					buf[0] = '\0';
				return;
			}
			CHECK_FOR_INTERRUPTS();
		}
		buf[0] = '\0';
	}
	else
	{
		const char *act = pgstat_get_backend_current_activity(be->pid, false);

		/*
		 * Its placeholders are not query text: a session with
		 * track_activities = off has none ("<command string not enabled>"),
		 * one that is gone has none either.  (The direct path copies
		 * st_activity_raw, which is simply empty then.)
		 */
		if (act != NULL && act[0] != '\0' &&
			strcmp(act, "<command string not enabled>") != 0 &&
			strcmp(act, "<backend information not available>") != 0 &&
			strcmp(act, "<insufficient privilege>") != 0)
			strlcpy(buf, act, len);
	}
}

/*
 * Fill the session columns of an event from one backend: its names (from
 * the catalog cache) and its query text.
 */
void
po_fill_event_session(PoEvent *ev, const PoBackend *be)
{
	const char *dat = po_database_name(be->dbid);
	const char *usr = po_role_name(be->roleid);

	ev->pid = be->pid;
	ev->backend_start = be->backend_start;
	ev->query_id = be->query_id;
	ev->roleid = be->roleid;
	ev->addr = be->addr;
	strlcpy(ev->datname, dat ? dat : "", NAMEDATALEN);
	strlcpy(ev->usename, usr ? usr : "", NAMEDATALEN);
	strlcpy(ev->appname, be->appname, NAMEDATALEN);
	po_read_query(be, ev->query, PO_QUERY_LEN);
}
