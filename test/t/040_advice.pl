# Copyright (c) 2026, pool_observer developers
#
# 040_advice.pl
#	  advice(): figures from the samples and the verdicts of the README's
#	  rules, with real client sessions.
#
#  - Percentiles against known samples: with sampling by hand only
#	 (sample_interval = 1h, every sample a sample_now()), a pool held at
#	 exactly 3 busy (idle in transaction) for 19 samples and 5 for one has
#	 samples 20, busy_p95 3, busy_max 5, busy_avg 3.1; one more sample at 5
#	 makes busy_p95 5 (nearest rank 20 of 21).
#  - Window errors: NULL, zero, negative, more than a year; a window
#	 longer than the history kept says so in note.
#  - Verdicts, all at once on a server of max_connections 20 (17 usable):
#	 a pool of 3 always running pg_sleep gets slow_queries or undersized
#	 and names pg_sleep (needs the profile: fails until it is merged); a
#	 pool of 8 with one light user gets oversized with a smaller size; a
#	 pool idle in transaction gets leaking and names its statement; the
#	 server at 16 of 17 gets headroom_low.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;
use PoOutcome qw(attempt);


my $node = PostgreSQL::Test::Cluster->new('advice');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer, pg_stat_statements'
compute_query_id = on
max_connections = 20
superuser_reserved_connections = 3
pool_observer.sample_interval = 3600000
pool_observer.history_interval = 3600
pool_observer.idle_in_transaction_threshold = 1000
pool_observer.max_connections_warn = -1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_stat_statements');
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $mon = session($node, app => 'mon');

sub figures
{
	my ($app) = @_;
	return $mon->query_safe(
		"SELECT samples, busy_p95, busy_max, round(busy_avg::numeric, 2) "
		  . "FROM pool_observer.advice('1 hour') WHERE application_name = '$app'"
	);
}

# --- percentiles against known samples -------------------------------
$mon->query_safe('SELECT pool_observer.reset()');
my @pct = map { session($node, app => 'pct') } 1 .. 3;
run_in($_, "BEGIN; SELECT 'pct';") for @pct;
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 19;
is(figures('pct'), '19|3|3|3.00', 'held at 3 busy for 19 samples');
push @pct, map { session($node, app => 'pct') } 1 .. 2;
run_in($_, "BEGIN; SELECT 'pct';") for @pct[ 3, 4 ];
$mon->query_safe('SELECT pool_observer.sample_now()');
is(figures('pct'), '20|3|5|3.10', 'one sample at 5: p95 stays 3 (rank 19 of 20)');
$mon->query_safe('SELECT pool_observer.sample_now()');
is(figures('pct'), '21|5|5|3.19', 'two samples at 5: p95 5 (rank 20 of 21)');
is( $mon->query_safe(
		"SELECT connections_max, round(idle_in_transaction_share::numeric, 2) "
		  . "FROM pool_observer.advice('1 hour') WHERE application_name = 'pct'"),
	'5|1.00',
	'connections_max and idle-in-transaction share from the samples');
is( $mon->query_safe(
		"SELECT count(*) FROM pool_observer.advice() WHERE datname IS NULL "
		  . "AND NOT overflow AND verdict IN ('ok', 'headroom_low', 'oversubscribed', 'too_many_active')"),
	'1',
	'one server row');
$_->quit for @pct;

# --- outcomes and the top query, against the views they come from --------
# Sampling by hand still, so nothing changes between the reads.  A pool of
# 3 idle in transaction, 2 after one statement and 1 after another, with
# one statement timeout and one connection refused by the role's limit:
# refused_connections and timeouts equal pool_history's sums over the
# window's buckets, top_query_id and top_query_share what profile_history
# gives over the same buckets (the C aggregation against the views).
$mon->query_safe('CREATE ROLE regress_mix LOGIN CONNECTION LIMIT 3');
$mon->query_safe('SELECT pool_observer.reset()');
my @mix = map { session($node, app => 'mix', user => 'regress_mix') } 1 .. 3;
run_in($_, "BEGIN; SELECT 1 AS mix_top;") for @mix[ 0, 1 ];
run_in($mix[2],
	"SET statement_timeout = '50ms';\nSELECT pg_sleep(5);\n"
	  . "RESET statement_timeout;\nBEGIN; SELECT now() AS mix_other;");
my ($refusal) = attempt(connstr => 'host=' . $node->host . ' port='
	  . $node->port
	  . ' dbname=postgres user=regress_mix application_name=mix');
