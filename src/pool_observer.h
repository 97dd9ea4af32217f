/*-------------------------------------------------------------------------
 *
 * pool_observer.h
 *	  Shared types and declarations of pool_observer.
 *
 * The sampler worker owns almost all state: it reads every backend's status,
 * groups client backends into pools, turns threshold crossings into event
 * episodes and folds samples into history buckets.  It publishes the result
 * into one shared memory segment (PoShared plus the arrays that follow it);
 * SQL functions only copy from there.
 *
 * IDENTIFICATION
 *	  src/pool_observer.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef POOL_OBSERVER_H
#define POOL_OBSERVER_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/backend_status.h"

#include "po_compat.h"

/* Fixed sizes of stored strings and arrays. */
#define PO_QUERY_LEN			1024	/* query text kept per event */
#define PO_DETAIL_LEN			256
#define PO_MAX_PIDS				16	/* blockers/blocked kept per event */
#define PO_CONN_RING_SIZE		1024	/* new connections between samples */
#define PO_MAX_LOCK_WAITERS		64	/* pg_blocking_pids() calls per sample */

/* Event kinds; keep po_event_kind_names[] in step. */
typedef enum PoEventKind
{
	PO_EVENT_IDLE_IN_TRANSACTION = 0,
	PO_EVENT_SLOW_STATEMENT,
	PO_EVENT_LONG_TRANSACTION,
	PO_EVENT_LOCK_WAIT,
	PO_EVENT_POOL_SATURATED,
	PO_EVENT_CONNECTION_CHURN,
	PO_EVENT_SERVER_CONNECTIONS_HIGH,
	PO_NUM_EVENT_KINDS
} PoEventKind;

/* Actions recorded on events; keep po_action_names[] in step. */
typedef enum PoAction
{
	PO_ACTION_NONE = 0,
	PO_ACTION_TERMINATED,
	PO_ACTION_CANCELLED,
	PO_ACTION_WOULD_TERMINATE,
	PO_ACTION_WOULD_CANCEL,
	PO_ACTION_EXEMPT,
	PO_ACTION_SUPPRESSED,
	PO_ACTION_FAILED
} PoAction;

/*
 * A client address in a compact, comparable form.  family is 0 for Unix
 * sockets and for backends without a client (shown as NULL, as in
 * pg_stat_activity).
 */
typedef struct PoAddr
{
	uint8		family;			/* 0, 4 (IPv4) or 6 (IPv6) */
	uint8		addr[16];
} PoAddr;

/*
 * What makes a pool.  Always memset to zero before filling: the key is
 * hashed as a blob, padding included.
 */
typedef struct PoPoolKey
{
	Oid			dbid;
	Oid			roleid;
	PoAddr		addr;
	char		appname[NAMEDATALEN];
} PoPoolKey;

/*
 * One pool in the latest sample.  Slot max_pools is the overflow pool that
 * absorbs every pool that did not fit.
 */
typedef struct PoPool
{
	PoPoolKey	key;
	bool		in_use;
	bool		present;		/* has connections or new ones this sample */
	int32		connections;
	int32		active;
	int32		idle;
	int32		idle_in_xact;
	int32		waiting;
	TimestampTz saturated_since;	/* 0 when not saturated */
	TimestampTz oldest_xact_start;	/* 0 when none */
	TimestampTz oldest_iit_start;
	TimestampTz oldest_query_start;
	double		new_conn_rate;	/* per second, over the last window */
	uint64		new_conn_total; /* since the pool was first seen */
	/* worker-private bookkeeping, copied along but not shown */
	int32		new_conn_sample;	/* new connections in this sample */
	int32		win_count;
	TimestampTz win_start;
	TimestampTz last_present;
} PoPool;

/* Whole-server figures of the latest sample. */
typedef struct PoServerSample
{
	TimestampTz sampled_at;
	int32		client_connections;
	int32		active;
	int32		idle;
	int32		idle_in_xact;
	int32		waiting;
	int32		autovacuum;
	int32		walsenders;
	int32		bgworkers;
	int32		other_backends;
	int32		max_connections;	/* usable by ordinary roles */
	int32		npools;
	int32		iit_over;		/* sessions past their threshold */
	int32		slow_over;
	int32		long_xact_over;
	int32		lock_wait_over;
	int32		saturated_pools;
	double		new_conn_rate;
} PoServerSample;

