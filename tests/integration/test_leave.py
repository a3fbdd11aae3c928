"""test_leave.py: a graceful leave is not a failure. `hearsay leave` on one agent and SIGTERM
on another: each shows as left on every remaining agent within 1 s and is never shown failed
(views polled every 50 ms); the leaving agent exits with status 0."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

N = 5
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}


class Leave(unittest.TestCase):
    def watch_leave(self, c, leaver, t0, others):
        """Polls until every other agent shows leaver as left; returns (seconds, marks)."""
        bad = []
        while time.monotonic() - t0 < 5:
            views = c.views(others)
            for obs, v in views.items():
                if (v or {}).get(leaver.name) == "failed":
                    bad.append((round(time.monotonic() - t0, 3), obs))
            if all((v or {}).get(leaver.name) == "left" for v in views.values()):
                return time.monotonic() - t0, bad
            time.sleep(0.05)
        return None, bad

    def check_after(self, c, leaver, others, seconds=2.0):
        """Stays left (never failed) for a while after the leave."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            for obs, v in c.views(others).items():
                self.assertEqual((v or {}).get(leaver.name), "left",
                                 "%s shows %s as %s after the leave" % (obs, leaver.name, v))
            time.sleep(0.05)

    def test_leave_command_and_sigterm(self):
        figures = {}
        with Cluster(N) as c:
            c.start()
            c.wait_converged(ALL_ALIVE, 5)
            time.sleep(0.5)

            leaver = c[4]
            others = [n for n in c.nodes if n is not leaver]
            t0 = time.monotonic()
            p = leaver.cli("leave")
            self.assertEqual(p.returncode, 0, p.stderr)
            took, bad = self.watch_leave(c, leaver, t0, others)
            rc = harness.reap(leaver.proc, 5)
            log("hearsay leave: %s left everywhere after %s s, failed marks %s, exit %s"
                % (leaver.name, took, bad, rc))
            self.assertEqual(bad, [])
            self.assertIsNotNone(took, "not left everywhere: %s" % c.views(others))
            figures["leave_cmd"] = took
            self.assertEqual(rc, 0)
            self.check_after(c, leaver, others)

            leaver = c[2]
            others = [n for n in c.nodes if n.running() and n is not leaver]
            leaver.signal(signal.SIGTERM)
            t0 = time.monotonic()
            took, bad = self.watch_leave(c, leaver, t0, others)
            rc = harness.reap(leaver.proc, 5)
            log("SIGTERM: %s left everywhere after %s s, failed marks %s, exit %s"
                % (leaver.name, took, bad, rc))
            self.assertEqual(bad, [])
            self.assertIsNotNone(took, "not left everywhere: %s" % c.views(others))
            figures["sigterm"] = took
            self.assertEqual(rc, 0)
            self.check_after(c, leaver, others)

            # check does not count left members
            p = c[1].cli("check", "--min-alive", "3")
            self.assertEqual(p.returncode, 0, p.stdout)
            self.assertTrue(p.stdout.startswith("HEARSAY OK - 3/3 alive"), p.stdout)
            p = c[1].cli("members", "--status", "left")
            self.assertEqual([line.split()[0] for line in p.stdout.splitlines()[1:]],
                             ["n2", "n4"])

            # a member that left and comes back is alive again
            c[4].start()
            c.wait_converged(dict(ALL_ALIVE, n2="left"), 3, what="n4 back after leaving")
        print("MEASURE leave_cmd_s=%.3f leave_sigterm_s=%.3f"
              % (figures["leave_cmd"], figures["sigterm"]))
        self.assertLessEqual(figures["leave_cmd"], 1.0)
        self.assertLessEqual(figures["sigterm"], 1.0)


if __name__ == "__main__":
    harness.main()
