# Copyright (c) 2026, pool_observer developers
#
# 020_profile.pl
#	  The busy-time profile: where each pool's busy time goes, by state,
#	  wait event and query id, with real sessions.
#
#  - A one-connection pool shared by a slow pg_sleep loop and fast queries
#	 attributes >= 60% of its busy time to the sleep's query id, with wait
#	 event Timeout/PgSleep; its query text is the sleep statement.
#  - A pool of sessions waiting on one row lock shows Lock waits.
#  - A leak shows 'idle in transaction'.
#  - An always-busy connection's busy_seconds match the elapsed time within
#	 +-20%.
#  - The shares of each pool's rows add up to 1, in profile and in every
#	 bucket of profile_history; profile_history has 'other' rows only as
#	 the remainder beyond profile_top.
#  - Overflow (last, after a restart with max_profile_entries = 4): distinct statements beyond it
#	 fold into the pool's other row and worker.profile_entries_folded grows.
#  - A reload that changes sample_interval keeps the seconds right.
#  - A clean restart keeps the profile; reset() clears it; with
#	 pool_observer.profile = off nothing is collected and worker says so.
#  - query of another role's session: '<insufficient privilege>' for a
#	 role granted the view but without pg_read_all_stats (pg_monitor
#	 includes it, so a pg_monitor member sees the text, as in
#	 pg_stat_activity).
#  - The restart subtest needs persist.c to call po_profile_save() and
#	 po_profile_load() (one row in its section table); until then it fails.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest qw(run_in start_in poll_sample set_conf);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('profile');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
compute_query_id = on
pool_observer.sample_interval = 100
pool_observer.history_interval = 1
pool_observer.max_profile_entries = 64
pool_observer.profile_top = 2
pool_observer.idle_in_transaction_threshold = -1
pool_observer.saturation_threshold = -1
pool_observer.lock_wait_threshold = -1
pool_observer.slow_statement_threshold = -1
log_statement = none
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE ROLE regress_prof_app LOGIN;
CREATE ROLE regress_prof_mon LOGIN IN ROLE pg_monitor;
CREATE ROLE regress_prof_granted LOGIN;
GRANT USAGE ON SCHEMA pool_observer TO regress_prof_granted;
GRANT EXECUTE ON FUNCTION pool_observer._profile_1_1() TO regress_prof_granted;
GRANT SELECT ON pool_observer.profile TO regress_prof_granted;
CREATE ROLE regress_prof_stats LOGIN IN ROLE pg_monitor, pg_read_all_stats;
CREATE TABLE prof_rows (id int PRIMARY KEY, v int);
INSERT INTO prof_rows VALUES (1, 0);
GRANT ALL ON prof_rows TO regress_prof_app;
});

my $mon = $node->background_psql('postgres', on_error_stop => 1);
my @sessions;

sub session
{
	my ($app, $role) = @_;
	$role //= 'regress_prof_app';
	my $s = $node->background_psql(
		'postgres',
		on_error_stop => 0,
		extra_params => [
			'-d',
			$node->connstr('postgres')
			  . " application_name='$app' user=$role"
		]);
	$s->{pid} = $s->query_safe('SELECT pg_backend_pid()');
	push @sessions, $s;
	return $s;
}

