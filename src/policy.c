/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Whether to cancel or terminate a session, and doing it safely.
 *
 * The order of the checks is the contract: superusers (unless
 * act_on_superusers), then exempt roles and applications, then dry run,
 * then the rate limit.  Just before the signal the session is read again
 * and must still be the same one: same pid, same backend start, and the
 * same transaction or statement start, so a reused pid is never hit.
 *
 * Also here: the sampler's small caches of role and database names, which
 * need catalog access and so a transaction; the sampler is connected to no
 * database and reads only the shared catalogs.
 *
 * IDENTIFICATION
 *	  src/policy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "pool_observer.h"

/* ---------------------------------------------------------------------
 * Name caches
 *
 * The sampler is connected to no database, and until the shared relcache
 * init file exists it cannot use the shared catalogs' indexes, so syscache
 * lookups are out.  Like the autovacuum launcher it scans pg_authid and
 * pg_database instead, whole: on a miss at once if a role or database
 * changed since the last scan (the syscache invalidation messages still
 * arrive and tell), otherwise at most once a second on a miss, and at least
 * once a minute so renames and drops show up.  Ordinary backends (the
 * on-demand functions) use the syscache.
 * ---------------------------------------------------------------------
 */
typedef struct PoOidName
{
	Oid			oid;
	bool		superuser;
	char		name[NAMEDATALEN];
} PoOidName;

typedef struct PoNameOid
{
	char		name[NAMEDATALEN];
	Oid			oid;
} PoNameOid;

static HTAB *role_by_oid = NULL;
static HTAB *db_by_oid = NULL;
static HTAB *role_by_name = NULL;
static HTAB *db_by_name = NULL;
static TimestampTz maps_built_at = 0;
static bool maps_stale = false; /* pg_authid or pg_database changed since */
static bool maps_callbacks_registered = false;
static bool catalog_xact_started = false;

#define PO_MAPS_TTL_US		(60 * USECS_PER_SEC)
#define PO_MAPS_MIN_AGE_US	(1 * USECS_PER_SEC)

/* Rate limit: times of the most recent actions, a ring of the limit's size. */
static TimestampTz *action_times = NULL;
static int	action_times_size = 0;
static int	action_times_next = 0;

static HTAB *
make_map(const char *name, Size keysize, Size entrysize, bool blobs)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = TopMemoryContext;
	return hash_create(name, 64, &ctl,
					   HASH_ELEM | HASH_CONTEXT | (blobs ? HASH_BLOBS : HASH_STRINGS));
}

/* Make catalog access possible; a no-op inside a backend's transaction. */
static void
catalog_begin(void)
{
	if (!IsTransactionState())
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		catalog_xact_started = true;
	}
}

/* End the transaction catalog_begin() started, if any. */
void
po_catalog_done(void)
{
	if (catalog_xact_started)
	{
		CommitTransactionCommand();
		catalog_xact_started = false;
	}
}

static void
map_add(HTAB *by_oid, HTAB *by_name, Oid oid, const char *name, bool super)
{
	PoOidName  *e;
	PoNameOid  *n;
	char		key[NAMEDATALEN];

	e = hash_search(by_oid, &oid, HASH_ENTER, NULL);
	e->superuser = super;
	strlcpy(e->name, name, NAMEDATALEN);
	memset(key, 0, sizeof(key));
	strlcpy(key, name, NAMEDATALEN);
	n = hash_search(by_name, key, HASH_ENTER, NULL);
	n->oid = oid;
}

/* Syscache callback: a role or a database was created, changed or dropped. */
static void
maps_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	maps_stale = true;
}

