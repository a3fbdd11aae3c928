"""test_name_conflict.py: two real agents with one name. A fourth agent started on 127.0.0.4
as --name n2 (n2 runs on 127.0.0.2) exits with status 2 and a log line naming the conflict,
without taking the name over: every member keeps n2 at 127.0.0.2, alive; the member it met
reports the conflict (a member-conflict event in its log, hearsay_name_conflicts_total, the
marker in `hearsay members`); so does n2 itself. The same agent started again as n4 joins."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402


def metric(node, name):
    st, text = node.api("GET", "/v1/metrics")
    for line in (text if isinstance(text, str) else "").splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    return None


class NameConflict(unittest.TestCase):
    def test_newer_claimant_stops(self):
        with Cluster(4) as c:
            dup = c["n4"]
            c.nodes = c.nodes[:3]  # n4's slot runs the duplicate
            c.start()
            expect = {"n1": "alive", "n2": "alive", "n3": "alive"}
            c.wait_converged(expect, 10)
            real = c["n2"].addr
            dup.name = "n2"  # the same name on 127.0.0.4
            t0 = time.monotonic()
            dup.start(wait=False)
            seen = {"marker": False}

            def marker():
                st, body = c["n1"].api("GET", "/v1/members")
                for m in body.get("members", []) if st == 200 else []:
                    if m["name"] == "n2" and m.get("conflict") == dup.addr:
                        seen["marker"] = True
                p = c["n1"].cli("members")
                if "[conflict: also at %s]" % dup.addr in p.stdout:
                    seen["text"] = True
                return not dup.running()
            harness.wait_for(marker, 10, "the duplicate n2 to stop", 0.05)
            rc = harness.reap(dup.proc)
            log("the duplicate n2 on %s exited with %d after %.3f s" % (dup.addr, rc,
                                                                        time.monotonic() - t0))
            self.assertEqual(rc, 2)
            with open(dup.logfile) as f:
                text = f.read()
            self.assertIn("name conflict: the agent at %s answers for our name n2" % real, text)
            self.assertNotIn("leaving the cluster", text)  # no leave in the other's name
            self.assertTrue(seen["marker"], "no conflict marker in n1's members")
            self.assertTrue(seen.get("text"), "no conflict marker in `hearsay members` text")
            for n in c.nodes:
                self.assertGreaterEqual(metric(n, "hearsay_name_checks_total") or 0, 0)
            self.assertGreaterEqual(metric(c["n1"], "hearsay_name_conflicts_total"), 1)
            self.assertGreaterEqual(metric(c["n2"], "hearsay_name_conflicts_total"), 1)
            with open(c["n1"].logfile) as f:
                self.assertIn('"event":"member-conflict"', f.read())
            for n in c.nodes:
                st, body = n.api("GET", "/v1/members")
                m = [x for x in body["members"] if x["name"] == "n2"][0]
                self.assertEqual((m["addr"], m["status"]), (real, "alive"), n.name)
            # the report ends once the newer claimant is gone
            harness.wait_for(lambda: "conflict" not in [x for x in c["n1"].api(
                "GET", "/v1/members")[1]["members"] if x["name"] == "n2"][0], 10,
                "the conflict report to end", 0.1)
            # under its own name the same agent joins
            dup.name = "n4"
            dup.data_dir = dup.data_dir + "-n4"
            os.makedirs(dup.data_dir, exist_ok=True)
            c.nodes.append(dup)
            dup.start()
            expect["n4"] = "alive"
            c.wait_converged(expect, 10)


if __name__ == "__main__":
    unittest.main()