# Run $sql on $mon after a fresh sample until it is true (t) or $secs pass.
sub wait_true
{
	my ($sql, $secs) = @_;
	return poll_sample($mon, $sql, 't', $secs // 60) eq 't';
}

# busy seconds of a pool and the time of the sample they are from, as the
# sampler's own rhythm took it (sample_now() would add samples early)
sub busy_at
{
	my ($app) = @_;
	return split /\|/, $mon->query_safe(
		qq{SELECT coalesce(sum(p.busy_seconds), 0), sum(p.samples),
                  extract(epoch FROM w.last_sample_at)
             FROM pool_observer.worker w
             LEFT JOIN pool_observer.profile p ON p.application_name = '$app'
            GROUP BY w.last_sample_at});
}

# busy seconds per elapsed second of a pool over >= $secs of samples
sub busy_ratio
{
	my ($app, $secs) = @_;
	my ($b0, $s0, $t0) = busy_at($app);
	my ($b1, $s1, $t1);
	my $deadline = time + 60;
	do
	{
		usleep(250_000);
		($b1, $s1, $t1) = busy_at($app);
	} while ($t1 - $t0 < $secs && time < $deadline);
	return (($b1 - $b0) / ($t1 - $t0), ($s1 - $s0) > 0 ? ($b1 - $b0) / ($s1 - $s0) : 0);
}

# Stop every session, also those in the middle of a statement.
sub end_sessions
{
	$mon->query_safe(
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'prof\\_%'");
	eval { $_->quit } for @sessions;
	@sessions = ();
}

sub worker
{
	my ($col) = @_;
	return $mon->query_safe("SELECT $col FROM pool_observer.worker");
}

# ---------------------------------------------------------------------
# 1. One connection, a slow sleep loop and fast queries.  One session
#	 runs both: a 0.5 s sleep, then a burst of fast statements, in a loop.
# ---------------------------------------------------------------------
my $one = session('prof_one');
start_in($one,
	join('', map { "SELECT pg_sleep(0.3);\nSELECT count(*) FROM generate_series(1, 20000);\n" } 1 .. 400));
ok( wait_true(
		q{SELECT coalesce(sum(share) FILTER (WHERE wait_event_type = 'Timeout'
                                          AND wait_event = 'PgSleep'), 0) >= 0.6
                AND sum(busy_seconds) >= 3
           FROM pool_observer.profile WHERE application_name = 'prof_one'}),
	'one-connection pool: >= 60% of busy time in Timeout/PgSleep');
my $sleep_qid = $mon->query_safe(
	q{SELECT query_id FROM pool_observer.profile
       WHERE application_name = 'prof_one' AND wait_event = 'PgSleep'
       ORDER BY busy_seconds DESC LIMIT 1});
my ($act_qid) = $mon->query_safe('EXPLAIN (VERBOSE) SELECT pg_sleep(0.3)')
  =~ /Query Identifier: (-?\d+)/;
is($sleep_qid, $act_qid, "the PgSleep entry carries the sleep statement's query id");
like(
	$mon->query_safe(
		qq{SELECT query FROM pool_observer.profile
            WHERE application_name = 'prof_one' AND query_id = $sleep_qid
            LIMIT 1}),
	qr/pg_sleep/,
	'its query text is the statement');
is( $mon->query_safe(
		qq{SELECT count(*) > 0 FROM pool_observer.profile
            WHERE application_name = 'prof_one' AND userid = 'regress_prof_app'::regrole
              AND dbid = (SELECT oid FROM pg_database WHERE datname = 'postgres')}),
	't',
	'userid and dbid name the role and database (pg_stat_statements join)');

# ---------------------------------------------------------------------
# 2. Sessions waiting on one row lock.
# ---------------------------------------------------------------------
my $holder = session('prof_lock');
run_in($holder, 'BEGIN; UPDATE prof_rows SET v = v + 1 WHERE id = 1;');
my @waiters = map { session('prof_lock') } 1 .. 2;
start_in($_, 'UPDATE prof_rows SET v = v + 1 WHERE id = 1;') for @waiters;
ok( wait_true(
		q{SELECT count(*) > 0 FROM pool_observer.profile
           WHERE application_name = 'prof_lock' AND wait_event_type = 'Lock'
             AND busy_seconds > 0.5}),
	'row lock waiters show Lock waits');
ok( wait_true(
		q{SELECT count(*) > 0 FROM pool_observer.profile
           WHERE application_name = 'prof_lock' AND state = 'idle in transaction'}),
	'the lock holder shows as idle in transaction');
run_in($holder, 'COMMIT;');

# ---------------------------------------------------------------------
# 3. A leak.
# ---------------------------------------------------------------------
my $leak = session('prof_leak');
run_in($leak, 'BEGIN; SELECT 1;');
ok( wait_true(
		q{SELECT coalesce(sum(share) FILTER (WHERE state = 'idle in transaction'), 0) > 0.9
           FROM pool_observer.profile WHERE application_name = 'prof_leak'}),
	"a leak is 'idle in transaction'");

# ---------------------------------------------------------------------
# 4. An always-busy connection: busy seconds match elapsed time.
# ---------------------------------------------------------------------
my $busy = session('prof_busy');
start_in($busy, 'SELECT pg_sleep(3600);');
ok( wait_true(
		q{SELECT count(*) > 0 FROM pool_observer.profile
           WHERE application_name = 'prof_busy'}),
	'the busy connection appears');
my ($ratio) = busy_ratio('prof_busy', 5);
ok($ratio >= 0.8 && $ratio <= 1.2,
	"busy seconds match elapsed time within 20% (ratio $ratio)");

# Three always-busy connections in one statement: one entry, noted once
# per connection and sample (the sampler counts them per entry, not per
# backend, when their tags do not change).
my @three = map { session('prof_three') } 1 .. 3;
start_in($_, 'SELECT pg_sleep(3600);') for @three;
ok( wait_true(
		q{SELECT count(*) FILTER (WHERE state = 'active') = 3
           FROM pg_stat_activity WHERE application_name = 'prof_three'}),
	'the three connections are busy');
ok( wait_true(
		q{SELECT count(*) = 1 FROM pool_observer.profile
           WHERE application_name = 'prof_three' AND wait_event = 'PgSleep'}),
	'three connections in one statement share one entry');
my ($ratio3, $per_sample3) = busy_ratio('prof_three', 5);
ok($ratio3 >= 2.4 && $ratio3 <= 3.6,
	"three busy connections: 3 busy seconds per elapsed second within 20% (ratio $ratio3)");
my $interval_s = $mon->query_safe(
	q{SELECT setting::float8 / 1000 FROM pg_settings
       WHERE name = 'pool_observer.sample_interval'});
ok(abs($per_sample3 - $interval_s) < 1e-6,
	"each of their samples is one sample_interval ($per_sample3 s)");

# ---------------------------------------------------------------------
# 5. Shares add up to 1.
# ---------------------------------------------------------------------
is( $mon->query_safe(
		q{SELECT count(*) FILTER (WHERE abs(s - 1) > 1e-9) FROM (
            SELECT sum(share) AS s FROM pool_observer.profile
             GROUP BY datname, usename, application_name, client_addr, overflow) t}),
	'0',
	'profile: shares of each pool add up to 1');
ok( wait_true(
		q{SELECT count(DISTINCT bucket_start) >= 3 FROM pool_observer.profile_history
           WHERE application_name = 'prof_one'}),
	'profile_history has buckets');
is( $mon->query_safe(
		q{SELECT count(*) FILTER (WHERE abs(s - 1) > 1e-9) FROM (
            SELECT sum(share) AS s FROM pool_observer.profile_history
             GROUP BY bucket_start, datname, usename, application_name,
                      client_addr, overflow) t}),
	'0',
	'profile_history: shares of each pool in each bucket add up to 1');
is( $mon->query_safe(
		q{SELECT count(*) FROM (
            SELECT count(*) FILTER (WHERE NOT other) AS top,
                   count(*) FILTER (WHERE other) AS others
              FROM pool_observer.profile_history
             GROUP BY bucket_start, datname, usename, application_name,
                      client_addr, overflow) t
          WHERE top > 2 OR others > 1}),
	'0',
	'profile_history: at most profile_top entries and one other row per pool and bucket');

# ---------------------------------------------------------------------
# 7. Interval change at reload keeps the seconds right.
# ---------------------------------------------------------------------
set_conf($node, $mon, 'pool_observer.sample_interval = 250');
my $per_sample;
($ratio, $per_sample) = busy_ratio('prof_busy', 5);
ok($ratio >= 0.8 && $ratio <= 1.2,
	"after a reload to 250 ms, busy seconds still match elapsed time (ratio $ratio)");
ok(abs($per_sample - 0.25) < 1e-6, "each new sample counts the 250 ms in force ($per_sample)");
set_conf($node, $mon, 'pool_observer.sample_interval = 100');

# ---------------------------------------------------------------------
# 8. Visibility of query.
# ---------------------------------------------------------------------
sub as_role
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql,
		connstr => $node->connstr('postgres') . " user=$role");
}
is( as_role(
		'regress_prof_granted',
		q{SELECT string_agg(DISTINCT query, ',') FROM pool_observer.profile
           WHERE application_name = 'prof_one' AND query_id IS NOT NULL}),
	'<insufficient privilege>',
	'granted the view, without pg_read_all_stats: no query text of another role');
