/*-------------------------------------------------------------------------
 *
 * outcome_classify.c
 *	  Recognise what PostgreSQL itself did from the error it reports.
 *
 * emit_log_hook sees every message that goes to the server log.  A few of
 * them say that the server ended a statement (a timeout, a cancel request),
 * ended a session (an idle timeout, pg_terminate_backend()) or turned a
 * connection attempt away (no slot, a connection limit, no CONNECT
 * privilege, a failed login).  This file tells which, by SQLSTATE and by
 * the untranslated format string (ErrorData.message_id), compared exactly:
 * the translated text (message) depends on lc_messages and is never used.
 *
 * Safe in any context.  The hook calls this inside error reporting, maybe
 * in a backend that has no PGPROC yet (a refused connection) or is dying:
 * nothing here allocates, takes a lock, reads shared memory or the catalog,
 * or can throw; it reads three fields of ErrorData and compares a bounded
 * number of constant strings.
 *
 * What is recognised, per kind.  The message ids are the same in every
 * supported version unless a version is named.  elevel matters for the
 * log_min_messages precondition: emit_log_hook is called only when
 * edata->output_to_server, i.e. when the level passes log_min_messages.
 * ERROR kinds are hidden by log_min_messages = log, fatal or panic (LOG
 * ranks above ERROR for the server log); FATAL kinds only by panic.
 *
 *	kind                   SQLSTATE elevel message_id
 *	statement_timeout      57014   ERROR  "canceling statement due to statement timeout"
 *	lock_timeout           55P03   ERROR  "canceling statement due to lock timeout"
 *	query_cancelled        57014   ERROR  "canceling statement due to user request"
 *	idle_in_xact_timeout   25P03   FATAL  "terminating connection due to idle-in-transaction timeout"
 *	idle_session_timeout   57P05   FATAL  "terminating connection due to idle-session timeout"
 *	transaction_timeout    25P04   FATAL  "terminating connection due to transaction timeout" (17+)
 *	session_terminated     57P01   FATAL  "terminating connection due to administrator command"
 *	connection_refused     53300   FATAL  "sorry, too many clients already"
 *	                       53300   FATAL  "remaining connection slots are reserved for non-replication superuser connections" (15)
 *	                       53300   FATAL  "remaining connection slots are reserved for roles with the %s attribute" (16+)
 *	                       53300   FATAL  "remaining connection slots are reserved for roles with privileges of the \"%s\" role" (16+)
 *	                       53300   FATAL  "too many connections for role \"%s\""
 *	                       53300   FATAL  "too many connections for database \"%s\""
 *	                       53300   FATAL  any other message (reason "other")
 *	                       42501   FATAL  "permission denied for database \"%s\"" (detail: "User does not have CONNECT privilege.")
 *	                       55000   FATAL  "database \"%s\" is not currently accepting connections"
 *	authentication_failed  28P01   FATAL  any ("password authentication failed for user \"%s\"")
 *	                       28000   FATAL  any ("no pg_hba.conf entry for host ...", "pg_hba.conf rejects connection ...",
 *	                                      "authentication failed for user \"%s\": host rejected", "Ident/Peer
 *	                                      authentication failed ...", "role \"%s\" is not permitted to log in",
 *	                                      "role \"%s\" does not exist", ...)
 *
 * Deliberately not recognised: "canceling autovacuum task", "terminating
 * autovacuum process / background worker / logical replication worker due
 * to administrator command" (not client sessions), "terminating connection
 * due to unexpected postmaster exit" (57P01 too, but nobody's command),
 * recovery conflicts (40001, 57P04), "canceling authentication due to
 * timeout" (57014 during authentication_timeout: a client that never
 * finished logging in), and any error whose message_id is NULL (an error
 * relayed from a parallel worker carries no message id; the leader reports
 * its own).  An error caught by a PL/pgSQL EXCEPTION block or PG_TRY is
 * never emitted, so it is never seen here: what is counted is what reached
 * the client.
 *
 * What the caller must still decide (it has the context, this file has
 * not): whether the process is a client backend (not a walsender, worker
 * or autovacuum), and whether pool_observer itself sent the signal behind
 * a query_cancelled or session_terminated.  A fast or smart shutdown also
 * terminates every session with 57P01 "terminating connection due to
 * administrator command".
 *
 * IDENTIFICATION
 *	  src/outcome_classify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/elog.h"

#include "outcome_classify.h"

/* Not in the headers of every supported version. */
#define PO_SQLSTATE_TRANSACTION_TIMEOUT	MAKE_SQLSTATE('2','5','P','0','4')

