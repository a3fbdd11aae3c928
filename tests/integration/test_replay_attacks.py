"""test_replay_attacks.py: three attacks of an outsider without the key who records traffic on
loopback and sends it again from addresses of its choosing (127.1.0.0/16, which is loopback
too), each of which worked before the secure channel (include/hearsay/channel.h):

  1. meet flood: the datagrams recorded while a five-agent cluster (three seeds, two members
     with large tags, so a full-state answer needs a TCP stream) started are replayed at the
     Raft leader from 100 forged sources whose SYNs are dropped (as spoofed addresses on a
     real network do not answer), while five configuration writes are made through a member.
     Before: the leader answered with streams to the forged sources, its 32 outbound slots
     filled with connections that never completed, the Raft connections were evicted and
     writes failed. Now: every write commits, no Raft term changes, the agent opens no stream
     to a forged source and sends them fewer bytes than it received from them.
  2. key following: datagrams recorded under the first key are replayed at one agent from
     twelve forged sources after the cluster moved to a new primary key (old key still
     installed). Before: the agent counted senders by source address and went back to
     sealing with the old key. Now: it keeps the new one.
  3. outbound streams leave from --bind: every TCP connection an agent opens has the agent's
     own address as its source (before: whatever routing chose, 127.0.0.1 on loopback)."""

import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from capture import SPOOF_PREFIX, Capture, spoofed_udp  # noqa: E402
from harness import Cluster, Rules, log, wait_for  # noqa: E402

ALL5 = {"n%d" % i: "alive" for i in range(1, 6)}


