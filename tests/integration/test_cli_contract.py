"""test_cli_contract.py: the hearsay CLI against a fake agent (fakeagent.py) serving canned
answers on a unix socket: output formats, exit codes, request shapes, timeouts, streaming
with reconnect, and hostile HTTP answers. Needs only the hearsay binary."""

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from fakeagent import FakeAgent, Reply  # noqa: E402

HEARSAY = harness.binary("hearsay")


def member(name, addr, status="alive", inc=1, tags=None):
    return {"name": name, "addr": addr, "status": status, "incarnation": inc,
            "tags": tags or {}, "status_since_ms": 1234, "config_version": 3}


MEMBERS = {"members": [
    member("n1", "127.0.0.1:7946", tags={"role": "db", "dc": "x"}),
    member("n2", "127.0.0.2:7946", inc=4),
    member("n3", "127.0.0.3:7946", "failed", 2),
    member("n4", "127.0.0.4:7946", "suspect", 1, {"role": "web"}),
    member("n5", "127.0.0.5:7946", "left", 7),
]}


class CliContract(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hs-cli-")
        self.sock = os.path.join(self.dir, "api.sock")
        self.agent = FakeAgent(self.sock)

    def tearDown(self):
        self.agent.close()
        subprocess.run(["rm", "-rf", self.dir])

    def cli(self, *args, env=None, timeout=10, sock=True):
        argv = [HEARSAY] + (["--socket", self.sock] if sock else []) + list(args)
        e = dict(os.environ)
        e.update(env or {})
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e)
        p.elapsed = time.monotonic() - t0
        return p

    # --- members -------------------------------------------------------------------------
    def test_members_table(self):
        self.agent.route("GET", "/v1/members", Reply(body=MEMBERS))
        p = self.cli("members")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "ADDR", "STATUS", "INCARNATION", "TAGS"])
        self.assertEqual(lines[1].split(), ["n1", "127.0.0.1:7946", "alive", "1", "dc=x,role=db"])
        self.assertEqual(lines[3].split(), ["n3", "127.0.0.3:7946", "failed", "2"])
        self.assertEqual(len(lines), 6)
        # columns line up
        self.assertEqual(lines[0].index("ADDR"), lines[1].index("127.0.0.1"))

    def test_members_json_is_verbatim(self):
        body = json.dumps(MEMBERS, indent=1)
        self.agent.route("GET", "/v1/members", Reply(body=body))
        p = self.cli("members", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, body + "\n")

    def test_members_filters_go_to_api(self):
        self.agent.route("GET", "/v1/members", Reply(body={"members": []}))
        p = self.cli("members", "--status", "alive", "--tag", "role=db", "--tag=k=a b&c")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.agent.requests[-1]["target"],
                         "/v1/members?status=alive&tag=role%3Ddb&tag=k%3Da%20b%26c")
        self.assertEqual(p.stdout.split(), ["NAME", "ADDR", "STATUS", "INCARNATION", "TAGS"])
        self.assertEqual(self.cli("members", "--status", "dead").returncode, 2)
        self.assertEqual(self.cli("members", "--tag", "novalue").returncode, 2)

    def test_chunked_and_close_delimited(self):
        body = json.dumps(MEMBERS)
        self.agent.route("GET", "/v1/members",
                         Reply(body=body, mode="chunked", chunks=[body[:7], body[7:100], body[100:]]))
        p = self.cli("members", "--json")
        self.assertEqual((p.returncode, p.stdout), (0, body + "\n"), p.stderr)
        self.agent.route("GET", "/v1/members", Reply(body=body, mode="close"))
        p = self.cli("members", "--json")
        self.assertEqual((p.returncode, p.stdout), (0, body + "\n"), p.stderr)

    def test_control_characters_are_neutralised(self):
        evil = {"members": [member("n\x1b[31mX", "1.2.3.4:5", tags={"k": "v\x07\x1b]0;t"})]}
        self.agent.route("GET", "/v1/members", Reply(body=evil))
        p = self.cli("members")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("\x1b", p.stdout)
        self.assertNotIn("\x07", p.stdout)

    # --- errors and exit codes -------------------------------------------------------------
    def test_no_daemon(self):
        missing = os.path.join(self.dir, "nothing.sock")
        for args, code in ((["members"], 2), (["check"], 3), (["raft"], 2), (["watch"], 2),
                           (["leave"], 2), (["health"], 2)):
            dt = 10.0
            for _ in range(3):  # best of 3: a busy machine can delay one fork/exec
                t0 = time.monotonic()
                p = subprocess.run([HEARSAY, "--socket", missing] + args, capture_output=True,
                                   text=True, timeout=5)
                dt = min(dt, time.monotonic() - t0)
                if dt < 0.05:
                    break
            self.assertEqual(p.returncode, code, (args, p.stdout, p.stderr))
            self.assertLess(dt, 0.1, args)
            if code == 2:
                self.assertEqual(p.stderr.strip(),
                                 "hearsay: cannot reach agent at %s: No such file or directory"
                                 % missing)
            else:
                self.assertTrue(p.stdout.startswith("HEARSAY UNKNOWN - cannot reach agent"))

    def test_stale_socket_refused(self):
        self.agent.close()
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.bind(self.sock)  # bound, never listening: connect is refused
        try:
            p = self.cli("members")
            self.assertEqual(p.returncode, 2)
            self.assertIn("Connection refused", p.stderr)
        finally:
            s.close()

    def test_env_socket(self):
        self.agent.route("GET", "/v1/members", Reply(body=MEMBERS))
        p = self.cli("members", sock=False, env={"HEARSAY_SOCKET": self.sock})
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli("members", sock=False, env={"HEARSAY_SOCKET": self.sock + ".x"})
        self.assertEqual(p.returncode, 2)
        self.assertIn(self.sock + ".x", p.stderr)

    def test_http_error_message(self):
        self.agent.route("PUT", "/v1/config/foo", Reply(409, {"error": "no raft leader"}))
        p = self.cli("config", "set", "foo", "bar")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), "hearsay: no raft leader")
        self.agent.route("GET", "/v1/raft", Reply(500, "oops", ctype="text/plain"))
        p = self.cli("raft")
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 500", p.stderr)

    def test_hostile_answers(self):
        cases = [
            b"garbage\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
            b"HTTP/1.1 200 OK\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 500 + b"\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"members\":[]}",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n[1]",
            b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"members\":7}",
            b"",
        ]
        for raw in cases:
            self.agent.route("GET", "/v1/members", Reply(raw=raw))
            p = self.cli("members")
            self.assertEqual(p.returncode, 1, (raw[:80], p.stdout, p.stderr))
            self.assertTrue(p.stderr.startswith("hearsay: "), p.stderr)
            self.assertEqual(p.stdout, "")
        # a body over the 16 MiB cap, sent chunked, is refused
        big = ["x" * 1048576] * 17
        self.agent.route("GET", "/v1/metrics", Reply(mode="chunked", chunks=big))
        p = self.cli("metrics")
        self.assertEqual(p.returncode, 1)
        self.assertIn("too large", p.stderr)

    def test_mutated_answers(self):
        """Randomly mutated valid answers (fixed seed): the CLI never crashes and exits 0 or
        1; with an HS_SANITIZE build any ASan/UBSan report fails the test."""
        import random
        rng = random.Random(7)
        body = json.dumps(MEMBERS).encode()
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50])
                           for i in range(0, len(body), 50)) + b"0\r\n\r\n"
        bases = [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
                 b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked]
        for i in range(150):
            raw = bytearray(rng.choice(bases))
            for _ in range(rng.randint(1, 6)):
                op, pos = rng.randint(0, 3), rng.randrange(len(raw))
                if op == 0:
                    raw[pos] = rng.getrandbits(8)
                elif op == 1:
                    del raw[pos:pos + rng.randint(1, 20)]
                elif op == 2:
                    raw[pos:pos] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 20)))
                else:
                    raw = raw[:pos]
            self.agent.route("GET", "/v1/members", Reply(raw=bytes(raw)))
            p = self.cli("members", "--timeout", "2")
            self.assertIn(p.returncode, (0, 1), (i, bytes(raw[:200]), p.stderr))
            self.assertNotIn("Sanitizer", p.stderr)
            self.assertNotIn("runtime error", p.stderr)

    def test_read_timeout(self):
        self.agent.route("GET", "/v1/members", Reply(hang=True))
        p = self.cli("--timeout", "0.3", "members")
        self.assertEqual(p.returncode, 1)
        self.assertIn("timed out", p.stderr)
        self.assertLess(p.elapsed, 1.0)

    # --- check -----------------------------------------------------------------------------
    def test_check(self):
        ok = {"members": [member("n%d" % i, "127.0.0.%d:7946" % i) for i in range(1, 6)]}
        self.agent.route("GET", "/v1/members", Reply(body=ok))
        p = self.cli("check", "--min-alive", "3")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "HEARSAY OK - 5/5 alive | alive=5;;3;0;5 failed=0\n")
        p = self.cli("check")
        self.assertEqual(p.stdout, "HEARSAY OK - 5/5 alive | alive=5;;;0;5 failed=0\n")

        self.agent.route("GET", "/v1/members", Reply(body=MEMBERS))  # 2 alive, 1 failed, 1 suspect
        p = self.cli("check")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertTrue(p.stdout.startswith("HEARSAY WARNING - 2/4 alive"), p.stdout)
        p = self.cli("check", "--min-alive", "3")
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertTrue(p.stdout.startswith("HEARSAY CRITICAL - 2/4 alive"), p.stdout)
        p = self.cli("check", "--min-alive", "2", "-w", "0", "-c", "1")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("failed=1;0;1;0;4", p.stdout)
        p = self.cli("check", "--min-alive", "2", "-w", "0", "-c", "0")
        self.assertEqual(p.returncode, 2, p.stdout)
        p = self.cli("check", "--min-alive", "1", "--member", "n3")
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("member n3 failed", p.stdout)
        p = self.cli("check", "--min-alive", "1", "--member", "n4")
        self.assertEqual(p.returncode, 1, p.stdout)
        p = self.cli("check", "--min-alive", "1", "--member", "n1")
        self.assertEqual(p.returncode, 0, p.stdout)
        p = self.cli("check", "--min-alive", "1", "--member", "nope")
        self.assertEqual(p.returncode, 2, p.stdout)

        raft = {"state": "follower", "leader": "n1", "term": 3, "commit": 9, "applied": 9,
                "config_version": 3, "seeds": ["n1", "n2", "n3"]}
        self.agent.route("GET", "/v1/raft", Reply(body=raft))
        p = self.cli("check", "--min-alive", "1", "--quorum")
        self.assertEqual(p.returncode, 0, p.stdout)
        raft["seeds"] = ["n1", "n3", "n4"]
        self.agent.route("GET", "/v1/raft", Reply(body=raft))
        p = self.cli("check", "--min-alive", "1", "--quorum")
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("raft quorum lost", p.stdout)
        raft["leader"] = None
        raft["seeds"] = ["n1", "n2"]
        self.agent.route("GET", "/v1/raft", Reply(body=raft))
        p = self.cli("check", "--min-alive", "1", "--quorum")
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("no raft leader", p.stdout)

    def test_check_unknown(self):
        self.agent.route("GET", "/v1/members", Reply(hang=True))
        p = self.cli("check")
        self.assertEqual(p.returncode, 3, p.stdout)
        self.assertLess(p.elapsed, 2.0)
        self.assertTrue(p.stdout.startswith("HEARSAY UNKNOWN"))
        self.agent.route("GET", "/v1/members", Reply(500, {"error": "boom"}))
        p = self.cli("check")
        self.assertEqual((p.returncode, p.stdout), (3, "HEARSAY UNKNOWN - agent error: boom\n"))
        self.assertEqual(self.cli("check", "--min-alive", "x").returncode, 3)
        # members answers slowly, raft hangs: the two requests share one 1.5 s deadline
        self.agent.route("GET", "/v1/members", Reply(body=MEMBERS, delay=1.0))
        self.agent.route("GET", "/v1/raft", Reply(hang=True))
        p = self.cli("check", "--quorum")
        self.assertEqual(p.returncode, 3, p.stdout)
        self.assertLess(p.elapsed, 2.0)

    # --- write commands ---------------------------------------------------------------------
    def test_join_leave_tags(self):
        self.agent.route("POST", "/v1/join", Reply(body={"contacted": 2}))
        p = self.cli("join", "127.0.0.2:7946", "127.0.0.3:7946")
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.agent.requests[-1]
        self.assertEqual(json.loads(r["body"]), {"addrs": ["127.0.0.2:7946", "127.0.0.3:7946"]})
        self.assertEqual(r["headers"]["content-type"], "application/json")
        self.agent.route("POST", "/v1/join", Reply(body={"contacted": 0}))
        self.assertEqual(self.cli("join", "127.0.0.9:1").returncode, 1)
        self.assertEqual(self.cli("join").returncode, 2)

        self.agent.route("POST", "/v1/leave", Reply(body={"left": True}))
        p = self.cli("leave")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.agent.requests[-1]["method"], "POST")

        self.agent.route("PUT", "/v1/tags", Reply(body={"tags": {"role": "db", "az": "1"}}))
        p = self.cli("tags", "set", "role=db", "az=1")
        self.assertEqual((p.returncode, p.stdout), (0, "az=1\nrole=db\n"), p.stderr)
        self.assertEqual(json.loads(self.agent.requests[-1]["body"]),
                         {"set": {"role": "db", "az": "1"}})
        p = self.cli("tags", "delete", "az")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(self.agent.requests[-1]["body"]), {"delete": ["az"]})
        self.assertEqual(self.cli("tags", "set", "novalue").returncode, 2)
        self.assertEqual(self.cli("tags").returncode, 2)

    def test_config_raft_self_health_metrics(self):
        self.agent.route("GET", "/v1/config/probe_interval_ms",
                         Reply(body={"key": "probe_interval_ms", "value": "1000", "version": 4}))
        p = self.cli("config", "get", "probe_interval_ms", "--consistent")
        self.assertEqual((p.returncode, p.stdout), (0, "1000\n"), p.stderr)
        self.assertEqual(self.agent.requests[-1]["target"],
                         "/v1/config/probe_interval_ms?consistent=1")
        self.agent.route("PUT", "/v1/config/probe_interval_ms",
                         Reply(body={"key": "probe_interval_ms", "value": "800", "version": 5}))
        p = self.cli("config", "set", "probe_interval_ms", "800")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.agent.requests[-1]["body"], b"800")
        self.assertIn("version 5", p.stdout)

        raft = {"state": "leader", "leader": "n1", "term": 7, "commit": 12, "applied": 12,
                "config_version": 5, "seeds": ["n1", "n2", "n3"]}
        self.agent.route("GET", "/v1/raft", Reply(body=raft))
        p = self.cli("raft")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("leader", p.stdout.splitlines()[0])
        self.assertIn("n1, n2, n3", p.stdout)
        p = self.cli("raft", "--json")
        self.assertEqual(json.loads(p.stdout), raft)

        me = dict(member("n1", "127.0.0.1:7946"), stats={"msgs_in": 10})
        self.agent.route("GET", "/v1/self", Reply(body=me))
        p = self.cli("self")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("msgs_in", p.stdout)
        self.assertEqual(json.loads(self.cli("self", "--json").stdout), me)

        health = {"status": "ok", "insecure": True, "members": 5, "alive": 5, "suspect": 0,
                  "failed": 0, "left": 0, "raft": raft}
        self.agent.route("GET", "/v1/health", Reply(body=health))
        p = self.cli("health")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("alive 5", p.stdout)
        health["status"] = "degraded"
        self.agent.route("GET", "/v1/health", Reply(503, health))
        self.assertEqual(self.cli("health").returncode, 1)

        text = "# TYPE hearsay_members gauge\nhearsay_members{status=\"alive\"} 5\n"
        self.agent.route("GET", "/v1/metrics", Reply(body=text, ctype="text/plain"))
        p = self.cli("metrics")
        self.assertEqual((p.returncode, p.stdout), (0, text))

    def test_json_is_verbatim_everywhere(self):
        """Every --json view prints the agent's bytes unchanged, whatever their layout."""
        raft = {"state": "leader", "leader": "n1", "term": 7, "seeds": ["n1"], "new": [1]}
        cfg = {"key": "k", "value": "v", "version": 4, "extra": None}
        routes = [(("raft", "--json"), "GET", "/v1/raft", raft),
                  (("self", "--json"), "GET", "/v1/self", dict(member("n1", "a:1"), stats={})),
                  (("health", "--json"), "GET", "/v1/health", {"status": "ok", "raft": raft}),
                  (("config", "get", "k", "--json"), "GET", "/v1/config/k", cfg),
                  (("config", "set", "k", "v", "--json"), "PUT", "/v1/config/k", cfg),
                  (("keys", "list", "--json"), "GET", "/v1/keys", {"keys": [], "x": 1}),
                  (("raft", "remove-seed", "n2", "--json"), "POST", "/v1/raft/remove-seed",
                   {"name": "n2", "op": "remove", "version": 9})]
        for args, method, path, doc in routes:
            body = json.dumps(doc, indent=2) + "\n"
            self.agent.route(method, path, Reply(body=body))
            p = self.cli(*args)
            self.assertEqual((p.returncode, p.stdout), (0, body), (args, p.stderr))

    def test_raft_seed_changes(self):
        self.agent.route("POST", "/v1/raft/add-seed",
                         Reply(body={"name": "n4", "op": "add", "version": 9}))
        p = self.cli("raft", "add-seed", "n4", "127.0.0.4:7946")
        self.assertEqual((p.returncode, p.stdout),
                         (0, "add-seed n4: committed, configuration version 9\n"), p.stderr)
        r = self.agent.requests[-1]
        self.assertEqual(json.loads(r["body"]), {"name": "n4", "addr": "127.0.0.4:7946"})
        self.assertEqual(r["headers"]["content-type"], "application/json")
        sent = len(self.agent.requests)
        for bad in ("127.0.0.4", "::1:7946", "host:7946", "127.0.0.4:0"):
            p = self.cli("raft", "add-seed", "n4", bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("bad address '%s'" % bad, p.stderr)
        self.assertEqual(len(self.agent.requests), sent)  # refused before sending
        self.assertEqual(self.cli("raft", "add-seed", "n4").returncode, 2)
        self.agent.route("POST", "/v1/raft/remove-seed", Reply(409, {"error": "seed change busy"}))
        p = self.cli("raft", "remove-seed", "n2")
        self.assertEqual((p.returncode, p.stderr), (1, "hearsay: seed change busy\n"))
        self.assertEqual(json.loads(self.agent.requests[-1]["body"]), {"name": "n2"})

    def test_keys(self):
        survey = {"version": 7, "insecure": False, "keys": ["aa11bb22", "cc33dd44"],
                  "primary": "aa11bb22", "local": ["aa11bb22", "cc33dd44"], "members": 5,
                  "answered": 4, "by_key": {"aa11bb22": {"installed": 4, "primary": 4},
                                            "cc33dd44": {"installed": 2, "primary": 0}},
                  "by_member": {}, "silent": ["n\x1b5"]}
        self.agent.route("GET", "/v1/keys", Reply(body=survey))
        p = self.cli("keys", "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["KEY", "PRIMARY", "INSTALLED", "ON"])
        self.assertEqual(lines[1].split(), ["aa11bb22", "yes", "4/5"])
        self.assertEqual(lines[2].split(), ["cc33dd44", "2/5"])
        self.assertEqual(lines[3], "no answer from 1 member(s): n?5")
        self.assertEqual(self.agent.requests[-1]["target"], "/v1/keys?members=1")
        self.agent.route("GET", "/v1/keys", Reply(body={"keys": [], "insecure": True}))
        p = self.cli("keys", "list", "--local")
        self.assertEqual(p.stdout, "the cluster configuration holds no key ring (this agent runs "
                         "insecure)\n")
        self.assertEqual(self.agent.requests[-1]["target"], "/v1/keys")

        key = base64.b64encode(os.urandom(32)).decode()
        path = os.path.join(self.dir, "k")
        with open(path, "w") as f:
            f.write("# a comment\n\n%s\n" % key)
        change = {"op": "install", "key": "cc33dd44", "committed_version": 8, "members": 5,
                  "acknowledged": 4, "pending": ["n5"], "wait_ms": 2000}
        self.agent.route("POST", "/v1/keys/install", Reply(202, change))
        p = self.cli("keys", "install", "--file", path, "--wait", "2")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "install key cc33dd44: committed (configuration version 8), "
                         "held by 4/5 members\n")
        self.assertEqual(p.stderr, "hearsay: not yet acknowledged by 1 member(s): n5\n")
        r = self.agent.requests[-1]
        self.assertEqual(r["target"], "/v1/keys/install?wait_ms=2000")
        self.assertEqual(json.loads(r["body"]), {"key": key})
        self.assertNotIn(key, p.stdout + p.stderr)
        change["pending"], change["acknowledged"] = [], 5
        self.agent.route("POST", "/v1/keys/use", Reply(body=change))
        p = subprocess.run([HEARSAY, "--socket", self.sock, "keys", "use", "-", "--json"],
                           input=key + "\n", capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), change)
        self.assertEqual(self.agent.requests[-1]["target"], "/v1/keys/use?wait_ms=10000")
        self.agent.route("POST", "/v1/keys/remove", Reply(409, {"error": "cannot remove the "
                                                                   "primary key"}))
        p = self.cli("keys", "remove", key)
        self.assertEqual((p.returncode, p.stderr), (1, "hearsay: cannot remove the primary key\n"))
        for args in (["keys"], ["keys", "spin", key], ["keys", "use"], ["keys", "use", key,
                                                                        "--wait", "26"]):
            self.assertEqual(self.cli(*args).returncode, 2, args)
        # rotate: the three steps as one operation; stopped part-way is exit 1 with the reason
        rot = {"version": 9, "insecure": False, "keys": ["bb"], "primary": "bb", "local": ["bb"],
               "op": "rotate", "key": "bb", "ok": True, "step": "done", "committed_version": 9,
               "members": 3, "acknowledged": 3, "removed": 1, "pending": [], "wait_ms": 900}
        self.agent.route("POST", "/v1/keys/rotate", Reply(body=rot))
        p = self.cli("keys", "rotate", key)
        self.assertEqual((p.returncode, p.stdout), (0, "rotate to key bb: done (configuration "
                                                       "version 9), 1 old key(s) removed, held "
                                                       "by 3/3 members\n"))
        self.assertEqual(self.agent.requests[-1]["target"], "/v1/keys/rotate?wait_ms=10000")
        stopped = dict(rot, ok=False, step="install", reason="not every member holds the new "
                       "ring", acknowledged=2, pending=["n3"])
        self.agent.route("POST", "/v1/keys/rotate", Reply(202, stopped))
        p = self.cli("keys", "rotate", key)
        self.assertEqual(p.returncode, 1)
        self.assertIn("stopped at install: not every member holds the new ring", p.stdout)
        self.assertIn("n3", p.stderr)

    def test_views_neutralise_control_characters(self):
        evil = "x\x1b]0;owned\x07\x9b"  # ESC, BEL and the C1 CSI (UTF-8 c2 9b)
        self.agent.route("GET", "/v1/self", Reply(body=dict(member(evil, evil, tags={evil: evil}),
                                                            stats={evil: 1})))
        self.agent.route("GET", "/v1/raft", Reply(body={"state": evil, "leader": evil,
                                                        "seeds": [evil]}))
        self.agent.route("GET", "/v1/health", Reply(body={"status": evil, "raft": {}}))
        self.agent.route("PUT", "/v1/tags", Reply(body={"tags": {evil: evil}}))
        self.agent.route("GET", "/v1/config/k", Reply(body={"key": "k", "value": evil}))
        for args in (["self"], ["raft"], ["health"], ["tags", "set", "a=b"],
                     ["config", "get", "k"]):
            p = self.cli(*args)
            self.assertIn(p.returncode, (0, 1), args)
            self.assertIn("x?]0;owned??", p.stdout, args)
            for c in "\x1b\x07\x9b":
                self.assertNotIn(c, p.stdout, args)

    def test_links_only_libhearsay(self):
        """The CLI calls no core code from lib/ (all hs_* there; libhearsay is hs_client_*,
        its internals hsc_*, the CLI's own helpers hcli_*), and libhearsay.so needs no
        symbol of its own project."""
        syms = subprocess.run(["nm", "--defined-only", HEARSAY], capture_output=True,
                              text=True).stdout.split("\n")
        names = [ln.split()[-1] for ln in syms if len(ln.split()) == 3]
        self.assertIn("main", names)
        foreign = [n for n in names if n.startswith("hs_") and not n.startswith("hs_client_")]
        self.assertEqual(foreign, [])
        so = os.path.join(os.path.dirname(HEARSAY), "libhearsay", "libhearsay.so.0")
        if not os.path.exists(so):
            self.skipTest("no libhearsay.so.0 beside the hearsay binary")
        undef = subprocess.run(["nm", "-D", "--undefined-only", so], capture_output=True,
                               text=True).stdout.split()
        self.assertEqual([n for n in undef if n.startswith("hs")], [])

    # --- watch -----------------------------------------------------------------------------
    def test_watch_reconnects_with_last_id(self):
        def ev(i, name):
            return json.dumps({"id": i, "event": "member-join", "name": name,
                               "addr": "127.0.0.2:7946", "status": "alive", "incarnation": 1,
                               "tags": {}, "time_ms": 1764161586123}) + "\n"
        calls = []

        def events(method, target, body):
            calls.append(target)
            if len(calls) == 1:
                return Reply(mode="chunked", chunks=[ev(5, "a"), ev(6, "b")[:20], 0.05,
                                                     ev(6, "b")[20:]])
            if len(calls) == 2:
                return Reply(mode="chunked", chunks=[ev(7, "c"), "\n", ev(8, "d")])
            if len(calls) == 3:  # the agent restarted: ids start again at 1
                return Reply(mode="chunked", chunks=[ev(1, "e")])
            return Reply(mode="chunked", chunks=[30])
        self.agent.route("GET", "/v1/events", events)
        proc = subprocess.Popen([HEARSAY, "--socket", self.sock, "watch", "--json",
                                 "--since", "4"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        harness.wait_for(lambda: len(calls) >= 4, 5, "fourth connection")
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(calls[:4], ["/v1/events?since=4", "/v1/events?since=6",
                                     "/v1/events?since=8", "/v1/events?since=1"])
        self.assertEqual([json.loads(line)["name"] for line in out.splitlines()],
                         ["a", "b", "c", "d", "e"])
        self.assertIn("the agent restarted", err)
        p = subprocess.run([HEARSAY, "--socket", self.sock, "watch", "--since", "x"],
                           capture_output=True, timeout=5)
        self.assertEqual(p.returncode, 2)

    def test_watch_lagged(self):
        """The agent's last line to a watcher that fell behind goes to stderr, never to
        stdout, and watch resumes after the id it names."""
        calls = []
        lag = json.dumps({"event": "lagged", "missed": 1500, "resume_since": 2077,
                          "time_ms": 1}) + "\n"

        def events(method, target, body):
            calls.append(target)
            if len(calls) == 1:
                return Reply(mode="chunked", chunks=[json.dumps({"id": 577, "event":
                                                                 "member-join"}) + "\n", lag])
            return Reply(mode="chunked", chunks=[30])
        self.agent.route("GET", "/v1/events", events)
        proc = subprocess.Popen([HEARSAY, "--socket", self.sock, "watch", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        harness.wait_for(lambda: len(calls) >= 2, 5, "the reconnection")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(calls[:2], ["/v1/events", "/v1/events?since=2077"])
        self.assertEqual([json.loads(ln)["id"] for ln in out.splitlines()], [577])
        self.assertIn("hearsay: fell behind the agent's event buffer: 1500 events lost after "
                      "event 2077\n", err)

    def test_watch_long_stream(self):
        """A stream longer than the 16 MiB body cap is fine: only chunks are bounded."""
        calls = []
        pad = "x" * (512 * 1024)
        lines = [json.dumps({"id": i, "event": "member-update", "name": "n%d" % i,
                             "tags": {"pad": pad}}) + "\n" for i in range(1, 41)]

        def events(method, target, body):
            calls.append(target)
            return Reply(mode="chunked", chunks=lines + [30] if len(calls) == 1 else [30])
        self.agent.route("GET", "/v1/events", events)
        proc = subprocess.Popen([HEARSAY, "--socket", self.sock, "watch", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        parts, lines_seen = [], 0
        t0 = time.monotonic()
        while lines_seen < 40 and time.monotonic() - t0 < 20:
            data = proc.stdout.read1(1 << 20)
            if not data:
                break
            lines_seen += data.count(b"\n")
            parts.append(data)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=5)
        out = b"".join(parts) + rest
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(len(out.splitlines()), 40)
        self.assertEqual(calls, ["/v1/events"], err)

    def test_watch_human(self):
        line = json.dumps({"id": 1, "event": "member-failed", "name": "n3",
                           "addr": "127.0.0.3:7946", "status": "failed", "incarnation": 2,
                           "tags": {"role": "db"}, "time_ms": 1764161586123}) + "\n"
        self.agent.route("GET", "/v1/events",
                         lambda m, t, b: Reply(mode="chunked", chunks=[line, 30]))
        proc = subprocess.Popen([HEARSAY, "--socket", self.sock, "watch"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out.split(), ["2025-11-26T12:53:06.123Z", "member-failed", "n3",
                                       "127.0.0.3:7946", "failed", "inc=2", "role=db"])

    # --- offline commands ------------------------------------------------------------------
    def test_keygen(self):
        p = self.cli("keygen", sock=False)
        self.assertEqual(p.returncode, 0)
        line = p.stdout
        self.assertTrue(line.endswith("\n") and line.count("\n") == 1)
        self.assertEqual(len(base64.b64decode(line.strip(), validate=True)), 32)
        self.assertNotEqual(line, self.cli("keygen", sock=False).stdout)
        path = os.path.join(self.dir, "key")
        old = os.umask(0)
        try:
            p = self.cli("keygen", "-o", path, sock=False)
        finally:
            os.umask(old)
        self.assertEqual((p.returncode, p.stdout), (0, ""), p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            self.assertEqual(len(base64.b64decode(f.read().strip(), validate=True)), 32)
        self.assertEqual(self.cli("keygen", "-o", path, sock=False).returncode, 1)
        self.assertEqual(self.cli("keygen", "-o", path, "--force", sock=False).returncode, 0)

    def test_help(self):
        p = self.cli("--help", sock=False)
        self.assertEqual(p.returncode, 0)
        cmds = ["members", "join", "leave", "tags", "check", "keygen", "raft", "config",
                "watch", "self", "health", "metrics"]
        for c in cmds:
            self.assertIn(c, p.stdout)
            q = self.cli(c, "--help", sock=False)
            self.assertEqual(q.returncode, 0, c)
            self.assertTrue(q.stdout.startswith("Usage: hearsay " + c), c)
            self.assertEqual(self.cli("help", c, sock=False).stdout, q.stdout)
        self.assertEqual(self.cli("frobnicate", sock=False).returncode, 2)
        self.assertEqual(self.cli(sock=False).returncode, 2)
        self.assertEqual(self.cli("members", "--bogus").returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
