"""test_rotation_exclusion.py: after a key rotation, a holder of only the old key (a stolen key
file, a decommissioned host) can neither read nor inject anything.

A five-agent sealed cluster (three seeds) rotates its key while every datagram and TCP stream
on loopback is recorded: once in three steps (install, use, remove, run on different agents),
once with `hearsay keys rotate`. Then, with the OLD key only (tests/integration/envopen.c):

  1. every recorded envelope that the old key opens is searched for the new key, raw and in
     base64: the new key travels in Raft entries, configuration fetches and forwarded key
     requests, all on streams, and streams are encrypted under their own ephemeral session
     key (include/hearsay/channel.h), so none may hold it. (Before the stream sessions the new
     key was in the clear under the old key in the leader's AppendEntries.)
  2. the recorded old-key datagrams are sent again to every agent: each is dropped as
     unknown_key (hearsay_transport_dropped_total), nothing changes in any view."""

import base64
import os
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from capture import Capture, dropped, frames_of, spoofed_udp  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

N = 5
ALL = {"n%d" % i: "alive" for i in range(1, N + 1)}


def key_text(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")][0]


def envelopes(cap):
    """Every recorded sealed envelope: datagram payloads, and stream frames without their
    length prefix."""
    out = [p for _, _, _, p in cap.udp]
    for data in cap.streams().values():
        out += [f[4:] for f in frames_of(data)]
    return out


def open_with(key, cluster, envs):
    """What envopen makes of each envelope with only key: a list of bytes (opened payload) or
    a reason string."""
    tool = os.environ.get("ENVOPEN") or harness.binary("envopen")
    stdin = b"".join(struct.pack("!I", len(e)) + e for e in envs)
    p = subprocess.run([tool, key, cluster], input=stdin, capture_output=True, check=True)
    res = []
    for line in p.stdout.decode().splitlines():
        res.append(bytes.fromhex(line[3:]) if line.startswith("ok ") else line)
    assert len(res) == len(envs), p.stderr
    return res


class RotationExclusion(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("capturing on lo needs root")

    def rotate_and_check(self, steps):
        with Cluster(N, seeds=(1, 2, 3)) as c:
            cap = Capture([n.port for n in c.nodes])
            try:
                c.start()
                c.wait_converged(ALL, 15)
                wait_for(lambda: all(n.api("GET", "/v1/keys")[1].get("keys") for n in c.nodes),
                         10, "the key ring replicated")
                st, _ = c[4].api("PUT", "/v1/config/before", b"1")
                self.assertEqual(st, 200)
                old = key_text(c.key_file)
                new_file = os.path.join(c.dir, "new.key")
                self.assertEqual(c.cli("keygen", "-o", new_file).returncode, 0)
                new = key_text(new_file)
                for action, node, path in steps(c, c.key_file, new_file):
                    p = node.cli("keys", action, "--file", path, "--json", timeout=60)
                    self.assertEqual(p.returncode, 0, "keys %s: %s %s" % (action, p.stdout,
                                                                       p.stderr))
                    log("keys %s on %s: done" % (action, node.name))
                st, _ = c[5].api("PUT", "/v1/config/after", b"2")
                self.assertEqual(st, 200)
                time.sleep(2.0)
            finally:
                cap.stop()
            for n in c.nodes:
                st, k = n.api("GET", "/v1/keys")
                self.assertEqual((len(k["keys"]), k["local"]), (1, k["keys"]), (n.name, k))

            envs = envelopes(cap)
            res = open_with(old, "hearsay", envs)
            opened = [r for r in res if isinstance(r, bytes)]
            new_raw = base64.b64decode(new)
            leaks = [r for r in opened if new_raw in r or new.encode() in r]
            log("recorded %d envelopes (%d datagrams); the old key opens %d of them; %d hold "
                "the new key" % (len(envs), len(cap.udp), len(opened), len(leaks)))
            self.assertGreater(len(opened), 100)
            self.assertEqual(len(leaks), 0, "the old key reads the new key in recorded traffic")

            # the old key's datagrams again, to every agent: refused as unknown_key
            old_dgrams = [(src, dst, p) for _, src, dst, p in cap.udp
                          if isinstance(open_with(old, "hearsay", [p])[0], bytes)][:300]
            before = {n.name: dropped(n).get("unknown_key", 0) for n in c.nodes}
            views0 = c.views()
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            sent = {}
            for src, dst, p in old_dgrams:
                raw.sendto(spoofed_udp(src, dst, p), (dst[0], 0))
                sent[dst[1]] = sent.get(dst[1], 0) + 1
            raw.close()
            time.sleep(1.0)
            for n in c.nodes:
                got = dropped(n).get("unknown_key", 0) - before[n.name]
                self.assertGreaterEqual(got, sent.get(n.port, 0), n.name)
            self.assertEqual(c.views(), views0)
            self.assertEqual(views0, {n.name: ALL for n in c.nodes})
            log("%d old-key datagrams sent again: every one refused as unknown_key"
                % sum(sent.values()))

    def test_three_steps(self):
        self.rotate_and_check(lambda c, old, new: [("install", c[4], new), ("use", c[5], new),
                                                   ("remove", c[1], old)])

    def test_rotate(self):
        self.rotate_and_check(lambda c, old, new: [("rotate", c[4], new)])


if __name__ == "__main__":
    harness.main()
