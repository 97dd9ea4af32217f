# Copyright (c) 2026, pool_observer developers
#
# 012_persist.pl
#	  Events and history survive a clean restart; a damaged state file is
#	  ignored with one log line; an immediate shutdown saves nothing.
#
#  - Clean stop and start: $PGDATA/pg_stat/pool_observer.stat exists after
#	 the stop and is removed after the load; the log says how many events
#	 were restored; events come back with the same ids and columns, the
#	 episode that was open gets ended_at = last_seen_at; pool_history and
#	 server_history come back identical; new events continue the ids.
#	 Sampling is off around the restart, so that nothing changes what is
#	 compared.
#  - A state file that is empty, truncated in its header, truncated after
#	 it, random bytes, with a wrong magic, another format version, an
#	 invalid header or a bad checksum: the server starts, the log has
#	 exactly one 'pool_observer state file ... ignored: <reason>' line and
#	 no 'restored' line, the file is removed, the views work and hold
#	 nothing from before.
#  - stop('immediate') and start: no state file is written, nothing from
#	 before comes back.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('persist');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.history_interval = 1
pool_observer.idle_in_transaction_threshold = 300
pool_observer.saturation_threshold = -1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');

my $state_file = $node->data_dir . '/pg_stat/pool_observer.stat';

# Switch sampling on or off and wait until no sample is under way.
sub set_sampling
{
	my ($on) = @_;
	$node->append_conf('postgresql.conf',
		'pool_observer.enabled = ' . ($on ? 'on' : 'off'));
	$node->reload;
	ok( $node->poll_query_until(
			'postgres',
			"SELECT current_setting('pool_observer.enabled')",
			$on ? 'on' : 'off'),
		'sampling ' . ($on ? 'on' : 'off'));
	return if $on;
	# the last sample that may have started before the reload is over
	# once nothing has been sampled for a while
	ok( $node->poll_query_until(
			'postgres',
			q{SELECT last_sample_at < now() - interval '0.5 s' FROM pool_observer.worker}
		),
		'the sampler has stopped sampling');
	return;
}

#
# Clean restart.
#
my $ended = session($node, app => 'persist_one');
run_in($ended, "BEGIN;\nSELECT 'persist one';");
is( poll_sample(
		$node,
		"SELECT count(*) FROM pool_observer.events WHERE kind = 'idle_in_transaction' AND pid = $ended->{pid}",
		'1'),
	'1',
	'an episode opens');
run_in($ended, 'COMMIT;');
is( poll_sample(
		$node,
		"SELECT count(*) FROM pool_observer.events WHERE kind = 'idle_in_transaction' AND pid = $ended->{pid} AND ended_at IS NOT NULL",
		'1'),
	'1',
	'and ends');
my $open = session($node, app => 'persist_two');
run_in($open, "BEGIN;\nSELECT 'persist two';");
is( poll_sample(
		$node,
		"SELECT count(*) FROM pool_observer.events WHERE kind = 'idle_in_transaction' AND pid = $open->{pid} AND ended_at IS NULL",
		'1'),
	'1',
	'another episode is open');
is( poll_sample(
		$node,
		q{SELECT count(DISTINCT bucket_start) >= 2 FROM pool_observer.pool_history WHERE application_name = 'persist_two'},
		't'),
	't',
	'pool history has two buckets or more');

set_sampling(0);

my $events_sql = q{
SELECT id, kind, detected_at, duration, pid, datname, usename,
       application_name, client_addr, query_id, query, blocked_pids, action,
       action_at, detail, started_at, last_seen_at, blocked_by,
       coalesce(ended_at, last_seen_at)
  FROM pool_observer.events ORDER BY id};
my $history_sql = q{
SELECT * FROM pool_observer.pool_history
 ORDER BY bucket_start, datname, usename, application_name, client_addr};
my $server_sql =
  'SELECT * FROM pool_observer.server_history ORDER BY bucket_start';

my $events_before = $node->safe_psql('postgres', $events_sql);
my $history_before = $node->safe_psql('postgres', $history_sql);
my $server_before = $node->safe_psql('postgres', $server_sql);
my ($nevents, $max_id, $open_id) = split /\|/,
  $node->safe_psql(
	'postgres',
	"SELECT count(*), max(id), max(id) FILTER (WHERE ended_at IS NULL AND pid = $open->{pid} AND kind = 'idle_in_transaction') FROM pool_observer.events"
  );
cmp_ok($nevents, '>=', 2, 'there are events to save');
ok(defined $open_id && $open_id ne '', 'the open episode is among them');

$node->stop;
ok(-s $state_file, 'a clean stop writes the state file');
my $pristine = slurp_file($state_file);
eval { $_->{run}->kill_kill; } foreach ($ended, $open);

my $offset = -s $node->logfile;
$node->start;
ok(!-e $state_file, 'the state file is removed once loaded');
is( log_count(
		$node,
		qr/pool_observer restored $nevents events from "pg_stat\/pool_observer.stat"/,
		$offset),
	1,
	'the log says how many events were restored');
is($node->safe_psql('postgres', $events_sql),
	$events_before, 'events come back with the same ids and columns');
is( $node->safe_psql(
		'postgres',
		"SELECT ended_at = last_seen_at FROM pool_observer.events WHERE id = $open_id"
	),
	't',
	'the open episode ended at its last sample');
is( $node->safe_psql(
		'postgres',
		'SELECT count(*) FROM pool_observer.events WHERE ended_at IS NULL'),
	'0',
	'no episode is left open');
