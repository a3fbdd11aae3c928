"""test_replay.py: an on-path attacker without the key records every datagram and stream
frame of a sealed five-agent cluster (three of them Raft seeds) while one member is
suspected (SIGSTOP until someone suspects it, then SIGCONT), one fails (kill -9, restart,
rejoin) and one leaves (graceful leave, restart, rejoin); once the cluster has recovered it
replays everything it recorded:

  1. every UDP datagram as the exact IP packet (original source address and port, so the
     receiver answers the original sender), in the recorded order;
  2. every UDP payload again from the attacker's own socket (127.0.0.99) to the same
     destination;
  3. every TCP stream (the recorded client-to-server bytes: transport hello, then frames) on
     a new connection to the same destination.

Then it watches for 8 s (longer than the 5 s vote validity). Passes when no replay changes
anything: every agent sees all five alive at every poll, no agent publishes a suspect,
failed or leave event after the cluster recovered, no incarnation seen by any agent goes
back, and no incarnation moves at all (a replayed vote or suspected Ping about a member's
current incarnation would make it refute). The capture is an AF_PACKET socket on "lo"
(root only; skipped otherwise); the replay uses a raw IP socket for the exact packets."""

import json
import os
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

N = 5
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
ATTACKER_IP = "127.0.0.99"


class Capture:
    """Records IPv4 UDP and TCP packets on lo whose source or destination port is one of
    ports (a thread reading an AF_PACKET socket)."""

    def __init__(self, ports):
        self.ports = set(ports)
        self.udp = []  # (ip packet bytes, src, dst, payload)
        self.tcp = {}  # (src, dst) -> {seq: payload}
        self.seen = 0
        self.stop_flag = False
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.s.bind(("lo", 0))
        self.s.settimeout(0.2)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_flag:
            try:
                frame, addr = self.s.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING:  # every loopback packet shows up twice
                continue
            self.parse(frame[14:])

    def parse(self, ip):
        if len(ip) < 20 or ip[0] >> 4 != 4:
            return
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        ip = ip[:total]
        proto = ip[9]
        src_ip, dst_ip = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        l4 = ip[ihl:]
        if proto not in (6, 17) or len(l4) < 8:
            return
        sport, dport = struct.unpack("!HH", l4[:4])
        if sport not in self.ports and dport not in self.ports:
            return
        if src_ip == ATTACKER_IP:
            return
        self.seen += 1
        src, dst = (src_ip, sport), (dst_ip, dport)
        if proto == 17:
            self.udp.append((bytes(ip), src, dst, bytes(l4[8:])))
        elif dport in self.ports:  # client to server: the direction that carries frames
            seq = struct.unpack("!I", l4[4:8])[0]
            off = (l4[12] >> 4) * 4
            data = bytes(l4[off:])
            if data:
                self.tcp.setdefault((src, dst), {})[seq] = data

    def stop(self):
        self.stop_flag = True
        self.t.join(2)
        self.s.close()

    def streams(self):
        """{(src, dst): bytes} reassembled in sequence order (retransmissions dropped)."""
        out = {}
        for key, segs in self.tcp.items():
            buf, nxt = b"", None
            for seq in sorted(segs):
                data = segs[seq]
                if nxt is not None and seq < nxt:
                    data = data[nxt - seq:]
                buf += data
                nxt = seq + len(segs[seq]) if nxt is None else max(nxt, seq + len(segs[seq]))
            out[key] = buf
        return out


def frames_of(stream):
    """Splits a hearsay TCP stream into its frames (u32 length + sealed envelope)."""
    frames, i = [], 0
    while i + 4 <= len(stream):
        n = struct.unpack("!I", stream[i:i + 4])[0]
        if i + 4 + n > len(stream):
            break
        frames.append(stream[i:i + 4 + n])
        i += 4 + n
    return frames


def udp_no_checksum(ip):
    """The IP packet with its UDP checksum zeroed (loopback captures carry a partial one);
    the kernel fills in the IP header checksum of a raw packet."""
    ihl = (ip[0] & 15) * 4
    return ip[:ihl + 6] + b"\0\0" + ip[ihl + 8:]


