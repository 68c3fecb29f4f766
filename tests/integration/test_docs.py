"""The command lines the README documents run as written (issue 12: the long fault run failed
with "No such file" because its relative FW_CLI/FW_DAEMON/FW_PROTO paths were resolved from
another working directory, and `tests/bench/run.sh --build build` the same way).

Each command is taken from README.md itself, so the test follows the text. It runs at a tiny
scale: the fault run with FW_FAULT_SCALE=1 and one of its tests; the benchmark with --size tiny
only when FW_DOC_BENCH=1 (it needs PostgreSQL and about a minute and a half of both cores).
"""
import os
import re
import shlex
import subprocess
import tempfile
import unittest

import fwtest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# The build tree the test runs against: the directory two levels above the daemon.
BUILD = os.path.dirname(os.path.dirname(fwtest.DAEMON))


def readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


class Docs(unittest.TestCase):
    def run_in(self, cwd, cmd, timeout=600):
        env = {k: v for k, v in os.environ.items()
               if k not in ("FW_DAEMON", "FW_CLI", "FW_PROTO", "FWB_BIN")}
        return subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)

    def layout(self):
        """A directory where `build` is the tree under test and the sources sit beside it, as
        in a clone (README's commands start from the clone's root)."""
        d = tempfile.mkdtemp(prefix="fwdocs-")
        for name in os.listdir(ROOT):
            if name not in ("build", ".git"):
                os.symlink(os.path.join(ROOT, name), os.path.join(d, name))
        os.symlink(BUILD, os.path.join(d, "build"))
        return d

    def test_long_fault_run_as_written(self):
        m = re.search(r"```sh\ncmake -S \. -B build && cmake --build build\n(cd build && .*?)```",
                      readme(), re.S)
        self.assertTrue(m, "README's long fault run is where the test looks for it")
        cmd = m.group(1).replace("\\\n", " ").strip()
        self.assertIn("FW_CLI=clients/cli/floorwalker", cmd)
        # Tiny: scale 1 and the quickest of its tests.
        cmd = cmd.replace("FW_FAULT_SCALE=10", "FW_FAULT_SCALE=1")
        cmd += " Outage.test_long_outage"
        p = self.run_in(self.layout(), cmd, timeout=900)
        self.assertEqual(p.returncode, 0, "%s\n%s%s" % (cmd, p.stdout, p.stderr))
        self.assertNotIn("No such file", p.stderr)
        self.assertRegex(p.stderr, r"Ran 1 test")

    @unittest.skipUnless(os.environ.get("FW_DOC_BENCH") == "1", "FW_DOC_BENCH=1 runs it")
    def test_benchmark_as_written(self):
        m = re.search(r"`(tests/bench/run\.sh --size full)`", readme())
        self.assertTrue(m, "README's benchmark command is where the test looks for it")
        cmd = m.group(1).replace("--size full", "--size tiny --build build --check")
        out = tempfile.mkdtemp(prefix="fwdocs-bench-")
        p = self.run_in(self.layout(), cmd + " --out " + shlex.quote(out), timeout=600)
        self.assertEqual(p.returncode, 0, "%s\n%s%s" % (cmd, p.stdout, p.stderr))
        self.assertTrue(os.path.exists(os.path.join(out, "bench.md")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
