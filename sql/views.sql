-- Columns of every view, in order: the user-facing contract.
SELECT table_name, ordinal_position, column_name, data_type
  FROM information_schema.columns
 WHERE table_schema = 'pool_observer'
 ORDER BY table_name, ordinal_position;
-- sample_now() returns once a fresh sample is visible.
SELECT pool_observer.sample_now() AS sampled_at \gset
SELECT :'sampled_at'::timestamptz <= clock_timestamp() AS sampled,
       last_sample_at >= :'sampled_at' AS visible
  FROM pool_observer.worker;
SELECT sampled_at >= :'sampled_at' AS pools_from_that_sample
  FROM pool_observer.pools LIMIT 1;
-- This session is a client backend: it is in sessions and in a pool.
SELECT state, application_name = current_setting('application_name') AS my_app,
       blocked_by, xact_age >= '0'::interval AS aged
  FROM pool_observer.sessions WHERE pid = pg_backend_pid();
SELECT connections >= 1 AS has_me, active >= 1 AS me_active,
       utilization BETWEEN 0 AND 1 AS utilization_ok, overflow
  FROM pool_observer.pools
 WHERE application_name = current_setting('application_name')
   AND datname = current_database();
-- The pools add up to the server's client connections.
SELECT (SELECT sum(connections) FROM pool_observer.pools) =
       (SELECT connections FROM pool_observer.health) AS pools_add_up;
-- The worker is running and reports its cost.
SELECT pid IS NOT NULL AS running, samples > 0 AS sampled,
       sample_us_avg > 0 AS timed, sample_us_max >= sample_us_avg AS max_ge_avg
  FROM pool_observer.worker;
SELECT worker_running, sampling_enabled, max_connections = 47 AS usable_max,
       status IN ('ok', 'warning') AS not_critical
  FROM pool_observer.health;
-- History has a current bucket once samples exist.
SELECT count(*) > 0 AS has_buckets, bool_and(samples > 0) AS counted,
       bool_and(max_connections = 47) AS max_ok
  FROM pool_observer.server_history;
SELECT count(*) > 0 AS has_pool_rows
  FROM pool_observer.pool_history
 WHERE application_name = current_setting('application_name');
-- Events are readable (none expected with the default thresholds).
SELECT count(*) >= 0 AS readable FROM pool_observer.events;
