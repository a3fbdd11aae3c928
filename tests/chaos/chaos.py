#!/usr/bin/env python3
"""chaos.py (issue 7): prove on real processes what the simulator claims.

Starts 30 hearsayd on 127.0.0.1..30 (n1-n3 are the Raft seeds, secure mode with a key file),
injects faults from a seeded random schedule for --duration seconds, records every agent's
view (its GET /v1/events stream, plus a GET /v1/members poll) and every configuration write,
ends every fault, and checks the history (rules a-e in tests/chaos/README.md). Exit status:
0 all checks passed, 1 a check failed (the seed and the history excerpt are printed),
2 the run could not be set up, 77 skipped (not root / no iptables).

    python3 tests/chaos/chaos.py --seed 1 --duration 180 [--json-out FILE]

python3 stdlib only; the process, API and iptables-loss machinery is
tests/integration/harness.py, used unchanged. Everything started here is killed by PID and
every iptables rule deleted by its exact spec, also on exceptions and SIGINT/SIGTERM.
"""

import argparse
import heapq
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
from harness import Cluster, Loss, log  # noqa: E402

import checker  # noqa: E402  (tests/chaos/checker.py: the history checks, pure functions)

N_NODES = 30
SEEDS = (1, 2, 3)


# ---------------------------------------------------------------------------------------
# iptables partitions (DROP between groups of 127.0.0.x addresses on lo)


class Net:
    """Partitions: DROP rules from a set of source addresses to a set of destination addresses.
    Other clusters (other engineers' tests) may use the same 127.0.0.x addresses, so only our
    agents' packets are looked at: four INPUT rules (-i lo, udp/tcp, multiport --ports = our
    agents' ports, src or dst) jump to a chain of our own, HSCHAOS<pid>, which holds the
    partition rules. Every rule is deleted by its exact spec (then the empty chain), also from
    harness' exit cleanup."""

    def __init__(self, ports):
        self.tag = "hearsay-chaos-%d" % os.getpid()
        self.chain = "HSCHAOS%d" % os.getpid()
        self.added = []
        self.jumps = []
        self.lock = threading.Lock()
        harness._cleanups.append(self.close)
        _ipt(["-N", self.chain])
        self.have_chain = True
        ports = sorted(ports)
        chunks = [ports[i:i + 15] for i in range(0, len(ports), 15)]
        for proto in ("udp", "tcp"):
            for ch in chunks:
                spec = ["-i", "lo", "-p", proto, "-m", "multiport", "--ports",
                        ",".join(str(p) for p in ch), "-m", "comment", "--comment", self.tag,
                        "-j", self.chain]
                _ipt(["-A", "INPUT"] + spec)
                self.jumps.append(spec)

    def spec(self, src, dst):
        return ["-s", ",".join(sorted(src, key=_ipkey)), "-d",
                ",".join(sorted(dst, key=_ipkey)), "-m", "comment", "--comment", self.tag,
                "-j", "DROP"]

    def add(self, src, dst):
        spec = self.spec(src, dst)
        with self.lock:
            self.added.append(spec)
            p = subprocess.run(["iptables", "-w", "-A", self.chain] + spec, capture_output=True,
                               text=True)
            if p.returncode != 0:
                # a partial insert of an expanded list is possible: delete what went in
                subprocess.run(["iptables", "-w", "-D", self.chain] + spec, capture_output=True)
                self.added.remove(spec)
                raise RuntimeError("iptables -A failed: %s" % p.stderr.strip())
        return spec

    def remove(self, spec):
        with self.lock:
            if spec not in self.added:
                return 0
            self.added.remove(spec)
            p = subprocess.run(["iptables", "-w", "-D", self.chain] + spec, capture_output=True,
                               text=True)
            return p.returncode

    def remove_all(self):
        while self.added:
            self.remove(self.added[-1])

    def close(self):
        self.remove_all()
        while self.jumps:
            spec = self.jumps.pop()
            subprocess.run(["iptables", "-w", "-D", "INPUT"] + spec, capture_output=True)
        if self.have_chain:
            subprocess.run(["iptables", "-w", "-X", self.chain], capture_output=True)
            self.have_chain = False

    @staticmethod
    def leftovers(tags):
        """Rules whose comment is one of tags (should be none)."""
        p = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True)
        return [ln for ln in p.stdout.splitlines() if any(t in ln for t in tags)]


