/*-------------------------------------------------------------------------
 *
 * cycle.c
 *	  One sample: read, drain, pools, detect, publish, log.
 *
 * Everything a sample computes is computed in the sampler's local memory;
 * the shared lock is taken exclusively once, to publish the pools, the
 * history and the changed episodes together.  The catalog lookups of the
 * sample happen between po_catalog_begin_cycle() and po_catalog_end_cycle().
 * The busy-time profile is noted before the lock (query texts of new
 * entries are read there) and applied under it.
 *
 * Layer 4.
 *
 * IDENTIFICATION
 *	  src/cycle.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "counters.h"
#include "cycle.h"
#include "detect.h"
#include "guc.h"
#include "history.h"
#include "intake.h"
#include "outcomes.h"
#include "pending.h"
#include "policy.h"
#include "pools.h"
#include "profile.h"
#include "shmem.h"
#include "snapshot.h"
#include "status.h"

static PoBackend *backends_buf = NULL;
static PoIntakeRecord *intake_buf = NULL;
static uint32 local_reset_generation = 0;
static bool took_over = false;

/* Drop every pool and episode the sampler holds (after reset()). */
static void
reset_local(void)
{
	po_pools_reset_local();
	po_detect_reset_local();
	po_policy_reset_local();
	po_outcomes_reset_local();
	po_counters_reset_local();
}

/*
 * Take what the hooks reported since the last sample: authenticated
 * connections wait for their first sample (pending.c); outcomes become
 * events and counts (outcomes.c).  Records lost because the ring was full
 * are counted in worker.outcomes_dropped.
 */
static void
drain_intake(TimestampTz now)
{
	uint64		lost;
	int			n;
	int			i;

	if (intake_buf == NULL)
		intake_buf = MemoryContextAlloc(TopMemoryContext,
										sizeof(PoIntakeRecord) * PO_INTAKE_RING_SIZE);
	n = po_intake_drain(intake_buf, PO_INTAKE_RING_SIZE, &lost);
	for (i = 0; i < n; i++)
	{
		const PoIntakeRecord *rec = &intake_buf[i];

		switch ((PoIntakeType) rec->type)
		{
			case PO_INTAKE_CONNECT:
				po_pools_add_connection(rec);
				break;
			case PO_INTAKE_OUTCOME:
				po_outcomes_take(rec, now);
				break;
		}
	}
	if (lost > 0)
		po_count(outcomes_dropped, lost);
}

/*
 * What pg_stat_activity shows instead of a query; never kept as a text.
 * The direct reader gives an empty string in these cases, the snapshot
 * one (pgstat_get_backend_current_activity()) these.
 */
static const char *const query_placeholders[] = {
	"<command string not enabled>",
	"<insufficient privilege>",
	"<backend information not available>",
};

/* PoProfileQueryFn: the statement text of the backend in arg. */
static void
profile_query(void *arg, char *buf, Size len)
{
	const PoBackend *b = (const PoBackend *) arg;
	int			i;

	po_read_query(b, buf, len);
	for (i = 0; i < lengthof(query_placeholders); i++)
	{
		if (strcmp(buf, query_placeholders[i]) == 0)
		{
			buf[0] = '\0';
			return;
		}
	}
}

/*
 * Note every busy client backend in the profile: one sample of the
 * sample_interval in force.  po_pools_build() has set each one's pool and
 * listed the busy ones.
 */
static void
note_profile(PoSample *s)
{
	const int  *busy;
	int			nbusy = po_pools_busy(&busy);

	po_profile_begin_sample(s->now, po_sample_interval);
	if (po_profile_enabled)
		po_profile_note_sample(s->backends, busy, nbusy, s->pools,
							   profile_query);
}

/*
 * Publish the sample: pools, history and changed episodes at once.  A
 * reset() since the sample began (generation is the one read at its start)
 * makes this a no-op: the sample was computed from the pools and episodes
 * reset() dropped, and publishing it would bring them back.  reset()
 * changes the generation with the lock held exclusively, so the check
 * under the lock cannot miss one.  Returns false if nothing was published.
 */
