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

our @EXPORT = qw(run_in start_in poll_sample set_conf);
our @EXPORT_OK = qw(client_session wait_until);

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

# Append settings to postgresql.conf and reload; return once $mon sees the
# new file.  The postmaster signals every process before any of them can
# see it, so the sampler has its SIGHUP pending by then; the sample_now()
# that follows is taken after it read the file (unless sampling was just
# switched off).
my $generation = 0;

sub set_conf
{
	my ($node, $mon, $conf) = @_;
	my $deadline = time + 30;

	$generation++;
	$node->append_conf('postgresql.conf',
		"$conf\npo_test.generation = $generation");
	$mon->query_safe('SELECT pg_reload_conf()');
	until ($mon->query_safe(
			"SELECT current_setting('po_test.generation', true)") eq
		  $generation)
	{
		die "configuration reload not seen" if time > $deadline;
		usleep(20_000);
	}
	$mon->query_safe('SELECT pool_observer.sample_now()')
	  unless $conf =~ /enabled\s*=\s*off/;
	return;
}

# A psql session in the background on $node as $user (default: the test
# user) with application_name $app.  Its backend pid is kept in $s->{pid}.
sub client_session
{
	my ($node, $app, $user, $db) = @_;
	my $conn = $node->connstr($db // 'postgres') . " application_name='$app'";
	$conn .= " user=$user" if defined $user;
	my $s = $node->background_psql(
		$db // 'postgres',
		on_error_stop => 0,
		extra_params => [ '-d', $conn ]);
	$s->{pid} = $s->query_safe('SELECT pg_backend_pid()');
	return $s;
}

# Call $cond until it returns true or $secs seconds have passed; returns
# the last result.
sub wait_until
{
	my ($cond, $secs) = @_;
	my $deadline = time + ($secs // 30);
	my $got;

	until (($got = $cond->()) || time > $deadline)
	{
		usleep(50_000);
	}
	return $got;
}

1;
