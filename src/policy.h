/*-------------------------------------------------------------------------
 *
 * policy.h
 *	  Whether the sampler may cancel or terminate a session, and sending
 *	  the signal safely.
 *
 * Layer 3.
 *
 * IDENTIFICATION
 *	  src/policy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_POLICY_H
#define PO_POLICY_H

#include "events.h"
#include "kinds.h"
#include "types.h"

extern PoAction po_policy_decide(const PoBackend *be, PoSignal sig,
								 char *why, Size whylen);
extern bool po_signal_session(const PoBackend *be, const PoKindInfo *kind);
extern void po_policy_reset_local(void);
extern void po_policy_give_back(void);
extern void po_record_on_demand(PoEvent *ev);

#endif							/* PO_POLICY_H */
