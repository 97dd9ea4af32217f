# Copyright (c) 2026, pool_observer developers
#
# 061_stalls.pl
#	  Issue 12, silent stalls: nothing outside the sampler may stop it
#	  sampling while health says ok.  Sample counts here are read without
#	  sample_now(), which would take a sample itself and hide the stall.
#
#  item 4: the clock.  The server runs under test/t/clock_shim.c
#	   (LD_PRELOAD, compiled here with cc) that shifts CLOCK_REALTIME by an
#	   offset read from a file at run time (a per-pid file overrides it).
#	   - a backward step of 1 h: worker.samples keeps increasing;
#	   - a last_sample_at in the future (the reader's clock 1 h behind) is
#	     not 'ok' in health.  Assumption: it is reported like any stale
#	     sampler (status not 'ok').
#	   - a forward step of 1 h: no burst of samples (at most ~1.5 x the
#	     configured rate over a 2 s window).
#  item 5: default_transaction_isolation = serializable,
#	   default_transaction_read_only = on, default_transaction_deferrable
#	   = on, statement_timeout, lock_timeout,
#	   idle_in_transaction_session_timeout and search_path set in
#	   postgresql.conf, one serializable writer transaction open, a new role
#	   connecting (so the sampler has to read the catalog): samples keep
#	   coming, the worker pid stays the same.  The test role overrides all
#	   of them with ALTER ROLE ... SET, so only the sampler sees them.  On a
#	   standby with default_transaction_isolation = serializable: samples
#	   keep coming, the worker pid is stable for more than its 5 s restart
#	   time, no 'cannot use serializable mode in a hot standby' in the log.
#  item 6: 8 sessions looping (a DO loop each) SELECT count(*) FROM
#	   pool_observer.events with max_events = 100000: samples advance at
#	   no less than a quarter of the configured rate (sample_interval 100
#	   ms).  max_events = 1000000 (the top of the range) would need about
#	   1.7 GB of shared memory and as much per reader's copy, too much on a
#	   shared test machine; 100000 is the size the defect was found with.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest qw(run_in start_in poll_sample set_conf wait_until session);
use Time::HiRes qw(time usleep);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $shim = "$tmp/clock_shim.so";
my $clock_file = "$tmp/clock_offset";

sub set_offset
{
	my ($path, $secs) = @_;
	open(my $fh, '>', "$path.tmp") or die "could not write $path: $!";
	print $fh "$secs\n";
	close($fh);
	rename("$path.tmp", $path) or die "could not rename to $path: $!";
	# the shim re-reads the file every 10 ms
	usleep(50_000);
	return;
}

my $have_cc = system('cc', '-shared', '-fPIC', '-O2', '-o', $shim,
	"$FindBin::RealBin/clock_shim.c", '-ldl') == 0;

my $node = PostgreSQL::Test::Cluster->new('stalls');
$node->init(allows_streaming => 1);
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.saturation_threshold = -1
pool_observer.churn_threshold = -1
max_connections = 40
});
set_offset($clock_file, 0);
{
	local $ENV{PO_CLOCK_FILE} = $clock_file;
	local $ENV{LD_PRELOAD} = $shim if $have_cc;
	$node->start;
}
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $mon = $node->background_psql('postgres');

