"""test_replay.py: an on-path attacker without the key records every datagram and stream
frame of a sealed five-agent cluster (three of them Raft seeds) while one member is
suspected (SIGSTOP until someone suspects it, then SIGCONT), one fails (kill -9, restart,
rejoin) and one leaves (graceful leave, restart, rejoin); once the cluster has recovered it
replays everything it recorded:

  1. every UDP datagram as the exact IP packet (original source address and port, so the
     receiver answers the original sender), in the recorded order;
  2. every UDP payload again from the attacker's own socket (127.0.0.99) to the same
     destination;
  3. every TCP stream (the recorded client-to-server bytes: transport hello, then frames) on
     a new connection to the same destination.

Then it watches for 8 s (longer than the 5 s vote validity). Passes when no replay changes
anything: every agent sees all five alive at every poll, no agent publishes a suspect,
failed or leave event after the cluster recovered, no incarnation seen by any agent goes
back, and no incarnation moves at all (a replayed vote or suspected Ping about a member's
current incarnation would make it refute). The capture is an AF_PACKET socket on "lo"
(root only; skipped otherwise); the replay uses a raw IP socket for the exact packets."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from capture import Capture, EventWatch, dropped, frames_of, send_again  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

N = 5
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}
def accepted(c):
    """Sum over every agent of the messages its membership core accepted, and of the
    datagrams and frames its transports received."""
    core = udp = tcp = 0
    for n in c.nodes:
        st, text = n.api("GET", "/v1/metrics")
        for line in str(text).splitlines():
            if line.startswith("hearsay_messages_in_total "):
                core += int(line.split()[1])
            elif line.startswith('hearsay_transport_packets_in_total{transport="udp"}'):
                udp += int(line.split()[1])
            elif line.startswith('hearsay_transport_packets_in_total{transport="tcp"}'):
                tcp += int(line.split()[1])
    return core, udp, tcp


def refused(c):
    """Sum over every agent of what the secure channel refused (replays, unproven senders,
    bad cookies and hellos)."""
    return sum(sum(v for k, v in dropped(n).items() if k in ("replay", "unproven", "bad_cookie"))
               for n in c.nodes)


def incarnations(c):
    """{observer: {member: incarnation}} from every agent's /v1/members."""
    out = {}
    for n in c.nodes:
        st, body = n.api("GET", "/v1/members")
        assert st == 200, body
        out[n.name] = {m["name"]: m["incarnation"] for m in body["members"]}
    return out


