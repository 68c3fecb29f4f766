"""Self-metrics: the stats in the Prometheus text format on the optional HTTP listener."""
import time
import urllib.error
import urllib.request

import fwtest
from fwtest import event, sale


class Metrics(fwtest.DaemonTest):
    def test_prometheus_text(self):
        d = self.daemon("[metrics]\nlisten = 127.0.0.1:0\n")
        port = d.stats()["daemon"]["metrics_port"]
        self.assertGreater(port, 0)
        t = fwtest.Terminal(d.ingest)
        t.send([event("M1", "MT1", 1, 1, heartbeat={}),
                event("M1", "MT1", 1, 2, sale=sale(total=1))])  # rejected: total mismatch
        t.close()
        url = "http://127.0.0.1:%d/metrics" % port
        deadline = time.time() + 5
        text = ""
        while time.time() < deadline:  # refreshed every second from the loop
            with urllib.request.urlopen(url, timeout=5) as r:
                self.assertEqual(r.status, 200)
                self.assertIn("text/plain", r.headers["Content-Type"])
                text = r.read().decode()
            if "floorwalker_events_total 1\n" in text:
                break
            time.sleep(0.2)
        self.assertIn("floorwalker_events_total 1\n", text)
        self.assertIn('floorwalker_events_by_kind_events{kind="heartbeat"} 1\n', text)
        self.assertIn('floorwalker_rejects_by_code_count{code="SALE_TOTAL_MISMATCH"} 1\n', text)
        self.assertIn("# TYPE floorwalker_commits gauge\n", text)
        self.assertIn('floorwalker_terminals_acked_seq{terminal="MT1",store="M1"} 2\n', text)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://127.0.0.1:%d/other" % port, timeout=5)
        self.assertEqual(e.exception.code, 404)



class StatsFigures(fwtest.DaemonTest):
    def test_rate_subscribers_spools_alerts(self):
        import zmq
        d = self.daemon()
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(d.alerts)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        t = fwtest.Terminal(d.ingest)
        evs = [event("M2", "MT2", 1, i, heartbeat={"spool_depth": 7}) for i in range(1, 200)]
        evs.append(event("M2", "MT2", 1, 200, complaint={
            "complaint_id": "MC1", "action": "OPENED", "severity": "MAJOR", "channel": "PHONE"}))
        self.assertEqual(t.send(evs).acked_seq, 200)
        t.close()
        deadline = time.time() + 5
        st = d.stats()
        while time.time() < deadline and (st["daemon"]["events_per_s"] <= 0 or
                                           st["daemon"]["subscribers"] < 1):
            time.sleep(0.2)
            st = d.stats()
        self.assertGreater(st["daemon"]["events_per_s"], 0)
        self.assertEqual(st["daemon"]["subscribers"], 1)
        # store_name and reported_local: added for people and scripts (issue 13).
        self.assertIn({"terminal": "MT2", "store": "M2", "store_name": "", "spool_depth": 7,
                       "reported_ms": st["terminal_spools"][0]["reported_ms"],
                       "reported_local": st["terminal_spools"][0]["reported_local"]},
                      st["terminal_spools"])
        rules = {r["rule"]: (r["active"], r["fired"]) for r in st["alerts_by_rule"]}
        self.assertEqual(rules.get("complaint_major"), (1, 1))
        self.assertIn("ingest_last_pass_msgs", st["daemon"])
        sub.close()
        deadline = time.time() + 5
        while time.time() < deadline and d.stats()["daemon"]["subscribers"] != 0:
            time.sleep(0.2)
        self.assertEqual(d.stats()["daemon"]["subscribers"], 0)


if __name__ == "__main__":
    fwtest.main()
