#!/usr/bin/env python3
"""gray_vs_serf.py: gray failures on real processes, hearsay and Serf in the same run (issue 19).

Ten hearsayd and ten `serf agent` (encrypted gossip, Serf at LAN defaults) on 127.0.0.1..10,
running at the same time. After both clusters show ten alive members, one fault (--case):

  gray       n10 loses 90 % of its packets in both directions: two iptables
             `-m statistic --mode random --probability 0.9` DROP rules on loopback, one for
             packets to 127.0.0.10 and one for packets from it (UDP and TCP: Serf falls back
             to TCP pings; exact rules, deleted by spec at the end)
  ingress80  n10 loses 80 % of the packets sent to it (one way)
  sigstop    n10 is stopped 400 ms of every 500 ms (SIGSTOP / SIGCONT by PID)
  link       every packet from n2 to n3 is dropped (one-way loss between two members)
  partition  n1-n5 and n6-n10 cannot reach each other (both ways) for the run

for --seconds (600 for gray, else 120), then the fault is removed and the script waits until
every view is all-alive again (time to heal reported). Counted from events, so nothing between
polls is missed: hearsay agents' GET /v1/events streams, held open for the whole run; Serf: a
member-failed / member-join event handler on every agent appending to a file. Per healthy
observer: the alive<->failed changes of the faulty member (member-failed, and member-join
after it), and whether any healthy member was marked failed (or suspect: hearsay only).
Writes the raw events with --json (bench/plots.py draws the flapping figure from it).

Usage: sudo python3 bench/gray_vs_serf.py [--case gray] [--seconds 600] [--json FILE]
"""

import argparse
import json
import os
import signal
import stat
import threading
import time

import common
from common import log
from loss_soak import EventWatcher

HANDLER = """#!/bin/sh
# serf member-failed/member-join handler of gray_vs_serf.py: one line per member
while read -r name addr rest; do
  echo "$(date +%%s.%%N) $SERF_SELF_NAME $SERF_EVENT $name" >> %s
done
"""

FAULTY = "n10"


def stat_drop(p):
    return ["-m", "statistic", "--mode", "random", "--probability", "%.4f" % p]


def specs_for(case, clusters):
    """Both clusters' agent i share 127.0.0.i, so address rules hit hearsay and Serf alike, UDP
    and TCP (Serf falls back to TCP pings when UDP ones fail: UDP-only loss would spare it)."""
    c = clusters[0]
    f = c[int(FAULTY[1:])]
    if case == "gray":
        return [["-d", f.ip] + stat_drop(0.9), ["-s", f.ip] + stat_drop(0.9)]
    if case == "ingress80":
        return [["-d", f.ip] + stat_drop(0.8)]
    if case == "link":
        return [["-s", c[2].ip, "-d", c[3].ip]]
    if case == "partition":
        out = []
        for a in c.agents[:5]:
            for b in c.agents[5:]:
                out += [["-s", a.ip, "-d", b.ip], ["-s", b.ip, "-d", a.ip]]
        return out
    return []


