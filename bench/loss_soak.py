#!/usr/bin/env python3
"""loss_soak.py: 10% random loss on every gossip port for 10 minutes, hearsay and Serf in the
same run (issue 2: zero failed marks of live nodes).

Five hearsayd and five `serf agent` (encrypted gossip, LAN defaults) on 127.0.0.1..127.0.0.5.
Once both clusters show five alive members, an iptables rule per agent drops 10% of the UDP
datagrams sent to its gossip port on loopback (-m statistic --mode random, the same rule as
tests/integration/test_loss.py; TCP streams are not dropped), for --seconds (600).

Failed marks of live nodes are counted three ways:
 - hearsay: every agent's GET /v1/events stream, held open for the whole soak
   (member-failed and member-suspect events); Serf: a member-failed event handler on every
   agent appending to a file (exact, nothing between polls is missed);
 - every agent's member view polled every --poll seconds (failed, and suspect for hearsay);
 - hearsay's own counters (failures_declared, suspicions, refutations, probes_failed) as
   deltas over the soak.
Prints a markdown table. Usage: sudo python3 bench/loss_soak.py [--seconds 600] [--json F]
"""

import argparse
import json
import os
import stat
import threading
import time

import common
from common import log


class EventWatcher(threading.Thread):
    """Holds GET /v1/events open on one hearsay agent; collects the events after start."""

    def __init__(self, agent):
        super().__init__(daemon=True)
        self.agent = agent
        self.events = []
        self.error = None
        self.conn = None

    def run(self):
        try:
            self.conn = common.UnixHTTPConnection(self.agent.sock, None)
            self.conn.request("GET", "/v1/events")
            r = self.conn.getresponse()
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                ev["_t"] = time.monotonic()
                self.events.append(ev)
        except Exception as e:  # noqa: BLE001 - reported
            self.error = repr(e)

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except Exception:  # noqa: BLE001
            pass


