"""Interop: an independent client (Debian's python3-zmq + python3-protobuf, the .proto compiled
by stock protoc) sends batches with a duplicate, a gap and an invalid event, and checks the Ack
field by field, then reads the quarantine and the stats over the query socket."""
import fwtest
from fwtest import event, sale, table


class Interop(fwtest.DaemonTest):
    def test_ack_fields(self):
        pb = fwtest.pb2()
        d = self.daemon()
        t = fwtest.Terminal(d.ingest)
        E = 424242

        a = t.send([event("S1", "T1", E, 1, sale=sale("R1")),
                    event("S1", "T1", E, 2, heartbeat={"spool_depth": 3})])
        self.assertEqual(a.terminal_id, "T1")
        self.assertEqual(a.epoch, E)
        self.assertEqual(a.acked_seq, 2)
        self.assertEqual(a.expected_seq, 3)
        self.assertEqual(a.stored, 2)
        self.assertEqual(a.duplicates, 0)
        self.assertEqual(len(a.rejected), 0)
        self.assertEqual(a.batch_code, pb.REJECT_NONE)

        # seq 2 again (duplicate), 3 valid, 4 invalid (lines add to 250, total says 999),
        # then 6: a gap (5 is missing).
        bad = event("S1", "T1", E, 4, sale=sale("R4", total=999))
        a = t.send([event("S1", "T1", E, 2, heartbeat={}),
                    event("S1", "T1", E, 3, sale=sale("R3", lines=((2000, 150, 0),))),
                    bad,
                    event("S1", "T1", E, 6, heartbeat={})])
        self.assertEqual(a.terminal_id, "T1")
        self.assertEqual(a.epoch, E)
        self.assertEqual(a.acked_seq, 4, "the rejected event is acked too")
        self.assertEqual(a.expected_seq, 5)
        self.assertEqual(a.stored, 1)
        self.assertEqual(a.duplicates, 1)
        self.assertEqual(a.batch_code, pb.REJECT_NONE)
        self.assertEqual([(r.seq, r.code) for r in a.rejected],
                         [(4, pb.SALE_TOTAL_MISMATCH), (6, pb.SEQ_GAP)])
        self.assertIn("total_cents 999 is 9.99 USD", a.rejected[0].reason)
        self.assertIn("expected 5", a.rejected[1].reason)

        # Resend from the expected seq: 5 and 6 are taken.
        a = t.send([event("S1", "T1", E, 5, heartbeat={}), event("S1", "T1", E, 6, heartbeat={})])
        self.assertEqual((a.acked_seq, a.expected_seq, a.stored, a.duplicates, len(a.rejected)),
                         (6, 7, 2, 0, 0))

        # The invalid event is in quarantine, with its reason and its exact bytes.
        r = d.query_raw(pb.Query(kind=pb.Query.QUARANTINE))
        self.assertEqual(r.status, pb.QueryResult.OK)
        q = table(r, "quarantine")
        self.assertEqual(len(q), 1)
        self.assertEqual((q[0]["terminal"], q[0]["epoch"], q[0]["seq"], q[0]["code"]),
                         ("T1", E, 4, "SALE_TOTAL_MISMATCH"))
        self.assertEqual(q[0]["bytes"], len(bad.SerializeToString()))

        r = d.query_raw(pb.Query(kind=pb.Query.STATS, request_id=77))
        self.assertEqual(r.request_id, 77)
        daemon = {row["name"]: row["value"] for row in table(r, "daemon")}
        self.assertEqual(daemon["events_total"], 5)
        self.assertEqual(daemon["duplicates"], 1)
        self.assertEqual(daemon["quarantined"], 1)
        kinds = {row["kind"]: row["events"] for row in table(r, "events_by_kind")}
        self.assertEqual((kinds["sale"], kinds["heartbeat"]), (2, 3))
        terms = table(r, "terminals")
        self.assertEqual([(x["terminal"], x["store"], x["epoch"], x["acked_seq"]) for x in terms],
                         [("T1", "S1", E, 6)])
        t.close()

    def test_query_envelopes(self):
        """A DEALER (no empty delimiter) gets an answer as well as a REQ; a bad query a clear
        error."""
        pb = fwtest.pb2()
        d = self.daemon()
        import zmq
        s = zmq.Context.instance().socket(zmq.DEALER)
        s.setsockopt(zmq.RCVTIMEO, 5000)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(d.query)
        s.send(pb.Query(kind=pb.Query.STATS).SerializeToString())
        r = pb.QueryResult()
        r.ParseFromString(s.recv())
        self.assertEqual(r.status, pb.QueryResult.OK)
        s.send(b"\xff\xff\xff")
        r.ParseFromString(s.recv())
        self.assertEqual(r.status, pb.QueryResult.ERROR)
        self.assertIn("not a Query", r.error)
        s.close()


if __name__ == "__main__":
    fwtest.main()
