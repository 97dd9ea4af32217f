/*-------------------------------------------------------------------------
 *
 * pending.c
 *	  New connections waiting for the sample that attributes them.
 *
 * The client authentication hook reports each connection through intake;
 * the sampler keeps it here, keyed by pid, until a sample finds its session
 * (po_pending_claim()), PostgreSQL refuses it (po_pending_forget()), or its
 * process is gone or it waited too long (po_pending_expire_next()).  This
 * file only keeps the table: counting a connection in a pool is pools.c's,
 * which gets back each entry it must count, so nothing here calls upward.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/pending.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include <signal.h>

#include "pending.h"

/* At most this many wait; beyond it the oldest is counted at once. */
#define PO_PENDING_MAX		(4 * PO_INTAKE_RING_SIZE)
/* A still-running process not seen in this many samples: counted anyway. */
#define PO_PENDING_MAX_SAMPLES	50

static HTAB *pending = NULL;

static void
ensure_pending(void)
{
	HASHCTL		ctl;

	if (pending != NULL)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(PoPendingConn);
	ctl.hcxt = TopMemoryContext;
	pending = hash_create("pool_observer pending connections", 256, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Forget every waiting connection (after reset()). */
void
po_pending_reset(void)
{
	if (pending != NULL)
		hash_destroy(pending);
	pending = NULL;
}

/*
 * Whether any connection waits.  While a sample is counted entries only
 * leave the table: once none, none for the rest of that sample.
 */
bool
po_pending_any(void)
{
	ensure_pending();
	return hash_get_num_entries(pending) > 0;
}

/*
 * A client authenticated: wait for its first sample.  Returns true when
 * the caller must count *displaced in its startup packet's pool at once:
 * this connection when the table is full, or the earlier session of a
 * reused pid, which ended unsampled.
 */
bool
po_pending_add(const PoIntakeRecord *rec, PoPendingConn *displaced)
{
	PoPendingConn *pc;
	bool		found;
	int32		pid = rec->pid;

	ensure_pending();
	if (hash_get_num_entries(pending) >= PO_PENDING_MAX)
	{
		/* bounded: this one is counted in its startup pool at once */
		memset(displaced, 0, sizeof(PoPendingConn));
		displaced->addr = rec->addr;
		strlcpy(displaced->datname, rec->datname, NAMEDATALEN);
		strlcpy(displaced->usename, rec->usename, NAMEDATALEN);
		strlcpy(displaced->appname, rec->appname, NAMEDATALEN);
		return true;
	}
	pc = hash_search(pending, &pid, HASH_ENTER, &found);
	if (found)
		*displaced = *pc;		/* the pid was reused */
	pc->pid = pid;
	pc->backend_start = rec->backend_start;
	pc->addr = rec->addr;
	pc->gone = false;
	pc->samples = 0;
	strlcpy(pc->datname, rec->datname, NAMEDATALEN);
	strlcpy(pc->usename, rec->usename, NAMEDATALEN);
	strlcpy(pc->appname, rec->appname, NAMEDATALEN);
	return found;
}

/*
 * PostgreSQL refused this process after it authenticated: it is not a new
 * connection.  Returns true when a waiting connection was dropped.
 */
bool
po_pending_forget(int pid, TimestampTz backend_start)
{
	PoPendingConn *pc;
	int32		key = pid;

	ensure_pending();
	pc = hash_search(pending, &key, HASH_FIND, NULL);
	if (pc == NULL ||
		(backend_start != 0 && pc->backend_start != backend_start))
		return false;
	hash_search(pending, &key, HASH_REMOVE, NULL);
	return true;
}

/*
 * Between the two drains of a sample: note which waiting connections'
 * processes have exited.  A process writes its refusal before it exits, so
 * a refusal of a process found gone here is in the second drain at the
 * latest.
 */
void
po_pending_probe(void)
{
	HASH_SEQ_STATUS seq;
	PoPendingConn *pc;

	ensure_pending();
	if (hash_get_num_entries(pending) == 0)
		return;
	hash_seq_init(&seq, pending);
	while ((pc = hash_seq_search(&seq)) != NULL)
		pc->gone = kill(pc->pid, 0) != 0 && errno == ESRCH;
}

/*
 * A sampled session: if it is the waiting connection of its pid, it leaves
 * the table and the caller counts it in the pool it was sampled in.
 */
bool
po_pending_claim(int pid, TimestampTz backend_start)
{
	PoPendingConn *pc;
	int32		key = pid;

	if (pending == NULL)
		return false;
	pc = hash_search(pending, &key, HASH_FIND, NULL);
	if (pc == NULL || pc->backend_start != backend_start)
		return false;
	hash_search(pending, &key, HASH_REMOVE, NULL);
	return true;
}

/*
 * After the sampled sessions are counted, the connections that ended
 * before any sample (or waited PO_PENDING_MAX_SAMPLES): each call of
 * po_pending_expire_next() removes one and copies it to *out, for the
 * caller to count in its startup packet's pool, until it returns false.
 * The walk must be run to its end.
 */
void
po_pending_expire_begin(PoPendingIter *it)
{
	ensure_pending();
	it->active = hash_get_num_entries(pending) > 0;
	if (it->active)
		hash_seq_init(&it->seq, pending);
}

bool
po_pending_expire_next(PoPendingIter *it, PoPendingConn *out)
{
	PoPendingConn *pc;

	if (!it->active)
		return false;
	while ((pc = hash_seq_search(&it->seq)) != NULL)
	{
		if (pc->gone || ++pc->samples > PO_PENDING_MAX_SAMPLES)
		{
			int32		pid = pc->pid;

			/* dynahash allows removing the walk's current entry */
			*out = *pc;
			hash_search(pending, &pid, HASH_REMOVE, NULL);
			return true;
		}
	}
	it->active = false;
	return false;
}
