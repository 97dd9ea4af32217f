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

-- ------------------------------------------------------------------------
-- 1.1: advice
--
-- Is each pool the right size, and why not (README, "Advice").  The C
-- function reads only the history buckets that overlap the window and
-- merges them into per-pool figures: from the samples (busy connections:
-- active + idle in transaction), the refusals and timeouts (as
-- pool_history counts them), and the profile of the same buckets (the top
-- query and the top query idle in transaction, with their texts as the
-- profile view shows them).  advice() applies the documented rules to
-- them.  Everything is schema-qualified and the search_path is pinned.
-- ------------------------------------------------------------------------
CREATE FUNCTION @extschema@._advice_figures_1_1(
    "window" interval,
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT overflow boolean,
    OUT window_start timestamptz,
    OUT samples bigint,
    OUT window_samples bigint,
    OUT connections_max integer,
    OUT busy_avg double precision,
    OUT busy_p95 integer,
    OUT busy_max integer,
    OUT saturated_share double precision,
    OUT idle_in_transaction_share double precision,
    OUT new_connections bigint,
    OUT max_connections integer,
    OUT cpus integer,
    OUT active_p95 integer,
    OUT note text,
    OUT buckets integer,
    OUT computed_at timestamptz,
    OUT top_query_id bigint,
    OUT top_query text,
    OUT top_query_share double precision,
    OUT top_lock_share double precision,
    OUT iit_query_id bigint,
    OUT iit_query text,
    OUT refused_connections bigint,
    OUT timeouts bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'po_advice_figures_1_1'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.advice(
    "window" interval DEFAULT '1 hour',
    OUT datname name,
    OUT usename name,
    OUT application_name text,
    OUT client_addr inet,
    OUT connections_max integer,
    OUT busy_avg double precision,
    OUT busy_p95 integer,
    OUT busy_max integer,
    OUT saturated_share double precision,
    OUT idle_in_transaction_share double precision,
    OUT top_query_id bigint,
    OUT top_query text,
    OUT top_query_share double precision,
    OUT refused_connections bigint,
    OUT timeouts bigint,
    OUT recommended_size integer,
    OUT verdict text,
    OUT reasons text[],
    OUT overflow boolean,
    OUT window_start timestamptz,
    OUT samples bigint,
    OUT note text)
RETURNS SETOF record
LANGUAGE plpgsql CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $advice$
#variable_conflict use_column
DECLARE
    -- The rules' thresholds (README, "Advice: the rules").
    leak_share      CONSTANT float8 := 0.5;  -- leaking: idle in transaction share of busy time
    slow_share      CONSTANT float8 := 0.5;  -- slow_queries: one query id's share of busy time
    saturated_min   CONSTANT float8 := 0.05; -- saturated this share of the window is meaningful
    growth          CONSTANT float8 := 0.5;  -- undersized: grow by half ...
    growth_min      CONSTANT int    := 2;    -- ... and by at least this many
    oversized_use   CONSTANT float8 := 0.5;  -- oversized: busy_max at most this share ...
    oversized_min   CONSTANT int    := 4;    -- ... of at least this many connections
    margin_share    CONSTANT float8 := 0.25; -- oversized: keep busy_max plus a quarter ...
    margin_min      CONSTANT int    := 2;    -- ... and at least this many
    headroom_share  CONSTANT float8 := 0.9;  -- headroom_low: peak at this share of max_connections
    spindles        CONSTANT int    := 1;    -- cores * 2 + effective spindles (PostgreSQL wiki)

    pgss_nsp     name;
    pgss_looked  boolean := false;
    r            record;
    span         text;
    secs         float8;
    mean_ms      float8;
    free_slots   int;
    freed        int := 0;
    step         int;
    cpu_limit    int;
BEGIN
    -- _advice_figures_1_1() checks the window (NULL, <= 0, over a year)
    FOR r IN
        SELECT f.*,
               f.max_connections IS NOT NULL AS is_server,
               pg_catalog.max(f.max_connections) OVER () AS srv_max_connections,
               pg_catalog.max(f.connections_max) FILTER (WHERE f.max_connections IS NOT NULL) OVER () AS srv_connections_max,
               pg_catalog.sum(f.connections_max) FILTER (WHERE f.max_connections IS NULL) OVER () AS pools_peak_sum
          FROM @extschema@._advice_figures_1_1("window") f
         ORDER BY f.max_connections IS NOT NULL, f.datname, f.usename,
                  f.application_name, f.client_addr, f.overflow
    LOOP
        -- "the last hour", or the span the history actually covers
        secs := CASE WHEN r.note IS NULL
                     THEN pg_catalog.date_part('epoch', "window")
                     ELSE pg_catalog.date_part('epoch', r.computed_at - r.window_start) END;
        span := CASE
            WHEN secs = 3600 THEN 'the last hour'
            WHEN secs >= 7200 AND secs::bigint % 3600 = 0 THEN pg_catalog.format('the last %s hours', secs::bigint / 3600)
            WHEN secs >= 120 THEN pg_catalog.format('the last %s min', pg_catalog.round(secs / 60))
            ELSE pg_catalog.format('the last %s s', pg_catalog.round(secs)) END;

        datname := r.datname;
        usename := r.usename;
        application_name := r.application_name;
        client_addr := r.client_addr;
        overflow := r.overflow;
        window_start := r.window_start;
        samples := r.samples;
        note := r.note;
        connections_max := r.connections_max;
        busy_avg := r.busy_avg;
        busy_p95 := r.busy_p95;
        busy_max := r.busy_max;
        saturated_share := r.saturated_share;
        idle_in_transaction_share := r.idle_in_transaction_share;
        top_query_id := r.top_query_id;
        top_query_share := r.top_query_share;
        top_query := r.top_query;
        -- for the server row: summed over the pools
        refused_connections := r.refused_connections;
        timeouts := r.timeouts;
        recommended_size := NULL;
        reasons := '{}';

        IF r.is_server THEN
            -- the server row
            cpu_limit := r.cpus * 2 + spindles;
            IF r.connections_max >= headroom_share * r.max_connections THEN
                verdict := 'headroom_low';
                reasons := reasons || pg_catalog.format(
                    'Client connections peaked at %s of the %s usable max_connections (%s%%) in %s; raise max_connections or shrink the pools%s.',
                    r.connections_max, r.max_connections,
                    pg_catalog.round(100.0 * r.connections_max / r.max_connections),
                    span,
                    CASE WHEN freed > 0 THEN pg_catalog.format(' (shrinking the oversized ones frees %s)', freed) ELSE '' END);
            END IF;
            IF r.pools_peak_sum > r.max_connections THEN
                verdict := COALESCE(verdict, 'oversubscribed');
                reasons := reasons || pg_catalog.format(
                    'The pools'' peak sizes in %s add up to %s, past the %s usable max_connections: if they all fill at once, connections will be refused.',
                    span, r.pools_peak_sum, r.max_connections);
            END IF;
            IF r.cpus IS NOT NULL AND r.active_p95 > cpu_limit THEN
                verdict := COALESCE(verdict, 'too_many_active');
                reasons := reasons || pg_catalog.format(
                    '95%% of the samples in %s had up to %s active connections, more than the %s that %s can serve (cores * 2 + %s effective spindle, the PostgreSQL wiki''s connection-count formula); put a pooler in front or shrink the pools.',
                    span, r.active_p95, cpu_limit,
                    CASE WHEN r.cpus = 1 THEN '1 CPU' ELSE pg_catalog.format('%s CPUs', r.cpus) END, spindles);
            END IF;
            IF verdict IS NULL THEN
                verdict := 'ok';
                reasons := reasons || pg_catalog.format(
                    'Client connections peaked at %s of the %s usable max_connections in %s, and 95%% of the samples had at most %s active connections, within the %s that %s can serve.',
                    r.connections_max, r.max_connections, span, r.active_p95,
                    cpu_limit,
                    CASE WHEN r.cpus = 1 THEN '1 CPU' ELSE pg_catalog.format('%s CPUs', r.cpus) END);
            END IF;
            IF r.refused_connections > 0 THEN
                reasons := reasons || pg_catalog.format(
                    '%s connection %s refused in %s.', r.refused_connections,
                    CASE WHEN r.refused_connections = 1 THEN 'attempt was' ELSE 'attempts were' END, span);
            END IF;
            IF r.note IS NOT NULL THEN
                reasons := reasons || pg_catalog.format('Note: %s.', r.note);
            END IF;
            RETURN NEXT;
            verdict := NULL;
            CONTINUE;
        END IF;

        free_slots := r.srv_max_connections - r.srv_connections_max;

        IF r.refused_connections > 0 THEN
            verdict := 'refusing';
            reasons := reasons || pg_catalog.format(
                '%s connection %s of this pool %s refused in %s; the events of kind connection_refused say why (no free slot, or a role''s or database''s connection limit).',
                r.refused_connections, CASE WHEN r.refused_connections = 1 THEN 'attempt' ELSE 'attempts' END,
                CASE WHEN r.refused_connections = 1 THEN 'was' ELSE 'were' END, span);
        END IF;

        IF r.idle_in_transaction_share >= leak_share THEN
            verdict := COALESCE(verdict, 'leaking');
            reasons := reasons || pg_catalog.format(
                '%s%% of its busy time in %s was idle in transaction: fix the transaction scope (commit or roll back before other work); a bigger pool only hides it.',
                pg_catalog.round(100 * r.idle_in_transaction_share), span);
            IF r.iit_query_id IS NOT NULL THEN
                reasons := reasons || pg_catalog.format(
                    'The statement most often left idle in its transaction is query %s: %s.',
                    r.iit_query_id,
                    COALESCE(pg_catalog.rtrim(pg_catalog.left(r.iit_query, 200), '; '), '(text not visible)'));
            ELSE
                -- none in the profile: the latest idle_in_transaction event names it
                reasons := reasons || (
                    SELECT pg_catalog.format('The last session seen idle in its transaction ran: %s.',
                                             pg_catalog.rtrim(pg_catalog.left(e.query, 200), '; '))
                      FROM @extschema@.events e
                     WHERE e.kind = 'idle_in_transaction' AND e.query IS NOT NULL
                       AND e.detected_at >= r.window_start
                       AND e.datname IS NOT DISTINCT FROM r.datname
                       AND e.usename IS NOT DISTINCT FROM r.usename
                       AND e.application_name IS NOT DISTINCT FROM r.application_name
                       AND e.client_addr IS NOT DISTINCT FROM r.client_addr
                     ORDER BY e.id DESC LIMIT 1);
                reasons := pg_catalog.array_remove(reasons, NULL);
            END IF;
        END IF;

        -- not for a leak: its "busy" time is a transaction left open, and a
        -- statement_timeout does not bound that
        IF r.top_query_share >= slow_share AND r.saturated_share >= saturated_min
           AND NOT COALESCE(r.idle_in_transaction_share >= leak_share, false) THEN
            -- the mean time, when pg_stat_statements is there and readable
            IF NOT pgss_looked THEN
                SELECT n.nspname INTO pgss_nsp
                  FROM pg_catalog.pg_extension e
                  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
                 WHERE e.extname = 'pg_stat_statements';
                pgss_looked := true;
            END IF;
            mean_ms := NULL;
            IF pgss_nsp IS NOT NULL THEN
                BEGIN
                    EXECUTE pg_catalog.format(
                        'SELECT pg_catalog.sum(s.total_exec_time) / NULLIF(pg_catalog.sum(s.calls), 0)
                           FROM %I.pg_stat_statements s
                          WHERE s.queryid = $1
                            AND s.dbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = $2)',
                        pgss_nsp)
                      INTO mean_ms USING r.top_query_id, r.datname;
                EXCEPTION WHEN OTHERS THEN
                    mean_ms := NULL;    -- not loaded, or not readable
                END;
            END IF;
            verdict := COALESCE(verdict, 'slow_queries');
            reasons := reasons || pg_catalog.format(
                'Saturated %s%% of %s; %s%% of its busy time is query %s: %s%s.',
                pg_catalog.round(100 * r.saturated_share), span,
                pg_catalog.round(100 * r.top_query_share), r.top_query_id,
                COALESCE(pg_catalog.rtrim(pg_catalog.left(top_query, 200), '; '), '(text not visible)'),
                CASE WHEN mean_ms IS NOT NULL
                     THEN pg_catalog.format(' (mean %s ms in pg_stat_statements)', pg_catalog.round(mean_ms::numeric, 1))
                     ELSE '' END);
            IF r.top_lock_share >= 0.5 THEN
                -- blocked, not slow: a timeout would only turn the wait into errors
                reasons := reasons || pg_catalog.format(
                    '%s%% of that is waiting on a lock another session holds: find the blocker in the lock_wait events (blocked_by) and shorten its transaction; a statement_timeout or more connections would not remove the wait.',
                    pg_catalog.round(100 * r.top_lock_share));
            ELSIF r.usename IS NULL THEN
                -- the overflow pool has no key to name
                reasons := reasons || pg_catalog.format(
                    'Bound it with a statement_timeout for the roles or applications that run it (this is the overflow pool: raise pool_observer.max_pools to see which) or give it a separate pool; more connections would fill the same way.');
            ELSE
                reasons := reasons || pg_catalog.format(
                    'Bound it with a statement_timeout for this role or application (ALTER ROLE %I SET statement_timeout = ''%ss'', or SET in the application %L) or give it a separate pool; more connections would fill the same way.',
                    r.usename,
                    CASE WHEN mean_ms IS NOT NULL THEN GREATEST(1, pg_catalog.ceil(2 * mean_ms / 1000))::text ELSE '30' END,
                    r.application_name);
            END IF;
        END IF;

        IF r.saturated_share >= saturated_min THEN
            step := GREATEST(growth_min, pg_catalog.ceil(r.connections_max * growth)::int);
            IF verdict IS NULL THEN
                verdict := 'undersized';
                IF free_slots > 0 THEN
                    recommended_size := r.connections_max + LEAST(step, free_slots);
                    reasons := reasons || pg_catalog.format(
                        'Saturated %s%% of %s (%s busy; busy p95 %s, max %s) and no single query or leak explains it: grow it to %s; the server had %s free %s at its peak.',
                        pg_catalog.round(100 * r.saturated_share), span,
                        CASE WHEN r.connections_max = 1 THEN 'its one connection'
                             ELSE pg_catalog.format('all %s connections', r.connections_max) END,
                        r.busy_p95, r.busy_max,
                        recommended_size, free_slots,
                        CASE WHEN free_slots = 1 THEN 'connection' ELSE 'connections' END);
                ELSE
                    reasons := reasons || pg_catalog.format(
                        'Saturated %s%% of %s (%s busy), but the server had no free connection at its peak: shrink other pools or raise max_connections first.',
                        pg_catalog.round(100 * r.saturated_share), span,
                        CASE WHEN r.connections_max = 1 THEN 'its one connection'
                             ELSE pg_catalog.format('all %s connections', r.connections_max) END);
                END IF;
            ELSIF verdict = 'refusing' THEN
                reasons := reasons || pg_catalog.format(
                    'It was also saturated %s%% of %s (%s busy).',
                    pg_catalog.round(100 * r.saturated_share), span,
                    CASE WHEN r.connections_max = 1 THEN 'its one connection'
                         ELSE pg_catalog.format('all %s connections', r.connections_max) END);
            END IF;
        ELSIF r.connections_max >= oversized_min
              AND r.busy_max <= oversized_use * r.connections_max THEN
            step := r.busy_max + GREATEST(margin_min, pg_catalog.ceil(r.busy_max * margin_share)::int);
            IF step < r.connections_max AND verdict IS NULL THEN
                verdict := 'oversized';
                recommended_size := step;
                freed := freed + (r.connections_max - step);
                reasons := reasons || pg_catalog.format(
                    'Used at most %s of its %s connections in %s (busy p95 %s, avg %s): shrink it to %s (the peak plus a margin), which frees %s max_connections %s.',
                    r.busy_max, r.connections_max, span, r.busy_p95,
                    pg_catalog.round(r.busy_avg::numeric, 1), step,
                    r.connections_max - step,
                    CASE WHEN r.connections_max - step = 1 THEN 'slot' ELSE 'slots' END);
            END IF;
        END IF;

        IF verdict IS NULL THEN
            verdict := 'ok';
            reasons := reasons || pg_catalog.format(
                'Busy p95 %s and max %s of %s %s, saturated %s%% of %s: keep it.',
                r.busy_p95, r.busy_max, r.connections_max,
                CASE WHEN r.connections_max = 1 THEN 'connection' ELSE 'connections' END,
                pg_catalog.round(100 * r.saturated_share), span);
        END IF;
        IF r.note IS NOT NULL THEN
            reasons := reasons || pg_catalog.format('Note: %s.', r.note);
        END IF;
        RETURN NEXT;
        verdict := NULL;
    END LOOP;
