"""test_bad_datagrams.py: hostile input on the gossip port (loopback only). Truncated,
garbage, oversized and wrong-version datagrams, well-framed insecure envelopes with wrong
cluster labels, sealed-flag junk, every message type with random or truncated bodies, and junk
on the TCP stream port. Every agent must keep running, no live agent may ever be marked
failed, and membership must stay intact (all five alive everywhere)."""

import hashlib
import os
import random
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

N = 5
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}
VERSION = 2
LABEL = hashlib.blake2b(b"hearsay", digest_size=32).digest()[:8]  # default cluster name


def insecure(payload, version=VERSION, flags=0, label=LABEL):
    return bytes([version, flags]) + label + payload


def datagrams(rng):
    """The hostile datagram corpus, deterministic for a given rng."""
    out = [b"", b"\x01", b"\x01\x00", b"\x01\x00\x01\x02\x03", insecure(b"")[:9],
           insecure(b""), b"\x00" * 65000, bytes(rng.getrandbits(8) for _ in range(65000))]
    for v in (0, 2, 99, 255):  # wrong versions
        out.append(insecure(b"\x01" + bytes(40), version=v))
    for flags in (0x02, 0x80, 0xff):  # unknown flag bits
        out.append(insecure(b"\x01" + bytes(40), flags=flags))
    out.append(bytes([VERSION, 1]) + bytes(rng.getrandbits(8) for _ in range(80)))  # "sealed"
    out.append(insecure(b"\x01" + bytes(40), label=b"otherclu"))  # another cluster
    for _ in range(300):  # garbage of every size
        out.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 1500))))
    msg_types = list(range(0x00, 0x10)) + list(range(0x40, 0x70, 3)) + [0x7f, 0x80, 0xff]
    for t in msg_types:  # well framed, every message type, random/truncated/huge bodies
        out.append(insecure(bytes([t])))
        for _ in range(8):
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
            out.append(insecure(bytes([t]) + body))
        out.append(insecure(bytes([t]) + b"\xff" * 1300))
        out.append(insecure(bytes([t]) + b"\x00" * 1300))
        out.append(insecure(bytes([t]) + b"\xff" * 60000))
    return out


class BadDatagrams(unittest.TestCase):
    def test_hostile_datagrams(self):
        rng = random.Random(1234)
        corpus = datagrams(rng)
        with Cluster(N, secure=False) as c:  # it frames insecure envelopes itself
            c.start()
            c.wait_converged(ALL_ALIVE, 5)
            targets = [c[3], c[1]]
            failed_marks = []
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            sent = 0
            t0 = time.monotonic()
            for rnd in range(3):
                for i, d in enumerate(corpus):
                    for t in targets:
                        # spoof nothing: loopback source, a member's IP as source once
                        try:
                            sock.sendto(d, (t.ip, t.port))
                            sent += 1
                        except OSError:
                            pass  # > 65507 bytes etc.
                    if i % 50 == 0:
                        time.sleep(0.01)
                        for obs, v in c.views().items():
                            self.assertIsNotNone(v, "%s stopped answering" % obs)
                            failed_marks += [(obs, k) for k, s in v.items() if s == "failed"]
                # the same from a member's own address (127.0.0.2), so "from a member" paths run
                s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s2.bind(("127.0.0.2", 0))
                for d in corpus[:200]:
                    s2.sendto(d[:1400], (c[3].ip, c[3].port))
                    sent += 1
                s2.close()
            sock.close()
            log("sent %d hostile datagrams in %.2f s" % (sent, time.monotonic() - t0))

            # junk on the TCP stream transport: garbage, a huge frame length, a short frame
            tcp = [b"garbage" * 100, struct.pack(">I", 0xffffffff) + b"x" * 100,
                   struct.pack(">I", 64 * 1024 * 1024), struct.pack(">I", 10) + b"abc",
                   struct.pack(">I", 30) + insecure(b"\x08" + bytes(20)),
                   struct.pack(">I", 0)]
            for d in tcp:
                for t in targets:
                    try:
                        with socket.create_connection((t.ip, t.port), timeout=1) as s:
                            s.sendall(d)
                    except OSError:
                        pass
            # many idle connections, then dropped
            held = []
            for _ in range(100):
                try:
                    held.append(socket.create_connection((c[3].ip, c[3].port), timeout=1))
                except OSError:
                    break
            time.sleep(0.5)
            for s in held:
                s.close()

            for n in c.nodes:
                self.assertTrue(n.running(), "%s died:\n%s" % (n.name, n.log_tail()))
            took = c.wait_converged(ALL_ALIVE, 5, what="membership intact")
            t1 = time.monotonic()
            while time.monotonic() - t1 < 3:  # and stays so
                for obs, v in c.views().items():
                    failed_marks += [(obs, k) for k, s in (v or {}).items() if s == "failed"]
                time.sleep(0.1)
            st, me = c[3].api("GET", "/v1/self")
            stats = me.get("stats", {}) if isinstance(me, dict) else {}
            drops = {k: v for k, v in stats.items() if k.startswith("drop")}
            log("after the barrage: converged %.3f s, n3 drop counters %s" % (took, drops))
            st, metrics = c[3].api("GET", "/v1/metrics")
            drop_lines = [line for line in str(metrics).splitlines()
                          if "drop" in line and not line.startswith("#")]
            log("n3 drop metrics: %s" % "; ".join(drop_lines[:20]))
            self.assertEqual(failed_marks, [])
            self.assertTrue(c.converged(ALL_ALIVE))
            for n in c.nodes:
                self.assertTrue(n.running(), "%s died:\n%s" % (n.name, n.log_tail()))
        print("MEASURE bad_datagrams_sent=%d failed_marks=%d" % (sent, len(failed_marks)))


if __name__ == "__main__":
    harness.main()
