#!/usr/bin/env python3
"""idle_seeds.py: what an idle Raft group costs, and how fast it fails over (issue 19,
"Quiet seeds").

 1. idle: five sealed agents (three seeds, two members), after a warm-up, --idle seconds
    without faults: bytes and packets each agent receives on its gossip port (iptables on
    loopback, as bench/detect_vs_serf.py counts them), by role (leader, follower seed,
    member), and the CPU of every agent (run time from /proc/PID/task/*/schedstat, exact;
    utime + stime, sampled at 10 ms ticks, for the leader too).
 2. failover: a three-seed group (bench/raft_vs_etcd.py's), --trials times: kill -9 of the
    leader to the first write committed through a survivor.

Usage: sudo python3 bench/idle_seeds.py [--idle 30] [--trials 10] [--hearsayd PATH]
                                          [--json out.json]"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import raft_vs_etcd  # noqa: E402
from common import log  # noqa: E402


def raft_state(a):
    try:
        st, body = a.api("GET", "/v1/raft")
    except OSError:
        return {}
    return body if st == 200 and isinstance(body, dict) else {}


def idle(args):
    c = common.HearsayCluster(5, seeds=(1, 2, 3))
    try:
        c.start()
        if c.wait_all_alive(30) is None:
            raise RuntimeError("not all alive")
        common.wait_for(lambda: any(raft_state(a).get("state") == "leader" for a in c.seeds), 10)
        time.sleep(args.warmup)
        roles = {a.name: raft_state(a).get("state", "none") for a in c.agents}
        leader = [a for a in c.agents if roles[a.name] == "leader"][0]
        with common.Counters([c]) as ctr:
            c0 = ctr.read()
            cpu0 = common.cpu_ticks(leader.proc.pid)
            ns0 = {a.name: common.cpu_ns(a.proc.pid) for a in c.agents}
            t0 = time.monotonic()
            time.sleep(args.idle)
            c1 = ctr.read()
            cpu1 = common.cpu_ticks(leader.proc.pid)
            ns1 = {a.name: common.cpu_ns(a.proc.pid) for a in c.agents}
            dt = time.monotonic() - t0
        per = []
        for a in c.agents:
            b = p = 0
            for proto in ("udp", "tcp"):
                tag = "hearsay-%s-%s" % (a.name, proto)
                p += c1[tag][0] - c0[tag][0]
                b += c1[tag][1] - c0[tag][1]
            role = roles[a.name] if roles[a.name] != "none" else "member"
            cpu = (ns1[a.name] - ns0[a.name]) / 1e9 / dt
            per.append({"agent": a.name, "role": role, "bytes_s": b / dt, "pkts_s": p / dt,
                        "cpu": cpu})
            log("%s (%s): %.0f B/s, %.1f packets/s, CPU %.3f %%" %
                (a.name, role, b / dt, p / dt, 100 * cpu))
        hz = os.sysconf("SC_CLK_TCK")
        ticks = (cpu1 - cpu0) / hz / dt
        cpu = (ns1[leader.name] - ns0[leader.name]) / 1e9 / dt
        log("leader CPU: %.3f %% of a core over %.0f s (utime + stime: %.3f %%)" %
            (100 * cpu, dt, 100 * ticks))
        return {"seconds": dt, "per_agent": per, "leader_cpu": cpu, "leader_cpu_ticks": ticks}
    finally:
        c.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--hearsayd")
    ap.add_argument("--hearsay")
    ap.add_argument("--json")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("idle_seeds.py: needs root (iptables counters)")
    if args.hearsayd:
        os.environ["HEARSAYD"] = args.hearsayd
    if args.hearsay:
        os.environ["HEARSAY"] = args.hearsay
    result = {"load_before": common.load(), "idle": idle(args)}
    g = raft_vs_etcd.HearsayGroup(None)
    try:
        for m in g.members:
            g.start(m)
        fo = raft_vs_etcd.failover(g, args.trials, 1.0, 0.02)
    finally:
        g.cleanup()
    result["failover"] = {"trials": fo, "stats": common.stats(fo)}
    log("failover: %s" % json.dumps(result["failover"]["stats"]))
    result["load_after"] = common.load()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps({"idle": {r["role"]: round(r["bytes_s"]) for r in result["idle"]["per_agent"]},
                      "leader_cpu_pct": round(100 * result["idle"]["leader_cpu"], 3),
                      "failover": result["failover"]["stats"]}, indent=1))


if __name__ == "__main__":
    main()
