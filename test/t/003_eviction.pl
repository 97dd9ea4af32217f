# Copyright (c) 2026, pool_observer developers
#
# 003_eviction.pl
#	  A pool unseen for a while is forgotten and its slot is given to a new
#	  pool; the sample walks only the pool slots up to the highest in use
#	  (po_pools_high()), and that mark follows evictions down and new pools
#	  up.
#
#  - With max_pools = 3 and three pools in use, a fourth application goes
#	 into the overflow row.
#  - The two highest pools lose their sessions; after max(60 s,
#	 2 x history_interval) they are forgotten, and the waiting application
#	 moves from the overflow row to a pool of its own (in a freed slot),
#	 then a fifth one gets the other freed slot: every pool counts exactly
#	 its sessions, and the overflow row is empty.
#
# Takes a little over a minute: a pool is forgotten only after 60 s.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;

my $node = PostgreSQL::Test::Cluster->new('eviction');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.history_interval = 1
pool_observer.max_pools = 3
});
$node->start;

# reset() forgets every pool so far: from here on this session's pool is
# the only one, in the first slot.
my $mon = $node->background_psql('postgres');
$mon->query_safe('CREATE EXTENSION pool_observer');
$mon->query_safe('SELECT pool_observer.reset()');

# The pools of the po_ev_* applications, and the overflow row's connections.
my $pools_sql = q{
SELECT coalesce((SELECT string_agg(application_name || '=' || connections, ' '
                                   ORDER BY application_name)
                   FROM pool_observer.pools
                  WHERE application_name LIKE 'po_ev_%'), '-')
       || ' | overflow '
       || (SELECT coalesce(sum(connections), 0)
             FROM pool_observer.pools WHERE overflow)};

# Pool slots are given lowest first, in the order the sampler meets them:
# this session's pool has one, then po_ev_a and po_ev_b fill the table.
$mon->query_safe('SELECT pool_observer.sample_now()');
my $a = session($node, app => 'po_ev_a');
$mon->query_safe('SELECT pool_observer.sample_now()');
my $b = session($node, app => 'po_ev_b');
$mon->query_safe('SELECT pool_observer.sample_now()');
my $c = session($node, app => 'po_ev_c');
is(poll_sample($mon, $pools_sql, 'po_ev_a=1 po_ev_b=1 | overflow 1'),
	'po_ev_a=1 po_ev_b=1 | overflow 1',
	'max_pools = 3 in use (this session, a, b): c goes into the overflow row');

# The two highest slots (a and b) lose their sessions; c waits in the
# overflow row until a slot is free.
$a->quit;
$b->quit;
is(poll_sample($mon, $pools_sql, '- | overflow 1', 20),
	'- | overflow 1',
	'a and b are gone from pools, c is still in the overflow row');

is(poll_sample($mon, $pools_sql, 'po_ev_c=1 | overflow 0', 120),
	'po_ev_c=1 | overflow 0',
	'after 60 s a and b are forgotten: c has a pool of its own, the overflow row is empty'
);

my $d = session($node, app => 'po_ev_d');
is(poll_sample($mon, $pools_sql, 'po_ev_c=1 po_ev_d=1 | overflow 0'),
	'po_ev_c=1 po_ev_d=1 | overflow 0',
	'a new application gets the other freed slot, and both are counted');

my $e = session($node, app => 'po_ev_e');
is(poll_sample($mon, $pools_sql, 'po_ev_c=1 po_ev_d=1 | overflow 1'),
	'po_ev_c=1 po_ev_d=1 | overflow 1',
	'the table is full again: the next application goes into the overflow row'
);
is(pools_add_up($mon), 't', 'every client backend is counted once');

$_->quit foreach ($c, $d, $e, $mon);
$node->stop;

done_testing();
