#!/usr/bin/env python3
"""events_vs_serf.py: user events and queries, hearsay vs Serf on real processes, same machine,
same run (issue 16).

Ten hearsayd and ten `serf agent` (LAN defaults, encrypted gossip) on $HS_BENCH_NET.1..10
(default 127.0.0.x). Each agent has the same kind of handler: a /bin/sh script that appends
`date +%s.%N`, its agent's name and the payload to a file (a user event), or prints the agent's
name (a query). Phases:

 a. event: --trials rounds, alternating which system goes first; t0 = just before the CLI is
    started (`hearsay event bench TOKEN`, `serf event -coalesce=false bench TOKEN`); the figure
    is the latest handler timestamp of TOKEN among the 10 agents minus t0 (both include their
    CLI's start and a fork of date(1) in the handler).
 b. query: --trials rounds; `hearsay query bench` and `serf query bench` (default format) print
    each response as it arrives on their RPC stream; this script timestamps each "NAME: ..." /
    "Response from 'NAME'" line as it reads it; the figure is the 10th response minus t0 (also
    reported: when the CLI returned; Serf's waits out its timeout).
 c. 8 KiB: an 8192-byte payload (random base64 text, from stdin) fired with `hearsay event
    --wait 5 big -`; every agent's handler stores what it got; compared byte for byte. Serf is
    asked the same (`serf event big PAYLOAD`, `serf query big PAYLOAD`): its errors are shown.
 d. storm: hearsay only. --quiet-trials kill -9 detections without load (detect_vs_serf.py's
    trial: random 0.5-2 s pause, kill, poll every survivor until all show it failed, restart),
    then --storm-seconds of --storm-rate events per second (POST /v1/event/storm, payload of
    --storm-bytes, no handler for the name: the agents' handlers do not fork 1000 times a
    second) from n1 while the same detections run (victims n6..n10,
    so the delivery counters of n1..n5, never restarted, cover the whole storm). Every survivor's view is
    also polled every 200 ms throughout: any live member shown failed is a false failure.

Prints markdown tables on stdout; --json FILE writes the raw numbers.
Usage: sudo python3 bench/events_vs_serf.py [--trials 12] [--json out.json]
"""

import argparse
import base64
import hashlib
import json
import os
import random
import subprocess
import threading
import time

import common
from common import log
import detect_vs_serf

N = 10
VICTIMS = range(6, N + 1)  # n1 (the storm's origin) .. n5 are never killed: their counts hold


class HandlerAgent(common.HearsayAgent):
    def argv(self, join):
        h = self.cluster.handler
        return super().argv(join) + [
            "--handler", "user-event:bench=%s" % h, "--handler", "user-event:big=%s" % h,
            "--handler", "query:bench=%s" % h]


class HearsayHandlers(common.HearsayCluster):
    agent_class = HandlerAgent

    def __init__(self, n):
        super().__init__(n)
        out = self.dir
        self.handler = os.path.join(out, "hearsay-handler.sh")
        with open(self.handler, "w") as f:
            f.write('#!/bin/sh\n'
                    'case "$HEARSAY_EVENT:$HEARSAY_USER_EVENT$HEARSAY_QUERY_NAME" in\n'
                    'user-event:bench) p=$(cat); echo "$(date +%%s.%%N) $HEARSAY_SELF $p" '
                    '>> %s/hearsay-events ;;\n'
                    'user-event:big) cat > %s/hearsay-big-$HEARSAY_SELF ;;\n'
                    'query:bench) echo "$HEARSAY_SELF" ;;\n'
                    'esac\n' % (out, out))
        os.chmod(self.handler, 0o755)


def serf_handler(out):
    path = os.path.join(out, "serf-handler.sh")
    with open(path, "w") as f:
        f.write('#!/bin/sh\n'
                'case "$SERF_EVENT" in\n'
                'user) p=$(cat); echo "$(date +%%s.%%N) $SERF_SELF_NAME $p" >> %s/serf-events ;;\n'
                'query) echo "$SERF_SELF_NAME" ;;\n'
                'esac\n' % out)
    os.chmod(path, 0o755)
    return "user:bench,query:bench=" + path


