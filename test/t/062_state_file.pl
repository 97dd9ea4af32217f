# Copyright (c) 2026, pool_observer developers
#
# 062_state_file.pl
#	  Issue 12, bad saved state.  Files are crafted from one the server
#	  saved itself (as 012_persist.pl does), then given a valid CRC-32C
#	  (computed here) so that only the new checks can reject them.
#
#  item 7: an event with nblocked = 32767, nblocked = -5, kind = 999 or
#	   action = 999 in a CRC-valid file: the whole file is ignored with one
#	   'ignored' log line, nothing restored, events readable.  The event
#	   is found by its unique application_name; nblocked is the int16 that
#	   follows appname (NAMEDATALEN bytes, 2-aligned), kind and action the
#	   int16s at offsets 8 and 10 of the event.  Assumption: a fixed build
#	   may change the format; a file from the current format is then
#	   "written by another version" and ignored, which passes too.
#  item 8: a 4 GB sparse file with a plausible header (the pristine one,
#	   claiming that size): pg_ctl start takes at most 3 s longer than a normal
#	   start, and the log says the file was ignored.
#  item 14 (state-file part): history_size = 100000 with a nearly empty
#	   history: the file saved at shutdown is smaller than 10 MB.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest qw(run_in poll_sample session write_file log_count);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('state_file');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.history_interval = 1
pool_observer.history_size = 2
pool_observer.max_pools = 1
pool_observer.max_events = 10
pool_observer.idle_in_transaction_threshold = 100
pool_observer.saturation_threshold = -1
pool_observer.churn_threshold = -1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');
my $state_file = $node->data_dir . '/pg_stat/pool_observer.stat';

# CRC-32C (Castagnoli), as pg_crc32c computes it.
my @crc_table;
for my $i (0 .. 255)
{
	my $c = $i;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$crc_table[$i] = $c;
}

sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[ ($crc ^ $_) & 0xFF ] ^ ($crc >> 8)
	  for unpack('C*', $data);
	return $crc ^ 0xFFFFFFFF;
}

# Replace the trailing CRC with the one of the bytes before it.
sub with_crc
{
	my ($bytes) = @_;
	my $body = substr($bytes, 0, length($bytes) - 4);
	return $body . pack('L', crc32c($body));
}

#
# A pristine file with one event of a known application_name.
#
my $s = session($node, app => 'item7marker');
run_in($s, "BEGIN;\nSELECT 'item 7';");
is( poll_sample(
		$node->background_psql('postgres'),
		"SELECT count(*) FROM pool_observer.events WHERE application_name = 'item7marker'",
		'1'),
	'1',
	'an event to save');
$s->quit;
$node->stop;
ok(-e $state_file, 'the state file is saved');
my $pristine = slurp_file($state_file, 0);
# the loader reads raw bytes
open(my $rfh, '<:raw', $state_file) or die;
{ local $/; $pristine = <$rfh>; }
close($rfh);
is(sprintf('%08x', unpack('L', substr($pristine, -4))),
	sprintf('%08x', crc32c(substr($pristine, 0, length($pristine) - 4))),
	'the CRC-32C computed here matches the saved one');

# the file header is 32 bytes; the first section header (tag, version,
# length: 16 bytes) is the events section, whose payload starts with
# sizeof_event, nevents and next_event_id (16 bytes), then the events
is(substr($pristine, 32, 4), 'EVNT', 'the events section comes first');
my $sizeof_event = unpack('L', substr($pristine, 48, 4));
my $hdr_size = 64;
my $at = index($pristine, "item7marker\0");
my $ev_start =
  $hdr_size + int(($at - $hdr_size) / $sizeof_event) * $sizeof_event;
my $nblocked_at = $at + 64;
$nblocked_at++ if $nblocked_at % 2;
ok($at > $hdr_size && $at < $hdr_size + $sizeof_event * 10,
	'the event is found in the file');

sub patch
{
	my ($off, $fmt, $val) = @_;
	my $b = $pristine;
	my $packed = pack($fmt, $val);
	substr($b, $off, length($packed)) = $packed;
	return with_crc($b);
}

my %cases = (
	'nblocked = 32767' => patch($nblocked_at, 's', 32767),
	'nblocked = -5' => patch($nblocked_at, 's', -5),
	'kind = 999' => patch($ev_start + 8, 's', 999),
	'action = 999' => patch($ev_start + 10, 's', 999));

foreach my $case (sort keys %cases)
{
	write_file($state_file, $cases{$case});
	my $offset = -s $node->logfile;
	$node->start;
	is( log_count($node,
			qr/pool_observer state file "pg_stat\/pool_observer.stat" ignored/,
			$offset),
		1,
		"item 7: $case: the file is ignored with one log line");
	is(log_count($node, qr/pool_observer restored/, $offset),
		0, "item 7: $case: nothing restored");
	my ($ret, $out, $err) = $node->psql('postgres',
		q{SELECT count(*), count(blocked_pids), max(cardinality(blocked_pids)) FROM pool_observer.events WHERE application_name = 'item7marker'}
	);
	is("$ret|$out", '0|0|0|',
		"item 7: $case: events are readable and hold nothing from the file");
	$node->stop('immediate');
	unlink($state_file);
}

#
# item 8: a huge sparse file with a plausible header.
#
my $t = time;
$node->start;
my $normal = time - $t;
$node->stop;
unlink($state_file);

my $size = 4 * 1024 * 1024 * 1024 + 4;
# the pristine file header, claiming the file's size (offset 24)
my $hdr = substr($pristine, 0, 24) . pack('Q', $size) . substr($pristine, 32, 32);
open(my $fh, '>:raw', $state_file) or die;
print $fh $hdr;
truncate($fh, $size) or die "truncate: $!";
close($fh);
note sprintf('item 8: sparse file of %.2f GB, normal start %.1f s',
	$size / 2**30, $normal);
my $offset = -s $node->logfile;
$t = time;
$node->start;
my $took = time - $t;
cmp_ok($took, '<', $normal + 3,
	sprintf('item 8: start with a 4 GB state file is fast (%.1f s, normal %.1f s)',
		$took, $normal));
is( log_count($node, 
		qr/pool_observer state file "pg_stat\/pool_observer.stat" ignored/,
		$offset),
	1,
	'item 8: the log says the file was ignored');
ok(!-e $state_file, 'item 8: the file is removed');
$node->stop('immediate');
unlink($state_file);

#
# item 14: save only what is in use.
#
$node->append_conf('postgresql.conf',
	"pool_observer.history_size = 100000\npool_observer.max_pools = 16\n");
$node->start;
$node->safe_psql('postgres', 'SELECT pool_observer.sample_now()');
$node->stop;
my $fsize = -s $state_file // 0;
cmp_ok($fsize, '<', 10 * 1024 * 1024,
	sprintf('item 14: with history_size = 100000 and an almost empty history the state file is small (%.1f MB)',
		$fsize / 2**20));
unlink($state_file);

done_testing();
