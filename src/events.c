/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The event ring: insert, update, chunked copy, names, log line.
 *
 * A fixed ring of max_events episodes; a new event overwrites the oldest
 * (counted in worker.events_dropped).  Ids increase; the slot of an event
 * is (id - 1) % max_events, so an update finds its row, or finds that it
 * was overwritten meanwhile.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/events.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/timestamp.h"
#include "storage/shmem.h"

#include "events.h"
#include "guc.h"
#include "kinds.h"
#include "shmem.h"

typedef struct PoEventRing
{
	uint64		next_event_id;	/* guarded by po_shared->lock */
	PoEvent		events[FLEXIBLE_ARRAY_MEMBER];
} PoEventRing;

static PoEventRing *ring = NULL;
PoEvent    *po_events = NULL;

static const char *const action_names[PO_NUM_ACTIONS] = {
	"none",
	"terminated",
	"cancelled",
	"would_terminate",
	"would_cancel",
	"exempt",
	"suppressed",
	"failed"
};

Size
po_events_shmem_size(void)
{
	return add_size(offsetof(PoEventRing, events),
					mul_size(sizeof(PoEvent), po_max_events));
}

/* Caller holds AddinShmemInitLock. */
void
po_events_shmem_init(void)
{
	bool		found;

	ring = ShmemInitStruct("pool_observer events", po_events_shmem_size(), &found);
	po_events = ring->events;
	if (!found)
	{
		ring->next_event_id = 1;
		po_events_clear_locked();
	}
}

/*
 * Empty the ring.  Ids go on increasing, so that a reader never sees an id
 * twice.  Caller holds the lock exclusively, or is the postmaster.
 */
void
po_events_clear_locked(void)
{
	memset(po_events, 0, mul_size(sizeof(PoEvent), po_max_events));
	if (ring->next_event_id == 0)
		ring->next_event_id = 1;
}

uint64
po_events_next_id_locked(void)
{
	return ring->next_event_id;
}

/*
 * Add an event to the ring and return its id.  Caller holds the lock
 * exclusively.
 */
uint64
po_event_insert_locked(PoEvent *ev)
{
	uint64		id = ring->next_event_id++;
	PoEvent    *slot = &po_events[(id - 1) % po_max_events];
	bool		dropped = slot->id != 0;

	ev->id = id;
	memcpy(slot, ev, sizeof(PoEvent));

	SpinLockAcquire(&po_shared->mutex);
	po_shared->events_total++;
	if (dropped)
		po_shared->events_dropped++;
	SpinLockRelease(&po_shared->mutex);
	return id;
}

/*
 * Write a changed event back to its row, unless newer events overwrote it
 * meanwhile.  Caller holds the lock exclusively.
 */
void
po_event_update_locked(const PoEvent *ev)
{
	PoEvent    *slot = &po_events[(ev->id - 1) % po_max_events];

	if (slot->id == ev->id)
		memcpy(slot, ev, sizeof(PoEvent));
}

/* The oldest id the ring can still hold.  Caller holds the lock. */
static uint64
oldest_id_locked(void)
{
	uint64		next = ring->next_event_id;

	return next > (uint64) po_max_events ? next - po_max_events : 1;
}

/*
 * Copy the next chunk of a read of the ring, oldest first, into buf: the
 * events with the next (at most) max ids.  The read goes by id, not by
 * slot, from the oldest event to the newest one there was when it started:
 * events inserted meanwhile move the ring's oldest slot, and a read by
 * slot position would then skip the oldest events.  Ids overwritten
 * meanwhile are gone, and skipped; so is an id whose slot reset() cleared.
 * The lock is taken shared for one chunk only, so a reader never holds up
 * the sampler for long however large max_events is; a read visits at most
 * max_events ids.  Returns the rows copied.
 */
int
po_events_copy_chunk(PoEventsRead *r, PoEvent *buf, int max)
{
	int			n = 0;
	int			visited;

	if (po_events_read_done(r))
		return 0;
	po_lock_shared();
	if (r->next_id == 0)
	{
		r->end_id = ring->next_event_id - 1;
		r->next_id = oldest_id_locked();
	}
	r->next_id = Max(r->next_id, oldest_id_locked());
	for (visited = 0; visited < max && r->next_id <= r->end_id; visited++)
	{
		const PoEvent *ev = &po_events[(r->next_id - 1) % po_max_events];

		if (ev->id == r->next_id)
			memcpy(&buf[n++], ev, sizeof(PoEvent));
		r->next_id++;
	}
	po_unlock_shared();
	return n;
}

/* Used slots; the postmaster after loading, or a caller holding the lock. */
int
po_events_count_used(void)
{
	int			n = 0;
	int			i;

	for (i = 0; i < po_max_events; i++)
		if (po_events[i].id != 0)
			n++;
	return n;
}

