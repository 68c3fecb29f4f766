"""Shared harness for the integration tests.

Starts the real floorwalkerd on ipc:// endpoints inside a temporary directory (never the
default ports, so tests run in parallel and beside a demo), drives it with the real CLI, and
talks the wire protocol with Debian's python3-zmq and python3-protobuf using the .proto
compiled by stock protoc.
"""
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest



def _abspath(p):
    """A path given relative to where the test was started (README's long fault run sets
    FW_CLI=clients/cli/floorwalker from build/) names the same file from the temporary
    directories the tests run commands in. A bare name is left to PATH."""
    return os.path.abspath(p) if p and os.sep in p else p


DAEMON = _abspath(os.environ.get("FW_DAEMON"))
CLI = _abspath(os.environ.get("FW_CLI"))
PROTO = _abspath(os.environ.get("FW_PROTO"))
SANITIZE = os.environ.get("FW_SANITIZE", "0") in ("1", "ON", "TRUE", "true")
# A command the daemon runs under (Daemon.start), e.g. scripts/valgrind.sh sets
#   FW_DAEMON_WRAPPER="valgrind --error-exitcode=99 --leak-check=full
#                      --errors-for-leak-kinds=definite"
# valgrind gets a --log-file per daemon process (unless the wrapper names one) and each log is
# checked when the daemon stops: no errors, no definite leaks. Only the daemon started through
# Daemon.start runs wrapped (not --check-config or --rebuild runs).
WRAPPER = shlex.split(os.environ.get("FW_DAEMON_WRAPPER", ""))
VALGRIND = bool(WRAPPER) and os.path.basename(WRAPPER[0]) == "valgrind"
# How much slower the daemon is under the wrapper: Daemon.start and stop wait this many times
# longer, and tests may scale their own time limits by it.
TIME_SCALE = float(os.environ.get("FW_TIME_SCALE", "20" if VALGRIND else "1"))
if not (DAEMON and CLI and PROTO):
    sys.exit("run through ctest: FW_DAEMON, FW_CLI and FW_PROTO must be set")

import zmq  # noqa: E402

_pb2 = None
_pb2_dir = None


def pb2():
    """floorwalker_pb2 compiled from the project's .proto by stock protoc."""
    global _pb2, _pb2_dir
    if _pb2 is None:
        _pb2_dir = tempfile.mkdtemp(prefix="fwpb2-")
        subprocess.run(["protoc", "-I" + os.path.dirname(PROTO), "--python_out=" + _pb2_dir, PROTO],
                       check=True)
        sys.path.insert(0, _pb2_dir)
        import floorwalker_pb2  # noqa: E402
        _pb2 = floorwalker_pb2
    return _pb2


def now_ms():
    return int(time.time() * 1000)


SAN_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
# What valgrind reports as it goes (a log cut short by SIGKILL has no ERROR SUMMARY).
VALGRIND_MARKERS = ("Invalid read", "Invalid write", "Invalid free", "Mismatched free",
                    "uninitialised", "Syscall param", "overlap", "definitely lost in",
                    "Process terminating with default action")


