#!/usr/bin/env python3
"""The console's store page, ops comparison and week/month reports (docs/WEB.md) in a real
browser (Debian's chromium, headless, through python3-selenium): every figure equals what
`floorwalker query ... --json` answers for the same store and day, the CSV downloads equal the
CLI's `--csv` byte for byte, the comparison sorts by mouse and keyboard, the spot check names
who is on duty, and the pages fit a phone. Screenshots go to FW_SCREENSHOTS (default: the
test's temporary directory, removed when it passes)."""
import datetime
import json
import os
import random
import zoneinfo

import fwtest
from webtest import Web

# How long the page may take to show what it asked (longer with the daemon under valgrind).
WAIT = 10 * fwtest.TIME_SCALE

# The stores' zone is chosen so that their local time is 14:xx while the test runs: the day's
# sales at 09:00-13:59 are all in the past, and the business day cannot change under the test.
HOUR_NOW = 14


def zone_at(hour):
    """A fixed-offset zone in which it is now hour:xx (Etc/GMT-8 is UTC+8)."""
    utc = datetime.datetime.now(datetime.timezone.utc)
    off = (hour - utc.hour) % 24
    if off > 14:
        off -= 24
    return "UTC" if off == 0 else "Etc/GMT%+d" % -off


ZONE = zone_at(HOUR_NOW)
TZ = zoneinfo.ZoneInfo(ZONE)
TODAY = datetime.datetime.now(TZ).date()
D = TODAY.isoformat()
WEEK_AGO = (TODAY - datetime.timedelta(days=7)).isoformat()
CONFIG = """
[chain]
currency = CNY
[store:SH1]
name = Nanjing Road
region = east
timezone = %s
[store:BJ1]
name = Wangfujing
region = north
timezone = %s
""" % (ZONE, ZONE)


def at(day, hhmm):
    """Unix ms of day (a date) at "HH:MM" in the stores' zone."""
    h, m = map(int, hhmm.split(":"))
    return int(datetime.datetime.combine(day, datetime.time(h, m), tzinfo=TZ).timestamp() * 1000)


def sale(receipt, cashier, kind, sku, qty_milli, price, method="CARD", voids=None):
    total = (qty_milli * price + 500) // 1000
    body = {"receipt_id": receipt, "cashier_id": cashier, "kind": kind,
            "lines": [{"sku": sku, "category": "fresh", "qty_milli": qty_milli,
                       "unit_price_cents": price}],
            "total_cents": total, "tenders": [{"method": method, "amount_cents": total}]}
    if voids:
        body["original_receipt_id"] = voids
    return {"sale": body}


def money(minor):
    return "{:,.2f} CNY".format(minor / 100)


