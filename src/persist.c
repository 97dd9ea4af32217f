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
 * Format: a file header (PoStateHeader: magic, format version, number of
 * sections, file size), then one section per store, each a PoSectionHeader
 * {tag, version, length} and a payload of that length that the store
 * writes and reads itself through statefile.h, then a CRC-32C of
 * everything before it.  Stores save only what is in use.
 *
 * Loading never trusts the file:
 * 1. its size must be within what the current settings can make (plus
 *	  PO_STATE_SLACK), before anything is read;
 * 2. the header must be ours, of this format, and match the file's size;
 * 3. a first pass streams the file through a small buffer to check the
 *	  CRC, and a second walks the section headers, which must tile the
 *	  file exactly -- nothing is allocated by what the file says;
 * 4. then each known section is handed to its store, bounded to its
 *	  length; the store checks every field.  A section of another version
 *	  or shape is skipped (the store says so); an unknown tag is skipped.
 *	  Any invalid field, or a store that does not read its section to the
 *	  end, clears every store and ignores the whole file.
 * Each failure is logged once, as "state file ... ignored: <reason>";
 * startup never fails because of this file.
 *
 * Adding a store is one row in sections[] below.
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

#include "counters.h"
#include "events.h"
#include "guc.h"
#include "history.h"
#include "persist.h"
#include "profile.h"
#include "shmem.h"
#include "statefile.h"

#define PO_STATE_MAGIC		0x504F4F42	/* "POOB" */
#define PO_STATE_FORMAT		2
#define PO_STATE_MAX_SECTIONS	64

/* Allowance over what the current settings can make (smaller rings). */
#define PO_STATE_SLACK		((Size) 16 * 1024 * 1024)

/* Buffer of the checksum pass. */
#define PO_STATE_BUFSIZE	65536

/* The file header; its fields are at fixed offsets (tests craft files). */
typedef struct PoStateHeader
{
	uint32		magic;			/* offset 0 */
	uint32		format;			/* 4 */
	uint32		header_size;	/* 8: sizeof(PoStateHeader) */
	uint32		flags;			/* 12: 0 */
	uint32		unused;			/* 16 */
	int32		nsections;		/* 20 */
	uint64		file_size;		/* 24: the whole file, checksum included */
} PoStateHeader;

typedef struct PoSectionHeader
{
	uint32		tag;
	uint32		version;
	uint64		length;			/* of the payload that follows */
} PoSectionHeader;

/* One store's section. */
typedef struct PoStateSection
{
	uint32		tag;
	const char *name;
	uint32		version;
	Size		(*max_size) (void); /* largest payload the settings allow */
	void		(*save) (PoStateFile *sf);
	PoStateLoad (*load) (PoStateFile *sf, uint32 version);
	void		(*clear) (void);	/* forget what load restored */
} PoStateSection;

/*
 * The profile and the outcome counters check their own format (a magic or
 * version inside the section, every field) and say only whether they kept
 * it; their section version is 1.
 */
#define PO_PROFILE_SECTION_VERSION	1
#define PO_COUNTERS_SECTION_VERSION	1

static Size
profile_max_size(void)
{
	return add_size(po_profile_shmem_size(), 4096);
}

static PoStateLoad
profile_load(PoStateFile *sf, uint32 version)
{
	if (version != PO_PROFILE_SECTION_VERSION)
		return PO_STATE_SKIPPED;
	return po_profile_load(sf) ? PO_STATE_LOADED : PO_STATE_INVALID;
}

static Size
counters_max_size(void)
{
	return add_size(po_counters_shmem_size(), 4096);
}

static PoStateLoad
counters_load(PoStateFile *sf, uint32 version)
{
	if (version != PO_COUNTERS_SECTION_VERSION)
		return PO_STATE_SKIPPED;
	return po_counters_load(sf) ? PO_STATE_LOADED : PO_STATE_INVALID;
}

#define PO_TAG(a, b, c, d) \
	((uint32) (a) | ((uint32) (b) << 8) | ((uint32) (c) << 16) | ((uint32) (d) << 24))

static const PoStateSection sections[] = {
	{PO_TAG('E', 'V', 'N', 'T'), "events", PO_EVENTS_SECTION_VERSION,
	po_events_state_max_size, po_events_save, po_events_load, po_events_state_clear},
	{PO_TAG('H', 'I', 'S', 'T'), "history", PO_HISTORY_SECTION_VERSION,
	po_history_state_max_size, po_history_save, po_history_load, po_history_state_clear},
	{PO_TAG('P', 'R', 'O', 'F'), "profile", PO_PROFILE_SECTION_VERSION,
	profile_max_size, po_profile_save, profile_load, po_profile_clear_locked},
	{PO_TAG('C', 'N', 'T', 'R'), "counters", PO_COUNTERS_SECTION_VERSION,
	counters_max_size, po_counters_save, counters_load, po_counters_clear_locked},
};

#define PO_NUM_SECTIONS		lengthof(sections)

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

