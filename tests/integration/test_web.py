#!/usr/bin/env python3
"""floorwalker web (docs/WEB.md): the console's JSON API answers what the CLI answers, its alert
stream follows the daemon, bad requests get a 400 naming the parameter, and the page works in a
real browser (Debian's chromium, headless, through python3-selenium)."""
import datetime
import http.client
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo

import fwtest
from webtest import ConsoleTest, Stream

# The stores' business day (both in Shanghai).
TODAY = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date().isoformat()
SALE = ['lines=[{"sku":"A1","category":"fresh","qty_milli":2000,"unit_price_cents":1250}]',
        "total_cents=2500", 'tenders=[{"method":"CARD","amount_cents":2500}]']
# Open all day, with the rules that depend on the time of day (understaffed after opening,
# sales_behind_target) switched off: the alerts are the events' own, whenever the test runs.
CONFIG = """
[chain]
currency = CNY
[rules]
min_staff = 0
sales_behind_pct = 0
[store:SH1]
name = Nanjing Road
region = east
timezone = Asia/Shanghai
hours = 00:00-24:00
[store:BJ1]
name = Wangfujing
region = north
timezone = Asia/Shanghai
hours = 00:00-24:00
"""


class WebTest(ConsoleTest):
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
            path = "/api/query/%s?%s" % (kind, urllib.parse.urlencode(params))
            status, got = w.get(path)
            self.assertEqual(status, 200, (kind, params, got))
            args = []
            for k, v in params.items():
                args += ["--" + k, v]
            want = self.cli_rows(d, kind, *args)
            _, after = w.get(path)
            # An open complaint's age grows between the questions: its shape only. The part
            # of the day's target due by now grows by the minute: the CLI's lies between the
            # console's answers before and after it.
            for rows in (got, want, after):
                for r in rows:
                    if "age_h" in r:
                        self.assertIsInstance(r["age_h"], float)
                        r["age_h"] = None
            for g, m, a in zip(got, want, after):
                if "target_due" in m and m["target_due"] is not None:
                    self.assertLessEqual(g.pop("target_due"), m["target_due"], (kind, params))
                    self.assertGreaterEqual(a.pop("target_due"), m.pop("target_due"),
                                            (kind, params))
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
        st = Stream(w)
        self.assertEqual(st.r.status, 200)
        self.assertEqual(st.r.getheader("Content-Type"), "text/event-stream")
        event = st.event
        snap = st.snapshot()
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
        st.close()

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


def users_file(tmp, users):
    """A users file for `floorwalker web --users`: {name: (role, regions, password)}."""
    out = []
    for name, (role, regions, password) in users.items():
        p = fwtest.run_cli("web", "passwd", input=password + "\n")
        assert p.returncode == 0, p.stderr
        out.append("[user:%s]\nrole = %s\n%spassword_hash = %s\n" % (
            name, role, "regions = %s\n" % regions if regions else "", p.stdout.strip()))
    path = os.path.join(tmp, "users.conf")
    with open(path, "w") as f:
        f.write("\n".join(out))
    os.chmod(path, 0o600)
    return path


USERS = {"sue": ("supervisor", "east", "sue's long password"),
         "olga": ("ops", "", "olga's long password")}


