/*-------------------------------------------------------------------------
 *
 * profile_state.c
 *	  The busy-time profile's section of the state file: save what is in
 *	  use, load it back validating every field.
 *
 * The postmaster alone calls these (from persist.c), so they take no
 * lock.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/profile_state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "guc.h"
#include "profile_store.h"

/* state file section */
#define PO_PROFILE_MAGIC		0x504F5052	/* "POPR" */
#define PO_PROFILE_FORMAT		2

/* The state file section's header; what follows is described at save. */
typedef struct PoProfileFileHeader
{
	uint32		magic;
	uint32		format;
	uint32		sizeof_entry;
	uint32		sizeof_slot;
	uint32		sizeof_hist_entry;
	int32		pool_slots;
	int32		history_size;
	int32		top;
	int32		nentries;		/* entries that follow */
	int32		nbuckets;		/* non-empty buckets that follow */
	int32		cur_bucket;
	int32		pad;
	int64		cur_seq;
	uint64		folded;
} PoProfileFileHeader;

/* One saved bucket: its header, then nslots non-empty slots. */
typedef struct PoProfileFileBucket
{
	int32		bucket;
	int32		nslots;
	PoProfileBucketHdr hdr;
} PoProfileFileBucket;

/* One saved slot of a bucket, followed by slot.nentries top entries. */
typedef struct PoProfileFileSlot
{
	int32		slot;
	int32		pad;
	PoProfileHistSlot hs;
} PoProfileFileSlot;

/* ---------------------------------------------------------------------
 * The state file
 *
 * Section: PoProfileFileHeader; nentries PoProfileEntry (those in use,
 * 'other' ones included); then nbuckets times a PoProfileFileBucket
 * followed by its nslots non-empty slots, each a PoProfileFileSlot
 * followed by its nentries PoProfileHistEntry.  persist.c checksums the
 * file.  The postmaster alone calls these, so they take no lock.
 * ---------------------------------------------------------------------
 */

/* Write the profile section: only what is in use. */
void
po_profile_save(PoStateFile *sf)
{
	PoProfileFileHeader hdr;
	int			i;
	int			b;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = PO_PROFILE_MAGIC;
	hdr.format = PO_PROFILE_FORMAT;
	hdr.sizeof_entry = sizeof(PoProfileEntry);
	hdr.sizeof_slot = sizeof(PoProfileHistSlot);
	hdr.sizeof_hist_entry = sizeof(PoProfileHistEntry);
	hdr.pool_slots = po_prof->pool_slots;
	hdr.history_size = po_prof->history_size;
	hdr.top = po_prof->top;
	hdr.cur_bucket = po_prof->cur_bucket;
	hdr.cur_seq = po_prof->cur_seq;
	hdr.folded = po_prof->folded;
	for (i = 0; i < total_entries(); i++)
		if (po_prof_entries[i].in_use)
			hdr.nentries++;
	for (b = 0; b < po_prof->history_size; b++)
		if (po_prof_buckets[b].seq != -1)
			hdr.nbuckets++;
	po_state_put(sf, &hdr, sizeof(hdr));

	for (i = 0; i < total_entries(); i++)
		if (po_prof_entries[i].in_use)
			po_state_put(sf, &po_prof_entries[i], sizeof(PoProfileEntry));

	for (b = 0; b < po_prof->history_size; b++)
	{
		PoProfileFileBucket fb;
		int			s;

		if (po_prof_buckets[b].seq == -1)
			continue;
		memset(&fb, 0, sizeof(fb));
		fb.bucket = b;
		fb.hdr = po_prof_buckets[b];
		for (s = 0; s < po_prof->pool_slots; s++)
			if (hist_slot(b, s)->samples > 0)
				fb.nslots++;
		po_state_put(sf, &fb, sizeof(fb));
		for (s = 0; s < po_prof->pool_slots; s++)
		{
			PoProfileFileSlot fs;
			const PoProfileHistSlot *hs = hist_slot(b, s);

			if (hs->samples == 0)
				continue;
			memset(&fs, 0, sizeof(fs));
			fs.slot = s;
			fs.hs = *hs;
			po_state_put(sf, &fs, sizeof(fs));
			po_state_put(sf, hist_top(b, s),
						 sizeof(PoProfileHistEntry) * hs->nentries);
		}
	}
}

