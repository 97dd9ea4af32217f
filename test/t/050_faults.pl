# Copyright (c) 2026, pool_observer developers
#
# 050_faults.pl
#	  pool_observer must never be what takes the server down, and must come
#	  back sane from its own faults.
#
#  - The sampler killed with SIGTERM is restarted by the postmaster and goes
#	 on sampling; while it is gone, health says so (critical) and
#	 sample_now() fails with a clear ERROR instead of hanging; the episodes
#	 it had open continue as the same rows (no duplicate, nothing left open
#	 for ever).
#  - The saved-state file truncated, empty, from another format version,
#	 with an absurd header, with a bad checksum, random bytes, or unreadable:
#	 the server starts, logs exactly one clear line, and runs with empty
#	 state.
#  - Immediate shutdown (no shutdown checkpoint, processes killed wherever
#	 they were): nothing is saved, so nothing stale or half-written is
#	 loaded at the next start.
#  - The sampler killed with SIGKILL: the postmaster's crash restart, after
#	 which the extension samples again with reset shared state; events from
#	 before the crash are not loaded.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;

my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.idle_in_transaction_threshold = 200
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
$node->safe_psql('postgres', 'CREATE ROLE regress_app LOGIN');

my $state_file = $node->data_dir . '/pg_stat/pool_observer.stat';

# The columns worker_row($node, $worker_cols) reads here.
my $worker_cols = 'coalesce(pid, 0), samples, restarts';

sub open_events_of
{
	my ($app) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM pool_observer.events
 WHERE application_name = '$app' AND ended_at IS NULL});
}

#
# 1. SIGTERM: the sampler is restarted and continues its episodes.
#
my $s1 = leak($node, "SELECT 'leaked by leak_term';", app => 'leak_term', user => 'regress_app');
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pool_observer.events
 WHERE application_name = 'leak_term' AND ended_at IS NULL}),
	'SIGTERM: idle_in_transaction episode open before the kill');
my $event_id = $node->safe_psql('postgres',
	q{SELECT id FROM pool_observer.events WHERE application_name = 'leak_term'});

my ($pid0, $samples0, $restarts0) = worker_row($node, $worker_cols);
ok($pid0 > 0, 'SIGTERM: sampler running');
is($restarts0, 0, 'SIGTERM: no restart yet');

my $log_offset = -s $node->logfile;
kill 'TERM', $pid0;

# The postmaster restarts the worker after bgw_restart_time (5 s); in
# between, nobody samples and that must be visible, not a hang.
ok( $node->poll_query_until(
		'postgres', 'SELECT pid IS NULL FROM pool_observer.worker'),
	'SIGTERM: worker view shows no sampler while it is down');
my $health = $node->safe_psql('postgres',
	q{SELECT status, worker_running, 'sampler is not running' = ANY (reasons)
	    FROM pool_observer.health});
is($health, 'critical|f|t', 'SIGTERM: health is critical while the sampler is down');
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'SELECT pool_observer.sample_now()');
isnt($ret, 0, 'SIGTERM: sample_now() fails while the sampler is down');
like(
	$stderr,
	qr/pool_observer sampler (is not running|did not take a sample)/,
	'SIGTERM: sample_now() says the sampler is not running');

ok( $node->poll_query_until(
		'postgres', qq{
SELECT pid IS NOT NULL AND pid <> $pid0 AND samples > $samples0 AND restarts = 1
  FROM pool_observer.worker}),
	'SIGTERM: a new sampler runs and samples');
my ($pid1, $samples1) = worker_row($node, $worker_cols);
$node->safe_psql('postgres', 'SELECT pool_observer.sample_now()');
my (undef, $samples2) = worker_row($node, $worker_cols);
cmp_ok($samples2, '>', $samples1, 'SIGTERM: samples keep rising');
is( $node->safe_psql(
		'postgres',
		q{SELECT status <> 'critical' AND worker_running FROM pool_observer.health}),
	't',
	'SIGTERM: health recovers');

# The leaked session's episode is still the one row, still open.
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(id || ':' || (ended_at IS NULL), ',')
  FROM pool_observer.events WHERE application_name = 'leak_term'}),
	"$event_id:true",
	'SIGTERM: the ongoing episode continues as the same single row');

# ... and it ends when the condition does.
run_in($s1, 'ROLLBACK;');
$s1->quit;
$node->safe_psql('postgres', 'SELECT pool_observer.sample_now()');
is(open_events_of('leak_term'), 0, 'SIGTERM: the episode ends after the restart');
is($node->safe_psql('postgres',
		'SELECT count(*) FROM pool_observer.events WHERE ended_at IS NULL'),
	0, 'SIGTERM: no event left open for ever');

