# Copyright (c) 2026, pool_observer developers
#
# 033_events_read.pl
#	  A read of the events view sees every event the ring holds, while the
#	  sampler inserts new ones.
#
#  The view reads the ring a chunk at a time, taking the lock for one
#  chunk only.  A read that went by slot position, from the ring's oldest
#  slot recomputed for each chunk, skipped the oldest events whenever
#  events were inserted between two of its chunks (the oldest slot moves
#  with every insert): the first events of a busy server went missing from
#  some reads, and later ones too.  Here 20 statement timeouts of application ev_old are the
#  oldest events; while a second session times out 3000 statements (one
#  event each, never enough to wrap the ring of 5000), every read of the
#  view must show all 20, and every id from 1 to the highest it shows (the
#  ring never wraps here, so the ids it holds have no gap).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest qw(poll_sample write_file);

my $node = PostgreSQL::Test::Cluster->new('events_read');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 10
pool_observer.max_events = 5000
pool_observer.log_events = off
log_min_error_statement = panic
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $mon = $node->background_psql('postgres');

# Statement timeouts, one event each.
sub timeouts
{
	my ($n) = @_;
	return "SET statement_timeout = '1ms';\n"
	  . ("SELECT pg_sleep(0.01);\n" x $n);
}

$node->psql(
	'postgres', timeouts(20),
	connstr => $node->connstr('postgres') . ' application_name=ev_old',
	on_error_stop => 0);
my $old_sql = q{
SELECT count(*) FROM pool_observer.events
 WHERE application_name = 'ev_old' AND kind = 'statement_timeout'};
is(poll_sample($mon, $old_sql, '20'), '20', 'the 20 oldest events are in the ring');

# From a file, in the background: all of it reaches psql at once.
my $churn_sql = q{
SELECT count(*) FROM pool_observer.events WHERE application_name = 'ev_churn'};
my $file = PostgreSQL::Test::Utils::tempdir() . '/churn.sql';
write_file($file, timeouts(3000));
my ($churn_out, $churn_err) = ('', '');
my $churn = IPC::Run::start(
	[
		'psql', '-X', '-q', '-d',
		$node->connstr('postgres') . ' application_name=ev_churn',
		'-f', $file
	],
	'>', \$churn_out, '2>', \$churn_err);

# Read while the churn's events come in: each read's own count of ev_churn
# events tells whether events were inserted since the previous read.
my ($reads, $overlapped, $bad) = (0, 0, 0);
my $prev = -1;
my $deadline = time + 120;
while (time < $deadline)
{
	my ($n_old, $n_churn, $whole) = split /\|/,
	  $mon->query_safe(
		qq{SELECT ($old_sql), ($churn_sql),
                  (SELECT count(*) = max(id) AND min(id) = 1 FROM pool_observer.events)});
	$reads++;
	$overlapped++ if $prev >= 0 && $n_churn > $prev;
	if ($n_old ne '20' || $whole ne 't')
	{
		$bad++;
		diag("read $reads: $n_old of the 20 oldest events, ids 1.. without a gap: $whole (ev_churn: $n_churn)")
		  if $bad <= 5;
	}
	$prev = $n_churn;
	# drain psql's output, or it blocks once a pipe is full
	$churn->pump_nb;
	last unless $churn->pumpable;
}
cmp_ok($overlapped, '>=', 20,
	"$overlapped of $reads reads came while events were being inserted");
is($bad, 0, 'every read showed all 20 oldest events and every id from 1 up');
ok(!$churn->pumpable, 'the churning session is done');
is(poll_sample($mon, $churn_sql, '3000'), '3000', 'all 3000 new events are in the ring');
is( $mon->query_safe(
		q{SELECT count(*) = count(DISTINCT id) AND count(*) = 3020
		    FROM pool_observer.events}),
	't',
	'a read shows each of the 3020 events once');

$churn->finish;
$mon->quit;
$node->stop;

done_testing();
