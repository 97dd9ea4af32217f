#!/usr/bin/env bash
# exporter-test.sh: prometheus-postgres-exporter with
# contrib/postgres_exporter/queries.yaml exports pool_observer's figures
# under the names and labels contrib/prometheus/alerts.yml relies on.
#
#   1. promtool check rules / test rules on contrib/prometheus/;
#   2. throwaway cluster (loopback only), pool_observer preloaded, low
#      thresholds; an exporter role that is only a member of pg_monitor;
#   3. three sessions idle in transaction ("exp_leaky", over TCP), two
#      idle ones ("exp_idle", Unix socket: client_addr NULL) and four more
#      ("exp_big": advice says oversized), two statement
#      timeouts ("exp_timeout") and a failed login ("exp_nologin"); poll
#      with sample_now() until pools, events and pool_counters show them;
#   4. the exporter on a free 127.0.0.1 port, default metrics off; scrape
#      /metrics until the pool_observer metrics are there (deadline);
#   5. assert metric lines with their labels and values, that every metric
#      the alert rules and their unit tests use is exported, that no query
#      failed, and that `promtool check metrics` finds nothing to lint in
#      the pool_observer metrics.
#
# Exit 0 pass, 77 skip ("SKIP: reason"), anything else fail.

set -uo pipefail
# shellcheck source=test/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh" || { echo "FAIL: cannot read test/common.sh"; exit 1; }
# shellcheck source=test/scripts/lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh" || po_die "cannot read test/scripts/lib/cluster.sh"
cd "$PO_ROOT" || exit 1

queries="$PO_ROOT/contrib/postgres_exporter/queries.yaml"
queries_top="$PO_ROOT/contrib/postgres_exporter/queries-profile-top.yaml"
rules="$PO_ROOT/contrib/prometheus/alerts.yml"
rules_test="$PO_ROOT/contrib/prometheus/alerts_test.yml"
exporter="$(command -v prometheus-postgres-exporter || command -v postgres_exporter)"
[ -n "$exporter" ] || tc_skip "prometheus-postgres-exporter is not installed"
command -v promtool >/dev/null 2>&1 || tc_skip "promtool (package prometheus) is not installed"
command -v curl >/dev/null 2>&1 || tc_skip "curl is not installed"
tc_requirements

failures=0
check() {
	if "$@"; then
		echo "PASS: $*"
	else
		echo "FAIL: $*"
		failures=$((failures + 1))
	fi
}

# 1. The rules, without any server.
check promtool check rules "$rules"
check promtool test rules "$rules_test"
rule_failures=$failures

exporter_pid=
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	if [ -n "$exporter_pid" ]; then
		po_kill_tree "$exporter_pid"
		kill "$exporter_pid" 2>/dev/null
		wait "$exporter_pid" 2>/dev/null
	fi
	tc_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 2. The cluster.
tc_start pool_observer-exporter \
	"compute_query_id = on" \
	"pool_observer.sample_interval = 100ms" \
	"pool_observer.history_interval = 1s" \
	"pool_observer.idle_in_transaction_threshold = 1s" \
	"pool_observer.saturation_threshold = 1s" \
	"pool_observer.log_events = off"
tc_psql <<'SQL' || { TC_FAILED=1; po_die "setup failed"; }
CREATE ROLE exp_app LOGIN;
CREATE ROLE exp_nologin NOLOGIN;
CREATE ROLE pool_observer_exporter LOGIN IN ROLE pg_monitor;
SQL

# 3. The sessions.
for i in 1 2 3; do
	tc_session exp_leaky 127.0.0.1 exp_app "BEGIN; SELECT $i;"
done
for i in 1 2; do
	tc_session exp_idle "$TC_DIR" exp_app "SELECT $i;"
done
# four idle connections: advice says oversized, with a recommended size
for i in 1 2 3 4; do
	tc_session exp_big "$TC_DIR" exp_app "SELECT $i;"
