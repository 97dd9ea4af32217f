# Copyright (c) 2026, pool_observer developers
#
# 052_hostile.pl
#	  Hostile input: names, queries, arguments and settings.
#
#  - application_name, role and database names and query texts with quotes,
#	 backslashes, newlines, tabs, control and escape characters, format
#	 directives, forged "key=value" pairs, SQL fragments, multibyte UTF-8
#	 cut at the 63-byte name limit and at the 1023-byte query limit, a
#	 100 kB query under track_activity_query_size = 1MB, and binary garbage
#	 from a SQL_ASCII database: the views and events show exactly what the
#	 server shows (the text is never interpreted), text is always valid in
#	 the reader's encoding, and each LOG line stays one line, escaped.
#	 PostgreSQL itself replaces non-printable-ASCII bytes of
#	 application_name (with '?' in 15, with \xNN escapes from 16), so
#	 multibyte names are tested with role and database names.
#  - The on-demand functions called from a client whose encoding cannot
#	 represent those texts, with client_min_messages = log.
#  - Every function with NULL, negative, zero, tiny, boundary and enormous
#	 arguments, and the internal functions in unusual call contexts.
#  - Every setting given out-of-range and malformed values, by ALTER SYSTEM,
#	 SET and a reloaded postgresql.conf: rejected with a clear message, the
#	 old value kept, the sampler unaffected.
#  - Exempt lists with odd spacing, quoted names (space, upper case, an
#	 embedded quote) and roles that do not exist.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use Encode qw(encode);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PoTest;

my $node = PostgreSQL::Test::Cluster->new('hostile');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pool_observer'
pool_observer.sample_interval = 100
pool_observer.idle_in_transaction_threshold = 200
track_activity_query_size = 1048576
max_connections = 40
log_statement = none
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pool_observer');

# Where PostgreSQL's own text differs between versions, the exact text of
# the version under test.
my $pg_num = $node->safe_psql('postgres', 'SHOW server_version_num');

# The bounds of an out-of-range error: from 17 with the setting's unit.
sub bounds
{
	my ($lo, $hi, $unit) = @_;
	return $pg_num >= 170000 && defined $unit
	  ? "($lo $unit .. $hi $unit)"
	  : "($lo .. $hi)";
}

sub quote_ident
{
	my ($name) = @_;
	$name =~ s/"/""/g;
	return qq{"$name"};
}

sub close_session
{
	my ($s) = @_;
	eval { run_in($s, 'ROLLBACK;'); $s->quit; 1 } or drop_session($s);
	return;
}

# Longest prefix of at most $max bytes that does not end inside a UTF-8
# sequence: how the extension cuts a query for a view (1023) or a log line
# (256).
sub cut
{
	my ($s, $max) = @_;
	return $s if length($s) <= $max;
	my $len = $max;
	$len-- while $len > 0 && (ord(substr($s, $len, 1)) & 0xC0) == 0x80;
	return substr($s, 0, $len);
}

# What PostgreSQL stores as application_name: each byte outside printable
# ASCII becomes '?' (15) or a \xNN escape (16 and later, pg_clean_ascii),
# then the name is cut to 63 bytes.
sub server_appname
{
	my ($app) = @_;
	(my $clean = $app) =~
	  s/([^\x20-\x7e])/$pg_num >= 160000 ? sprintf('\\x%02x', ord($1)) : '?'/ge;
	return substr($clean, 0, 63);
}

# The LOG line of an event, and a field of it, unescaped.
sub event_log_line
{
	my ($id) = @_;
	$node->wait_for_log(qr/pool_observer event: id=$id kind=/);
	my $log = slurp_file($node->logfile);
	return $log =~ /^([^\n]*pool_observer event: id=$id kind=[^\n]*)$/m ? $1 : '';
}

