/*-------------------------------------------------------------------------
 *
 * funcs_util.c
 *	  Datums from stored values, shared by the SQL functions.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/funcs_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "funcs_util.h"

Datum
po_interval_datum(int64 usecs)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = Max(usecs, 0);
	return IntervalPGetDatum(iv);
}

/* An interval argument in seconds, a month being DAYS_PER_MONTH days. */
double
po_interval_seconds(const Interval *iv)
{
	return (double) iv->time / USECS_PER_SEC +
		(double) iv->day * SECS_PER_DAY +
		(double) iv->month * DAYS_PER_MONTH * SECS_PER_DAY;
}

/*
 * Text from a stored string: clipped to whole characters and checked in
 * this database's encoding (a session of another database may have written
 * it); invalid bytes become '?', so output never fails.
 */
Datum
po_safe_text(const char *s, int maxlen)
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

/* inet from a stored address; false for none (Unix socket). */
bool
po_addr_datum(const PoAddr *addr, Datum *d)
{
	char		buf[PO_ADDR_TEXT_LEN];

	if (!po_addr_format(addr, buf, sizeof(buf)))
		return false;
	*d = DirectFunctionCall1(inet_in, CStringGetDatum(buf));
	return true;
}

bool
po_name_datum(const char *name, Datum *d)
{
	NameData   *n;

	if (name == NULL || name[0] == '\0')
		return false;
	n = palloc0(sizeof(NameData));
	strlcpy(NameStr(*n), name, NAMEDATALEN);
	*d = NameGetDatum(n);
	return true;
}

/*
 * The four key columns of a pool, from values[i]; returns the next column.
 * The overflow pool has no key: all four are NULL.
 */
int
po_pool_key_datums(const PoPoolKey *key, bool overflow, Datum *values,
				   bool *nulls, int i)
{
	if (overflow)
	{
		nulls[i] = nulls[i + 1] = nulls[i + 2] = nulls[i + 3] = true;
		return i + 4;
	}
	nulls[i] = !po_name_datum(get_database_name(key->dbid), &values[i]);
	i++;
	nulls[i] = !po_name_datum(GetUserNameFromId(key->roleid, true), &values[i]);
	i++;
	values[i++] = po_safe_text(key->appname, NAMEDATALEN);
	nulls[i] = !po_addr_datum(&key->addr, &values[i]);
	i++;
	return i;
}

Datum
po_pid_array(const int32 *pids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = Int32GetDatum(pids[i]);
	return PointerGetDatum(construct_array(elems, n, INT4OID, sizeof(int32),
										   true, TYPALIGN_INT));
}

Datum
po_timestamp_or_null(TimestampTz t, bool *isnull)
{
	*isnull = (t == 0);
	return TimestampTzGetDatum(t);
}

/*
 * May the current user read the query text of a session of roleid?  The
 * rule of pg_stat_activity: sessions of a role whose privileges the user
 * has, or everything with pg_read_all_stats.  Every view that shows query
 * text checks it per row, so EXECUTE or SELECT granted by hand on an
 * internal function or view never shows more than pg_stat_activity would;
 * a row that fails it shows '<insufficient privilege>', as there.  A
 * session recorded without a role (InvalidOid) is readable only with
 * pg_read_all_stats.
 */
bool
po_may_read_query_of(Oid roleid)
{
	if (!OidIsValid(roleid))
		return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	return has_privs_of_role(GetUserId(), roleid) ||
		has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/*
 * A query text of a session of roleid as every view shows it: the text
 * (clipped to maxlen, see po_safe_text()) if the caller may read it,
 * '<insufficient privilege>' otherwise.
 */
Datum
po_query_datum(const char *query, int maxlen, Oid roleid)
{
	if (po_may_read_query_of(roleid))
		return po_safe_text(query, maxlen);
	return CStringGetTextDatum("<insufficient privilege>");
}
