"""test_socket_access.py: access control on the API socket (issue 5, docs/security.md
"Local API access"). An agent runs with --socket-group and --admin-group of two groups made
for the test; the socket is 0660 in the socket group, its new directory 0750. An unprivileged
uid (65534) in the socket group can read (GET /v1/members) but every changing request answers
403 and the CLI exits 1 with the message; the same uid with the admin group may change tags;
root may too (user events and queries are changing requests). A slow-loris client holding a partial request does not stall other clients
and is dropped after the API timeout (10 s).
Needs root (groupadd, setpriv); skipped otherwise."""

import grp
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

NOBODY = 65534


def _need_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (groupadd, setpriv, chown)")
    for tool in ("groupadd", "groupdel", "setpriv"):
        if not shutil.which(tool):
            raise unittest.SkipTest("%s not installed" % tool)


# curl-free HTTP client run as another uid: python3 -c with the request in argv
CLIENT = r"""
import json, socket, sys
path, method, target, body = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
s.connect(path)
body = body.encode()
req = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: %d\r\n" % (method, target, len(body))
if body:
    req += "Content-Type: application/json\r\n"
s.sendall(req.encode() + b"\r\n" + body)
data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
head, _, rest = data.partition(b"\r\n\r\n")
print(head.split(b" ")[1].decode())
print(rest.decode("utf-8", "replace"))
"""


