# Copyright (c) 2026, pool_observer developers
#
# 002_worker.pl
#	  The sampler background worker: it samples on its interval, follows a
#	  reload, comes back after being killed, can be switched off, and costs
#	  little with many connections.  Without the preload nothing works, and
#	  every entry point says how to fix that.
#
#  - worker: pid is the pg_stat_activity row of backend_type
#	 'pool_observer sampler'; samples rise by themselves and with
#	 sample_now(); restarts = 0.
#  - sample_interval = 60s by reload: at most one sample in 3 s (sample_now
#	 still works); back to 100 ms: ten samples or more within seconds.
#  - pg_terminate_backend(worker pid): while it is down, health is critical
#	 with 'sampler is not running' and sample_now() fails; within its
#	 restart time it is back with a new pid, restarts = 1, sampling.
#  - The sampler stopped (SIGSTOP): after max(5 * interval, 2 s) health is
#	 critical, 'sampler has not sampled for N s'; ok again after SIGCONT.
#  - pool_observer.enabled = off: sample_now() fails with 'sampling is
#	 disabled', health is 'warning' with that reason, no samples are taken;
#	 on again: sampling resumes.
#  - 200 idle connections of one application: pools counts all 200;
#	 the sample cost (sample_us_avg) is reported in the test log.
#  - A cluster without shared_preload_libraries: CREATE EXTENSION works,
#	 every view and function fails with the HINT to preload the library.

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

sub worker_samples
{
	my ($mon) = @_;
	return $mon->query_safe('SELECT samples FROM pool_observer.worker');
}

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
max_connections = 250
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $mon = $node->background_psql('postgres');

#
# Basics.
#
is( poll_plain(
		$mon, q{
SELECT w.pid = a.pid, w.samples > 0, w.restarts, w.started_at <= now(),
       w.last_sample_at > now() - interval '10 s'
  FROM pool_observer.worker w
  JOIN pg_stat_activity a ON a.backend_type = 'pool_observer sampler'},
		't|t|0|t|t'),
	't|t|0|t|t',
	'worker: pid of the pool_observer sampler, sampling, no restart');

my $s0 = worker_samples($mon);
$mon->query_safe('SELECT pool_observer.sample_now()');
cmp_ok(worker_samples($mon), '>', $s0, 'sample_now() takes a sample');

$s0 = worker_samples($mon);
is(poll_plain($mon, "SELECT samples >= $s0 + 5 FROM pool_observer.worker", 't', 10),
	't', 'samples rise by themselves');

#
# sample_interval follows a reload.
#
set_conf($node, $mon, 'pool_observer.sample_interval = 60000');
$s0 = worker_samples($mon);
my $max_seen = $s0;
my $until = time + 3;
while (time < $until)
{
	my $s = worker_samples($mon);
	$max_seen = $s if $s > $max_seen;
	usleep(100_000);
}
cmp_ok($max_seen - $s0, '<=', 1,
	'sample_interval = 60s: at most one sample in 3 s');

$s0 = worker_samples($mon);
$mon->query_safe('SELECT pool_observer.sample_now()');
cmp_ok(worker_samples($mon), '>', $s0,
	'sample_now() samples at once with a long interval');

set_conf($node, $mon, 'pool_observer.sample_interval = 100');
$s0 = worker_samples($mon);
is(poll_plain($mon, "SELECT samples >= $s0 + 10 FROM pool_observer.worker", 't', 10),
	't', 'sample_interval = 100ms: ten samples within seconds');

#
# Killed, restarted.
#
my $pid1 = $mon->query_safe('SELECT pid FROM pool_observer.worker');
$mon->query_safe("SELECT pg_terminate_backend($pid1)");
is( poll_plain(
		$mon,
		'SELECT worker_running FROM pool_observer.health',
		'f', 5),
	'f',
	'health sees the sampler gone');
# bgw_restart_time is 5 s: this is well inside it
is( $mon->query_safe(
		q{SELECT status, 'sampler is not running' = ANY (reasons) FROM pool_observer.health}
	),
	'critical|t',
	'health: critical, sampler is not running');
my ($ret, $out, $err) = $node->psql('postgres',
	'SELECT pool_observer.sample_now()');
like($err, qr/pool_observer sampler (is not running|did not take a sample)/,
	'sample_now() fails while the sampler is down');

is( poll_plain(
		$mon, qq{
SELECT w.pid <> $pid1, w.restarts, a.pid IS NOT NULL
  FROM pool_observer.worker w
  LEFT JOIN pg_stat_activity a
    ON a.pid = w.pid AND a.backend_type = 'pool_observer sampler'},
		't|1|t', 30),
	't|1|t',
	'the sampler is back with a new pid and restarts = 1');
$s0 = worker_samples($mon);
is(poll_plain($mon, "SELECT samples >= $s0 + 3 FROM pool_observer.worker", 't', 10),
	't', 'the restarted sampler samples');
is(poll_plain($mon, 'SELECT status FROM pool_observer.health', 'ok', 10),
	'ok', 'health is ok again');

