/*-------------------------------------------------------------------------
 *
 * outcome_classify.h
 *	  Recognise what PostgreSQL itself did to a session or a connection
 *	  attempt (a timeout, a cancel, a termination, a refusal, a failed
 *	  login) from the ErrorData it is about to report.
 *
 * Layer 0: depends on nothing of pool_observer.  Pure functions over
 * ErrorData; safe in any context, including emit_log_hook in a backend
 * that has no PGPROC yet (see outcome_classify.c).
 *
 * IDENTIFICATION
 *	  src/outcome_classify.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_OUTCOME_CLASSIFY_H
#define PO_OUTCOME_CLASSIFY_H

#include "utils/elog.h"

/*
 * What PostgreSQL did.  Values are stored in the intake ring and in saved
 * state: append only, never renumber.  Keep po_outcome_kind_names[] in step.
 */
typedef enum PoOutcomeKind
{
	PO_OUTCOME_NONE = 0,
	PO_OUTCOME_STATEMENT_TIMEOUT,
	PO_OUTCOME_LOCK_TIMEOUT,
	PO_OUTCOME_IDLE_IN_XACT_TIMEOUT,
	PO_OUTCOME_IDLE_SESSION_TIMEOUT,
	PO_OUTCOME_TRANSACTION_TIMEOUT,
	PO_OUTCOME_QUERY_CANCELLED,
	PO_OUTCOME_SESSION_TERMINATED,
	PO_OUTCOME_CONNECTION_REFUSED,
	PO_OUTCOME_AUTHENTICATION_FAILED,
	PO_NUM_OUTCOME_KINDS
} PoOutcomeKind;

/*
 * Why a connection was refused (or which message matched), for the event
 * detail and for tests.  Append only, like PoOutcomeKind.
 */
typedef enum PoOutcomeReason
{
	PO_REASON_NONE = 0,
	PO_REASON_TOO_MANY_CLIENTS,		/* no free slot at all */
	PO_REASON_RESERVED_SLOTS,		/* only reserved slots left */
	PO_REASON_ROLE_LIMIT,			/* ALTER ROLE ... CONNECTION LIMIT */
	PO_REASON_DATABASE_LIMIT,		/* ALTER DATABASE ... CONNECTION LIMIT */
	PO_REASON_NO_CONNECT_PRIVILEGE, /* REVOKE CONNECT ON DATABASE */
	PO_REASON_DATALLOWCONN,			/* datallowconn = false */
	PO_REASON_PASSWORD,				/* 28P01 */
	PO_REASON_AUTHORIZATION,		/* 28000: hba reject, no hba line, ident,
									 * peer, nologin, unknown role, ... */
	PO_NUM_OUTCOME_REASONS
} PoOutcomeReason;

/* Kinds that end the session (reported at FATAL) as opposed to a statement. */
#define po_outcome_ends_session(k) \
	((k) == PO_OUTCOME_IDLE_IN_XACT_TIMEOUT || \
	 (k) == PO_OUTCOME_IDLE_SESSION_TIMEOUT || \
	 (k) == PO_OUTCOME_TRANSACTION_TIMEOUT || \
	 (k) == PO_OUTCOME_SESSION_TERMINATED)

/* Kinds about a connection attempt, not an established session. */
#define po_outcome_is_attempt(k) \
	((k) == PO_OUTCOME_CONNECTION_REFUSED || \
	 (k) == PO_OUTCOME_AUTHENTICATION_FAILED)

/* Kinds that count as "timeouts" in the history columns. */
#define po_outcome_is_timeout(k) \
	((k) >= PO_OUTCOME_STATEMENT_TIMEOUT && \
	 (k) <= PO_OUTCOME_TRANSACTION_TIMEOUT)

extern int	po_classify_error(const ErrorData *edata);
extern int	po_classify_error_reason(const ErrorData *edata,
									 PoOutcomeReason *reason);

extern const char *po_outcome_kind_name(int kind);
extern const char *po_outcome_reason_name(int reason);
extern int	po_outcome_min_elevel(int kind);

#endif							/* PO_OUTCOME_CLASSIFY_H */
