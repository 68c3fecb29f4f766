"""Hostile traffic: 100,000 mutated batches (FW_HOSTILE_N) from raw DEALERs against a running
daemon while well-formed terminals keep sending.

The mutations start from valid batches: bit flips, truncation, splices, inserted and duplicated
bytes, overlong varints; field-level edits made with python3-protobuf (negative and huge
quantities and amounts, bad and missing ids, huge strings, wrong totals, times in the future
and before the retention, unknown enums, missing bodies, too many lines, sequence gaps,
duplicates, mixed terminals, epoch 0, extreme clock readings, shifts at the end of time); and
frame-level ones (extra frames, empty frames, too many events, frames over max_msg_bytes, and
frames over libzmq's hard cap from a separate connection, which the daemon drops unanswered).

Asserted: every hostile message gets exactly one Ack, in order, and the field-level ones the
code they earn; meanwhile a raw probe terminal and `floorwalker sim` (through the terminal
library) are served (every batch acked, nothing rejected, the probe acked at least every
PROBE_GAP_S during the flood); the daemon stays up and stops cleanly; and its stats count
exactly what the Acks said: rejects_by_code equals the rejected entries (SEQ_GAP apart: those
are refusals, counted as gaps) plus the batch errors, by code, and events_total equals what the
Acks said was stored (mutations that happen to be valid events are stored like any other)
plus what the good terminals sent.
"""
import collections
import json
import os
import random
import threading
import time

import zmq

import fwtest
from fwtest import now_ms

N = int(os.environ.get("FW_HOSTILE_N", "100000"))
DEALERS = 4
WINDOW = 64  # messages in flight per DEALER: well under the ROUTER's send HWM, so no ack drops
MAX_MSG = 256 * 1024
HARD_CAP = 2 * MAX_MSG + 65536  # ingest.c: libzmq drops a connection past this
MAX_EVENTS = 500
MAX_LINES = 50
SLOW = fwtest.TIME_SCALE  # the daemon under valgrind (FW_DAEMON_WRAPPER) is slower
PROBE_GAP_S = 2.0 * SLOW  # the longest the probe may wait for an ack during the flood
ACK_TIMEOUT_S = 60 * SLOW

CONFIG = """
[limits]
max_lines = %d
[store:S001]
region = east
timezone = Europe/London
[store:S002]
region = west
timezone = America/New_York
[store:S003]
region = south
timezone = Australia/Lord_Howe
[store:S004]
region = north
timezone = Asia/Kathmandu
""" % MAX_LINES

HOUR = 3600 * 1000
DAY = 24 * HOUR
I64_MAX = (1 << 63) - 1
I64_MIN = -(1 << 63)


def utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class Msg:
    """A decoded message: attributes named as in the .proto, defaults for absent fields."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __str__(self):
        return "{%s}" % " ".join("%s: %r" % kv for kv in sorted(self.__dict__.items()) if kv[1])

    __repr__ = __str__


def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def _fields(b):
    i = 0
    while i < len(b):
        tag, i = _varint(b, i)
        if tag & 7 == 0:
            v, i = _varint(b, i)
        elif tag & 7 == 2:
            n, i = _varint(b, i)
            v, i = bytes(b[i:i + n]), i + n
        else:
            raise ValueError("wire type %d in an Ack" % (tag & 7))
        yield tag >> 3, v


def decode_ack(pb, data):
    """An Ack decoded by hand, strings as bytes, so that an Ack whose strings are not UTF-8 is
    still read (stock protobuf refuses it whole); utf8 tells whether stock protobuf took it."""
    a = Msg(terminal_id=b"", epoch=0, acked_seq=0, rejected=[], expected_seq=0, batch_code=0,
            batch_error=b"", stored=0, duplicates=0)
    names = {1: "terminal_id", 2: "epoch", 3: "acked_seq", 5: "expected_seq", 6: "batch_code",
             7: "batch_error", 8: "stored", 9: "duplicates"}
    for f, v in _fields(data):
        if f == 4:
            r = Msg(seq=0, code=0, reason=b"")
            for g, w in _fields(v):
                setattr(r, {1: "seq", 2: "code", 3: "reason"}.get(g, "_"), w)
            a.rejected.append(r)
        elif f in names:
            setattr(a, names[f], v)
    a.utf8 = all(utf8(x) for x in [a.terminal_id, a.batch_error] + [r.reason for r in a.rejected])
    if a.utf8:
        pb.Ack().ParseFromString(data)  # (not tried otherwise: it logs to stderr as it fails)
    return a


class Gen:
    """Valid events and their mutations for one hostile terminal (own rng, own epochs)."""

    def __init__(self, pb, rng, terminal, store, epoch_base):
        self.pb = pb
        self.r = rng
        self.terminal = terminal
        self.byte_terminal = terminal.replace("HOSTILE", "FUZZ")
        self.store = store
        self.epoch = epoch_base
        self.last_valid = None  # (epoch, events) of the last unmutated batch, for duplicates
        self.now = now_ms()

    # ---- valid material ------------------------------------------------------------------

    def sale(self, e):
        pb, r = self.pb, self.r
        s = e.sale
        s.receipt_id = "R-%d" % r.randrange(10 ** 6)
        s.cashier_id = "K-%d" % r.randrange(8)
        s.kind = r.choice([pb.Sale.SALE] * 8 + [pb.Sale.RETURN])
        if s.kind == pb.Sale.RETURN:
            s.original_receipt_id = "R-%d" % r.randrange(10 ** 6)
        total = 0
        for i in range(r.randint(1, 4)):
            q, p, d = 1000 * r.randint(1, 3), r.randint(99, 2999), r.choice([0, 0, 0, 50])
            s.lines.add(sku="SKU-%04d" % r.randrange(300), category=r.choice(["fresh", "grocery"]),
                        qty_milli=q, unit_price_cents=p, discount_cents=d,
                        promo=r.choice(["", "", "P-1"]))
            total += (q * p + 500) // 1000 - d
        s.total_cents = total
        s.tenders.add(method=r.choice([pb.Tender.CASH, pb.Tender.CARD]), amount_cents=total)

    def body(self, e):
        pb, r = self.pb, self.r
        k = r.randrange(8)
        if k == 0 or k == 1:
            self.sale(e)
        elif k == 2:
            e.complaint.complaint_id = "C-%d" % r.randrange(1000)
            e.complaint.action = r.choice([pb.Complaint.OPENED, pb.Complaint.RESPONDED,
                                           pb.Complaint.RESOLVED])
            e.complaint.severity = pb.Complaint.MINOR
            e.complaint.channel = pb.Complaint.COUNTER
            e.complaint.category = "service"
        elif k == 3:
            e.stock_move.sku = "SKU-%04d" % r.randrange(300)
            e.stock_move.kind = r.choice([pb.StockMove.RECEIVE, pb.StockMove.DAMAGE])
            e.stock_move.qty_milli = 1000 * r.randint(1, 24)
            e.stock_move.unit_cost_cents = r.randint(10, 900)
        elif k == 4:
            e.attendance.employee_id = "E-%d" % r.randrange(20)
            e.attendance.kind = r.choice([pb.Attendance.CLOCK_IN, pb.Attendance.CLOCK_OUT,
                                          pb.Attendance.BREAK_START, pb.Attendance.BREAK_END])
        elif k == 5:
            st = self.now - r.randrange(DAY)
            e.shift.shift_id = "SH-%d" % r.randrange(100)
            e.shift.employee_id = "E-%d" % r.randrange(20)
            e.shift.start_ms = st
            e.shift.end_ms = st + r.randint(1, 10) * HOUR
        elif k == 6:
            e.drawer.drawer_id = "D-%d" % r.randrange(3)
            e.drawer.kind = r.choice([pb.Drawer.OPEN, pb.Drawer.PAID_IN, pb.Drawer.PICKUP,
                                      pb.Drawer.CLOSE])
            e.drawer.amount_cents = r.randint(0, 50000)
            e.drawer.counted_cents = r.randint(0, 50000)
        else:
            e.heartbeat.terminal_time_ms = self.now
            e.heartbeat.spool_depth = r.randrange(100)

    def batch(self, n=None):
        """A fresh (terminal, epoch) and n valid events with seq 1..n."""
        self.epoch += 1
        n = n or self.r.randint(1, 5)
        evs = []
        for i in range(n):
            e = self.pb.Event(store_id=self.store, terminal_id=self.terminal, epoch=self.epoch,
                              seq=i + 1, event_time_ms=self.now - self.r.randrange(3 * HOUR))
            self.body(e)
            evs.append(e)
        return evs

    def ser(self, evs):
        return self.pb.EventBatch(events=evs).SerializeToString()

    # ---- mutations: each returns (frames, expectation) -------------------------------------

    def field(self):
        """One event of a valid batch gets a bad field: that event is rejected with a known
        code, the others are stored."""
        pb, r = self.pb, self.r
        evs = self.batch()
        j = r.randrange(len(evs))
        e = evs[j]
        R = pb.RejectCode
        kind = r.randrange(24)

        def as_sale():
            e.ClearField(e.WhichOneof("body"))
            self.sale(e)
            return e.sale

        if kind == 0:
            as_sale().lines[0].qty_milli = -r.randint(1, 10 ** 6)
            code = R.Value("QTY_OUT_OF_BOUNDS")
        elif kind == 1:
            as_sale().lines[0].qty_milli = r.choice([I64_MAX, I64_MIN, 10 ** 8 + 1, 0])
            code = R.Value("QTY_OUT_OF_BOUNDS")
        elif kind == 2:
            as_sale().lines[0].unit_price_cents = r.choice([-1, I64_MIN])
            code = R.Value("NEGATIVE_AMOUNT")
        elif kind == 3:
            as_sale().lines[0].unit_price_cents = r.choice([I64_MAX, 10 ** 9 + 1])
            code = R.Value("AMOUNT_OUT_OF_BOUNDS")
        elif kind == 4:
            s = as_sale()
            s.total_cents += r.choice([-1, 1]) * (len(s.lines) + r.randint(1, 10 ** 6))
            if s.total_cents < 0:
                s.total_cents += 2 * (len(s.lines) + 10 ** 6)
            code = R.Value("SALE_TOTAL_MISMATCH")
        elif kind == 5:
            as_sale().cashier_id = r.choice(["K 1", "K/1", "K\u00e91", "K" * 65, "x" * 100000,
                                             "K\n1"])
            code = R.Value("BAD_ID")
        elif kind == 6:
            as_sale().receipt_id = ""
            code = R.Value("MISSING_ID")
        elif kind == 7:
            e.store_id = r.choice(["S 1", "S001;DROP", "\u00a7", "S" * 65])
            code = R.Value("BAD_ID")
        elif kind == 8:
            e.store_id = "S9%03d" % r.randrange(1000)
            code = R.Value("UNKNOWN_STORE")
        elif kind == 9:
            e.store_id = r.choice([s for s in ("S001", "S002", "S003", "S004") if s != self.store])
            code = R.Value("TERMINAL_STORE_MISMATCH")
        elif kind == 10:
            e.event_time_ms = self.now + r.choice([DAY, 365 * DAY, I64_MAX - self.now])
            code = R.Value("TIME_IN_FUTURE")
        elif kind == 11:
            e.event_time_ms = self.now - 500 * DAY
            code = R.Value("TIME_TOO_OLD")
        elif kind == 12:
            e.event_time_ms = r.choice([0, -1, I64_MIN])
            code = R.Value("BAD_FIELD")
        elif kind == 13:
            e.ClearField(e.WhichOneof("body"))
            code = R.Value("MISSING_BODY")
        elif kind == 14:
            as_sale().kind = r.choice([0, 4, 99, -7])
            code = R.Value("BAD_ENUM")
        elif kind == 15:
            s = as_sale()
            for i in range(MAX_LINES + 1 - len(s.lines)):
                s.lines.add(sku="SKU-X%d" % i, category="x", qty_milli=1000, unit_price_cents=1)
            code = R.Value("TOO_MANY_LINES")
        elif kind == 16:
            e.ClearField(e.WhichOneof("body"))
            e.complaint.complaint_id = "C-1"
            e.complaint.action = pb.Complaint.OPENED
            e.complaint.severity = pb.Complaint.MINOR
            e.complaint.channel = pb.Complaint.PHONE
            if r.randrange(2):
                e.complaint.note = "n" * r.choice([1025, 5000, 60000])
            else:
                e.complaint.category = "c" * r.choice([65, 1000])
            code = R.Value("STRING_TOO_LONG")
        elif kind == 17:
            e.ClearField(e.WhichOneof("body"))
            e.drawer.drawer_id = "D-1"
            e.drawer.kind = pb.Drawer.PAID_OUT
            e.drawer.amount_cents = r.choice([-5, I64_MIN])
            code = R.Value("NEGATIVE_AMOUNT")
        elif kind == 18:
            e.ClearField(e.WhichOneof("body"))
            e.heartbeat.terminal_time_ms = r.choice([I64_MIN, -1, -self.now])
            code = R.Value("BAD_FIELD")
        elif kind == 19:
            e.ClearField(e.WhichOneof("body"))
            e.shift.shift_id = "SH-X"
            e.shift.employee_id = "E-1"
            e.shift.start_ms = r.choice([self.now, I64_MAX - HOUR])
            e.shift.end_ms = e.shift.start_ms - 1
            code = R.Value("BAD_FIELD")
        elif kind == 20:
            e.ClearField(e.WhichOneof("body"))
            e.sales_target.business_day = r.choice(["2026-02-30", "26-11-01", "", "2026-13-01",
                                                    "\u0661\u0669\u0667\u0660-01-01"])
            e.sales_target.target_cents = 100
            code = R.Value("BAD_FIELD")
        elif kind == 21:
            e.ClearField(e.WhichOneof("body"))
            e.stock_move.sku = "SKU-1"
            e.stock_move.kind = pb.StockMove.TRANSFER_OUT
            e.stock_move.qty_milli = 1000
            code = R.Value("MISSING_ID")  # a transfer names the other store
        elif kind == 22:
            # A sequence gap: refused (not quarantined), the batch stops there.
            for x in evs[j:]:
                x.seq += 5
            return [self.ser(evs)], {"gap": j + 1 + 5, "stored": j}
        else:
            # Valid, at the ends of the ranges: stored, and applied to the rollups.
            e.ClearField(e.WhichOneof("body"))
            c = r.randrange(3)
            if c == 0:
                e.shift.shift_id = "SH-END"
                e.shift.employee_id = "E-1"
                e.shift.start_ms = r.choice([1, I64_MAX - DAY, 1 << 62])
                e.shift.end_ms = e.shift.start_ms + DAY
            elif c == 1:
                e.heartbeat.terminal_time_ms = r.choice([I64_MAX, 1])
                e.heartbeat.spool_depth = (1 << 64) - 1
            else:
                e.stock_move.sku = "SKU-1"
                e.stock_move.kind = pb.StockMove.COUNT
                e.stock_move.qty_milli = 10 ** 8
                e.stock_move.unit_cost_cents = 10 ** 9
            return [self.ser(evs)], {"stored": len(evs)}
        return [self.ser(evs)], {"reject": (j + 1, code), "stored": len(evs) - 1}

    def batch_level(self):
        pb, r = self.pb, self.r
        R = pb.RejectCode
        kind = r.randrange(8)
        if kind == 0:
            evs = self.batch()
            for e in evs:
                e.epoch = 0
            return [self.ser(evs)], {"batch": R.Value("BAD_SEQ")}
        if kind == 1:
            evs = self.batch(r.randint(2, 5))
            evs[r.randrange(1, len(evs))].terminal_id = "OTHER-%d" % r.randrange(10)
            return [self.ser(evs)], {"batch": R.Value("BAD_BATCH")}
        if kind == 2:
            return [self.ser(self.batch()), b"x" * r.randrange(100)] + \
                [b""] * r.randrange(3), {"batch": R.Value("BAD_BATCH")}
        if kind == 3:
            return [b""], {"batch": R.Value("BAD_BATCH")}
        if kind == 4:
            evs = self.batch(1)
            return [self.ser(evs * (MAX_EVENTS + 1))], {"batch": R.Value("BAD_BATCH")}
        if kind == 5:
            evs = self.batch(1)
            t = evs[0].terminal_id = r.choice(["", "T 1", "T" * 65])
            return [self.ser(evs)], {"batch": R.Value("MISSING_ID" if not t else "BAD_ID")}
        if kind == 6 and self.last_valid:
            # A resend of an earlier batch: every event a duplicate.
            ser, n = self.last_valid
            return [ser], {"stored": 0, "dups": n}
        # Not a batch at all.
        return [bytes([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]) + os.urandom(r.randrange(40))], \
            {"batch": R.Value("DECODE_ERROR")}

    def oversize(self):
        evs = self.batch(1)
        evs[0].ClearField(evs[0].WhichOneof("body"))
        evs[0].heartbeat.SetInParent()
        pad = MAX_MSG + 1 + self.r.randrange(MAX_MSG // 2)
        evs[0].store_id = "S" * pad  # over max_msg_bytes, under the hard cap
        return [self.ser(evs)], {"batch": self.pb.RejectCode.Value("BAD_BATCH")}

    def bytes_level(self, other):
        """Byte mutations of a valid batch: anything may come of it, but one Ack."""
        r = self.r
        evs = self.batch()
        for e in evs:
            # Their own terminal: what a flipped epoch or seq stores can never make one of
            # the field-level messages (whose outcome is asserted) a duplicate.
            e.terminal_id = self.byte_terminal
        d = bytearray(self.ser(evs))
        kind = r.randrange(6)
        if kind == 0:
            for _ in range(r.randint(1, 8)):
                i = r.randrange(len(d) * 8)
                d[i // 8] ^= 1 << (i % 8)
        elif kind == 1:
            d = d[:r.randrange(len(d))]
        elif kind == 2:
            d = d[:r.randrange(len(d))] + other[r.randrange(len(other)):]
        elif kind == 3:
            i = r.randrange(len(d) + 1)
            d[i:i] = os.urandom(r.randint(1, 16))
        elif kind == 4:
            i = r.randrange(len(d))
            j = r.randrange(i, len(d) + 1)
            d[i:i] = d[i:j] * r.randint(1, 4)
        else:
            i = r.randrange(len(d))
            d[i:i + 1] = r.choice([b"\xff" * 10 + b"\x01", b"\x80" * 11, b"\xff\xff\xff\xff\x0f"])
        return [bytes(d)], None

    def valid(self):
        evs = self.batch()
        ser = self.ser(evs)
        self.last_valid = (ser, len(evs))
        return [ser], {"stored": len(evs)}

    def next(self, other):
        x = self.r.random()
        if x < 0.40:
            return self.field()
        if x < 0.55:
            return self.batch_level()
        if x < 0.551:
            return self.oversize()
        if x < 0.95:
            return self.bytes_level(other)
        return self.valid()


class Flood:
    """One hostile DEALER: sends its share with WINDOW in flight and checks each Ack."""

    def __init__(self, pb, endpoint, idx, n, store, seed):
        self.pb = pb
        self.endpoint = endpoint
        self.n = n
        self.gen = Gen(pb, random.Random(seed), "HOSTILE-%d" % idx, store, 1000 * 1000 * idx)
        self.counts = collections.Counter()  # reject code name -> count, as the Acks said
        self.stored = self.dups = self.gaps = self.acks = self.not_utf8 = 0
        self.errors = []
        self.th = threading.Thread(target=self.run)

    def bind(self):
        """The terminal's first event, so that it is bound to its store before the flood."""
        s = self.socket()
        s.send(self.gen.ser(self.gen.batch(1)))
        s.RCVTIMEO = int(ACK_TIMEOUT_S * 1000)
        a = decode_ack(self.pb, s.recv())
        s.close()
        assert a.stored == 1 and not a.rejected, a
        self.stored += 1

    def socket(self):
        s = zmq.Context.instance().socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        return s

    def check(self, i, exp, a):
        pb = self.pb
        if not a.utf8:
            # Stock protobuf refuses an Ack whose strings are not UTF-8: every reason and id
            # the daemon sends back must be (bad bytes are quoted as \xNN, a bad terminal_id
            # is not echoed).
            if len(self.errors) < 10:
                self.errors.append("%s message %d: an Ack stock protobuf cannot parse: %s" %
                                   (self.gen.terminal, i, a))
            self.not_utf8 += 1
        for rj in a.rejected:
            if rj.code == pb.RejectCode.Value("SEQ_GAP"):
                self.gaps += 1
            else:
                self.counts[pb.RejectCode.Name(rj.code)] += 1
        if a.batch_code:
            self.counts[pb.RejectCode.Name(a.batch_code)] += 1
        self.stored += a.stored
        self.dups += a.duplicates
        if exp is None:
            return
        bad = None
        if "batch" in exp:
            if a.batch_code != exp["batch"]:
                bad = "batch_code %s" % pb.RejectCode.Name(exp["batch"])
        elif a.batch_code:
            bad = "no batch error"
        elif "reject" in exp:
            if [(r.seq, r.code) for r in a.rejected] != [exp["reject"]]:
                bad = "rejected seq %d with %s" % (exp["reject"][0],
                                                   pb.RejectCode.Name(exp["reject"][1]))
        elif "gap" in exp:
            if [(r.seq, r.code) for r in a.rejected] != [(exp["gap"],
                                                          pb.RejectCode.Value("SEQ_GAP"))]:
                bad = "a gap at seq %d" % exp["gap"]
        elif a.rejected:
            bad = "no rejection"
        if not bad and "stored" in exp and a.stored != exp["stored"]:
            bad = "%d stored" % exp["stored"]
        if not bad and "dups" in exp and a.duplicates != exp["dups"]:
            bad = "%d duplicates" % exp["dups"]
        if bad and len(self.errors) < 10:
            self.errors.append("%s message %d: expected %s, got %s" %
                               (self.gen.terminal, i, bad, str(a).replace("\n", " ")))

    def run(self):
        s = self.socket()
        try:
            pending = collections.deque()
            other = self.gen.ser(self.gen.batch())
            sent = 0
            while sent < self.n or pending:
                while sent < self.n and len(pending) < WINDOW:
                    frames, exp = self.gen.next(other)
                    s.send_multipart(frames)
                    if len(frames) == 1 and len(frames[0]) > 16:
                        other = frames[0]
                    pending.append((sent, exp))
                    sent += 1
                if not s.poll(int(ACK_TIMEOUT_S * 1000)):
                    self.errors.append("%s: no Ack for %.0f s with %d in flight (sent %d)" %
                                       (self.gen.terminal, ACK_TIMEOUT_S, len(pending), sent))
                    break
                a = decode_ack(self.pb, s.recv())
                i, exp = pending.popleft()
                self.acks += 1
                self.check(i, exp, a)
        except Exception as e:  # reported by the test, not lost in the thread
            self.errors.append("%s: %r" % (self.gen.terminal, e))
        finally:
            s.close()


