# Copyright (c) 2026, pool_observer developers
#
# 010_detect.pl
#	  Every detector opens an episode when its threshold is crossed and
#	  closes it when the condition goes away: one events row per episode,
#	  never one per sample.
#
#  - idle_in_transaction: opens after the threshold (not before), with the
#	 query and the query_id that pg_stat_statements has for it; still one
#	 row after many samples; ended_at set at COMMIT, duration >= threshold;
#	 a new idle period is a new episode.
#  - long_transaction: detail 'backend_xmin_age=N' follows the xids used
#	 since the snapshot.
#  - slow_statement: opens while the statement runs, ends after it.
#  - lock_wait: blocked_by = {holder}, detail 'blocked_by=holder'; the
#	 holder's idle_in_transaction event has blocked_pids = {waiter}.
#  - pool_saturated: a one-connection pool busy past the threshold; ends
#	 when the pool gets an idle connection.
#  - connection_churn: pgbench -C in one pool above churn_threshold.
#  - server_connections_high: 5 connections of 17 usable with
#	 max_connections_warn = 30 do not open it, 6 do; health warns; at 17
#	 of 17 health is critical.
#  - log_events: one LOG line per opened episode, exact format, strings
#	 quoted and escaped; none with log_events = off.
#  - The event ring (max_events = 10) keeps the 10 newest of 15 episodes,
#	 ids increasing; worker.events_dropped counts the rest.
#  - saturation_threshold = 0: a saturated pool gives health.saturated_pools
#	 = 0, no reason, no pool_saturated event; at 1 s it is counted.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('detect');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer, pg_stat_statements'
compute_query_id = on
max_connections = 20
superuser_reserved_connections = 3
pool_observer.sample_interval = 100
pool_observer.idle_in_transaction_threshold = 1000
pool_observer.slow_statement_threshold = 1000
pool_observer.long_transaction_threshold = 1000
pool_observer.lock_wait_threshold = 1000
pool_observer.saturation_threshold = 1000
pool_observer.churn_threshold = 5
pool_observer.max_connections_warn = -1
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE EXTENSION pg_stat_statements;
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
});
my $mon = $node->background_psql('postgres');

#
# Session detectors, all at once.
#
my $log_offset = -s $node->logfile;

my $iit = session($node, app => 'det_iit');
run_in($iit, "BEGIN;\nSELECT 42 AS po_iit_marker, 43, 44, 45;");

my $esc = session($node, app => 'det "q\\ x');
run_in($esc, "BEGIN;\nSELECT 1;");

my $long = session($node, app => 'det_long');
run_in($long, "BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT 1;");
# xids used after det_long took its snapshot
$mon->query_safe('SELECT txid_current()') for 1 .. 5;

my $slow = session($node, app => 'det_slow');
start_in($slow, 'SELECT pg_sleep(3) AS po_slow_marker;');

my $holder = session($node, app => 'det_holder');
run_in($holder, "BEGIN;\nUPDATE t SET v = v + 1 WHERE id = 1;");
my $waiter = session($node, app => 'det_waiter');
start_in($waiter, 'UPDATE t SET v = v + 2 WHERE id = 1;');

my $sat = session($node, app => 'det_sat');
run_in($sat, "BEGIN;\nSELECT 1;");

# slow_statement opens while the statement runs
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(ended_at IS NULL),
       bool_and(query = 'SELECT pg_sleep(3) AS po_slow_marker;'),
       bool_and(application_name = 'det_slow' AND action = 'none')
  FROM pool_observer.events
 WHERE kind = 'slow_statement' AND pid = $slow->{pid}}, '1|t|t|t', 10),
	'1|t|t|t',
	'slow_statement: one open event while the statement runs');

# idle_in_transaction
my $iit_sql = qq{
SELECT count(*), bool_and(ended_at IS NULL),
       bool_and(query = 'SELECT 42 AS po_iit_marker, 43, 44, 45;'),
       bool_and(application_name = 'det_iit' AND usename = 'postgres'
                AND datname = 'postgres' AND client_addr IS NULL
                AND action = 'none' AND blocked_pids = '{}'),
       bool_and(detected_at >= started_at + interval '1 s'),
       bool_and(query_id = (SELECT queryid FROM pg_stat_statements
                             WHERE query = 'SELECT \$1 AS po_iit_marker, \$2, \$3, \$4'))
  FROM pool_observer.events
 WHERE kind = 'idle_in_transaction' AND pid = $iit->{pid}};
is(poll_sample($mon, $iit_sql, '1|t|t|t|t|t'),
	'1|t|t|t|t|t',
	'idle_in_transaction: opened after the threshold, with query and query_id');