done
# What PostgreSQL itself did: two statement timeouts (below the health
# warning rate) and one failed login (28000, not permitted to log in).  No
# refused connection: that would make health critical.
tc_session exp_timeout "$TC_DIR" exp_app "SET statement_timeout = '50ms'; SELECT pg_sleep(5); SELECT pg_sleep(5);"
PGAPPNAME=exp_nologin po_as_pg_user psql -X -q -h "$TC_DIR" -p "$TC_PORT" \
	-U exp_nologin -d postgres -c 'SELECT 1' >/dev/null 2>&1 &&
	{ TC_FAILED=1; po_die "exp_nologin logged in"; }
tc_poll 60 "the exp_leaky pool saturated with 3 sessions idle in transaction" "
SELECT (SELECT idle_in_transaction = 3 AND saturated_since IS NOT NULL
          FROM pool_observer.pools WHERE application_name = 'exp_leaky')
   AND (SELECT idle = 2 FROM pool_observer.pools WHERE application_name = 'exp_idle')
   AND (SELECT idle = 4 FROM pool_observer.pools WHERE application_name = 'exp_big')
   AND (SELECT verdict = 'oversized' FROM pool_observer.advice WHERE application_name = 'exp_big')
   AND (SELECT verdict = 'leaking' FROM pool_observer.advice WHERE application_name = 'exp_leaky')
   AND (SELECT count(*) FROM pool_observer.events
         WHERE kind = 'idle_in_transaction' AND ended_at IS NULL
           AND application_name = 'exp_leaky') = 3
   AND (SELECT sum(statement_timeouts) FROM pool_observer.pool_counters
         WHERE application_name = 'exp_timeout') = 2
   AND (SELECT sum(authentication_failures) FROM pool_observer.pool_counters
         WHERE application_name = 'exp_nologin') = 1" ||
	{ TC_FAILED=1; exit 1; }

# 4. The exporter, as the cluster user, reading a copy of the queries file
# (the checkout may not be readable by that user).
# The opt-in top query ids file is appended, as its header says to do.
cat "$queries" "$queries_top" >"$TC_DIR/queries.yaml" && chmod 644 "$TC_DIR/queries.yaml"
eport="$(tc_free_port)"
# Only our metrics: every built-in collector off.  Which there are depends on
# the exporter's version (0.11 in bookworm: database, bgwriter; 0.17 in
# trixie and 0.19 in sid: stat_bgwriter, locks, roles, ...), so ask it.
no_collectors=()
while read -r c; do
	no_collectors+=("--no-collector.$c")
done < <("$exporter" --help 2>&1 | sed -n 's/^ *--\(\[no-\]\)\{0,1\}collector\.\([a-z_]*\)\( .*\)\{0,1\}$/\2/p' | sort -u)
[ "${#no_collectors[@]}" -gt 0 ] || { echo "FAIL: no collector flags in $exporter --help"; TC_FAILED=1; exit 1; }
DATA_SOURCE_NAME="host=127.0.0.1 port=$TC_PORT user=pool_observer_exporter dbname=postgres sslmode=disable" \
	po_as_pg_user "$exporter" \
	--web.listen-address="127.0.0.1:$eport" \
	--extend.query-path="$TC_DIR/queries.yaml" \
	--disable-default-metrics --disable-settings-metrics \
	"${no_collectors[@]}" \
	>"$TC_DIR/exporter.log" 2>&1 &
exporter_pid=$!
po_log "exporter on 127.0.0.1:$eport (pid $exporter_pid)"

# 5. Scrape until the assertions hold or the deadline passes; the last
# attempt's results are what counts.
metrics="$TC_DIR/metrics.txt"
checker="$TC_DIR/check_metrics.py"
cat >"$checker" <<'PY'
"""Assert pool_observer metric lines in a /metrics scrape."""
import re
import sys

import yaml

metrics_file, rules_file, rules_test_file = sys.argv[1:4]
verbose = len(sys.argv) > 4

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
samples = []
types = {}
for line in open(metrics_file):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ", 3)
        types[name] = kind
        continue
    if not line or line.startswith("#"):
        continue
    m = LINE.match(line)
    if m:
        samples.append((m.group(1), dict(LABEL.findall(m.group(2) or "")),
                        float(m.group(3))))