HANDLER = """#!/bin/sh
# serf member-failed handler of loss_soak.py: one line per failed member
while read -r name addr rest; do
  echo "$(date +%%s.%%N) $SERF_SELF_NAME $name" >> %s
done
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--loss", type=float, default=0.10)
    ap.add_argument("--poll", type=float, default=1.0)
    ap.add_argument("--json")
    args = ap.parse_args()

    r = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
         "load_start": common.load(), "seconds": args.seconds, "loss": args.loss}
    hs = common.HearsayCluster(5)
    failfile = os.path.join(hs.dir, "serf-failed.txt")
    handler = os.path.join(hs.dir, "serf-failed.sh")
    with open(handler, "w") as f:
        f.write(HANDLER % failfile)
    os.chmod(handler, stat.S_IRWXU)
    sf = common.SerfCluster(5, event_handler="member-failed=" + handler)
    watchers = []
    t_loss = float("inf")
    try:
        common.start_converged(hs, sf)
        time.sleep(5)
        open(failfile, "a").close()
        pre_serf = open(failfile).read().splitlines()
        watchers = [EventWatcher(a) for a in hs.agents]
        for w in watchers:
            w.start()
        time.sleep(1)
        m0 = {a.name: a.metrics() for a in hs.agents}
        polls = {"hearsay": {"polls": 0, "failed": [], "suspect": 0, "no_answer": 0},
                 "serf": {"polls": 0, "failed": [], "suspect": 0, "no_answer": 0}}
        targets = [(a.ip, hs.port) for a in hs.agents] + [(a.ip, sf.port) for a in sf.agents]
        with common.Loss(targets, args.loss) as loss:
            t0 = time.monotonic()
            t_loss = t0
            r["load_at_loss_start"] = common.load()
            next_log = t0 + 60
            while time.monotonic() - t0 < args.seconds:
                for c in (hs, sf):
                    for obs, v in c.views().items():
                        p = polls[c.kind]
                        if v is None:
                            p["no_answer"] += 1
                            continue
                        for name, st in v.items():
                            if st == "failed":
                                p["failed"].append((round(time.monotonic() - t0, 1), obs, name))
                            elif st == "suspect":
                                p["suspect"] += 1
                    polls[c.kind]["polls"] += 1
                if time.monotonic() > next_log:
                    next_log += 60
                    log("soak %.0f s: hearsay failed obs %d, serf failed obs %d, dropped %d; %s"
                        % (time.monotonic() - t0, len(polls["hearsay"]["failed"]),
                           len(polls["serf"]["failed"]), loss.dropped(), common.load()))
                time.sleep(args.poll)
            r["dropped"] = loss.dropped()
            r["elapsed"] = time.monotonic() - t0
        r["load_end"] = common.load()
        m1 = {a.name: a.metrics() for a in hs.agents}
        time.sleep(0.5)
    finally:
        for w in watchers:
            w.close()
        hs.stop()
        sf.stop()
        serf_lines = open(failfile).read().splitlines() if os.path.exists(failfile) else []
        common.cleanup_all()

    # only events that arrived while the loss rules were in place
    evs = [e for w in watchers for e in w.events if e["_t"] >= t_loss]
    r["hearsay_events"] = {
        "member-failed": [(w.agent.name, e.get("name"), round(e["_t"] - t_loss, 1))
                          for w in watchers for e in w.events
                          if e.get("event") == "member-failed" and e["_t"] >= t_loss],
        "all_events_seen": sum(len(w.events) for w in watchers),
        "member-suspect": sum(1 for e in evs if e.get("event") == "member-suspect"),
        "stream_errors": [w.error for w in watchers if w.error],
    }
    r["serf_failed_events"] = serf_lines[len(pre_serf):]
    keys = ("hearsay_failures_declared_total", "hearsay_suspicions_total",
            "hearsay_refutations_total", "hearsay_probes_failed_total",
            "hearsay_probes_sent_total", "hearsay_votes_sent_total")
    r["hearsay_counters"] = {k: sum(m1[n].get(k, 0) - m0[n].get(k, 0) for n in m1) for k in keys}
    r["polls"] = polls
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1, sort_keys=True)
    print(report(r))


def report(r):
    p = r["polls"]
    hc = r["hearsay_counters"]
    out = ["Run started %s; %s at start, %s at end; %.0f s of %.0f%% UDP loss on every gossip "
           "port, %d datagrams dropped by iptables." % (r["started"], r["load_start"],
                                                        r["load_end"], r["elapsed"],
                                                        100 * r["loss"], r["dropped"])]
    rows = [
        ["failed marks of live nodes (events: /v1/events / member-failed handler)",
         len(r["hearsay_events"]["member-failed"]), len(r["serf_failed_events"])],
        ["polls of all five views / views showing a live node failed",
         "%d / %d" % (p["hearsay"]["polls"], len(p["hearsay"]["failed"])),
         "%d / %d" % (p["serf"]["polls"], len(p["serf"]["failed"]))],
        ["suspect entries seen in polled views", p["hearsay"]["suspect"], "(not shown by serf members)"],
        ["member-suspect events", r["hearsay_events"]["member-suspect"], ""],
        ["views that did not answer", p["hearsay"]["no_answer"], p["serf"]["no_answer"]],
        ["failures declared / suspicions / refutations (counters, all agents)",
         "%d / %d / %d" % (hc["hearsay_failures_declared_total"], hc["hearsay_suspicions_total"],
                           hc["hearsay_refutations_total"]), ""],
        ["probes sent / probes failed / votes sent (counters, all agents)",
         "%d / %d / %d" % (hc["hearsay_probes_sent_total"], hc["hearsay_probes_failed_total"],
                           hc["hearsay_votes_sent_total"]), ""],
    ]
    out.append("\n" + common.md_table(["", "hearsay", "Serf"], rows))
    if r["hearsay_events"]["stream_errors"]:
        out.append("\nevent stream errors: %s" % r["hearsay_events"]["stream_errors"])
    out.append("\nGoal (hearsay: zero failed marks of live nodes): %s." % (
        "met" if not r["hearsay_events"]["member-failed"] and not p["hearsay"]["failed"]
        else "NOT met"))
    return "\n".join(out)


if __name__ == "__main__":
    main()
