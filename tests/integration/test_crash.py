"""Exactly-once under crashes: 4 terminals publish 200,000 events through the library (the
real `floorwalker sim`) while the daemon is SIGKILLed and restarted at least 3 times. At the end
the daemon holds every event exactly once (count and per-kind totals equal what was sent),
no spool holds anything, and the event log read independently (python3-lmdb) has no
duplicate (terminal, epoch, seq)."""
import collections
import json
import os
import random
import subprocess
import time

import lmdb

import fwtest

EVENTS = 200000
KINDS = ["sale", "complaint", "stock_move", "attendance", "shift", "sales_target", "drawer",
         "heartbeat"]


class Crash(fwtest.DaemonTest):
    def test_sigkill_during_load(self):
        pb = fwtest.pb2()
        rnd = random.Random(int(os.environ.get("FW_SEED", "12345")))
        d = self.daemon()
        spool = os.path.join(self.tmp, "spool")
        # Paced so that the run spans several kills (about 6 s plain, longer under ASan).
        sim = subprocess.Popen(
            [fwtest.CLI, "sim", "-e", d.ingest, "--stores", "2", "--terminals", "2", "-n",
             str(EVENTS), "--chunk", "200", "--rate", "35000", "--spool", spool, "--json",
             "--timeout", "400"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        kills = 0
        while kills < 4:
            time.sleep(rnd.uniform(0.4, 1.2))
            if sim.poll() is not None:
                break
            d.kill()
            kills += 1
            time.sleep(rnd.uniform(0.05, 0.6))
            d.start()
        out, err = sim.communicate(timeout=600)
        self.assertGreaterEqual(kills, 3, "the load ended before 3 kills; slow it down")
        self.assertEqual(sim.returncode, 0, err)
        report = json.loads(out)
        self.assertEqual(report["sent"], EVENTS)
        self.assertEqual(report["rejected"], 0)
        self.assertEqual(report["spool_left"], 0)
        self.assertEqual(sum(report["by_kind"].values()), EVENTS)

        st = d.stats()
        self.assertEqual(st["daemon"]["events_total"], EVENTS)
        self.assertEqual(st["events_by_kind"], report["by_kind"])
        self.assertEqual(st["daemon"]["quarantined"], 0)
        d.stop()

        # The event log, read without the daemon's code.
        env = lmdb.open(d.data_dir, readonly=True, lock=False, max_dbs=16)
        events = env.open_db(b"events", create=False)
        seen = set()
        by_kind = collections.Counter()
        per_term = collections.defaultdict(list)
        with env.begin(db=events) as txn:
            for k, v in txn.cursor():
                e = pb.Event()
                e.ParseFromString(v[8:])
                key = (e.terminal_id, e.epoch, e.seq)
                self.assertNotIn(key, seen, "duplicate stored: %s" % (key,))
                seen.add(key)
                by_kind[e.WhichOneof("body")] += 1
                per_term[(e.terminal_id, e.epoch)].append(e.seq)
        env.close()
        self.assertEqual(len(seen), EVENTS)
        self.assertEqual(dict(by_kind), {k: v for k, v in report["by_kind"].items() if v})
        self.assertEqual(len(per_term), 4, "one epoch per terminal")
        for term, seqs in per_term.items():
            self.assertEqual(sorted(seqs), list(range(1, len(seqs) + 1)), term)

        # Nothing left in any spool.
        dirs = sorted(os.listdir(spool))
        self.assertEqual(len(dirs), 4)
        for name in dirs:
            senv = lmdb.open(os.path.join(spool, name), readonly=True, lock=False, max_dbs=4)
            sdb = senv.open_db(b"spool", create=False)
            with senv.begin(db=sdb) as txn:
                self.assertEqual(txn.stat(sdb)["entries"], 0, name)
            senv.close()


if __name__ == "__main__":
    fwtest.main()
