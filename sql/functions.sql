-- Bad arguments give clean errors.
SELECT * FROM pool_observer.terminate_idle_in_transaction(NULL);
SELECT * FROM pool_observer.terminate_idle_in_transaction('1 min', NULL);
SELECT * FROM pool_observer.terminate_idle_in_transaction('-1 s');
SELECT * FROM pool_observer.terminate_idle_in_transaction('0');
SELECT * FROM pool_observer.terminate_idle_in_transaction('2 years');
SELECT * FROM pool_observer.terminate_idle_in_transaction('-1 day +2 hours');
SELECT * FROM pool_observer.cancel_slow_statements(NULL, true);
SELECT * FROM pool_observer.cancel_slow_statements('-1 hour');
SELECT * FROM pool_observer.cancel_slow_statements('1000000 years');
-- Valid calls with nothing to do return no rows; the caller is never a target.
SELECT * FROM pool_observer.terminate_idle_in_transaction('1 hour');
SELECT * FROM pool_observer.terminate_idle_in_transaction('1 ms', true);
SELECT * FROM pool_observer.cancel_slow_statements('1 ms');
-- An idle-in-transaction session of our own is not "another" session either.
BEGIN;
SELECT count(*) FROM pool_observer.terminate_idle_in_transaction('1 ms', true);
COMMIT;
-- reset() empties history and events; sampling goes on.
SELECT pool_observer.reset();
SELECT count(*) AS events FROM pool_observer.events;
SELECT pool_observer.sample_now() IS NOT NULL AS sampled;
SELECT count(*) <= 1 AS fresh_history FROM pool_observer.server_history;
