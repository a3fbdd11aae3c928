#!/usr/bin/env python3
"""replay_flood.py: an outsider without the key against the Raft leader of a sealed five-agent
cluster (n1-n3 seeds, n4-n5 members, every agent with ~450 bytes of tags so that a full-state
answer needs a TCP stream), in one of two modes:

  --mode flood (issue 14): the datagrams the leader received while the cluster started are
    recorded on lo (tests/integration/capture.py's Capture) and the --payloads largest (the
    full-state Meets are the largest) are replayed at it as raw IP packets from --sources
    forged addresses in 127.1.0.0/16 at --pps for --seconds. SYNs to the forged addresses are
    dropped by one exact iptables rule (spoofed addresses on a real network do not answer), and
    a counting chain measures the bytes the leader sends to them and receives from them.
  --mode preauth (issue 15): --conns TCP connections from --sources addresses in 127.2.0.0/16
    to the leader's gossip port, each announcing a 4 MiB frame and then, by --behaviour,
    sending nothing more (idle), one byte a second (dribble) or as much of the frame as the
    socket takes (fill), or without even the length (silent); a connection the agent closes
    is opened again --reconnect s later (tests/integration/preauth.py).

During the attack five configuration writes are made through n5 (PUT /v1/config/KEY, 12 s
timeout each, the first 2 s into the attack, then every --seconds/6). Reported: writes
committed, Raft term and leader changes with their times (every seed polled every 250 ms),
the leader's CPU (utime + stime from /proc/PID/stat over the attack, as a share of one core)
and the attacker's, the leader's RSS before, at its highest during the attack (sampled every
100 ms) and 10 s after, the peak of its outbound TCP connections
(hearsay_tcp_connections{direction="out"}, every 100 ms) and how long those GET /v1/metrics
took (its event loop's lag), and the changes of its hearsay_channel_* counters and
hearsay_transport_dropped_total by reason;
flood mode also the bytes sent to and received from the forged sources. It runs against any
hearsayd (--hearsayd PATH; the CLI is taken from the same directory), so the same attack can
be measured before and after a change. Exits 1 if a required number is missed (5/5 writes,
0 term changes; flood: CPU under 50 %, outbound connections never above 32, no more bytes to
the forged sources than from them; preauth: RSS growth at most 8 MiB during the attack and
within 1 MiB of the baseline 10 s after).

    sudo python3 bench/replay_flood.py --mode flood --pps 10000 --sources 1000 --seconds 30
    sudo python3 bench/replay_flood.py --mode preauth --conns 1000 --behaviour dribble
    sudo python3 bench/replay_flood.py --hearsayd /tmp/mainbuild2/agent/hearsayd ...

Root only (raw sockets, AF_PACKET, iptables). Every process is killed by PID at exit, every
iptables rule and chain added is deleted by spec, the temporary directory removed
(common.py)."""

import argparse
import json
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import common  # noqa: E402
import preauth  # noqa: E402
from capture import Capture, spoofed_udp  # noqa: E402
from common import HearsayCluster, log  # noqa: E402

FORGED_NET = "127.1.0.0/16"   # flood mode: forged sources (their SYNs are dropped)
OUT_CAP = 32                  # CONNS_OUT_MAX in agent/daemon/transport_tcp.c
BIG_TAGS = {"blob%d" % i: "x" * 40 for i in range(9)}


