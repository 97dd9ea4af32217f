/*-------------------------------------------------------------------------
 *
 * detect.h
 *	  Turn successive samples into event episodes, and act on them.
 *
 * Layer 3.
 *
 * IDENTIFICATION
 *	  src/detect.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_DETECT_H
#define PO_DETECT_H

#include "events.h"
#include "lockgraph.h"
#include "snapshot.h"
#include "types.h"

/* One sample, as the cycle hands it to detection. */
typedef struct PoSample
{
	TimestampTz now;
	PoBackend  *backends;
	int			nbackends;
	PoPool	   *pools;			/* the sampler's pool table */
	int			pool_high;		/* po_pools_high() */
	const int  *sessions;		/* po_pools_sessions() */
	int			nsessions;
	PoServerSample *server;		/* detection fills server->over[] */
	PoLockGraph graph;			/* built only when needed */
} PoSample;

extern void po_detect(PoSample *s);
extern void po_detect_publish_locked(void);
extern void po_detect_after_publish(void);
extern void po_detect_reset_local(void);
extern bool po_detect_adopt_event(const PoEvent *ev);

/* detect_takeover.c */
extern void po_detect_take_over(void);

#endif							/* PO_DETECT_H */
