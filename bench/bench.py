#!/usr/bin/env python3
"""
pool_observer overhead benchmark driver.

Run by bench/run.sh as the postgres user (initdb refuses root) after the
extension has been built and installed.  Everything it starts lives in
$BENCH_TMP: throwaway clusters on a free port in 58000-58999 listening only on
a Unix socket there, pgbench clients, wake-up calibration sleepers, and (for
the deterministic figure) one postmaster under valgrind --tool=callgrind.
Every wait is bounded; everything started is stopped on exit.

Phases (see bench/README.md for what each column means):
  1. callgrind   instructions per sample per backend (deterministic)
  2. cpu         sampler CPU per second / per pass / per backend, idle and
                 under pgbench load, 10 / 200 / 1000 connections;
                 pool_observer at 100 ms and 10 ms alternating (A B A B) with
                 pg_wait_sampling (defaults) running in the same cluster
  3. tps         pgbench TPS, configurations off / po 100 ms / off (again) /
                 po 10 ms / pg_wait_sampling, interleaved over rounds
  4. reads       time to read full pool_history, events, pools, sessions
                 with 1000 connections, and whether readers stall the sampler

Python 3 standard library only; talks to PostgreSQL through psql / pgbench.
"""
import datetime
import glob
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

# ---------------------------------------------------------------------------
# Settings (environment)
# ---------------------------------------------------------------------------


def env(name, default):
    v = os.environ.get(name)
    return default if v is None or v == "" else v


BIN = env("PGBIN", "/usr/lib/postgresql/15/bin")
TMP = os.environ["BENCH_TMP"]
QUICK = env("BENCH_QUICK", "0") == "1"
ROUNDS = int(env("BENCH_ROUNDS", 1 if QUICK else 3))
SECONDS = float(env("BENCH_SECONDS", 3 if QUICK else 5))
TPS_SECONDS = float(env("BENCH_TPS_SECONDS", 2 if QUICK else 4))
CONNS = [int(x) for x in env("BENCH_CONNECTIONS", "10,200,1000").split(",")]
TPS_CLIENTS = [int(x) for x in env("BENCH_TPS_CLIENTS", "16,200").split(",")]
SCALE = int(env("BENCH_SCALE", 5 if QUICK else 10))
HIST_BUCKETS = int(env("BENCH_HISTORY_BUCKETS", 8 if QUICK else 24))
HIST_POOLS = int(env("BENCH_HISTORY_POOLS", 960))
HIST_CONNS = int(env("BENCH_HISTORY_CONNECTIONS", 1000))
READ_REPS = int(env("BENCH_READ_REPS", 3 if QUICK else 5))
CG_STEP = int(env("BENCH_CG_STEP", 50 if QUICK else 190))
CG_SAMPLES = int(env("BENCH_CG_SAMPLES", 5))
PHASES = env("BENCH_PHASES", "callgrind,cpu,tps,connect,reads,defaults").split(",")
PROFILE_CONNS = [int(x) for x in env("BENCH_PROFILE_CONNECTIONS", "200,1000").split(",")]
CPU_STATES = env("BENCH_CPU_STATES", "idle,load,half").split(",")
CONNECT_SECONDS = float(env("BENCH_CONNECT_SECONDS", 3 if QUICK else 5))
BASELINE_JSON = env("BENCH_BASELINE_JSON", "")
BASELINE_NOTE = env("BENCH_BASELINE_NOTE", "")
PGWS_NOTE = env("BENCH_PGWS_NOTE", "")
DEADLINE = time.time() + float(env("BENCH_TIMEOUT", 2400))
OUT = env("BENCH_OUT", "")
COMMAND = env("BENCH_COMMAND", "make bench")

PKGLIBDIR = subprocess.run([os.path.join(BIN, "pg_config") if os.path.exists(
    os.path.join(BIN, "pg_config")) else "pg_config", "--pkglibdir"],
    capture_output=True, text=True).stdout.strip() or "/usr/lib/postgresql/15/lib"
HAVE_PGWS = env("BENCH_PGWS", "1") == "1" and os.path.exists(
    os.path.join(PKGLIBDIR, "pg_wait_sampling.so"))
if not HAVE_PGWS and not PGWS_NOTE:
    PGWS_NOTE = "pg_wait_sampling is not installed (%s/pg_wait_sampling.so missing)" % PKGLIBDIR
HAVE_VALGRIND = shutil.which("valgrind") is not None

# The empty-pass background worker (bench/empty_pass), built by run.sh into
# BENCH_TMP: a bgworker that wakes every 10 ms and does nothing else.
HAVE_EMPTY = env("BENCH_EMPTY_PASS", "1") == "1" and os.path.exists(
    os.path.join(TMP, "empty_pass.so"))
EMPTY_PERIOD_MS = 10

PGWS_PERIOD_MS = 10     # pg_wait_sampling defaults: profile_period = history_period = 10 ms
T0 = time.time()
STARTED = []            # Popen objects to stop on exit
CLUSTERS = []           # clusters to stop on exit
NOTES = []              # printed with the results


def log(msg):
    sys.stderr.write("[bench %6.1fs] %s\n" % (time.time() - T0, msg))
    sys.stderr.flush()


def note(msg):
    NOTES.append(msg)
    log("NOTE: " + msg)


class Timeout(Exception):
    """A bounded wait ran out."""


class OutOfTime(Exception):
    """The overall limit (BENCH_TIMEOUT) was reached."""


def remaining():
    return DEADLINE - time.time()


def check_deadline(what):
    if remaining() <= 0:
        raise OutOfTime("overall time limit (BENCH_TIMEOUT) reached during " + what)


def run(cmd, timeout=120, check=True, env_extra=None, quiet=False):
    e = dict(os.environ)
    if env_extra:
        e.update(env_extra)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" % (
            r.returncode, " ".join(cmd), r.stdout[-2000:], r.stderr[-2000:]))
    return r


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def mmm(xs, fmt="%.1f"):
    """min / median / max as text."""
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return fmt % xs[0]
    return (fmt + " / " + fmt + " / " + fmt) % (min(xs), med(xs), max(xs))


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def start_proc(cmd, logname, env_extra=None):
    e = dict(os.environ)
    if env_extra:
        e.update(env_extra)
    f = open(os.path.join(TMP, logname), "ab")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=e,
                         start_new_session=True)
    f.close()
    STARTED.append(p)
    return p


def stop_proc(p, sig=signal.SIGTERM, wait=10):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(10)
    if p in STARTED:
        STARTED.remove(p)


