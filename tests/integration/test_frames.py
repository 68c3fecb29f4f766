"""Hostile frames: garbage, empty, 3-frame and oversize messages neither crash nor stall the
daemon, and each is counted in stats."""
import time

import zmq

import fwtest
from fwtest import event



class Frames(fwtest.DaemonTest):
    def assert_serving(self, d, seq):
        """A well-formed terminal is still served promptly."""
        t = fwtest.Terminal(d.ingest)
        t0 = time.time()
        a = t.send([event("S1", "OK1", 1, seq, heartbeat={})])
        self.assertEqual(a.acked_seq, seq)
        self.assertLess(time.time() - t0, 5, "daemon stalled")
        t.close()

    def test_bad_frames(self):
        pb = fwtest.pb2()
        # The [ingest] section of the harness config already exists; append the limit there.
        d = self.daemon(start=False)
        with open(d.conf) as f:
            conf = f.read().replace("[ingest]\n", "[ingest]\nmax_msg_bytes = 65536\n")
        with open(d.conf, "w") as f:
            f.write(conf)
        d.start()
        bad = fwtest.Terminal(d.ingest)

        bad.send_raw(b"\x0a\xff\xff\xff\xff\x0f garbage that is not protobuf")
        a = bad.recv_ack()
        self.assertEqual(a.batch_code, pb.DECODE_ERROR)
        self.assert_serving(d, 1)

        bad.send_raw(b"")
        a = bad.recv_ack()
        self.assertEqual(a.batch_code, pb.BAD_BATCH)
        self.assertIn("no events", a.batch_error)
        self.assert_serving(d, 2)

        good = pb.EventBatch(events=[event("S1", "T1", 1, 1, heartbeat={})]).SerializeToString()
        bad.send_raw(good, b"second", b"third")
        a = bad.recv_ack()
        self.assertEqual(a.batch_code, pb.BAD_BATCH)
        self.assertIn("one frame", a.batch_error)
        self.assert_serving(d, 3)

        # Over the limit (but under libzmq's hard cap): refused with a reason.
        big = pb.EventBatch(events=[event("S1", "T1", 1, 1, heartbeat={})] * 4000)
        data = big.SerializeToString()
        self.assertGreater(len(data), 65536)
        bad.send_raw(data)
        a = bad.recv_ack()
        self.assertEqual(a.batch_code, pb.BAD_BATCH)
        self.assertIn("over the limit", a.batch_error)
        self.assert_serving(d, 4)

        # Far over the limit: libzmq drops that connection; others are unaffected.
        huge = zmq.Context.instance().socket(zmq.DEALER)
        huge.setsockopt(zmq.LINGER, 0)
        huge.connect(d.ingest)
        huge.send(b"\x0a" + b"\x00" * (1 << 20))
        time.sleep(0.3)
        self.assert_serving(d, 5)
        huge.close()

        st = d.stats()["daemon"]
        self.assertEqual(st["frames_garbage"], 1)
        self.assertEqual(st["frames_empty"], 1)
        self.assertEqual(st["frames_multipart"], 1)
        self.assertEqual(st["frames_oversize"], 1)
        self.assertEqual(st["events_total"], 5)
        rej = d.stats()["rejects_by_code"]
        self.assertEqual(rej, {"DECODE_ERROR": 1, "BAD_BATCH": 3})
        bad.close()


    def test_large_batches(self):
        """Batches of more events than the pass has slices ready for (8,192 at first, then 1,024
        beyond those in use), sent back to back: each is taken whole, in order, and acked once."""
        pb = fwtest.pb2()
        d = self.daemon()
        sizes = {"T1": 9000, "T2": 1025, "T3": 2500}
        terms = {}
        for name, n in sizes.items():
            t = fwtest.Terminal(d.ingest)
            b = pb.EventBatch(events=[event("S1", name, 1, seq, heartbeat={})
                                      for seq in range(1, n + 1)])
            terms[name] = t
            t.send_raw(b.SerializeToString())
        for name, n in sizes.items():
            a = terms[name].recv_ack()
            self.assertEqual(a.batch_code, pb.REJECT_NONE, a.batch_error)
            self.assertEqual((a.acked_seq, a.expected_seq, a.stored, a.duplicates),
                             (n, n + 1, n, 0), name)
            self.assertEqual(len(a.rejected), 0, name)
        # A resend of the same batch is recognised event by event.
        b = pb.EventBatch(events=[event("S1", "T2", 1, seq, heartbeat={})
                                  for seq in range(1, 1026)])
        terms["T2"].send_raw(b.SerializeToString())
        a = terms["T2"].recv_ack()
        self.assertEqual((a.acked_seq, a.stored, a.duplicates), (1025, 0, 1025))
        self.assertEqual(d.stats()["daemon"]["events_total"], sum(sizes.values()))
        for t in terms.values():
            t.close()


if __name__ == "__main__":
    fwtest.main()