def addresses(prefix, n):
    return ["%s%d.%d" % (prefix, i // 250, 1 + i % 250) for i in range(n)]


class ForgedTraffic:
    """The exact SYN DROP rule for the forged sources, and two counting chains: what the
    agents send to the forged addresses (OUTPUT, before the DROP, so dropped SYNs count too)
    and what arrives from them (INPUT), by protocol. All removed by spec on exit."""

    def __init__(self):
        tag = "hs-replay-flood-%d" % os.getpid()
        self.drop = ["-o", "lo", "-p", "tcp", "--syn", "-d", FORGED_NET, "-m", "comment",
                     "--comment", tag, "-j", "DROP"]
        self.out_chain, self.in_chain = "HSRFO%d" % os.getpid(), "HSRFI%d" % os.getpid()
        self.out_jump = ["-o", "lo", "-d", FORGED_NET, "-j", self.out_chain]
        self.in_jump = ["-i", "lo", "-s", FORGED_NET, "-j", self.in_chain]
        self.done = []

    def __enter__(self):
        common._cleanups.append(self.remove)
        try:
            common._ipt("-I", "OUTPUT", *self.drop)
            self.done.append(("-D", "OUTPUT", self.drop))
            for chain in (self.out_chain, self.in_chain):
                common._ipt("-N", chain)
                self.done.append(("-X", chain, None))
                self.done.append(("-F", chain, None))
                for proto in ("udp", "tcp", "icmp"):
                    common._ipt("-A", chain, "-p", proto, "-m", "comment", "--comment",
                                proto, "-j", "RETURN")
            common._ipt("-I", "OUTPUT", *self.out_jump)  # ahead of the DROP
            self.done.append(("-D", "OUTPUT", self.out_jump))
            common._ipt("-I", "INPUT", *self.in_jump)
            self.done.append(("-D", "INPUT", self.in_jump))
        except BaseException:
            self.remove()
            raise
        log("iptables: SYN drop to %s and counting chains %s/%s added"
            % (FORGED_NET, self.out_chain, self.in_chain))
        return self

    def dropped_syns(self):
        p = common._ipt("-L", "OUTPUT", "-v", "-x", "-n")
        return sum(int(l.split()[0]) for l in p.stdout.splitlines()
                   if self.drop[10] in l and "DROP" in l)

    def read(self, chain):
        """{proto: (packets, bytes)} of a counting chain."""
        out = {}
        for line in common._ipt("-L", chain, "-v", "-x", "-n").stdout.splitlines():
            if "/*" in line:
                f = line.split()
                out[line.split("/*")[1].split("*/")[0].strip()] = (int(f[0]), int(f[1]))
        return out

    def remove(self):
        if not self.done:
            return
        while self.done:
            op, chain, spec = self.done.pop()
            common._ipt(op, chain, *(spec or []), check=False)
        log("iptables: forged-source rules and chains removed")

    def __exit__(self, *exc):
        self.remove()
        return False


# ---------------------------------------------------------------------------------------
# attackers (child processes, so the GIL of the monitor threads never paces them)


ATTACKER_NICE = [0]  # --attacker-nice


def child_init():
    """A forked child owns none of the parent's processes, rules or signal handlers, and runs
    at --attacker-nice."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    del common._cleanups[:]
    common._procs.clear()
    if ATTACKER_NICE[0]:
        os.nice(ATTACKER_NICE[0])


def own_cpu():
    t = os.times()
    return round(t.user + t.system, 2)


def flood_child(pkts, dst_ip, pps, seconds, pipe):
    child_init()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sent = nbytes = errors = i = 0
    t0 = time.monotonic()
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            break
        due = int(now * pps) + 1
        while sent + errors < due:
            p = pkts[i]
            i = (i + 1) % len(pkts)
            try:
                raw.sendto(p, (dst_ip, 0))
                sent += 1
                nbytes += len(p)
            except OSError:
                errors += 1
        time.sleep(0.002)
    pipe.send({"sent": sent, "bytes": nbytes, "errors": errors,
               "seconds": round(time.monotonic() - t0, 3), "cpu_s": own_cpu()})


def preauth_child(dst, n, nsources, behaviour, seconds, reconnect, pipe):
    child_init()
    st = preauth.hold(dst, n, nsources, behaviour, seconds, reconnect)
    st["cpu_s"] = own_cpu()
    pipe.send(st)


def run_child(target, args):
    recv, send = multiprocessing.Pipe(duplex=False)
    p = multiprocessing.Process(target=target, args=args + (send,), daemon=True)
    p.start()
    return p, recv


# ---------------------------------------------------------------------------------------
# the cluster and what is watched during the attack


def raft_view(agent):
    try:
        st, body = agent.api("GET", "/v1/raft", timeout=1.0)
        return body if st == 200 and isinstance(body, dict) else {}
    except OSError:
        return {}


def leader_of(c):
    for a in c.seeds:
        if raft_view(a).get("state") == "leader":
            return a
    return None


def channel_counters(agent):
    """The counters the comparison reports: hearsay_channel_*, transport drops by reason,
    TCP accepted/connects, transport bytes."""
    m = agent.metrics()
    keep = ("hearsay_channel_", "hearsay_transport_dropped_total", "hearsay_tcp_accepted_total",
            "hearsay_tcp_connects_total", "hearsay_transport_bytes_")
    return {k: v for k, v in m.items() if k.startswith(keep)}


class Watch(threading.Thread):
    """Samples the target's RSS and outbound connections every 100 ms and every seed's Raft
    term and role every 250 ms, until stopped."""

    def __init__(self, c, target):
        super().__init__(daemon=True)
        self.c, self.target = c, target
        self.stop = threading.Event()
        self.rss_max = 0
        self.out_max = 0
        self.terms = set()
        self.leaders = set()
        self.no_leader_polls = 0
        self.t0 = time.monotonic()
        self.api_s = []    # how long each GET /v1/metrics on the target took (its loop's lag)
        self.changes = []  # (s since the start, seed, term, state) at every change seen
        self.last = {}

    def run(self):
        next_raft = 0.0
        while not self.stop.is_set():
            try:
                pid = self.target.proc.pid
                self.rss_max = max(self.rss_max, common.status_kib(pid, "VmRSS"))
                t = time.monotonic()
                m = self.target.metrics()
                self.api_s.append(time.monotonic() - t)
                self.out_max = max(self.out_max,
                                   int(m.get('hearsay_tcp_connections{direction="out"}', 0)))
            except (OSError, ValueError):
                pass
            if time.monotonic() >= next_raft:
                next_raft = time.monotonic() + 0.25
                leader = None
                for a in self.c.seeds:
                    v = raft_view(a)
                    if "term" in v:
                        self.terms.add(v["term"])
                    if v.get("state") == "leader":
                        leader = a.name
                    seen = (v.get("term"), v.get("state"))
                    if v and self.last.get(a.name) != seen:
                        if a.name in self.last:
                            self.changes.append((round(time.monotonic() - self.t0, 2), a.name)
                                                + seen)
                        self.last[a.name] = seen
                if leader:
                    self.leaders.add(leader)
                else:
                    self.no_leader_polls += 1
            time.sleep(0.1)


class Writer(threading.Thread):
    """Five configuration writes through agent `via`, the first at `first` s, then every
    `every` s (each waits for the one before)."""

    def __init__(self, via, first, every):
        super().__init__(daemon=True)
        self.via, self.first, self.every = via, first, every
        self.results = []
        self.t0 = time.monotonic()

    def run(self):
        t0 = time.monotonic()
        for i in range(5):
            pause = t0 + self.first + i * self.every - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t = time.monotonic()
            try:
                st, body = self.via.api("PUT", "/v1/config/bench%d" % i, str(i).encode(),
                                        timeout=12.0)
            except OSError as e:
                st, body = 0, str(e)
            self.results.append({"status": st, "at_s": round(t - self.t0, 2),
                                 "seconds": round(time.monotonic() - t, 3)})


def api_summary(xs):
    xs = sorted(xs)
    if not xs:
        return {}
    return {"n": len(xs), "median": round(1000 * xs[len(xs) // 2], 1),
            "p99": round(1000 * xs[min(len(xs) - 1, int(0.99 * len(xs)))], 1),
            "max": round(1000 * xs[-1], 1)}


def start_cluster(args, capture_ports=False):
    c = HearsayCluster(5, seeds=(1, 2, 3), tags={"n%d" % i: BIG_TAGS for i in range(1, 6)},
                       hearsayd=args.hearsayd, hearsay=args.hearsay)
    cap = Capture([c.port]) if capture_ports else None
    try:
        c.start()
        if c.wait_all_alive(60) is None:
            raise RuntimeError("the cluster did not converge; logs in %s" % c.dir)
        if common.wait_for(lambda: leader_of(c) is not None, 30, 0.1) is None:
            raise RuntimeError("no Raft leader")
        # a first write: the forwarding path works before the attack
        st, body = c[5].api("PUT", "/v1/config/warmup", b"1", timeout=15.0)
        if st != 200:
            raise RuntimeError("warm-up write failed: %s %s" % (st, body))
        time.sleep(2.0)
    finally:
        if cap:
            cap.stop()
    return c, cap


def attack(c, target, args, child, child_args, extra=None):
    """Runs the attacker child against target with the watchers; returns the figures."""
    pid = target.proc.pid
    terms0 = {a.name: raft_view(a).get("term") for a in c.seeds}
    before = channel_counters(target)
    rss0 = common.status_kib(pid, "VmRSS")
    watch = Watch(c, target)
    writer = Writer(c[5], 2.0, args.seconds / 6.0)
    ticks0, t0 = common.cpu_ticks(pid), time.monotonic()
    proc, pipe = run_child(child, child_args)
    watch.start()
    writer.start()
    proc.join(args.seconds + 30)
    ticks1, t1 = common.cpu_ticks(pid), time.monotonic()
    rss_during = watch.rss_max
    attacker = pipe.recv() if pipe.poll(5) else {}
    writer.join(60)
    after = channel_counters(target)
    log("attack over; waiting 10 s")
    time.sleep(10.0)
    watch.stop.set()
    watch.join(5)
    rss_after = common.status_kib(pid, "VmRSS")
    terms1 = {a.name: raft_view(a).get("term") for a in c.seeds}
    readback = []
    for i in range(5):
        st, body = c[1].api("GET", "/v1/config/bench%d" % i)
        readback.append(st == 200 and isinstance(body, dict) and body.get("value") == str(i))
    hz = os.sysconf("SC_CLK_TCK")
    delta = {k: int(after.get(k, 0) - before.get(k, 0)) for k in after}
    res = {
        "hearsayd": args.hearsayd, "target": target.name, "attacker": attacker,
        "writes": writer.results,
        "writes_committed": sum(1 for w in writer.results if w["status"] == 200),
        "writes_read_back": sum(readback),
        "raft_terms_before": terms0, "raft_terms_after": terms1,
        "raft_terms_seen": sorted(t for t in watch.terms if t is not None),
        "raft_term_changes": len({t for t in watch.terms | set(terms0.values()) |
                                  set(terms1.values()) if t is not None}) - 1,
        "raft_leaders_seen": sorted(watch.leaders), "polls_without_leader": watch.no_leader_polls,
        "raft_changes": watch.changes,
        "target_api_ms": api_summary(watch.api_s),
        "cpu_core_share": round((ticks1 - ticks0) / hz / (t1 - t0), 3),
        "window_s": round(t1 - t0, 2),
        "rss_kib": {"before": rss0, "during_max": max(rss_during, rss0), "after_10s": rss_after},
        "out_connections_max": watch.out_max,
        "counters": {k: v for k, v in delta.items() if v},
        "load": common.load(),
    }
    if extra:
        res.update(extra(res))
    return res


# ---------------------------------------------------------------------------------------
# modes


def mode_flood(args):
    c, cap = start_cluster(args, capture_ports=True)
    target = leader_of(c)
    to_target = [(src[1], p) for _, src, dst, p in cap.udp if dst[0] == target.ip]
    to_target.sort(key=lambda x: -len(x[1]))
    payloads = to_target[:args.payloads]
    if not payloads:
        raise RuntimeError("nothing recorded to %s" % target.name)
    sources = addresses("127.1.", args.sources)
    pkts = [spoofed_udp((src, sport), (target.ip, c.port), p)
            for sport, p in payloads for src in sources]
    log("recorded %d datagrams to the leader %s; replaying the %d largest (%d-%d B) from %d "
        "forged sources at %d/s for %g s" % (len(to_target), target.name, len(payloads),
                                             len(payloads[-1][1]), len(payloads[0][1]),
                                             args.sources, args.pps, args.seconds))
    with ForgedTraffic() as fw:
        out0, in0 = fw.read(fw.out_chain), fw.read(fw.in_chain)

        def extra(res):
            out1, in1 = fw.read(fw.out_chain), fw.read(fw.in_chain)

            def d(a, b, proto):
                return b.get(proto, (0, 0))[1] - a.get(proto, (0, 0))[1]
            sent = d(out0, out1, "udp") + d(out0, out1, "tcp")
            got = d(in0, in1, "udp") + d(in0, in1, "tcp")
            return {"recorded_to_target": len(to_target),
                    "payload_bytes": [len(p) for _, p in payloads],
                    "bytes_to_forged": {"udp": d(out0, out1, "udp"), "tcp": d(out0, out1, "tcp"),
                                        "total": sent},
                    "bytes_from_forged": {"udp": d(in0, in1, "udp"), "tcp": d(in0, in1, "tcp"),
                                          "total": got},
                    "syns_to_forged_dropped": fw.dropped_syns()}
        res = attack(c, target, args, flood_child,
                     (pkts, target.ip, args.pps, args.seconds), extra)
    c.stop()
    res["mode"] = "flood"
    res["needed"] = {
        "writes 5/5": res["writes_committed"] == 5,
        "0 term changes": res["raft_term_changes"] == 0,
        "cpu < 50 %": res["cpu_core_share"] < 0.5,
        "out connections <= %d" % OUT_CAP: res["out_connections_max"] <= OUT_CAP,
        "bytes to forged <= bytes from forged":
            res["bytes_to_forged"]["total"] <= res["bytes_from_forged"]["total"],
    }
    return res


def mode_preauth(args):
    c, _ = start_cluster(args)
    target = leader_of(c)
    log("%d connections from %d sources to the leader %s, each announcing %d bytes, then %s"
        % (args.conns, args.sources, target.name, preauth.ANNOUNCE, args.behaviour))
    res = attack(c, target, args, preauth_child,
                 ((target.ip, c.port), args.conns, args.sources, args.behaviour, args.seconds,
                  args.reconnect))
    c.stop()
    r = res["rss_kib"]
    res["mode"] = "preauth"
    res["behaviour"] = args.behaviour
    res["rss_growth_kib"] = {"during": r["during_max"] - r["before"],
                             "after_10s": r["after_10s"] - r["before"]}
    res["needed"] = {
        "writes 5/5": res["writes_committed"] == 5,
        "0 term changes": res["raft_term_changes"] == 0,
        "rss growth <= 8 MiB": res["rss_growth_kib"]["during"] <= 8 * 1024,
        "rss after 10 s within 1 MiB": abs(res["rss_growth_kib"]["after_10s"]) <= 1024,
    }
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("flood", "preauth"), default="flood")
    ap.add_argument("--hearsayd", help="the agent binary (default: build-bench/, $HEARSAYD)")
    ap.add_argument("--hearsay", help="the CLI (default: next to --hearsayd)")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--sources", type=int, default=1000, help="forged / attacker addresses")
    ap.add_argument("--pps", type=float, default=10000, help="flood: packets per second")
    ap.add_argument("--payloads", type=int, default=20, help="flood: recorded datagrams replayed")
    ap.add_argument("--conns", type=int, default=1000, help="preauth: connections held")
    ap.add_argument("--behaviour", choices=("idle", "dribble", "fill", "silent"),
                    default="dribble")
    ap.add_argument("--reconnect", type=float, default=0.5,
                    help="preauth: seconds before a closed connection is opened again")
    ap.add_argument("--attacker-nice", type=int, default=0,
                    help="nice value of the attacker process (it shares the agents' CPUs)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    ATTACKER_NICE[0] = args.attacker_nice
    if os.geteuid() != 0:
        sys.exit("needs root (raw sockets, AF_PACKET, iptables)")
    args.hearsayd = os.path.abspath(args.hearsayd or common.binary("hearsayd"))
    if not args.hearsay:
        args.hearsay = os.path.join(os.path.dirname(args.hearsayd), "hearsay")
    log("%s; %s" % (args.hearsayd, common.load()))
    res = mode_flood(args) if args.mode == "flood" else mode_preauth(args)
    res["date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    res["argv"] = sys.argv
    print(json.dumps(res, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    missed = [k for k, ok in res["needed"].items() if not ok]
    if missed:
        log("NOT REACHED: %s" % ", ".join(missed))
        return 1
    log("every required number reached")
    return 0


if __name__ == "__main__":
    sys.exit(main())
