#!/usr/bin/env python3
"""raft_vs_etcd.py (issue 3): hearsay's Raft group against etcd (Debian etcd-server), same run.

Three members each, on 127.0.0.1-3 (loopback only), fresh data dirs under /tmp:
- hearsay: 3 seeds n1-n3 (encrypted, a key file from `hearsay keygen`), writes with
  PUT /v1/config/KEY on the unix socket;
- etcd: e1-e3, one client port and one (different) peer port on all three addresses, at its
  defaults (heartbeat 100 ms, election 1000 ms) and tuned (--heartbeat-interval 50
  --election-timeout 300); writes with POST /v3/kv/put (the v3 HTTP/JSON gateway, base64
  key/value) on the client URL.

(a) failover: kill -9 the leader; the time from the kill until a write succeeds through a
    survivor (both the same way: a new write attempt every --attempt-interval (20 ms),
    alternating between the two survivors, each in its own thread on a fresh connection with a
    --attempt-timeout (1 s) client timeout; the first 200 ends the trial, so the figure is
    precise to ~20 ms whether the server holds a request until there is a leader (hearsay)
    or fails it or leaves it to the client timeout). The killed member is
    restarted and the group must be whole again (all three agree on the leader and a write
    through every member succeeds) before the next trial.
(b) write latency: --writes sequential committed writes on the leader, one keep-alive
    http.client connection (reconnects are counted), p50/p99.
Prints markdown tables with ratios and the load average at start and end; --json FILE for the
raw numbers. Every process is killed by PID and every temp dir removed (finally/atexit).
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log, load  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


UnixConn = common.UnixHTTPConnection  # keep-alive HTTP on an agent's unix socket


def request(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, data.decode("utf-8", "replace")


class KeepAlive:
    """One persistent connection; reconnects (and counts it) when the server closed it."""

    def __init__(self, factory):
        self.factory = factory
        self.conn = None
        self.connects = 0

    def do(self, method, path, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self.factory()
                self.connects += 1
            try:
                return request(self.conn, method, path, body)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def close(self):
        if self.conn:
            self.conn.close()


# ---------------------------------------------------------------------------------------
# hearsay


class HearsayGroup:
    name = "hearsay"

    def __init__(self, base):
        self.hearsayd = common.binary("hearsayd")
        self.hearsay = common.binary("hearsay")
        self.dir = tempfile.mkdtemp(prefix="hs-raftbench-", dir=base)
        self.ips = ["127.0.0.%d" % i for i in (1, 2, 3)]
        self.port = common.pick_port(self.ips)
        self.key_file = os.path.join(self.dir, "cluster.key")
        p = subprocess.run([self.hearsay, "keygen", "-o", self.key_file], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError("hearsay keygen failed: %s" % p.stderr)
        os.chmod(self.key_file, 0o600)
        self.members = ["n1", "n2", "n3"]
        self.procs = {}

    def sock(self, m):
        return os.path.join(self.dir, m, "api.sock")

    def argv(self, m):
        i = int(m[1:])
        a = [self.hearsayd, "--name", m, "--bind", "127.0.0.%d:%d" % (i, self.port),
             "--socket", self.sock(m), "--data-dir", os.path.join(self.dir, m, "data"),
             "--log-level", "info", "--key-file", self.key_file]
        for j in (1, 2, 3):
            a += ["--seed", "n%d=127.0.0.%d:%d" % (j, j, self.port)]
        if m != "n1":
            a += ["--join", "127.0.0.1:%d" % self.port]
        return a

    def start(self, m):
        os.makedirs(os.path.join(self.dir, m, "data"), exist_ok=True)
        if os.path.exists(self.sock(m)):
            os.unlink(self.sock(m))
        self.procs[m] = common.spawn(self.argv(m), os.path.join(self.dir, m, "hearsayd.log"))

    def kill9(self, m):
        return common.kill9(self.procs.pop(m))

    def stop(self):
        for m in list(self.procs):
            self.kill9(m)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def status(self, m, timeout=0.5):
        try:
            st, body = request(UnixConn(self.sock(m), timeout), "GET", "/v1/raft")
        except (OSError, http.client.HTTPException):
            return None
        return body if st == 200 and isinstance(body, dict) else None

    def leader(self, members=None):
        """The leader's name if every given member answers and agrees on it."""
        rs = [(m, self.status(m)) for m in (members or self.members)]
        if any(r is None for _, r in rs):
            return None
        names = {r.get("leader") for _, r in rs}
        if len(names) != 1 or None in names:
            return None
        name = names.pop()
        return name if dict(rs).get(name, {"state": "leader"}).get("state") == "leader" else None

    def put_once(self, m, key, value, timeout):
        conn = UnixConn(self.sock(m), timeout)
        try:
            st, _ = request(conn, "PUT", "/v1/config/" + key, value)
            return st == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def keepalive(self, m):
        return KeepAlive(lambda: UnixConn(self.sock(m), 10))

    def put_ka(self, ka, key, value):
        st, body = ka.do("PUT", "/v1/config/" + key, value)
        return st == 200, body