class SocketAccess(unittest.TestCase):
    def setUp(self):
        _need_root()
        tag = "%d%d" % (os.getpid() % 100000, int(time.time()) % 1000)
        self.groups = []
        self.sock_group = self._group("hsock" + tag)
        self.admin_group = self._group("hadm" + tag)

    def _group(self, name):
        p = subprocess.run(["groupadd", name], capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest("groupadd %s failed: %s" % (name, p.stderr.strip()))
        self.groups.append(name)
        self.addCleanup(subprocess.run, ["groupdel", name], capture_output=True)
        return name

    def as_user(self, groups, argv, timeout=10):
        """Runs argv as uid 65534 with primary group groups[0] and exactly groups."""
        gids = [str(grp.getgrnam(g).gr_gid) for g in groups]
        cmd = ["setpriv", "--reuid", str(NOBODY), "--regid", gids[0],
               "--groups", ",".join(gids), "--"] + argv
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def http_as(self, groups, sock, method, target, body=""):
        p = self.as_user(groups, [sys.executable, "-c", CLIENT, sock, method, target, body])
        self.assertEqual(p.returncode, 0, p.stderr)
        status, _, text = p.stdout.partition("\n")
        try:
            return int(status), json.loads(text)
        except ValueError:
            return int(status), text

    def test_socket_access(self):
        extra = ["--socket-group", self.sock_group, "--admin-group", self.admin_group]
        with Cluster(1, join_via=None, extra_args=extra) as c:
            n = c[1]
            # a socket in a directory the agent creates, reachable for uid 65534
            os.chmod(c.dir, 0o755)
            os.chmod(n.dir, 0o755)
            run_dir = os.path.join(n.dir, "run")
            n.sock = os.path.join(run_dir, "api.sock")
            n.start()
            sgid = grp.getgrnam(self.sock_group).gr_gid
            st = os.stat(n.sock)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
            self.assertEqual(st.st_gid, sgid)
            dst = os.stat(run_dir)
            self.assertEqual(stat.S_IMODE(dst.st_mode), 0o750)
            self.assertEqual((dst.st_uid, dst.st_gid), (os.geteuid(), sgid))

            reader = [self.sock_group]
            admin = [self.sock_group, self.admin_group]
            # not in the socket group: cannot even connect
            p = self.as_user(["nogroup"], [c.hearsay, "--socket", n.sock, "members"])
            self.assertNotEqual(p.returncode, 0, p.stdout)

            # reader: GET works, changes are refused
            st_, body = self.http_as(reader, n.sock, "GET", "/v1/members")
            self.assertEqual(st_, 200, body)
            self.assertEqual([m["name"] for m in body["members"]], ["n1"])
            p = self.as_user(reader, [c.hearsay, "--socket", n.sock, "members"])
            self.assertEqual(p.returncode, 0, p.stderr)
            want = "permission denied: changing operations need uid 0 or group %s" % self.admin_group
            for method, target, b in (("POST", "/v1/leave", ""),
                                      ("PUT", "/v1/tags", '{"set":{"x":"1"}}'),
                                      ("POST", "/v1/join", '{"addrs":["127.0.0.9:1"]}'),
                                      ("PUT", "/v1/config/probe-interval-ms", '{"value":"500"}'),
                                      ("POST", "/v1/raft/add-seed", '{"name":"x"}'),
                                      ("POST", "/v1/event/deploy", "x"),
                                      ("POST", "/v1/query/who", "x")):
                st_, body = self.http_as(reader, n.sock, method, target, b)
                self.assertEqual(st_, 403, (method, target, body))
                self.assertEqual(body, {"error": want})
            p = self.as_user(reader, [c.hearsay, "--socket", n.sock, "tags", "set", "x=1"])
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn(want, p.stderr)
            p = self.as_user(reader, [c.hearsay, "--socket", n.sock, "leave"])
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn(want, p.stderr)
            self.assertTrue(n.running(), "a refused leave must not stop the agent")

            # admin group in the supplementary groups only: allowed
            p = self.as_user(admin, [c.hearsay, "--socket", n.sock, "tags", "set", "x=1"])
            self.assertEqual(p.returncode, 0, p.stderr)
            # admin group as the primary group: allowed
            st_, body = self.http_as([self.admin_group, self.sock_group], n.sock, "PUT",
                                     "/v1/tags", '{"set":{"y":"2"}}')
            self.assertEqual(st_, 200, body)
            # root: allowed
            st_, body = n.api("PUT", "/v1/tags", {"set": {"z": "3"}})
            self.assertEqual(st_, 200, body)
            self.assertEqual(body["tags"], {"x": "1", "y": "2", "z": "3"})

            # slow loris: a partial request held open does not stall another client
            loris = []
            try:
                for _ in range(5):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(n.sock)
                    s.sendall(b"GET /v1/members HTTP/1.1\r\nHost: local")
                    loris.append(s)
                time.sleep(0.2)
                worst = 0.0
                for _ in range(5):
                    t0 = time.monotonic()
                    st_, body = n.api("GET", "/v1/health", timeout=1.0)
                    worst = max(worst, time.monotonic() - t0)
                    self.assertIn(st_, (200, 503), body)
                log("slow loris: worst GET /v1/health %.1f ms with 5 partial requests held"
                    % (worst * 1000))
                self.assertLess(worst, 0.1)
                # and the agent drops a connection that sends nothing more (evhttp timeout)
                loris[0].settimeout(15)
                t0 = time.monotonic()
                try:
                    got = loris[0].recv(4096)
                except OSError:
                    got = b""
                took = time.monotonic() - t0
                log("slow loris: connection closed after %.1f s more (answer %r)" % (took, got[:40]))
                self.assertLess(took, 12.0)
            finally:
                for s in loris:
                    s.close()

    def test_unknown_group_fails_start(self):
        with Cluster(1, join_via=None,
                     extra_args=["--admin-group", "no-such-group-hs-test"]) as c:
            n = c[1]
            n.start(wait=False)
            rc = harness.reap(n.proc, 5.0)
            self.assertNotEqual(rc, 0)
            self.assertIn("unknown group 'no-such-group-hs-test'", n.log_tail())

    def test_default_admin_is_root_or_agent_uid(self):
        """Without --admin-group only uid 0 and the agent's uid may change state."""
        with Cluster(1, join_via=None, extra_args=["--socket-group", self.sock_group]) as c:
            n = c[1]
            os.chmod(c.dir, 0o755)
            os.chmod(n.dir, 0o755)
            n.sock = os.path.join(n.dir, "run", "api.sock")
            n.start()
            st_, body = self.http_as([self.sock_group, self.admin_group], n.sock, "PUT",
                                     "/v1/tags", '{"set":{"x":"1"}}')
            self.assertEqual(st_, 403, body)
            self.assertIn("permission denied", body["error"])
            st_, body = n.api("PUT", "/v1/tags", {"set": {"x": "1"}})
            self.assertEqual(st_, 200, body)


if __name__ == "__main__":
    harness.main()
