# Copyright (c) 2026, pool_observer developers
#
# 001_pools.pl
#	  Sessions are grouped into pools by (database, role, application_name,
#	  client address), and each pool counts its sessions by state exactly.
#
#  - One pool per state -- active (pg_sleep), idle, idle in transaction,
#	 idle in transaction (aborted), a lock holder (idle in transaction) and
#	 a session waiting on its row lock -- plus a pool mixing three states: pools counts connections,
#	 active, idle, idle_in_transaction, waiting and utilization exactly;
#	 sessions shows each with its state, the waiter with wait_event_type
#	 'Lock' and blocked_by = {holder}.
#  - pools.sampled_at moves with every sample.
#  - One application in two databases and as two roles is three pools.
#  - The same application over TCP (127.0.0.1) and over the Unix socket is
#	 two pools; sessions shows client_addr 127.0.0.1.
#  - A session that leaves is no longer counted, and its pool disappears.
#  - With pool_observer.max_pools = 2, pools beyond two are counted in one
#	 overflow row (overflow = true, NULL key) and nothing is lost.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('pools');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
listen_addresses = '127.0.0.1'
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 0);
CREATE ROLE regress_pool LOGIN;
CREATE DATABASE regress_otherdb;
});

my $mon = $node->background_psql('postgres');

#
# One pool per state.
#
my $active = session($node, app => 'po_active');
start_in($active, 'SELECT pg_sleep(60);');

my $idle = session($node, app => 'po_idle');

my $iit = session($node, app => 'po_iit');
run_in($iit, "BEGIN;\nSELECT 1;");

my $aborted = session($node, app => 'po_aborted');
run_in($aborted, "BEGIN;\nSELECT 1/0;");

my $holder = session($node, app => 'po_holder');
run_in($holder, "BEGIN;\nSELECT v FROM t WHERE id = 1 FOR UPDATE;");

my $waiter = session($node, app => 'po_waiter');
start_in($waiter, 'UPDATE t SET v = v + 1 WHERE id = 1;');

my @mixed = map { session($node, app => 'po_mixed') } 1 .. 3;
start_in($mixed[0], 'SELECT pg_sleep(60);');
run_in($mixed[1], "BEGIN;\nSELECT 1;");

# every session is where we want it before looking at pools
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 3 FROM pg_stat_activity
 WHERE (pid IN ($active->{pid}, $mixed[0]->{pid}) AND state = 'active'
        AND query LIKE 'SELECT pg_sleep%')
    OR (pid = $waiter->{pid} AND wait_event_type = 'Lock')}),
	'sessions reached their states');

my $pools_sql = q{
SELECT application_name, connections, active, idle, idle_in_transaction,
       waiting, round(utilization::numeric, 3),
       datname IS NOT DISTINCT FROM 'postgres' AND usename = current_user
       AND client_addr IS NULL AND NOT overflow
  FROM pool_observer.pools
 WHERE application_name LIKE 'po\_%'
 ORDER BY application_name};
my $pools_expected = join("\n",
	'po_aborted|1|0|0|1|0|1.000|t',
	'po_active|1|1|0|0|0|1.000|t',
	'po_holder|1|0|0|1|0|1.000|t',
	'po_idle|1|0|1|0|0|0.000|t',
	'po_iit|1|0|0|1|0|1.000|t',
	'po_mixed|3|1|1|1|0|0.667|t',
	'po_waiter|1|1|0|0|1|1.000|t');
is(poll_sample($mon, $pools_sql, $pools_expected),
	$pools_expected, 'pools counts every state exactly, per application');

is( $mon->query_safe(
		q{
SELECT application_name, max_xact_age IS NOT NULL,
       max_idle_in_transaction_age IS NOT NULL, max_query_age IS NOT NULL,
       saturated_since IS NOT NULL
  FROM pool_observer.pools
 WHERE application_name LIKE 'po\_%'
 ORDER BY application_name}),
	join("\n",
		'po_aborted|f|t|f|t',    # the server clears xact_start at abort
		'po_active|t|f|t|t', 'po_holder|t|t|f|t',
		'po_idle|f|f|f|f',   'po_iit|t|t|f|t',
		'po_mixed|t|t|t|f',  'po_waiter|t|f|t|t'),
	'pools: ages where a transaction, idle period or query exists; saturated_since where every connection is busy'
);

