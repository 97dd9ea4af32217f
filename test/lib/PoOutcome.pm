# Copyright (c) 2026, pool_observer developers
#
# PoOutcome.pm
#	  Client side of the outcome tests (030, 031): make real connection
#	  attempts and statements, and count exactly what the clients saw, so
#	  that the tests can compare pool_observer's counters with it.
#
#	  PO_CLIENT_ONLY=1 in the environment runs a test without the
#	  extension: only the client-side counts are checked.  That is for
#	  developing the tests before the C side exists; never set it in CI.

package PoOutcome;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(client_only classify attempt attempts finish_with
  wait_until count_matches);

sub client_only { return $ENV{PO_CLIENT_ONLY} ? 1 : 0; }

# What a client saw, from psql's exit code and stderr (LC_MESSAGES=C is
# set by PostgreSQL::Test::Utils).  One of: ok, refused, auth_failed,
# other.
sub classify
{
	my ($rc, $err) = @_;
	my $refused = join('|',
		q{sorry, too many clients already},
		q{remaining connection slots are reserved},
		q{too many connections for (?:role|database)},
		q{permission denied for database},
		q{database "[^"]+" is not currently accepting connections});
	my $auth = join('|',
		q{password authentication failed},
		q{no pg_hba\.conf entry},
		q{role "[^"]+" is not permitted to log in});
	return 'refused' if $err =~ /FATAL:  (?:$refused)/;
	return 'auth_failed' if $err =~ /FATAL:  (?:$auth)/;
	return 'ok' if $rc == 0 && $err eq '';
	return 'other';
}

# Command line of one attempt.  %opt: connstr (required), sql (SELECT 1),
# password (PGPASSWORD).
sub _cmd
{
	my (%opt) = @_;
	return [ 'psql', '-X', '-w', '-A', '-t', '-q', '-d', $opt{connstr},
		'-c', $opt{sql} // 'SELECT 1' ];
}

# One attempt; returns (class, stderr).
sub attempt
{
	my (%opt) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGPASSWORD} = $opt{password} if defined $opt{password};
	local $ENV{PGCONNECT_TIMEOUT} = 30;
	IPC::Run::run(_cmd(%opt), '<', \undef, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	return (classify($rc, $err), $err);
}

# $n attempts, at most $parallel at a time (a storm).  Returns a hash of
# class => count, and the stderr of the first 'other' under key
# 'other_err'.
sub attempts
{
	my ($n, $parallel, %opt) = @_;
	my %count = (ok => 0, refused => 0, auth_failed => 0, other => 0);
	local $ENV{PGPASSWORD} = $opt{password} if defined $opt{password};
	local $ENV{PGCONNECT_TIMEOUT} = 60;
	my $left = $n;

	while ($left > 0)
	{
		my @batch;
		my $k = $left < $parallel ? $left : $parallel;
		for (1 .. $k)
		{
			my $r = { out => '', err => '' };
			$r->{h} = IPC::Run::start(_cmd(%opt), '<', \undef,
				'>', \$r->{out}, '2>', \$r->{err});
			push @batch, $r;
		}
		for my $r (@batch)
		{
			$r->{h}->finish;
			my $c = classify($? >> 8, $r->{err});
			$count{$c}++;
			$count{other_err} //= $r->{err} if $c eq 'other';
		}
		$left -= $k;
	}
	return \%count;
}

# Send $sql to a BackgroundPsql session whose server process may have
# ended it already, then let psql exit; return everything psql wrote to
# stderr.  The FATAL a server sent before closing is read only when psql
# next talks to it, hence the statement.
sub finish_with
{
	my ($s, $sql) = @_;

	# Collect what psql wrote, then talk to it only if it is still there
	# (writing to a psql that has exited loses the rest of its stderr).
	eval { $s->{run}->pump_nb; };
	if ($s->{run}->pumpable)
	{
		$s->{stdin} .= "$sql\n\\q\n";
	}
	eval { $s->{run}->finish; };
	return $s->{stderr} // '';
}

# Poll $code until it returns true or $secs pass; returns its last value.
sub wait_until
{
	my ($code, $secs) = @_;
	my $deadline = time + ($secs // 60);
	my $v;
	until ($v = $code->())
	{
		return $v if time > $deadline;
		usleep(50_000);
	}
	return $v;
}

# Occurrences of $re in $text.
sub count_matches
{
	my ($text, $re) = @_;
	my $n = () = $text =~ /$re/g;
	return $n;
}

1;
