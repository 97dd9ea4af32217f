/*-------------------------------------------------------------------------
 *
 * hooks.h
 *	  Hooks that run in other backends: they write to the intake ring only.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/hooks.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_HOOKS_H
#define PO_HOOKS_H

extern void po_hooks_install(void);

#endif							/* PO_HOOKS_H */
