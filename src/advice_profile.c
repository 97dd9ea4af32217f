/*-------------------------------------------------------------------------
 *
 * advice_profile.c
 *	  The advice's top queries: per pool, the busy time per query id over
 *	  the profile buckets of the window, the top query and the top query
 *	  idle in transaction, and their texts.
 *
 * The profile rows of a bucket belong to the pool its history row names
 * (see po_profile_history_1_1()): funcs_advice.c adds each profile bucket
 * after its history bucket, whose pools advice_history.c noted in
 * st->slot_pool.  They are summed per pool and query id; the texts of each
 * pool's top queries are then looked up in one pass over the cumulative
 * profile.
 *
 * Layer 5 (below funcs_advice.c, which uses it).
 *
 * IDENTIFICATION
 *	  src/advice_profile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/wait_event.h"

#include "advice.h"
#include "funcs_util.h"
#include "guc.h"
#include "profile.h"
#include "shmem.h"

/*
 * Busy time per pool and query id, over the profile buckets of the window.
 * The key is the pool's index, not its key: one small hash per top entry.
 */
typedef struct AdviceQueryKey
{
	int32		pool;
	int32		pad;
	uint64		query_id;
} AdviceQueryKey;

typedef struct AdviceQuery
{
	AdviceQueryKey key;
	char		status;			/* simplehash */
	uint64		busy_ms;
	uint64		iit_ms;			/* idle in transaction */
	uint64		lock_ms;		/* waiting on a heavyweight lock */
} AdviceQuery;

#define SH_PREFIX			advq
#define SH_ELEMENT_TYPE		AdviceQuery
#define SH_KEY_TYPE			AdviceQueryKey
#define SH_KEY				key
#define SH_HASH_KEY(tb, k) \
	hash_combine(murmurhash32((uint32) (k).pool), \
				 hash_combine(murmurhash32((uint32) (k).query_id), \
							  murmurhash32((uint32) ((k).query_id >> 32))))
#define SH_EQUAL(tb, a, b)	((a).pool == (b).pool && (a).query_id == (b).query_id)
#define SH_SCOPE			static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The hash of busy time per pool and query id, and the bucket copy. */
void
po_advice_profile_init(AdviceState *st)
{
	st->queries = advq_create(CurrentMemoryContext, 256, NULL);
	po_profile_bucket_alloc(&st->copy);
}

/* One top entry of a pool's profile slot. */
static void
add_profile_entry(AdviceState *st, const AdvicePool *ap,
				  const PoProfileHistEntry *e)
{
	AdviceQueryKey key;
	AdviceQuery *q;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.pool = ap->idx;
	key.query_id = e->query_id;
	q = advq_insert(st->queries, key, &found);
	if (!found)
		q->busy_ms = q->iit_ms = q->lock_ms = 0;
	q->busy_ms += e->busy_ms;
	if (e->state == PO_PROFILE_STATE_IDLE_IN_XACT)
		q->iit_ms += e->busy_ms;
	if ((e->wait_event_info & 0xFF000000) == PG_WAIT_LOCK)
		q->lock_ms += e->busy_ms;
}

/*
 * Add profile bucket b, whose history bucket (same index) was copied with
 * identity seq into st->slot_pool.  A profile bucket of another identity
 * was overwritten since: it is skipped, as profile_history shows it
 * without a pool.  The pool's busy time is what profile_history shows for
 * it: its top entries plus the 'other' remainder.
 */
