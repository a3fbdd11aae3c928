"""test_quiet_seeds.py (issue 19, quiet seeds): an idle Raft group costs little, and a dead
leader is still replaced fast. 3 sealed seeds (n1-n3) and 2 members (n4, n5) on 127.0.0.1-5.
- idle: over IDLE_S seconds a follower seed gets no stream frame at all (heartbeats,
  acknowledgements and the members' hint fetches are datagrams), opens no new connection (its
  streams to the other seeds stay open), and receives at most FOLLOWER_MAX payload bytes/s
  (the agent's own counters; bench/idle_seeds.py counts the IP bytes for docs/raft.md);
- kill -9 of the leader, KILLS times: a survivor is leader within LOST_S (below the 750 ms
  minimum election timeout: only the ended streams can start the election that early), and
  the restarted seed follows it;
- SIGSTOP of the leader (no stream ends): the others still elect within PAUSE_S on their
  election timeout, and the old leader follows after SIGCONT."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

ALL = {"n%d" % i: "alive" for i in range(1, 6)}
IDLE_S = float(os.environ.get("HS_QUIET_IDLE_S", "6"))
FOLLOWER_MAX = 800  # payload bytes/s (heartbeats, gossip); the IP-level target is 1,000
KILLS = int(os.environ.get("HS_QUIET_KILLS", "3"))
LOST_S = 0.6
PAUSE_S = 5.0


def raft(node):
    return harness.raft_status(node, timeout=0.5) or {}


def metrics(node):
    st, text = node.api("GET", "/v1/metrics")
    out = {}
    for line in str(text).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def leader(seeds):
    for s in seeds:
        if s.running() and raft(s).get("state") == "leader":
            return s
    return None


class QuietSeeds(unittest.TestCase):
    def setUp(self):
        self.c = Cluster(5, seeds=(1, 2, 3))
        self.c.__enter__()
        self.c.start()
        self.c.wait_converged(ALL, 15)
        self.seeds = [self.c[i] for i in (1, 2, 3)]
        wait_for(lambda: leader(self.seeds), 10, "a leader")

    def tearDown(self):
        self.c.__exit__(None, None, None)

    def test_idle_follower(self):
        time.sleep(2)  # past the first fetches and the bootstrap writes
        l = leader(self.seeds)
        f = [s for s in self.seeds if s is not l][0]
        m0, t0 = metrics(f), time.monotonic()
        time.sleep(IDLE_S)
        m1, dt = metrics(f), time.monotonic() - t0
        d = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
        frames = d['hearsay_transport_packets_in_total{transport="tcp"}']
        connects = d["hearsay_tcp_connects_total"] + d["hearsay_tcp_accepted_total"]
        rate = (d['hearsay_transport_bytes_in_total{transport="udp"}'] +
                d['hearsay_transport_bytes_in_total{transport="tcp"}']) / dt
        log("follower %s over %.1f s: %d frames, %d connections, %.0f B/s" %
            (f.name, dt, frames, connects, rate))
        self.assertEqual(frames, 0, "an idle follower received stream frames")
        self.assertEqual(connects, 0, "an idle follower opened or accepted connections")
        self.assertLessEqual(rate, FOLLOWER_MAX)
        self.assertEqual(m1['hearsay_tcp_connections{direction="out"}'], 2,
                         "a seed holds a stream open to each other seed")

    def test_killed_leader_replaced_at_once(self):
        times = []
        for k in range(KILLS):
            l = leader(self.seeds)
            term = raft(l).get("term")
            time.sleep(1.0)  # streams up, leases fresh
            t0 = time.monotonic()
            l.kill9()
            others = [s for s in self.seeds if s is not l]
            wait_for(lambda: leader(others), 5, "a new leader", 0.01)
            times.append(time.monotonic() - t0)
            nl = leader(others)
            log("kill %d: %s killed, %s leader after %.3f s" % (k + 1, l.name, nl.name,
                                                                times[-1]))
            self.assertGreater(raft(nl).get("term"), term)
            l.start()
            wait_for(lambda: raft(l).get("leader") == nl.name, 10, "the restarted seed follows")
        log("kill -9 to a new leader: %s" % harness.percentile_summary(times))
        self.assertLessEqual(max(times), LOST_S)

    def test_paused_leader_replaced_by_timeout(self):
        l = leader(self.seeds)
        others = [s for s in self.seeds if s is not l]
        t0 = time.monotonic()
        l.sigstop()
        try:
            wait_for(lambda: leader(others), PAUSE_S, "a new leader", 0.02)
            nl = leader(others)
            log("SIGSTOP of %s: %s leader after %.3f s" % (l.name, nl.name,
                                                          time.monotonic() - t0))
        finally:
            l.sigcont()
        wait_for(lambda: raft(l).get("leader") == nl.name and raft(l).get("state") == "follower",
                 10, "the paused leader follows")


if __name__ == "__main__":
    harness.main()
