"""Rollups acceptance: a known event set goes to the real daemon, and every figure of every query
kind is compared with values computed here, independently, by applying docs/ROLLUPS.md to the
events sent (never by calling the daemon's code).

The event set covers: a store in Asia/Shanghai (sales just after local midnight, which are the
previous UTC day), two stores in America/New_York across the 2026-03-08 spring-forward (sales at
01:30 EST and 03:30 EDT; local hour 2 does not exist), a late sale sent last with an event time two
days before the others, returns and post-voids (with and without lines), a drawer
OPEN/PAID_IN/PAID_OUT/PICKUP/CLOSE sequence with cash sales and a cash return, targets (the last
one received counts; 0 means none), complaints (one answered after 50 h, one reopened, two left
open), every stock move kind including two COUNTs with variance, recent sales for days of cover,
and a rota with an employee 12 minutes late, one who never clocks in, one leaving early, a
rescheduled shift, a cancelled shift and breaks.

Then: a daemon SIGKILLed between checkpoints answers exactly as one that was not, and
`floorwalkerd --rebuild` reproduces every answer. Errors and empty ranges through the real CLI.

Layout: the event set as data (EVENTS), the model as small functions mirroring the sections of
ROLLUPS.md (Time, Sales, Products, Cashiers/Cash, Complaints, Stock, Attendance), expected tables
per query kind (expect_*), the queries per family (QUERIES), then the tests.
"""
import collections
import datetime
import json
import math
import subprocess
from zoneinfo import ZoneInfo

import fwtest
from fwtest import table

# =============================================================================================
# Master data
# =============================================================================================

Store = collections.namedtuple("Store", "region tz terminal epoch")
STORES = {
    "SH1": Store("east", "Asia/Shanghai", "SH1-T1", 7001),
    "NY1": Store("west", "America/New_York", "NY1-T1", 7002),
    "NY2": Store("west", "America/New_York", "NY2-T1", 7003),
}

CONFIG = "".join("[store:%s]\nregion = %s\ntimezone = %s\n" % (s, v.region, v.tz)
                 for s, v in sorted(STORES.items()))
CONFIG += "".join("[terminal:%s]\nstore = %s\n" % (v.terminal, s)
                  for s, v in sorted(STORES.items()))
# The event set is dated around 2026-03-08 (the US spring-forward); a longer retention keeps it
# accepted when the suite runs more than 400 days later (the harness has its own [ingest]).
CONFIG += "[ingest]\nretention_days = 3650\n"

CATEGORY = {
    "TEA-GREEN": "tea", "TEA-OOLONG": "tea", "NUTS": "snacks", "RICE": "grocery",
    "UMBRELLA": "household", "MILK": "dairy", "BREAD": "bakery", "APPLES": "produce",
    "COFFEE": "grocery", "EGGS": "dairy", "CHIPS-A": "snacks", "CHIPS-B": "snacks",
    "BUNS": "bakery",
}
# A basket of 20 lines (more than the daemon looks up together: its other lines are looked up
# one by one), two of them the same SKU, sold in NY2 a month before the rest.
BASKET = ["PANTRY-%02d" % i for i in range(18)] + ["PANTRY-00", "PANTRY-07"]
CATEGORY.update({sku: ("pantry" if i % 3 else "grocery") for i, sku in enumerate(BASKET[:18])})
BASKET_LINES = [(sku, 1000 + 250 * i, 100 + 7 * i, i % 4, "") for i, sku in enumerate(BASKET)]

DAY_MS = 86400000
NOW_MS = fwtest.now_ms() // 60000 * 60000  # recent events are timed relative to this


def zone(store):
    return ZoneInfo(STORES[store].tz)


# =============================================================================================
# Arithmetic
# =============================================================================================

def rhu(num, den=1000):
    """round_half_up(num / den). The event set never puts a negative value exactly on a half
    (half up vs half away from zero would differ there), and this refuses one."""
    q, r = divmod(abs(num), den)
    if num < 0 and 2 * r == den:
        raise ValueError("negative half %d/%d: pick other test data" % (num, den))
    v = q + (1 if 2 * r >= den else 0)
    return v if num >= 0 else -v


def line_gross(line):
    return rhu(line["qty_milli"] * line["unit_price_cents"])


def line_net(line):
    return line_gross(line) - line.get("discount_cents", 0)


# =============================================================================================
# Event bodies (proto field names, enum names as strings)
# =============================================================================================

def sale(receipt, cashier, kind, lines, tenders, original="", total=None):
    """lines: (sku, qty_milli, unit_price_cents, discount_cents, promo); tenders: (method, cents).
    total_cents defaults to the exact sum of the line values."""
    ls = []
    for sku, qty, price, disc, promo in lines:
        ln = {"sku": sku, "category": CATEGORY[sku], "qty_milli": qty, "unit_price_cents": price,
              "discount_cents": disc}
        if promo:
            ln["promo"] = promo
        ls.append(ln)
    if total is None:
        total = sum(line_net(ln) for ln in ls)
    assert sum(a for _, a in tenders) == total, receipt
    b = {"receipt_id": receipt, "cashier_id": cashier, "kind": kind, "lines": ls,
         "total_cents": total, "tenders": [{"method": m, "amount_cents": a} for m, a in tenders]}
    if original:
        b["original_receipt_id"] = original
    return ("sale", b)


def stock(sku, kind, qty, cost, counterparty=""):
    b = {"sku": sku, "category": CATEGORY[sku], "kind": kind, "qty_milli": qty,
         "unit_cost_cents": cost}
    if counterparty:
        b["counterparty_store"] = counterparty
    return ("stock_move", b)


def complaint(cid, action, category="", severity="", channel=""):
    b = {"complaint_id": cid, "action": action}
    if action == "OPENED":
        b.update(category=category, severity=severity, channel=channel)
    return ("complaint", b)


def target(day, cents):
    return ("sales_target", {"business_day": day, "target_cents": cents})


def drawer(did, cashier, kind, amount=0, counted=0):
    b = {"drawer_id": did, "cashier_id": cashier, "kind": kind, "amount_cents": amount}
    if kind == "CLOSE":
        b["counted_cents"] = counted
    return ("drawer", b)


def att(emp, kind):
    return ("attendance", {"employee_id": emp, "kind": kind, "role": "staff"})


def shift(sid, emp, start, end, cancelled=False, store="NY1"):
    return ("shift", {"shift_id": sid, "employee_id": emp, "role": "staff",
                      "start_ms": local_ms(store, start), "end_ms": local_ms(store, end),
                      "cancelled": cancelled})


def local_ms(store, s):
    """'YYYY-MM-DD HH:MM' wall-clock time in the store's zone -> Unix ms (refuses a time that
    does not exist, such as 02:30 on a spring-forward day)."""
    naive = datetime.datetime.strptime(s, "%Y-%m-%d %H:%M")
    ms = int(naive.replace(tzinfo=zone(store)).timestamp() * 1000)
    back = datetime.datetime.fromtimestamp(ms / 1000, zone(store)).replace(tzinfo=None)
    assert back == naive, "%s %s does not exist in %s" % (store, s, STORES[store].tz)
    return ms


def ago(days, minutes=0):
    return NOW_MS - days * DAY_MS - minutes * 60000


# =============================================================================================
# The event set, in log (send) order. Times are store-local wall clock, or Unix ms (recent).
# =============================================================================================

