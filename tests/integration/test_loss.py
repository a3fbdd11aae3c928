"""test_loss.py: 10% random loss (iptables statistic match) on every agent's gossip port for
60 s (HS_IT_LOSS_SECONDS): no live agent is ever marked failed by anyone. Suspect marks are
counted and reported. Skipped (exit 0) when not root or iptables is missing or unusable."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, Loss, log  # noqa: E402

N = 5
SECONDS = float(os.environ.get("HS_IT_LOSS_SECONDS", "60"))
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}


class Loss10(unittest.TestCase):
    def setUp(self):
        harness.skip_unless_iptables()

    def test_ten_percent_loss_no_false_failures(self):
        with Cluster(N) as c:
            c.start()
            c.wait_converged(ALL_ALIVE, 5)
            failed_marks, suspect_polls, polls = [], 0, 0
            suspect_names = set()
            with Loss([n.port for n in c.nodes], 0.10) as loss:
                t0 = time.monotonic()
                while time.monotonic() - t0 < SECONDS:
                    for obs, v in c.views().items():
                        self.assertIsNotNone(v, "%s stopped answering" % obs)
                        for name, st in v.items():
                            if st == "failed":
                                failed_marks.append((round(time.monotonic() - t0, 2), obs, name))
                            elif st == "suspect":
                                suspect_polls += 1
                                suspect_names.add((obs, name))
                    polls += 1
                    time.sleep(0.1)
                dropped = loss.dropped()
            stats = {}
            for n in c.nodes:
                st, me = n.api("GET", "/v1/self")
                s = me.get("stats", {}) if isinstance(me, dict) else {}
                stats[n.name] = (s.get("msgs_in"), s.get("probes_failed"), s.get("suspicions"),
                                 s.get("refutations"), s.get("failures_declared"))
            log("loss 10%% for %.0f s: %d polls, %d failed marks, %d suspect observations "
                "(%d observer/member pairs), %d datagrams dropped by iptables; (msgs_in, "
                "probes_failed, suspicions, refutations, failures) per node: %s"
                % (SECONDS, polls, len(failed_marks), suspect_polls, len(suspect_names),
                   dropped, stats))
            print("MEASURE loss10_failed_marks=%d suspect_observations=%d"
                  % (len(failed_marks), suspect_polls))
            self.assertGreater(dropped, 0, "the iptables rules dropped nothing")
            self.assertEqual(failed_marks, [], "live agents marked failed under 10% loss")
            c.wait_converged(ALL_ALIVE, 5)


if __name__ == "__main__":
    harness.main()
