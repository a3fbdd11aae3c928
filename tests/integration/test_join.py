"""test_join.py: four agents join through one (n1) and within 2 s of the last start all five
agents list all five members alive, through the API and through `hearsay members`."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, 6)}


class Join(unittest.TestCase):
    def test_five_join_through_one(self):
        with Cluster(5, join_via=1) as c:
            last = c.start()
            harness.wait_for(lambda: c.converged(ALL_ALIVE), 10, "all five alive everywhere")
            took = time.monotonic() - last
            log("join: all five list all five alive %.3f s after the last start" % took)
            print("MEASURE join_converge_s=%.3f" % took)
            self.assertLessEqual(took, 2.0)
            for n in c.nodes:
                p = n.cli("members")
                self.assertEqual(p.returncode, 0, p.stderr)
                rows = [line.split() for line in p.stdout.splitlines()[1:]]
                self.assertEqual([(r[0], r[1], r[2]) for r in rows],
                                 [(m.name, m.addr, "alive") for m in c.nodes])
                p = n.cli("check", "--min-alive", "5")
                self.assertEqual(p.returncode, 0, p.stdout)
                self.assertTrue(p.stdout.startswith("HEARSAY OK - 5/5 alive"), p.stdout)

    def test_join_command(self):
        """An agent started alone joins with `hearsay join ADDR`."""
        with Cluster(3, join_via=None) as c:
            c.start()
            p = c[2].cli("join", c[1].addr)
            self.assertEqual(p.returncode, 0, p.stderr)
            p = c[3].cli("join", c[2].addr)
            self.assertEqual(p.returncode, 0, p.stderr)
            took = c.wait_converged({"n1": "alive", "n2": "alive", "n3": "alive"}, 5)
            log("join command: converged in %.3f s" % took)


if __name__ == "__main__":
    harness.main()