EVENT_SPECS = [
    ("NY2", "2026-02-20 12:00", sale("R-N2-B", "K7", "SALE", BASKET_LINES,
                                     [("CARD", sum(line_net(dict(qty_milli=q, unit_price_cents=p,
                                                                 discount_cents=d))
                                                   for _, q, p, d, _ in BASKET_LINES))])),
    # --- rota for NY1, published days ahead ---
    ("NY1", "2026-03-05 08:00", shift("SHF-1", "E1", "2026-03-09 09:00", "2026-03-09 17:00")),
    ("NY1", "2026-03-05 08:01", shift("SHF-2", "E2", "2026-03-09 09:00", "2026-03-09 13:00")),
    ("NY1", "2026-03-05 08:02", shift("SHF-3", "E3", "2026-03-09 10:00", "2026-03-09 18:00")),
    ("NY1", "2026-03-05 08:03", shift("SHF-4", "E4", "2026-03-09 12:00", "2026-03-09 20:00")),
    ("NY1", "2026-03-05 08:04", shift("SHF-5", "E5", "2026-03-10 07:00", "2026-03-10 11:00")),
    # --- receipts and targets ---
    ("SH1", "2026-03-06 09:00", stock("TEA-GREEN", "RECEIVE", 20000, 700)),
    ("SH1", "2026-03-06 09:01", stock("TEA-OOLONG", "RECEIVE", 10000, 1000)),
    ("SH1", "2026-03-06 09:02", stock("NUTS", "RECEIVE", 10000, 300)),
    ("SH1", "2026-03-06 09:03", stock("UMBRELLA", "RECEIVE", 5000, 1500)),
    ("SH1", "2026-03-06 09:04", stock("RICE", "RECEIVE", 30000, 123)),
    ("SH1", "2026-03-06 12:00", target("2026-03-08", 10000)),
    ("NY1", "2026-03-06 08:00", stock("MILK", "RECEIVE", 50000, 200)),
    ("NY1", "2026-03-06 08:01", stock("BREAD", "RECEIVE", 20000, 150)),
    ("NY1", "2026-03-06 08:02", stock("APPLES", "RECEIVE", 40000, 250)),
    ("NY1", "2026-03-06 08:03", stock("COFFEE", "RECEIVE", 10000, 600)),
    ("NY1", "2026-03-06 09:00", target("2026-03-07", 50000)),
    ("NY1", "2026-03-06 09:01", target("2026-03-08", 100000)),
    ("NY1", "2026-03-06 09:02", target("2026-03-09", 0)),  # 0: no attainment
    ("NY1", "2026-03-06 10:00", shift("SHF-3", "E3", "2026-03-09 10:00", "2026-03-09 16:00")),
    ("NY1", "2026-03-06 10:01", shift("SHF-4", "E4", "2026-03-09 12:00", "2026-03-09 20:00",
                                      cancelled=True)),
    ("NY2", "2026-03-06 08:00", stock("MILK", "RECEIVE", 20000, 200)),
    ("NY2", "2026-03-06 08:01", stock("EGGS", "RECEIVE", 20000, 250)),
    ("NY2", "2026-03-06 08:02", stock("CHIPS-A", "RECEIVE", 10000, 100)),
    ("NY2", "2026-03-06 08:03", stock("CHIPS-B", "RECEIVE", 10000, 100)),
    ("NY2", "2026-03-06 09:00", target("2026-03-08", 5000)),
    # --- 2026-03-07 ---
    ("NY1", "2026-03-07 09:00", drawer("D2", "K2", "OPEN", 15000)),
    ("NY1", "2026-03-07 10:00", sale("R-NY-1", "K2", "SALE",
                                     [("MILK", 2000, 349, 0, ""), ("BREAD", 1000, 299, 0, "")],
                                     [("CASH", 997)])),
    ("NY2", "2026-03-07 10:00", complaint("C1", "OPENED", "service", "MINOR", "COUNTER")),
    ("SH1", "2026-03-07 10:15", sale("R-SH-1", "S-K1", "SALE",
                                     [("TEA-GREEN", 2000, 1250, 0, ""), ("NUTS", 500, 599, 0, "")],
                                     [("CARD", 2800)])),  # NUTS 299.5 -> 300
    ("NY2", "2026-03-07 11:00", complaint("C2", "OPENED", "product", "MAJOR", "PHONE")),
    ("NY1", "2026-03-07 12:00", target("2026-03-08", 80000)),  # the last one received counts
    ("NY2", "2026-03-07 12:30", complaint("C1", "RESPONDED")),
    ("NY2", "2026-03-07 15:00", complaint("C2", "ESCALATED")),
    ("NY2", "2026-03-07 18:00", sale("R-N2-1", "K7", "SALE", [("EGGS", 3000, 429, 0, "")],
                                     [("CARD", 1287)])),
    ("NY1", "2026-03-07 20:00", drawer("D2", "K2", "CLOSE", counted=16197)),  # +2.00 over
    ("NY2", "2026-03-07 20:00", complaint("C5", "OPENED", "service", "MINOR", "COUNTER")),
    ("SH1", "2026-03-07 23:50", sale("R-SH-2", "S-K1", "SALE",
                                     [("TEA-OOLONG", 1000, 1800, 100, "SPRING")],
                                     [("MOBILE", 1700)])),
    ("SH1", "2026-03-08 00:10", sale("R-SH-3", "S-K2", "SALE",  # 2026-03-07 16:10 UTC
                                     [("NUTS", 1250, 599, 0, ""), ("TEA-GREEN", 1000, 1250, 0, "")],
                                     [("CASH", 1000), ("CARD", 999)])),  # NUTS 748.75 -> 749
    ("SH1", "2026-03-08 00:40", sale("R-SH-4", "S-K2", "RETURN",
                                     [("TEA-GREEN", 1000, 1250, 0, "")], [("CARD", 1250)],
                                     original="R-SH-1")),
    ("NY1", "2026-03-07 23:30", sale("R-NY-2", "K2", "SALE",  # 2026-03-08 04:30 UTC
                                     [("COFFEE", 1000, 1099, 100, "BOGO")], [("CARD", 999)])),
    # --- 2026-03-08, New York springs forward at 02:00 EST -> 03:00 EDT ---
    ("NY1", "2026-03-08 01:30", sale("R-NY-3", "K3", "SALE", [("APPLES", 1500, 450, 0, "")],
                                     [("MOBILE", 675)])),
    ("NY2", "2026-03-08 01:59", sale("R-N2-2", "K7", "SALE", [("CHIPS-A", 2000, 200, 0, "")],
                                     [("CASH", 400)])),
    ("NY2", "2026-03-08 03:00", sale("R-N2-3", "K7", "SALE", [("CHIPS-B", 2000, 200, 0, "")],
                                     [("CASH", 400)])),
    ("NY1", "2026-03-08 03:30", sale("R-NY-4", "K3", "SALE", [("MILK", 1000, 349, 0, "")],
                                     [("CARD", 349)])),
    ("NY1", "2026-03-08 03:45", sale("R-NY-5", "K3", "RETURN", [("APPLES", 1500, 450, 0, "")],
                                     [("MOBILE", 675)], original="R-NY-3")),
    ("NY1", "2026-03-08 08:55", drawer("D1", "K1", "OPEN", 20000)),
    ("NY2", "2026-03-08 09:00", complaint("C3", "OPENED", "service", "CRITICAL", "REGULATOR")),
    ("NY2", "2026-03-08 09:01", complaint("C1", "RESOLVED")),
    ("SH1", "2026-03-08 09:30", sale("R-SH-5", "S-K1", "SALE",
                                     [("RICE", 5000, 250, 0, ""),
                                      ("TEA-GREEN", 3000, 1250, 375, "")],
                                     [("CASH", 4625)])),
    ("NY1", "2026-03-08 09:30", sale("R-NY-6", "K1", "SALE",
                                     [("MILK", 3000, 349, 0, ""), ("BREAD", 2000, 299, 0, ""),
                                      ("COFFEE", 2000, 1099, 200, "BOGO")], [("CASH", 3643)])),
    ("SH1", "2026-03-08 10:00", sale("R-SH-6", "S-K2", "SALE", [("NUTS", 2000, 599, 0, "")],
                                     [("CASH", 1198)])),
    ("NY2", "2026-03-08 10:00", complaint("C4", "OPENED", "billing", "MINOR", "ONLINE")),
    ("SH1", "2026-03-08 10:05", sale("R-SH-7", "S-K2", "POST_VOID", [("NUTS", 2000, 599, 0, "")],
                                     [("CASH", 1198)], original="R-SH-6")),
    ("NY1", "2026-03-08 10:15", sale("R-NY-7", "K1", "SALE", [("APPLES", 2345, 450, 0, "")],
                                     [("CASH", 1055)])),  # 1055.25 -> 1055
    ("NY1", "2026-03-08 10:20", sale("R-NY-8", "K1", "POST_VOID", [], [("CASH", 1055)],
                                     original="R-NY-7", total=1055)),  # no lines: money only
    ("NY1", "2026-03-08 10:30", sale("R-NY-9", "K1", "RETURN", [("BREAD", 1000, 299, 0, "")],
                                     [("CASH", 299)], original="R-NY-6")),
    ("NY2", "2026-03-08 10:45", complaint("C4", "RESPONDED")),
    ("NY1", "2026-03-08 12:00", drawer("D1", "K1", "PAID_IN", 1000)),
    ("NY1", "2026-03-08 13:00", drawer("D1", "K1", "PAID_OUT", 500)),
    ("NY1", "2026-03-08 14:00", sale("R-NY-10", "K1", "SALE",
                                     [("BREAD", 1000, 299, 0, ""), ("MILK", 500, 349, 0, "")],
                                     [("CASH", 200), ("CARD", 274)])),  # MILK 174.5 -> 175
    ("NY1", "2026-03-08 15:00", drawer("D1", "K1", "PICKUP", 10000)),
    ("NY2", "2026-03-08 16:00", sale("R-N2-4", "K8", "SALE", [("MILK", 1000, 349, 0, "")],
                                     [("OTHER", 349)])),
    ("NY1", "2026-03-08 18:00", drawer("D1", "K1", "CLOSE", counted=13894)),  # -1.50 short
    ("SH1", "2026-03-08 18:00", stock("RICE", "DAMAGE", 2000, 123)),
    ("SH1", "2026-03-08 18:05", stock("NUTS", "SHRINK", 500, 300)),
    ("NY2", "2026-03-08 20:00", complaint("C5", "RESOLVED")),  # first response by RESOLVED, 23 h
    ("SH1", "2026-03-08 23:30", complaint("C6", "OPENED", "product", "MAJOR", "COUNTER")),
    # --- 2026-03-09 ---
    ("SH1", "2026-03-09 00:30", complaint("C6", "RESPONDED")),
    ("NY1", "2026-03-09 00:15", sale("R-NY-11", "K3", "SALE", [("COFFEE", 1000, 1099, 0, "")],
                                     [("VOUCHER", 1099)])),
    ("SH1", "2026-03-09 02:00", complaint("C6", "RESOLVED")),
    ("NY1", "2026-03-09 06:00", stock("UMBRELLA", "TRANSFER_IN", 1000, 1500, counterparty="SH1")),
    ("SH1", "2026-03-09 08:00", stock("UMBRELLA", "TRANSFER_OUT", 1000, 1500, counterparty="NY1")),
    ("SH1", "2026-03-09 08:10", stock("RICE", "ADJUST", -1000, 123)),
    ("NY2", "2026-03-09 08:00", complaint("C7", "OPENED", "service", "MINOR", "ONLINE")),
    ("NY2", "2026-03-09 08:01", complaint("C8", "OPENED", "product", "MINOR", "COUNTER")),
    ("NY2", "2026-03-09 08:02", complaint("C9", "OPENED", "service", "MAJOR", "PHONE")),
    ("NY2", "2026-03-09 08:03", complaint("C10", "OPENED", "billing", "MINOR", "ONLINE")),
    ("NY2", "2026-03-09 08:04", complaint("C11", "OPENED", "service", "MINOR", "COUNTER")),
    ("NY2", "2026-03-09 08:05", complaint("C12", "OPENED", "product", "MINOR", "ONLINE")),
    ("NY2", "2026-03-09 08:10", complaint("C7", "RESPONDED")),   # 10 min
    ("NY2", "2026-03-09 08:21", complaint("C8", "RESOLVED")),    # 20 min
    ("NY2", "2026-03-09 08:32", complaint("C9", "RESPONDED")),   # 30 min
    ("NY2", "2026-03-09 08:43", complaint("C10", "RESOLVED")),   # 40 min
    ("NY2", "2026-03-09 08:54", complaint("C11", "RESPONDED")),  # 50 min
    ("NY2", "2026-03-09 09:00", complaint("C5", "REOPENED")),
    ("SH1", "2026-03-09 09:00", stock("TEA-OOLONG", "RETURN_TO_VENDOR", 1000, 1000)),
    ("NY1", "2026-03-09 09:12", att("E1", "CLOCK_IN")),  # 12 min late
    ("NY2", "2026-03-09 09:05", complaint("C12", "RESOLVED")),   # 60 min
    ("NY1", "2026-03-09 10:05", att("E3", "CLOCK_IN")),  # exactly 5 min: not late
    ("NY2", "2026-03-09 11:00", complaint("C5", "RESOLVED")),
    ("NY1", "2026-03-09 12:00", att("E1", "BREAK_START")),
    ("NY2", "2026-03-09 12:00", complaint("C7", "RESOLVED")),
    ("NY2", "2026-03-09 12:01", complaint("C9", "RESOLVED")),
    ("NY2", "2026-03-09 12:02", complaint("C11", "RESOLVED")),
    ("NY1", "2026-03-09 12:01", sale("R-NY-12", "K1", "SALE", [("MILK", 4000, 349, 0, "")],
                                     [("CARD", 1396)])),
    ("NY1", "2026-03-09 12:30", att("E1", "BREAK_END")),
    ("NY1", "2026-03-09 13:00", att("E3", "BREAK_START")),
    ("NY1", "2026-03-09 13:15", att("E3", "BREAK_END")),
    ("NY1", "2026-03-09 14:00", att("E6", "CLOCK_IN")),  # no shift
    ("NY2", "2026-03-09 14:00", complaint("C2", "RESPONDED")),  # 50 h after OPENED: outside SLA
    ("NY1", "2026-03-09 15:30", att("E3", "CLOCK_OUT")),  # 30 min before the end: early leave
    ("NY1", "2026-03-09 16:00", att("E6", "CLOCK_OUT")),
    ("NY2", "2026-03-09 16:00", complaint("C2", "RESOLVED")),
    ("NY1", "2026-03-09 17:00", att("E1", "CLOCK_OUT")),
    ("SH1", "2026-03-09 20:00", sale("R-SH-8", "S-K1", "SALE",
                                     [("TEA-OOLONG", 2000, 1800, 0, "SPRING")],
                                     [("VOUCHER", 600), ("CARD", 3000)])),
    ("SH1", "2026-03-09 21:00", stock("TEA-GREEN", "COUNT", 14500, 700)),  # book 15000: -500
    ("SH1", "2026-03-09 21:05", stock("RICE", "COUNT", 22250, 123)),  # book 22000: +250
    ("SH1", "2026-03-09 23:59", sale("R-SH-9", "S-K1", "SALE", [("TEA-GREEN", 1000, 1250, 0, "")],
                                     [("OTHER", 1250)])),
    # --- 2026-03-10 ---
    ("NY1", "2026-03-10 06:55", att("E5", "CLOCK_IN")),  # early: not late
    ("NY1", "2026-03-10 10:50", att("E5", "CLOCK_OUT")),  # exactly 10 min early: not early leave
    # --- live state left at the end: a drawer still open, an employee still clocked in ---
    ("NY2", "2026-03-10 09:00", drawer("D9", "K8", "OPEN", 5000)),
    ("NY2", "2026-03-10 09:30", drawer("D9", "K8", "PAID_IN", 700)),
    ("NY2", "2026-03-10 09:45", att("E9", "CLOCK_IN")),  # no shift, never clocks out
    # --- recent: days of cover (28 days ending today) ---
    ("NY2", ago(5), stock("BUNS", "RECEIVE", 30000, 80)),
    ("SH1", ago(10), sale("R-SH-10", "S-K1", "SALE", [("NUTS", 1000, 599, 0, "")],
                          [("CASH", 599)])),
    ("NY2", ago(3), sale("R-N2-5", "K8", "SALE", [("BUNS", 28000, 150, 0, "")], [("CARD", 4200)])),
    ("SH1", ago(2), sale("R-SH-11", "S-K1", "SALE", [("TEA-GREEN", 2000, 1250, 0, "")],
                         [("CARD", 2500)])),
    # --- the late event: a till back after days offline, sent after everything else ---
    ("SH1", "2026-03-05 14:00", sale("R-SH-L", "S-K3", "SALE", [("TEA-OOLONG", 6000, 1800, 0, "")],
                                     [("CARD", 10800)])),
]

