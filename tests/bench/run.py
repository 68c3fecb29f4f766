#!/usr/bin/python3
"""The Floorwalker benchmark (issue 5): one command, one machine, one table.

    tests/bench/run.sh [--size tiny|small|full] [--out DIR] [--build DIR] [--check] [--keep]

Measures, on this machine and in one run:
  * the raw ZeroMQ ceiling for the terminals' batches (fwb_ceiling), the terminal harness alone
    (`floorwalker sim` against a ROUTER that only acks), Floorwalker's durable acked ingest
    (`floorwalker sim` against the real daemon, every rollup and rule on), and the same stream
    applied to PostgreSQL 15 as batched upserts (fwb_pg), for 1, 8 and 64 terminals;
  * Floorwalker's durable acked ingest driven by a light C client (fwb_light: the stream's
    batches, 8 in flight per terminal, no spool) for 1, 8 and 64 terminals, and the
    decode-and-append floor for the 8-terminal stream (fwb_floor: protobuf-c decode of every
    event and an LMDB append, fsync per group, nothing else);
  * store-day sales query latency while fwb_light drives 8 terminals flat out, with the
    daemon's own longest query and loop pass meanwhile;
  * ack latency at half of Floorwalker's best rate (fwb_latency) with event-to-alert latency
    measured meanwhile (alert_latency.py);
  * restart time after SIGKILL with the recovery data set in the log, then query latency
    (query_latency.py), daemon peak RSS and LMDB bytes per million events on that data set;
and prints a Markdown table of the figures beside the goals (also OUT/bench.md, with the raw
results in OUT/bench.json and a chart in OUT/bench.png). --check (ctest bench.tiny) fails
unless every row of the table has a figure.

Everything runs on 127.0.0.1 (free TCP ports) under a temporary directory; PostgreSQL is
initialised there and run as the `postgres` system user (it refuses root). Every process this
script starts is stopped by its pid.
"""
import argparse
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3"
PG_BIN = os.environ.get("FWB_PG_BIN", "/usr/lib/postgresql/15/bin")

# Events per throughput run (a multiple of 64,000: every terminal sends whole 1,000-event
# batches), events in the recovery data set, seconds of paced load for the latency figures,
# seconds of full-speed ingest (at the light client's best rate) under the query probe.
SIZES = {
    "tiny": dict(events=64000, recovery=200000, lat_s=3, queries=200, alerts=60, ceiling_s=0.3,
                 qload_s=2),
    "small": dict(events=1024000, recovery=2000000, lat_s=10, queries=1000, alerts=300,
                  ceiling_s=1.0, qload_s=5),
    "full": dict(events=2048000, recovery=10000000, lat_s=20, queries=2000, alerts=500,
                 ceiling_s=2.0, qload_s=10),
}
# terminals -> (stores, terminals per store) for `floorwalker sim`
LAYOUT = {1: (1, 1), 8: (2, 4), 64: (16, 4)}
RECOVERY_LAYOUT = (20, 2)
BATCH = 1000
SIM_FLAGS = ["--chunk", "1000", "--no-fsync", "--batch", str(BATCH), "--seed", "1"]
PG_CONNS = 8  # the loader's connection pool
PG_SETTINGS = {"shared_buffers": "1GB", "wal_buffers": "64MB", "max_wal_size": "8GB",
               "checkpoint_timeout": "30min", "synchronous_commit": "on", "fsync": "on",
               "full_page_writes": "on", "max_connections": "100"}

GOAL_RATE = 1000000
GOAL_CEILING_SHARE = 0.5
GOAL_PG_RATIO = 10
GOAL_ACK_P99_MS = 10
GOAL_ALERT_P99_MS = 15
GOAL_LOOP_PASS_MS = 20  # issue 14: the longest loop pass under full load
GOAL_COLD_ACK_MS = 20  # issue 14: the first acks after a start
GOAL_QUERY_P99_MS = 1
GOAL_FLOOR_SHARE = 0.5  # issue 14: Floorwalker (light client, 8 terminals) / decode-and-append floor
GOAL_QUERY_LOAD_P99_MS = 5  # issue 14: store-day sales p99 while ingest runs at full speed
QUERY_PACE_MS = 5  # that probe asks one query every 5 ms (200/s: far more than consoles ask)
GOAL_RECOVERY_S = 5
GOAL_RECOVERY_EVENTS = 10000000


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(1)


_PORTS_GIVEN = set()


def free_port():
    """A free TCP port on 127.0.0.1 that this run has not handed out before: once the probe
    socket is closed the kernel may offer the same port again, and a daemon's three endpoints
    (or two daemons' in a row) must not collide."""
    for _ in range(1000):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port
    die("no free TCP port on 127.0.0.1 that this run has not used already")


def tcp_ep():
    return "tcp://127.0.0.1:%d" % free_port()


class Procs:
    """Every process the benchmark starts, so that all of them are stopped by pid at the end."""

    def __init__(self):
        self.live = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.live.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=60):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
        if p in self.live:
            self.live.remove(p)
        return p.returncode

    def cleanup(self):
        for p in list(self.live):
            self.stop(p, signal.SIGKILL, 10)


PROCS = Procs()


def run(args, timeout=None, **kw):
    """Runs a program we started; its stdout, or dies with its stderr."""
    p = PROCS.start(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        PROCS.stop(p, signal.SIGKILL)
        die("%s took longer than %s s" % (" ".join(args), timeout))
    PROCS.live.remove(p)
    if p.returncode != 0:
        die("%s exited %d:\n%s%s" % (" ".join(args), p.returncode, out[-2000:], err[-4000:]))
    return out


def run_json(args, timeout=None, **kw):
    out = run(args, timeout=timeout, **kw)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        die("%s printed no JSON:\n%s" % (" ".join(args), out))
    return [json.loads(ln) for ln in lines]


# ---- binaries -----------------------------------------------------------------------------------


def find_binaries(a):
    """The daemon, CLI and bench tools: from ctest's environment, --build DIR, or a build of
    this tree in a temporary directory."""
    daemon, cli, fwb = os.environ.get("FW_DAEMON"), os.environ.get("FW_CLI"), os.environ.get("FWB_BIN")
    if not (daemon and cli and fwb):
        build = a.build
        if not build:
            build = os.path.join(tempfile.gettempdir(), "floorwalker-bench-build")
            log("building the tree in %s (RelWithDebInfo)" % build)
            run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], timeout=600)
            run(["cmake", "--build", build, "-j%d" % (os.cpu_count() or 2)], timeout=1800)
        daemon = os.path.join(build, "daemon", "floorwalkerd")
        cli = os.path.join(build, "clients", "cli", "floorwalker")
        fwb = os.path.join(build, "tests", "bench")
    # Relative paths (--build build, FW_CLI=clients/cli/floorwalker) are resolved from where
    # run.sh was started: the tools run from other working directories.
    daemon, cli, fwb = (os.path.abspath(x) for x in (daemon, cli, fwb))
    tools = {"daemon": daemon, "cli": cli}
    for t in ("fwb_ceiling", "fwb_latency", "fwb_record", "fwb_light", "fwb_floor", "fwb_pg"):
        tools[t] = os.path.join(fwb, t)
    for name, path in tools.items():
        if not os.access(path, os.X_OK):
            hint = (" (libpq-dev was missing when the tree was configured: scripts/deps.sh "
                    "installs it, then re-run cmake)" if name == "fwb_pg" else "")
            die("%s not found at %s%s" % (name, path, hint))
    for b in ("initdb", "postgres", "psql"):
        if not os.access(os.path.join(PG_BIN, b), os.X_OK):
            die("PostgreSQL 15 is not installed (%s/%s missing): scripts/deps.sh installs it "
                "(Debian postgresql-15)" % (PG_BIN, b))
    for b in ("gnuplot", "setpriv"):
        if not shutil.which(b):
            die("%s is not installed: scripts/deps.sh installs it" % b)
    return tools