/* Per pool and bucket. */
typedef struct PoHistRow
{
	PoPoolKey	key;
	int32		samples;		/* 0: this pool has no data in the bucket */
	int32		conn_max;
	int32		active_max;
	int32		iit_max;
	int32		waiting_max;
	int64		conn_sum;
	int64		active_sum;
	double		util_sum;
	double		util_max;
	int64		new_conns;
} PoHistRow;

/* Per bucket, for the whole server, plus the bucket's identity. */
typedef struct PoBucket
{
	int64		seq;			/* bucket_start / width; -1 when empty */
	TimestampTz bucket_start;
	int64		width_us;
	int32		samples;
	int32		conn_max;
	int32		max_connections;
	int32		active_max;
	int32		iit_max;
	int32		waiting_max;
	int64		conn_sum;
	double		util_max;
	int64		new_conns;
} PoBucket;

/* One event episode.  id == 0 marks an unused slot. */
typedef struct PoEvent
{
	uint64		id;
	int16		kind;
	int16		action;
	int32		pid;
	TimestampTz detected_at;
	TimestampTz started_at;		/* when the condition began */
	TimestampTz last_seen_at;
	TimestampTz ended_at;		/* 0 while ongoing */
	TimestampTz action_at;
	TimestampTz backend_start;
	uint64		query_id;
	PoAddr		addr;
	bool		has_pool;		/* pool-level or session-level */
	bool		overflow;
	char		datname[NAMEDATALEN];
	char		usename[NAMEDATALEN];
	char		appname[NAMEDATALEN];
	int16		nblocked;
	int16		nblockers;
	int32		blocked[PO_MAX_PIDS];	/* sessions this one blocks */
	int32		blockers[PO_MAX_PIDS];	/* sessions blocking this one */
	char		detail[PO_DETAIL_LEN];
	char		query[PO_QUERY_LEN];
} PoEvent;

/*
 * A new connection, written by the connecting backend (ClientAuthentication
 * hook) and drained by the sampler.  seq is the ring position plus one once
 * the entry is complete, so a reader never takes a half-written entry.
 */
typedef struct PoConnSlot
{
	pg_atomic_uint64 seq;
	PoAddr		addr;
	char		datname[NAMEDATALEN];
	char		usename[NAMEDATALEN];
	char		appname[NAMEDATALEN];
} PoConnSlot;

/*
 * The shared state.  Which lock guards what is described in shmem.c.
 */
typedef struct PoShared
{
	LWLock	   *lock;
	slock_t		mutex;

	/* guarded by mutex */
	pid_t		worker_pid;
	Latch	   *worker_latch;
	TimestampTz worker_started_at;
	int32		worker_starts;
	uint64		samples;
	TimestampTz last_sample_at;
	double		sample_us_sum;
	double		sample_us_max;
	double		sample_us_last;
	uint64		events_total;
	uint64		events_dropped;
	uint64		history_overwritten;
	uint64		actions_taken;
	uint64		actions_suppressed;
	uint64		conns_unattributed;
	uint64		sample_requests;
	uint64		requests_served;
	uint32		reset_generation;

	ConditionVariable sample_cv;

	/* ring of new connections: head is atomic, tail is the sampler's own */
	pg_atomic_uint64 ring_head;
	uint64		ring_tail;

	/* guarded by lock */
	PoServerSample server;
	uint64		next_event_id;
	int32		hist_cur;		/* current bucket, -1 when none */
} PoShared;

/* pool_observer.c */
extern PGDLLEXPORT void po_worker_main(Datum main_arg);

/* guc.c */
extern bool po_enabled;
extern int	po_sample_interval;
extern int	po_history_interval;
extern int	po_max_pools;
extern int	po_history_size;
extern int	po_max_events;
extern int	po_idle_in_transaction_threshold;
extern int	po_slow_statement_threshold;
extern int	po_long_transaction_threshold;
extern int	po_lock_wait_threshold;
extern int	po_saturation_threshold;
extern double po_churn_threshold;
extern int	po_max_connections_warn;
extern int	po_idle_in_transaction_terminate_after;
extern int	po_long_transaction_terminate_after;
extern int	po_slow_statement_cancel_after;
extern bool po_terminate_only_blockers;
extern bool po_dry_run;
extern char *po_exempt_roles;
extern char *po_exempt_applications;
extern bool po_act_on_superusers;
extern int	po_max_actions_per_minute;
extern bool po_log_events;
extern int	po_sampling_method;

