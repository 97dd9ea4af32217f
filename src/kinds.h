/*-------------------------------------------------------------------------
 *
 * kinds.h
 *	  The one table of event kinds.
 *
 * Each kind is described once: its name, whether it is about a session, a
 * pool or the server, the settings that detect it and act on it, the
 * signal, when a session is in the condition (and since when), the check
 * that a session is still in the very same condition just before it is
 * signalled, and the sentence health shows.  Detection (detect.c), the
 * action policy (policy.c), health and the on-demand functions, and the log
 * line all read this table, so a kind's rules live in one place.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/kinds.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_KINDS_H
#define PO_KINDS_H

#include "types.h"

/* Event kinds; the order is that of po_kinds[] and of saved state. */
typedef enum PoEventKind
{
	PO_EVENT_IDLE_IN_TRANSACTION = 0,
	PO_EVENT_SLOW_STATEMENT,
	PO_EVENT_LONG_TRANSACTION,
	PO_EVENT_LOCK_WAIT,
	PO_EVENT_POOL_SATURATED,
	PO_EVENT_CONNECTION_CHURN,
	PO_EVENT_SERVER_CONNECTIONS_HIGH,

	/*
	 * Outcome kinds: what PostgreSQL itself reported (emit_log_hook), never
	 * detected from a sample.  In the order of PoOutcomeKind
	 * (outcome_classify.h), from PO_OUTCOME_STATEMENT_TIMEOUT on.
	 */
	PO_EVENT_STATEMENT_TIMEOUT,
	PO_EVENT_LOCK_TIMEOUT,
	PO_EVENT_IDLE_IN_TRANSACTION_TIMEOUT,
	PO_EVENT_IDLE_SESSION_TIMEOUT,
	PO_EVENT_TRANSACTION_TIMEOUT,
	PO_EVENT_QUERY_CANCELLED,
	PO_EVENT_SESSION_TERMINATED,
	PO_EVENT_CONNECTION_REFUSED,
	PO_EVENT_AUTHENTICATION_FAILED
} PoEventKind;

/* Kinds the detector evaluates on each sample. */
#define PO_NUM_EVENT_KINDS	(PO_EVENT_SERVER_CONNECTIONS_HIGH + 1)
/* Every kind, outcome kinds included (the size of po_kinds[]). */
#define PO_NUM_ALL_KINDS	(PO_EVENT_AUTHENTICATION_FAILED + 1)
/* The event kind of a PoOutcomeKind (PO_OUTCOME_STATEMENT_TIMEOUT = 1). */
#define po_outcome_event_kind(outcome) \
	(PO_EVENT_STATEMENT_TIMEOUT + (outcome) - 1)

typedef enum PoScope
{
	PO_SCOPE_SESSION,
	PO_SCOPE_POOL,
	PO_SCOPE_SERVER
} PoScope;

typedef enum PoSignal
{
	PO_SIGNAL_NONE,
	PO_SIGNAL_TERMINATE,
	PO_SIGNAL_CANCEL
} PoSignal;

struct PoEvent;

typedef struct PoKindInfo
{
	const char *name;
	PoScope		scope;

	/*
	 * Detection threshold and action delay (ms, <= 0 disables), as pointers
	 * to the settings; NULL where the kind has none in milliseconds.
	 */
	const int  *detect_ms;
	const int  *act_ms;
	PoSignal	signal;
	/* act only while the session blocks another one (a bool setting) */
	const bool *only_blockers;

	/*
	 * Session kinds: when b entered the condition, or 0 if it is not in it.
	 * The start is also what keys the episode, so a new statement is a new
	 * episode.
	 */
	TimestampTz (*since) (const PoBackend *b);

	/*
	 * Is cur, read again just before the signal, still in the condition
	 * that old was found in?  (pid and backend start are checked first.)
	 */
	bool		(*same) (const PoBackend *old, const PoBackend *cur);

	/* Refresh the event's detail from this sample; NULL: set once. */
	void		(*detail) (struct PoEvent *ev, const PoBackend *b);

	/* health reason, with one %d for the number over the threshold */
	const char *health_reason;
} PoKindInfo;

extern const PoKindInfo po_kinds[PO_NUM_ALL_KINDS];

extern const char *po_event_kind_name(int kind);
extern int	po_kind_open_ms(const PoKindInfo *k);
extern int	po_kind_detect_ms(const PoKindInfo *k);
extern int	po_kind_act_ms(const PoKindInfo *k);

/*
 * False when none of the sampled session kinds' since() (kinds.c) can be set
 * for b: idle outside a transaction, not in a lock wait.  It must agree with
 * those functions; the per-backend loop of the detection skips such backends.
 */
static inline bool
po_session_kinds_possible(const PoBackend *b)
{
	return !(b->state == STATE_IDLE && b->xact_start == 0 &&
			 b->lock_wait_start == 0 && !po_wait_is_lock(b->wait_event_info));
}

/*
 * The earliest time any session kind's since() (kinds.c) can return for b,
 * 0 if none: each returns 0 or one of these four times.  It must agree
 * with those functions; a backend for which this is not past the smallest
 * opening threshold is past none, and the detection loop skips it.
 */
static inline TimestampTz
po_session_earliest_since(const PoBackend *b)
{
	TimestampTz t = 0;

	if (b->query_start != 0)
		t = b->query_start;
	if (b->xact_start != 0 && (t == 0 || b->xact_start < t))
		t = b->xact_start;
	if (b->state_change != 0 && (t == 0 || b->state_change < t))
		t = b->state_change;
	if (b->lock_wait_start != 0 && (t == 0 || b->lock_wait_start < t))
		t = b->lock_wait_start;
	return t;
}

/* Is t at least ms milliseconds before now (ms > 0, t set)? */
static inline bool
po_past(TimestampTz now, TimestampTz t, int ms)
{
	return ms > 0 && t != 0 && now - t >= (int64) ms * 1000;
}

#endif							/* PO_KINDS_H */
