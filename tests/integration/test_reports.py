"""Rollup reports on the PUB socket: at the end of a store-local hour the sales row of that
hour goes out on rollup/<region>/<store>/hour, at the end of the day the day's tables on
rollup/<region>/<store>/day (docs/ALERTS.md "Rollup reports"). The daemon's clock is moved with
TEST_CLOCK, so nothing waits for an hour to pass."""
import datetime
import time

import zmq

import fwtest
from fwtest import event, sale

CONFIG = """
[store:R1]
region = north
timezone = UTC
hours = 00:00-24:00
[ingest]
max_future_ms = 259200000
"""


class Reports(fwtest.DaemonTest):
    def recv_reports(self, sub, want, timeout=5.0):
        got = []
        deadline = time.time() + timeout
        while len(got) < want and time.time() < deadline:
            if sub.poll(200):
                topic, data = sub.recv_multipart()
                r = fwtest.pb2().QueryResult()
                r.ParseFromString(data)
                got.append((topic.decode(), r))
        return got

    def test_result_size_is_bounded(self):
        """A query whose answer is over [query] max_result_bytes gets an error that says so,
        never a truncated table; a smaller one on the same data is answered."""
        pb = fwtest.pb2()
        d = self.daemon("[query]\nmax_result_bytes = 4096\n")
        t = fwtest.Terminal(d.ingest)
        lines = tuple((1000, 100 + i, 0) for i in range(300))  # 300 distinct SKUs
        self.assertEqual(t.send([event("S1", "T1", 1, 1, sale=sale("R1", lines=lines))]).stored, 1)
        t.close()
        r = d.query_raw(pb.Query(kind=pb.Query.TOP_SKUS, store_id="S1", limit=300))
        self.assertEqual(r.status, pb.QueryResult.ERROR)
        self.assertIn("max_result_bytes = 4096", r.error)
        self.assertEqual(len(r.tables), 0)
        r = d.query_raw(pb.Query(kind=pb.Query.TOP_SKUS, store_id="S1", limit=10))
        self.assertEqual(r.status, pb.QueryResult.OK, r.error)
        self.assertEqual(len(fwtest.table(r, "skus")), 10)
        # The date range is bounded too.
        r = d.query_raw(pb.Query(kind=pb.Query.SALES, store_id="S1", from_day="2020-01-01",
                                 to_day="2026-01-01"))
        self.assertEqual(r.status, pb.QueryResult.ERROR)
        self.assertIn("at most 400", r.error)

    def test_hour_and_day_reports(self):
        pb = fwtest.pb2()
        d = self.daemon(CONFIG, args=["--test-clock"])
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(d.alerts)
        sub.setsockopt(zmq.SUBSCRIBE, b"rollup/north/")
        time.sleep(0.3)
        # A fixed moment: 10:20 UTC today; the first pass only notes the hour.
        today = datetime.datetime.now(datetime.timezone.utc).date()
        base = datetime.datetime(today.year, today.month, today.day, 10, 20,
                                 tzinfo=datetime.timezone.utc)
        ms = int(base.timestamp() * 1000)
        d.query_raw(pb.Query(kind=pb.Query.TEST_CLOCK, clock_ms=ms))
        # Moving the clock ended the hour the daemon started in: that (empty) report comes
        # first, unless the daemon started in 10:xx UTC.
        for topic, r in self.recv_reports(sub, 1, timeout=0.5):
            self.assertEqual(topic, "rollup/north/R1/hour")
            self.assertEqual(fwtest.table(r, "sales"), [])
        t = fwtest.Terminal(d.ingest)
        a = t.send([event("R1", "RT1", 1, 1, t=ms - 60000,
                          sale=sale("RR1", lines=((2000, 150, 0),))),
                    event("R1", "RT1", 1, 2, t=ms, sale=sale("RR2", lines=((1000, 99, 0),)))])
        self.assertEqual(a.acked_seq, 2)
        # Nothing yet: the hour is not over.
        self.assertEqual(self.recv_reports(sub, 1, timeout=0.5), [])
        d.query_raw(pb.Query(kind=pb.Query.TEST_CLOCK, clock_ms=ms + 45 * 60000))  # 11:05
        got = self.recv_reports(sub, 1)
        self.assertEqual([g[0] for g in got], ["rollup/north/R1/hour"])
        sales = fwtest.table(got[0][1], "sales")
        self.assertEqual(len(sales), 1)
        day = today.isoformat()
        self.assertEqual(sales[0]["period"], day + " 10:00")
        self.assertEqual((sales[0]["transactions"], sales[0]["net"]), (2, 300 + 99))
        # The next day: the last hour of today and the day report.
        d.query_raw(pb.Query(kind=pb.Query.TEST_CLOCK, clock_ms=ms + 14 * 3600000))
        got = self.recv_reports(sub, 2)
        self.assertEqual([g[0] for g in got], ["rollup/north/R1/hour", "rollup/north/R1/day"])
        rep = got[1][1]
        self.assertEqual([r["period"] for r in fwtest.table(rep, "sales")], [day])
        self.assertEqual(fwtest.table(rep, "sales")[0]["net"], 399)
        for name in ("cashiers", "complaints", "on_hand", "attendance"):
            fwtest.table(rep, name)  # present
        t.close()
        sub.close()


if __name__ == "__main__":
    fwtest.main()
