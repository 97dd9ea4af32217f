/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Role and database names, OIDs and the superuser flag.
 *
 * In an ordinary backend (the SQL functions) these are syscache lookups.
 * The sampler is connected to no database and keeps small caches of its
 * own, read from the shared catalogs inside a transaction that
 * po_catalog_begin_cycle() / po_catalog_end_cycle() bracket.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
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

#include "catalog.h"

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
catalog_xact_begin(void)
{
	if (!IsTransactionState())
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		catalog_xact_started = true;
	}
}

/*
 * The sampler brackets each sample with these: lookups during the sample
 * start a transaction only if they need the catalogs, and the end of the
 * cycle commits it.
 */
void
po_catalog_begin_cycle(void)
{
	Assert(!catalog_xact_started);
}

void
po_catalog_end_cycle(void)
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

	catalog_xact_begin();
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
		catalog_xact_begin();
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

/*
 * Make the next lookups reflect every role and database change committed
 * so far: a decision to act (policy.c) must not use a superuser flag or a
 * role name up to a minute old.  The invalidation messages of pg_authid
 * and pg_database tell whether anything changed since the maps were built;
 * only then are they rebuilt, so a steady catalog costs nothing.  In a
 * backend, the syscache is brought up to date the same way.
 */
void
po_catalog_refresh(void)
{
	catalog_xact_begin();
	AcceptInvalidationMessages();
	if (!have_database() && (role_by_oid == NULL || maps_stale))
		build_maps();
}

/* Forget the cached names: the next lookup reads the catalogs again. */
void
po_catalog_forget(void)
{
	maps_built_at = 0;
}
