-- Nothing for PUBLIC; pg_monitor reads; pg_signal_backend acts.
CREATE ROLE regress_plain LOGIN;
CREATE ROLE regress_monitor LOGIN IN ROLE pg_monitor;
CREATE ROLE regress_signal LOGIN IN ROLE pg_signal_backend;

SELECT p.proname, p.prosecdef,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec,
       has_function_privilege('pg_monitor', p.oid, 'EXECUTE') AS monitor_exec,
       has_function_privilege('pg_signal_backend', p.oid, 'EXECUTE') AS signal_exec
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'pool_observer'
 ORDER BY 1;
SELECT c.relname,
       has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       has_table_privilege('pg_monitor', c.oid, 'SELECT') AS monitor_select
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pool_observer'
 ORDER BY 1;

SET ROLE regress_plain;
SELECT * FROM pool_observer.pools;
SELECT * FROM pool_observer.health;
SELECT pool_observer.sample_now();
SELECT * FROM pool_observer.terminate_idle_in_transaction('1 min');
SELECT pool_observer.reset();
RESET ROLE;

SET ROLE regress_monitor;
SELECT count(*) >= 0 AS ok FROM pool_observer.pools;
SELECT count(*) >= 0 AS ok FROM pool_observer.sessions;
SELECT count(*) >= 0 AS ok FROM pool_observer.events;
SELECT count(*) >= 0 AS ok FROM pool_observer.pool_history;
SELECT count(*) >= 0 AS ok FROM pool_observer.server_history;
SELECT status IS NOT NULL AS ok FROM pool_observer.health;
SELECT samples > 0 AS ok FROM pool_observer.worker;
SELECT pool_observer.sample_now() IS NOT NULL AS ok;
SELECT * FROM pool_observer.terminate_idle_in_transaction('1 min');
SELECT * FROM pool_observer.cancel_slow_statements('1 min');
SELECT pool_observer.reset();
RESET ROLE;

SET ROLE regress_signal;
SELECT count(*) FROM pool_observer.terminate_idle_in_transaction('1 hour', true);
SELECT count(*) FROM pool_observer.cancel_slow_statements('1 hour', true);
SELECT * FROM pool_observer.pools;
SELECT pool_observer.reset();
RESET ROLE;

-- reset() checks for a superuser itself, even if EXECUTE is granted.
GRANT USAGE ON SCHEMA pool_observer TO regress_plain;
GRANT EXECUTE ON FUNCTION pool_observer.reset() TO regress_plain;
SET ROLE regress_plain;
SELECT pool_observer.reset();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pool_observer.reset() FROM regress_plain;
REVOKE USAGE ON SCHEMA pool_observer FROM regress_plain;

DROP ROLE regress_plain, regress_monitor, regress_signal;