sub samples
{
	my ($n) = @_;
	return ($n // $mon)->query_safe('SELECT samples FROM pool_observer.worker');
}

# Wait until the sampler has taken $want samples on its own.
sub samples_advance
{
	my ($want, $secs, $session) = @_;
	my $from = samples($session);
	my $got = 0;
	wait_until(sub { ($got = samples($session) - $from) >= $want }, $secs);
	return $got;
}

#
# item 4
#
SKIP:
{
	skip 'no C compiler for the clock shim', 4 unless $have_cc;

	cmp_ok(samples_advance(10, 10), '>=', 10,
		'item 4: samples come before any clock step');

	# the monitor's backend alone lives 1 h in the past: the last sample
	# is 1 h in its future
	my $monpid = $mon->query_safe('SELECT pg_backend_pid()');
	set_offset("$clock_file.$monpid", -3600);
	my $health = $mon->query_safe(
		q{SELECT status || ' ' || (last_sample_at > now()) FROM pool_observer.health});
	unlink("$clock_file.$monpid");
	usleep(50_000);
	note "item 4: health as seen 1 h in the past: '$health'";
	unlike($health, qr/^ok (t|true)$/,
		'item 4: a last_sample_at in the future is not reported as ok');

	# the whole server steps back 1 h
	set_offset($clock_file, -3600);
	my $got = samples_advance(10, 10);
	cmp_ok($got, '>=', 10,
		'item 4: samples keep coming after a backward clock step');

	# and forward again: no catching up on the hour
	set_offset($clock_file, 0);
	samples_advance(3, 10);
	my $s0 = samples();
	my $t0 = time;
	usleep(2_000_000);
	my $n = samples() - $s0;
	my $secs = time - $t0;
	cmp_ok($n, '<=', int($secs * 10 * 1.5) + 5,
		sprintf('item 4: no burst of samples after a forward step (%d in %.1f s)',
			$n, $secs));
}

#
# item 5: primary
#
my $me = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql(
	'postgres', qq{
CREATE TABLE w (id int);
ALTER ROLE "$me" SET default_transaction_isolation = 'read committed';
ALTER ROLE "$me" SET default_transaction_read_only = off;
ALTER ROLE "$me" SET default_transaction_deferrable = off;
ALTER ROLE "$me" SET statement_timeout = 0;
ALTER ROLE "$me" SET lock_timeout = 0;
ALTER ROLE "$me" SET idle_in_transaction_session_timeout = 0;
ALTER ROLE "$me" SET search_path = '"\$user", public';
});
my $backup = 'item5';
$node->backup($backup);
$mon->quit;
$node->append_conf(
	'postgresql.conf', q{
default_transaction_isolation = serializable
default_transaction_read_only = on
default_transaction_deferrable = on
statement_timeout = 1ms
lock_timeout = 1ms
idle_in_transaction_session_timeout = 1s
search_path = 'no_such_schema'
});
$node->restart;
$mon = $node->background_psql('postgres');
my $writer = session($node, app => 'item5_writer');
run_in($writer,
	"BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE;\nINSERT INTO w VALUES (1);");
# a sampler started now must read the catalog while the writer is open
my $old_wpid = $mon->query_safe('SELECT pid FROM pool_observer.worker');
$mon->query_safe("SELECT pg_terminate_backend($old_wpid)");
my $wpid;
ok( wait_until(
		sub {
			$wpid = $mon->query_safe(
				'SELECT coalesce(pid, 0) FROM pool_observer.worker');
			$wpid != 0 && $wpid != $old_wpid;
		},
		20),
	'item 5: the sampler restarts while the serializable writer is open');
# a role the sampler has not seen makes it read pg_authid now
$node->safe_psql('postgres',
	'CREATE ROLE regress_item5 LOGIN; GRANT pg_monitor TO regress_item5;');
my $newcomer = session($node, app => 'item5_new', user => 'regress_item5');
cmp_ok(samples_advance(20, 10), '>=', 20,
	'item 5: samples keep coming with default_transaction_* = serializable, read only, deferrable and a serializable writer open'
);
is( $mon->query_safe(
		q{SELECT count(*) FROM pool_observer.sessions WHERE usename = 'regress_item5'}),
	'1',
	'item 5: the new role is sampled under its name');
is($mon->query_safe('SELECT pid FROM pool_observer.worker'),
	$wpid, 'item 5: the sampler did not restart');
run_in($writer, 'COMMIT;');
$writer->quit;
$newcomer->quit;

#
# item 5: standby
#
my $standby = PostgreSQL::Test::Cluster->new('stalls_standby');
$standby->init_from_backup($node, $backup, has_streaming => 1);
$standby->append_conf('postgresql.conf',
	"default_transaction_isolation = serializable\n");
$standby->start;
$node->wait_for_catchup($standby);
my $smon = $standby->background_psql('postgres');
$smon->query_safe("SET default_transaction_isolation = 'read committed'");
my $spid;
ok( wait_until(
		sub {
			$spid = $smon->query_safe(
				'SELECT coalesce(pid, 0) FROM pool_observer.worker');
			$spid != 0;
		},
		10),
	'item 5: the sampler runs on the standby');
my $slog = -s $standby->logfile;
# a client to sample (as the test role, whose settings override the
# serializable default)
my $snew = session($standby, app => 'item5_standby');
cmp_ok(samples_advance(20, 10, $smon), '>=', 20,
	'item 5: samples keep coming on a standby with default_transaction_isolation = serializable'
);
# the sampler restarts 5 s after it dies: watch longer than that
my $t5 = time;
my $stable = 1;
while (time < $t5 + 7)
{
	my $p = $smon->query_safe(
		'SELECT coalesce(pid, 0) FROM pool_observer.worker');
	$stable = 0 if $p != $spid;
	usleep(250_000);
}
ok($stable, 'item 5: the standby\'s sampler pid stays the same for 7 s');
unlike(
	slurp_file($standby->logfile, $slog),
	qr/cannot use serializable mode in a hot standby/,
	'item 5: no serializable error in the standby\'s log');
$snew->quit;
$smon->quit;
$standby->stop;

#
# item 6: readers of events
#
$mon->quit;
$node->append_conf(
	'postgresql.conf', q{
default_transaction_isolation = 'read committed'
default_transaction_read_only = off
default_transaction_deferrable = off
statement_timeout = 0
lock_timeout = 0
idle_in_transaction_session_timeout = 0
search_path = '"$user", public'
pool_observer.max_events = 100000
});
$node->restart;
$mon = $node->background_psql('postgres');
# eight clients, each looping over the events view inside one statement
my @readers = map { session($node, app => 'item6_reader') } 1 .. 8;
start_in($_,
	q{DO $$ BEGIN LOOP PERFORM count(*) FROM pool_observer.events; END LOOP; END $$;})
  for @readers;
ok( wait_until(
		sub {
			$mon->query_safe(
				q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'item6_reader' AND state = 'active'}
			) >= 8;
		},
		15),
	'item 6: eight readers are running');
my $s6 = samples();
my $t6 = time;
my $got6 = samples_advance(15, 6);
my $el6 = time - $t6;
cmp_ok($got6, '>=', 15,
	sprintf('item 6: samples advance during the reader storm (%d in %.1f s, 10/s configured)',
		$got6, $el6));
$mon->query_safe(
	q{SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE application_name = 'item6_reader'});
eval { $_->quit } for @readers;

$mon->quit;
$node->stop;
done_testing();