Event = collections.namedtuple("Event", "store t kind body")


def build_events():
    evs = []
    for store, when, (kind, body) in EVENT_SPECS:
        t = when if isinstance(when, int) else local_ms(store, when)
        assert t <= NOW_MS and t > NOW_MS - 3640 * DAY_MS, (store, when)
        evs.append(Event(store, t, kind, body))
    return evs


EVENTS = build_events()

# =============================================================================================
# Model. Time: business day and hour of an event in its store's zone; period labels.
# =============================================================================================

def local_dt(store, ms):
    return datetime.datetime.fromtimestamp(ms / 1000, zone(store))


def bday(store, ms):
    return local_dt(store, ms).date()


def bhour(store, ms):
    return local_dt(store, ms).hour  # a fall-back day's repeated hour is one bucket


def period_label(gran, day, hour=0):
    if gran == "hour":
        return "%s %02d:00" % (day.isoformat(), hour)
    if gran == "week":
        return (day - datetime.timedelta(days=day.weekday())).isoformat()
    if gran == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def resolve_day(word, store, now_ms):
    """YYYY-MM-DD or `today`, in the store's zone (the only words this test uses)."""
    if word == "today":
        return bday(store, now_ms)
    return datetime.date.fromisoformat(word)


def add(acc, figures):
    for k, v in figures.items():
        acc[k] += v


# ---------------------------------------------------------------------------------------------
# Sales
# ---------------------------------------------------------------------------------------------

SALES_FIGURES = ["transactions", "items_milli", "gross", "discounts", "returns", "returns_cents",
                 "voids", "voids_cents", "net", "cash", "card", "mobile", "voucher", "other"]


def sales_hours(events):
    """(store, day, hour) -> figures, per the SALE / RETURN / POST_VOID table."""
    b = collections.defaultdict(lambda: collections.defaultdict(int))
    for e in events:
        if e.kind != "sale":
            continue
        s, c = e.body, b[(e.store, bday(e.store, e.t), bhour(e.store, e.t))]
        total, lines = s["total_cents"], s["lines"]
        if s["kind"] == "SALE":
            sign = 1
            c["transactions"] += 1
            c["items_milli"] += sum(ln["qty_milli"] for ln in lines)
            c["gross"] += sum(line_gross(ln) for ln in lines)
            c["discounts"] += sum(ln["discount_cents"] for ln in lines)
        elif s["kind"] == "RETURN":
            sign = -1
            c["returns"] += 1
            c["returns_cents"] += total
        else:
            sign = -1
            c["voids"] += 1
            c["voids_cents"] += total
        c["net"] += sign * total
        for t in s["tenders"]:
            c[t["method"].lower()] += sign * t["amount_cents"]
    return b


def sales_targets(events):
    """(store, day) -> the last target received."""
    t = {}
    for e in events:
        if e.kind == "sales_target":
            t[(e.store, datetime.date.fromisoformat(e.body["business_day"]))] = \
                e.body["target_cents"]
    return t


def net_in_range(model, stores, days):
    return sum(c["net"] for (st, d, _), c in model.sales.items() if st in stores and days(st, d))


# ---------------------------------------------------------------------------------------------
# Products and categories
# ---------------------------------------------------------------------------------------------

def product_days(events):
    """(store, day, sku) -> qty_milli, net, promo_qty_milli, promo_net (SALE +, RETURN and
    POST_VOID -; a POST_VOID without lines has nothing here)."""
    p = collections.defaultdict(lambda: collections.defaultdict(int))
    for e in events:
        if e.kind != "sale":
            continue
        sign = 1 if e.body["kind"] == "SALE" else -1
        for ln in e.body["lines"]:
            c = p[(e.store, bday(e.store, e.t), ln["sku"])]
            c["qty_milli"] += sign * ln["qty_milli"]
            c["net"] += sign * line_net(ln)
            if ln.get("promo"):
                c["promo_qty_milli"] += sign * ln["qty_milli"]
                c["promo_net"] += sign * line_net(ln)
            elif sign < 0 and 0 < c["promo_qty_milli"] and c["qty_milli"] < c["promo_qty_milli"]:
                # A line without promo takes back regular units first; past them, every unit
                # left is a promo one.
                left = c["qty_milli"] > 0
                c["promo_qty_milli"] = c["qty_milli"] if left else 0
                c["promo_net"] = c["net"] if left else 0
    return p


def sku_categories(events):
    """A SKU's category: from its sale lines, else from its stock moves."""
    cat = {}
    for e in events:
        if e.kind == "stock_move":
            cat.setdefault(e.body["sku"], e.body["category"])
    for e in events:
        if e.kind == "sale":
            for ln in e.body["lines"]:
                cat[ln["sku"]] = ln["category"]
    return cat


# ---------------------------------------------------------------------------------------------
# Cashiers and Cash
# ---------------------------------------------------------------------------------------------

def drawer_closes(events, live=None):
    """Live drawers in log order; each CLOSE -> (store, day, cashier, counted - expected).
    If live is a dict, it receives the drawers still open at the end."""
    open_ = {}
    closes = []
    for e in events:
        if e.kind == "drawer":
            d, key = e.body, (e.store, e.body["drawer_id"])
            k = d["kind"]
            if k == "OPEN":
                open_[key] = {"cashier": d.get("cashier_id", ""), "expected": d["amount_cents"]}
            elif key in open_:
                if k == "PAID_IN":
                    open_[key]["expected"] += d["amount_cents"]
                elif k in ("PAID_OUT", "PICKUP"):
                    open_[key]["expected"] -= d["amount_cents"]
                elif k == "CLOSE":
                    st = open_.pop(key)
                    closes.append((e.store, bday(e.store, e.t), st["cashier"],
                                   d["counted_cents"] - st["expected"]))
        elif e.kind == "sale":
            cash = sum(t["amount_cents"] for t in e.body["tenders"] if t["method"] == "CASH")
            sign = 1 if e.body["kind"] == "SALE" else -1
            for (store, _), st in open_.items():
                if store == e.store and st["cashier"] == e.body["cashier_id"]:
                    st["expected"] += sign * cash
    if live is not None:
        live.update(open_)
    return closes


def cashier_days(events):
    """(store, day, cashier) -> transactions, net, items_milli, returns, voids, over_short."""
    c = collections.defaultdict(lambda: collections.defaultdict(int))
    for e in events:
        if e.kind != "sale":
            continue
        s = e.body
        r = c[(e.store, bday(e.store, e.t), s["cashier_id"])]
        if s["kind"] == "SALE":
            r["transactions"] += 1
            r["items_milli"] += sum(ln["qty_milli"] for ln in s["lines"])
            r["net"] += s["total_cents"]
        elif s["kind"] == "RETURN":
            r["returns"] += 1
            r["net"] -= s["total_cents"]
        else:
            r["voids"] += 1
            r["net"] -= s["total_cents"]
    for store, day, cashier, amount in drawer_closes(events):
        c[(store, day, cashier)]["over_short"] += amount
    return c


# ---------------------------------------------------------------------------------------------
# Complaints
# ---------------------------------------------------------------------------------------------

SLA_MS = 48 * 3600000


def complaint_model(events):
    """Action counts per (store, day, action); opened, responded, resolved and escalated per
    (store, day, dimension, value) by the dimensions given at OPENED;
    first responses as (store, day of the response, minutes), live state per complaint."""
    actions = collections.defaultdict(int)
    by = collections.defaultdict(lambda: collections.defaultdict(int))
    firsts = []
    state = {}
    for e in events:
        if e.kind != "complaint":
            continue
        b, day = e.body, bday(e.store, e.t)
        a = b["action"]
        actions[(e.store, day, a)] += 1
        if a == "OPENED":
            state[b["complaint_id"]] = {"store": e.store, "opened_ms": e.t, "first_ms": None,
                                        "resolved": False, "category": b["category"],
                                        "severity": b["severity"], "channel": b["channel"]}
            for dim in ("category", "severity", "channel"):
                by[(e.store, day, dim, b[dim])]["opened"] += 1
            continue
        c = state[b["complaint_id"]]
        if a in ("RESPONDED", "RESOLVED", "ESCALATED"):
            # Counted under the dimensions the complaint was opened with.
            for dim in ("category", "severity", "channel"):
                by[(e.store, day, dim, c[dim])][a.lower()] += 1
        if a in ("RESPONDED", "RESOLVED") and c["first_ms"] is None:
            c["first_ms"] = e.t
            firsts.append((e.store, day, (e.t - c["opened_ms"]) / 60000.0))
        if a == "RESOLVED":
            c["resolved"] = True
        elif a == "REOPENED":
            c["resolved"] = False
    return {"actions": actions, "by": by, "firsts": firsts, "state": state}


