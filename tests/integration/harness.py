"""harness.py: shared machinery for the integration tests (python3 stdlib only).

- binary(): the hearsayd / hearsay paths (env HEARSAYD / HEARSAY, else the newest build dir)
- Cluster: starts N hearsayd on 127.0.0.1..127.0.0.N, each with its own free port, data dir,
  socket and log file (a key file made by `hearsay keygen`, or --insecure with secure=False);
  stop/kill/pause/resume/restart by PID; queries through the API socket and through the CLI
- wait_for()/log(): polling with timestamps
- Loss: iptables rules that drop a random fraction of UDP datagrams to given ports on
  loopback; removes exactly the rules it added (by rule spec), also on exceptions and at exit
- every process started here is killed by PID at exit (atexit), stopped ones are resumed first
"""

import atexit
import glob
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
T0 = time.monotonic()

_procs = {}  # pid -> Popen, everything we started and have not reaped
_cleanups = []


def log(msg):
    sys.stderr.write("[%7.3f] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


def binary(name):
    env = os.environ.get(name.upper())
    if env and os.access(env, os.X_OK):
        return env
    found = [p for p in glob.glob(os.path.join(ROOT, "build*", "agent", name)) if os.access(p, os.X_OK)]
    if not found:
        raise unittest.SkipTest("no %s binary (set %s or build first)" % (name, name.upper()))
    return max(found, key=os.path.getmtime)


def wait_for(cond, timeout, what="condition", interval=0.05):
    """Polls cond() until it is true; returns the seconds it took. Raises AssertionError
    naming what and the elapsed time on timeout."""
    t0 = time.monotonic()
    while True:
        v = cond()
        if v:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out after %.2f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def percentile_summary(xs):
    xs = sorted(xs)
    return "n=%d median=%.3f min=%.3f max=%.3f" % (len(xs), statistics.median(xs), xs[0], xs[-1])


# ---------------------------------------------------------------------------------------
# Process bookkeeping


def spawn(argv, logfile, env=None):
    """Starts argv with its output appended to logfile; env: extra environment variables."""
    out = open(logfile, "ab")
    full = dict(os.environ, **env) if env else None
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=full)
    out.close()
    _procs[p.pid] = p
    return p


def reap(p, timeout=5.0):
    """Waits for p to exit (SIGKILL after timeout); returns its exit status."""
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait(5)
    _procs.pop(p.pid, None)
    return rc


def _kill_all():
    for pid, p in list(_procs.items()):
        if p.poll() is None:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        _procs.pop(pid, None)
    for fn in reversed(_cleanups):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - best effort at exit
            sys.stderr.write("cleanup failed: %s\n" % e)
    del _cleanups[:]


atexit.register(_kill_all)


def _on_signal(sig, frame):
    _kill_all()
    sys.exit(128 + sig)


for _s in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, _on_signal)


# ---------------------------------------------------------------------------------------
# HTTP over the unix socket


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


