"""test_sd_notify.py: hearsayd speaks the systemd notification protocol without libsystemd.
Starts one agent with NOTIFY_SOCKET pointing at a datagram socket this test owns (a path, and
an abstract '@' name) and WATCHDOG_USEC=500000; expects READY=1, a STATUS= line, WATCHDOG=1
about every 250 ms, and STOPPING=1 after SIGTERM."""

import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import log  # noqa: E402


def collect(sock, until, seconds):
    """Datagrams received until until(msgs) is true or seconds pass."""
    msgs = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end and not until(msgs):
        sock.settimeout(max(0.01, t_end - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        msgs.append((time.monotonic(), data.decode("utf-8", "replace")))
    return msgs


class SdNotify(unittest.TestCase):
    def run_agent(self, abstract):
        hearsayd = harness.binary("hearsayd")
        d = harness.tempfile.mkdtemp(prefix="hs-it-notify-")
        harness._cleanups.append(lambda: harness.shutil.rmtree(d, ignore_errors=True))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "hs-it-notify-%d" % os.getpid()
            s.bind("\0" + name)
            notify = "@" + name
        else:
            notify = os.path.join(d, "notify.sock")
            s.bind(notify)
        port = harness.pick_port(["127.0.0.1"])
        env = dict(os.environ, NOTIFY_SOCKET=notify, WATCHDOG_USEC="500000")
        env.pop("WATCHDOG_PID", None)
        argv = [hearsayd, "--name", "solo", "--bind", "127.0.0.1:%d" % port,
                "--socket", os.path.join(d, "api.sock"), "--data-dir", os.path.join(d, "data"),
                "--insecure", "--seed", "solo=127.0.0.1:%d" % port]
        logf = open(os.path.join(d, "hearsayd.log"), "ab")
        p = harness.subprocess.Popen(argv, stdout=logf, stderr=logf, env=env,
                                     stdin=harness.subprocess.DEVNULL)
        logf.close()
        harness._procs[p.pid] = p
        try:
            msgs = collect(s, lambda m: any("READY=1" in x for _, x in m), 5)
            self.assertTrue(any(x == "READY=1" for _, x in msgs), msgs)
            msgs += collect(s, lambda m: sum(x == "WATCHDOG=1" for _, x in m) >= 5, 3)
            texts = [x for _, x in msgs]
            log("notify (%s): %s" % ("abstract" if abstract else "path", texts[:6]))
            status = [x for x in texts if x.startswith("STATUS=")]
            self.assertTrue(status, texts)
            self.assertRegex(status[0], r"^STATUS=alive=\d+ suspect=\d+ failed=\d+ raft=\w+$")
            wd = [t for t, x in msgs if x == "WATCHDOG=1"]
            self.assertGreaterEqual(len(wd), 5, texts)
            gaps = [b - a for a, b in zip(wd, wd[1:])]
            log("watchdog gaps: %s" % ["%.3f" % g for g in gaps])
            self.assertTrue(all(0.15 < g < 0.45 for g in gaps), gaps)
            # the single seed elects itself; the status follows
            more = collect(s, lambda m: any("raft=leader" in x for _, x in m), 3)
            self.assertTrue(any("raft=leader" in x for _, x in more) or
                            any("raft=leader" in x for x in status), texts + [x for _, x in more])
            p.send_signal(signal.SIGTERM)
            msgs = collect(s, lambda m: any(x == "STOPPING=1" for _, x in m), 5)
            self.assertTrue(any(x == "STOPPING=1" for _, x in msgs), msgs)
            self.assertEqual(harness.reap(p, 5), 0)
        finally:
            if p.poll() is None:
                p.kill()
                harness.reap(p)
            s.close()

    def test_path_socket(self):
        self.run_agent(False)

    def test_abstract_socket(self):
        self.run_agent(True)


if __name__ == "__main__":
    harness.main()