def _ipt(args):
    p = subprocess.run(["iptables", "-w"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("iptables %s: %s" % (" ".join(args), p.stderr.strip()))


def _ipkey(ip):
    return tuple(int(x) for x in ip.split("."))


# ---------------------------------------------------------------------------------------


def now():
    return time.monotonic()


class Runner:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.lock = threading.RLock()
        self.stop_flag = threading.Event()
        self.t0 = None                  # monotonic time of the schedule start
        self.wall_off = time.time() - time.monotonic()
        # history
        self.faults = []                # dicts, see checker.py
        self.events = []                # (t, observer, gen, event dict)
        self.polls = []                 # (t, observer, view) when a view changed
        self.writes = []                # dicts
        self.rotation = []              # dicts
        self.crashes = []
        self.starts = {}                # name -> [(t_start, t_ready)]
        self.load = []                  # (t, loadavg1)
        self.oversleep = []             # poller's sleep overshoot (s): CPU starvation
        self.notes = []
        self.n_config_events = 0
        # state
        self.down = set()               # names killed by us, not yet restarted
        self.paused = set()
        self.gen = {}                   # name -> process generation
        self.restarting = set()
        self.active = {}                # fault id -> fault dict (running)
        self.ends = []                  # heap of (t, seq, fault id)
        self.seq = 0
        self.threads = []
        self.streams = {}

    # -- helpers -------------------------------------------------------------------------
    def rel(self, t=None):
        return (now() if t is None else t) - self.t0

    def node_list(self):
        return self.c.nodes

    def up(self, node):
        return node.name not in self.down and node.name not in self.restarting

    def usable(self, node):
        """running, not paused, not being restarted"""
        return self.up(node) and node.name not in self.paused and node.running()

    def leader(self):
        for s in self.c.seeds:
            if not self.usable(s):
                continue
            try:
                st, body = s.api("GET", "/v1/raft", timeout=1.0)
            except (OSError, http.client.HTTPException):
                continue
            if st == 200 and isinstance(body, dict) and body.get("leader"):
                return body["leader"]
        return None

    # -- setup -----------------------------------------------------------------------------
    def setup(self):
        self.c = Cluster(N_NODES, join_via=1, seeds=SEEDS, secure=True,
                         log_level=self.args.log_level)
        self.net = Net([n.port for n in self.c.nodes])
        self.losses = {}
        log("chaos: seed %d, %d agents in %s, hearsayd %s"
            % (self.seed, N_NODES, self.c.dir, self.c.hearsayd))
        for n in self.c.nodes:
            self.gen[n.name] = 0
        t = now()
        self.c.start()
        for n in self.c.nodes:
            self.gen[n.name] = 1
            self.starts[n.name] = [(t, now())]
        names = sorted(n.name for n in self.c.nodes)
        expect = {nm: "alive" for nm in names}
        took = harness.wait_for(lambda: self.c.converged(expect), 90,
                                "all %d agents alive everywhere" % N_NODES, 0.5)
        log("chaos: %d agents alive everywhere after %.1f s" % (N_NODES, took))
        harness.wait_for(lambda: self.leader() is not None, 30, "a Raft leader", 0.2)

    # -- recording threads -----------------------------------------------------------------
    def stream_events(self, node):
        last_id = 0
        while not self.stop_flag.is_set():
            if not self.usable(node) or not os.path.exists(node.sock):
                time.sleep(0.1)
                continue
            gen = self.gen[node.name]
            conn = harness._UnixHTTPConnection(node.sock, None)
            self.streams[node.name] = conn
            try:
                conn.request("GET", "/v1/events?since=%d" % last_id)
                r = conn.getresponse()
                if r.status != 200:
                    raise OSError("status %d" % r.status)
                while not self.stop_flag.is_set():
                    line = r.readline()
                    if not line:
                        break
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    if not isinstance(ev, dict) or "id" not in ev:
                        continue
                    last_id = max(last_id, int(ev["id"]))
                    if ev.get("event") == "config-change":
                        self.n_config_events += 1  # one per write and agent: not kept
                        continue
                    t = ev.get("time_ms", 0) / 1000.0 - self.wall_off - self.t0
                    with self.lock:
                        self.events.append((round(t, 4), node.name, gen, ev))
            except (OSError, http.client.HTTPException, ValueError):
                pass
            finally:
                conn.close()
            time.sleep(0.1)

    def poller(self):
        last = {}
        interval = self.args.poll_interval
        next_load = 0
        while not self.stop_flag.is_set():
            t_loop = now()
            for n in self.c.nodes:
                with self.lock:
                    ok = self.usable(n)
                    if not ok:
                        continue
                    if n.proc.poll() is not None:
                        self.crash(n)
                        continue
                v = n.members(timeout=2.0)
                if v is None:
                    continue
                if last.get(n.name) != v:
                    last[n.name] = v
                    with self.lock:
                        self.polls.append((round(self.rel(), 3), n.name, v))
            if now() >= next_load:
                next_load = now() + 5
                try:
                    with open("/proc/loadavg") as f:
                        self.load.append((round(self.rel(), 1), float(f.read().split()[0])))
                except OSError:
                    pass
            left = interval - (now() - t_loop)
            if left > 0:
                t_s = now()
                self.stop_flag.wait(left)
                if not self.stop_flag.is_set():
                    self.oversleep.append(max(0.0, now() - t_s - left))

    def crash(self, n):
        """n exited although we did not kill it (called with self.lock held)."""
        rc = n.proc.returncode
        tail = n.log_tail(40)
        self.crashes.append({"t": round(self.rel(), 3), "node": n.name, "rc": rc,
                             "log_tail": tail})
        log("chaos: CRASH %s exited with %s" % (n.name, rc))
        harness._procs.pop(n.proc.pid, None)
        self.down.add(n.name)
        fid = self.new_fault("crash-restart", [n.name], {"rc": rc}, self.rel())
        self.schedule_end(fid, 1.0)

    # -- config writes ---------------------------------------------------------------------
    def writer(self):
        i = 0
        while not self.stop_flag.is_set():
            cands = [n for n in self.c.nodes if self.usable(n)]
            if not cands:
                time.sleep(0.2)
                continue
            node = self.rng_w.choice(cands)
            key, val = "c%d" % (i % 40), "w%d" % i
            via_cli = i % 3 == 2
            t_s = self.rel()
            st, body, version = None, None, None
            try:
                if via_cli:
                    p = node.cli("config", "set", key, val, "--json", "--timeout", "12",
                                 timeout=20)
                    st = "cli-rc%d" % p.returncode
                    body = (p.stdout or p.stderr).strip()[:200]
                    if p.returncode == 0:
                        try:
                            js = json.loads(p.stdout)
                            if js.get("value") == val:
                                st, version = 200, js.get("version")
                        except ValueError:
                            pass
                else:
                    st, body = node.api("PUT", "/v1/config/" + key, body=val, timeout=12)
                    if st == 200 and isinstance(body, dict) and body.get("value") == val:
                        version = body.get("version")
                    elif st == 200:
                        st = "200-bad-body"
            except Exception as e:  # noqa: BLE001 - connection refused/reset, timeouts
                st, body = type(e).__name__, str(e)[:200]
            self.writes.append({"i": i, "key": key, "value": val, "node": node.name,
                                "cli": via_cli, "t_start": round(t_s, 3),
                                "t_end": round(self.rel(), 3),
                                "acked": st == 200 and version is not None,
                                "status": st, "version": version,
                                "body": body if st != 200 else None})
            i += 1
            self.stop_flag.wait(self.args.write_pace)

    # -- key rotation ----------------------------------------------------------------------
    def keys_supported(self):
        try:
            p = self.c.cli("keys", "--help", timeout=10)
        except (OSError, subprocess.SubprocessError):
            return False
        return p.returncode == 0

    def write_key_file(self, keys):
        path = self.c.key_file
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(k + "\n" for k in keys))
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)

    def rotate_keys(self):
        with open(self.c.key_file) as f:
            old = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")][0]
        p = self.c.cli("keygen", timeout=10)
        new = p.stdout.strip()
        assert p.returncode == 0 and len(new) == 44, p.stderr
        steps = [("install", new, [old, new]), ("use", new, [new, old]), ("remove", old, [new])]
        for step, key, file_keys in steps:
            if self.stop_flag.is_set():
                break
            cands = [n for n in self.c.nodes if self.usable(n)]
            node = self.rng_k.choice(cands)
            t_s = self.rel()
            try:
                p = node.cli("keys", step, key, "--timeout", "30", timeout=45)
                rc, out, err = p.returncode, p.stdout.strip(), p.stderr.strip()
            except subprocess.TimeoutExpired:
                rc, out, err = "timeout", "", "CLI did not return in 45 s"
            rec = {"step": step, "node": node.name, "t_start": round(t_s, 3),
                   "t_end": round(self.rel(), 3), "rc": rc, "stdout": out[:300],
                   "stderr": err[:300]}
            self.rotation.append(rec)
            log("chaos: keys %s via %s -> rc %s %s %s" % (step, node.name, rc, out[:120],
                                                         err[:200]))
            # the operator's key file follows the ring, so a restarted agent can talk
            self.write_key_file(file_keys)
            self.stop_flag.wait(2.0)

    # -- faults ----------------------------------------------------------------------------
    def new_fault(self, kind, nodes, params, start):
        fid = len(self.faults)
        f = {"id": fid, "kind": kind, "nodes": list(nodes), "params": params,
             "start": round(start, 3), "end": None}
        self.faults.append(f)
        self.active[fid] = f
        return fid

    def schedule_end(self, fid, after):
        with self.lock:
            self.seq += 1
            heapq.heappush(self.ends, (now() + after, self.seq, fid))

    def pop_end(self, t=None):
        """the id of a fault due to end by t (any if t is None), or None"""
        with self.lock:
            if self.ends and (t is None or self.ends[0][0] <= t):
                return heapq.heappop(self.ends)[2]
        return None

    def restart_node(self, node, fid):
        """Starts a killed agent again (retrying on EADDRINUSE, see test_raft_durability.py);
        runs in its own thread; the fault ends when the agent's API answers."""
        t_s = now()
        tries = 0
        while True:
            with self.lock:
                self.gen[node.name] += 1
                node.start(wait=False)
            try:
                node.wait_ready(15)
                break
            except AssertionError:
                tries += 1
                if node.running() or tries > 40 or "Address already in use" not in \
                        node.log_tail(5):
                    with self.lock:
                        self.notes.append("restart of %s failed: %s" % (node.name,
                                                                        node.log_tail(10)))
                        f = self.faults[fid]
                        f["end"] = round(self.rel(), 3)
                        f["params"]["restart_failed"] = True
                        self.active.pop(fid, None)
                        self.restarting.discard(node.name)
                    return
                time.sleep(0.25)
        with self.lock:
            self.starts.setdefault(node.name, []).append((t_s, now()))
            f = self.faults[fid]
            f["end"] = round(self.rel(), 3)
            f["params"]["restart_tries"] = tries + 1
            self.active.pop(fid, None)
            self.restarting.discard(node.name)

    def end_fault(self, fid):
        f = self.faults[fid]
        kind = f["kind"]
        if kind in ("kill", "crash-restart"):
            node = self.c[f["nodes"][0]]
            with self.lock:
                self.down.discard(node.name)
                self.restarting.add(node.name)
            th = threading.Thread(target=self.restart_node, args=(node, fid), daemon=True)
            th.start()
            self.threads.append(th)
            return
        if kind == "pause":
            node = self.c[f["nodes"][0]]
            with self.lock:
                node.sigcont()
                self.paused.discard(node.name)
        elif kind == "loss":
            self.losses.pop(fid).__exit__(None, None, None)
        elif kind in ("partition", "oneway"):
            for spec in f["params"].pop("_specs"):
                self.net.remove(spec)
        f["end"] = round(self.rel(), 3)
        self.active.pop(fid, None)

    def impaired_now(self):
        """names down, paused or being restarted, and the seeds among them"""
        bad = set(self.down) | set(self.paused) | set(self.restarting)
        return bad

    def start_fault(self):
        a = self.args
        kinds = ["kill", "pause", "loss", "partition", "oneway"]
        weights = [a.w_kill, a.w_pause, a.w_loss, a.w_partition, a.w_oneway]
        kind = self.rng.choices(kinds, weights)[0]
        # every random draw is made whatever the state, so the schedule (kinds, durations,
        # parameters) depends on the seed alone; the state only decides eligibility
        r_target = self.rng.random()
        r_pick = self.rng.random()
        r_dur = self.rng.random()
        r_size = self.rng.random()
        r_p = self.rng.random()
        r_dir = self.rng.random()
        bad = self.impaired_now()
        seeds = [s.name for s in self.c.seeds]
        seeds_bad = [s for s in seeds if s in bad]
        partition_on = any(f["kind"] in ("partition", "oneway") for f in self.active.values())
        names = [n.name for n in self.c.nodes]
        t = self.rel()

        def pick(cands):
            cands = sorted(cands, key=lambda x: int(x[1:]))
            return cands[int(r_pick * len(cands))] if cands else None

        if kind in ("kill", "pause"):
            if len(bad) >= a.max_down:
                return self.skip(kind, "max_down")
            leader = self.leader() if r_target < 0.25 else None
            if leader and not seeds_bad and leader not in bad:
                victim, why = leader, "leader"
            elif r_target < 0.45 and not seeds_bad:
                victim, why = pick([s for s in seeds if s not in bad]), "seed"
            else:
                victim, why = pick([x for x in names if x not in bad and x not in seeds]), \
                    "node"
            if victim is None:
                return self.skip(kind, "no victim")
            node = self.c[victim]
            if kind == "kill":
                quick = r_dur < a.quick_kill_ratio
                down = 0.5 + 2.5 * r_size if quick else a.kill_down_min + \
                    (a.kill_down_max - a.kill_down_min) * r_size
                with self.lock:
                    self.down.add(victim)
                    role = why
                    t_k = self.rel()
                    node.kill9()
                fid = self.new_fault("kill", [victim], {"role": role, "quick": quick,
                                                        "down_planned": round(down, 3)}, t_k)
                self.schedule_end(fid, down)
            else:
                dur = 0.5 + 2.5 * r_dur
                with self.lock:
                    self.paused.add(victim)
                    t_p = self.rel()
                    node.sigstop()
                fid = self.new_fault("pause", [victim], {"role": why,
                                                         "planned": round(dur, 3)}, t_p)
                self.schedule_end(fid, dur)
            return fid
        if kind == "loss":
            on = [f["nodes"][0] for f in self.active.values() if f["kind"] == "loss"]
            if len(on) >= a.max_loss:
                return self.skip(kind, "max_loss")
            victim = pick([x for x in names if x not in on])
            p = round(0.10 + 0.20 * r_p, 3)
            dur = a.loss_min + (a.loss_max - a.loss_min) * r_dur
            lo = Loss([self.c[victim].port], p)
            lo.__enter__()
            fid = self.new_fault("loss", [victim], {"p": p, "port": self.c[victim].port},
                                 self.rel())
            self.losses[fid] = lo
            self.schedule_end(fid, dur)
            return fid
        # partitions
        if partition_on:
            return self.skip(kind, "one partition at a time")
        sizes = [1, 1, 2, 2, 3, 4, 6, 9, 14]
        k = sizes[int(r_size * len(sizes))]
        order = names[:]
        random.Random(int(r_pick * 2 ** 32)).shuffle(order)
        minority, majority = sorted(order[:k]), sorted(order[k:])
        ip = {n.name: n.ip for n in self.c.nodes}
        dur = a.part_min + (a.part_max - a.part_min) * r_dur
        specs = []
        if kind == "partition":
            specs.append(self.net.add([ip[x] for x in minority], [ip[x] for x in majority]))
            specs.append(self.net.add([ip[x] for x in majority], [ip[x] for x in minority]))
            direction = "both"
        else:
            if r_dir < 0.5:
                specs.append(self.net.add([ip[x] for x in minority], [ip[x] for x in majority]))
                direction = "minority->majority dropped"
            else:
                specs.append(self.net.add([ip[x] for x in majority], [ip[x] for x in minority]))
                direction = "majority->minority dropped"
        fid = self.new_fault(kind, minority, {"minority": minority, "majority": majority,
                                              "direction": direction, "_specs": specs}, t)
        self.faults[fid]["start"] = round(self.rel(), 3)
        self.schedule_end(fid, dur)
        return fid

    def skip(self, kind, why):
        self.notes.append("t=%.1f skipped %s: %s" % (self.rel(), kind, why))
        return None

    def run_schedule(self):
        a = self.args
        next_fault = now() + self.rng.expovariate(1.0 / a.fault_gap)
        t_end = self.t0 + a.duration
        rotate_at = self.t0 + a.duration * a.rotate_at if self.rotate else None
        while True:
            t = now()
            fid = self.pop_end(t)
            while fid is not None:
                self.end_fault(fid)
                fid = self.pop_end(t)
            if rotate_at is not None and t >= rotate_at:
                rotate_at = None
                th = threading.Thread(target=self.rotate_keys, daemon=True)
                th.start()
                self.rot_thread = th
            if t >= t_end:
                break
            if t >= next_fault:
                fid = self.start_fault()
                if fid is not None:
                    f = self.faults[fid]
                    log("chaos: t=%6.1f %s %s %s" % (f["start"], f["kind"],
                                                     ",".join(f["nodes"][:6]),
                                                     {k: v for k, v in f["params"].items()
                                                      if not k.startswith("_") and
                                                      k not in ("minority", "majority")}))
                next_fault = now() + self.rng.expovariate(1.0 / a.fault_gap)
            waits = [next_fault, t_end] + ([self.ends[0][0]] if self.ends else [])
            time.sleep(max(0.0, min(0.05, min(waits) - now())))
        # the last fault ends now: every pending end at once
        if getattr(self, "rot_thread", None):
            self.rot_thread.join(120)
        fid = self.pop_end()
        while fid is not None:
            self.end_fault(fid)
            fid = self.pop_end()
        for th in self.threads:
            th.join(60)
        # a crash found just now is restarted too
        deadline = now() + 30
        while (self.ends or self.active) and now() < deadline:
            fid = self.pop_end()
            while fid is not None:
                self.end_fault(fid)
                fid = self.pop_end()
            time.sleep(0.1)
        for th in self.threads:
            th.join(60)
        self.t_last = self.rel()
        log("chaos: every fault ended at t=%.1f" % self.t_last)

    # -- the end -----------------------------------------------------------------------------
    def final_convergence(self):
        names = sorted(n.name for n in self.c.nodes)
        expect = {nm: "alive" for nm in names}
        t_s = now()
        conv = None
        last_views = None
        self.converge_trace = []
        prev = None
        while now() - t_s < self.args.converge_wait:
            vs = {n.name: n.members(timeout=2.0) for n in self.c.nodes}
            last_views = vs
            bad = {o: ({m: s for m, s in v.items() if s != "alive"} if v is not None
                       else "no answer") for o, v in vs.items()
                   if v is None or v != expect}
            if bad != prev:
                self.converge_trace.append((round(self.rel(), 3), bad))
                prev = bad
            if all(v == expect for v in vs.values()):
                conv = now() - t_s
                break
            time.sleep(0.1)
        # measured from the end of the last fault (agents restarted and answering)
        self.converge_s = None if conv is None else round(self.rel(t_s + conv) - self.t_last, 3)
        self.converge_views = None if conv is not None else {
            o: {m: s for m, s in (v or {}).items() if s != "alive"} if v is not None
            else "no answer" for o, v in (last_views or {}).items()}
        log("chaos: converged %s s after the last fault" % self.converge_s)

    def raft(self, node):
        try:
            st, body = node.api("GET", "/v1/raft", timeout=2.0)
        except (OSError, http.client.HTTPException):
            return {}
        return body if st == 200 and isinstance(body, dict) else {}

    def final_config(self):
        """The seeds' Raft state and configuration (rule d)."""
        seeds = self.c.seeds
        keys = ("commit", "applied", "config_version", "last_index", "term")

        def agree():
            rs = [self.raft(n) for n in seeds]
            if any(not r for r in rs):
                return False
            leaders = {r.get("leader") for r in rs}
            return (len(leaders) == 1 and None not in leaders and
                    sum(r.get("state") == "leader" for r in rs) == 1 and
                    all(len({r.get(k) for r in rs}) == 1 for k in keys) and
                    rs[0].get("applied") == rs[0].get("commit"))
        try:
            agree_s = harness.wait_for(agree, 30, "seeds agree", 0.1)
        except AssertionError:
            agree_s = None
        out = {"agree_s": agree_s, "raft": {n.name: self.raft(n) for n in seeds},
               "config": {}, "consistent": {}}
        for n in seeds:
            try:
                st, body = n.api("GET", "/v1/config", timeout=5)
            except (OSError, http.client.HTTPException) as e:
                st, body = type(e).__name__, None
            out["config"][n.name] = body if st == 200 else {"error": st}
        # linearizable reads through one seed, key by key
        n = seeds[0]
        for key in sorted({w["key"] for w in self.writes}):
            try:
                st, body = n.api("GET", "/v1/config/%s?consistent=1" % key, timeout=10)
            except (OSError, http.client.HTTPException) as e:
                st, body = type(e).__name__, None
            out["consistent"][key] = body.get("value") if st == 200 and \
                isinstance(body, dict) else {"status": st}
        if self.rotate:
            p = self.c.nodes[0].cli("keys", "list", timeout=10)
            out["keys_list"] = {"rc": p.returncode, "stdout": p.stdout[-500:],
                                "stderr": p.stderr[-300:]}
        return out

    def agent_cpu(self):
        """CPU seconds used so far by the running agents (utime+stime)."""
        tot = 0.0
        hz = os.sysconf("SC_CLK_TCK")
        for n in self.c.nodes:
            if n.proc and n.proc.poll() is None:
                try:
                    with open("/proc/%d/stat" % n.proc.pid) as f:
                        parts = f.read().rsplit(")", 1)[1].split()
                    tot += (int(parts[11]) + int(parts[12])) / hz
                except (OSError, IndexError, ValueError):
                    pass
        return tot

    # -- main ----------------------------------------------------------------------------------
    def run(self):
        a = self.args
        self.rotate = False
        self.setup()
        self.rotate = a.rotate and self.keys_supported()
        if a.rotate and not self.rotate:
            msg = ("NOTICE: `hearsay keys --help` fails (the keys subcommand is not there "
                   "yet): the key-rotation fault is skipped")
            print(msg)
            log(msg)
            self.notes.append(msg)
        self.rng_w = random.Random(self.seed * 7919 + 1)
        self.rng_k = random.Random(self.seed * 7919 + 2)
        self.t0 = now()
        cpu0, wall0 = self.agent_cpu(), now()
        for n in self.c.nodes:
            th = threading.Thread(target=self.stream_events, args=(n,), daemon=True)
            th.start()
        for fn in (self.poller, self.writer):
            th = threading.Thread(target=fn, daemon=True)
            th.start()
            self.threads.append(th)
        self.bg = list(self.threads)
        self.threads = []
        try:
            self.run_schedule()
            self.final_convergence()
        finally:
            self.stop_flag.set()
            for th in self.bg:
                th.join(30)
        cpu1, wall1 = self.agent_cpu(), now()
        self.cpu_pct = None
        # agents restarted during the run lose their counters: the figure is a lower bound
        self.cpu_pct = round(100.0 * (cpu1 - cpu0) / (wall1 - wall0), 1)
        self.final = self.final_config()
        self.explain = self.failure_histories()
        self.t_stop = self.rel()

    def failure_histories(self):
        """Every agent's record (GET /v1/members/NAME/history, `hearsay explain`) of each
        member some agent showed failed: who decided each verdict and on whose votes, so a
        rule-a violation names its decider (the events only say who showed it)."""
        names = sorted({ev.get("name") for t, o, g, ev in self.events
                        if ev.get("status") == "failed" and ev.get("name") != o})
        out = {}
        for n in self.c.nodes:
            if not (n.proc and n.proc.poll() is None) or n.stopped:
                continue
            for x in names:
                if x == n.name:
                    continue
                try:
                    st, body = n.api("GET", "/v1/members/%s/history" % x, timeout=5)
                except (OSError, http.client.HTTPException):
                    continue
                if st == 200:
                    out.setdefault(x, {})[n.name] = body
        return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seed", type=int, default=None, help="schedule seed (default: clock)")
    p.add_argument("--duration", type=float, default=180, help="seconds of faults")
    p.add_argument("--json-out", default=None, help="write the summary (and violations) here")
    p.add_argument("--history-out", default=None, help="write the whole history here (JSON)")
    p.add_argument("--fault-gap", type=float, default=3.0, help="mean seconds between faults")
    p.add_argument("--w-kill", type=float, default=3)
    p.add_argument("--w-pause", type=float, default=2)
    p.add_argument("--w-loss", type=float, default=2)
    p.add_argument("--w-partition", type=float, default=1)
    p.add_argument("--w-oneway", type=float, default=1)
    p.add_argument("--max-down", type=int, default=3,
                   help="at most this many agents killed/paused/restarting at once")
    p.add_argument("--max-loss", type=int, default=2, help="loss rules at once")
    p.add_argument("--quick-kill-ratio", type=float, default=0.25,
                   help="kills restarted after 0.5-3 s (not judged for detection)")
    p.add_argument("--kill-down-min", type=float, default=7.0)
    p.add_argument("--kill-down-max", type=float, default=12.0)
    p.add_argument("--loss-min", type=float, default=5.0)
    p.add_argument("--loss-max", type=float, default=20.0)
    p.add_argument("--part-min", type=float, default=3.0)
    p.add_argument("--part-max", type=float, default=10.0)
    p.add_argument("--write-pace", type=float, default=0.3, help="seconds between writes")
    p.add_argument("--poll-interval", type=float, default=1.0)
    p.add_argument("--no-rotate", dest="rotate", action="store_false")
    p.add_argument("--rotate-at", type=float, default=0.4, help="fraction of the duration")
    p.add_argument("--converge-wait", type=float, default=60.0,
                   help="how long the end waits for convergence (the check is --converge-limit)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--recheck", metavar="HISTORY", default=None,
                   help="no run: check a history written by --history-out again (e.g. with "
                   "other checker options) and exit")
    checker.add_args(p)
    a = p.parse_args(argv)
    if a.seed is None:
        a.seed = int(time.time() * 1000) % 1000000
    return a


