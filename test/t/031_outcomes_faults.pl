# Copyright (c) 2026, pool_observer developers
#
# 031_outcomes_faults.pl
#	  The emit_log_hook runs inside error reporting of every backend, some
#	  without a PGPROC; it must never be what hurts the server.
#
#  (a) A full intake ring: the sampler stopped (SIGSTOP) while one session
#	   makes 3000 statement timeouts.  The session is never slowed down
#	   (it finishes within the deadline), nothing crashes, and after
#	   SIGCONT statement_timeouts + worker.outcomes_dropped = 3000 exactly.
#  (b) Refused connections while the sampler is down (SIGTERM, restarted
#	   by the postmaster after bgw_restart_time): the server stays up, no
#	   crash restart, and once the sampler is back every refusal is counted.
#  (c) kill -9 of the sampler while clients keep timing out and being
#	   refused: the postmaster's crash restart is PostgreSQL's answer to a
#	   SIGKILLed child, but the only process that died by a signal is the
#	   sampler (no backend crashed in the hook: no signal 11 or 6, no
#	   PANIC), the server accepts connections again, and counting resumes
#	   exactly from the reset state.
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

my $node = PostgreSQL::Test::Cluster->new('outcome_faults');
$node->init;
$node->append_conf('postgresql.conf',
	($co ? '' : "shared_preload_libraries = 'pool_observer'\n") . q{
pool_observer.sample_interval = 100
restart_after_crash = on
max_connections = 30
});
$node->start;
$node->safe_psql(
	'postgres', ($co ? '' : "CREATE EXTENSION pool_observer;\n") . q{
CREATE ROLE regress_app LOGIN;
CREATE ROLE regress_limited LOGIN CONNECTION LIMIT 1;
});

my $host = $node->host;
my $port = $node->port;

sub connstr
{
	my ($app, $user) = @_;
	$user //= 'regress_app';
	return "host=$host port=$port dbname=postgres user=$user application_name=$app";
}

sub worker_pid
{
	return $co
	  ? 0
	  : $node->safe_psql('postgres',
		'SELECT coalesce(pid, 0) FROM pool_observer.worker');
}

sub counts_of
{
	my ($app, $col) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT coalesce(sum($col), 0) FROM pool_observer.pool_counters
 WHERE application_name = '$app'});
}

# Poll $sql (with a fresh sample first) until it returns $expected.
sub poll_counts
{
	my ($sql, $expected) = @_;
	my $got;
	wait_until(
		sub {
			eval { $node->safe_psql('postgres', 'SELECT pool_observer.sample_now()'); };
			$got = $node->safe_psql('postgres', $sql);
			return $got eq $expected;
		},
		60);
	return $got;
}

# A background psql holding regress_limited's only slot.
sub hold_limited
{
	my ($app) = @_;
	wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'regress_limited'"
			) eq 't';
		});
	return $node->background_psql(
		'postgres',
		on_error_stop => 0,
		extra_params => [ '-d', connstr($app, 'regress_limited') ]);
}

my $n_timeouts = 3000;
my $script = "SET statement_timeout = '1ms';\n"
  . ("SELECT pg_sleep(0.05) /* ring_marker */;\n" x $n_timeouts);

#
# (a) a full ring
#
{
	my $wpid = worker_pid();
	kill 'STOP', $wpid if $wpid;
	my ($out, $err) = ('', '');
	my $t0 = time;
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', connstr('ring_app') ],
		'<', \$script, '>', \$out, '2>', \$err,
		IPC::Run::timeout(120));
	my $done = eval { $h->finish; 1 };
	my $secs = time - $t0;
	kill 'CONT', $wpid if $wpid;
	ok($done, sprintf('(a) %d timeouts in %.1f s with the sampler stopped',
			$n_timeouts, $secs));
	my $seen = count_matches($err,
		qr/canceling statement due to statement timeout/);
	is($seen, $n_timeouts, "(a) client saw $n_timeouts statement timeouts");
	if (!$co)
	{
		my $sum = poll_counts(
			q{SELECT (SELECT coalesce(sum(statement_timeouts), 0)
			            FROM pool_observer.pool_counters
			           WHERE application_name = 'ring_app')
			       + (SELECT outcomes_dropped FROM pool_observer.worker)},
			$seen);
		is($sum, $seen, '(a) counted + dropped = what the client saw');
		diag('dropped: '
			  . $node->safe_psql('postgres',
				'SELECT outcomes_dropped FROM pool_observer.worker'));
	}
	unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC/,
		'(a) no crash');
}

