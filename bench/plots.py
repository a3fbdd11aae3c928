#!/usr/bin/python3
"""plots.py: the figures of docs/performance.md, drawn from the raw output files in
bench/results/ (python3-matplotlib from Debian: apt-get install python3-matplotlib).

Inputs (each written by the command in bench/results/README.md):
  sim-detect-N<n>.txt   hearsay-sim detect: one "trial ... all_ms=" line per crash
  detect-N<n>.json      bench/detect_vs_serf.py --json: per-trial hearsay and Serf times
  sim-load.txt          hearsay-sim load (or scale) at several N: "n=... bytes_per_node_s="
  sim-gray.txt          hearsay-sim gray: "series ... t_s= total_flips=" every simulated minute
  gray-real.json        bench/gray_vs_serf.py --case gray --json: every failed/join event
Outputs (docs/img/): detection_cdf.png, load_vs_n.png, flapping.png.

Usage: /usr/bin/python3 bench/plots.py [--results DIR] [--out DIR]
"""

import argparse
import glob
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def cdf(ax, xs, label, **kw):
    xs = sorted(xs)
    if not xs:
        return
    ys = [(i + 1) / len(xs) for i in range(len(xs))]
    ax.step(xs, ys, where="post", label="%s (n=%d, median %.2f s)"
            % (label, len(xs), xs[len(xs) // 2] if len(xs) % 2 else
               (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2), **kw)


def detection(res, out):
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for path in sorted(glob.glob(os.path.join(res, "sim-detect-N*.txt")),
                       key=lambda p: int(re.findall(r"N(\d+)", p)[0])):
        n = re.findall(r"N(\d+)", path)[0]
        xs = [int(fields(line)["all_ms"]) / 1000 for line in open(path)
              if line.startswith("trial ")]
        cdf(ax, xs, "hearsay, simulator N=%s" % n, linestyle="--")
    for path in sorted(glob.glob(os.path.join(res, "detect-N*.json")),
                       key=lambda p: int(re.findall(r"N(\d+)", p)[0])):
        n = re.findall(r"N(\d+)", path)[0]
        r = json.load(open(path))
        for kind, label in (("hearsay", "hearsay"), ("serf", "Serf")):
            xs = [t["all"] for t in r["trials"][kind] if t.get("all") is not None]
            cdf(ax, xs, "%s, %s real agents" % (label, n))
    ax.axvline(1.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("kill -9 -> failed on every survivor (s)")
    ax.set_ylabel("fraction of crashes")
    ax.set_title("Detection time")
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "detection_cdf.png"), dpi=110)
    plt.close(fig)


def load(res, out):
    path = os.path.join(res, "sim-load.txt")
    if not os.path.exists(path):
        return
    pts = {}
    for line in open(path):
        if line.startswith("scenario=load") or line.startswith("scenario=scale"):
            f = fields(line)
            pts[int(f["n"])] = (float(f["bytes_per_node_s"]), float(f["pkts_per_node_s"]))
    ns = sorted(pts)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(ns, [pts[n][0] for n in ns], marker="o", label="bytes sent per node per second")
    ax2 = ax.twinx()
    ax2.plot(ns, [pts[n][1] for n in ns], marker="s", color="tab:orange",
             label="packets sent per node per second")
    ax.set_xscale("log")
    ax.set_xlabel("cluster size N (simulator, no loss)")
    ax.set_ylabel("bytes / node / s")
    ax2.set_ylabel("packets / node / s")
    ax.set_ylim(bottom=0, top=max(p[0] for p in pts.values()) * 1.4)
    ax2.set_ylim(bottom=0, top=max(p[1] for p in pts.values()) * 1.4)
    ax.set_title("Idle load per node against N")
    ax.grid(alpha=0.3)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "load_vs_n.png"), dpi=110)
    plt.close(fig)


def real_series(r, kind):
    """Cumulative alive<->failed changes of the faulty member, max over healthy observers."""
    state, per, pts = {}, {}, [(0.0, 0)]
    for t, obs, what, member in sorted(r["events"][kind]):
        if member != "n10" or obs == "n10":
            continue
        if what == "failed" and state.get(obs) != "failed":
            state[obs] = "failed"
        elif what == "join" and state.get(obs) == "failed":
            state[obs] = "alive"
        else:
            continue
        per[obs] = per.get(obs, 0) + 1
        pts.append((t, max(per.values())))
    pts.append((r["seconds"], pts[-1][1]))
    return pts


def flapping(res, out):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    path = os.path.join(res, "gray-real.json")
    if os.path.exists(path):
        r = json.load(open(path))
        ax = axes[0]
        for kind, label in (("hearsay", "hearsay"), ("serf", "Serf")):
            pts = real_series(r, kind)
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post",
                    label="%s (%d)" % (label, pts[-1][1]))
        ax.set_xlabel("seconds of 90 % loss both ways")
        ax.set_ylabel("alive<->failed changes, one observer (max)")
        ax.set_title("10 real agents, one at 90 % loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    path = os.path.join(res, "sim-gray.txt")
    if os.path.exists(path):
        ax = axes[1]
        rows = [fields(line) for line in open(path) if line.startswith("series ")]
        last = [fields(line) for line in open(path) if line.startswith("scenario=gray")]
        n = last[0]["n"] if last else "?"
        flaky = int(last[0]["flaky"]) if last else 1
        ts = [float(f["t_s"]) / 60 for f in rows]
        ax.step(ts, [int(f["max_status_changes"]) for f in rows], where="post",
                label="max over (observer, flaky node)")
        ax.step(ts, [int(f["total_flips"]) / (flaky * (int(n) - flaky)) for f in rows],
                where="post", label="mean per (observer, flaky node)")
        ax.set_xlabel("simulated minutes of 90 % loss both ways")
        ax.set_ylabel("alive<->failed changes seen by a healthy observer")
        ax.set_title("simulator, N=%s, %d nodes at 90 %% loss" % (n, flaky))
        ax.set_ylim(bottom=0, top=3)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "flapping.png"), dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "docs", "img"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    detection(a.results, a.out)
    load(a.results, a.out)
    flapping(a.results, a.out)
    print("figures in %s" % a.out)


if __name__ == "__main__":
    main()
