"""common.py: shared machinery for the real-process benchmarks in bench/ (python3 stdlib only).

- HearsayCluster / SerfCluster: N agents on 127.0.0.1..127.0.0.N (or $HS_BENCH_NET.1..N, e.g.
  HS_BENCH_NET=127.0.77, away from test clusters on the same machine that cut 127.0.0.x by
  address, and that the address rules of gray_vs_serf.py would hit), every agent of one cluster
  on the same port (so iptables can count per agent by destination address), encrypted
  gossip for both (hearsay: a key file from `hearsay keygen`; Serf: -encrypt with a random
  32-byte key), LAN defaults for Serf. kill -9 / restart by PID, member views.
- Counters: a dedicated iptables chain, jumped to from INPUT for loopback traffic only, with
  one commented ACCEPT rule per agent and protocol; removed (jump, rules, chain) in cleanup.
- Every process started here is killed by PID at exit (atexit and SIGTERM/SIGHUP/SIGINT);
  every iptables rule added here is deleted by spec; temporary directories are removed.
"""

import atexit
import base64
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
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
T0 = time.monotonic()
NET = os.environ.get("HS_BENCH_NET", "127.0.0")  # the agents' /24 on loopback

_procs = {}      # pid -> Popen
_cleanups = []   # callables, run in reverse order at exit
_lock = threading.Lock()


def log(msg):
    sys.stderr.write("[%8.3f] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


def load():
    """The load line of uptime(1) (the machine is shared; every result notes it)."""
    try:
        with open("/proc/loadavg") as f:
            a = f.read().split()
        return "load average %s %s %s (%d CPUs)" % (a[0], a[1], a[2], os.cpu_count())
    except OSError:
        return "load unknown"


def binary(name):
    env = os.environ.get(name.upper())
    if env:
        return env
    p = os.path.join(ROOT, "build-bench", "agent", name)
    if os.access(p, os.X_OK):
        return p
    found = [p for p in glob.glob(os.path.join(ROOT, "build*", "agent", name))
             if os.access(p, os.X_OK)]
    if not found:
        sys.exit("no %s binary: build build-bench (see bench/README.md) or set %s"
                 % (name, name.upper()))
    return max(found, key=os.path.getmtime)


def serf_binary():
    return os.environ.get("SERF") or shutil.which("serf") or sys.exit(
        "serf not installed (apt-get install serf)")


def stats(xs):
    xs = sorted(xs)
    if not xs:
        return {"n": 0}
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return {"n": len(xs), "median": statistics.median(xs), "mean": statistics.fmean(xs),
            "min": xs[0], "max": xs[-1], "p90": p90}


# ---------------------------------------------------------------------------------------
# processes


def spawn(argv, logfile, env=None):
    out = open(logfile, "ab")
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env)
    out.close()
    with _lock:
        _procs[p.pid] = p
    return p


def reap(p, timeout=5.0):
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait(5)
    with _lock:
        _procs.pop(p.pid, None)
    return rc


def kill9(p):
    os.kill(p.pid, signal.SIGKILL)
    t = time.monotonic()
    reap(p)
    return t


def cleanup_all():
    with _lock:
        procs = list(_procs.items())
    for pid, p in procs:
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
        with _lock:
            _procs.pop(pid, None)
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - best effort at exit
            sys.stderr.write("cleanup failed: %s\n" % e)


atexit.register(cleanup_all)


def _on_signal(sig, frame):
    cleanup_all()
    os._exit(128 + sig)


for _s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(_s, _on_signal)


def wait_for(cond, timeout, interval=0.05):
    """Polls cond(); returns seconds taken, or None on timeout."""
    t0 = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(interval)


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