is($node->safe_psql('postgres', $history_sql),
	$history_before, 'pool_history comes back identical');
is($node->safe_psql('postgres', $server_sql),
	$server_before, 'server_history comes back identical');

set_sampling(1);
my $again = session($node, app => 'persist_three');
run_in($again, "BEGIN;\nSELECT 'persist three';");
is( poll_sample(
		$node,
		"SELECT min(id) > $max_id FROM pool_observer.events WHERE pid = $again->{pid}",
		't'),
	't',
	'new events continue the ids');
$again->quit;

#
# Smaller rings at the next start: the newest events that fit are kept, the
# history of another shape is dropped with a log line.
#
my @many = map { session($node, app => 'persist_many') } 1 .. 12;
run_in($_, "BEGIN;\nSELECT 'many';") foreach @many;
is( poll_sample(
		$node,
		"SELECT count(*) FROM pool_observer.events WHERE application_name = 'persist_many'",
		'12'),
	'12',
	'twelve more episodes');
my ($total_before, $max_before) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT count(*), max(id) FROM pool_observer.events');
cmp_ok($total_before, '>', 10, 'more events than the next ring holds');
$node->stop;
eval { $_->{run}->kill_kill; } foreach @many;
$node->append_conf(
	'postgresql.conf', q{
pool_observer.max_events = 10
pool_observer.history_size = 50
});
$offset = -s $node->logfile;
$node->start;
is( $node->safe_psql(
		'postgres', 'SELECT count(*), min(id), max(id) FROM pool_observer.events'),
	'10|' . ($max_before - 9) . "|$max_before",
	'max_events = 10: the ten newest events are kept');
is( log_count(
		$node,
		qr/pool_observer history from "pg_stat\/pool_observer.stat" discarded/,
		$offset),
	1,
	'history of another shape: one log line');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM pool_observer.pool_history
 WHERE bucket_start < pg_postmaster_start_time() - interval '1 s'}),
	'0',
	'history of another shape is not loaded');

#
# Damaged files.
#
my $len = length($pristine);
my %damaged = (
	'empty' => [ '', 'file is too short' ],
	'truncated header' => [ substr($pristine, 0, 10), 'file is too short' ],
	'truncated' => [
		substr($pristine, 0, int($len / 2)),
		'file size does not match its header'
	],
	'random bytes' => [
		join('', map { chr(int(rand(256))) } 1 .. 4096),
		'not a pool_observer state file'
	],
	'wrong magic' =>
	  [ 'XXXX' . substr($pristine, 4), 'not a pool_observer state file' ],
	'another format version' => [
		substr($pristine, 0, 4) . pack('L', 999) . substr($pristine, 8),
		'written by another version of pool_observer'
	],
	'invalid header' => [
		substr($pristine, 0, 20) . pack('l', -1) . substr($pristine, 24),
		'header is invalid'
	],
	'bad checksum' => [
		substr($pristine, 0, int($len / 2))
		  . chr(ord(substr($pristine, int($len / 2), 1)) ^ 0x01)
		  . substr($pristine, int($len / 2) + 1),
		'checksum mismatch'
	]);

foreach my $case (sort keys %damaged)
{
	my ($bytes, $reason) = @{ $damaged{$case} };

	$node->stop;
	write_file($state_file, $bytes);
	$offset = -s $node->logfile;
	$node->start;
	is( log_count(
			$node,
			qr/pool_observer state file "pg_stat\/pool_observer.stat" ignored: /,
			$offset),
		1,
		"$case: the server starts and logs one line");
	is( log_count(
			$node,
			qr/pool_observer state file "pg_stat\/pool_observer.stat" ignored: \Q$reason\E\n/,
			$offset),
		1,
		"$case: the reason is '$reason'");
	is(log_count($node, qr/pool_observer restored/, $offset),
		0, "$case: nothing restored");
	ok(!-e $state_file, "$case: the file is removed");
	is( $node->safe_psql(
			'postgres', q{
SELECT pool_observer.sample_now() \g /dev/null
SELECT (SELECT count(*) FROM pool_observer.events),
       (SELECT count(*) FROM pool_observer.pool_history
         WHERE bucket_start < pg_postmaster_start_time() - interval '1 s'),
       (SELECT status IS NOT NULL FROM pool_observer.health),
       (SELECT count(*) > 0 FROM pool_observer.pools)}),
		'0|0|t|t',
		"$case: the views work and hold nothing from before");
}

#
# Immediate shutdown.
#
my $crash = session($node, app => 'persist_crash');
run_in($crash, "BEGIN;\nSELECT 'persist crash';");
is( poll_sample(
		$node,
		"SELECT count(*) FROM pool_observer.events WHERE pid = $crash->{pid}",
		'1'),
	'1',
	'an episode before the immediate shutdown');
$node->stop('immediate');
eval { $crash->{run}->kill_kill; };
ok(!-e $state_file, 'an immediate shutdown writes no state file');
$offset = -s $node->logfile;
$node->start;
is(log_count($node, qr/pool_observer restored/, $offset),
	0, 'after an immediate shutdown nothing is restored');
is( $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM pool_observer.events),
       (SELECT count(*) FROM pool_observer.pool_history
         WHERE bucket_start < pg_postmaster_start_time() - interval '1 s')}),
	'0|0',
	'after an immediate shutdown no event or history comes back');

$node->stop;

done_testing();
