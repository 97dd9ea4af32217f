/*-------------------------------------------------------------------------
 *
 * persist.c
 *	  Save events and history at clean shutdown, load them at start.
 *
 * The postmaster does both, as pg_stat_statements does: it saves from its
 * shmem exit callback when every other process is gone (and not after a
 * crash or an immediate shutdown), and loads right after creating the
 * shared memory.  The file is
 * removed once read, so a crash never brings back stale state.
 *
 * Format: a header (magic, format version, record sizes and counts), the
 * events, the history buckets and their rows, then a CRC-32C of everything
 * before it.  Anything unexpected -- missing, short, foreign, from another
 * version, bad checksum -- is logged once and ignored: startup never fails
 * because of this file.
 *
 * Layer 5.
 *
 * IDENTIFICATION
 *	  src/persist.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog_internal.h"
#include "catalog/pg_control.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"

#include "events.h"
#include "guc.h"
#include "history.h"
#include "kinds.h"
#include "persist.h"
#include "shmem.h"

#define PO_STATE_FILE		"pg_stat/pool_observer.stat"
#define PO_STATE_TMPFILE	"pg_stat/pool_observer.stat.tmp"
#define PO_STATE_MAGIC		0x504F4F42	/* "POOB" */
#define PO_STATE_FORMAT		1

typedef struct PoStateHeader
{
	uint32		magic;
	uint32		format;
	uint32		sizeof_event;
	uint32		sizeof_bucket;
	uint32		sizeof_row;
	int32		nevents;
	int32		history_size;
	int32		pool_slots;
	int32		hist_cur;
	uint64		next_event_id;
} PoStateHeader;

static bool
write_all(FILE *f, const void *data, Size len, pg_crc32c *crc)
{
	COMP_CRC32C(*crc, data, len);
	return fwrite(data, 1, len, f) == len;
}

/*
 * Did the server shut down cleanly, with a shutdown checkpoint (or
 * restartpoint, on a standby)?  The postmaster exits with code 0 after an
 * immediate shutdown too, when every other process was killed wherever it
 * was -- possibly in the middle of writing the shared state -- so the exit
 * code alone does not tell.  pg_control does.  No ereport here: this runs
 * while the postmaster exits.
 */
static bool
shutdown_was_clean(void)
{
	ControlFileData control;
	pg_crc32c	crc;
	int			fd;
	bool		ok;

	fd = OpenTransientFile(XLOG_CONTROL_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	ok = read(fd, &control, sizeof(control)) == sizeof(control);
	CloseTransientFile(fd);
	if (!ok)
		return false;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &control, offsetof(ControlFileData, crc));
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, control.crc))
		return false;
	return control.state == DB_SHUTDOWNED ||
		control.state == DB_SHUTDOWNED_IN_RECOVERY;
}

/*
 * on_shmem_exit callback of the postmaster.  code != 0 means a crash or
 * an abnormal exit; an immediate shutdown exits with 0 but leaves no
 * shutdown checkpoint.  In both cases nothing is saved.
 */
