# Copyright (c) 2026, pool_observer developers
#
# 051_load.pl
#	  Under load the sampler keeps up and stays small.
#
# 300 idle connections (pgbench clients sleeping on the client side) plus
# pgbench -C (a new connection per transaction) at full speed for ten
# seconds.  Meanwhile, and after:
#  - worker.samples keeps rising and health.last_sample_at stays fresh;
#  - the worker's private memory (RssAnon, and its memory contexts) stays
#	 flat after warm-up;
#  - the pools add up to pg_stat_activity's client backends (within the
#	 churning clients while -C runs, exactly once it has stopped);
#  - every new connection of the churning pool is counted;
#  - connection_churn and server_connections_high are detected;
#  - the server log has no error from the extension and no crash.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;

my $n_idle = 300;
my $n_churn = 4;
my $churn_seconds = 10;

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
max_connections = 360
log_connections = off
log_disconnections = off
log_statement = none
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');

my $log_offset = -s $node->logfile;

my $basedir = $node->basedir;
my $idle_script = "$basedir/idle.sql";
my $churn_script = "$basedir/churn.sql";
append_to_file($idle_script, "\\sleep 120 s\n");
append_to_file($churn_script, "SELECT 1;\n");

sub pgbench
{
	my ($app, @args) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGAPPNAME} = $app;
	my $h = IPC::Run::start(
		[
			$node->installed_command('pgbench'), '-n',
			'-h', $node->host, '-p', $node->port, @args, 'postgres'
		],
		'>', \$out, '2>', \$err);
	return ($h, \$out, \$err);
}

sub worker_rss_anon_kb
{
	my ($pid) = @_;
	my $status = slurp_file("/proc/$pid/status");
	return $status =~ /^RssAnon:\s+(\d+) kB/m ? $1 : undef;
}

# Grand total of the worker's memory contexts, from
# pg_log_backend_memory_contexts().
sub worker_context_bytes
{
	my ($pid) = @_;
	my $offset = -s $node->logfile;
	$node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
	$node->wait_for_log(qr/\[$pid\].*Grand total: \d+ bytes/, $offset);
	my $log = slurp_file($node->logfile, $offset);
	return $log =~ /\[$pid\][^\n]*Grand total: (\d+) bytes/ ? $1 : undef;
}

my $monitor = $node->background_psql('postgres');

sub mon
{
	my ($sql) = @_;
	return $monitor->query_safe($sql);
}

#
# 300 idle connections.
#
my ($idle_h, $idle_out, $idle_err) = pgbench('idle_pool', '-c', $n_idle, '-j', 4,
	'-t', 1, '-f', $idle_script);
ok( $node->poll_query_until(
		'postgres', qq{
SELECT connections = $n_idle AND idle = $n_idle
  FROM pool_observer.pools WHERE application_name = 'idle_pool'}),
	"$n_idle idle connections seen as one pool")
  or diag("pgbench: $$idle_err");

my $wpid = mon('SELECT pid FROM pool_observer.worker');
ok($wpid > 0, 'sampler running');

#
# pgbench -C at full speed.
#
my ($churn_h, $churn_out, $churn_err) = pgbench('churn_pool', '-C', '-c', $n_churn,
	'-j', 2, '-T', $churn_seconds, '-f', $churn_script);
my $churn_start = time();

# Warm-up: the churning pool exists, a few samples have passed.
ok( $node->poll_query_until(
		'postgres', q{
SELECT new_connections_per_s > 0
  FROM pool_observer.pools WHERE application_name = 'churn_pool'}),
	'churning pool seen');
usleep(1_000_000);
my $rss0 = worker_rss_anon_kb($wpid);
my $ctx0 = worker_context_bytes($wpid);
ok(defined $rss0 && defined $ctx0, "memory after warm-up: RssAnon $rss0 kB, contexts $ctx0 bytes");

# While -C runs: sampling continues, stays fresh, and pools add up within
# what the churning clients can change between a sample and the check.
my $slack = 2 * $n_churn + 2;
my ($checks, $rising, $fresh, $adds_up) = (0, 0, 0, 0);
my $last_samples = mon('SELECT samples FROM pool_observer.worker');
while (time() - $churn_start < $churn_seconds - 1)
{
	usleep(500_000);
	my $row = mon(
		qq{
SELECT w.samples,
       extract(epoch FROM clock_timestamp() - h.last_sample_at) < 2,
       h.worker_running,
       abs((SELECT sum(connections) FROM pool_observer.pools) -
           (SELECT count(*) FROM pg_stat_activity
             WHERE backend_type = 'client backend')) <= $slack
  FROM pool_observer.worker w, pool_observer.health h});
	my ($samples, $is_fresh, $running, $ok_sum) = split /\|/, $row;
	$checks++;
	$rising++ if $samples > $last_samples;
	$fresh++ if $is_fresh eq 't' && $running eq 't';
	$adds_up++ if $ok_sum eq 't';
	diag("check $checks: $row") unless $samples > $last_samples && $is_fresh eq 't' && $ok_sum eq 't';
	$last_samples = $samples;
}
cmp_ok($checks, '>=', 10, "$checks checks during the churn");
is($rising, $checks, 'worker.samples rose between every two checks');
is($fresh, $checks, 'health.last_sample_at always within 2 s, worker running');
is($adds_up, $checks, "pools always added up to the client backends (within $slack)");

