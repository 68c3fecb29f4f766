"""[security] mode = curve: CurveZMQ on every socket, keys bound to stores and roles.

Real daemon, real sockets: keys are made by `floorwalker keygen` (and by python3-zmq for the
unknown ones), the daemon reads them from [key:NAME] sections and a key_dir, and clients are
the real CLI, the terminal library (through `floorwalker publish`) and Debian's python3-zmq.
"""
import json
import os
import re
import signal
import subprocess
import time

import zmq

import fwtest
from fwtest import DaemonTest, event, pb2, sale, table


def read_key(path):
    """(public, secret) Z85 strings from a keygen file; secret is None in a .pub."""
    with open(path) as f:
        text = f.read()
    pub = re.search(r'public-key = "([^"]{40})"', text).group(1)
    sec = re.search(r'secret-key = "([^"]{40})"', text)
    return pub.encode(), (sec.group(1).encode() if sec else None)


class CurveDaemon(fwtest.Daemon):
    """A Daemon whose own readiness probe and query_raw use the ops key (or key=)."""

    ops = None
    server_pub = None

    def query_raw(self, q, timeout_ms=5000, key=None):
        pub, sec = key or self.ops
        return super().query_raw(q, timeout_ms, curve=(self.server_pub, pub, sec))


def dealer(endpoint, server_pub=None, key=None):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, int(1500 * fwtest.TIME_SCALE))
    if server_pub:
        s.curve_serverkey = server_pub
        s.curve_publickey, s.curve_secretkey = key
    s.connect(endpoint)
    return s


def batch(*events):
    b = pb2().EventBatch()
    b.events.extend(events)
    return b.SerializeToString()


def ack_of(s):
    a = pb2().Ack()
    a.ParseFromString(s.recv())
    return a


def stat(d, name):
    for r in table(d.query_raw(pb2().Query(kind=pb2().Query.STATS)), "daemon"):
        if r["name"] == name:
            return r["value"]
    raise AssertionError("no stat " + name)


def rejects(d, code):
    for r in table(d.query_raw(pb2().Query(kind=pb2().Query.STATS)), "rejects_by_code"):
        if r["code"] == code:
            return r["count"]
    return 0


class CurveTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.keys = os.path.join(self.tmp, "keys")
        self.keygen("server")
        self.keygen("till1", "--role", "terminal", "--store", "S001")
        self.keygen("ops", "--role", "ops")
        self.keygen("sup-east", "--role", "supervisor", "--regions", "east")
        self.server_pub = read_key(os.path.join(self.keys, "server.pub"))[0]
        self.ops = read_key(os.path.join(self.keys, "ops.key"))
        self.till1 = read_key(os.path.join(self.keys, "till1.key"))
        self.sup = read_key(os.path.join(self.keys, "sup-east.key"))

    def keygen(self, name, *args, where=None):
        p = fwtest.run_cli("keygen", "-d", where or self.keys, *args, name)
        self.assertEqual(p.returncode, 0, p.stderr)
        return os.path.join(where or self.keys, name)

    def config(self, extra=""):
        return ("[security]\nmode = curve\nserver_key = %s/server.key\nkey_dir = %s\n"
                "[store:S001]\nregion = east\n[store:S002]\nregion = west\n%s"
                % (self.keys, self.keys, extra))

    def curve_daemon(self, extra="", start=True):
        d = CurveDaemon(self.tmp, self.config(extra), name="d%d" % len(self.daemons))
        d.ops, d.server_pub = self.ops, self.server_pub
        self.daemons.append(d)
        if start:
            d.start()
        return d

    def cli(self, d, *args, key="ops.key"):
        return d.cli(*args, "--key", os.path.join(self.keys, key), "--server-key",
                     os.path.join(self.keys, "server.pub"))

    # ---- who can connect ----------------------------------------------------------------

    def test_no_key_or_unknown_key_cannot_connect(self):
        d = self.curve_daemon()
        ev = event("S001", "T1", 7, 1, heartbeat={"spool_depth": 0})
        # No key at all: the CURVE server does not talk to a NULL-mechanism client.
        s = dealer(d.ingest)
        s.send(batch(ev))
        with self.assertRaises(zmq.Again):
            s.recv()
        s.close()
        # A well-formed key that is not in the configuration: the ZAP handler refuses it.
        stranger = zmq.curve_keypair()
        s = dealer(d.ingest, self.server_pub, stranger)
        s.send(batch(ev))
        with self.assertRaises(zmq.Again):
            s.recv()
        s.close()
        with self.assertRaises(TimeoutError):
            d.query_raw(pb2().Query(kind=pb2().Query.STATS), timeout_ms=1500, key=stranger)
        # The right key for the wrong socket: a terminal key may not query.
        with self.assertRaises(TimeoutError):
            d.query_raw(pb2().Query(kind=pb2().Query.STATS), timeout_ms=1500, key=self.till1)
        # And an unknown subscriber gets no alerts: it never completes the handshake.
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.curve_serverkey = self.server_pub
        sub.curve_publickey, sub.curve_secretkey = stranger
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        mon = sub.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH |
                                     zmq.EVENT_HANDSHAKE_SUCCEEDED)
        sub.connect(d.alerts)
        self.assertTrue(mon.poll(5000), "no handshake outcome for the unknown subscriber")
        from zmq.utils.monitor import recv_monitor_message
        self.assertEqual(recv_monitor_message(mon)["event"], zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        sub.disable_monitor()
        mon.close()
        sub.close()
        # The known terminal key is served, and nothing of the refused ones was stored.
        s = dealer(d.ingest, self.server_pub, self.till1)
        s.send(batch(ev))
        a = ack_of(s)
        s.close()
        self.assertEqual((a.acked_seq, a.stored, len(a.rejected)), (1, 1, 0))
        self.assertEqual(stat(d, "events_total"), 1)
        self.assertGreaterEqual(stat(d, "auth_denied"), 3)
        self.assertIn("unknown key", d.read_log())

    # ---- keys bound to stores -----------------------------------------------------------

    def test_terminal_key_bound_to_its_store(self):
        d = self.curve_daemon()
        s = dealer(d.ingest, self.server_pub, self.till1)
        evs = [event("S001", "T1", 9, 1, sale=sale("R1")),
               event("S002", "T1", 9, 2, sale=sale("R2")),
               event("S002", "T1", 9, 3, heartbeat={"spool_depth": 0}),
               event("S001", "T1", 9, 4, sale=sale("R3"))]
        s.send(batch(*evs))
        a = ack_of(s)
        s.close()
        # Every event is acked; the two for S002 are rejected with their own code.
        self.assertEqual(a.acked_seq, 4)
        self.assertEqual(a.stored, 2)
        self.assertEqual([(r.seq, r.code) for r in a.rejected],
                         [(2, pb2().KEY_STORE_MISMATCH), (3, pb2().KEY_STORE_MISMATCH)])
        self.assertIn('bound to store "S001"', a.rejected[0].reason)
        # Counted ...
        self.assertEqual(rejects(d, "KEY_STORE_MISMATCH"), 2)
        self.assertEqual(stat(d, "events_total"), 2)
        # ... and kept in the quarantine, whole.
        q = table(d.query_raw(pb2().Query(kind=pb2().Query.QUARANTINE)), "quarantine")
        self.assertEqual(sorted((r["seq"], r["code"]) for r in q),
                         [(2, "KEY_STORE_MISMATCH"), (3, "KEY_STORE_MISMATCH")])
        # The same through the terminal library and the CLI: exit 4, named in stderr.
        p = self.cli(d, "publish", "-e", d.ingest, "-s", "S002", "-t", "T9", "--spool",
                     os.path.join(self.tmp, "sp9"), "-w", "10", "heartbeat", "spool_depth=0",
                     key="till1.key")
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("KEY_STORE_MISMATCH", p.stderr)
        p = self.cli(d, "publish", "-e", d.ingest, "-s", "S001", "-t", "T9", "--spool",
                     os.path.join(self.tmp, "sp9b"), "-w", "10", "heartbeat", "spool_depth=0",
                     key="till1.key")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rejects(d, "KEY_STORE_MISMATCH"), 3)
        self.assertEqual(stat(d, "events_total"), 3)

    # ---- roles --------------------------------------------------------------------------

    def test_supervisor_sees_only_their_regions(self):
        d = self.curve_daemon()
        Q = pb2().Query
        east = Q(kind=Q.SALES, region="east")
        self.assertEqual(d.query_raw(east, key=self.sup).status, pb2().QueryResult.OK)
        self.assertEqual(d.query_raw(Q(kind=Q.SALES, store_id="S001"), key=self.sup).status,
                         pb2().QueryResult.OK)
        self.assertEqual(d.query_raw(Q(kind=Q.ALERTS, region="east"), key=self.sup).status,
                         pb2().QueryResult.OK)
        refused = [Q(kind=Q.SALES, region="west"), Q(kind=Q.TOP_SKUS, store_id="S002"),
                   Q(kind=Q.SALES, scope="chain"), Q(kind=Q.SALES),
                   Q(kind=Q.ALERTS, region="west"), Q(kind=Q.ALERTS),
                   Q(kind=Q.SPOTCHECK, store_id="S002"), Q(kind=Q.STATS),
                   Q(kind=Q.QUARANTINE), Q(kind=Q.SALES, scope="region", region="west",
                                           store_id="S001")]
        for q in refused:
            r = d.query_raw(q, key=self.sup)
            self.assertEqual(r.status, pb2().QueryResult.ERROR, str(q))
            self.assertIn("sup-east", r.error)
        self.assertEqual(stat(d, "queries_refused"), len(refused))
        # ops: everything.
        for q in refused[:-3]:
            self.assertEqual(d.query_raw(q).status, pb2().QueryResult.OK, str(q))
        # The CLI says why and exits 1.
        p = self.cli(d, "query", "sales", "-e", d.query, "--region", "west", key="sup-east.key")
        self.assertEqual(p.returncode, 1)
        self.assertIn('not region "west"', p.stderr)
        p = self.cli(d, "query", "sales", "-e", d.query, "--region", "east", key="sup-east.key")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli(d, "alerts", "-e", d.alerts, "-q", d.query, "--region", "east", "-W", "1",
                     key="sup-east.key")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_supervisor_follows_all_their_regions(self):
        """With no --region, `floorwalker alerts` with a supervisor's key follows every region of
        the key (it was refused as "whole chain"); --region takes a comma list."""
        self.keygen("sup-en", "--role", "supervisor", "--regions", "east,north")
        for store in ("S002", "S003"):
            self.keygen("till-" + store, "--role", "terminal", "--store", store)
        d = self.curve_daemon("[store:S003]\nregion = north\n")
        for store, key in (("S001", self.till1), ("S002", read_key(os.path.join(
                self.keys, "till-S002.key"))), ("S003", read_key(os.path.join(
                    self.keys, "till-S003.key")))):
            s = dealer(d.ingest, self.server_pub, key)
            s.send(batch(event(store, "T-" + store, 7, 1, complaint={
                "complaint_id": "C1", "action": "OPENED", "severity": "MAJOR",
                "channel": "COUNTER"})))
            self.assertEqual(ack_of(s).stored, 1)
            s.close()
        want = ["complaint_major/S001/C1", "complaint_major/S003/C1"]
        for args in ([], ["--region", "east,north"]):
            p = self.cli(d, "alerts", "-e", d.alerts, "-q", d.query, "--json", "-W", "1",
                         "--rule", "complaint_major", *args, key="sup-en.key")
            self.assertEqual(p.returncode, 0, "%s: %s" % (args, p.stderr))
            self.assertEqual(sorted(json.loads(x)["alert_id"] for x in p.stdout.splitlines()),
                             want, args)
        # ops with a comma list too.
        p = self.cli(d, "alerts", "-e", d.alerts, "-q", d.query, "--json", "-W", "1", "--region",
                     "west, north", "--rule", "complaint_major")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(json.loads(x)["alert_id"] for x in p.stdout.splitlines()),
                         ["complaint_major/S002/C1", "complaint_major/S003/C1"])

    def test_ack_names_the_key_and_reason(self):
        """An acknowledgement's resolution names the CURVE key that made it and its reason, so a
        RESOLVED alert says who closed it (docs/ALERTS.md "Resolution")."""
        d = self.curve_daemon()
        s = zmq.Context.instance().socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, 5000)
        s.curve_serverkey = self.server_pub
        s.curve_publickey, s.curve_secretkey = self.ops
        s.setsockopt(zmq.SUBSCRIBE, b"alert/east/S001/compensation_over_limit")
        s.connect(d.alerts)
        deadline = time.time() + 10
        while stat(d, "subscribers") < 1 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the subscription travels after the handshake
        t = dealer(d.ingest, self.server_pub, self.till1)
        t.send(batch(event("S001", "T1", 3, 1, complaint={
            "complaint_id": "C5", "action": "OPENED", "category": "service",
            "severity": "MINOR", "channel": "COUNTER"}), event("S001", "T1", 3, 2, complaint={
                "complaint_id": "C5", "action": "RESOLVED", "category": "service",
                "severity": "MINOR", "channel": "COUNTER", "compensation_cents": 25000})))
        self.assertEqual(ack_of(t).acked_seq, 2)
        t.close()

        def alert():
            a = pb2().Alert()
            a.ParseFromString(s.recv_multipart()[1])
            return a

        a = alert()
        self.assertEqual((a.alert_id, pb2().Alert.State.Name(a.state)),
                         ("compensation_over_limit/S001/C5", "FIRING"))
        p = self.cli(d, "alerts", "ack", a.alert_id, "-q", d.query, "--reason",
                     "refund agreed with the area manager", key="sup-east.key")
        self.assertEqual((p.returncode, p.stdout), (0, "acknowledged %s\n" % a.alert_id),
                         p.stderr)
        r = alert()
        self.assertEqual(pb2().Alert.State.Name(r.state), "RESOLVED")
        self.assertEqual(r.resolution,
                         "acknowledged by sup-east: refund agreed with the area manager")
        s.close()
        # A reason past 160 bytes is bad usage, not silently cut.
        p = self.cli(d, "alerts", "ack", a.alert_id, "-q", d.query, "--reason", "x" * 161)
        self.assertEqual(p.returncode, 2)
        self.assertIn("160", p.stderr)

    def test_supervisor_subscription_narrowed_to_their_regions(self):
        till2 = read_key(self.keygen("till2", "--role", "terminal", "--store", "S002") + ".key")
        d = self.curve_daemon()

        def sub(key, topic):
            s = zmq.Context.instance().socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.curve_serverkey = self.server_pub
            s.curve_publickey, s.curve_secretkey = key
            s.setsockopt(zmq.SUBSCRIBE, topic)
            s.connect(d.alerts)
            return s

        subs = {"sup-all": sub(self.sup, b""), "sup-alert": sub(self.sup, b"alert/"),
                "sup-west": sub(self.sup, b"alert/west/"), "ops": sub(self.ops, b"alert/")}
        deadline = time.time() + 10
        while stat(d, "subscribers") < len(subs) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the subscriptions travel after the handshake

        def complaint(store, term, key, cid):
            s = dealer(d.ingest, self.server_pub, key)
            s.send(batch(event(store, term, 3, 1, complaint={
                "complaint_id": cid, "action": "OPENED", "category": "service",
                "severity": "MAJOR", "channel": "COUNTER"})))
            self.assertEqual(ack_of(s).acked_seq, 1)
            s.close()

        complaint("S002", "T2", till2, "CW")
        complaint("S001", "T1", self.till1, "CE")

        def topics(s, want):
            got = []
            s.setsockopt(zmq.RCVTIMEO, 3000)
            try:
                while len(got) < want:
                    got.append(s.recv_multipart()[0].decode())
                s.setsockopt(zmq.RCVTIMEO, 500)
                got.append(s.recv_multipart()[0].decode())  # nothing more should come
            except zmq.Again:
                pass
            return got

        ops = topics(subs["ops"], 2)
        self.assertEqual(sorted(t.split("/")[1] for t in ops), ["east", "west"], ops)
        for name in ("sup-all", "sup-alert"):
            got = [t for t in topics(subs[name], 1) if t.startswith("alert/")]
            self.assertTrue(got, name)
            self.assertTrue(all(t.startswith("alert/east/") for t in got), (name, got))
        self.assertEqual(topics(subs["sup-west"], 0), [])
        self.assertGreaterEqual(stat(d, "subscriptions_refused"), 1)
        for s in subs.values():
            s.close()

    def test_first_alert_after_subscribing_arrives(self):
        """A subscription that reached the daemon is applied before the next publish, even when
        nothing else woke the daemon in between (no query, no stats polling)."""
        d = self.curve_daemon()
        for round_ in range(3):
            s = zmq.Context.instance().socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.curve_serverkey = self.server_pub
            s.curve_publickey, s.curve_secretkey = self.sup
            s.setsockopt(zmq.SUBSCRIBE, b"alert/")
            mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
            s.connect(d.alerts)
            self.assertTrue(mon.poll(5000), "no handshake")
            s.disable_monitor()
            mon.close()
            time.sleep(0.5)  # the subscription is on its way; the daemon sees no other traffic
            t = dealer(d.ingest, self.server_pub, self.till1)
            t.send(batch(event("S001", "T1", 6, round_ + 1, complaint={
                "complaint_id": "F%d" % round_, "action": "OPENED", "category": "service",
                "severity": "MAJOR", "channel": "COUNTER"})))
            self.assertEqual(ack_of(t).acked_seq, round_ + 1)
            t.close()
            s.setsockopt(zmq.RCVTIMEO, 3000)
            try:
                topic = s.recv_multipart()[0].decode()
            except zmq.Again:
                self.fail("round %d: the first alert after subscribing never arrived" % round_)
            self.assertEqual(topic, "alert/east/S001/complaint_major")
            s.close()

    def test_sim_with_a_key_per_store(self):
        """floorwalker sim --key-dir: each store's terminals use that store's key."""
        self.keygen("S002", "--role", "terminal", "--store", "S002")
        os.rename(os.path.join(self.keys, "till1.key"), os.path.join(self.keys, "S001.key"))
        d = self.curve_daemon()
        p = d.cli("sim", "-e", d.ingest, "--stores", "2", "--terminals", "2", "-n", "3000",
                  "--spool", os.path.join(self.tmp, "simsp"), "--json", "--key-dir", self.keys,
                  "--server-key", os.path.join(self.keys, "server.pub"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"rejected":0', p.stdout.replace(" ", ""))
        self.assertEqual(stat(d, "events_total"), 3000)
        self.assertEqual(rejects(d, "KEY_STORE_MISMATCH"), 0)
        # S001's key used for both stores: S002's events are refused with the key's code.
        os.rename(os.path.join(self.keys, "S002.key"), os.path.join(self.tmp, "S002.key"))
        os.symlink(os.path.join(self.keys, "S001.key"), os.path.join(self.keys, "S002.key"))
        p = d.cli("sim", "-e", d.ingest, "--stores", "2", "--terminals", "1", "-n", "400",
                  "--seed", "2", "--spool", os.path.join(self.tmp, "simsp2"), "--json",
                  "--key-dir", self.keys, "--server-key", os.path.join(self.keys, "server.pub"))
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertGreater(rejects(d, "KEY_STORE_MISMATCH"), 0)
        # --key-dir without the daemon's key is a usage error.
        p = d.cli("sim", "-e", d.ingest, "-n", "10", "--key-dir", self.keys)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--server-key", p.stderr)

    # ---- reload ---------------------------------------------------------------------------

    def test_reload_adds_and_revokes_keys(self):
        other = os.path.join(self.tmp, "later")
        till2 = read_key(self.keygen("till2", "--role", "terminal", "--store", "S002",
                                     where=other) + ".key")
        d = self.curve_daemon()
        ev2 = [event("S002", "T2", 5, 1, heartbeat={"spool_depth": 0})]
        s = dealer(d.ingest, self.server_pub, till2)
        s.send(batch(*ev2))
        with self.assertRaises(zmq.Again):
            s.recv()
        s.close()
        # Add: the .pub goes into key_dir, then SIGHUP.
        os.rename(os.path.join(other, "till2.pub"), os.path.join(self.keys, "till2.pub"))
        d.proc.send_signal(signal.SIGHUP)
        self.wait_log(d, "client key(s) allowed", 2)
        s = dealer(d.ingest, self.server_pub, till2)
        s.send(batch(*ev2))
        self.assertEqual(ack_of(s).acked_seq, 1)
        # Revoke: the open connection is served no more (no ack: the terminal keeps its events
        # spooled), and a new one is refused.
        os.unlink(os.path.join(self.keys, "till2.pub"))
        d.proc.send_signal(signal.SIGHUP)
        self.wait_log(d, "client key(s) allowed", 3)
        s.send(batch(event("S002", "T2", 5, 2, heartbeat={"spool_depth": 0})))
        with self.assertRaises(zmq.Again):
            s.recv()
        s.close()
        self.assertEqual(stat(d, "key_revoked"), 1)
        s = dealer(d.ingest, self.server_pub, till2)
        s.send(batch(event("S002", "T2", 5, 2, heartbeat={"spool_depth": 0})))
        with self.assertRaises(zmq.Again):
            s.recv()
        s.close()
        self.assertEqual(stat(d, "events_total"), 1)
        # A reload that breaks a key file is refused whole; the running keys stay.
        with open(os.path.join(self.keys, "broken.pub"), "w") as f:
            f.write("public-key = \"not a key\"\n")
        d.proc.send_signal(signal.SIGHUP)
        self.wait_log(d, "reload refused", 1)
        self.assertIn("broken.pub", d.read_log())
        s = dealer(d.ingest, self.server_pub, self.till1)
        s.send(batch(event("S001", "T1", 5, 1, heartbeat={"spool_depth": 0})))
        self.assertEqual(ack_of(s).acked_seq, 1)
        s.close()

    def wait_log(self, d, text, count, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if d.read_log().count(text) >= count:
                return
            time.sleep(0.05)
        self.fail("no %d x %r in the log:\n%s" % (count, text, d.read_log()))

    # ---- refusing to start ------------------------------------------------------------------

    def refuses(self, extra_config, expect):
        d = CurveDaemon(self.tmp, extra_config, name="bad")
        p = subprocess.run([fwtest.DAEMON, "-c", d.conf], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn(expect, lines[0])
        return lines[0]

    def test_refuses_to_start_without_its_keys(self):
        missing = os.path.join(self.tmp, "nope", "server.key")
        line = self.refuses("[security]\nmode = curve\nserver_key = %s\n" % missing, missing)
        self.assertIn("No such file", line)
        self.refuses("[security]\nmode = curve\n", "needs server_key")
        self.refuses("[security]\nmode = curve\nserver_key = %s/server.pub\n" % self.keys,
                     "has no secret-key")
        os.chmod(os.path.join(self.keys, "ops.key"), 0o000)
        if os.geteuid() != 0:  # root reads anything
            self.refuses("[security]\nmode = curve\nserver_key = %s/ops.key\n" % self.keys,
                         "Permission denied")
        self.refuses("[security]\nmode = curve\nserver_key = %s/server.key\n[key:x]\n"
                     "public_key_file = %s/gone.pub\nrole = ops\n" % (self.keys, self.tmp),
                     "gone.pub")
        self.refuses("[security]\nmode = curve\nserver_key = %s/server.key\n[key:x]\n"
                     "public_key = %s\nrole = terminal\n" % (self.keys, self.till1[0].decode()),
                     "without store")
        self.refuses("[security]\nmode = curve\nserver_key = %s/server.key\nkey_dir = %s/none\n"
                     % (self.keys, self.tmp), "key_dir")
        self.refuses("[security]\nmode = curvy\n", "expected plain or curve")
        # --check-config says the same.
        d = CurveDaemon(self.tmp, "[security]\nmode = curve\nserver_key = %s\n" % missing,
                        name="bad2")
        p = subprocess.run([fwtest.DAEMON, "--check-config", "-c", d.conf], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn(missing, p.stderr)

    # ---- plain mode ---------------------------------------------------------------------------

    def test_plain_mode_warns_beyond_loopback(self):
        d = self.daemon("[ingest]\nendpoint = tcp://0.0.0.0:*\n")
        log = d.read_log()
        self.assertRegex(log, r"ingest listens on tcp://0\.0\.0\.0:\d+ in plain mode")
        self.assertNotIn("query listens", log)  # ipc:// stays on this machine
        d2 = self.daemon("[ingest]\nendpoint = tcp://127.0.0.1:*\n")
        self.assertNotIn("plain mode", d2.read_log())
        d3 = self.curve_daemon("[ingest]\nendpoint = tcp://0.0.0.0:*\n")
        self.assertNotIn("plain mode", d3.read_log())

    # ---- the CLI ------------------------------------------------------------------------------

    def test_cli_takes_key_files_everywhere(self):
        d = self.curve_daemon()
        env = dict(os.environ, FLOORWALKER_KEY=os.path.join(self.keys, "till1.key"),
                   FLOORWALKER_SERVER_KEY=os.path.join(self.keys, "server.pub"))
        p = d.cli("publish", "-e", d.ingest, "-s", "S001", "-t", "T1", "--spool",
                  os.path.join(self.tmp, "sp"), "-w", "10", "sale", "receipt_id=R1",
                  "cashier_id=K1", "kind=SALE",
                  'lines=[{"sku":"A","qty_milli":1000,"unit_price_cents":250}]',
                  "total_cents=250", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli(d, "stats", "--json", "-e", d.query)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli(d, "query", "sales", "--store", "S001", "--json", "-e", d.query,
                     key="sup-east.key")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"net": 250', p.stdout.replace('"net":250', '"net": 250'))
        # A terminal whose key the daemon does not know is told so; its event stays spooled.
        self.keygen("till9", "--role", "terminal", "--store", "S001",
                    where=os.path.join(self.tmp, "elsewhere"))
        p = d.cli("publish", "-e", d.ingest, "-s", "S001", "-t", "T9", "--spool",
                  os.path.join(self.tmp, "sp-t9"), "-w", "2", "heartbeat", "spool_depth=0",
                  "--key", os.path.join(self.tmp, "elsewhere", "till9.key"), "--server-key",
                  os.path.join(self.keys, "server.pub"))
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("refused this terminal's key", p.stderr)
        self.assertIn("1 still spooled", p.stderr)
        # Without keys the CLI cannot get in, and says that the daemon needs a key (it used to
        # say the daemon did not answer, "is it running?").
        for args in (["query", "sales"], ["stats"]):
            p = d.cli(*args, "-e", d.query, "-w", "2")
            self.assertEqual(p.returncode, 3)
            self.assertIn("needs a client key", p.stderr)
            self.assertIn("--key", p.stderr)
            self.assertNotIn("is it running", p.stderr)
        # Keys given to a plain daemon: it says the daemon takes none.
        plain = self.daemon()
        p = self.cli(plain, "stats", "-e", plain.query, "-w", "2")
        self.assertEqual(p.returncode, 3)
        self.assertIn("does not use CurveZMQ", p.stderr)
        # With a key the daemon does not know, it says so.
        self.keygen("nobody", "--role", "ops", where=os.path.join(self.tmp, "elsewhere"))
        p = d.cli("query", "sales", "-e", d.query, "-w", "2", "--key",
                  os.path.join(self.tmp, "elsewhere", "nobody.key"), "--server-key",
                  os.path.join(self.keys, "server.pub"))
        self.assertEqual(p.returncode, 3)
        self.assertIn("refused this client's key", p.stderr)
        # Half a key pair is a usage error.
        p = d.cli("query", "sales", "-e", d.query, "--key", os.path.join(self.keys, "ops.key"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--server-key", p.stderr)
        # keygen keeps the secret key private and refuses to overwrite.
        self.assertEqual(os.stat(os.path.join(self.keys, "ops.key")).st_mode & 0o777, 0o600)
        p = fwtest.run_cli("keygen", "-d", self.keys, "--role", "ops", "ops")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--force", p.stderr)


if __name__ == "__main__":
    fwtest.main()
