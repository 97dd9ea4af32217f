# Copyright (c) 2026, pool_observer developers
#
# PoTest.pm
#	  Helpers shared by the TAP tests in test/t: open background psql
#	  sessions, drive them, poll pool_observer with a deadline, change the
#	  configuration, read the server log.
#
# Where a helper takes $on, it is either a BackgroundPsql (the query runs in
# that session) or a PostgreSQL::Test::Cluster (the query runs in a new psql
# on database postgres).

package PoTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Utils qw(slurp_file);
use Scalar::Util qw(blessed);
use Time::HiRes qw(time usleep);

our @EXPORT = qw(session open_session leak drop_session run_in start_in
  poll_sample poll_plain pools_add_up set_conf worker_row log_count
  write_file wait_until);

# A psql session in the background on $node.  %o:
#   app       application_name (default: the test's PGAPPNAME)
#   user      role (default: the test's user)
#   db        database (default: postgres)
#   tcp => 1  over 127.0.0.1 instead of the Unix socket
#   encoding  client encoding (PGCLIENTENCODING; default: psql's)
# Names go through the environment or a quoted connection string, so any
# string works.  Its backend pid is kept in $s->{pid}.
sub session
{
	my ($node, %o) = @_;
	my $db = $o{db} // 'postgres';
	my @params;

	if ($o{tcp})
	{
		(my $quoted = $db) =~ s/([\\'])/\\$1/g;
		# psql uses the last -d given
		@params = ('-d',
			'host=127.0.0.1 port=' . $node->port . " dbname='$quoted'");
	}

	local %ENV = %ENV;
	$ENV{PGAPPNAME} = $o{app} if defined $o{app};
	$ENV{PGUSER} = $o{user} if defined $o{user};
	$ENV{PGCLIENTENCODING} = $o{encoding} if defined $o{encoding};

	my $s = $node->background_psql(
		$db,
		on_error_stop => 0,
		extra_params => \@params);
	($s->{pid}) = run_in($s, 'SELECT pg_backend_pid();') =~ /(\d+)/;
	return $s;
}

# A session (session() options) that has run $sql; with wait => 0, $sql is
# started and left running.
sub open_session
{
	my ($node, $sql, %o) = @_;
	my $s = session($node, %o);

	if (defined $o{wait} && !$o{wait})
	{
		start_in($s, $sql);
	}
	else
	{
		run_in($s, $sql);
	}
	return $s;
}

# A session (session() options) that opened a transaction with $sql as its
# last statement and left it idle.
sub leak
{
	my ($node, $sql, %o) = @_;
	return open_session($node, "BEGIN;\n$sql", %o);
}

# Close a session whose backend was terminated or may be gone.
sub drop_session
{
	my ($s) = @_;
	eval { $s->{run}->kill_kill; };
	return;
}

# Run SQL in a session and wait for it, sending nothing after it
# (BackgroundPsql::query would send a lone ";" that becomes the last query).
# Returns its output.
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

# Run $sql on $on (a session or a node) and return its output.
sub _query
{
	my ($on, $sql) = @_;
	return $on->safe_psql('postgres', $sql)
	  if blessed($on) && $on->isa('PostgreSQL::Test::Cluster');
	return $on->query_safe($sql);
}

# Run $sql on $on until it returns $expected or $secs (30) seconds have
# passed.  Returns the last result.
sub poll_plain
{
	my ($on, $sql, $expected, $secs) = @_;
	my $deadline = time + ($secs // 30);
	my $got;

	while (1)
	{
		$got = _query($on, $sql);
		return $got if $got eq $expected || time > $deadline;
		usleep(50_000);
	}
}

# The same, with a fresh sample taken before every try.
sub poll_sample
{
	my ($on, $sql, $expected, $secs) = @_;
	return poll_plain($on,
		"SELECT pool_observer.sample_now() \\g /dev/null\n$sql",
		$expected, $secs);
}

# Whether a sample's pools add up to pg_stat_activity's client backends:
# 't', polled as poll_sample() does ($secs, default 30), since the backend
# of an earlier connection may still be exiting (in the sample and gone
# from the count, or the other way round); 'f' if they never agreed.
sub pools_add_up
{
	my ($on, $secs) = @_;
	return poll_sample(
		$on, q{
SELECT (SELECT coalesce(sum(connections), 0) FROM pool_observer.pools) =
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')},
		't', $secs);
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

# The columns $cols of pool_observer.worker, read on $on, as a list.
sub worker_row
{
	my ($on, $cols) = @_;
	return split /\|/, _query($on, "SELECT $cols FROM pool_observer.worker");
}

# Count the lines of $node's server log from $offset that match $re.
sub log_count
{
	my ($node, $re, $offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my @hits = ($log =~ m/$re/gm);
	return scalar(@hits);
}

# Write $bytes to $path as they are.
sub write_file
{
	my ($path, $bytes) = @_;
	open(my $fh, '>:raw', $path) or die "could not write $path: $!";
	print $fh $bytes;
	close($fh);
	return;
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
