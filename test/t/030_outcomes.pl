# Copyright (c) 2026, pool_observer developers
#
# 030_outcomes.pl
#	  What PostgreSQL itself did, with real clients, counted exactly: each
#	  count in pool_counters equals what the clients of that pool saw, and
#	  each session kind is one closed events row with its query.
#
#  (a) statement_timeout: 3 statements time out; 3 events with the query.
#  (b) lock_timeout: 2 UPDATEs give up waiting on a row lock.
#  (c) query_cancelled: one pg_cancel_backend() from another session, one
#	   client cancel (SIGINT to psql sends a CancelRequest).
#  (d) idle_in_transaction_session_timeout ends a leak; the event carries
#	   the leak's last statement.
#  (e) idle_session_timeout ends an idle session.
#  (f) transaction_timeout (17+ only) ends a busy transaction.
#  (g) a superuser's pg_terminate_backend() is session_terminated;
#	   pool_observer's own termination (idle_in_transaction_terminate_after)
#	   and its own cancel (slow_statement_cancel_after) count only as
#	   terminated_by_pool_observer / cancelled_by_pool_observer.
#  (h) max_connections = 20 and a connect storm: refused_connections = the
#	   53300 errors the clients got, new_connections = the successes.
#  (i) role and database CONNECTION LIMIT, REVOKE CONNECT, datallowconn =
#	   false: each refusal counted in its pool, never as a new connection.
#  (j) wrong passwords over a scram-sha-256 line in pg_hba.conf:
#	   authentication_failures exact; one open episode with the count.
#  (k) a refusal storm stays bounded: a few events rows, exact counts.
#  (l) pool_history / server_history per-bucket sums equal pool_counters.
#  (m) log_min_messages = fatal: health names the setting, and a statement
#	   timeout is (as documented) not counted.  The connect storm of (h)
#	   makes health critical while it lasts.
#
# PO_CLIENT_ONLY=1 runs only the client side (test/lib/PoOutcome.pm).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;
use PoOutcome;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $co = client_only();

my $node = PostgreSQL::Test::Cluster->new('outcomes');
$node->init;
$node->append_conf('postgresql.conf',
	($co ? '' : "shared_preload_libraries = 'pool_observer'\n") . q{
pool_observer.sample_interval = 100
pool_observer.idle_in_transaction_threshold = -1
pool_observer.slow_statement_threshold = -1
pool_observer.long_transaction_threshold = -1
pool_observer.lock_wait_threshold = -1
pool_observer.churn_threshold = -1
pool_observer.max_connections_warn = -1
pool_observer.max_actions_per_minute = 1000
max_connections = 20
superuser_reserved_connections = 3
listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'
log_min_messages = warning
});

# scram-sha-256 for regress_pw over TCP, before the lines init wrote
my $hba = $node->data_dir . '/pg_hba.conf';
my $old_hba = slurp_file($hba);
open my $fh, '>', $hba or die $!;
print $fh "host all regress_pw 127.0.0.1/32 scram-sha-256\n", $old_hba;
print $fh "host all all 127.0.0.1/32 trust\n";
close $fh;

$node->start;
my $version = $node->pg_version;
$node->safe_psql(
	'postgres', ($co ? '' : "CREATE EXTENSION pool_observer;\n") . q{
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
CREATE ROLE regress_app LOGIN;
CREATE ROLE regress_limited LOGIN CONNECTION LIMIT 1;
CREATE ROLE regress_pw LOGIN PASSWORD 'right-password';
GRANT ALL ON t TO regress_app;
CREATE DATABASE regress_dblimit CONNECTION LIMIT 1;
CREATE DATABASE regress_noconnect;
REVOKE CONNECT ON DATABASE regress_noconnect FROM PUBLIC;
CREATE DATABASE regress_closed;
ALTER DATABASE regress_closed ALLOW_CONNECTIONS false;
});

my $mon = $node->background_psql('postgres');
my $host = $node->host;
my $port = $node->port;

