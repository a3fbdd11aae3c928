"""test_tags.py: tags given with --tag at start are shown by `hearsay members` (table and
--json) on every agent, --tag and --status filter, and `hearsay tags set|delete` changes are
gossiped to the others."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

N = 5
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}
TAGS = {"n1": {"role": "db", "az": "a"}, "n2": {"role": "db", "az": "b"},
        "n3": {"role": "web", "az": "a"}, "n4": {}, "n5": {"role": "web"}}


def names(p):
    return [line.split()[0] for line in p.stdout.splitlines()[1:]]


class Tags(unittest.TestCase):
    def test_tags_shown_filtered_and_updated(self):
        with Cluster(N, tags=TAGS) as c:
            c.start()
            c.wait_converged(ALL_ALIVE, 5)
            for n in c.nodes:
                p = n.cli("members", "--json")
                self.assertEqual(p.returncode, 0, p.stderr)
                got = {m["name"]: m["tags"] for m in json.loads(p.stdout)["members"]}
                self.assertEqual(got, TAGS, n.name)
            p = c[5].cli("members")
            row = [line.split() for line in p.stdout.splitlines() if line.startswith("n1 ")][0]
            self.assertEqual(row[4], "az=a,role=db")

            self.assertEqual(names(c[4].cli("members", "--tag", "role=db")), ["n1", "n2"])
            self.assertEqual(names(c[4].cli("members", "--tag", "role=db", "--tag", "az=a")),
                             ["n1"])
            self.assertEqual(names(c[4].cli("members", "--tag", "role=nope")), [])
            self.assertEqual(names(c[4].cli("members", "--status", "alive", "--tag", "az=a")),
                             ["n1", "n3"])
            p = c[4].cli("members", "--json", "--tag", "role=web")
            self.assertEqual([m["name"] for m in json.loads(p.stdout)["members"]], ["n3", "n5"])

            p = c[4].cli("tags", "set", "role=cache", "az=c")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "az=c\nrole=cache\n")
            took = harness.wait_for(
                lambda: all(names(n.cli("members", "--tag", "role=cache")) == ["n4"]
                            for n in c.nodes), 3, "n4's new tags everywhere")
            log("tags set: visible everywhere after %.3f s" % took)
            p = c[4].cli("tags", "delete", "az")
            self.assertEqual((p.returncode, p.stdout), (0, "role=cache\n"), p.stderr)
            took2 = harness.wait_for(
                lambda: all(names(n.cli("members", "--tag", "az=c")) == [] for n in c.nodes),
                3, "n4's deleted tag gone everywhere")
            log("tags delete: gone everywhere after %.3f s" % took2)
            print("MEASURE tags_set_spread_s=%.3f tags_delete_spread_s=%.3f" % (took, took2))
            self.assertTrue(c.converged(ALL_ALIVE))


if __name__ == "__main__":
    harness.main()
