"""The real CLI against the real daemon: publish from flags for every body kind and from JSON
lines, exit codes, offline spooling, config errors, query output formats."""
import datetime
import json
import os
import re
import subprocess

import fwtest
from fwtest import now_ms

FLAGS = {
    "sale": ["receipt_id=R1", "cashier_id=K1", "kind=SALE",
             'lines=[{"sku":"A1","category":"fresh","qty_milli":532,"unit_price_cents":299}]',
             "total_cents=159", 'tenders=[{"method":"CASH","amount_cents":159}]'],
    "complaint": ["complaint_id=C1", "action=OPENED", "severity=MAJOR", "channel=COUNTER",
                  "category=service", "note=rude at the till"],
    "stock_move": ["sku=A1", "kind=RECEIVE", "qty_milli=12000", "unit_cost_cents=80"],
    "attendance": ["employee_id=E1", "kind=CLOCK_IN", "role=cashier"],
    "shift": ["shift_id=SH1", "employee_id=E1", "role=cashier",
              "start_ms=%d" % (now_ms() + 3600000), "end_ms=%d" % (now_ms() + 8 * 3600000)],
    "sales_target": ["business_day=%s" % datetime.date.today().isoformat(),
                     "target_cents=1500000"],
    "drawer": ["drawer_id=D1", "cashier_id=K1", "kind=OPEN", "amount_cents=20000"],
    "heartbeat": ["terminal_time_ms=%d" % now_ms(), "spool_depth=0"],
}


