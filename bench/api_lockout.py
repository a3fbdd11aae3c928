#!/usr/bin/env python3
"""api_lockout.py: how long root waits for `hearsay members` while an unprivileged local user
attacks the API socket (issue 15). One agent with --socket-group; the attacker is uid 65534
in that group (setpriv), running tests/integration/test_api_fairness.py's ATTACKER: 300
connections that each send one byte per second (reopened when the agent closes them) and 20
event streams that never read; with --flooders K also K processes that connect, write half
a request and close, as fast as they can. Root runs `hearsay members` --runs times, one every
--interval s, during the attack; reports answered, median / p99 / max latency, and the
agent's refusal and deadline counters. --attack none measures the same runs without attack.

    sudo python3 bench/api_lockout.py [--attack dribble|none] [--flooders K] [--runs 200]

Binaries: $HEARSAYD / $HEARSAY, else the newest build*/ (tests/integration/harness.py).
Needs root (groupadd, setpriv); every process is killed by PID and the group removed at exit.
"""

import argparse
import grp
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402
from test_api_fairness import ATTACKER, READER, metrics  # noqa: E402

FLOODER = r"""
import socket, sys, time
path, secs = sys.argv[1], float(sys.argv[2])
t0 = time.monotonic(); n = fail = 0
while time.monotonic() - t0 < secs:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(path)
        n += 1
        try:
            s.send(b"GET /v1/members HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass
    except OSError:
        fail += 1
    s.close()
print(n, fail)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attack", choices=("dribble", "none"), default="dribble")
    ap.add_argument("--flooders", type=int, default=0)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.1)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (groupadd, setpriv)")
    group = "hsbench%d" % (os.getpid() % 100000)
    subprocess.run(["groupadd", group], check=True, capture_output=True)
    try:
        gid = grp.getgrnam(group).gr_gid
        run(args, group, gid)
    finally:
        subprocess.run(["groupdel", group], capture_output=True)


def run(args, group, gid):
    secs = args.runs * args.interval + 3
    with Cluster(1, extra_args=["--socket-group", group]) as c:
        os.chmod(c.dir, 0o755)
        os.chmod(c[1].dir, 0o755)
        c.start()
        n = c[1]
        as_reader = ["setpriv", "--reuid", str(READER), "--regid", str(gid), "--groups",
                     str(gid), "--", sys.executable, "-c"]
        procs = []
        if args.attack == "dribble":
            a = subprocess.Popen(as_reader + [ATTACKER, n.sock, "300", "20", str(secs)],
                                 stdout=subprocess.PIPE, text=True)
            procs.append(a)
            log("attacker: %s" % a.stdout.readline().strip())
        for _ in range(args.flooders):
            procs.append(subprocess.Popen(as_reader + [FLOODER, n.sock, str(secs)],
                                          stdout=subprocess.PIPE, text=True))
        time.sleep(0.5)
        took, ok, t0 = [], 0, time.monotonic()
        for i in range(args.runs):
            time.sleep(max(0.0, t0 + i * args.interval - time.monotonic()))
            p = n.cli("members", timeout=10)
            took.append(p.elapsed * 1000)
            ok += p.returncode == 0 and "n1" in p.stdout
        for p in procs:
            out = p.communicate(timeout=secs + 20)[0].strip().splitlines()
            log("attacker process: %s" % (out[-1][:300] if out else ""))
        m = metrics(n)
        took.sort()
        print("attack=%s flooders=%d: root's `hearsay members` answered %d of %d; latency "
              "median %.1f ms, p99 %.1f ms, max %.1f ms"
              % (args.attack, args.flooders, ok, args.runs, statistics.median(took),
                 took[int(len(took) * 0.99) - 1], took[-1]))
        print("agent: %d connections refused (uid share: %d), %d closed at the request "
              "deadline" % (m["hearsay_api_connections_refused_total"],
                            m['hearsay_api_refused_total{slot="connection",reason="uid"}'],
                            m['hearsay_api_deadline_closed_total{phase="request"}']))


if __name__ == "__main__":
    try:
        main()
    finally:
        harness._kill_all()