is( $mon->query_safe(
		q{
SELECT application_name, max(connections_max), max(idle_in_transaction_max),
       max(waiting_max), max(active_max) >= 1, sum(samples) > 0
  FROM pool_observer.pool_history
 WHERE application_name IN ('po_mixed', 'po_waiter')
 GROUP BY 1 ORDER BY 1}),
	"po_mixed|3|1|0|t|t\npo_waiter|1|0|1|t|t",
	'pool_history keeps the maxima of the pools');
cmp_ok(
	$mon->query_safe(
		'SELECT max(connections_max) FROM pool_observer.server_history'),
	'>=', 9,
	'server_history counts every client connection');

my $sessions_sql = q{
SELECT application_name, state, coalesce(wait_event_type, '-'), blocked_by
  FROM pool_observer.sessions
 WHERE application_name LIKE 'po\_%'
 ORDER BY application_name, state};
my $sessions_expected = join("\n",
	'po_aborted|idle in transaction (aborted)|Client|{}',
	'po_active|active|Timeout|{}',
	'po_holder|idle in transaction|Client|{}',
	'po_idle|idle|Client|{}',
	'po_iit|idle in transaction|Client|{}',
	'po_mixed|active|Timeout|{}',
	'po_mixed|idle|Client|{}',
	'po_mixed|idle in transaction|Client|{}',
	"po_waiter|active|Lock|{$holder->{pid}}");
is($mon->query_safe($sessions_sql),
	$sessions_expected,
	'sessions: state, wait_event_type Lock and blocked_by = {holder}');

is( $mon->query_safe(
		"SELECT pid, usename = current_user, datname, state_age >= '0' "
		  . "FROM pool_observer.sessions WHERE application_name = 'po_iit'"),
	"$iit->{pid}|t|postgres|t",
	'sessions: pid, role, database and age of a session');

#
# sampled_at moves.
#
my $before = $mon->query_safe(
	'SELECT DISTINCT sampled_at FROM pool_observer.pools');
my $t_now = $mon->query_safe('SELECT pool_observer.sample_now()');
my $after = $mon->query_safe(
	'SELECT DISTINCT sampled_at FROM pool_observer.pools');
is( $mon->query_safe(
		"SELECT '$after'::timestamptz > '$before'::timestamptz, "
		  . "'$after'::timestamptz >= '$t_now'::timestamptz"),
	't|t',
	'pools.sampled_at is one instant per sample and moves with samples');

#
# Databases and roles.
#
my @multi = (
	session($node, app => 'po_multi'),
	session($node, app => 'po_multi', user => 'regress_pool'),
	session($node, app => 'po_multi', db => 'regress_otherdb'));
my $multi_expected =
  "postgres|postgres|1\npostgres|regress_pool|1\nregress_otherdb|postgres|1";
is( poll_sample(
		$mon, q{
SELECT datname, usename, connections FROM pool_observer.pools
 WHERE application_name = 'po_multi' ORDER BY 1, 2}, $multi_expected),
	$multi_expected,
	'one application in two databases and as two roles: three pools');
$_->quit foreach @multi;

#
# The lock waiter proceeds once the holder commits; counts follow.
#
run_in($holder, 'COMMIT;');
is( poll_sample(
		$mon, q{
SELECT application_name, active, idle, idle_in_transaction, waiting
  FROM pool_observer.pools
 WHERE application_name IN ('po_holder', 'po_waiter')
 ORDER BY 1}, "po_holder|0|1|0|0\npo_waiter|0|1|0|0"),
	"po_holder|0|1|0|0\npo_waiter|0|1|0|0",
	'pools follow state changes: holder and waiter idle');

#
# TCP and Unix socket: two pools of one application.
#
my $tcp = session($node, app => 'po_tcp', tcp => 1);
my $unix = session($node, app => 'po_tcp');
my $tcp_expected = "127.0.0.1/32|1|1\nlocal|1|1";
is( poll_sample(
		$mon, q{
SELECT coalesce(client_addr::text, 'local'), connections, idle
  FROM pool_observer.pools
 WHERE application_name = 'po_tcp'
 ORDER BY 1}, $tcp_expected),
	$tcp_expected,
	'the same application over TCP and over the socket: two pools');
