/*-------------------------------------------------------------------------
 *
 * util.c
 *	  Small helpers on the shared types: addresses, pool keys, name lists.
 *
 * Layer 0.
 *
 * IDENTIFICATION
 *	  src/util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include "nodes/pg_list.h"
#include "utils/varlena.h"

#include "types.h"

void
po_addr_from_sockaddr(const struct sockaddr_storage *ss, PoAddr *out)
{
	memset(out, 0, sizeof(PoAddr));
	if (ss->ss_family == AF_INET)
	{
		out->family = 4;
		memcpy(out->addr, &((const struct sockaddr_in *) ss)->sin_addr, 4);
	}
	else if (ss->ss_family == AF_INET6)
	{
		out->family = 6;
		memcpy(out->addr, &((const struct sockaddr_in6 *) ss)->sin6_addr, 16);
	}
}

/*
 * Write addr as text into buf.  Returns false, with buf empty, for no
 * address (a Unix socket).
 */
bool
po_addr_format(const PoAddr *addr, char *buf, Size len)
{
	buf[0] = '\0';
	if (addr->family == 4)
		return inet_ntop(AF_INET, addr->addr, buf, len) != NULL;
	if (addr->family == 6)
		return inet_ntop(AF_INET6, addr->addr, buf, len) != NULL;
	return false;
}

void
po_make_pool_key(PoPoolKey *key, Oid dbid, Oid roleid, const PoAddr *addr,
				 const char *appname)
{
	memset(key, 0, sizeof(PoPoolKey));
	key->dbid = dbid;
	key->roleid = roleid;
	key->addr = *addr;
	strlcpy(key->appname, appname, NAMEDATALEN);
}

/*
 * Split a comma-separated list of names (double quotes keep commas, spaces
 * and upper case).  Returns NIL, and sets *ok to false, on bad syntax.
 * The caller frees *raw and the list.
 */
static List *
split_list(const char *list, char **raw, bool *ok)
{
	List	   *elems = NIL;

	*raw = pstrdup(list);
	*ok = SplitGUCList(*raw, ',', &elems);
	return elems;
}

/* Is name in a comma-separated list (exact match)? */
bool
po_name_in_list(const char *name, const char *list)
{
	char	   *raw;
	List	   *elems;
	ListCell   *lc;
	bool		ok;
	bool		found = false;

	if (name == NULL || list == NULL || list[0] == '\0')
		return false;
	elems = split_list(list, &raw, &ok);
	foreach(lc, elems)
	{
		if (strcmp((char *) lfirst(lc), name) == 0)
		{
			found = true;
			break;
		}
	}
	list_free(elems);
	pfree(raw);
	return found;
}

/*
 * Is application_name appname in a comma-separated list?  The server
 * stores application_name rewritten (po_clean_ascii(): non-ASCII bytes
 * become '?' on 15, \xNN from 16) and truncated to NAMEDATALEN - 1 bytes,
 * so each list entry is rewritten the same way before the exact match:
 * 'café-worker' in the list matches a session that connected as
 * café-worker.
 */
bool
po_appname_in_list(const char *appname, const char *list)
{
	char	   *raw;
	List	   *elems;
	ListCell   *lc;
	bool		ok;
	bool		found = false;

	if (appname == NULL || list == NULL || list[0] == '\0')
		return false;
	elems = split_list(list, &raw, &ok);
	foreach(lc, elems)
	{
		char		clean[NAMEDATALEN];

		po_clean_ascii((const char *) lfirst(lc), clean, sizeof(clean));
		if (strcmp(clean, appname) == 0)
		{
			found = true;
			break;
		}
	}
	list_free(elems);
	pfree(raw);
	return found;
}

/*
 * Microseconds of the monotonic clock: the same in every process of the
 * machine, and never stepped by a change of the wall clock.
 */
int64
po_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Validate a list setting.  Returns false on bad syntax, or with the first
 * name that is too long copied into toolong (otherwise left empty).
 */
bool
po_check_name_list(const char *list, char *toolong, Size len)
{
	char	   *raw;
	List	   *elems;
	ListCell   *lc;
	bool		ok;

	toolong[0] = '\0';
	if (list == NULL || list[0] == '\0')
		return true;
	elems = split_list(list, &raw, &ok);
	if (ok)
	{
		foreach(lc, elems)
		{
			if (strlen((char *) lfirst(lc)) >= NAMEDATALEN)
			{
				strlcpy(toolong, (char *) lfirst(lc), len);
				ok = false;
				break;
			}
		}
	}
	list_free(elems);
	pfree(raw);
	return ok;
}
