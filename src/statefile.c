/*-------------------------------------------------------------------------
 *
 * statefile.c
 *	  Reading and writing one section of the state file: see statefile.h.
 *
 * Layer 0.
 *
 * IDENTIFICATION
 *	  src/statefile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "statefile.h"

void
po_state_put(PoStateFile *sf, const void *data, Size len)
{
	if (sf->failed || len == 0)
		return;
	COMP_CRC32C(sf->crc, data, len);
	if (fwrite(data, 1, len, sf->f) != len)
		sf->failed = true;
}

bool
po_state_get(PoStateFile *sf, void *data, Size len)
{
	if (sf->failed || len > sf->remaining)
		return false;
	if (len > 0 && fread(data, 1, len, sf->f) != len)
	{
		sf->failed = true;
		return false;
	}
	COMP_CRC32C(sf->crc, data, len);
	sf->remaining -= len;
	return true;
}