my ($iit_id, $iit_qid) = split /\|/,
  $mon->query_safe(
	"SELECT id, query_id FROM pool_observer.events WHERE kind = 'idle_in_transaction' AND pid = $iit->{pid}"
  );
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 10;
is( $mon->query_safe(
		"SELECT count(*), bool_and(last_seen_at > detected_at) FROM pool_observer.events WHERE kind = 'idle_in_transaction' AND pid = $iit->{pid}"
	),
	'1|t',
	'idle_in_transaction: still one event after ten more samples');

# long_transaction
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(ended_at IS NULL),
       bool_and(substring(detail FROM '^backend_xmin_age=([0-9]+)\$')::int >= 5)
  FROM pool_observer.events
 WHERE kind = 'long_transaction' AND pid = $long->{pid}}, '1|t|t'),
	'1|t|t',
	'long_transaction: detail backend_xmin_age counts the xids since the snapshot'
);

# lock_wait and the holder's blocked_pids
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(ended_at IS NULL),
       bool_and(blocked_by = ARRAY[$holder->{pid}]),
       bool_and(detail = 'blocked_by=$holder->{pid}')
  FROM pool_observer.events
 WHERE kind = 'lock_wait' AND pid = $waiter->{pid}}, '1|t|t|t'),
	'1|t|t|t',
	'lock_wait: blocked_by = {holder}');
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(blocked_pids = ARRAY[$waiter->{pid}])
  FROM pool_observer.events
 WHERE kind = 'idle_in_transaction' AND pid = $holder->{pid}}, '1|t'),
	'1|t',
	'the holder\'s idle_in_transaction event has blocked_pids = {waiter}');

# pool_saturated
my $sat_sql = q{
SELECT count(*), bool_and(ended_at IS NULL), bool_and(pid IS NULL),
       bool_and(detail = 'connections=1 busy=1'),
       bool_and(usename = 'postgres' AND datname = 'postgres'
                AND client_addr IS NULL)
  FROM pool_observer.events
 WHERE kind = 'pool_saturated' AND application_name = 'det_sat'};
is(poll_sample($mon, $sat_sql, '1|t|t|t|t'),
	'1|t|t|t|t', 'pool_saturated: a one-connection pool kept busy');

# the slow statement ends
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(ended_at IS NOT NULL),
       bool_and(duration >= interval '3 s')
  FROM pool_observer.events
 WHERE kind = 'slow_statement' AND pid = $slow->{pid}}, '1|t|t', 10),
	'1|t|t',
	'slow_statement: one event, ended after the statement');

# the idle-in-transaction episode ends at COMMIT; a new one is a new row
run_in($iit, 'COMMIT;');
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(ended_at IS NOT NULL),
       bool_and(duration >= interval '1 s')
  FROM pool_observer.events
 WHERE kind = 'idle_in_transaction' AND pid = $iit->{pid}}, '1|t|t'),
	'1|t|t',
	'idle_in_transaction: ended at COMMIT, duration >= threshold');
run_in($iit, "BEGIN;\nSELECT 43 AS po_iit_marker2;");
is( poll_sample(
		$mon, qq{
SELECT count(*), max(id) > $iit_id,
       count(*) FILTER (WHERE ended_at IS NULL
                          AND query = 'SELECT 43 AS po_iit_marker2;')
  FROM pool_observer.events
 WHERE kind = 'idle_in_transaction' AND pid = $iit->{pid}}, '2|t|1'),
	'2|t|1',
	'a new idle period is a new episode with a new id');

# the lock wait ends when the holder commits
run_in($holder, 'COMMIT;');
run_in($waiter, '');
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(ended_at IS NOT NULL)
  FROM pool_observer.events
 WHERE kind = 'lock_wait' AND pid = $waiter->{pid}}, '1|t'),
	'1|t',
	'lock_wait: ended when the lock was granted');

# long transaction ends
run_in($long, 'COMMIT;');
is( poll_sample(
		$mon, qq{
SELECT count(*), bool_and(ended_at IS NOT NULL)
  FROM pool_observer.events
 WHERE kind = 'long_transaction' AND pid = $long->{pid}}, '1|t'),
	'1|t',
	'long_transaction: ended at COMMIT');

# the saturated pool gets an idle connection
my $sat2 = session($node, app => 'det_sat');
$sat_sql =~ s/bool_and\(ended_at IS NULL\)/bool_and(ended_at IS NOT NULL)/;
is(poll_sample($mon, $sat_sql, '1|t|t|t|t'),
	'1|t|t|t|t', 'pool_saturated: ended when a connection is idle');

# log_events: exactly one line per opened episode
my $line_re =
  qr/LOG:  pool_observer event: id=$iit_id kind=idle_in_transaction action=none pid=$iit->{pid} datname="postgres" usename="postgres" application_name="det_iit" client_addr=local duration_ms=\d+ query_id=$iit_qid blocked_pids=\{\} blocked_by=\{\} detail="" query="SELECT 42 AS po_iit_marker, 43, 44, 45;"$/m;
