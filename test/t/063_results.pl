# Copyright (c) 2026, pool_observer developers
#
# 063_results.pl
#	  Issue 12, wrong results.
#
#  item 9: dry_run + long_transaction_terminate_after: events.detail of
#	   the long_transaction episode says 'dry_run' (several samples after
#	   the decision, too).
#  items 10 and 11: in 032_outcomes_attribution.pl.
#  item 12: an on-demand function must not clear the caller's
#	   pg_stat_activity snapshot (stats_fetch_consistency = snapshot).
#  item 13: a role given SELECT on events and sessions and EXECUTE on the
#	   internal functions by hand sees '<insufficient privilege>' for other
#	   roles' query text (assumption: the placeholder pg_stat_activity uses).
#  item 14 (settings part): max_pools = 10000, history_size = 100000,
#	   max_events = 1000000: the server refuses to start with a message
#	   naming pool_observer and the total.  Assumption: the message contains
#	   the word "total".
#  item 15: history_interval 60 s -> 3600 s -> 1 s: bucket starts in
#	   server_history and pool_history, in the views' own order, strictly
#	   increase (the views have no width column, so overlap is not checked).
#  item a: a superuser session with track_activities = off in a long
#	   transaction: no placeholder ('<...>') stored as events.query.  If no
#	   event is opened for it at all the check passes vacuously (noted).
#  item d: one lock waiter held 4 s with deadlock_timeout = 1ms and
#	   sample_interval = 10ms gives exactly one lock_wait event.  The
#	   waiter's latch is also woken every 50 ms with
#	   pg_log_backend_memory_contexts(): each wake-up clears its wait event
#	   for a moment, as the deadlock check does, so a sampler that ends the
#	   episode on any cleared sample splits it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest qw(run_in start_in poll_sample set_conf wait_until session);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('results');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.saturation_threshold = -1
pool_observer.churn_threshold = -1
pool_observer.idle_in_transaction_threshold = -1
deadlock_timeout = 1ms
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE ROLE regress_app LOGIN;
CREATE ROLE regress_peek LOGIN;
CREATE TABLE t (id int);
GRANT SELECT ON t TO regress_app;
GRANT USAGE ON SCHEMA pool_observer TO regress_peek;
GRANT SELECT ON pool_observer.events, pool_observer.sessions TO regress_peek;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pool_observer TO regress_peek;
});
my $mon = $node->background_psql('postgres');

#
# item 9
#
set_conf($node, $mon,
	"pool_observer.dry_run = on\npool_observer.long_transaction_terminate_after = 300ms");
my $s9 = session($node, app => 'item9', user => 'regress_app');
run_in($s9, "BEGIN;\nSELECT txid_current();");
is( poll_sample(
		$mon,
		"SELECT count(*) FROM pool_observer.events WHERE pid = $s9->{pid} AND kind = 'long_transaction' AND action = 'would_terminate'",
		'1', 20),
	'1',
	'item 9: the long transaction is a would_terminate');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 3;
my $d9 = $mon->query_safe(
	"SELECT detail FROM pool_observer.events WHERE pid = $s9->{pid} AND kind = 'long_transaction'");
like($d9, qr/dry_run/, "item 9: events.detail says dry_run ('$d9')");
run_in($s9, 'COMMIT;');
$s9->quit;
set_conf($node, $mon,
	"pool_observer.dry_run = off\npool_observer.long_transaction_terminate_after = -1");

# items 10 and 11 (refused attempts, new connections counted where first
# sampled) are tested in 032_outcomes_attribution.pl, with the outcomes
# they depend on.

#
# item 12
#
my $s12 = session($node, app => 'item12', user => 'regress_app');
my $r12 = $mon->query_safe(
	qq{BEGIN;
SET LOCAL stats_fetch_consistency = 'snapshot';
SELECT state AS before FROM pg_stat_activity WHERE pid = $s12->{pid} \\gset
SELECT 'x' \\g /dev/null
});
run_in($s12, "BEGIN;\nSELECT 'now idle in transaction';");
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT state FROM pg_stat_activity WHERE pid = $s12->{pid}") eq
			  'idle in transaction';
		},
		10),
	'item 12: the other session has changed');
$mon->query_safe(
	q{SELECT count(*) FROM pool_observer.cancel_slow_statements('1h', true)});
my $after = $mon->query_safe(
	"SELECT :'before' || '|' || state FROM pg_stat_activity WHERE pid = $s12->{pid}");
$mon->query_safe('COMMIT');
is($after, 'idle|idle',
	'item 12: pg_stat_activity read earlier in the transaction is unchanged after cancel_slow_statements()'
);
run_in($s12, 'COMMIT;');
$s12->quit;

