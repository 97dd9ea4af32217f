/*-------------------------------------------------------------------------
 *
 * cycle.h
 *	  One sample, from reading backends to publishing.
 *
 * Layer 4.
 *
 * IDENTIFICATION
 *	  src/cycle.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_CYCLE_H
#define PO_CYCLE_H

extern void po_sample_once(MemoryContext cycle_cxt);

#endif							/* PO_CYCLE_H */