def events():
    """The known small chain: (store, day, "HH:MM", body) in time order per store."""
    day, old = TODAY, TODAY - datetime.timedelta(days=7)
    mid = TODAY - datetime.timedelta(days=3)
    shift = lambda sid, emp, a, b: {"shift": {  # noqa: E731
        "shift_id": sid, "employee_id": emp, "role": "cashier", "start_ms": at(day, a),
        "end_ms": at(day, b)}}
    clock = lambda emp, kind: {"attendance": {  # noqa: E731
        "employee_id": emp, "kind": kind, "role": "cashier"}}
    move = lambda sku, kind, q, cost: {"stock_move": {  # noqa: E731
        "sku": sku, "category": "fresh", "kind": kind, "qty_milli": q, "unit_cost_cents": cost}}
    complaint = lambda cid, action, **kw: {"complaint": dict(  # noqa: E731
        complaint_id=cid, action=action, **kw)}
    return [
        ("SH1", old, "07:00", {"sales_target": {"business_day": old.isoformat(),
                                                "target_cents": 500000}}),
        ("SH1", old, "09:30", sale("W1", "K1", "SALE", "A1", 4000, 1250)),
        ("SH1", old, "10:30", sale("W2", "K1", "SALE", "A1", 2400, 1250)),
        ("SH1", old, "12:30", sale("W3", "K2", "SALE", "B2", 2500, 800)),
        ("SH1", day, "07:00", {"sales_target": {"business_day": D, "target_cents": 1000000}}),
        ("SH1", day, "07:00", move("A1", "RECEIVE", 100000, 600)),
        ("SH1", day, "07:00", move("B2", "RECEIVE", 2000, 500)),
        ("SH1", day, "07:05", shift("S1", "E1", "09:00", "17:00")),
        ("SH1", day, "07:05", shift("S2", "E2", "09:00", "17:00")),
        ("SH1", day, "07:05", shift("S3", "E3", "08:00", "16:00")),
        ("SH1", day, "08:55", {"drawer": {"drawer_id": "D1", "cashier_id": "K1", "kind": "OPEN",
                                          "amount_cents": 20000}}),
        ("SH1", day, "08:58", clock("E1", "CLOCK_IN")),
        ("SH1", day, "09:10", sale("R1", "K1", "SALE", "A1", 2000, 1250)),
        ("SH1", day, "09:20", clock("E2", "CLOCK_IN")),
        ("SH1", day, "09:40", sale("R2", "K2", "SALE", "B2", 1500, 800, "CASH")),
        ("SH1", day, "10:05", sale("R3", "K1", "SALE", "A1", 3000, 1250)),
        ("SH1", day, "10:30", complaint("C1", "OPENED", severity="MAJOR", channel="COUNTER",
                                        category="service")),
        ("SH1", day, "11:00", complaint("C2", "OPENED", severity="MINOR", channel="PHONE",
                                        category="queue")),
        ("SH1", day, "11:20", sale("R4", "K2", "SALE", "C3", 250, 4000)),
        ("SH1", day, "12:00", complaint("C2", "RESPONDED")),
        ("SH1", day, "12:00", move("A1", "DAMAGE", 1000, 600)),
        ("SH1", day, "12:10", complaint("C3", "OPENED", severity="MINOR", channel="ONLINE",
                                        category="pricing")),
        ("SH1", day, "12:40", complaint("C3", "RESOLVED")),
        ("SH1", day, "13:30", sale("R5", "K1", "RETURN", "A1", 1000, 1250)),
        ("SH1", day, "13:45", sale("R6", "K2", "POST_VOID", "B2", 1500, 800, "CASH",
                                              "R2")),
        ("SH1", day, "13:55", {"drawer": {"drawer_id": "D1", "cashier_id": "K1", "kind": "CLOSE",
                                          "counted_cents": 19950}}),
        ("BJ1", mid, "11:00", sale("B0", "K7", "SALE", "A1", 3000, 1000)),
        ("BJ1", day, "09:00", clock("E7", "CLOCK_IN")),
        ("BJ1", day, "09:30", complaint("C9", "OPENED", severity="MINOR", channel="COUNTER",
                                        category="service")),
        ("BJ1", day, "10:00", sale("B1", "K7", "SALE", "A1", 1000, 1250)),
        ("BJ1", day, "10:00", complaint("C9", "RESPONDED")),
        ("BJ1", day, "11:00", move("A1", "DAMAGE", 1000, 700)),
        ("BJ1", day, "13:00", clock("E7", "CLOCK_OUT")),
    ]


