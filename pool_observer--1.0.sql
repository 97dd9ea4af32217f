/* pool_observer--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pool_observer" to load this file. \quit

--
-- CREATE EXTENSION installs into an existing schema of that name.  Owned by
-- an ordinary role, that role could rename it and put other objects in its
-- place, or add overloads (terminate_idle_in_transaction(text) would catch
-- a call with a quoted literal), and superusers using the extension would
-- run its code.  Refuse.
--
DO $$
DECLARE
    owner pg_catalog.name;
BEGIN
    SELECT r.rolname INTO owner
      FROM pg_catalog.pg_namespace n
      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
     WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()
       AND NOT r.rolsuper;
    IF FOUND THEN
        RAISE EXCEPTION 'schema "%" must be owned by a superuser',
                        pg_catalog.current_schema()
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('It is owned by role %I, which could replace the extension''s objects.', owner),
                  HINT = 'Drop the schema, or make a superuser its owner, and create the extension again.';
    END IF;
END
$$;

--
-- Internal functions.  The views below are the supported interface; these
-- set-returning functions are versioned (_1_0) so that later releases can
-- add columns under a new symbol while old SQL keeps working.
--

CREATE FUNCTION @extschema@._assert_loaded()
RETURNS boolean
AS 'MODULE_PATHNAME', 'po_assert_loaded_1_0'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@._pools_1_0(
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT connections integer,
    OUT active integer,
    OUT idle integer,
    OUT idle_in_transaction integer,
    OUT waiting integer,
    OUT utilization double precision,
    OUT saturated_since timestamptz,
    OUT max_xact_age interval,
    OUT max_idle_in_transaction_age interval,
    OUT max_query_age interval,
    OUT new_connections_per_s double precision,
    OUT overflow boolean,
    OUT sampled_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_pools_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._pool_history_1_0(
    OUT bucket_start timestamptz,
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT samples integer,
    OUT connections_avg double precision,
    OUT connections_max integer,
    OUT active_avg double precision,
    OUT active_max integer,
    OUT idle_in_transaction_max integer,
    OUT waiting_max integer,
    OUT utilization_avg double precision,
    OUT utilization_max double precision,
    OUT new_connections bigint,
    OUT overflow boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_pool_history_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._server_history_1_0(
    OUT bucket_start timestamptz,
    OUT samples integer,
    OUT connections_avg double precision,
    OUT connections_max integer,
    OUT max_connections integer,
    OUT utilization_max double precision,
    OUT active_max integer,
    OUT idle_in_transaction_max integer,
    OUT waiting_max integer,
    OUT new_connections bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_server_history_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._events_1_0(
    OUT id bigint,
    OUT kind text,
    OUT detected_at timestamptz,
    OUT ended_at timestamptz,
    OUT duration interval,
    OUT pid integer,
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT query_id bigint,
    OUT query text,
    OUT blocked_pids integer[],
    OUT action text,
    OUT action_at timestamptz,
    OUT detail text,
    OUT started_at timestamptz,
    OUT last_seen_at timestamptz,
    OUT blocked_by integer[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_events_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._health_1_0(
    OUT status text,
    OUT reasons text[],
    OUT connections integer,
    OUT max_connections integer,
    OUT utilization double precision,
    OUT saturated_pools integer,
    OUT idle_in_transaction_sessions integer,
    OUT slow_statements integer,
    OUT last_sample_at timestamptz,
    OUT worker_running boolean,
    OUT lock_waits integer,
    OUT long_transactions integer,
    OUT sampling_enabled boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'po_health_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._worker_1_0(
    OUT pid integer,
    OUT started_at timestamptz,
    OUT samples bigint,
    OUT last_sample_at timestamptz,
    OUT sample_us_avg double precision,
    OUT sample_us_max double precision,
    OUT events_total bigint,
    OUT events_dropped bigint,
    OUT history_overwritten bigint,
    OUT actions_taken bigint,
    OUT actions_suppressed bigint,
    OUT sample_us_last double precision,
    OUT connections_unattributed bigint,
    OUT restarts integer)
RETURNS record
AS 'MODULE_PATHNAME', 'po_worker_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

--
-- Views.
--

-- Live, straight from the server's backend status: one row per client
-- backend.  Blockers are computed only for sessions waiting on a lock,
-- because pg_blocking_pids() takes every lock-manager partition lock.
CREATE VIEW @extschema@.sessions AS
SELECT a.pid,
       a.datname,
       a.usename,
       a.application_name,
       a.client_addr,
       a.state,
       a.wait_event_type,
       a.wait_event,
       a.backend_start,
       a.xact_start,
       a.query_start,
       a.state_change,
       pg_catalog.now() OPERATOR(pg_catalog.-) a.xact_start AS xact_age,
       pg_catalog.now() OPERATOR(pg_catalog.-) a.state_change AS state_age,
       pg_catalog.now() OPERATOR(pg_catalog.-) a.query_start AS query_age,
       a.query_id,
       a.query,
       CASE WHEN a.wait_event_type OPERATOR(pg_catalog.=) 'Lock'
            THEN pg_catalog.pg_blocking_pids(a.pid)
            ELSE '{}'::integer[] END AS blocked_by,
       pg_catalog.age(a.backend_xmin) AS xmin_age,
       a.client_port
  FROM pg_catalog.pg_stat_activity a
 WHERE a.backend_type OPERATOR(pg_catalog.=) 'client backend'
   AND @extschema@._assert_loaded();

CREATE VIEW @extschema@.pools AS
SELECT * FROM @extschema@._pools_1_0();

CREATE VIEW @extschema@.pool_history AS
SELECT * FROM @extschema@._pool_history_1_0();

CREATE VIEW @extschema@.server_history AS
SELECT * FROM @extschema@._server_history_1_0();

CREATE VIEW @extschema@.events AS
SELECT * FROM @extschema@._events_1_0();

CREATE VIEW @extschema@.health AS
SELECT * FROM @extschema@._health_1_0();

CREATE VIEW @extschema@.worker AS
SELECT * FROM @extschema@._worker_1_0();

--
-- Functions.
--

CREATE FUNCTION @extschema@.sample_now()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'po_sample_now_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.reset()
RETURNS void
AS 'MODULE_PATHNAME', 'po_reset_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.terminate_idle_in_transaction(
    older_than interval,
    dry_run boolean DEFAULT false,
    OUT pid integer,
    OUT usename name,
    OUT application_name text,
    OUT age interval,
    OUT query text,
    OUT done boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_terminate_idle_in_transaction_1_0'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.cancel_slow_statements(
    older_than interval,
    dry_run boolean DEFAULT false,
    OUT pid integer,
    OUT usename name,
    OUT application_name text,
    OUT age interval,
    OUT query text,
    OUT done boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_cancel_slow_statements_1_0'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

--
-- Privileges: nothing for PUBLIC; pg_monitor reads, pg_signal_backend acts,
-- reset() stays with superusers (it also checks superuser() itself).
--

REVOKE ALL ON SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO pg_monitor, pg_signal_backend;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    @extschema@._assert_loaded(),
    @extschema@._pools_1_0(),
    @extschema@._pool_history_1_0(),
    @extschema@._server_history_1_0(),
    @extschema@._events_1_0(),
    @extschema@._health_1_0(),
    @extschema@._worker_1_0(),
    @extschema@.sample_now()
  TO pg_monitor;

GRANT SELECT ON
    @extschema@.sessions,
    @extschema@.pools,
    @extschema@.pool_history,
    @extschema@.server_history,
    @extschema@.events,
    @extschema@.health,
    @extschema@.worker
  TO pg_monitor;

GRANT EXECUTE ON FUNCTION
    @extschema@.terminate_idle_in_transaction(interval, boolean),
    @extschema@.cancel_slow_statements(interval, boolean)
  TO pg_signal_backend;