static void
write_failed(FILE *f)
{
	ereport(LOG,
			errcode_for_file_access(),
			errmsg("could not write pool_observer state file \"%s\": %m",
				   PO_STATE_TMPFILE));
	if (f != NULL)
		FreeFile(f);
	unlink(PO_STATE_TMPFILE);
}

/*
 * CRC-32C of the first len bytes of f, streamed through buf.  Returns
 * false on a read error or a short file.
 */
static bool
stream_crc(FILE *f, uint64 len, char *buf, pg_crc32c *crc)
{
	INIT_CRC32C(*crc);
	if (fseeko(f, 0, SEEK_SET) != 0)
		return false;
	while (len > 0)
	{
		size_t		n = (size_t) Min(len, (uint64) PO_STATE_BUFSIZE);

		if (fread(buf, 1, n, f) != n)
			return false;
		COMP_CRC32C(*crc, buf, n);
		len -= n;
	}
	FIN_CRC32C(*crc);
	return true;
}

/*
 * Write every section, each after its header; its length goes into the
 * header once the section is written.  Sets sf->failed on a write error.
 */
static void
write_sections(PoStateFile *sf)
{
	FILE	   *f = sf->f;
	int			i;

	for (i = 0; i < PO_NUM_SECTIONS && !sf->failed; i++)
	{
		PoSectionHeader sh;
		off_t		at = ftello(f);
		off_t		after;

		memset(&sh, 0, sizeof(sh));
		sh.tag = sections[i].tag;
		sh.version = sections[i].version;
		po_state_put(sf, &sh, sizeof(sh));
		sections[i].save(sf);
		after = ftello(f);
		if (at < 0 || after < 0)
		{
			sf->failed = true;
			break;
		}
		sh.length = (uint64) (after - at) - sizeof(sh);
		if (fseeko(f, at, SEEK_SET) != 0 ||
			fwrite(&sh, 1, sizeof(sh), f) != sizeof(sh) ||
			fseeko(f, after, SEEK_SET) != 0)
			sf->failed = true;
	}
}

/*
 * Write the final header (the file's size now known) and the checksum of
 * everything before it, at end.  false on a write error, with errno set.
 */
static bool
write_header_and_crc(FILE *f, PoStateHeader *hdr, off_t end)
{
	pg_crc32c	crc;
	char	   *buf;

	hdr->file_size = (uint64) end + sizeof(pg_crc32c);
	buf = palloc(PO_STATE_BUFSIZE);
	if (fseeko(f, 0, SEEK_SET) != 0 ||
		fwrite(hdr, 1, sizeof(*hdr), f) != sizeof(*hdr) ||
		fflush(f) != 0 ||
		!stream_crc(f, (uint64) end, buf, &crc) ||
		fseeko(f, end, SEEK_SET) != 0 ||
		fwrite(&crc, 1, sizeof(crc), f) != sizeof(crc) ||
		ferror(f))
	{
		pfree(buf);
		return false;
	}
	pfree(buf);
	return true;
}

/*
 * on_shmem_exit callback of the postmaster.  code != 0 means a crash or
 * an abnormal exit; an immediate shutdown exits with 0 but leaves no
 * shutdown checkpoint.  In both cases nothing is saved.
 *
 * Each section is written with its length patched in afterwards, so the
 * checksum is computed by reading the finished file back.
 */