like(
	as_role(
		'regress_prof_mon',
		q{SELECT string_agg(DISTINCT query, ',') FROM pool_observer.profile
           WHERE application_name = 'prof_one' AND wait_event = 'PgSleep'}),
	qr/pg_sleep/,
	'pg_monitor (which includes pg_read_all_stats) sees it');
like(
	as_role(
		'regress_prof_stats',
		q{SELECT string_agg(DISTINCT query, ',') FROM pool_observer.profile
           WHERE application_name = 'prof_one' AND wait_event = 'PgSleep'}),
	qr/pg_sleep/,
	'pg_read_all_stats sees it');
my ($err);
$node->psql('postgres', 'SELECT * FROM pool_observer.profile',
	stderr => \$err,
	connstr => $node->connstr('postgres') . ' user=regress_prof_app');
like($err, qr/permission denied/, 'a plain role cannot read profile');

# The snapshot reader too keeps real texts only, never a placeholder.
set_conf($node, $mon, 'pool_observer.sampling_method = pgstat');
my $snap = session('prof_snap');
start_in($snap, 'SELECT pg_sleep(3600), 42;');
ok( wait_true(
		q{SELECT count(*) > 0 FROM pool_observer.profile
           WHERE application_name = 'prof_snap' AND query LIKE '%pg_sleep(3600), 42%'}),
	'pgstat sampling: the query text is captured');
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.profile WHERE query LIKE '<%'}),
	'0', 'no placeholder is ever kept as a query text');
