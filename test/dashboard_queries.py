#!/usr/bin/env python3
"""Run every query of a Grafana dashboard the way Grafana would.

Usage:
    dashboard_queries.py DASHBOARD.json [options] -- PSQL-COMMAND...

PSQL-COMMAND is the argument vector of a psql that reaches the database
(for example `psql -X -h /tmp/x -p 5433 -U grafana_reader -d postgres`);
this script adds its own output flags.

Grafana expands a PostgreSQL panel query in three steps, and so does this
script:

1. In the browser, template variables are replaced (templateSrv.replace with
   the SQL data source's interpolateVariable): a multi-value or include-All
   variable becomes a comma-separated list of single-quoted literals
   ('a','b'), a plain variable its value with ' doubled; $__interval,
   $__interval_ms, $__from, $__to and $__range* are built-ins; anything else
   that looks like a variable is left alone.
2. In the backend (sqleng.Interpolate): $__interval_ms, $__interval,
   $__unixEpochFrom() and $__unixEpochTo().
3. The PostgreSQL macro engine: every `$name(args)` is a macro, args split on
   ',' and trimmed of spaces; $__timeFilter(c) becomes
   c BETWEEN '<from RFC3339>' AND '<to RFC3339>', $__timeGroup(c, 5m) becomes
   floor(extract(epoch from c)/300)*300 and $__timeGroupAlias adds
   AS "time"; an unknown macro is an error.

A template variable query runs first (with the time range, as for
refresh "On time range change"); its values feed $var.  Each panel query is
then checked: it must run; a time_series query must return a first column
named "time" of a timestamp or numeric type, sorted ascending, with at least
one numeric value column (Grafana's long-to-wide conversion refuses unsorted
input); table queries listed in EXPECT must return their columns and rows.
Any `$` or `[[` left after expansion fails the query.

Exit status: 0 when every check passes, 1 otherwise.
"""

import argparse
import csv
import io
import json
import re
import subprocess
import sys
import time

TIME_TYPES = {"timestamp with time zone", "timestamp without time zone",
              "date"}
NUMERIC_TYPES = {"smallint", "integer", "bigint", "numeric", "real",
                 "double precision"}
STRING_TYPES = {"text", "name", "character varying", "character"}

# Table-format panels: the columns they must return and the fewest rows
# the test workload guarantees.  A title listed here but missing from the
# dashboard is a failure too, so a renamed panel cannot slip through.
EXPECT = {
    "Server health": (["status", "connections", "max_connections",
                       "utilization"], 1),
    "Sampler": (["sampler", "last sample"], 1),
    "Pools now": (["pool", "connections", "active", "idle",
                   "idle_in_transaction", "waiting", "utilization"], 1),
    "Recent events": (["time", "kind", "state", "pid", "application_name",
                       "action"], 1),
    "What PostgreSQL did, per pool since start": (
        ["pool", "new_connections", "refused", "failed_logins",
         "statement_timeouts", "cancelled", "terminated"], 1),
}
ANNOTATION_COLUMNS = ["time", "text"]

# Grafana's templateSrv variable syntaxes: $var, [[var]], [[var:fmt]],
# ${var}, ${var:fmt}, ${var.field}.
TEMPLATE_RE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?"
    r"(?::([^\}]+))?\}")
# The PostgreSQL macro engine (pkg/tsdb/grafana-postgresql-datasource).
MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
LEFTOVER_RE = re.compile(r"\$\{?[A-Za-z_]\w*|\[\[\w+")

INTERVAL_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400,
                  "w": 604800, "M": 2592000, "y": 31536000}


def parse_interval(text):
    """gtime.ParseInterval for the forms Grafana produces (5m, 1s, 200ms)."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|M|y)", text.strip())
    if not m:
        raise ValueError("cannot parse interval %r" % text)
    return int(m.group(1)) * INTERVAL_UNITS[m.group(2)]


def go_float(value):
    """fmt's %v for a float64 (shortest form, no exponent below 1e21)."""
    if float(value).is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(float(value))


def rfc3339nano(ms):
    """time.Time.UTC().Format(time.RFC3339Nano) of an epoch in ms."""
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    frac = ("%03d" % (ms % 1000)).rstrip("0")
    return base + ("." + frac if frac else "") + "Z"


def quote_literal(value):
    return "'" + str(value).replace("'", "''") + "'"