def cpu_ns(pid):
    """Time on CPU in ns (first field of /proc/<pid>/schedstat)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def vcsw(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches"):
                return int(line.split()[1])
    return 0


def free_port():
    ports = list(range(58000, 59000))
    random.shuffle(ports)
    for port in ports:
        if os.path.exists("/tmp/.s.PGSQL.%d" % port) or \
                os.path.exists(os.path.join(TMP, ".s.PGSQL.%d" % port)):
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    raise RuntimeError("no free port in 58000-58999")


# ---------------------------------------------------------------------------
# psql session kept open (no connection per query)
# ---------------------------------------------------------------------------

class Session:
    MARK = "__bench_eoq__"

    def __init__(self, cluster, dbname="postgres"):
        cmd = [os.path.join(BIN, "psql"), "-X", "-q", "-A", "-t", "-F", "|",
               "-h", cluster.sockdir, "-p", str(cluster.port), "-d", dbname,
               "-v", "ON_ERROR_STOP=0"]
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL", "-eL"] + cmd
        e = dict(os.environ, PGAPPNAME="bench_monitor", PAGER="", PSQL_PAGER="")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, env=e, start_new_session=True)
        STARTED.append(self.p)
        self.buf = b""

    def q(self, sql, timeout=60, allow_error=False):
        data = sql.strip()
        if not data.endswith(";") and not data.startswith("\\"):
            data += ";"
        data += "\n\\echo " + self.MARK + "\n"
        self.p.stdin.write(data.encode())
        self.p.stdin.flush()
        deadline = time.time() + timeout
        fd = self.p.stdout.fileno()
        while (self.MARK + "\n").encode() not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise Timeout("query timed out: " + sql[:200])
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError("psql exited during: " + sql[:200])
                self.buf += chunk
        out, self.buf = self.buf.split((self.MARK + "\n").encode(), 1)
        lines = [x for x in out.decode(errors="replace").split("\n") if x != ""]
        errs = [x for x in lines if x.startswith(("ERROR:", "FATAL:", "psql:"))]
        if errs and not allow_error:
            raise RuntimeError("query failed: %s\n%s" % (sql[:200], "\n".join(lines[:20])))
        return lines

    def val(self, sql, timeout=60):
        lines = self.q(sql, timeout)
        return lines[0] if lines else None

    def close(self):
        try:
            self.p.stdin.write(b"\\q\n")
            self.p.stdin.flush()
            self.p.wait(5)
        except Exception:
            pass
        stop_proc(self.p)


# ---------------------------------------------------------------------------
# Clusters
# ---------------------------------------------------------------------------

BASE_CONF = """
# --- pool_observer bench ---
listen_addresses = ''
port = {port}
unix_socket_directories = '{sock}'
shared_buffers = {shared_buffers}
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
max_wal_size = 4GB
checkpoint_timeout = 30min
compute_query_id = on
log_line_prefix = '%m [%p] '
include_if_exists = 'bench.conf'
"""


class Cluster:
    def __init__(self, name, shared_buffers="256MB"):
        self.name = name
        self.datadir = os.path.join(TMP, name)
        self.sockdir = TMP
        self.port = free_port()
        self.logfile = os.path.join(TMP, name + ".log")
        self.shared_buffers = shared_buffers
        self.running = False
        self.settings = {}

    def initdb(self):
        run([os.path.join(BIN, "initdb"), "-D", self.datadir, "-A", "trust",
             "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"], timeout=120)
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write(BASE_CONF.format(port=self.port, sock=self.sockdir,
                                     shared_buffers=self.shared_buffers))

    def write_conf(self, settings):
        self.settings = dict(settings)
        with open(os.path.join(self.datadir, "bench.conf"), "w") as f:
            for k, v in settings.items():
                if isinstance(v, str):
                    f.write("%s = '%s'\n" % (k, v.replace("'", "''")))
                else:
                    f.write("%s = %s\n" % (k, v))

    def start(self, settings, timeout=120):
        self.write_conf(settings)
        run([os.path.join(BIN, "pg_ctl"), "-D", self.datadir, "-l", self.logfile,
             "-w", "-t", str(timeout), "start"], timeout=timeout + 10)
        self.running = True
        if self not in CLUSTERS:
            CLUSTERS.append(self)

    def stop(self, mode="fast"):
        if not self.running:
            return
        run([os.path.join(BIN, "pg_ctl"), "-D", self.datadir, "-m", mode, "-w",
             "-t", "120", "stop"], timeout=130, check=False)
        self.running = False

    def reload(self, sess, settings):
        self.write_conf(settings)
        sess.q("SELECT pg_reload_conf()")

    def pgbench(self, args, timeout=600, env_extra=None):
        return run([os.path.join(BIN, "pgbench"), "-h", self.sockdir, "-p", str(self.port)]
                   + args + ["postgres"], timeout=timeout, env_extra=env_extra)

    def pgbench_bg(self, args, logname, appname):
        return start_proc([os.path.join(BIN, "pgbench"), "-h", self.sockdir, "-p",
                           str(self.port)] + args + ["postgres"], logname,
                          env_extra={"PGAPPNAME": appname})


def write_script(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_clients(sess, like, n, timeout, extra="", procs=()):
    deadline = time.time() + timeout
    got = -1
    while time.time() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError("pgbench (%s) exited with status %s; see its log in %s"
                               % (like, dead[0].returncode, TMP))
        got = int(sess.val("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                           "'client backend' AND application_name LIKE '%s' %s" % (like, extra)))
        if got >= n:
            return got
        time.sleep(0.3)
    raise Timeout("only %d of %d connections (%s) after %ds" % (got, n, like, timeout))


def wait_gone(sess, like, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = int(sess.val("SELECT count(*) FROM pg_stat_activity WHERE "
                           "application_name LIKE '%s'" % like))
        if got == 0:
            return
        time.sleep(0.3)
    note("connections %s still present after %ds" % (like, timeout))


# pgbench 15 overflows a \\sleep of more than ~2147 s and then does not sleep at all
IDLE_SQL = "\\sleep 600 s\n"
LONG_TEXT = "x" * 1000
IDLE_LONG_SQL = "SELECT 1 /* %s */;\n\\sleep 600 s\n" % LONG_TEXT


# a busy client: active in pg_sleep, one of three statements (three query ids)
BUSY3_SQL = ("\\set k random(1, 3)\n\\if :k = 1\nSELECT pg_sleep(%(s)s);\n"
             "\\elif :k = 2\nSELECT pg_sleep(%(s)s), 2;\n"
             "\\else\nSELECT pg_sleep(%(s)s), 3, 3;\n\\endif\n")


def hold_idle(cl, n, pools, prefix):
    """n idle connections spread over `pools` pgbench processes (one
    application_name, hence one pool, each)."""
    script = write_script("idle.sql", IDLE_SQL)
    procs = []
    per = [n // pools + (1 if i < n % pools else 0) for i in range(pools)]
    for i, c in enumerate(per):
        if c == 0:
            continue
        procs.append(cl.pgbench_bg(["-n", "-f", script, "-c", str(c), "-j", "1",
                                    "-T", "3600"], "pgbench-hold.log", "%s%d" % (prefix, i)))
    return procs


# ---------------------------------------------------------------------------
# Wake-up floor sleepers
# ---------------------------------------------------------------------------

class Sleeper:
    def __init__(self, period_ms):
        self.period = period_ms
        exe = os.path.join(TMP, "wakeup")
        if os.access(exe, os.X_OK):
            self.kind = "C poll()"
            cmd = [exe, str(period_ms)]
        else:
            self.kind = "python time.sleep()"
            cmd = [sys.executable, "-c",
                   "import time\nwhile True: time.sleep(%f)" % (period_ms / 1000.0)]
        self.p = start_proc(cmd, "sleeper.log")

    def snap(self):
        return cpu_ns(self.p.pid), vcsw(self.p.pid)

    def stop(self):
        stop_proc(self.p)


# ---------------------------------------------------------------------------
# Phase 1: callgrind, instructions per sample
# ---------------------------------------------------------------------------

def cg_totals(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("totals:"):
                return int(line.split()[1])
    return None


def phase_callgrind(R):
    if not HAVE_VALGRIND:
        note("valgrind not found: no instruction counts")
        return
    check_deadline("callgrind")
    log("callgrind: starting a postmaster under valgrind --tool=callgrind")
    cl = Cluster("cg", shared_buffers="32MB")
    cl.initdb()
    outdir = os.path.join(TMP, "callgrind")
    os.makedirs(outdir, exist_ok=True)
    settings = {
        "shared_preload_libraries": "pool_observer",
        "max_connections": 3 * CG_STEP + 40,
        "pool_observer.sample_interval": 3600000,   # samples only on sample_now()
        "pool_observer.history_interval": 3600,
        "pool_observer.saturation_threshold": -1,    # no episodes: constant work
        "pool_observer.churn_threshold": -1,
        "pool_observer.max_connections_warn": -1,
        # session detection on (as by default) but never reached, so that the
        # busy step opens no episode: constant work
        "pool_observer.slow_statement_threshold": 86400000,
        "pool_observer.long_transaction_threshold": 86400000,
        "pool_observer.idle_in_transaction_threshold": 86400000,
        "pool_observer.lock_wait_threshold": 86400000,
        "max_worker_processes": 4,
    }
    cl.write_conf(settings)
    vg = start_proc(["valgrind", "--tool=callgrind", "--trace-children=yes",
                     "--toggle-collect=po_sample_once", "--dump-after=po_sample_once",
                     "--callgrind-out-file=%s/cg.%%p" % outdir,
                     "--log-file=%s/vg.%%p.log" % outdir,
                     os.path.join(BIN, "postgres"), "-D", cl.datadir], "cg-postmaster.log")
    holders = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if run([os.path.join(BIN, "pg_isready"), "-q", "-h", cl.sockdir, "-p",
                    str(cl.port)], check=False).returncode == 0:
                break
            if vg.poll() is not None:
                raise RuntimeError("postmaster under valgrind exited; see %s" % outdir)
            time.sleep(1)
        else:
            raise Timeout("postmaster under valgrind did not start in 180 s")
        sess = Session(cl)
        sess.q("CREATE EXTENSION IF NOT EXISTS pool_observer", timeout=120)
        wpid = int(sess.val("SELECT pid FROM pool_observer.worker", timeout=60))

        def dumps():
            out = {}
            for path in glob.glob(os.path.join(outdir, "cg.%d.*" % wpid)):
                try:
                    out[int(path.rsplit(".", 1)[1])] = path
                except ValueError:
                    pass
            return out

        # builds without the busy-time profile (e.g. the BENCH_BASELINE commit) have
        # no pool_observer.profile: one measurement per step, profile "n/a"
        has_profile = sess.val("SELECT count(*) FROM pg_settings WHERE name = "
                               "'pool_observer.profile'") == "1"

        def measure(label, profile=None):
            if profile is not None:
                cl.reload(sess, dict(cl.settings, **{"pool_observer.profile": profile}))
                time.sleep(0.5)
            for _ in range(3):                      # warm-up samples, not counted
                sess.q("SELECT pool_observer.sample_now()", timeout=120)
            before = set(dumps())
            for _ in range(CG_SAMPLES):
                sess.q("SELECT pool_observer.sample_now()", timeout=120)
            time.sleep(0.5)
            new = dumps()
            idx = sorted(set(new) - before)
            irs = [cg_totals(new[i]) for i in idx]
            irs = [x for x in irs if x is not None]
            nb = int(sess.val("SELECT count(*) FROM pg_stat_activity"))
            nc = int(sess.val("SELECT count(*) FROM pg_stat_activity WHERE "
                              "backend_type = 'client backend'"))
            method = sess.val("SHOW pool_observer.sampling_method")
            prof = sess.val("SHOW pool_observer.profile") if has_profile else "n/a"
            row = {"label": label, "backends": nb, "clients": nc, "samples": len(irs),
                   "ir": irs, "ir_median": med(irs), "method": method, "profile": prof,
                   "step": label}
            R["callgrind"].append(row)
            log("callgrind %-28s profile=%-3s backends=%4d  Ir/sample median=%s (%s)" %
                (label, prof, nb, "%.0f" % row["ir_median"] if irs else "n/a", irs))
            return row

        def measure_both(label):
            """profile off, then on (the default); once if there is no profile"""
            if not has_profile:
                return measure(label)
            measure(label, "off")
            return measure(label, "on")

        short = write_script("cg_idle.sql", IDLE_SQL)
        longs = write_script("cg_idle_long.sql", IDLE_LONG_SQL)
        # A: 10 idle connections that never ran a query (empty query text)
        holders.append(cl.pgbench_bg(["-n", "-f", short, "-c", "10", "-j", "1", "-T", "3600"],
                                     "pgbench-cg.log", "bench_cg_a"))
        wait_clients(sess, "bench_cg_a", 10, 120, procs=holders)
        measure_both("10 idle")
        check_deadline("callgrind")
        # B: CG_STEP more, still no query text
        holders.append(cl.pgbench_bg(["-n", "-f", short, "-c", str(CG_STEP), "-j", "2",
                                      "-T", "3600"], "pgbench-cg.log", "bench_cg_b"))
        wait_clients(sess, "bench_cg_b", CG_STEP, 300, procs=holders)
        measure_both("%d idle" % (10 + CG_STEP))
        check_deadline("callgrind")
        # C: CG_STEP more whose last query is 1 kB of text
        holders.append(cl.pgbench_bg(["-n", "-f", longs, "-c", str(CG_STEP), "-j", "2",
                                      "-T", "3600"], "pgbench-cg.log", "bench_cg_c"))
        wait_clients(sess, "bench_cg_c", CG_STEP, 300, procs=holders,
                     extra="AND state = 'idle' AND length(query) > 1000")
        measure_both("+%d idle, 1 kB query text" % CG_STEP)
        check_deadline("callgrind")
        # E: CG_STEP more busy ones (active, waiting in pg_sleep, three query ids):
        # what the busy-time profile costs per busy backend
        busy = write_script("cg_busy.sql", BUSY3_SQL % {"s": 3000})
        holders.append(cl.pgbench_bg(["-n", "-f", busy, "-c", str(CG_STEP), "-j", "2",
                                      "-T", "3600"], "pgbench-cg.log", "bench_cg_e"))
        wait_clients(sess, "bench_cg_e", CG_STEP, 300, procs=holders,
                     extra="AND state = 'active'")
        measure_both("+%d busy (pg_sleep)" % CG_STEP)
        # D: the same population read through the pgstat snapshot interface
        cl.reload(sess, dict(cl.settings, **{"pool_observer.sampling_method": "pgstat"}))
        time.sleep(1)
        measure("same, sampling_method=pgstat")
        sess.close()
    finally:
        for h in holders:
            stop_proc(h)
        # immediate shutdown: nothing to keep
        if vg.poll() is None:
            os.kill(vg.pid, signal.SIGQUIT)
            try:
                vg.wait(60)
            except subprocess.TimeoutExpired:
                pass
        stop_proc(vg, signal.SIGKILL)
        shutil.rmtree(cl.datadir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Phase 2: sampler CPU
# ---------------------------------------------------------------------------

def passes_of(dt, period_ms, slept):
    """Passes of a process that sleeps once per pass: the smaller of the nominal
    count (window / period) and its sleeps (voluntary context switches)."""
    nominal = dt * 1000.0 / period_ms
    return min(nominal, slept) if slept > 0 else nominal


def pools_for(n):
    return max(1, min(50, n // 20))


def worker_us(sess):
    """The sampler's samples so far and their summed duration in µs (worker view:
    samples x sample_us_avg), i.e. the time spent inside samples, without the sleep
    and the wake-up between them."""
    v = sess.val("SELECT samples, samples * sample_us_avg FROM pool_observer.worker")
    n, us = v.split("|")
    return int(n), float(us or 0)


def phase_cpu(R, cl):
    check_deadline("cpu")
    sleepers = {100: Sleeper(100), 10: Sleeper(10)}
    R["meta"]["sleeper"] = sleepers[10].kind
    try:
        for n in CONNS:
            check_deadline("cpu")
            libs = "pool_observer,pg_wait_sampling" if HAVE_PGWS else "pool_observer"
            settings = {"shared_preload_libraries": libs,
                        "max_connections": max(100, n + 100),
                        "pool_observer.sample_interval": 100}
            if HAVE_EMPTY:
                settings["shared_preload_libraries"] += ",empty_pass"
                settings["dynamic_library_path"] = "%s:$libdir" % TMP
            cl.start(settings)
            sess = Session(cl)
            sess.q("CREATE EXTENSION IF NOT EXISTS pool_observer")
            states = [st for st in ["idle", "load"] + (["half"] if n in PROFILE_CONNS else [])
                      if st in CPU_STATES]
            for state in states:
                check_deadline("cpu")
                if state == "idle":
                    procs = hold_idle(cl, n, pools_for(n), "bench_idle_")
                    like = "bench_idle_%"
                elif state == "half":
                    # half idle, half busy (active in pg_sleep(0.5), three query ids)
                    hp = max(1, pools_for(n) // 2)
                    procs = hold_idle(cl, n - n // 2, hp, "bench_half_i")
                    busy = write_script("half_busy.sql", BUSY3_SQL % {"s": 0.5})
                    per = [(n // 2) // hp + (1 if i < (n // 2) % hp else 0) for i in range(hp)]
                    procs += [cl.pgbench_bg(["-n", "-f", busy, "-c", str(c), "-j", "1",
                                             "-T", "3600"], "pgbench-half.log",
                                            "bench_half_b%d" % i)
                              for i, c in enumerate(per) if c]
                    like = "bench_half_%"
                else:
                    procs = [cl.pgbench_bg(["-n", "-S", "-c", str(n), "-j", str(min(4, n)),
                                            "-T", "3600"], "pgbench-load.log", "bench_load")]
                    like = "bench_load"
                wait_clients(sess, like, n, 180, procs=procs)
                time.sleep(1.0)
                wpid = int(sess.val("SELECT pid FROM pool_observer.worker"))
                gpid = None
                if HAVE_PGWS:
                    v = sess.val("SELECT pid FROM pg_stat_activity WHERE backend_type = "
                                 "'pg_wait_sampling collector'")
                    gpid = int(v) if v else None
                epid = None
                if HAVE_EMPTY:
                    v = sess.val("SELECT pid FROM pg_stat_activity WHERE backend_type = "
                                 "'empty pass'")
                    epid = int(v) if v else None
                nb = int(sess.val("SELECT count(*) FROM pg_stat_activity"))
                for r in range(ROUNDS):
                    if state == "half":     # profile on / off at 10 ms, order alternating
                        windows = [(10, "on"), (10, "off")][::1 if r % 2 == 0 else -1]
                    else:
                        windows = [(100, "on"), (10, "on")]
                    for interval, prof in windows:
                        check_deadline("cpu")
                        cl.reload(sess, dict(settings, **{"pool_observer.sample_interval": interval,
                                                          "pool_observer.profile": prof}))
                        time.sleep(0.5)
                        sl = sleepers[interval]
                        s0, u0 = worker_us(sess)
                        t0 = time.monotonic()
                        c0 = cpu_ns(wpid)
                        g0 = cpu_ns(gpid) if gpid else 0
                        gv0 = vcsw(gpid) if gpid else 0
                        e0 = (cpu_ns(epid), vcsw(epid)) if epid else (0, 0)
                        f0 = sl.snap()
                        time.sleep(SECONDS)
                        f1 = sl.snap()
                        g1 = cpu_ns(gpid) if gpid else 0
                        gv1 = vcsw(gpid) if gpid else 0
                        e1 = (cpu_ns(epid), vcsw(epid)) if epid else (0, 0)
                        c1 = cpu_ns(wpid)
                        t1 = time.monotonic()
                        s1, u1 = worker_us(sess)
                        dt = t1 - t0
                        row = {"conns": n, "state": state, "round": r, "interval": interval,
                               "profile": prof, "backends": nb, "dt": dt,
                               "po_cpu_ns": c1 - c0, "po_passes": s1 - s0,
                               "po_in_sample_us": u1 - u0,
                               "floor_cpu_ns": f1[0] - f0[0], "floor_wakeups": f1[1] - f0[1]}
                        if gpid:
                            # each pass ends in one sleep: neither figure
                            # is below its passes, the smaller is closer
                            row.update({"pgws_cpu_ns": g1 - g0,
                                        "pgws_passes": passes_of(dt, PGWS_PERIOD_MS, gv1 - gv0),
                                        "pgws_wakeups": gv1 - gv0})
                        if epid:
                            row.update({"empty_cpu_ns": e1[0] - e0[0],
                                        "empty_passes": passes_of(dt, EMPTY_PERIOD_MS,
                                                                  e1[1] - e0[1])})
                        R["cpu"].append(row)
                        log("cpu n=%d %s r%d po@%dms profile %s: %.1f us/pass %.3f%% core; pgws %s; floor %.1f us"
                            % (n, state, r, interval, prof,
                               row["po_cpu_ns"] / 1e3 / max(1, row["po_passes"]),
                               row["po_cpu_ns"] / dt / 1e7,
                               ("%.1f us/pass" % (row["pgws_cpu_ns"] / 1e3 / row["pgws_passes"]))
                               if gpid else "-",
                               row["floor_cpu_ns"] / 1e3 / max(1, row["floor_wakeups"])))
                for p in procs:
                    stop_proc(p, signal.SIGINT)
                wait_gone(sess, like, 60)
            sess.close()
            cl.stop()
    finally:
        for s in sleepers.values():
            s.stop()
        cl.stop("immediate")


# ---------------------------------------------------------------------------
# Phase 3: TPS, interleaved configurations
# ---------------------------------------------------------------------------

def tps_configs():
    cfgs = [("off", {"shared_preload_libraries": ""}),
            ("po100", {"shared_preload_libraries": "pool_observer",
                       "pool_observer.sample_interval": 100}),
            ("off2", {"shared_preload_libraries": ""}),
            ("po10", {"shared_preload_libraries": "pool_observer",
                      "pool_observer.sample_interval": 10})]
    if HAVE_PGWS:
        cfgs.append(("pgws", {"shared_preload_libraries": "pg_wait_sampling"}))
    return cfgs


def parse_tps(out):
    m = re.search(r"tps = ([0-9.]+) \((without|excluding) initial connection", out)
    if not m:
        m = re.search(r"tps = ([0-9.]+)", out)
    return float(m.group(1)) if m else None


def phase_tps(R, cl):
    check_deadline("tps")
    base = {"max_connections": max(TPS_CLIENTS) + 50}
    cfgs = tps_configs()
    workloads = [(mode, c) for mode in ("select-only", "tpcb") for c in TPS_CLIENTS]
    # one unmeasured run first, so that no configuration gets the cold start
    cl.start(dict(base, **cfgs[0][1]))
    cl.pgbench(["-n", "-c", "16", "-j", "2", "-T", str(int(max(1, TPS_SECONDS)))],
               timeout=TPS_SECONDS + 120)
    cl.stop()
    for r in range(ROUNDS):
        order = cfgs[r % len(cfgs):] + cfgs[:r % len(cfgs)]
        for name, cfg in order:
            check_deadline("tps")
            cl.start(dict(base, **cfg))
            run([os.path.join(BIN, "psql"), "-X", "-q", "-h", cl.sockdir, "-p", str(cl.port),
                 "-c", "VACUUM pgbench_branches, pgbench_tellers, pgbench_history",
                 "postgres"], timeout=120)
            cl.pgbench(["-n", "-S", "-c", "4", "-j", "2", "-T", "1"], timeout=60)  # warm cache
            for mode, c in workloads:
                args = ["-n", "-c", str(c), "-j", "2", "-T", str(int(max(1, TPS_SECONDS)))]
                if mode == "select-only":
                    args.insert(0, "-S")
                res = cl.pgbench(args, timeout=TPS_SECONDS + 120)
                tps = parse_tps(res.stdout)
                R["tps"].append({"round": r, "config": name, "mode": mode, "clients": c,
                                 "tps": tps})
                log("tps r%d %-5s %-11s c=%3d  %.0f" % (r, name, mode, c, tps or -1))
            cl.stop()


# ---------------------------------------------------------------------------
# Phase 3b: connection time (pgbench -C), with and without the extension
# ---------------------------------------------------------------------------

def parse_conn_ms(out):
    m = re.search(r"average connection time = ([0-9.]+) ms", out)
    return float(m.group(1)) if m else None


def phase_connect(R, cl):
    """A new connection per transaction (`pgbench -C -S -c 4`): what the
    ClientAuthentication hook and emit_log_hook add to connecting."""
    check_deadline("connect")
    base = {"max_connections": 100}
    cfgs = [("off", {"shared_preload_libraries": ""}),
            ("po", {"shared_preload_libraries": "pool_observer"}),
            ("off2", {"shared_preload_libraries": ""})]
    for r in range(ROUNDS):
        order = cfgs[r % len(cfgs):] + cfgs[:r % len(cfgs)]
        for name, cfg in order:
            check_deadline("connect")
            cl.start(dict(base, **cfg))
            if name == "po":
                run([os.path.join(BIN, "psql"), "-X", "-q", "-h", cl.sockdir, "-p",
                     str(cl.port), "-c", "CREATE EXTENSION IF NOT EXISTS pool_observer",
                     "postgres"], timeout=60)
            cl.pgbench(["-n", "-C", "-S", "-c", "4", "-j", "2", "-T", "1"], timeout=60)  # warm
            res = cl.pgbench(["-n", "-C", "-S", "-c", "4", "-j", "2",
                              "-T", str(int(max(1, CONNECT_SECONDS)))],
                             timeout=CONNECT_SECONDS + 120)
            row = {"round": r, "config": name, "conn_ms": parse_conn_ms(res.stdout),
                   "tps": parse_tps(res.stdout)}
            m = re.search(r"number of transactions actually processed: (\d+)", res.stdout)
            row["xacts"] = int(m.group(1)) if m else None
            R["connect"].append(row)
            log("connect r%d %-4s avg connection %.3f ms, tps %.0f" %
                (r, name, row["conn_ms"] or -1, row["tps"] or -1))
            cl.stop()


# ---------------------------------------------------------------------------
# Phase 4: reading everything with 1000 connections; readers vs the sampler
# ---------------------------------------------------------------------------

def explain_ms(sess, view):
    lines = sess.q("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM pool_observer.%s"
                   % view, timeout=120)
    rows = ms = None
    for line in lines:
        m = re.search(r"actual rows=(\d+)", line)
        if m and rows is None:
            rows = int(m.group(1))
        m = re.search(r"Execution Time: ([0-9.]+) ms", line)
        if m:
            ms = float(m.group(1))
    return rows, ms


def client_ms(sess, view):
    lines = sess.q("\\timing on\n\\o /dev/null\nSELECT * FROM pool_observer.%s;\n\\o\n\\timing off"
                   % view, timeout=120)
    for line in lines:
        m = re.search(r"Time: ([0-9.]+) ms", line)
        if m:
            return float(m.group(1))
    return None


def sampler_durations(sess, seconds):
    """Poll the worker view; return the duration (us) of every distinct sample
    seen and the number of samples taken in the interval."""
    seen = {}
    deadline = time.time() + seconds
    s_first = None
    while time.time() < deadline:
        line = sess.val("SELECT samples, sample_us_last FROM pool_observer.worker")
        n, us = line.split("|")
        n = int(n)
        if s_first is None:
            s_first = n
        seen[n] = float(us)
        time.sleep(0.002)
    s_last = max(seen)
    durs = [v for k, v in seen.items() if k != s_first]
    return durs, s_last - s_first


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def phase_reads(R, cl):
    check_deadline("reads")
    n = HIST_CONNS
    settings = {"shared_preload_libraries": "pool_observer",
                "max_connections": n + 100,
                # room for the few other pools (this session, the slow and reader
                # clients): no overflow pool, so that every client pool has its own
                # row in every bucket, as the report says (advice() handles the
                # overflow pool's NULL key since ed4235a; test/t/040 covers it)
                "pool_observer.max_pools": HIST_POOLS + 8,
                "pool_observer.history_size": HIST_BUCKETS,
                "pool_observer.history_interval": 1,
                "pool_observer.max_profile_entries": 4 * HIST_POOLS,
                "pool_observer.slow_statement_threshold": -1,
                "pool_observer.sample_interval": 100}
    cl.start(settings)
    sess = Session(cl)
    sess.q("CREATE EXTENSION IF NOT EXISTS pool_observer")
    sess.q("SELECT pool_observer.reset()")
    script = write_script("hist.sql",
                          "SELECT set_config('application_name', 'bench_h' || "
                          "(:client_id %% %d), false);\n" % HIST_POOLS +
                          BUSY3_SQL % {"s": 600})   # busy: the profile fills too
    holder = cl.pgbench_bg(["-n", "-f", script, "-c", str(n), "-j", "4", "-T", "3600"],
                           "pgbench-hist.log", "bench_hist")
    procs = [holder]
    try:
        wait_clients(sess, "bench_h%", n, 240, procs=procs)
        # fill every bucket while 1000 connections in HIST_POOLS pools are present;
        # meanwhile measure the sampler with that many pools
        wpid = int(sess.val("SELECT pid FROM pool_observer.worker"))
        time.sleep(1.0)
        s0 = int(sess.val("SELECT samples FROM pool_observer.worker"))
        c0, t0 = cpu_ns(wpid), time.monotonic()
        time.sleep(HIST_BUCKETS + 2)
        c1, t1 = cpu_ns(wpid), time.monotonic()
        s1 = int(sess.val("SELECT samples FROM pool_observer.worker"))
        R["reads"]["many_pools_cpu"] = {"conns": n, "pools": HIST_POOLS, "interval": 100,
                                        "cpu_ns": c1 - c0, "passes": s1 - s0, "dt": t1 - t0}
        check_deadline("reads")
        # fill the event ring: slow statements (pg_sleep 30 ms, threshold 5 ms)
        ev_settings = dict(settings, **{"pool_observer.slow_statement_threshold": 5,
                                        "pool_observer.sample_interval": 10})
        cl.reload(sess, ev_settings)
        time.sleep(0.5)
        slow = write_script("slow.sql", "SELECT pg_sleep(0.03);\n")
        cl.pgbench(["-n", "-f", slow, "-c", "16", "-j", "2", "-T", "4"], timeout=60,
                   env_extra={"PGAPPNAME": "bench_slow"})
        cl.reload(sess, settings)
        time.sleep(1.0)
        R["reads"]["events_total"] = int(sess.val("SELECT events_total FROM pool_observer.worker"))
        R["reads"]["buckets"] = int(sess.val(
            "SELECT count(DISTINCT bucket_start) FROM pool_observer.pool_history"))
        R["reads"]["max_events"] = int(sess.val("SHOW pool_observer.max_events"))
        views = ["pool_history", "profile_history", "advice", "server_history", "events",
                 "pools", "sessions", "profile", "pool_counters"]
        for v in views:
            rows, ex, cli = None, [], []
            try:
                explain_ms(sess, v)
            except RuntimeError as e:       # one failing view must not lose the others
                note("reading %s failed: %s" % (v, str(e).split("\n", 2)[1:2]))
                continue
            for _ in range(READ_REPS):
                rws, ms = explain_ms(sess, v)
                rows = rws
                if ms is not None:
                    ex.append(ms)
                c = client_ms(sess, v)
                if c is not None:
                    cli.append(c)
            R["reads"]["views"].append({"view": v, "rows": rows, "exec_ms": ex, "client_ms": cli})
            log("read %-14s rows=%s exec ms %s client ms %s" % (v, rows, mmm(ex, "%.2f"),
                                                               mmm(cli, "%.2f")))
        check_deadline("reads")
        # readers vs the sampler: per-sample durations at 10 ms, quiet vs while
        # another session reads the full history and events in a loop
        cl.reload(sess, dict(settings, **{"pool_observer.sample_interval": 10}))
        time.sleep(1.0)
        quiet, qn = sampler_durations(sess, 3.0)
        loop = write_script("reader.sql", "SELECT count(*) FROM pool_observer.pool_history;\n"
                            "SELECT count(*) FROM pool_observer.events;\n" * 500)
        reader = start_proc([os.path.join(BIN, "psql"), "-X", "-q", "-h", cl.sockdir, "-p",
                             str(cl.port), "-f", loop, "-o", "/dev/null", "postgres"],
                            "reader.log", env_extra={"PGAPPNAME": "bench_reader"})
        procs.append(reader)
        time.sleep(0.3)
        busy, bn = sampler_durations(sess, 3.0)
        reads_done = None
        stop_proc(reader)
        R["reads"]["stall"] = {"quiet_us": quiet, "quiet_samples": qn,
                               "busy_us": busy, "busy_samples": bn, "seconds": 3.0}
        log("stall: quiet p50 %.0f p99 %.0f max %.0f us (%d samples); reading p50 %.0f p99 %.0f "
            "max %.0f us (%d samples)" % (pct(quiet, 50), pct(quiet, 99), max(quiet or [0]), qn,
                                          pct(busy, 50), pct(busy, 99), max(busy or [0]), bn))
    finally:
        for p in procs:
            stop_proc(p, signal.SIGINT)
        sess.close()
        cl.stop("immediate")


def phase_defaults(R, cl):
    """Reads at the default sizes (issues 13 and 15): history_size and max_pools
    as shipped, history_interval 1 s, every pool busy in every bucket; the full
    pool_history and profile_history against advice (its default 1-hour window
    covers all 360 buckets)."""
    check_deadline("defaults")
    settings = {"shared_preload_libraries": "pool_observer",
                "max_connections": 200,
                "pool_observer.history_interval": 1,
                "pool_observer.sample_interval": 100}
    cl.start(settings)
    sess = Session(cl)
    sess.q("CREATE EXTENSION IF NOT EXISTS pool_observer")
    buckets = int(sess.val("SHOW pool_observer.history_size"))
    pools = int(sess.val("SHOW pool_observer.max_pools"))
    n = pools - 1                       # and this session's pool: max_pools in all
    script = write_script("defaults.sql",
                          "SELECT set_config('application_name', 'bench_d' || :client_id, "
                          "false);\n" + BUSY3_SQL % {"s": 3600})
    holder = cl.pgbench_bg(["-n", "-f", script, "-c", str(n), "-j", "2", "-T", "7200"],
                           "pgbench-defaults.log", "bench_defaults")
    D = R["defaults"] = {"buckets": buckets, "max_pools": pools, "conns": n, "reads": []}
    try:
        wait_clients(sess, "bench_d%", n, 240, procs=[holder],
                     extra="AND state = 'active'")
        sess.q("SELECT pool_observer.reset()")
        log("defaults: filling %d buckets of 1 s with %d busy pools" % (buckets, n))
        deadline = time.time() + buckets + 60
        while time.time() < deadline:
            check_deadline("defaults")
            got = int(sess.val("SELECT count(*) FROM pool_observer.server_history"))
            if got >= buckets:
                break
            time.sleep(2)
        time.sleep(1.5)
        D["filled"] = int(sess.val("SELECT count(*) FROM pool_observer.server_history"))
        for q in ("pool_history", "profile_history", "advice", "advice('1 hour')"):
            rows, ex = None, []
            for _ in range(READ_REPS):
                rws, ms = explain_ms(sess, q)
                rows = rws
                if ms is not None:
                    ex.append(ms)
            D["reads"].append({"view": q, "rows": rows, "exec_ms": ex})
            log("defaults: read %-16s rows=%s exec ms %s" % (q, rows, mmm(ex, "%.2f")))
    finally:
        stop_proc(holder, signal.SIGINT)
        sess.close()
        cl.stop("immediate")


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def cg_summary(cg):
    """per profile setting: marginal Ir per idle / long-text / busy backend, fixed part"""
    out = {}
    for prof in ("off", "on", "n/a"):
        rows = [r for r in cg if r.get("profile", "n/a") == prof and r["method"] != "pgstat"
                and r["ir"]]
        if len(rows) < 2:
            continue
        a, b = rows[0], rows[1]
        c = {"marg": (b["ir_median"] - a["ir_median"]) / max(1, b["backends"] - a["backends"])}
        c["fixed"] = a["ir_median"] - c["marg"] * a["backends"]
        c["avg"] = b["ir_median"] / max(1, b["clients"])
        c["clients"] = b["clients"]
        c["ir_b"] = b["ir_median"]
        if len(rows) >= 3:
            d = rows[2]
            c["marg_long"] = (d["ir_median"] - b["ir_median"]) / max(1, d["backends"] - b["backends"])
        if len(rows) >= 4:
            d, e = rows[2], rows[3]
            c["marg_busy"] = (e["ir_median"] - d["ir_median"]) / max(1, e["backends"] - d["backends"])
        out[prof] = c
    return out


def report(R):
    out = []
    P = out.append
    m = R["meta"]
    P("# pool_observer overhead benchmark")
    P("")
    P("- date: %s" % m["date"])
    P("- command: `%s`" % m["command"])
    P("- machine: %s" % m["machine"])
    P("- PostgreSQL: %s; pool_observer %s; pg_wait_sampling: %s" %
      (m["pg_version"], m["po_version"], m["pgws_version"]))
    P("- rounds: %d; CPU window %.0f s; TPS run %.0f s; pgbench scale %d; total %.0f s" %
      (ROUNDS, SECONDS, TPS_SECONDS, SCALE, m.get("elapsed", 0)))
    P("- clusters: fsync/synchronous_commit/full_page_writes off, autovacuum off, "
      "shared_buffers 256MB, Unix socket only")
    P("")
    summary = {}

    # ---- callgrind
    cg = R["callgrind"]
    if cg:
        P("## Instructions per sample (callgrind, deterministic)")
        P("")
        P("Inclusive instructions (Ir) of `po_sample_once()` per call, median of %d samples "
          "taken with `sample_now()` (no timing involved); max_connections = %d (every "
          "status slot up to it is looked at, so the fixed part grows with it). Each step is "
          "measured with `pool_observer.profile` = off, then on (reload)." %
          (CG_SAMPLES, 3 * CG_STEP + 40))
        P("")
        P("| step | backends in status array | client connections | sampling_method | profile | Ir per sample |")
        P("| --- | ---: | ---: | --- | --- | ---: |")
        for row in cg:
            P("| %s | %d | %d | %s | %s | %s |" % (
                row.get("step", row["label"]), row["backends"], row["clients"], row["method"],
                row.get("profile", "n/a"),
                "{:,.0f}".format(row["ir_median"]) if row["ir"] else "n/a"))
        P("")
        cs = cg_summary(cg)
        summary["cg"] = cs
        for prof in ("off", "on", "n/a"):
            c = cs.get(prof)
            if not c or "marg" not in c:
                continue
            P("- profile %s: per additional idle backend (marginal) **%.0f instructions** "
              "(empty query text), %.0f with 1 kB query text%s; fixed part about %s; average "
              "per backend at %d connections (whole sample / connections) %.0f" %
              (prof, c["marg"], c.get("marg_long", float("nan")),
               ("; per additional busy backend **%.0f**" % c["marg_busy"])
               if "marg_busy" in c else "", "{:,.0f}".format(c["fixed"]), c["clients"],
               c["avg"]))
        if "on" in cs and "off" in cs and "marg_busy" in cs["on"] and "marg_busy" in cs["off"]:
            P("- the profile's own cost per busy backend (on − off): %.0f instructions" %
              (cs["on"]["marg_busy"] - cs["off"]["marg_busy"]))
        pg = [r for r in cg if r["method"] == "pgstat" and r["ir"]]
        ref = [r for r in cg if r["method"] != "pgstat" and r["ir"] and
               r["backends"] == (pg[0]["backends"] if pg else -1) and
               r.get("profile") == (pg[0].get("profile") if pg else None)]
        if pg and ref:
            P("- pgstat snapshot method on the same %d backends: %s instructions per sample "
              "(%.1fx the direct read)" % (pg[0]["backends"], "{:,.0f}".format(pg[0]["ir_median"]),
                                          pg[0]["ir_median"] / ref[-1]["ir_median"]))
        P("- note: callgrind counts each iteration of `rep movs`/`rep stos` as an instruction; "
          "the per-sample publish of the pool table (memcpy) inflates the fixed part.")
        P("")
        bl = R.get("baseline")
        if bl and bl.get("callgrind"):
            b = cg_summary(bl["callgrind"])
            b = b.get("n/a") or b.get("off") or {}
            summary["cg_base"] = b
            if "marg" in b:
                P("### Before / after the restructure (issue 10)")
                P("")
                P("Same driver, same settings, same steps; *before* is %s built and installed "
                  "from a separate worktree, measured in this run just before *after*." %
                  bl.get("version", "the baseline"))
                P("")
                P("| figure | before | after, profile off | after / before | after, profile on | after / before |")
                P("| --- | ---: | ---: | ---: | ---: | ---: |")
                for key, name in (("marg", "Ir per additional idle backend per sample"),
                                  ("avg", "Ir per sample / connections (second step)"),
                                  ("ir_b", "Ir per sample, second step (idle)")):
                    cells = []
                    for prof in ("off", "on"):
                        a = cs.get(prof, {}).get(key)
                        cells.append("n/a | n/a" if a is None else
                                     "%s | %.3f" % ("{:,.0f}".format(a), a / b[key]))
                    P("| %s | %s | %s |" % (name, "{:,.0f}".format(b[key]), " | ".join(cells)))
                P("")

    # ---- cpu
    rows = R["cpu"]
    if rows:
        P("## Sampler CPU")
        P("")
        P("Worker CPU from `/proc/<pid>/schedstat` over %.0f s windows, %d round(s); "
          "pool_observer alternates 100 ms / 10 ms windows (A B A B) in a cluster that also "
          "preloads pg_wait_sampling at its defaults (profile and history period 10 ms), "
          "measured in the same windows. min / median / max over windows." % (SECONDS, ROUNDS))
        P("'idle': N connections in %s pools sleeping client-side (pgbench `\\sleep`); "
          "'load': `pgbench -S -c N -j 4` running flat out. max_connections = N + 100 "
          "(at least 100). Per backend = per pass / N." %
          "/".join(str(pools_for(n)) for n in CONNS))
        P("")
        P("| conns | state | sampler | passes/s | % of one core | µs per pass | µs per backend per pass | wake-up floor µs |")
        P("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for n in CONNS:
            for state in ("idle", "load"):
                cell = [x for x in rows if x["conns"] == n and x["state"] == state]
                if not cell:
                    continue
                for interval in (100, 10):
                    w = [x for x in cell if x["interval"] == interval and x["po_passes"] > 0]
                    if not w:
                        continue
                    pct_core = [x["po_cpu_ns"] / x["dt"] / 1e7 for x in w]
                    per_pass = [x["po_cpu_ns"] / 1e3 / x["po_passes"] for x in w]
                    per_be = [p / n for p in per_pass]
                    rate = [x["po_passes"] / x["dt"] for x in w]
                    floor = [x["floor_cpu_ns"] / 1e3 / x["floor_wakeups"] for x in w
                             if x["floor_wakeups"] > 0]
                    P("| %d | %s | pool_observer %d ms | %.0f | %s | %s | %.3f | %.0f |" %
                      (n, state, interval, med(rate), mmm(pct_core, "%.3f"), mmm(per_pass),
                       med(per_be), med(floor)))
                    summary[("po", n, state, interval)] = {
                        "pct": med(pct_core), "pass": med(per_pass), "be": med(per_be),
                        "floor": med(floor), "pct_max": max(pct_core), "pass_max": max(per_pass)}
                g = [x for x in cell if "pgws_cpu_ns" in x]
                if g:
                    pct_core = [x["pgws_cpu_ns"] / x["dt"] / 1e7 for x in g]
                    per_pass = [x["pgws_cpu_ns"] / 1e3 / x["pgws_passes"] for x in g]
                    floor = [x["floor_cpu_ns"] / 1e3 / x["floor_wakeups"] for x in g
                             if x["interval"] == 10 and x["floor_wakeups"] > 0]
                    P("| %d | %s | pg_wait_sampling 10 ms | %.0f | %s | %s | %.3f | %.0f |" %
                      (n, state, med([x["pgws_passes"] / x["dt"] for x in g]),
                       mmm(pct_core, "%.3f"), mmm(per_pass),
                       med(per_pass) / n, med(floor)))
                    summary[("pgws", n, state)] = {"pct": med(pct_core), "pass": med(per_pass),
                                                   "be": med(per_pass) / n, "floor": med(floor)}
        P("")
        mp = R["reads"].get("many_pools_cpu")
        if mp and mp["passes"]:
            P("Also, pool_observer at 100 ms with %d busy connections (pg_sleep) in %d pools "
              "(max_pools = %d): %.1f µs per pass, %.3f%% of one core." %
              (mp["conns"], mp["pools"], mp["pools"], mp["cpu_ns"] / 1e3 / mp["passes"],
               mp["cpu_ns"] / mp["dt"] / 1e7))
            P("")
        for interval in (100, 10):
            a = summary.get(("po", 200, "idle", interval))
            b = summary.get(("po", 1000, "idle", interval))
            if a and b:
                summary[("marg", interval)] = (b["pass"] - a["pass"]) / 800.0
        if ("marg", 10) in summary:
            P("Marginal cost of one more idle backend (slope 200 -> 1000 connections): "
              "%.3f µs per pass at 100 ms, %.3f µs at 10 ms." %
              (summary.get(("marg", 100), float("nan")), summary[("marg", 10)]))
            P("")
        wk = [x["pgws_wakeups"] / x["dt"] for x in rows if "pgws_wakeups" in x]
        P("The wake-up floor is the CPU time per wakeup of a process that does nothing but "
          "`poll()` for the same period (%s), measured in the same windows: every periodic "
          "sampler pays it on this machine before doing any work. pg_wait_sampling passes are "
          "counted as the smaller of window / 10 ms and the times its collector slept (%s per "
          "second; voluntary context switches, and each pass ends in one sleep): an upper "
          "bound either way, so its µs per pass is if anything too low." %
          (R["meta"].get("sleeper", "C poll()"), mmm(wk, "%.0f")))
        P("")

    # ---- busy-time profile cost (issue 13)
    hw = [x for x in R["cpu"] if x["state"] == "half" and x["po_passes"] > 0]
    if hw:
        P("## Busy-time profile: cost per pass at 10 ms (half the connections busy)")
        P("")
        P("Same cluster as above: N/2 connections idle, N/2 busy (active in `pg_sleep(0.5)`, "
          "one of three statements, i.e. three query ids per pool), in %s pools each half. "
          "pool_observer at 10 ms alternates `pool_observer.profile` on / off (reload), order "
          "swapped every round; pg_wait_sampling (its defaults: profile and history, 10 ms) is "
          "measured in every window. Ratios are per round (on and off windows are adjacent; "
          "on / pg_wait_sampling is within one window), min / median / max. \"in the "
          "sample\" is the part of pool_observer's pass (profile on) spent inside the sample "
          "itself (worker view: samples x sample_us_avg, wall time), the rest being the "
          "sleep's wake-up and the loop around it. \"empty pass\" is a background worker "
          "that wakes every 10 ms and does nothing else (bench/empty_pass: WaitLatch, "
          "ResetLatch, CHECK_FOR_INTERRUPTS), measured in the same windows: the floor of "
          "any sampler that is a PostgreSQL background worker at 10 ms, and \"empty / "
          "pg_wait_sampling\" the lowest ratio such a sampler can have." %
          "/".join(str(max(1, pools_for(n) // 2)) for n in PROFILE_CONNS))
        P("")
        P("| conns | pool_observer profile on µs/pass | of which in the sample | profile off µs/pass | pg_wait_sampling µs/pass | on / off | on / pg_wait_sampling | empty pass µs | empty / pg_wait_sampling | wake-up floor µs |")
        P("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in PROFILE_CONNS:
            w = [x for x in hw if x["conns"] == n]
            if not w:
                continue
            pp = lambda x: x["po_cpu_ns"] / 1e3 / x["po_passes"]
            gp = lambda x: x["pgws_cpu_ns"] / 1e3 / x["pgws_passes"]
            on = [x for x in w if x["profile"] == "on"]
            off = [x for x in w if x["profile"] == "off"]
            r_onoff = [pp(a) / pp(b) for a in on for b in off if a["round"] == b["round"]]
            r_pg = [pp(a) / gp(a) for a in on if "pgws_cpu_ns" in a and a["pgws_cpu_ns"] > 0]
            g = [gp(x) for x in w if "pgws_cpu_ns" in x]
            fl = [x["floor_cpu_ns"] / 1e3 / x["floor_wakeups"] for x in w if x["floor_wakeups"]]
            ins = [x["po_in_sample_us"] / x["po_passes"] for x in on if "po_in_sample_us" in x]
            ep = lambda x: x["empty_cpu_ns"] / 1e3 / x["empty_passes"]
            em = [ep(x) for x in w if x.get("empty_passes")]
            r_em = [ep(x) / gp(x) for x in w
                    if x.get("empty_passes") and x.get("pgws_cpu_ns", 0) > 0]
            P("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |" % (
                n, mmm([pp(x) for x in on]), mmm(ins) if ins else "-",
                mmm([pp(x) for x in off]), mmm(g),
                mmm(r_onoff, "%.2f"), mmm(r_pg, "%.2f"),
                mmm(em) if em else "-", mmm(r_em, "%.2f") if r_em else "-", med(fl)))
            summary[("prof", n)] = {"on_off": r_onoff, "on_pgws": r_pg, "empty_pgws": r_em,
                                    "empty": med(em) if em else None,
                                    "on": med([pp(x) for x in on]),
                                    "off": med([pp(x) for x in off]), "pgws": med(g),
                                    "in_sample": med(ins) if ins else None}
        P("")

    # ---- connect time (issue 14)
    ct = R.get("connect") or []
    if ct:
        P("## Connection time (`pgbench -C -S -c 4 -j 2`, %.0f s per run)" % CONNECT_SECONDS)
        P("")
        P("A new connection for every transaction, so the run is dominated by connecting "
          "(fork, authentication with the ClientAuthentication hook, backend start, emit_log_hook "
          "on the way). The cluster is restarted with and without `pool_observer` in "
          "shared_preload_libraries, the order rotating over %d rounds; *off / off* is the "
          "noise band. pgbench's *average connection time* and TPS (connections included); "
          "ratios to *off* in the same round, min / median / max." % ROUNDS)
        P("")
        P("| configuration | avg connection ms | TPS | connection time / off | TPS / off |")
        P("| --- | ---: | ---: | ---: | ---: |")
        base = {x["round"]: x for x in ct if x["config"] == "off" and x["conn_ms"]}
        for name, label in (("off", "off"), ("off2", "off again (noise)"),
                            ("po", "pool_observer")):
            xs = [x for x in ct if x["config"] == name and x["conn_ms"]]
            if not xs:
                continue
            rc = [x["conn_ms"] / base[x["round"]]["conn_ms"] for x in xs if x["round"] in base]
            rt = [x["tps"] / base[x["round"]]["tps"] for x in xs
                  if x["round"] in base and x["tps"] and base[x["round"]]["tps"]]
            P("| %s | %s | %s | %s | %s |" % (label, mmm([x["conn_ms"] for x in xs], "%.3f"),
                                            mmm([x["tps"] for x in xs if x["tps"]], "%.0f"),
                                            mmm(rc, "%.3f") if name != "off" else "1",
                                            mmm(rt, "%.3f") if name != "off" else "1"))
            summary[("conn", name)] = {"conn": rc, "tps": rt}
        P("")

    # ---- tps
    t = R["tps"]
    if t:
        P("## pgbench TPS ratios (configuration / off, same round)")
        P("")
        P("Configurations restarted in rotating order each round on one data directory "
          "(scale %d), %.0f s per run, `-j 2`. 'off / off' is the identical-configuration "
          "pair: the noise band. min / median / max over rounds." % (SCALE, TPS_SECONDS))
        P("")
        names = [c for c, _ in tps_configs()]
        names = ["off"] + [c for c in ("off2", "po100", "po10", "pgws") if c in names]
        label = {"off2": "off / off (noise)", "po100": "pool_observer 100 ms",
                 "po10": "pool_observer 10 ms", "pgws": "pg_wait_sampling"}
        P("| workload | clients | off TPS (median) | " +
          " | ".join(label[c] for c in names if c != "off") + " |")
        P("| --- | ---: | ---: | " + " | ".join("---:" for c in names if c != "off") + " |")
        for mode in ("select-only", "tpcb"):
            for c in TPS_CLIENTS:
                base = {x["round"]: x["tps"] for x in t if x["config"] == "off" and
                        x["mode"] == mode and x["clients"] == c and x["tps"]}
                if not base:
                    continue
                cells = []
                for name in names:
                    if name == "off":
                        continue
                    ratios = [x["tps"] / base[x["round"]] for x in t if x["config"] == name and
                              x["mode"] == mode and x["clients"] == c and x["tps"] and
                              x["round"] in base]
                    cells.append(mmm(ratios, "%.3f"))
                    summary[("tps", name, mode, c)] = ratios
                P("| %s | %d | %.0f | %s |" % (mode, c, med(list(base.values())), " | ".join(cells)))
        P("")

    # ---- reads
    rd = R["reads"]
    if rd.get("views"):
        P("## Reading the views with %d connections" % HIST_CONNS)
        P("")
        P("History filled for real: %d pools (max_pools = %d), history_interval = 1 s, "
          "history_size = %d, so every bucket holds every pool (%d buckets read). The event ring "
          "(max_events = %d) was filled with slow-statement episodes (%d events recorded). "
          "Server time = EXPLAIN ANALYZE execution time; client = psql round trip with all rows "
          "fetched. %d repetitions, min / median / max." %
          (HIST_POOLS, HIST_POOLS + 8, HIST_BUCKETS, rd.get("buckets", 0), rd.get("max_events", 0),
           rd.get("events_total", 0), READ_REPS))
        P("")
        P("| view | rows | server ms | client ms |")
        P("| --- | ---: | ---: | ---: |")
        for v in rd["views"]:
            P("| %s | %s | %s | %s |" % (v["view"], v["rows"], mmm(v["exec_ms"], "%.2f"),
                                         mmm(v["client_ms"], "%.2f")))
            summary[("read", v["view"])] = v
        P("")
        ph = next((v for v in rd["views"] if v["view"] == "pool_history"), None)
        if ph and ph["rows"]:
            full = 360 * 64
            scale = full / float(ph["rows"])
            summary["hist_full_ms"] = med(ph["exec_ms"]) * scale
            summary["hist_full_client_ms"] = med(ph["client_ms"]) * scale
            P("A default history (history_size 360 x max_pools 64 = %s rows when every pool is in "
              "every bucket) is %s rows: the read above is %.2fx that; scaled linearly: "
              "**%.1f ms** server, %.1f ms client. (Cost is per row emitted plus one lock/copy per "
              "bucket; a bucket copy here is %d pool slots instead of 65.)" %
              ("{:,}".format(full), "{:,}".format(full), ph["rows"] / float(full),
               summary["hist_full_ms"], summary["hist_full_client_ms"], HIST_POOLS + 1))
            P("")
        pr = next((v for v in rd["views"] if v["view"] == "profile_history"), None)
        ad = next((v for v in rd["views"] if v["view"] == "advice"), None)
        if ph and ph["rows"] and pr and pr["rows"]:
            pfull = 360 * 64 * 6
            summary["prof_full_ms"] = med(pr["exec_ms"]) * pfull / float(pr["rows"])
            summary["prof_full_client_ms"] = med(pr["client_ms"]) * pfull / float(pr["rows"])
            P("A full default profile_history is history_size 360 x max_pools 64 x (profile_top 5 "
              "+ 1 other) = %s rows at most; the read above (%s rows: every pool busy in every "
              "bucket, one to three entries each) scaled linearly by rows: **%.1f ms** server, "
              "%.1f ms client." % ("{:,}".format(pfull), "{:,}".format(pr["rows"]),
                                   summary["prof_full_ms"], summary["prof_full_client_ms"]))
            P("")
            P("| full default history, read whole | rows | server ms | client ms |")
            P("| --- | ---: | ---: | ---: |")
            P("| pool_history (scaled) | %s | %.1f | %.1f |" % (
                "{:,}".format(360 * 64), summary["hist_full_ms"], summary["hist_full_client_ms"]))
            P("| profile_history (scaled) | %s | %.1f | %.1f |" % (
                "{:,}".format(pfull), summary["prof_full_ms"], summary["prof_full_client_ms"]))
            if ad and ad["exec_ms"]:
                summary["advice_ms"] = med(ad["exec_ms"])
                summary["advice_client_ms"] = med(ad["client_ms"])
                P("| advice (measured, not scaled: %d pools x %d buckets in its window, %.1fx "
                  "the 64 x 60 of a default 1-hour window) | %s | %.1f | %.1f |" % (
                      HIST_POOLS, rd.get("buckets", 0),
                      HIST_POOLS * rd.get("buckets", 0) / 3840.0, ad["rows"],
                      summary["advice_ms"], summary["advice_client_ms"]))
            P("")
        st = rd.get("stall")
        if st:
            q, b = st["quiet_us"], st["busy_us"]
            summary["stall"] = st
            P("Readers vs the sampler (sample_interval 10 ms; duration of each sample as the "
              "worker measures it, lock wait included): quiet p50 %.0f / p99 %.0f / max %.0f µs "
              "(%d samples in %.0f s); while another session reads the full pool_history and "
              "events in a loop: p50 %.0f / p99 %.0f / max %.0f µs (%d samples)." %
              (pct(q, 50), pct(q, 99), max(q or [0]), st["quiet_samples"], st["seconds"],
               pct(b, 50), pct(b, 99), max(b or [0]), st["busy_samples"]))
            P("")

    # ---- reads at the default sizes
    D = R.get("defaults")
    if D and D.get("reads"):
        P("## Reading at the default sizes")
        P("")
        P("history_size %d and max_pools %d as shipped, history_interval = 1 s: %d busy "
          "connections in pg_sleep, each its own pool (plus this session's), with the sampler "
          "running; %d of %d buckets filled when read. Server time = EXPLAIN ANALYZE execution "
          "time, %d reads each in one session (the first advice read includes compiling its "
          "PL/pgSQL), min / median / max." %
          (D["buckets"], D["max_pools"], D["conns"], D.get("filled", 0), D["buckets"],
           READ_REPS))
        P("")
        P("| read | rows | server ms |")
        P("| --- | ---: | ---: |")
        for v in D["reads"]:
            P("| `SELECT * FROM pool_observer.%s` | %s | %s |" %
              (v["view"], v["rows"], mmm(v["exec_ms"], "%.2f")))
            summary[("default", v["view"])] = v
        P("")

    # ---- targets
    P("## Targets")
    P("")
    P("| target | measured | met |")
    P("| --- | --- | --- |")

    def line(target, measured, ok):
        P("| %s | %s | %s |" % (target, measured, "n/a" if ok is None else ("yes" if ok else "**no**")))
        R["targets"].append({"target": target, "measured": measured, "met": ok})

    for n in (200, 1000):
        for interval in (100, 10):
            s = summary.get(("po", n, "idle", interval))
            if s:
                above = max(0.0, s["pass"] - s["floor"]) / n
                line("≤ 0.3 µs per backend per pass (%d idle, %d ms)" % (n, interval),
                     "%.3f µs (per pass / N); %.3f µs above the wake-up floor" % (s["be"], above),
                     s["be"] <= 0.3)
    cgs = summary.get("cg", {})
    cgon = cgs.get("on") or cgs.get("n/a")
    if cgon and "marg" in cgon:
        line("instruction equivalent: ≤ 1,000 instructions per backend per pass "
             "(≈ 0.3 µs at ~3.3 instructions/ns)",
             "%.0f marginal; %.0f averaged at %d connections" %
             (cgon["marg"], cgon["avg"], cgon["clients"]),
             cgon["marg"] <= 1000 and cgon["avg"] <= 1000)
    if cgon and "marg_busy" in cgon and "on" in cgs:
        off = cgs.get("off", {}).get("marg_busy")
        line("issue 13: ≤ 250 instructions per busy backend per sample, profile on (callgrind)",
             "%.0f marginal per busy backend%s" % (
                 cgon["marg_busy"], "" if off is None else
                 " (%.0f with the profile off: the profile adds %.0f)" %
                 (off, cgon["marg_busy"] - off)), cgon["marg_busy"] <= 250)
    b = summary.get("cg_base")
    if b and "marg" in b and "off" in cgs:
        a = cgs["off"]["marg"]
        extra = ""
        if "on" in cgs:
            extra = "; profile on %.0f (%.3fx)" % (cgs["on"]["marg"], cgs["on"]["marg"] / b["marg"])
        line("issue 10: Ir per backend per sample after the restructure ≤ 1.05x before "
             "(profile off)", "%.0f before, %.0f after: %.3fx%s" %
             (b["marg"], a, a / b["marg"], extra), a / b["marg"] <= 1.05)
    s = summary.get(("po", 200, "idle", 100))
    if s:
        line("≤ 0.1% of one core at 100 ms, 200 connections (idle)",
             "%.3f%% (max window %.3f%%)" % (s["pct"], s["pct_max"]), s["pct"] <= 0.1)
    s = summary.get(("po", 200, "load", 100))
    if s:
        line("≤ 0.1% of one core at 100 ms, 200 connections (pgbench load)",
             "%.3f%% (max window %.3f%%)" % (s["pct"], s["pct_max"]), s["pct"] <= 0.1)
    for state in ("idle", "load"):
        s = summary.get(("po", 200, state, 10))
        if s:
            line("≤ 1%% of one core at 10 ms, 200 connections (%s)" % state,
                 "%.3f%% (max window %.3f%%)" % (s["pct"], s["pct_max"]), s["pct"] <= 1.0)
    for n in CONNS:
        s = summary.get(("po", n, "idle", 10))
        g = summary.get(("pgws", n, "idle"))
        if s and g:
            ratio = g["pass"] / s["pass"]
            fl = s["floor"]
            ra = (g["pass"] - fl) / max(1e-9, s["pass"] - fl) if s["pass"] > fl else float("inf")
            line("per pass ≥ 2x cheaper than pg_wait_sampling (%d idle, both 10 ms)" % n,
                 "%.1f vs %.1f µs: %.2fx; above the %.0f µs wake-up floor: %.2fx" %
                 (s["pass"], g["pass"], ratio, fl, ra), ratio >= 2.0)
    if "hist_full_ms" in summary:
        line("full history read ≤ 20 ms (360 x 64 rows)",
             "%.1f ms server, %.1f ms client (scaled from %s rows)" %
             (summary["hist_full_ms"], summary["hist_full_client_ms"],
              summary[("read", "pool_history")]["rows"]), summary["hist_full_ms"] <= 20)
    if cgon and "marg_long" in cgon:
        d = cgon["marg_long"] - cgon["marg"]
        line("no per-sample work proportional to query text length",
             "marginal Ir per backend with 1 kB text vs none: %+.0f" % d, abs(d) < 50)
    for n in PROFILE_CONNS:
        pf = summary.get(("prof", n))
        if not pf:
            continue
        if pf["on_pgws"]:
            line("issue 13: profile on ≤ 0.7x pg_wait_sampling per pass (%d conns, half busy, 10 ms)" % n,
                 "%.1f vs %.1f µs: %s (min / median / max over windows)" %
                 (pf["on"], pf["pgws"], mmm(pf["on_pgws"], "%.2fx")), med(pf["on_pgws"]) <= 0.7)
        if pf.get("empty_pgws"):
            line("issue 13: the floor of that ratio, an empty bgworker pass / pg_wait_sampling (%d conns)" % n,
                 "%.1f vs %.1f µs: %s (min / median / max over windows)" %
                 (pf["empty"], pf["pgws"], mmm(pf["empty_pgws"], "%.2fx")), None)
        if pf["on_off"]:
            line("issue 13: profile on ≤ 1.2x profile off per pass (%d conns, half busy, 10 ms)" % n,
                 "%.1f vs %.1f µs: %s (min / median / max over rounds)" %
                 (pf["on"], pf["off"], mmm(pf["on_off"], "%.2fx")), med(pf["on_off"]) <= 1.2)
    if "prof_full_ms" in summary:
        line("issue 13: full default profile_history read (360 x 64 x 6 rows), next to pool_history",
             "%.1f ms server (%.1f ms client); pool_history %.1f ms" %
             (summary["prof_full_ms"], summary["prof_full_client_ms"], summary["hist_full_ms"]),
             None)
    c = summary.get(("conn", "po"))
    if c and c["conn"]:
        n2 = summary.get(("conn", "off2"), {}).get("conn") or []
        line("issue 14: connection time with / without the extension (pgbench -C)",
             "%s (off / off noise band %s)" % (mmm(c["conn"], "%.3fx"), mmm(n2, "%.3fx")), None)
    dph = summary.get(("default", "pool_history"))
    dpr = summary.get(("default", "profile_history"))
    dad = summary.get(("default", "advice"))
    if dph and dph["exec_ms"] and dpr and dpr["exec_ms"]:
        line("issue 13: full profile_history read at the default sizes, next to pool_history",
             "%s ms (%s rows) vs %s ms (%s rows)" %
             (mmm(dpr["exec_ms"], "%.1f"), dpr["rows"], mmm(dph["exec_ms"], "%.1f"),
              dph["rows"]), None)
    if dph and dph["exec_ms"] and dad and dad["exec_ms"]:
        line("issue 15: advice reads in less than a full pool_history read (default sizes)",
             "advice %s ms vs pool_history %s ms (min / median / max)" %
             (mmm(dad["exec_ms"], "%.1f"), mmm(dph["exec_ms"], "%.1f")),
             max(dad["exec_ms"]) < min(dph["exec_ms"]))
    if "advice_ms" in summary:
        line("issue 15: advice read vs full pool_history read (%d pools x %d buckets)"
             % (HIST_POOLS, R["reads"].get("buckets", 0)),
             "advice %.1f ms server (%.1f client) vs pool_history %.1f ms (%.1f client)" %
             (summary["advice_ms"], summary["advice_client_ms"], summary["hist_full_ms"],
              summary["hist_full_client_ms"]), None)
    if "stall" in summary:
        st = summary["stall"]
        ok = max(st["busy_us"] or [0]) < 10000 and st["busy_samples"] >= 0.95 * st["quiet_samples"]
        line("readers never stall the sampler",
             "max sample %.0f µs while reading vs %.0f µs quiet; %d vs %d samples in %.0f s" %
             (max(st["busy_us"] or [0]), max(st["quiet_us"] or [0]), st["busy_samples"],
              st["quiet_samples"], st["seconds"]), ok)
    P("")
    if NOTES:
        P("## Notes")
        P("")
        for n_ in NOTES:
            P("- " + n_)
        P("")
    return "\n".join(out)


def meta():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except Exception:
            return ""
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.0f GB\", $2/1048576}' /proc/meminfo")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": COMMAND,
        "machine": "%s, %s cores, %s, kernel %s, %s" % (
            sh(". /etc/os-release; echo $PRETTY_NAME"), os.cpu_count(), mem,
            os.uname().release, cpu),
        "pg_version": sh("%s/postgres --version" % BIN),
        "po_version": env("BENCH_PO_VERSION", "?"),
        "pgws_version": (env("BENCH_PGWS_VERSION", "installed") if HAVE_PGWS
                         else "not available (%s)" % PGWS_NOTE),
    }


def main():
    # started in the background, SIGINT arrives ignored and every child would
    # inherit that: pgbench clients stopped with SIGINT then wait 10 s for SIGKILL
    signal.signal(signal.SIGINT, signal.default_int_handler)
    R = {"meta": meta(), "callgrind": [], "cpu": [], "tps": [], "connect": [],
         "reads": {"views": []}, "targets": []}
    if BASELINE_JSON:
        try:
            with open(BASELINE_JSON) as f:
                b = json.load(f)
            R["baseline"] = {"callgrind": b.get("callgrind", []),
                             "version": b.get("meta", {}).get("po_version", "?")}
        except (OSError, ValueError) as e:
            note("baseline results %s unreadable: %s" % (BASELINE_JSON, e))
    if BASELINE_NOTE:
        note(BASELINE_NOTE)
    if PGWS_NOTE and not HAVE_PGWS:
        note("pg_wait_sampling columns skipped: " + PGWS_NOTE)
    rc = 0
    try:
        if "callgrind" in PHASES:
            try:
                phase_callgrind(R)
            except OutOfTime:
                raise
            except Exception as e:          # the timing phases are still useful
                note("callgrind phase failed: %s" % e)
        # one data directory (with pgbench tables) for every timed phase;
        # each phase restarts it with its own settings
        if not set(PHASES) & {"cpu", "tps", "connect", "reads", "defaults"}:
            raise StopIteration
        cl = Cluster("data")
        cl.initdb()
        cl.start({"max_connections": 300})
        log("pgbench -i -s %d" % SCALE)
        cl.pgbench(["-i", "-s", str(SCALE), "-q"], timeout=600)
        run([os.path.join(BIN, "psql"), "-X", "-q", "-h", cl.sockdir, "-p", str(cl.port),
             "-c", "VACUUM ANALYZE", "-c", "CHECKPOINT", "postgres"], timeout=300)
        cl.stop()
        for name, fn in (("cpu", phase_cpu), ("tps", phase_tps),
                         ("connect", phase_connect), ("reads", phase_reads),
                         ("defaults", phase_defaults)):
            if name in PHASES:
                try:
                    fn(R, cl)
                except (Timeout, OutOfTime):
                    raise
                except Exception as e:      # keep what the other phases measured
                    note("%s phase failed: %s" % (name, e))
                    rc = 1
    except StopIteration:
        pass
    except (Timeout, OutOfTime) as e:
        note("stopped early: %s" % e)
        rc = 2
    finally:
        for p in list(STARTED):
            stop_proc(p)
        for c in CLUSTERS:
            c.stop("immediate")
    R["meta"]["elapsed"] = time.time() - T0
    with open(os.path.join(TMP, "results.json"), "w") as f:
        json.dump(R, f, indent=1, default=str)
    text = report(R)
    with open(os.path.join(TMP, "results.md"), "w") as f:
        f.write(text + "\n")
    if OUT:
        with open(OUT, "w") as f:
            f.write(text + "\n")
        with open(re.sub(r"\.md$", "", OUT) + ".json", "w") as f:
            json.dump(R, f, indent=1, default=str)
    print(text)
    return rc


if __name__ == "__main__":
    sys.exit(main())