#
# (b) refused connections while the sampler is being restarted
#
{
	my $hold = hold_limited('restart_hold');
	$hold->query_safe('SELECT 1');
	my $offset = -s $node->logfile;
	my $wpid = worker_pid();
	if ($wpid)
	{
		kill 'TERM', $wpid;
		wait_until(sub { worker_pid() == 0 });
	}
	my $r = attempts(20, 5, connstr => connstr('restart_app', 'regress_limited'));
	my $still_down = worker_pid() == 0;
	is($r->{refused}, 20, '(b) 20 refused while the sampler is down')
	  or diag($r->{other_err});
	diag('sampler came back before the attempts ended') unless $still_down;
	$hold->quit;
	if (!$co)
	{
		ok(wait_until(sub { worker_pid() > 0 }, 60), '(b) sampler restarted');
		is( poll_counts(
				q{SELECT coalesce(sum(refused_connections), 0)
				    FROM pool_observer.pool_counters
				   WHERE application_name = 'restart_app'}, '20'),
			'20',
			'(b) every refusal made while it was down is counted');
	}
	my $log = slurp_file($node->logfile, $offset);
	unlike($log, qr/terminated by signal|PANIC|all server processes terminated/,
		'(b) no crash restart');
}

#
# (c) kill -9 of the sampler while the hook fires
#
SKIP:
{
	skip 'needs the sampler', 6 if $co;

	my $offset = -s $node->logfile;
	my $hold = hold_limited('kill_hold');
	$hold->query_safe('SELECT 1');

	# clients firing the hook in the background: timeouts and refusals
	my ($out1, $err1, $out2, $err2) = ('', '', '', '');
	my $t = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', connstr('kill_timeouts') ],
		'<', \$script, '>', \$out1, '2>', \$err1,
		IPC::Run::timeout(180));
	my $loop = 'for i in $(seq 1 200); do psql -X -w -q -d "$0" -c "SELECT 1"; done';
	my $refusals = IPC::Run::start(
		[ 'sh', '-c', $loop, connstr('kill_refused', 'regress_limited') ],
		'<', \undef, '>', \$out2, '2>', \$err2,
		IPC::Run::timeout(180));

	# kill while records are being written
	wait_until(
		sub {
			$t->pump_nb;
			return $err1 =~ /statement timeout/;
		},
		30);
	kill 'KILL', worker_pid();
	eval { $t->finish; };
	eval { $refusals->finish; };
	eval { $hold->quit; };

	ok( wait_until(
			sub {
				my ($rc) = $node->psql('postgres', 'SELECT 1');
				$rc == 0;
			},
			120),
		'(c) the server accepts connections after the crash restart');
	my $log = slurp_file($node->logfile, $offset);
	my @killed = $log =~ /\(PID \d+\) was terminated by signal (\d+)/g;
	is_deeply(\@killed, [9], '(c) only one process died by a signal: SIGKILL');
	like($log, qr/pool_observer sampler.*terminated by signal 9/,
		'(c) and it was the sampler');
	unlike($log, qr/signal (?:11|6):|PANIC/,
		'(c) no segfault, no abort, no PANIC');

	# counting works again, exactly, from the reset state
	ok(wait_until(sub { worker_pid() > 0 }, 60), '(c) sampler back');
	my $hold2 = hold_limited('after_hold');
	$hold2->query_safe('SELECT 1');
	my $r = attempts(7, 7, connstr => connstr('after_kill', 'regress_limited'));
	$hold2->quit;
	is( poll_counts(
			q{SELECT coalesce(sum(refused_connections), 0)
			    FROM pool_observer.pool_counters
			   WHERE application_name = 'after_kill'}, $r->{refused}),
		$r->{refused},
		"(c) after the restart: $r->{refused} refusals counted exactly");
}

$node->stop;
done_testing();