sub unix_connstr
{
	my ($app, %o) = @_;
	my $db = $o{db} // 'postgres';
	my $user = $o{user} // 'regress_app';
	return "host=$host port=$port dbname=$db user=$user application_name=$app";
}


# Until no backend of $user is left (a quit session's backend exits
# asynchronously; a CONNECTION LIMIT test must not race with it).
sub role_idle
{
	my ($user) = @_;
	return wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = '$user'")
			  eq 't';
		});
}

sub db_idle
{
	my ($db) = @_;
	return wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = '$db'")
			  eq 't';
		});
}

sub backend_gone
{
	my ($pid) = @_;
	return wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
			  eq 't';
		});
}

# Server side: one pool's counters, as "col=value,..." for the given
# columns, once pool_observer has drained what the hook wrote.
sub pool_counts
{
	my ($app, $cols, $expected, %o) = @_;
	my $user = $o{user} // 'regress_app';
	my $db = $o{db} // 'postgres';
	my $addr = $o{tcp} ? "= '127.0.0.1'" : 'IS NULL';
	my $sel = join(" || ',' || ",
		map { "'$_=' || coalesce(sum($_), 0)" } @$cols);
	return poll_sample(
		$mon, qq{
SELECT $sel FROM pool_observer.pool_counters
 WHERE application_name = '$app' AND usename = '$user'
   AND datname = '$db' AND client_addr $addr}, $expected, 60);
}

sub expect_counts
{
	my ($app, %o) = @_;
	my $name = delete $o{name};
	my %want = %{ delete $o{want} };
	return if $co;
	my @cols = sort keys %want;
	my $expected = join(',', map { "$_=$want{$_}" } @cols);
	is(pool_counts($app, \@cols, $expected, %o), $expected, $name);
}

# Closed session events of one kind in a pool: "n|closed|queries".
sub expect_events
{
	my ($app, $kind, $n, $query_like, $name) = @_;
	return if $co;
	is( poll_sample(
			$mon, qq{
SELECT count(*) || '|' || bool_and(ended_at = detected_at) || '|'
       || bool_and(query LIKE '$query_like') || '|'
       || bool_and(action = 'none' AND detail <> '')
  FROM pool_observer.events
 WHERE kind = '$kind' AND application_name = '$app'},
			"$n|true|true|true", 60),
		"$n|true|true|true",
		$name);
}

my $re_st = qr/canceling statement due to statement timeout/;
my $re_lt = qr/canceling statement due to lock timeout/;
my $re_cancel = qr/canceling statement due to user request/;

#
# (a) statement_timeout
#
{
	my $s = session($node, app => 'st_app', user => 'regress_app');
	run_in($s, "SET statement_timeout = '100ms';");
	for my $i (1 .. 3)
	{
		run_in($s, "SELECT pg_sleep(10) /* st_marker $i */;");
	}
	$s->quit;
	is(count_matches($s->{stderr}, $re_st), 3,
		'(a) client saw 3 statement timeouts');
	expect_counts(
		'st_app',
		name => '(a) pool_counters.statement_timeouts = 3',
		want => {
			statement_timeouts => 3,
			queries_cancelled => 0,
			new_connections => 1
		});
	expect_events('st_app', 'statement_timeout', 3, '%st_marker%',
		'(a) 3 closed statement_timeout events with the query');
}

#
# (b) lock_timeout
#
{
	my $holder = session($node, app => 'lt_holder', user => 'regress_app');
	run_in($holder, "BEGIN; UPDATE t SET v = v + 1 WHERE id = 1;");
	my $s = session($node, app => 'lt_app', user => 'regress_app');
	run_in($s, "SET lock_timeout = '100ms';");
	run_in($s, "UPDATE t SET v = 0 WHERE id = 1 /* lt_marker $_ */;")
	  for 1 .. 2;
	$s->quit;
	run_in($holder, 'ROLLBACK;');
	$holder->quit;
	is(count_matches($s->{stderr}, $re_lt), 2,
		'(b) client saw 2 lock timeouts');
	expect_counts(
		'lt_app',
		name => '(b) pool_counters.lock_timeouts = 2',
		want => { lock_timeouts => 2, statement_timeouts => 0 });
	expect_events('lt_app', 'lock_timeout', 2, '%lt_marker%',
		'(b) 2 lock_timeout events with the query');
}