#
# Stopped, not dead.
#
my $pid2 = $mon->query_safe('SELECT pid FROM pool_observer.worker');
kill('STOP', $pid2) or die "could not stop the sampler: $!";
is( poll_plain(
		$mon, q{
SELECT status, worker_running,
       reasons[1] ~ '^sampler has not sampled for [0-9.]+ s$'
  FROM pool_observer.health}, 'critical|t|t', 20),
	'critical|t|t',
	'a sampler that stopped sampling makes health critical');
is( $mon->query_safe(
		q{SELECT now() - last_sample_at >= interval '2 s' FROM pool_observer.health}),
	't',
	'not before two seconds without a sample');
kill('CONT', $pid2);
is(poll_plain($mon, 'SELECT status FROM pool_observer.health', 'ok', 10),
	'ok', 'health is ok once it samples again');
is($mon->query_safe('SELECT pid, restarts FROM pool_observer.worker'),
	"$pid2|1", 'the same sampler goes on');

#
# enabled = off.
#
set_conf($node, $mon, 'pool_observer.enabled = off');
($ret, $out, $err) =
  $node->psql('postgres', 'SELECT pool_observer.sample_now()');
like($err, qr/ERROR:  pool_observer sampling is disabled/,
	'sample_now() fails when sampling is disabled');
is( $mon->query_safe(
		q{SELECT status, sampling_enabled, reasons @> ARRAY['sampling is disabled (pool_observer.enabled = off)'] FROM pool_observer.health}
	),
	'warning|f|t',
	'health: warning, sampling is disabled');
# let a sample that was under way when the reload came finish
poll_plain($mon,
	q{SELECT last_sample_at < now() - interval '0.5 s' FROM pool_observer.worker},
	't', 10);
$s0 = worker_samples($mon);
$until = time + 1.5;
usleep(100_000) while time < $until;
is(worker_samples($mon), $s0, 'no samples while disabled');

set_conf($node, $mon, 'pool_observer.enabled = on');
$s0 = worker_samples($mon);
is(poll_plain($mon, "SELECT samples >= $s0 + 5 FROM pool_observer.worker", 't', 10),
	't', 'sampling resumes when enabled again');
is($mon->query_safe('SELECT status FROM pool_observer.health'),
	'ok', 'health ok when enabled again');

#
# 200 idle connections.
#
my $script = $node->basedir . '/idle.sql';
open(my $fh, '>', $script) or die "could not write $script: $!";
print $fh "\\sleep 120 s\n";
close($fh);
my ($pgb_out, $pgb_err) = ('', '');
my $pgbench;
{
	local $ENV{PGAPPNAME} = 'po_idle200';
	$pgbench = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '200', '-j', '4', '-t', '1',
			'-f', $script, '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$pgb_out, '2>', \$pgb_err);
}
is( poll_sample(
		$mon, q{
SELECT connections, idle FROM pool_observer.pools
 WHERE application_name = 'po_idle200'}, '200|200', 60),
	'200|200',
	'pools counts 200 idle connections of one application');

# cost over samples taken with the 200 connections
my ($n1, $avg1) = split /\|/,
  $mon->query_safe('SELECT samples, sample_us_avg FROM pool_observer.worker');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 50;
my ($n2, $avg2, $max2) = split /\|/,
  $mon->query_safe(
	'SELECT samples, sample_us_avg, sample_us_max FROM pool_observer.worker');
my $window_avg = ($avg2 * $n2 - $avg1 * $n1) / ($n2 - $n1);
diag(
	sprintf(
		'sample cost with 200 idle connections: %.1f us per sample over %d samples (sample_us_avg %.1f us overall, sample_us_max %.1f us)',
		$window_avg, $n2 - $n1, $avg2, $max2));
cmp_ok($avg2, '>', 0, 'sample_us_avg is reported');
cmp_ok($window_avg, '>', 0, 'samples with 200 connections cost something');

$pgbench->kill_kill;
is( poll_sample(
		$mon,
		q{SELECT coalesce(sum(connections), 0) FROM pool_observer.pools WHERE application_name = 'po_idle200'},
		'0', 30),
	'0',
	'the 200 connections are gone');

$mon->quit;
$node->stop;

#
# Without shared_preload_libraries.
#
my $bare = PostgreSQL::Test::Cluster->new('bare');
$bare->init;
$bare->start;
$bare->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
pass('CREATE EXTENSION works without the preload');

foreach my $sql (
	'SELECT * FROM pool_observer.sessions',
	'SELECT * FROM pool_observer.pools',
	'SELECT * FROM pool_observer.pool_history',
	'SELECT * FROM pool_observer.server_history',
	'SELECT * FROM pool_observer.events',
	'SELECT * FROM pool_observer.health',
	'SELECT * FROM pool_observer.worker',
	'SELECT pool_observer.sample_now()',
	'SELECT pool_observer.reset()',
	q{SELECT * FROM pool_observer.terminate_idle_in_transaction('1 minute')},
	q{SELECT * FROM pool_observer.cancel_slow_statements('1 minute', true)})
{
	my ($r, $o, $e) = $bare->psql('postgres', $sql);
	isnt($r, 0, "without the preload: $sql fails");
	like(
		$e,
		qr/ERROR:  pool_observer must be loaded via shared_preload_libraries\nHINT:  Add pool_observer to shared_preload_libraries and restart the server\./,
		"without the preload: $sql says how to fix it");
}
$bare->stop;

done_testing();
