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

-- Keeps the worker view's grants.
CREATE OR REPLACE VIEW @extschema@.worker AS
SELECT w.*, p.profile_enabled, p.profile_entries_used, p.profile_entries_max,
       p.profile_entries_folded
  FROM @extschema@._worker_1_0() w
 CROSS JOIN @extschema@._profile_stats_1_1() p;

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