is($refusal, 'refused', 'outcomes: the fourth connection is refused');
is( poll_sample(
		$mon,
		"SELECT sum(refused_connections) || '|' || sum(timeouts) "
		  . "FROM pool_observer.pool_history WHERE usename = 'regress_mix'",
		'1|1', 30),
	'1|1',
	'outcomes: pool_history has the refusal and the timeout');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 4;
is( $mon->query_safe(
		q{WITH a AS (SELECT * FROM pool_observer.advice('1 hour') WHERE usename = 'regress_mix'),
  srv AS (SELECT * FROM pool_observer.advice('1 hour') WHERE datname IS NULL AND NOT overflow),
  h AS (SELECT sum(p.refused_connections) AS refused, sum(p.timeouts) AS timeouts
          FROM pool_observer.pool_history p, a
         WHERE p.usename = 'regress_mix' AND p.bucket_start >= a.window_start),
  hall AS (SELECT sum(p.refused_connections) AS refused, sum(p.timeouts) AS timeouts
             FROM pool_observer.pool_history p, a WHERE p.bucket_start >= a.window_start),
  ph AS (SELECT p.* FROM pool_observer.profile_history p, a
          WHERE p.usename = 'regress_mix' AND NOT p.overflow AND p.bucket_start >= a.window_start),
  byq AS (SELECT ph.query_id, sum(ph.busy_seconds) AS busy FROM ph
           WHERE NOT ph.other AND ph.query_id IS NOT NULL GROUP BY 1),
  t AS (SELECT b.query_id, b.busy / (SELECT sum(ph.busy_seconds) FROM ph) AS share
          FROM byq b ORDER BY b.busy DESC, b.query_id LIMIT 1)
SELECT a.refused_connections || '|' || a.timeouts || '|'
       || (a.refused_connections = h.refused AND a.timeouts = h.timeouts) || '|'
       || (srv.refused_connections = hall.refused AND srv.timeouts = hall.timeouts) || '|'
       || (a.top_query_id = t.query_id) || '|'
       || (abs(a.top_query_share - t.share) < 1e-9) || '|'
       || round(a.top_query_share::numeric, 2) || '|'
       || (a.top_query ~ 'mix_top')
  FROM a, srv, h, hall, t}),
	'1|1|true|true|true|true|0.67|true',
	'outcomes and the top query equal what pool_history and profile_history give'
);
$_->quit for @mix;

# --- window errors ----------------------------------------------------
my %bad = (
	'NULL' => qr/"window" must not be null/,
	"'0'" => qr/"window" must be greater than zero/,
	"'-1 hour'" => qr/"window" must be greater than zero/,
	"'2 years'" => qr/"window" must be at most one year/,);
for my $w (sort keys %bad)
{
	my ($ret, $out, $err) =
	  $node->psql('postgres', "SELECT * FROM pool_observer.advice($w)");
	like($err, $bad{$w}, "window $w is an error");
}
like(
	$mon->query_safe(
		"SELECT DISTINCT note FROM pool_observer.advice('300 days')"),
	qr/longer than the history kept \(360 buckets of 3600 s\): figures cover only the last/,
	'a window longer than kept says what the figures cover');

# --- verdicts, with the sampler running -------------------------------
set_conf($node, $mon,
	"pool_observer.sample_interval = 100\npool_observer.history_interval = 1"
);
$mon->query_safe('SELECT pool_observer.reset()');

my @slow = map { session($node, app => 'slow3') } 1 .. 3;
start_in($_, 'SELECT pg_sleep(300);') for @slow;
my @big = map { session($node, app => 'big8') } 1 .. 8;
start_in($big[0], 'SELECT pg_sleep(1);');
my @leak = map { session($node, app => 'leak') } 1 .. 2;
run_in($_, "BEGIN; SELECT 'leaky' AS marker;") for @leak;
my @fill = map { session($node, app => 'filler') } 1 .. 2;    # 16 of 17 in all

my $q = "SELECT verdict FROM pool_observer.advice('1 min') WHERE ";
is(poll_sample($mon, $q . "application_name = 'big8'", 'oversized', 60),
	'oversized', 'a pool of 8 with one light user is oversized');
ok( $mon->query_safe(
		"SELECT recommended_size < 8 AND reasons[1] ~ 'frees \\d+ max_connections slots?' "
		  . "FROM pool_observer.advice('1 min') WHERE application_name = 'big8'"
	  ) eq 't',
	'oversized: a smaller size and the slots it frees');