class Probe:
    """A well-formed raw terminal: one small valid batch every 100 ms, each Ack timed."""

    def __init__(self, pb, endpoint, store):
        self.gen = Gen(pb, random.Random(99), "PROBE-1", store, 7 * 10 ** 9)
        self.pb = pb
        self.endpoint = endpoint
        self.seq = 0
        self.acked = []  # (time, Ack)
        self.errors = []
        self.stop = threading.Event()
        self.th = threading.Thread(target=self.run)

    def _batch(self):
        evs = []
        for _ in range(3):
            self.seq += 1
            e = self.pb.Event(store_id=self.gen.store, terminal_id="PROBE-1", epoch=1,
                              seq=self.seq, event_time_ms=now_ms())
            Gen.body(self.gen, e)
            evs.append(e)
        return evs

    def run(self):
        s = zmq.Context.instance().socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        try:
            while not self.stop.is_set():
                evs = self._batch()
                s.send(self.pb.EventBatch(events=evs).SerializeToString())
                if not s.poll(int(ACK_TIMEOUT_S * 1000)):
                    self.errors.append("probe: no Ack for %.0f s" % ACK_TIMEOUT_S)
                    return
                a = self.pb.Ack()
                a.ParseFromString(s.recv())
                self.acked.append((time.monotonic(), a))
                if a.rejected or a.batch_code or a.acked_seq != self.seq or a.stored != 3:
                    self.errors.append("probe: bad Ack %s" % str(a).replace("\n", " "))
                    return
                self.stop.wait(0.1)
        except Exception as e:
            self.errors.append("probe: %r" % e)
        finally:
            s.close()