class Login(WebTest):
    """With --users: everyone logs in; a supervisor sees the stores of its regions only."""

    def login(self, w, user, password):
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
        c.request("POST", "/api/login", body=json.dumps({"user": user, "password": password}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read())
        cookie = r.getheader("Set-Cookie") or ""
        c.close()
        return r.status, body, cookie

    def test_login_required_and_rate_limited(self):
        d = self.daemon(CONFIG)
        w = self.web(d, "--users", users_file(self.tmp, USERS))
        status, body = w.get("/api/query/sales?store=SH1")
        self.assertEqual(status, 401, body)
        status, body = w.get("/api/session")
        self.assertEqual((status, body["login"], body["user"]), (200, True, None))
        # The page sends a visitor without a session to the login page.
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        self.assertEqual((r.status, r.getheader("Location")), (303, "/login.html"))
        c.close()
        status, body, cookie = self.login(w, "olga", "olga's long password")
        self.assertEqual((status, body["user"], body["role"]), (200, "olga", "ops"), body)
        self.assertRegex(cookie, r"^fw_session=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict$")
        sid = cookie.split(";")[0]
        status, rows = w.get("/api/query/sales?scope=chain", headers={"Cookie": sid})
        self.assertEqual(status, 200, rows)
        # Logging out needs the session's CSRF token; then the cookie is worth nothing.
        self.assertEqual(w.post("/api/logout", {}, headers={"Cookie": sid})[0], 403)
        status, _ = w.post("/api/logout", {}, token=body["csrf"], headers={"Cookie": sid})
        self.assertEqual(status, 200)
        self.assertEqual(w.get("/api/query/sales?scope=chain", headers={"Cookie": sid})[0], 401)
        # Five wrong passwords for a name: the sixth try is refused even with the right one.
        for _ in range(5):
            self.assertEqual(self.login(w, "sue", "guess")[0], 401)
        status, body, _ = self.login(w, "sue", "sue's long password")
        self.assertEqual(status, 429, body)
        self.assertGreater(body["retry_after"], 0)
        # Another user from the same address is refused too (five failures from it).
        self.assertEqual(self.login(w, "olga", "olga's long password")[0], 429)
        # Not JSON: refused before any password is checked.
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
        c.request("POST", "/api/login", body="user=olga&password=x",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(c.getresponse().status, 415)
        c.close()

    def test_supervisor_sees_its_regions_only(self):
        d = self.daemon(CONFIG)
        self.chain(d)  # a MAJOR complaint at BJ1 (north)
        self.pub(d, "SH1", "complaint", "complaint_id=C5", "action=OPENED", "severity=MAJOR",
                 "channel=COUNTER", "category=service")
        self.pub(d, "BJ1", "complaint", "complaint_id=C6", "action=OPENED", "severity=MINOR",
                 "channel=COUNTER", "category=pricing", "compensation_cents=50000")
        w = self.web(d, "--users", users_file(self.tmp, USERS))
        status, sess, cookie = self.login(w, "sue", "sue's long password")
        self.assertEqual((status, sess["role"], sess["regions"]), (200, "supervisor", ["east"]))
        h = {"Cookie": cookie.split(";")[0]}
        status, rows = w.get("/api/query/stores", headers=h)
        self.assertEqual(status, 200, rows)
        self.assertEqual([r["store"] for r in rows], ["SH1"])
        self.assertEqual(w.get("/api/query/sales?store=SH1", headers=h)[0], 200)
        # Her region by default; another region's store, the chain, the quarantine: 403.
        status, rows = w.get("/api/query/sales", headers=h)
        self.assertEqual((status, rows[0]["scope"]), (200, "east"), rows)
        for path, param in (("sales?store=BJ1", "store"), ("sales?region=north", "region"),
                            ("sales?scope=chain", "scope"), ("top-skus?scope=chain", "scope"),
                            ("quarantine", "KIND")):
            status, body = w.get("/api/query/" + path, headers=h)
            self.assertEqual((status, body.get("parameter")), (403, param), (path, body))
        status, snap = w.get("/api/alerts", headers=h)
        self.assertEqual({a["store_id"] for a in snap["alerts"]}, {"SH1"}, snap)
        self.assertEqual(set(snap["pub_seq"]), {"east"})
        status, rows = w.get("/api/query/alerts", headers=h)
        self.assertEqual({r["region"] for r in rows}, {"east"}, rows)
        status, rows = w.get("/api/query/stats", headers=h)
        self.assertEqual(status, 200)
        self.assertEqual({r["store"] for r in rows}, {"SH1"}, rows)
        # A forged acknowledgement of the other region's alert: 403, and it stays.
        aid = "compensation_over_limit/BJ1/C6"
        status, body = w.post("/api/alerts/%s/ack" % urllib.parse.quote(aid, safe=""),
                              {"reason": "not mine"}, token=sess["csrf"], headers=h)
        self.assertEqual(status, 403, body)
        self.assertIn(aid, self.snapshot(d))
        # Her stream has her region's alerts only.
        c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
        c.request("GET", "/api/alerts/stream", headers=h)
        r = c.getresponse()
        data = None
        while data is None or not data["connected"]:
            line = r.fp.readline().decode()
            if line.startswith("data: "):
                data = json.loads(line[6:])
        self.assertEqual({a["store_id"] for a in data["alerts"]}, {"SH1"})
        c.close()
        # The ops user acknowledges it; the resolution names her.
        status, ops, cookie = self.login(w, "olga", "olga's long password")
        status, body = w.post("/api/alerts/%s/ack" % urllib.parse.quote(aid, safe=""),
                              {"reason": "voucher ok"}, token=ops["csrf"],
                              headers={"Cookie": cookie.split(";")[0]})
        self.assertEqual(status, 200, body)
        self.assertNotIn(aid, self.snapshot(d))
        p = d.cli("query", "alerts", "--json", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_tls(self):
        d = self.daemon(CONFIG)
        cert, key = os.path.join(self.tmp, "web.crt"), os.path.join(self.tmp, "web.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        w = self.web(d, "--users", users_file(self.tmp, USERS), "--tls-cert", cert,
                     "--tls-key", key)
        self.assertTrue(w.url.startswith("https://127.0.0.1:"), w.url)
        body = json.dumps({"user": "olga", "password": "olga's long password"})
        p = subprocess.run(["curl", "-sS", "--cacert", cert, "-D", "-", "-H",
                            "Content-Type: application/json", "--data", body,
                            w.url + "api/login"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?i)set-cookie: fw_session=[0-9a-f]{64}; Path=/; HttpOnly; "
                                   r"SameSite=Strict; Secure")
        # Plain HTTP to the TLS port gets nothing served.
        p = subprocess.run(["curl", "-sS", w.url.replace("https", "http") + "api/session"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotIn('"login"', p.stdout)
        # Only one of the two files: refused.
        p = d.cli("web", "--tls-cert", cert, "-q", d.query, "-e", d.alerts, timeout=20)
        self.assertEqual(p.returncode, 2)
        self.assertIn("both --tls-cert and --tls-key", p.stderr)

    def test_users_file_errors_name_file_line_key(self):
        d = self.daemon(CONFIG)
        path = os.path.join(self.tmp, "bad.conf")
        for text, want in (
                ("[user:a]\nrole = boss\n", ":2: [user:a] role = \"boss\": expected supervisor or ops"),
                ("[user:a]\nrole = ops\ncolour = red\n", ":3: [user:a] colour: unknown key"),
                ("[user:a]\nrole = ops\npassword_hash = hunter2\n",
                 ":3: [user:a] password_hash: not an Argon2id hash"),
                ("[admins]\nx = 1\n", ":2: [admins]: unknown section"),
                ("[user:a]\nrole = supervisor\npassword_hash = $argon2id$v=19$x\n",
                 "[user:a] needs regions")):
            with open(path, "w") as f:
                f.write(text)
            p = d.cli("web", "--users", path, "-q", d.query, "-e", d.alerts, timeout=20)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(want, p.stderr)
        # Readable by others: it starts, with a warning.
        users = users_file(self.tmp, USERS)
        os.chmod(users, 0o644)
        w = self.web(d, "--users", users)
        rc, err = w.stop()
        self.webs.remove(w)
        self.assertEqual(rc, 0, err)
        self.assertIn("readable by other users", err)


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

        # SH1's target due by now, the daemon's (SH1 has no sales history, so pro rata over its
        # hours, 00:00-24:00: 10,000.00 x the minutes of the day gone by now / 1440).
        def minute():
            now = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai"))
            return now.hour * 60 + now.minute

        def due():
            (row,) = self.cli_rows(d, "sales", "--store", "SH1")
            return row["target_due"]

        first = minute()  # the tile shows what a fetch after this said
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
            # Net against the target due by now. The page fetched it at some minute between
            # `first` and now (a minute may have turned meanwhile, before the tile or after).
            said = {due()}
            t = tile("SH1")
            said.add(due())
            last = minute()
            span = range(first, last + 1) if last >= first else [*range(first, 1440),
                                                                  *range(0, last + 1)]
            dues = {1000000 * m // 1440 for m in span}
            self.assertLessEqual(said, dues, "the daemon's due by now is pro rata")
            self.assertEqual(t["name"], "Nanjing Road")
            self.assertEqual(t["net"], "75.00 CNY")
            self.assertIn(" · day's target 10,000.00 CNY", t["target"])
            if "nothing due yet" not in t["target"]:
                m = re.match(r"([\d.,]+)% of the ([\d,]+\.\d\d) CNY due by now", t["target"])
                self.assertTrue(m, t["target"])
                shown = int(m[2].replace(",", "").replace(".", ""))
                self.assertIn(shown, dues, t["target"])
                self.assertAlmostEqual(float(m[1].replace(",", "")), 7500 * 100 / shown,
                                       delta=0.05)
            else:
                self.assertIn(0, dues)
            self.assertFalse(b.find_element("id", "banner").get_attribute("hidden"))
            fb.wait_for(b, lambda b: "1 critical" in tile("BJ1")["text"], 5,
                        "BJ1's major complaint")
            # The floor: BJ1's open complaint; nobody clocked in anywhere.
            fb.wait_for(b, lambda b: "1 open complaint" in tile("BJ1")["text"], 12,
                        "BJ1's open complaint")
            self.assertIn("0 on duty · no shift on the rota now", tile("BJ1")["text"])
            self.assertIn("0 open complaints", tile("SH1")["text"])
            # Staff against the rota now: a shift at BJ1 that started a minute ago, nobody
            # clocked in; at SH1 someone clocked in with no shift.
            now = int(time.time() * 1000)
            self.pub(d, "BJ1", "shift", "shift_id=S1", "employee_id=E1",
                     "start_ms=%d" % (now - 60000), "end_ms=%d" % (now + 7200000))
            self.pub(d, "SH1", "attendance", "employee_id=E2", "kind=CLOCK_IN")
            fb.wait_for(b, lambda b: "0 on duty of 1 on the rota now" in tile("BJ1")["text"],
                        12, "BJ1's rota")
            fb.wait_for(b, lambda b: "1 on duty · no shift on the rota now" in
                        tile("SH1")["text"], 12, "SH1's clock-in")
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

    def test_login_page(self):
        fb = self.fwbrowser
        d = self.daemon(CONFIG)
        self.chain(d)
        w = self.web(d, "--users", users_file(self.tmp, USERS))
        b = fb.browser(1280, 900)
        try:
            b.get(w.url)
            fb.wait_for(b, lambda b: b.current_url.endswith("/login.html"), 5, "the login page")
            b.find_element("id", "login-user").send_keys("sue")
            b.find_element("id", "login-password").send_keys("not her password")
            b.find_element("id", "login-submit").click()
            fb.wait_for(b, lambda b: b.find_element("id", "login-error").is_displayed(), 5,
                        "the refusal")
            self.assertIn("wrong user name or password", b.find_element("id", "login-error").text)
            b.find_element("id", "login-user").clear()
            b.find_element("id", "login-user").send_keys("sue")
            b.find_element("id", "login-password").send_keys("sue's long password")
            b.find_element("id", "login-submit").click()
            # Her board: the east store only, her name in the header, no "no login" banner.
            fb.wait_for(b, lambda b: b.find_elements("css selector", '.tile[data-store="SH1"]'),
                        10, "SH1's tile")
            fb.wait_for(b, lambda b: b.find_elements("id", "user"), 5, "the user in the header")
            self.assertEqual(b.find_element("id", "user").text, "sue (supervisor: east)")
            self.assertEqual(len(b.find_elements("css selector", ".tile")), 1)
            self.assertFalse(b.find_element("id", "banner").is_displayed())
            fb.screenshot(b, os.path.join(self.shots, "console-supervisor-1280.png"))
            # Her ops page compares her stores only: no other region's store, not even as one
            # "not compared".
            b.get(w.url + "#/ops")
            fb.wait_for(b, lambda b: b.find_elements("css selector", '#ops-table tr[data-store]'),
                        10, "the comparison")
            rows = [r.get_attribute("data-store")
                    for r in b.find_elements("css selector", "#ops-table tr[data-store]")]
            self.assertEqual(rows, ["SH1"])
            self.assertFalse(b.find_element("id", "ops-error").is_displayed(),
                             b.find_element("id", "ops-error").text)
            self.assertNotIn("BJ1", b.find_element("tag name", "main").text)
            b.find_element("id", "logout").click()
            fb.wait_for(b, lambda b: b.current_url.endswith("/login.html"), 5, "logged out")
            b.get(w.url)
            fb.wait_for(b, lambda b: b.current_url.endswith("/login.html"), 5,
                        "the login page again")
            errors = [e for e in fb.console_errors(b) if "401" not in e["message"]]
            self.assertEqual(errors, [])
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
            # Both tiles' left edges read at one moment in the page: the board re-renders its
            # tiles when figures arrive, so elements found earlier may be gone (stale) by the
            # time a second WebDriver call reads them.
            xs = b.execute_script("return Array.from(document.querySelectorAll('.tile'))"
                                  ".map(t => t.getBoundingClientRect().left)")
            self.assertEqual(len(xs), 2, xs)
            self.assertEqual(xs[0], xs[1], "one column at phone width")
            fb.screenshot(b, os.path.join(self.shots, "console-board-390.png"))
            self.assertEqual(fb.console_errors(b), [])
        finally:
            b.quit()


if __name__ == "__main__":
    fwtest.main()
