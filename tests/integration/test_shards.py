"""Queries across shards (issue 18): two daemons each holding half of a simulated chain's stores
answer `floorwalker query KIND --daemon A --daemon B` exactly as one daemon that was sent the
whole chain answers `floorwalker query KIND` (same seed, the same batches), field by field; the
same through the web console (`floorwalker web --daemon A --daemon B`), its API and its page in a
real browser, with the live alerts of both daemons.

The chain is written once with `floorwalker sim --write` and its batches (one terminal each)
sent by python3-zmq: to the daemon of the batch's store's half, and all of them to the whole
chain's daemon.
"""
import datetime
import json
import os
import re
import struct
import subprocess
import urllib.parse

import fwtest
from webtest import ConsoleTest, Stream

STORES = 6
# Fields a daemon computes from its own wall clock at the moment it answers.
VOLATILE = {"age_h"}
# An epoch above the simulator's, for a terminal's events sent after the chain's.
NEW_EPOCH = 1 << 40


def half_of(store):
    """Which half's daemon holds store: the odd-numbered stores are the first half's."""
    return 0 if int(store[1:]) % 2 else 1


def split_config(config, mine):
    """config with only the [store:ID] and [terminal:ID] sections of the stores mine(ID)."""
    out = []
    for section in re.split(r"\n(?=\[)", config):
        m = re.match(r"\[store:([^\]]+)\]", section)
        t = re.search(r"^store = (\S+)", section, re.M) if section.startswith("[terminal:") else None
        if (m and not mine(m[1])) or (t and not mine(t[1])):
            continue
        out.append(section)
    return "\n".join(out)