/* Read all roles and databases into the maps. */
static void
build_maps(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	if (!maps_callbacks_registered)
	{
		CacheRegisterSyscacheCallback(AUTHOID, maps_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(DATABASEOID, maps_invalidate, (Datum) 0);
		maps_callbacks_registered = true;
	}

	if (role_by_oid != NULL)
	{
		hash_destroy(role_by_oid);
		hash_destroy(db_by_oid);
		hash_destroy(role_by_name);
		hash_destroy(db_by_name);
	}
	role_by_oid = make_map("pool_observer roles", sizeof(Oid), sizeof(PoOidName), true);
	db_by_oid = make_map("pool_observer databases", sizeof(Oid), sizeof(PoOidName), true);
	role_by_name = make_map("pool_observer role names", NAMEDATALEN, sizeof(PoNameOid), false);
	db_by_name = make_map("pool_observer database names", NAMEDATALEN, sizeof(PoNameOid), false);
	maps_built_at = GetCurrentTimestamp();

	catalog_begin();
	/* changes after this snapshot will mark the maps stale again */
	AcceptInvalidationMessages();
	maps_stale = false;
	(void) GetTransactionSnapshot();

	rel = table_open(AuthIdRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_authid role = (Form_pg_authid) GETSTRUCT(tup);

		map_add(role_by_oid, role_by_name, role->oid,
				NameStr(role->rolname), role->rolsuper);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		map_add(db_by_oid, db_by_name, db->oid, NameStr(db->datname), false);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * Look key up in map; on a miss, rebuild the maps (at most once a second)
 * and look again.
 */
static void *
map_lookup(HTAB **map, const void *key)
{
	TimestampTz now = GetCurrentTimestamp();
	void	   *e;

	if (*map == NULL || now - maps_built_at >= PO_MAPS_TTL_US)
		build_maps();
	e = hash_search(*map, key, HASH_FIND, NULL);
	if (e == NULL)
	{
		/*
		 * Not known: rebuild at once if a role or database changed since
		 * the maps were built (a session of a database created a moment ago
		 * must not get an empty name for good), else at most once a second.
		 */
		catalog_begin();
		AcceptInvalidationMessages();
		if (maps_stale || now - maps_built_at >= PO_MAPS_MIN_AGE_US)
		{
			build_maps();
			e = hash_search(*map, key, HASH_FIND, NULL);
		}
	}
	return e;
}

static inline bool
have_database(void)
{
	return OidIsValid(MyDatabaseId);
}

const char *
po_role_name(Oid roleid)
{
	PoOidName  *e;

	if (!OidIsValid(roleid))
		return NULL;
	if (have_database())
		return GetUserNameFromId(roleid, true);
	e = map_lookup(&role_by_oid, &roleid);
	return e ? e->name : NULL;
}

bool
po_role_is_superuser(Oid roleid)
{
	PoOidName  *e;

	if (!OidIsValid(roleid))
		return false;
	if (have_database())
		return superuser_arg(roleid);
	e = map_lookup(&role_by_oid, &roleid);
	return e ? e->superuser : false;
}

const char *
po_database_name(Oid dbid)
{
	PoOidName  *e;

	if (!OidIsValid(dbid))
		return NULL;
	if (have_database())
		return get_database_name(dbid);
	e = map_lookup(&db_by_oid, &dbid);
	return e ? e->name : NULL;
}

static Oid
name_to_oid(HTAB **map, const char *name)
{
	char		key[NAMEDATALEN];
	PoNameOid  *e;

	if (name[0] == '\0')
		return InvalidOid;
	memset(key, 0, sizeof(key));
	strlcpy(key, name, NAMEDATALEN);
	e = map_lookup(map, key);
	return e ? e->oid : InvalidOid;
}

Oid
po_role_oid(const char *name)
{
	if (have_database())
		return get_role_oid(name, true);
	return name_to_oid(&role_by_name, name);
}

Oid
po_database_oid(const char *name)
{
	if (have_database())
		return get_database_oid(name, true);
	return name_to_oid(&db_by_name, name);
}

/* ---------------------------------------------------------------------
 * Policy
 * ---------------------------------------------------------------------
 */

/* Forget caches and the rate-limit window (reload or reset()). */
void
po_policy_reset_local(void)
{
	maps_built_at = 0;
	if (action_times != NULL && action_times_size != po_max_actions_per_minute)
	{
		pfree(action_times);
		action_times = NULL;
		action_times_size = 0;
		action_times_next = 0;
	}
}

/*
 * Is name in a comma-separated list (exact match, quotes allowed)?
 * The list was validated by the setting's check hook.
 */
bool
po_name_in_list(const char *name, const char *list)
{
	char	   *raw;
	List	   *elems;
	ListCell   *lc;
	bool		found = false;

	if (name == NULL || list == NULL || list[0] == '\0')
		return false;
	raw = pstrdup(list);
	if (SplitGUCList(raw, ',', &elems))
	{
		foreach(lc, elems)
		{
			if (strcmp((char *) lfirst(lc), name) == 0)
			{
				found = true;
				break;
			}
		}
	}
	list_free(elems);
	pfree(raw);
	return found;
}

/*
 * Take one slot of the rate limit: allowed while fewer than
 * max_actions_per_minute actions happened in the last 60 seconds.
 */
static bool
take_rate_slot(TimestampTz now)
{
	int			limit = po_max_actions_per_minute;
	TimestampTz oldest;

	if (limit <= 0)
		return false;
	if (action_times == NULL)
	{
		action_times = MemoryContextAllocZero(TopMemoryContext,
											  sizeof(TimestampTz) * limit);
		action_times_size = limit;
		action_times_next = 0;
	}
	/* the slot we would overwrite holds the limit-th most recent action */
	oldest = action_times[action_times_next];
	if (oldest != 0 && now - oldest < 60 * USECS_PER_SEC)
		return false;
	action_times[action_times_next] = now;
	action_times_next = (action_times_next + 1) % action_times_size;
	return true;
}

/*
 * Decide what to do about a session past an action threshold.  Returns
 * TERMINATED/CANCELLED when the signal should be sent now, or the action to
 * record instead.  why receives a short reason for the event's detail.
 */
PoAction
po_policy_decide(const PoBackend *be, PoSignal sig,
				 char *why, Size whylen)
{
	const char *rolname = po_role_name(be->roleid);

	why[0] = '\0';
	if (!po_act_on_superusers && po_role_is_superuser(be->roleid))
	{
		snprintf(why, whylen, "superuser session");
		return PO_ACTION_EXEMPT;
	}
	if (po_name_in_list(rolname, po_exempt_roles))
	{
		snprintf(why, whylen, "role in pool_observer.exempt_roles");
		return PO_ACTION_EXEMPT;
	}
	if (po_name_in_list(be->appname, po_exempt_applications))
	{
		snprintf(why, whylen, "application in pool_observer.exempt_applications");
		return PO_ACTION_EXEMPT;
	}
	if (!take_rate_slot(GetCurrentTimestamp()))
	{
		snprintf(why, whylen, "pool_observer.max_actions_per_minute reached");
		return PO_ACTION_SUPPRESSED;
	}
	if (po_dry_run)
	{
		snprintf(why, whylen, "pool_observer.dry_run is on");
		return sig == PO_SIGNAL_TERMINATE ?
			PO_ACTION_WOULD_TERMINATE : PO_ACTION_WOULD_CANCEL;
	}
	return sig == PO_SIGNAL_TERMINATE ?
		PO_ACTION_TERMINATED : PO_ACTION_CANCELLED;
}

/*
 * Is "cur" still the session "old" was, in the state that made us act?
 */
static bool
same_session(const PoBackend *old, const PoBackend *cur, int kind)
{
	if (cur->pid != old->pid || cur->backend_start != old->backend_start ||
		cur->type != B_BACKEND)
		return false;
	switch (kind)
	{
		case PO_EVENT_IDLE_IN_TRANSACTION:
			return po_is_idle_in_xact(cur->state) &&
				cur->state_change == old->state_change;
		case PO_EVENT_LONG_TRANSACTION:
			return cur->xact_start != 0 && cur->xact_start == old->xact_start;
		case PO_EVENT_SLOW_STATEMENT:
			return (cur->state == STATE_RUNNING || cur->state == STATE_FASTPATH) &&
				cur->query_start == old->query_start;
		default:
			return false;
	}
}

/*
 * Send the signal if the session is still the one we decided about.
 * Returns false (and sends nothing) otherwise.
 */
bool
po_signal_session(const PoBackend *be, int kind, PoSignal sig)
{
	PoBackend	cur;
	int			signo = sig == PO_SIGNAL_TERMINATE ? SIGTERM : SIGINT;

	if (be->pid == MyProcPid || be->pid <= 0)
		return false;
	memset(&cur, 0, sizeof(cur));
	if (!po_reread_backend(be, &cur) || !same_session(be, &cur, kind))
		return false;

	/* as pg_signal_backend() does: the whole process group if any */
#ifdef HAVE_SETSID
	if (kill(-be->pid, signo) == 0)
		return true;
#endif
	return kill(be->pid, signo) == 0;
}
