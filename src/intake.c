/*-------------------------------------------------------------------------
 *
 * intake.c
 *	  The lock-free intake ring: see intake.h for the protocol.
 *
 * A slot's seq is its ring position plus one once the record in it is
 * complete, and 0 while it is being written, so the drain never takes a
 * half-written record: it reads seq, copies, and reads seq again.
 *
 * Layer 1.
 *
 * IDENTIFICATION
 *	  src/intake.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/shmem.h"

#include "intake.h"

typedef struct PoIntakeSlot
{
	pg_atomic_uint64 seq;
	PoIntakeRecord rec;
} PoIntakeSlot;

typedef struct PoIntake
{
	pg_atomic_uint64 head;		/* next position to reserve */
	pg_atomic_uint64 tail;		/* next position to drain; the sampler's */
	pg_atomic_uint64 dropped;	/* records dropped by writers: ring full */
	PoIntakeSlot slots[PO_INTAKE_RING_SIZE];
} PoIntake;

static PoIntake *intake = NULL;

/* Bounded: a writer that keeps losing the race drops its record. */
#define PO_INTAKE_PUT_TRIES		64

Size
po_intake_shmem_size(void)
{
	return sizeof(PoIntake);
}

/* Caller holds AddinShmemInitLock. */
void
po_intake_shmem_init(void)
{
	bool		found;
	int			i;

	intake = ShmemInitStruct("pool_observer intake", sizeof(PoIntake), &found);
	if (!found)
	{
		pg_atomic_init_u64(&intake->head, 0);
		pg_atomic_init_u64(&intake->tail, 0);
		pg_atomic_init_u64(&intake->dropped, 0);
		for (i = 0; i < PO_INTAKE_RING_SIZE; i++)
			pg_atomic_init_u64(&intake->slots[i].seq, 0);
	}
}

/*
 * Add a record.  Safe in any process attached to shared memory, with or
 * without a PGPROC, inside error reporting too: atomics and a memcpy only.
 * Returns false when the record was dropped (ring full, or shared memory
 * not set up).
 */
bool
po_intake_put(const PoIntakeRecord *rec)
{
	uint64		pos;
	int			tries;
	PoIntakeSlot *slot;

	if (intake == NULL)
		return false;

	pos = pg_atomic_read_u64(&intake->head);
	for (tries = 0;; tries++)
	{
		if (tries >= PO_INTAKE_PUT_TRIES ||
			pos - pg_atomic_read_u64(&intake->tail) >= PO_INTAKE_RING_SIZE)
		{
			pg_atomic_fetch_add_u64(&intake->dropped, 1);
			return false;
		}
		/* on failure pos is updated to the current head */
		if (pg_atomic_compare_exchange_u64(&intake->head, &pos, pos + 1))
			break;
	}

	slot = &intake->slots[pos % PO_INTAKE_RING_SIZE];
	/* invalidate first, so a reader never mixes two records */
	pg_atomic_write_u64(&slot->seq, 0);
	pg_write_barrier();
	memcpy(&slot->rec, rec, sizeof(PoIntakeRecord));
	pg_write_barrier();
	pg_atomic_write_u64(&slot->seq, pos + 1);
	return true;
}

/*
 * Take up to max complete records, oldest first.  *lost gets the records
 * that were dropped or could not be read since the last drain.  Only the
 * sampler calls this.
 */
int
po_intake_drain(PoIntakeRecord *out, int max, uint64 *lost)
{
	uint64		tail = pg_atomic_read_u64(&intake->tail);
	uint64		head = pg_atomic_read_u64(&intake->head);
	int			n = 0;

	/* nothing written: no write to the shared lines either */
	*lost = 0;
	if (pg_atomic_read_u64(&intake->dropped) != 0)
		*lost = pg_atomic_exchange_u64(&intake->dropped, 0);
	if (head == tail)
		return 0;
	if (head < tail)			/* cannot happen; start over */
		tail = head;

	for (; tail < head && n < max; tail++)
	{
		PoIntakeSlot *slot = &intake->slots[tail % PO_INTAKE_RING_SIZE];
		uint64		seq = pg_atomic_read_u64(&slot->seq);

		if (seq != tail + 1)
		{
			/*
			 * Still being written: take it next time.  A writer cannot be
			 * stuck for long (it runs a memcpy), but a slot that stays
			 * incomplete while the ring fills up is given up on.
			 */
			if (head - tail < PO_INTAKE_RING_SIZE / 2)
				break;
			(*lost)++;
			continue;
		}
		pg_read_barrier();
		memcpy(&out[n], &slot->rec, sizeof(PoIntakeRecord));
		pg_read_barrier();
		if (pg_atomic_read_u64(&slot->seq) != tail + 1)
		{
			(*lost)++;
			continue;
		}
		out[n].datname[NAMEDATALEN - 1] = '\0';
		out[n].usename[NAMEDATALEN - 1] = '\0';
		out[n].appname[NAMEDATALEN - 1] = '\0';
		out[n].message[PO_INTAKE_MESSAGE_LEN - 1] = '\0';
		out[n].query[PO_INTAKE_QUERY_LEN - 1] = '\0';
		n++;
	}

	/* writers see the space freed only after the copies are done */
	pg_memory_barrier();
	pg_atomic_write_u64(&intake->tail, tail);
	return n;
}
