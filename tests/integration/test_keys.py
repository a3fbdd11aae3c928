"""test_keys.py: key rotation through the Raft group on a live, secure five-agent cluster
(three seeds). `hearsay keys install`, `use` and `remove`, each run on a different agent
(a non-seed, a seed), return once committed and acknowledged by all five members; while it
happens a poller reads every member's view every 50 ms and no member is ever anything but
alive, and no agent starts a suspicion (hearsay_suspicions_total). Then: refusals
(remove the primary, use a key that is not installed) exit 1; an agent started with the old
key is dropped as unknown_key and never listed; an agent restarted with only the old key file
comes back with the replicated ring it saved (DATA_DIR/keyring) and rejoins; a change naming
a member that does not acknowledge (paused) answers 202 with its name and exits 1.
test_down_during_rotation: an agent killed after `install` and restarted after `use` and
`remove` (its saved ring: the removed key as primary, the new one installed) notices that
everything it hears is sealed with the new key, seals with it, fetches the configuration and
is alive everywhere again (found by tests/chaos, seed 7).
test_cut_off_pair_during_rotation: two agents cut off together (iptables) during `use` and
`remove` keep talking to each other under the removed key; after the heal they follow the
hosts that seal with the new key and are alive everywhere again (found by tests/chaos, seed 1)."""

import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

ALL = {"n%d" % i: "alive" for i in range(1, 6)}


