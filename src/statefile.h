/*-------------------------------------------------------------------------
 *
 * statefile.h
 *	  Reading and writing one section of the state file.
 *
 * persist.c owns the file: its header, the order of the sections, the
 * checksum, and what happens when anything is wrong.  Each store writes and
 * reads its own section through these two calls, so it never sees the
 * file's layout and can never read past its section.
 *
 * Layer 0.
 *
 * IDENTIFICATION
 *	  src/statefile.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PO_STATEFILE_H
#define PO_STATEFILE_H

#include <stdio.h>

#include "port/pg_crc32c.h"

/* The state file, relative to the data directory. */
#define PO_STATE_FILE		"pg_stat/pool_observer.stat"
#define PO_STATE_TMPFILE	"pg_stat/pool_observer.stat.tmp"

typedef struct PoStateFile
{
	FILE	   *f;
	pg_crc32c	crc;			/* of everything written or read so far */
	uint64		remaining;		/* reading: bytes left in this section */
	bool		failed;			/* a write failed, or a read ran short */
} PoStateFile;

/* What a store's load function found in its section. */
typedef enum PoStateLoad
{
	PO_STATE_LOADED,			/* read and restored */
	PO_STATE_SKIPPED,			/* another shape (version, sizes): left as is */
	PO_STATE_INVALID			/* a field is out of range: ignore the file */
} PoStateLoad;

/* Append len bytes (saving). */
extern void po_state_put(PoStateFile *sf, const void *data, Size len);

/*
 * Read len bytes of the current section (loading).  Returns false, and
 * reads nothing, if the section has fewer than len bytes left.
 */
extern bool po_state_get(PoStateFile *sf, void *data, Size len);

#endif							/* PO_STATEFILE_H */