failures = []


def record(ok, line):
    line = ("PASS " if ok else "FAIL ") + line
    if not ok:
        failures.append(line)
    if verbose:
        print(line)


def find(name, **labels):
    return [s for s in samples if s[0] == name and
            all(s[1].get(k) == v for k, v in labels.items())]


OPS = {"==": lambda a, b: a == b, ">=": lambda a, b: a >= b,
       ">": lambda a, b: a > b, "<": lambda a, b: a < b}


def expect(desc, name, op, want, **labels):
    found = find(name, **labels)
    sel = "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in labels.items()))
    if len(found) != 1:
        ok, got = False, "%d series" % len(found)
    else:
        got = found[0][2]
        ok = OPS[op](got, want)
    record(ok, "%s: %s %s %s (got %s)" % (desc, sel, op, want, got))


POOL_LABELS = {"datname", "usename", "application_name", "client_addr",
               "server"}
leaky = dict(application_name="exp_leaky", client_addr="127.0.0.1",
             datname="postgres", usename="exp_app")
idle = dict(application_name="exp_idle", client_addr="local",
            datname="postgres", usename="exp_app")
P = "pool_observer_pool_"
expect("leaky pool connections", P + "connections", "==", 3, **leaky)
expect("leaky pool idle in transaction", P + "idle_in_transaction", "==", 3,
       **leaky)
expect("leaky pool active", P + "active", "==", 0, **leaky)
expect("leaky pool utilization", P + "utilization", "==", 1, **leaky)
expect("leaky pool saturated", P + "saturated", "==", 1, **leaky)
expect("leaky pool saturated for a while", P + "saturated_seconds", ">", 0,
       **leaky)
expect("leaky pool oldest idle in transaction",
       P + "max_idle_in_transaction_age_seconds", ">=", 1, **leaky)
expect("Unix-socket pool (client_addr NULL) as client_addr=\"local\"",
       P + "idle", "==", 2, **idle)
expect("idle pool idle in transaction", P + "idle_in_transaction", "==", 0,
       **idle)
expect("idle pool not saturated", P + "saturated", "==", 0, **idle)
expect("idle pool utilization", P + "utilization", "==", 0, **idle)
expect("new connections per second present",
       P + "new_connections_per_second", ">=", 0, **leaky)
for s in find(P + "connections"):
    # only application_name may be empty (a client that sets none)
    record(set(s[1]) == POOL_LABELS and
           all(v for k, v in s[1].items() if k != "application_name"),
           "pool labels: %s" % s[1])

O = "pool_observer_pool_outcomes_"
OUTCOMES = ["new_connections", "refused_connections",
            "authentication_failures", "statement_timeouts", "lock_timeouts",
            "idle_in_transaction_timeouts", "idle_session_timeouts",
            "transaction_timeouts", "queries_cancelled",
            "sessions_terminated", "terminated_by_pool_observer",
            "cancelled_by_pool_observer"]
for name in OUTCOMES:
    expect("outcome counter of the leaky pool", O + name + "_total",
           ">=" if name == "new_connections" else "==",
           3 if name == "new_connections" else 0, **leaky)
timeout_pool = dict(application_name="exp_timeout", client_addr="local",
                    datname="postgres", usename="exp_app")
nologin_pool = dict(application_name="exp_nologin", client_addr="local",
                    datname="postgres", usename="exp_nologin")
expect("statement timeouts", O + "statement_timeouts_total", "==", 2,
       **timeout_pool)
expect("statement timeouts are not cancels", O + "queries_cancelled_total",
       "==", 0, **timeout_pool)
expect("failed login", O + "authentication_failures_total", "==", 1,
       **nologin_pool)
expect("a failed login is not a new connection", O + "new_connections_total",
       "==", 0, **nologin_pool)
for s in find(O + "refused_connections_total"):
    record(s[2] == 0, "nothing refused: %s" % s[1])

KINDS = ["idle_in_transaction", "slow_statement", "long_transaction",
         "lock_wait", "pool_saturated", "connection_churn",
         "server_connections_high", "statement_timeout", "lock_timeout",
         "idle_in_transaction_timeout", "idle_session_timeout",
         "transaction_timeout", "query_cancelled", "session_terminated",
         "connection_refused", "authentication_failed"]