class Stopper(threading.Thread):
    """SIGSTOP 400 ms of every 500 ms, for the faulty agent of each cluster."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.stop_flag = threading.Event()
        self.cycles = 0

    def run(self):
        while not self.stop_flag.is_set():
            for p in self.pids:
                os.kill(p, signal.SIGSTOP)
            time.sleep(0.4)
            for p in self.pids:
                os.kill(p, signal.SIGCONT)
            self.cycles += 1
            time.sleep(0.1)

    def end(self):
        self.stop_flag.set()
        self.join(2)
        for p in self.pids:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass


def faulty_names(case):
    if case == "link":
        return {"n2", "n3"}
    if case == "partition":
        return set()
    return {FAULTY}


def count(events, case, healthy):
    """events: [(t, observer, kind, member)], kind failed|join|suspect. Per observer: changes of
    the faulty member(s); healthy members marked failed / suspect."""
    bad = faulty_names(case)
    per_obs = {}
    state = {}
    failed_marks = 0
    healthy_failed = set()
    healthy_suspect = set()
    for t, obs, kind, member in sorted(events):
        if obs not in healthy or obs == member:
            continue
        if member in bad or case == "partition":
            key = (obs, member)
            if kind == "failed":
                failed_marks += 1
                if state.get(key) != "failed":
                    per_obs[key] = per_obs.get(key, 0) + 1
                state[key] = "failed"
            elif kind == "join" and state.get(key) == "failed":
                per_obs[key] = per_obs.get(key, 0) + 1
                state[key] = "alive"
        elif member in healthy:
            if kind == "failed":
                healthy_failed.add(member)
            elif kind == "suspect":
                healthy_suspect.add(member)
    return {"max_changes_per_observer": max(per_obs.values(), default=0),
            "changes_total": sum(per_obs.values()), "failed_marks": failed_marks,
            "healthy_failed": sorted(healthy_failed), "healthy_suspect": sorted(healthy_suspect)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default="gray",
                    choices=["gray", "ingress80", "sigstop", "link", "partition"])
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--json")
    args = ap.parse_args()
    secs = args.seconds or (600 if args.case == "gray" else 120)

    r = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
         "load_start": common.load(), "case": args.case, "seconds": secs}
    hs = common.HearsayCluster(args.agents)
    evfile = os.path.join(hs.dir, "serf-events.txt")
    handler = os.path.join(hs.dir, "serf-events.sh")
    with open(handler, "w") as f:
        f.write(HANDLER % evfile)
    os.chmod(handler, stat.S_IRWXU)
    sf = common.SerfCluster(args.agents, event_handler="member-failed,member-join=" + handler)
    watchers = []
    t_fault = t_end = float("inf")
    try:
        common.start_converged(hs, sf)
        time.sleep(5)
        open(evfile, "a").close()
        watchers = [EventWatcher(a) for a in hs.agents]
        for w in watchers:
            w.start()
        time.sleep(1)
        m0 = {a.name: a.metrics() for a in hs.agents}
        stopper = None
        with common.Rules(specs_for(args.case, (hs, sf)), "hearsay-bench-gray") as rules:
            if args.case == "sigstop":
                stopper = Stopper([c[int(FAULTY[1:])].proc.pid for c in (hs, sf)])
                stopper.start()
            t_fault = time.monotonic()
            r["wall_fault"] = time.time()
            next_log = t_fault + 60
            while time.monotonic() - t_fault < secs:
                time.sleep(1)
                if time.monotonic() > next_log:
                    next_log += 60
                    log("%s %.0f s: %s" % (args.case, time.monotonic() - t_fault, common.load()))
            if stopper:
                stopper.end()
                r["sigstop_cycles"] = stopper.cycles
            r["dropped"] = rules.dropped()
            t_end = time.monotonic()
        r["load_end"] = common.load()
        for c in (hs, sf):
            r["heal_s_" + c.kind] = c.wait_all_alive(60)
        m1 = {a.name: a.metrics() for a in hs.agents}
    finally:
        for w in watchers:
            w.close()
        hs.stop()
        sf.stop()
        lines = open(evfile).read().splitlines() if os.path.exists(evfile) else []
        common.cleanup_all()

    kinds = {"member-failed": "failed", "member-join": "join", "member-suspect": "suspect"}
    hev = [(round(e["_t"] - t_fault, 3), w.agent.name, kinds[e["event"]], e.get("name"))
           for w in watchers for e in w.events
           if e.get("event") in kinds and t_fault <= e["_t"] <= t_end]
    # Serf's handler lines carry the wall clock
    sev = []
    for line in lines:
        f = line.split()
        if len(f) == 4 and f[2] in kinds:
            t = float(f[0]) - r["wall_fault"]
            if 0 <= t <= t_end - t_fault:
                sev.append((round(t, 3), f[1], kinds[f[2]], f[3]))
    bad = faulty_names(args.case)
    healthy = {"n%d" % i for i in range(1, args.agents + 1)} - bad
    r["events"] = {"hearsay": hev, "serf": sev}
    r["hearsay"] = count(hev, args.case, healthy)
    r["serf"] = count(sev, args.case, healthy)
    keys = ("hearsay_failures_declared_total", "hearsay_suspicions_total",
            "hearsay_refutations_total", "hearsay_probes_failed_total")
    r["hearsay_counters"] = {k: sum(m1[n].get(k, 0) - m0[n].get(k, 0) for n in m1) for k in keys}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1, sort_keys=True)
    print(report(r))


def report(r):
    h, s = r["hearsay"], r["serf"]

    def ratio(a, b):
        return "%.2f" % (a / b) if b else "-"

    out = ["Case %s, started %s, %.0f s of fault; %s at start, %s at end; %d datagrams dropped "
           "by the rules." % (r["case"], r["started"], r["seconds"], r["load_start"],
                              r["load_end"], r.get("dropped", 0))]
    rows = [
        ["alive<->failed changes of the faulty member seen by one healthy observer (max)",
         h["max_changes_per_observer"], s["max_changes_per_observer"],
         ratio(h["max_changes_per_observer"], s["max_changes_per_observer"])],
        ["... all healthy observers", h["changes_total"], s["changes_total"],
         ratio(h["changes_total"], s["changes_total"])],
        ["failed marks of the faulty member(s), all observers", h["failed_marks"],
         s["failed_marks"], ratio(h["failed_marks"], s["failed_marks"])],
        ["healthy members ever marked failed / suspect",
         "%d / %d" % (len(h["healthy_failed"]), len(h["healthy_suspect"])),
         "%d / -" % len(s["healthy_failed"]), ""],
        ["fault removed -> every view all-alive (s)",
         "%.2f" % r["heal_s_hearsay"] if r["heal_s_hearsay"] is not None else "not in 60 s",
         "%.2f" % r["heal_s_serf"] if r["heal_s_serf"] is not None else "not in 60 s", ""],
    ]
    out.append("\n" + common.md_table(["", "hearsay", "Serf", "hearsay / Serf"], rows))
    hc = r["hearsay_counters"]
    out.append("\nhearsay counters (all agents): %d failures declared, %d suspicions, %d "
               "refutations, %d probes failed." % (hc["hearsay_failures_declared_total"],
                                                   hc["hearsay_suspicions_total"],
                                                   hc["hearsay_refutations_total"],
                                                   hc["hearsay_probes_failed_total"]))
    if h["healthy_failed"] or s["healthy_failed"]:
        out.append("healthy members marked failed: hearsay %s, Serf %s"
                   % (h["healthy_failed"], s["healthy_failed"]))
    return "\n".join(out)


if __name__ == "__main__":
    main()
