"""Storage: a map that fills up is grown and the commit replayed, with nothing lost; counters
and marks survive a restart."""
import json
import os
import subprocess

import fwtest


class Storage(fwtest.DaemonTest):
    def test_map_full_grows(self):
        d = self.daemon("[storage]\nmap_size_mb = 2\nmap_grow_mb = 2\n")
        p = d.cli("sim", "-e", d.ingest, "--stores", "1", "--terminals", "2", "-n", "40000",
                  "--chunk", "500", "--spool", os.path.join(self.tmp, "spool"), "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        sent = json.loads(p.stdout)
        st = d.stats()
        self.assertGreater(st["daemon"]["map_grows"], 0, "a 2 MiB map cannot hold 40,000 events")
        self.assertGreater(st["daemon"]["map_size_mb"], 2)
        self.assertEqual(st["daemon"]["events_total"], 40000)
        self.assertEqual(st["events_by_kind"], sent["by_kind"])
        self.assertEqual(st["daemon"]["commit_failures"], 0)
        d.stop()
        d.start()
        st2 = d.stats()
        self.assertEqual(st2["daemon"]["events_total"], 40000, "counters are durable")
        self.assertEqual(st2["events_by_kind"], sent["by_kind"])
        self.assertEqual(st2["terminals"], st["terminals"], "marks are durable")

    def test_one_daemon_per_data_dir(self):
        """A second daemon, or --rebuild, on a data directory a live daemon holds is refused with
        one line naming the holder's pid, before it binds anything; the first keeps serving."""
        d = self.daemon()
        other = fwtest.Daemon(self.tmp, name="second", data_dir=d.data_dir)
        for args in ([], ["--rebuild"]):
            p = subprocess.run([fwtest.DAEMON, "-c", other.conf] + args, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 3, "%s: %s" % (args, p.stderr))
            lines = [x for x in p.stderr.splitlines() if "in use" in x]
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertIn("pid %d" % d.proc.pid, lines[0])
            self.assertIn(d.data_dir, lines[0])
            self.assertNotIn("ready", p.stderr)
            for ep in (other.ingest, other.alerts, other.query):
                self.assertFalse(os.path.exists(ep[len("ipc://"):]), "%s bound" % ep)
        self.assertGreaterEqual(d.stats()["daemon"]["events_total"], 0)  # still answers
        d.stop()
        # Released on exit: the other one may now start on it.
        other.start()
        other.stop()


if __name__ == "__main__":
    fwtest.main()
