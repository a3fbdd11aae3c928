"""test_reachability.py: `hearsay reachability` on 4 real agents: every member answers
directly (exit 0); then with n3 SIGSTOPped and the link n1<->n4 dropped by iptables, n3 has
no answer, n4 answers through a relay and n2 directly (exit 1); a second test right after the
first is refused (429), and the text table has a row per member and a summary line."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, Cut, log  # noqa: E402

ALL = {"n1": "alive", "n2": "alive", "n3": "alive", "n4": "alive"}


def by_name(answer):
    return {m["name"]: m for m in answer["members"]}


class Reachability(unittest.TestCase):
    def test_direct_relayed_and_silent(self):
        with Cluster(4) as c:
            c.start()
            c.wait_converged(ALL, 5)
            p = c[1].cli("reachability", "--json")
            self.assertEqual(p.returncode, 0, p.stderr)
            r = json.loads(p.stdout)
            self.assertEqual(sorted(by_name(r)), ["n2", "n3", "n4"])
            self.assertTrue(all(m["result"] == "direct" for m in r["members"]), r)
            self.assertEqual((r["direct"], r["relayed"], r["no_answer"]), (3, 0, 0))
            self.assertTrue(all(0 <= m["rtt_ms"] < 200 for m in r["members"]), r)
            log("all direct: %s" % [(m["name"], m["rtt_ms"]) for m in r["members"]])
            st, body = c[1].api("POST", "/v1/reachability", {})
            self.assertEqual(st, 429, body)  # one a second

            ok, why = harness.iptables_usable()
            if not ok:
                self.skipTest("relayed and silent members need iptables: %s" % why)
            time.sleep(1.0)
            with Cut([c[1].ip], [c[4].ip], both=True):
                c[3].sigstop()
                p = c[1].cli("reachability")
                c[3].sigcont()
            log("with n3 stopped and n1<->n4 cut:\n%s" % p.stdout)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            rows = {ln.split()[0]: ln for ln in p.stdout.splitlines()[1:-1]}
            self.assertIn("no answer", rows["n3"])
            self.assertIn("relayed", rows["n4"])
            self.assertIn("direct", rows["n2"])
            self.assertRegex(p.stdout.splitlines()[-1],
                             r"^3 members asked: 1 direct, 1 through relays, 1 no answer")
            c.wait_converged(ALL, 10)


if __name__ == "__main__":
    unittest.main()