#
# (c) query_cancelled: pg_cancel_backend() and a client's own cancel
#
{
	my $s = session($node, app => 'qc_app', user => 'regress_app');
	start_in($s, 'SELECT pg_sleep(60) /* qc_marker 1 */;');
	ok( wait_until(
			sub {
				$node->safe_psql('postgres',
					"SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
					  . "WHERE pid = $s->{pid} AND query LIKE '%qc_marker 1%'"
				) eq 't';
			}),
		'(c) pg_cancel_backend() sent');
	run_in($s, 'SELECT 1;');

	$s->quit;

	# A client's own cancel: psql sends a CancelRequest on SIGINT.
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-X', '-d', unix_connstr('qc_app'),
			'-c', 'SELECT pg_sleep(60) /* qc_marker 2 */'
		],
		'<', \undef, '>', \$out, '2>', \$err);
	wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
				  . "AND query LIKE '%qc_marker 2%' AND application_name = 'qc_app'"
			) eq '1';
		});
	$h->signal('INT');
	$h->finish;
	$s->{stderr} .= $err;
	is(count_matches($s->{stderr}, $re_cancel), 2,
		'(c) client saw 2 cancels');
	expect_counts(
		'qc_app',
		name => '(c) pool_counters.queries_cancelled = 2',
		want => { queries_cancelled => 2, cancelled_by_pool_observer => 0 });
	expect_events('qc_app', 'query_cancelled', 2, '%qc_marker%',
		'(c) 2 query_cancelled events with the query');
}

#
# (d) idle_in_transaction_session_timeout ends a leak
#
{
	my $s = session($node, app => 'iit_app', user => 'regress_app');
	run_in($s,
		"SET idle_in_transaction_session_timeout = '200ms';\nBEGIN;\nSELECT 'iit_marker';"
	);
	ok(backend_gone($s->{pid}), '(d) leaked session ended by the server');
	like(finish_with($s, 'SELECT 1;'),
		qr/terminating connection due to idle-in-transaction timeout/,
		'(d) client saw the idle-in-transaction timeout');
	expect_counts(
		'iit_app',
		name => '(d) pool_counters.idle_in_transaction_timeouts = 1',
		want => { idle_in_transaction_timeouts => 1, sessions_terminated => 0 });
	expect_events('iit_app', 'idle_in_transaction_timeout', 1,
		'%iit_marker%', '(d) one event with the leak\'s last statement');
}

#
# (e) idle_session_timeout
#
{
	my $s = session($node, app => 'ist_app', user => 'regress_app');
	run_in($s, "SET idle_session_timeout = '200ms';\nSELECT 'ist_marker';");
	ok(backend_gone($s->{pid}), '(e) idle session ended by the server');
	like(finish_with($s, 'SELECT 1;'),
		qr/terminating connection due to idle-session timeout/,
		'(e) client saw the idle-session timeout');
	expect_counts(
		'ist_app',
		name => '(e) pool_counters.idle_session_timeouts = 1',
		want => { idle_session_timeouts => 1 });
	expect_events('ist_app', 'idle_session_timeout', 1, '%ist_marker%',
		'(e) one idle_session_timeout event');
}

