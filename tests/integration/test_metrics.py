"""Self-metrics: the stats in the Prometheus text format on the optional HTTP listener, checked
by Prometheus' own linter (promtool, Debian package prometheus, installed by scripts/deps.sh)."""
import math
import re
import subprocess
import time
import urllib.error
import urllib.request

import fwtest
from fwtest import event, sale

PROMTOOL = "/usr/bin/promtool"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse(text):
    """The text format as {family: type} and {(name, frozenset(labels)): value}; asserts each
    series appears once and each family has HELP and TYPE before its samples."""
    types, helps, samples = {}, set(), {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            types[name] = typ
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        labels = frozenset(LABEL.findall(labels or ""))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        family = family if types.get(family) == "histogram" else name
        assert family in types and family in helps, "%s: sample before HELP/TYPE" % name
        key = (name, labels)
        assert key not in samples, "duplicate series %s%s" % key
        samples[key] = float(value)
    return types, samples


class Metrics(fwtest.DaemonTest):
    def fetch(self, port):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("text/plain", r.headers["Content-Type"])
            return r.read().decode()

    def test_prometheus_text(self):
        d = self.daemon("[metrics]\nlisten = 127.0.0.1:0\n")
        port = d.stats()["daemon"]["metrics_port"]  # port 0: the kernel picks a free one
        self.assertGreater(port, 0)
        t = fwtest.Terminal(d.ingest)
        self.assertEqual(t.send([event("M1", "MT1", 1, 1, heartbeat={"spool_depth": 3}),
                                 event("M1", "MT1", 1, 2, sale=sale(total=1)),  # rejected
                                 event("M1", "MT1", 1, 3, sale=sale()),
                                 event("M1", "MT1", 1, 4, complaint={
                                     "complaint_id": "C1", "action": "OPENED",
                                     "severity": "MAJOR", "channel": "PHONE"})]).acked_seq, 4)
        # A new epoch of the same terminal: one series per (terminal, epoch).
        self.assertEqual(t.send([event("M1", "MT1", 2, 1, heartbeat={})]).acked_seq, 1)
        t.close()
        p = d.cli("query", "sales", "--scope", "chain", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        # An exporter (floorwalker export) at position 1 of the 4 stored: 3 behind.
        pb = fwtest.pb2()
        r = d.query_raw(pb.Query(kind=pb.Query.EXPORT_POSITION, exporter="hq", after_position=1))
        self.assertEqual(r.status, pb.QueryResult.OK, r.error)

        deadline = time.time() + 5 * fwtest.TIME_SCALE
        while True:  # refreshed every second from the loop, so it may predate the position
            text = self.fetch(port)
            if ("floorwalker_events_total 4\n" in text and "rule_alerts_active" in text
                    and 'floorwalker_exporter_position{exporter="hq"}' in text):
                break
            self.assertLess(time.time(), deadline, "events not in /metrics:\n" + text)
            time.sleep(0.2)

        # Prometheus' linter: exit 0 and not one problem.
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual((lint.returncode, lint.stdout, lint.stderr), (0, "", ""),
                         "promtool check metrics:\n" + lint.stdout + lint.stderr)

        types, s = parse(text)
        for name, typ in [("floorwalker_events_total", "counter"),
                          ("floorwalker_events_by_kind_total", "counter"),
                          ("floorwalker_rejects_total", "counter"),
                          ("floorwalker_frames_refused_total", "counter"),
                          ("floorwalker_queries_total", "counter"),
                          ("floorwalker_subscribers", "gauge"),
                          ("floorwalker_map_size_bytes", "gauge"),
                          ("floorwalker_resident_memory_bytes", "gauge"),
                          ("floorwalker_rule_alerts_active", "gauge"),
                          ("floorwalker_commit_duration_seconds", "histogram"),
                          ("floorwalker_commit_events", "histogram")]:
            self.assertEqual(types.get(name), typ, name)
        for name, typ in types.items():
            self.assertEqual(name.endswith("_total"), typ == "counter", name)

        def v(name, **labels):
            return s[(name, frozenset(labels.items()))]

        # The figures of `floorwalker stats --json`, by their Prometheus names.
        st = d.stats()
        dm = st["daemon"]
        self.assertEqual(v("floorwalker_events_total"), dm["events_total"])
        self.assertEqual(v("floorwalker_quarantined_total"), dm["quarantined"])
        self.assertEqual(v("floorwalker_batches_total"), dm["batches"])
        self.assertEqual(v("floorwalker_acks_total", result="sent"), dm["acks_sent"])
        self.assertEqual(v("floorwalker_frames_refused_total", reason="garbage"),
                         dm["frames_garbage"])
        self.assertEqual(v("floorwalker_commit_duration_seconds_count"), dm["commits"])
        self.assertEqual(v("floorwalker_commit_events_sum"), dm["commit_events_total"])
        self.assertAlmostEqual(v("floorwalker_commit_duration_seconds_sum"),
                               dm["commit_ms_total"] / 1000, places=9)
        self.assertAlmostEqual(v("floorwalker_commit_duration_max_seconds"),
                               dm["commit_ms_max"] / 1000, places=9)
        self.assertEqual(v("floorwalker_map_size_bytes"), dm["map_size_mb"] << 20)
        self.assertEqual(v("floorwalker_uptime_seconds") // 1, v("floorwalker_uptime_seconds"))
        # This stats query came after the scrape.
        self.assertTrue(1 <= v("floorwalker_queries_total") < dm["queries"])
        for kind, n in st["events_by_kind"].items():
            self.assertEqual(v("floorwalker_events_by_kind_total", kind=kind), n)
        hq = {r["exporter"]: r for r in st["exporters"]}["hq"]
        self.assertEqual(v("floorwalker_exporter_position", exporter="hq"), 1)
        self.assertEqual(v("floorwalker_exporter_lag_events", exporter="hq"), hq["lag_events"])
        self.assertEqual(hq["lag_events"], 3)
        self.assertGreaterEqual(v("floorwalker_exporter_lag_seconds", exporter="hq"), 0)
        self.assertEqual(v("floorwalker_events_by_kind_total", kind="heartbeat"), 2)
        self.assertEqual(st["rejects_by_code"], {"SALE_TOTAL_MISMATCH": 1})
        self.assertEqual(v("floorwalker_rejects_total", code="SALE_TOTAL_MISMATCH"), 1)
        self.assertEqual(v("floorwalker_rule_alerts_active", rule="complaint_major"), 1)
        self.assertEqual(v("floorwalker_rule_alerts_fired_total", rule="complaint_major"), 1)
        self.assertEqual(v("floorwalker_terminal_acked_seq", terminal="MT1", store="M1",
                           epoch="1"), 4)
        self.assertEqual(v("floorwalker_terminal_acked_seq", terminal="MT1", store="M1",
                           epoch="2"), 1)
        self.assertEqual(v("floorwalker_terminal_spooled_events", terminal="MT1", store="M1"),
                         0)  # the epoch-2 heartbeat reported an empty spool

        # The histograms: every bucket cumulative in ascending le, +Inf equal to _count, in
        # seconds for the latency; the latency buckets from the stats table's buckets.
        for h in ("floorwalker_commit_duration_seconds", "floorwalker_commit_events"):
            buckets = sorted((float(dict(k[1])["le"]), val) for k, val in s.items()
                             if k[0] == h + "_bucket")
            self.assertEqual(buckets[-1][0], math.inf, h)
            self.assertGreater(len(buckets), 10, h)
            counts = [c for _, c in buckets]
            self.assertEqual(counts, sorted(counts), h + ": buckets not cumulative")
            self.assertEqual(counts[-1], v(h + "_count"), h)
            self.assertEqual(v(h + "_count"), dm["commits"])
        self.assertGreater(v("floorwalker_commit_duration_seconds_sum"), 0)
        self.assertLess(v("floorwalker_commit_duration_seconds_sum"), 60)  # seconds, not ms
        finite = sum(r["commits"] for r in st["commit_latency"] if r["below_us"] is not None)
        self.assertEqual(v("floorwalker_commit_duration_seconds_bucket", le="0.262144"), finite)
        for r in st["commit_latency"]:
            if r["below_us"] is not None:
                le = "%.15g" % (r["below_us"] / 1e6)
                self.assertGreaterEqual(v("floorwalker_commit_duration_seconds_bucket", le=le),
                                        r["commits"])

        # A checkpoint (every checkpoint_ms, a job of its own when no events wait) can end
        # between the scrape and the stats query: scrape and ask again until both count the
        # same checkpoints, for that histogram.
        cs, cst = s, st
        deadline = time.time() + 10 * fwtest.TIME_SCALE
        while (cs[("floorwalker_checkpoint_duration_seconds_count", frozenset())] !=
               cst["daemon"]["checkpoints"]):
            self.assertLess(time.time(), deadline, "/metrics and stats never agreed on the "
                            "checkpoint count")
            time.sleep(0.5)
            cs = parse(self.fetch(port))[1]
            cst = d.stats()

        # The loop measuring itself: its passes, their apply part, the queries and checkpoints,
        # each a histogram of the stats' *_latency table.
        for h, table, count in (("ingest_pass_duration_seconds", "pass_latency", "pass_count"),
                                ("rollup_apply_duration_seconds", "apply_latency", "apply_count"),
                                ("query_duration_seconds", "query_latency", "query_count"),
                                ("checkpoint_duration_seconds", "checkpoint_latency",
                                 "checkpoints")):
            hs, hst = (cs, cst) if h == "checkpoint_duration_seconds" else (s, st)
            self.assertEqual(types.get("floorwalker_" + h), "histogram", h)
            n = hs[("floorwalker_%s_count" % h, frozenset())]
            self.assertEqual(hs[("floorwalker_%s_bucket" % h, frozenset({("le", "+Inf")}))], n, h)
            if h == "query_duration_seconds":  # this stats query came after the scrape
                self.assertTrue(1 <= n <= hst["daemon"][count], (n, hst["daemon"][count]))
            else:
                self.assertEqual(n, hst["daemon"][count], h)
                self.assertEqual(sum(r["count"] for r in hst.get(table, [])), n, h)
        self.assertGreater(dm["pass_count"], 0)  # the sends above
        self.assertGreater(v("floorwalker_ingest_pass_duration_seconds_sum"), 0)
        self.assertAlmostEqual(v("floorwalker_ingest_pass_duration_max_seconds"),
                               dm["pass_ms_max"] / 1000, places=9)

        self.assertNotIn("has no Prometheus name", d.read_log())
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
        # store_name and reported_local: added for people and scripts (issue 13). The last
        # heartbeat (seq 199) reported 7 waiting; one event (seq 200) came after it, so 6 are
        # left (issue 12: stats showed old depths after the terminals had emptied their spools).
        row = {r["terminal"]: r for r in st["terminal_spools"]}["MT2"]
        self.assertEqual(row, {"terminal": "MT2", "store": "M2", "store_name": "",
                               "spool_depth": 6, "reported_depth": 7,
                               "reported_ms": row["reported_ms"],
                               "reported_local": row["reported_local"]})
        # It sends the rest and falls quiet: the spool shows empty, the report stays as said.
        t = fwtest.Terminal(d.ingest)
        rest = [event("M2", "MT2", 1, 200 + i, sale=sale(receipt="R%d" % i)) for i in range(1, 9)]
        self.assertEqual(t.send(rest).acked_seq, 208)
        t.close()
        row = {r["terminal"]: r for r in d.stats()["terminal_spools"]}["MT2"]
        self.assertEqual((row["spool_depth"], row["reported_depth"]), (0, 7))
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
