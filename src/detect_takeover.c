/*-------------------------------------------------------------------------
 *
 * detect_takeover.c
 *	  Take over the episodes a previous sampler left open.
 *
 * Read once, before the first sample: the events of the shared ring that
 * have not ended are handed to detect.c, which goes on with each as the
 * same episode or declines it; the declined ones are ended here.  This
 * file only reads and writes the ring; the episode table is detect.c's.
 *
 * Layer 3.
 *
 * IDENTIFICATION
 *	  src/detect_takeover.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "detect.h"
#include "events.h"
#include "guc.h"
#include "shmem.h"

/* Events copied at a time when taking over. */
#define PO_TAKE_OVER_CHUNK	256

/*
 * Take over the episodes a previous sampler left open in the ring.  The
 * postmaster restarts the sampler after SIGTERM or an ERROR; its episode
 * table was local and is gone, so without this an ongoing condition would
 * get a second row while the first one stayed open for ever.  Session and
 * server episodes have everything their key needs in the event and go on
 * as the same row, with their recorded action.  Pool episodes are keyed by
 * the old sampler's pool table: they end now, and a condition that
 * persists opens a new episode.  Called once, before the first sample.
 */
void
po_detect_take_over(void)
{
	PoEvent    *chunk = palloc(sizeof(PoEvent) * PO_TAKE_OVER_CHUNK);
	PoEvent    *to_end = NULL;
	int			nend = 0;
	int			maxend = 0;
	PoEventsRead r = PO_EVENTS_READ_INIT;
	int			i;

	/*
	 * Copy the ring a chunk at a time under the lock held shared, and build
	 * the episode table outside it: a hash insert may allocate (and fail),
	 * which must never happen with the lock held.
	 */
	while (!po_events_read_done(&r))
	{
		int			n = po_events_copy_chunk(&r, chunk, PO_TAKE_OVER_CHUNK);

		for (i = 0; i < n; i++)
		{
			if (chunk[i].ended_at != 0 || po_detect_adopt_event(&chunk[i]))
				continue;
			if (nend == maxend)
			{
				maxend = Max(maxend * 2, 16);
				to_end = to_end == NULL ? palloc(sizeof(PoEvent) * maxend) :
					repalloc(to_end, sizeof(PoEvent) * maxend);
			}
			memcpy(&to_end[nend], &chunk[i], sizeof(PoEvent));
			to_end[nend].ended_at = to_end[nend].last_seen_at;
			nend++;
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(chunk);

	if (nend > 0)
	{
		po_lock_exclusive();
		for (i = 0; i < nend; i++)
			po_event_update_locked(&to_end[i]);
		po_unlock_exclusive();
		pfree(to_end);
	}
}