$node->wait_for_log($line_re, $log_offset);
is(log_count($node, qr/pool_observer event: id=$iit_id /, $log_offset),
	1, 'log_events: one line for the episode, in the documented format');
$node->wait_for_log(
	qr/pool_observer event: id=\d+ kind=idle_in_transaction action=none pid=$esc->{pid} datname="postgres" usename="postgres" application_name="det \\"q\\\\ x" client_addr=local /,
	$log_offset);
pass('log_events: quotes and backslashes are escaped');
$node->wait_for_log(
	qr/pool_observer event: id=\d+ kind=pool_saturated action=none datname="postgres" usename="postgres" application_name="det_sat" client_addr=local duration_ms=\d+ detail="connections=1 busy=1"$/m,
	$log_offset);
pass('log_events: a pool event has the pool key and no pid');

$_->quit foreach ($iit, $esc, $long, $slow, $holder, $waiter, $sat, $sat2);

# log_events = off
set_conf($node, $mon, 'pool_observer.log_events = off');
$log_offset = -s $node->logfile;
my $quiet = session($node, app => 'det_quiet');
run_in($quiet, "BEGIN;\nSELECT 'quiet';");
is( poll_sample(
		$mon,
		"SELECT count(*) FROM pool_observer.events WHERE kind = 'idle_in_transaction' AND pid = $quiet->{pid}",
		'1'),
	'1',
	'log_events = off: the episode is recorded');
# the sample that opened it has logged whatever it logs before this one
$mon->query_safe('SELECT pool_observer.sample_now()');
is(log_count($node, qr/pool_observer event: /, $log_offset),
	0, 'log_events = off: nothing is logged');
$quiet->quit;
set_conf($node, $mon, 'pool_observer.log_events = on');

#
# connection_churn
#
$node->command_ok([ 'pgbench', '-i', '-q', 'postgres' ], 'pgbench -i');
my ($pgb_out, $pgb_err) = ('', '');
my $pgbench;
{
	local $ENV{PGAPPNAME} = 'churny';
	$pgbench = IPC::Run::start(
		[
			'pgbench', '-n', '-C', '-T', '4', '-c', '2', '-S', '-h',
			$node->host, '-p', $node->port, 'postgres'
		],
		'>', \$pgb_out, '2>', \$pgb_err);
}
my $churn_sql = q{
SELECT count(*), bool_and(ended_at IS NULL), bool_and(pid IS NULL),
       bool_and(substring(detail FROM '^new_connections_per_s=([0-9.]+)$')::float8 > 5)
  FROM pool_observer.events
 WHERE kind = 'connection_churn' AND application_name = 'churny'};
is(poll_sample($mon, $churn_sql, '1|t|t|t', 15),
	'1|t|t|t', 'connection_churn: opened while pgbench -C runs');
is( $mon->query_safe(
		q{SELECT new_connections_per_s > 5 FROM pool_observer.pools WHERE application_name = 'churny'}
	),
	't',
	'pools: new_connections_per_s of the churning pool above 5');
ok($pgbench->finish, 'pgbench -C ran') or diag($pgb_err);
$churn_sql =~ s/bool_and\(ended_at IS NULL\)/bool_and(ended_at IS NOT NULL)/;
is(poll_sample($mon, $churn_sql, '1|t|t|t', 15),
	'1|t|t|t', 'connection_churn: one event, ended after pgbench');

#
# server_connections_high: usable = 20 - 3 = 17; 30% of 17 = 5.1
#
set_conf($node, $mon, 'pool_observer.max_connections_warn = 30');
my @conns = map { session($node, app => 'det_conn') } 1 .. 4;
is( poll_sample(
		$mon,
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'},
		'5'),
	'5',
	'five client connections');
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.events WHERE kind = 'server_connections_high'}
	),
	'0',
	'server_connections_high: not opened at 5 of 17 (29%)');
push @conns, session($node, app => 'det_conn');
is( poll_sample(
		$mon, q{
SELECT count(*), bool_and(ended_at IS NULL),
       bool_and(pid IS NULL AND application_name IS NULL),
       bool_and(detail = 'connections=6 usable=17 percent=35.3')
  FROM pool_observer.events
 WHERE kind = 'server_connections_high'}, '1|t|t|t'),
	'1|t|t|t',
	'server_connections_high: opened at 6 of 17 (35%)');
is( $mon->query_safe(
		q{SELECT status, '6 of 17 usable connections in use (over 30%)' = ANY (reasons) FROM pool_observer.health}
	),
	'warning|t',
	'health warns about connections');
(pop @conns)->quit;
is( poll_sample(
		$mon, q{
SELECT count(*), bool_and(ended_at IS NOT NULL)
  FROM pool_observer.events
 WHERE kind = 'server_connections_high'}, '1|t'),
	'1|t',
	'server_connections_high: one event, ended below the threshold');