class Cli(fwtest.DaemonTest):
    def pub(self, d, *args, **kw):
        return d.cli("publish", "-e", d.ingest, "--spool", os.path.join(self.tmp, "spool"),
                     *args, **kw)

    def test_publish_every_kind_from_flags(self):
        d = self.daemon()
        for kind, fields in FLAGS.items():
            p = self.pub(d, "-s", "S1", "-t", "T1", kind, *fields)
            self.assertEqual(p.returncode, 0, "%s: %s" % (kind, p.stderr))
            self.assertIn("1 acked, 0 rejected, 0 still spooled", p.stderr)
        st = d.stats()
        self.assertEqual(st["events_by_kind"], {k: 1 for k in FLAGS})
        self.assertEqual(st["daemon"]["quarantined"], 0)
        self.assertEqual([(t["terminal"], t["store"], t["acked_seq"]) for t in st["terminals"]],
                         [("T1", "S1", len(FLAGS))])

    def test_publish_bad_flags(self):
        d = self.daemon()
        p = self.pub(d, "-s", "S1", "sael", "receipt_id=R1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown event kind", p.stderr)
        p = self.pub(d, "-s", "S1", "complaint", "complaint_id=C1", "action=OPEN")
        self.assertEqual(p.returncode, 1)
        self.assertIn("complaint.action", p.stderr)
        self.assertIn("OPENED", p.stderr, "names the valid values")
        p = self.pub(d, "-s", "S1", "heartbeat", "spool_dept=1")
        self.assertEqual(p.returncode, 1)
        self.assertIn('did you mean "spool_depth"', p.stderr)
        self.assertEqual(d.stats()["daemon"]["events_total"], 0)

    def test_publish_json_lines(self):
        d = self.daemon()
        path = os.path.join(self.tmp, "events.jsonl")
        with open(path, "w") as f:
            f.write('{"store_id":"S1","terminal_id":"T1","heartbeat":{}}\n')
            f.write('{"store_id":"S1","terminal_id":"T1","heartbeat":{\n')
            f.write('# a comment line\n')
            f.write('{"store_id":"S2","terminal_id":"T2","stock_move":{"sku":"A1","kind":"COUNT",'
                    '"qty_milli":"5000"}}\n')
            f.write('{"store_id":"S2","terminal_id":"T2","stock_mvoe":{}}\n')
            f.write('{"terminal_id":"T3","drawer":{"drawer_id":"D1","kind":"OPEN",'
                    '"amount_cents":100}}\n')
            f.write('  {"store_id":"S1",, "heartbeat":{}}\n')
        p = self.pub(d, "-s", "S3", "-f", path)
        self.assertEqual(p.returncode, 1, p.stderr)
        # A syntax error is placed by the file's line and the column in it, not "line 1".
        self.assertIn(path + ":7:20: invalid JSON", p.stderr)
        self.assertIn(path + ":2:50: invalid JSON", p.stderr)
        self.assertNotIn("line 1", p.stderr)
        self.assertIn(path + ":2:", p.stderr)
        self.assertIn(path + ":5:", p.stderr)
        self.assertIn("stock_move", p.stderr)
        self.assertIn("3 event(s) from 3 terminal(s)", p.stderr)
        st = d.stats()
        self.assertEqual(st["daemon"]["events_total"], 3)
        self.assertEqual(sorted((t["terminal"], t["store"]) for t in st["terminals"]),
                         [("T1", "S1"), ("T2", "S2"), ("T3", "S3")])
        # From stdin too.
        p = self.pub(d, "-f", "-", input='{"store_id":"S1","terminal_id":"T1","heartbeat":{}}\n')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(d.stats()["daemon"]["events_total"], 4)

    def test_rejected_exit_code(self):
        d = self.daemon()
        p = self.pub(d, "-s", "S1", "sale", "receipt_id=R1", "cashier_id=K1", "kind=SALE",
                     'lines=[{"sku":"A1","qty_milli":1000,"unit_price_cents":250}]',
                     "total_cents=999")
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("SALE_TOTAL_MISMATCH", p.stderr)
        self.assertEqual(d.stats()["rejects_by_code"], {"SALE_TOTAL_MISMATCH": 1})

    def test_offline_then_resend(self):
        """The daemon is down: publish times out (exit 3) and keeps the event spooled; the next
        publish from the same spool delivers both."""
        d = self.daemon()
        d.stop()
        p = self.pub(d, "-s", "S1", "-t", "T1", "-w", "1", "heartbeat")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("1 still spooled", p.stderr)
        d.start()
        p = self.pub(d, "-s", "S1", "-t", "T1", "heartbeat")
        self.assertEqual(p.returncode, 0, p.stderr)
        st = d.stats()
        self.assertEqual(st["daemon"]["events_total"], 2)
        self.assertEqual(st["terminals"][0]["acked_seq"], 2)

    def test_epochs(self):
        """A spool keeps its epoch across runs; a new spool starts a new one; a daemon that lost
        its data makes the terminal continue in a new epoch instead of waiting forever."""
        d = self.daemon()
        for _ in range(2):
            p = self.pub(d, "-s", "S1", "-t", "T1", "heartbeat")
            self.assertEqual(p.returncode, 0, p.stderr)
        terms = d.stats()["terminals"]
        self.assertEqual([(t["terminal"], t["acked_seq"]) for t in terms], [("T1", 2)])
        first_epoch = terms[0]["epoch"]
        p = d.cli("publish", "-e", d.ingest, "--spool", os.path.join(self.tmp, "other"), "-s",
                  "S1", "-t", "T1", "heartbeat")
        self.assertEqual(p.returncode, 0, p.stderr)
        terms = d.stats()["terminals"]
        self.assertEqual(len(terms), 2)
        self.assertNotEqual(terms[0]["epoch"], terms[1]["epoch"])

        d.stop()
        import shutil
        shutil.rmtree(d.data_dir)
        d.start()
        p = self.pub(d, "-s", "S1", "-t", "T1", "heartbeat")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("continuing as epoch", p.stderr)
        st = d.stats()
        self.assertEqual(st["daemon"]["events_total"], 1)
        self.assertEqual(len(st["terminals"]), 1)
        self.assertNotEqual(st["terminals"][0]["epoch"], first_epoch)
        self.assertEqual(st["terminals"][0]["acked_seq"], 1)

    def test_config_errors(self):
        bad = os.path.join(self.tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("# comment\n[ingest]\nendpont = tcp://127.0.0.1:1\n")
        p = subprocess.run([fwtest.DAEMON, "-c", bad, "--check-config"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, "one clear line")
        self.assertIn(bad + ":3:", p.stderr)
        self.assertIn('"endpont"', p.stderr)
        self.assertIn('did you mean "endpoint"', p.stderr)

        with open(bad, "w") as f:
            f.write("[ingest]\nmax_msg_bytes = lots\n")
        p = subprocess.run([fwtest.DAEMON, "-c", bad], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn(bad + ":2:", p.stderr)
        self.assertIn("whole number", p.stderr)

        with open(bad, "w") as f:
            f.write("[store:S1]\nregion = east\n[terminal:T1]\nstore = S2\n")
        p = subprocess.run([fwtest.DAEMON, "-c", bad, "--check-config"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no [store:S2]", p.stderr)

        d = self.daemon(start=False)
        p = subprocess.run([fwtest.DAEMON, "-c", d.conf, "--check-config"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([fwtest.DAEMON, "--check-config"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("embedded defaults", p.stdout)
        p = subprocess.run([fwtest.DAEMON, "--bogus"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)

        # The example config documents every key with its default and must itself load.
        example = os.path.join(os.path.dirname(fwtest.PROTO), "..", "config", "floorwalker.conf")
        p = subprocess.run([fwtest.DAEMON, "-c", example, "--check-config"], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Every alert threshold of floorwalker.conf(5) is in it, with the page's default.
        man = os.path.join(os.path.dirname(example), "..", "man", "floorwalker.conf.5")
        with open(man) as f:
            page = f.read()
        thresholds = page[page.index(".SH ALERT THRESHOLDS"):page.index(".SH RELOAD")]
        keys = re.findall(r'^\.BR (\w+) " = " (\d+)$', thresholds, re.M)
        self.assertGreaterEqual(len(keys), 22, keys)
        with open(example) as f:
            conf = f.read()
        rules = conf[conf.index("[rules]"):]
        rules = rules[:rules.index("\n[")]
        for key, default in keys:
            self.assertRegex(rules, r"(?m)^%s = %s$" % (key, default), "[rules] %s" % key)

    def test_query_formats_and_exit_codes(self):
        d = self.daemon()
        self.pub(d, "-s", "S1", "-t", "T1", "heartbeat")
        p = d.cli("query", "stats", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("events_total", p.stdout)
        p = d.cli("query", "stats", "--csv", "-e", d.query)
        self.assertEqual(p.returncode, 0)
        self.assertIn("table,name,value", p.stdout.splitlines()[0])
        p = d.cli("query", "stats", "--json", "-e", d.query)
        rows = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertIn({"table": "events_by_kind", "kind": "heartbeat", "events": 1}, rows)
        p = d.cli("query", "nosuch", "-e", d.query)
        self.assertEqual(p.returncode, 2)
        p = d.cli("query", "alerts", "--json", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        for line in p.stdout.splitlines():  # time rules may have fired for S1 meanwhile
            row = json.loads(line)
            self.assertIn(row["table"], ("alerts", "pub_seq"))
        p = d.cli("query", "sales", "--from", "yesterday", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("(no rows)", p.stdout)
        # Every query option is accepted by the CLI (the daemon answers an empty result).
        for args in (["sales", "--scope", "chain", "--granularity", "hour"],
                     ["sales", "--region", "default", "-g", "month", "--from", "this-month"],
                     ["top-skus", "--from", "last-week", "--to", "yesterday", "-n", "3"],
                     ["bottom-skus", "--scope", "chain"], ["categories"], ["cashiers"],
                     ["complaints", "--from", "last-month"], ["stock", "--sku", "A1"],
                     ["attendance", "--employee", "E1", "--from", "this-week"]):
            p = d.cli("query", *args, "--json", "-e", d.query)
            self.assertEqual(p.returncode, 0, "%s: %s" % (args, p.stderr))
        p = d.cli("query", "sales", "--from", "2026-02-30", "-e", d.query)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a date", p.stderr)
        p = d.cli("stats", "-e", "ipc://%s/nobody-here" % self.tmp, "-w", "1")
        self.assertEqual(p.returncode, 3)
        self.assertIn("no answer", p.stderr)
        for sub in ("publish", "query", "stats", "sim"):
            p = d.cli(sub, "--help")
            self.assertEqual(p.returncode, 0, sub)
            self.assertIn("Usage: floorwalker " + sub, p.stdout)
        p = d.cli("--help")
        self.assertIn("Exit status", p.stdout)

    def test_sim_drive_clock_needs_test_clock(self):
        """sim --drive-clock against a daemon without --test-clock exits non-zero before sending
        anything (it printed an error, sent anyway and exited 0)."""
        d = self.daemon()
        p = d.cli("sim", "-e", d.ingest, "--stores", "1", "--mode", "compressed", "--days", "1",
                  "--day-seconds", "2", "--drive-clock", d.query, "--spool",
                  os.path.join(self.tmp, "sp"), timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--test-clock", p.stderr)
        self.assertIn("nothing sent", p.stderr)
        self.assertEqual(d.stats()["daemon"]["events_total"], 0)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "sp")) and
                         os.listdir(os.path.join(self.tmp, "sp")), "no terminal spooled anything")


    def test_sim_small_run_shows_everything(self):
        """A small fast run (-n 1000) sends a little of every kind, sales most of all (it sent
        945 stock moves and no sale: the opening stock came first)."""
        d = self.daemon()
        p = d.cli("sim", "-e", d.ingest, "-n", "1000", "--json", "--spool",
                  os.path.join(self.tmp, "sp"), timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        by_kind = json.loads(p.stdout)["by_kind"]
        self.assertEqual(sum(by_kind.values()), 1000)
        for kind in ("sale", "stock_move", "attendance", "shift", "sales_target", "drawer",
                     "heartbeat"):
            self.assertGreater(by_kind.get(kind, 0), 0, "%s: %s" % (kind, by_kind))
        self.assertGreater(by_kind["sale"], by_kind["stock_move"], by_kind)
        self.assertEqual(d.stats()["events_by_kind"], {k: v for k, v in by_kind.items() if v})


if __name__ == "__main__":
    fwtest.main()