class Expander:
    def __init__(self, from_ms, to_ms, interval):
        self.from_ms = from_ms
        self.to_ms = to_ms
        self.interval = interval
        self.variables = {}     # name -> (definition, selected values)

    def builtin(self, name):
        iv = parse_interval(self.interval)
        return {
            "__interval": self.interval,
            "__interval_ms": str(int(round(iv * 1000))),
            "__from": str(self.from_ms),
            "__to": str(self.to_ms),
            "__range_ms": str(self.to_ms - self.from_ms),
            "__range_s": str((self.to_ms - self.from_ms) // 1000),
            "__range": "%ds" % ((self.to_ms - self.from_ms) // 1000),
        }.get(name)

    def format_variable(self, definition, values, fmt):
        if fmt in (None, ""):
            # The SQL data sources' interpolateVariable.
            if len(values) == 1 and not (definition.get("multi") or
                                         definition.get("includeAll")):
                return str(values[0]).replace("'", "''")
            return ",".join(quote_literal(v) for v in values)
        if fmt == "raw" or fmt == "csv":
            return ",".join(str(v) for v in values)
        if fmt == "sqlstring":
            return ",".join(quote_literal(v) for v in values)
        if fmt == "singlequote":
            return ",".join("'" + str(v).replace("'", "\\'") + "'"
                            for v in values)
        if fmt == "doublequote":
            return ",".join('"' + str(v).replace('"', '\\"') + '"'
                            for v in values)
        raise ValueError("variable format %r is not emulated" % fmt)

    def frontend(self, sql):
        def repl(m):
            name = m.group(1) or m.group(2) or m.group(4)
            fmt = m.group(3) or m.group(6)
            if name in self.variables:
                definition, values = self.variables[name]
                return self.format_variable(definition, values, fmt)
            value = self.builtin(name)
            if value is not None:
                return value
            return m.group(0)
        return TEMPLATE_RE.sub(repl, sql)

    def backend(self, sql):
        iv = parse_interval(self.interval)
        sql = sql.replace("$__interval_ms", str(int(round(iv * 1000))))
        sql = sql.replace("$__interval", self.interval)
        sql = sql.replace("$__unixEpochFrom()", str(self.from_ms // 1000))
        sql = sql.replace("$__unixEpochTo()", str(self.to_ms // 1000))
        return self.macros(sql)

    def macros(self, sql):
        out = []
        last = 0
        for m in MACRO_RE.finditer(sql):
            name = m.group(1)
            # Pre-5.3 compatibility: "$__timeGroup(...)," means the alias.
            if name == "__timeGroup":
                idx = sql.find(m.group(0))
                end = idx + len(m.group(0))
                if idx >= 0 and end < len(sql) and sql[end] == ",":
                    name = "__timeGroupAlias"
            args = [a.strip(" ") for a in m.group(2).split(",")]
            out.append(sql[last:m.start()])
            out.append(self.macro(name, args))
            last = m.end()
        out.append(sql[last:])
        return "".join(out)

    def macro(self, name, args):
        frm, to = rfc3339nano(self.from_ms), rfc3339nano(self.to_ms)
        if name == "__time":
            return '%s AS "time"' % args[0]
        if name == "__timeEpoch":
            return 'extract(epoch from %s) as "time"' % args[0]
        if name == "__timeFilter":
            return "%s BETWEEN '%s' AND '%s'" % (args[0], frm, to)
        if name == "__timeFrom":
            return "'%s'" % frm
        if name == "__timeTo":
            return "'%s'" % to
        if name in ("__timeGroup", "__timeGroupAlias"):
            if len(args) < 2:
                raise ValueError("macro %s needs a column and an interval"
                                 % name)
            if len(args) == 3:
                raise ValueError("fill modes of %s are not emulated" % name)
            secs = go_float(parse_interval(args[1].strip("'")))
            expr = "floor(extract(epoch from %s)/%s)*%s" % (args[0], secs,
                                                            secs)
            return expr + (' AS "time"' if name == "__timeGroupAlias"
                           else "")
        if name == "__unixEpochFilter":
            return "%s >= %d AND %s <= %d" % (args[0], self.from_ms // 1000,
                                              args[0], self.to_ms // 1000)
        raise ValueError("unknown (or not emulated) macro %r" % name)

    def expand(self, sql):
        sql = self.backend(self.frontend(sql))
        left = LEFTOVER_RE.search(sql)
        if left:
            raise ValueError("unexpanded %r left in the query" % left.group(0))
        return sql


class Psql:
    def __init__(self, argv):
        self.argv = argv

    def _run(self, script):
        proc = subprocess.run(
            self.argv + ["--csv", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
            input=script, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError((proc.stderr or proc.stdout).strip())
        return list(csv.reader(io.StringIO(proc.stdout)))

    def describe(self, sql):
        rows = self._run(sql.rstrip().rstrip(";") + "\n\\gdesc\n")
        return [(r[0], r[1]) for r in rows[1:]]

    def query(self, sql):
        rows = self._run(sql.rstrip().rstrip(";") + "\n\\g\n")
        return rows[0] if rows else [], rows[1:]


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def target_sql(target):
    return target.get("rawSql") or ""


class Checker:
    def __init__(self, args):
        self.args = args
        self.failures = 0
        self.psql = Psql(args.psql)

    def report(self, ok, what, detail, sql=None):
        print("%s %s: %s" % ("PASS" if ok else "FAIL", what, detail))
        if not ok:
            self.failures += 1
            if sql:
                print("  query: " + sql.replace("\n", "\n         "))
        sys.stdout.flush()

    # -- structure --------------------------------------------------------
    def check_structure(self, dash):
        problems = []
        if dash.get("schemaVersion", 0) < 36:
            problems.append("schemaVersion %s < 36" % dash.get("schemaVersion"))
        for key in ("uid", "title"):
            if not dash.get(key):
                problems.append("no %s" % key)
        tvars = {v.get("name"): v for v in
                 dash.get("templating", {}).get("list", [])}
        ds = tvars.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") not in (
                "postgres", "grafana-postgresql-datasource"):
            problems.append("no PostgreSQL datasource variable")
        pool = tvars.get("pool")
        if not pool or pool.get("type") != "query":
            problems.append("no pool query variable")
        elif not (pool.get("multi") and pool.get("includeAll")):
            problems.append("pool variable is not multi-value with All")
        ids = set()
        for p in walk_panels(dash.get("panels", [])):
            if p.get("type") == "row":
                continue
            pid = p.get("id")
            if pid in ids:
                problems.append("duplicate panel id %s" % pid)
            ids.add(pid)
            if not p.get("gridPos"):
                problems.append("panel %s has no gridPos" % pid)
            refs = [p.get("datasource")] + [t.get("datasource")
                                           for t in p.get("targets", [])]
            for ref in refs:
                if not isinstance(ref, dict) or ref.get("uid") != \
                        "${datasource}":
                    problems.append("panel %s does not use ${datasource}"
                                    % pid)
                    break
            if not p.get("targets"):
                problems.append("panel %s has no query" % pid)
        titles = {p.get("title") for p in walk_panels(dash.get("panels", []))}
        for title in EXPECT:
            if title not in titles:
                problems.append("expected panel %r is missing" % title)
        self.report(not problems, "dashboard structure",
                    "; ".join(problems) if problems else
                    "schemaVersion %s, %d panels, variables %s"
                    % (dash.get("schemaVersion"), len(ids),
                       ", ".join(sorted(tvars))))

    # -- variables --------------------------------------------------------
    def load_variables(self, dash, expander):
        """Run query variables in order; return {name: (def, values)}."""
        result = {}
        for var in dash.get("templating", {}).get("list", []):
            if var.get("type") != "query":
                continue
            query = var.get("query")
            if isinstance(query, dict):
                query = query.get("rawSql") or query.get("query") or ""
            what = "variable $%s" % var["name"]
            try:
                sql = expander.expand(query)
                header, rows = self.psql.query(sql)
            except (ValueError, RuntimeError) as e:
                self.report(False, what, str(e), query)
                continue
            if "__value" in header:
                col = header.index("__value")
            else:
                col = 0
            values = []
            for r in rows:
                if r[col] not in values:
                    values.append(r[col])
            if var.get("regex"):
                rx = re.compile(var["regex"])
                values = [v for v in values if rx.search(v)]
            self.report(bool(values), what,
                        "%d values: %s" % (len(values), values[:8]), sql)
            result[var["name"]] = (var, values)
            expander.variables[var["name"]] = (var, values)
        return result

    # -- one query --------------------------------------------------------
    def run_target(self, what, raw, fmt, expander, expect=None,
                   overrides=(), require_rows=False):
        try:
            sql = expander.expand(raw)
        except ValueError as e:
            self.report(False, what, "expansion: %s" % e, raw)
            return
        try:
            desc = self.psql.describe(sql)
            header, rows = self.psql.query(sql)
        except RuntimeError as e:
            self.report(False, what, "query failed: %s" % e, sql)
            return
        names = [d[0] for d in desc]
        types = {d[0]: d[1] for d in desc}
        problems = []
        if fmt == "time_series":
            if not names or names[0] != "time":
                problems.append("first column is %r, not \"time\""
                                % (names[0] if names else None))
            elif types["time"] not in TIME_TYPES | NUMERIC_TYPES:
                problems.append("time column has type %s" % types["time"])
            labels = [n for n in names[1:] if types[n] in STRING_TYPES]
            values = [n for n in names[1:] if types[n] in NUMERIC_TYPES]
            others = [n for n in names[1:]
                      if n not in labels and n not in values]
            if not values:
                problems.append("no numeric value column")
            if others:
                problems.append("columns of unusable types: %s" % ", ".join(
                    "%s %s" % (n, types[n]) for n in others))
            if not problems and rows:
                label_idx = [names.index(n) for n in labels]
                seen = set()
                prev = None
                for r in rows:
                    if r[0] == "":
                        problems.append("NULL time")
                        break
                    t = float(r[0]) if types["time"] in NUMERIC_TYPES \
                        else r[0]
                    if prev is not None and t < prev:
                        problems.append("not sorted by time (Grafana "
                                        "refuses to convert it)")
                        break
                    prev = t
                    key = (r[0],) + tuple(r[i] for i in label_idx)
                    if key in seen:
                        problems.append("two rows for time %s %s" % key[:2])
                        break
                    seen.add(key)
            if require_rows and not rows:
                problems.append("no rows")
            if not labels:
                for name in overrides:
                    if name not in names:
                        problems.append("override for unknown series %r"
                                        % name)
            series = len({tuple(r[names.index(n)] for n in labels)
                          for r in rows}) if labels else len(values)
            detail = "%d rows, %d series, time %s" % (
                len(rows), series, types.get(names[0]) if names else "-")
        else:
            if expect:
                cols, min_rows = expect
                missing = [c for c in cols if c not in names]
                if missing:
                    problems.append("missing columns %s" % missing)
                if len(rows) < min_rows:
                    problems.append("%d rows, expected at least %d"
                                    % (len(rows), min_rows))
            for name in overrides:
                if name not in names:
                    problems.append("override for unknown column %r" % name)
            detail = "%d rows, columns %s" % (len(rows), ", ".join(names))
        self.report(not problems, what,
                    "; ".join(problems) if problems else detail,
                    sql if problems else None)

    def run_panels(self, dash, expander, mode):
        for p in walk_panels(dash.get("panels", [])):
            if p.get("type") == "row":
                continue
            overrides = [o["matcher"]["options"] for o in
                         p.get("fieldConfig", {}).get("overrides", [])
                         if o.get("matcher", {}).get("id") == "byName"]
            for t in p.get("targets", []):
                raw = target_sql(t)
                fmt = t.get("format", "time_series")
                uses_pool = "$pool" in raw or "${pool" in raw
                what = "panel %s %r [%s, $__interval=%s]" % (
                    p.get("id"), p.get("title"), mode, expander.interval)
                self.run_target(
                    what, raw, fmt, expander, EXPECT.get(p.get("title")),
                    overrides,
                    require_rows=(mode == "All" or uses_pool) and
                    self.args.require_rows)
        for a in dash.get("annotations", {}).get("list", []):
            if a.get("builtIn"):
                continue
            raw = (a.get("target") or {}).get("rawSql") or a.get("rawQuery")
            what = "annotation %r [%s, $__interval=%s]" % (
                a.get("name"), mode, expander.interval)
            self.run_target(what, raw, "table", expander,
                            (ANNOTATION_COLUMNS, 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dashboard")
    ap.add_argument("--range-minutes", type=int, default=15,
                    help="time range: the last N minutes (default 15)")
    ap.add_argument("--interval", action="append",
                    help="$__interval values to try (default 1s, 5s, 1m)")
    ap.add_argument("--single-pool", metavar="REGEX",
                    help="also run with $pool set to the one value matching")
    ap.add_argument("--require-rows", action="store_true",
                    help="time series must return rows (data exists)")
    ap.add_argument("psql", nargs="+", help="psql command after --")
    args = ap.parse_args()
    intervals = args.interval or ["1s", "5s", "1m"]

    with open(args.dashboard) as f:
        dash = json.load(f)
    checker = Checker(args)
    checker.check_structure(dash)

    to_ms = int(time.time() * 1000)
    from_ms = to_ms - args.range_minutes * 60 * 1000
    base = Expander(from_ms, to_ms, intervals[0])
    variables = checker.load_variables(dash, base)

    modes = [("All", {n: vals for n, (d, vals) in variables.items()})]
    if args.single_pool and "pool" in variables:
        rx = re.compile(args.single_pool)
        match = [v for v in variables["pool"][1] if rx.search(v)]
        checker.report(len(match) == 1, "variable $pool",
                       "one value matches %r: %s" % (args.single_pool, match))
        if match:
            modes.append(("pool=" + match[0], {"pool": match[:1]}))

    for mode, selection in modes:
        for interval in intervals:
            ex = Expander(from_ms, to_ms, interval)
            for name, (definition, _) in variables.items():
                ex.variables[name] = (definition, selection.get(
                    name, variables[name][1]))
            checker.run_panels(dash, ex, mode)

    print("%s: %d failure(s)" % ("FAIL" if checker.failures else "PASS",
                                  checker.failures))
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main())
