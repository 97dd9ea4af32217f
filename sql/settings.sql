-- Every setting, with its default, unit, bounds and when it takes effect.
SELECT name, boot_val, unit, context, vartype, min_val, max_val
  FROM pg_settings
 WHERE name LIKE 'pool_observer.%'
 ORDER BY name;
-- The prefix is reserved: a misspelt setting is rejected.
SET pool_observer.no_such_setting = 1;
-- Reload-only and restart-only settings cannot be changed in a session.
SET pool_observer.sample_interval = 500;
SET pool_observer.max_pools = 10;
-- Out-of-range and malformed values are rejected with a clear message.
ALTER SYSTEM SET pool_observer.sample_interval = 0;
ALTER SYSTEM SET pool_observer.sample_interval = 'often';
ALTER SYSTEM SET pool_observer.max_connections_warn = 101;
ALTER SYSTEM SET pool_observer.max_actions_per_minute = -5;
ALTER SYSTEM SET pool_observer.churn_threshold = 'lots';
ALTER SYSTEM SET pool_observer.history_interval = '0s';
ALTER SYSTEM SET pool_observer.sampling_method = 'magic';
ALTER SYSTEM SET pool_observer.exempt_roles = '"unterminated';
ALTER SYSTEM SET pool_observer.exempt_applications = 'a,,b';
-- Lists tolerate spaces and quotes; units are accepted.
ALTER SYSTEM SET pool_observer.exempt_roles = ' backup ,  "Odd Role" ,nobody';
ALTER SYSTEM SET pool_observer.idle_in_transaction_threshold = '2min';
ALTER SYSTEM RESET pool_observer.exempt_roles;
ALTER SYSTEM RESET pool_observer.idle_in_transaction_threshold;