/*
 * One recognised message.  message_id NULL matches any message of that
 * SQLSTATE (the rule is then only a fallback: rules are tried in order).
 */
typedef struct PoOutcomeRule
{
	int			sqlerrcode;
	int			min_elevel;
	const char *message_id;
	PoOutcomeKind kind;
	PoOutcomeReason reason;
} PoOutcomeRule;

static const PoOutcomeRule po_outcome_rules[] = {
	/* statements, ProcessInterrupts() in tcop/postgres.c */
	{ERRCODE_QUERY_CANCELED, ERROR,
		"canceling statement due to statement timeout",
	PO_OUTCOME_STATEMENT_TIMEOUT, PO_REASON_NONE},
	{ERRCODE_LOCK_NOT_AVAILABLE, ERROR,
		"canceling statement due to lock timeout",
	PO_OUTCOME_LOCK_TIMEOUT, PO_REASON_NONE},
	{ERRCODE_QUERY_CANCELED, ERROR,
		"canceling statement due to user request",
	PO_OUTCOME_QUERY_CANCELLED, PO_REASON_NONE},

	/* sessions, ProcessInterrupts() */
	{ERRCODE_IDLE_IN_TRANSACTION_SESSION_TIMEOUT, FATAL,
		"terminating connection due to idle-in-transaction timeout",
	PO_OUTCOME_IDLE_IN_XACT_TIMEOUT, PO_REASON_NONE},
	{ERRCODE_IDLE_SESSION_TIMEOUT, FATAL,
		"terminating connection due to idle-session timeout",
	PO_OUTCOME_IDLE_SESSION_TIMEOUT, PO_REASON_NONE},
	{PO_SQLSTATE_TRANSACTION_TIMEOUT, FATAL,
		"terminating connection due to transaction timeout",
	PO_OUTCOME_TRANSACTION_TIMEOUT, PO_REASON_NONE},
	{ERRCODE_ADMIN_SHUTDOWN, FATAL,
		"terminating connection due to administrator command",
	PO_OUTCOME_SESSION_TERMINATED, PO_REASON_NONE},

	/*
	 * No slot: the postmaster's child before authentication (15-17
	 * postmaster.c, 18+ backend_startup.c) or InitProcess() in proc.c.
	 */
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL,
		"sorry, too many clients already",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_TOO_MANY_CLIENTS},
	/* reserved slots, InitPostgres() in utils/init/postinit.c */
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL,
		"remaining connection slots are reserved for non-replication superuser connections",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_RESERVED_SLOTS},
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL,
		"remaining connection slots are reserved for roles with the %s attribute",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_RESERVED_SLOTS},
	/* the 16 development form, before "SUPERUSER" became an argument */
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL,
		"remaining connection slots are reserved for roles with the SUPERUSER attribute",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_RESERVED_SLOTS},
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL,
		"remaining connection slots are reserved for roles with privileges of the \"%s\" role",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_RESERVED_SLOTS},
	/* role limit, InitializeSessionUserId() in utils/init/miscinit.c */
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL,
		"too many connections for role \"%s\"",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_ROLE_LIMIT},
	/* database limit, CONNECT privilege, datallowconn: CheckMyDatabase() */
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL,
		"too many connections for database \"%s\"",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_DATABASE_LIMIT},
	{ERRCODE_TOO_MANY_CONNECTIONS, FATAL, NULL,
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_NONE},
	{ERRCODE_INSUFFICIENT_PRIVILEGE, FATAL,
		"permission denied for database \"%s\"",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_NO_CONNECT_PRIVILEGE},
	{ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, FATAL,
		"database \"%s\" is not currently accepting connections",
	PO_OUTCOME_CONNECTION_REFUSED, PO_REASON_DATALLOWCONN},

	/*
	 * Failed logins: auth_failed() in libpq/auth.c, and the role checks of
	 * InitializeSessionUserId().  Every 28P01 / 28000 at FATAL is one.
	 */
	{ERRCODE_INVALID_PASSWORD, FATAL, NULL,
	PO_OUTCOME_AUTHENTICATION_FAILED, PO_REASON_PASSWORD},
	{ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, FATAL, NULL,
	PO_OUTCOME_AUTHENTICATION_FAILED, PO_REASON_AUTHORIZATION},
};