static bool
load_failed(const char *why)
{
	ereport(LOG,
			errcode(ERRCODE_DATA_CORRUPTED),
			errmsg("pool_observer profile in the state file ignored: %s", why));
	po_profile_clear_locked();
	return false;
}

/* Is every byte of buf from the first NUL on a NUL (and is there one)? */
static bool
valid_cstring(const char *buf, Size len)
{
	const char *nul = memchr(buf, '\0', len);
	const char *p;

	if (nul == NULL)
		return false;
	for (p = nul; p < buf + len; p++)
		if (*p != '\0')
			return false;
	return true;
}

static bool
valid_addr(const PoAddr *a)
{
	int			used = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
	int			i;

	if (a->family != 0 && a->family != 4 && a->family != 6)
		return false;
	for (i = used; i < 16; i++)
		if (a->addr[i] != 0)
			return false;
	return true;
}

static bool
valid_state(uint8 state)
{
	return state == PO_PROFILE_STATE_ACTIVE ||
		state == PO_PROFILE_STATE_IDLE_IN_XACT;
}

/* Is every field of a saved entry possible, padding included? */
static bool
valid_entry(const PoProfileEntry *e, const PoProfileFileHeader *hdr)
{
	const PoProfileKey *k = &e->key;
	PoProfileKey canon;

	if (!e->in_use || k->pool_slot < 0 || k->pool_slot >= hdr->pool_slots)
		return false;
	if (!valid_addr(&k->pool.addr) ||
		!valid_cstring(k->pool.appname, NAMEDATALEN) ||
		memchr(e->query, '\0', PO_PROFILE_QUERY_LEN) == NULL)
		return false;
	/* the key is hashed as a blob: its padding must be zero */
	memset(&canon, 0, sizeof(canon));
	po_make_pool_key(&canon.pool, k->pool.dbid, k->pool.roleid,
					 &k->pool.addr, k->pool.appname);
	canon.pool_slot = k->pool_slot;
	canon.wait_event_info = k->wait_event_info;
	canon.query_id = k->query_id;
	canon.state = k->state;
	canon.other = k->other;
	if (memcmp(&canon, k, sizeof(canon)) != 0)
		return false;
	if (k->other)
	{
		if (k->state != PO_PROFILE_STATE_NONE || k->wait_event_info != 0 ||
			k->query_id != 0 || e->query[0] != '\0')
			return false;
	}
	else if (!valid_state(k->state))
		return false;
	if (e->samples == 0 || e->first_seen <= 0 || e->first_seen > e->last_seen ||
		e->busy_ms > e->samples * (uint64) 3600000 ||
		e->bucket_seq < -1 ||
		e->bucket_samples > e->samples || e->bucket_ms > e->busy_ms ||
		(e->bucket_seq == -1 && (e->bucket_samples != 0 || e->bucket_ms != 0)))
		return false;
	return true;
}

/* Is the section's header possible? */
static bool
valid_header(const PoProfileFileHeader *hdr)
{
	return hdr->pool_slots >= 1 && hdr->pool_slots <= PO_MAX_POOLS_MAX + 1 &&
		hdr->history_size >= PO_HISTORY_SIZE_MIN &&
		hdr->history_size <= PO_HISTORY_SIZE_MAX &&
		hdr->top >= PO_PROFILE_TOP_MIN && hdr->top <= PO_PROFILE_TOP_MAX &&
		hdr->nentries >= 0 &&
		hdr->nentries <= PO_MAX_PROFILE_ENTRIES_MAX + hdr->pool_slots &&
		hdr->nbuckets >= 0 && hdr->nbuckets <= hdr->history_size &&
		hdr->cur_bucket >= -1 && hdr->cur_bucket < hdr->history_size &&
		(hdr->cur_bucket == -1) == (hdr->cur_seq == -1) &&
		hdr->cur_seq >= -1 &&
		hdr->pad == 0;
}