static bool
publish(PoSample *s, PoServerSample *server, int64 new_conns, uint32 generation)
{
	uint64		overwritten = 0;
	bool		current;
	int			cur;

	po_lock_exclusive();
	SpinLockAcquire(&po_shared->mutex);
	current = po_shared->reset_generation == generation;
	SpinLockRelease(&po_shared->mutex);
	if (current)
	{
		po_snapshot_publish_locked(s->pools, s->pool_high, server);
		overwritten = po_history_fold_locked(server, new_conns, s->pools,
											 s->pool_high);
		cur = po_history_current();
		if (cur >= 0)
			po_profile_fold_locked(po_profile_enabled, cur, po_buckets[cur].seq,
								   po_buckets[cur].bucket_start);
		else
			po_profile_fold_locked(po_profile_enabled, -1, -1, 0);
		po_detect_publish_locked();
		po_outcomes_publish_locked(s->now);
		po_counters_publish_locked(s->now);
	}
	po_unlock_exclusive();
	po_outcomes_log();

	if (overwritten > 0)
		po_count(history_overwritten, overwritten);
	return current;
}

/*
 * Count the sample and its cost; mark the requests it answers as served.
 * Returns whether that answered any (someone in sample_now() may wait).
 */
static bool
report_cost(instr_time start, TimestampTz now, uint64 request)
{
	instr_time	duration;
	double		us;
	bool		served = false;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	us = INSTR_TIME_GET_MICROSEC(duration);

	SpinLockAcquire(&po_shared->mutex);
	po_shared->samples++;
	po_shared->last_sample_at = now;
	po_shared->sample_us_sum += us;
	po_shared->sample_us_last = us;
	if (us > po_shared->sample_us_max)
		po_shared->sample_us_max = us;
	if (request > po_shared->requests_served)
	{
		po_shared->requests_served = request;
		served = true;
	}
	SpinLockRelease(&po_shared->mutex);
	return served;
}

void
po_sample_once(MemoryContext cycle_cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cycle_cxt);
	instr_time	start;
	uint64		request;
	uint32		generation;
	PoSample	s;
	PoServerSample server;
	int64		new_conns;
	const int  *live;
	int			nlive;

	INSTR_TIME_SET_CURRENT(start);

	SpinLockAcquire(&po_shared->mutex);
	request = po_shared->sample_requests;
	generation = po_shared->reset_generation;
	SpinLockRelease(&po_shared->mutex);

	if (generation != local_reset_generation)
	{
		reset_local();
		local_reset_generation = generation;
	}
	if (!took_over)
	{
		/* a restarted sampler goes on with its predecessor's episodes */
		po_detect_take_over();
		took_over = true;
	}

	po_catalog_begin_cycle();

	memset(&s, 0, sizeof(s));
	s.now = GetCurrentTimestamp();
	/*
	 * The snapshot path's array (the direct path reads in place), allocated
	 * once: a fresh one every sample would cost page faults.
	 */
	if (backends_buf == NULL)
		backends_buf = MemoryContextAlloc(TopMemoryContext,
										  sizeof(PoBackend) * MaxBackends);
	s.nbackends = po_sample_backends(&s.backends, backends_buf, &live, &nlive);

	po_pools_begin_sample();
	po_outcomes_begin_sample(s.now);

	/*
	 * Drain, note which waiting connections' processes have exited, drain
	 * again: a process writes its refusal before it exits, so the refusal of
	 * every process found gone is in one of the two drains, and a connection
	 * that came and went since the last sample is counted in this one.
	 */
	drain_intake(s.now);
	po_pending_probe();
	drain_intake(s.now);
	new_conns = po_pools_build(s.backends, live, nlive, s.now, &server);
	s.pools = po_pools_local();
	s.pool_high = po_pools_high();
	s.nsessions = po_pools_sessions(&s.sessions);
	note_profile(&s);

	/* episodes and actions; fills server.over[] */
	s.server = &server;
	po_detect(&s);

	if (publish(&s, &server, new_conns, generation))
		po_detect_after_publish();

	po_catalog_end_cycle();

	/* only sample_now() waits, and only for its request to be served */
	if (report_cost(start, s.now, request))
		ConditionVariableBroadcast(&po_shared->sample_cv);
	MemoryContextSwitchTo(oldcxt);
}
