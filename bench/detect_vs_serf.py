#!/usr/bin/env python3
"""detect_vs_serf.py: hearsay vs Serf on real processes, same machine, same run (issue 2).

Five hearsayd and five `serf agent` (LAN defaults) on 127.0.0.1..127.0.0.5, both with
encrypted gossip. Phases:

 1. idle: after a warm-up, 60 s without faults; bytes and packets each agent receives on its
    gossip port, counted by iptables on loopback (and, for hearsay, its own
    hearsay_transport_bytes_in_total); then VmRSS / RssAnon / RssFile of every agent.
 2. detection: --trials rounds; in each round one hearsay and one Serf agent are killed with
    SIGKILL (order alternates, victim rotates n1..n5, a random 0.5-2 s pause before each kill
    so the kill falls at a random phase of the protocol period), every survivor is polled in
    its own thread (hearsay: GET /v1/members on the unix socket every 20 ms; Serf:
    `serf members -format json` back to back) until all of them show the victim `failed`;
    the victim is then restarted and the round waits until every agent sees all five alive.

Prints markdown tables (hearsay, Serf, ratio) on stdout; --json FILE writes the raw numbers.
Usage: sudo python3 bench/detect_vs_serf.py [--trials 10] [--idle 60] [--json out.json]
"""

import argparse
import json
import random
import threading
import time

import common
from common import log


def poll_until_failed(cluster, victim, t_kill, timeout):
    """Polls every survivor in its own thread; returns (per-survivor seconds or None,
    per-survivor seconds from status_since_ms (hearsay) or None, poll durations,
    list of (observer, member, status) false marks of live nodes seen)."""
    survivors = [a for a in cluster.agents if a is not victim and a.running()]
    seen, since, durs, false_marks = {}, {}, [], []
    lock = threading.Lock()
    interval = 0.02 if cluster.kind == "hearsay" else 0.0

    def run(a):
        while time.monotonic() - t_kill < timeout:
            t1 = time.monotonic()
            ms = a.members()
            t2 = time.monotonic()
            with lock:
                durs.append(t2 - t1)
            if ms:
                for m in ms:
                    if m["name"] != victim.name and m["status"] in ("failed", "suspect"):
                        with lock:
                            false_marks.append((a.name, m["name"], m["status"]))
                st = {m["name"]: m for m in ms}.get(victim.name)
                if st and st["status"] == "failed":
                    with lock:
                        seen[a.name] = t2 - t_kill
                        if "status_since_ms" in st:
                            since[a.name] = (t1 + t2) / 2 - st["status_since_ms"] / 1000.0 - t_kill
                    return
            if interval:
                time.sleep(interval)

    ts = [threading.Thread(target=run, args=(a,), daemon=True) for a in survivors]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ({a.name: seen.get(a.name) for a in survivors},
            {a.name: since.get(a.name) for a in survivors}, durs, false_marks)