class Shards(ConsoleTest):
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
        # Each half's daemon is configured with its own stores and terminals only, as a shard
        # is: it refuses the others' (status NOT_FOUND), which a merge leaves out.
        cls.half_configs = [split_config(cls.config, lambda s, h=h: half_of(s) == h)
                            for h in (0, 1)]

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
            half = halves[half_of(store)]
            for d in (whole, half):
                terms[d].send_raw(frame)
                ack = terms[d].recv_ack()
                self.assertEqual(ack.batch_error, "")
                self.assertEqual(ack.acked_seq, b.events[-1].seq)
        for t in terms.values():
            t.close()
        return stores

    def chain(self):
        """The whole chain's daemon and the two halves, loaded."""
        whole = self.daemon(self.config)
        halves = [self.daemon(c) for c in self.half_configs]
        self.assertEqual(len(self.load(whole, halves)), STORES)
        return whole, halves

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
        whole, halves = self.chain()
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
        # `alerts ack --daemon A --daemon B`: asked of each until one holds the alert.
        t = fwtest.Terminal(daemons[1].ingest)
        ack = t.send([fwtest.event("B1", "B1-T1", 8, 1, complaint={
            "complaint_id": "CC", "action": "OPENED", "severity": "MINOR", "channel": "COUNTER",
            "category": "pricing", "compensation_cents": 9000000})])
        self.assertEqual(ack.stored, 1)
        t.close()
        aid = "compensation_over_limit/B1/CC"
        p = fwtest.run_cli("alerts", "ack", aid, "-r", "approved", *eps)
        self.assertEqual((p.returncode, p.stdout), (0, "acknowledged %s\n" % aid), p.stderr)
        rows = self.query(["alerts"], ["-e", daemons[1].query])[0]
        self.assertNotIn(aid, {r.get("alert_id") for r in rows})
        p = fwtest.run_cli("alerts", "ack", aid, "-r", "again", *eps)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("%s: no active alert" % daemons[0].query, p.stderr)

    def alerts_of(self, d):
        rows = self.query(["alerts"], ["-e", d.query])[0]
        return ({r["alert_id"] for r in rows if r["table"] == "alerts"},
                {r["region"]: r["pub_seq"] for r in rows if r["table"] == "pub_seq"})

    def test_console_over_shards(self):
        """The console over both halves answers every figure as a console over the whole
        chain's daemon does, shows the alerts of both, and sends an ack to the daemon that
        holds the alert."""
        whole, halves = self.chain()
        eps = [h.query for h in halves]
        merged = self.web(None, "--daemon", eps[0], "--daemon", eps[1])
        alone = self.web(whole)
        today = datetime.datetime.utcnow().date()
        days = {"from": str(today - datetime.timedelta(days=1)),
                "to": str(today + datetime.timedelta(days=1))}
        status, rows = alone.get("/api/query/stores")
        self.assertEqual(status, 200, rows)
        region = sorted(r["region"] for r in rows)[0]
        cases = [
            ("sales", days, True),
            ("sales", dict(days, granularity="hour"), True),
            ("sales", dict(days, region=region), True),
            ("sales", dict(days, store="S002"), True),
            ("top-skus", dict(days, limit=15), True),
            ("bottom-skus", dict(days, limit=15), True),
            ("categories", days, True),
            ("cashiers", days, False),
            ("attendance", days, False),
            ("stock", dict(days, region=region), False),
            ("stores", {}, False),
        ]
        for kind, params, ordered in cases:
            path = "/api/query/%s?%s" % (kind, urllib.parse.urlencode(params))
            s1, got, headers = merged.get_full(path)
            s2, want = alone.get(path)
            self.assertEqual((s1, s2), (200, 200), (path, got, want))
            self.assertTrue(want, "%s: the whole chain's console answered no rows" % path)
            self.assertIsNone(headers.get("X-Floorwalker-Note"), path)
            self.same(got, want, path, ordered)
        # The complaints' p90 merges as an upper bound, and the answer says so.
        path = "/api/query/complaints?" + urllib.parse.urlencode(days)
        _, got, headers = merged.get_full(path)
        _, want = alone.get(path)
        p90 = "first_response_p90_min"
        for m, w in zip(got, want):
            if m.get(p90) is not None:
                self.assertGreaterEqual(m[p90], w[p90])
                self.assertIn("upper bound", headers.get("X-Floorwalker-Note", ""))
            m.pop(p90, None)
            w.pop(p90, None)
        self.same(got, want, path, False)
        # Each daemon's own figures side by side, each row naming its daemon.
        status, rows = merged.get("/api/query/stats")
        self.assertEqual(status, 200, rows)
        self.assertEqual({r["daemon"] for r in rows}, set(eps))
        heard = {r["store"] for r in rows if r["table"] == "terminals"}
        self.assertEqual(len(heard), STORES, rows)

        # Alerts: the snapshot of both, each alert naming its daemon, each daemon's regions
        # numbered on their own.
        session = merged.get("/api/session")[1]
        self.assertEqual([d["daemon"] for d in session["daemons"]], eps)
        st = Stream(merged)
        snap = st.snapshot()
        self.assertTrue(all(d["connected"] for d in merged.get("/api/session")[1]["daemons"]))
        want_ids, want_seq = set(), {}
        for h in halves:
            ids, seqs = self.alerts_of(h)
            want_ids |= ids
            want_seq.update({"%s %s" % (h.query, r): n for r, n in seqs.items()})
        by_id = {a["alert_id"]: a for a in snap["alerts"]}
        self.assertEqual(set(by_id), want_ids)
        self.assertEqual(snap["pub_seq"], want_seq)
        for h in halves:
            for aid in self.alerts_of(h)[0]:
                self.assertEqual(by_id[aid]["daemon"], h.query, aid)
        status, rest = merged.get("/api/alerts")
        self.assertEqual(status, 200, rest)
        self.assertEqual({a["alert_id"] for a in rest["alerts"]}, want_ids)
        self.assertEqual(rest["pub_seq"], want_seq)
        # Live: one alert from each half in the same region (S001 is the first half's, S002
        # the second's; both in the region of S001), then both acknowledged through the
        # console, each reaching the daemon that holds it.
        _, stores = alone.get("/api/query/stores")
        uk = {r["store"]: r["region"] for r in stores}
        self.assertEqual(uk["S001"], uk["S002"])
        for d, store in ((halves[0], "S001"), (halves[1], "S002")):
            t = fwtest.Terminal(d.ingest)
            ack = t.send([fwtest.event(store, store + "-T01", NEW_EPOCH, 1, complaint={
                "complaint_id": "CX" + store, "action": "OPENED", "severity": "MINOR",
                "channel": "COUNTER", "category": "pricing", "compensation_cents": 9000000})])
            self.assertEqual(ack.stored, 1)
            t.close()
            want_aid = "compensation_over_limit/%s/CX%s" % (store, store)
            kind, a = st.event()
            while a.get("alert_id") != want_aid:  # the sim's own alerts may still change
                kind, a = st.event()
            self.assertEqual((kind, a["state"], a["daemon"]), ("alert", "FIRING", d.query))
            key = "%s %s" % (d.query, uk[store])
            self.assertEqual(a["pub_seq"], snap["pub_seq"].get(key, 0) + 1, key)
        st.close()
        token = session["csrf"]
        for d, store in ((halves[1], "S002"), (halves[0], "S001")):
            aid = "compensation_over_limit/%s/CX%s" % (store, store)
            self.assertIn(aid, self.alerts_of(d)[0])
            path = "/api/alerts/%s/ack" % urllib.parse.quote(aid, safe="")
            status, body = merged.post(path, {"reason": "approved"}, token=token)
            self.assertEqual(status, 200, body)
            self.assertNotIn(aid, self.alerts_of(d)[0])
        # An alert no daemon has: each is asked; the refusal names the daemon.
        status, body = merged.post(path, {"reason": "again"}, token=token)
        self.assertEqual(status, 409, body)
        self.assertIn(eps[0] + ": ", body["error"])
        self.assertIn("no active alert", body["error"])

    def test_console_with_a_daemon_down(self):
        """One daemon of two not there: its figures cannot be had (503 naming it), the page
        is told which daemon is not connected, the other's alerts still come."""
        d = self.daemon(self.half_configs[0])
        nobody = "ipc://%s/nobody" % self.tmp
        w = self.web(None, "--daemon", d.query, "--daemon", nobody, "-w", "1")
        status, body = w.get("/api/query/sales")
        self.assertEqual(status, 503, body)
        self.assertIn(nobody, body["error"])
        session = w.get("/api/session")[1]
        self.assertFalse(session["daemon"])
        self.assertEqual([(x["daemon"]) for x in session["daemons"]], [d.query, nobody])
        self.assertFalse(session["daemons"][1]["connected"])
        self.assertIn("asking %s again every 2 s" % nobody, w.read_log())
        # -e/-q and --daemon together: refused.
        p = fwtest.run_cli("web", "--listen", "127.0.0.1:0", "-q", d.query, "--daemon", d.query)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("not both", p.stderr)

    def test_console_page_over_shards(self):
        """The board in a real browser lists every store of both daemons by name, and an
        alert of the second daemon appears on it live."""
        import fwbrowser as fb
        whole, halves = self.chain()
        w = self.web(None, "--daemon", halves[0].query, "--daemon", halves[1].query)
        _, stores = w.get("/api/query/stores")
        names = {r["store"]: r["store_name"] for r in stores}
        self.assertEqual(len(names), STORES)
        b = fb.browser(1280, 900)
        try:
            b.get(w.url)
            tiles = lambda: b.execute_script(  # noqa: E731
                "return [...document.querySelectorAll('.tile')].map("
                "t => [t.dataset.store, t.querySelector('h2').innerText, t.innerText]);")
            fb.wait_for(b, lambda b: len(tiles()) == STORES, 10 * fwtest.TIME_SCALE,
                        "a tile for each store of both daemons")
            for store, name, _ in tiles():
                self.assertEqual(name, names[store])
            # Live, then an alert from the second daemon.
            fb.wait_for(b, lambda b: b.execute_script("return document.getElementById('live')"
                                                      ".classList.contains('on')"), 10,
                        "the live indicator")
            t = fwtest.Terminal(halves[1].ingest)
            ack = t.send([fwtest.event("S002", "S002-T01", NEW_EPOCH, 1, complaint={
                "complaint_id": "CPAGE", "action": "OPENED", "severity": "CRITICAL",
                "channel": "PHONE", "category": "service"})])
            self.assertEqual(ack.stored, 1)
            t.close()
            b.get(w.url + "#/alerts")
            sel = 'tr[data-alert-id="complaint_major/S002/CPAGE"]'
            row = lambda: b.execute_script(  # noqa: E731
                "const r = document.querySelector(arguments[0]); return r ? r.innerText : ''",
                sel)
            fb.wait_for(b, lambda b: row(), 5 * fwtest.TIME_SCALE, "the second daemon's alert")
            self.assertIn("%s (S002)" % names["S002"], row())
            self.assertEqual(fb.console_errors(b), [])
        finally:
            b.quit()


if __name__ == "__main__":
    fwtest.main()
