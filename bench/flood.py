#!/usr/bin/env python3
"""flood.py: a sealed five-agent hearsay cluster on 127.0.0.1-5 while one agent (n2) is flooded
with unauthenticated UDP by bench/flood.c (hearsay-flood: random garbage, truncated envelopes,
envelopes under an unknown key id, envelopes under the real key id that fail the AEAD check;
equal shares) at --pps for --seconds from 127.0.0.9.

Reports the flooder's achieved rate; the flooded agent's CPU (utime + stime from
/proc/PID/stat over the window, as a share of one core), its RSS before and after and its
peak (VmHWM); the datagrams it read and dropped by reason (GET /v1/metrics deltas) and
those the kernel dropped for a full receive buffer (/proc/net/udp); API latency on the
flooded agent during the flood (GET /v1/members every 100 ms); and whether membership held:
every agent polled every 100 ms must see all five alive, and no agent's suspicion or
failure counter may move. Exits 1 if membership broke.

    cmake --build build-bench --target hearsayd hearsay hearsay-flood
    sudo python3 bench/flood.py --pps 100000 --seconds 30 [--json FILE]

Binaries: $HEARSAYD / $HEARSAY / $HEARSAY_FLOOD, else build-bench/. Every process is killed
by PID at exit and the temporary directory removed (common.py)."""

import argparse
import hashlib
import base64
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import HearsayCluster, log  # noqa: E402

FLOOD_SOURCE = "127.0.0.9"


def flood_binary():
    env = os.environ.get("HEARSAY_FLOOD")
    if env:
        return env
    p = os.path.join(common.ROOT, "build-bench", "bench", "hearsay-flood")
    if not os.access(p, os.X_OK):
        sys.exit("no %s: cmake --build build-bench --target hearsay-flood (or set "
                 "HEARSAY_FLOOD)" % p)
    return p


def udp_kernel_drops(port):
    """The drops column of /proc/net/udp for the socket bound to port."""
    total = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port:
                total += int(parts[12])
    return total


def key_id(key_file):
    with open(key_file) as f:
        key = base64.b64decode(f.read().strip())
    return hashlib.blake2b(key, digest_size=32).digest()[:4].hex()


def counters(agent):
    m = agent.metrics()

    def g(k):
        return m.get(k, 0.0)
    drops = {k.split('"')[1]: v for k, v in m.items()
             if k.startswith("hearsay_transport_dropped_total{")}
    return {"udp_in": g('hearsay_transport_packets_in_total{transport="udp"}'),
            "core_in": g("hearsay_messages_in_total"),
            "suspicions": g("hearsay_suspicions_total"),
            "failures": g("hearsay_failures_declared_total"),
            "drops": drops}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pps", type=float, default=100000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        log("note: not root; the agents bind 127.0.0.2-5, which works unprivileged on Linux")
    flood = flood_binary()
    log(common.load())
    c = HearsayCluster(5)
    try:
        c.start()
        c.wait_all_alive(30)
        time.sleep(3)
        target = c[2]
        pid = target.proc.pid
        kid = key_id(c.key_file)
        before = {a.name: counters(a) for a in c.agents}
        kdrop0 = udp_kernel_drops(c.port)
        rss0 = common.status_kib(pid, "VmRSS")
        bad, lat = [], []
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                t = time.monotonic()
                for obs, view in c.views().items():
                    if view is None or any(s != "alive" for s in view.values()) or \
                            len(view) != 5:
                        bad.append((round(time.monotonic() - common.T0, 2), obs, view))
                lat.append(time.monotonic() - t)
                time.sleep(max(0, 0.1 - (time.monotonic() - t)))

        poller = threading.Thread(target=poll, daemon=True)
        tick0, t0 = common.cpu_ticks(pid), time.monotonic()
        poller.start()
        argv = [flood, "--target", target.addr, "--pps", str(int(args.pps)),
                "--seconds", str(args.seconds), "--key-id", kid, "--source", FLOOD_SOURCE]
        log("flooding %s (pid %d): %s" % (target.name, pid, " ".join(argv)))
        out = subprocess.run(argv, capture_output=True, text=True, timeout=args.seconds + 30)
        tick1, t1 = common.cpu_ticks(pid), time.monotonic()
        log("hearsay-flood: %s%s" % (out.stdout.strip(), out.stderr.strip()))
        time.sleep(6)  # past the vote validity: a late suspicion would show now
        stop.set()
        poller.join(5)
        after = {a.name: counters(a) for a in c.agents}
        kdrop = udp_kernel_drops(c.port) - kdrop0
        rss1, hwm = common.status_kib(pid, "VmRSS"), common.status_kib(pid, "VmHWM")
    finally:
        c.stop()

    fl = dict(kv.split("=") for kv in out.stdout.split())
    hz = os.sysconf("SC_CLK_TCK")
    window = t1 - t0
    cpu = (tick1 - tick0) / hz / window
    b, a = before["n2"], after["n2"]
    read = a["udp_in"] - b["udp_in"]
    drops = {k: a["drops"].get(k, 0) - b["drops"].get(k, 0) for k in a["drops"]}
    drops = {k: int(v) for k, v in drops.items() if v}
    moved = {n: (after[n]["suspicions"] - before[n]["suspicions"],
                 after[n]["failures"] - before[n]["failures"]) for n in before}
    moved = {n: v for n, v in moved.items() if v != (0, 0)}
    res = {
        "pps_target": args.pps, "seconds": float(fl.get("seconds", 0)),
        "sent": int(fl.get("sent", 0)), "pps_achieved": float(fl.get("pps", 0)),
        "flooded_cpu_core_share": round(cpu, 3), "window_s": round(window, 2),
        "rss_kib_before": rss0, "rss_kib_after": rss1, "rss_kib_peak": hwm,
        "datagrams_read": int(read), "datagrams_read_per_s": round(read / window),
        "kernel_rcvbuf_drops": kdrop, "dropped_by_reason": drops,
        "core_messages_in": int(a["core_in"] - b["core_in"]),
        "api_poll_s": {"median": round(statistics.median(lat), 4), "max": round(max(lat), 4)},
        "membership_breaks": len(bad), "suspicion_or_failure_counters_moved": moved,
        "load": common.load(),
    }
    print("| figure | value |\n|---|---|")
    for k, v in res.items():
        print("| %s | %s |" % (k, v))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    if bad or moved:
        log("MEMBERSHIP BROKE: %s %s" % (bad[:5], moved))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