class SimLoop:
    """`floorwalker sim` through the terminal library, run after run, until stopped."""

    def __init__(self, d, spool):
        self.d = d
        self.spool = spool
        self.sent = self.resends = 0
        self.runs = 0
        self.errors = []
        self.stop = threading.Event()
        self.th = threading.Thread(target=self.run)

    def run(self):
        while not self.stop.is_set():
            p = self.d.cli("sim", "-e", self.d.ingest, "--stores", "2", "--terminals", "2",
                           "-n", "800", "--rate", "400", "--batch", "50", "--no-fsync",
                           "--seed", str(self.runs + 1), "--spool", self.spool, "-w",
                           str(int(ACK_TIMEOUT_S)), "--json", timeout=ACK_TIMEOUT_S * 3)
            self.runs += 1
            if p.returncode != 0:
                self.errors.append("sim run %d exited %d: %s %s" % (self.runs, p.returncode,
                                                                    p.stdout, p.stderr))
                return
            r = json.loads(p.stdout)
            if r["rejected"] or r["spool_left"]:
                self.errors.append("sim run %d: %s" % (self.runs, p.stdout))
                return
            self.sent += r["sent"]
            self.resends += r["resends"]


class Hostile(fwtest.DaemonTest):
    def test_flood(self):
        pb = fwtest.pb2()
        d = self.daemon(CONFIG, start=False)
        with open(d.conf) as f:
            conf = f.read().replace("[ingest]\n", "[ingest]\nmax_msg_bytes = %d\n"
                                    "max_events_per_batch = %d\n" % (MAX_MSG, MAX_EVENTS))
        with open(d.conf, "w") as f:
            f.write(conf)
        d.start()
        t0 = time.monotonic()
        stores = ["S001", "S002", "S003", "S004"]
        floods = [Flood(pb, d.ingest, i, N // DEALERS + (i < N % DEALERS), stores[i % 4],
                        1234 + i) for i in range(DEALERS)]
        for f in floods:
            f.bind()
        probe = Probe(pb, d.ingest, "S003")
        sim = SimLoop(d, os.path.join(self.tmp, "sim-spool"))
        probe.th.start()
        sim.th.start()
        time.sleep(0.5)  # the good terminals are under way before the flood starts
        flood_start = time.monotonic()
        for f in floods:
            f.th.start()
        # Frames past libzmq's hard cap, from their own connections: dropped, no Ack.
        for _ in range(3):
            s = zmq.Context.instance().socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(d.ingest)
            s.send(b"\x0a" + b"\x00" * (HARD_CAP + 1024))
            time.sleep(0.2)
            s.close()
        for f in floods:
            f.th.join()
        flood_end = time.monotonic()
        time.sleep(0.5)
        probe.stop.set()
        sim.stop.set()
        probe.th.join()
        sim.th.join()

        for f in floods:
            self.assertEqual(f.errors, [])
            self.assertEqual(f.acks, f.n, f.gen.terminal)
        self.assertEqual(probe.errors, [])
        self.assertEqual(sim.errors, [])
        self.assertIsNone(d.proc.poll(), "the daemon exited:\n" + d.read_log())

        # The probe was served all through the flood.
        times = [flood_start] + [t for t, _ in probe.acked if flood_start <= t <= flood_end] + \
            [flood_end]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreater(len(times), 2, "no probe Ack during the flood")
        self.assertLess(max(gaps), PROBE_GAP_S,
                        "the probe waited %.2f s for an Ack during the flood" % max(gaps))
        self.assertGreater(sim.sent, 0)

        # The daemon counted what the Acks said.
        acked = collections.Counter()
        for f in floods:
            acked.update(f.counts)
        st = d.stats()
        self.assertEqual(st["rejects_by_code"], dict(acked))
        daemon = st["daemon"]
        self.assertEqual(daemon["gaps"], sum(f.gaps for f in floods))
        stored = sum(f.stored for f in floods) + 3 * len(probe.acked) + sim.sent
        self.assertEqual(daemon["events_total"], stored)
        # The library resends a batch whose Ack is late: those are duplicates too.
        dups = sum(f.dups for f in floods)
        if sim.resends:
            self.assertGreaterEqual(daemon["duplicates"], dups)
        else:
            self.assertEqual(daemon["duplicates"], dups)
        self.assertEqual(daemon["acks_dropped"], 0)
        elapsed = time.monotonic() - t0
        print("\n%d hostile messages from %d DEALERs in %.1f s (%.0f/s); %d rejected events and "
              "batch errors by code %s; %d gaps; %d hostile events stored, %d duplicates; probe "
              "%d Acks, longest wait %.2f s; sim %d runs, %d events" %
              (N, DEALERS, flood_end - flood_start, N / (flood_end - flood_start),
               sum(acked.values()), dict(sorted(acked.items())), daemon["gaps"],
               sum(f.stored for f in floods), daemon["duplicates"], len(probe.acked), max(gaps),
               sim.runs, sim.sent))
        print("Acks stock protobuf cannot parse: %d (must be 0); whole test "
              "%.1f s, daemon rss %d kB" % (sum(f.not_utf8 for f in floods), elapsed,
                                            daemon.get("rss_kb", 0)))


if __name__ == "__main__":
    fwtest.main()
