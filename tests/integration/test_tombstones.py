"""test_tombstones.py: a member that left and was reaped stays gone when its recorded traffic
is replayed, and comes back by starting again (lib/member_tombs.c).

Four sealed agents with --reap-left 2; every agent runs a member-join handler that appends
"$HEARSAY_SELF_NAME $HEARSAY_MEMBER_NAME" to a file. An AF_PACKET capture on lo (as in
test_replay.py) records every datagram and TCP segment from before the agents start (so n4's
join Meet is in it) through 3 s of probing and gossip and n4's graceful leave (SIGTERM). Once
no agent lists n4 any more (reaped), everything recorded is replayed twice: each datagram as
the exact IP packet from its original source, each payload again from 127.0.0.99, each TCP
stream on a new connection. For 8 s after the replay began the views are polled every 100 ms
and every agent's /v1/events stream is read. Passes when n4 never shows up in any member list,
no agent publishes any event about n4 and no member-join handler runs; then n4 starts again
with its data dir (its persisted incarnation) and is alive everywhere within 3 s, leaves, is
reaped, and starts again with a wiped data dir (incarnation 0): alive everywhere within 3 s,
at an incarnation above the one it left with. On the code before tombstones the replayed Meet
brings n4 back alive on every agent and runs the handlers."""

import os
import shutil
import stat
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402
from capture import ATTACKER_IP, Capture, EventWatch, send_again  # noqa: E402

N = 4
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}
WITHOUT_N4 = {"n%d" % i: "alive" for i in range(1, N)}


class Tombstones(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("capturing on lo needs root")

    def joins_file(self, c):
        return os.path.join(c.dir, "joins.txt")

    def joins(self, c):
        try:
            with open(self.joins_file(c)) as f:
                return [line.split() for line in f if line.strip()]
        except OSError:
            return []

    def reaped_everywhere(self, c, others):
        views = c.views(others)
        return bool(views) and all(v is not None and "n4" not in v for v in views.values())

    def test_reaped_member_stays_gone_and_comes_back(self):
        with Cluster(N, secure=True, extra_args=["--reap-left", "2"]) as c:
            script = os.path.join(c.dir, "on-join.sh")
            with open(script, "w") as f:
                f.write('#!/bin/sh\necho "$HEARSAY_SELF_NAME $HEARSAY_MEMBER_NAME" >> %s\n'
                        % self.joins_file(c))
            os.chmod(script, stat.S_IRWXU)
            c.extra_args += ["--handler", "member-join=" + script]
            others = [n for n in c.nodes if n.name != "n4"]
            cap = Capture([n.port for n in c.nodes])
            try:
                c.start()
                c.wait_converged(ALL_ALIVE, 10)
                time.sleep(3.0)  # probes, Pongs and gossip of n4 alive in the capture
                c[4].sigterm()
                wait_for(lambda: c.all_see("n4", "left", others), 5, "n4 left everywhere")
            finally:
                cap.stop()
            took = wait_for(lambda: self.reaped_everywhere(c, others), 10, "n4 reaped", 0.1)
            log("n4 reaped everywhere %.2f s after it was left everywhere" % took)
            streams = cap.streams()
            log("captured %d datagrams and %d TCP streams" % (len(cap.udp), len(streams)))
            self.assertGreater(len(cap.udp), 50)
            wait_for(lambda: len(self.joins(c)) >= N * (N - 1), 5, "the first joins' handlers")
            joins_before = len(self.joins(c))

            watches = [EventWatch(n) for n in others]
            seen = []
            stop = threading.Event()

            def poll():
                while not stop.is_set():
                    for obs, view in c.views(others).items():
                        if view is not None and "n4" in view:
                            seen.append((round(time.monotonic() - harness.T0, 3), obs, view))
                    time.sleep(0.1)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            t0 = time.monotonic()
            try:
                for _ in range(2):
                    send_again(cap, streams)
                    time.sleep(0.5)
                log("replayed %d datagrams twice, from their sources and from %s, and %d "
                    "TCP streams twice" % (len(cap.udp), ATTACKER_IP, len(streams)))
                time.sleep(max(0.0, 8.0 - (time.monotonic() - t0)))
            finally:
                stop.set()
                poller.join(5)
                for w in watches:
                    w.stop()
            about_n4 = [(w.node.name, e.get("event")) for w in watches for e in w.events
                        if e.get("name") == "n4"]
            refused = {}
            for n in others:
                st, text = n.api("GET", "/v1/metrics")
                refused[n.name] = [line for line in str(text).splitlines()
                                   if "tombstone" in line and not line.startswith("#")]
            log("after the replay: views with n4 %s; events about n4 %s; tombstone metrics %s"
                % (seen[:3], about_n4, refused))
            self.assertEqual(seen[:5], [], "n4 came back in a view during the replay")
            self.assertEqual(about_n4, [], "events about n4 during the replay")
            self.assertEqual(len(self.joins(c)), joins_before, "a member-join handler ran")
            self.assertTrue(c.converged(WITHOUT_N4, others))

            # the real n4 starts again with its data dir: its persisted incarnation
            c[4].start(wait=False)
            t1 = time.monotonic()
            wait_for(lambda: c.converged(ALL_ALIVE), 10, "n4 back everywhere")
            back = time.monotonic() - t1
            st, me = c[4].api("GET", "/v1/self")
            inc_back = me.get("incarnation")
            log("n4 restarted with its data dir: alive everywhere %.2f s after its start, "
                "incarnation %s" % (back, inc_back))

            # it leaves again, is reaped, and starts with a wiped data dir (incarnation 0)
            c[4].sigterm()
            wait_for(lambda: c.all_see("n4", "left", others), 5, "n4 left again")
            wait_for(lambda: self.reaped_everywhere(c, others), 10, "n4 reaped again", 0.1)
            shutil.rmtree(c[4].data_dir)
            os.makedirs(c[4].data_dir)
            c[4].start(wait=False)
            t2 = time.monotonic()
            wait_for(lambda: c.converged(ALL_ALIVE), 10, "n4 back everywhere after a wipe")
            wiped = time.monotonic() - t2
            st, me = c[4].api("GET", "/v1/self")
            log("n4 restarted with a wiped data dir: alive everywhere %.2f s after its start, "
                "incarnation %s" % (wiped, me.get("incarnation")))
            self.assertGreater(me.get("incarnation"), inc_back)
        print("MEASURE restart_after_reap_s=%.3f wiped_restart_after_reap_s=%.3f"
              % (back, wiped))
        self.assertLessEqual(back, 3.0)
        self.assertLessEqual(wiped, 3.0)


if __name__ == "__main__":
    harness.main()
