"""/metrics behind authentication: a real Prometheus server (Debian's prometheus, installed by
scripts/deps.sh) scrapes the daemon with basic auth, and over TLS with a bearer token, and its
own `up` says whether the scrape worked; --check-config, start and reload refuse a listener
beyond loopback that nobody has to authenticate to."""
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import fwtest

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hash_password(password):
    p = subprocess.run([fwtest.DAEMON, "--hash-password"], input=password + "\n",
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def get(url, headers=(), context=None):
    """(status, headers, body) of a GET, 4xx included."""
    req = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def basic(user, password):
    import base64
    return {"Authorization": "Basic " +
            base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


class Prometheus:
    """A Prometheus server on a free 127.0.0.1 port with a temporary config and data dir,
    scraping every second; stopped by pid."""

    def __init__(self, tmp, jobs):
        self.dir = os.path.join(tmp, "prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        conf = os.path.join(self.dir, "prometheus.yml")
        # JSON is YAML: the scrape configs as Python dicts.
        with open(conf, "w") as f:
            json.dump({"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                       "scrape_configs": jobs}, f)
        check = subprocess.run([PROMTOOL, "check", "config", conf], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        self.port = free_port()
        self.log = os.path.join(self.dir, "prometheus.log")
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + conf,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port], stdout=logf, stderr=logf)

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def query(self, expr):
        """{job: value} of an instant query, {} while Prometheus is not ready."""
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (self.port,
                                                              urllib.parse.quote(expr))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                res = json.load(r)
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            return {}
        assert res["status"] == "success", res
        return {s["metric"].get("job"): float(s["value"][1]) for s in res["data"]["result"]}

    def wait_up(self, want, timeout=90):
        """Polls `up` until every job in want has a sample with the wanted value; returns the
        last answer (the caller asserts it)."""
        deadline = time.time() + timeout * fwtest.TIME_SCALE
        got = {}
        while time.time() < deadline:
            assert self.proc.poll() is None, "prometheus exited:\n" + self.read_log()
            got = self.query("up")
            if all(got.get(job) == v for job, v in want.items()):
                break
            time.sleep(0.5)
        return got

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class MetricsAuth(fwtest.DaemonTest):
    def prometheus(self, jobs):
        p = Prometheus(self.tmp, jobs)
        self.addCleanup(p.stop)
        return p

    def metrics_port(self, d):
        port = d.stats()["daemon"]["metrics_port"]
        self.assertGreater(port, 0)
        return port

    def test_basic_auth_scraped_by_prometheus(self):
        d = self.daemon("[metrics]\nlisten = 127.0.0.1:0\nuser = prom\npassword_hash = %s\n" %
                        hash_password(PASSWORD))
        port = self.metrics_port(d)
        url = "http://127.0.0.1:%d/metrics" % port

        # No credentials, a wrong password, a wrong user, another scheme: 401 with the challenge.
        for headers in ({}, basic("prom", "wrong"), basic("prometheus", PASSWORD),
                        {"Authorization": "Bearer " + PASSWORD}):
            status, h, body = get(url, headers)
            self.assertEqual(status, 401, headers)
            self.assertEqual(h.get_all("WWW-Authenticate"), ['Basic realm="floorwalker"'])
            self.assertNotIn("floorwalker_", body)
        # Nor does any other path answer without credentials.
        self.assertEqual(get("http://127.0.0.1:%d/other" % port)[0], 401)
        status, _, text = get(url, basic("prom", PASSWORD))
        self.assertEqual(status, 200)
        self.assertIn("floorwalker_events_total 0\n", text)
        self.assertIn('floorwalker_scrapes_refused_total{reason="no_credentials"} 3\n', text)
        self.assertIn('floorwalker_scrapes_refused_total{reason="bad_credentials"} 2\n', text)
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual((lint.returncode, lint.stdout, lint.stderr), (0, "", ""))

        target = {"targets": ["127.0.0.1:%d" % port]}
        prom = self.prometheus([
            {"job_name": "good", "static_configs": [target],
             "basic_auth": {"username": "prom", "password": PASSWORD}},
            {"job_name": "wrong_password", "static_configs": [target],
             "basic_auth": {"username": "prom", "password": PASSWORD + "!"}},
        ])
        up = prom.wait_up({"good": 1, "wrong_password": 0})
        self.assertEqual(up, {"good": 1, "wrong_password": 0}, prom.read_log())
        # Prometheus stored what it scraped, under the names /metrics gives them.
        self.assertEqual(prom.query("floorwalker_events_total"), {"good": 0})
        # The refusals of the wrong_password job, counted on /metrics and scraped by "good".
        expr = 'floorwalker_scrapes_refused_total{reason="bad_credentials"}'
        deadline = time.time() + 30 * fwtest.TIME_SCALE
        while time.time() < deadline and prom.query(expr).get("good", 0) < 4:
            time.sleep(0.5)
        self.assertGreaterEqual(prom.query(expr).get("good", 0), 4)  # the two above, and more
        self.assertNotIn("error", d.read_log().lower())

    def test_tls_bearer_scraped_by_prometheus(self):
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=120)
        token = os.path.join(self.tmp, "token")
        with open(token, "w") as f:
            f.write(os.urandom(24).hex() + "\n")
        wrong = os.path.join(self.tmp, "wrong-token")
        with open(wrong, "w") as f:
            f.write(os.urandom(24).hex() + "\n")
        with open(token) as f:
            secret = f.read().strip()
        d = self.daemon("[metrics]\nlisten = 127.0.0.1:0\nbearer_token_file = %s\n"
                        "tls_cert = %s\ntls_key = %s\n" % (token, cert, key))
        port = self.metrics_port(d)
        url = "https://127.0.0.1:%d/metrics" % port
        ctx = ssl.create_default_context(cafile=cert)
        status, h, _ = get(url, context=ctx)
        self.assertEqual(status, 401)
        self.assertEqual(h.get_all("WWW-Authenticate"), ['Bearer realm="floorwalker"'])
        self.assertEqual(get(url, {"Authorization": "Bearer x" + secret}, ctx)[0], 401)
        status, _, text = get(url, {"Authorization": "Bearer " + secret}, ctx)
        self.assertEqual(status, 200)
        self.assertIn("floorwalker_uptime_seconds", text)
        # Plain HTTP gets no metrics from the TLS listener.
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            get("http://127.0.0.1:%d/metrics" % port, {"Authorization": "Bearer " + secret})

        target = {"targets": ["127.0.0.1:%d" % port]}
        tls = {"ca_file": cert}
        prom = self.prometheus([
            {"job_name": "tls_bearer", "scheme": "https", "tls_config": tls,
             "static_configs": [target],
             "authorization": {"type": "Bearer", "credentials_file": token}},
            {"job_name": "tls_wrong_token", "scheme": "https", "tls_config": tls,
             "static_configs": [target],
             "authorization": {"type": "Bearer", "credentials_file": wrong}},
        ])
        up = prom.wait_up({"tls_bearer": 1, "tls_wrong_token": 0})
        self.assertEqual(up, {"tls_bearer": 1, "tls_wrong_token": 0}, prom.read_log())

    def check_config(self, metrics):
        conf = os.path.join(self.tmp, "check.conf")
        with open(conf, "w") as f:
            f.write("[daemon]\ndata_dir = %s\n[metrics]\n%s" % (os.path.join(self.tmp, "x"),
                                                                  metrics))
        p = subprocess.run([fwtest.DAEMON, "-c", conf, "--check-config"], capture_output=True,
                           text=True, timeout=60)
        return conf, p

    def refused(self, metrics, line, *words):
        conf, p = self.check_config(metrics)
        self.assertEqual(p.returncode, 1, metrics)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, "one clear line: " + p.stderr)
        self.assertIn("%s:%d: [metrics] " % (conf, line), p.stderr)
        for w in words:
            self.assertIn(w, p.stderr)

    def test_check_config(self):
        port = free_port()
        self.refused("listen = 0.0.0.0:%d\n" % port, 4, "listen = 0.0.0.0", "beyond loopback",
                     "insecure = true", "password_hash", "bearer_token_file")
        self.refused("listen = 192.0.2.1:%d\ninsecure = false\n" % port, 4, "beyond loopback")
        _, p = self.check_config("listen = 0.0.0.0:%d\ninsecure = true\n" % port)
        self.assertEqual(p.returncode, 0, p.stderr)
        _, p = self.check_config("listen = 0.0.0.0:%d\nuser = prom\npassword_hash = %s\n" %
                                 (port, hash_password(PASSWORD)))
        self.assertEqual(p.returncode, 0, p.stderr)
        token = os.path.join(self.tmp, "token")
        with open(token, "w") as f:
            f.write("0123456789abcdef0123\n")
        _, p = self.check_config("listen = 0.0.0.0:%d\nbearer_token_file = %s\n" % (port, token))
        self.assertEqual(p.returncode, 0, p.stderr)
        # Loopback needs no auth.
        _, p = self.check_config("listen = 127.0.0.1:%d\n" % port)
        self.assertEqual(p.returncode, 0, p.stderr)

        # Half a credential, a hash that is not one, unreadable files: refused the same way.
        self.refused("listen = 127.0.0.1:1\nuser = prom\n", 5, "no password_hash",
                     "--hash-password")
        self.refused("listen = 127.0.0.1:1\nuser = prom\npassword_hash = hunter2\n", 6,
                     "not an Argon2 hash")
        missing = os.path.join(self.tmp, "missing")
        self.refused("listen = 0.0.0.0:1\nbearer_token_file = %s\n" % missing, 5,
                     "bearer_token_file = " + missing, "cannot read")
        self.refused("listen = 0.0.0.0:1\nbearer_token_file = %s\n" % self.tmp, 5,
                     "cannot read")
        with open(os.path.join(self.tmp, "short"), "w") as f:
            f.write("abc\n")
        self.refused("listen = 0.0.0.0:1\nbearer_token_file = %s/short\n" % self.tmp, 5,
                     "at least 16")
        self.refused("listen = 0.0.0.0:1\nbearer_token_file = %s\ntls_cert = %s\n"
                     "tls_key = %s\n" % (token, missing, token), 6, "tls_cert = " + missing,
                     "cannot read")
        self.refused("listen = 0.0.0.0:1\nbearer_token_file = %s\ntls_cert = %s\n"
                     "tls_key = %s\n" % (token, token, token), 6, "not a PEM file")
        self.refused("listen = 0.0.0.0:1\nbearer_token_file = %s\ntls_cert = %s\n" %
                     (token, token), 6, "both tls_cert and tls_key")
        self.refused("listen = localhost:9464\n", 4, "expected IPV4:PORT")

    def test_start_and_reload_refuse_open_listener(self):
        d = self.daemon("[metrics]\nlisten = 0.0.0.0:%d\n" % free_port(), start=False)
        p = subprocess.run([fwtest.DAEMON, "-c", d.conf], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("beyond loopback", p.stderr)

        d.write_config("[metrics]\nlisten = 127.0.0.1:0\n")
        d.start()
        port = self.metrics_port(d)
        d.write_config("[metrics]\nlisten = 0.0.0.0:%d\n" % port)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10 * fwtest.TIME_SCALE
        while time.time() < deadline and "reload refused" not in d.read_log():
            time.sleep(0.1)
        log = d.read_log()
        self.assertIn("reload refused", log)
        self.assertIn("%s:10: [metrics] listen = 0.0.0.0:%d is reachable beyond loopback" %
                      (d.conf, port), log)
        # Still serving, on loopback, as before.
        self.assertEqual(get("http://127.0.0.1:%d/metrics" % port)[0], 200)

    def test_hash_password(self):
        h = hash_password(PASSWORD)
        self.assertTrue(h.startswith("$argon2id$"), h)
        self.assertNotEqual(h, hash_password(PASSWORD))  # salted
        p = subprocess.run([fwtest.DAEMON, "--hash-password"], input="", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("stdin", p.stderr)
        # Never from argv: a password given there is bad usage, not hashed.
        p = subprocess.run([fwtest.DAEMON, "--hash-password", PASSWORD], input=PASSWORD + "\n",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout), (2, ""))


if __name__ == "__main__":
    fwtest.main()