push @conns, map { session($node, app => 'det_conn') } 1 .. 12;
is( poll_sample(
		$mon,
		q{SELECT status, '17 of 17 usable connections in use' = ANY (reasons) FROM pool_observer.health},
		'critical|t'),
	'critical|t',
	'health is critical at 17 of 17 usable connections');
$_->quit foreach (@conns);
$mon->quit;
$node->stop;

#
# The event ring.
#
my $ring = PostgreSQL::Test::Cluster->new('ring');
$ring->init;
$ring->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.max_events = 10
pool_observer.idle_in_transaction_threshold = 200
pool_observer.slow_statement_threshold = -1
pool_observer.long_transaction_threshold = -1
pool_observer.lock_wait_threshold = -1
pool_observer.saturation_threshold = -1
pool_observer.churn_threshold = -1
pool_observer.max_connections_warn = -1
});
$ring->start;
$ring->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $rmon = $ring->background_psql('postgres');
my $leaker = session($ring, app => 'ring_iit');
my $seen = 0;
foreach my $i (1 .. 15)
{
	run_in($leaker, "BEGIN;\nSELECT $i AS cycle;");
	$seen++
	  if poll_sample(
		$rmon,
		"SELECT count(*) FROM pool_observer.events WHERE query = 'SELECT $i AS cycle;'",
		'1') eq '1';
	run_in($leaker, 'COMMIT;');
}
is($seen, 15, 'fifteen idle-in-transaction episodes were recorded');
is( poll_sample(
		$rmon,
		'SELECT count(*) FILTER (WHERE ended_at IS NULL) FROM pool_observer.events',
		'0'),
	'0',
	'all episodes ended');
is( $rmon->query_safe(
		q{
SELECT count(*), max(id) - min(id),
       string_agg(query, ' ' ORDER BY id)
  FROM pool_observer.events}),
	'10|9|'
	  . join(' ', map { "SELECT $_ AS cycle;" } 6 .. 15),
	'the ring keeps the ten newest episodes');
is( $rmon->query_safe(
		q{
SELECT bool_and(later) FROM (
  SELECT id > lag(id) OVER (ORDER BY detected_at, started_at) AS later
    FROM pool_observer.events) s}),
	't',
	'event ids increase with time');
is( $rmon->query_safe(
		'SELECT events_total, events_dropped FROM pool_observer.worker'),
	'15|5',
	'worker counts 15 events, 5 dropped from the ring');

$leaker->quit;
$rmon->quit;
$ring->stop;


#
# Saturation detection disabled (saturation_threshold = 0): a pool whose
# every connection is busy is not counted by health, gives no reason and
# no event; with a threshold of 1 s it is counted once that has passed.
#
my $nosat = PostgreSQL::Test::Cluster->new('nosat');
$nosat->init;
$nosat->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.idle_in_transaction_threshold = -1
pool_observer.slow_statement_threshold = -1
pool_observer.long_transaction_threshold = -1
pool_observer.lock_wait_threshold = -1
pool_observer.saturation_threshold = 0
pool_observer.churn_threshold = -1
pool_observer.max_connections_warn = -1
});
$nosat->start;
$nosat->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $nmon = $nosat->background_psql('postgres');
# The monitor is busy in every sample it asks for: an idle second session
# in its pool keeps that pool from ever being saturated, so the only
# saturated pool is nosat_busy.
my $nmon_idle = $nosat->background_psql('postgres');
my $busy = session($nosat, app => 'nosat_busy');
run_in($busy, "BEGIN;\nSELECT 1;");
is( poll_sample(
		$nmon, q{
SELECT connections, idle, now() - saturated_since > interval '1.5 s'
  FROM pool_observer.pools WHERE application_name = 'nosat_busy'},
		'1|0|t'),
	'1|0|t',
	'saturation_threshold = 0: the pool has been saturated for 1.5 s');
is( $nmon->query_safe(
		q{
SELECT saturated_pools,
       NOT EXISTS (SELECT FROM unnest(reasons) r WHERE r LIKE '%saturated pool%'),
       (SELECT count(*) FROM pool_observer.events WHERE kind = 'pool_saturated')
  FROM pool_observer.health}),
	'0|t|0',
	'saturation_threshold = 0: health.saturated_pools = 0, no reason, no event');

set_conf($nosat, $nmon, 'pool_observer.saturation_threshold = 1000');
is( poll_sample(
		$nmon, q{
SELECT saturated_pools, '1 saturated pool(s)' = ANY (reasons)
  FROM pool_observer.health},
		'1|t'),
	'1|t',
	'saturation_threshold = 1s: health.saturated_pools = 1 after the threshold');

$busy->quit;
$nmon_idle->quit;
$nmon->quit;
$nosat->stop;

done_testing();
