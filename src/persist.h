/*-------------------------------------------------------------------------
 *
 * persist.h
 *	  Save state at clean shutdown, load it at start.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/persist.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_PERSIST_H
#define PO_PERSIST_H

extern void po_persist_load(void);
extern void po_persist_save(int code, Datum arg);

#endif							/* PO_PERSIST_H */