def handler_times(path, token):
    """{agent: handler timestamp (UNIX s)} of the lines carrying token."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) == 3 and p[2] == token:
                    out[p[1]] = float(p[0])
    except OSError:
        pass
    return out


def event_trial(kind, argv, path, timeout=10.0):
    token = "t%d" % random.getrandbits(48)
    t0 = time.time()
    p = subprocess.run(argv + [token], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s event: %s" % (kind, p.stderr.strip()))
    cli_s = time.time() - t0
    common.wait_for(lambda: len(handler_times(path, token)) >= N, timeout, 0.02)
    ts = handler_times(path, token)
    res = {"all": max(ts.values()) - t0 if len(ts) >= N else None, "ran": len(ts),
           "first": min(ts.values()) - t0 if ts else None, "cli_s": cli_s}
    log("%s event: all=%s first=%s ran=%d cli=%.3f" % (kind, fmt(res["all"]), fmt(res["first"]),
                                                       len(ts), cli_s))
    return res


def query_trial(kind, argv, prefix):
    """Timestamps of each response line as read from the CLI's stdout."""
    t0 = time.time()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         bufsize=1)
    got = {}
    for line in p.stdout:
        t = time.time() - t0
        who = prefix(line)
        if who and who not in got:
            got[who] = t
    err = p.stderr.read()
    rc = p.wait()
    done = time.time() - t0
    if rc != 0:
        raise RuntimeError("%s query: rc %d: %s" % (kind, rc, err.strip()))
    ts = sorted(got.values())
    res = {"all": ts[N - 1] if len(ts) >= N else None, "responses": len(ts),
           "first": ts[0] if ts else None, "cli_return_s": done}
    log("%s query: all=%s first=%s responses=%d cli_return=%.3f" % (
        kind, fmt(res["all"]), fmt(res["first"]), len(ts), done))
    return res


def hearsay_who(line):
    name, sep, _ = line.partition(": ")
    return name if sep else None


def serf_who(line):
    if line.startswith("Response from '"):
        return line.split("'")[1]
    return None


def big_phase(hs, sf, out):
    payload = base64.b64encode(os.urandom(6144)).decode()  # 8192 bytes
    assert len(payload) == 8192
    want = hashlib.sha256(payload.encode()).hexdigest()
    t0 = time.time()
    p = subprocess.run([hs.hearsay, "--socket", hs[2].sock, "event", "--wait", "5", "--json",
                        "big", "-"], input=payload, capture_output=True, text=True)
    res = {"payload_bytes": len(payload), "hearsay_rc": p.returncode,
           "hearsay_answer": p.stdout.strip(), "hearsay_s": time.time() - t0}
    common.wait_for(lambda: all(os.path.exists(os.path.join(out, "hearsay-big-n%d" % i))
                                for i in range(1, N + 1)), 5)
    time.sleep(0.2)  # the last handler's cat may still be writing
    intact = 0
    for i in range(1, N + 1):
        try:
            with open(os.path.join(out, "hearsay-big-n%d" % i), "rb") as f:
                intact += hashlib.sha256(f.read()).hexdigest() == want
        except OSError:
            pass
    res["hearsay_intact"] = intact
    for what in ("event", "query"):
        q = subprocess.run([sf.serf, what, "-rpc-addr=" + sf[2].rpc, "big", payload],
                           capture_output=True, text=True, timeout=30)
        res["serf_%s_rc" % what] = q.returncode
        res["serf_%s_error" % what] = (q.stderr.strip() or q.stdout.strip())[-300:]
    log("8 KiB: hearsay rc=%d intact=%d/%d; serf event rc=%d (%s); serf query rc=%d (%s)" % (
        res["hearsay_rc"], intact, N, res["serf_event_rc"], res["serf_event_error"],
        res["serf_query_rc"], res["serf_query_error"]))
    return res


class Watch:
    """Polls every running agent's view every 200 ms; counts members shown failed (or
    suspect) that are not the current victim."""

    def __init__(self, cluster):
        self.c = cluster
        self.victim = None
        self.false_failed, self.false_suspect = set(), set()
        self.polls = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for a in list(self.c.agents):
                if not a.running() or a.name == self.victim:
                    continue
                for m in a.members() or []:
                    if m["name"] == self.victim or m["name"] == a.name:
                        continue
                    if m["status"] == "failed":
                        self.false_failed.add((a.name, m["name"]))
                    elif m["status"] == "suspect":
                        self.false_suspect.add((a.name, m["name"]))
                self.polls += 1
            self.stop.wait(0.2)


def detections(hs, k, watch, offset):
    out = []
    for t in range(k):
        victim = VICTIMS[(t + offset) % len(VICTIMS)]
        # the watcher skips the victim from a moment before its kill until it is back
        watch.victim = hs[victim].name
        out.append(detect_vs_serf.trial(hs, victim, 30))
        watch.victim = None
    return out