my $log = slurp_file($node->logfile, $log_offset);
like(
	$log,
	qr/terminating background worker "pool_observer sampler" due to administrator command/,
	'SIGTERM: the kill is logged');
unlike($log, qr/terminated by signal|PANIC/, 'SIGTERM: no crash');

#
# 2. The saved-state file: a good one is restored; every bad one is logged
#	 once and ignored, and the server runs.
#

# Make sure there is something to save: one finished episode.
my $s2 = leak($node, "SELECT 'leaked by leak_saved';", app => 'leak_saved', user => 'regress_app');
ok( $node->poll_query_until(
		'postgres',
		q{SELECT count(*) > 0 FROM pool_observer.events WHERE application_name = 'leak_saved'}
	),
	'state: an event to save');
run_in($s2, 'ROLLBACK;');
$s2->quit;

sub read_file_raw
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "could not open $path: $!";
	local $/;
	my $data = <$fh>;
	close($fh);
	return $data;
}

# Stop cleanly (which saves the state) and return the saved file.
sub stop_and_get_state
{
	$node->stop;
	ok(-f $state_file, 'state: saved at clean shutdown');
	return read_file_raw($state_file);
}

# Start and check the outcome of loading: $expect is a regexp for the one
# log line about the file.
sub start_and_check
{
	my ($name, $expect, $restored) = @_;
	my $offset = -s $node->logfile;
	$node->start;
	my $startlog = slurp_file($node->logfile, $offset);
	my @lines = grep { /pool_observer/ && /state file|restored/ }
	  split /\n/, $startlog;
	is(scalar(@lines), 1, "state $name: exactly one log line about the file")
	  or diag(join("\n", @lines));
	like($lines[0] // '', $expect, "state $name: the log line says why");
	is($node->safe_psql('postgres', 'SELECT pool_observer.sample_now() IS NOT NULL'),
		't', "state $name: server runs and samples");
	my $events = $node->safe_psql('postgres',
		'SELECT count(*) FROM pool_observer.events WHERE ended_at IS NOT NULL');
	if ($restored)
	{
		cmp_ok($events, '>', 0, "state $name: events restored");
	}
	else
	{
		is($events, 0, "state $name: nothing loaded");
	}
	unlike($startlog, qr/PANIC|terminated by signal/, "state $name: no crash");
	return;
}

my $good = stop_and_get_state();
cmp_ok(length($good), '>', 64, 'state: file has a header and data');
start_and_check('good file', qr/pool_observer restored \d+ events/, 1);
ok(!-e $state_file, 'state: the file is removed once loaded');

my $ignored = qr/LOG:  pool_observer state file "pg_stat\/pool_observer.stat" ignored: /;
my @cases = (
	[ 'truncated', sub { substr($_[0], 0, int(length($_[0]) / 2)) },
		qr/${ignored}file size does not match its header/ ],
	[ 'zero-length', sub { '' }, qr/${ignored}file is too short/ ],
	[ 'header only', sub { substr($_[0], 0, 20) }, qr/${ignored}file is too short/ ],
	[
		'future version',
		sub { my $d = $_[0]; substr($d, 4, 4) = pack('L', 99); $d },
		qr/${ignored}written by another version of pool_observer/
	],
	[
		'absurd header',
		sub { my $d = $_[0]; substr($d, 20, 4) = pack('l', 0x7fffffff); $d },
		qr/${ignored}header is invalid/
	],
	[
		'bad checksum',
		sub {
			my $d = $_[0];
			my $pos = int(length($d) / 2);
			substr($d, $pos, 1) = chr(ord(substr($d, $pos, 1)) ^ 0xff);
			$d;
		},
		qr/${ignored}checksum mismatch/
	],
	[
		'random bytes',
		sub {
			srand(42);
			my $d = join('', map { chr(int(rand(256))) } 1 .. 8192);
			substr($d, 0, 4) = 'junk';    # never the magic number
			$d;
		},
		qr/${ignored}not a pool_observer state file/
	]);

foreach my $case (@cases)
{
	my ($name, $mangle, $expect) = @$case;
	my $data = stop_and_get_state();
	write_file($state_file, $mangle->($data));
	start_and_check($name, $expect, 0);
	ok(!-e $state_file, "state $name: the bad file is removed");
}

# An unreadable file: logged with the reason, start continues.
stop_and_get_state();
chmod 0000, $state_file;
SKIP:
{
	skip 'running as root: permissions are not enforced', 5 if $> == 0;
	start_and_check('unreadable',
		qr/could not read pool_observer state file "pg_stat\/pool_observer.stat": Permission denied/,
		0);
}
chmod 0600, $state_file;
$node->restart;    # a clean stop replaces the file; the start loads it

#
# 3. Immediate shutdown: nothing saved, nothing stale loaded.
#
my $s3 = leak($node, "SELECT 'leaked by leak_immediate';", app => 'leak_immediate', user => 'regress_app');
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pool_observer.events
 WHERE application_name = 'leak_immediate' AND ended_at IS NULL}),
	'immediate: an ongoing episode before the shutdown');