#
# (f) transaction_timeout, 17+
#
SKIP:
{
	skip 'transaction_timeout exists from PostgreSQL 17', 3
	  if $version < 17;
	my $s = session($node, app => 'tt_app', user => 'regress_app');
	run_in($s, "SET transaction_timeout = '300ms';\nBEGIN;");
	start_in($s, 'SELECT pg_sleep(30) /* tt_marker */;');
	ok(backend_gone($s->{pid}), '(f) transaction ended by the server');
	like(finish_with($s, 'SELECT 1;'),
		qr/terminating connection due to transaction timeout/,
		'(f) client saw the transaction timeout');
	if ($co) { pass('(f) client only'); }
	else
	{
		expect_counts(
			'tt_app',
			name => '(f) pool_counters.transaction_timeouts = 1',
			want => { transaction_timeouts => 1 });
	}
}
if (!$co && $version < 17)
{
	expect_counts(
		'st_app',
		name => '(f) before 17 transaction_timeouts stays 0',
		want => { transaction_timeouts => 0 });
}

#
# (g) terminations and cancels: a superuser's vs pool_observer's own
#
{
	my $s = session($node, app => 'term_app', user => 'regress_app');
	start_in($s, 'SELECT pg_sleep(60) /* term_marker */;');
	wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE pid = $s->{pid} "
				  . "AND query LIKE '%term_marker%'") eq '1';
		});
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($s->{pid})");
	ok(backend_gone($s->{pid}), '(g) pg_terminate_backend() ended it');
	like(finish_with($s, 'SELECT 1;'),
		qr/terminating connection due to administrator command/,
		'(g) client saw the termination');
	expect_counts(
		'term_app',
		name => '(g) superuser termination is session_terminated',
		want => { sessions_terminated => 1, terminated_by_pool_observer => 0 });
	expect_events('term_app', 'session_terminated', 1, '%term_marker%',
		'(g) one session_terminated event with the running query');
}

SKIP:
{
	skip 'pool_observer\'s own actions need the extension', 6 if $co;

	set_conf($node, $mon,
		"pool_observer.idle_in_transaction_terminate_after = 300");
	my $s = session($node, app => 'poterm_app', user => 'regress_app');
	run_in($s, "BEGIN;\nSELECT 'poterm_marker';");
	ok(backend_gone($s->{pid}), '(g) pool_observer terminated the leak');
	like(finish_with($s, 'SELECT 1;'),
		qr/terminating connection due to administrator command/,
		'(g) its client saw an administrator command');
	set_conf($node, $mon,
		"pool_observer.idle_in_transaction_terminate_after = 0\n"
		  . "pool_observer.slow_statement_cancel_after = 300");
	my $c = session($node, app => 'pocancel_app', user => 'regress_app');
	run_in($c, 'SELECT pg_sleep(60) /* pocancel_marker */;');
	set_conf($node, $mon, 'pool_observer.slow_statement_cancel_after = 0');
	$c->quit;
	is(count_matches($c->{stderr}, $re_cancel), 1,
		'(g) pool_observer cancelled the slow statement');
	expect_counts(
		'poterm_app',
		name => '(g) own termination: terminated_by_pool_observer only',
		want => { terminated_by_pool_observer => 1, sessions_terminated => 0 });
	expect_counts(
		'pocancel_app',
		name => '(g) own cancel: cancelled_by_pool_observer only',
		want => { cancelled_by_pool_observer => 1, queries_cancelled => 0 });
	is( $mon->query_safe(
			q{SELECT count(*) FROM pool_observer.events
			   WHERE application_name IN ('poterm_app', 'pocancel_app')
			     AND kind IN ('session_terminated', 'query_cancelled')}),
		'0',
		'(g) no session_terminated / query_cancelled event for our own');
}

