"""test_http_limits.py: the cap on open API socket connections (--max-api-connections,
default 256). Holding cap + 20 idle connections (as root, who may use the whole cap), exactly
20 are answered 503 and closed by the agent at once and counted in
hearsay_api_connections_refused_total, while the gauge hearsay_api_connections shows the cap;
once the held connections close, a normal client gets its answer again at once. Runs with the
default cap and with --max-api-connections 8 (where connections stuck in a partial request
count too and free their place at the 10 s request deadline). A bad value stops the agent
with a message. The shares of unprivileged users: test_api_fairness.py."""

import os
import select
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

EXTRA = 20


def metric(node, name):
    st, text = node.api("GET", "/v1/metrics")
    assert st == 200, text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("no metric %s" % name)


def open_conns(path, n, first=b""):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        deadline = time.monotonic() + 5
        while True:
            try:  # a full listen backlog answers EAGAIN at once (not blocking): retry
                s.connect(path)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        if first:
            s.sendall(first)
        socks.append(s)
    return socks


def closed_by_peer(socks, timeout):
    """The sockets the agent closed (EOF or reset) within timeout seconds."""
    closed, deadline = set(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = [s for s in socks if s not in closed]
        if not live:
            break
        r, _, _ = select.select(live, [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        for s in r:
            try:
                if s.recv(4096) == b"":
                    closed.add(s)
            except OSError:
                closed.add(s)
    return closed


class HttpLimits(unittest.TestCase):
    def check_cap(self, node, cap, first=b""):
        refused0 = metric(node, "hearsay_api_connections_refused_total")
        t0 = time.monotonic()
        socks = open_conns(node.sock, cap + EXTRA, first)
        try:
            took = time.monotonic() - t0
            closed = closed_by_peer(socks, 1.0)
            log("cap %d: opened %d connections in %.2f s, the agent closed %d at once"
                % (cap, len(socks), took, len(closed)))
            self.assertEqual(len(closed), EXTRA)
            self.assertTrue(all(s in closed for s in socks[cap:]),
                            "the refused ones are the last ones opened")
            for s in closed:
                s.close()
            # a normal client is refused too while the cap is reached: a 503 naming the limit,
            # or a reset when the agent closed before the client had written its request
            try:
                st, body = node.api("GET", "/v1/health", timeout=1.0)
                self.assertEqual(st, 503, body)
                self.assertIn("--max-api-connections", body["error"])
            except OSError:
                pass
        finally:
            for s in socks:
                s.close()
        # the held connections are gone: answers again at once (the agent may see a new
        # connection before it has seen the others' close, so a client retries for at most
        # 0.5 s)
        t1 = time.monotonic()
        tries = []

        def health_ok():
            try:
                tries.append(node.api("GET", "/v1/health", timeout=2.0)[0])
                return tries[-1] == 200
            except OSError:
                tries.append("reset")
                return False
        wait_for(health_ok, 0.5, "GET /v1/health answered after the held connections closed",
                 0.01)
        log("after closing them: GET /v1/health 200 in %.3f s (%d attempt(s))"
            % (time.monotonic() - t1, len(tries)))
        refused = metric(node, "hearsay_api_connections_refused_total") - refused0
        # + the refused normal client, + the retries refused before the closes were seen
        self.assertEqual(refused, EXTRA + 1 + sum(1 for t in tries if t != 200))
        wait_for(lambda: metric(node, "hearsay_api_connections") <= 1, 3,
                 "the gauge back to this one connection")

    def test_default_cap(self):
        with Cluster(1) as c:
            c.start()
            self.check_cap(c[1], 256)
            # the gauge shows what is open
            socks = open_conns(c[1].sock, 10)
            try:
                wait_for(lambda: metric(c[1], "hearsay_api_connections") == 11, 3,
                         "hearsay_api_connections == 11")
            finally:
                for s in socks:
                    s.close()
            self.assertTrue(c[1].running())

    def test_small_cap_and_partial_requests(self):
        with Cluster(1, extra_args=["--max-api-connections", "8"]) as c:
            c.start()
            self.check_cap(c[1], 8)
            # partial requests hold their place until the 10 s request deadline, then free it
            socks = open_conns(c[1].sock, 8, b"GET /v1/members HTTP/1.1\r\nHost: x\r\n")
            try:
                t0 = time.monotonic()
                self.assertFalse(self._answers(c[1]), "refused while the partial ones are open")
                took = wait_for(lambda: self._answers(c[1]), 14, "an answer after the timeout",
                                0.2)
                log("partial requests: refused, then answered %.1f s later"
                    % (time.monotonic() - t0))
                self.assertLess(took, 14)
            finally:
                for s in socks:
                    s.close()

    @staticmethod
    def _answers(node):
        try:
            return node.api("GET", "/v1/health", timeout=1.0)[0] == 200
        except Exception:  # noqa: BLE001 - refused while at the cap
            return False

    def test_bad_value(self):
        with Cluster(1, extra_args=["--max-api-connections", "0"]) as c:
            p = subprocess.run(c[1].argv(), capture_output=True, text=True, timeout=10)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("--max-api-connections", p.stderr + p.stdout)


if __name__ == "__main__":
    harness.main()