void
po_persist_save(int code, Datum arg)
{
	FILE	   *f;
	PoStateHeader hdr;
	PoStateFile sf;
	off_t		end;

	if (code != 0 || po_shared == NULL)
		return;
	if (!shutdown_was_clean())
	{
		ereport(LOG,
				errmsg("pool_observer state not saved: the server was not shut down cleanly"));
		return;
	}

	f = AllocateFile(PO_STATE_TMPFILE, "w+b");
	if (f == NULL)
	{
		write_failed(NULL);
		return;
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = PO_STATE_MAGIC;
	hdr.format = PO_STATE_FORMAT;
	hdr.header_size = sizeof(PoStateHeader);
	hdr.nsections = PO_NUM_SECTIONS;
	memset(&sf, 0, sizeof(sf));
	sf.f = f;
	INIT_CRC32C(sf.crc);
	po_state_put(&sf, &hdr, sizeof(hdr));

	write_sections(&sf);
	end = ftello(f);
	if (sf.failed || end < 0 || !write_header_and_crc(f, &hdr, end))
	{
		write_failed(f);
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

/* The largest file the current settings can make, plus PO_STATE_SLACK. */
static uint64
max_file_size(void)
{
	uint64		size = sizeof(PoStateHeader) + sizeof(pg_crc32c) + PO_STATE_SLACK;
	int			i;

	for (i = 0; i < PO_NUM_SECTIONS; i++)
		size += sizeof(PoSectionHeader) + sections[i].max_size();
	return size;
}

static const PoStateSection *
find_section(uint32 tag)
{
	int			i;

	for (i = 0; i < PO_NUM_SECTIONS; i++)
		if (sections[i].tag == tag)
			return &sections[i];
	return NULL;
}

/*
 * Do the section headers tile the file from the header to the checksum?
 * Reads only the headers; no known tag may appear twice.
 */
static bool
sections_tile(FILE *f, const PoStateHeader *hdr)
{
	uint64		pos = sizeof(PoStateHeader);
	uint64		end = hdr->file_size - sizeof(pg_crc32c);
	bool		seen[PO_NUM_SECTIONS];
	int			i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < hdr->nsections; i++)
	{
		PoSectionHeader sh;
		const PoStateSection *sec;

		if (end - pos < sizeof(sh) ||
			fseeko(f, (off_t) pos, SEEK_SET) != 0 ||
			fread(&sh, 1, sizeof(sh), f) != sizeof(sh))
			return false;
		pos += sizeof(sh);
		if (sh.length > end - pos)
			return false;
		pos += sh.length;
		sec = find_section(sh.tag);
		if (sec != NULL)
		{
			if (seen[sec - sections])
				return false;
			seen[sec - sections] = true;
		}
	}
	return pos == end;
}

/*
 * Hand each section to its store.  Returns NULL on success, or the reason
 * to ignore the whole file.
 */
static const char *
load_sections(FILE *f, const PoStateHeader *hdr)
{
	static char why[128];
	uint64		pos = sizeof(PoStateHeader);
	int			i;

	for (i = 0; i < hdr->nsections; i++)
	{
		PoSectionHeader sh;
		const PoStateSection *sec;
		PoStateFile sf;
		PoStateLoad r;

		if (fseeko(f, (off_t) pos, SEEK_SET) != 0 ||
			fread(&sh, 1, sizeof(sh), f) != sizeof(sh))
			return "file is too short";
		pos += sizeof(sh) + sh.length;
		sec = find_section(sh.tag);
		if (sec == NULL)
			continue;			/* a store this build does not have */

		memset(&sf, 0, sizeof(sf));
		sf.f = f;
		sf.remaining = sh.length;
		INIT_CRC32C(sf.crc);
		r = sec->load(&sf, sh.version);
		if (r == PO_STATE_SKIPPED)
			continue;
		if (r == PO_STATE_INVALID || sf.failed || sf.remaining != 0)
		{
			snprintf(why, sizeof(why), "section \"%s\" is invalid", sec->name);
			return why;
		}
	}
	return NULL;
}

/*
 * Read and check the file's header, checksum and section table; NULL when
 * they are right, else why not.
 */
static const char *
check_file(FILE *f, PoStateHeader *hdr)
{
	struct stat st;
	pg_crc32c	crc;
	pg_crc32c	stored;
	char	   *buf;
	bool		crc_read;

	if (fstat(fileno(f), &st) != 0)
		return "file is too short";
	if ((uint64) st.st_size > max_file_size())
		return "file is larger than the current settings allow";
	if (st.st_size < (off_t) (sizeof(PoStateHeader) + sizeof(pg_crc32c)) ||
		fread(hdr, 1, sizeof(*hdr), f) != sizeof(*hdr))
		return "file is too short";
	if (hdr->magic != PO_STATE_MAGIC)
		return "not a pool_observer state file";
	if (hdr->format != PO_STATE_FORMAT || hdr->header_size != sizeof(PoStateHeader))
		return "written by another version of pool_observer";
	if (hdr->flags != 0 || hdr->nsections < 0 ||
		hdr->nsections > PO_STATE_MAX_SECTIONS)
		return "header is invalid";
	if (hdr->file_size != (uint64) st.st_size)
		return "file size does not match its header";

	buf = palloc(PO_STATE_BUFSIZE);
	crc_read = stream_crc(f, hdr->file_size - sizeof(pg_crc32c), buf, &crc) &&
		fread(&stored, 1, sizeof(stored), f) == sizeof(stored);
	pfree(buf);
	if (!crc_read)
		return "file is too short";
	if (!EQ_CRC32C(crc, stored))
		return "checksum mismatch";
	if (!sections_tile(f, hdr))
		return "section table is invalid";
	return NULL;
}

/*
 * Restore the stores from the file saved at the last clean shutdown, then
 * remove it.  Called in the postmaster only, with every store freshly
 * initialized (empty).
 */
void
po_persist_load(void)
{
	FILE	   *f;
	PoStateHeader hdr;
	const char *why;
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

	why = check_file(f, &hdr);
	if (why == NULL)
	{
		why = load_sections(f, &hdr);
		if (why != NULL)
		{
			for (i = 0; i < PO_NUM_SECTIONS; i++)
				sections[i].clear();
		}
	}
	if (why != NULL)
		load_failed(why);
	else
		ereport(LOG,
				errmsg("pool_observer restored %d events from \"%s\"",
					   po_events_count_used(), PO_STATE_FILE));

	FreeFile(f);
	/* never load the same state twice, e.g. after a crash */
	unlink(PO_STATE_FILE);
}
