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


if __name__ == "__main__":
    fwtest.main()
