"""The terminal library as a vendor gets it: `cmake --install` of the build into a temporary
prefix, then tiny_terminal.c compiled with `cc $(pkg-config --cflags --libs floorwalker)` and
nothing from the source tree, then one sale published through it to the real daemon.

Environment (tests/CMakeLists.txt sets it): fwtest.py's, plus FW_BUILD_DIR (the build to
install), FW_CMAKE, FW_CC (the compiler that built the library), FW_VERSION (the project's),
FW_LIB_SHARED and FW_LIB_STATIC (which libraries the build makes).

Under ASan+UBSan (FW_SANITIZE) the installed library is instrumented, so the tiny program is
compiled with the same -fsanitize flags: an instrumented library needs the sanitizer runtime
in the program, which is what any vendor linking a sanitizer build would do.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import fwtest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ["FW_BUILD_DIR"]
CMAKE = os.environ.get("FW_CMAKE", "cmake")
CC = os.environ.get("FW_CC", "cc")
VERSION = os.environ["FW_VERSION"]
ON = ("1", "ON", "TRUE", "true", "YES", "yes")
SHARED = os.environ.get("FW_LIB_SHARED", "ON") in ON
STATIC = os.environ.get("FW_LIB_STATIC", "ON") in ON
SAN_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"] if fwtest.SANITIZE else []
HEADERS = ("floorwalker.h", "floorwalker_err.h", "fwkeys.h", "floorwalker.pb-c.h")


def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    if p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout,
                                                      p.stderr))
    return p.stdout


def declared_functions(path):
    """The fw_* functions a header declares: declarations start a line with their type."""
    names = set()
    with open(path) as f:
        for line in f:
            m = re.match(r"^[A-Za-z_][\w \*]*?\b(fw_\w+)\(", line)
            if m and not line.startswith(("#", "typedef")):
                names.add(m.group(1))
    return names


class InstalledLibrary(fwtest.DaemonTest):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="fwinst-")
        cls.prefix = os.path.join(cls.root, "prefix")
        run([CMAKE, "--install", BUILD, "--prefix", cls.prefix, "--component", "libfloorwalker"])
        pcs = glob.glob(os.path.join(cls.prefix, "**", "pkgconfig", "floorwalker.pc"),
                        recursive=True)
        if len(pcs) != 1:
            raise AssertionError("expected one installed floorwalker.pc, found %s" % pcs)
        cls.pcdir = os.path.dirname(pcs[0])
        cls.libdir = os.path.dirname(cls.pcdir)
        # A vendor's shell: pkg-config finds floorwalker only through PKG_CONFIG_PATH, and the
        # compiler gets no include or library path from the environment.
        cls.env = {k: v for k, v in os.environ.items()
                   if k not in ("CPATH", "C_INCLUDE_PATH", "LIBRARY_PATH", "LD_LIBRARY_PATH",
                                "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR")}
        cls.env["PKG_CONFIG_PATH"] = cls.pcdir
        # Compiled outside the source tree, from a copy of the source.
        cls.src = os.path.join(cls.root, "tiny_terminal.c")
        with open(os.path.join(HERE, "tiny_terminal.c")) as f, open(cls.src, "w") as out:
            out.write(f.read())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def pkgconfig(self, *args):
        return run(["pkg-config"] + list(args) + ["floorwalker"], env=self.env).split()

    def compile(self, out, libs):
        exe = os.path.join(self.root, out)
        run([CC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe, self.src] + SAN_FLAGS +
            self.pkgconfig("--cflags") + libs, env=self.env, cwd=self.root)
        return exe

    def publish(self, exe, terminal, env=None):
        """Runs the tiny terminal against a fresh daemon; returns the daemon."""
        d = self.daemon()
        p = subprocess.run([exe, d.ingest, os.path.join(self.tmp, "spool-" + terminal), "S1",
                            terminal], capture_output=True, text=True, env=env or self.env,
                           timeout=120)
        for m in fwtest.SAN_MARKERS:
            self.assertNotIn(m, p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "acked seq 1 rejected 0\n")
        st = d.stats()
        self.assertEqual(st["daemon"]["events_total"], 1)
        self.assertEqual({k: n for k, n in st["events_by_kind"].items() if n}, {"sale": 1})
        self.assertEqual(st["daemon"]["quarantined"], 0)
        self.assertEqual([(t["terminal"], t["store"], t["acked_seq"]) for t in st["terminals"]],
                         [(terminal, "S1", 1)])
        return d

    def test_installed_files_and_pc(self):
        inc = os.path.join(self.prefix, "include", "floorwalker")
        for h in HEADERS:
            self.assertTrue(os.path.isfile(os.path.join(inc, h)), h)
        # Only the library's component: no daemon, no internal archives.
        self.assertFalse(glob.glob(os.path.join(self.prefix, "**", "floorwalkerd"),
                                   recursive=True))
        self.assertFalse(glob.glob(os.path.join(self.libdir, "libfw*")))
        self.assertEqual(run(["pkg-config", "--modversion", "floorwalker"], env=self.env).strip(),
                         VERSION)
        # The .pc names the prefix it was installed to, not the configured one.
        self.assertIn("-I" + inc, self.pkgconfig("--cflags"))
        self.assertIn("-L" + self.libdir, self.pkgconfig("--libs"))
        static_libs = self.pkgconfig("--static", "--libs")
        for lib in ("-lfloorwalker", "-lprotobuf-c", "-lzmq", "-llmdb", "-pthread"):
            self.assertIn(lib, static_libs)

    @unittest.skipUnless(SHARED, "FW_LIB_SHARED is OFF")
    def test_shared_library_exports(self):
        so = os.path.join(self.libdir, "libfloorwalker.so.%s" % VERSION)
        self.assertTrue(os.path.isfile(so))
        self.assertEqual(os.readlink(os.path.join(self.libdir, "libfloorwalker.so.0")),
                         os.path.basename(so))
        self.assertEqual(os.readlink(os.path.join(self.libdir, "libfloorwalker.so")),
                         "libfloorwalker.so.0")
        self.assertIn("Library soname: [libfloorwalker.so.0]", run(["readelf", "-d", so]))
        syms = set()
        for line in run(["nm", "-D", "--defined-only", so]).splitlines():
            name = line.split()[-1].split("@")[0]
            if name not in ("FLOORWALKER_0",):
                syms.add(name)
        inc = os.path.join(self.prefix, "include", "floorwalker")
        api = set()
        for h in HEADERS[:3]:
            api |= declared_functions(os.path.join(inc, h))
        self.assertIn("fw_open", api)  # the header parse found the API
        # Exactly the functions the installed headers declare, and the generated message code.
        self.assertEqual({s for s in syms if s.startswith("fw_")}, api)
        self.assertIn("floorwalker__event__descriptor", syms)
        self.assertEqual({s for s in syms if not s.startswith(("fw_", "floorwalker__"))}, set())

    @unittest.skipUnless(SHARED, "FW_LIB_SHARED is OFF")
    def test_publish_through_shared_library(self):
        exe = self.compile("tiny_shared", self.pkgconfig("--libs"))
        self.assertIn("libfloorwalker.so.0", run(["readelf", "-d", exe]))
        env = dict(self.env, LD_LIBRARY_PATH=self.libdir)
        self.assertIn(os.path.join(self.libdir, "libfloorwalker.so.0"), run(["ldd", exe], env=env))
        self.publish(exe, "T-SHARED", env)

    @unittest.skipUnless(STATIC, "FW_LIB_STATIC is OFF")
    def test_publish_through_static_library(self):
        # `pkg-config --static --libs` with the library taken from libfloorwalker.a and the
        # system libraries shared: that checks floorwalker.pc's Libs.private and
        # Requires.private (a missing one is an undefined symbol here). Debian 12's norm.pc
        # (a private dependency of libzmq) lists a bare "libprotokit.a", which is not a linker
        # flag and only matters for a fully static libzmq: dropped.
        libs = [("-l:libfloorwalker.a" if a == "-lfloorwalker" else a)
                for a in self.pkgconfig("--static", "--libs") if a.startswith("-")]
        self.assertIn("-l:libfloorwalker.a", libs)
        exe = self.compile("tiny_static", libs)
        self.assertNotIn("libfloorwalker", run(["readelf", "-d", exe]))
        self.publish(exe, "T-STATIC")


if __name__ == "__main__":
    fwtest.main()