$churn_h->finish;
my ($churn_tx) = $$churn_out =~ /number of transactions actually processed: (\d+)/;
ok(defined $churn_tx && $churn_tx > 0, "pgbench -C made " . ($churn_tx // '?') . ' connections')
  or diag("pgbench: $$churn_out $$churn_err");
note("pgbench -C: $$churn_out");

my $rss1 = worker_rss_anon_kb($wpid);
my $ctx1 = worker_context_bytes($wpid);
note("memory at the end: RssAnon $rss1 kB, contexts $ctx1 bytes");
cmp_ok($rss1 - $rss0, '<', 5 * 1024, "worker RssAnon flat under load ($rss0 -> $rss1 kB)");
cmp_ok($ctx1 - $ctx0, '<', 1024 * 1024,
	"worker memory contexts flat under load ($ctx0 -> $ctx1 bytes)");
is(mon('SELECT pid FROM pool_observer.worker'), $wpid, 'same sampler throughout');

# Churn stopped: a sample adds up exactly (polled: the backends of the
# last -C connections may still be exiting).
is( poll_sample(
		$monitor, q{
SELECT (SELECT sum(connections) FROM pool_observer.pools) =
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
   AND (SELECT connections FROM pool_observer.health) =
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')},
		't'),
	't',
	'pools and health add up to the client backends');
is( mon(
		q{SELECT connections || '/' || idle || '/' || active || '/' || idle_in_transaction
	  FROM pool_observer.pools WHERE application_name = 'idle_pool'}),
	"$n_idle/$n_idle/0/0",
	'idle pool intact');

# Every connection of the churning pool was counted.  A connection is
# counted in the sample that first sees its session, or, for one that ended
# before any sample, in the first sample after its process is gone; a
# backend that has just exited may not be reaped yet, so give the last ones
# a few samples.
my ($counted, $unattributed);
my $count_deadline = time() + 30;
while (1)
{
	mon('SELECT pool_observer.sample_now()');
	$unattributed = mon('SELECT connections_unattributed FROM pool_observer.worker');
	$counted = mon(
		q{SELECT coalesce(sum(new_connections), 0) FROM pool_observer.pool_history
		   WHERE application_name = 'churn_pool'});
	last if $counted + $unattributed >= $churn_tx || time() > $count_deadline;
	usleep(100_000);
}
note("churn_pool: $counted new connections in history, $unattributed unattributed");
cmp_ok($counted + $unattributed, '>=', $churn_tx, 'every new connection counted');
cmp_ok($counted, '<=', $churn_tx + $n_churn, 'no connection counted twice');
cmp_ok($unattributed, '<=', $churn_tx / 100, 'at most 1% not attributed to a pool');

is( mon(
		q{SELECT count(*) > 0 FROM pool_observer.events
	   WHERE kind = 'connection_churn' AND application_name = 'churn_pool'}),
	't',
	'connection_churn detected for the churning pool');
is( mon(
		q{SELECT count(*) > 0 FROM pool_observer.events
	   WHERE kind = 'server_connections_high'}),
	't',
	'server_connections_high detected');

is( mon(
		q{SELECT status <> 'critical' AND worker_running FROM pool_observer.health}),
	't',
	'health not critical after the load');
my $w = mon(
	q{SELECT sample_us_max < 1000000, events_dropped = 0 FROM pool_observer.worker});
is($w, 't|t', 'no sample took a second, no event dropped');

$monitor->quit;
$idle_h->kill_kill;

# The sampler's lines carry its pid, not its name.
my @problems = grep {
	/\[$wpid\] .*(ERROR|FATAL|PANIC|WARNING):/
	  || (/pool_observer/ && /(ERROR|FATAL|PANIC|WARNING):/)
	  || /terminated by signal|server process .* exited with exit code|PANIC:/
} split /\n/, slurp_file($node->logfile, $log_offset);
is(scalar(@problems), 0, 'no error from the extension and no crash in the log')
  or diag(join("\n", @problems[ 0 .. ($#problems < 9 ? $#problems : 9) ]));

$node->stop;
done_testing();
