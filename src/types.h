/*-------------------------------------------------------------------------
 *
 * types.h
 *	  The plain data types every layer of pool_observer shares: a client
 *	  address, a pool key, one backend as the sampler saw it, and the
 *	  predicates on backend states and wait events.
 *
 * Layer 0: nothing here calls into another module.
 *
 * IDENTIFICATION
 *	  src/types.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_TYPES_H
#define PO_TYPES_H

#include <sys/socket.h>

#include "datatype/timestamp.h"
#include "utils/backend_status.h"
#include "utils/wait_event.h"

#include "po_compat.h"

/*
 * A client address in a compact, comparable form.  family is 0 for Unix
 * sockets and for backends without a client (shown as NULL, as in
 * pg_stat_activity).
 */
typedef struct PoAddr
{
	uint8		family;			/* 0, 4 (IPv4) or 6 (IPv6) */
	uint8		addr[16];
} PoAddr;

/* Longest text po_addr_format() writes, NUL included. */
#define PO_ADDR_TEXT_LEN	64

/*
 * What makes a pool.  Always memset to zero before filling: the key is
 * hashed and compared as a blob, padding included.
 */
typedef struct PoPoolKey
{
	Oid			dbid;
	Oid			roleid;
	PoAddr		addr;
	char		appname[NAMEDATALEN];
} PoPoolKey;

/*
 * One backend as the sampler saw it.  What every sample reads comes first
 * (the first 64 bytes), what only an event or a new pool needs last.
 */
typedef struct PoBackend
{
	int			slot;			/* index in the backend status array, -1 if
								 * read from the snapshot */
	int			pid;			/* 0: a status slot without a backend */
	int16		type;			/* BackendType, in 16 bits to fit the line */
	int16		state;			/* BackendState, likewise */
	Oid			dbid;
	Oid			roleid;
	int			pool;			/* pool slot, -1 if not a client backend */

	/*
	 * The status entry's change count when it was read (even), -1 on the
	 * snapshot path.  Two reads of a slot at the same count saw the same
	 * contents: the same backend, key fields, state and query id.
	 */
	int			changecount;
	uint32		wait_event_info;
	TimestampTz xact_start;
	TimestampTz query_start;
	TimestampTz state_change;
	TimestampTz lock_wait_start;	/* 0 unless waiting on a lock */
	/* 64 bytes: the above is what every sample reads of every backend */
	uint64		query_id;
	TimestampTz backend_start;
	TransactionId xmin;			/* the vacuum horizon it holds back; valid
								 * only just after po_read_xmin() */
	PoAddr		addr;
	char		appname[NAMEDATALEN];	/* zero-padded */
} PoBackend;

/* Running a statement (the simple or the fast-path protocol). */
static inline bool
po_state_is_running(BackendState state)
{
	return state == STATE_RUNNING || state == STATE_FASTPATH;
}

/* Idle inside a transaction, aborted or not. */
static inline bool
po_state_is_idle_in_xact(BackendState state)
{
	return state == STATE_IDLEINTRANSACTION ||
		state == STATE_IDLEINTRANSACTION_ABORTED;
}

/* Waiting on a heavyweight lock. */
static inline bool
po_wait_is_lock(uint32 wait_event_info)
{
	return (wait_event_info & 0xFF000000) == PG_WAIT_LOCK;
}

/* util.c */
extern void po_addr_from_sockaddr(const struct sockaddr_storage *ss, PoAddr *out);
extern bool po_addr_format(const PoAddr *addr, char *buf, Size len);
extern void po_make_pool_key(PoPoolKey *key, Oid dbid, Oid roleid,
							 const PoAddr *addr, const char *appname);
extern bool po_name_in_list(const char *name, const char *list);
extern bool po_check_name_list(const char *list, char *toolong, Size len);
extern bool po_appname_in_list(const char *appname, const char *list);
extern int64 po_monotonic_us(void);

#endif							/* PO_TYPES_H */
