/*-------------------------------------------------------------------------
 *
 * funcs_profile.c
 *	  SQL functions behind the profile and profile_history views.
 *
 * The profile is copied a chunk at a time (po_profile_read_entries()) and
 * history one bucket at a time, each under the profile's lock in shared
 * mode; tuples are formed after it is released.  Shares are computed from
 * the rows copied, so a pool's shares add up to 1 even though the copy is
 * not one snapshot.
 *
 * The datum helpers below are copies of the static ones in funcs.c
 * (safe_text, name_datum, addr_datum, pool_key_datums), until they move to
 * a shared helper file.
 *
 * IDENTIFICATION
 *	  src/funcs_profile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

#include "pool_observer.h"
#include "profile.h"

PG_FUNCTION_INFO_V1(po_profile_1_1);
PG_FUNCTION_INFO_V1(po_profile_history_1_1);

#define PO_PROFILE_COLS_1_1			18
#define PO_PROFILE_HISTORY_COLS_1_1	17

/* entries copied per lock acquisition */
#define PO_PROFILE_CHUNK	64

/* ---------------------------------------------------------------------
 * Helpers (copied from funcs.c)
 * ---------------------------------------------------------------------
 */

static Datum
safe_text(const char *s, int maxlen)
{
	int			len = strnlen(s, maxlen);
	char	   *copy;
	int			i;

	len = pg_mbcliplen(s, len, len);
	if (pg_verifymbstr(s, len, true))
		return PointerGetDatum(cstring_to_text_with_len(s, len));

	copy = pnstrdup(s, len);
	for (i = 0; i < len; i++)
		if ((unsigned char) copy[i] >= 0x80)
			copy[i] = '?';
	return PointerGetDatum(cstring_to_text_with_len(copy, len));
}

static bool
addr_datum(const PoAddr *addr, Datum *d)
{
	char		buf[64];

	if (addr->family == 4)
		inet_ntop(AF_INET, addr->addr, buf, sizeof(buf));
	else if (addr->family == 6)
		inet_ntop(AF_INET6, addr->addr, buf, sizeof(buf));
	else
		return false;
	*d = DirectFunctionCall1(inet_in, CStringGetDatum(buf));
	return true;
}

static bool
name_datum(const char *name, Datum *d)
{
	NameData   *n;

	if (name == NULL || name[0] == '\0')
		return false;
	n = palloc0(sizeof(NameData));
	strlcpy(NameStr(*n), name, NAMEDATALEN);
	*d = NameGetDatum(n);
	return true;
}

static void
pool_key_datums(const PoPoolKey *key, bool overflow, Datum *values,
				bool *nulls, int first)
{
	if (key == NULL || overflow)
	{
		nulls[first] = nulls[first + 1] = nulls[first + 2] = nulls[first + 3] = true;
		return;
	}
	nulls[first] = !name_datum(get_database_name(key->dbid), &values[first]);
	nulls[first + 1] = !name_datum(GetUserNameFromId(key->roleid, true),
								   &values[first + 1]);
	values[first + 2] = safe_text(key->appname, NAMEDATALEN);
	nulls[first + 3] = !addr_datum(&key->addr, &values[first + 3]);
}

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

/* May the current user read a query of this role?  As pg_stat_activity. */
static bool
may_read_query(Oid roleid)
{
	return has_privs_of_role(GetUserId(), roleid) ||
		has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/* A pool as the profile groups it: slot and key. */
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
pool_total_key(PoolTotalKey *k, const PoProfileEntry *e)
{
	memset(k, 0, sizeof(PoolTotalKey));
	k->slot = e->key.pool_slot;
	k->pool = e->key.pool;
}

static void
require_profile(void)
{
	po_require_loaded();
	if (!po_profile_attached())
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("pool_observer profile is not available"),
				errhint("Restart the server after installing this version of pool_observer."));
}

/* ---------------------------------------------------------------------
 * profile
 * ---------------------------------------------------------------------
 */

