"""floorwalker notify against the real Alertmanager (Debian's prometheus-alertmanager 0.25):
the test starts Alertmanager on 127.0.0.1 with a temporary config whose receiver is a webhook
to a small HTTP server inside the test, the daemon on ipc:// endpoints, and the bridge."""
import collections
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import fwtest

AM = "/usr/bin/prometheus-alertmanager"
AMTOOL = "/usr/bin/amtool"
STORES = """
[store:S001]
name = High Street
region = east
timezone = Europe/London
[store:S002]
name = Harbour Road
region = west
timezone = Europe/London
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Hook:
    """The webhook receiver: every notification Alertmanager sends, in order."""

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        hook = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n))
                with hook.lock:
                    hook.got.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def alerts(self, status=None, subject=None):
        """(notification status, alert) for every alert in every notification."""
        with self.lock:
            out = []
            for n in self.got:
                for a in n["alerts"]:
                    if (status is None or a["status"] == status) and \
                            (subject is None or a["labels"].get("subject") == subject):
                        out.append((n["status"], a))
            return out

    def wait(self, status, subject, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.alerts(status, subject)
            if got:
                return got
            time.sleep(0.1)
        raise AssertionError("no %s notification for %s within %ss; got %s" %
                             (status, subject, timeout, self.got))


class Alertmanager:
    def __init__(self, tmp, hook_port, port=None, name="am"):
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.tmp, self.name, self.n = tmp, name, 0
        self.conf = os.path.join(tmp, name + ".yml")
        with open(self.conf, "w") as f:
            f.write("""route:
  receiver: hook
  group_by: [alertname, store, subject]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
- name: hook
  webhook_configs:
  - url: http://127.0.0.1:%d/
    send_resolved: true
