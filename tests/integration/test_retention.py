"""Retention: raw events older than raw_retention_days and hourly rollups older than
hourly_retention_days are pruned in small steps while the daemon runs; daily figures stay; a
rebuild over a pruned log is refused with a reason. The clock is moved with TEST_CLOCK."""
import os
import subprocess
import time

import fwtest
from fwtest import event, sale

CONFIG = """
[store:P1]
region = east
hours = 00:00-24:00
[storage]
raw_retention_days = 2
hourly_retention_days = 1
[rollup]
checkpoint_ms = 200
"""


class Retention(fwtest.DaemonTest):
    def test_prune(self):
        pb = fwtest.pb2()
        d = self.daemon(CONFIG, args=["--test-clock"])
        t = fwtest.Terminal(d.ingest)
        now = fwtest.now_ms()
        evs = [event("P1", "PT1", 1, i, t=now - 60000, sale=sale("PR%d" % i)) for i in range(1, 101)]
        self.assertEqual(t.send(evs).acked_seq, 100)
        day = time.strftime("%Y-%m-%d", time.gmtime(now / 1000))
        hourly = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="P1", from_day=day,
                                      granularity="hour"))
        self.assertEqual(sum(r["transactions"] for r in fwtest.table(hourly, "sales")), 100)
        # Nothing is old yet.
        st = d.wait_stats(lambda s: s["daemon"]["checkpoints"] > 0)
        self.assertEqual(st["daemon"]["pruned_events"], 0)
        # Three days later: the raw events and the hourly cells go, the day stays.
        d.query_raw(pb.Query(kind=pb.Query.TEST_CLOCK, clock_ms=now + 3 * 86400000))
        st = d.wait_stats(lambda s: s["daemon"]["pruned_events"] == 100 and
                             s["daemon"]["pruned_hourly_cells"] > 0)
        self.assertEqual(st["daemon"]["pruned_events"], 100)
        self.assertGreater(st["daemon"]["pruned_hourly_cells"], 0)
        self.assertEqual(st["daemon"]["log_start"], 101, "positions 1..100 pruned")
        self.assertEqual(st["daemon"]["events_total"], 100, "the counters keep what was stored")
        hourly = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="P1", from_day=day,
                                      granularity="hour"))
        self.assertEqual(fwtest.table(hourly, "sales"), [])
        daily = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="P1", from_day=day))
        rows = fwtest.table(daily, "sales")
        self.assertEqual([(r["period"], r["transactions"]) for r in rows], [(day, 100)])
        # Ingest goes on; duplicates of pruned events are still recognised by their marks.
        a = t.send([event("P1", "PT1", 1, 100, t=now, sale=sale("PR100")),
                    event("P1", "PT1", 1, 101, t=now, heartbeat={})])
        self.assertEqual((a.acked_seq, a.duplicates, a.stored), (101, 1, 1))
        t.close()
        d.stop()
        p = subprocess.run([fwtest.DAEMON, "-c", d.conf, "--rebuild"], capture_output=True,
                           text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("pruned", p.stderr)
        d.start()
        daily = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="P1", from_day=day))
        self.assertEqual(fwtest.table(daily, "sales")[0]["transactions"], 100,
                         "the refused rebuild changed nothing")
        # After a restart with a pruned log, new events still get new positions and count.
        self.assertEqual(d.stats()["daemon"]["log_start"], 101, "the log is empty")
        t = fwtest.Terminal(d.ingest)
        a = t.send([event("P1", "PT1", 1, 102, t=now, sale=sale("PR102"))])
        self.assertEqual((a.acked_seq, a.stored), (102, 1))
        t.close()
        d.kill()  # no checkpoint: the restart must replay it at position 102
        d.start()
        daily = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="P1", from_day=day))
        self.assertEqual(fwtest.table(daily, "sales")[0]["transactions"], 101)
        self.assertEqual(d.stats()["daemon"]["log_position"], 102)


if __name__ == "__main__":
    fwtest.main()
