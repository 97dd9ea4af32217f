/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The sampler background worker.
 *
 * Layer 4.
 *
 * IDENTIFICATION
 *	  src/worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_WORKER_H
#define PO_WORKER_H

#include "fmgr.h"

extern PGDLLEXPORT void po_worker_main(Datum main_arg);
extern void po_register_worker(void);

#endif							/* PO_WORKER_H */