# ---- the machine --------------------------------------------------------------------------------


def cpu_sample():
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    hz = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq
    return busy / hz, (busy + idle + iowait + steal) / hz


def own_cpu():
    """CPU seconds used by this script and every process it started and reaped."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_busy(seconds=1.0):
    """Share of the machine's CPUs busy over `seconds` (before we start anything: others)."""
    b1, t1 = cpu_sample()
    time.sleep(seconds)
    b2, t2 = cpu_sample()
    return (b2 - b1) / max(1e-9, t2 - t1)


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    model = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"host": platform.node(), "cpus": os.cpu_count(), "cpu_model": model,
            "kernel": platform.release(), "loadavg": open("/proc/loadavg").read().split()[:3]}


# ---- Floorwalker ----------------------------------------------------------------------------------


def vm_hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


class Daemon:
    """floorwalkerd with the default configuration (every rollup and rule on) but its own data
    directory and free loopback ports."""

    def __init__(self, tools, work, name):
        self.tools = tools
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.ingest, self.alerts, self.query = tcp_ep(), tcp_ep(), tcp_ep()
        self.conf = os.path.join(self.dir, "floorwalker.conf")
        self.log = os.path.join(self.dir, "daemon.log")
        with open(self.conf, "w") as f:
            f.write("[daemon]\ndata_dir = %s\n[ingest]\nendpoint = %s\n[alerts]\nendpoint = %s\n"
                    "[query]\nendpoint = %s\n" % (self.data, self.ingest, self.alerts, self.query))
        self.proc = None

    def start(self, timeout=600):
        """Starts the daemon; returns seconds from spawn to its first answered query."""
        logf = open(self.log, "a")
        t0 = time.monotonic()
        self.proc = PROCS.start([self.tools["daemon"], "-c", self.conf], stdout=logf, stderr=logf)
        logf.close()
        self.first_answer(t0, timeout)
        return time.monotonic() - t0

    def first_answer(self, t0, timeout):
        import zmq
        pb = pb2()
        s = zmq.Context.instance().socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RECONNECT_IVL, 2)  # retry the connect every 2 ms until it binds
        s.connect(self.query)
        s.send(pb.Query(kind=pb.Query.STATS).SerializeToString())
        while True:
            if s.poll(20):
                s.recv()
                s.close()
                return
            if self.proc.poll() is not None:
                die("floorwalkerd exited %d:\n%s" % (self.proc.returncode, self.read_log()))
            if time.monotonic() - t0 > timeout:
                die("floorwalkerd did not answer within %d s:\n%s" % (timeout, self.read_log()))

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-4000:]

    def stats(self):
        import zmq
        pb = pb2()
        s = zmq.Context.instance().socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, 30000)
        s.connect(self.query)
        s.send(pb.Query(kind=pb.Query.STATS).SerializeToString())
        r = pb.QueryResult()
        r.ParseFromString(s.recv())
        s.close()
        out = {}
        for t in r.tables:
            if t.name == "daemon":
                for row in t.rows:
                    v = row.cells[1]
                    out[row.cells[0].s] = getattr(v, v.WhichOneof("v"))
        return out

    def hwm_kb(self):
        return vm_hwm_kb(self.proc.pid)

    def cpu_s(self):
        """CPU seconds the daemon (all its threads) has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        rc = PROCS.stop(self.proc, signal.SIGTERM, 120)
        if rc != 0:
            die("floorwalkerd exited %s on SIGTERM:\n%s" % (rc, self.read_log()))

    def kill(self):
        PROCS.stop(self.proc, signal.SIGKILL)

    def remove_data(self):
        shutil.rmtree(self.data, ignore_errors=True)


_pb2 = None


def pb2():
    global _pb2
    if _pb2 is None:
        sys.path.insert(0, HERE)
        import fwbench
        _pb2 = fwbench.pb2(os.path.join(ROOT, "proto", "floorwalker.proto"))
    return _pb2


def sim_args(tools, endpoint, layout, events, spool, spool_fsync=False):
    """`floorwalker sim` for `layout` (a terminal count from LAYOUT, or (stores, per store))."""
    stores, per = LAYOUT[layout] if isinstance(layout, int) else layout
    flags = [f for f in SIM_FLAGS if not (spool_fsync and f == "--no-fsync")]
    return [tools["cli"], "sim", "-e", endpoint, "--stores", str(stores), "--terminals", str(per),
            "-n", str(events), "--spool", spool, "--timeout", "600", "--json"] + flags


def sim_has_write(tools):
    p = subprocess.run([tools["cli"], "sim", "--help"], capture_output=True, text=True)
    return "--write" in p.stdout


def make_stream(tools, work, terminals, events, path):
    """The batches `terminals` terminals send for `events` events: `floorwalker sim --write`
    if this sim has it, else recorded from sim by fwb_record (a ROUTER that acks at once)."""
    stores, per = LAYOUT[terminals]
    spool = os.path.join(work, "spool-gen-%d" % terminals)
    if sim_has_write(tools):
        args = [tools["cli"], "sim", "--write", path, "--stores", str(stores), "--terminals",
                str(per), "-n", str(events), "--batch", str(BATCH), "--seed", "1"]
        run(args, timeout=1200, cwd=work)
        how = "floorwalker sim --write"
    else:
        ep = "ipc://%s/record-%d" % (work, terminals)
        rec = PROCS.start([tools["fwb_record"], "-e", ep, "-o", path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        rec.stdout.readline()  # "ready": bound
        run(sim_args(tools, ep, terminals, events, spool), timeout=1200)
        if PROCS.stop(rec, signal.SIGTERM, 60) != 0:
            die("fwb_record failed: %s" % rec.stderr.read())
        how = "recorded from floorwalker sim by fwb_record"
    shutil.rmtree(spool, ignore_errors=True)
    return how


def harness_rate(tools, work, terminals, events):
    """`floorwalker sim` (library, spool) against a ROUTER that acks at once and stores nothing:
    the most the measuring side can push on this machine."""
    ep = "ipc://%s/null-%d" % (work, terminals)
    rec = PROCS.start([tools["fwb_record"], "-e", ep, "-o", "/dev/null"],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    rec.stdout.readline()
    spool = os.path.join(work, "spool-null-%d" % terminals)
    r = run_json(sim_args(tools, ep, terminals, events, spool), timeout=1200)[0]
    PROCS.stop(rec, signal.SIGTERM, 60)
    shutil.rmtree(spool, ignore_errors=True)
    return r


def floorwalker_rate(tools, work, terminals, events, spool_fsync=False, tag="", perf_out=None):
    """`floorwalker sim` against a fresh daemon; with perf_out, `perf record` samples the
    daemon meanwhile and its hottest functions go to perf_out."""
    d = Daemon(tools, work, "fw-%d%s" % (terminals, tag))
    d.start()
    spool = os.path.join(work, "spool-fw-%d%s" % (terminals, tag))
    perf = None
    if perf_out:
        pdata = os.path.join(work, "perf.data")
        perf = PROCS.start(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-p",
                            str(d.proc.pid), "-o", pdata], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    cpu0 = d.cpu_s()
    r = run_json(sim_args(tools, d.ingest, terminals, events, spool, spool_fsync), timeout=3600)[0]
    cpu = d.cpu_s() - cpu0
    if perf:
        PROCS.stop(perf, signal.SIGINT, 120)
        with open(perf_out, "w") as f:
            for view in (["--no-children"], ["--children"]):
                f.write("## perf report %s (floorwalkerd, %d terminals)\n" % (view[0], terminals))
                f.flush()
                subprocess.run(["perf", "report", "-i", pdata, "--stdio", "--sort", "sym", "-g",
                                "none", "--percent-limit", "1"] + view, stdout=f,
                               stderr=subprocess.DEVNULL)
        os.unlink(pdata)
    st = d.stats()
    hwm = d.hwm_kb()
    d.stop()
    d.remove_data()
    shutil.rmtree(spool, ignore_errors=True)
    if r["sent"] != events or r["rejected"] or r["spool_left"]:
        die("sim did not get every event acked: %s" % r)
    return {"events_per_s": r["events_per_s"], "seconds": r["seconds"], "rss_hwm_kb": hwm,
            "resends": r["resends"], "daemon_cpu_us_per_event": cpu / events * 1e6,
            "daemon_cpu_busy": cpu / r["seconds"],
            "commit_events_avg": st.get("commit_events_avg"),
            "commit_ms_avg": st.get("commit_ms_avg"), "commit_ms_max": st.get("commit_ms_max"),
            "checkpoint_ms_max": st.get("checkpoint_ms_max"), "events_total": st.get("events_total"),
            "events_per_batch": st["events_total"] / max(1, st.get("batches") or 1)}


def light_rate(tools, work, terminals, stream):
    """fwb_light (the stream's batches, 8 in flight per terminal, each Ack checked) against a
    fresh daemon: the default configuration, a data directory that has not seen the stream (its
    epochs and seqs would be duplicates there)."""
    d = Daemon(tools, work, "light-%d" % terminals)
    os.sync()  # earlier phases' writeback would land in this run's fsyncs
    d.start()
    cpu0 = d.cpu_s()
    r = run_json([tools["fwb_light"], "-e", d.ingest, stream], timeout=3600)[0]
    cpu = d.cpu_s() - cpu0
    st = d.stats()
    d.stop()
    d.remove_data()
    if r["stored"] != r["events"] or r["rejected"] or r["batch_errors"]:
        die("fwb_light did not get every event stored: %s" % r)
    r.update(daemon_cpu_us_per_event=cpu / r["events"] * 1e6, daemon_cpu_busy=cpu / r["seconds"],
             commit_events_avg=st.get("commit_events_avg"), commit_ms_max=st.get("commit_ms_max"),
             pass_ms_max=st.get("pass_ms_max"))
    return r


def floor_rate(tools, work, stream):
    """fwb_floor: the stream decoded (protobuf-c) and appended to LMDB in the daemon's groups,
    fsync per group, nothing else; on a fresh directory."""
    dirname = os.path.join(work, "floor")
    shutil.rmtree(dirname, ignore_errors=True)
    os.sync()
    r = run_json([tools["fwb_floor"], "-d", dirname, stream], timeout=3600)[0]
    shutil.rmtree(dirname, ignore_errors=True)
    return r


# ---- PostgreSQL ---------------------------------------------------------------------------------


class Postgres:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1, run as the postgres system user."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        self.user = "postgres"
        try:
            import pwd
            pw = pwd.getpwnam(self.user)
        except KeyError:
            self.user = "nobody"
            import pwd
            pw = pwd.getpwnam(self.user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.chown(self.dir, self.uid, self.gid)
        self.port = free_port()
        self.proc = None

    def as_user(self, args):
        if os.geteuid() != 0:
            return args
        return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid, "--clear-groups"] + args

    def start(self):
        data = os.path.join(self.dir, "data")
        run(self.as_user([os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "bench",
                          "--auth=trust", "-E", "UTF8", "--no-locale"]), timeout=300, cwd=self.dir)
        args = [os.path.join(PG_BIN, "postgres"), "-D", data, "-p", str(self.port), "-k",
                self.dir, "-c", "listen_addresses=127.0.0.1"]
        for k, v in PG_SETTINGS.items():
            args += ["-c", "%s=%s" % (k, v)]
        logf = open(os.path.join(self.dir, "postgres.log"), "w")
        self.proc = PROCS.start(self.as_user(args), stdout=logf, stderr=logf, cwd=self.dir)
        logf.close()
        deadline = time.time() + 60
        while True:
            p = subprocess.run([os.path.join(PG_BIN, "psql"), "-h", "127.0.0.1", "-p",
                                str(self.port), "-U", "bench", "-d", "postgres", "-Atc", "select 1"],
                               capture_output=True, text=True)
            if p.returncode == 0:
                break
            if self.proc.poll() is not None or time.time() > deadline:
                with open(os.path.join(self.dir, "postgres.log")) as f:
                    die("PostgreSQL did not start:\n" + f.read()[-3000:])
            time.sleep(0.1)

    def conninfo(self, db):
        return "host=127.0.0.1 port=%d user=bench dbname=%s" % (self.port, db)

    def psql(self, db, sql):
        return run([os.path.join(PG_BIN, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                    "bench", "-d", db, "-Atqc", sql], timeout=600)

    def stop(self):
        if self.proc:
            PROCS.stop(self.proc, signal.SIGINT, 60)  # fast shutdown


def pg_rate(tools, pg, terminals, stream):
    db = "t%d" % terminals
    pg.psql("postgres", "CREATE DATABASE %s" % db)
    run([tools["fwb_pg"], "-d", pg.conninfo(db), "--init"], timeout=120)
    r = run_json([tools["fwb_pg"], "-d", pg.conninfo(db), "-c", str(PG_CONNS), stream],
                 timeout=7200)[0]
    size = int(pg.psql(db, "SELECT pg_database_size(current_database())").strip())
    base = int(pg.psql("postgres", "SELECT pg_database_size('template1')").strip())
    r["db_bytes"] = size - base
    pg.psql("postgres", "DROP DATABASE %s" % db)
    return r


# ---- phases ---------------------------------------------------------------------------------------


def throughput(tools, work, pg, size, res):
    n = size["events"]
    res["throughput"] = {}
    for t in (1, 8, 64):
        row = res["throughput"][str(t)] = {}
        stream = os.path.join(work, "stream-%d.bin" % t)
        log("%d terminal(s): writing the stream of %d events" % (t, n))
        res["stream_source"] = make_stream(tools, work, t, n, stream)
        row["stream_bytes"] = os.path.getsize(stream)
        log("%d terminal(s): ZeroMQ ceiling" % t)
        c = run_json([tools["fwb_ceiling"], "-e", tcp_ep(), "-m", str(size["ceiling_s"]),
                      stream], timeout=600)[0]
        if c["events"] != n * c["passes"]:
            die("the stream for %d terminals holds %d events, not %d" % (t, c["events"] // c["passes"], n))
        row["ceiling"] = c["events_per_s"]
        row["ceiling_detail"] = c
        log("%d terminal(s): harness (sim against a null ROUTER)" % t)
        h = harness_rate(tools, work, t, n)
        row["harness"] = h["events_per_s"]
        row["harness_resends"] = h["resends"]
        log("%d terminal(s): Floorwalker" % t)
        perf_out = os.path.join(res["out"], "perf-%d.txt" % t) if res.get("perf") else None
        fw = floorwalker_rate(tools, work, t, n, perf_out=perf_out)
        row["floorwalker"] = fw["events_per_s"]
        row["floorwalker_detail"] = fw
        log("%d terminal(s): Floorwalker, light client" % t)
        lt = light_rate(tools, work, t, stream)
        row["light"] = lt["events_per_s"]
        row["light_detail"] = lt
        if t == 8:
            log("8 terminals: the decode-and-append floor")
            res["floor"] = floor_rate(tools, work, stream)
        log("%d terminal(s): PostgreSQL" % t)
        p = pg_rate(tools, pg, t, stream)
        row["postgres"] = p["events_per_s"]
        row["postgres_detail"] = p
        os.unlink(stream)
        log("%d terminal(s): ceiling %.0f, harness %.0f, Floorwalker %.0f (light client %.0f), "
            "PostgreSQL %.0f events/s" % (t, row["ceiling"], row["harness"], row["floorwalker"],
                                          row["light"], row["postgres"]))
    # The library's full durability for comparison: the spool fsynced on every chunk.
    log("8 terminals: Floorwalker with the terminals' spool fsync on")
    fw = floorwalker_rate(tools, work, 8, n, spool_fsync=True, tag="-fsync")
    res["floorwalker_8_spool_fsync"] = fw["events_per_s"]


def query_under_load(tools, work, size, res):
    """Store-day sales queries from one REQ while fwb_light drives 8 terminals flat out against
    a fresh daemon (a stream long enough for about qload_s seconds at the light client's best
    rate, a noisy 8-terminal figure could make it too short), twice on the same stream: paced,
    one query every QUERY_PACE_MS as consoles ask (the goal row), then back to back, which
    saturates the query path (each answer's next query arrives as the loop resumes a slice,
    so it measures the yield's limit; no goal). Then the daemon's own longest query and loop
    pass (STATS)."""
    rate = max(r["light"] for r in res["throughput"].values())
    per = 8 * BATCH
    n = max(size["events"], int(rate * size["qload_s"]) // per * per)
    stream = os.path.join(work, "stream-qload.bin")
    log("queries under full ingest: %d events from 8 terminals (light client)" % n)
    make_stream(tools, work, 8, n, stream)
    os.sync()
    for key, pace_ms in (("query_under_load", QUERY_PACE_MS), ("query_back_to_back", 0)):
        q = query_probe(tools, work, stream, pace_ms)
        res[key] = q
        log("queries under full ingest, %s: p50 %.3f ms, p99 %.3f ms (n=%d, %.0f answered/s) "
            "while ingest ran at %.0f events/s" % (
                "one every %d ms" % pace_ms if pace_ms else "back to back", q["p50_ms"],
                q["p99_ms"], q["n"], q["n"] / q["load_s"], q["light"]["events_per_s"]))
    os.unlink(stream)


def query_probe(tools, work, stream, pace_ms):
    """One run of query_under_load: a fresh daemon, fwb_light over stream, store-day sales
    queries every pace_ms (0: back to back) while it runs; their latency from the send."""
    import zmq
    sys.path.insert(0, HERE)
    import fwbench
    pb = pb2()
    d = Daemon(tools, work, "fw-qload")
    d.start()
    light = PROCS.start([tools["fwb_light"], "-g", "-e", d.ingest, stream],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if light.stdout.readline().strip() != "go":  # the clock started: the load is on
        die("fwb_light did not start: %s" % light.communicate(timeout=60)[1])
    s = zmq.Context.instance().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(d.query)
    data = pb.Query(kind=pb.Query.SALES, store_id="S001", from_day="today").SerializeToString()
    lat, rows, after, known = [], 0, 0, False
    t0 = time.monotonic()
    due = time.perf_counter()
    while light.poll() is None:
        if pace_ms:  # on a fixed schedule; a late answer does not make a burst
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            due = max(due + pace_ms / 1000.0, time.perf_counter())
        a = time.perf_counter()
        s.send(data)
        if not s.poll(30000):
            die("the daemon did not answer a store-day sales query within 30 s under load")
        r = pb.QueryResult()
        r.ParseFromString(s.recv())
        ms = (time.perf_counter() - a) * 1000
        if r.status != pb.QueryResult.OK:
            if not known and "unknown store" in r.error:
                continue  # zero-config: S001 exists once its first events are committed
            die("store-day sales query under load: %s" % r.error)
        known = True
        rows = sum(len(tb.rows) for tb in r.tables)
        if light.poll() is None:  # answered while the load still ran
            lat.append(ms)
        else:
            after += 1
        if time.monotonic() - t0 > 3600:
            die("the ingest under the query probe took longer than an hour")
    s.close()
    out, err = light.communicate(timeout=60)
    PROCS.live.remove(light)
    if light.returncode != 0:
        die("fwb_light (under the query probe) exited %d: %s%s" % (light.returncode, out, err))
    lt = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
    st = d.stats()
    d.stop()
    d.remove_data()
    if not lat:
        die("no store-day sales query was answered while the ingest ran")
    q = fwbench.summary(lat)
    q.update(rows=rows, answered_after_load=after, light=lt, query_ms_max=st.get("query_ms_max"),
             pass_ms_max=st.get("pass_ms_max"), commit_ms_max=st.get("commit_ms_max"),
             commit_events_avg=st.get("commit_events_avg"), load_s=lt["seconds"], pace_ms=pace_ms)
    return q


def latency(tools, work, size, res):
    # Half of the best rate, with the terminal count that reached it.
    best_t, best = max(((int(t), r["floorwalker"]) for t, r in res["throughput"].items()),
                       key=lambda x: x[1])
    rate = best / 2
    n = max(best_t * BATCH, int(rate * size["lat_s"]) // (best_t * BATCH) * best_t * BATCH)
    stream = os.path.join(work, "stream-latency.bin")
    log("latency: %d events from %d terminals at %.0f events/s (half of %.0f)"
        % (n, best_t, rate, best))
    make_stream(tools, work, best_t, n, stream)
    # The throughput phases leave gigabytes of dirty pages behind (spools, data directories);
    # their writeback would land in the daemon's fsyncs here. Let it finish first.
    os.sync()
    time.sleep(2)
    d = Daemon(tools, work, "fw-latency")
    d.start()
    lat_file = os.path.join(res["out"], "ack_latency_ms.txt")
    lat = PROCS.start([tools["fwb_latency"], "-e", d.ingest, "-r", "%.0f" % rate, "-o", lat_file,
                       stream], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)  # past the latency client's warm-up
    alert = run_json([PY, os.path.join(HERE, "alert_latency.py"), "--ingest", d.ingest,
                      "--alerts", d.alerts, "-n", str(size["alerts"]), "--json",
                      "--proto", os.path.join(ROOT, "proto", "floorwalker.proto")], timeout=600)[0]
    out, err = lat.communicate(timeout=600)
    PROCS.live.remove(lat)
    if lat.returncode != 0:
        die("fwb_latency failed: %s" % err)
    ack = json.loads(out.splitlines()[-1])
    if ack["rejected"] or ack["batch_errors"]:
        die("the latency stream was not taken whole: %s" % ack)
    res["latency_rss_kb"] = d.hwm_kb()
    st = d.stats()
    res["latency_checkpoint_ms_max"] = st.get("checkpoint_ms_max")
    res["latency_snapshot_ms_max"] = st.get("checkpoint_snapshot_ms_max")
    res["latency_commit_ms_max"] = st.get("commit_ms_max")
    res["latency_pass_ms_max"] = st.get("pass_ms_max")
    res["latency_query_ms_max"] = st.get("query_ms_max")
    d.stop()
    d.remove_data()
    os.unlink(stream)
    ack["target_rate"] = rate
    res["ack_latency"] = ack
    res["alert_latency"] = alert
    # Did the alert probe run while the load ran? (it starts 0.8 s in)
    load_s = n / rate
    res["alert_under_load"] = alert["end"] - alert["start"] <= load_s - 0.8


def recovery(tools, work, size, res):
    n = size["recovery"]
    d = Daemon(tools, work, "fw-recovery")
    d.start()
    stores, per = RECOVERY_LAYOUT
    log("recovery: loading %d events from %d terminals" % (n, stores * per))
    spool = os.path.join(work, "spool-recovery")
    r = run_json(sim_args(tools, d.ingest, (stores, per), n, spool), timeout=7200)[0]
    shutil.rmtree(spool, ignore_errors=True)
    st = d.stats()
    res["recovery_load_rate"] = r["events_per_s"]
    res["rss_kb"] = d.hwm_kb()
    mdb = os.path.join(d.data, "data.mdb")
    res["events_stored"] = st["events_total"]
    res["mdb_bytes"] = os.stat(mdb).st_size
    res["mdb_bytes_per_m"] = res["mdb_bytes"] / st["events_total"] * 1e6
    res["checkpoint_ms_max"] = st.get("checkpoint_ms_max")
    log("recovery: SIGKILL and restart with %d events in the log" % st["events_total"])
    d.kill()
    res["recovery_s"] = d.start()
    st = d.stats()
    res["replayed"] = st.get("replayed_at_start")
    res["replay_ms"] = st.get("replay_ms")
    if st["events_total"] != n:
        die("after the restart the daemon has %s events, not %d" % (st["events_total"], n))
    log("queries over %d events" % n)
    q = run_json([PY, os.path.join(HERE, "query_latency.py"), "-e", d.query, "--store", "S001",
                  "--region", "default", "-n", str(size["queries"]), "--json",
                  "--proto", os.path.join(ROOT, "proto", "floorwalker.proto")], timeout=1200)
    res["queries"] = {x["query"]: x for x in q}
    d.stop()
    d.remove_data()


# ---- the report -------------------------------------------------------------------------------------


def fmt_int(v):
    return "{:,.0f}".format(v)


def status(ok):
    return "met" if ok else "**not met**"


def report(res, size_name, size):
    rows = []  # (figure, measured, goal, status)
    tp = res["throughput"]
    for t in ("1", "8", "64"):
        r = tp[t]
        term = "%s terminal%s" % (t, "" if t == "1" else "s")
        rows.append(("ZeroMQ ceiling, %s (events/s)" % term, fmt_int(r["ceiling"]), "", ""))
        rows.append(("Floorwalker durable acked ingest, %s (events/s)" % term,
                     fmt_int(r["floorwalker"]), ">= " + fmt_int(GOAL_RATE),
                     status(r["floorwalker"] >= GOAL_RATE)))
        share = r["floorwalker"] / r["ceiling"]
        rows.append(("Floorwalker / ceiling, %s" % term, "%.1f%%" % (100 * share),
                     ">= %d%%" % (100 * GOAL_CEILING_SHARE), status(share >= GOAL_CEILING_SHARE)))
        rows.append(("PostgreSQL batched upserts, %s (events/s)" % term, fmt_int(r["postgres"]),
                     "", ""))
        ratio = r["floorwalker"] / r["postgres"]
        rows.append(("Floorwalker / PostgreSQL, %s" % term, "%.1fx" % ratio,
                     ">= %dx" % GOAL_PG_RATIO, status(ratio >= GOAL_PG_RATIO)))
    for t in ("1", "8", "64"):
        term = "%s terminal%s" % (t, "" if t == "1" else "s")
        light = tp[t]["light"]
        goal = t == "8"
        rows.append(("Floorwalker durable acked ingest, light client, %s (events/s)" % term,
                     fmt_int(light), ">= " + fmt_int(GOAL_RATE) if goal else "",
                     status(light >= GOAL_RATE) if goal else ""))
    fl = res["floor"]
    rows.append(("decode-and-append floor (protobuf-c + LMDB append, fsync per group) (events/s)",
                 fmt_int(fl["events_per_s"]), "", ""))
    share = tp["8"]["light"] / fl["events_per_s"]
    rows.append(("Floorwalker / floor, light client 8 terminals", "%.1f%%" % (100 * share),
                 ">= %d%%" % (100 * GOAL_FLOOR_SHARE), status(share >= GOAL_FLOOR_SHARE)))
    ack = res["ack_latency"]
    load = "at %s events/s (50%% of %s), %d terminals" % (
        fmt_int(ack["target_rate"]), fmt_int(2 * ack["target_rate"]), ack["terminals"])
    rows.append(("ack latency p50 %s (ms)" % load, "%.2f" % ack["p50_ms"], "", ""))
    rows.append(("ack latency p99 %s (ms)" % load, "%.2f" % ack["p99_ms"],
                 "<= %d" % GOAL_ACK_P99_MS, status(ack["p99_ms"] <= GOAL_ACK_P99_MS)))
    rows.append(("ack latency p99.9 %s (ms)" % load, "%.2f" % ack["p999_ms"], "", ""))
    if ack.get("cold_batches"):
        rows.append(("first acks after a start: the longest of the %d batches due in the first "
                     "%.1f s of that load, the daemon just started (ms)"
                     % (ack["cold_batches"], ack["skip_s"]), "%.2f" % ack["cold_max_ms"],
                     "<= %d" % GOAL_COLD_ACK_MS, status(ack["cold_max_ms"] <= GOAL_COLD_ACK_MS)))
    al = res["alert_latency"]
    rows.append(("event-to-alert latency p99, %s (ms)" %
                 ("under the same load" if res["alert_under_load"] else "partly after the load"),
                 "%.2f" % al["p99_ms"], "<= %d" % GOAL_ALERT_P99_MS,
                 status(al["p99_ms"] <= GOAL_ALERT_P99_MS)))
    if res.get("latency_pass_ms_max") is not None:  # the daemon's own measure (stats)
        rows.append(("longest ingest loop pass under that load, the daemon's pass_ms_max (ms)",
                     "%.1f" % res["latency_pass_ms_max"], "<= %d" % GOAL_LOOP_PASS_MS,
                     status(res["latency_pass_ms_max"] <= GOAL_LOOP_PASS_MS)))
        rows.append(("longest query answered under that load, the daemon's query_ms_max (ms)",
                     "%.1f" % res["latency_query_ms_max"], "", ""))
    ql = res["query_under_load"]
    paced = "one every %d ms" % ql["pace_ms"]
    rows.append(("store-day sales query p50 while ingest runs at full speed (light client, 8 "
                 "terminals), %s (ms)" % paced, "%.3f" % ql["p50_ms"], "", ""))
    rows.append(("store-day sales query p99 while ingest runs at full speed (light client, 8 "
                 "terminals), %s (ms)" % paced, "%.3f" % ql["p99_ms"],
                 "<= %d" % GOAL_QUERY_LOAD_P99_MS, status(ql["p99_ms"] <= GOAL_QUERY_LOAD_P99_MS)))
    qb = res.get("query_back_to_back")
    for pct in ("p50", "p99") if qb else ():
        rows.append(("the same query %s, asked back to back (saturating the query path: %.0f "
                     "answered/s) (ms)" % (pct, qb["n"] / qb["load_s"]),
                     "%.3f" % qb[pct + "_ms"], "", ""))
    if ql.get("query_ms_max") is not None:  # the daemon's own measures (stats)
        rows.append(("longest query answered during that full-speed ingest, the daemon's "
                     "query_ms_max (ms)", "%.1f" % ql["query_ms_max"], "", ""))
    if ql.get("pass_ms_max") is not None:
        rows.append(("longest ingest loop pass during that full-speed ingest, the daemon's "
                     "pass_ms_max (ms)", "%.1f" % ql["pass_ms_max"], "", ""))
    n = res["events_stored"]
    scaled = "" if n >= GOAL_RECOVERY_EVENTS else " [scaled down: %s events, not 10M]" % fmt_int(n)
    q = res["queries"]
    sd, rm = q["store-day sales"], q["region-month top-10 SKUs"]
    rows.append(("store-day sales query p50 over %s events (ms)" % fmt_int(n),
                 "%.3f" % sd["p50_ms"], "", ""))
    rows.append(("store-day sales query p99 over %s events (ms)" % fmt_int(n),
                 "%.3f" % sd["p99_ms"], "<= %d" % GOAL_QUERY_P99_MS,
                 status(sd["p99_ms"] <= GOAL_QUERY_P99_MS) + scaled))
    rows.append(("region-month top-10 SKUs p50, %d stores (ms)" % RECOVERY_LAYOUT[0],
                 "%.3f" % rm["p50_ms"], "", ""))
    rows.append(("region-month top-10 SKUs p99, %d stores (ms)" % RECOVERY_LAYOUT[0],
                 "%.3f" % rm["p99_ms"], "", ""))
    rows.append(("daemon peak RSS (VmHWM) after %s events (MB)" % fmt_int(n),
                 "%.0f" % (res["rss_kb"] / 1024), "", ""))
    rows.append(("LMDB MB per million events (data.mdb size / events stored)",
                 "%.0f" % (res["mdb_bytes_per_m"] / 1e6), "", ""))
    rows.append(("restart after SIGKILL with %s events in the log, to first answered query (s)"
                 % fmt_int(n), "%.2f" % res["recovery_s"], "<= %d" % GOAL_RECOVERY_S,
                 status(res["recovery_s"] <= GOAL_RECOVERY_S) + scaled))

    m = res["machine"]
    lines = []
    lines.append("# Floorwalker benchmark (size %s)" % size_name)
    lines.append("")
    lines.append("%s, %d CPUs (%s), Linux %s; %s; %.0f s. Other processes (not started by the "
                 "benchmark) kept %.0f%% of the machine's CPU time busy during the run (%.0f%% "
                 "in the second before it; load average %s): figures on a shared machine are "
                 "lower than on an idle one."
                 % (m["host"], m["cpus"], m["cpu_model"], m["kernel"], res["started"],
                    res["seconds"], 100 * res["others_busy"], 100 * res["busy_before"],
                    " ".join(m["loadavg"])))
    lines.append("")
    lines.append("| figure | measured | goal | status |")
    lines.append("|---|---|---|---|")
    for f, v, g, s in rows:
        lines.append("| %s | %s | %s | %s |" % (f, v, g or "-", s or "-"))
    lines.append("")
    cd = tp["8"]["ceiling_detail"]
    lines.append("Throughput by terminals (events/s; each run %s events of the same seeded "
                 "stream; batches of up to %s events, %s on average in the --write file that "
                 "the ceiling and PostgreSQL get, and as many as the library found spooled in "
                 "the live runs, column \"FW events per batch\"):"
                 % (fmt_int(size["events"]), fmt_int(BATCH), fmt_int(cd["events"] / cd["batches"])))
    lines.append("")
    lines.append("| terminals | ZeroMQ ceiling | sim against a null ROUTER | Floorwalker | "
                 "PostgreSQL (connections) | FW / ceiling | FW / PG | FW events per batch / "
                 "per commit | FW daemon CPU per event (busy) | FW peak RSS MB |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for t in ("1", "8", "64"):
        r = tp[t]
        fw = r["floorwalker_detail"]
        lines.append("| %s | %s | %s | %s | %s (%d) | %.1f%% | %.1fx | %s / %s | %.1f us (%.0f%%) "
                     "| %.0f |" % (
            t, fmt_int(r["ceiling"]), fmt_int(r["harness"]), fmt_int(r["floorwalker"]),
            fmt_int(r["postgres"]), r["postgres_detail"]["connections"],
            100 * r["floorwalker"] / r["ceiling"],
            r["floorwalker"] / r["postgres"], fmt_int(fw["events_per_batch"]),
            fmt_int(fw["commit_events_avg"] or 0),
            fw["daemon_cpu_us_per_event"], 100 * fw["daemon_cpu_busy"],
            (fw["rss_hwm_kb"] or 0) / 1024))
    lines.append("")
    pgd = tp["8"]["postgres_detail"]
    lines.append("How (details: tests/bench/run.py and the fwb_*.c headers):")
    lines.append("")
    lines.append("- Stream: %s (`--stores S --terminals T -n N --seed 1 --batch %d`; 1 = 1x1, "
                 "8 = 2x4, 64 = 16x4 stores x terminals); all tools read the same file; "
                 "%.0f bytes per event on the wire." % (
                     res["stream_source"], BATCH,
                     tp["8"]["ceiling_detail"]["bytes_per_event"]))
    lines.append("- Transport: TCP on 127.0.0.1 for every figure. Ceiling: fwb_ceiling, one "
                 "DEALER per terminal with the library's window of 8 batches in flight, a ROUTER "
                 "thread answering each batch with a %d-byte frame (an Ack's size), no decoding."
                 % tp["8"]["ceiling_detail"]["ack_bytes"])
    lines.append("- Floorwalker: `floorwalker sim %s` (the terminal library: LMDB spool written "
                 "per 1,000-event chunk without fsync, 1,000-event batches, 8 in flight) against "
                 "floorwalkerd with the default configuration (every rollup and alert rule on, "
                 "fsync per group commit), a fresh data directory per run; events/s as sim "
                 "reports it (spooled, sent, durable in the daemon, acked, removed from the "
                 "spool). With the spool fsynced per chunk too (sim without --no-fsync), 8 "
                 "terminals: %s events/s. The sim and the daemon share this machine's CPUs; "
                 "\"sim against a null ROUTER\" (fwb_record acking at once) is what the "
                 "terminal side alone reaches." % (" ".join(SIM_FLAGS),
                                                  fmt_int(res["floorwalker_8_spool_fsync"])))
    lines.append("- PostgreSQL 15: fwb_pg (C, libpq), a pool of up to %d connections, one "
                 "transaction per terminal batch (%d events): COPY into temporary staging "
                 "tables, then INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE into "
                 "the raw event table (primary key terminal/epoch/seq) and hourly store sales, "
                 "SKU-day, category-day, cashier-day, stock moves, stock on hand, complaint "
                 "state, attendance, drawer cash, terminal marks; synchronous_commit=on, "
                 "fsync=on, %s. No alert rules. Database size for %s events: %s MB."
                 % (PG_CONNS, BATCH, ", ".join("%s=%s" % kv for kv in PG_SETTINGS.items()
                                               if kv[0] not in ("synchronous_commit", "fsync")),
                    fmt_int(pgd["events"]), fmt_int(pgd["db_bytes"] / 1e6)))
    l8 = tp["8"]["light_detail"]
    lines.append("- Light client: fwb_light (C) sends the --write file's batches to floorwalkerd "
                 "(default configuration, a fresh data directory per run: the file's epochs and "
                 "seqs would be duplicates in a used one) as fast as they are acked, one DEALER "
                 "per terminal with %d batches in flight (the library's window) and no spool; "
                 "every Ack is decoded, a batch counts when an Ack covers its last seq, and a "
                 "run with a rejected event, a batch error or an event not newly stored fails; "
                 "events/s from the first send to the last Ack. At 8 terminals the daemon "
                 "committed %s events per group on average and used %.1f us of CPU per event."
                 % (l8["window"], fmt_int(l8["commit_events_avg"] or 0),
                    l8["daemon_cpu_us_per_event"]))
    lines.append("- Decode-and-append floor: fwb_floor on the 8-terminal file, in one process "
                 "with no network: batches in groups as large as the daemon ever commits at "
                 "once (until a group holds %s events or %s batches, the defaults of "
                 "commit_max_events and commit_max_msgs: %d groups of %s events here; the "
                 "daemon's own groups are smaller, it ends a pass when its writer is idle, and "
                 "fewer fsyncs make this floor the higher one), one LMDB write transaction per "
                 "group committed with the default environment flags (fsync per group, %.1f ms "
                 "on average); in it every batch split by fw_batch_split, every event decoded "
                 "by protobuf-c (floorwalker__event__unpack) and its bytes appended behind an "
                 "8-byte time under an 8-byte key (MDB_APPEND). No validation, dedup, rollups, "
                 "rules or acks. \"Floorwalker / floor\" is the light client's 8-terminal rate "
                 "over it." % (fmt_int(fl["max_events"]), fmt_int(fl["max_batches"]),
                               fl["groups"], fmt_int(fl["events_per_group"]),
                               fl["commit_ms_avg"]))
    qb = res.get("query_back_to_back")
    lines.append("- Queries at full ingest speed: one Python REQ (query_latency.py's way, its "
                 "own overhead included) asks the store-day sales query (store S001, today) "
                 "once every %d ms, timed from each send, while fwb_light drives %s events from "
                 "8 terminals flat out against a fresh daemon (%.1f s; ingest reached %s "
                 "events/s with the queries, %s without); n=%d queries answered while the load "
                 "ran (rows in the last answer: %d). query_ms_max and pass_ms_max: the daemon's "
                 "STATS after that run (its longest commit meanwhile %.1f ms)."
                 % (ql["pace_ms"], fmt_int(ql["light"]["events"]), ql["load_s"],
                    fmt_int(ql["light"]["events_per_s"]), fmt_int(tp["8"]["light"]), ql["n"],
                    ql["rows"], ql["commit_ms_max"] or 0))
    if qb:
        lines.append("  Then again on a fresh daemon with the same stream, asked back to back: "
                     "n=%d, ingest meanwhile %s events/s. Each answer's next query arrives just "
                     "as the loop resumes its slice, and a slice ends early for a waiting query "
                     "at most once per half [ingest] pass_budget_ms, so this measures that "
                     "limit; consoles ask at random times, as the paced probe does."
                     % (qb["n"], fmt_int(qb["light"]["events_per_s"])))
    lines.append("- Ack latency: fwb_latency sends the stream of %d terminals (%s events) paced "
                 "open-loop at %s events/s, batch by batch in turn, and times each batch from "
                 "its slot to the Ack covering it (%d batches, the first 0.5 s left out as "
                 "warm-up); achieved %s events/s; the daemon's longest group commit meanwhile "
                 "took %.1f ms (on the writer thread) and its longest rollup checkpoint %.1f ms "
                 "from the snapshot of its cells (on the loop thread, at most %.1f ms) to the "
                 "commit of its last cells (on the writer thread: a checkpoint of more than "
                 "1,000 cells is staged whole, then merged a slice per commit). Event-to-alert: alert_latency.py (Python, a "
                 "MAJOR complaint per batch to its FIRING on the PUB, n=%d) while that load runs."
                 % (ack["terminals"], fmt_int(ack["events"]), fmt_int(ack["target_rate"]),
                    ack["measured_batches"], fmt_int(ack["achieved_events_per_s"]),
                    res["latency_commit_ms_max"] or 0, res["latency_checkpoint_ms_max"] or 0,
                    res.get("latency_snapshot_ms_max") or 0, al["n"]))
    lines.append("- Recovery data set: `floorwalker sim --stores %d --terminals %d -n %d` (%s "
                 "events/s while loading; peak RSS and LMDB size measured after it), SIGKILL, "
                 "restart: seconds from spawn to the first answered STATS query (%s events "
                 "replayed after the last checkpoint, %.0f ms). Queries: query_latency.py "
                 "(Python REQ, includes its own overhead), n=%d each, store S001 today and "
                 "region `default` this month, on the restarted daemon."
                 % (RECOVERY_LAYOUT[0], RECOVERY_LAYOUT[1], n, fmt_int(res["recovery_load_rate"]),
                    fmt_int(res["replayed"] or 0), res["replay_ms"] or 0, size["queries"]))
    if size_name != "full":
        lines.append("- Size %s: every figure over fewer events than --size full (%s per "
                     "throughput run, %s in the recovery set; full: %s and 10,000,000)."
                     % (size_name, fmt_int(size["events"]), fmt_int(size["recovery"]),
                        fmt_int(SIZES["full"]["events"])))
    if res.get("perf"):
        lines.append("- --perf: perf record (DWARF call graphs) sampled the daemon during the "
                     "throughput runs, which slows it: perf-1.txt, perf-8.txt, perf-64.txt.")
    lines.append("")
    lines.append("Chart: bench.png (throughput against terminals; ack latency distribution).")
    return "\n".join(lines) + "\n", rows


def chart(res, out):
    tp = res["throughput"]
    dat = os.path.join(out, "throughput.dat")
    with open(dat, "w") as f:
        f.write("# terminals ceiling harness floorwalker postgres floorwalker_light_client\n")
        for t in ("1", "8", "64"):
            r = tp[t]
            f.write("%s %.0f %.0f %.0f %.0f %.0f\n" % (t, r["ceiling"], r["harness"],
                                                       r["floorwalker"], r["postgres"], r["light"]))
    lat = sorted(float(x) for x in open(os.path.join(out, "ack_latency_ms.txt")) if x.strip())
    # Percentile spectrum, HdrHistogram style: x = 1 / (1 - p) on a log axis, so the tail shows.
    spec = os.path.join(out, "ack_latency_percentiles.dat")
    with open(spec, "w") as f:
        f.write("# 1/(1-p) latency_ms percentile\n")
        n = len(lat)
        for i, v in enumerate(lat):
            p = (i + 1) / (n + 1)
            f.write("%.6f %.4f %.4f\n" % (1 / (1 - p), v, 100 * p))
    ack = res["ack_latency"]
    gp = os.path.join(out, "bench.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1400,600 font ",10"
set output '%(png)s'
set multiplot layout 1,2
set title 'Durable acked ingest (events/s) against terminals'
set logscale xy
set xrange [0.8:80]
set xtics ("1" 1, "8" 8, "64" 64)
set xlabel 'terminals'
set ylabel 'events/s'
set format y '%%.0s%%c'
set grid
set key below
set label 1 'goal 1M/s' at 1.1,%(goal)d*1.15 tc rgb '#888888'
plot '%(dat)s' u 1:2 w lp lw 2 pt 7 t 'ZeroMQ ceiling (same batches)', \\
     '' u 1:3 w lp lw 2 pt 5 dt 2 t 'sim against a null ROUTER', \\
     '' u 1:4 w lp lw 3 pt 9 t 'Floorwalker', \\
     '' u 1:6 w lp lw 2 pt 13 dt 4 t 'Floorwalker, light client', \\
     '' u 1:5 w lp lw 2 pt 11 t 'PostgreSQL 15 upserts', \\
     %(goal)d w l lc rgb '#888888' dt 3 notitle
unset label 1
set title 'Ack latency by percentile at %(rate)s events/s (half of the best), %(terms)d terminals'
set xrange [1:*]
set xtics ("0%%%%" 1, "50%%%%" 2, "90%%%%" 10, "99%%%%" 100, "99.9%%%%" 1000, "99.99%%%%" 10000)
set xlabel 'percentile of batches'
set ylabel 'ms from a batch''s send slot to its Ack'
set format y '%%g'
set key inside top left
set label 2 'goal p99 <= %(goal_ack)d ms' at 1.2,%(goal_ack)d*1.12 tc rgb '#888888'
plot '%(spec)s' u 1:2 w l lw 2 t sprintf('p50 %%.2f ms, p99 %%.2f ms, p99.9 %%.2f ms', %(p50)f, %(p99)f, %(p999)f), \\
     %(goal_ack)d w l lc rgb '#888888' dt 3 notitle
unset multiplot
""" % {"png": os.path.join(out, "bench.png"), "dat": dat, "spec": spec, "goal": GOAL_RATE,
            "rate": fmt_int(ack["target_rate"]), "terms": ack["terminals"],
            "goal_ack": GOAL_ACK_P99_MS, "p50": ack["p50_ms"], "p99": ack["p99_ms"],
            "p999": ack["p999_ms"]})
    run(["gnuplot", gp], timeout=120)


def check(md_path):
    """Every row of the main table has a figure: a number, not empty or NaN."""
    bad = []
    rows = 0
    with open(md_path) as f:
        lines = f.read().splitlines()
    start = lines.index("| figure | measured | goal | status |")
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in ln.strip("|").split("|")]
        rows += 1
        v = cells[1].replace(",", "").rstrip("x%")
        try:
            ok = math.isfinite(float(v))
        except ValueError:
            ok = False
        if not ok or len(cells) != 4 or not cells[0]:
            bad.append(ln)
    if rows < 20 or bad:
        die("bench.md: %d rows, these without a figure:\n%s" % (rows, "\n".join(bad)))
    if not os.path.getsize(os.path.join(os.path.dirname(md_path), "bench.png")):
        die("bench.png is empty")
    log("check: all %d rows have a figure" % rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--out", help="directory for bench.md/.json/.png (default: "
                    "$TMPDIR/floorwalker-bench-SIZE)")
    ap.add_argument("--build", help="a configured and built tree (default: build one)")
    ap.add_argument("--check", action="store_true", help="fail unless every row has a figure")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--perf", action="store_true",
                    help="profile the daemon (perf record) in the throughput runs: OUT/perf-T.txt")
    a = ap.parse_args()
    size = SIZES[a.size]
    tools = find_binaries(a)
    out = os.path.abspath(a.out or os.path.join(tempfile.gettempdir(),
                                                "floorwalker-bench-" + a.size))
    os.makedirs(out, exist_ok=True)
    if a.perf and not shutil.which("perf"):
        die("--perf needs perf (linux-perf)")
    res = {"size": a.size, "out": out, "machine": machine(), "perf": a.perf,
           "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    res["busy_before"] = cpu_busy()
    cpu0, own0 = cpu_sample(), own_cpu()
    work = tempfile.mkdtemp(prefix="fwbench-")
    os.chmod(work, 0o755)  # PostgreSQL runs as another user under it
    pg = None
    t0 = time.monotonic()
    try:
        pg = Postgres(work)
        pg.start()
        throughput(tools, work, pg, size, res)
        pg.stop()
        query_under_load(tools, work, size, res)
        latency(tools, work, size, res)
        recovery(tools, work, size, res)
        res["seconds"] = time.monotonic() - t0
        # Every process we started has been reaped: what is left of the busy time is others'.
        cpu1 = cpu_sample()
        res["others_busy"] = max(0.0, ((cpu1[0] - cpu0[0]) - (own_cpu() - own0)) /
                                 max(1e-9, cpu1[1] - cpu0[1]))
        md, _ = report(res, a.size, size)
        with open(os.path.join(out, "bench.md"), "w") as f:
            f.write(md)
        with open(os.path.join(out, "bench.json"), "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
        chart(res, out)
        print(md)
        log("done in %.0f s; %s/bench.md, bench.json, bench.png" % (res["seconds"], out))
        if a.check:
            check(os.path.join(out, "bench.md"))
    finally:
        if pg:
            pg.stop()
        PROCS.cleanup()
        if a.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