#
# item 13 and item a
#
set_conf($node, $mon, 'pool_observer.long_transaction_threshold = 200ms');
my $s13 = session($node, app => 'item13', user => 'regress_app');
run_in($s13, "BEGIN;\nSELECT 'item13 secret';");
my $sa = session($node, app => 'itema');
run_in($sa, "SET track_activities = off;\nBEGIN;\nSELECT txid_current();");
is( poll_sample(
		$mon,
		"SELECT count(*) FROM pool_observer.events WHERE pid = $s13->{pid} AND kind = 'long_transaction'",
		'1', 20),
	'1',
	'item 13: an event with another role\'s query');
my ($ret, $out, $err) = $node->psql(
	'postgres', qq{
SELECT string_agg(DISTINCT coalesce(query, 'NULL'), ',') FROM pool_observer.events WHERE pid = $s13->{pid};
SELECT coalesce(query, 'NULL') FROM pool_observer.sessions WHERE pid = $s13->{pid};
},
	connstr => $node->connstr('postgres') . ' user=regress_peek');
is("$ret|$out", "0|<insufficient privilege>\n<insufficient privilege>",
	'item 13: events.query and sessions.query of another role are <insufficient privilege>'
);
my $na = $mon->query_safe(
	"SELECT count(*) FROM pool_observer.events WHERE pid = $sa->{pid}");
note "item a: $na event(s) for the track_activities = off session";
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.events WHERE query LIKE '<%>'}),
	'0',
	'item a: no placeholder stored as events.query');
run_in($s13, 'COMMIT;');
run_in($sa, 'COMMIT;');
$s13->quit;
$sa->quit;
set_conf($node, $mon, 'pool_observer.long_transaction_threshold = -1');

#
# item d
#
set_conf($node, $mon,
	"pool_observer.sample_interval = 10\npool_observer.lock_wait_threshold = 100ms");
my $holder = session($node, app => 'itemd_holder');
my $waiter = session($node, app => 'itemd_waiter');
run_in($holder, "BEGIN;\nLOCK TABLE t;");
start_in($waiter, 'SELECT count(*) FROM t;');
is( poll_sample(
		$mon,
		"SELECT count(*) FROM pool_observer.events WHERE pid = $waiter->{pid} AND kind = 'lock_wait'",
		'1', 20),
	'1',
	'item d: the lock wait is an event');
my $until = time + 4;
while (time < $until)
{
	$mon->query_safe("SELECT pg_log_backend_memory_contexts($waiter->{pid})");
	usleep(50_000);
}
run_in($holder, 'COMMIT;');
is( poll_sample(
		$mon,
		"SELECT count(*) FROM pool_observer.events WHERE pid = $waiter->{pid} AND kind = 'lock_wait' AND ended_at IS NULL",
		'0', 20),
	'0',
	'item d: the lock wait ends');
is( $mon->query_safe(
		"SELECT count(*) FROM pool_observer.events WHERE pid = $waiter->{pid} AND kind = 'lock_wait'"
	),
	'1',
	'item d: one waiter held for 4 s gives exactly one lock_wait event');
$holder->quit;
$waiter->quit;

#
# item 15
#
set_conf($node, $mon,
	"pool_observer.sample_interval = 100\npool_observer.lock_wait_threshold = -1\npool_observer.history_interval = 60"
);
my $keep = session($node, app => 'item15');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 2;
set_conf($node, $mon, 'pool_observer.history_interval = 3600');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 2;
set_conf($node, $mon, 'pool_observer.history_interval = 1');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 2;
foreach my $view ('server_history', 'pool_history')
{
	my $where = $view eq 'pool_history' ? "WHERE application_name = 'item15'" : '';
	my $r = $mon->query_safe(
		qq{SELECT coalesce(bool_and(bucket_start > prev), true), string_agg(bucket_start::text, ', ' ORDER BY ord)
  FROM (SELECT bucket_start, ord, lag(bucket_start) OVER (ORDER BY ord) AS prev
          FROM (SELECT bucket_start, row_number() OVER () AS ord
                  FROM pool_observer.$view $where) a) b});
	my ($ok, $list) = split /\|/, $r, 2;
	is($ok, 't', "item 15: $view bucket starts strictly increase ($list)");
}
$keep->quit;

#
# item 14 (settings)
#
my $big = PostgreSQL::Test::Cluster->new('results_big');
$big->init;
$big->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.max_pools = 10000
pool_observer.history_size = 100000
pool_observer.max_events = 1000000
});
my $started = $big->start(fail_ok => 1);
my $log = slurp_file($big->logfile);
ok(!$started, 'item 14: the server refuses to start with these sizes');
like($log, qr/pool_observer.*total|total.*pool_observer/i,
	'item 14: the log names pool_observer and the total');
$big->stop if $started;

$node->stop;
done_testing();
