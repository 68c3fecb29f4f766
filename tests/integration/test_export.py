"""The committed event log into Kafka, exactly once (issue 18): the real daemon, the real
`floorwalker export kafka`, librdkafka's mock cluster (3 brokers on 127.0.0.1, started by
tests/kafka/kafka_mock.c) and kcat as an independent consumer with read_committed.

What the mock cannot show, and how the check makes up for it: librdkafka 2.0.2's mock cluster
(Debian 12) writes no transaction markers and serves no aborted-transaction list, so a
read_committed consumer of the mock also sees the messages of transactions that were aborted
(or left open by a SIGKILLed exporter and aborted by the next one's init_transactions). A real
broker hides them. Every message carries its transaction in the fw-txn header and each
transaction's progress record carries the same header, produced only after all of the
transaction's events were acknowledged; so the check keeps the messages of transactions whose
progress record is in the progress topic (what a real broker's read_committed would show) and
then demands every committed event exactly once and in order per store, and that every message
it dropped belongs to a transaction that never wrote its progress. The mock also keeps only about
5 MB per partition (it drops its oldest message sets past that), so the tests spread their
stores over 16 partitions, keep their volume well below it, and check that no partition lost
its start (offset 0 still there).

Also here: LOG_READ and EXPORT_POSITION over the wire (python3-zmq), and retention waiting for
the slowest exporter up to [storage] export_hold_max_days.
"""
import os
import random
import re
import signal
import subprocess
import time

import fwtest

MOCK = os.environ.get("FW_KAFKA_MOCK")
TOPIC = "ev"


