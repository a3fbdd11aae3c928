"""test_libhearsay.py: libhearsay against real agents. Three seeds (n1-n3) with tags; the
probe program (libhearsay_probe.c, public header only, linked with libhearsay.so.0) lists
members with status and tag filters, counts them, reads self/health/raft, sets and deletes
tags (seen by the other agents), sets a configuration key through Raft and reads it back on
another agent (plain and consistent), reads an unknown key (404 -> HS_CLIENT_ENOTFOUND),
streams events, makes a raw request, passes an answer on verbatim, reads the metrics and the
key ring (with the members' survey), installs and removes a key, refuses removing the primary,
reports an unknown seed and a bad seed address, and an unreachable agent with exit 2."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

ALL = {"n1": "alive", "n2": "alive", "n3": "alive"}
TAGS = {"n1": {"role": "db", "az": "a"}, "n2": {"role": "web"}, "n3": {"role": "db"}}


def probe_path():
    p = os.environ.get("LIBHEARSAY_PROBE")
    if p and os.access(p, os.X_OK):
        return p
    found = [q for q in harness.glob.glob(os.path.join(harness.ROOT, "build*", "tests",
                                                       "integration", "libhearsay_probe"))
             if os.access(q, os.X_OK)]
    if not found:
        raise unittest.SkipTest("no libhearsay_probe (set LIBHEARSAY_PROBE or build first)")
    return max(found, key=os.path.getmtime)


class LibHearsay(unittest.TestCase):
    def probe(self, node, *args, timeout=20):
        sock = node.sock if node else "/nonexistent-hearsay/api.sock"
        p = subprocess.run([self.exe, sock] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        log("probe %s %s -> %d %r" % (node.name if node else "-", " ".join(args), p.returncode,
                                      p.stdout[-300:]))
        return p

    def ok(self, node, *args):
        p = self.probe(node, *args)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout.splitlines()

    def test_library_against_agents(self):
        self.exe = probe_path()
        out = subprocess.run(["ldd", self.exe], stdout=subprocess.PIPE, text=True).stdout
        self.assertIn("libhearsay.so.0", out)
        with Cluster(3, seeds=(1, 2, 3), tags=TAGS) as c:
            c.start()
            c.wait_converged(ALL, 10)
            n1, n2, n3 = c[1], c[2], c[3]

            # members: the same list the CLI prints, with the same filters
            lines = self.ok(n1, "members")
            self.assertEqual(lines[-1], "count 3")
            cli = json.loads(n1.cli("members", "--json").stdout)["members"]
            want = ["%s %s %s %s" % (m["name"], m["status"], m["addr"],
                                     ",".join("%s=%s" % kv for kv in sorted(m["tags"].items())))
                    for m in cli]
            self.assertEqual(lines[:-1], want)
            self.assertEqual([ln.split()[0] for ln in self.ok(n2, "members", "alive",
                                                              "role=db")[:-1]], ["n1", "n3"])
            self.assertEqual(self.ok(n2, "members", "alive", "role=db", "az=a")[:-1][0].split()[0],
                             "n1")
            self.assertEqual(self.ok(n2, "members", "failed"), ["count 0"])
            self.assertEqual(self.ok(n3, "members", "", "role=nope"), ["count 0"])
            self.assertEqual(self.ok(n3, "counts"),
                             ["total 3 alive 3 suspect 0 failed 0 left 0"])

            # self, health, raft
            s = self.ok(n2, "self")
            self.assertTrue(s[0].startswith("n2 alive %s role=web" % n2.addr), s)
            self.assertRegex(s[1], r"^uptime_ms \d+ msgs_in \d+ stats \d+$")
            h = self.ok(n1, "health")[0]
            self.assertTrue(h.startswith("status ok ok 1 insecure 0 members 3 alive 3 raft "), h)
            took = harness.wait_for(
                lambda: all(self.probe(n, "raft").stdout.split()[3] != "-" for n in c.nodes),
                10, "a raft leader known by every seed", 0.1)
            r = self.ok(n3, "raft")[0].split()
            log("raft leader %s after %.3f s" % (r[3], took))
            self.assertEqual(sorted(r[r.index("seeds") + 1:]), ["n1", "n2", "n3"])

            # tags: set on n2, visible from n1; delete answers the remaining tags
            self.assertEqual(self.ok(n2, "tags-set", "zone", "eu 1"), ["tags set"])
            harness.wait_for(
                lambda: any(ln.startswith("n2 ") for ln in
                            self.probe(n1, "members", "alive", "zone=eu 1").stdout.splitlines()),
                5, "n2's new tag seen by n1")
            self.assertEqual(self.ok(n2, "tags-delete", "zone"), ["tag role=web"])
            p = self.probe(n2, "tags-set", "bad=key", "v")
            self.assertEqual(p.returncode, 1)
            self.assertIn("error -13", p.stdout)

            # config through Raft: set on n2, read on n3 (plain once applied, and consistent)
            self.assertRegex(self.ok(n2, "config-set", "lib.key", "hello world")[0],
                             r"^committed version \d+$")
            harness.wait_for(lambda: self.probe(n3, "config-get", "lib.key").returncode == 0,
                             10, "lib.key on n3")
            self.assertRegex(self.ok(n3, "config-get", "lib.key")[0],
                             r"^config lib.key=hello world version \d+$")
            self.assertRegex(self.ok(n1, "config-get", "lib.key", "consistent")[0],
                             r"^config lib.key=hello world version \d+$")
            self.assertEqual(n1.cli("config", "get", "lib.key").stdout, "hello world\n")
            p = self.probe(n1, "config-get", "no.such.key")
            self.assertEqual(p.returncode, 1)
            self.assertTrue(p.stdout.startswith("error -8: not found: "), p.stdout)
            self.assertIn("(HTTP 404)", p.stdout)

            # events: the buffered ones from the start, then stop after three
            ev = self.ok(n1, "events", "0", "3")
            self.assertEqual(len(ev), 3, ev)
            self.assertTrue(all(ln.startswith("event ") for ln in ev), ev)
            ids = [int(ln.split()[1]) for ln in ev]
            self.assertEqual(ids, sorted(ids))

            # raw request
            raw = self.ok(n3, "raw", "GET", "/v1/members?status=alive")
            self.assertEqual(raw[0], "status 200")
            self.assertEqual(len(json.loads("\n".join(raw[1:]))["members"]), 3)
            raw = self.ok(n3, "raw", "GET", "/v1/nope")
            self.assertEqual(raw[0], "status 404")

            # the answer a typed call parsed, as the agent sent it (what --json prints)
            doc = json.loads("\n".join(self.ok(n1, "members-json")))
            self.assertEqual([m["name"] for m in doc["members"]], ["n1", "n2", "n3"])
            metrics = self.ok(n2, "metrics")
            self.assertRegex(metrics[0], r"^metrics \d+$")
            self.assertTrue(any(ln.startswith("hearsay_") for ln in metrics[1:]), metrics[:5])

            # the key ring: this agent's view, the members' survey, a key installed and removed
            # again (each acknowledged by all three), removing the primary refused
            ring = self.ok(n1, "keys")
            self.assertRegex(ring[0], r"^keys 1 primary [0-9a-f]{8} local 1 surveyed 0 ")
            primary = ring[0].split()[3]
            ring = self.ok(n2, "keys", "survey")
            self.assertIn("surveyed 1 members 3 answered 3", ring[0])
            self.assertEqual(ring[1], "key %s installed 3 primary 3" % primary)
            new = c.cli("keygen").stdout.strip()
            with open(c.key_file) as f:
                old = f.read().strip()
            for node, op, key in ((n3, "install", new), (n1, "remove", new)):
                self.assertRegex(self.ok(node, "keys-change", op, key, "5000")[0],
                                 r"^change %s [0-9a-f]{8} committed \d+ acknowledged 3/3 "
                                 r"pending 0$" % op)
            p = self.probe(n2, "keys-change", "remove", old, "0")
            self.assertEqual(p.returncode, 1)
            self.assertTrue(p.stdout.startswith("error -10: "), p.stdout)  # 409: EBUSY

            # seed changes: an unknown seed is 404, a bad address never leaves the library
            p = self.probe(n1, "seed-remove", "no-such-seed")
            self.assertTrue(p.stdout.startswith("error -8: "), p.stdout)
            p = self.probe(n1, "seed-add", "n9", "nowhere")
            self.assertTrue(p.stdout.startswith("error -13: "), p.stdout)
            self.assertIn("(HTTP 0)", p.stdout)

        # no agent: exit 2, HS_CLIENT_ECONNECT
        p = self.probe(None, "members")
        self.assertEqual(p.returncode, 2)
        self.assertTrue(p.stdout.startswith("error -1: agent not reachable: "), p.stdout)
        print("MEASURE libhearsay_raft_leader_s=%.3f" % took)


if __name__ == "__main__":
    harness.main()