def spoofed_sources(n):
    return ["%s%d.%d" % (SPOOF_PREFIX, i // 250, 1 + i % 250) for i in range(n)]


def raft_view(node):
    st, body = node.api("GET", "/v1/raft")
    return body if st == 200 else {}


def leader_of(c):
    for n in c.seeds:
        v = raft_view(n)
        if v.get("state") == "leader":
            return n
    return None


class Flooder(threading.Thread):
    """Sends the payloads to dst from every source in turn (original source port), as raw IP
    packets, until stopped; counts the IP bytes it sent."""

    def __init__(self, payloads, dst, sources, pps):
        super().__init__(daemon=True)
        self.pkts = [spoofed_udp((src, sport), dst, p) for src in sources for sport, p in payloads]
        self.dst = dst
        self.gap = 1.0 / pps
        self.stop = threading.Event()
        self.sent = self.bytes = 0

    def run(self):
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            t = time.monotonic()
            while not self.stop.is_set():
                for pkt in self.pkts:
                    if self.stop.is_set():
                        break
                    raw.sendto(pkt, (self.dst[0], 0))
                    self.sent += 1
                    self.bytes += len(pkt)
                    t += self.gap
                    pause = t - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
        finally:
            raw.close()


def out_connections(node):
    st, text = node.api("GET", "/v1/metrics")
    for line in str(text).splitlines():
        if line.startswith('hearsay_tcp_connections{direction="out"}'):
            return int(line.split()[1])
    return 0


class ReplayAttacks(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("capturing on lo needs root")
        harness.skip_unless_iptables()

    def test_meet_flood_does_not_stall_raft(self):
        big = {"blob%d" % i: "x" * 40 for i in range(9)}  # ~450 bytes each: Meets go by TCP
        with Cluster(5, seeds=(1, 2, 3), tags={"n%d" % i: big for i in range(1, 6)}) as c:
            cap = Capture([n.port for n in c.nodes])
            try:
                c.start()
                c.wait_converged(ALL5, 15)
                time.sleep(2.0)
            finally:
                cap.stop()
            wait_for(lambda: leader_of(c), 10, "a Raft leader")
            leader = leader_of(c)
            to_leader = [(src[1], p) for _, src, dst, p in cap.udp if dst[1] == leader.port]
            to_leader.sort(key=lambda x: -len(x[1]))  # the full-state Meets are the largest
            payloads = to_leader[:20]
            log("recorded %d datagrams to the leader %s; replaying the %d largest (%d-%d B)"
                % (len(to_leader), leader.name, len(payloads), len(payloads[-1][1]),
                   len(payloads[0][1])))
            terms0 = {n.name: raft_view(n).get("term") for n in c.seeds}
            flood = Flooder(payloads, ("127.0.0.%d" % leader.index, leader.port),
                            spoofed_sources(100), pps=3000)
            syn = Rules("OUTPUT", [["-o", "lo", "-p", "tcp", "--syn", "-d",
                                    SPOOF_PREFIX + "0.0/16"]])
            cap2 = None
            peak_out = [0]
            stop = threading.Event()

            def watch_out():
                while not stop.is_set():
                    peak_out[0] = max(peak_out[0], out_connections(leader))
                    time.sleep(0.1)

            with syn:
                cap2 = Capture([n.port for n in c.nodes])
                watcher = threading.Thread(target=watch_out, daemon=True)
                flood.start()
                watcher.start()
                try:
                    time.sleep(2.0)
                    done = []
                    for i in range(5):
                        t0 = time.monotonic()
                        st, body = c[5].api("PUT", "/v1/config/flood%d" % i,
                                            str(i).encode(), timeout=12)
                        done.append((st, round(time.monotonic() - t0, 3)))
                    time.sleep(2.0)
                finally:
                    flood.stop.set()
                    flood.join(5)
                    stop.set()
                    watcher.join(5)
                    cap2.stop()
                syn_count = syn.dropped()
            terms1 = {n.name: raft_view(n).get("term") for n in c.seeds}
            log("flood: %d packets (%d B) from 100 forged sources; writes %s; terms %s -> %s; "
                "leader sent %d B to the forged sources and %d SYNs; peak outbound streams %d"
                % (flood.sent, flood.bytes, done, terms0, terms1, cap2.to_spoofed, syn_count,
                   peak_out[0]))
            self.assertGreater(flood.sent, 10000)
            self.assertEqual([st for st, _ in done], [200] * 5, done)
            self.assertEqual(terms1, terms0, "a Raft term changed during the flood")
            self.assertEqual(syn_count, 0, "streams were opened to forged sources")
            self.assertLessEqual(cap2.to_spoofed, flood.bytes)
            self.assertLessEqual(peak_out[0], 32)
            for i in range(5):
                st, body = c[1].api("GET", "/v1/config/flood%d" % i)
                self.assertEqual((st, body.get("value")), (200, str(i)), body)

    def test_replay_does_not_bring_back_an_old_key(self):
        with Cluster(5, seeds=(1, 2, 3)) as c:
            cap = Capture([n.port for n in c.nodes])
            try:
                c.start()
                c.wait_converged(ALL5, 15)
                time.sleep(4.0)  # traffic under the first key
            finally:
                cap.stop()
            target = c[5]
            new = os.path.join(c.dir, "new.key")
            self.assertEqual(c.cli("keygen", "-o", new).returncode, 0)
            for step in ("install", "use"):
                p = c[4].cli("keys", step, "--file", new, "--json", timeout=40)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            st, keys = target.api("GET", "/v1/keys")
            new_id = keys["primary"]
            self.assertEqual(keys["local"][0], new_id, keys)
            recorded = [(src[1], p) for _, src, dst, p in cap.udp if dst[1] == target.port]
            log("replaying %d datagrams recorded under the old key at %s from 12 sources"
                % (len(recorded), target.name))
            flood = Flooder(recorded, ("127.0.0.%d" % target.index, target.port),
                            spoofed_sources(12), pps=400)
            flood.start()
            try:
                time.sleep(10.0)  # the following rule looks every 2 s over 6 s
            finally:
                flood.stop.set()
                flood.join(5)
            st, keys = target.api("GET", "/v1/keys")
            log("after %d replayed datagrams %s seals with %s (cluster primary %s)"
                % (flood.sent, target.name, keys["local"][0], new_id))
            self.assertGreater(flood.sent, 2000)
            self.assertEqual(keys["local"][0], new_id, "replay moved the agent to the old key")

    def test_outbound_streams_leave_from_bind(self):
        with Cluster(3, seeds=(1, 2, 3)) as c:
            c.start()
            c.wait_converged({"n1": "alive", "n2": "alive", "n3": "alive"}, 10)
            wait_for(lambda: leader_of(c), 10, "a Raft leader")
            time.sleep(1.0)  # heartbeats flow on outbound streams
            ports = {n.port: n for n in c.nodes}
            p = subprocess.run(["ss", "-tnpH", "state", "established"], capture_output=True,
                               text=True, check=True)
            seen, wrong = 0, []
            for line in p.stdout.splitlines():
                f = line.split()
                local, peer = f[2], f[3]
                lip, lport = local.rsplit(":", 1)
                pip, pport = peer.rsplit(":", 1)
                if int(pport) not in ports or int(lport) in ports:
                    continue  # not an agent's outbound connection to another agent
                owner = [n for n in c.nodes if "pid=%d," % n.proc.pid in line]
                if not owner:
                    continue
                seen += 1
                if lip != "127.0.0.%d" % owner[0].index:
                    wrong.append("%s connects from %s to %s" % (owner[0].name, local, peer))
            log("%d outbound agent connections, %d from another address" % (seen, len(wrong)))
            self.assertGreaterEqual(seen, 2)
            self.assertEqual(wrong, [])


if __name__ == "__main__":
    harness.main()
