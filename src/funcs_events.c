/*-------------------------------------------------------------------------
 *
 * funcs_events.c
 *	  SQL function of the events view.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_events.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "events.h"
#include "funcs_util.h"
#include "guc.h"
#include "kinds.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(po_events_1_0);

#define PO_EVENTS_COLS_V1_0		19

/* Events copied under the lock at a time: the ring may be large. */
#define PO_EVENTS_CHUNK		256

static void
emit_event(ReturnSetInfo *rsinfo, const PoEvent *ev)
{
	Datum		values[PO_EVENTS_COLS_V1_0];
	bool		nulls[PO_EVENTS_COLS_V1_0];
	bool		session = !ev->has_pool && ev->pid != 0;
	TimestampTz until = ev->ended_at != 0 ? ev->ended_at : ev->last_seen_at;
	int			i = 0;

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int64GetDatum((int64) ev->id);
	values[i++] = CStringGetTextDatum(po_event_kind_name(ev->kind));
	values[i++] = TimestampTzGetDatum(ev->detected_at);
	values[i] = po_timestamp_or_null(ev->ended_at, &nulls[i]);
	i++;
	values[i++] = po_interval_datum(until - ev->started_at);
	nulls[i] = !session;
	values[i++] = Int32GetDatum(ev->pid);
	nulls[i] = !po_name_datum(ev->datname, &values[i]);
	i++;
	nulls[i] = !po_name_datum(ev->usename, &values[i]);
	i++;
	if (session || ev->has_pool)
		values[i] = po_safe_text(ev->appname, NAMEDATALEN);
	else
		nulls[i] = true;
	i++;
	nulls[i] = !po_addr_datum(&ev->addr, &values[i]);
	i++;
	nulls[i] = !session || ev->query_id == 0;
	values[i++] = Int64GetDatum((int64) ev->query_id);
	if (session && ev->query[0] != '\0')
		values[i] = po_query_datum(ev->query, PO_QUERY_LEN, ev->roleid);
	else
		nulls[i] = true;
	i++;
	nulls[i] = !session;
	values[i++] = po_pid_array(ev->blocked, ev->nblocked);
	values[i++] = CStringGetTextDatum(po_action_name(ev->action));
	values[i] = po_timestamp_or_null(ev->action_at, &nulls[i]);
	i++;
	if (ev->detail[0] != '\0')
		values[i] = po_safe_text(ev->detail, PO_DETAIL_LEN);
	else
		nulls[i] = true;
	i++;
	values[i++] = TimestampTzGetDatum(ev->started_at);
	values[i++] = TimestampTzGetDatum(ev->last_seen_at);
	nulls[i] = !session;
	values[i++] = po_pid_array(ev->blockers, ev->nblockers);
	Assert(i == PO_EVENTS_COLS_V1_0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Events oldest first, a chunk at a time (see po_events_copy_chunk()). */
Datum
po_events_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoEvent    *chunk;
	PoEventsRead r = PO_EVENTS_READ_INIT;

	po_require_loaded();
	po_init_srf(fcinfo);

	chunk = palloc(sizeof(PoEvent) * PO_EVENTS_CHUNK);
	while (!po_events_read_done(&r))
	{
		int			n = po_events_copy_chunk(&r, chunk, PO_EVENTS_CHUNK);
		int			i;

		for (i = 0; i < n; i++)
			emit_event(rsinfo, &chunk[i]);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(chunk);
	return (Datum) 0;
}