# ---------------------------------------------------------------------------------------------
# Stock
# ---------------------------------------------------------------------------------------------

STOCK_SIGN = {"RECEIVE": 1, "TRANSFER_IN": 1, "TRANSFER_OUT": -1, "RETURN_TO_VENDOR": -1,
              "DAMAGE": -1, "SHRINK": -1, "ADJUST": 1}


def stock_model(events):
    """Live on hand per (store, sku) in log order; moves per (store, day, kind) as [qty, value]
    (COUNT: of the variance), and per (store, day, kind, sku); count variance per (store, day)
    and per (store, day, sku) as [net qty, net value, gross qty, gross value]; shrink value per
    (store, day) and (store, day, sku); SALE qty per (store, day, sku) for days of cover."""
    on_hand = collections.defaultdict(int)
    moves = collections.defaultdict(lambda: [0, 0])
    variance = collections.defaultdict(lambda: [0, 0, 0, 0])
    shrink = collections.defaultdict(int)
    sold = collections.defaultdict(int)
    for e in events:
        day = bday(e.store, e.t)
        if e.kind == "sale":
            for ln in e.body["lines"]:
                key = (e.store, ln["sku"])
                if e.body["kind"] == "SALE":
                    on_hand[key] -= ln["qty_milli"]
                    sold[(e.store, day, ln["sku"])] += ln["qty_milli"]
                else:
                    on_hand[key] += ln["qty_milli"]
        elif e.kind == "stock_move":
            m = e.body
            key, kind = (e.store, m["sku"]), m["kind"]
            qty, cost = m["qty_milli"], m["unit_cost_cents"]
            if kind == "COUNT":
                var = qty - on_hand[key]
                on_hand[key] = qty
                value = rhu(var * cost)
                for mk in ((e.store, day, kind), (e.store, day, kind, m["sku"])):
                    moves[mk][0] += var
                    moves[mk][1] += value
                for vk in ((e.store, day), (e.store, day, m["sku"])):
                    for i, x in enumerate((var, value, abs(var), abs(value))):
                        variance[vk][i] += x
            else:
                on_hand[key] += STOCK_SIGN[kind] * qty
                value = rhu(qty * cost)
                for mk in ((e.store, day, kind), (e.store, day, kind, m["sku"])):
                    moves[mk][0] += qty
                    moves[mk][1] += value
                if kind in ("DAMAGE", "SHRINK"):
                    shrink[(e.store, day)] += value
                    shrink[(e.store, day, m["sku"])] += value
    return {"on_hand": on_hand, "moves": moves, "variance": variance, "shrink": shrink,
            "sold": sold}


# ---------------------------------------------------------------------------------------------
# Attendance
# ---------------------------------------------------------------------------------------------

def attendance_model(events):
    """Shifts (last version of each id), clock sessions with breaks, and the matching of each
    CLOCK_IN to the employee's shift whose start is nearest, within 12 h."""
    shifts = {}
    sessions = []
    open_ = {}
    for e in events:
        if e.kind == "shift":
            shifts[e.body["shift_id"]] = dict(e.body, store=e.store)
        elif e.kind == "attendance":
            key, k = (e.store, e.body["employee_id"]), e.body["kind"]
            if k == "CLOCK_IN":
                open_[key] = {"store": e.store, "employee": key[1], "in": e.t, "breaks": [],
                              "break_start": None}
            elif k == "BREAK_START":
                open_[key]["break_start"] = e.t
            elif k == "BREAK_END":
                s = open_[key]
                s["breaks"].append((s["break_start"], e.t))
                s["break_start"] = None
            elif k == "CLOCK_OUT":
                s = open_.pop(key)
                s["out"] = e.t
                sessions.append(s)
    live = [dict(s) for s in open_.values()]
    active = [s for s in shifts.values() if not s["cancelled"]]
    for s in sessions:
        cands = [sh for sh in active
                 if sh["store"] == s["store"] and sh["employee_id"] == s["employee"] and
                 abs(sh["start_ms"] - s["in"]) <= 12 * 3600000]
        s["shift"] = min(cands, key=lambda sh: abs(sh["start_ms"] - s["in"])) if cands else None
    for s in live:
        assert not s["breaks"] and s["break_start"] is None, "keep live sessions simple"
    return {"shifts": active, "sessions": sessions, "live": live}


def attendance_days(model, now_ms):
    """(store, day, employee) -> scheduled_min, worked_min, late, early_leave, no_show; and
    (store, day, hour) -> on-duty minutes."""
    a = collections.defaultdict(lambda: collections.defaultdict(int))
    on_duty = collections.defaultdict(int)
    matched = set()
    for s in model["sessions"]:
        st, emp, day = s["store"], s["employee"], bday(s["store"], s["in"])
        breaks = sum(e - b for b, e in s["breaks"])
        assert (s["out"] - s["in"] - breaks) % 60000 == 0
        a[(st, day, emp)]["worked_min"] += (s["out"] - s["in"] - breaks) // 60000
        sh = s["shift"]
        if sh:
            matched.add(sh["shift_id"])
            if s["in"] > sh["start_ms"] + 5 * 60000:
                a[(st, day, emp)]["late"] += 1
            if s["out"] < sh["end_ms"] - 10 * 60000:
                a[(st, day, emp)]["early_leave"] += 1
        for t in range(s["in"], s["out"], 60000):
            if not any(b <= t < e for b, e in s["breaks"]):
                on_duty[(st, bday(st, t), bhour(st, t))] += 1
    for sh in model["shifts"]:
        st, day = sh["store"], bday(sh["store"], sh["start_ms"])
        a[(st, day, sh["employee_id"])]["scheduled_min"] += (sh["end_ms"] - sh["start_ms"]) // 60000
        if sh["shift_id"] not in matched and sh["start_ms"] + 30 * 60000 < now_ms:
            a[(st, day, sh["employee_id"])]["no_show"] += 1
    return a, on_duty


class Model:
    """ROLLUPS.md applied to the events in log order."""

    def __init__(self, events):
        self.sales = sales_hours(events)
        self.targets = sales_targets(events)
        self.products = product_days(events)
        self.sku_category = sku_categories(events)
        self.cashiers = cashier_days(events)
        self.drawers = {}
        drawer_closes(events, self.drawers)
        self.complaints = complaint_model(events)
        self.stock = stock_model(events)
        self.attendance = attendance_model(events)


MODEL = Model(EVENTS)

# =============================================================================================
# Expected query results: {table: rows}, rows as dicts of every column.
# =============================================================================================

COLUMNS = {
    "sales": ["period", "scope"] + SALES_FIGURES + ["avg_ticket", "items_per_txn", "return_rate",
                                                     "target", "attainment", "target_due"],
    "skus": ["rank", "sku", "category", "qty_milli", "net", "promo_qty_milli", "promo_net"],
    "categories": ["category", "qty_milli", "net"],
    "cashiers": ["store", "cashier", "transactions", "net", "items_milli", "returns", "voids",
                 "over_short"],
    "complaints": ["opened", "responded", "resolved", "escalated", "reopened", "first_responses",
                   "first_response_mean_min", "first_response_p90_min", "within_sla",
                   "within_sla_share"],
    "by_dimension": ["dimension", "value", "opened", "responded", "resolved", "escalated"],
    "open": ["store", "complaint_id", "opened_ms", "age_h", "severity", "channel", "category",
             "responded", "sla_state"],
    "on_hand": ["store", "sku", "on_hand_milli", "sold_28d_milli", "days_of_cover", "status"],
    "moves": ["kind", "qty_milli", "value_cents"],
    "summary": ["shrink_value", "net_sales", "shrink_rate", "count_variance_milli",
                "count_variance_value", "count_variance_gross_milli", "count_variance_gross_value"],
    "drawers": ["store", "drawer", "cashier", "expected_cents"],
    "on_shift": ["store", "employee", "clocked_in_ms", "on_break", "shift_end_ms"],
    "attendance": ["store", "scheduled_min", "worked_min", "late", "early_leave", "no_show",
                   "sales_per_labour_hour"],
    "employees": ["store", "employee", "scheduled_min", "worked_min", "late", "early_leave",
                  "no_show"],
    "on_duty": ["period", "store", "on_duty_min"],
    "rota_now": ["store", "on_rota", "on_duty"],
}

# How rows are identified; the rows of ordered tables must also come in the model's order.
ORDERED = {"sales", "skus"}
KEYS = {
    "sales": ("period",), "skus": ("rank",),
    "categories": ("category",), "cashiers": ("store", "cashier"), "complaints": (),
    "by_dimension": ("dimension", "value"), "open": ("store", "complaint_id"),
    "drawers": ("store", "drawer"), "on_shift": ("store", "employee"),
    "on_hand": ("store", "sku"), "moves": ("kind",), "summary": (), "attendance": ("store",),
    "employees": ("store", "employee"), "on_duty": ("period", "store"), "rota_now": ("store",),
}
# Rows of these tables whose figures are all zero/none carry no information: the daemon may
# list them or not.
DROP_ZERO = {"attendance", "employees", "on_duty"}
# Minutes: whole numbers here; accepted as int64 or double.
LOOSE_NUMBERS = {"scheduled_min", "worked_min", "on_duty_min", "first_response_mean_min",
                 "first_response_p90_min", "age_h", "days_of_cover", "sales_per_labour_hour",
                 "avg_ticket", "items_per_txn", "return_rate", "attainment", "within_sla_share"}


