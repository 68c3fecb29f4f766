#!/usr/bin/python3
"""Writes the fuzz seed corpus from real traffic: the frames the real CLI and terminal library
put on the wire, recorded by a stand-in daemon (a ROUTER that answers every batch with an Ack
and every query with an empty QueryResult).

  - `floorwalker publish -f` of a scripted day per store (every body kind and action: rota
    changes, clock-ins with breaks, a drawer from open to a short close, cash and split-tender
    sales, returns and post-voids, every stock move kind, a complaint's whole life and a surge,
    targets, skewed heartbeats, a late sale), sent in batches of several sizes;
  - `floorwalker sim` (the chain simulator), re-timed to the corpus clock;
  - `floorwalker query` of every kind and option;
  - a few batches one field away from a reject (hand-made with python3-protobuf).

Event times sit before FUZZ_NOW_MS, the clock fuzz_ingest.c validates with, so the events
validate and reach the rollups. Files are named by their SHA-1, as libFuzzer names its own.

Usage: tests/fuzz/make_corpus.py --cli BUILD/clients/cli/floorwalker [--out tests/fuzz/corpus]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import zmq

FUZZ_NOW_MS = 1795000000000  # fuzz_ingest.c
HOUR = 3600 * 1000
MIN = 60 * 1000
DAY = 24 * HOUR
HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "proto", "floorwalker.proto")
STORES = ["S001", "S002", "S003", "S004", "Z9"]  # Z9 is not configured in the fuzz target


def load_pb2(tmp):
    subprocess.run(["protoc", "-I" + os.path.dirname(PROTO), "--python_out=" + tmp, PROTO],
                   check=True)
    sys.path.insert(0, tmp)
    import floorwalker_pb2
    return floorwalker_pb2


class Recorder:
    """A stand-in daemon on two ipc endpoints: records every ingest and query frame."""

    def __init__(self, pb, tmp):
        self.pb = pb
        self.ingest = "ipc://%s/ingest" % tmp
        self.query = "ipc://%s/query" % tmp
        self.batches, self.queries = [], []
        self.stop = False
        ctx = zmq.Context.instance()
        self.si = ctx.socket(zmq.ROUTER)
        self.sq = ctx.socket(zmq.ROUTER)
        for s, ep in ((self.si, self.ingest), (self.sq, self.query)):
            s.setsockopt(zmq.LINGER, 0)
            s.bind(ep)
        self.th = threading.Thread(target=self.run)
        self.th.start()

    def run(self):
        poller = zmq.Poller()
        poller.register(self.si, zmq.POLLIN)
        poller.register(self.sq, zmq.POLLIN)
        while not self.stop:
            for s, _ in poller.poll(100):
                frames = s.recv_multipart()
                body = frames[-1]
                if s is self.si:
                    self.batches.append(body)
                    b = self.pb.EventBatch()
                    b.ParseFromString(body)
                    e = b.events
                    a = self.pb.Ack(terminal_id=e[0].terminal_id, epoch=e[0].epoch,
                                    acked_seq=max(x.seq for x in e),
                                    expected_seq=max(x.seq for x in e) + 1, stored=len(e))
                    s.send_multipart(frames[:-1] + [a.SerializeToString()])
                else:
                    self.queries.append(body)
                    q = self.pb.Query()
                    q.ParseFromString(body)
                    r = self.pb.QueryResult(request_id=q.request_id)
                    s.send_multipart(frames[:-1] + [r.SerializeToString()])

    def close(self):
        self.stop = True
        self.th.join()
        self.si.close()
        self.sq.close()


def sale(receipt, cashier, lines, kind="SALE", tenders=None, orig=None, total=None):
    ls = [{"sku": sku, "category": cat, "qty_milli": q, "unit_price_cents": p,
           "discount_cents": d, **({"promo": promo} if promo else {})}
          for sku, cat, q, p, d, promo in lines]
    if total is None:
        total = sum((q * p + 500) // 1000 - d for _, _, q, p, d, _ in lines)
    b = {"receipt_id": receipt, "cashier_id": cashier, "kind": kind, "lines": ls,
         "total_cents": total}
    b["tenders"] = tenders if tenders is not None else [{"method": "CARD", "amount_cents": total}]
    if orig:
        b["original_receipt_id"] = orig
    return b


def store_day(store):
    """A scripted day of one store: (terminal, event_time_ms, body kind, body)."""
    t0 = FUZZ_NOW_MS - 7 * HOUR
    K1, K2 = "K-%s-1" % store, "K-%s-2" % store
    E1, E2, E3 = "E-%s-1" % store, "E-%s-2" % store, "E-%s-3" % store
    till, desk, office = store + "-T01", store + "-T02", store + "-BO"
    day = time.strftime("%Y-%m-%d", time.gmtime(FUZZ_NOW_MS / 1000))
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(FUZZ_NOW_MS / 1000 + 86400))
    ev = []

    def add(term, t, kind, body):
        ev.append((term, t, kind, body))

    # The rota: two shifts, one moved, one cancelled, one over midnight.
    add(office, t0 - 2 * DAY, "shift", {"shift_id": "SH-1", "employee_id": E1, "role": "cashier",
                                        "start_ms": t0, "end_ms": t0 + 8 * HOUR})
    add(office, t0 - 2 * DAY + MIN, "shift", {"shift_id": "SH-2", "employee_id": E2,
                                              "role": "stock", "start_ms": t0 - HOUR,
                                              "end_ms": t0 + 6 * HOUR})
    add(office, t0 - DAY, "shift", {"shift_id": "SH-2", "employee_id": E2, "role": "stock",
                                    "start_ms": t0, "end_ms": t0 + 7 * HOUR})
    add(office, t0 - DAY + MIN, "shift", {"shift_id": "SH-3", "employee_id": E3,
                                          "start_ms": t0 + HOUR, "end_ms": t0 + 9 * HOUR})
    add(office, t0 - DAY + 2 * MIN, "shift", {"shift_id": "SH-3", "employee_id": E3,
                                              "cancelled": True})
    add(office, t0 - DAY + 3 * MIN, "shift", {"shift_id": "SH-4", "employee_id": E3,
                                              "role": "night", "start_ms": t0 - 10 * HOUR,
                                              "end_ms": t0 - 2 * HOUR})
    add(office, t0 - DAY + 4 * MIN, "sales_target", {"business_day": day,
                                                     "target_cents": 1500000})
    add(office, t0 - DAY + 5 * MIN, "sales_target", {"business_day": tomorrow,
                                                     "target_cents": 1700000})
    # Clock-ins: late, on time with a break, early leave.
    add(office, t0 + 12 * MIN, "attendance", {"employee_id": E1, "kind": "CLOCK_IN",
                                              "role": "cashier"})
    add(office, t0 - MIN, "attendance", {"employee_id": E2, "kind": "CLOCK_IN"})
    add(office, t0 - 9 * HOUR, "attendance", {"employee_id": E3, "kind": "CLOCK_IN"})
    add(office, t0 - 3 * HOUR, "attendance", {"employee_id": E3, "kind": "CLOCK_OUT"})
    add(office, t0 + 2 * HOUR, "attendance", {"employee_id": E2, "kind": "BREAK_START"})
    add(office, t0 + 2 * HOUR + 30 * MIN, "attendance", {"employee_id": E2, "kind": "BREAK_END"})
    add(office, t0 + 3 * HOUR, "attendance", {"employee_id": E1, "kind": "BREAK_START"})
    add(office, t0 + 5 * HOUR, "attendance", {"employee_id": E1, "kind": "CLOCK_OUT"})
    add(office, t0 + 5 * HOUR + MIN, "attendance", {"employee_id": E1, "kind": "CLOCK_IN"})
    # A drawer's day: open, cash sales, moves, a short close.
    add(till, t0 + 15 * MIN, "drawer", {"drawer_id": "D1", "cashier_id": K1, "kind": "OPEN",
                                        "amount_cents": 20000})
    lines = [("SKU-0001", "grocery", 2000, 199, 0, None), ("SKU-0002", "fresh", 532, 449, 0, None),
             ("SKU-0003", "household", 1000, 1299, 100, "P-3FOR2")]
    add(till, t0 + 20 * MIN, "sale", sale("R-1", K1, lines, tenders=[
        {"method": "CASH", "amount_cents": 1000},
        {"method": "CARD", "amount_cents": sum((q * p + 500) // 1000 - d
                                               for _, _, q, p, d, _ in lines) - 1000}]))
    for i in range(2, 9):
        ln = [("SKU-%04d" % (i * 7 % 23), ("grocery", "fresh", "household")[i % 3],
               1000 * (1 + i % 3), 99 + 37 * i, 0, None)]
        method = ("CASH", "CARD", "MOBILE", "VOUCHER", "OTHER")[i % 5]
        total = sum((q * p + 500) // 1000 - d for _, _, q, p, d, _ in ln)
        add(till, t0 + (20 + 5 * i) * MIN, "sale",
            sale("R-%d" % i, K1 if i % 2 else K2, ln,
                 tenders=[{"method": method, "amount_cents": total}]))
    add(till, t0 + 70 * MIN, "sale", sale("R-20", K1, [("SKU-0001", "grocery", 1000, 199, 0, None)],
                                          kind="RETURN", orig="R-1",
                                          tenders=[{"method": "CASH", "amount_cents": 199}]))
    add(till, t0 + 71 * MIN, "sale", sale("R-21", K1, [], kind="POST_VOID", orig="R-5",
                                          total=358, tenders=[]))
    add(till, t0 + 72 * MIN, "sale", sale("R-22", K2, [("SKU-0099", "fresh", 250, 1999, 0, None)],
                                          kind="RETURN", orig="R-x", tenders=[]))
    add(till, t0 + 80 * MIN, "drawer", {"drawer_id": "D1", "kind": "PAID_IN",
                                        "amount_cents": 5000})
    add(till, t0 + 90 * MIN, "drawer", {"drawer_id": "D1", "kind": "PICKUP",
                                        "amount_cents": 10000})
    add(till, t0 + 95 * MIN, "drawer", {"drawer_id": "D1", "kind": "PAID_OUT",
                                        "amount_cents": 1250})
    add(till, t0 + 100 * MIN, "drawer", {"drawer_id": "D2", "cashier_id": K2, "kind": "OPEN",
                                         "amount_cents": 900000})
    add(till, t0 + 6 * HOUR, "drawer", {"drawer_id": "D1", "cashier_id": K1, "kind": "CLOSE",
                                        "counted_cents": 14000})
    # Stock: every kind of move, a count far off the book.
    moves = [("RECEIVE", 24000, {}), ("TRANSFER_IN", 6000, {"counterparty_store": "S009"}),
             ("TRANSFER_OUT", 3000, {"counterparty_store": "S010"}),
             ("RETURN_TO_VENDOR", 1000, {"reference": "RTV-77"}), ("DAMAGE", 2000, {}),
             ("SHRINK", 500, {}), ("ADJUST", -1500, {"reference": "found in back"}),
             ("COUNT", 4000, {})]
    for i, (kind, q, extra) in enumerate(moves):
        add(office, t0 + (30 + i) * MIN, "stock_move",
            dict({"sku": "SKU-0001", "category": "grocery", "kind": kind, "qty_milli": q,
                  "unit_cost_cents": 120}, **extra))
    add(office, t0 + 45 * MIN, "stock_move", {"sku": "SKU-0777", "kind": "DAMAGE",
                                              "qty_milli": 90000, "unit_cost_cents": 25000})
    add(office, t0 + 46 * MIN, "stock_move", {"sku": "SKU-0002", "kind": "COUNT",
                                              "qty_milli": 0})
    # A complaint's life, then a surge of openings.
    c = {"complaint_id": "C-1", "category": "service", "handler_id": "H-1"}
    add(desk, t0 + HOUR, "complaint", dict(c, action="OPENED", severity="MAJOR",
                                           channel="REGULATOR", note="rude staff"))
    add(desk, t0 + 2 * HOUR, "complaint", dict(c, action="RESPONDED"))
    add(desk, t0 + 2 * HOUR + MIN, "complaint", dict(c, action="ESCALATED", severity="CRITICAL"))
    add(desk, t0 + 3 * HOUR, "complaint", dict(c, action="RESOLVED", compensation_cents=50000))
    add(desk, t0 + 4 * HOUR, "complaint", dict(c, action="REOPENED"))
    for i in range(2, 10):
        add(desk, t0 + 4 * HOUR + i * MIN, "complaint",
            {"complaint_id": "C-%d" % i, "action": "OPENED",
             "severity": ("MINOR", "MAJOR", "CRITICAL")[i % 3],
             "channel": ("COUNTER", "PHONE", "ONLINE", "REGULATOR")[i % 4],
             "category": ("queue", "price", "quality")[i % 3]})
    add(desk, t0 + 4 * HOUR + 30 * MIN, "complaint", {"complaint_id": "C-404",
                                                      "action": "RESPONDED"})
    # Heartbeats (one with a clock 20 minutes fast), and a sale from two days ago.
    add(till, FUZZ_NOW_MS - MIN, "heartbeat", {"terminal_time_ms": FUZZ_NOW_MS + 20 * MIN,
                                               "spool_depth": 12})
    add(desk, FUZZ_NOW_MS - MIN, "heartbeat", {"terminal_time_ms": FUZZ_NOW_MS - MIN})
    add(till, t0 - 2 * DAY, "sale", sale("R-OLD", K2, [("SKU-0004", "fresh", 1000, 350, 0, None)]))
    return ev


def publish(cli, rec, spool, lines, extra=()):
    p = subprocess.run([cli, "publish", "-e", rec.ingest, "--spool", spool, "-q", "-w", "20", "-f",
                        "-"] + list(extra), input="".join(json.dumps(x) + "\n" for x in lines),
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        sys.exit("floorwalker publish failed (%d): %s" % (p.returncode, p.stderr))


def record_publish(cli, rec, tmp):
    for store in STORES:
        by_term = {}
        for term, t, kind, body in store_day(store):
            by_term.setdefault(term, []).append({"store_id": store, "terminal_id": term,
                                                  "event_time_ms": t, kind: body})
        for term, evs in by_term.items():
            # Batches of several sizes: a few singles, then the rest in slices.
            i, size = 0, 1
            while i < len(evs):
                publish(cli, rec, os.path.join(tmp, "spool"), evs[i:i + size])
                i += size
                size = min(size * 2, 16)


def record_sim(cli, rec, tmp, pb):
    n0 = len(rec.batches)
    p = subprocess.run([cli, "sim", "-e", rec.ingest, "--stores", "4", "--terminals", "2", "-n",
                        "480", "--batch", "12", "--chunk", "12", "--no-fsync", "--seed", "7",
                        "--spool", os.path.join(tmp, "sim")],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit("floorwalker sim failed (%d): %s" % (p.returncode, p.stderr))
    # The simulator stamps events with the wall clock: move them to the corpus clock.
    out = []
    for raw in rec.batches[n0:]:
        b = pb.EventBatch()
        b.ParseFromString(raw)
        for e in b.events:
            shift = FUZZ_NOW_MS - 2 * HOUR - e.event_time_ms
            e.event_time_ms += shift
            body = e.WhichOneof("body")
            if body == "shift":
                e.shift.start_ms += shift
                e.shift.end_ms += shift
            elif body == "heartbeat":
                e.heartbeat.terminal_time_ms += shift
            elif body == "sales_target":
                e.sales_target.business_day = time.strftime(
                    "%Y-%m-%d", time.gmtime(e.event_time_ms / 1000))
        out.append(b.SerializeToString())
    del rec.batches[n0:]
    return out


def record_queries(cli, rec):
    day = time.strftime("%Y-%m-%d", time.gmtime(FUZZ_NOW_MS / 1000))
    runs = [["sales", "--store", "S001", "-g", "hour"], ["sales", "--region", "east", "-g", "week"],
            ["sales", "--from", "last-month", "-g", "month"], ["top-skus", "--store", "S002", "-n",
                                                               "5"],
            ["bottom-skus", "--scope", "chain"], ["categories", "--from", day, "--to", day],
            ["cashiers", "--store", "S003"], ["complaints", "--store", "S001"],
            ["stock", "--store", "S001", "--sku", "SKU-0001"], ["attendance", "--employee",
                                                                "E-S001-1"],
            ["alerts", "--region", "east"], ["spotcheck", "--store", "S004"], ["stats"],
            ["quarantine", "-n", "50"]]
    for r in runs:
        subprocess.run([cli, "query", "-e", rec.query, "-w", "5"] + r, capture_output=True,
                       timeout=30)


def near_misses(pb):
    """Batches one field away from a reject (and past it), to start the fuzzer at the edges."""
    t = FUZZ_NOW_MS - HOUR

    def ev(seq, **body):
        e = pb.Event(store_id="S001", terminal_id="S001-T09", epoch=3, seq=seq, event_time_ms=t)
        for k, v in body.items():
            getattr(e, k).CopyFrom(v)
        return e

    L = pb.SaleLine
    S = pb.Sale
    out = []
    cases = [
        # Largest amounts and quantities that validate, and a rounding edge.
        ev(1, sale=S(receipt_id="R", cashier_id="K", kind=S.SALE, total_cents=1000000000,
                     lines=[L(sku="A", qty_milli=1000, unit_price_cents=1000000000)])),
        ev(2, sale=S(receipt_id="R", cashier_id="K", kind=S.SALE, total_cents=100000000,
                     lines=[L(sku="A", qty_milli=100000000, unit_price_cents=1000)])),
        ev(3, sale=S(receipt_id="R", cashier_id="K", kind=S.RETURN, total_cents=1,
                     lines=[L(sku="A", qty_milli=1, unit_price_cents=500)])),
        ev(4, stock_move=pb.StockMove(sku="A", kind=pb.StockMove.ADJUST, qty_milli=-100000000,
                                      unit_cost_cents=1000000000)),
        ev(5, stock_move=pb.StockMove(sku="A", kind=pb.StockMove.COUNT, qty_milli=100000000,
                                      unit_cost_cents=1000000000)),
        ev(6, shift=pb.Shift(shift_id="X", employee_id="E", start_ms=1,
                             end_ms=1 + 24 * HOUR)),
        ev(7, shift=pb.Shift(shift_id="Y", employee_id="E", start_ms=(1 << 62),
                             end_ms=(1 << 62) + HOUR)),
        ev(8, sales_target=pb.SalesTarget(business_day="2400-02-29", target_cents=1)),
        ev(9, sales_target=pb.SalesTarget(business_day="1970-01-01", target_cents=0)),
        ev(10, drawer=pb.Drawer(drawer_id="D" * 64, cashier_id="K" * 64, kind=pb.Drawer.OPEN,
                                amount_cents=1000000000)),
        ev(11, complaint=pb.Complaint(complaint_id="C" * 64, action=pb.Complaint.OPENED,
                                      severity=pb.Complaint.CRITICAL,
                                      channel=pb.Complaint.REGULATOR, category="c" * 64,
                                      note="n" * 1024, compensation_cents=1000000000)),
        ev(12, heartbeat=pb.Heartbeat(terminal_time_ms=-(1 << 63), spool_depth=(1 << 64) - 1)),
        ev(13, attendance=pb.Attendance(employee_id="E", kind=pb.Attendance.CLOCK_OUT)),
    ]
    for c in cases:
        out.append(pb.EventBatch(events=[c]).SerializeToString())
    out.append(pb.EventBatch(events=cases).SerializeToString())
    # Just past the edges: future and retention, a bad id, a zero seq.
    far = ev(14, heartbeat=pb.Heartbeat())
    far.event_time_ms = FUZZ_NOW_MS + 10 * MIN + 1
    old = ev(15, heartbeat=pb.Heartbeat())
    old.event_time_ms = FUZZ_NOW_MS - 400 * DAY - 1
    bad = ev(16, heartbeat=pb.Heartbeat())
    bad.terminal_id = "T 1"
    zero = ev(0, heartbeat=pb.Heartbeat())
    out.append(pb.EventBatch(events=[far, old, bad, zero]).SerializeToString())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=os.environ.get("FW_CLI"), help="the floorwalker CLI")
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    a = ap.parse_args()
    if not a.cli:
        sys.exit("--cli BUILD/clients/cli/floorwalker is required")
    tmp = tempfile.mkdtemp(prefix="fw-corpus-")
    try:
        pb = load_pb2(tmp)
        rec = Recorder(pb, tmp)
        try:
            record_publish(a.cli, rec, tmp)
            sim = record_sim(a.cli, rec, tmp, pb)
            record_queries(a.cli, rec)
        finally:
            rec.close()
        frames = rec.batches + sim + rec.queries + near_misses(pb)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(a.out, exist_ok=True)
    new = 0
    for f in frames:
        path = os.path.join(a.out, hashlib.sha1(f).hexdigest())
        if not os.path.exists(path):
            with open(path, "wb") as out:
                out.write(f)
            new += 1
    print("%d frames recorded (%d batches from publish, %d from sim, %d queries), %d new files "
          "in %s" % (len(frames), len(rec.batches), len(sim), len(rec.queries), new, a.out))


if __name__ == "__main__":
    main()