is(poll_sample($mon, $q . "application_name = 'leak'", 'leaking', 60),
	'leaking', 'a pool idle in transaction is leaking');
# the statement comes from the profile, or else from the idle_in_transaction
# event, which opens after its 1 s threshold
is( poll_sample(
		$mon,
		"SELECT array_to_string(reasons, ' ') ~ '100% of its busy time .* idle in transaction.*marker' "
		  . "FROM pool_observer.advice('1 min') WHERE application_name = 'leak'",
		't', 60),
	't',
	'leaking: the share and the statement');
is(poll_sample($mon, $q . "datname IS NULL AND NOT overflow", 'headroom_low', 60),
	'headroom_low', 'the server near its limit has headroom_low');
like(
	$mon->query_safe(
		"SELECT reasons[1] FROM pool_observer.advice('1 min') WHERE datname IS NULL AND NOT overflow"
	),
	qr/peaked at 1[67] of the 17 usable max_connections/,
	'headroom_low: the peak and the limit');

# needs the busy-time profile (issue 13) to name the statement
my $slow = poll_sample($mon,
	"SELECT verdict IN ('slow_queries', 'undersized') AND array_to_string(reasons, ' ') ~ 'pg_sleep' "
	  . "FROM pool_observer.advice('1 min') WHERE application_name = 'slow3'",
	't', 60);
is($slow, 't', 'an always-saturated pool of 3 names its slow statement')
  or diag(
	'advice for slow3: ',
	$mon->query_safe(
		"SELECT verdict, top_query_id, reasons FROM pool_observer.advice('1 min') "
		  . "WHERE application_name = 'slow3'"),
	"\n(the statement is named from profile_history: is the profile merged?)"
  );

$mon->query_safe(
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'slow3'"
);
eval { $_->quit } for @slow;
$_->quit for @big, @leak, @fill;
$mon->quit;
$node->stop;

# --- the overflow pool, and a pool blocked on a lock ----------------------
# max_pools = 3: this test's own psql sessions, the lock holder's and the
# lock waiter's pools take the three slots; two sessions of other applications, always in pg_sleep, fall into
# the overflow pool, which has no key.  Its slow_queries reasons cannot name
# a role (advice() once failed formatting its NULL role as an identifier);
# the waiter's pool is busy on a lock, and its reasons say so instead of
# suggesting a statement_timeout.
my $ov = PostgreSQL::Test::Cluster->new('advice_overflow');
$ov->init;
$ov->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
compute_query_id = on
pool_observer.max_pools = 3
pool_observer.sample_interval = 100
pool_observer.history_interval = 60
pool_observer.max_connections_warn = -1
});
$ov->start;
$ov->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
$ov->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)');
my $omon = $ov->background_psql('postgres');
my $holder = session($ov, app => 'ov_holder');
run_in($holder, 'BEGIN; UPDATE t SET v = v + 1 WHERE id = 1;');
my $waiter = session($ov, app => 'ov_waiter');
start_in($waiter, 'UPDATE t SET v = v + 1 WHERE id = 1;');
is( poll_sample(
		$omon,
		"SELECT count(*) FROM pool_observer.pools WHERE NOT overflow "
		  . "AND application_name IN ('ov_holder', 'ov_waiter')",
		'2'),
	'2',
	'overflow: the holder and the waiter have pool slots of their own');
my @ovf = map { session($ov, app => "ov_sleep$_") } 1 .. 2;
start_in($_, 'SELECT pg_sleep(120);') for @ovf;
is( poll_sample(
		$omon,
		"SELECT verdict, array_to_string(reasons, ' ') ~ 'the overflow pool' "
		  . "FROM pool_observer.advice('1 min') WHERE overflow",
		'slow_queries|t', 60),
	'slow_queries|t',
	'overflow pool: slow_queries, and the reasons name no role');
is( poll_sample(
		$omon,
		"SELECT array_to_string(reasons, ' ') ~ 'waiting on a lock' "
		  . "AND array_to_string(reasons, ' ') !~ 'ALTER ROLE' "
		  . "FROM pool_observer.advice('1 min') WHERE application_name = 'ov_waiter'",
		't', 60),
	't',
	'a pool blocked on a lock: its reasons point at the blocker, not at a statement_timeout');
$omon->query_safe(
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	  . "WHERE application_name LIKE 'ov_%'");
eval { $_->{run}->kill_kill } for @ovf, $holder, $waiter;
$omon->quit;
$ov->stop;
done_testing();