#define PO_SAMPLING_DIRECT	0
#define PO_SAMPLING_PGSTAT	1

extern void po_define_gucs(void);

/* shmem.c */
extern PoShared *po_shared;
extern PoPool *po_pools;		/* max_pools + 1 */
extern PoEvent *po_events;		/* max_events */
extern PoBucket *po_buckets;	/* history_size */
extern PoHistRow *po_hist_rows; /* history_size * (max_pools + 1) */
extern PoConnSlot *po_conn_ring;	/* PO_CONN_RING_SIZE */

#define po_pool_slots()		(po_max_pools + 1)
#define po_overflow_slot()	(po_max_pools)
#define po_hist_row(bucket, slot) \
	(&po_hist_rows[(Size) (bucket) * po_pool_slots() + (slot)])

extern void po_shmem_request(void);
extern void po_shmem_startup(void);
extern void po_require_loaded(void);
extern void po_clear_data_locked(void);
extern int	po_usable_connections(void);

/* sample.c */

/* One backend as the sampler saw it. */
typedef struct PoBackend
{
	int			slot;			/* index in the backend status array */
	int			pid;
	BackendType type;
	BackendState state;
	Oid			dbid;
	Oid			roleid;
	PoAddr		addr;
	char		appname[NAMEDATALEN];
	TimestampTz backend_start;
	TimestampTz xact_start;
	TimestampTz query_start;
	TimestampTz state_change;
	uint32		wait_event_info;
	TimestampTz lock_wait_start;	/* 0 unless waiting on a lock */
	TransactionId xmin;			/* the vacuum horizon it holds back */
	uint64		query_id;
	int			pool;			/* pool slot, -1 if not a client backend */
} PoBackend;

extern bool po_status_attach(void);
extern int	po_read_backends(PoBackend *out, int max);
extern bool po_reread_backend(const PoBackend *old, PoBackend *cur);
extern void po_read_query(const PoBackend *be, char *buf, Size len);
extern void po_addr_from_sockaddr(const struct sockaddr_storage *ss, PoAddr *out);
extern bool po_is_busy(BackendState state);
extern bool po_is_idle_in_xact(BackendState state);
extern void po_sample_once(MemoryContext cycle_cxt);
extern void po_sampler_reset_local(void);

/* detect.c */
typedef struct PoSample
{
	TimestampTz now;
	PoBackend  *backends;
	int			nbackends;
	PoPool	   *pools;			/* the sampler's pool table */
	PoServerSample *server;
	/* lock graph, computed only when needed (see detect.c) */
	bool		graph_done;
	int		   *nblockers;		/* per backend index */
	int		  **blockers;		/* pids blocking backend i */
	int		   *nblocked;
	int		  **blocked;		/* pids that backend i blocks */
} PoSample;

extern void po_detect(PoSample *s);
extern void po_detect_publish_locked(PoSample *s);
extern void po_detect_after_publish(PoSample *s);
extern void po_detect_reset_local(void);
extern void po_detect_take_over(void);
extern void po_event_log(const PoEvent *ev, const char *what);
extern uint64 po_event_insert_locked(PoEvent *ev);
extern const char *po_event_kind_name(int kind);
extern const char *po_action_name(int action);
extern void po_fill_event_session(PoEvent *ev, const PoBackend *be);

/* policy.c */
typedef enum PoSignal
{
	PO_SIGNAL_TERMINATE,
	PO_SIGNAL_CANCEL
} PoSignal;

extern PoAction po_policy_decide(const PoBackend *be, PoSignal sig,
								 char *why, Size whylen);
extern bool po_signal_session(const PoBackend *be, int kind, PoSignal sig);
extern void po_policy_reset_local(void);
extern bool po_role_is_superuser(Oid roleid);
extern const char *po_role_name(Oid roleid);
extern const char *po_database_name(Oid dbid);
extern Oid	po_role_oid(const char *name);
extern Oid	po_database_oid(const char *name);
extern void po_catalog_done(void);
extern bool po_name_in_list(const char *name, const char *list);

/* persist.c */
extern void po_persist_load(void);
extern void po_persist_save(int code, Datum arg);

/* funcs.c: nothing exported but the SQL entry points */

#endif							/* POOL_OBSERVER_H */
