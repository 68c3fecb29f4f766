"""floorwalker backup: a copy taken while a chain publishes restores into a daemon whose
rollups equal those of the original's event log up to the backup's log position."""
import json
import os
import shutil
import subprocess
import time

import lmdb

import fwtest

KINDS = [("SALES", {}), ("SALES", {"granularity": "hour"}), ("TOP_SKUS", {"limit": 50}),
         ("CATEGORIES", {}), ("CASHIERS", {}), ("STOCK", {})]


def snapshot(d, stores):
    """Every figure that does not depend on the clock, for comparison."""
    pb = fwtest.pb2()
    out = {}
    for st in stores:
        for kind, extra in KINDS:
            r = d.query_raw(pb.Query(kind=getattr(pb.Query, kind), store_id=st, **extra))
            assert r.status == pb.QueryResult.OK, r.error
            out[(st, kind, tuple(extra.items()))] = {
                t.name: fwtest.table(r, t.name) for t in r.tables if t.name != "drawers"}
    return out


class Backup(fwtest.DaemonTest):
    def test_backup_during_ingest_restores(self):
        d = self.daemon()
        spool = os.path.join(self.tmp, "spool")
        sim = subprocess.Popen(
            [fwtest.CLI, "sim", "-e", d.ingest, "--stores", "2", "--terminals", "2", "-n", "40000",
             "--rate", "20000", "--chunk", "100", "--spool", spool, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.8)
        dest = os.path.join(self.tmp, "backup")
        p = fwtest.run_cli("backup", "--data-dir", d.data_dir, dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("bytes", p.stdout)
        out, err = sim.communicate(timeout=120)
        self.assertEqual(sim.returncode, 0, err)
        self.assertEqual(json.loads(out)["sent"], 40000)
        # The backup holds a prefix of the log: positions 1..P.
        env = lmdb.open(dest, readonly=True, lock=False, max_dbs=16)
        with env.begin(db=env.open_db(b"events", create=False)) as txn:
            keys = [bytes(k) for k, _ in txn.cursor()]
        env.close()
        positions = [int.from_bytes(k[1:], "big") for k in keys]
        backup_pos = len(positions)
        self.assertEqual(positions, list(range(1, backup_pos + 1)))
        self.assertGreater(backup_pos, 0, "the backup was taken during ingest")
        self.assertLess(backup_pos, 40000, "the backup was taken during ingest")
        # A refused target.
        p = fwtest.run_cli("backup", "--data-dir", d.data_dir, dest)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already holds a database", p.stderr)
        d.stop()

        # The original's log cut at P, rebuilt: the rollups the backup must give.
        cut = os.path.join(self.tmp, "cut")
        shutil.copytree(d.data_dir, cut)
        env = lmdb.open(cut, max_dbs=16)
        events = env.open_db(b"events", create=False)
        with env.begin(write=True, db=events) as txn:
            for k, _ in list(txn.cursor()):
                if int.from_bytes(bytes(k)[1:], "big") > backup_pos:
                    txn.delete(k)
        env.close()
        ref = self.daemon(data_dir=cut, start=False)
        p = subprocess.run([fwtest.DAEMON, "-c", ref.conf, "--rebuild"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        ref.start()
        restored = self.daemon(data_dir=dest)
        stores = ["S001", "S002"]
        self.assertEqual(restored.stats()["daemon"]["events_total"], backup_pos)
        self.assertEqual(snapshot(restored, stores), snapshot(ref, stores))


if __name__ == "__main__":
    fwtest.main()