#
# (h) max_connections = 20 and a connect storm
#
{
	# Fill most ordinary slots, so that the storm competes for the rest:
	# 17 usable (20 - 3 reserved), minus $mon and the holders.
	my @hold = map { session($node, app => 'storm_hold', user => 'regress_app') } 1 .. 10;
	my $r = attempts(60, 30,
		connstr => unix_connstr('storm_app'),
		sql => 'SELECT pg_sleep(0.5)');
	$_->quit for @hold;
	is($r->{other}, 0, '(h) storm: every attempt succeeded or got 53300')
	  or diag($r->{other_err});
	ok($r->{refused} > 0, "(h) storm: $r->{refused} refused");
	ok($r->{ok} > 0, "(h) storm: $r->{ok} connected");
	expect_counts(
		'storm_app',
		name => '(h) refused = 53300 errors seen, new = successes',
		want => {
			refused_connections => $r->{refused},
			new_connections => $r->{ok},
			authentication_failures => 0
		});
	if (!$co)
	{
		my $n = poll_sample(
			$mon, q{
SELECT count(*) > 0 AND bool_and(detail ~ '[0-9]')
  FROM pool_observer.events
 WHERE kind = 'connection_refused' AND application_name = 'storm_app'},
			't');
		is($n, 't', '(h) connection_refused episode with its count');
		like(
			$mon->query_safe(
				q{SELECT status || ' ' || array_to_string(reasons, '; ')
				    FROM pool_observer.health}),
			qr/^critical .*refus/,
			'(h) health: critical while connections are being refused');
	}
}

#
# (i) role and database limits, CONNECT privilege, datallowconn
#
{
	my $one = session($node, app => 'limit_role', user => 'regress_limited');
	my ($ok, $refused) = (0, 0);
	for (1 .. 3)
	{
		my ($c, $err) = attempt(
			connstr => unix_connstr('limit_role', user => 'regress_limited'));
		$refused++ if $c eq 'refused' && $err =~ /too many connections for role/;
	}
	$one->quit;
	role_idle('regress_limited');
	is($refused, 3, '(i) role limit: 3 refused');
	expect_counts(
		'limit_role',
		user => 'regress_limited',
		name => '(i) role limit counted, not as new connections',
		want => { refused_connections => 3, new_connections => 1 });

	my $db1 = session($node, app => 'limit_db', user => 'regress_app', db => 'regress_dblimit');
	$refused = 0;
	for (1 .. 2)
	{
		my ($c, $err) = attempt(
			connstr => unix_connstr('limit_db', db => 'regress_dblimit'));
		$refused++
		  if $c eq 'refused' && $err =~ /too many connections for database/;
	}
	$db1->quit;
	db_idle('regress_dblimit');
	is($refused, 2, '(i) database limit: 2 refused');
	expect_counts(
		'limit_db',
		db => 'regress_dblimit',
		name => '(i) database limit counted',
		want => { refused_connections => 2, new_connections => 1 });

	my ($c1, $e1) =
	  attempt(connstr => unix_connstr('noconn', db => 'regress_noconnect'));
	like($e1, qr/permission denied for database "regress_noconnect"/,
		'(i) no CONNECT privilege refused');
	expect_counts(
		'noconn',
		db => 'regress_noconnect',
		name => '(i) CONNECT privilege refusal counted',
		want => { refused_connections => 1, new_connections => 0 });

	my ($c2, $e2) =
	  attempt(connstr => unix_connstr('closed', db => 'regress_closed'));
	like($e2, qr/database "regress_closed" is not currently accepting connections/,
		'(i) datallowconn = false refused');
	expect_counts(
		'closed',
		db => 'regress_closed',
		name => '(i) datallowconn refusal counted',
		want => { refused_connections => 1, new_connections => 0 });
}

#
# (j) wrong passwords over scram-sha-256
#
{
	my $tcp = "host=127.0.0.1 port=$port dbname=postgres user=regress_pw "
	  . "application_name=pw_app";
	my $bad = 0;
	for (1 .. 4)
	{
		my ($c, $err) = attempt(connstr => $tcp, password => 'wrong');
		$bad++
		  if $c eq 'auth_failed'
		  && $err =~ /password authentication failed for user "regress_pw"/;
	}
	is($bad, 4, '(j) 4 wrong passwords refused with 28P01');
	my ($c, $err) = attempt(connstr => $tcp, password => 'right-password');
	is($c, 'ok', '(j) the right password connects') or diag($err);
	expect_counts(
		'pw_app',
		user => 'regress_pw',
		tcp => 1,
		name => '(j) authentication_failures = 4, new_connections = 1',
		want => { authentication_failures => 4, new_connections => 1 });
	if (!$co)
	{
		is( poll_sample(
				$mon, q{
SELECT count(*) || '|' || bool_or(detail ~ '\m4\M')
  FROM pool_observer.events
 WHERE kind = 'authentication_failed' AND application_name = 'pw_app'},
				'1|true'),
			'1|true',
			'(j) one authentication_failed episode, count 4 in detail');
	}
}

