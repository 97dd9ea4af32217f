/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Role and database names, OIDs and the superuser flag.
 *
 * Layer 2.
 *
 * IDENTIFICATION
 *	  src/catalog.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_CATALOG_H
#define PO_CATALOG_H

extern void po_catalog_begin_cycle(void);
extern void po_catalog_end_cycle(void);
extern void po_catalog_forget(void);
extern void po_catalog_refresh(void);
extern const char *po_role_name(Oid roleid);
extern bool po_role_is_superuser(Oid roleid);
extern const char *po_database_name(Oid dbid);
extern Oid	po_role_oid(const char *name);
extern Oid	po_database_oid(const char *name);

#endif							/* PO_CATALOG_H */
