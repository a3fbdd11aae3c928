"""capture.py: recording loopback traffic for the replay tests (root only): Capture (an
AF_PACKET reader of the IPv4 UDP and TCP packets of given ports), frames_of (a TCP stream
split into hearsay frames), udp_no_checksum (a recorded IP packet made sendable on a raw
socket), spoofed_udp (an IP packet with a chosen source), EventWatch (an agent's
GET /v1/events collected by a thread), send_again (a whole capture replayed three ways), and
dropped() (the transport's drop counters)."""

import json
import socket
import struct
import threading
import time

from harness import log

ATTACKER_IP = "127.0.0.99"
SPOOF_PREFIX = "127.1."  # sources the tests forge (127.1.0.0/16 is loopback too)
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class Capture:
    """Records IPv4 UDP and TCP packets on lo whose source or destination port is one of
    ports (a thread reading an AF_PACKET socket)."""

    def __init__(self, ports):
        self.ports = set(ports)
        self.udp = []  # (ip packet bytes, src, dst, payload)
        self.tcp = {}  # (src, dst) -> {seq: payload}
        self.seen = 0
        self.to_spoofed = 0  # bytes of IP packets sent to SPOOF_PREFIX addresses
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
        if dst_ip.startswith(SPOOF_PREFIX):
            self.to_spoofed += len(ip)
        l4 = ip[ihl:]
        if proto not in (6, 17) or len(l4) < 8:
            return
        sport, dport = struct.unpack("!HH", l4[:4])
        if sport not in self.ports and dport not in self.ports:
            return
        if src_ip == ATTACKER_IP or src_ip.startswith(SPOOF_PREFIX):
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



def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def spoofed_udp(src, dst, payload):
    """An IPv4/UDP packet from src=(ip, port) to dst=(ip, port) for a raw socket (the kernel
    fills in the IP checksum; the UDP checksum is left 0, which IPv4 allows)."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                      socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    return hdr + udp


def dropped(node):
    """{reason: count} of hearsay_transport_dropped_total on one agent."""
    st, text = node.api("GET", "/v1/metrics")
    out = {}
    for line in str(text).splitlines():
        if line.startswith("hearsay_transport_dropped_total{reason="):
            reason = line.split('"')[1]
            out[reason] = int(line.split()[1])
    return out


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