#
# (k) a refusal storm is bounded: rows capped, counts exact
#
{
	role_idle('regress_limited');
	my $one = session($node, app => 'rstorm', user => 'regress_limited');
	my $r = attempts(400, 16,
		connstr => unix_connstr('rstorm', user => 'regress_limited'));
	$one->quit;
	is($r->{refused}, 400, '(k) storm: 400 refused') or diag($r->{other_err});
	expect_counts(
		'rstorm',
		user => 'regress_limited',
		name => '(k) storm: refused count exact',
		want => { refused_connections => 400, new_connections => 1 });
	if (!$co)
	{
		my $rows = $mon->query_safe(
			q{SELECT count(*) FROM pool_observer.events
			   WHERE kind = 'connection_refused' AND application_name = 'rstorm'});
		ok($rows >= 1 && $rows <= 3, "(k) storm: $rows events rows (1..3)");
	}
}

#
# (l) history buckets add up to the counters
#
if (!$co)
{
	my $q = q{
SELECT coalesce(sum(refused_connections), 0) || ',' ||
       coalesce(sum(authentication_failures), 0) || ',' ||
       coalesce(sum(timeouts), 0) || ',' ||
       coalesce(sum(queries_cancelled), 0) || ',' ||
       coalesce(sum(sessions_terminated), 0)
  FROM pool_observer.%s};
	my $counters = $mon->query_safe(
		q{SELECT sum(refused_connections) || ',' || sum(authentication_failures)
		  || ',' || sum(statement_timeouts + lock_timeouts
		               + idle_in_transaction_timeouts + idle_session_timeouts
		               + transaction_timeouts)
		  || ',' || sum(queries_cancelled) || ',' || sum(sessions_terminated)
		  FROM pool_observer.pool_counters});
	is(poll_sample($mon, sprintf($q, 'pool_history'), $counters),
		$counters, '(l) pool_history sums equal pool_counters');
	is(poll_sample($mon, sprintf($q, 'server_history'), $counters),
		$counters, '(l) server_history sums equal pool_counters');
}

#
# (m) the precondition: log_min_messages = fatal hides the ERROR kinds
#
if (!$co)
{
	set_conf($node, $mon, 'log_min_messages = fatal');
	like(
		$mon->query_safe(
			q{SELECT array_to_string(reasons, '; ') FROM pool_observer.health}),
		qr/log_min_messages/,
		'(m) health says log_min_messages hides timeouts and cancels');
	my $s = session($node, app => 'hidden_app', user => 'regress_app');
	run_in($s, "SET statement_timeout = '100ms';\nSELECT pg_sleep(10);");
	$s->quit;
	is(count_matches($s->{stderr}, $re_st), 1, '(m) client saw the timeout');
	expect_counts(
		'hidden_app',
		name => '(m) hidden from the hook: not counted (documented)',
		want => { statement_timeouts => 0, new_connections => 1 });
	set_conf($node, $mon, 'log_min_messages = warning');
	unlike(
		$mon->query_safe(
			q{SELECT array_to_string(reasons, '; ') FROM pool_observer.health}),
		qr/log_min_messages/,
		'(m) the reason goes away with log_min_messages = warning');
}

$mon->quit;
ok(slurp_file($node->logfile) !~ /terminated by signal/, 'no backend crashed');
$node->stop;
done_testing();