class Between:
    """A figure that depends on when the query ran: anything in [lo, hi] (widened to whole
    numbers, in case the daemon floors or rounds)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = math.floor(lo), math.ceil(hi)

    def __repr__(self):
        return "between %s and %s" % (self.lo, self.hi)


class OneOf:
    """Where ROLLUPS.md allows more than one rendering: any of these values."""

    def __init__(self, *values):
        self.values = values

    def __repr__(self):
        return " or ".join("unset" if v is None else repr(v) for v in self.values)


# "0 or missing: no attainment": a day without a target may show target 0 or no value.
NO_TARGET = OneOf(0, None)


class Ctx:
    """A query resolved as the model needs it: the stores in scope, the label of the scope,
    each store's day range, and when it ran."""

    def __init__(self, q, now_lo, now_hi):
        self.q, self.now_lo, self.now_hi = q, now_lo, now_hi
        scope = q.get("scope") or ("store" if q.get("store_id") else
                                   "region" if q.get("region") else "chain")
        if scope == "store":
            self.stores, self.label = [q["store_id"]], q["store_id"]
        elif scope == "region":
            self.stores = sorted(s for s, v in STORES.items() if v.region == q["region"])
            self.label = q["region"]
        else:
            self.stores, self.label = sorted(STORES), "chain"
        fr = q.get("from_day") or "today"
        to = q.get("to_day") or fr
        self.range = {s: (resolve_day(fr, s, now_lo), resolve_day(to, s, now_lo))
                      for s in self.stores}
        self.gran = q.get("granularity") or "day"
        self.limit = q.get("limit") or 10

    def in_range(self, store, day):
        return store in self.range and self.range[store][0] <= day <= self.range[store][1]


def expect_sales(m, c):
    periods = collections.defaultdict(lambda: collections.defaultdict(int))
    for (st, d, h), f in m.sales.items():
        if c.in_range(st, d):
            add(periods[period_label(c.gran, d, h)], f)
    targets = collections.defaultdict(int)
    if c.gran != "hour":  # a target is per business day: an hour row carries none
        for (st, d), v in m.targets.items():
            if c.in_range(st, d):
                targets[period_label(c.gran, d)] += v
    rows = []
    for p in sorted(periods):
        f = periods[p]
        if not (f["transactions"] or f["returns"] or f["voids"]):
            continue
        r = {"period": p, "scope": c.label}
        r.update({k: f[k] for k in SALES_FIGURES})
        txn = f["transactions"]
        r["avg_ticket"] = f["net"] / txn if txn else None
        r["items_per_txn"] = f["items_milli"] / 1000.0 / txn if txn else None
        r["return_rate"] = f["returns_cents"] / f["gross"] if f["gross"] else None
        r["target"] = targets[p] if targets[p] > 0 else NO_TARGET
        r["attainment"] = f["net"] / targets[p] if targets[p] > 0 else None
        # Due by now: every target of the event set is of a past day, so all of it.
        r["target_due"] = targets[p] if targets[p] > 0 else NO_TARGET
        rows.append(r)
    return {"sales": rows}


def sku_totals(m, c):
    tot = collections.defaultdict(lambda: collections.defaultdict(int))
    for (st, d, sku), f in m.products.items():
        if c.in_range(st, d):
            add(tot[sku], f)
    return tot


def sku_rows(m, ranked):
    return [{"rank": i + 1, "sku": sku, "category": m.sku_category[sku],
             "qty_milli": f["qty_milli"], "net": f["net"], "promo_qty_milli": f["promo_qty_milli"],
             "promo_net": f["promo_net"]} for i, (sku, f) in enumerate(ranked)]


def expect_top_skus(m, c):
    tot = sku_totals(m, c)
    ranked = sorted(tot.items(), key=lambda kv: (-kv[1]["qty_milli"], -kv[1]["net"], kv[0]))
    return {"skus": sku_rows(m, ranked[:c.limit])}


def expect_bottom_skus(m, c):
    tot = sku_totals(m, c)
    for (st, sku), q in m.stock["on_hand"].items():
        if st in c.stores and q > 0:
            tot[sku]  # a SKU with stock on hand takes part with what it sold (maybe nothing)
    ranked = sorted(tot.items(), key=lambda kv: (kv[1]["qty_milli"], kv[1]["net"], kv[0]))
    return {"skus": sku_rows(m, ranked[:c.limit])}


def expect_categories(m, c):
    cats = collections.defaultdict(lambda: collections.defaultdict(int))
    for sku, f in sku_totals(m, c).items():
        cats[m.sku_category[sku]]["qty_milli"] += f["qty_milli"]
        cats[m.sku_category[sku]]["net"] += f["net"]
    return {"categories": [{"category": k, "qty_milli": f["qty_milli"], "net": f["net"]}
                           for k, f in cats.items()]}


def expect_cashiers(m, c):
    rows = collections.defaultdict(lambda: collections.defaultdict(int))
    for (st, d, cashier), f in m.cashiers.items():
        if c.in_range(st, d):
            add(rows[(st, cashier)], f)
    cols = COLUMNS["cashiers"][2:]
    return {"cashiers": [dict({"store": st, "cashier": k}, **{x: f[x] for x in cols})
                         for (st, k), f in rows.items()],
            "drawers": [{"store": st, "drawer": d, "cashier": x["cashier"],
                         "expected_cents": x["expected"]}
                        for (st, d), x in m.drawers.items() if st in c.stores]}


def expect_complaints(m, c):
    cm = m.complaints
    counts = collections.defaultdict(int)
    for (st, d, a), n in cm["actions"].items():
        if c.in_range(st, d):
            counts[a.lower()] += n
    firsts = sorted(x for st, d, x in cm["firsts"] if c.in_range(st, d))
    n = len(firsts)
    within = sum(1 for x in firsts if x <= 48 * 60)
    summary = {"opened": counts["opened"], "responded": counts["responded"],
               "resolved": counts["resolved"], "escalated": counts["escalated"],
               "reopened": counts["reopened"], "first_responses": n,
               "first_response_mean_min": sum(firsts) / n if n else None,
               "first_response_p90_min": firsts[math.ceil(0.9 * n) - 1] if n else None,
               "within_sla": within, "within_sla_share": within / n if n else None}
    by = collections.defaultdict(lambda: collections.defaultdict(int))
    for (st, d, dim, val), k in cm["by"].items():
        if c.in_range(st, d):
            add(by[(dim, val)], k)
    open_rows = []
    for cid, s in cm["state"].items():
        if s["store"] not in c.stores or s["resolved"]:
            continue
        first = s["first_ms"]
        if first is not None:
            sla = "ok" if first - s["opened_ms"] <= SLA_MS else "overdue"
        else:
            # Both ends of the query window must agree (the event set is far from the edge).
            assert (c.now_lo - s["opened_ms"] > SLA_MS) == (c.now_hi - s["opened_ms"] > SLA_MS)
            sla = "overdue" if c.now_lo - s["opened_ms"] > SLA_MS else "ok"
        open_rows.append({"store": s["store"], "complaint_id": cid, "opened_ms": s["opened_ms"],
                          "age_h": Between((c.now_lo - s["opened_ms"]) / 3600000.0,
                                           (c.now_hi - s["opened_ms"]) / 3600000.0),
                          "severity": s["severity"], "channel": s["channel"],
                          "category": s["category"], "responded": 1 if first is not None else 0,
                          "sla_state": sla})
    return {"complaints": [summary],
            "by_dimension": [{"dimension": d, "value": v, "opened": k["opened"],
                              "responded": k["responded"], "resolved": k["resolved"],
                              "escalated": k["escalated"]} for (d, v), k in by.items()],
            "open": open_rows}


def expect_stock(m, c):
    sm = m.stock
    only = c.q.get("sku")  # --sku: on hand, moves and summary all of that SKU
    on_hand = []
    for (st, sku), q in sm["on_hand"].items():
        if st not in c.stores or (only and sku != only):
            continue
        today = bday(st, c.now_lo)
        assert today == bday(st, c.now_hi), "the query ran across midnight"
        first = today - datetime.timedelta(days=27)
        sold = sum(v for (s2, d, k), v in sm["sold"].items()
                   if s2 == st and k == sku and first <= d <= today)
        cover = q / (sold / 28.0) if sold > 0 else None
        status = "out" if q <= 0 else "low" if cover is not None and cover < 3 else "ok"
        on_hand.append({"store": st, "sku": sku, "on_hand_milli": q, "sold_28d_milli": sold,
                        "days_of_cover": cover, "status": status})
    def mine(key, n):
        """key = (store, day[, kind]) of n parts, or with the SKU last: in range, and the SKU's
        own when --sku is given (else the store-wide key)."""
        return c.in_range(key[0], key[1]) and (key[-1] == only if only else len(key) == n)

    moves = collections.defaultdict(lambda: [0, 0])
    for key, (q, v) in sm["moves"].items():
        if mine(key, 3) and (not only or len(key) == 4):
            moves[key[2]][0] += q
            moves[key[2]][1] += v
    var = [sum(v[i] for key, v in sm["variance"].items()
               if mine(key, 2) and (not only or len(key) == 3)) for i in range(4)]
    shrink = sum(v for key, v in sm["shrink"].items() if mine(key, 2) and (not only or len(key) == 3))
    if only:
        net = sum(f["net"] for (st, d, sku), f in m.products.items()
                  if sku == only and c.in_range(st, d))
    else:
        net = net_in_range(m, c.stores, c.in_range)
    moves = {k: qv for k, qv in moves.items() if qv != [0, 0]}
    return {"on_hand": on_hand,
            "moves": [{"kind": k, "qty_milli": q, "value_cents": v} for k, (q, v) in moves.items()],
            "summary": [{"shrink_value": shrink, "net_sales": net,
                         "shrink_rate": shrink / net if net > 0 else None,
                         "count_variance_milli": var[0], "count_variance_value": var[1],
                         "count_variance_gross_milli": var[2],
                         "count_variance_gross_value": var[3]}]}


def expect_attendance(m, c):
    days, on_duty = attendance_days(m.attendance, c.now_lo)
    emp = collections.defaultdict(lambda: collections.defaultdict(int))
    for (st, d, e), f in days.items():
        if c.in_range(st, d):
            add(emp[(st, e)], f)
    figs = ["scheduled_min", "worked_min", "late", "early_leave", "no_show"]
    store = collections.defaultdict(lambda: collections.defaultdict(int))
    for (st, e), f in emp.items():
        add(store[st], f)
    att_rows = []
    for st, f in store.items():
        net = net_in_range(m, [st], c.in_range)
        r = dict({"store": st}, **{x: f[x] for x in figs})
        r["sales_per_labour_hour"] = net / (f["worked_min"] / 60.0) if f["worked_min"] else None
        att_rows.append(r)
    return {"attendance": att_rows,
            "employees": [dict({"store": st, "employee": e}, **{x: f[x] for x in figs})
                          for (st, e), f in emp.items()],
            "on_shift": [{"store": s["store"], "employee": s["employee"], "clocked_in_ms": s["in"],
                          "on_break": 0, "shift_end_ms": None}
                         for s in m.attendance["live"] if s["store"] in c.stores],
            "on_duty": [{"period": period_label("hour", d, h), "store": st, "on_duty_min": n}
                        for (st, d, h), n in on_duty.items() if c.in_range(st, d)],
            # Every store in scope, now: no shift of the rota runs now (they are all in the
            # past); on duty, who is clocked in and not on a break.
            "rota_now": [{"store": st, "on_rota": 0,
                          "on_duty": sum(1 for s in m.attendance["live"] if s["store"] == st)}
                         for st in c.stores]}