class Replay(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("capturing on lo needs root")

    def test_replay_changes_nothing(self):
        with Cluster(N, secure=True, seeds=(1, 2, 3)) as c:
            cap = Capture([n.port for n in c.nodes])
            try:
                self.record(c)
            finally:
                cap.stop()
            streams = cap.streams()
            frames = sum(len(frames_of(b)) for b in streams.values())
            log("captured %d packets: %d datagrams, %d TCP streams with %d frames"
                % (cap.seen, len(cap.udp), len(streams), frames))
            self.assertGreater(len(cap.udp), 200)
            self.assertGreater(frames, 5)
            self.replay_and_watch(c, cap, streams)

    def record(self, c):
        c.start()
        c.wait_converged(ALL_ALIVE, 10)
        # a tags change, so updates are in the capture too
        st, _ = c[2].api("PUT", "/v1/tags", {"set": {"role": "db"}})
        self.assertEqual(st, 200)
        time.sleep(2.0)

        # suspicion: stop n3 until some agent suspects it, then resume
        others = [n for n in c.nodes if n.name != "n3"]
        c[3].sigstop()
        try:
            took = wait_for(lambda: any((v or {}).get("n3") == "suspect"
                                        for v in c.views(others).values()), 5,
                            "n3 suspect somewhere", 0.02)
        finally:
            c[3].sigcont()
        log("suspicion: n3 suspected %.2f s after SIGSTOP, resumed" % took)
        c.wait_converged(ALL_ALIVE, 10, what="all alive after the pause")
        time.sleep(2.0)

        # failure: kill -9 n5, wait until everyone has it failed, restart it
        survivors = [n for n in c.nodes if n.name != "n5"]
        c[5].kill9()
        took = wait_for(lambda: c.all_see("n5", "failed", survivors), 10, "n5 failed", 0.05)
        log("failure: n5 failed everywhere %.2f s after kill -9; restarting" % took)
        c[5].start()
        c.wait_converged(ALL_ALIVE, 10, what="all alive after n5's restart")
        time.sleep(2.0)

        # leave: n4 leaves gracefully, then comes back
        rest = [n for n in c.nodes if n.name != "n4"]
        c[4].sigterm()
        took = wait_for(lambda: c.all_see("n4", "left", rest), 10, "n4 left", 0.05)
        log("leave: n4 left everywhere %.2f s after SIGTERM; restarting" % took)
        c[4].start()
        c.wait_converged(ALL_ALIVE, 10, what="all alive after n4's restart")
        time.sleep(3.0)

    def replay_and_watch(self, c, cap, streams):
        c.wait_converged(ALL_ALIVE, 10, what="recovered before the replay")
        time.sleep(6.0)  # older than any vote's validity
        before = incarnations(c)
        counts0 = accepted(c)
        refused0 = refused(c)
        watches = [EventWatch(n) for n in c.nodes]
        bad_views, low = [], []
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                for obs, view in c.views().items():
                    if view != ALL_ALIVE:
                        bad_views.append((round(time.monotonic() - harness.T0, 3), obs, view))
                time.sleep(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        t0 = time.monotonic()
        try:
            send_again(cap, streams, gap=1.0)
            wait = 8.0 - (time.monotonic() - t0)
            time.sleep(max(wait, 0) + 8.0)
            counts1 = accepted(c)
            refused1 = refused(c)
            after = incarnations(c)
            # the watchers work: a tags change shows up on every one
            st, _ = c[2].api("PUT", "/v1/tags", {"set": {"role": "replayed"}})
            self.assertEqual(st, 200)
            wait_for(lambda: all(any(e.get("event") == "member-update" for e in w.events)
                                 for w in watches if w.node.name != "n2"), 5,
                     "member-update on every other agent's watcher")
        finally:
            stop.set()
            poller.join(5)
            for w in watches:
                w.stop()

        events = [(w.node.name, e) for w in watches for e in w.events
                  if e.get("event") in ("member-suspect", "member-failed", "member-leave")]
        for obs in before:
            for m, inc in before[obs].items():
                a = after[obs].get(m)
                if a is None or a < inc:
                    low.append("%s sees %s at %s, was %s" % (obs, m, a, inc))
        moved = ["%s sees %s at %s, was %s" % (obs, m, after[obs].get(m), inc)
                 for obs in before for m, inc in before[obs].items()
                 if after[obs].get(m) != inc]
        log("during the replay the agents took in %d more datagrams and %d more frames, "
            "and their cores accepted %d more messages (%d datagrams and %d frames replayed)"
            % (counts1[1] - counts0[1], counts1[2] - counts0[2], counts1[0] - counts0[0],
               2 * len(cap.udp), sum(len(frames_of(b)) for b in streams.values())))
        for w in watches:
            log("%s published %s during the replay" % (w.node.name, [e.get("event") for e in
                                                                     w.events]))
        st, metrics = c[1].api("GET", "/v1/metrics")
        log("n1 metrics: " + "; ".join(
            line for line in str(metrics).splitlines()
            if line.startswith(("hearsay_suspicions_total", "hearsay_refutations_total",
                                "hearsay_failures_declared_total"))))
        # the secure channel refused every replayed datagram before any core saw it
        log("the channel refused %d datagrams and streams during the replay" %
            (refused1 - refused0))
        self.assertGreaterEqual(refused1 - refused0, 0.95 * 2 * len(cap.udp))
        self.assertEqual(bad_views[:5], [], "views changed during the replay")
        self.assertEqual(events, [], "suspect/failed/leave events during the replay")
        self.assertEqual(low, [], "incarnations went back")
        self.assertEqual(moved, [], "incarnations moved during the replay")
        c.wait_converged(ALL_ALIVE, 5)


if __name__ == "__main__":
    harness.main()