""" % hook_port)
        self.proc = None

    def start(self):
        self.n += 1  # a new storage directory each start: empty state
        store = os.path.join(self.tmp, "%s-data%d" % (self.name, self.n))
        self.log = open(os.path.join(self.tmp, self.name + ".log"), "a")
        self.proc = subprocess.Popen(
            [AM, "--config.file=" + self.conf, "--storage.path=" + store,
             "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address=",
             "--log.level=warn"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/-/ready", timeout=1)
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("alertmanager did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
        self.log.close()

    def alerts(self):
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=5) as r:
            return json.load(r)

    def received(self, status):
        """alertmanager_alerts_received_total of status (summed over its other labels)."""
        n = 0.0
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("alertmanager_alerts_received_total{") and \
                        'status="%s"' % status in line:
                    n += float(line.split()[-1])
        return n


class Notify(fwtest.DaemonTest):
    def setUp(self):
        super().setUp()
        self.hook = Hook()
        self.am = Alertmanager(self.tmp, self.hook.port).start()
        self.bridges = []
        self.d = self.daemon(STORES)
        self.seq = 0

    def tearDown(self):
        for i, b in enumerate(self.bridges):
            if b.poll() is None:
                b.send_signal(signal.SIGTERM)
                # A clean exit on SIGTERM (under ASan: no leak, no error in its log).
                self.assertEqual(b.wait(10), 0)
                with open(os.path.join(self.tmp, "notify%d.log" % i)) as f:
                    log = f.read()
                for m in fwtest.SAN_MARKERS:
                    self.assertNotIn(m, log)
        self.am.stop()
        self.hook.srv.shutdown()
        self.hook.srv.server_close()
        super().tearDown()

    def bridge(self, *extra, env=None):
        self.blog = os.path.join(self.tmp, "notify%d.log" % len(self.bridges))
        with open(self.blog, "w") as log:
            p = subprocess.Popen([fwtest.CLI, "notify", "--alertmanager", self.am.url, "-e",
                                  self.d.alerts, "-q", self.d.query, "--resend-seconds", "3",
                                  "--stats", "1", "--console-url", "http://console.example"] +
                                 list(extra), stdout=log, stderr=log, env=env)
        self.bridges.append(p)
        return p

    def bridge_log(self):
        with open(self.blog) as f:
            return f.read()

    def complaint(self, store, cid, action, severity="MAJOR"):
        args = ["complaint", "complaint_id=" + cid, "action=" + action]
        if action == "OPENED":
            args += ["severity=" + severity, "channel=COUNTER"]
        p = self.d.cli("publish", "-e", self.d.ingest, "--spool", os.path.join(self.tmp, "spool"),
                       "-s", store, "-t", store + "-T01", *args)
        self.assertEqual(p.returncode, 0, p.stderr)

    def stat(self, key):
        """The last value of key on the bridge's stats lines."""
        v = None
        for line in self.bridge_log().splitlines():
            for part in line.split():
                if part.startswith(key + "="):
                    v = part.split("=", 1)[1]
        return v

    def wait_for(self, cond, what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return
            time.sleep(0.2)
        raise AssertionError("%s not within %ss; bridge log:\n%s" % (what, timeout,
                                                                      self.bridge_log()))

    def test_major_complaint_fires_then_resolves(self):
        self.bridge()
        t0 = time.time()
        self.complaint("S001", "C1", "OPENED")
        got = self.hook.wait("firing", "C1")
        self.assertLess(time.time() - t0, 10)
        time.sleep(2)
        got = self.hook.alerts("firing", "C1")
        self.assertEqual(len(got), 1, got)
        a = got[0][1]
        self.assertEqual(a["labels"], {"alertname": "complaint_major", "store": "S001",
                                       "store_name": "High Street", "region": "east",
                                       "severity": "critical", "subject": "C1"})
        self.assertEqual(a["annotations"]["alert_id"], "complaint_major/S001/C1")
        self.assertTrue(a["annotations"]["summary"])
        self.assertIn("value", a["annotations"])
        self.assertIn("threshold", a["annotations"])
        self.assertEqual(a["generatorURL"],
                         "http://console.example/alerts/complaint_major%2FS001%2FC1")
        self.complaint("S001", "C1", "RESOLVED")
        res = self.hook.wait("resolved", "C1")
        self.assertEqual(res[0][1]["labels"]["subject"], "C1")
        self.assertNotEqual(res[0][1]["endsAt"][:4], "0001")

    def test_password_in_url_not_logged(self):
        """Alertmanager's basic-auth password goes in the URL (docs/SECURITY.md); the bridge's
        log names the failing URL without it."""
        dead = "http://fw:s3cret-pw@127.0.0.1:%d" % free_port()
        self.bridge("--alertmanager", self.am.url + "," + dead)
        self.complaint("S001", "C1", "OPENED")
        self.hook.wait("firing", "C1")
        self.wait_for(lambda: "retrying with backoff" in self.bridge_log(), "the dead URL logged")
        log = self.bridge_log()
        self.assertNotIn("s3cret-pw", log)
        self.assertIn("http://fw:***@127.0.0.1:", log)

    def test_outage_refills_and_delivers_resolution(self):
        self.bridge()
        self.complaint("S001", "C1", "OPENED")
        self.complaint("S001", "C2", "OPENED")
        self.hook.wait("firing", "C1")
        self.hook.wait("firing", "C2")
        self.am.stop()
        self.complaint("S001", "C1", "RESOLVED")
        self.wait_for(lambda: self.stat("resolved_queued") == "1", "the RESOLVED queued")
        time.sleep(float(os.environ.get("FW_NOTIFY_OUTAGE_S", "30")))
        self.assertEqual(self.stat("resolved_queued"), "1")  # kept through the outage
        self.am.start()  # empty state
        t0 = time.time()

        def back():
            subs = sorted(a["labels"].get("subject") for a in self.am.alerts()
                          if a["labels"]["alertname"] == "complaint_major")
            return subs == ["C2"] and self.am.received("resolved") >= 1
        self.wait_for(back, "C2 back and C1's RESOLVED delivered", timeout=3 + 5)
        self.assertLess(time.time() - t0, 3 + 5)
        self.wait_for(lambda: self.stat("resolved_queued") == "0", "the queue emptied")
        self.assertNotEqual(int(self.stat("posts_failed")), 0)

    def test_bridge_restart_no_second_notification(self):
        b = self.bridge()
        self.complaint("S001", "C1", "OPENED")
        self.hook.wait("firing", "C1")
        b.kill()
        b.wait()
        self.bridge()
        # The new bridge posts its snapshot (C1 again); Alertmanager already notified it.
        self.wait_for(lambda: int(self.stat("alerts_posted") or 0) >= 1, "the snapshot posted")
        time.sleep(3)
        self.assertEqual(len(self.hook.alerts("firing", "C1")), 1, self.hook.got)

    def test_silence_suppresses(self):
        p = subprocess.run([AMTOOL, "--alertmanager.url=" + self.am.url, "silence", "add",
                            "alertname=complaint_major", "subject=C9", "-d", "1h", "-a", "test",
                            "-c", "quiet"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.bridge()
        self.complaint("S001", "C9", "OPENED")
        self.complaint("S001", "C10", "OPENED")
        self.hook.wait("firing", "C10")
        self.wait_for(lambda: any(a["labels"].get("subject") == "C9" for a in self.am.alerts()),
                      "C9 at Alertmanager")
        time.sleep(2)
        self.assertEqual(self.hook.alerts(subject="C9"), [])
        q = subprocess.run([AMTOOL, "--alertmanager.url=" + self.am.url, "alert", "query", "-s",
                            "-o", "json", "subject=C9"], capture_output=True, text=True)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertEqual(json.loads(q.stdout)[0]["status"]["state"], "suppressed")

    def test_amtool_lists_exactly_the_firing_alerts(self):
        """After a simulated day of a small chain (the sim's own store list) and two alerts made
        by hand on top (the sim's own count varies with the date it simulates), `amtool alert
        query` lists exactly the daemon's FIRING alerts; after an acknowledgement they agree
        again without it."""
        p = fwtest.run_cli("sim", "--stores", "3", "--regions", "2", "--print-config",
                           cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.d = self.daemon(p.stdout)
        self.bridge()
        p = self.d.cli("sim", "-e", self.d.ingest, "--spool", os.path.join(self.tmp, "simspool"),
                       "--stores", "3", "--regions", "2", "--mode", "compressed", "--days", "1",
                       "--day-seconds", "20", "--json", timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["rejected"], 0, p.stdout)
        # By hand: a drawer closed 200.00 over (cash_over_short, which an ack clears) and a major
        # complaint (complaint_major), at a store and terminal of the sim's chain.
        for args in (["drawer", "drawer_id=D9", "cashier_id=S001-E0001", "kind=OPEN",
                      "amount_cents=10000"],
                     ["drawer", "drawer_id=D9", "cashier_id=S001-E0001", "kind=CLOSE",
                      "counted_cents=30000"]):
            q = self.d.cli("publish", "-e", self.d.ingest, "--spool",
                           os.path.join(self.tmp, "spool"), "-s", "S001", "-t", "S001-T02", *args)
            self.assertEqual(q.returncode, 0, q.stderr)
        self.complaint("S002", "C-BY-HAND", "OPENED")

        def daemon_firing():
            r = self.d.query_raw(fwtest.pb2().Query(kind=fwtest.pb2().Query.ALERTS))
            return sorted(x["alert_id"] for x in fwtest.table(r, "alerts"))

        def am_firing():
            q = subprocess.run([AMTOOL, "--alertmanager.url=" + self.am.url, "alert", "query",
                                "-o", "json"], capture_output=True, text=True)
            self.assertEqual(q.returncode, 0, q.stderr)
            return sorted(a["annotations"]["alert_id"] for a in json.loads(q.stdout))
        self.wait_for(lambda: am_firing() == daemon_firing(), "amtool lists the daemon's alerts",
                      timeout=60)
        firing = daemon_firing()
        rules = collections.Counter(i.split("/")[0] for i in firing)
        print("\nafter a simulated day: %d FIRING alerts, listed alike by amtool: %s"
              % (len(firing), dict(sorted(rules.items()))))
        by_hand = [i for i in firing if i.startswith("cash_over_short/S001/") or
                   i.startswith("complaint_major/S002/") and "C-BY-HAND" in i]
        self.assertEqual(len(by_hand), 2, firing)
        self.assertGreater(len(firing), 2, "the simulated day raised no alert: %s" % firing)
        self.assertGreaterEqual(len(rules), 3, firing)
        acked = by_hand[0] if by_hand[0].startswith("cash_over_short") else by_hand[1]
        q = self.d.cli("alerts", "ack", acked, "-q", self.d.query, "--reason", "test")
        self.assertEqual(q.returncode, 0, q.stderr)
        self.wait_for(lambda: acked not in am_firing() and am_firing() == daemon_firing(),
                      "the acknowledged alert gone from Alertmanager too", timeout=30)

    def test_supervisor_bridge_posts_only_their_regions(self):
        """A bridge with the curve key of a supervisor of east forwards east's alerts only."""
        from test_curve import CurveDaemon, ack_of, batch, dealer, event, read_key
        keys = os.path.join(self.tmp, "keys")
        for name, *args in (("server",), ("sup-east", "--role", "supervisor", "--regions", "east"),
                            ("till1", "--role", "terminal", "--store", "S001"),
                            ("till2", "--role", "terminal", "--store", "S002")):
            p = fwtest.run_cli("keygen", "-d", keys, *args, name)
            self.assertEqual(p.returncode, 0, p.stderr)
        d = CurveDaemon(self.tmp, "[security]\nmode = curve\nserver_key = %s/server.key\n"
                        "key_dir = %s\n%s" % (keys, keys, STORES), name="dc")
        d.ops = read_key(os.path.join(keys, "sup-east.key"))
        d.server_pub = read_key(os.path.join(keys, "server.pub"))[0]
        self.daemons.append(d)
        d.start()
        self.d = d
        self.bridge("--key", os.path.join(keys, "sup-east.key"), "--server-key",
                    os.path.join(keys, "server.pub"))
        for store, key in (("S001", "till1"), ("S002", "till2")):
            s = dealer(d.ingest, d.server_pub, read_key(os.path.join(keys, key + ".key")))
            s.send(batch(event(store, store + "-T01", 7, 1, complaint={
                "complaint_id": "E-" + store, "action": "OPENED", "severity": "MAJOR",
                "channel": "COUNTER"})))
            self.assertEqual(ack_of(s).stored, 1)
            s.close()
        self.hook.wait("firing", "E-S001")
        self.wait_for(lambda: int(self.stat("alerts_posted") or 0) >= 1, "posts")
        time.sleep(4)  # past a resend: the bridge has had every chance to post west's alert
        regions = {a["labels"]["region"] for a in self.am.alerts()}
        self.assertEqual(regions, {"east"}, self.am.alerts())
        self.assertEqual(self.hook.alerts(subject="E-S002"), [])


if __name__ == "__main__":
    fwtest.main()