EXPECT = {"SALES": expect_sales, "TOP_SKUS": expect_top_skus,
          "BOTTOM_SKUS": expect_bottom_skus, "CATEGORIES": expect_categories,
          "CASHIERS": expect_cashiers, "COMPLAINTS": expect_complaints, "STOCK": expect_stock,
          "ATTENDANCE": expect_attendance}


def expect(q, now_lo, now_hi):
    return EXPECT[q["kind"]](MODEL, Ctx(q, now_lo, now_hi))


# =============================================================================================
# The queries, per family
# =============================================================================================

def Q(kind, **fields):
    return dict(fields, kind=kind)


MARCH = dict(from_day="2026-03-01", to_day="2026-03-31")
_NY_TODAY = bday("NY2", NOW_MS)
RECENT_NY = dict(from_day=(_NY_TODAY - datetime.timedelta(days=29)).isoformat(),
                 to_day=_NY_TODAY.isoformat())
# March 2026 up to today by month, while that is within the 400 days a query may span.
_SH_TODAY = bday("SH1", NOW_MS)
TO_TODAY = dict(from_day="2026-03-01" if (_SH_TODAY - datetime.date(2026, 3, 1)).days < 390 else
                (_SH_TODAY - datetime.timedelta(days=60)).replace(day=1).isoformat(),
                to_day="today")

QUERIES = {
    "sales": [
        Q("SALES", store_id="SH1", **MARCH),
        Q("SALES", store_id="NY1", **MARCH),
        Q("SALES", store_id="NY2", **MARCH),
        Q("SALES", store_id="NY1", from_day="2026-03-06", to_day="2026-03-07"),
        Q("SALES", store_id="NY1", from_day="2026-03-08"),  # --from alone: that one day
        Q("SALES", store_id="NY1", from_day="2026-03-08", to_day="2026-03-08", granularity="hour"),
        Q("SALES", store_id="NY2", from_day="2026-03-08", granularity="hour"),
        Q("SALES", store_id="SH1", from_day="2026-03-07", to_day="2026-03-08", granularity="hour"),
        Q("SALES", region="west", **MARCH),  # scope defaults to region
        Q("SALES", scope="region", region="east", **MARCH),
        Q("SALES", scope="region", region="west", from_day="2026-03-08", to_day="2026-03-08",
          granularity="hour"),
        Q("SALES", **MARCH),  # scope defaults to chain
        Q("SALES", scope="chain", from_day="2026-03-08", to_day="2026-03-08", granularity="hour"),
        Q("SALES", scope="chain", from_day="2026-03-02", to_day="2026-03-15", granularity="week"),
        Q("SALES", store_id="NY1", from_day="2026-03-02", to_day="2026-03-15", granularity="week"),
        Q("SALES", scope="chain", granularity="month", **MARCH),
        Q("SALES", store_id="SH1", granularity="month", **TO_TODAY),
    ],
    "products": [
        Q("TOP_SKUS", store_id="SH1", limit=3, **MARCH),
        Q("TOP_SKUS", scope="chain", **MARCH),  # default limit 10; ties on qty and on qty+net
        Q("TOP_SKUS", scope="chain", limit=7, **MARCH),
        Q("TOP_SKUS", scope="region", region="west", limit=5, **MARCH),
        Q("TOP_SKUS", store_id="NY1", from_day="2026-03-08", to_day="2026-03-08"),
        Q("BOTTOM_SKUS", store_id="SH1", limit=3, **MARCH),
        Q("BOTTOM_SKUS", store_id="NY1", **MARCH),
        Q("CATEGORIES", store_id="SH1", **MARCH),
        Q("CATEGORIES", store_id="NY1", from_day="2026-03-08", to_day="2026-03-08"),
        Q("CATEGORIES", scope="chain", **MARCH),
        Q("TOP_SKUS", store_id="NY2", from_day="2026-02-01", to_day="2026-02-28", limit=25),
        Q("CATEGORIES", store_id="NY2", from_day="2026-02-01", to_day="2026-02-28"),
    ],
    "cashiers": [
        Q("CASHIERS", store_id="NY1", from_day="2026-03-07", to_day="2026-03-09"),
        Q("CASHIERS", store_id="NY1", from_day="2026-03-08", to_day="2026-03-08"),
        Q("CASHIERS", store_id="SH1", **MARCH),
        Q("CASHIERS", scope="chain", **MARCH),
    ],
    "complaints": [
        Q("COMPLAINTS", store_id="NY2", from_day="2026-03-07", to_day="2026-03-09"),
        Q("COMPLAINTS", store_id="NY2", from_day="2026-03-08", to_day="2026-03-08"),
        Q("COMPLAINTS", store_id="SH1", from_day="2026-03-09", to_day="2026-03-09"),
        Q("COMPLAINTS", scope="chain", **MARCH),
    ],
    "stock": [
        Q("STOCK", store_id="SH1", **MARCH),
        Q("STOCK", store_id="SH1", from_day="2026-03-08", to_day="2026-03-08"),
        Q("STOCK", store_id="NY1", **MARCH),
        Q("STOCK", store_id="NY2", **RECENT_NY),
        Q("STOCK", scope="chain", **MARCH),
        # --sku: moves and summary of that SKU too (a COUNT up, DAMAGE; a COUNT down)
        Q("STOCK", store_id="SH1", sku="RICE", **MARCH),
        Q("STOCK", store_id="SH1", sku="TEA-GREEN", **MARCH),
        Q("STOCK", scope="chain", sku="UMBRELLA", **MARCH),
    ],
    "attendance": [
        Q("ATTENDANCE", store_id="NY1", from_day="2026-03-09", to_day="2026-03-10"),
        Q("ATTENDANCE", store_id="NY1", from_day="2026-03-10", to_day="2026-03-10"),
        Q("ATTENDANCE", scope="region", region="west", from_day="2026-03-08",
          to_day="2026-03-10"),
    ],
}
ALL_QUERIES = [q for qs in QUERIES.values() for q in qs]


def describe(q):
    return " ".join("%s=%s" % (k, q[k]) for k in sorted(q, key=lambda k: (k != "kind", k)))


def pb_query(q):
    pb = fwtest.pb2()
    fields = {k: v for k, v in q.items() if k != "kind"}
    return pb.Query(kind=getattr(pb.Query, q["kind"]), **fields)


# =============================================================================================
# Comparison
# =============================================================================================

def cell_problem(col, got, want):
    """None if got matches want, else why not."""
    if isinstance(want, OneOf):
        if any(cell_problem(col, got, w) is None for w in want.values):
            return None
        return "got %r, expected %r" % (got, want)
    if isinstance(want, Between):
        if isinstance(got, (int, float)) and not isinstance(got, bool) and \
                want.lo - 1e-9 <= got <= want.hi + 1e-9:
            return None
        return "got %r, expected a number %r" % (got, want)
    if want is None:
        return None if got is None else "got %r, expected no value (unset cell)" % (got,)
    if isinstance(want, str):
        return None if got == want else "got %r, expected %r" % (got, want)
    if isinstance(want, float) or col in LOOSE_NUMBERS:
        if isinstance(got, (int, float)) and not isinstance(got, bool) and \
                math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            return None
        return "got %r, expected %r" % (got, want)
    if isinstance(got, int) and not isinstance(got, bool) and got == want:
        return None
    return "got %r (%s), expected the int64 %r" % (got, type(got).__name__, want)


def is_zero_row(row, cols):
    return all(row.get(c) in (0, 0.0, None) for c in cols
               if not isinstance(row.get(c), str))


def fmt_row(r):
    return "{" + ", ".join("%s: %r" % kv for kv in r.items()) + "}"


def table_problems(name, got_rows, want_rows):
    """Every difference between the daemon's rows and the model's, as readable lines. Rows are
    matched by key (ordered tables: by period or rank, after checking the order)."""
    cols = COLUMNS[name]
    if name in DROP_ZERO:
        got_rows = [r for r in got_rows if not is_zero_row(r, cols)]
    out = []
    keycols = KEYS[name]
    key = lambda r: tuple(r.get(k) for k in keycols)  # noqa: E731
    if name in ORDERED:
        order = [key(r) for r in got_rows]
        want_order = [key(r) for r in want_rows]
        if order != want_order:
            out.append("%s: rows %s, expected %s" % (name, [k[0] for k in order],
                                                     [k[0] for k in want_order]))
    got = {}
    for r in got_rows:
        if key(r) in got:
            out.append("%s: duplicate row for %s" % (name, key(r)))
        got[key(r)] = r
    want = {key(r): r for r in want_rows}
    for k in sorted(set(got) - set(want), key=repr):
        out.append("%s: unexpected row %s" % (name, fmt_row(got[k])))
    for k in sorted(set(want) - set(got), key=repr):
        out.append("%s: missing row %s" % (name, fmt_row(want[k])))
    for k in sorted(set(want) & set(got), key=repr):
        for c in cols:
            p = cell_problem(c, got[k].get(c), want[k][c])
            if p:
                out.append("%s row %s column %s: %s" % (name, k[0] if len(k) == 1 else k, c, p))
    return out


def with_added(cols):
    """The columns the daemon adds for people and scripts (issue 13): store_name after a store
    id, an ISO 8601 <name>_local after each <name>_ms instant. The model checks the others."""
    out = []
    for c in cols:
        out.append(c)
        if c == "store":
            out.append("store_name")
        elif c.endswith("_ms"):
            out.append(c[:-3] + "_local")
    return out


def result_problems(result, want):
    pb = fwtest.pb2()
    if result.status != pb.QueryResult.OK:
        return ["status ERROR: %s" % result.error]
    out = []
    have = {t.name: list(t.columns) for t in result.tables}
    for name, rows in want.items():
        if name not in have:
            out.append("no table %r (tables: %s)" % (name, sorted(have)))
            continue
        if have[name] != with_added(COLUMNS[name]):
            out.append("table %s has columns %s, expected %s" % (name, have[name],
                                                                  with_added(COLUMNS[name])))
            continue
        out.extend(table_problems(name, table(result, name), rows))
    return out


def snapshot(result):
    """A QueryResult as plain data, for comparing two daemons."""
    return {"status": result.status, "error": result.error,
            "tables": [(t.name, list(t.columns),
                        [[(v.WhichOneof("v"), getattr(v, v.WhichOneof("v")) if v.WhichOneof("v")
                           else None) for v in r.cells] for r in t.rows])
                       for t in result.tables]}