void
po_advice_add_profile_bucket(AdviceState *st, int b, int64 seq)
{
	int			nslots = po_profile_pool_slots();
	int			first;

	if (nslots != po_pool_slots() || b >= po_profile_history_size())
		return;
	for (first = 0; first < nslots; first += PO_PROFILE_SLOT_CHUNK)
	{
		PoProfileBucketCopy *copy = &st->copy;
		int			s;

		po_lock_shared();
		po_profile_copy_bucket_locked(b, first, copy);
		po_unlock_shared();
		if (copy->seq != seq)
			return;

		for (s = 0; s < copy->nslots; s++)
		{
			const PoProfileHistSlot *hs = &copy->slots[s];
			const PoProfileHistEntry *top = &copy->entries[(Size) s * copy->top];
			AdvicePool *ap = st->slot_pool[first + s];
			uint64		top_ms = 0;
			int			i;

			if (ap == NULL || hs->samples == 0)
				continue;
			for (i = 0; i < hs->nentries && i < copy->top; i++)
			{
				top_ms += top[i].busy_ms;
				if (top[i].query_id != 0)
					add_profile_entry(st, ap, &top[i]);
			}
			ap->profiled = true;
			ap->profile_ms += Max(hs->busy_ms, top_ms);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

/* Is query id a, with busy time a_ms, ahead of the current top t? */
static bool
top_before(int64 a, uint64 a_ms, const AdviceTop *t)
{
	if (a_ms != t->busy_ms)
		return a_ms > t->busy_ms;
	return a < t->query_id;
}

/*
 * Each pool's top query (most busy time, ties to the smallest query id as
 * SQL compares them) and top query idle in transaction (most such time,
 * when there is any).
 */
void
po_advice_pick_tops(AdviceState *st)
{
	advq_iterator it;
	AdviceQuery *q;

	advq_start_iterate(st->queries, &it);
	while ((q = advq_iterate(st->queries, &it)) != NULL)
	{
		AdvicePool *ap = st->byidx[q->key.pool];
		int64		id = (int64) q->key.query_id;

		if (ap->top.query_id == 0 || top_before(id, q->busy_ms, &ap->top))
		{
			ap->top.query_id = id;
			ap->top.busy_ms = q->busy_ms;
			ap->top.lock_ms = q->lock_ms;
		}
		if (q->iit_ms > 0 &&
			(ap->iit.query_id == 0 || top_before(id, q->iit_ms, &ap->iit)))
		{
			ap->iit.query_id = id;
			ap->iit.busy_ms = q->iit_ms;
		}
	}
}

/* The text of a profile entry as the profile view shows it. */
static Datum
entry_text(const PoProfileEntry *e)
{
	return po_query_datum(e->query, PO_PROFILE_QUERY_LEN, e->key.pool.roleid);
}

static int
cmp_query_id(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Give ap's tops the text of entry e, when e is of one of them. */
static int
take_text(AdvicePool *ap, const PoProfileEntry *e)
{
	int64		id = (int64) e->key.query_id;
	int			found = 0;

	if (ap->top.query_id == id && ap->top.text == (Datum) 0)
	{
		ap->top.text = entry_text(e);
		found++;
	}
	if (ap->iit.query_id == id && ap->iit.text == (Datum) 0)
	{
		ap->iit.text = entry_text(e);
		found++;
	}
	return found;
}

/*
 * The texts of the tops: for each, the first cumulative profile entry of
 * the same pool (for the overflow pool: of the overflow slot) and query id
 * that has one.  Entries are copied a chunk at a time; a query id no pool
 * wants costs a binary search.
 */
void
po_advice_find_texts(AdviceState *st)
{
	int64	   *wanted = palloc(sizeof(int64) * 2 * Max(st->npools, 1));
	int			nwanted = 0;
	int			missing;
	int			overflow_slot = po_profile_pool_slots() - 1;
	int			cap = po_profile_capacity();
	int			pos = 0;
	PoProfileEntry *buf;
	int			p;

	for (p = 0; p < st->npools; p++)
	{
		if (st->byidx[p]->top.query_id != 0)
			wanted[nwanted++] = st->byidx[p]->top.query_id;
		if (st->byidx[p]->iit.query_id != 0)
			wanted[nwanted++] = st->byidx[p]->iit.query_id;
	}
	missing = nwanted;
	if (nwanted == 0)
		return;
	qsort(wanted, nwanted, sizeof(int64), cmp_query_id);

	buf = palloc(sizeof(PoProfileEntry) * PO_PROFILE_CHUNK);
	while (pos < cap && missing > 0)
	{
		int			n = po_profile_read_entries(&pos, buf, PO_PROFILE_CHUNK);
		int			i;

		for (i = 0; i < n && missing > 0; i++)
		{
			const PoProfileEntry *e = &buf[i];
			int64		id = (int64) e->key.query_id;

			if (e->key.other || e->query[0] == '\0' || id == 0 ||
				bsearch(&id, wanted, nwanted, sizeof(int64), cmp_query_id) == NULL)
				continue;
			if (e->key.pool_slot == overflow_slot)
			{
				for (p = 0; p < st->npools; p++)
					if (st->byidx[p]->k.overflow)
						missing -= take_text(st->byidx[p], e);
			}
			else
			{
				AdviceKey	key;
				AdvicePool *ap;

				memset(&key, 0, sizeof(key));
				key.key = e->key.pool;
				ap = hash_search(st->pools, &key, HASH_FIND, NULL);
				if (ap != NULL)
					missing -= take_text(ap, e);
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(buf);
	pfree(wanted);
}