def api(sock_path, method, path, body=None, timeout=2.0, headers=None):
    """One request to an agent's API (headers: extra request headers); returns (status,
    parsed JSON or text)."""
    c = _UnixHTTPConnection(sock_path, timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        h = {"Content-Type": "application/json"} if body is not None else {}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data
    finally:
        c.close()


def raft_status(node, timeout=1.0):
    """GET /v1/raft of node as a dict; {} if it does not answer (down, stopped, starting)."""
    try:
        st, body = node.api("GET", "/v1/raft", timeout=timeout)
    except OSError:
        return {}
    return body if st == 200 and isinstance(body, dict) else {}


# ---------------------------------------------------------------------------------------
# Ports


def _port_free(ip, port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((ip, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_port(ips):
    """A port that is free for UDP and TCP on every ip, from a random range below the
    kernel's ephemeral ports (32768-60999 on Linux), so that no agent's outgoing connection
    can be holding the port of an agent that restarts."""
    for _ in range(200):
        port = random.randint(10000, 32000)
        if all(_port_free(ip, port) for ip in ips):
            return port
    raise RuntimeError("no free port")


# ---------------------------------------------------------------------------------------
# The cluster


class Node:
    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.name = "n%d" % index
        self.ip = "127.0.0.%d" % index
        self.port = pick_port([self.ip])
        self.addr = "%s:%d" % (self.ip, self.port)
        self.dir = os.path.join(cluster.dir, self.name)
        self.data_dir = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "api.sock")
        self.logfile = os.path.join(self.dir, "hearsayd.log")
        self.proc = None
        self.tags = {}
        self.join = []
        self.stopped = False
        self.wrapper = None  # argv prefix for this node (e.g. valgrind); None: the cluster's
        self.env = {}  # extra environment variables for the next starts
        os.makedirs(self.data_dir, exist_ok=True)

    def argv(self):
        a = [self.cluster.hearsayd, "--name", self.name, "--bind", self.addr,
             "--socket", self.sock, "--data-dir", self.data_dir,
             "--log-level", self.cluster.log_level]
        if self.cluster.key_file:
            a += ["--key-file", self.cluster.key_file]
        else:
            a += ["--insecure"]
        for s in self.cluster.seeds:
            a += ["--seed", "%s=%s" % (s.name, s.addr)]
        for j in self.join:
            a += ["--join", j]
        for k, v in sorted(self.tags.items()):
            a += ["--tag", "%s=%s" % (k, v)]
        w = self.wrapper if self.wrapper is not None else self.cluster.wrapper
        return list(w) + a + self.cluster.extra_args

    def start(self, wait=True):
        assert not self.running(), self.name
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        with open(self.logfile, "a") as f:
            f.write("==== start at %.3f: %s\n" % (time.monotonic() - T0, " ".join(self.argv())))
        self.proc = spawn(self.argv(), self.logfile, self.env)
        self.started_at = time.monotonic()
        self.stopped = False
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=5.0):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s during start:\n%s"
                                     % (self.name, self.proc.returncode, self.log_tail()))
            try:
                return api(self.sock, "GET", "/v1/self", timeout=0.5)[0] == 200
            except OSError:
                return False
        return wait_for(ready, timeout, "%s API socket" % self.name, 0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        t = time.monotonic()
        reap(self.proc)
        return t

    def sigstop(self):
        self.signal(signal.SIGSTOP)
        self.stopped = True
        return time.monotonic()

    def sigcont(self):
        self.signal(signal.SIGCONT)
        self.stopped = False
        return time.monotonic()

    def sigterm(self, wait=True, timeout=10.0):
        self.signal(signal.SIGTERM)
        t = time.monotonic()
        if wait:
            return t, reap(self.proc, timeout)
        return t, None

    def restart(self, wait=True):
        if self.running():
            self.kill9()
        return self.start(wait)

    def api(self, method, path, body=None, timeout=2.0, headers=None):
        return api(self.sock, method, path, body, timeout, headers)

    def members(self, timeout=1.0):
        """{name: status} as this node sees it, or None if it does not answer."""
        try:
            st, body = api(self.sock, "GET", "/v1/members", timeout=timeout)
        except OSError:
            return None
        if st != 200 or not isinstance(body, dict):
            return None
        return {m["name"]: m["status"] for m in body.get("members", [])}

    def cli(self, *args, timeout=10):
        return self.cluster.cli("--socket", self.sock, *args, timeout=timeout)

    def log_tail(self, n=30):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Cluster:
    """N agents on 127.0.0.1..N. join_via: index of the node the others --join (1), or None.
    seeds: indexes of Raft seed nodes passed to everyone with --seed (none by default).
    wrapper: an argv prefix every hearsayd is started under (e.g. valgrind and its options;
    none by default); Node.wrapper overrides it per node."""

    def __init__(self, n, join_via=1, seeds=(), secure=True, log_level="info", extra_args=(),
                 tags=None, wrapper=()):
        self.hearsayd = binary("hearsayd")
        self.hearsay = binary("hearsay")
        self.dir = tempfile.mkdtemp(prefix="hs-it-")
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.wrapper = list(wrapper)
        self.key_file = None
        self.nodes = [Node(self, i) for i in range(1, n + 1)]
        self.seeds = [self.nodes[i - 1] for i in seeds]
        if secure:
            self.key_file = os.path.join(self.dir, "cluster.key")
            p = self.cli("keygen", "-o", self.key_file)
            assert p.returncode == 0, p.stderr
        for node in self.nodes:
            if join_via and node.index != join_via:
                node.join = [self.nodes[join_via - 1].addr]
            node.tags = dict((tags or {}).get(node.name, {}))
        _cleanups.append(self._remove_dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and not issubclass(exc[0], unittest.SkipTest):
            self.dump_logs()
        self.stop()
        if exc[0] is None:
            self.check_sanitizers()
        return False

    def check_sanitizers(self):
        """Fails if any agent's log holds an ASan/UBSan/LSan report (HS_SANITIZE builds)."""
        bad = []
        for node in self.nodes:
            try:
                with open(node.logfile, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in text:
                    bad.append("%s: %s" % (node.name, marker))
        if bad:
            self.dump_logs(80)
            raise AssertionError("sanitizer reports in agent logs: %s" % bad)

    def __getitem__(self, name):
        return self.nodes[int(name[1:]) - 1] if isinstance(name, str) else self.nodes[name - 1]

    def start(self, stagger=0.0):
        """Starts every node (the join target first, ready, then the rest without waiting);
        returns the monotonic time right after the last one was started."""
        first = [n for n in self.nodes if not n.join]
        rest = [n for n in self.nodes if n.join]
        for n in first:
            n.start(wait=True)
        last = time.monotonic()
        for n in rest:
            n.start(wait=False)
            last = time.monotonic()
            if stagger:
                time.sleep(stagger)
        for n in rest:
            n.wait_ready()
        return last

    def running(self):
        return [n for n in self.nodes if n.running()]

    def stop(self, grace=3.0):
        """SIGTERM (graceful leave) to every running agent, SIGKILL after grace seconds."""
        live = [n for n in self.nodes if n.running()]
        for n in live:
            if n.stopped:
                n.sigcont()
            n.signal(signal.SIGTERM)
        for n in live:
            reap(n.proc, grace)

    def _remove_dir(self):
        if os.environ.get("HS_IT_KEEP"):
            sys.stderr.write("keeping %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def dump_logs(self, n=40):
        for node in self.nodes:
            sys.stderr.write("---- %s (%s) log tail ----\n%s" % (node.name, node.addr,
                                                              node.log_tail(n)))

    def cli(self, *args, timeout=10):
        t0 = time.monotonic()
        p = subprocess.run([self.hearsay] + list(args), capture_output=True, text=True,
                           timeout=timeout)
        p.elapsed = time.monotonic() - t0
        return p

    # -- views --------------------------------------------------------------------------
    def views(self, observers=None):
        """{observer name: {member: status}} for every running, unpaused observer."""
        obs = observers if observers is not None else [n for n in self.running()
                                                       if not n.stopped]
        return {o.name: o.members() for o in obs}

    def all_see(self, name, status, observers=None):
        v = self.views(observers)
        return bool(v) and all(m is not None and m.get(name) == status for m in v.values())

    def converged(self, expect, observers=None):
        """True when every observer's view equals expect ({name: status})."""
        v = self.views(observers)
        return bool(v) and all(m == expect for m in v.values())

    def wait_converged(self, expect, timeout, observers=None, what=None):
        return wait_for(lambda: self.converged(expect, observers), timeout,
                        what or "views == %s" % expect)


# ---------------------------------------------------------------------------------------
# Packet loss with iptables


def iptables_usable():
    """(True, "") or (False, reason) for skipping."""
    if os.geteuid() != 0:
        return False, "not root"
    if not shutil.which("iptables"):
        return False, "iptables not installed"
    p = subprocess.run(["iptables", "-w", "-n", "-L", "INPUT"], capture_output=True, text=True)
    if p.returncode != 0:
        return False, "iptables unusable: %s" % p.stderr.strip()
    return True, ""


def _insert_rules(owner, chain, specs):
    """Inserts the rules, each recorded in owner.added, and registers owner.remove as a
    cleanup; on a failure removes what went in and re-raises."""
    _cleanups.append(owner.remove)
    try:
        for spec in specs:
            subprocess.run(["iptables", "-w", "-I", chain] + spec, check=True,
                           capture_output=True)
            owner.added.append(spec)
            log("iptables: added %s" % " ".join(spec))
    except BaseException:
        owner.remove()
        raise


class Rules:
    """iptables DROP rules on loopback, e.g. SYNs to addresses that must never answer:
        with Rules("OUTPUT", [["-o", "lo", "-p", "tcp", "--syn", "-d", "127.1.0.0/16"]]): ...
    Each spec gets this process's comment and -j DROP; exactly the added rules are deleted by
    spec on exit, on exception and at interpreter exit."""

    def __init__(self, chain, specs):
        self.chain = chain
        self.tag = "hearsay-it-%d" % os.getpid()
        self.specs = [list(sp) + ["-m", "comment", "--comment", self.tag, "-j", "DROP"]
                      for sp in specs]
        self.added = []

    def __enter__(self):
        _insert_rules(self, self.chain, self.specs)
        return self

    def dropped(self):
        """Packets dropped so far by the rules this object added (from iptables -v)."""
        p = subprocess.run(["iptables", "-w", "-n", "-v", "-x", "-L", self.chain],
                           capture_output=True, text=True)
        total = 0
        for line in p.stdout.splitlines():
            if self.tag in line and "DROP" in line:
                try:
                    total += int(line.split()[0])
                except (ValueError, IndexError):
                    pass
        return total

    def remove(self):
        while self.added:
            spec = self.added.pop()  # -D expands address lists as -I did
            p = subprocess.run(["iptables", "-w", "-D", self.chain] + spec, capture_output=True,
                               text=True)
            log("iptables: removed %s (rc %d)" % (" ".join(spec[:-6]), p.returncode))

    def __exit__(self, *exc):
        self.remove()
        if self.remove in _cleanups:
            _cleanups.remove(self.remove)
        return False


class Loss(Rules):
    """Drops a random fraction of UDP datagrams sent to the given ports on loopback:
        with Loss([p1, p2], 0.1): ..."""

    def __init__(self, ports, probability, chain="INPUT"):
        self.ports = list(ports)
        self.p = probability
        super().__init__(chain, [["-i", "lo", "-p", "udp", "--dport", str(port), "-m",
                                  "statistic", "--mode", "random", "--probability",
                                  "%.4f" % probability] for port in self.ports])


class Cut(Rules):
    """Drops every packet from the src addresses to the dst addresses on loopback (both
    directions with both=True): a partition between two groups of agents, e.g.
        with Cut(["127.0.0.4", "127.0.0.5"], ["127.0.0.1", "127.0.0.2"], both=True): ..."""

    def __init__(self, src, dst, both=False):
        pairs = [(src, dst)] + ([(dst, src)] if both else [])
        super().__init__("INPUT", [["-i", "lo", "-s", ",".join(a), "-d", ",".join(b)]
                                   for a, b in pairs])


class CutTcpOf:
    """Drops every TCP segment that the process pid sends on loopback from the sockets it has
    now (its connections and its listener, found with `ss -tnp`), whoever they go to; unlike
    Cut it does not depend on the source address agents connect from, and segments the kernel
    retransmits for the process after it died stay dropped as long as the rules stand:
        with CutTcpOf(node.proc.pid): ...
    Exactly the added rules are deleted by spec on exit, on exception and at exit."""

    def __init__(self, pid):
        self.pid = pid
        self.added = []
        self.tag = "hearsay-it-%d" % os.getpid()

    def ports(self):
        out = subprocess.run(["ss", "-tnpH", "state", "established"], capture_output=True,
                             text=True).stdout
        out += subprocess.run(["ss", "-tnlpH"], capture_output=True, text=True).stdout
        ports = set()
        for line in out.splitlines():
            if "pid=%d," % self.pid not in line:
                continue
            fields = line.split()
            local = fields[2] if fields[0].isdigit() else fields[3]
            ports.add(int(local.rsplit(":", 1)[1]))
        return sorted(ports)

    def __enter__(self):
        _insert_rules(self, "INPUT", [["-i", "lo", "-p", "tcp", "--sport", str(port), "-m",
                                       "comment", "--comment", self.tag, "-j", "DROP"]
                                      for port in self.ports()])
        return self

    def remove(self):
        while self.added:
            spec = self.added.pop()
            p = subprocess.run(["iptables", "-w", "-D", "INPUT"] + spec, capture_output=True,
                               text=True)
            log("iptables: removed the rule for tcp from port %s (rc %d)" % (spec[5],
                                                                              p.returncode))

    def __exit__(self, *exc):
        self.remove()
        if self.remove in _cleanups:
            _cleanups.remove(self.remove)
        return False


def skip_unless_iptables():
    ok, why = iptables_usable()
    if not ok:
        raise unittest.SkipTest("iptables tests skipped: %s" % why)


def main():
    """unittest.main() that prints a clear line for skipped tests."""
    unittest.main(verbosity=2)