def snapshot_problems(a, b):
    """Differences between two snapshots of the same query: exact, except doubles (1e-9
    relative, for a different summing order) and age_h (the queries ran at different times)."""
    if (a["status"], a["error"]) != (b["status"], b["error"]):
        return ["status/error %r vs %r" % ((a["status"], a["error"]), (b["status"], b["error"]))]
    if [(n, c, len(r)) for n, c, r in a["tables"]] != [(n, c, len(r)) for n, c, r in b["tables"]]:
        return ["tables differ: %s vs %s" % ([(n, len(r)) for n, _, r in a["tables"]],
                                             [(n, len(r)) for n, _, r in b["tables"]])]
    out = []
    for (name, cols, ra), (_, _, rb) in zip(a["tables"], b["tables"]):
        for i, (x, y) in enumerate(zip(ra, rb)):
            for col, (kx, vx), (ky, vy) in zip(cols, x, y):
                if col == "age_h" and kx == ky and kx in ("i", "d") and abs(vx - vy) <= 1:
                    continue
                if kx == ky == "d" and math.isclose(vx, vy, rel_tol=1e-9, abs_tol=1e-12):
                    continue
                if (kx, vx) != (ky, vy):
                    out.append("%s row %d column %s: %r vs %r" % (name, i, col, (kx, vx), (ky, vy)))
            if len(x) != len(y):
                out.append("%s row %d: %d cells vs %d" % (name, i, len(x), len(y)))
    return out


# =============================================================================================
# Sending
# =============================================================================================

def send_events(testcase, d, events, batch=6, seqs=None):
    """Sends the events in order, consecutive events of one store batched on that store's
    terminal, and checks every Ack. Returns the batches sent (for resending) and the next seq
    per store."""
    seqs = dict(seqs or {s: 1 for s in STORES})
    terms = {s: fwtest.Terminal(d.ingest) for s in STORES}
    sent = []
    try:
        i = 0
        while i < len(events):
            store = events[i].store
            chunk = [events[i]]
            while i + len(chunk) < len(events) and len(chunk) < batch and \
                    events[i + len(chunk)].store == store:
                chunk.append(events[i + len(chunk)])
            st = STORES[store]
            pbs = [fwtest.event(store, st.terminal, st.epoch, seqs[store] + j, e.t,
                                **{e.kind: e.body}) for j, e in enumerate(chunk)]
            a = terms[store].send(pbs)
            last = seqs[store] + len(chunk) - 1
            testcase.assertEqual(
                (a.acked_seq, a.stored, a.batch_code, [(r.seq, r.reason) for r in a.rejected]),
                (last, len(chunk), 0, []), "ack for %s seq %d..%d" % (store, seqs[store], last))
            sent.append((store, pbs))
            seqs[store] = last + 1
            i += len(chunk)
    finally:
        for t in terms.values():
            t.close()
    return sent, seqs


# =============================================================================================
# Tests
# =============================================================================================