sub log_field
{
	my ($line, $key) = @_;
	return undef unless $line =~ / \Q$key\E="((?:[^"\\]|\\.)*)"/;
	my $v = $1;
	my %esc = (n => "\n", r => "\r", t => "\t");
	$v =~ s/\\(?:x([0-9a-f]{2})|(.))/defined $1 ? chr(hex($1)) : ($esc{$2} \/\/ $2)/ge;
	return $v;
}

sub utf8 { return encode('UTF-8', $_[0]); }

#
# Hostile names and queries.
#
my $euro = utf8("\x{20ac}");
# 19 refuses CR and LF in role and database names: there the role name
# carries a tab, the control character that is still allowed, and the
# refusal itself is checked below.
my $evil_role =
  $pg_num >= 190000 ? "regress_evil\"role\tx" : "regress_evil\"role\nx";
my $evil_db = "regress_db'; DROP DATABASE postgres; --";
my $mb_role_long = 'a' . ($euro x 30);
my $mb_role = 'a' . ($euro x 20);    # 61 bytes: the 22nd character would pass 63
my $mb_db = 'd' . (utf8("\x{e9}") x 40);    # 81 bytes
my $mb_db_cut = 'd' . (utf8("\x{e9}") x 31);    # 63 bytes

$node->safe_psql('postgres',
	join(";\n",
		'CREATE ROLE ' . quote_ident($evil_role) . ' LOGIN',
		'CREATE ROLE ' . quote_ident($mb_role_long) . ' LOGIN',
		'CREATE DATABASE ' . quote_ident($evil_db),
		'CREATE DATABASE ' . quote_ident($mb_db),
		q{CREATE DATABASE regress_bin ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0}
	));
if ($pg_num >= 190000)
{
	my ($r, $o, $e) = $node->psql('postgres',
		'CREATE ROLE ' . quote_ident("regress_evil\"role\nx") . ' LOGIN');
	isnt($r, 0, 'a role name with a newline is refused (19 and later)');
	like($e,
		qr/ERROR:  role name "regress_evil"role\nx" contains a newline or carriage return character/,
		'a role name with a newline: the server says why');
}
is($node->safe_psql('postgres', q{SELECT md5(rolname) FROM pg_roles WHERE rolname LIKE 'a%' AND length(rolname) > 10}),
	md5_hex($mb_role), 'multibyte role name cut at a character boundary below 63 bytes');
$node->safe_psql('regress_bin', 'CREATE EXTENSION pool_observer');

# Binary garbage for a SQL_ASCII database: every byte from 0x80 to 0xff
# (in an order that makes invalid UTF-8), control and escape bytes; no NUL,
# no quote.
my $garbage = join('', map { chr(0x80 + (($_ * 37) % 128)) } 0 .. 127)
  . "\x01\x02\x1b[31mred\x1b[0m\x7f";

