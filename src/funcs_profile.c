/*-------------------------------------------------------------------------
 *
 * funcs_profile.c
 *	  SQL functions behind the profile and profile_history views.
 *
 * The profile is copied a chunk of entries at a time
 * (po_profile_read_entries()) and history a chunk of pool slots of one
 * bucket at a time, each under po_shared->lock in shared mode; tuples are
 * formed after it is released.  Shares are computed from
 * the rows copied, so a pool's shares add up to 1 even though the copy is
 * not one snapshot.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_profile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

#include "funcs_util.h"
#include "guc.h"
#include "history.h"
#include "profile.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(po_profile_1_1);
PG_FUNCTION_INFO_V1(po_profile_history_1_1);
PG_FUNCTION_INFO_V1(po_profile_stats_1_1);

#define PO_PROFILE_COLS_1_1			18
#define PO_PROFILE_HISTORY_COLS_1_1	17
#define PO_PROFILE_STATS_COLS_1_1	4

/* ---------------------------------------------------------------------
 * Profile helpers
 * ---------------------------------------------------------------------
 */

/* The state column; NULL for 'other' rows. */
static bool
state_datum(uint8 state, Datum *d)
{
	switch (state)
	{
		case PO_PROFILE_STATE_ACTIVE:
			*d = CStringGetTextDatum("active");
			return true;
		case PO_PROFILE_STATE_IDLE_IN_XACT:
			*d = CStringGetTextDatum("idle in transaction");
			return true;
		default:
			return false;
	}
}

/* wait_event_type and wait_event at values[first], NULL on CPU. */
static void
wait_datums(uint32 wei, Datum *values, bool *nulls, int first)
{
	const char *type = wei != 0 ? pgstat_get_wait_event_type(wei) : NULL;
	const char *name = wei != 0 ? pgstat_get_wait_event(wei) : NULL;

	nulls[first] = type == NULL;
	if (type != NULL)
		values[first] = CStringGetTextDatum(type);
	nulls[first + 1] = name == NULL;
	if (name != NULL)
		values[first + 1] = CStringGetTextDatum(name);
}

static bool
oid_datum(Oid oid, Datum *d)
{
	*d = ObjectIdGetDatum(oid);
	return OidIsValid(oid);
}

/* A pool as the profile groups it: slot and key (the overflow: slot). */
typedef struct PoolTotalKey
{
	int32		slot;
	PoPoolKey	pool;
} PoolTotalKey;

typedef struct PoolTotal
{
	PoolTotalKey key;
	uint64		busy_ms;
} PoolTotal;

static void
pool_total_key(PoolTotalKey *k, const PoProfileEntry *e, int overflow_slot)
{
	memset(k, 0, sizeof(PoolTotalKey));
	k->slot = e->key.pool_slot;
	if (k->slot != overflow_slot)
		k->pool = e->key.pool;
}

/* ---------------------------------------------------------------------
 * profile
 * ---------------------------------------------------------------------
 */

/* The whole profile, copied a chunk at a time; *nall gets the count. */
static PoProfileEntry *
read_all_entries(int *nall)
{
	int			cap = po_profile_capacity();
	PoProfileEntry *all;
	int			n = 0;
	int			pos = 0;

	all = palloc_extended(sizeof(PoProfileEntry) * (Size) cap, MCXT_ALLOC_HUGE);
	while (pos < cap && n < cap)
	{
		n += po_profile_read_entries(&pos, &all[n],
									 Min(PO_PROFILE_CHUNK, cap - n));
		CHECK_FOR_INTERRUPTS();
	}
	*nall = n;
	return all;
}

/* Each pool's busy time in the rows copied, for the shares. */
static HTAB *
pool_totals(const PoProfileEntry *all, int nall, int overflow_slot)
{
	HTAB	   *totals;
	HASHCTL		ctl;
	int			k;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PoolTotalKey);
	ctl.entrysize = sizeof(PoolTotal);
	ctl.hcxt = CurrentMemoryContext;
	totals = hash_create("pool_observer profile totals", 128, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (k = 0; k < nall; k++)
	{
		PoolTotalKey tk;
		PoolTotal  *t;
		bool		found;

		pool_total_key(&tk, &all[k], overflow_slot);
		t = hash_search(totals, &tk, HASH_ENTER, &found);
		if (!found)
			t->busy_ms = 0;
		t->busy_ms += all[k].busy_ms;
	}
	return totals;
}