void
po_persist_save(int code, Datum arg)
{
	FILE	   *f;
	PoStateHeader hdr;
	pg_crc32c	crc;
	int			i;
	bool		ok = true;

	if (code != 0 || po_shared == NULL)
		return;
	if (!shutdown_was_clean())
	{
		ereport(LOG,
				errmsg("pool_observer state not saved: the server was not shut down cleanly"));
		return;
	}

	f = AllocateFile(PO_STATE_TMPFILE, PG_BINARY_W);
	if (f == NULL)
	{
		ereport(LOG,
				errcode_for_file_access(),
				errmsg("could not write pool_observer state file \"%s\": %m",
					   PO_STATE_TMPFILE));
		return;
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = PO_STATE_MAGIC;
	hdr.format = PO_STATE_FORMAT;
	hdr.sizeof_event = sizeof(PoEvent);
	hdr.sizeof_bucket = sizeof(PoBucket);
	hdr.sizeof_row = sizeof(PoHistRow);
	hdr.history_size = po_history_size;
	hdr.pool_slots = po_pool_slots();
	hdr.hist_cur = po_history_current();
	hdr.next_event_id = po_events_next_id_locked();
	for (i = 0; i < po_max_events; i++)
		if (po_events[i].id != 0)
			hdr.nevents++;

	INIT_CRC32C(crc);
	ok = write_all(f, &hdr, sizeof(hdr), &crc);
	for (i = 0; ok && i < po_max_events; i++)
		if (po_events[i].id != 0)
			ok = write_all(f, &po_events[i], sizeof(PoEvent), &crc);
	if (ok)
		ok = write_all(f, po_buckets, sizeof(PoBucket) * po_history_size, &crc);
	if (ok)
		ok = write_all(f, po_hist_rows,
					   sizeof(PoHistRow) * po_pool_slots() * po_history_size,
					   &crc);
	FIN_CRC32C(crc);
	if (ok)
		ok = fwrite(&crc, 1, sizeof(crc), f) == sizeof(crc);

	if (!ok || ferror(f))
	{
		ereport(LOG,
				errcode_for_file_access(),
				errmsg("could not write pool_observer state file \"%s\": %m",
					   PO_STATE_TMPFILE));
		FreeFile(f);
		unlink(PO_STATE_TMPFILE);
		return;
	}
	if (FreeFile(f))
	{
		ereport(LOG,
				errcode_for_file_access(),
				errmsg("could not close pool_observer state file \"%s\": %m",
					   PO_STATE_TMPFILE));
		unlink(PO_STATE_TMPFILE);
		return;
	}
	(void) durable_rename(PO_STATE_TMPFILE, PO_STATE_FILE, LOG);
}

static void
load_failed(const char *why)
{
	ereport(LOG,
			errcode(ERRCODE_DATA_CORRUPTED),
			errmsg("pool_observer state file \"%s\" ignored: %s",
				   PO_STATE_FILE, why));
}

/*
 * Restore events and history from the file saved at the last clean
 * shutdown, then remove it.  Called in the postmaster only.
 */
void
po_persist_load(void)
{
	FILE	   *f;
	struct stat st;
	char	   *data = NULL;
	PoStateHeader hdr;
	pg_crc32c	crc;
	pg_crc32c	stored;
	Size		expected;
	Size		rows_size;
	const char *p;
	int			i;

	f = AllocateFile(PO_STATE_FILE, PG_BINARY_R);
	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					errcode_for_file_access(),
					errmsg("could not read pool_observer state file \"%s\": %m",
						   PO_STATE_FILE));
		return;
	}

	if (fstat(fileno(f), &st) != 0 || st.st_size < (off_t) sizeof(PoStateHeader))
	{
		load_failed("file is too short");
		goto done;
	}
	if (fread(&hdr, 1, sizeof(hdr), f) != sizeof(hdr))
	{
		load_failed("file is too short");
		goto done;
	}
	if (hdr.magic != PO_STATE_MAGIC)
	{
		load_failed("not a pool_observer state file");
		goto done;
	}
	if (hdr.format != PO_STATE_FORMAT ||
		hdr.sizeof_event != sizeof(PoEvent) ||
		hdr.sizeof_bucket != sizeof(PoBucket) ||
		hdr.sizeof_row != sizeof(PoHistRow))
	{
		load_failed("written by another version of pool_observer");
		goto done;
	}
	if (hdr.nevents < 0 || hdr.nevents > PO_MAX_EVENTS_MAX ||
		hdr.history_size < 0 || hdr.history_size > PO_HISTORY_SIZE_MAX ||
		hdr.pool_slots < 0 || hdr.pool_slots > PO_MAX_POOLS_MAX + 1 ||
		hdr.hist_cur < -1 || hdr.hist_cur >= hdr.history_size)
	{
		load_failed("header is invalid");
		goto done;
	}

	rows_size = (Size) hdr.sizeof_row * hdr.pool_slots * hdr.history_size;
	expected = sizeof(hdr) + (Size) hdr.nevents * sizeof(PoEvent) +
		(Size) hdr.history_size * sizeof(PoBucket) + rows_size + sizeof(pg_crc32c);
	if ((Size) st.st_size != expected)
	{
		load_failed("file size does not match its header");
		goto done;
	}

	data = palloc_extended(expected, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (data == NULL)
	{
		load_failed("out of memory");
		goto done;
	}
	memcpy(data, &hdr, sizeof(hdr));
	if (fread(data + sizeof(hdr), 1, expected - sizeof(hdr), f) !=
		expected - sizeof(hdr))
	{
		load_failed("file is too short");
		goto done;
	}
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, expected - sizeof(pg_crc32c));
	FIN_CRC32C(crc);
	memcpy(&stored, data + expected - sizeof(pg_crc32c), sizeof(stored));
	if (!EQ_CRC32C(crc, stored))
	{
		load_failed("checksum mismatch");
		goto done;
	}

	/* events: keep the newest that fit the current ring */
	p = data + sizeof(hdr);
	for (i = 0; i < hdr.nevents; i++)
	{
		PoEvent		ev;

		memcpy(&ev, p + (Size) i * sizeof(PoEvent), sizeof(PoEvent));
		if (ev.id == 0 || ev.id >= hdr.next_event_id)
			continue;
		/* the query and names were NUL-terminated when written */
		ev.query[PO_QUERY_LEN - 1] = '\0';
		ev.detail[PO_DETAIL_LEN - 1] = '\0';
		ev.datname[NAMEDATALEN - 1] = '\0';
		ev.usename[NAMEDATALEN - 1] = '\0';
		ev.appname[NAMEDATALEN - 1] = '\0';
		if (ev.id + po_max_events < hdr.next_event_id)
			continue;			/* too old for the current ring */
		/* nobody watches an episode across a restart: it ended there */
		if (ev.ended_at == 0)
			ev.ended_at = ev.last_seen_at;
		memcpy(&po_events[(ev.id - 1) % po_max_events], &ev, sizeof(PoEvent));
	}
	po_events_restore_next_id(hdr.next_event_id);
	po_shared->events_total = hdr.next_event_id - 1;

	/* history: only if its shape is the same as now */
	p += (Size) hdr.nevents * sizeof(PoEvent);
	if (hdr.history_size == po_history_size && hdr.pool_slots == po_pool_slots())
	{
		memcpy(po_buckets, p, sizeof(PoBucket) * po_history_size);
		memcpy(po_hist_rows, p + sizeof(PoBucket) * po_history_size, rows_size);
		for (i = 0; i < po_history_size * po_pool_slots(); i++)
			po_hist_rows[i].key.appname[NAMEDATALEN - 1] = '\0';
		po_history_set_current(hdr.hist_cur);
	}
	else
		ereport(LOG,
				errmsg("pool_observer history from \"%s\" discarded", PO_STATE_FILE),
				errdetail("pool_observer.history_size or pool_observer.max_pools changed since it was saved."));

	ereport(LOG,
			errmsg("pool_observer restored %d events from \"%s\"",
				   hdr.nevents, PO_STATE_FILE));

done:
	if (data != NULL)
		pfree(data);
	FreeFile(f);
	/* never load the same state twice, e.g. after a crash */
	unlink(PO_STATE_FILE);
}
