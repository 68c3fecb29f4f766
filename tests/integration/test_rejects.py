"""Every reject code of docs/DOMAIN.md's data-quality list is triggered against the real daemon:
each rejected event is acked with its code and reason, kept in quarantine, and counted."""
import fwtest
from fwtest import event, sale, table, now_ms

CONFIG = """
[limits]
max_lines = 5
[store:S1]
region = east
timezone = Europe/London
[store:S2]
region = west
[terminal:T1]
store = S1
[terminal:T2]
store = S2
"""


class Rejects(fwtest.DaemonTest):
    def test_every_code(self):
        pb = fwtest.pb2()
        d = self.daemon(CONFIG)
        t = fwtest.Terminal(d.ingest)
        E = 9
        day_ms = 86400 * 1000
        # (description, store, body, time, expected code)
        cases = [
            ("valid sale", "S1", {"sale": sale()}, None, pb.REJECT_NONE),
            ("unknown store", "S9", {"heartbeat": {}}, None, pb.UNKNOWN_STORE),
            ("terminal bound to another store", "S2", {"heartbeat": {}}, None,
             pb.TERMINAL_STORE_MISMATCH),
            ("missing receipt id", "S1", {"sale": sale(receipt="")}, None, pb.MISSING_ID),
            ("bad cashier id", "S1", {"sale": sale(cashier="bad id")}, None, pb.BAD_ID),
            ("lines do not add up", "S1", {"sale": sale(lines=((1000, 250, 0), (2000, 100, 0)),
                                                        total=453)}, None,
             pb.SALE_TOTAL_MISMATCH),
            ("negative price", "S1", {"sale": sale(lines=((1000, -250, 0),), total=0)}, None,
             pb.NEGATIVE_AMOUNT),
            ("quantity beyond bounds", "S1",
             {"sale": sale(lines=((10 ** 12, 1, 0),), total=10 ** 9)}, None,
             pb.QTY_OUT_OF_BOUNDS),
            ("zero quantity", "S1", {"sale": sale(lines=((0, 100, 0),), total=0)}, None,
             pb.QTY_OUT_OF_BOUNDS),
            ("amount beyond bounds", "S1", {"drawer": {"drawer_id": "D1", "kind": "PAID_IN",
                                                       "amount_cents": 10 ** 13}}, None,
             pb.AMOUNT_OUT_OF_BOUNDS),
            ("time far in the future", "S1", {"heartbeat": {}}, now_ms() + day_ms,
             pb.TIME_IN_FUTURE),
            ("time older than retention", "S1", {"heartbeat": {}}, now_ms() - 500 * day_ms,
             pb.TIME_TOO_OLD),
            ("no body", "S1", {}, None, pb.MISSING_BODY),
            ("kind not set", "S1", {"sale": sale(kind="KIND_UNSPECIFIED")}, None, pb.BAD_ENUM),
            ("too many lines", "S1", {"sale": sale(lines=((1000, 1, 0),) * 6)}, None,
             pb.TOO_MANY_LINES),
            ("note too long", "S1", {"complaint": {"complaint_id": "C1", "action": "OPENED",
                                                   "severity": "MINOR", "channel": "COUNTER",
                                                   "note": "x" * 2000}}, None,
             pb.STRING_TOO_LONG),
            ("shift ends before it starts", "S1",
             {"shift": {"shift_id": "SH1", "employee_id": "E1", "start_ms": now_ms(),
                        "end_ms": now_ms() - 1000}}, None, pb.BAD_FIELD),
            ("bad business day", "S1", {"sales_target": {"business_day": "2026-02-30",
                                                         "target_cents": 100}}, None,
             pb.BAD_FIELD),
        ]
        expected_rejects = {}
        for seq, (what, store, body, tm, code) in enumerate(cases, start=1):
            a = t.send([event(store, "T1", E, seq, t=tm, **body)])
            self.assertEqual(a.acked_seq, seq, what + ": acked even when rejected")
            if code == pb.REJECT_NONE:
                self.assertEqual(len(a.rejected), 0, what)
                self.assertEqual(a.stored, 1, what)
                continue
            self.assertEqual(len(a.rejected), 1, what)
            r = a.rejected[0]
            self.assertEqual((r.seq, pb.RejectCode.Name(r.code)), (seq, pb.RejectCode.Name(code)),
                             "%s: %s" % (what, r.reason))
            self.assertTrue(len(r.reason) > 10, what)
            name = pb.RejectCode.Name(code)
            expected_rejects[name] = expected_rejects.get(name, 0) + 1

        # A terminal the config does not list.
        t2 = fwtest.Terminal(d.ingest)
        a = t2.send([event("S1", "TX", 1, 1, heartbeat={})])
        self.assertEqual([(r.seq, r.code) for r in a.rejected], [(1, pb.UNKNOWN_TERMINAL)])
        self.assertIn("TX", a.rejected[0].reason)
        expected_rejects["UNKNOWN_TERMINAL"] = 1

        # Batch-level refusals: epoch 0, and a batch mixing two terminals.
        a = t2.send([event("S2", "T2", 0, 1, heartbeat={})])
        self.assertEqual(a.batch_code, pb.BAD_SEQ)
        self.assertEqual(a.acked_seq, 0)
        a = t2.send([event("S2", "T2", 5, 1, heartbeat={}), event("S1", "T1", 5, 2, heartbeat={})])
        self.assertEqual(a.batch_code, pb.BAD_BATCH)
        self.assertIn("one terminal", a.batch_error)
        expected_rejects["BAD_SEQ"] = 1
        expected_rejects["BAD_BATCH"] = 1

        st = d.stats()
        self.assertEqual(st["rejects_by_code"], expected_rejects)
        self.assertEqual(st["daemon"]["events_total"], 1)
        self.assertEqual(st["daemon"]["quarantined"], sum(expected_rejects.values()))

        # Everything rejected is in quarantine, newest first, with its code.
        r = d.query_raw(pb.Query(kind=pb.Query.QUARANTINE, limit=1000))
        q = table(r, "quarantine")
        got = {}
        for row in q:
            got[row["code"]] = got.get(row["code"], 0) + 1
        self.assertEqual(got, expected_rejects)
        self.assertEqual([row["pos"] for row in q], sorted([row["pos"] for row in q], reverse=True))

        # The CLI shows the same quarantine.
        p = d.cli("query", "quarantine", "--json", "-e", d.query, "-n", "3")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.strip().splitlines()), 3)
        t.close()
        t2.close()

    def test_stock_move_quantity_as_documented(self):
        """StockMove.qty_milli is what the proto says: positive, the kind gives the direction
        (a negative or zero one is rejected); ADJUST is signed; COUNT is the counted quantity.
        The proto's comment says so in those words (it said "a delta")."""
        import re
        with open(fwtest.PROTO) as f:
            proto = f.read()
        m = re.search(r"message StockMove \{.*?((?://[^\n]*\n\s*)+)int64 qty_milli", proto, re.S)
        self.assertTrue(m, "StockMove.qty_milli has a comment above it")
        doc = " ".join(x.strip().lstrip("/").strip() for x in m.group(1).splitlines())
        self.assertNotIn("delta", doc)
        for words in ("always positive", "kind gives the direction", "negative or zero",
                      "rejected", "ADJUST is a signed", "COUNT is the quantity counted"):
            self.assertIn(words, doc)
        pb = fwtest.pb2()
        d = self.daemon(CONFIG)
        t = fwtest.Terminal(d.ingest)
        cases = [("RECEIVE", 5000, pb.REJECT_NONE), ("RECEIVE", -5000, pb.QTY_OUT_OF_BOUNDS),
                 ("DAMAGE", 0, pb.QTY_OUT_OF_BOUNDS), ("SHRINK", -1, pb.QTY_OUT_OF_BOUNDS),
                 ("DAMAGE", 1000, pb.REJECT_NONE), ("ADJUST", -1000, pb.REJECT_NONE),
                 ("ADJUST", 0, pb.QTY_OUT_OF_BOUNDS), ("COUNT", -1, pb.QTY_OUT_OF_BOUNDS),
                 ("COUNT", 0, pb.REJECT_NONE)]
        for seq, (kind, q, code) in enumerate(cases, 1):
            a = t.send([event("S1", "T1", 3, seq, stock_move={"sku": "SKU-1", "kind": kind,
                                                                "qty_milli": q})])
            got = a.rejected[0].code if a.rejected else pb.REJECT_NONE
            self.assertEqual(got, code, "%s %d: %s" % (kind, q, a))
        t.close()

    def test_zero_config_binding_survives_restart(self):
        """With no stores listed, a terminal is bound to the first store it sends for, and that
        binding is durable."""
        pb = fwtest.pb2()
        d = self.daemon()
        t = fwtest.Terminal(d.ingest)
        a = t.send([event("S5", "T5", 3, 1, heartbeat={})])
        self.assertEqual((a.acked_seq, len(a.rejected)), (1, 0))
        t.close()
        d.stop()
        d.start()
        t = fwtest.Terminal(d.ingest)
        a = t.send([event("S6", "T5", 3, 2, heartbeat={}), event("S5", "T5", 3, 3, heartbeat={})])
        self.assertEqual([(r.seq, r.code) for r in a.rejected], [(2, pb.TERMINAL_STORE_MISMATCH)])
        self.assertEqual((a.acked_seq, a.stored), (3, 1))
        # Duplicates after a restart are recognised (the marks are durable).
        a = t.send([event("S5", "T5", 3, 1, heartbeat={})])
        self.assertEqual((a.acked_seq, a.stored, a.duplicates), (3, 0, 1))
        t.close()


if __name__ == "__main__":
    fwtest.main()
