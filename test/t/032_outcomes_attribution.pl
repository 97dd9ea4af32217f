# Copyright (c) 2026, pool_observer developers
#
# 032_outcomes_attribution.pl
#	  Issue 12 items 10 and 11 (from 063_results.pl of rules-tests):
#
#  item 10: refused attempts (CONNECT revoked) count no new connections:
#	   no pool for that database, pool_history.new_connections sums to 0.
#  item 11: connect as application_name item11a, SET application_name
#	   item11b, then the first sample: no pool item11a, the new connection
#	   counted in item11b's pool_history.  Sampling is left to
#	   sample_now() here (sample_interval 1 h), so no sample falls between
#	   the connection and the SET.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest qw(run_in set_conf session);


my $node = PostgreSQL::Test::Cluster->new('attribution');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.saturation_threshold = -1
pool_observer.churn_threshold = -1
pool_observer.idle_in_transaction_threshold = -1
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pool_observer;
CREATE ROLE regress_app LOGIN;
CREATE ROLE regress_nocon LOGIN;
CREATE DATABASE locked;
REVOKE CONNECT ON DATABASE locked FROM PUBLIC;
});
my $mon = $node->background_psql('postgres');

#
# item 10
#
my $refused = 0;
for (1 .. 10)
{
	my ($ret, $out, $err) = $node->psql('locked', 'SELECT 1',
		connstr => $node->connstr('locked') . ' user=regress_nocon');
	$refused++ if $ret != 0 && $err =~ /permission denied for database/;
}
is($refused, 10, 'item 10: ten attempts are refused');
$mon->query_safe('SELECT pool_observer.sample_now()') for 1 .. 2;
is( $mon->query_safe(
		q{SELECT (SELECT count(*) FROM pool_observer.pools WHERE datname = 'locked')
		      || '|' || (SELECT coalesce(sum(new_connections), 0) FROM pool_observer.pool_history WHERE datname = 'locked')}
	),
	'0|0',
	'item 10: refused attempts make no pool and no new connections');

#
# item 11
#
set_conf($node, $mon, 'pool_observer.sample_interval = 3600000');
my $s11 = session($node, app => 'item11a', user => 'regress_app');
run_in($s11, "SET application_name = 'item11b';");
$mon->query_safe('SELECT pool_observer.sample_now()');
is( $mon->query_safe(
		q{SELECT (SELECT count(*) FROM pool_observer.pools WHERE application_name = 'item11a')
		      || '|' || (SELECT coalesce(sum(new_connections), 0) FROM pool_observer.pool_history WHERE application_name = 'item11a')}
	),
	'0|0',
	'item 11: no pool and no new connections under the startup name');
is( $mon->query_safe(
		q{SELECT coalesce(sum(new_connections), 0) FROM pool_observer.pool_history WHERE application_name = 'item11b'}
	),
	'1',
	'item 11: the new connection is counted in the pool where it was first sampled');
$s11->quit;

$mon->quit;
done_testing();
