/*-------------------------------------------------------------------------
 *
 * hooks.c
 *	  Hooks that run in other backends.
 *
 * A hook runs in a backend that is busy with something else (connecting,
 * reporting an error), so it does one thing: fill a fixed-size record and
 * put it into the lock-free intake ring.  No allocation, no lock, nothing
 * that can throw; the sampler does the rest.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/hooks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "replication/walsender.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "hooks.h"
#include "intake.h"
#include "outcome_classify.h"

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * Start an intake record of type for this backend and its client: who,
 * when, from where.  Copies bounded strings only; cannot throw.
 */
static void
start_record(PoIntakeRecord *rec, int type, const Port *port)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->pid = MyProcPid;
	rec->at = GetCurrentTimestamp();
	rec->backend_start = MyStartTimestamp;
	po_addr_from_sockaddr(&port->raddr.addr, &rec->addr);
	strlcpy(rec->datname, port->database_name ? port->database_name : "",
			NAMEDATALEN);
	strlcpy(rec->usename, port->user_name ? port->user_name : "", NAMEDATALEN);
}

/*
 * Record a successful new client connection, so that the sampler sees
 * connections that come and go between two samples (an application without
 * a pool).
 */
static void
po_client_auth_hook(Port *port, int status)
{
	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);

	if (status == STATUS_OK && !am_walsender && port != NULL)
	{
		PoIntakeRecord rec;

		start_record(&rec, PO_INTAKE_CONNECT, port);
		strlcpy(rec.appname,
				port->application_name ? port->application_name : "",
				NAMEDATALEN);
		(void) po_intake_put(&rec);
	}
}

/*
 * Record what PostgreSQL itself did to this client backend or connection
 * attempt (outcome_classify.c says which messages count).  Runs inside
 * error reporting, possibly before this backend has a PGPROC or while it
 * is exiting: reads process globals, copies bounded strings, and puts one
 * record; nothing that allocates, locks or throws.  Only messages that go
 * to the server log get here (log_min_messages: README).
 */
static void
po_emit_log_hook(ErrorData *edata)
{
	PoIntakeRecord rec;
	PoOutcomeReason reason = PO_REASON_NONE;
	int			kind;
	Port	   *port = MyProcPort;
	const char *app;
	const char *query = NULL;

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);

	/* client backends only: no walsender, worker, autovacuum, postmaster */
	if (edata == NULL || edata->elevel < ERROR || port == NULL || am_walsender)
		return;
	kind = po_classify_error_reason(edata, &reason);
	if (kind == PO_OUTCOME_NONE)
		return;

	start_record(&rec, PO_INTAKE_OUTCOME, port);
	rec.outcome = (int16) kind;
	rec.reason = (int16) reason;

	/*
	 * An attempt has only its startup packet; an established session is
	 * in the pool of its current application_name, as the sampler sees it.
	 */
	app = port->application_name;
	if (!po_outcome_is_attempt(kind) && application_name != NULL &&
		MyBEEntry != NULL)
		app = application_name;
	strlcpy(rec.appname, app ? app : "", NAMEDATALEN);
	if (edata->message)
		strlcpy(rec.message, edata->message, PO_INTAKE_MESSAGE_LEN);

	if (!po_outcome_is_attempt(kind))
	{
		/* the statement being ended, else the session's last one */
		if (debug_query_string != NULL && debug_query_string[0] != '\0')
			query = debug_query_string;
		else if (MyBEEntry != NULL && MyBEEntry->st_activity_raw != NULL)
			query = MyBEEntry->st_activity_raw;
		if (query != NULL)
		{
			/* bounded: never scan a long statement to its end */
			size_t		n = strnlen(query, PO_INTAKE_QUERY_LEN - 1);

			memcpy(rec.query, query, n);
			rec.query[n] = '\0';
		}
		if (MyBEEntry != NULL)
			rec.query_id = MyBEEntry->st_query_id;
	}
	(void) po_intake_put(&rec);
}

/* From _PG_init, in the postmaster. */
void
po_hooks_install(void)
{
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = po_client_auth_hook;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = po_emit_log_hook;
}
