-- The extension installs into its own schema and is not relocatable.
CREATE EXTENSION pool_observer;
SELECT e.extname, e.extversion, n.nspname, e.extrelocatable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'pool_observer';
-- It cannot be moved or created twice.
ALTER EXTENSION pool_observer SET SCHEMA public;
CREATE EXTENSION pool_observer;
-- Every object of the extension, in a stable order.
SELECT pg_describe_object(classid, objid, 0) AS object
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pool_observer')
   AND deptype = 'e'
 ORDER BY 1;