def trial(cluster, victim_index, timeout):
    victim = cluster[victim_index]
    time.sleep(random.uniform(0.5, 2.0))
    t_kill = victim.kill9()
    seen, since, durs, false_marks = poll_until_failed(cluster, victim, t_kill, timeout)
    ok = all(v is not None for v in seen.values())
    res = {"victim": victim.name, "all": max(seen.values()) if ok else None,
           "first": min([v for v in seen.values() if v is not None], default=None),
           "per_survivor": seen, "since_based": since,
           "since_all": max(since.values()) if since and all(
               v is not None for v in since.values()) else None,
           "poll_median_ms": 1000 * sorted(durs)[len(durs) // 2] if durs else None,
           "false_marks": sorted(set(false_marks))}
    t0 = time.monotonic()
    cluster.restart(victim)
    back = cluster.wait_all_alive(60)
    res["rejoin_s"] = None if back is None else time.monotonic() - t0
    log("%s trial victim=%s all=%s first=%s since_all=%s poll=%.1fms rejoin=%s false=%s" % (
        cluster.kind, victim.name, fmt(res["all"]), fmt(res["first"]), fmt(res["since_all"]),
        res["poll_median_ms"] or 0, fmt(res["rejoin_s"]), res["false_marks"]))
    if back is None:
        raise RuntimeError("%s: %s did not rejoin within 60 s" % (cluster.kind, victim.name))
    return res


def fmt(x, d=3):
    return "-" if x is None else ("%.*f" % (d, x))


def idle_phase(clusters, seconds):
    out = {}
    with common.Counters(clusters) as ctr:
        hs = clusters[0]
        m0 = {a.name: a.metrics() for a in hs.agents}
        c0 = ctr.read()
        t0 = time.monotonic()
        time.sleep(seconds)
        c1 = ctr.read()
        dt = time.monotonic() - t0
        m1 = {a.name: a.metrics() for a in hs.agents}
    for c in clusters:
        per = []
        for a in c.agents:
            b = p = 0
            for proto in ("udp", "tcp"):
                tag = "%s-%s-%s" % (c.kind, a.name, proto)
                p += c1[tag][0] - c0[tag][0]
                b += c1[tag][1] - c0[tag][1]
            per.append({"agent": a.name, "bytes_s": b / dt, "pkts_s": p / dt})
        out[c.kind] = {"per_agent": per, "seconds": dt}
    own = []
    for a in clusters[0].agents:
        k = "hearsay_transport_bytes_in_total"
        tot = lambda m: sum(v for n, v in m.items() if n.startswith(k))  # udp + tcp labels
        own.append((tot(m1[a.name]) - tot(m0[a.name])) / dt)
    out["hearsay"]["own_metric_bytes_s"] = own
    return out


def rss_phase(clusters):
    out = {}
    for c in clusters:
        out[c.kind] = [dict(common.rss(a.proc.pid), agent=a.name) for a in c.agents]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--agents", type=int, default=5, help="agents per system (127.0.0.1..N)")
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--json")
    args = ap.parse_args()

    result = {"load_start": common.load(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                     time.gmtime())}
    hs = common.HearsayCluster(args.agents)
    sf = common.SerfCluster(args.agents)
    log("hearsayd %s on port %d, serf %s on port %d (rpc %d)" % (hs.hearsayd, hs.port, sf.serf,
                                                                 sf.port, sf.rpc_port))
    try:
        hs.start()
        sf.start()
        for c in (hs, sf):
            if c.wait_all_alive(60) is None:
                raise RuntimeError("%s cluster did not converge: %s" % (c.kind, c.views()))
        log("both clusters up; warm-up %.0f s; %s" % (args.warmup, common.load()))
        time.sleep(args.warmup)
        result["idle"] = idle_phase([hs, sf], args.idle)
        result["rss_after_idle"] = rss_phase([hs, sf])
        result["load_after_idle"] = common.load()
        log("idle done; %s" % common.load())

        result["trials"] = {"hearsay": [], "serf": []}
        for t in range(args.trials):
            victim = t % 5 + 1
            order = (hs, sf) if t % 2 == 0 else (sf, hs)
            for c in order:
                result["trials"][c.kind].append(trial(c, victim, args.timeout))
        result["rss_after_trials"] = rss_phase([hs, sf])
        result["load_end"] = common.load()
    finally:
        hs.stop()
        sf.stop()
        common.cleanup_all()

    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
    print(report(result))


def report(r):
    out = ["Run started %s; %s at start, %s at end." % (r["started"], r["load_start"],
                                                        r.get("load_end", "?"))]
    # detection
    d = {}
    for k in ("hearsay", "serf"):
        xs = [x["all"] for x in r["trials"][k]]
        ok = [x for x in xs if x is not None]
        d[k] = common.stats(ok)
        d[k]["missed"] = len(xs) - len(ok)
        d[k]["first"] = common.stats([x["first"] for x in r["trials"][k] if x["first"] is not None])
        d[k]["poll"] = common.stats([x["poll_median_ms"] for x in r["trials"][k]])
        d[k]["false"] = sum(len(x["false_marks"]) for x in r["trials"][k])
    hsince = common.stats([x["since_all"] for x in r["trials"]["hearsay"]
                           if x["since_all"] is not None])
    rows = []
    for label, key in (("median", "median"), ("mean", "mean"), ("p90", "p90"), ("min", "min"),
                       ("max", "max")):
        h, s = d["hearsay"].get(key), d["serf"].get(key)
        rows.append(["%s, all survivors show it failed (s)" % label, fmt(h), fmt(s),
                     fmt(h / s if h and s else None, 2)])
    rows.append(["median, first survivor shows it failed (s)", fmt(d["hearsay"]["first"].get("median")),
                 fmt(d["serf"]["first"].get("median")),
                 fmt(d["hearsay"]["first"]["median"] / d["serf"]["first"]["median"], 2)])
    rows.append(["trials / not detected within timeout", "%d / %d" % (d["hearsay"]["n"] + d["hearsay"]["missed"], d["hearsay"]["missed"]),
                 "%d / %d" % (d["serf"]["n"] + d["serf"]["missed"], d["serf"]["missed"]), ""])
    rows.append(["median duration of one poll (ms)", fmt(d["hearsay"]["poll"].get("median"), 1),
                 fmt(d["serf"]["poll"].get("median"), 1), ""])
    rows.append(["suspect/failed marks of live nodes seen while polling",
                 d["hearsay"]["false"], d["serf"]["false"], ""])
    out.append("\n### Detection: kill -9 of one agent\n")
    out.append(common.md_table(["", "hearsay", "Serf", "hearsay / Serf"], rows))
    out.append("\nGoal: hearsay median <= 0.5 x Serf median: %s (ratio %s).\n" % (
        "met" if d["hearsay"].get("median") and d["serf"].get("median") and
        d["hearsay"]["median"] <= 0.5 * d["serf"]["median"] else "NOT met",
        fmt(d["hearsay"]["median"] / d["serf"]["median"], 2) if d["hearsay"].get("median") and d["serf"].get("median") else "-"))
    out.append("hearsay, from the agents' own `status_since_ms` (time each survivor marked it failed, "
               "all survivors): median %s s, max %s s.\n" % (fmt(hsince.get("median")), fmt(hsince.get("max"))))
    trows = []
    for i in range(len(r["trials"]["hearsay"])):
        h, s = r["trials"]["hearsay"][i], r["trials"]["serf"][i]
        trows.append([i + 1, h["victim"], fmt(h["all"]), fmt(h["first"]), fmt(h["since_all"]),
                      fmt(s["all"]), fmt(s["first"])])
    out.append(common.md_table(["trial", "victim", "hearsay all (s)", "hearsay first (s)",
                                "hearsay all, status_since (s)", "Serf all (s)",
                                "Serf first (s)"], trows))
    # idle
    out.append("\n### Idle traffic received per agent (%.0f s, no faults, iptables on loopback)\n"
               % r["idle"]["hearsay"]["seconds"])
    hb = [x["bytes_s"] for x in r["idle"]["hearsay"]["per_agent"]]
    sb = [x["bytes_s"] for x in r["idle"]["serf"]["per_agent"]]
    hp = [x["pkts_s"] for x in r["idle"]["hearsay"]["per_agent"]]
    sp = [x["pkts_s"] for x in r["idle"]["serf"]["per_agent"]]
    own = r["idle"]["hearsay"]["own_metric_bytes_s"]
    rows = [["bytes/s per agent, mean", fmt(sum(hb) / len(hb), 0), fmt(sum(sb) / len(sb), 0), fmt(sum(hb) / sum(sb), 2)],
            ["bytes/s per agent, min-max", "%s-%s" % (fmt(min(hb), 0), fmt(max(hb), 0)),
             "%s-%s" % (fmt(min(sb), 0), fmt(max(sb), 0)), ""],
            ["packets/s per agent, mean", fmt(sum(hp) / len(hp), 2), fmt(sum(sp) / len(sp), 2), fmt(sum(hp) / sum(sp), 2)],
            ["bytes/s per packet", fmt(sum(hb) / sum(hp), 0), fmt(sum(sb) / sum(sp), 0), ""],
            ["hearsay_transport_bytes_in_total rate, mean", fmt(sum(own) / max(len(own), 1), 0), "", ""]]
    out.append(common.md_table(["", "hearsay", "Serf", "hearsay / Serf"], rows))
    out.append("\n(iptables counts IP packets: the UDP datagrams to the gossip port and the TCP "
               "segments of the agent's gossip streams, headers included.)\n")
    # rss
    out.append("\n### Resident memory per agent (KiB)\n")
    rows = []
    for label, key in (("after idle phase", "rss_after_idle"), ("after the trials", "rss_after_trials")):
        if key not in r:
            continue
        for f in ("VmRSS", "RssAnon", "RssFile", "Pss"):
            h = [x[f] for x in r[key]["hearsay"]]
            s = [x[f] for x in r[key]["serf"]]
            rows.append(["%s, %s mean (min-max)" % (f, label),
                         "%.0f (%d-%d)" % (sum(h) / len(h), min(h), max(h)),
                         "%.0f (%d-%d)" % (sum(s) / len(s), min(s), max(s)),
                         fmt(sum(h) / sum(s), 3)])
    out.append(common.md_table(["", "hearsay", "Serf", "hearsay / Serf"], rows))
    return "\n".join(out)


if __name__ == "__main__":
    main()
