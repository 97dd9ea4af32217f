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
extern void po_pools_reset_local(void);
extern void po_pools_begin_sample(void);
extern bool po_pools_count_connection(const PoIntakeRecord *rec, TimestampTz now);
extern void po_pools_build(PoBackend *backends, int nbackends, TimestampTz now,
						   int64 new_conns, PoServerSample *server);

#endif							/* PO_POOLS_H */