def storm_phase(hs, args):
    res = {}
    watch = Watch(hs)
    watch.t.start()
    try:
        log("quiet detections: %d" % args.quiet_trials)
        res["quiet"] = detections(hs, args.quiet_trials, watch, 0)
        m0 = [a.metrics() for a in hs.agents]
        stop = threading.Event()
        sent = {"ok": 0, "err": 0, "late": 0}
        body = os.urandom(args.storm_bytes // 2).hex().encode()

        def fire():
            t_start = time.monotonic()
            i = 0
            while not stop.is_set() and time.monotonic() - t_start < args.storm_seconds:
                due = t_start + i / args.storm_rate
                d = due - time.monotonic()
                if d > 0:
                    time.sleep(d)
                elif d < -0.1:
                    sent["late"] += 1
                i += 1
                try:
                    st, _ = common.http_request(hs[1].sock, "POST", "/v1/event/storm", body)
                    sent["ok" if st == 200 else "err"] += 1
                except OSError:
                    sent["err"] += 1
            sent["seconds"] = time.monotonic() - t_start

        th = threading.Thread(target=fire, daemon=True)
        log("storm: %d events/s of %d bytes for %d s from n1, detections meanwhile" % (
            args.storm_rate, args.storm_bytes, args.storm_seconds))
        th.start()
        res["storm"] = []
        t_end = time.monotonic() + args.storm_seconds
        k = 0
        while time.monotonic() < t_end - 5:
            res["storm"] += detections(hs, 1, watch, k)
            k += 1
        th.join()
        m1 = [a.metrics() for a in hs.agents]
        res["sent"] = sent
        deliv = lambda m: m.get("hearsay_user_events_delivered_total", 0)
        res["delivered_per_agent"] = {a.name: deliv(m1[i]) - deliv(m0[i])
                                      for i, a in enumerate(hs.agents)}
        res["deferred_n1"] = m1[0].get("hearsay_user_deferred_total", 0) - m0[0].get(
            "hearsay_user_deferred_total", 0)
        res["user_bytes_out_n1"] = m1[0].get("hearsay_user_bytes_out_total", 0) - m0[0].get(
            "hearsay_user_bytes_out_total", 0)
    finally:
        watch.stop.set()
        watch.t.join()
    res["false_failed"] = sorted(watch.false_failed)
    res["false_suspect"] = sorted(watch.false_suspect)
    res["watch_polls"] = watch.polls
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--quiet-trials", type=int, default=15)
    ap.add_argument("--storm-seconds", type=int, default=60)
    ap.add_argument("--storm-rate", type=int, default=100)
    ap.add_argument("--storm-bytes", type=int, default=1024)
    ap.add_argument("--skip-storm", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()

    result = {"load_start": common.load(), "args": vars(args),
              "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    hs = HearsayHandlers(N)
    out = hs.dir  # the handlers' output, both systems
    sf = common.SerfCluster(N, event_handler=serf_handler(out))
    log("hearsayd %s port %d; serf %s port %d; output in %s" % (hs.hearsayd, hs.port, sf.serf,
                                                                  sf.port, out))
    try:
        hs.start()
        sf.start()
        for c in (hs, sf):
            if c.wait_all_alive(60) is None:
                raise RuntimeError("%s cluster did not converge: %s" % (c.kind, c.views()))
        log("both up; warm-up 5 s; %s" % common.load())
        time.sleep(5)
        ev = {"hearsay": [], "serf": []}
        qs = {"hearsay": [], "serf": []}
        h_ev = [hs.hearsay, "--socket", hs[1].sock, "event", "bench"]
        s_ev = [sf.serf, "event", "-rpc-addr=" + sf[1].rpc, "-coalesce=false", "bench"]
        h_q = [hs.hearsay, "--socket", hs[1].sock, "query", "bench"]
        s_q = [sf.serf, "query", "-rpc-addr=" + sf[1].rpc, "bench"]
        for t in range(args.trials):
            order = [("hearsay", h_ev, "hearsay-events"), ("serf", s_ev, "serf-events")]
            for kind, argv, f in (order if t % 2 == 0 else order[::-1]):
                ev[kind].append(event_trial(kind, argv, os.path.join(out, f)))
                time.sleep(0.5)
        for t in range(args.trials):
            order = [("hearsay", h_q, hearsay_who), ("serf", s_q, serf_who)]
            for kind, argv, who in (order if t % 2 == 0 else order[::-1]):
                qs[kind].append(query_trial(kind, argv, who))
                time.sleep(0.5)
        result["event"], result["query"] = ev, qs
        result["big"] = big_phase(hs, sf, out)
        sf.stop()
        result["load_before_storm"] = common.load()
        if not args.skip_storm:
            result["storm"] = storm_phase(hs, args)
        result["load_end"] = common.load()
    finally:
        hs.stop()
        sf.stop()
        common.cleanup_all()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
    print(report(result))


def fmt(x, d=3):
    return "-" if x is None else ("%.*f" % (d, x))


def ratio_rows(r, key, label):
    h = common.stats([x["all"] for x in r[key]["hearsay"] if x["all"] is not None])
    s = common.stats([x["all"] for x in r[key]["serf"] if x["all"] is not None])
    rows = []
    for k in ("median", "mean", "p90", "min", "max"):
        rows.append(["%s, %s (s)" % (k, label), fmt(h.get(k)), fmt(s.get(k)),
                     fmt(h[k] / s[k] if h.get(k) and s.get(k) else None, 2)])
    miss = lambda kind: sum(x["all"] is None for x in r[key][kind])
    rows.append(["trials / incomplete", "%d / %d" % (len(r[key]["hearsay"]), miss("hearsay")),
                 "%d / %d" % (len(r[key]["serf"]), miss("serf")), ""])
    met = h.get("median") and s.get("median") and h["median"] <= 0.5 * s["median"]
    return rows, met, h, s


def report(r):
    out = ["Run started %s; %s at start, %s at end." % (
        r["started"], r["load_start"], r.get("load_end", "?"))]
    rows, met, h, s = ratio_rows(r, "event", "fired to handler run on all 10")
    fl = lambda kind, k: common.stats([x[k] for x in r["event"][kind] if x[k] is not None])
    rows.append(["median, first handler run (s)", fmt(fl("hearsay", "first").get("median")),
                 fmt(fl("serf", "first").get("median")), ""])
    rows.append(["median, CLI returned (s)", fmt(fl("hearsay", "cli_s").get("median")),
                 fmt(fl("serf", "cli_s").get("median")), ""])
    out.append("\n### (a) User event: fired to handler run on all 10 agents\n")
    out.append(common.md_table(["", "hearsay", "Serf", "hearsay / Serf"], rows))
    out.append("\nGoal: hearsay median <= 0.5 x Serf median: %s.\n" % ("met" if met else "NOT met"))
    rows, met, h, s = ratio_rows(r, "query", "10th response read")
    ql = lambda kind: common.stats([x["cli_return_s"] for x in r["query"][kind]])
    rows.append(["median, CLI returned (s)", fmt(ql("hearsay").get("median")),
                 fmt(ql("serf").get("median")), ""])
    out.append("\n### (b) Query: to all 10 responses\n")
    out.append(common.md_table(["", "hearsay", "Serf", "hearsay / Serf"], rows))
    out.append("\nGoal: hearsay median <= 0.5 x Serf median: %s.\n" % ("met" if met else "NOT met"))
    b = r["big"]
    out.append("\n### (c) 8 KiB payload\n")
    out.append("hearsay: `hearsay event --wait 5 big -` with %d bytes: exit %d, %s; handler input "
               "identical (SHA-256) on %d/10 agents.\n" % (
                   b["payload_bytes"], b["hearsay_rc"], b["hearsay_answer"], b["hearsay_intact"]))
    out.append("Serf: `serf event big PAYLOAD`: exit %d: `%s`; `serf query big PAYLOAD`: exit %d: "
               "`%s`.\n" % (b["serf_event_rc"], b["serf_event_error"], b["serf_query_rc"],
                            b["serf_query_error"]))
    if "storm" in r:
        st = r["storm"]
        q = common.stats([x["all"] for x in st["quiet"] if x["all"] is not None])
        w = common.stats([x["all"] for x in st["storm"] if x["all"] is not None])
        out.append("\n### (d) kill -9 detection with a user-event storm (hearsay)\n")
        rows = [[k, fmt(q.get(k)), fmt(w.get(k)),
                 fmt(w[k] / q[k] if q.get(k) and w.get(k) else None, 2)]
                for k in ("median", "mean", "min", "max")]
        rows.append(["trials", q["n"], w["n"], ""])
        out.append(common.md_table(["all survivors show it failed (s)", "quiet", "storm",
                                    "storm / quiet"], rows))
        sent = st["sent"]
        kept = [v for k, v in st["delivered_per_agent"].items() if int(k[1:]) < VICTIMS[0]]
        out.append("\nStorm: %d events accepted (%d refused, %d sent >100 ms late) in %.1f s from "
                   "n1, %d bytes each; delivered by each of n1..n5 (never restarted; min-max) %d-%d; n1 sent %.0f bytes of "
                   "user traffic (%.0f B/s), %d sends deferred by the budget.\n" % (
                       sent["ok"], sent["err"], sent["late"], sent.get("seconds", 0),
                       r["args"]["storm_bytes"], min(kept), max(kept), st["user_bytes_out_n1"],
                       st["user_bytes_out_n1"] / max(sent.get("seconds", 1), 1),
                       st["deferred_n1"]))
        dm = w.get("median") and q.get("median") and abs(w["median"] / q["median"] - 1) <= 0.10
        out.append("False failures (a live member shown failed, %d view polls): %d %s; live members "
                   "shown suspect: %d %s.\n" % (st["watch_polls"], len(st["false_failed"]),
                                                st["false_failed"], len(st["false_suspect"]),
                                                st["false_suspect"]))
        out.append("Goals: 0 false failures: %s; storm median within 10 %% of quiet: %s.\n" % (
            "met" if not st["false_failed"] else "NOT met", "met" if dm else "NOT met"))
    return "\n".join(out)


if __name__ == "__main__":
    main()
