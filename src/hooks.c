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
#include "utils/timestamp.h"

#include "hooks.h"
#include "intake.h"

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

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

		memset(&rec, 0, sizeof(rec));
		rec.type = PO_INTAKE_CONNECT;
		rec.pid = MyProcPid;
		rec.at = GetCurrentTimestamp();
		po_addr_from_sockaddr(&port->raddr.addr, &rec.addr);
		strlcpy(rec.datname, port->database_name ? port->database_name : "",
				NAMEDATALEN);
		strlcpy(rec.usename, port->user_name ? port->user_name : "",
				NAMEDATALEN);
		strlcpy(rec.appname,
				port->application_name ? port->application_name : "",
				NAMEDATALEN);
		(void) po_intake_put(&rec);
	}
}

/* From _PG_init, in the postmaster. */
void
po_hooks_install(void)
{
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = po_client_auth_hook;
}
