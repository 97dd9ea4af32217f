/*-------------------------------------------------------------------------
 *
 * status_copy.h
 *	  Copying a backend status entry and a PGPROC's wait fields into a
 *	  PoBackend: what status.c (in place) and status_snapshot.c (through
 *	  the snapshot interface) share.  Private to those two files.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/status_copy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_STATUS_COPY_H
#define PO_STATUS_COPY_H

#include "pgstat.h"
#include "storage/proc.h"
#include "utils/backend_status.h"

#include "types.h"

/*
 * Copy what we need of one status entry; caller handles the change count.
 * With keep_addr, b already holds this backend's client address (a
 * backend's address never changes), and its two cache lines of the entry
 * are not read.
 */
static inline void
copy_status_fields(volatile PgBackendStatus *be, PoBackend *b, bool keep_addr)
{
	b->pid = be->st_procpid;
	b->type = be->st_backendType;
	b->state = be->st_state;
	b->dbid = be->st_databaseid;
	b->roleid = be->st_userid;
	b->backend_start = be->st_proc_start_timestamp;
	b->xact_start = be->st_xact_start_timestamp;
	b->query_start = be->st_activity_start_timestamp;
	b->state_change = be->st_state_start_timestamp;
	b->query_id = be->st_query_id;
	b->changecount = -1;
	b->xmin = InvalidTransactionId;
	if (!keep_addr)
		po_addr_from_sockaddr((const struct sockaddr_storage *) &be->st_clientaddr.addr,
							  &b->addr);
	/* the buffer is NAMEDATALEN bytes and always NUL-terminated */
	strncpy(b->appname, (const char *) be->st_appname, NAMEDATALEN);
	b->appname[NAMEDATALEN - 1] = '\0';
}

static inline void
copy_status(volatile PgBackendStatus *be, PoBackend *b)
{
	copy_status_fields(be, b, false);
}

/*
 * Copy the PGPROC fields every sample needs; pid was checked by the caller.
 * (xmin, on another cache line, is read only for an event: po_read_xmin().)
 */
static inline void
copy_proc(PGPROC *proc, uint32 *wei, TimestampTz *lock_wait_start)
{
	*wei = *((volatile uint32 *) &proc->wait_event_info);

	/*
	 * Set while the backend is in the lock's wait queue (ProcSleep() sets
	 * it before it first waits, ProcWakeup() and RemoveFromWaitQueue()
	 * clear it), whatever its wait event says at the moment: cleared, or
	 * another wait's, while it handles an interrupt, runs the deadlock
	 * check or logs that it is still waiting between two waits.  So it is
	 * read in every wait (a sample that skipped it outside Lock and LWLock
	 * waits split one lock wait into two episodes on 19).
	 */
	*lock_wait_start = (TimestampTz) pg_atomic_read_u64(&proc->waitStart);
}

/* status_snapshot.c */
extern int	po_status_read_snapshot(PoBackend *out, int max);
extern bool po_status_reread_snapshot(const PoBackend *old, PoBackend *cur);

#endif							/* PO_STATUS_COPY_H */
