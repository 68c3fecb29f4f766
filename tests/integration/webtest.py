"""`floorwalker web` for the integration tests (test_web, test_web_pages, test_web_shards)."""
import http.client
import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request

import fwtest


class Web:
    """`floorwalker web` on a free loopback port, stopped by pid. With a daemon d it follows d
    (-e, -q); with d None, extra names the daemons (--daemon EP ...) and logdir is given."""

    def __init__(self, d, *extra, logdir=None):
        # Its log goes to a file: a pipe nobody reads could fill and stop it.
        logdir = logdir or os.path.dirname(d.conf)
        self.log = os.path.join(logdir, "web-%d.log" % id(self))
        args = ["-e", d.alerts, "-q", d.query] if d else []
        with open(self.log, "w") as err:
            self.p = subprocess.Popen([fwtest.CLI, "web", "--listen", "127.0.0.1:0", *args,
                                       *extra], stdout=subprocess.PIPE, stderr=err, text=True)
        self.url = self.p.stdout.readline().strip()
        if not re.match(r"https?://127\.0\.0\.1:\d+/$", self.url):
            self.p.kill()
            self.p.wait()
            raise AssertionError("floorwalker web: %s %s" % (self.url, self.read_log()))
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def read_log(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        """Stops it by SIGTERM: (exit status, its log)."""
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("floorwalker web did not stop within 15 s of SIGTERM")
        self.p.stdout.close()
        return rc, self.read_log()

    def get_full(self, path, headers=None):
        """(status, JSON body, response headers)."""
        req = urllib.request.Request(self.url.rstrip("/") + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10 * fwtest.TIME_SCALE) as r:
                return r.status, json.loads(r.read()), r.headers
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read()), e.headers

    def get(self, path, headers=None):
        """(status, JSON body)."""
        status, body, _ = self.get_full(path, headers)
        return status, body

    def post(self, path, body, token=None, host=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10 * fwtest.TIME_SCALE)
        h = dict(headers or {}, **{"Content-Type": "application/json"})
        if token:
            h["X-CSRF-Token"] = token
        if host:
            h["Host"] = host
        c.request("POST", path, body=json.dumps(body), headers=h)
        r = c.getresponse()
        out = r.status, json.loads(r.read())
        c.close()
        return out


class ConsoleTest(fwtest.DaemonTest):
    """A test that starts consoles with self.web(...); each is stopped by SIGTERM at its end
    and must exit 0."""

    def setUp(self):
        super().setUp()
        self.webs = []

    def tearDown(self):
        for w in self.webs:
            if w.p.poll() is None:
                rc, log = w.stop()
                self.assertEqual(rc, 0, log)
        super().tearDown()

    def web(self, d, *extra):
        w = Web(d, *extra, logdir=self.tmp)
        self.webs.append(w)
        return w


class Stream:
    """GET /api/alerts/stream: its Server-Sent Events one at a time."""

    def __init__(self, web, headers=None):
        self.c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10 * fwtest.TIME_SCALE)
        self.c.request("GET", "/api/alerts/stream", headers=headers or {})
        self.r = self.c.getresponse()

    def event(self):
        """The next event: (its name, its JSON data); comments are skipped."""
        ev = {}
        while True:
            line = self.r.fp.readline().decode().rstrip("\n")
            if not line:
                if "event" in ev:
                    return ev["event"], json.loads(ev["data"])
                continue
            if line.startswith(":"):
                continue
            k, _, v = line.partition(": ")
            ev[k] = v

    def snapshot(self):
        """The first snapshot taken of every daemon (the console may start before it has one)."""
        kind, snap = self.event()
        while kind != "snapshot" or not snap["connected"]:
            kind, snap = self.event()
        return snap

    def close(self):
        self.c.close()