def send_again(cap, streams, gap=0.0):
    """Replays a capture: 1. every datagram as the exact IP packet from its original source
    (raw socket), 2. every payload again from ATTACKER_IP, 3. every recorded client-to-server
    TCP stream on a new connection from ATTACKER_IP; gap seconds between the three."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i, (ip, src, dst, _) in enumerate(cap.udp):
        raw.sendto(udp_no_checksum(ip), (dst[0], 0))
        if i % 50 == 49:
            time.sleep(0.002)
    raw.close()
    log("replayed %d datagrams from their original source" % len(cap.udp))
    time.sleep(gap)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((ATTACKER_IP, 0))
    for i, (_, _, dst, payload) in enumerate(cap.udp):
        u.sendto(payload, dst)
        if i % 50 == 49:
            time.sleep(0.002)
    u.close()
    log("replayed %d datagrams from %s" % (len(cap.udp), ATTACKER_IP))
    time.sleep(gap)
    sent = 0
    for (src, dst), data in sorted(streams.items()):
        fr = frames_of(data)
        if not fr:
            continue
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.settimeout(2)
        try:
            t.bind((ATTACKER_IP, 0))
            t.connect(dst)
            t.sendall(b"".join(fr))
            sent += len(fr)
        except OSError as e:
            log("tcp replay to %s: %s" % (dst, e))
        finally:
            t.close()
    log("replayed %d frames on %d TCP connections" % (sent, len(streams)))


class EventWatch:
    """Collects the JSON events an agent publishes on GET /v1/events (a thread)."""

    def __init__(self, node):
        self.node = node
        self.events = []
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(node.sock)
        self.s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.s.settimeout(0.2)
        self.stop_flag = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        buf = b""
        while not self.stop_flag:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                line = line.strip()
                if line.startswith(b"{"):
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        pass

    def stop(self):
        self.stop_flag = True
        self.t.join(2)
        self.s.close()


def accepted(c):
    """Sum over every agent of the messages its membership core accepted, and of the
    datagrams and frames its transports received."""
    core = udp = tcp = 0
    for n in c.nodes:
        st, text = n.api("GET", "/v1/metrics")
        for line in str(text).splitlines():
            if line.startswith("hearsay_messages_in_total "):
                core += int(line.split()[1])
            elif line.startswith('hearsay_transport_packets_in_total{transport="udp"}'):
                udp += int(line.split()[1])
            elif line.startswith('hearsay_transport_packets_in_total{transport="tcp"}'):
                tcp += int(line.split()[1])
    return core, udp, tcp


def incarnations(c):
    """{observer: {member: incarnation}} from every agent's /v1/members."""
    out = {}
    for n in c.nodes:
        st, body = n.api("GET", "/v1/members")
        assert st == 200, body
        out[n.name] = {m["name"]: m["incarnation"] for m in body["members"]}
    return out