class Daemon:
    """One floorwalkerd with a generated config in its own temporary directory."""

    def __init__(self, tmp, extra_config="", data_dir=None, name="d", args=()):
        self.tmp = tmp
        self.name = name
        self.data_dir = data_dir or os.path.join(tmp, name + "-data")
        self.ingest = "ipc://%s/%s-ingest" % (tmp, name)
        self.alerts = "ipc://%s/%s-alerts" % (tmp, name)
        self.query = "ipc://%s/%s-query" % (tmp, name)
        self.conf = os.path.join(tmp, name + ".conf")
        self.log = os.path.join(tmp, name + ".log")
        self.proc = None
        self.args = list(args)
        self.vglogs = os.path.join(tmp, name + ".valgrind.%p")
        self.write_config(extra_config)

    def write_config(self, extra=""):
        with open(self.conf, "w") as f:
            f.write("[daemon]\ndata_dir = %s\n[ingest]\nendpoint = %s\n[alerts]\nendpoint = %s\n"
                    "[query]\nendpoint = %s\n%s\n" % (self.data_dir, self.ingest, self.alerts,
                                                       self.query, extra))

    def start(self, timeout=20, env=None):
        logf = open(self.log, "a")
        wrap = list(WRAPPER)
        if VALGRIND and not any(a.startswith("--log-file") for a in wrap):
            wrap.insert(1, "--log-file=" + self.vglogs)
        self.proc = subprocess.Popen(wrap + [DAEMON, "-c", self.conf] + self.args, stdout=logf,
                                     stderr=logf, env=env)
        logf.close()
        deadline = time.time() + timeout * TIME_SCALE
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("floorwalkerd exited with %s:\n%s" %
                                     (self.proc.returncode, self.read_log()))
            try:
                self.query_raw(pb2().Query(kind=pb2().Query.STATS), timeout_ms=300)
                return self
            except TimeoutError:
                continue
        raise AssertionError("floorwalkerd did not answer within %ss:\n%s" %
                             (timeout * TIME_SCALE, self.read_log()))

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def check_log_clean(self):
        log = self.read_log()
        for m in SAN_MARKERS:
            if m in log:
                raise AssertionError("sanitizer report in the daemon log:\n" + log)
        self.check_valgrind()

    def check_valgrind(self):
        """Every valgrind log of this daemon's finished processes: no error, no definite leak.
        A log is checked once (a later start writes a new one)."""
        running = self.proc.pid if self.proc and self.proc.poll() is None else None
        for path in sorted(glob.glob(self.vglogs.replace("%p", "*"))):
            if path.endswith(".checked") or path == self.vglogs.replace("%p", str(running)):
                continue
            with open(path, errors="replace") as f:
                log = f.read()
            m = re.findall(r"ERROR SUMMARY: (\d+) errors", log)
            bad = [x for x in VALGRIND_MARKERS if x in log]
            if (m and m[-1] != "0") or bad:
                raise AssertionError("valgrind report (%s):\n%s" % (path, log))
            os.rename(path, path + ".checked")

    def stop(self):
        """SIGTERM and expect a clean exit (and a clean sanitizer log)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(30 * TIME_SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("floorwalkerd did not stop on SIGTERM")
            if rc != 0:
                self.check_valgrind()  # names the error, if valgrind's exit status is the cause
                raise AssertionError("floorwalkerd exited %d on SIGTERM:\n%s" % (rc, self.read_log()))
        self.proc = None
        self.check_log_clean()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    # (server public key, client public key, client secret key), Z85 bytes: the query socket is
    # then a CURVE client ([security] mode = curve; test_curve.py sets it).
    curve = None

    def query_raw(self, q, timeout_ms=5000, curve=None):
        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout_ms)
        curve = curve or self.curve
        if curve:
            s.curve_serverkey, s.curve_publickey, s.curve_secretkey = curve
        s.connect(self.query)
        try:
            s.send(q.SerializeToString())
            try:
                data = s.recv()
            except zmq.Again:
                raise TimeoutError("no answer")
        finally:
            s.close()
        r = pb2().QueryResult()
        r.ParseFromString(data)
        return r

    def stats(self):
        """`floorwalker stats --json` through the real CLI."""
        p = self.cli("stats", "--json", "-e", self.query)
        if p.returncode != 0:
            raise AssertionError("floorwalker stats failed: %s" % p.stderr)
        return json.loads(p.stdout)

    def wait_stats(self, pred, timeout=10):
        """`floorwalker stats --json` until pred(stats) holds or timeout (scaled) passes; the
        last stats either way."""
        deadline = time.time() + timeout * TIME_SCALE
        st = self.stats()
        while not pred(st) and time.time() < deadline:
            time.sleep(0.2)
            st = self.stats()
        return st

    def cli(self, *args, input=None, timeout=120, env=None):
        return run_cli(*args, input=input, timeout=timeout, cwd=self.tmp, env=env)


def run_cli(*args, input=None, timeout=120, cwd=None, env=None):
    p = subprocess.run([CLI] + list(args), input=input, capture_output=True, text=True,
                       timeout=timeout, cwd=cwd, env=env)
    for m in SAN_MARKERS:
        if m in p.stderr:
            raise AssertionError("sanitizer report from floorwalker %s:\n%s" % (args, p.stderr))
    return p


class Terminal:
    """A raw terminal: a DEALER that sends hand-made EventBatch frames and reads Acks."""

    def __init__(self, endpoint):
        self.s = zmq.Context.instance().socket(zmq.DEALER)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.setsockopt(zmq.RCVTIMEO, 10000)
        self.s.connect(endpoint)

    def send_raw(self, *frames):
        self.s.send_multipart(list(frames))

    def recv_ack(self):
        a = pb2().Ack()
        a.ParseFromString(self.s.recv())
        return a

    def send(self, events):
        b = pb2().EventBatch()
        b.events.extend(events)
        self.s.send(b.SerializeToString())
        return self.recv_ack()

    def close(self):
        self.s.close()


def event(store, terminal, epoch, seq, t=None, **body):
    """An Event with one body given as kind=dict, e.g. heartbeat={}."""
    e = pb2().Event(store_id=store, terminal_id=terminal, epoch=epoch, seq=seq,
                    event_time_ms=t if t is not None else now_ms())
    for kind, fields in body.items():
        getattr(e, kind).SetInParent()
        from google.protobuf import json_format
        json_format.ParseDict(fields, getattr(e, kind), ignore_unknown_fields=False)
    return e


def sale(receipt="R1", cashier="K1", kind="SALE", lines=((1000, 250, 0),), total=None, **extra):
    """A sale body dict; lines are (qty_milli, unit_price_cents, discount_cents)."""
    ls = [{"sku": "SKU-%d" % i, "category": "grocery", "qty_milli": q, "unit_price_cents": p,
           "discount_cents": d} for i, (q, p, d) in enumerate(lines)]
    if total is None:
        total = sum((q * p + 500) // 1000 - d for q, p, d in lines)
    b = {"receipt_id": receipt, "cashier_id": cashier, "kind": kind, "lines": ls,
         "total_cents": total}
    b.update(extra)
    return b


class DaemonTest(unittest.TestCase):
    """Gives each test a temporary directory; daemons started with self.daemon() are stopped
    (cleanly, with the sanitizer log checked) at the end."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fwt-")
        self.daemons = []

    def tearDown(self):
        errors = []
        for d in self.daemons:
            try:
                d.stop()
            except AssertionError as e:
                errors.append(str(e))
        if not errors:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if errors:
            raise AssertionError("\n".join(errors))

    def daemon(self, extra_config="", start=True, **kw):
        d = Daemon(self.tmp, extra_config, name="d%d" % len(self.daemons), **kw)
        self.daemons.append(d)
        if start:
            d.start()
        return d


def table(result, name):
    """A QueryResult table as a list of dicts."""
    for t in result.tables:
        if t.name == name:
            rows = []
            for r in t.rows:
                rows.append({c: getattr(v, v.WhichOneof("v")) if v.WhichOneof("v") else None
                             for c, v in zip(t.columns, r.cells)})
            return rows
    raise AssertionError("no table %s in %s" % (name, [t.name for t in result.tables]))


def main():
    unittest.main(verbosity=2)
