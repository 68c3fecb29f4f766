"""Queries across shards (issue 18): two daemons each holding half of a simulated chain's stores
answer `floorwalker query KIND --daemon A --daemon B` exactly as one daemon that was sent the
whole chain answers `floorwalker query KIND` (same seed, the same batches), field by field.

The chain is written once with `floorwalker sim --write` and its batches (one terminal each)
sent by python3-zmq: to the daemon of the batch's store's half, and all of them to the whole
chain's daemon.
"""
import datetime
import json
import os
import struct
import subprocess

import fwtest

STORES = 6
# Fields a daemon computes from its own wall clock at the moment it answers.
VOLATILE = {"age_h"}


class Shards(fwtest.DaemonTest):
    @classmethod
    def setUpClass(cls):
        cls.base = fwtest.tempfile.mkdtemp(prefix="fwshards-")
        cls.batches = os.path.join(cls.base, "chain.bin")
        args = ["--stores", str(STORES), "--terminals", "2", "--regions", "2", "--seed", "7"]
        p = fwtest.run_cli("sim", *args, "-n", "30000", "--write", cls.batches, cwd=cls.base)
        assert p.returncode == 0, p.stderr
        p = fwtest.run_cli("sim", *args, "--print-config", cwd=cls.base)
        assert p.returncode == 0, p.stderr
        cls.config = p.stdout

    @classmethod
    def tearDownClass(cls):
        fwtest.shutil.rmtree(cls.base, ignore_errors=True)

    def load(self, whole, halves):
        pb = fwtest.pb2()
        terms = {d: fwtest.Terminal(d.ingest) for d in [whole] + halves}
        stores = set()
        with open(self.batches, "rb") as f:
            data = f.read()
        off = 0
        while off < len(data):
            (n,) = struct.unpack_from("<I", data, off)
            frame = data[off + 4:off + 4 + n]
            off += 4 + n
            b = pb.EventBatch()
            b.ParseFromString(frame)
            store = b.events[0].store_id
            stores.add(store)
            half = halves[0] if int(store[1:]) % 2 else halves[1]
            for d in (whole, half):
                terms[d].send_raw(frame)
                ack = terms[d].recv_ack()
                self.assertEqual(ack.batch_error, "")
                self.assertEqual(ack.acked_seq, b.events[-1].seq)
        for t in terms.values():
            t.close()
        return stores

    def query(self, args, eps):
        p = fwtest.run_cli("query", *args, "--json", *eps, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [json.loads(line) for line in p.stdout.splitlines()], p.stderr

    def same(self, merged, whole, what, ordered):
        def clean(rows):
            out = [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]
            return out if ordered else sorted(out, key=lambda r: json.dumps(r, sort_keys=True))
        m, w = clean(merged), clean(whole)
        self.assertEqual(len(m), len(w), "%s: rows %s\nwhole: %s" % (what, m, w))
        for a, b in zip(m, w):
            self.assertEqual(set(a), set(b), what)
            for k in a:
                if isinstance(b[k], float) and isinstance(a[k], float):
                    self.assertAlmostEqual(a[k], b[k], delta=1e-9 * max(1.0, abs(b[k])),
                                           msg="%s: %s in %s vs %s" % (what, k, a, b))
                else:
                    self.assertEqual(a[k], b[k], "%s: %s in\n%s\nvs whole\n%s" % (what, k, a, b))

    def test_merged_equals_whole(self):
        whole = self.daemon(self.config)
        halves = [self.daemon(self.config), self.daemon(self.config)]
        stores = self.load(whole, halves)
        self.assertEqual(len(stores), STORES)
        today = datetime.datetime.utcnow().date()
        days = ["--from", str(today - datetime.timedelta(days=1)),
                "--to", str(today + datetime.timedelta(days=1))]
        region = sorted(r["region"] for r in self.query(["stores"], ["-e", whole.query])[0])[0]
        cases = [
            (["sales"] + days, True),
            (["sales", "-g", "hour"] + days, True),
            (["sales", "--region", region] + days, True),
            (["top-skus", "-n", "15"] + days, True),
            (["bottom-skus", "-n", "15"] + days, True),
            (["categories"] + days, True),
            (["cashiers"] + days, False),
            (["complaints"] + days, False),
            (["attendance"] + days, False),
            (["stock", "--region", region] + days, False),
            (["stores"], False),
        ]
        eps = ["--daemon", halves[0].query, "--daemon", halves[1].query]
        # Each half holds part of the chain: the merge has something to add up.
        txns = [self.query(["sales"] + days, ["-e", d.query])[0] for d in [whole] + halves]
        sums = [sum(r["transactions"] for r in t) for t in txns]
        self.assertTrue(0 < sums[1] < sums[0] and 0 < sums[2] < sums[0], sums)
        self.assertEqual(sums[1] + sums[2], sums[0])
        for args, ordered in cases:
            merged, notes = self.query(args, eps)
            alone, _ = self.query(args, ["-e", whole.query])
            self.assertTrue(alone, "%s: the whole chain's daemon answered no rows" % args)
            if "complaints" in args:
                # The p90 of response times cannot be merged from two p90s: the merge gives
                # the higher one, an upper bound, and says so.
                for m, w in zip(merged, alone):
                    if m.get("first_response_p90_min") is not None:
                        self.assertGreaterEqual(m["first_response_p90_min"],
                                                w["first_response_p90_min"])
                    m.pop("first_response_p90_min", None)
                    w.pop("first_response_p90_min", None)
                if len(merged) and "first_response_p90_min" in notes:
                    self.assertIn("upper bound", notes)
            else:
                self.assertEqual(notes, "", "%s: nothing approximate" % args)
            self.same(merged, alone, " ".join(args), ordered)
        # A store's own figures come from the daemon that holds it alone.
        merged, _ = self.query(["sales", "--store", "S001"] + days, eps)
        alone, _ = self.query(["sales", "--store", "S001"] + days, ["-e", whole.query])
        self.same(merged, alone, "sales --store S001", True)
        # One daemon not answering: said, and nothing half-merged printed.
        p = fwtest.run_cli("query", "sales", "--daemon", halves[0].query, "--daemon",
                           "ipc://%s/nobody" % self.tmp, "-w", "1")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stdout, "")

    def test_alerts_from_every_daemon(self):
        """`floorwalker alerts --daemon A --daemon B`: the snapshot of both, then the live
        alerts of both, each daemon's alerts endpoint asked of it."""
        daemons = [self.daemon(), self.daemon()]
        eps = []
        for d in daemons:
            eps += ["--daemon", d.query]

        def complaint(d, store, cid):
            t = fwtest.Terminal(d.ingest)
            ack = t.send([fwtest.event(store, store + "-T1", 7, 1, complaint={
                "complaint_id": cid, "action": "OPENED", "severity": "MAJOR",
                "channel": "COUNTER"})])
            self.assertEqual(ack.stored, 1)
            t.close()

        complaint(daemons[0], "A1", "CA")
        complaint(daemons[1], "B1", "CB")
        follow = subprocess.Popen([fwtest.CLI, "alerts", "--json", "-C", "4", "-W", "20"] + eps,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The snapshot first (two lines), then one live alert from each daemon.
        line = follow.stdout.readline()
        self.assertTrue(json.loads(line)["snapshot"], line)
        line2 = json.loads(follow.stdout.readline())
        self.assertTrue(line2["snapshot"])
        complaint(daemons[0], "A2", "CA2")
        complaint(daemons[1], "B2", "CB2")
        out, err = follow.communicate(timeout=30)
        rest = [json.loads(x) for x in out.splitlines()]
        subjects = sorted([json.loads(line)["subject"], line2["subject"]])
        self.assertEqual(subjects, ["CA", "CB"], err)
        self.assertEqual(sorted(a["subject"] for a in rest), ["CA2", "CB2"], err)
        self.assertTrue(all(not a["snapshot"] for a in rest))
        self.assertEqual(follow.returncode, 0, err)
        self.assertNotIn("gap", err)


if __name__ == "__main__":
    fwtest.main()