my @cases = (
	{
		name => 'quotes and backslashes',
		app => q{a'b"c\d},
		sql => q{SELECT 'a''b"c\d' AS "x""y", $$dollar$$;}
	},
	{
		name => 'SQL fragments, newline, tab, CR',
		app => q{'; DROP TABLE x; --},
		sql => "SELECT '; DROP TABLE x; --' AS a,\n\t'line2 \"q\" \\\\ back\rCR' AS b;"
	},
	{
		name => 'control characters',
		app => "new\nline\ttab\x01ctl\x7fdel",
		sql => "SELECT '\x01\x02\x1b[31mred\x1b[0m \x7f' AS ctl, 'NEL"
		  . utf8("\x{85}") . ' LS' . utf8("\x{2028}") . "' AS uni;"
	},
	{
		name => 'forged log keys',
		app => 'x" query="forged" detail="y',
		sql => q{SELECT 'pool_observer event: id=1 kind=fake" query="forged' AS forged;}
	},
	{
		name => 'format directives',
		app => '%s%n%x%p%%',
		sql => q{SELECT '%s%n%d%%' AS fmt;}
	},
	{ name => 'long application_name', app => 'x' x 80, sql => 'SELECT 1;' },
	{
		name => 'hostile role and database',
		app => 'evil_names',
		user => $evil_role,
		db => $evil_db,
		sql => 'SELECT current_user;'
	},
	{
		name => 'multibyte role, database and query cut',
		app => 'multibyte',
		user => $mb_role,
		db => $mb_db_cut,
		sql => "SELECT '" . ($euro x 400) . "';"
	},
	{
		name => '100 kB query',
		app => 'huge',
		sql => "SELECT '" . ('x' x 100_000) . "' AS huge;"
	},
	{
		name => 'binary garbage in a SQL_ASCII database',
		app => 'garbage',
		db => 'regress_bin',
		encoding => 'SQL_ASCII',
		sql => "SELECT '$garbage' AS bin;",
		garbage => 1
	});

foreach my $c (@cases)
{
	$c->{s} = leak($node, $c->{sql}, encoding => 'UTF8', %$c);
	$c->{pid} = $c->{s}{pid};
}

foreach my $c (@cases)
{
	my ($name, $pid, $sql) = ($c->{name}, $c->{pid}, $c->{sql});
	my $db = $c->{db} // 'postgres';
	my $db_lit = $db;
	$db_lit =~ s/'/''/g;

	ok( $node->poll_query_until(
			'postgres', qq{
SELECT count(*) = 1 FROM pool_observer.events
 WHERE pid = $pid AND kind = 'idle_in_transaction'}),
		"$name: one idle_in_transaction event");

	# The server's own view of the session, and ours, from its database.
	my $checkdb = $c->{garbage} ? 'regress_bin' : 'postgres';
	my $row = $node->safe_psql(
		$checkdb, qq{
SELECT e.id,
       e.application_name = a.application_name,
       e.usename = a.usename,
       e.datname = a.datname,
       md5(e.application_name),
       md5(e.query),
       octet_length(e.query),
       (SELECT count(*) FROM pool_observer.pools p
         WHERE p.application_name = a.application_name
           AND p.usename = a.usename AND p.datname = a.datname),
       (SELECT md5(s.query) = md5(a.query) FROM pool_observer.sessions s
         WHERE s.pid = a.pid)
  FROM pool_observer.events e JOIN pg_stat_activity a ON a.pid = e.pid
 WHERE e.pid = $pid AND e.kind = 'idle_in_transaction'});
	my ($id, $same_app, $same_user, $same_db, $app_md5, $query_md5, $query_len,
		$pools, $sessions_same) = split /\|/, $row;
	is("$same_app$same_user$same_db", 'ttt', "$name: names as in pg_stat_activity");
	is($app_md5, md5_hex(server_appname($c->{app})), "$name: application_name intact");
	my $expect_query = cut($sql, 1023);
	is($query_md5, md5_hex($expect_query),
		"$name: event query intact (" . length($expect_query) . ' bytes)');
	cmp_ok($query_len, '<=', 1023, "$name: event query at most 1023 bytes");
	is($pools, 1, "$name: its pool is shown");
	is($sessions_same, 't', "$name: sessions view shows the query as the server does");

	# The LOG line: one line, every value quoted and escaped, unchanged.
	my $line = event_log_line($id);
	ok($line ne '', "$name: logged");
	unlike($line, qr/[\x00-\x1f\x7f]/, "$name: no raw control character in the log line");
	is(log_field($line, 'application_name'), server_appname($c->{app}),
		"$name: application_name in the log");
	is(log_field($line, 'query'), cut($sql, 256), "$name: query in the log");
	my $user = $c->{user} // 'postgres';
	is(log_field($line, 'usename'), $user, "$name: usename in the log");
	is(log_field($line, 'datname'), $db,
		"$name: datname in the log");
	like($line, qr/ detail="" query="/, "$name: no forged key before the query");
}

# The garbage read from a UTF-8 database: valid, every invalid byte a '?'.
my $garbage_pid = $cases[-1]{pid};
is( $node->safe_psql(
		'postgres', qq{
SELECT query ~ '^SELECT ''' AND query !~ '[^\\x01-\\x7f]'
  FROM pool_observer.events WHERE pid = $garbage_pid}),
	't',
	'garbage: shown in a UTF-8 database as valid text, invalid bytes as ?');

# The sessions view shows the 100 kB query as pg_stat_activity does.
my $huge = $cases[-2];
is( $node->safe_psql(
		'postgres', qq{SELECT octet_length(query) FROM pool_observer.sessions WHERE pid = $huge->{pid}}),
	length($huge->{sql}),
	'100 kB query: sessions view shows all of it');

# On demand, from a client that asks for LOG messages: in UTF8, and in
# LATIN1, which cannot represent the texts (garbage, the euro sign).  The
# call must not fail (it may have signalled sessions already).
foreach my $enc ('UTF8', 'LATIN1')
{
	local $ENV{PGCLIENTENCODING} = $enc;
	my ($r, $o, $e) = $node->psql(
		'postgres', q{
SET client_min_messages = log;
SELECT count(*) > 0 FROM pool_observer.terminate_idle_in_transaction('1 ms', true);},
		extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
	is($r, 0, "on demand from a $enc client with client_min_messages = log: no error")
	  or diag($e);
	like($o, qr/^t$/m, "on demand from a $enc client: sessions listed");
}

# No log line of the extension was broken: whatever follows one starts a
# new log entry.
my @lines = split /\n/, slurp_file($node->logfile);
my $broken = 0;
for my $i (0 .. $#lines - 1)
{
	next unless $lines[$i] =~ /pool_observer (event|action): /;
	$broken++ unless $lines[ $i + 1 ] =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;
}
is($broken, 0, 'every pool_observer log line is a single line');

close_session($_->{s}) foreach @cases;

#
# Functions: NULL, negative, zero, tiny, boundary and enormous arguments.
#
sub sql_fails
{
	my ($sql, $state, $msg, $name) = @_;
	my ($r, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	isnt($r, 0, "$name: fails");
	like($e, qr/ERROR:  $state: \Q$msg\E/, "$name: $state $msg");
	return;
}

foreach my $f ('terminate_idle_in_transaction', 'cancel_slow_statements')
{
	my $fn = "pool_observer.$f";
	sql_fails("SELECT * FROM $fn(NULL)", '22004', '"older_than" must not be null', "$f(NULL)");
	sql_fails("SELECT * FROM $fn(NULL, NULL)", '22004', '"older_than" must not be null',
		"$f(NULL, NULL)");
	sql_fails("SELECT * FROM $fn('1 s', NULL)", '22004', '"dry_run" must not be null',
		"$f('1 s', NULL)");
	foreach my $iv ('-1 s', '0', '-0.000001 s', '1 mon -30 days', '-178000000 years',
		'-2147483647 days')
	{
		sql_fails("SELECT * FROM $fn('$iv')", '22023', '"older_than" must be greater than zero',
			"$f('$iv')");
	}
	foreach my $iv ('178000000 years', '2147483647 days', '366 days 00:00:00.000001',
		'2562047788 hours', '1 year 7 days')
	{
		sql_fails("SELECT * FROM $fn('$iv')", '22023', '"older_than" must be at most one year',
			"$f('$iv')");
	}
	foreach my $iv ('1 microsecond', '1 mon -29 days', '366 days', '1 year')
	{
		is( $node->safe_psql(
				'postgres', "SELECT count(*) >= 0 FROM $fn('$iv', dry_run => true)"),
			't',
			"$f('$iv', dry_run => true) accepted");
	}
	is( $node->safe_psql(
			'postgres', "SELECT count(*) FROM $fn(dry_run => false, older_than => '1 year')"),
		0,
		"$f with named arguments: nothing that old");
}

# Internal functions in unusual contexts, and sample_now() in a tight loop.
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) >= 0 FROM (SELECT pool_observer._pools_1_0()) s;
SELECT count(*) >= 0 FROM (SELECT (pool_observer._events_1_0()).id) s;
SELECT count(*) >= 0 FROM (SELECT pool_observer._pool_history_1_0() LIMIT 1) s;
SELECT (pool_observer._health_1_0()).status IS NOT NULL;
SELECT (pool_observer._worker_1_0()).samples > 0;
SELECT count(*) >= 0 FROM pool_observer.events e, LATERAL pool_observer._server_history_1_0() h;
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM pool_observer.events;
MOVE FORWARD 1 IN c;
CLOSE c;
COMMIT;
SELECT count(pool_observer.sample_now()) FROM generate_series(1, 200);}),
	"t\nt\nt\nt\nt\nt\n200",
	'internal functions in odd contexts; sample_now() 200 times in a row');

# sample_now() with sampling disabled: a clear error, health says why.
$node->safe_psql('postgres',
	'ALTER SYSTEM SET pool_observer.enabled = off; SELECT pg_reload_conf()');
ok( $node->poll_query_until(
		'postgres', q{SELECT NOT sampling_enabled FROM pool_observer.health}),
	'sampling disabled');
sql_fails('SELECT pool_observer.sample_now()', '55000', 'pool_observer sampling is disabled',
	'sample_now() while disabled');
is( $node->safe_psql(
		'postgres',
		q{SELECT status, reasons[1] FROM pool_observer.health}),
	'warning|sampling is disabled (pool_observer.enabled = off)',
	'health says sampling is disabled');
$node->safe_psql('postgres',
	'ALTER SYSTEM RESET pool_observer.enabled; SELECT pg_reload_conf()');
ok( $node->poll_query_until(
		'postgres', q{SELECT sampling_enabled FROM pool_observer.health}),
	'sampling enabled again');

#
# Settings: out-of-range and malformed values.
#
my $settings_before = $node->safe_psql('postgres',
	q{SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings WHERE name LIKE 'pool_observer.%'}
);
my @bad = (
	[ 'sample_interval', '0', qr/0 ms is outside the valid range for parameter "pool_observer.sample_interval" \Q@{[bounds(10, 3600000, 'ms')]}\E/ ],
	[ 'sample_interval', '-1', qr/outside the valid range for parameter "pool_observer.sample_interval"/ ],
	[ 'sample_interval', "'abc'", qr/invalid value for parameter "pool_observer.sample_interval": "abc"/ ],
	[ 'sample_interval', "'5 parsecs'", qr/invalid value for parameter "pool_observer.sample_interval": "5 parsecs"\n.*HINT:  Valid units for this parameter are/ ],
	[ 'sample_interval', "'1e10'", qr/(invalid value for|outside the valid range for) parameter "pool_observer.sample_interval"/ ],
	[ 'sample_interval', '3600001', qr/outside the valid range for parameter "pool_observer.sample_interval"/ ],
	[ 'history_interval', '0', qr/outside the valid range for parameter "pool_observer.history_interval"/ ],
	[ 'idle_in_transaction_threshold', '-2', qr/outside the valid range for parameter "pool_observer.idle_in_transaction_threshold"/ ],
	[ 'slow_statement_threshold', "'2147483648'", qr/(invalid value for|outside the valid range for) parameter "pool_observer.slow_statement_threshold"/ ],
	[ 'max_connections_warn', '101', qr/101 is outside the valid range for parameter "pool_observer.max_connections_warn" \Q@{[bounds(-1, 100)]}\E/ ],
	[ 'max_connections_warn', '-2', qr/outside the valid range for parameter "pool_observer.max_connections_warn"/ ],
	[ 'max_actions_per_minute', '-5', qr/-5 is outside the valid range for parameter "pool_observer.max_actions_per_minute" \Q@{[bounds(0, 10000)]}\E/ ],
	[ 'churn_threshold', "'NaN'", qr/invalid value for parameter "pool_observer.churn_threshold": "NaN"/ ],
	[ 'churn_threshold', "'Infinity'", qr/outside the valid range for parameter "pool_observer.churn_threshold"/ ],
	[ 'churn_threshold', "'1e400'", qr/invalid value for parameter "pool_observer.churn_threshold": "1e400"/ ],
	[ 'enabled', "'maybe'", qr/parameter "pool_observer.enabled" requires a Boolean value/ ],
	[ 'dry_run', '2', qr/parameter "pool_observer.dry_run" requires a Boolean value/ ],
	[ 'sampling_method', "'fast'", qr/invalid value for parameter "pool_observer.sampling_method": "fast"\n.*HINT:  Available values: direct, pgstat\./ ],
	[ 'exempt_roles', q{'"unterminated'}, qr/invalid value for parameter "pool_observer.exempt_roles": ""unterminated"\n.*DETAIL:  List syntax is invalid\./ ],
	[ 'exempt_roles', q{'a,,b'}, qr/invalid value for parameter "pool_observer.exempt_roles".*\n.*DETAIL:  List syntax is invalid\./ ],
	[ 'exempt_roles', q{'Weird Role'}, qr/invalid value for parameter "pool_observer.exempt_roles".*\n.*DETAIL:  List syntax is invalid\./ ],
	[ 'exempt_roles', "'" . ('r' x 64) . "'", qr/DETAIL:  Name "r{64}" is longer than 63 bytes\./ ],
	[ 'exempt_applications', q{'ok, "bad'}, qr/invalid value for parameter "pool_observer.exempt_applications".*\n.*DETAIL:  List syntax is invalid\./ ],
	[ 'max_pools', '0', qr/outside the valid range for parameter "pool_observer.max_pools"/ ],
	[ 'max_events', '5', qr/outside the valid range for parameter "pool_observer.max_events"/ ],
	[ 'history_size', '1', qr/outside the valid range for parameter "pool_observer.history_size"/ ],
);
foreach my $b (@bad)
{
	my ($guc, $value, $re) = @$b;
	my ($r, $o, $e) = $node->psql('postgres',
		"ALTER SYSTEM SET pool_observer.$guc = $value");
	isnt($r, 0, "ALTER SYSTEM SET $guc = $value rejected");
	like($e, $re, "ALTER SYSTEM SET $guc = $value: clear message");
}

# And every setting there is (new ones included), by its type and range.
my @gucs = split /\n/, $node->safe_psql(
	'postgres', q{
SELECT name || '|' || vartype || '|' || coalesce(min_val, '') || '|' || coalesce(max_val, '')
  FROM pg_settings WHERE name LIKE 'pool_observer.%' ORDER BY name});
cmp_ok(scalar(@gucs), '>=', 24, scalar(@gucs) . ' pool_observer settings');
foreach my $g (@gucs)
{
	my ($name, $type, $min, $max) = split /\|/, $g, -1;
	my @values =
		$type eq 'integer' ? ($min - 1, $max + 1, "'abc'", "'1.5e99'", "''", "'10 lightyears'")
	  : $type eq 'real' ? ($min - 1, $max + 1, "'abc'", "'NaN'", "''")
	  : $type eq 'bool' ? ("'maybe'", '2', "''")
	  : $type eq 'enum' ? ("'no_such_value'", "''")
	  : (q{'"unterminated'}, q{'a,,b'}, q{'x y'});
	foreach my $v (@values)
	{
		my ($r, $o, $e) = $node->psql('postgres', "ALTER SYSTEM SET $name = $v");
		ok($r != 0 && $e =~ /(invalid value for parameter|outside the valid range for parameter|requires a Boolean value).*"\Q$name\E"|parameter "\Q$name\E" requires/,
			"ALTER SYSTEM SET $name = $v rejected with a clear message")
		  or diag($e);
	}
}

my ($ret, $out, $err) = $node->psql('postgres', 'SET pool_observer.sample_interval = 200');
like($err, qr/parameter "pool_observer.sample_interval" cannot be changed now/,
	'SET of a reload-only setting rejected');
($ret, $out, $err) = $node->psql('postgres', 'SET pool_observer.max_pools = 5');
like($err, qr/parameter "pool_observer.max_pools" cannot be changed without restarting the server/,
	'SET of a restart-only setting rejected');
($ret, $out, $err) = $node->psql('postgres', 'SET pool_observer.no_such_setting = 1');
like($err, qr/invalid configuration parameter name "pool_observer.no_such_setting"/,
	'unknown pool_observer.* setting rejected (reserved prefix)');
($ret, $out, $err) = $node->psql('postgres', 'ALTER SYSTEM SET pool_observer.no_such_setting = 1');
isnt($ret, 0, 'ALTER SYSTEM of an unknown pool_observer.* setting rejected');

is( $node->safe_psql(
		'postgres',
		q{SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings WHERE name LIKE 'pool_observer.%'}
	),
	$settings_before,
	'every setting kept its value');
unlike(slurp_file($node->data_dir . '/postgresql.auto.conf'),
	qr/pool_observer/, 'nothing written to postgresql.auto.conf');

# Bad values in postgresql.conf at reload: logged, old values kept, the good
# change in the same file applied, the sampler unaffected.
my $conf = $node->data_dir . '/postgresql.conf';
my $conf_before = slurp_file($conf);
my $log_offset = -s $node->logfile;
my ($samples0) = $node->safe_psql('postgres', 'SELECT samples FROM pool_observer.worker');
$node->append_conf(
	'postgresql.conf', q{
pool_observer.sample_interval = 5
pool_observer.max_connections_warn = 'lots'
pool_observer.exempt_roles = '"broken'
pool_observer.churn_threshold = 55
});
$node->reload;
$node->wait_for_log(qr/contains errors; unaffected changes were applied/, $log_offset);
my $reload_log = slurp_file($node->logfile, $log_offset);
like($reload_log,
	qr/5 ms is outside the valid range for parameter "pool_observer.sample_interval" \Q@{[bounds(10, 3600000, 'ms')]}\E/,
	'reload: out-of-range sample_interval logged');
like($reload_log,
	qr/invalid value for parameter "pool_observer.max_connections_warn": "lots"/,
	'reload: malformed max_connections_warn logged');
like($reload_log,
	qr/invalid value for parameter "pool_observer.exempt_roles": ""broken"/,
	'reload: malformed exempt_roles logged');
ok( $node->poll_query_until(
		'postgres', q{SELECT current_setting('pool_observer.churn_threshold') = '55'}),
	'reload: the valid change in the same file applied');
is( $node->safe_psql(
		'postgres', q{
SELECT current_setting('pool_observer.sample_interval') || ',' ||
       current_setting('pool_observer.max_connections_warn') || ',' ||
       current_setting('pool_observer.exempt_roles')}),
	'100ms,80,',
	'reload: the old values kept');
ok( $node->poll_query_until(
		'postgres', qq{SELECT samples > $samples0 + 5 FROM pool_observer.worker}),
	'reload: sampler goes on sampling');
is($node->safe_psql('postgres', q{SELECT status <> 'critical' FROM pool_observer.health}),
	't', 'reload: health not critical');
open(my $fh, '>', $conf) or die "could not write $conf: $!";
print $fh $conf_before;
close($fh);
$node->reload;
ok( $node->poll_query_until(
		'postgres', q{SELECT current_setting('pool_observer.churn_threshold') = '20'}),
	'reload: configuration restored');

#
# Exempt lists: odd spacing, quoted names, roles that do not exist.
#
my $weird = 'Weird Role';
my $upper = 'regress_Upper';
my $quoted = 'Another "quoted" name';
$node->safe_psql(
	'postgres', join(";\n",
		map { 'CREATE ROLE ' . quote_ident($_) . ' LOGIN' } $weird, $upper, $quoted,
		'regress_victim'));
$node->safe_psql(
	'postgres', q{
ALTER SYSTEM SET pool_observer.exempt_roles =
    '  "Weird Role" ,regress_Upper,   no_such_role ,"Another ""quoted"" name"  ';
ALTER SYSTEM SET pool_observer.exempt_applications = ' "My App" ,  other_app ';
ALTER SYSTEM SET pool_observer.idle_in_transaction_terminate_after = '1s';
SELECT pg_reload_conf();});
ok( $node->poll_query_until(
		'postgres',
		q{SELECT current_setting('pool_observer.idle_in_transaction_terminate_after') = '1s'}),
	'exempt: settings accepted');

my %ex;
$ex{weird} = leak($node, 'SELECT 1;', encoding => 'UTF8', user => $weird, app => 'w');
$ex{upper} = leak($node, 'SELECT 1;', encoding => 'UTF8', user => $upper, app => 'u');
$ex{quoted} = leak($node, 'SELECT 1;', encoding => 'UTF8', user => $quoted, app => 'q');
$ex{myapp} = leak($node, 'SELECT 1;', encoding => 'UTF8', user => 'regress_victim', app => 'My App');
$ex{victim} = leak($node, 'SELECT 1;', encoding => 'UTF8', user => 'regress_victim', app => 'victim');
$ex{lower} = leak($node, 'SELECT 1;', encoding => 'UTF8', user => 'regress_victim', app => 'my app');

sub action_of
{
	my ($pid) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT action || ':' || coalesce(detail, '') FROM pool_observer.events
 WHERE pid = $pid AND kind = 'idle_in_transaction'});
}

foreach my $k ('victim', 'lower')
{
	my $pid = $ex{$k}{pid};
	ok( $node->poll_query_until(
			'postgres', qq{
SELECT action = 'terminated' FROM pool_observer.events
 WHERE pid = $pid AND kind = 'idle_in_transaction'}),
		"exempt: $k session terminated");
	ok( $node->poll_query_until(
			'postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
		"exempt: $k session gone");
}
foreach my $k ('weird', 'upper', 'quoted', 'myapp')
{
	my $pid = $ex{$k}{pid};
	my $list = $k eq 'myapp' ? 'exempt_applications' : 'exempt_roles';
	ok( $node->poll_query_until(
			'postgres', qq{
SELECT action = 'exempt' FROM pool_observer.events
 WHERE pid = $pid AND kind = 'idle_in_transaction'}),
		"exempt: $k session exempt");
	like(action_of($pid), qr/^exempt:.*pool_observer\.$list/, "exempt: $k detail names $list");
}
$node->safe_psql('postgres', 'SELECT pool_observer.sample_now()');
foreach my $k ('weird', 'upper', 'quoted', 'myapp')
{
	my $pid = $ex{$k}{pid};
	is( $node->safe_psql(
			'postgres', qq{
SELECT state = 'idle in transaction' AND now() - state_change > interval '1s'
  FROM pg_stat_activity WHERE pid = $pid}),
		't',
		"exempt: $k session alive past idle_in_transaction_terminate_after");
	is(run_in($ex{$k}, 'SELECT 42;'), "42\n", "exempt: $k session usable");
}
close_session($ex{$_}) foreach keys %ex;

$node->safe_psql(
	'postgres', q{
ALTER SYSTEM RESET pool_observer.exempt_roles;
ALTER SYSTEM RESET pool_observer.exempt_applications;
ALTER SYSTEM RESET pool_observer.idle_in_transaction_terminate_after;
SELECT pg_reload_conf();});

# Nothing above made the sampler fail (its log lines carry its pid).
my ($wpid, $restarts) = split /\|/,
  $node->safe_psql('postgres', 'SELECT pid, restarts FROM pool_observer.worker');
is($restarts, 0, 'the sampler never restarted');
my @problems = grep { /\[$wpid\] .*(ERROR|FATAL|PANIC|WARNING):/ || /terminated by signal|PANIC:/ }
  split /\n/, slurp_file($node->logfile);
is(scalar(@problems), 0, 'no error from the sampler, no crash') or diag(join("\n", @problems));

$node->stop;
done_testing();