static const char *const po_outcome_kind_names[PO_NUM_OUTCOME_KINDS] = {
	[PO_OUTCOME_NONE] = "none",
	[PO_OUTCOME_STATEMENT_TIMEOUT] = "statement_timeout",
	[PO_OUTCOME_LOCK_TIMEOUT] = "lock_timeout",
	[PO_OUTCOME_IDLE_IN_XACT_TIMEOUT] = "idle_in_transaction_timeout",
	[PO_OUTCOME_IDLE_SESSION_TIMEOUT] = "idle_session_timeout",
	[PO_OUTCOME_TRANSACTION_TIMEOUT] = "transaction_timeout",
	[PO_OUTCOME_QUERY_CANCELLED] = "query_cancelled",
	[PO_OUTCOME_SESSION_TERMINATED] = "session_terminated",
	[PO_OUTCOME_CONNECTION_REFUSED] = "connection_refused",
	[PO_OUTCOME_AUTHENTICATION_FAILED] = "authentication_failed",
};

static const char *const po_outcome_reason_names[PO_NUM_OUTCOME_REASONS] = {
	[PO_REASON_NONE] = "other",
	[PO_REASON_TOO_MANY_CLIENTS] = "too many clients",
	[PO_REASON_RESERVED_SLOTS] = "reserved slots",
	[PO_REASON_ROLE_LIMIT] = "role connection limit",
	[PO_REASON_DATABASE_LIMIT] = "database connection limit",
	[PO_REASON_NO_CONNECT_PRIVILEGE] = "no CONNECT privilege",
	[PO_REASON_DATALLOWCONN] = "database not accepting connections",
	[PO_REASON_PASSWORD] = "password",
	[PO_REASON_AUTHORIZATION] = "authorization",
};

/*
 * Classify edata; also say which message matched (reason may be NULL).
 * Returns a PoOutcomeKind, PO_OUTCOME_NONE for anything else.
 */
int
po_classify_error_reason(const ErrorData *edata, PoOutcomeReason *reason)
{
	if (reason)
		*reason = PO_REASON_NONE;
	if (edata == NULL || edata->elevel < ERROR)
		return PO_OUTCOME_NONE;

	for (int i = 0; i < (int) lengthof(po_outcome_rules); i++)
	{
		const PoOutcomeRule *r = &po_outcome_rules[i];

		if (edata->sqlerrcode != r->sqlerrcode || edata->elevel < r->min_elevel)
			continue;
		if (r->message_id != NULL &&
			(edata->message_id == NULL ||
			 strcmp(edata->message_id, r->message_id) != 0))
			continue;
		if (reason)
			*reason = r->reason;
		return r->kind;
	}
	return PO_OUTCOME_NONE;
}

int
po_classify_error(const ErrorData *edata)
{
	return po_classify_error_reason(edata, NULL);
}

/* SQL-level name of a kind (the events.kind value); "none" if unknown. */
const char *
po_outcome_kind_name(int kind)
{
	if (kind < 0 || kind >= PO_NUM_OUTCOME_KINDS)
		return po_outcome_kind_names[PO_OUTCOME_NONE];
	return po_outcome_kind_names[kind];
}

/* Short phrase for the event detail; "other" if unknown. */
const char *
po_outcome_reason_name(int reason)
{
	if (reason < 0 || reason >= PO_NUM_OUTCOME_REASONS)
		return po_outcome_reason_names[PO_REASON_NONE];
	return po_outcome_reason_names[reason];
}

/*
 * The level PostgreSQL reports a kind at, so that the caller can tell from
 * log_min_messages whether the hook can see it (ERROR for statement kinds,
 * FATAL for session and connection kinds).
 */
int
po_outcome_min_elevel(int kind)
{
	switch (kind)
	{
		case PO_OUTCOME_STATEMENT_TIMEOUT:
		case PO_OUTCOME_LOCK_TIMEOUT:
		case PO_OUTCOME_QUERY_CANCELLED:
			return ERROR;
		default:
			return FATAL;
	}
}