# ---------------------------------------------------------------------------------------
# etcd


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtcdGroup:
    def __init__(self, base, tuned):
        self.etcd = os.environ.get("ETCD") or shutil.which("etcd") or sys.exit(
            "etcd not installed (apt-get install etcd-server)")
        self.tuned = tuned
        self.name = "etcd tuned" if tuned else "etcd defaults"
        self.dir = tempfile.mkdtemp(prefix="etcd-raftbench-", dir=base)
        self.ips = ["127.0.0.%d" % i for i in (1, 2, 3)]
        self.cport = common.pick_port(self.ips)
        self.pport = common.pick_port(self.ips, avoid=(self.cport,))
        self.members = ["e1", "e2", "e3"]
        self.procs = {}
        self.ids = {}  # member id (decimal string) -> name

    def ip(self, m):
        return "127.0.0.%s" % m[1:]

    def url(self, m):
        return "http://%s:%d" % (self.ip(m), self.cport)

    def argv(self, m):
        cluster = ",".join("%s=http://%s:%d" % (x, self.ip(x), self.pport) for x in self.members)
        a = [self.etcd, "--name", m, "--data-dir", os.path.join(self.dir, m),
             "--listen-client-urls", self.url(m), "--advertise-client-urls", self.url(m),
             "--listen-peer-urls", "http://%s:%d" % (self.ip(m), self.pport),
             "--initial-advertise-peer-urls", "http://%s:%d" % (self.ip(m), self.pport),
             "--initial-cluster", cluster, "--initial-cluster-state", "new",
             "--initial-cluster-token", "bench-%d" % os.getpid(), "--log-level", "warn"]
        if self.tuned:
            a += ["--heartbeat-interval", "50", "--election-timeout", "300"]
        return a

    def start(self, m):
        self.procs[m] = common.spawn(self.argv(m), os.path.join(self.dir, m + ".log"))

    def kill9(self, m):
        return common.kill9(self.procs.pop(m))

    def stop(self):
        for m in list(self.procs):
            self.kill9(m)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def conn(self, m, timeout):
        return http.client.HTTPConnection(self.ip(m), self.cport, timeout=timeout)

    def status(self, m, timeout=0.5):
        c = self.conn(m, timeout)
        try:
            st, body = request(c, "POST", "/v3/maintenance/status", "{}")
        except (OSError, http.client.HTTPException):
            return None
        finally:
            c.close()
        if st != 200 or not isinstance(body, dict):
            return None
        me = body.get("header", {}).get("member_id")
        self.ids[me] = m
        return body

    def leader(self, members=None):
        rs = [self.status(m) for m in (members or self.members)]
        if any(r is None for r in rs):
            return None
        leaders = {r.get("leader") for r in rs}
        if len(leaders) != 1 or None in leaders or "0" in leaders:
            return None
        return self.ids.get(leaders.pop())

    def put_once(self, m, key, value, timeout):
        c = self.conn(m, timeout)
        try:
            st, body = request(c, "POST", "/v3/kv/put",
                               json.dumps({"key": b64(key), "value": b64(value)}))
            return st == 200 and isinstance(body, dict) and "header" in body
        except (OSError, http.client.HTTPException):
            return False
        finally:
            c.close()

    def keepalive(self, m):
        return KeepAlive(lambda: self.conn(m, 10))

    def put_ka(self, ka, key, value):
        st, body = ka.do("POST", "/v3/kv/put", json.dumps({"key": b64(key), "value": b64(value)}))
        return st == 200 and isinstance(body, dict) and "header" in body, body


# ---------------------------------------------------------------------------------------


