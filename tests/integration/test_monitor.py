"""test_monitor.py: `hearsay monitor` against real agents logging at info: a debug monitor
sees debug lines the agent does not write to its own log, an info monitor does not; a client
that connects to GET /v1/monitor and never reads does not slow the agent down, its lines are
dropped and counted, and a "N lines dropped" line follows once it reads; the CLI exits 0 on
SIGINT and 1 with a message when the agent stops."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

ALL = {"n1": "alive", "n2": "alive"}


class Monitor:
    def __init__(self, cluster, node, *args):
        self.p = subprocess.Popen([cluster.hearsay, "--socket", node.sock, "monitor"]
                                  + list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        harness._procs[self.p.pid] = self.p
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text):
        return any(text in ln for ln in self.lines)

    def end(self, sig=None, timeout=5):
        if sig is not None:
            self.p.send_signal(sig)
        rc = harness.reap(self.p, timeout)
        self.t.join(2)
        err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        return rc, err


def metric(node, name):
    st, text = node.api("GET", "/v1/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class MonitorTest(unittest.TestCase):
    def test_levels_slow_client_and_exit(self):
        with Cluster(2, log_level="info") as c:
            c.start()
            c.wait_converged(ALL, 5)
            dbg = Monitor(c, c[1], "--log-level", "debug")
            harness.wait_for(lambda: dbg.saw("[INFO] monitor: a stream at level DEBUG"), 3,
                             "the debug monitor's own start")
            info = Monitor(c, c[1])
            harness.wait_for(lambda: dbg.saw("[INFO] monitor: a stream at level INFO"), 3,
                             "the debug monitor sees the info monitor start")
            p = c[2].cli("event", "monitor-probe", "x")
            self.assertEqual(p.returncode, 0, p.stderr)
            harness.wait_for(lambda: dbg.saw("[DEBUG] user-event monitor-probe from n2"), 5,
                             "the user event's debug line on the debug monitor")
            time.sleep(0.3)
            self.assertFalse(info.saw("user-event monitor-probe"), info.lines)
            with open(c[1].logfile, errors="replace") as f:
                self.assertNotIn("user-event monitor-probe", f.read())  # agent logs at info

            # a client that never reads: big log lines (member-update events with 400-byte
            # tags), the agent stays responsive and drops what does not fit
            slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            slow.connect(c[1].sock)
            slow.sendall(b"GET /v1/monitor?level=debug HTTP/1.1\r\nHost: localhost\r\n\r\n")
            time.sleep(0.2)
            worst = 0.0
            for i in range(400):
                t0 = time.monotonic()
                st, _ = c[1].api("PUT", "/v1/tags", {"set": {"big": ("%03d" % i) * 133}})
                worst = max(worst, time.monotonic() - t0)
                self.assertEqual(st, 200)
            dropped = metric(c[1], "hearsay_monitor_lines_dropped_total")
            log("slow monitor: %s lines dropped, slowest tag change %.3f s" % (dropped, worst))
            self.assertGreater(dropped, 0)
            self.assertLess(worst, 0.5)
            t0 = time.monotonic()
            self.assertEqual(c[1].api("GET", "/v1/self", timeout=1.0)[0], 200)
            self.assertLess(time.monotonic() - t0, 0.5)
            # once it reads, the marker comes
            slow.settimeout(5)
            got, deadline = b"", time.monotonic() + 5
            while b"lines dropped" not in got and time.monotonic() < deadline:
                chunk = slow.recv(65536)
                if not chunk:
                    break
                got += chunk
            slow.close()
            self.assertIn(b"lines dropped (the client read too slowly)", got)
            # the CLI monitors (which read) lost nothing
            self.assertFalse(dbg.saw("lines dropped"))

            rc, err = info.end(signal.SIGINT)
            self.assertEqual(rc, 0, err)
            on2 = Monitor(c, c[2])
            harness.wait_for(lambda: on2.saw("monitor: a stream"), 3, "monitor on n2")
            c[2].sigterm()
            rc, err = on2.end(timeout=5)
            self.assertEqual(rc, 1, err)
            self.assertIn("ended the log stream", err)
            rc, err = dbg.end(signal.SIGINT)
            self.assertEqual(rc, 0, err)
            p = c[2].cli("monitor")
            self.assertEqual(p.returncode, 2, p.stderr)  # no agent
            p = c[1].cli("monitor", "--log-level", "chatty")
            self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    unittest.main()