class Poller(threading.Thread):
    """Reads every running node's view every 50 ms; keeps whatever is not all-alive."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.c = cluster
        self.stop = threading.Event()
        self.bad = []
        self.rounds = 0

    def run(self):
        while not self.stop.is_set():
            for n in self.c.nodes[:5]:
                v = n.members(timeout=1.0)
                if v is None:
                    continue
                odd = {k: s for k, s in v.items() if s != "alive"}
                if odd:
                    self.bad.append((round(time.monotonic() - harness.T0, 3), n.name, odd))
            self.rounds += 1
            time.sleep(0.05)


def keys(node, local=False):
    st, body = node.api("GET", "/v1/keys" + ("" if local else "?members=1"), timeout=5)
    assert st == 200, (st, body)
    return body


def key_text(path):
    with open(path) as f:
        return f.read().strip()


def metric(node, name, label=None):
    st, m = node.api("GET", "/v1/metrics")
    for line in str(m).splitlines():
        if line.startswith(name) and (label is None or label in line):
            return float(line.split()[-1])
    return 0.0


class Keys(unittest.TestCase):
    def test_rotation(self):
        with Cluster(6, seeds=(1, 2, 3), secure=True) as c:
            for n in c.nodes[:5]:
                n.start(wait=False)
            for n in c.nodes[:5]:
                n.wait_ready()
            live = c.nodes[:5]
            c.wait_converged(ALL, 10, observers=live)
            old = c.key_file
            old_id = None

            def ring_everywhere():
                rings = [keys(n, local=True) for n in live]
                ok = all(len(r["keys"]) == 1 and r["local"] == r["keys"] for r in rings)
                return rings[0]["keys"][0] if ok else None
            harness.wait_for(ring_everywhere, 10, "the seeds' key ring replicated to all", 0.1)
            old_id = ring_everywhere()
            log("replicated ring: primary %s" % old_id)

            new = os.path.join(c.dir, "new.key")
            self.assertEqual(c.cli("keygen", "-o", new).returncode, 0)
            susp0 = sum(metric(n, "hearsay_suspicions_total") for n in live)
            poller = Poller(c)
            poller.start()
            times = {}
            try:
                for step, node, path in (("install", c[4], new), ("use", c[5], new),
                                         ("remove", c[1], old)):
                    t0 = time.monotonic()
                    p = node.cli("keys", step, "--file", path, "--json", timeout=40)
                    times[step] = time.monotonic() - t0
                    self.assertEqual(p.returncode, 0, "keys %s: %s %s" % (step, p.stdout,
                                                                          p.stderr))
                    ans = json.loads(p.stdout)
                    self.assertEqual((ans["acknowledged"], ans["members"], ans["pending"]),
                                     (5, 5, []), ans)
                    log("keys %s on %s: %.3f s, version %s, acknowledged %d/%d"
                        % (step, node.name, times[step], ans["committed_version"],
                           ans["acknowledged"], ans["members"]))
                    time.sleep(1.0)  # let any disturbance show in the views
            finally:
                poller.stop.set()
                poller.join()
            log("poller: %d rounds over 5 members during the rotation" % poller.rounds)
            self.assertEqual(poller.bad, [], "a member was not alive during the rotation")
            self.assertGreater(poller.rounds, 20)
            susp1 = sum(metric(n, "hearsay_suspicions_total") for n in live)
            self.assertEqual(susp1, susp0, "suspicions were started during the rotation")

            lst = keys(c[2])
            new_id = lst["primary"]
            self.assertNotEqual(new_id, old_id)
            self.assertEqual(lst["keys"], [new_id], lst)
            self.assertEqual(lst["by_key"][new_id], {"installed": 5, "primary": 5}, lst)
            p = c[3].cli("keys", "list")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("5/5", p.stdout)
            self.assertNotIn(key_text(new), p.stdout + json.dumps(lst))  # ids only, never keys

            # refusals
            p = c[2].cli("keys", "remove", "--file", new)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("primary", p.stderr)
            p = c[2].cli("keys", "use", "--file", old)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            p = c[2].cli("keys", "install", "not-a-key")
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

            # an agent with the old key is dropped as unknown_key and never listed
            def unknown_key_drops(node):
                return metric(node, "hearsay_", 'reason="unknown_key"')
            before = unknown_key_drops(c[1])
            intruder = c[6]
            intruder.join = [c[1].addr]
            c.key_file = old
            intruder.start()
            c.key_file = new
            time.sleep(2.5)
            after = unknown_key_drops(c[1])
            log("n1 unknown_key drops: %d -> %d while n6 used the removed key" % (before, after))
            self.assertGreater(after, before)
            for n in live:
                self.assertNotIn("n6", n.members())
            intruder.kill9()

            # restart with only the old key file: the saved replicated ring brings it back
            c.key_file = old
            c[5].kill9()
            c[5].start()
            c.key_file = new
            self.assertEqual(c[5].cli("tags", "set", "after=restart").returncode, 0)

            def n1_sees_tag():
                st, body = c[1].api("GET", "/v1/members")
                return any(m["name"] == "n5" and m.get("tags", {}).get("after") == "restart"
                           for m in body.get("members", []))
            took = harness.wait_for(n1_sees_tag, 10, "n1 sees n5's new tag", 0.05)
            log("n5 restarted with the old key file talks again: its new tag reached n1 in "
                "%.3f s (saved ring)" % took)
            c.wait_converged(ALL, 10, observers=live)
            self.assertEqual(keys(c[5], local=True)["local"], [new_id])
            with open(os.path.join(c[5].data_dir, "keyring")) as f:
                self.assertIn(key_text(new), f.read())
            self.assertEqual(os.stat(os.path.join(c[5].data_dir, "keyring")).st_mode & 0o077, 0)

            # a member that cannot acknowledge is named, and the change stays committed
            third = os.path.join(c.dir, "third.key")
            self.assertEqual(c.cli("keygen", "-o", third).returncode, 0)
            c[5].sigstop()
            try:
                p = c[4].cli("keys", "install", "--file", third, "--wait", "2", "--json",
                             timeout=40)
            finally:
                c[5].sigcont()
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            ans = json.loads(p.stdout)
            self.assertEqual(ans["pending"], ["n5"], ans)
            self.assertIn("n5", p.stderr)
            harness.wait_for(lambda: len(keys(c[5], local=True)["local"]) == 2, 10,
                             "n5 installs the third key after SIGCONT", 0.1)

    def install_new_key(self, c):
        """Starts c, installs a new key (acknowledged by all); returns (old, new) key files."""
        c.start()
        c.wait_converged(ALL, 10)
        harness.wait_for(lambda: len(keys(c[4], local=True)["keys"]) == 1, 10,
                         "the key ring replicated", 0.1)
        new = os.path.join(c.dir, "new.key")
        self.assertEqual(c.cli("keygen", "-o", new).returncode, 0)
        p = c[4].cli("keys", "install", "--file", new, timeout=40)
        self.assertEqual(p.returncode, 0, p.stderr)
        return c.key_file, new

    def test_down_during_rotation(self):
        with Cluster(5, seeds=(1, 2, 3), secure=True) as c:
            old, new = self.install_new_key(c)
            c[5].kill9()
            others = c.nodes[:4]
            c.wait_converged(dict(ALL, n5="failed"), 10, observers=others)
            for step, path in (("use", new), ("remove", old)):
                p = c[4].cli("keys", step, "--file", path, timeout=40)
                self.assertEqual(p.returncode, 0, "keys %s: %s" % (step, p.stderr))
            new_id = keys(c[1], local=True)["primary"]
            c[5].start()  # key file: the old key; saved ring: old (primary) + new
            took = c.wait_converged(ALL, 15)
            log("n5, down during use+remove, alive everywhere %.3f s after its restart" % took)
            harness.wait_for(lambda: keys(c[5], local=True)["local"] == [new_id], 10,
                             "n5 holds exactly the current ring", 0.1)
            with open(c[5].logfile) as f:
                self.assertIn("sealing with", f.read())

    def test_cut_off_pair_during_rotation(self):
        # found by tests/chaos (seed 1): agents cut off together during `use` and `remove`
        # hear each other under the removed key, so "nothing opens under our primary" never
        # held for them and they stayed out; the majority of hosts now decides
        harness.skip_unless_iptables()
        with Cluster(5, seeds=(1, 2, 3), secure=True) as c:
            old, new = self.install_new_key(c)
            pair, rest = [c[4], c[5]], [c[1], c[2], c[3]]
            with harness.Cut([n.ip for n in pair], [n.ip for n in rest], both=True):
                c.wait_converged(dict(ALL, n4="failed", n5="failed"), 15, observers=rest)
                for step, path, via in (("use", new, c[1]), ("remove", old, c[2])):
                    p = via.cli("keys", step, "--file", path, timeout=40)
                    self.assertEqual(p.returncode, 0, "keys %s: %s" % (step, p.stderr))
                new_id = keys(c[1], local=True)["primary"]
                harness.wait_for(lambda: all(keys(n, local=True)["local"][0] != new_id
                                             for n in pair), 5, "the pair seals with the old key",
                                 0.1)
            took = c.wait_converged(ALL, 20)
            log("the pair, cut off during use+remove, alive everywhere %.3f s after the heal"
                % took)
            for n in pair:  # (by following the others' key, or by a configuration push
                # that raced the heal: either way, exactly the current ring)
                harness.wait_for(lambda: keys(n, local=True)["local"] == [new_id], 10,
                                 "%s holds exactly the current ring" % n.name, 0.1)


if __name__ == "__main__":
    harness.main()