/* Add a saved entry to its pool's 'other' entry. */
static void
fold_saved_entry(const PoProfileEntry *e)
{
	int32		idx = po_profile_other_for(&e->key, e->first_seen);
	PoProfileEntry *dst = &po_prof_entries[idx];

	if (dst->samples == 0 || e->first_seen < dst->first_seen)
		dst->first_seen = e->first_seen;
	dst->last_seen = Max(dst->last_seen, e->last_seen);
	dst->samples += e->samples;
	dst->busy_ms += e->busy_ms;
	if (dst->bucket_seq == e->bucket_seq)
	{
		dst->bucket_samples += e->bucket_samples;
		dst->bucket_ms += e->bucket_ms;
	}
	else if (e->bucket_seq > dst->bucket_seq)
	{
		dst->bucket_seq = e->bucket_seq;
		dst->bucket_samples = e->bucket_samples;
		dst->bucket_ms = e->bucket_ms;
	}
}

/* Read the hdr->nentries saved entries; false (logged) when invalid. */
static bool
load_entries(PoStateFile *sf, const PoProfileFileHeader *hdr)
{
	int			i;

	for (i = 0; i < hdr->nentries; i++)
	{
		PoProfileEntry e;
		int32		free_pos;
		int32		idx;

		if (!po_state_get(sf, &e, sizeof(e)))
			return load_failed("section is too short");
		if (!valid_entry(&e, hdr))
			return load_failed("an entry is invalid");
		if (e.key.pool_slot >= po_prof->pool_slots)
			continue;			/* max_pools was lowered */
		if (!e.key.other)
		{
			idx = po_profile_hash_find(&e.key, &free_pos);
			if (idx >= 0)
				return load_failed("an entry is duplicated");
			idx = po_profile_insert_entry(&e.key, free_pos);
			if (idx >= 0)
			{
				memcpy(&po_prof_entries[idx], &e, sizeof(PoProfileEntry));
				continue;
			}
		}
		/* an 'other' entry, or one that no longer fits */
		fold_saved_entry(&e);
	}
	return true;
}

/*
 * Read one saved slot of bucket and its top entries after prev_slot;
 * keep them when keep_history.  false (logged) when invalid.
 */
static bool
load_slot(PoStateFile *sf, const PoProfileFileHeader *hdr, int bucket,
		  bool keep_history, int *prev_slot)
{
	PoProfileFileSlot fs;
	PoProfileHistEntry top[PO_PROFILE_TOP_MAX];
	uint64		ms = 0;
	uint64		n = 0;
	int			k;

	if (!po_state_get(sf, &fs, sizeof(fs)))
		return load_failed("section is too short");
	if (fs.slot <= *prev_slot || fs.slot >= hdr->pool_slots ||
		fs.pad != 0 || fs.hs.pad != 0 ||
		fs.hs.samples == 0 ||
		fs.hs.busy_ms > fs.hs.samples * (uint64) 3600000 ||
		fs.hs.nentries < 0 || fs.hs.nentries > hdr->top)
		return load_failed("a history row is invalid");
	*prev_slot = fs.slot;
	if (!po_state_get(sf, top, sizeof(PoProfileHistEntry) * fs.hs.nentries))
		return load_failed("section is too short");
	for (k = 0; k < fs.hs.nentries; k++)
	{
		if (!valid_state(top[k].state) || top[k].samples == 0)
			return load_failed("a history row is invalid");
		ms += top[k].busy_ms;
		n += top[k].samples;
	}
	if (ms > fs.hs.busy_ms || n > fs.hs.samples)
		return load_failed("a history row is invalid");
	if (keep_history)
	{
		*hist_slot(bucket, fs.slot) = fs.hs;
		memcpy(hist_top(bucket, fs.slot), top,
			   sizeof(PoProfileHistEntry) * fs.hs.nentries);
	}
	return true;
}