for kind in KINDS:
    expect("ongoing episodes of every kind", "pool_observer_episodes_ongoing",
           ">=", 0, kind=kind)
expect("ongoing leaks", "pool_observer_episodes_ongoing", ">=", 3,
       kind="idle_in_transaction")
expect("oldest ongoing leak", "pool_observer_episodes_oldest_ongoing_seconds",
       ">=", 1, kind="idle_in_transaction")
expect("ongoing saturation", "pool_observer_episodes_ongoing", ">=", 1,
       kind="pool_saturated")
for action in ["none", "terminated", "cancelled", "would_terminate",
               "would_cancel", "exempt", "suppressed", "failed"]:
    expect("episodes by every action", "pool_observer_actions_total", ">=", 0,
           action=action)
expect("episodes without action", "pool_observer_actions_total", ">=", 3,
       action="none")

PR = "pool_observer_profile_"
expect("leaky pool busy time idle in transaction (Client wait)",
       PR + "busy_seconds_total", ">", 0, state="idle in transaction",
       wait_event_type="Client", **leaky)
expect("leaky pool busy samples", PR + "samples_total", ">", 0,
       state="idle in transaction", **leaky)
for s in find(PR + "busy_seconds_total"):
    record(set(s[1]) == POOL_LABELS | {"state", "wait_event_type"} and
           "query_id" not in s[1],
           "profile labels (no query_id by default): %s" % s[1])
expect("opt-in top query ids of the leaky pool",
       "pool_observer_profile_top_busy_seconds_total", ">", 0, **leaky)
per_pool = {}
for s in find("pool_observer_profile_top_busy_seconds_total"):
    key = tuple(sorted((k, v) for k, v in s[1].items() if k != "query_id"))
    per_pool[key] = per_pool.get(key, 0) + 1
record(all(n <= 5 for n in per_pool.values()),
       "at most 5 query ids per pool: %s" % sorted(per_pool.values()))

A = "pool_observer_advice_"
VERDICTS = ["refusing", "leaking", "slow_queries", "undersized", "oversized",
            "ok"]
big = dict(application_name="exp_big", client_addr="local",
           datname="postgres", usename="exp_app")
server_row = dict(application_name="(server)", client_addr="", datname="",
                  usename="")
for v in VERDICTS:
    expect("advice: a series for every verdict of the leaky pool",
           A + "state", "==", 1 if v == "leaking" else 0, verdict=v, **leaky)
    expect("advice: a series for every verdict of the big idle pool",
           A + "state", "==", 1 if v == "oversized" else 0, verdict=v, **big)
srv = find(A + "state", application_name="(server)")
record(sorted(s[1]["verdict"] for s in srv) ==
       sorted(["headroom_low", "oversubscribed", "too_many_active", "ok"]) and
       sum(s[2] for s in srv) == 1,
       "advice: the server row, 4 verdicts, one of them 1: %s" %
       [(s[1]["verdict"], s[2]) for s in srv])
for s in find(A + "state"):
    record(set(s[1]) == POOL_LABELS | {"verdict"} and s[2] in (0, 1),
           "advice labels and a 0/1 value: %s %s" % (s[1], s[2]))
per_pool = {}
for s in find(A + "state"):
    key = tuple(sorted((k, v) for k, v in s[1].items() if k != "verdict"))
    per_pool[key] = per_pool.get(key, 0) + s[2]
record(all(n == 1 for n in per_pool.values()),
       "advice: exactly one verdict per pool: %s" % sorted(per_pool.values()))
expect("advice: recommended size of the big idle pool (shrink)",
       A + "recommended_size", "<", 4, **big)
expect("advice: recommended size at least 2", A + "recommended_size", ">=",
       2, **big)
expect("advice: the big pool's peak", A + "recommended_connections_max", "==",
       4, **big)
record(not find(A + "recommended_size", **leaky),
       "advice: no recommended size for the leaking pool")

