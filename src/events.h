/*-------------------------------------------------------------------------
 *
 * events.h
 *	  The event ring: one row per episode, and the log line of an event.
 *
 * Layer 1.  The ring is guarded by po_shared->lock (see shmem.h): writers
 * hold it exclusively, readers copy chunks under it shared.
 *
 * IDENTIFICATION
 *	  src/events.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_EVENTS_H
#define PO_EVENTS_H

#include "statefile.h"
#include "types.h"

/* Fixed sizes of stored strings and arrays. */
#define PO_QUERY_LEN			1024	/* query text kept per event */
#define PO_DETAIL_LEN			256
#define PO_MAX_PIDS				16	/* blockers/blocked kept per event */

/* Actions recorded on events; keep action_names[] in events.c in step. */
typedef enum PoAction
{
	PO_ACTION_NONE = 0,
	PO_ACTION_TERMINATED,
	PO_ACTION_CANCELLED,
	PO_ACTION_WOULD_TERMINATE,
	PO_ACTION_WOULD_CANCEL,
	PO_ACTION_EXEMPT,
	PO_ACTION_SUPPRESSED,
	PO_ACTION_FAILED
} PoAction;

#define PO_NUM_ACTIONS	(PO_ACTION_FAILED + 1)

/* One event episode.  id == 0 marks an unused slot. */
typedef struct PoEvent
{
	uint64		id;
	int16		kind;
	int16		action;
	int32		pid;
	TimestampTz detected_at;
	TimestampTz started_at;		/* when the condition began */
	TimestampTz last_seen_at;
	TimestampTz ended_at;		/* 0 while ongoing */
	TimestampTz action_at;
	TimestampTz backend_start;
	uint64		query_id;
	Oid			roleid;			/* the session's role: who may read query */
	PoAddr		addr;
	bool		has_pool;		/* pool-level or session-level */
	bool		overflow;
	char		datname[NAMEDATALEN];
	char		usename[NAMEDATALEN];
	char		appname[NAMEDATALEN];
	int16		nblocked;
	int16		nblockers;
	int32		blocked[PO_MAX_PIDS];	/* sessions this one blocks */
	int32		blockers[PO_MAX_PIDS];	/* sessions blocking this one */
	char		detail[PO_DETAIL_LEN];
	char		query[PO_QUERY_LEN];
} PoEvent;

/* The ring, max_events slots; the slot of id is (id - 1) % max_events. */
extern PoEvent *po_events;

extern Size po_events_shmem_size(void);
extern void po_events_shmem_init(void);
extern void po_events_clear_locked(void);

extern uint64 po_event_insert_locked(PoEvent *ev);
extern void po_event_update_locked(const PoEvent *ev);
extern uint64 po_events_next_id_locked(void);

/*
 * A read of the ring, a chunk at a time: the ids it has left to visit.
 * Start from PO_EVENTS_READ_INIT; the read is done when next_id > end_id.
 */
typedef struct PoEventsRead
{
	uint64		next_id;		/* 0: not started */
	uint64		end_id;			/* the newest id when the read started */
} PoEventsRead;

#define PO_EVENTS_READ_INIT {0, 0}
#define po_events_read_done(r)	((r)->next_id != 0 && (r)->next_id > (r)->end_id)

extern int	po_events_copy_chunk(PoEventsRead *r, PoEvent *buf, int max);
extern int	po_events_count_used(void);

/* The events section of the state file (see persist.c). */
#define PO_EVENTS_SECTION_VERSION	2
extern Size po_events_state_max_size(void);
extern void po_events_save(PoStateFile *sf);
extern PoStateLoad po_events_load(PoStateFile *sf, uint32 version);
extern void po_events_state_clear(void);

extern const char *po_action_name(int action);
extern void po_event_log(const PoEvent *ev, const char *what);

#endif							/* PO_EVENTS_H */
