"""Revocation under a live alert stream (issue 17), [security] mode = curve.

Two supervisors of one region follow alerts (Debian's python3-zmq, CURVE keys made by
`floorwalker keygen`) while a terminal key opens a complaint every ~20 ms (each a complaint_major
alert). Mid-stream one supervisor's key file is removed and the daemon gets SIGHUP: the revoked
subscriber receives nothing published after the reload + 1 s; the allowed one receives every
alert, pub_seq contiguous from its first to the last the daemon published; a subscriber that
connects after the reload is served.
"""
import os
import signal
import socket
import threading
import time

import zmq

import fwtest
from fwtest import DaemonTest, event, pb2, table
from test_curve import CurveDaemon, ack_of, batch, dealer, read_key, stat

STREAM_S = 4.0  # complaints over this long; the reload comes at RELOAD_AT_S
RELOAD_AT_S = 1.5
GAP_S = 0.02


class Follower(threading.Thread):
    """One SUB socket, in its own thread, recording (arrival time, pub_seq, alert_id)."""

    def __init__(self, endpoint, server_pub, key, topic=b"alert/"):
        super().__init__(daemon=True)
        self.endpoint, self.server_pub, self.key, self.topic = endpoint, server_pub, key, topic
        self.got = []
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self):
        s = zmq.Context.instance().socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, 100)
        s.curve_serverkey = self.server_pub
        s.curve_publickey, s.curve_secretkey = self.key
        s.setsockopt(zmq.SUBSCRIBE, self.topic)
        s.connect(self.endpoint)
        self.ready.set()
        while not self.stop.is_set():
            try:
                topic, body = s.recv_multipart()
            except zmq.Again:
                continue
            if not topic.startswith(b"alert/"):
                continue
            a = pb2().Alert()
            a.ParseFromString(body)
            self.got.append((time.time(), a.pub_seq, a.alert_id))
        s.close()

    def seqs(self):
        return [g[1] for g in self.got]


class RevokeTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.keys = os.path.join(self.tmp, "keys")
        for name, *args in (("server",), ("till1", "--role", "terminal", "--store", "S001"),
                            ("ops", "--role", "ops"),
                            ("sup-a", "--role", "supervisor", "--regions", "east"),
                            ("sup-b", "--role", "supervisor", "--regions", "east")):
            p = fwtest.run_cli("keygen", "-d", self.keys, *args, name)
            self.assertEqual(p.returncode, 0, p.stderr)
        key = lambda n: read_key(os.path.join(self.keys, n))
        self.server_pub = key("server.pub")[0]
        self.ops, self.till1 = key("ops.key"), key("till1.key")
        self.sup_a, self.sup_b = key("sup-a.key"), key("sup-b.key")
        self.followers = []

    def tearDown(self):
        for f in self.followers:
            f.stop.set()
            f.join(5)
        super().tearDown()

    def curve_daemon(self, tcp=False):
        conf = ("[security]\nmode = curve\nserver_key = %s/server.key\nkey_dir = %s\n"
                "[store:S001]\nregion = east\n" % (self.keys, self.keys))
        d = CurveDaemon(self.tmp, conf, name="d%d" % len(self.daemons))
        d.ops, d.server_pub = self.ops, self.server_pub
        if tcp:  # a port the old listener may still hold when the new socket binds
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                d.alerts = "tcp://127.0.0.1:%d" % s.getsockname()[1]
            d.write_config(conf)
        self.daemons.append(d)
        return d.start()

    def follow(self, d, key):
        f = Follower(d.alerts, self.server_pub, key)
        self.followers.append(f)
        f.start()
        f.ready.wait(5)
        return f

    def east_pub_seq(self, d):
        r = d.query_raw(pb2().Query(kind=pb2().Query.ALERTS))
        return {row["region"]: row["pub_seq"] for row in table(r, "pub_seq")}.get("east", 0)

    def wait_log(self, d, text, count, timeout=10):
        deadline = time.time() + timeout
        while d.read_log().count(text) < count and time.time() < deadline:
            time.sleep(0.02)
        self.assertGreaterEqual(d.read_log().count(text), count, d.read_log())

    def wait_until(self, cond, what, timeout=10):
        deadline = time.time() + timeout
        while not cond() and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(cond(), what)

    def test_revoked_subscriber_cut_allowed_one_loses_nothing(self):
        self.revoke_under_stream(self.curve_daemon())

    def test_revoke_under_stream_on_tcp(self):
        self.revoke_under_stream(self.curve_daemon(tcp=True))

    def revoke_under_stream(self, d):
        a, b = self.follow(d, self.sup_a), self.follow(d, self.sup_b)
        self.wait_until(lambda: stat(d, "subscribers") == 2, "two subscribers connected")
        t = dealer(d.ingest, self.server_pub, self.till1)
        seq = 0

        def complaint():
            nonlocal seq
            seq += 1
            t.send(batch(event("S001", "T1", 7, seq, complaint={
                "complaint_id": "C%d" % seq, "action": "OPENED", "category": "service",
                "severity": "MAJOR", "channel": "COUNTER"})))
            self.assertEqual(ack_of(t).acked_seq, seq)

        # Both are subscribed once each receives a probe alert.
        for _ in range(50):
            complaint()
            if a.got and b.got:
                break
            time.sleep(0.1)
        self.assertTrue(a.got and b.got, "no subscriber was served before the reload")
        first_a = a.got[0][1]

        start, reload_at = time.time(), None
        while time.time() - start < STREAM_S:
            if reload_at is None and time.time() - start >= RELOAD_AT_S:
                os.unlink(os.path.join(self.keys, "sup-b.pub"))
                d.proc.send_signal(signal.SIGHUP)
                reload_at = time.time()
            complaint()
            time.sleep(GAP_S)
        self.wait_log(d, "client key(s) allowed", 2)
        last = self.east_pub_seq(d)
        self.wait_until(lambda: a.got and a.got[-1][1] >= last,
                        "the allowed subscriber received up to pub_seq %d" % last)

        # The allowed subscriber: every alert, no gap, none twice.
        self.assertEqual(a.seqs(), list(range(first_a, last + 1)))
        # The revoked one: served before the reload, nothing published after the reload + 1 s
        # (every message it got arrived by then, so it was published by then).
        self.assertTrue(any(g[0] < reload_at for g in b.got))
        late = [g for g in b.got if g[0] > reload_at + 1.0]
        self.assertEqual(late, [], "revoked subscriber still served after the reload")
        self.assertLess(b.got[-1][1], last)
        self.assertEqual(stat(d, "alerts_rebinds"), 1)
        self.assertGreater(stat(d, "auth_denied"), 0)  # its reconnects are refused by ZAP
        self.assertIn("key sup-b loses its live alert subscription", d.read_log())

        # A subscriber that connects after the reload is served; the stream goes on for both.
        c = self.follow(d, self.sup_a)
        self.wait_until(lambda: stat(d, "subscribers") >= 2, "new subscriber connected")
        before_c = len(c.got)
        for _ in range(50):
            complaint()
            if len(c.got) > before_c:
                break
            time.sleep(0.1)
        self.assertGreater(len(c.got), before_c, "a subscriber after the reload is not served")
        last = self.east_pub_seq(d)
        self.wait_until(lambda: a.got[-1][1] >= last and c.got[-1][1] >= last, "both follow")
        self.assertEqual(a.seqs(), list(range(first_a, last + 1)))
        self.assertEqual(c.seqs(), list(range(c.got[0][1], last + 1)))
        self.assertLess(b.got[-1][1], last)
        t.close()

    def test_reload_without_revocation_keeps_the_socket(self):
        """A reload that takes nothing from a live subscription does not rebind."""
        d = self.curve_daemon()
        a = self.follow(d, self.sup_a)
        self.wait_until(lambda: stat(d, "subscribers") == 1, "subscriber connected")
        time.sleep(0.3)
        os.unlink(os.path.join(self.keys, "sup-b.pub"))  # a key with no subscription
        d.proc.send_signal(signal.SIGHUP)
        self.wait_log(d, "client key(s) allowed", 2)
        self.assertEqual(stat(d, "alerts_rebinds"), 0)
        self.assertEqual(stat(d, "subscribers"), 1)
        self.assertNotIn("loses its live alert subscription", d.read_log())
        a.stop.set()


if __name__ == "__main__":
    fwtest.main()