/* ---------------------------------------------------------------------
 * The events section of the state file
 *
 * Payload: a PoEventsSection, then nevents events, oldest (lowest id)
 * first.  Only used slots are written.  The section's version changes
 * whenever PoEvent does; another version is skipped, not misread.
 * ---------------------------------------------------------------------
 */
typedef struct PoEventsSection
{
	uint32		sizeof_event;
	int32		nevents;
	uint64		next_event_id;
} PoEventsSection;

/* The largest events section the current settings can make. */
Size
po_events_state_max_size(void)
{
	return add_size(sizeof(PoEventsSection),
					mul_size(sizeof(PoEvent), po_max_events));
}

/*
 * Write the used slots, oldest first.  The postmaster, once every other
 * process has exited: no lock needed.
 */
void
po_events_save(PoStateFile *sf)
{
	PoEventsSection hdr;
	int			start = (int) ((ring->next_event_id - 1) % po_max_events);
	int			i;

	memset(&hdr, 0, sizeof(hdr));
	hdr.sizeof_event = sizeof(PoEvent);
	hdr.nevents = po_events_count_used();
	hdr.next_event_id = ring->next_event_id;
	po_state_put(sf, &hdr, sizeof(hdr));
	for (i = 0; i < po_max_events; i++)
	{
		PoEvent    *ev = &po_events[(start + i) % po_max_events];

		if (ev->id != 0)
			po_state_put(sf, ev, sizeof(PoEvent));
	}
}

static bool
terminated(const char *s, Size len)
{
	return memchr(s, '\0', len) != NULL;
}

static bool
valid_bool(const bool *b)
{
	return *((const uint8 *) b) <= 1;
}

static bool
valid_timestamp(TimestampTz t)
{
	return t == 0 || IS_VALID_TIMESTAMP(t);
}

/* Is every field of a saved event in its range? */
static bool
valid_event(const PoEvent *ev, uint64 next_event_id)
{
	return ev->id > 0 && ev->id < next_event_id &&
		ev->kind >= 0 && ev->kind < PO_NUM_EVENT_KINDS &&
		ev->action >= 0 && ev->action < PO_NUM_ACTIONS &&
		ev->pid >= 0 &&
		ev->detected_at != 0 && ev->last_seen_at != 0 &&
		valid_timestamp(ev->detected_at) && valid_timestamp(ev->started_at) &&
		valid_timestamp(ev->last_seen_at) && valid_timestamp(ev->ended_at) &&
		valid_timestamp(ev->action_at) && valid_timestamp(ev->backend_start) &&
		(ev->addr.family == 0 || ev->addr.family == 4 || ev->addr.family == 6) &&
		valid_bool(&ev->has_pool) && valid_bool(&ev->overflow) &&
		ev->nblocked >= 0 && ev->nblocked <= PO_MAX_PIDS &&
		ev->nblockers >= 0 && ev->nblockers <= PO_MAX_PIDS &&
		terminated(ev->datname, NAMEDATALEN) &&
		terminated(ev->usename, NAMEDATALEN) &&
		terminated(ev->appname, NAMEDATALEN) &&
		terminated(ev->detail, PO_DETAIL_LEN) &&
		terminated(ev->query, PO_QUERY_LEN);
}

/*
 * Restore the saved events, keeping the newest that fit the current ring.
 * Every field is checked first; anything out of range makes the whole
 * section (and so the file) invalid.  The postmaster, before anyone else
 * runs; on PO_STATE_INVALID the caller clears the ring.
 */
PoStateLoad
po_events_load(PoStateFile *sf, uint32 version)
{
	PoEventsSection hdr;
	PoEvent		ev;
	uint64		prev_id = 0;
	int			i;

	if (version != PO_EVENTS_SECTION_VERSION)
		return PO_STATE_SKIPPED;
	if (!po_state_get(sf, &hdr, sizeof(hdr)))
		return PO_STATE_INVALID;
	if (hdr.sizeof_event != sizeof(PoEvent))
		return PO_STATE_SKIPPED;
	if (hdr.nevents < 0 || hdr.next_event_id == 0 ||
		hdr.next_event_id > (uint64) PG_INT64_MAX ||
		(uint64) hdr.nevents >= hdr.next_event_id ||
		sf->remaining != (uint64) hdr.nevents * sizeof(PoEvent))
		return PO_STATE_INVALID;

	for (i = 0; i < hdr.nevents; i++)
	{
		if (!po_state_get(sf, &ev, sizeof(ev)) ||
			!valid_event(&ev, hdr.next_event_id) || ev.id <= prev_id)
			return PO_STATE_INVALID;
		prev_id = ev.id;
		if (ev.id + po_max_events < hdr.next_event_id)
			continue;			/* too old for the current ring */
		/* nobody watches an episode across a restart: it ended there */
		if (ev.ended_at == 0)
			ev.ended_at = ev.last_seen_at;
		memcpy(&po_events[(ev.id - 1) % po_max_events], &ev, sizeof(PoEvent));
	}
	ring->next_event_id = hdr.next_event_id;
	po_shared->events_total = hdr.next_event_id - 1;
	return PO_STATE_LOADED;
}

