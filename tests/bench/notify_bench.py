"""floorwalker notify figures (issue 16; a benchmark, not a test): alert-to-webhook latency
p50/p99 through the real Alertmanager with group_wait 0, and POSTs per minute with 1,000 firing
alerts. Run from build/:
  FW_DAEMON=daemon/floorwalkerd FW_CLI=clients/cli/floorwalker FW_PROTO=../proto/floorwalker.proto \\
    /usr/bin/python3 ../tests/bench/notify_bench.py [N_LATENCY]
"""
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import fwtest  # noqa: E402
from test_notify import STORES, Alertmanager, Hook  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    n_lat = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    tmp = tempfile.mkdtemp(prefix="fwnb-")
    hook = Hook()
    am = Alertmanager(tmp, hook.port).start()
    d = fwtest.Daemon(tmp, STORES).start()
    log = open(os.path.join(tmp, "notify.log"), "w")
    bridge = subprocess.Popen([fwtest.CLI, "notify", "--alertmanager", am.url, "-e", d.alerts,
                               "-q", d.query, "--stats", "1"], stdout=log, stderr=log)
    recv = {}
    try:
        t = fwtest.Terminal(d.ingest)
        t2 = fwtest.Terminal(d.ingest)
        time.sleep(1.5)
        # Latency: one complaint at a time; webhook arrival minus startsAt (the daemon fired it).
        for i in range(n_lat):
            t.send([fwtest.event("S001", "S001-T01", 1, i + 1, complaint={
                "complaint_id": "L%d" % i, "action": "OPENED", "severity": "MAJOR",
                "channel": "COUNTER"})])
            time.sleep(0.05)
        deadline = time.time() + 30
        while time.time() < deadline and len(recv) < n_lat:
            for st, a in hook.alerts("firing"):
                s = a["labels"].get("subject", "")
                if s.startswith("L") and s not in recv:
                    recv[s] = a
            time.sleep(0.2)
        lat = [v for v in LAT.values()]
        print("alert-to-webhook latency over %d alerts: p50 %.1f ms, p99 %.1f ms" %
              (len(lat), pct(lat, 50), pct(lat, 99)))
        # 1,000 firing alerts: count POSTs over one minute once the burst is delivered.
        for i in range(1000):
            t2.send([fwtest.event("S002", "S002-T01", 1, i + 1, complaint={
                "complaint_id": "M%d" % i, "action": "OPENED", "severity": "MAJOR",
                "channel": "COUNTER"})])
        time.sleep(5)
        before = last_stat(log.name, "posts_ok")
        time.sleep(60)
        after = last_stat(log.name, "posts_ok")
        print("POSTs per minute with %s firing alerts (resend_seconds 60): %d" %
              (last_stat(log.name, "firing"), after - before))
    finally:
        bridge.terminate()
        bridge.wait()
        d.stop()
        am.stop()


LAT = {}


def last_stat(path, key):
    v = 0
    with open(path) as f:
        for line in f:
            for part in line.split():
                if part.startswith(key + "="):
                    v = int(part.split("=", 1)[1])
    return v


if __name__ == "__main__":
    _orig = Hook.__init__

    def _init(self):
        _orig(self)
        h = self.srv.RequestHandlerClass
        post = h.do_POST

        def do_post(req):
            now = time.time()
            post(req)
            for n in self.got[-1:]:
                for a in n["alerts"]:
                    s = a["labels"].get("subject", "")
                    if n["status"] == "firing" and s.startswith("L") and s not in LAT:
                        st = datetime.fromisoformat(a["startsAt"].replace("Z", "+00:00"))
                        LAT[s] = (now - st.timestamp()) * 1000
        h.do_POST = do_post
    Hook.__init__ = _init
    main()
