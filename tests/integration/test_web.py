#!/usr/bin/env python3
"""floorwalker web (docs/WEB.md): the console's JSON API answers what the CLI answers, its alert
stream follows the daemon, bad requests get a 400 naming the parameter, and the page works in a
real browser (Debian's chromium, headless, through python3-selenium)."""
import datetime
import http.client
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo

import fwtest

# The stores' business day (both in Shanghai).
TODAY = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date().isoformat()
SALE = ['lines=[{"sku":"A1","category":"fresh","qty_milli":2000,"unit_price_cents":1250}]',
        "total_cents=2500", 'tenders=[{"method":"CARD","amount_cents":2500}]']
CONFIG = """
[chain]
currency = CNY
[store:SH1]
name = Nanjing Road
region = east
timezone = Asia/Shanghai
[store:BJ1]
name = Wangfujing
region = north
timezone = Asia/Shanghai
"""


class Web:
    """`floorwalker web` on a free loopback port, stopped by pid."""

    def __init__(self, d, *extra):
        self.p = subprocess.Popen([fwtest.CLI, "web", "--listen", "127.0.0.1:0", "-e", d.alerts,
                                   "-q", d.query, *extra], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.url = self.p.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.p.kill()
            raise AssertionError("floorwalker web: %s %s" % (self.url, self.p.stderr.read()))
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("floorwalker web did not stop within 15 s of SIGTERM")
        err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        return rc, err

    def get(self, path, headers=None):
        """(status, JSON body)."""
        req = urllib.request.Request(self.url.rstrip("/") + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def post(self, path, body, token=None, host=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Content-Type": "application/json"}
        if token:
            h["X-CSRF-Token"] = token
        if host:
            h["Host"] = host
        c.request("POST", path, body=json.dumps(body), headers=h)
        r = c.getresponse()
        out = r.status, json.loads(r.read())
        c.close()
        return out


class WebTest(fwtest.DaemonTest):
    def setUp(self):
        super().setUp()
        self.webs = []

    def tearDown(self):
        for w in self.webs:
            if w.p.poll() is None:
                rc, err = w.stop()
                self.assertEqual(rc, 0, err)
        super().tearDown()

    def web(self, d, *extra):
        w = Web(d, *extra)
        self.webs.append(w)
        return w

    def pub(self, d, store, *args):
        p = d.cli("publish", "-e", d.ingest, "--spool", os.path.join(self.tmp, "spool-" + store),
                  "-s", store, "-t", store + "-T1", *args)
        self.assertEqual(p.returncode, 0, p.stderr)

    def chain(self, d):
        self.pub(d, "SH1", "sales_target", "business_day=%s" % TODAY, "target_cents=1000000")
        for i in range(3):
            self.pub(d, "SH1", "sale", "receipt_id=R%d" % i, "cashier_id=K1", "kind=SALE", *SALE)
        self.pub(d, "BJ1", "sale", "receipt_id=B1", "cashier_id=K2", "kind=SALE", *SALE)
        self.pub(d, "BJ1", "complaint", "complaint_id=C1", "action=OPENED", "severity=MAJOR",
                 "channel=COUNTER", "category=service")

    def cli_rows(self, d, *args):
        p = d.cli("query", *args, "--json", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [json.loads(ln) for ln in p.stdout.splitlines()]

    def snapshot(self, d):
        return {r["alert_id"]: r for r in self.cli_rows(d, "alerts") if r["table"] == "alerts"}


class Api(WebTest):
    def test_query_rows_equal_the_clis(self):
        d = self.daemon(CONFIG)
        self.chain(d)
        w = self.web(d)
        cases = [
            ("sales", {"store": "SH1", "from": "today"}),
            ("sales", {"scope": "chain", "granularity": "hour"}),
            ("sales", {"region": "east", "from": TODAY, "to": TODAY}),
            ("top-skus", {"scope": "chain", "limit": "3"}),
            ("categories", {"store": "SH1"}),
            ("cashiers", {"store": "SH1"}),
            ("complaints", {"store": "BJ1"}),
            ("stock", {"store": "SH1", "sku": "A1"}),
            ("attendance", {"store": "SH1"}),
            ("stores", {}),
            ("alerts", {}),
        ]
        for kind, params in cases:
            status, got = w.get("/api/query/%s?%s" % (kind, urllib.parse.urlencode(params)))
            self.assertEqual(status, 200, (kind, params, got))
            args = []
            for k, v in params.items():
                args += ["--" + k, v]
            want = self.cli_rows(d, kind, *args)
            # An open complaint's age grows between the two questions: its shape only.
            for rows in (got, want):
                for r in rows:
                    if "age_h" in r:
                        self.assertIsInstance(r["age_h"], float)
                        r["age_h"] = None
            self.assertEqual(got, want, (kind, params))
        # A figure people read: the two SH1 sales of 25.00 CNY... three of them.
        _, rows = w.get("/api/query/sales?store=SH1")
        self.assertEqual(rows[0]["net"], 7500)
        self.assertEqual(rows[0]["target"], 1000000)

    def test_bad_requests_name_the_parameter(self):
        d = self.daemon(CONFIG)
        w = self.web(d)
        for query, param in (("sales?from=someday", "from"), ("sales?limit=0", "limit"),
                             ("sales?limit=x", "limit"), ("sales?scope=galaxy", "scope"),
                             ("sales?granularity=year", "granularity"),
                             ("sales?store=" + "S" * 65, "store"), ("sales?colour=red", "colour"),
                             ("sales?store=a%20b", "store")):
            status, body = w.get("/api/query/" + query)
            self.assertEqual(status, 400, (query, body))
            self.assertEqual(body["parameter"], param, body)
            self.assertTrue(body["error"].startswith(param + ": "), body)
        status, body = w.get("/api/query/nosuch")
        self.assertEqual((status, body["parameter"]), (404, "KIND"), body)
        self.assertIn("sales", body["error"])
        # What the daemon refuses comes back as a 400 with its reason.
        status, body = w.get("/api/query/sales?store=NOPE")
        self.assertEqual(status, 400)
        self.assertIn('unknown store "NOPE"', body["error"])
        status, body = w.get("/api/nothing")
        self.assertEqual(status, 404)

    def test_csrf_host_and_ack(self):
        d = self.daemon(CONFIG)
        self.pub(d, "SH1", "complaint", "complaint_id=C9", "action=OPENED", "severity=MINOR",
                 "channel=COUNTER", "category=pricing", "compensation_cents=50000")
        aid = "compensation_over_limit/SH1/C9"
        self.assertIn(aid, self.snapshot(d))
        w = self.web(d)
        _, session = w.get("/api/session")
        self.assertFalse(session["login"])
        token = session["csrf"]
        path = "/api/alerts/%s/ack" % urllib.parse.quote(aid, safe="")
        # No token, a wrong one, another Host (DNS rebinding): refused, and the alert stays.
        self.assertEqual(w.post(path, {"reason": "x"})[0], 403)
        self.assertEqual(w.post(path, {"reason": "x"}, token="0" * 64)[0], 403)
        status, body = w.post(path, {"reason": "x"}, token=token, host="evil.example:%d" % w.port)
        self.assertEqual(status, 421, body)
        status, body = w.get("/api/session", headers={"Host": "evil.example"})
        self.assertEqual(status, 421, body)
        status, body = w.post(path, {"reason": "r" * 161}, token=token)
        self.assertEqual((status, body["parameter"]), (400, "reason"), body)
        self.assertIn(aid, self.snapshot(d))
        status, body = w.post(path, {"reason": "refund agreed with the customer"}, token=token)
        self.assertEqual(status, 200, body)
        self.assertNotIn(aid, self.snapshot(d))
        # An alert that is not there (any more): the daemon's reason, as a conflict.
        status, body = w.post(path, {"reason": "again"}, token=token)
        self.assertEqual(status, 409, body)

    def test_alert_stream(self):
        d = self.daemon(CONFIG)
        self.chain(d)
        w = self.web(d)
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
        c.request("GET", "/api/alerts/stream")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")

        def event():
            ev = {}
            while True:
                line = r.fp.readline().decode().rstrip("\n")
                if not line:
                    if "event" in ev:
                        return ev["event"], json.loads(ev["data"])
                    continue
                if line.startswith(":"):
                    continue
                k, _, v = line.partition(": ")
                ev[k] = v

        kind, snap = event()
        while not snap["connected"]:  # the console started before its first snapshot
            kind, snap = event()
        self.assertEqual(kind, "snapshot")
        ids = {a["alert_id"] for a in snap["alerts"]}
        self.assertIn("complaint_major/BJ1/C1", ids)
        self.assertEqual(ids, set(self.snapshot(d)))
        status, rest = w.get("/api/alerts")
        self.assertEqual(status, 200)
        self.assertEqual({a["alert_id"] for a in rest["alerts"]}, ids)
        self.pub(d, "SH1", "complaint", "complaint_id=C2", "action=OPENED", "severity=CRITICAL",
                 "channel=PHONE", "category=service")
        kind, a = event()
        self.assertEqual((kind, a["alert_id"], a["state"]),
                         ("alert", "complaint_major/SH1/C2", "FIRING"))
        self.assertEqual(a["pub_seq"], snap["pub_seq"].get("east", 0) + 1)
        self.pub(d, "SH1", "complaint", "complaint_id=C2", "action=RESOLVED")
        kind, a = event()
        self.assertEqual((kind, a["alert_id"], a["state"], a["resolution"]),
                         ("alert", "complaint_major/SH1/C2", "RESOLVED", "complaint resolved"))
        c.close()

    def test_refuses_beyond_loopback_and_stops_on_sigterm(self):
        d = self.daemon(CONFIG)
        p = d.cli("web", "--listen", "0.0.0.0:7480", "-q", d.query, "-e", d.alerts, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("loopback", p.stderr)
        p = d.cli("web", "--listen", "nohost", timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("HOST:PORT", p.stderr)
        w = self.web(d)
        # An open alert stream must not hold the stop up.
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
        c.request("GET", "/api/alerts/stream")
        self.assertEqual(c.getresponse().status, 200)
        t0 = time.time()
        rc, err = w.stop()
        self.assertEqual(rc, 0, err)
        self.assertLess(time.time() - t0, 5, "stopping took %.1f s" % (time.time() - t0))
        c.close()


class Browser(WebTest):
    """The page in Debian's chromium, headless."""

    def setUp(self):
        super().setUp()
        import fwbrowser
        self.fwbrowser = fwbrowser
        self.shots = os.environ.get("FW_SCREENSHOTS", self.tmp)

    def test_board_and_alerts_live(self):
        fb = self.fwbrowser
        d = self.daemon(CONFIG)
        self.chain(d)
        w = self.web(d)
        b = fb.browser(1280, 900)
        try:
            b.get(w.url)

            def tile(store):
                """A tile's parts as text, read in one go (the page refreshes them)."""
                return b.execute_script("""
                    const t = document.querySelector('.tile[data-store="' + arguments[0] + '"]');
                    if (!t) return null;
                    const q = (s) => t.querySelector(s);
                    return {name: q('h2').innerText, net: q('.net').innerText,
                            minor: q('.net').dataset.minor, target: q('.target').innerText,
                            text: t.innerText};""", store)

            fb.wait_for(b, lambda b: tile("SH1") and tile("SH1")["minor"] == "7500", 10,
                        "SH1's net of 75.00")
            t = tile("SH1")
            self.assertEqual(t["name"], "Nanjing Road")
            self.assertEqual(t["net"], "75.00 CNY")
            self.assertIn("0.8% of today's target 10,000.00 CNY", t["target"])
            self.assertFalse(b.find_element("id", "banner").get_attribute("hidden"))
            fb.wait_for(b, lambda b: "1 critical" in tile("BJ1")["text"], 5,
                        "BJ1's major complaint")
            # A sale published through the CLI changes the tile without a reload, within 2 s.
            self.pub(d, "SH1", "sale", "receipt_id=R9", "cashier_id=K1", "kind=SALE", *SALE)
            t0 = time.time()
            fb.wait_for(b, lambda b: tile("SH1")["minor"] == "10000", 2, "SH1's tile at 100.00")
            print("\ntile updated %.2f s after the publish returned" % (time.time() - t0))
            # A complaint makes an alert appear within 2 s. (A1 was sold without stock: SH1
            # has out_of_stock and negative_stock warnings already.)
            warnings = lambda: int(  # noqa: E731
                (re.search(r"(\d+) warnings?", tile("SH1")["text"]) or [0, 0])[1])
            fb.wait_for(b, lambda b: warnings() == 2, 5, "SH1's two stock warnings")
            self.pub(d, "SH1", "complaint", "complaint_id=C7", "action=OPENED",
                     "severity=MINOR", "channel=COUNTER", "category=pricing",
                     "compensation_cents=50000")
            t0 = time.time()
            fb.wait_for(b, lambda b: warnings() == 3, 2, "SH1's new warning")
            print("alert on the board %.2f s after the publish returned" % (time.time() - t0))
            fb.screenshot(b, os.path.join(self.shots, "console-board-1280.png"))
            b.get(w.url + "#/alerts")
            sel = 'tr[data-alert-id="compensation_over_limit/SH1/C7"]'
            row_text = lambda: b.execute_script(  # noqa: E731
                "const r = document.querySelector(arguments[0]); return r ? r.innerText : ''",
                sel)
            fb.wait_for(b, lambda b: row_text(), 5, "the alert's row")
            self.assertIn("Nanjing Road (SH1)", row_text())
            self.assertRegex(row_text(), r"\d{4}-\d\d-\d\d \d\d:\d\d \+08:00")
            self.assertIn("500.00 CNY", row_text())
            fb.screenshot(b, os.path.join(self.shots, "console-alerts-1280.png"))
            # Acknowledge from the page: the daemon's snapshot no longer has it, and the page
            # shows the resolution with the reason.
            b.find_element("css selector", sel + " button.ack").click()
            b.find_element("id", "ack-reason").send_keys("voucher approved by the manager")
            b.find_element("id", "ack-ok").click()
            fb.wait_for(b, lambda b: "compensation_over_limit/SH1/C7" not in self.snapshot(d),
                        5, "the ack in the daemon")
            fb.wait_for(b, lambda b: "voucher approved by the manager" in row_text(), 5,
                        "the resolution on the page")
            self.assertIn("RESOLVED", row_text())
            self.assertEqual(fb.console_errors(b), [])
        finally:
            b.quit()

    def test_phone_width(self):
        fb = self.fwbrowser
        d = self.daemon(CONFIG)
        self.chain(d)
        w = self.web(d)
        b = fb.browser(390, 844)
        try:
            b.get(w.url)
            fb.wait_for(b, lambda b: len(b.find_elements("css selector", ".tile")) == 2, 10,
                        "two tiles")
            # One column, nothing wider than the screen.
            width = b.execute_script("return document.documentElement.scrollWidth")
            self.assertLessEqual(width, 390)
            tiles = b.find_elements("css selector", ".tile")
            self.assertEqual(tiles[0].location["x"], tiles[1].location["x"])
            fb.screenshot(b, os.path.join(self.shots, "console-board-390.png"))
            self.assertEqual(fb.console_errors(b), [])
        finally:
            b.quit()


if __name__ == "__main__":
    fwtest.main()