class Pages(fwtest.DaemonTest):
    def setUp(self):
        super().setUp()
        import fwbrowser
        self.fb = fwbrowser
        self.shots = os.environ.get("FW_SCREENSHOTS", self.tmp)
        os.makedirs(self.shots, exist_ok=True)
        self.webs = []
        self.browsers = []

    def tearDown(self):
        for b in self.browsers:
            b.quit()
        for w in self.webs:
            if w.p.poll() is None:
                rc, err = w.stop()
                self.assertEqual(rc, 0, err)
        super().tearDown()

    def start(self):
        """The daemon with the known chain, and the console beside it."""
        d = self.daemon(CONFIG)
        path = os.path.join(self.tmp, "events.jsonl")
        with open(path, "w") as f:
            for store, day, hhmm, body in events():
                f.write(json.dumps(dict(store_id=store, terminal_id=store + "-T1",
                                        event_time_ms=at(day, hhmm), **body)) + "\n")
        p = d.cli("publish", "-e", d.ingest, "--spool", os.path.join(self.tmp, "spool"), "-f",
                  path)
        self.assertEqual(p.returncode, 0, p.stderr)
        w = Web(d)
        self.webs.append(w)
        return d, w

    def browser(self, width, height=900):
        b = self.fb.browser(width, height)
        self.browsers.append(b)
        return b

    def cli(self, d, kind, *args, fmt="--json"):
        p = d.cli("query", kind, *args, fmt, "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        if fmt == "--csv":
            return p.stdout
        return [json.loads(ln) for ln in p.stdout.splitlines()]

    def js(self, b, script, *args):
        return b.execute_script(script, *args)

    def blob_text(self, b, selector):
        """The text of the Blob behind a download link (ops.js keeps each in csvBlobs)."""
        return b.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const a = document.querySelector(arguments[0]);
            const blob = a && csvBlobs.get(a);
            if (!blob) { done(null); return; }
            blob.text().then(done);""", selector)

    def no_errors(self, b):
        self.assertEqual(self.fb.console_errors(b), [])

    def fits(self, b, width):
        self.assertLessEqual(self.js(b, "return document.documentElement.scrollWidth"), width)

    # ---- the store page ---------------------------------------------------------------------

    def wait_store(self, b, day):
        shown = "return typeof storePage === 'object' && storePage.shown === arguments[0]"
        self.fb.wait_for(b, lambda b: self.js(b, shown, day), WAIT, "the store page of " + day)

    def rows(self, b, selector, attr):
        """{row's attr: [cell texts]} of the rows matching selector."""
        return self.js(b, """
            const out = {};
            for (const r of document.querySelectorAll(arguments[0]))
              out[r.getAttribute(arguments[1])] = [...r.cells].map((c) => c.textContent.trim());
            return out;""", selector, attr)

    def test_store_page(self):
        d, w = self.start()
        b = self.browser(1280)
        b.get(w.url)
        self.fb.wait_for(b, lambda b: b.find_elements("css selector", '.tile h2 a'), WAIT, "tiles")
        # The board's tile leads to the store page (clicked in one go: the board refreshes).
        self.js(b, "document.querySelector('.tile[data-store=\"SH1\"] h2 a').click()")
        self.wait_store(b, D)
        self.assertEqual(b.find_element("id", "store-title").text, "Nanjing Road")

        # The chart: today's net per hour is the CLI's hourly sales, and so is last week's.
        data = self.js(b, "return storePage.chart.data")
        x, today, week, target = data
        self.assertEqual(x, list(range(25)))

        def hourly(day):
            out = [0] * 24
            for r in self.cli(d, "sales", "--store", "SH1", "-g", "hour", "--from", day):
                out[int(r["period"][11:13])] += r["net"]
            return out

        want = hourly(D)
        self.assertEqual([want[h] for h in (9, 10, 11, 13)], [3700, 3750, 1000, -2450])
        self.assertEqual([today[h + 1] - today[h] for h in range(HOUR_NOW)], want[:HOUR_NOW])
        # Nothing after the current hour (which may have just become 15:00).
        self.assertTrue(all(v is None for v in today[HOUR_NOW + 3:]), today)
        last = hourly(WEEK_AGO)
        self.assertEqual([week[h + 1] - week[h] for h in range(24)], last)
        # The target curve: the day's target (the CLI's) in the shape of last week's day.
        day_row = self.cli(d, "sales", "--store", "SH1", "--from", D)[0]
        cum, acc = [0], 0
        for v in last:
            acc += max(0, v)
            cum.append(acc)
        self.assertEqual(target, [round(day_row["target"] * c / acc) for c in cum])
        self.assertEqual(target[24], 1000000)
        # The legend's lines are buttons the keyboard reaches: Enter hides one, again shows it.
        labels = b.find_elements("css selector", '#store-chart .u-legend [role="button"]')
        self.assertEqual([e.text for e in labels],
                         ["Net", "Same weekday last week", "Target curve"])
        self.assertEqual(labels[0].get_attribute("tabindex"), "0")
        for shown in ("false", "true"):
            labels[0].send_keys("\n")
            self.assertEqual(self.js(b, "return storePage.chart.series[1].show"),
                             shown == "true")
            self.assertEqual(labels[0].get_attribute("aria-pressed"), shown)
        # The hourly table says the same in people's units.
        hours = self.rows(b, "#store-hours tr[data-hour]", "data-hour")
        self.assertEqual(hours["9"][1], money(want[9]))
        self.assertEqual(hours["13"][1], money(want[13]))

        figures = b.find_element("id", "store-figures").get_attribute("textContent")
        self.assertIn(money(day_row["net"]), figures)
        self.assertIn("0.6% of the target 10,000.00 CNY", figures)
        self.assertIn("6.75", figures)  # items sold: 2 + 1.5 + 3 + 0.25 units
        # Bestsellers and slow movers: the CLI's SKUs in its order, its figures in units.
        for kind, box in (("top-skus", "store-top"), ("bottom-skus", "store-bottom")):
            cli = self.cli(d, kind, "--store", "SH1", "--from", D, "-n", "5")
            page = self.js(b, """return [...document.querySelectorAll(
                '#' + arguments[0] + ' tr[data-sku]')].map((r) => r.dataset.sku)""", box)
            self.assertEqual(page, [r["sku"] for r in cli], kind)
        top = self.rows(b, "#store-top tr[data-sku]", "data-sku")
        self.assertEqual(top["A1"], ["1", "A1", "fresh", "4", money(5000)])
        self.assertEqual(top["C3"][3], "0.25")
        # Cashiers: transactions, returns, post-voids and over/short as the CLI counts them.
        cashiers = self.rows(b, "#store-cashiers tr[data-cashier]", "data-cashier")
        cli = [r for r in self.cli(d, "cashiers", "--store", "SH1", "--from", D)
               if r["table"] == "cashiers"]
        self.assertEqual(sorted(cashiers), sorted(r["cashier"] for r in cli))
        for r in cli:
            cells = cashiers[r["cashier"]]
            self.assertEqual(cells[1], str(r["transactions"]))
            self.assertEqual(cells[2], money(r["net"]))
            self.assertEqual((cells[4], cells[5]), (str(r["returns"]), str(r["voids"])))
            self.assertEqual(cells[6], money(r["over_short"]))
        self.assertEqual(cashiers["K1"][4:], ["1", "0", "-0.50 CNY"])
        self.assertEqual(cashiers["K2"][4:6], ["0", "1"])
        # Open complaints: the CLI's open table, opened in store time.
        open_rows = self.rows(b, "#store-complaints tr[data-complaint]", "data-complaint")
        cli = self.cli(d, "complaints", "--store", "SH1", "--from", D)
        self.assertEqual(sorted(open_rows), sorted(r["complaint_id"] for r in cli
                                                   if r["table"] == "open"))
        self.assertEqual(sorted(open_rows), ["C1", "C2"])
        self.assertRegex(open_rows["C1"][1], r"^%s 10:30 [+-]\d\d:\d\d$" % D)
        self.assertEqual((open_rows["C1"][6], open_rows["C2"][6]), ("no", "yes"))
        summary = b.find_element("id", "store-complaints-sum").text
        c = [r for r in cli if r["table"] == "complaints"][0]
        self.assertIn("Opened %d, responded %d, resolved %d" % (c["opened"], c["responded"],
                                                                 c["resolved"]), summary)
        # Attendance: scheduled against worked, late and no-show as the CLI has them.
        att = self.cli(d, "attendance", "--store", "SH1", "--from", D)
        a = [r for r in att if r["table"] == "attendance"][0]
        text = b.find_element("id", "store-attendance-sum").text
        self.assertIn("late %d" % a["late"], text)
        self.assertIn("no-show %d" % a["no_show"], text)
        self.assertEqual((a["late"], a["no_show"]), (1, 1))
        emps = self.rows(b, "#store-employees tr[data-employee]", "data-employee")
        self.assertEqual(sorted(emps), sorted(r["employee"] for r in att
                                              if r["table"] == "employees"))
        self.assertEqual(emps["E1"][1], "8 h 00 min")
        # Stock: the SKUs the CLI calls out or low, and nothing else.
        stock = self.cli(d, "stock", "--store", "SH1", "--from", D)
        bad = self.rows(b, "#store-stock tr[data-sku]", "data-sku")
        self.assertEqual(sorted(bad), sorted(r["sku"] for r in stock
                                             if r["table"] == "on_hand" and r["status"] != "ok"))
        self.assertEqual(bad["C3"][-1], "out")
        self.assertIn("Shrink (damage and shrink moves) 6.00 CNY",
                      b.find_element("id", "store-stock-sum").text)

        # Spot check, from the keyboard: the people on duty by name, as the CLI has them.
        on_shift = sorted(r["employee"] for r in att if r["table"] == "on_shift")
        self.assertEqual(on_shift, ["E1", "E2"])
        button = b.find_element("id", "store-spot-go")
        self.js(b, "arguments[0].focus()", button)
        button.send_keys("\n")
        self.fb.wait_for(b, lambda b: len(b.find_elements("css selector", "#store-spot li")) == 2,
                         WAIT, "the spot check")
        names = sorted(li.get_attribute("data-employee")
                       for li in b.find_elements("css selector", "#store-spot li"))
        self.assertEqual(names, on_shift)
        self.assertIn("E1", b.find_element("id", "store-spot").text)
        self.fb.screenshot(b, os.path.join(self.shots, "console-store-1280.png"))
        # Nothing from elsewhere: everything the page loaded is the console's own.
        origin = w.url.rstrip("/")
        names = self.js(b, "return performance.getEntriesByType('resource').map((e) => e.name)")
        self.assertIn(origin + "/uplot.js", names)
        self.assertEqual([n for n in names if not n.startswith(origin + "/")], [])

        # Another day through the date picker: last week's figures, a whole day of them.
        self.js(b, """const i = document.getElementById('store-day'); i.value = arguments[0];
                      i.dispatchEvent(new Event('change'));""", WEEK_AGO)
        self.wait_store(b, WEEK_AGO)
        self.assertEqual(self.js(b, "return storePage.chart.data[1][24]"), sum(last))
        self.assertIn("#/store/SH1?day=" + WEEK_AGO, b.current_url)
        self.no_errors(b)

        # A phone: one column, nothing wider than the screen.
        p = self.browser(390, 844)
        p.get(w.url + "#/store/SH1")
        self.wait_store(p, D)
        self.fits(p, 390)
        self.fb.screenshot(p, os.path.join(self.shots, "console-store-390.png"))
        self.no_errors(p)

    # ---- the ops page -----------------------------------------------------------------------

    def wait_ops(self, b):
        self.fb.wait_for(b, lambda b: self.js(b, """const s = document.getElementById('ops');
            return s && !s.hidden && s.querySelectorAll('#ops-table tbody tr').length === 2"""),
            WAIT, "the comparison")

    def order(self, b):
        return self.js(b, """return [...document.querySelectorAll('#ops-table tbody tr')]
                             .map((r) => r.dataset.store)""")

    def test_ops_page_and_reports(self):
        d, w = self.start()
        b = self.browser(1280)
        b.get(w.url + "#/ops?from=%s&to=%s" % (WEEK_AGO, D))
        self.wait_ops(b)
        self.assertEqual(b.find_element("id", "ops-range").get_attribute("value"), "custom")
        # Each store's CSV is the CLI's, byte for byte.
        for store in ("SH1", "BJ1"):
            want = self.cli(d, "sales", "--store", store, "--from", WEEK_AGO, "--to", D,
                            fmt="--csv")
            got = self.blob_text(b, 'a.csv[data-store="%s"]' % store)
            self.assertEqual(got, want, store)
            self.assertEqual(len(want.splitlines()), 3)  # two days with sales each
        # The figures are the CLI's, summed over the range.
        vals = self.js(b, """const o = {};
            for (const td of document.querySelectorAll('#ops-table td[data-key]'))
              o[td.closest('tr').dataset.store + '.' + td.dataset.key] =
                [td.dataset.value, td.innerText];
            return o;""")
        for store in ("SH1", "BJ1"):
            rows = self.cli(d, "sales", "--store", store, "--from", WEEK_AGO, "--to", D)
            net = sum(r["net"] for r in rows)
            self.assertEqual(vals[store + ".net"], [str(net), money(net)])
            stock = [r for r in self.cli(d, "stock", "--store", store, "--from", WEEK_AGO,
                                         "--to", D) if r["table"] == "summary"][0]
            self.assertAlmostEqual(float(vals[store + ".shrink_rate"][0]), stock["shrink_rate"])
        self.assertEqual(vals["SH1.net"][0], "16000")  # 10,000 last week + 6,000 today
        self.assertEqual(vals["SH1.attainment"][1], "1.1%")  # 16,000 / 1,500,000
        att = [r for r in self.cli(d, "attendance", "--store", "BJ1", "--from", WEEK_AGO,
                                   "--to", D) if r["table"] == "attendance"][0]
        self.assertEqual(att["sales_per_labour_hour"], 4250 / 4)  # 42.50 CNY over 4 hours
        self.assertEqual(float(vals["BJ1.splh"][0]), att["sales_per_labour_hour"])
        self.assertRegex(vals["BJ1.splh"][1], r"^10\.6[23] CNY$")
        self.assertEqual(vals["SH1.splh"], ["", "–"])  # nobody has clocked out yet
        for store in ("SH1", "BJ1"):
            c = [r for r in self.cli(d, "complaints", "--store", store, "--from", WEEK_AGO,
                                     "--to", D) if r["table"] == "complaints"][0]
            self.assertEqual(float(vals[store + ".sla_share"][0]), c["within_sla_share"])
            self.assertEqual(vals[store + ".sla_share"][1], "100%")
        # Sorting: by name first; a click on a column sorts by it, figures biggest first and
        # "none" last; Enter on the same title (keyboard) reverses.
        self.assertEqual(self.order(b), ["SH1", "BJ1"])  # Nanjing Road, Wangfujing
        b.find_element("css selector", '#ops-table th button[data-key="splh"]').click()
        self.assertEqual(self.order(b), ["BJ1", "SH1"])
        b.find_element("css selector", '#ops-table th button[data-key="net"]').click()
        self.assertEqual(self.order(b), ["SH1", "BJ1"])
        th = b.find_element("css selector", '#ops-table th[aria-sort="descending"]')
        self.assertIn("Net sales", th.text)
        focused = b.switch_to.active_element
        self.assertEqual(focused.get_attribute("data-key"), "net")
        focused.send_keys("\n")
        self.assertEqual(self.order(b), ["BJ1", "SH1"])
        self.assertEqual(b.find_element("css selector", '#ops-table th[aria-sort="ascending"]')
                         .get_attribute("textContent").strip()[:9], "Net sales")
        self.fb.screenshot(b, os.path.join(self.shots, "console-ops-1280.png"))
        self.no_errors(b)

        # The default range is this week, and its CSV is the CLI's for --from this-week.
        b.get(w.url + "#/ops")
        self.fb.wait_for(b, lambda b: self.js(b, """return opsPage.range.from === 'this-week'
            && document.querySelectorAll('#ops-table a.csv').length === 2"""), WAIT, "this week")
        self.assertEqual(self.blob_text(b, 'a.csv[data-store="SH1"]'),
                         self.cli(d, "sales", "--store", "SH1", "--from", "this-week",
                                  fmt="--csv"))

        # Week and month reports, for a store and a region, with the CLI's CSV.
        for link, args in (('#ops-table tr[data-store="SH1"] a[href*="g=week"]',
                            ["--store", "SH1", "-g", "week"]),
                           ('#ops-regions a[href="#/report?region=east&g=month"]',
                            ["--region", "east", "-g", "month"])):
            b.find_element("css selector", link).click()
            line = " ".join(args)
            self.fb.wait_for(b, lambda b: self.js(b, """const c =
                document.querySelector('#report-csv code'); return c && !c.closest('[hidden]')
                && c.textContent.includes(arguments[0])""", line), WAIT, "the report " + line)
            f = b.find_element("id", "report-from").get_attribute("value")
            t = b.find_element("id", "report-to").get_attribute("value")
            self.assertEqual(t, D)
            want = self.cli(d, "sales", *args, "--from", f, "--to", t, fmt="--csv")
            self.assertEqual(self.blob_text(b, "#report-csv-link"), want, args)
            rows = self.cli(d, "sales", *args, "--from", f, "--to", t)
            periods = self.js(b, """return [...document.querySelectorAll(
                '#report-table tr[data-period]')].map((r) => r.dataset.period)""")
            self.assertEqual(periods, [r["period"] for r in rows])
            b.back()
            self.wait_ops(b)
        self.no_errors(b)

        p = self.browser(390, 844)
        p.get(w.url + "#/ops?from=%s&to=%s" % (WEEK_AGO, D))
        self.wait_ops(p)
        self.fits(p, 390)
        self.fb.screenshot(p, os.path.join(self.shots, "console-ops-390.png"))
        self.no_errors(p)

    def test_csv_numbers_as_the_cli_prints_them(self):
        """ops.js writes doubles as clients/cli/query.c does: %.15g, or %.17g where %.15g does
        not read back as the same number (Python's % is correctly rounded, as glibc's)."""
        _, w = self.start()
        b = self.browser(800)
        b.get(w.url + "#/ops")
        self.fb.wait_for(b, lambda b: self.js(b, "return typeof csvCell === 'function'"), WAIT,
                         "ops.js")
        rnd = random.Random(15)
        xs = [0.0, 1.0, 0.1, 1 / 3, 2 / 3, 1e-5, 1.5e-7, 123456789012345.0, 1e15, 1e16, 1e21,
              0.0001, 0.00012345678901234567, 999999999999999.9, 9.9999999999999999e-5,
              1646.1725955204215, 4.3553491436100131, 147.0, -2.5, 1e300, 5e-324]
        xs += [rnd.uniform(0, 10) ** rnd.randint(-30, 30) for _ in range(3000)]
        lexemes = [json.dumps(x) for x in xs]
        got = self.js(b, "return arguments[0].map(csvCell)", lexemes)
        for x, g in zip(xs, got):
            s = "%.15g" % x
            want = s if float(s) == x else "%.17g" % x
            self.assertEqual(g, want, repr(x))
        # Integers stay as sent (int64, beyond what a double holds); text is quoted as needed.
        self.assertEqual(self.js(b, "return csvCell('9007199254740993')"), "9007199254740993")
        self.assertEqual(self.js(b, """return [csvCell('"a,b"'), csvCell('"say \\\\"hi\\\\""'),
                                              csvCell('null')]"""), ['"a,b"', '"say ""hi"""', ""])


if __name__ == "__main__":
    fwtest.main()