class Rollups(fwtest.DaemonTest):
    def loaded(self, extra=""):
        """A daemon with the whole event set."""
        d = self.daemon(CONFIG + extra)
        send_events(self, d, EVENTS)
        return d

    def check_query(self, d, q):
        lo = fwtest.now_ms()
        r = d.query_raw(pb_query(q))
        hi = fwtest.now_ms()
        problems = result_problems(r, expect(q, lo, hi))
        if problems:
            self.fail("%s:\n  %s" % (describe(q), "\n  ".join(problems)))

    def check_family(self, family):
        d = self.loaded()
        for q in QUERIES[family]:
            with self.subTest(query=describe(q)):
                self.check_query(d, q)

    def answers(self, d):
        return [snapshot(d.query_raw(pb_query(q))) for q in ALL_QUERIES]

    def assert_same_answers(self, got, want, what):
        problems = []
        for q, a, b in zip(ALL_QUERIES, got, want):
            problems += ["%s: %s" % (describe(q), p) for p in snapshot_problems(a, b)]
        if problems:
            self.fail("%s:\n  %s" % (what, "\n  ".join(problems)))

    # --- the model against figures worked out by hand (no daemon): guards the model itself ---

    def test_model_by_hand(self):
        def want(kind, **fields):
            return EXPECT[kind](MODEL, Ctx(Q(kind, **fields), NOW_MS, NOW_MS))

        ny1_hours = want("SALES", store_id="NY1", from_day="2026-03-08",
                         granularity="hour")["sales"]
        self.assertEqual([r["period"][11:] for r in ny1_hours],
                         ["01:00", "03:00", "09:00", "10:00", "14:00"], "no 02:00 on 2026-03-08")
        h3 = ny1_hours[1]
        self.assertEqual((h3["transactions"], h3["returns"], h3["net"], h3["card"], h3["mobile"]),
                         (1, 1, 349 - 675, 349, -675))
        sh1 = {r["period"]: r for r in want("SALES", store_id="SH1", **MARCH)["sales"]}
        self.assertEqual(sorted(sh1), ["2026-03-05", "2026-03-07", "2026-03-08", "2026-03-09"])
        self.assertEqual(sh1["2026-03-05"]["net"], 10800, "the late sale on its own day")
        self.assertEqual(sh1["2026-03-07"]["gross"], 2500 + 300 + 1800)
        self.assertEqual(sh1["2026-03-08"]["gross"], 749 + 1250 + 1250 + 3750 + 1198)
        self.assertEqual((sh1["2026-03-08"]["voids_cents"], sh1["2026-03-08"]["target"]),
                         (1198, 10000))
        ny1 = {r["period"]: r for r in want("SALES", store_id="NY1", **MARCH)["sales"]}
        self.assertEqual((ny1["2026-03-07"]["transactions"], ny1["2026-03-07"]["net"]), (2, 1996))
        self.assertEqual(ny1["2026-03-08"]["target"], 80000)
        self.assertIsNone(ny1["2026-03-09"]["attainment"])
        self.assertAlmostEqual(ny1["2026-03-08"]["attainment"],
                               (675 + 349 - 675 + 3643 + 1055 - 1055 - 299 + 474) / 80000)
        top = want("TOP_SKUS", scope="chain", **MARCH)["skus"]
        self.assertEqual([r["sku"] for r in top],
                         ["MILK", "TEA-OOLONG", "TEA-GREEN", "RICE", "COFFEE", "EGGS", "BREAD",
                          "APPLES", "CHIPS-A", "CHIPS-B"])
        self.assertEqual((top[0]["qty_milli"], top[0]["net"]), (11500, 3665 + 349))
        self.assertEqual((top[1]["promo_qty_milli"], top[1]["promo_net"]), (3000, 1700 + 3600))
        bottom = want("BOTTOM_SKUS", store_id="SH1", limit=3, **MARCH)["skus"]
        self.assertEqual([(r["sku"], r["qty_milli"]) for r in bottom],
                         [("UMBRELLA", 0), ("NUTS", 1750), ("RICE", 5000)])
        cash = {r["cashier"]: r for r in want("CASHIERS", store_id="NY1", from_day="2026-03-07",
                                              to_day="2026-03-09")["cashiers"]}
        self.assertEqual((cash["K1"]["over_short"], cash["K2"]["over_short"]), (-150, 200))
        self.assertEqual((cash["K1"]["transactions"], cash["K1"]["net"], cash["K1"]["returns"],
                          cash["K1"]["voids"]), (4, 5214, 1, 1))
        comp = want("COMPLAINTS", store_id="NY2", from_day="2026-03-07", to_day="2026-03-09")
        s = comp["complaints"][0]
        self.assertEqual((s["opened"], s["first_responses"], s["within_sla"],
                          s["first_response_p90_min"], s["first_response_mean_min"]),
                         (11, 10, 9, 1380, 478.5))
        self.assertEqual(sorted((r["complaint_id"], r["sla_state"], r["responded"])
                                for r in comp["open"]), [("C3", "overdue", 0), ("C4", "ok", 1)])
        st = want("STOCK", store_id="SH1", **MARCH)
        # SH1's March sales by hand: R-SH-L, -1, -2, -3, return -4, -5, -6, void -7, -8, -9.
        net = 10800 + 2800 + 1700 + 1999 - 1250 + 4625 + 1198 - 1198 + 3600 + 1250
        self.assertEqual(st["summary"], [{"shrink_value": 246 + 150, "net_sales": net,
                                          "shrink_rate": (246 + 150) / net,
                                          "count_variance_milli": -250,
                                          "count_variance_value": -350 + 31,
                                          # -500 and +250 do not cancel out
                                          "count_variance_gross_milli": 750,
                                          "count_variance_gross_value": 350 + 31}])
        # --sku RICE: RICE's own moves (DAMAGE, ADJUST, COUNT +250) and its own sales.
        rice = want("STOCK", store_id="SH1", sku="RICE", **MARCH)
        self.assertEqual(rice["summary"], [{"shrink_value": 246, "net_sales": 1250,
                                            "shrink_rate": 246 / 1250,
                                            "count_variance_milli": 250,
                                            "count_variance_value": 31,
                                            "count_variance_gross_milli": 250,
                                            "count_variance_gross_value": 31}])
        self.assertEqual(sorted((r["kind"], r["qty_milli"]) for r in rice["moves"]),
                         [("ADJUST", -1000), ("COUNT", 250), ("DAMAGE", 2000),
                          ("RECEIVE", 30000)])
        self.assertEqual([r["sku"] for r in rice["on_hand"]], ["RICE"])
        oh = {r["sku"]: r for r in st["on_hand"]}
        self.assertEqual((oh["TEA-OOLONG"]["on_hand_milli"], oh["TEA-OOLONG"]["status"]),
                         (0, "out"))
        self.assertEqual(oh["TEA-GREEN"]["on_hand_milli"], 14500 - 1000 - 2000)
        self.assertAlmostEqual(oh["TEA-GREEN"]["days_of_cover"], 11500 / (2000 / 28))
        buns = [r for r in want("STOCK", store_id="NY2", **RECENT_NY)["on_hand"]
                if r["sku"] == "BUNS"][0]
        self.assertEqual((buns["on_hand_milli"], buns["days_of_cover"], buns["status"]),
                         (2000, 2.0, "low"))
        a = want("ATTENDANCE", store_id="NY1", from_day="2026-03-09", to_day="2026-03-10")
        self.assertEqual(a["attendance"][0]["scheduled_min"], 480 + 240 + 360 + 240)
        self.assertEqual(a["attendance"][0]["worked_min"], 438 + 310 + 235 + 120)
        emp = {r["employee"]: r for r in a["employees"]}
        self.assertEqual((emp["E1"]["late"], emp["E2"]["no_show"], emp["E3"]["early_leave"],
                          emp["E3"]["late"], emp["E5"]["early_leave"]), (1, 1, 1, 0, 0))
        duty = {r["period"]: r["on_duty_min"] for r in a["on_duty"]}
        self.assertEqual((duty["2026-03-09 09:00"], duty["2026-03-09 14:00"],
                          duty["2026-03-10 06:00"]), (48, 180, 5))

    # --- every figure of every query kind against the model ---

    def test_sales(self):
        self.check_family("sales")

    def test_products(self):
        self.check_family("products")

    def test_cashiers(self):
        self.check_family("cashiers")

    def test_complaints(self):
        self.check_family("complaints")

    def test_stock(self):
        self.check_family("stock")

    def test_attendance(self):
        self.check_family("attendance")

    def test_cli_sales(self):
        """The real CLI prints the same figures (one JSON object per row; CSV header)."""
        d = self.loaded()
        q = Q("SALES", store_id="NY1", from_day="2026-03-07", to_day="2026-03-09")
        p = d.cli("query", "sales", "--store", "NY1", "--from", "2026-03-07", "--to", "2026-03-09",
                  "--json", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        want = expect(q, fwtest.now_ms(), fwtest.now_ms())["sales"]
        for r in rows:
            self.assertEqual(list(r), COLUMNS["sales"], "JSON keys in column order")
        problems = table_problems("sales", rows, want)
        self.assertFalse(problems, "floorwalker query sales --json:\n  " + "\n  ".join(problems))
        p = d.cli("query", "sales", "--store", "NY1", "--from", "2026-03-07", "--to", "2026-03-09",
                  "--csv", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], ",".join(COLUMNS["sales"]))
        self.assertEqual([ln.split(",")[0] for ln in lines[1:]], [r["period"] for r in want])

    # --- small event sets of their own ---

    def send_own(self, d, store, specs):
        """Sends (local time, (kind, body)) of one store; returns the Events (for the model)."""
        evs = [Event(store, local_ms(store, when), kind, body) for when, (kind, body) in specs]
        send_events(self, d, evs)
        return evs

    def test_promo_after_post_void(self):
        """A sale with a promo line, then its post-void whose lines do not repeat the promo (a
        till need not): the promo figures go back with the totals, never above them."""
        d = self.daemon(CONFIG)
        evs = self.send_own(d, "SH1", [
            ("2026-03-08 10:00", sale("P-1", "S-K1", "SALE",
                                      [("NUTS", 2000, 599, 0, "SPRING"), ("NUTS", 1000, 599, 0, "")],
                                      [("CASH", 1797)])),
            ("2026-03-08 10:05", sale("P-2", "S-K1", "SALE", [("RICE", 3000, 250, 0, "WEEK")],
                                      [("CASH", 750)])),
            # voids P-1 whole, no promo on its lines; returns 2 of the 3 promo units of P-2
            ("2026-03-08 10:10", sale("P-3", "S-K1", "POST_VOID",
                                      [("NUTS", 2000, 599, 0, ""), ("NUTS", 1000, 599, 0, "")],
                                      [("CASH", 1797)], original="P-1")),
            ("2026-03-08 10:20", sale("P-4", "S-K1", "RETURN", [("RICE", 2000, 250, 0, "")],
                                      [("CASH", 500)], original="P-2")),
        ])
        q = Q("TOP_SKUS", store_id="SH1", from_day="2026-03-08", to_day="2026-03-08")
        got = {r["sku"]: r for r in fwtest.table(d.query_raw(pb_query(q)), "skus")}
        self.assertEqual({k: (r["qty_milli"], r["net"], r["promo_qty_milli"], r["promo_net"])
                          for k, r in got.items()},
                         {"NUTS": (0, 0, 0, 0), "RICE": (1000, 250, 1000, 250)})
        model = product_days(evs)  # the model agrees
        for sku, r in got.items():
            f = model[("SH1", datetime.date(2026, 3, 8), sku)]
            self.assertEqual((r["promo_qty_milli"], r["promo_net"]),
                             (f["promo_qty_milli"], f["promo_net"]), sku)

    def test_ratio_over_zero_worked_minutes(self):
        """Work of under a minute (a fast sim) is 0 worked minutes: sales per labour hour is
        none (JSON null, CSV empty, "-" for people), not net / a few seconds."""
        d = self.daemon(CONFIG)
        self.send_own(d, "NY1", [
            ("2026-03-09 09:00", att("E1", "CLOCK_IN")),
            ("2026-03-09 09:00", sale("Z-1", "K1", "SALE", [("MILK", 1000, 349, 0, "")],
                                      [("CARD", 349)])),
        ])
        # 30 seconds later (local_ms is minute-precise)
        evs = [Event("NY1", local_ms("NY1", "2026-03-09 09:00") + 30000, "attendance",
                     att("E1", "CLOCK_OUT")[1])]
        send_events(self, d, evs, seqs={s: 3 if s == "NY1" else 1 for s in STORES})
        args = ["query", "attendance", "--store", "NY1", "--from", "2026-03-09", "-e", d.query]
        p = d.cli(*args, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        row = [json.loads(x) for x in p.stdout.splitlines() if '"sales_per_labour_hour"' in x][0]
        self.assertEqual((row["worked_min"], row["sales_per_labour_hour"]), (0, None), row)
        p = d.cli(*args, "--csv")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        head = [x for x in lines if "sales_per_labour_hour" in x][0].split(",")
        row = lines[lines.index(",".join(head)) + 1].split(",")
        self.assertEqual(row[head.index("sales_per_labour_hour")], "", lines)
        p = d.cli(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.split("== employees ==")[0].splitlines()
        ny1 = [x.split() for x in lines if x.startswith("NY1")]
        self.assertEqual([x[-1] for x in ny1], ["-"], p.stdout)

    # --- errors and empty ranges ---

    def test_errors_and_empty_ranges(self):
        pb = fwtest.pb2()
        d = self.loaded()
        # An empty range: exit 0 and no rows.
        empty = ["--store", "NY1", "--from", "2025-12-01", "--to", "2025-12-31"]
        p = d.cli("query", "sales", *empty, "--json", "-e", d.query)
        self.assertEqual((p.returncode, p.stdout), (0, ""), p.stderr)
        p = d.cli("query", "sales", *empty, "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("(no rows)", p.stdout)
        for kind in ("SALES", "TOP_SKUS", "CATEGORIES", "CASHIERS", "COMPLAINTS", "STOCK",
                     "ATTENDANCE", "BOTTOM_SKUS"):
            with self.subTest(empty=kind):
                r = d.query_raw(pb_query(Q(kind, store_id="NY1", from_day="2025-12-01",
                                           to_day="2025-12-31")))
                self.assertEqual(r.status, pb.QueryResult.OK, r.error)
                if kind in ("SALES", "TOP_SKUS", "CATEGORIES"):
                    self.assertEqual([len(t.rows) for t in r.tables], [0], "no rows")
                if kind == "CASHIERS":  # the drawers table is live, not of the range
                    self.assertEqual([(t.name, len(t.rows)) for t in r.tables],
                                     [("cashiers", 0), ("drawers", 0)], "no rows")
        # Bad dates and unknown stores: exit 1 and a message naming the value.
        for args, needle in [(["--store", "NY1", "--from", "2026-02-30"], "2026-02-30"),
                             (["--store", "NY1", "--from", "2026-3-8"], "2026-3-8"),
                             (["--store", "NY1", "--from", "2026-03-01", "--to", "soonish"],
                              "soonish"),
                             (["--store", "NOPE", "--from", "2026-03-08"], "NOPE"),
                             (["--region", "nowhere", "--from", "2026-03-08"], "nowhere")]:
            with self.subTest(cli=args):
                p = d.cli("query", "sales", *args, "--json", "-e", d.query)
                self.assertEqual(p.returncode, 1, "stdout %r stderr %r" % (p.stdout, p.stderr))
                self.assertEqual(p.stdout, "")
                self.assertIn(needle, p.stderr)
        # The same refusals on the wire, for other kinds too; and a range over 400 days. A
        # store or region the daemon does not hold is NOT_FOUND (a client of several daemons
        # leaves that answer out), a bad request ERROR.
        for q, needle, status in [
                (Q("STOCK", store_id="NOPE", **MARCH), "NOPE", pb.QueryResult.NOT_FOUND),
                (Q("COMPLAINTS", scope="region", region="nowhere", **MARCH), "nowhere",
                 pb.QueryResult.NOT_FOUND),
                (Q("ATTENDANCE", store_id="NY1", from_day="2026-02-29"), "2026-02-29",
                 pb.QueryResult.ERROR),
                (Q("SALES", store_id="NY1", from_day="2025-01-01", to_day="2026-03-01"), "400",
                 pb.QueryResult.ERROR)]:
            with self.subTest(wire=describe(q)):
                r = d.query_raw(pb_query(q))
                self.assertEqual(r.status, status, "%s answered %s" % (describe(q), r.status))
                self.assertIn(needle, r.error)
                self.assertEqual(len(r.tables), 0)

    # --- durability of the rollups ---

    def test_sigkill_between_checkpoints(self):
        """A daemon killed after the events are acked and before its checkpoint (60 s away)
        answers every query as one that was never killed: replayed from nothing, and replayed
        from a checkpoint after a clean stop; killing again or resending changes nothing."""
        ref = self.loaded()
        want = self.answers(ref)
        slow = "[rollup]\ncheckpoint_ms = 60000\n"

        d = self.daemon(CONFIG + slow)
        send_events(self, d, EVENTS)
        d.kill()
        d.start()
        self.assert_same_answers(self.answers(d), want, "killed before any checkpoint")

        d = self.daemon(CONFIG + slow)
        half = len(EVENTS) // 2
        _, seqs = send_events(self, d, EVENTS[:half])
        d.stop()
        d.start()
        sent, _ = send_events(self, d, EVENTS[half:], seqs=seqs)
        d.kill()
        d.start()
        self.assert_same_answers(self.answers(d), want, "killed after a restart")
        d.kill()
        d.start()
        self.assert_same_answers(self.answers(d), want, "killed again, nothing new")
        # The terminal never saw its last Ack and resends: duplicates, counted once.
        store, pbs = sent[-1]
        t = fwtest.Terminal(d.ingest)
        a = t.send(pbs)
        t.close()
        self.assertEqual((a.stored, a.duplicates), (0, len(pbs)))
        self.assert_same_answers(self.answers(d), want, "after a resent batch")

    def test_rebuild(self):
        """`floorwalkerd --rebuild` recomputes every rollup from the event log: every query
        answers as before."""
        d = self.loaded()
        before = self.answers(d)
        d.stop()
        p = subprocess.run([fwtest.DAEMON, "-c", d.conf, "--rebuild"], capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(p.returncode, 0, "--rebuild exited %d:\n%s" % (p.returncode, p.stderr))
        for m in fwtest.SAN_MARKERS:
            self.assertNotIn(m, p.stderr)
        d.start()
        self.assert_same_answers(self.answers(d), before, "after --rebuild")


if __name__ == "__main__":
    fwtest.main()
