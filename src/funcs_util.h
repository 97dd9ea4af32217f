/*-------------------------------------------------------------------------
 *
 * funcs_util.h
 *	  Datums from stored values, shared by the SQL functions.
 *
 * Layer 5 (below the funcs_*.c files that use it).
 *
 * IDENTIFICATION
 *	  src/funcs_util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_FUNCS_UTIL_H
#define PO_FUNCS_UTIL_H

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "types.h"

extern Datum po_interval_datum(int64 usecs);
extern double po_interval_seconds(const Interval *iv);
extern Datum po_safe_text(const char *s, int maxlen);
extern bool po_addr_datum(const PoAddr *addr, Datum *d);
extern bool po_name_datum(const char *name, Datum *d);
extern int	po_pool_key_datums(const PoPoolKey *key, bool overflow,
							   Datum *values, bool *nulls, int i);
extern Datum po_pid_array(const int32 *pids, int n);
extern Datum po_timestamp_or_null(TimestampTz t, bool *isnull);
extern bool po_may_read_query_of(Oid roleid);
extern Datum po_query_datum(const char *query, int maxlen, Oid roleid);

#endif							/* PO_FUNCS_UTIL_H */