is( $mon->query_safe(
		"SELECT host(client_addr) FROM pool_observer.sessions WHERE pid = $tcp->{pid}"
	),
	'127.0.0.1',
	'sessions shows the TCP client address');

#
# Sessions that leave are no longer counted; the pool goes away.
#
$idle->quit;
$tcp->quit;
is( poll_sample(
		$mon, q{
SELECT coalesce(sum(connections), 0) FROM pool_observer.pools
 WHERE application_name = 'po_idle'
    OR (application_name = 'po_tcp' AND client_addr IS NOT NULL)}, '0'),
	'0',
	'a closed session is no longer counted');
is( poll_sample(
		$mon, q{
SELECT count(*) FROM pool_observer.pools
 WHERE application_name = 'po_idle'
    OR (application_name = 'po_tcp' AND client_addr IS NOT NULL)}, '0'),
	'0',
	'a pool without connections disappears from pools');
is( $mon->query_safe(
		q{SELECT connections FROM pool_observer.pools
		  WHERE application_name = 'po_tcp' AND client_addr IS NULL}),
	'1',
	'the other pool of that application stays');

#
# A status slot given to another backend: the new backend's own address.
# (A changed status entry of the same backend keeps the address it had,
# without reading it again; a new backend in the slot must not keep it.)
#
my $po_tcp_sql = q{
SELECT coalesce(client_addr::text, 'local'), connections
  FROM pool_observer.pools WHERE application_name = 'po_tcp'};
for my $round (1 .. 2)
{
	$unix->quit;
	my $tcp2 = session($node, app => 'po_tcp', tcp => 1);
	is(poll_sample($mon, $po_tcp_sql, '127.0.0.1/32|1'),
		'127.0.0.1/32|1',
		"round $round: a TCP session after a socket one has its own address");
	$tcp2->quit;
	$unix = session($node, app => 'po_tcp');
	is(poll_sample($mon, $po_tcp_sql, 'local|1'),
		'local|1',
		"round $round: a socket session after a TCP one has no address");
}

$node->safe_psql('postgres',
	"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()"
);
$_->quit foreach ($active, $iit, $aborted, $holder, $waiter, $unix, @mixed);
$mon->quit;
$node->stop;

#
# max_pools = 2: the rest goes into one overflow row.
#
my $small = PostgreSQL::Test::Cluster->new('small');
$small->init;
$small->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.max_pools = 2
});
$small->start;
$small->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $smon = $small->background_psql('postgres');

my @apps = map { session($small, app => "po_app_$_") } 1 .. 4;
start_in($apps[3], 'SELECT pg_sleep(60);');

# Everything is counted: the named rows match pg_stat_activity, the
# overflow row has the rest, with no key.
my $overflow_sql = q{
WITH p AS (SELECT * FROM pool_observer.pools),
     a AS (SELECT application_name, count(*) AS n,
                  count(*) FILTER (WHERE state = 'active') AS act
             FROM pg_stat_activity
            WHERE backend_type = 'client backend' GROUP BY 1)
SELECT (SELECT count(*) FROM p WHERE NOT overflow),
       (SELECT count(*) FROM p WHERE overflow),
       (SELECT bool_and(datname IS NULL AND usename IS NULL
                        AND application_name IS NULL AND client_addr IS NULL)
          FROM p WHERE overflow),
       (SELECT bool_and(p.connections = a.n)
          FROM p JOIN a USING (application_name) WHERE NOT p.overflow),
       (SELECT sum(connections) FROM p) = (SELECT sum(n) FROM a),
       (SELECT sum(active) FROM p) = (SELECT sum(act) FROM a),
       (SELECT connections >= 3 FROM p WHERE overflow)};
is(poll_sample($smon, $overflow_sql, '2|1|t|t|t|t|t'),
	'2|1|t|t|t|t|t',
	'max_pools = 2: two pools, one overflow row without key counting the rest'
);

$small->safe_psql('postgres',
	"SELECT pg_cancel_backend($apps[3]->{pid})");
$_->quit foreach (@apps);
$smon->quit;
$small->stop;

done_testing();