class Replay(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("capturing on lo needs root")

    def test_replay_changes_nothing(self):
        with Cluster(N, secure=True, seeds=(1, 2, 3)) as c:
            cap = Capture([n.port for n in c.nodes])
            try:
                self.record(c)
            finally:
                cap.stop()
            streams = cap.streams()
            frames = sum(len(frames_of(b)) for b in streams.values())
            log("captured %d packets: %d datagrams, %d TCP streams with %d frames"
                % (cap.seen, len(cap.udp), len(streams), frames))
            self.assertGreater(len(cap.udp), 200)
            self.assertGreater(frames, 5)
            self.replay_and_watch(c, cap, streams)

    def record(self, c):
        c.start()
        c.wait_converged(ALL_ALIVE, 10)
        # a tags change, so updates are in the capture too
        st, _ = c[2].api("PUT", "/v1/tags", {"set": {"role": "db"}})
        self.assertEqual(st, 200)
        time.sleep(2.0)

        # suspicion: stop n3 until some agent suspects it, then resume
        others = [n for n in c.nodes if n.name != "n3"]
        c[3].sigstop()
        try:
            took = wait_for(lambda: any((v or {}).get("n3") == "suspect"
                                        for v in c.views(others).values()), 5,
                            "n3 suspect somewhere", 0.02)
        finally:
            c[3].sigcont()
        log("suspicion: n3 suspected %.2f s after SIGSTOP, resumed" % took)
        c.wait_converged(ALL_ALIVE, 10, what="all alive after the pause")
        time.sleep(2.0)

        # failure: kill -9 n5, wait until everyone has it failed, restart it
        survivors = [n for n in c.nodes if n.name != "n5"]
        c[5].kill9()
        took = wait_for(lambda: c.all_see("n5", "failed", survivors), 10, "n5 failed", 0.05)
        log("failure: n5 failed everywhere %.2f s after kill -9; restarting" % took)
        c[5].start()
        c.wait_converged(ALL_ALIVE, 10, what="all alive after n5's restart")
        time.sleep(2.0)

        # leave: n4 leaves gracefully, then comes back
        rest = [n for n in c.nodes if n.name != "n4"]
        c[4].sigterm()
        took = wait_for(lambda: c.all_see("n4", "left", rest), 10, "n4 left", 0.05)
        log("leave: n4 left everywhere %.2f s after SIGTERM; restarting" % took)
        c[4].start()
        c.wait_converged(ALL_ALIVE, 10, what="all alive after n4's restart")
        time.sleep(3.0)

    def replay_and_watch(self, c, cap, streams):
        c.wait_converged(ALL_ALIVE, 10, what="recovered before the replay")
        time.sleep(6.0)  # older than any vote's validity
        before = incarnations(c)
        counts0 = accepted(c)
        watches = [EventWatch(n) for n in c.nodes]
        bad_views, low = [], []
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                for obs, view in c.views().items():
                    if view != ALL_ALIVE:
                        bad_views.append((round(time.monotonic() - harness.T0, 3), obs, view))
                time.sleep(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        t0 = time.monotonic()
        try:
            send_again(cap, streams, gap=1.0)
            wait = 8.0 - (time.monotonic() - t0)
            time.sleep(max(wait, 0) + 8.0)
            counts1 = accepted(c)
            after = incarnations(c)
            # the watchers work: a tags change shows up on every one
            st, _ = c[2].api("PUT", "/v1/tags", {"set": {"role": "replayed"}})
            self.assertEqual(st, 200)
            wait_for(lambda: all(any(e.get("event") == "member-update" for e in w.events)
                                 for w in watches if w.node.name != "n2"), 5,
                     "member-update on every other agent's watcher")
        finally:
            stop.set()
            poller.join(5)
            for w in watches:
                w.stop()

        events = [(w.node.name, e) for w in watches for e in w.events
                  if e.get("event") in ("member-suspect", "member-failed", "member-leave")]
        for obs in before:
            for m, inc in before[obs].items():
                a = after[obs].get(m)
                if a is None or a < inc:
                    low.append("%s sees %s at %s, was %s" % (obs, m, a, inc))
        moved = ["%s sees %s at %s, was %s" % (obs, m, after[obs].get(m), inc)
                 for obs in before for m, inc in before[obs].items()
                 if after[obs].get(m) != inc]
        log("during the replay the agents took in %d more datagrams and %d more frames, "
            "and their cores accepted %d more messages (%d datagrams and %d frames replayed)"
            % (counts1[1] - counts0[1], counts1[2] - counts0[2], counts1[0] - counts0[0],
               2 * len(cap.udp), sum(len(frames_of(b)) for b in streams.values())))
        for w in watches:
            log("%s published %s during the replay" % (w.node.name, [e.get("event") for e in
                                                                     w.events]))
        st, metrics = c[1].api("GET", "/v1/metrics")
        log("n1 metrics: " + "; ".join(
            line for line in str(metrics).splitlines()
            if line.startswith(("hearsay_suspicions_total", "hearsay_refutations_total",
                                "hearsay_failures_declared_total"))))
        self.assertEqual(bad_views[:5], [], "views changed during the replay")
        self.assertEqual(events, [], "suspect/failed/leave events during the replay")
        self.assertEqual(low, [], "incarnations went back")
        self.assertEqual(moved, [], "incarnations moved during the replay")
        c.wait_converged(ALL_ALIVE, 5)


if __name__ == "__main__":
    harness.main()
