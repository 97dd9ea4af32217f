/*-------------------------------------------------------------------------
 *
 * funcs_actions.c
 *	  On-demand actions: terminate_idle_in_transaction() and
 *	  cancel_slow_statements().
 *
 * The caller's own rights decide, as for pg_terminate_backend() and
 * pg_cancel_backend(); the sampler's exemptions and rate limit are for the
 * sampler's own actions.  Which sessions qualify, which signal they get and
 * the re-check before it come from the kind table.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_actions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "detect.h"
#include "events.h"
#include "funcs_util.h"
#include "kinds.h"
#include "policy.h"
#include "shmem.h"
#include "status.h"

PG_FUNCTION_INFO_V1(po_terminate_idle_in_transaction_1_0);
PG_FUNCTION_INFO_V1(po_cancel_slow_statements_1_0);

#define PO_ACTION_COLS_V1_0		6

/* older_than as microseconds, or an ERROR for NULL, <= 0 or absurd. */
static int64
older_than_us(FunctionCallInfo fcinfo)
{
	Interval   *iv;
	double		secs;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("\"older_than\" must not be null"));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("\"dry_run\" must not be null"));

	iv = PG_GETARG_INTERVAL_P(0);
	secs = po_interval_seconds(iv);
	if (secs <= 0)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("\"older_than\" must be greater than zero"));
	if (secs > 366.0 * SECS_PER_DAY)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("\"older_than\" must be at most one year"));
	return (int64) (secs * USECS_PER_SEC);
}

/* May the current user signal this backend?  As pg_signal_backend(). */
static bool
may_signal(const PoBackend *b)
{
	if (superuser_arg(b->roleid) && !superuser())
		return false;
	if (!has_privs_of_role(GetUserId(), b->roleid) &&
		!has_privs_of_role(GetUserId(), ROLE_PG_SIGNAL_BACKEND))
		return false;
	return true;
}

/* One row of the result, and its event. */
static void
act_on_one(ReturnSetInfo *rsinfo, const PoBackend *b, const PoKindInfo *k,
		   int kind, TimestampTz since, TimestampTz now, bool dry_run,
		   const char *caller)
{
	PoEvent    *ev = palloc0(sizeof(PoEvent));
	bool		done = false;
	Datum		values[PO_ACTION_COLS_V1_0];
	bool		nulls[PO_ACTION_COLS_V1_0];
	int			i = 0;

	ev->kind = kind;
	po_fill_event_session(ev, b);
	if (dry_run)
		ev->action = k->signal == PO_SIGNAL_TERMINATE ?
			PO_ACTION_WOULD_TERMINATE : PO_ACTION_WOULD_CANCEL;
	else
	{
		done = po_signal_session(b, k);
		ev->action = !done ? PO_ACTION_FAILED :
			k->signal == PO_SIGNAL_TERMINATE ? PO_ACTION_TERMINATED : PO_ACTION_CANCELLED;
	}
	ev->detected_at = ev->last_seen_at = ev->ended_at = ev->action_at = now;
	ev->started_at = since;
	snprintf(ev->detail, PO_DETAIL_LEN, "on demand by %s%s", caller,
			 dry_run ? " (dry run)" : "");
	po_record_on_demand(ev);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int32GetDatum(b->pid);
	nulls[i] = !po_name_datum(ev->usename, &values[i]);
	i++;
	values[i++] = po_safe_text(b->appname, NAMEDATALEN);
	values[i++] = po_interval_datum(now - since);
	values[i++] = po_query_datum(ev->query, PO_QUERY_LEN, b->roleid);
	values[i++] = BoolGetDatum(done);
	Assert(i == PO_ACTION_COLS_V1_0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	pfree(ev);
}

/*
 * The sessions in the kind's condition for at least older_than that the
 * caller may signal: signal each (or record what would be done).
 */
static Datum
act_on_demand(FunctionCallInfo fcinfo, int kind)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const PoKindInfo *k = &po_kinds[kind];
	int64		min_age;
	bool		dry_run;
	PoBackend  *backends;
	int			n;
	int			i;
	TimestampTz now;
	const char *caller;

	po_require_loaded();
	min_age = older_than_us(fcinfo);
	dry_run = PG_GETARG_BOOL(1);
	po_init_srf(fcinfo);

	caller = GetUserNameFromId(GetUserId(), false);
	backends = palloc(sizeof(PoBackend) * MaxBackends);
	n = po_read_backends(backends, MaxBackends);
	now = GetCurrentTimestamp();

	for (i = 0; i < n; i++)
	{
		PoBackend  *b = &backends[i];
		TimestampTz since;

		if (b->type != B_BACKEND || b->pid == MyProcPid)
			continue;
		since = k->since(b);
		if (since == 0 || now - since < min_age || !may_signal(b))
			continue;
		act_on_one(rsinfo, b, k, kind, since, now, dry_run, caller);
	}
	return (Datum) 0;
}

Datum
po_terminate_idle_in_transaction_1_0(PG_FUNCTION_ARGS)
{
	return act_on_demand(fcinfo, PO_EVENT_IDLE_IN_TRANSACTION);
}

Datum
po_cancel_slow_statements_1_0(PG_FUNCTION_ARGS)
{
	return act_on_demand(fcinfo, PO_EVENT_SLOW_STATEMENT);
}