END;
$advice$;

CREATE VIEW @extschema@.advice AS
SELECT * FROM @extschema@.advice();

REVOKE ALL ON FUNCTION
    @extschema@._advice_figures_1_1(interval),
    @extschema@.advice(interval)
  FROM PUBLIC;
REVOKE ALL ON @extschema@.advice FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@._advice_figures_1_1(interval),
    @extschema@.advice(interval)
  TO pg_monitor;
GRANT SELECT ON @extschema@.advice TO pg_monitor;
-- end of 1.1: advice

-- ---------------------------------------------------------------------------
-- 1.1: query visibility
--
-- The sessions view keeps pg_stat_activity's rule for query text (another
-- role's session shows '<insufficient privilege>'), but chooses its rows
-- from the status reader's client backends: pg_stat_activity hides the
-- backend_type of a session the caller may not see, so filtering on it
-- made such sessions vanish.  Every column stays, in order; CREATE OR
-- REPLACE VIEW keeps the view's grants.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@._client_backends_1_1(OUT pid integer)
RETURNS SETOF integer
AS 'MODULE_PATHNAME', 'po_client_backends_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION @extschema@._client_backends_1_1() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._client_backends_1_1() TO pg_monitor;

CREATE OR REPLACE VIEW @extschema@.sessions AS
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
 WHERE a.pid OPERATOR(pg_catalog.=) ANY (ARRAY(
           SELECT c.pid FROM @extschema@._client_backends_1_1() c))
   AND @extschema@._assert_loaded();
-- end of 1.1: query visibility