/* One row of profile; its share is of its pool's total in totals. */
static void
emit_profile_row(ReturnSetInfo *rsinfo, const PoProfileEntry *e,
				 HTAB *totals, int overflow_slot)
{
	Datum		values[PO_PROFILE_COLS_1_1];
	bool		nulls[PO_PROFILE_COLS_1_1];
	PoolTotalKey tk;
	PoolTotal  *t;
	bool		overflow = e->key.pool_slot == overflow_slot;
	int			i = 0;

	memset(nulls, 0, sizeof(nulls));
	pool_total_key(&tk, e, overflow_slot);
	t = hash_search(totals, &tk, HASH_FIND, NULL);

	i = po_pool_key_datums(&e->key.pool, overflow, values, nulls, i);
	nulls[i] = !state_datum(e->key.state, &values[i]);
	i++;
	wait_datums(e->key.wait_event_info, values, nulls, i);
	i += 2;
	values[i] = Int64GetDatum((int64) e->key.query_id);
	nulls[i] = e->key.other || e->key.query_id == 0;
	i++;
	if (e->key.other || e->query[0] == '\0')
		nulls[i] = true;
	else
		values[i] = po_query_datum(e->query, PO_PROFILE_QUERY_LEN,
								   e->key.pool.roleid);
	i++;
	values[i++] = Int64GetDatum((int64) e->samples);
	values[i++] = Float8GetDatum(e->busy_ms / 1000.0);
	values[i++] = Float8GetDatum(t != NULL && t->busy_ms > 0 ?
								 (double) e->busy_ms / t->busy_ms : 0.0);
	values[i++] = TimestampTzGetDatum(e->first_seen);
	values[i++] = TimestampTzGetDatum(e->last_seen);
	values[i++] = BoolGetDatum(e->key.other);
	nulls[i] = !oid_datum(e->key.pool.roleid, &values[i]);
	i++;
	nulls[i] = !oid_datum(e->key.pool.dbid, &values[i]);
	i++;
	values[i++] = BoolGetDatum(overflow);
	Assert(i == PO_PROFILE_COLS_1_1);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
po_profile_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoProfileEntry *all;
	int			nall;
	int			overflow_slot;
	HTAB	   *totals;
	int			k;

	po_require_loaded();
	po_init_srf(fcinfo);

	overflow_slot = po_profile_pool_slots() - 1;
	all = read_all_entries(&nall);
	totals = pool_totals(all, nall, overflow_slot);
	for (k = 0; k < nall; k++)
		emit_profile_row(rsinfo, &all[k], totals, overflow_slot);
	hash_destroy(totals);
	pfree(all);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * profile_history
 * ---------------------------------------------------------------------
 */

static void
emit_history_row(ReturnSetInfo *rsinfo, TimestampTz bucket_start,
				 const PoPoolKey *key, bool overflow, bool other,
				 uint8 state, uint32 wei, uint64 query_id,
				 uint64 samples, uint64 busy_ms, uint64 pool_ms)
{
	Datum		values[PO_PROFILE_HISTORY_COLS_1_1];
	bool		nulls[PO_PROFILE_HISTORY_COLS_1_1];
	int			i = 0;

	memset(nulls, 0, sizeof(nulls));
	values[i++] = TimestampTzGetDatum(bucket_start);
	if (key == NULL)
	{
		/* the history row is gone: no pool key to show */
		nulls[i] = nulls[i + 1] = nulls[i + 2] = nulls[i + 3] = true;
		i += 4;
	}
	else
		i = po_pool_key_datums(key, overflow, values, nulls, i);
	nulls[i] = other || !state_datum(state, &values[i]);
	i++;
	wait_datums(other ? 0 : wei, values, nulls, i);
	i += 2;
	values[i] = Int64GetDatum((int64) query_id);
	nulls[i] = other || query_id == 0;
	i++;
	values[i++] = Int64GetDatum((int64) samples);
	values[i++] = Float8GetDatum(busy_ms / 1000.0);
	values[i++] = Float8GetDatum(pool_ms > 0 ? (double) busy_ms / pool_ms : 0.0);
	values[i++] = BoolGetDatum(other);
	nulls[i] = key == NULL || overflow || !oid_datum(key->roleid, &values[i]);
	i++;
	nulls[i] = key == NULL || overflow || !oid_datum(key->dbid, &values[i]);
	i++;
	values[i++] = BoolGetDatum(overflow);
	Assert(i == PO_PROFILE_HISTORY_COLS_1_1);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * Buckets oldest first.  The pool of a (bucket, slot) is the one
 * pool_history shows for it: the sampler folds both in the same cycle,
 * under the same lock, and the profile keeps no copy of the key per bucket
 * (that would double its memory).  Each chunk of slots is copied from both
 * stores under one shared lock; a bucket whose history row has been
 * overwritten since is shown without the pool key.
 */
Datum
po_profile_history_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoProfileBucketCopy copy;
	PoPoolKey	keys[PO_PROFILE_SLOT_CHUNK];
	int			hsize;
	int			nslots;
	int			cur;
	int			k;

	po_require_loaded();
	po_init_srf(fcinfo);

	hsize = po_profile_history_size();
	nslots = po_profile_pool_slots();
	cur = po_profile_cur_bucket();
	if (cur < 0 || hsize <= 0)
		return (Datum) 0;
	po_profile_bucket_alloc(&copy);

	for (k = 1; k <= hsize; k++)
	{
		int			b = (cur + k) % hsize;
		int64		seq = -1;
		int			first;

		for (first = 0; first < nslots; first += PO_PROFILE_SLOT_CHUNK)
		{
			bool		keys_ok;
			int			s;

			po_lock_shared();
			po_profile_copy_bucket_locked(b, first, &copy);
			keys_ok = copy.seq != -1 && b < po_history_size &&
				po_buckets[b].seq == copy.seq && nslots == po_pool_slots();
			if (keys_ok)
				for (s = 0; s < copy.nslots; s++)
					keys[s] = po_hist_row(b, first + s)->key;
			po_unlock_shared();

			/* empty, or started over while we read it: done with it */
			if (copy.seq == -1 || (seq != -1 && copy.seq != seq))
				break;
			seq = copy.seq;

			for (s = 0; s < copy.nslots; s++)
			{
				const PoProfileHistSlot *hs = &copy.slots[s];
				const PoProfileHistEntry *top = &copy.entries[(Size) s * copy.top];
				const PoPoolKey *key = keys_ok ? &keys[s] : NULL;
				bool		overflow = first + s == nslots - 1;
				uint64		rest_samples = hs->samples;
				uint64		rest_ms = hs->busy_ms;
				int			i;

				if (hs->samples == 0)
					continue;
				for (i = 0; i < hs->nentries && i < copy.top; i++)
				{
					emit_history_row(rsinfo, copy.bucket_start, key, overflow, false,
									 top[i].state, top[i].wait_event_info,
									 top[i].query_id, top[i].samples,
									 top[i].busy_ms, hs->busy_ms);
					rest_samples -= Min(rest_samples, (uint64) top[i].samples);
					rest_ms -= Min(rest_ms, top[i].busy_ms);
				}
				if (rest_samples > 0 || rest_ms > 0)
					emit_history_row(rsinfo, copy.bucket_start, key, overflow, true,
									 PO_PROFILE_STATE_NONE, 0, 0,
									 rest_samples, rest_ms, hs->busy_ms);
			}
			CHECK_FOR_INTERRUPTS();
		}
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * The worker view's profile columns
 * ---------------------------------------------------------------------
 */

Datum
po_profile_stats_1_1(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PoProfileStats st;
	Datum		values[PO_PROFILE_STATS_COLS_1_1];
	bool		nulls[PO_PROFILE_STATS_COLS_1_1];
	int			i = 0;

	po_require_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	po_profile_stats(&st);
	memset(nulls, 0, sizeof(nulls));
	values[i++] = BoolGetDatum(st.enabled);
	values[i++] = Int32GetDatum(st.entries_used);
	values[i++] = Int32GetDatum(st.entries_max);
	values[i++] = Int64GetDatum((int64) st.folded);
	Assert(i == PO_PROFILE_STATS_COLS_1_1);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
