"""test_gray.py: a member that loses 90 % of its packets in both directions (iptables
-m statistic DROP rules on loopback, to and from its port) is declared failed once and stays
out; no healthy member is ever shown failed; once the loss ends it is alive everywhere again
within 10 s (it comes back only after its own checks succeeded for readmit_ms, 2 s). Every
view is polled every 50 ms; alive<->failed changes of the lossy member are counted per
observer (docs/protocol.md, "Stable verdicts under gray failure")."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, Rules, log  # noqa: E402

N = 5
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}
LOSS_S = 25


def stat_drop(p):
    return ["-m", "statistic", "--mode", "random", "--probability", "%.4f" % p]


class Gray(unittest.TestCase):
    def setUp(self):
        harness.skip_unless_iptables()

    def test_heavy_loss_both_ways_is_out_once(self):
        with Cluster(N) as c:
            c.start()
            c.wait_converged(ALL_ALIVE, 5)
            time.sleep(1.0)
            bad = c[5]
            healthy = [n for n in c.nodes if n is not bad]
            changes = {n.name: 0 for n in healthy}
            last = {n.name: "alive" for n in healthy}
            healthy_failed = []
            # by port, not address: other clusters on this machine may use the same address
            rules = [["-i", "lo", "-p", proto, flag, str(bad.port)] + stat_drop(0.9)
                     for proto in ("udp", "tcp") for flag in ("--dport", "--sport")]
            with Rules("INPUT", rules) as r:
                t0 = time.monotonic()
                while time.monotonic() - t0 < LOSS_S:
                    for obs, v in c.views(healthy).items():
                        v = v or {}
                        st = v.get(bad.name)
                        if st in ("alive", "failed"):
                            up = last[obs] == "alive"
                            if (st == "failed") == up:
                                changes[obs] += 1
                                last[obs] = st
                        healthy_failed += [(obs, m) for m, s in v.items()
                                           if s == "failed" and m != bad.name]
                    time.sleep(0.05)
                dropped = r.dropped()
            took = c.wait_converged(ALL_ALIVE, 10)
            log("90%% loss both ways on %s for %d s (%d datagrams dropped): alive<->failed "
                "changes per healthy observer %s; alive everywhere %.2f s after the loss ended"
                % (bad.name, LOSS_S, dropped, changes, took))
            print("MEASURE gray_changes_max=%d heal_s=%.3f" % (max(changes.values()), took))
            self.assertEqual(healthy_failed[:5], [], "healthy members shown failed")
            self.assertLessEqual(max(changes.values()), 2, "the lossy member flapped: %s"
                                 % changes)


if __name__ == "__main__":
    harness.main()