/*
 * Read the hdr->nbuckets saved history buckets; keep them when
 * keep_history.  false (logged) when invalid.
 */
static bool
load_buckets(PoStateFile *sf, const PoProfileFileHeader *hdr,
			 bool keep_history)
{
	bool		cur_found = false;
	int			i;

	for (i = 0; i < hdr->nbuckets; i++)
	{
		PoProfileFileBucket fb;
		int			j;
		int			prev_slot = -1;

		if (!po_state_get(sf, &fb, sizeof(fb)))
			return load_failed("section is too short");
		if (fb.bucket < 0 || fb.bucket >= hdr->history_size ||
			fb.hdr.seq < 0 || fb.hdr.bucket_start < 0 ||
			fb.nslots < 0 || fb.nslots > hdr->pool_slots ||
			(keep_history && po_prof_buckets[fb.bucket].seq != -1))
			return load_failed("a history bucket is invalid");
		if (fb.bucket == hdr->cur_bucket)
		{
			if (fb.hdr.seq != hdr->cur_seq)
				return load_failed("a history bucket is invalid");
			cur_found = true;
		}
		if (keep_history)
			po_prof_buckets[fb.bucket] = fb.hdr;
		for (j = 0; j < fb.nslots; j++)
			if (!load_slot(sf, hdr, fb.bucket, keep_history, &prev_slot))
				return false;
	}
	if (hdr->cur_bucket >= 0 && !cur_found)
		return load_failed("the current history bucket is missing");
	return true;
}

/*
 * Read the section written by po_profile_save(), validating every field
 * before it is used.  Entries of pool slots that no longer exist are
 * dropped; those past max_profile_entries are folded into their pool's
 * 'other' entry.  The history comes back only with the same history_size,
 * max_pools and profile_top.  On anything invalid, logs why, leaves the
 * profile empty and returns false.
 */
bool
po_profile_load(PoStateFile *sf)
{
	PoProfileFileHeader hdr;
	bool		keep_history;
	int			i;

	po_profile_clear_locked();
	if (!po_state_get(sf, &hdr, sizeof(hdr)))
		return load_failed("section is too short");
	if (hdr.magic != PO_PROFILE_MAGIC)
		return load_failed("section is not a pool_observer profile");
	if (hdr.format != PO_PROFILE_FORMAT ||
		hdr.sizeof_entry != sizeof(PoProfileEntry) ||
		hdr.sizeof_slot != sizeof(PoProfileHistSlot) ||
		hdr.sizeof_hist_entry != sizeof(PoProfileHistEntry))
		return load_failed("written by another version of pool_observer");
	if (!valid_header(&hdr))
		return load_failed("header is invalid");
	if (!load_entries(sf, &hdr))
		return false;
	keep_history = hdr.history_size == po_prof->history_size &&
		hdr.pool_slots == po_prof->pool_slots && hdr.top == po_prof->top;
	if (!load_buckets(sf, &hdr, keep_history))
		return false;
	po_prof->folded = hdr.folded;

	if (keep_history)
	{
		po_prof->cur_bucket = hdr.cur_bucket;
		po_prof->cur_seq = hdr.cur_seq;
		/* the entries with time in the current bucket */
		po_prof->ntouched = 0;
		for (i = 0; i < total_entries() && po_prof->cur_bucket >= 0; i++)
			if (po_prof_entries[i].in_use &&
				po_prof_entries[i].bucket_seq == po_prof->cur_seq)
				po_prof_touched[po_prof->ntouched++] = i;
	}
	else
	{
		/* no bucket is current: no entry has time in one */
		for (i = 0; i < total_entries(); i++)
		{
			po_prof_entries[i].bucket_seq = -1;
			po_prof_entries[i].bucket_samples = 0;
			po_prof_entries[i].bucket_ms = 0;
		}
		if (hdr.nbuckets > 0)
			ereport(LOG,
					errmsg("pool_observer profile history discarded"),
					errdetail("pool_observer.history_size, pool_observer.max_pools or pool_observer.profile_top changed since it was saved."));
	}
	return true;
}
