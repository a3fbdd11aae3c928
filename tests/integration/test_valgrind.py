"""test_valgrind.py: one hearsayd of a three-agent sealed cluster runs under valgrind memcheck
(--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite) through a short life:
start, the two others join it, a tags change, API reads (members, metrics, an events stream
opened and closed, a connection closed mid-request), kill -9 of another agent detected as
failed, its restart, and a graceful leave (SIGTERM) that makes valgrind report at exit. Fails
if valgrind reports any error or a definite leak (exit code 99, or its log says so), or if
the agent does not exit cleanly.

Valgrind cannot run a sanitizer build, so the binary is $HEARSAYD_PLAIN: the CMake test entry
sets it to this build's hearsayd, or in an HS_SANITIZE build to the plain build that
scripts/test makes first (../build/agent/hearsayd; choose another with -DHS_PLAIN_HEARSAYD=).
Outside ctest, $HEARSAYD_PLAIN, else $HEARSAYD, must be a binary without ASan. Skipped only
when valgrind is not installed (scripts/install-deps installs it)."""

import os
import shutil
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

SLOW = 60.0  # valgrind runs the agent ~20x slower: generous timeouts for it


def plain_hearsayd():
    path = os.environ.get("HEARSAYD_PLAIN") or os.environ.get("HEARSAYD")
    if not path:
        path = harness.binary("hearsayd")
    if not os.access(path, os.X_OK):
        raise AssertionError("no plain (non-sanitizer) hearsayd at %s: build it first "
                             "(scripts/test builds build/ before build-asan/) or set "
                             "HEARSAYD_PLAIN" % path)
    with open(path, "rb") as f:
        if b"__asan_init" in f.read():
            raise AssertionError("%s is an AddressSanitizer build; valgrind needs the plain "
                                 "build (set HEARSAYD_PLAIN)" % path)
    return path


class Valgrind(unittest.TestCase):
    def test_memcheck_clean(self):
        vg = shutil.which("valgrind")
        if not vg:
            raise unittest.SkipTest("valgrind not installed (scripts/install-deps)")
        with Cluster(3, secure=True) as c:
            c.hearsayd = plain_hearsayd()
            vlog = os.path.join(c.dir, "valgrind.log")
            c[1].wrapper = [vg, "--quiet", "--error-exitcode=99", "--leak-check=full",
                            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                            "--track-fds=no", "--num-callers=30", "--log-file=" + vlog]
            log("n1 under valgrind: %s" % c.hearsayd)
            t0 = time.monotonic()
            c[1].start(wait=False)
            c[1].wait_ready(SLOW)
            exe = os.readlink("/proc/%d/exe" % c[1].proc.pid)
            self.assertIn("memcheck", exe, "n1 runs under valgrind")
            log("n1 ready under valgrind in %.1f s" % (time.monotonic() - t0))
            for n in c.nodes[1:]:
                n.start()
            expect = {"n1": "alive", "n2": "alive", "n3": "alive"}
            c.wait_converged(expect, SLOW, what="all three alive")

            st, _ = c[1].api("PUT", "/v1/tags", {"set": {"role": "db"}}, timeout=10)
            self.assertEqual(st, 200)
            wait_for(lambda: self.tags_of(c[2], "n1") == {"role": "db"}, SLOW,
                     "n2 sees n1's new tags")
            for path in ("/v1/members", "/v1/self", "/v1/health", "/v1/metrics", "/v1/raft"):
                st, _ = c[1].api("GET", path, timeout=10)
                self.assertEqual(st, 200, path)
            # an events stream opened and dropped, and a request cut off halfway
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(c[1].sock)
            s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(10)
            s.recv(100)
            s.close()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(c[1].sock)
            s.sendall(b"PUT /v1/tags HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"se")
            s.close()

            t_kill = c[3].kill9()
            wait_for(lambda: all((v or {}).get("n3") == "failed"
                                 for v in c.views(c.nodes[:2]).values()), SLOW,
                     "n3 failed on n1 and n2")
            log("n3 failed on n1 (valgrind) and n2 %.1f s after kill -9"
                % (time.monotonic() - t_kill))
            c[3].start()
            c.wait_converged(expect, SLOW, what="n3 alive again")

            t_term = time.monotonic()
            c[1].signal(signal.SIGTERM)
            rc = harness.reap(c[1].proc, SLOW)
            log("n1 left and exited with %s %.1f s after SIGTERM" % (rc, time.monotonic()
                                                                      - t_term))
            wait_for(lambda: all((v or {}).get("n1") == "left"
                                 for v in c.views(c.nodes[1:]).values()), 10,
                     "n1 left on n2 and n3")
            with open(vlog, errors="replace") as f:
                report = f.read()
            if report.strip():
                sys.stderr.write("---- valgrind log ----\n%s\n" % report)
            self.assertNotEqual(rc, 99, "valgrind reported errors (see its log above)")
            self.assertEqual(rc, 0, "n1 exit status under valgrind")
            self.assertNotIn("definitely lost", report)
            self.assertNotIn("Invalid read", report)
            self.assertNotIn("Invalid write", report)
            self.assertNotIn("uninitialised", report)
            log("valgrind: no errors, no definite leaks; whole test %.1f s"
                % (time.monotonic() - t0))

    @staticmethod
    def tags_of(node, name):
        try:
            st, body = node.api("GET", "/v1/members", timeout=5)
        except OSError:
            return None
        for m in body.get("members", []) if st == 200 else []:
            if m["name"] == name:
                return m.get("tags")
        return None


if __name__ == "__main__":
    harness.main()
