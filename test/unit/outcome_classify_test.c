/*
 * outcome_classify_test.c
 *	  Unit test of src/outcome_classify.c without a server: build and run
 *	  with test/unit/run.sh.  Every message id of every supported version is
 *	  fed in with its SQLSTATE and level; so are near misses.
 */
#include "postgres.h"

#include <stdio.h>

#include "outcome_classify.h"

/* port.h maps printf to pg_printf, which lives in libpgport */
#undef printf

static int	failures = 0;

static void
check(int sqlerrcode, int elevel, const char *message_id, int expected,
	  const char *what)
{
	ErrorData	edata;
	int			got;

	memset(&edata, 0, sizeof(edata));
	edata.sqlerrcode = sqlerrcode;
	edata.elevel = elevel;
	edata.message_id = message_id;
	edata.message = "translated text is never looked at";
	got = po_classify_error(&edata);
	if (got != expected)
	{
		printf("not ok - %s: got %s, expected %s\n", what,
			   po_outcome_kind_name(got), po_outcome_kind_name(expected));
		failures++;
	}
	else
		printf("ok - %s -> %s\n", what, po_outcome_kind_name(got));
}

#define S(a,b,c,d,e) MAKE_SQLSTATE(a,b,c,d,e)

int
main(void)
{
	check(S('5','7','0','1','4'), ERROR, "canceling statement due to statement timeout",
		  PO_OUTCOME_STATEMENT_TIMEOUT, "statement_timeout");
	check(S('5','5','P','0','3'), ERROR, "canceling statement due to lock timeout",
		  PO_OUTCOME_LOCK_TIMEOUT, "lock_timeout");
	check(S('5','7','0','1','4'), ERROR, "canceling statement due to user request",
		  PO_OUTCOME_QUERY_CANCELLED, "cancel request");
	check(S('2','5','P','0','3'), FATAL, "terminating connection due to idle-in-transaction timeout",
		  PO_OUTCOME_IDLE_IN_XACT_TIMEOUT, "idle_in_transaction_session_timeout");
	check(S('5','7','P','0','5'), FATAL, "terminating connection due to idle-session timeout",
		  PO_OUTCOME_IDLE_SESSION_TIMEOUT, "idle_session_timeout");
	check(S('2','5','P','0','4'), FATAL, "terminating connection due to transaction timeout",
		  PO_OUTCOME_TRANSACTION_TIMEOUT, "transaction_timeout (17+)");
	check(S('5','7','P','0','1'), FATAL, "terminating connection due to administrator command",
		  PO_OUTCOME_SESSION_TERMINATED, "pg_terminate_backend");
	check(S('5','3','3','0','0'), FATAL, "sorry, too many clients already",
		  PO_OUTCOME_CONNECTION_REFUSED, "no slot");
	check(S('5','3','3','0','0'), FATAL, "remaining connection slots are reserved for non-replication superuser connections",
		  PO_OUTCOME_CONNECTION_REFUSED, "reserved slots (15)");
	check(S('5','3','3','0','0'), FATAL, "remaining connection slots are reserved for roles with the %s attribute",
		  PO_OUTCOME_CONNECTION_REFUSED, "reserved slots (16+)");
	check(S('5','3','3','0','0'), FATAL, "remaining connection slots are reserved for roles with privileges of the \"%s\" role",
		  PO_OUTCOME_CONNECTION_REFUSED, "reserved_connections (16+)");
	check(S('5','3','3','0','0'), FATAL, "too many connections for role \"%s\"",
		  PO_OUTCOME_CONNECTION_REFUSED, "role limit");
	check(S('5','3','3','0','0'), FATAL, "too many connections for database \"%s\"",
		  PO_OUTCOME_CONNECTION_REFUSED, "database limit");
	check(S('4','2','5','0','1'), FATAL, "permission denied for database \"%s\"",
		  PO_OUTCOME_CONNECTION_REFUSED, "no CONNECT privilege");
	check(S('5','5','0','0','0'), FATAL, "database \"%s\" is not currently accepting connections",
		  PO_OUTCOME_CONNECTION_REFUSED, "datallowconn");
	check(S('2','8','P','0','1'), FATAL, "password authentication failed for user \"%s\"",
		  PO_OUTCOME_AUTHENTICATION_FAILED, "wrong password");
	check(S('2','8','0','0','0'), FATAL, "no pg_hba.conf entry for host \"%s\", user \"%s\", database \"%s\", %s",
		  PO_OUTCOME_AUTHENTICATION_FAILED, "no hba line");
	check(S('2','8','0','0','0'), FATAL, "role \"%s\" is not permitted to log in",
		  PO_OUTCOME_AUTHENTICATION_FAILED, "nologin");

	/* near misses */
	check(S('5','7','0','1','4'), ERROR, "canceling autovacuum task",
		  PO_OUTCOME_NONE, "autovacuum cancel");
	check(S('5','7','0','1','4'), FATAL, "canceling authentication due to timeout",
		  PO_OUTCOME_NONE, "authentication_timeout");
	check(S('5','7','P','0','1'), FATAL, "terminating autovacuum process due to administrator command",
		  PO_OUTCOME_NONE, "autovacuum terminated");
	check(S('5','7','P','0','1'), FATAL, "terminating background worker \"%s\" due to administrator command",
		  PO_OUTCOME_NONE, "bgworker terminated");
	check(S('5','7','P','0','1'), FATAL, "terminating connection due to unexpected postmaster exit",
		  PO_OUTCOME_NONE, "postmaster died");
	check(S('5','7','0','1','4'), ERROR, NULL,
		  PO_OUTCOME_NONE, "relayed error without message id");
	check(S('5','7','0','1','4'), WARNING, "canceling statement due to statement timeout",
		  PO_OUTCOME_NONE, "below ERROR");
	check(S('4','2','5','0','1'), ERROR, "permission denied for database \"%s\"",
		  PO_OUTCOME_NONE, "42501 at ERROR is not a refused connection");
	check(S('4','2','5','0','1'), FATAL, "permission denied for database %s",
		  PO_OUTCOME_NONE, "unquoted variant is aclchk's, not CheckMyDatabase's");
	check(S('2','8','P','0','1'), ERROR, "password authentication failed for user \"%s\"",
		  PO_OUTCOME_NONE, "28P01 below FATAL");
	check(S('5','5','P','0','3'), ERROR, "could not obtain lock on row in relation \"%s\"",
		  PO_OUTCOME_NONE, "NOWAIT is not lock_timeout");
	check(S('4','0','0','0','1'), ERROR, "canceling statement due to conflict with recovery",
		  PO_OUTCOME_NONE, "recovery conflict");
	check(S('5','3','3','0','0'), FATAL, "some future wording",
		  PO_OUTCOME_CONNECTION_REFUSED, "any 53300 FATAL is a refusal");

	if (po_classify_error(NULL) != PO_OUTCOME_NONE)
		failures++;

	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
