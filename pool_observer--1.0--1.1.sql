/* pool_observer--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pool_observer UPDATE TO '1.1'" to load this file. \quit

--
-- 1.1: where each pool's time goes (profile), what PostgreSQL itself did
-- (outcomes and pool_counters), and sizing advice.
--
-- pool_observer--1.1.sql is not edited by hand: the Makefile makes it from
-- pool_observer--1.0.sql followed by this script, so a fresh 1.1 install
-- and an updated 1.0 one run the same statements.  Each section below adds
-- its objects and its grants together.
--

-- ---------------------------------------------------------------------------
-- 1.1: outcomes
--
-- What PostgreSQL itself did to each pool: timeouts, cancels, terminations,
-- refused connections and failed logins (README, "What PostgreSQL itself
-- did").  pool_counters is new; pool_history and server_history gain
-- per-bucket counts, appended after the 1.0 columns so that SELECT *
-- consumers of 1.0 keep their column positions.  The _1_0 functions stay:
-- an updated installation may still have views or user SQL that use them.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._pool_counters_1_1(
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT new_connections bigint,
    OUT refused_connections bigint,
    OUT authentication_failures bigint,
    OUT statement_timeouts bigint,
    OUT lock_timeouts bigint,
    OUT idle_in_transaction_timeouts bigint,
    OUT idle_session_timeouts bigint,
    OUT transaction_timeouts bigint,
    OUT queries_cancelled bigint,
    OUT sessions_terminated bigint,
    OUT terminated_by_pool_observer bigint,
    OUT cancelled_by_pool_observer bigint,
    OUT since timestamptz,
    OUT overflow boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_pool_counters_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._pool_history_1_1(
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
    OUT overflow boolean,
    OUT refused_connections bigint,
    OUT authentication_failures bigint,
    OUT timeouts bigint,
    OUT queries_cancelled bigint,
    OUT sessions_terminated bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_pool_history_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._server_history_1_1(
    OUT bucket_start timestamptz,
    OUT samples integer,
    OUT connections_avg double precision,
    OUT connections_max integer,
    OUT max_connections integer,
    OUT utilization_max double precision,
    OUT active_max integer,
    OUT idle_in_transaction_max integer,
    OUT waiting_max integer,
    OUT new_connections bigint,
    OUT refused_connections bigint,
    OUT authentication_failures bigint,
    OUT timeouts bigint,
    OUT queries_cancelled bigint,
    OUT sessions_terminated bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_server_history_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- The worker's outcome figures: intake records dropped because the ring
-- was full, and the kinds log_min_messages hides from the hook (NULL when
-- none).  Another 1.1 section may add its own columns the same way.
CREATE FUNCTION @extschema@._outcome_stats_1_1(
    OUT outcomes_dropped bigint,
    OUT log_min_messages_hides text)
RETURNS record
AS 'MODULE_PATHNAME', 'po_outcome_stats_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW @extschema@.pool_counters AS
SELECT * FROM @extschema@._pool_counters_1_1();

-- Same columns as 1.0 in the same order, new ones at the end: allowed by
-- CREATE OR REPLACE VIEW, and the grants on the views are kept.
CREATE OR REPLACE VIEW @extschema@.pool_history AS
SELECT * FROM @extschema@._pool_history_1_1();

CREATE OR REPLACE VIEW @extschema@.server_history AS
SELECT * FROM @extschema@._server_history_1_1();

REVOKE ALL ON FUNCTION
    @extschema@._pool_counters_1_1(),
    @extschema@._pool_history_1_1(),
    @extschema@._server_history_1_1(),
    @extschema@._outcome_stats_1_1()
  FROM PUBLIC;
REVOKE ALL ON @extschema@.pool_counters FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    @extschema@._pool_counters_1_1(),
    @extschema@._pool_history_1_1(),
    @extschema@._server_history_1_1(),
    @extschema@._outcome_stats_1_1()
  TO pg_monitor;

GRANT SELECT ON @extschema@.pool_counters TO pg_monitor;

-- end of 1.1: outcomes

-- ------------------------------------------------------------------------
-- 1.1: profile
--
-- Where each pool's busy time goes, by (state, wait event, query id):
-- cumulative since start or reset() (profile), and the profile_top largest
-- entries of each pool per history bucket plus one 'other' row for the
-- rest (profile_history).  userid and dbid join to pg_stat_statements on
-- (queryid, userid, dbid).  The worker view gains profile_enabled,
-- profile_entries_used, profile_entries_max and profile_entries_folded.
-- ------------------------------------------------------------------------
CREATE FUNCTION @extschema@._profile_1_1(
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT state text,
    OUT wait_event_type text,
    OUT wait_event text,
    OUT query_id bigint,
    OUT query text,
    OUT samples bigint,
    OUT busy_seconds double precision,
    OUT share double precision,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT other boolean,
    OUT userid oid,
    OUT dbid oid,
    OUT overflow boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_profile_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._profile_history_1_1(
    OUT bucket_start timestamptz,
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT state text,
    OUT wait_event_type text,
    OUT wait_event text,
    OUT query_id bigint,
    OUT samples bigint,
    OUT busy_seconds double precision,
    OUT share double precision,
    OUT other boolean,
    OUT userid oid,
    OUT dbid oid,
    OUT overflow boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_profile_history_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@._profile_stats_1_1(
    OUT profile_enabled boolean,
    OUT profile_entries_used integer,
    OUT profile_entries_max integer,
    OUT profile_entries_folded bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'po_profile_stats_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW @extschema@.profile AS
SELECT * FROM @extschema@._profile_1_1();

CREATE VIEW @extschema@.profile_history AS
SELECT * FROM @extschema@._profile_history_1_1();

REVOKE ALL ON FUNCTION
    @extschema@._profile_1_1(),
    @extschema@._profile_history_1_1(),
    @extschema@._profile_stats_1_1()
  FROM PUBLIC;
REVOKE ALL ON
    @extschema@.profile,
    @extschema@.profile_history
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@._profile_1_1(),
    @extschema@._profile_history_1_1(),
    @extschema@._profile_stats_1_1()
  TO pg_monitor;
GRANT SELECT ON
    @extschema@.profile,
    @extschema@.profile_history
  TO pg_monitor;
-- end of 1.1: profile

-- ---------------------------------------------------------------------------
-- 1.1: worker
--
-- The sampler's own figures gain the columns of the 1.1 stores: the
-- outcome intake (records dropped, kinds the log level hides) and the
-- profile (enabled, entries used, the maximum, entries folded).  Appended
-- after the 1.0 columns; CREATE OR REPLACE VIEW keeps the view's grants.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE VIEW @extschema@.worker AS
SELECT w.*,
       o.outcomes_dropped, o.log_min_messages_hides,
       p.profile_enabled, p.profile_entries_used, p.profile_entries_max,
       p.profile_entries_folded
  FROM @extschema@._worker_1_0() w
 CROSS JOIN @extschema@._outcome_stats_1_1() o
 CROSS JOIN @extschema@._profile_stats_1_1() p;
-- end of 1.1: worker
