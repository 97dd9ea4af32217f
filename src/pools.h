/*-------------------------------------------------------------------------
 *
 * pools.h
 *	  Group client backends into pools; rates, saturation, eviction.
 *
 * Layer 3.  Sampler-local: the table built here is published through
 * snapshot.c.
 *
 * IDENTIFICATION
 *	  src/pools.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_POOLS_H
#define PO_POOLS_H

#include "intake.h"
#include "snapshot.h"
#include "types.h"

extern PoPool *po_pools_local(void);
extern int	po_pools_high(void);
extern int	po_pools_busy(const int **list);
extern int	po_pools_sessions(const int **list);
extern void po_pools_reset_local(void);
extern void po_pools_begin_sample(void);
extern void po_pools_add_connection(const PoIntakeRecord *rec);
extern int	po_pools_slot_of_names(const char *datname, const char *usename,
								   const PoAddr *addr, const char *appname,
								   TimestampTz now, PoPoolKey *key);
extern int64 po_pools_build(PoBackend *backends, const int *live, int nlive,
							TimestampTz now, PoServerSample *server);

#endif							/* PO_POOLS_H */