class Mock:
    """kafka_mock: 3 brokers, the events' topic (4 partitions) and the progress topic."""

    def __init__(self):
        self.proc = subprocess.Popen([MOCK, "--brokers", "3", "--topic", TOPIC + ":16",
                                      "--topic", TOPIC + ".progress:1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"BOOTSTRAP (\S+)", line)
        if not m:
            raise AssertionError("kafka_mock did not start: %r" % line)
        self.bootstrap = m.group(1)

    def broker(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        self.proc.stdout.close()

    def read(self, topic):
        """Every message of topic through kcat (read_committed): dicts of key, partition,
        offset, size and headers."""
        p = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", topic, "-e", "-q",
                            "-X", "isolation.level=read_committed",
                            "-f", "%k\t%p\t%o\t%S\t%h\n"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("kcat failed: %s" % p.stderr)
        out, first = [], {}
        for line in p.stdout.splitlines():
            k, part, off, size, hdrs = line.split("\t")
            h = dict(kv.split("=", 1) for kv in hdrs.split(",") if "=" in kv)
            out.append({"key": k, "partition": int(part), "offset": int(off), "size": int(size),
                        "h": h})
            first[int(part)] = min(first.get(int(part), int(off)), int(off))
        trimmed = {p: o for p, o in first.items() if o != 0}
        if trimmed:
            raise AssertionError("the mock cluster dropped the start of %s partition(s) %s (it "
                                 "keeps about 5 MB each): the test sent too much" %
                                 (topic, trimmed))
        return out


class Export(fwtest.DaemonTest):
    def setUp(self):
        super().setUp()
        self.mock = Mock()
        self.exporters = []

    def tearDown(self):
        for p in self.exporters:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.mock.stop()
        super().tearDown()

    def exporter(self, d, batch=2000):
        log = open(os.path.join(self.tmp, "export.log"), "a")
        p = subprocess.Popen([fwtest.CLI, "export", "kafka", "-b", self.mock.bootstrap, "-t",
                              TOPIC, "-q", d.query, "--stats", "1", "--batch", str(batch)],
                             stdout=log, stderr=log)
        log.close()
        self.exporters.append(p)
        return p

    def export_log(self):
        with open(os.path.join(self.tmp, "export.log"), errors="replace") as f:
            return f.read()

    def sim(self, d, n, seed, stores=16, background=False):
        args = [fwtest.CLI, "sim", "-e", d.ingest, "--stores", str(stores), "-n", str(n),
                "--seed", str(seed), "--no-fsync", "--spool",
                os.path.join(self.tmp, "spool-%d" % seed)]
        if background:
            return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    cwd=self.tmp)
        p = subprocess.run(args, capture_output=True, text=True, cwd=self.tmp, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)

    def sim_done(self, sim):
        sim.wait(timeout=300)
        err = sim.stderr.read()
        sim.stderr.close()
        self.assertEqual(sim.returncode, 0, err)

    def exported(self, d):
        rows = d.stats().get("exporters", [])
        return {r["exporter"]: r for r in rows}

    def wait_exported(self, d, n, timeout=90):
        deadline = time.time() + timeout * fwtest.TIME_SCALE
        while time.time() < deadline:
            x = self.exported(d).get("kafka")
            if x and x["pos"] >= n:
                return x
            time.sleep(0.3)
        self.fail("the exporter did not reach position %d: %s\n%s" %
                  (n, self.exported(d), self.export_log()[-3000:]))

    def log_entries(self, d):
        """The whole log through LOG_READ: position -> LogEntry."""
        pb = fwtest.pb2()
        out, after = {}, 0
        while True:
            r = d.query_raw(pb.Query(kind=pb.Query.LOG_READ, after_position=after, limit=10000))
            self.assertEqual(r.status, pb.QueryResult.OK, r.error)
            if not r.log:
                return out
            for e in r.log:
                out[e.position] = e
            after = r.log[-1].position

    def check_exactly_once(self, d, expect_clean=False):
        """The topic, as a read_committed consumer of a real broker sees it, holds every
        committed event exactly once, in order per store, each in its store's partition."""
        entries = self.log_entries(d)
        msgs = self.mock.read(TOPIC)
        progress = self.mock.read(TOPIC + ".progress")
        committed_txns = {m["h"]["fw-txn"] for m in progress}
        kept = [m for m in msgs if m["h"].get("fw-txn") in committed_txns]
        dropped = [m for m in msgs if m["h"].get("fw-txn") not in committed_txns]
        if expect_clean:
            self.assertEqual(dropped, [], "no transaction was cut short in a normal run")
        positions = [int(m["h"]["position"]) for m in kept]
        if len(positions) != len(set(positions)) or sorted(positions) != sorted(entries):
            txns = {}
            for m in msgs:
                txns.setdefault(m["h"].get("fw-txn"), []).append(int(m["h"]["position"]))
            summary = "\n".join("%s: %d-%d (%d)%s" % (k, min(v), max(v), len(v),
                                                      "" if k in committed_txns else " no progress")
                                for k, v in txns.items())
            self.fail("not exactly once: %d kept, %d distinct, %d in the log; transactions:\n%s"
                      "\nprogress: %s\nexporter log:\n%s" %
                      (len(positions), len(set(positions)), len(entries), summary,
                       [m["h"] for m in progress], self.export_log()[-4000:]))
        by_store = {}
        for m in sorted(kept, key=lambda m: (m["partition"], m["offset"])):
            e = entries[int(m["h"]["position"])]
            self.assertEqual(m["key"], e.store_id)
            self.assertEqual(m["h"]["terminal"], e.terminal_id)
            self.assertEqual(int(m["h"]["seq"]), e.seq)
            self.assertEqual(m["size"], len(e.event), "the Event bytes as the terminal sent them")
            by_store.setdefault(m["key"], []).append((m["partition"], e.position))
        for store, seen in by_store.items():
            self.assertEqual(len({p for p, _ in seen}), 1, "store %s in one partition" % store)
            pos = [p for _, p in seen]
            self.assertEqual(pos, sorted(pos), "store %s in log order" % store)
        # A duplicate the filter dropped lies in a transaction that never wrote its progress.
        for m in dropped:
            self.assertNotIn(m["h"]["fw-txn"], committed_txns)
        return kept, dropped

    def test_export_exactly_once(self):
        d = self.daemon()
        self.sim(d, 20000, seed=1)
        t0 = time.time()
        self.exporter(d)
        x = self.wait_exported(d, 20000)
        took = time.time() - t0
        self.assertEqual(x["lag_events"], 0)
        kept, dropped = self.check_exactly_once(d, expect_clean=True)
        self.assertEqual(len(kept), 20000)
        # Live: new events follow; the stats line reports the lag.
        self.sim(d, 5000, seed=2)
        self.wait_exported(d, 25000)
        self.check_exactly_once(d, expect_clean=True)
        self.assertRegex(self.export_log(), r"lag_events=\d+ lag_s=[\d.]+")
        print("export: 20000 events into the mock cluster in %.1f s (first transaction's "
              "warm-up included)" % took)

    def test_exporter_killed_20_times(self):
        d = self.daemon()
        self.sim(d, 30000, seed=3)
        sim = self.sim(d, 15000, seed=4, background=True)
        rnd = random.Random(18)
        for i in range(20):
            # Killed while it exports: once its first transaction is in, a few ms later
            # (a 500-event transaction takes a few ms to some tens of ms here).
            at = (self.exported(d).get("kafka") or {"pos": 0})["pos"]
            p = self.exporter(d, batch=500)
            deadline = time.time() + 20 * fwtest.TIME_SCALE
            while time.time() < deadline and p.poll() is None:
                x = self.exported(d).get("kafka")
                if x and x["pos"] > at or x and x["lag_events"] == 0:
                    break
                time.sleep(0.02)
            time.sleep(rnd.uniform(0, 0.05) * fwtest.TIME_SCALE)
            p.send_signal(signal.SIGKILL)
            p.wait()
        self.sim_done(sim)
        resumed = re.findall(r"from log position (\d+)", self.export_log())
        self.assertTrue(any(int(n) > 0 for n in resumed), "restarts resume from Kafka's position")
        self.exporter(d)
        self.wait_exported(d, 45000, timeout=120)
        kept, dropped = self.check_exactly_once(d)
        self.assertEqual(len(kept), 45000)
        self.assertGreater(len(dropped), 0, "some kills landed mid-transaction")
        print("20 SIGKILLs: %d messages of cut-short transactions dropped by the check" %
              len(dropped))

    def test_daemon_killed_and_broker_outage(self):
        d = self.daemon()
        self.exporter(d)
        sim = self.sim(d, 30000, seed=5, background=True)
        time.sleep(1.0)
        d.kill()
        time.sleep(1.0)
        d.start()
        # The brokers go away for a while: the exporter waits and loses nothing.
        for b in (1, 2, 3):
            self.mock.broker("down %d" % b)
        time.sleep(3)
        for b in (1, 2, 3):
            self.mock.broker("up %d" % b)
        self.sim_done(sim)
        self.wait_exported(d, 30000, timeout=120)
        kept, _ = self.check_exactly_once(d)
        self.assertEqual(len(kept), 30000)


class LogRead(fwtest.DaemonTest):
    """The daemon's side, over the wire with python3-zmq: no Kafka needed."""

    def test_log_read_and_positions(self):
        pb = fwtest.pb2()
        d = self.daemon()
        t = fwtest.Terminal(d.ingest)
        evs = [fwtest.event("S1", "T1", 7, i, sale=fwtest.sale("R%d" % i)) for i in range(1, 51)]
        self.assertEqual(t.send(evs).acked_seq, 50)
        r = d.query_raw(pb.Query(kind=pb.Query.LOG_READ, after_position=10, limit=5))
        self.assertEqual(r.status, pb.QueryResult.OK, r.error)
        self.assertEqual([e.position for e in r.log], [11, 12, 13, 14, 15])
        self.assertEqual((r.log_end, r.log_start), (50, 1))
        e = r.log[0]
        self.assertEqual((e.store_id, e.terminal_id, e.epoch, e.seq), ("S1", "T1", 7, 11))
        self.assertEqual(e.event, evs[10].SerializeToString(), "the bytes as sent")
        # max_bytes: stops before it, but always one event.
        r = d.query_raw(pb.Query(kind=pb.Query.LOG_READ, after_position=0, max_bytes=1))
        self.assertEqual(len(r.log), 1)
        r = d.query_raw(pb.Query(kind=pb.Query.LOG_READ, after_position=50))
        self.assertEqual((len(r.log), r.log_end), (0, 50))
        # Positions: registered, shown with the lag, refused past the end or without a name.
        r = d.query_raw(pb.Query(kind=pb.Query.EXPORT_POSITION, exporter="hq", after_position=20))
        self.assertEqual(r.status, pb.QueryResult.OK, r.error)
        x = {row["exporter"]: row for row in d.stats()["exporters"]}
        self.assertEqual((x["hq"]["pos"], x["hq"]["lag_events"]), (20, 30))
        r = d.query_raw(pb.Query(kind=pb.Query.EXPORT_POSITION, exporter="hq", after_position=99))
        self.assertEqual(r.status, pb.QueryResult.ERROR)
        self.assertIn("past the log's end", r.error)
        r = d.query_raw(pb.Query(kind=pb.Query.EXPORT_POSITION, exporter="", after_position=1))
        self.assertIn("not an id", r.error)
        # Kept across a restart.
        d.stop()
        d.start()
        x = {row["exporter"]: row for row in d.stats()["exporters"]}
        self.assertEqual(x["hq"]["pos"], 20)

    def test_retention_waits_for_the_exporter(self):
        pb = fwtest.pb2()
        d = self.daemon("[storage]\nraw_retention_days = 2\nexport_hold_max_days = 3\n"
                        "[rollup]\ncheckpoint_ms = 200\n", args=["--test-clock"])
        t = fwtest.Terminal(d.ingest)
        now = fwtest.now_ms()
        evs = [fwtest.event("S1", "T1", 1, i, t=now - 60000, sale=fwtest.sale("R%d" % i))
               for i in range(1, 101)]
        self.assertEqual(t.send(evs).acked_seq, 100)
        d.query_raw(pb.Query(kind=pb.Query.EXPORT_POSITION, exporter="hq", after_position=40))

        # Three days on: past raw_retention_days, but hq has exported only 40 of them.
        d.query_raw(pb.Query(kind=pb.Query.TEST_CLOCK, clock_ms=now + 3 * 86400000))
        st = d.wait_stats(lambda s: s["daemon"]["pruned_events"] >= 40)
        time.sleep(1)
        st = d.stats()
        self.assertEqual((st["daemon"]["pruned_events"], st["daemon"]["log_start"]), (40, 41))
        self.assertIn("retention waits for exporter hq", d.read_log())
        # hq moves on: retention follows.
        d.query_raw(pb.Query(kind=pb.Query.EXPORT_POSITION, exporter="hq", after_position=70))
        st = d.wait_stats(lambda s: s["daemon"]["pruned_events"] >= 70)
        self.assertEqual(st["daemon"]["log_start"], 71)
        # Past the hold (2 + 3 days): pruned anyway, loudly.
        d.query_raw(pb.Query(kind=pb.Query.TEST_CLOCK, clock_ms=now + 6 * 86400000))
        st = d.wait_stats(lambda s: s["daemon"]["pruned_events"] >= 100)
        self.assertEqual(st["daemon"]["pruned_events"], 100)
        log = d.read_log()
        self.assertRegex(log, r"retention pruned 30 events that exporter hq has not exported")


if __name__ == "__main__":
    fwtest.main()