W = "pool_observer_worker_"
expect("worker sampled", W + "samples_total", ">", 0)
expect("worker sampled recently", W + "seconds_since_last_sample", "<", 10)
expect("sample cost", W + "sample_seconds_avg", ">", 0)
expect("sample cost max", W + "sample_seconds_max", ">", 0)
expect("events counted", W + "events_total", ">=", 7)
for name in ("events_dropped_total", "history_overwritten_total",
             "actions_taken_total", "actions_suppressed_total"):
    expect("worker counter " + name, W + name, "==", 0)

H = "pool_observer_health_"
expect("health warning (sessions idle in transaction)", H + "status", "==", 1)
expect("health worker running", H + "worker_running", "==", 1)
expect("health sampling enabled", H + "sampling_enabled", "==", 1)
expect("health connections", H + "connections", ">=", 5)
expect("health max_connections", H + "max_connections", ">", 0)
expect("health idle in transaction sessions",
       H + "idle_in_transaction_sessions", "==", 3)
expect("health saturated pools", H + "saturated_pools", ">=", 1)

expect("exporter connected", "pg_up", "==", 1)
expect("queries file loaded", "pg_exporter_user_queries_load_error", "==", 0)
expect("no query failed", "pg_exporter_last_scrape_error", "==", 0)

for name, kind in sorted(types.items()):
    if name.startswith("pool_observer_"):
        record((kind == "counter") == name.endswith("_total"),
               "%s is a %s" % (name, kind))

# Every metric the alert rules and their unit tests use is exported.
used = set()
for group in yaml.safe_load(open(rules_file))["groups"]:
    for rule in group["rules"]:
        used |= set(re.findall(r"\b(pool_observer_\w+|pg_up)\b", rule["expr"]))
for test in yaml.safe_load(open(rules_test_file))["tests"]:
    for series in test.get("input_series", []):
        used.add(series["series"].split("{")[0])
exported = {s[0] for s in samples}
for name in sorted(used):
    record(name in exported, "the alert rules use %s: %s" % (
        name, "exported" if name in exported else "NOT exported"))

if verbose:
    print("%s: %d failure(s)" % ("FAIL" if failures else "PASS",
                                  len(failures)))
sys.exit(1 if failures else 0)
PY

deadline=$((SECONDS + 120))
scraped=
while :; do
	if curl -sf --max-time 30 "http://127.0.0.1:$eport/metrics" >"$metrics.new" 2>/dev/null &&
		grep -q '^pool_observer_health_status' "$metrics.new"; then
		mv "$metrics.new" "$metrics"
		scraped=1
		python3 "$checker" "$metrics" "$rules" "$rules_test" >/dev/null 2>&1 && break
	fi
	if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$exporter_pid" 2>/dev/null; then
		break
	fi
	sleep 0.5
done
if [ -z "$scraped" ]; then
	echo "FAIL: no pool_observer metrics from the exporter within 120s"
	echo "---------- exporter log ----------"
	cat "$TC_DIR/exporter.log"
	TC_FAILED=1
	exit 1
fi

grep -E '^pool_observer_(pool_idle_in_transaction|pool_saturated|episodes_ongoing|health_status|worker_samples_total)' "$metrics" | sed 's/^/    /'
python3 "$checker" "$metrics" "$rules" "$rules_test" verbose || failures=$((failures + 1))

# promtool's linter on the pool_observer part of the scrape.
lint="$(grep -E '^(# (HELP|TYPE) )?pool_observer_' "$metrics" | promtool check metrics 2>&1)"
if [ -z "$lint" ]; then
	echo "PASS: promtool check metrics finds nothing in the pool_observer metrics"
else
	echo "FAIL: promtool check metrics:"
	echo "$lint"
	failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
	TC_FAILED=1
	echo "---------- exporter log ----------"
	tail -n 20 "$TC_DIR/exporter.log"
	echo "FAIL: $failures check(s) failed$([ "$rule_failures" -ne 0 ] && echo ", the rules among them")"
	exit 1
fi
echo "PASS: the exporter exports what the alert rules expect"
exit 0
