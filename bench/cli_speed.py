#!/usr/bin/env python3
"""cli_speed.py: `hearsay members --json` vs `serf members -format json`, end to end (issue 6).

Starts five hearsayd and five `serf agent` (encrypted gossip, LAN defaults) on
127.0.0.1..127.0.0.5, waits until both clusters show five alive members, then times --runs
executions of each command (interleaved: hearsay, serf, hearsay, ...) from Python with
time.perf_counter_ns around subprocess.run (fork/exec, connect, request, JSON output, exit,
output read by the parent), with /bin/true timed the same way as the floor of the
method. Every run's output is checked to list five members. If
hyperfine is installed, it also runs `hyperfine -N` on both commands.

Prints a markdown table (median, p90, mean, min, max; hearsay, Serf, ratio).
Usage: sudo python3 bench/cli_speed.py [--runs 200] [--no-hyperfine] [--json out.json]
"""

import argparse
import json
import os
import shutil
import subprocess
import time

import common
from common import log


def timed(argv, check=True):
    t0 = time.perf_counter_ns()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns()
    if not check:
        return (t1 - t0) / 1e6
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (argv, p.returncode, p.stderr))
    n = len(json.loads(p.stdout)["members"])
    if n != 5:
        raise RuntimeError("%s listed %d members" % (argv, n))
    return (t1 - t0) / 1e6


def hyperfine(cmds, runs, out_json):
    argv = ["hyperfine", "-N", "--warmup", "20", "--runs", str(runs), "--export-json", out_json,
            "--style", "basic"] + [" ".join(c) for c in cmds]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("hyperfine failed: %s" % p.stderr)
    with open(out_json) as f:
        res = json.load(f)["results"]
    return [{"median": r["median"] * 1e3, "mean": r["mean"] * 1e3, "min": r["min"] * 1e3,
             "max": r["max"] * 1e3, "stddev": r["stddev"] * 1e3} for r in res]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--no-hyperfine", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()

    r = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
         "load_start": common.load()}
    hs = common.HearsayCluster(5)
    sf = common.SerfCluster(5)
    try:
        common.start_converged(hs, sf)
        hcmd = [hs.hearsay, "--socket", hs[1].sock, "members", "--json"]
        scmd = [sf.serf, "members", "-rpc-addr=" + sf[1].rpc, "-format", "json"]
        r["commands"] = {"hearsay": hcmd, "serf": scmd}
        log("clusters up; %s" % common.load())
        for _ in range(args.warmup):
            timed(hcmd)
            timed(scmd)
        h, s, b = [], [], []
        true = shutil.which("true")
        for _ in range(args.runs):
            h.append(timed(hcmd))
            s.append(timed(scmd))
            b.append(timed([true], check=False))
        r["python"] = {"hearsay": common.stats(h), "serf": common.stats(s),
                       "true": common.stats(b)}
        r["load_python"] = common.load()
        log("python timing done; %s" % common.load())
        if not args.no_hyperfine and shutil.which("hyperfine"):
            tmp = os.path.join(hs.dir, "hyperfine.json")
            hh, hsf, ht = hyperfine([hcmd, scmd, [true]], args.runs, tmp)
            r["hyperfine"] = {"hearsay": hh, "serf": hsf, "true": ht}
            r["load_hyperfine"] = common.load()
    finally:
        hs.stop()
        sf.stop()
        common.cleanup_all()
    r["load_end"] = common.load()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1, sort_keys=True)
    print(report(r))


def f(x, d=3):
    return "-" if x is None else "%.*f" % (d, x)


def report(r):
    out = ["Run started %s; %s at start, %s at end." % (r["started"], r["load_start"],
                                                        r["load_end"])]
    out.append("\n### `members` end to end, five-member clusters, %d runs each "
               "(Python perf_counter_ns around subprocess.run, ms)\n" % r["python"]["hearsay"]["n"])
    h, s = r["python"]["hearsay"], r["python"]["serf"]
    b = r["python"]["true"]
    rows = [[k, f(h[k]), f(s[k]), f(h[k] / s[k], 3), f(b[k])]
            for k in ("median", "p90", "mean", "min", "max")]
    out.append(common.md_table(["", "hearsay members --json", "serf members -format json",
                                "hearsay / Serf", "/bin/true (floor)"], rows))
    out.append("\nGoals: hearsay median <= 1 ms: %s (%s ms); <= 0.3 x Serf: %s (ratio %s).\n" % (
        "met" if h["median"] <= 1.0 else "NOT met", f(h["median"]),
        "met" if h["median"] <= 0.3 * s["median"] else "NOT met", f(h["median"] / s["median"], 3)))
    if "hyperfine" in r:
        hh, hs_ = r["hyperfine"]["hearsay"], r["hyperfine"]["serf"]
        out.append("\n### The same with `hyperfine -N --warmup 20 --runs %d` (ms)\n"
                   % r["python"]["hearsay"]["n"])
        ht = r["hyperfine"]["true"]
        rows = [[k, f(hh[k]), f(hs_[k]), f(hh[k] / hs_[k], 3), f(ht[k])]
                for k in ("median", "mean", "stddev", "min", "max")]
        out.append(common.md_table(["", "hearsay members --json", "serf members -format json",
                                    "hearsay / Serf", "/bin/true (floor)"], rows))
    return "\n".join(out)


if __name__ == "__main__":
    main()
