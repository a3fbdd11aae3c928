"""test_force_leave.py: the operator's controls on 10 real agents (3 seeds). A dead member removed
with `hearsay force-leave` from a non-seed is gone (left) from every view within 1 s of the
commit, while a member cut off by iptables during the command applies it within 1 s of the
heal; `--prune` forgets it everywhere; the member started again stays out (and goes quiet)
until `hearsay readmit`, run on it, brings it back; `hearsay explain` on an observer shows its
failure with the voters; a seed cannot be removed; `hearsay config fd probe_interval_ms 500`
and `config fd profile wan` are in effect on every agent within 2 s. Figures on stderr (the
numbers of docs/operations.md)."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, Cut, log  # noqa: E402

N = 10
DEAD = "n10"
CUTOFF = "n9"


def view(node):
    """{name: status} of node (None if it does not answer)."""
    return node.members(timeout=1.0)


def gone(v, name):
    return v is not None and v.get(name) in (None, "left")


def fd(node):
    st, body = node.api("GET", "/v1/fd")
    return body if st == 200 else {}


class ForceLeave(unittest.TestCase):
    def test_operator_controls(self):
        with Cluster(N, seeds=(1, 2, 3)) as c:
            c.start()
            c.wait_converged({"n%d" % i: "alive" for i in range(1, N + 1)}, 15)
            live = [n for n in c.nodes if n.name != DEAD]
            others = [n for n in live if n.name != CUTOFF]
            issuer = c["n5"]  # not a seed: the request goes to the leader

            # a dead member: killed, seen failed (explain shows the verdict and its voters)
            c[DEAD].kill9()
            harness.wait_for(lambda: all(view(n).get(DEAD) == "failed" for n in live), 20,
                             "%s failed everywhere" % DEAD, 0.1)
            p = issuer.cli("explain", DEAD, "--json")
            self.assertEqual(p.returncode, 0, p.stderr)
            h = json.loads(p.stdout)
            events = [r["event"] for r in h["history"]]
            self.assertIn("failed", events, h)
            deciders = [n for n in live if any(r["event"] == "failed" and not r["learnt"]
                                               for r in json.loads(n.cli("explain", DEAD,
                                                                         "--json").stdout)
                                               ["history"])]
            self.assertTrue(deciders, "nobody decided the failure")
            dh = json.loads(deciders[0].cli("explain", DEAD, "--json").stdout)
            verdict = [r for r in dh["history"] if r["event"] == "failed"][-1]
            self.assertGreaterEqual(len(verdict["votes"]), 2, verdict)
            log("explain %s on %s: %s" % (DEAD, deciders[0].name,
                                          deciders[0].cli("explain", DEAD).stdout.strip()))

            # force-leave while n9 is cut off from everyone
            cut_ips = [n.ip for n in c.nodes if n.name != CUTOFF]
            with Cut([c[CUTOFF].ip], cut_ips, both=True):
                time.sleep(0.3)
                t0 = time.monotonic()
                p = issuer.cli("force-leave", DEAD, "--json", timeout=35)
                committed = time.monotonic()
                self.assertEqual(p.returncode, 0, p.stderr)
                ans = json.loads(p.stdout)
                self.assertEqual((ans["name"], ans["removed"], ans["prune"]),
                                 (DEAD, True, False))
                took = harness.wait_for(lambda: all(gone(view(n), DEAD) for n in others), 5,
                                        "%s gone from every view" % DEAD, 0.02)
                log("force-leave %s: committed in %.3f s, gone from %d views %.3f s after the "
                    "commit" % (DEAD, committed - t0, len(others), took))
                self.assertLess(took, 1.0)
                self.assertEqual(view(c[CUTOFF]).get(DEAD), "failed")  # it cannot know yet
            healed = time.monotonic()
            took = harness.wait_for(lambda: gone(view(c[CUTOFF]), DEAD), 5,
                                    "the cut-off %s applies the removal" % CUTOFF, 0.02)
            log("the cut-off %s applied it %.3f s after the heal" % (CUTOFF, took))
            self.assertLess(took, 1.0)
            self.assertTrue(all(view(n).get(DEAD) == "left" for n in live))

            # --prune forgets it; a seed is refused
            p = c["n2"].cli("force-leave", DEAD, "--prune", timeout=35)
            self.assertEqual(p.returncode, 0, p.stderr)
            harness.wait_for(lambda: all(DEAD not in view(n) for n in live), 5,
                             "%s forgotten everywhere" % DEAD, 0.05)
            p = issuer.cli("force-leave", "n1", timeout=35)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn("seed", p.stderr)

            # started again: nobody takes it back, it learns it was removed and goes quiet
            c[DEAD].start()
            harness.wait_for(lambda: json.loads(c[DEAD].cli("self", "--json").stdout)
                             .get("removed"), 10, "%s learns it was removed" % DEAD, 0.1)
            time.sleep(1.0)
            self.assertTrue(all(DEAD not in view(n) for n in live))
            with open(c[DEAD].logfile) as f:
                self.assertIn("removed from the cluster by force-leave", f.read())

            # readmitted from itself (the explicit rejoin): back everywhere
            p = c[DEAD].cli("readmit", DEAD, timeout=35)
            self.assertEqual(p.returncode, 0, p.stderr)
            took = harness.wait_for(lambda: all(view(n).get(DEAD) == "alive" for n in live), 10,
                                    "%s back everywhere" % DEAD, 0.05)
            log("readmit %s: alive everywhere %.3f s after the commit" % (DEAD, took))

            # failure-detection settings through Raft, in effect on every agent
            t0 = time.monotonic()
            p = c["n7"].cli("config", "fd", "probe_interval_ms", "500", timeout=35)
            self.assertEqual(p.returncode, 0, p.stderr)
            took = harness.wait_for(
                lambda: all(fd(n).get("settings", {}).get("probe_interval_ms") == 500
                            for n in c.nodes), 2, "probe_interval_ms 500 everywhere", 0.02)
            log("config fd probe_interval_ms 500: everywhere %.3f s after the commit (%.3f s "
                "after the command)" % (took, time.monotonic() - t0))
            p = c["n4"].cli("config", "fd", "profile", "wan", timeout=35)
            self.assertEqual(p.returncode, 0, p.stderr)
            harness.wait_for(lambda: all(fd(n).get("profile") == "wan" and
                                         fd(n)["settings"]["probe_timeout_ms"] == 3000
                                         for n in c.nodes), 2, "profile wan everywhere", 0.02)
            p = c["n4"].cli("config", "fd", "probe_interval_ms", "5", timeout=35)
            self.assertEqual(p.returncode, 1)
            p = c["n4"].cli("config", "fd")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("profile wan (the cluster's)", p.stdout)
            c.wait_converged({"n%d" % i: "alive" for i in range(1, N + 1)}, 10)


if __name__ == "__main__":
    unittest.main()