ok(!-e $state_file, 'immediate: no state file while running');
$log_offset = -s $node->logfile;
$node->stop('immediate');
drop_session($s3);
ok(!-e $state_file, 'immediate: nothing saved at an immediate shutdown');
like(
	slurp_file($node->logfile, $log_offset),
	qr/pool_observer state not saved: the server was not shut down cleanly/,
	'immediate: the skipped save is logged');
$log_offset = -s $node->logfile;
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM pool_observer.events'),
	0, 'immediate: no event from before the shutdown');
unlike(slurp_file($node->logfile, $log_offset),
	qr/pool_observer restored/, 'immediate: nothing restored');
ok( $node->poll_query_until(
		'postgres', 'SELECT samples > 1 FROM pool_observer.worker'),
	'immediate: sampling after the start');

#
# 4. SIGKILL: crash restart, then sampling again with reset shared state.
#

# State in shared memory that must not survive: a restored history (from a
# clean restart), ongoing and finished events, a worker restart count.
$node->restart;
my $s4 = leak($node, "SELECT 'leaked by leak_crash';", app => 'leak_crash', user => 'regress_app');
ok( $node->poll_query_until(
		'postgres',
		q{SELECT count(*) = 1 FROM pool_observer.events WHERE application_name = 'leak_crash'}
	),
	'SIGKILL: an event before the crash');
my ($kpid) = worker_row($node, $worker_cols);

$log_offset = -s $node->logfile;
kill 'KILL', $kpid;
$node->wait_for_log(
	qr/background worker "pool_observer sampler" \(PID $kpid\) was terminated by signal 9/,
	$log_offset);
$node->wait_for_log(qr/all server processes terminated; reinitializing/,
	$log_offset);
drop_session($s4);

ok( $node->poll_query_until(
		'postgres', qq{
SELECT pid IS NOT NULL AND pid <> $kpid AND samples > 0
  FROM pool_observer.worker}),
	'SIGKILL: a new sampler runs after the crash restart');
my ($cpid, $csamples, $crestarts) = worker_row($node, $worker_cols);
is($crestarts, 0, 'SIGKILL: worker counters start over');
$node->safe_psql('postgres', 'SELECT pool_observer.sample_now()');
my (undef, $csamples2) = worker_row($node, $worker_cols);
cmp_ok($csamples2, '>', $csamples, 'SIGKILL: samples rising');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pool_observer.events'),
	0, 'SIGKILL: no event from before the crash');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pool_observer.pools WHERE application_name = 'leak_crash'}),
	0,
	'SIGKILL: no pool from before the crash');
is(pools_add_up($node), 't', 'SIGKILL: pools add up to the client backends');
is( $node->safe_psql(
		'postgres',
		q{SELECT status <> 'critical' AND worker_running FROM pool_observer.health}),
	't',
	'SIGKILL: health is not critical');
ok(!-e $state_file, 'SIGKILL: no state file written by the crash');

# Detection works as before.
my $s5 = leak($node, "SELECT 'leaked by leak_after_crash';", app => 'leak_after_crash', user => 'regress_app');
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pool_observer.events
 WHERE application_name = 'leak_after_crash' AND kind = 'idle_in_transaction'}),
	'SIGKILL: new episodes are detected after the crash');
run_in($s5, 'ROLLBACK;');
$s5->quit;

$log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/pool_observer restored/, 'SIGKILL: nothing restored at the crash restart');
unlike($log, qr/PANIC/, 'SIGKILL: no PANIC');

# A clean stop after all this still saves and the next start restores.
$node->stop;
ok(-f $state_file, 'after faults: clean shutdown saves');
$log_offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $log_offset),
	qr/pool_observer restored \d+ events/, 'after faults: clean start restores');

$node->stop;
done_testing();
