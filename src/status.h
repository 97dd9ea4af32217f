/*-------------------------------------------------------------------------
 *
 * status.h
 *	  Reading backend status.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/status.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_STATUS_H
#define PO_STATUS_H

#include "events.h"
#include "types.h"

extern bool po_status_attach(void);
extern bool po_status_direct(void);
extern int	po_read_backends(PoBackend *out, int max);
extern int	po_sample_backends(PoBackend **backends, PoBackend *buf,
							   const int **live, int *nlive);
extern void po_read_xmin(PoBackend *b);
extern bool po_reread_backend(const PoBackend *old, PoBackend *cur);
extern void po_read_query(const PoBackend *be, char *buf, Size len);
extern void po_fill_event_session(PoEvent *ev, const PoBackend *be);

#endif							/* PO_STATUS_H */