/* Forget whatever a load restored, ids too; the postmaster. */
void
po_events_state_clear(void)
{
	memset(po_events, 0, mul_size(sizeof(PoEvent), po_max_events));
	ring->next_event_id = 1;
	po_shared->events_total = 0;
}

const char *
po_action_name(int action)
{
	if (action < 0 || action >= PO_NUM_ACTIONS)
		return "unknown";
	return action_names[action];
}

/* ---------------------------------------------------------------------
 * Log lines
 * ---------------------------------------------------------------------
 */

/* Append value as a double-quoted, escaped string: one line, parseable. */
static void
append_quoted(StringInfo buf, const char *val, int maxlen)
{
	int			len = strnlen(val, maxlen);
	int			i;

	/* do not end inside a UTF-8 sequence */
	if (len == maxlen)
		while (len > 0 && ((unsigned char) val[len] & 0xC0) == 0x80)
			len--;

	appendStringInfoChar(buf, '"');
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) val[i];

		if (c == '"' || c == '\\')
		{
			appendStringInfoChar(buf, '\\');
			appendStringInfoChar(buf, (char) c);
		}
		else if (c == '\n')
			appendStringInfoString(buf, "\\n");
		else if (c == '\r')
			appendStringInfoString(buf, "\\r");
		else if (c == '\t')
			appendStringInfoString(buf, "\\t");
		else if (c < 0x20 || c == 0x7f)
			appendStringInfo(buf, "\\x%02x", c);
		else
			appendStringInfoChar(buf, (char) c);
	}
	appendStringInfoChar(buf, '"');
}

static void
append_pids(StringInfo buf, const char *name, const int32 *pids, int n)
{
	int			i;

	appendStringInfo(buf, " %s={", name);
	for (i = 0; i < n; i++)
		appendStringInfo(buf, "%s%d", i ? "," : "", pids[i]);
	appendStringInfoChar(buf, '}');
}

/*
 * One LOG line per opened episode or action, key=value, strings quoted and
 * escaped so that no value can break the line or fake a key.
 */
void
po_event_log(const PoEvent *ev, const char *what)
{
	StringInfoData buf;
	char		addr[PO_ADDR_TEXT_LEN];
	bool		session = !ev->has_pool && ev->pid != 0;

	if (!po_log_events)
		return;

	initStringInfo(&buf);
	appendStringInfo(&buf, "id=" UINT64_FORMAT " kind=%s action=%s",
					 ev->id, po_event_kind_name(ev->kind),
					 po_action_name(ev->action));
	if (session)
		appendStringInfo(&buf, " pid=%d", ev->pid);
	if (ev->datname[0] || ev->usename[0] || ev->has_pool || ev->pid != 0)
	{
		appendStringInfoString(&buf, " datname=");
		append_quoted(&buf, ev->datname, NAMEDATALEN);
		appendStringInfoString(&buf, " usename=");
		append_quoted(&buf, ev->usename, NAMEDATALEN);
		appendStringInfoString(&buf, " application_name=");
		append_quoted(&buf, ev->appname, NAMEDATALEN);
		appendStringInfo(&buf, " client_addr=%s",
						 po_addr_format(&ev->addr, addr, sizeof(addr)) ? addr : "local");
	}
	appendStringInfo(&buf, " duration_ms=" INT64_FORMAT,
					 (int64) ((ev->last_seen_at - ev->started_at) / 1000));
	if (session)
	{
		appendStringInfo(&buf, " query_id=" INT64_FORMAT, (int64) ev->query_id);
		append_pids(&buf, "blocked_pids", ev->blocked, ev->nblocked);
		append_pids(&buf, "blocked_by", ev->blockers, ev->nblockers);
	}
	appendStringInfoString(&buf, " detail=");
	append_quoted(&buf, ev->detail, PO_DETAIL_LEN);
	if (session)
	{
		appendStringInfoString(&buf, " query=");
		append_quoted(&buf, ev->query, 256);
	}

	/*
	 * Server log only: a client asking for LOG messages must not get them,
	 * and an on-demand call must not fail after acting because a name or
	 * query has no equivalent in the client's encoding.
	 */
	ereport(LOG_SERVER_ONLY,
			errmsg("pool_observer %s: %s", what, buf.data),
			errhidestmt(true));
	pfree(buf.data);
}
