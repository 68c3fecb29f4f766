"""systemd integration and live reload.

- The daemon under a fake NOTIFY_SOCKET sends READY=1, WATCHDOG=1 from its loop, RELOADING=1
  then READY=1 around a SIGHUP, and STOPPING=1.
- A SIGHUP with a bad config is refused with a logged reason and the old config stays.
- Reload under load: a simulated chain keeps publishing, no event is lost, no terminal has to
  resend (no connection dropped), and the new thresholds are in effect at once.
- `systemd-analyze verify` passes on systemd/floorwalkerd.service.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import fwtest
from fwtest import event

ROOT = os.path.join(os.path.dirname(os.path.abspath(fwtest.PROTO)), "..")


class Notify(fwtest.DaemonTest):
    def messages(self, sock, until, timeout=10.0):
        got = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            sock.settimeout(max(0.05, deadline - time.time()))
            try:
                data = sock.recv(4096).decode()
            except socket.timeout:
                break
            got.extend(data.split("\n"))
            if until(got):
                break
        return got

    def test_notify_and_reload(self):
        path = os.path.join(self.tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        d = self.daemon("[store:N1]\nregion = east\n", start=False)
        env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
        d.start(env=env)
        got = self.messages(sock, lambda g: g.count("WATCHDOG=1") >= 3)
        self.assertEqual(got[0], "READY=1", got)
        self.assertGreaterEqual(got.count("WATCHDOG=1"), 3, "fed from the loop every 100 ms")

        # A good reload: RELOADING=1 then READY=1, and the new store is known.
        d.write_config("[store:N1]\nregion = east\n[store:N2]\nregion = west\n")
        d.proc.send_signal(signal.SIGHUP)
        got = [m for m in self.messages(sock, lambda g: "READY=1" in g) if m != "WATCHDOG=1"]
        self.assertEqual(got[:2], ["RELOADING=1", "READY=1"])
        pb = fwtest.pb2()
        r = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="N2"))
        self.assertEqual(r.status, pb.QueryResult.OK, r.error)

        # A bad reload is refused, the old config stays (N2 still known, N3 not).
        with open(d.conf, "a") as f:
            f.write("[store:N3]\nregion = north\nbogus_key = 1\n")
        d.proc.send_signal(signal.SIGHUP)
        got = [m for m in self.messages(sock, lambda g: "READY=1" in g) if m != "WATCHDOG=1"]
        self.assertEqual(got[:2], ["RELOADING=1", "READY=1"])
        time.sleep(0.1)
        self.assertIn("reload refused", d.read_log())
        self.assertIn("bogus_key", d.read_log())
        self.assertEqual(d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="N2")).status,
                         pb.QueryResult.OK)
        r = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="N3"))
        self.assertEqual(r.status, pb.QueryResult.NOT_FOUND, r.error)

        d.proc.send_signal(signal.SIGTERM)
        got = self.messages(sock, lambda g: "STOPPING=1" in g)
        self.assertIn("STOPPING=1", got)
        d.proc.wait(10)
        d.proc = None
        d.check_log_clean()
        sock.close()

    def test_reload_under_load(self):
        pb = fwtest.pb2()
        d = self.daemon("[rules]\ncompensation_limit_cents = 20000\n")
        spool = os.path.join(self.tmp, "spool")
        sim = subprocess.Popen(
            [fwtest.CLI, "sim", "-e", d.ingest, "--stores", "2", "--terminals", "2", "-n", "60000",
             "--rate", "20000", "--chunk", "100", "--spool", spool, "--json", "--timeout", "120"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        d.write_config("[rules]\ncompensation_limit_cents = 5000\n")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertIn("configuration reloaded", d.read_log())
        # The new threshold is in effect: 6000 cents is now over the limit.
        t = fwtest.Terminal(d.ingest)
        a = t.send([event("RL1", "RLT", 1, 1, complaint={
            "complaint_id": "RC1", "action": "OPENED", "severity": "MINOR", "channel": "COUNTER",
            "compensation_cents": 6000})])
        self.assertEqual(a.acked_seq, 1)
        r = d.query_raw(pb.Query(kind=pb.Query.ALERTS, rule="compensation_over_limit"))
        ids = [row["alert_id"] for row in fwtest.table(r, "alerts")]
        self.assertEqual(ids, ["compensation_over_limit/RL1/RC1"])
        self.assertEqual(fwtest.table(r, "alerts")[0]["threshold"], 5000)
        out, err = sim.communicate(timeout=180)
        self.assertEqual(sim.returncode, 0, err)
        rep = json.loads(out)
        self.assertEqual((rep["sent"], rep["spool_left"]), (60000, 0))
        self.assertEqual(rep["resends"], 0, "a reload must not drop terminal connections")
        st = d.stats()
        self.assertEqual(st["daemon"]["events_total"], 60000 + 1)
        self.assertEqual(st["daemon"]["acks_dropped"], 0)
        t.close()


class Unit(fwtest.DaemonTest):
    def test_systemd_analyze_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        src = os.path.join(ROOT, "systemd", "floorwalkerd.service")
        with open(src) as f:
            unit = f.read()
        self.assertIn("Type=notify", unit)
        self.assertIn("WatchdogSec=", unit)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", unit)
        # verify needs the executables to exist: point the unit at the built daemon.
        unit = unit.replace("/usr/local/sbin/floorwalkerd", os.path.abspath(fwtest.DAEMON))
        dst = os.path.join(self.tmp, "floorwalkerd.service")
        with open(dst, "w") as f:
            f.write(unit)
        # Documentation= names our man pages: verify looks them up, so give it ours.
        mandir = os.path.join(self.tmp, "man")
        for page, sec in (("floorwalkerd.8", "8"), ("floorwalker.conf.5", "5"),
                          ("floorwalker.1", "1")):
            os.makedirs(os.path.join(mandir, "man" + sec), exist_ok=True)
            shutil.copy(os.path.join(ROOT, "man", page), os.path.join(mandir, "man" + sec))
        p = subprocess.run(["systemd-analyze", "verify", dst], capture_output=True, text=True,
                           env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning", MANPATH=mandir))
        problems = [ln for ln in p.stderr.splitlines()
                    if "floorwalkerd.service" in ln and "Failed to" not in ln.split(":")[0]]
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(problems, [], p.stderr)
        # The clients' units: the CLI in place of the installed one.
        for name in ("floorwalker-notify.service", "floorwalker-web.service",
                     "floorwalker-export.service"):
            with open(os.path.join(ROOT, "systemd", name)) as f:
                unit = f.read().replace("/usr/local/bin/floorwalker", os.path.abspath(fwtest.CLI))
            dst = os.path.join(self.tmp, name)
            with open(dst, "w") as f:
                f.write(unit)
            p = subprocess.run(["systemd-analyze", "verify", dst], capture_output=True, text=True,
                               env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning", MANPATH=mandir))
            problems = [ln for ln in p.stderr.splitlines()
                        if name in ln and "Failed to" not in ln.split(":")[0]]
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(problems, [], p.stderr)


if __name__ == "__main__":
    fwtest.main()