def whole(g, timeout=30):
    """Waits until all three agree on a leader and a write through every member succeeds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ldr = g.leader()
        if ldr and all(g.put_once(m, "probe", "1", 2.0) for m in g.members):
            return ldr
        time.sleep(0.05)
    raise RuntimeError("%s: group not whole within %d s (dir %s)" % (g.name, timeout, g.dir))


def failover(g, trials, attempt_timeout, interval):
    out = []
    for t in range(trials):
        ldr = whole(g)
        rest = [m for m in g.members if m != ldr]
        time.sleep(0.3)  # let the heartbeat after the probe writes settle
        ldr = g.leader() or ldr
        rest = [m for m in g.members if m != ldr]
        t_kill = g.kill9(ldr)
        done = threading.Event()
        when = []
        lock = threading.Lock()

        def attempt(m, key):
            if g.put_once(m, key, "x", attempt_timeout) and not done.is_set():
                with lock:
                    if not done.is_set():
                        when.append(time.monotonic())
                        done.set()
        k = 0
        while not done.is_set() and time.monotonic() - t_kill < 30:
            threading.Thread(target=attempt, args=(rest[k % 2], "fo%d" % t),
                             daemon=True).start()
            k += 1
            done.wait(interval)
        if not done.is_set():
            raise RuntimeError("%s: no write within 30 s of killing %s" % (g.name, ldr))
        took = when[0] - t_kill
        time.sleep(attempt_timeout)  # let the attempts still in flight end
        out.append(took)
        log("%s trial %d: killed leader %s, write through a survivor after %.3f s (%d attempts)"
            % (g.name, t, ldr, took, k))
        g.start(ldr)
    whole(g)
    return out


def latency(g, n):
    ldr = whole(g)
    time.sleep(0.3)
    ldr = g.leader() or ldr
    ka = g.keepalive(ldr)
    lat = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            ok, body = g.put_ka(ka, "lat%d" % (i % 50), "v%d" % i)
            lat.append(time.perf_counter() - t0)
            if not ok:
                raise RuntimeError("%s: write %d on leader %s failed: %r" % (g.name, i, ldr, body))
    finally:
        ka.close()
    log("%s: %d writes on leader %s, %d connection(s), p50 %.2f ms p99 %.2f ms"
        % (g.name, n, ldr, ka.connects, pct(lat, 50) * 1e3, pct(lat, 99) * 1e3))
    return lat, ka.connects


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--writes", type=int, default=200)
    ap.add_argument("--attempt-timeout", type=float, default=1.0)
    ap.add_argument("--attempt-interval", type=float, default=0.02)
    ap.add_argument("--json")
    args = ap.parse_args()
    res = {"load_start": load(), "trials": args.trials, "writes": args.writes,
           "attempt_timeout": args.attempt_timeout,
           "attempt_interval": args.attempt_interval, "groups": {}}
    log(res["load_start"])
    base = tempfile.mkdtemp(prefix="raft-vs-etcd-", dir="/tmp")
    common._cleanups.append(lambda: shutil.rmtree(base, ignore_errors=True))
    groups = []
    try:
        for make in (lambda: HearsayGroup(base), lambda: EtcdGroup(base, False),
                     lambda: EtcdGroup(base, True)):
            g = make()
            groups.append(g)
            try:
                for m in g.members:
                    g.start(m)
                lat, conns = latency(g, args.writes)
                fo = failover(g, args.trials, args.attempt_timeout, args.attempt_interval)
                res["groups"][g.name] = {"failover_s": fo, "write_s": lat, "connects": conns}
            finally:
                g.cleanup()
    finally:
        for g in groups:
            g.cleanup()
        shutil.rmtree(base, ignore_errors=True)
    res["load_end"] = load()
    log(res["load_end"])

    G = res["groups"]
    h = G["hearsay"]
    rows = []
    for name in ("hearsay", "etcd defaults", "etcd tuned"):
        fo = G[name]["failover_s"]
        rows.append([name, len(fo), "%.3f" % statistics.median(fo), "%.3f" % min(fo),
                     "%.3f" % pct(fo, 90), "%.3f" % max(fo),
                     "1" if name == "hearsay" else "%.2f" % (statistics.median(h["failover_s"])
                                                             / statistics.median(fo))])
    print("\n### Leader failover: kill -9 of the leader to a committed write through a survivor "
          "(s)\n")
    print(common.md_table(["", "trials", "median", "min", "p90", "max",
                           "hearsay median / this median"], rows))
    rows = []
    for name in ("hearsay", "etcd defaults", "etcd tuned"):
        w = G[name]["write_s"]
        rows.append([name, len(w), "%.2f" % (pct(w, 50) * 1e3), "%.2f" % (pct(w, 99) * 1e3),
                     "%.2f" % (max(w) * 1e3), G[name]["connects"],
                     "1" if name == "hearsay" else "%.2f" % (pct(h["write_s"], 50) / pct(w, 50))])
    print("\n### Sequential committed writes on the leader (ms)\n")
    print(common.md_table(["", "writes", "p50", "p99", "max", "connections",
                           "hearsay p50 / this p50"], rows))
    print("\nload: start %s; end %s" % (res["load_start"], res["load_end"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