set_conf($node, $mon, 'pool_observer.sampling_method = direct');

# ---------------------------------------------------------------------
# 9. A clean restart keeps it; reset() clears it; profile = off.
# ---------------------------------------------------------------------
end_sessions();
set_conf($node, $mon, 'pool_observer.enabled = off');
my $before = $mon->query_safe(
	q{SELECT string_agg(format('%s|%s|%s|%s|%s|%s', application_name, state,
                               wait_event, query_id, samples, other), ';'
                        ORDER BY application_name, state, wait_event,
                                 query_id, other)
        FROM pool_observer.profile});
my $hist_before = $mon->query_safe(
	'SELECT count(*) FROM pool_observer.profile_history');
$mon->quit;
$node->restart;
$mon = $node->background_psql('postgres', on_error_stop => 1);
# Needs persist.c to save and load the profile section (po_profile_save /
# po_profile_load in its section table); fails until that is wired.
is( $mon->query_safe(
		q{SELECT string_agg(format('%s|%s|%s|%s|%s|%s', application_name, state,
                                   wait_event, query_id, samples, other), ';'
                            ORDER BY application_name, state, wait_event,
                                 query_id, other)
            FROM pool_observer.profile}),
	$before,
	'a clean restart keeps the profile');
is($mon->query_safe('SELECT count(*) FROM pool_observer.profile_history'),
	$hist_before, 'and its history');

set_conf($node, $mon, "pool_observer.enabled = on\npool_observer.profile = off");
is(worker('profile_enabled'), 'f', 'worker says the profile is off');
my $busy2 = session('prof_off');
start_in($busy2, 'SELECT pg_sleep(3600);');
poll_sample($mon,
	"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'prof_off' AND state = 'active'",
	'1');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 5;
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.profile WHERE application_name = 'prof_off'}),
	'0',
	'with profile off nothing is collected');
set_conf($node, $mon, 'pool_observer.profile = on');
ok( wait_true(
		q{SELECT count(*) > 0 FROM pool_observer.profile WHERE application_name = 'prof_off'}),
	'on again, it collects');
is(worker('profile_enabled'), 't', 'worker says the profile is on');

$mon->query_safe('SELECT pool_observer.reset()');
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.profile
           WHERE application_name <> 'prof_off' OR other}),
	'0',
	'reset() clears the profile');
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.profile_history
           WHERE bucket_start < now() - interval '2 seconds'}),
	'0',
	'and its history');
is(worker('profile_entries_folded'), '0', 'and the folded counter');

end_sessions();
# ---------------------------------------------------------------------
# 6. Overflow folding: 4 entries fit; distinct statements beyond fold.
# ---------------------------------------------------------------------
$node->append_conf('postgresql.conf', 'pool_observer.max_profile_entries = 4');
end_sessions();
$mon->quit;
$node->restart;
$mon = $node->background_psql('postgres', on_error_stop => 1);
$mon->query_safe('SELECT pool_observer.reset()');
my $folded0 = worker('profile_entries_folded');
my $many = session('prof_many');
for my $i (1 .. 8)
{
	# distinct statement shapes: a different number of columns each
	my $cols = join(', ', map { "$_" } 1 .. $i);
	run_in($many, "SELECT pg_sleep(0.3), $cols;");
}
ok( wait_true(
		qq{SELECT profile_entries_folded > $folded0
                AND profile_entries_used = profile_entries_max
                AND profile_entries_max = 4
           FROM pool_observer.worker}),
	'entries beyond max_profile_entries are folded and counted');
ok( wait_true(
		q{SELECT count(*) = 1 FROM pool_observer.profile
           WHERE application_name = 'prof_many' AND other AND busy_seconds > 0
             AND state IS NULL AND query_id IS NULL AND query IS NULL}),
	"the folded time is the pool's one other row");
is($mon->query_safe(
		q{SELECT count(*) <= 4 FROM pool_observer.profile WHERE NOT other}),
	't', 'no more entries than max_profile_entries');

end_sessions();
$mon->quit;
$node->stop;
done_testing();
