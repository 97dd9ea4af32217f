-- A 1.0 installation updates to 1.1 in place.  test/t/090_upgrade.pl
-- compares the updated catalog with a fresh install in full; this checks
-- the path itself: version, members, and that the new views answer.
DROP EXTENSION pool_observer;
CREATE EXTENSION pool_observer VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'pool_observer';
-- functions and views of 1.0 (row types are left out: 17 lists them too)
SELECT count(*) FILTER (WHERE classid = 'pg_proc'::regclass) AS functions,
       count(*) FILTER (WHERE classid = 'pg_class'::regclass) AS views
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pool_observer')
   AND deptype = 'e';
-- 1.1 objects are not there yet
SELECT to_regclass('pool_observer.profile') IS NULL AS no_profile,
       to_regclass('pool_observer.pool_counters') IS NULL AS no_counters,
       to_regprocedure('pool_observer.advice(interval)') IS NULL AS no_advice;
ALTER EXTENSION pool_observer UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pool_observer';
SELECT count(*) FILTER (WHERE classid = 'pg_proc'::regclass) AS functions,
       count(*) FILTER (WHERE classid = 'pg_class'::regclass) AS views
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pool_observer')
   AND deptype = 'e';
-- the new views and the widened old ones answer
SELECT count(*) >= 0 AS ok FROM pool_observer.profile;
SELECT count(*) >= 0 AS ok FROM pool_observer.profile_history;
SELECT count(*) >= 0 AS ok FROM pool_observer.pool_counters;
SELECT count(*) >= 1 AS ok FROM pool_observer.advice;
SELECT count(refused_connections) >= 0 AS ok FROM pool_observer.server_history;
SELECT count(sessions_terminated) >= 0 AS ok FROM pool_observer.pool_history;
SELECT outcomes_dropped >= 0 AND profile_entries_max > 0 AS ok
  FROM pool_observer.worker;
-- already at the newest version
ALTER EXTENSION pool_observer UPDATE;