Datum
po_profile_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoProfileEntry *all;
	int			nall = 0;
	int			cap;
	int			pos = 0;
	int			overflow_slot;
	HTAB	   *totals;
	HASHCTL		ctl;
	int			i;

	require_profile();
	po_init_srf(fcinfo);

	cap = po_profile_capacity();
	overflow_slot = po_profile_pool_slots() - 1;
	all = palloc_extended(sizeof(PoProfileEntry) * (Size) cap, MCXT_ALLOC_HUGE);
	while (pos < cap)
	{
		nall += po_profile_read_entries(&pos, &all[nall],
										Min(PO_PROFILE_CHUNK, cap - nall));
		CHECK_FOR_INTERRUPTS();
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PoolTotalKey);
	ctl.entrysize = sizeof(PoolTotal);
	ctl.hcxt = CurrentMemoryContext;
	totals = hash_create("pool_observer profile totals", 128, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < nall; i++)
	{
		PoolTotalKey k;
		PoolTotal  *t;
		bool		found;

		pool_total_key(&k, &all[i]);
		t = hash_search(totals, &k, HASH_ENTER, &found);
		if (!found)
			t->busy_ms = 0;
		t->busy_ms += all[i].busy_ms;
	}

	for (i = 0; i < nall; i++)
	{
		const PoProfileEntry *e = &all[i];
		Datum		values[PO_PROFILE_COLS_1_1];
		bool		nulls[PO_PROFILE_COLS_1_1];
		PoolTotalKey k;
		PoolTotal  *t;
		bool		overflow = e->key.pool_slot == overflow_slot;
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		pool_total_key(&k, e);
		t = hash_search(totals, &k, HASH_FIND, NULL);

		pool_key_datums(&e->key.pool, overflow, values, nulls, c);
		c += 4;
		nulls[c] = !state_datum(e->key.state, &values[c]);
		c++;
		wait_datums(e->key.wait_event_info, values, nulls, c);
		c += 2;
		values[c] = Int64GetDatum((int64) e->key.query_id);
		nulls[c] = e->key.other || e->key.query_id == 0;
		c++;
		if (e->key.other || e->query[0] == '\0')
			nulls[c] = true;
		else if (may_read_query(e->key.pool.roleid))
			values[c] = safe_text(e->query, PO_PROFILE_QUERY_LEN);
		else
			values[c] = CStringGetTextDatum("<insufficient privilege>");
		c++;
		values[c++] = Int64GetDatum((int64) e->samples);
		values[c++] = Float8GetDatum(e->busy_ms / 1000.0);
		values[c++] = Float8GetDatum(t != NULL && t->busy_ms > 0 ?
									 (double) e->busy_ms / t->busy_ms : 0.0);
		values[c++] = TimestampTzGetDatum(e->first_seen);
		values[c++] = TimestampTzGetDatum(e->last_seen);
		values[c++] = BoolGetDatum(e->key.other);
		nulls[c] = !oid_datum(e->key.pool.roleid, &values[c]);
		c++;
		nulls[c] = !oid_datum(e->key.pool.dbid, &values[c]);
		c++;
		values[c++] = BoolGetDatum(overflow);
		Assert(c == PO_PROFILE_COLS_1_1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
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
	int			c = 0;

	memset(nulls, 0, sizeof(nulls));
	values[c++] = TimestampTzGetDatum(bucket_start);
	pool_key_datums(key, overflow, values, nulls, c);
	c += 4;
	nulls[c] = other || !state_datum(state, &values[c]);
	c++;
	wait_datums(other ? 0 : wei, values, nulls, c);
	c += 2;
	values[c] = Int64GetDatum((int64) query_id);
	nulls[c] = other || query_id == 0;
	c++;
	values[c++] = Int64GetDatum((int64) samples);
	values[c++] = Float8GetDatum(busy_ms / 1000.0);
	values[c++] = Float8GetDatum(pool_ms > 0 ? (double) busy_ms / pool_ms : 0.0);
	values[c++] = BoolGetDatum(other);
	nulls[c] = key == NULL || !oid_datum(key->roleid, &values[c]);
	c++;
	nulls[c] = key == NULL || !oid_datum(key->dbid, &values[c]);
	c++;
	values[c++] = BoolGetDatum(overflow);
	Assert(c == PO_PROFILE_HISTORY_COLS_1_1);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * Buckets oldest first.  The pool of a (bucket, slot) is the one
 * pool_history shows for it: the sampler folds both in the same cycle, and
 * the profile keeps no copy of the key per bucket (that would double its
 * memory).  A bucket whose history row has been overwritten since is shown
 * without the pool key.
 */
Datum
po_profile_history_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PoProfileBucketCopy copy;
	PoPoolKey  *keys;
	int			hsize;
	int			nslots;
	int			cur;
	int			k;

	require_profile();
	po_init_srf(fcinfo);

	hsize = po_profile_history_size();
	nslots = po_profile_pool_slots();
	cur = po_profile_cur_bucket();
	if (cur < 0 || hsize <= 0)
		return (Datum) 0;
	po_profile_bucket_alloc(&copy);
	keys = palloc(sizeof(PoPoolKey) * nslots);

	for (k = 1; k <= hsize; k++)
	{
		int			b = (cur + k) % hsize;
		bool		keys_ok;
		int			s;

		po_profile_read_bucket(b, &copy);
		if (copy.seq == -1)
			continue;

		LWLockAcquire(po_shared->lock, LW_SHARED);
		keys_ok = b < po_history_size && po_buckets[b].seq == copy.seq &&
			nslots == po_pool_slots();
		if (keys_ok)
			for (s = 0; s < nslots; s++)
				keys[s] = po_hist_row(b, s)->key;
		LWLockRelease(po_shared->lock);

		for (s = 0; s < nslots; s++)
		{
			const PoProfileHistSlot *hs = &copy.slots[s];
			const PoProfileHistEntry *top = &copy.entries[(Size) s * copy.top];
			const PoPoolKey *key = keys_ok ? &keys[s] : NULL;
			bool		overflow = s == nslots - 1;
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
	return (Datum) 0;
}
