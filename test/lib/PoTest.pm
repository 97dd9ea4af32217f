# Copyright (c) 2026, pool_observer developers
#
# PoTest.pm
#	  Helpers shared by the TAP tests in test/t: drive background psql
#	  sessions and poll pool_observer with a deadline.

package PoTest;

use strict;
use warnings;

use Exporter 'import';
use Time::HiRes qw(time usleep);

our @EXPORT = qw(run_in start_in poll_sample);

# Run SQL in a session and wait for it, sending nothing after it
# (BackgroundPsql::query would send a lone ";" that becomes the last query).
sub run_in
{
	my ($s, $sql) = @_;
	my $out = $s->query_until(qr/__done__\n/, "$sql\n\\echo __done__\n");
	$out =~ s/__done__\n//;
	return $out;
}

# Start SQL in a session without waiting for it to finish.
sub start_in
{
	my ($s, $sql) = @_;
	$s->query_until(qr/__started__\n/, "\\echo __started__\n$sql\n");
	return;
}

# Take a fresh sample, then run $sql on $mon, until it returns $expected or
# $secs seconds have passed.  Returns the last result.
sub poll_sample
{
	my ($mon, $sql, $expected, $secs) = @_;
	my $deadline = time + ($secs // 30);
	my $got;

	while (1)
	{
		$got = $mon->query_safe(
			"SELECT pool_observer.sample_now() \\g /dev/null\n$sql");
		return $got if $got eq $expected || time > $deadline;
		usleep(50_000);
	}
}

1;