def recheck(args):
    with open(args.recheck) as f:
        hist = checker.History(**json.load(f))
    res = checker.check(hist, args)
    checker.print_report(hist, res, args)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"summary": res["summary"], "violations": res["violations"]}, f,
                      indent=1, default=str)
    return 1 if res["violations"] else 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.recheck:
        return recheck(args)
    ok, why = harness.iptables_usable()
    if not ok:
        print("SKIP: chaos needs root and iptables: %s" % why)
        return 77
    signal.signal(signal.SIGINT, lambda s, f: harness._on_signal(s, f))
    print("SEED --seed %d --duration %g" % (args.seed, args.duration))
    sys.stdout.flush()
    r = Runner(args)
    status = 0
    sanitizer = None
    try:
        r.run()
    except Exception as e:  # noqa: BLE001 - report, clean up, exit 2
        log("chaos: run failed: %r" % e)
        import traceback
        traceback.print_exc()
        status = 2
    finally:
        # resume, unplug, stop (graceful, so LSan reports leaks), then look at the logs
        r.stop_flag.set()
        c = getattr(r, "c", None)
        if c is not None:
            for n in c.nodes:
                if n.stopped and n.running():
                    n.sigcont()
            for lo in list(getattr(r, "losses", {}).values()):
                lo.__exit__(None, None, None)
            if getattr(r, "net", None):
                r.net.close()
            try:
                c.stop(grace=10)
            except Exception as e:  # noqa: BLE001
                log("chaos: stop: %r" % e)
            try:
                c.check_sanitizers()
            except AssertionError as e:
                sanitizer = str(e)
        left = Net.leftovers(["hearsay-chaos-%d" % os.getpid(), "hearsay-it-%d" % os.getpid(),
                              "HSCHAOS%d" % os.getpid()])
        if left:
            log("chaos: iptables rules left over (deleting): %s" % left)
            for ln in left:
                if ln.startswith("-A "):
                    subprocess.run(["iptables", "-w", "-D"] + ln.split()[1:], capture_output=True)
            subprocess.run(["iptables", "-w", "-X", "HSCHAOS%d" % os.getpid()],
                           capture_output=True)
    if status == 2:
        return 2
    hist = checker.History(
        seed=args.seed, nodes=[n.name for n in r.c.nodes], seeds=[s.name for s in r.c.seeds],
        faults=r.faults, events=r.events, polls=r.polls, writes=r.writes,
        rotation=r.rotation, crashes=r.crashes, starts={k: [(round(a - r.t0, 3),
                                                             round(b - r.t0, 3))
                                                            for a, b in v]
                                                        for k, v in r.starts.items()},
        t_last=r.t_last, converge_s=r.converge_s, converge_views=r.converge_views,
        converge_trace=getattr(r, "converge_trace", []),
        final=r.final, sanitizer=sanitizer, rotate=r.rotate, notes=r.notes,
        load=r.load, oversleep=r.oversleep, agent_cpu_pct=r.cpu_pct, duration=args.duration,
        explain=getattr(r, "explain", {}))
    res = checker.check(hist, args)
    checker.print_report(hist, res, args)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"summary": res["summary"], "violations": res["violations"]}, f,
                      indent=1, default=str)
    if args.history_out:
        with open(args.history_out, "w") as f:
            json.dump(hist.__dict__, f, default=str)
    return 1 if res["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
