"""test_config_replay.py: a recorded configuration request commits nothing again.

An on-path attacker without the key records the TCP streams to the seeds while a non-seed agent
(n4) forwards changes to the Raft leader: `PUT /v1/config/itkey` (v1), an add-seed and a
remove-seed of a seed that never runs, and a key install. Later the cluster moves on (itkey
becomes v2 through another agent, the installed key is removed again), and the attacker replays
every recorded stream to a seed, three times, on new connections (the transport hello inside
names the original sender, so the leader takes n4's frames as n4's). The seeds' own Raft
streams are replayed too (a replayed Raft message cannot add an entry), so the test does not
depend on where outbound streams leave from. Passes when the replays change nothing: no new Raft entry
on any seed (last index and term unchanged), the same configuration version, itkey still v2,
the ghost seed still absent, the removed key still absent. On code without client sessions and
without the secure channel (main at 6faded5) the forwarded requests were deduplicated only
while in flight, and the replay committed them again (itkey went back to v1, the ghost seed
came back). Since the channel's anti-replay window drops replayed frames below the cores, this
test now holds twice over; the sessions alone are proven by tests/unit/test_config_client.c.

Also: PUT with an Idempotency-Key retried on another agent returns the original answer and
writes no entry; the same key with another value is 422.

The capture is an AF_PACKET socket on "lo" (root only; skipped otherwise)."""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import capture as rec  # noqa: E402
from harness import Cluster, log  # noqa: E402

ALL = {"n%d" % i: "alive" for i in range(1, 5)}


def raft(node):
    st, body = node.api("GET", "/v1/raft", timeout=5)
    assert st == 200, (st, body)
    return body


def leader_of(seeds):
    names = {raft(n).get("leader") for n in seeds}
    if len(names) != 1 or None in names:
        return None
    name = names.pop()
    return next(n for n in seeds if n.name == name)


def log_state(seeds):
    """(last_index, term) of every seed."""
    return {n.name: (raft(n)["last_index"], raft(n)["term"]) for n in seeds}


class ConfigReplay(unittest.TestCase):
    def test_replayed_requests_commit_nothing(self):
        if os.geteuid() != 0:
            self.skipTest("capturing on lo needs root")
        with Cluster(4, seeds=(1, 2, 3), secure=True) as c:
            c.start()
            c.wait_converged(ALL, 10)
            seeds = c.nodes[:3]
            harness.wait_for(lambda: leader_of(seeds), 10, "one raft leader", 0.05)
            harness.wait_for(lambda: c[4].api("GET", "/v1/keys")[1].get("keys"), 10,
                             "the key ring replicated to n4", 0.1)
            n4 = c[4]
            key2 = os.path.join(c.dir, "second.key")
            self.assertEqual(c.cli("keygen", "-o", key2).returncode, 0)
            with open(key2) as f:
                k2 = f.read().strip()
            ghost = {"name": "ghost", "addr": "127.0.0.9:%d" % c[1].port}

            cap = rec.Capture([n.port for n in c.nodes])
            try:
                st, body = n4.api("PUT", "/v1/config/itkey", b"v1", timeout=10)
                self.assertEqual(st, 200, body)
                st, body = n4.api("POST", "/v1/raft/add-seed", ghost, timeout=10)
                self.assertEqual(st, 200, body)
                for _ in range(20):  # 409 until the addition is applied everywhere it must be
                    st, body = n4.api("POST", "/v1/raft/remove-seed", {"name": "ghost"},
                                      timeout=10)
                    if st != 409:
                        break
                    time.sleep(0.1)
                self.assertEqual(st, 200, body)
                st, body = n4.api("POST", "/v1/keys/install?wait_ms=5000", {"key": k2},
                                  timeout=15)
                self.assertIn(st, (200, 202), body)
                time.sleep(0.5)
            finally:
                cap.stop()
            ports = {(n.ip, n.port) for n in seeds}
            streams = {k: v for k, v in cap.streams().items() if k[1] in ports}
            frames = sum(len(rec.frames_of(b)) for b in streams.values())
            log("recorded %d streams to the seeds, %d frames" % (len(streams), frames))
            self.assertGreater(frames, 4)

            # the cluster moves on
            st, body = c[2].api("PUT", "/v1/config/itkey", b"v2", timeout=10)
            self.assertEqual(st, 200, body)
            st, body = c[1].api("POST", "/v1/keys/remove?wait_ms=5000", {"key": k2}, timeout=15)
            self.assertIn(st, (200, 202), body)
            time.sleep(1.0)
            before = log_state(seeds)
            version = raft(c[1])["config_version"]
            keys_before = c[1].api("GET", "/v1/keys")[1]["keys"]
            log("before the replay: %s, config version %d" % (before, version))

            for rnd in range(3):
                for (src, dst), data in sorted(streams.items()):
                    fr = rec.frames_of(data)
                    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    t.settimeout(2)
                    try:
                        t.bind((rec.ATTACKER_IP, 0))
                        t.connect(dst)
                        t.sendall(b"".join(fr))
                        time.sleep(0.2)
                    except OSError as e:
                        log("replay to %s: %s" % (dst, e))
                    finally:
                        t.close()
            time.sleep(3.0)
            log("transport drops on the leader after the replay: %s"
                % rec.dropped(leader_of(seeds)))

            after = log_state(seeds)
            log("after the replay: %s, config version %d"
                % (after, raft(c[1])["config_version"]))
            self.assertEqual({n: t for n, (i, t) in after.items()},
                             {n: t for n, (i, t) in before.items()},
                             "a leader change during the test: inconclusive")
            self.assertEqual(after, before, "the replay wrote new Raft entries")
            self.assertEqual(raft(c[1])["config_version"], version)
            for n in c.nodes:
                p = n.cli("config", "get", "itkey")
                self.assertEqual(p.stdout, "v2\n", "%s: itkey went back" % n.name)
            self.assertNotIn("ghost", raft(c[1])["seeds"])
            self.assertEqual(c[1].api("GET", "/v1/keys")[1]["keys"], keys_before)

    def test_idempotency_key(self):
        with Cluster(4, seeds=(1, 2, 3)) as c:
            c.start()
            c.wait_converged(ALL, 10)
            seeds = c.nodes[:3]
            harness.wait_for(lambda: leader_of(seeds), 10, "one raft leader", 0.05)
            h = {"Idempotency-Key": "deploy-42"}
            st, first = c[4].api("PUT", "/v1/config/idem", b"one", 10, h)
            self.assertEqual(st, 200, first)
            st, body = c[3].api("PUT", "/v1/config/idem", b"two", timeout=10)
            self.assertEqual(st, 200, body)
            before = log_state(seeds)
            # the script timed out and retries, on another agent
            st, again = c[2].api("PUT", "/v1/config/idem", b"one", 10, h)
            self.assertEqual((st, again), (200, first))
            st, other = c[1].api("PUT", "/v1/config/idem", b"three", 10, h)
            self.assertEqual(st, 422, other)
            time.sleep(0.3)
            self.assertEqual(log_state(seeds), before)
            self.assertEqual(c[1].cli("config", "get", "idem", "--consistent").stdout, "two\n")


if __name__ == "__main__":
    harness.main()