def pick_port(ips, avoid=()):
    for _ in range(500):
        port = random.randint(10000, 32000)  # below the ephemeral range
        if port not in avoid and all(_port_free(ip, port) for ip in ips):
            return port
    raise RuntimeError("no free port")


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (os.sysconf("SC_CLK_TCK") per second)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def cpu_ns(pid):
    """Nanoseconds a process has run on a CPU, all its threads (/proc/PID/task/*/schedstat,
    first field): exact, where utime + stime are sampled at clock ticks (10 ms)."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
            total += int(f.read().split()[0])
    return total


def status_kib(pid, key):
    """A KiB figure of /proc/PID/status (VmRSS, VmHWM, ...), 0 if absent."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss(pid):
    """{'VmRSS','RssAnon','RssFile','RssShmem','Pss'} of a process, in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    try:  # proportional set size: shared library pages divided among the processes mapping them
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1])
    except OSError:
        pass
    return out


# ---------------------------------------------------------------------------------------
# HTTP on a unix socket


class UnixHTTPConnection(http.client.HTTPConnection):
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


def http_request(sock_path, method, path, body=None, timeout=2.0):
    c = UnixHTTPConnection(sock_path, timeout)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def http_get(sock_path, path, timeout=2.0):
    return http_request(sock_path, "GET", path, timeout=timeout)


# ---------------------------------------------------------------------------------------
# clusters


class Agent:
    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.name = "n%d" % index
        self.ip = "%s.%d" % (NET, index)
        self.dir = os.path.join(cluster.dir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.logfile = os.path.join(self.dir, "agent.log")
        self.proc = None

    @property
    def addr(self):
        return "%s:%d" % (self.ip, self.cluster.port)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, join):
        with open(self.logfile, "a") as f:
            f.write("==== start at %.3f\n" % (time.monotonic() - T0))
        self.proc = spawn(self.argv(join), self.logfile)
        return self

    def kill9(self):
        return kill9(self.proc)


class HearsayAgent(Agent):
    def __init__(self, cluster, index):
        super().__init__(cluster, index)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "api.sock")

    def argv(self, join):
        a = [self.cluster.hearsayd, "--name", self.name, "--bind", self.addr,
             "--socket", self.sock, "--data-dir", self.data_dir,
             "--log-level", os.environ.get("HS_BENCH_LOG_LEVEL", "info"),
             "--key-file", self.cluster.key_file]
        for j in join:
            a += ["--join", j]
        for s in self.cluster.seeds:
            a += ["--seed", "%s=%s" % (s.name, s.addr)]
        for k, v in sorted(self.cluster.tags.get(self.name, {}).items()):
            a += ["--tag", "%s=%s" % (k, v)]
        return a

    def start(self, join):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        return super().start(join)

    def members(self, timeout=1.0):
        """[member dicts] as this agent sees them, or None."""
        try:
            st, body = http_get(self.sock, "/v1/members", timeout)
            if st != 200:
                return None
            return json.loads(body).get("members", [])
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def api(self, method, path, body=None, timeout=2.0):
        """(status, parsed JSON or text) of one request to the API socket."""
        st, text = http_request(self.sock, method, path, body, timeout)
        try:
            return st, json.loads(text)
        except ValueError:
            return st, text

    def metrics(self):
        """{metric name (with labels): float} from /v1/metrics."""
        st, body = http_get(self.sock, "/v1/metrics")
        out = {}
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
        return out


class SerfAgent(Agent):
    def __init__(self, cluster, index):
        super().__init__(cluster, index)

    @property
    def rpc(self):
        return "%s:%d" % (self.ip, self.cluster.rpc_port)

    def argv(self, join):
        a = [self.cluster.serf, "agent", "-node", self.name, "-bind", self.addr,
             "-rpc-addr", self.rpc, "-encrypt", self.cluster.key, "-log-level", "info"]
        if self.cluster.event_handler:
            a += ["-event-handler", self.cluster.event_handler]
        for j in join:
            a += ["-join", j]
        return a

    def members(self, timeout=5.0):
        try:
            p = subprocess.run([self.cluster.serf, "members", "-rpc-addr=" + self.rpc,
                                "-format", "json"], capture_output=True, text=True,
                               timeout=timeout)
            if p.returncode != 0:
                return None
            return json.loads(p.stdout).get("members", [])
        except (subprocess.TimeoutExpired, ValueError):
            return None


class Cluster:
    kind = "?"
    agent_class = Agent

    def __init__(self, n=5):
        self.dir = tempfile.mkdtemp(prefix="hs-bench-%s-" % self.kind)
        if os.environ.get("HS_BENCH_KEEP"):  # keep the agents' logs and data
            _cleanups.append(lambda: sys.stderr.write("kept %s\n" % self.dir))
        else:
            _cleanups.append(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.ips = ["%s.%d" % (NET, i) for i in range(1, n + 1)]
        self.port = pick_port(self.ips)
        self.agents = [self.agent_class(self, i) for i in range(1, n + 1)]

    def __getitem__(self, i):
        return self.agents[i - 1]

    def pids(self):
        return [a.proc.pid for a in self.agents if a.running()]

    def start(self):
        first = self.agents[0]
        first.start([])
        self.wait_up(first, 10)
        for a in self.agents[1:]:
            a.start([first.addr])
        for a in self.agents[1:]:
            self.wait_up(a, 10)

    def restart(self, a):
        # a few join addresses are enough (hearsayd takes at most 32 --join)
        others = [b.addr for b in self.agents if b is not a and b.running()][:8]
        a.start(others)
        self.wait_up(a, 10)

    def wait_up(self, a, timeout):
        if wait_for(lambda: a.members(timeout=1.0) is not None or not a.running(),
                    timeout, 0.02) is None or not a.running():
            raise RuntimeError("%s %s did not come up; log %s" % (self.kind, a.name, a.logfile))

    def views(self, agents=None):
        """{observer name: {member: status}}."""
        out = {}
        agents = agents if agents is not None else [a for a in self.agents if a.running()]
        for a in agents:
            m = a.members()
            out[a.name] = None if m is None else {x["name"]: x["status"] for x in m}
        return out

    def all_alive(self):
        names = {a.name for a in self.agents}
        v = self.views()
        return len(v) == len(self.agents) and all(
            m is not None and set(m) >= names and all(m[x] == "alive" for x in names)
            for m in v.values())

    def wait_all_alive(self, timeout=60):
        return wait_for(self.all_alive, timeout, 0.1)

    def stop(self):
        for a in self.agents:
            if a.running():
                a.kill9()


def start_converged(*clusters, timeout=60):
    """Starts every cluster, then waits until each shows all its members alive."""
    for c in clusters:
        c.start()
    for c in clusters:
        if c.wait_all_alive(timeout) is None:
            raise RuntimeError("%s did not converge" % c.kind)


class HearsayCluster(Cluster):
    """seeds: indexes of the Raft seeds (passed to everyone with --seed); tags: {agent name:
    {key: value}}; hearsayd/hearsay: binaries (default: binary())."""
    kind = "hearsay"
    agent_class = HearsayAgent

    def __init__(self, n=5, seeds=(), tags=None, hearsayd=None, hearsay=None):
        self.hearsayd = hearsayd or binary("hearsayd")
        self.hearsay = hearsay or binary("hearsay")
        self.tags = dict(tags or {})
        super().__init__(n)
        self.seeds = [self.agents[i - 1] for i in seeds]
        self.key_file = os.path.join(self.dir, "cluster.key")
        p = subprocess.run([self.hearsay, "keygen", "-o", self.key_file], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError("hearsay keygen failed: %s" % p.stderr)
        os.chmod(self.key_file, 0o600)


class SerfCluster(Cluster):
    kind = "serf"
    agent_class = SerfAgent

    def __init__(self, n=5, event_handler=None):
        self.serf = serf_binary()
        self.key = base64.b64encode(os.urandom(32)).decode()
        self.event_handler = event_handler
        super().__init__(n)
        self.rpc_port = pick_port(self.ips, avoid=(self.port,))


# ---------------------------------------------------------------------------------------
# iptables


def _ipt(*args, check=True):
    p = subprocess.run(["iptables", "-w"] + list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("iptables %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


class Counters:
    """Counts the bytes/packets every agent of the given clusters receives on its gossip port
    (UDP to the port, TCP to or from the port: the agent's end of a stream it opened or
    accepted), with one commented ACCEPT rule per agent and protocol in a dedicated chain
    that INPUT jumps to for loopback traffic. ACCEPT here accepts what INPUT would accept
    anyway (the loopback interface has no other filtering on this machine)."""

    def __init__(self, clusters):
        self.chain = "HSBENCH%d" % os.getpid()
        self.clusters = clusters
        self.jump = ["-i", "lo", "-j", self.chain]
        self.made = False

    def __enter__(self):
        _cleanups.append(self.remove)
        try:
            _ipt("-N", self.chain)
            self.made = True
            for c in self.clusters:
                for a in c.agents:
                    tag = "%s-%s" % (c.kind, a.name)
                    _ipt("-A", self.chain, "-d", a.ip, "-p", "udp", "--dport", str(c.port),
                         "-m", "comment", "--comment", tag + "-udp", "-j", "ACCEPT")
                    _ipt("-A", self.chain, "-d", a.ip, "-p", "tcp", "-m", "multiport",
                         "--ports", str(c.port), "-m", "comment", "--comment", tag + "-tcp",
                         "-j", "ACCEPT")
            _ipt("-I", "INPUT", *self.jump)
        except BaseException:
            self.remove()
            raise
        return self

    def read(self):
        """{comment: (packets, bytes)}"""
        p = _ipt("-L", self.chain, "-v", "-x", "-n")
        out = {}
        for line in p.stdout.splitlines():
            if "/*" in line:
                f = line.split()
                tag = line.split("/*")[1].split("*/")[0].strip()
                out[tag] = (int(f[0]), int(f[1]))
        return out

    def remove(self):
        if not self.made:
            return
        while _ipt("-D", "INPUT", *self.jump, check=False).returncode == 0:
            pass
        _ipt("-F", self.chain, check=False)
        _ipt("-X", self.chain, check=False)
        self.made = False
        log("iptables: removed chain %s" % self.chain)

    def __exit__(self, *exc):
        self.remove()
        return False


class Rules:
    """iptables DROP rules on loopback (INPUT -i lo), each spec plus a comment naming this
    process; deletes exactly the rules it added (by spec) on exit, exception and at
    interpreter exit, like tests/integration/harness.py."""

    def __init__(self, specs, tag="hearsay-bench-drop"):
        self.tag = "%s-%d" % (tag, os.getpid())
        self.specs = [["-i", "lo"] + list(sp) + ["-m", "comment", "--comment", self.tag,
                                                  "-j", "DROP"] for sp in specs]
        self.added = []

    def __enter__(self):
        _cleanups.append(self.remove)
        try:
            for s in self.specs:
                _ipt("-I", "INPUT", *s)
                self.added.append(s)
        except BaseException:
            self.remove()
            raise
        log("iptables: %d rules added (%s)" % (len(self.added), self.tag))
        return self

    def dropped(self):
        p = _ipt("-L", "INPUT", "-v", "-x", "-n")
        return sum(int(line.split()[0]) for line in p.stdout.splitlines()
                   if self.tag in line and "DROP" in line)

    def remove(self):
        n = len(self.added)
        while self.added:
            _ipt("-D", "INPUT", *self.added.pop(), check=False)
        if n:
            log("iptables: removed %d rules" % n)

    def __exit__(self, *exc):
        self.remove()
        return False


class Loss(Rules):
    """Drops a random fraction of the UDP datagrams sent to the given (ip, port) pairs on
    loopback (-m statistic --mode random)."""

    def __init__(self, targets, probability):
        self.p = probability
        super().__init__([["-d", ip, "-p", "udp", "--dport", str(port), "-m", "statistic",
                           "--mode", "random", "--probability", "%.4f" % probability]
                          for ip, port in targets], tag="hearsay-bench-loss")


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)
