/*-------------------------------------------------------------------------
 *
 * lockgraph.h
 *	  Who blocks whom, for the sessions of one sample.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/lockgraph.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_LOCKGRAPH_H
#define PO_LOCKGRAPH_H

#include "types.h"

/* pg_blocking_pids() calls per sample, at most. */
#define PO_MAX_LOCK_WAITERS		64

/* Per backend index of the sample, in the sample's memory context. */
typedef struct PoLockGraph
{
	bool		built;
	int		   *nblockers;
	int		  **blockers;		/* pids blocking backend i */
	int		   *nblocked;
	int		  **blocked;		/* pids that backend i blocks */
} PoLockGraph;

extern void po_lock_graph_build(PoLockGraph *g, const PoBackend *backends,
								int nbackends);
extern int	po_count_lock_waiters(const PoBackend *backends, int nbackends);

#endif							/* PO_LOCKGRAPH_H */
