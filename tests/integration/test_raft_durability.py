"""test_raft_durability.py (issue 3): kill -9 seeds at random during 1,000 writes; every
acknowledged write is present on all seeds after restart, and their logs agree.

3 seeds n1-n3 on 127.0.0.1-3 (every node is a seed). A writer thread issues HS_DUR_WRITES
(default 1000) sequential `PUT /v1/config/d<I mod 100>` with body `v<I>` (the configuration
holds at most 128 free-form settings, HS_CC_MAX_SETTINGS) through the unix socket of whichever
seed answers (rotating on 503, other non-200 answers and connection errors, retrying the same
key until it gets a 200 or HS_DUR_KEY_BUDGET_S, default 20 s, runs out). A write that got a 200
is acknowledged; the writer pauses HS_DUR_PACE_MS (default 20) after each one, so that the 1,000
writes span ~25 s and about 20 kills. Meanwhile a fault loop driven by
random.Random(HS_DUR_SEED) (default: chosen from the clock and printed) kill -9s a random seed,
never more than one down at a time, and restarts it after 0.2-1 s, then waits 0.1-0.6 s before
the next kill. At the end every seed is running; once they agree on a leader and on commit,
applied and config version, every key must show the value of its last acknowledged write on
every seed (GET /v1/config/KEY; a later write that was given up on may have committed too and is
accepted, reported), the versions returned by the acknowledged writes must increase strictly (a
lost acknowledged write lets a later write reuse its version) and end at or below the final
version, and the settings of GET /v1/config, the config version and the commit/applied/last
indexes must be equal on all seeds. Prints the seed, the counts and every loss. The seed fixes
the fault schedule (victims, pauses, downtimes), not its interleaving with the writes."""

import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

WRITES = int(os.environ.get("HS_DUR_WRITES", "1000"))
KEY_BUDGET_S = float(os.environ.get("HS_DUR_KEY_BUDGET_S", "20"))
TOTAL_BUDGET_S = float(os.environ.get("HS_DUR_BUDGET_S", "70"))
PACE_S = float(os.environ.get("HS_DUR_PACE_MS", "20")) / 1e3  # pause after each ack


def raft(node):
    try:
        st, body = node.api("GET", "/v1/raft", timeout=1.0)
    except OSError:
        return {}
    return body if st == 200 and isinstance(body, dict) else {}


def restart(node, budget=15.0):
    """Starts a killed seed; returns how many starts failed with "Address already in use" on
    the way (the agent's TCP port was taken while it was down, see the report of issue 3)
    before one succeeded within budget seconds."""
    failures = 0
    t0 = time.monotonic()
    while True:
        node.start(wait=False)
        try:
            node.wait_ready(10)
            return failures
        except AssertionError:
            if "Address already in use" not in node.log_tail(5) or node.running() or \
                    time.monotonic() - t0 > budget:
                raise
            failures += 1
            log("restart of %s refused: Address already in use (%d); retrying"
                % (node.name, failures))
            time.sleep(0.25)


class Writer(threading.Thread):
    def __init__(self, nodes, n, rng):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.n = n
        self.rng = rng
        self.acked = {}          # key -> value of the last write answered 200
        self.n_acked = 0
        self.versions = []       # (i, version) of every acknowledged write
        self.late = {}           # key -> values of later writes given up on
        self.unacked = []        # keys given up on
        self.attempts = 0        # HTTP requests sent (including retries)
        self.errors = {}         # status or exception name -> count
        self.samples = []        # first answer of each kind of error
        self.stop = False
        self.done_at = None

    def run(self):
        idx = 0
        t_all = time.monotonic()
        for i in range(self.n):
            if self.stop or time.monotonic() - t_all > TOTAL_BUDGET_S:
                break
            key, val = "d%d" % (i % 100), "v%d" % i
            t0 = time.monotonic()
            while not self.stop:
                node = self.nodes[idx % len(self.nodes)]
                self.attempts += 1
                try:
                    st, body = node.api("PUT", "/v1/config/" + key, body=val, timeout=10)
                except Exception as e:  # noqa: BLE001 - connection refused/reset, timeouts
                    st, body = type(e).__name__, None
                if st == 200:
                    if not (isinstance(body, dict) and body.get("value") == val):
                        self.errors["200-bad-body"] = self.errors.get("200-bad-body", 0) + 1
                    self.acked[key] = val
                    self.late.pop(key, None)
                    self.n_acked += 1
                    self.versions.append((i, body.get("version") if isinstance(body, dict)
                                          else None))
                    time.sleep(PACE_S)
                    break
                self.errors[str(st)] = self.errors.get(str(st), 0) + 1
                if len(self.samples) < 12 and str(st) not in [x[1] for x in self.samples]:
                    self.samples.append((round(time.monotonic() - t0, 3), str(st), node.name,
                                         key, body))
                idx += 1
                if time.monotonic() - t0 > KEY_BUDGET_S:
                    self.unacked.append(key)
                    self.late.setdefault(key, []).append(val)
                    break
                time.sleep(0.01)
        self.done_at = time.monotonic()


class RaftDurability(unittest.TestCase):
    def test_kill9_during_writes(self):
        seed = int(os.environ.get("HS_DUR_SEED", str(int(time.time() * 1000) % 1000000)))
        rng = random.Random(seed)
        print("SEED HS_DUR_SEED=%d" % seed)
        log("HS_DUR_SEED=%d writes=%d" % (seed, WRITES))
        with Cluster(3, seeds=(1, 2, 3)) as c:
            c.start()
            seeds = c.nodes
            harness.wait_for(lambda: any(raft(n).get("state") == "leader" for n in seeds), 10,
                             "a raft leader", 0.05)
            w = Writer(seeds, WRITES, rng)
            kills = []
            bind_failures = 0
            t_start = time.monotonic()
            w.start()
            try:
                while w.is_alive():
                    time.sleep(rng.uniform(0.1, 0.6))
                    if not w.is_alive():
                        break
                    victim = rng.choice(seeds)
                    was = raft(victim).get("state", "?")
                    victim.kill9()
                    down = rng.uniform(0.2, 1.0)
                    kills.append((round(time.monotonic() - t_start, 3), victim.name, was,
                                  round(down, 3), w.n_acked))
                    time.sleep(down)
                    bind_failures += restart(victim)
            except BaseException:
                w.stop = True
                raise
            finally:
                w.join(TOTAL_BUDGET_S + 30)
            self.assertFalse(w.is_alive(), "writer did not finish")
            took = w.done_at - t_start
            n_leader_kills = sum(1 for k in kills if k[2] == "leader")
            log("writes done in %.1f s: acknowledged %d of %d, requests %d, kills %d (%d of a "
                "leader), errors %s" % (took, w.n_acked, WRITES, w.attempts, len(kills),
                                        n_leader_kills, w.errors))
            for x in w.samples:
                log("first error of its kind: %.3f s into key, %s from %s for %s: %r" % x)
            for k in kills:
                log("kill at %.3f s: %s (was %s), down %.3f s, %d acked before" % k)

            # restart anything down, then wait for one leader and agreeing indexes
            for n in seeds:
                if not n.running():
                    bind_failures += restart(n)

            def agree():
                rs = [raft(n) for n in seeds]
                if any(not r for r in rs):
                    return False
                leaders = {r.get("leader") for r in rs}
                keys = ("commit", "applied", "config_version", "last_index", "term")
                return (len(leaders) == 1 and None not in leaders and
                        sum(r.get("state") == "leader" for r in rs) == 1 and
                        all(len({r.get(k) for r in rs}) == 1 for k in keys) and
                        rs[0].get("applied") == rs[0].get("commit"))
            conv = harness.wait_for(agree, 20, "seeds agree on leader, commit, applied, "
                                    "config_version, last_index", 0.05)
            rs = {n.name: raft(n) for n in seeds}
            log("converged %.3f s after the last restart: %s" % (conv, rs))

            # every key holds its last acknowledged value on every seed
            lost = []
            late_ok = []
            configs = {}
            for n in seeds:
                st, body = n.api("GET", "/v1/config", timeout=5)
                self.assertEqual(st, 200, body)
                configs[n.name] = body
                for key, val in sorted(w.acked.items(), key=lambda kv: int(kv[0][1:])):
                    st, got = n.api("GET", "/v1/config/" + key, timeout=5)
                    gv = got.get("value") if isinstance(got, dict) else got
                    if st == 200 and gv != val and gv in w.late.get(key, []):
                        late_ok.append((n.name, key, val, gv))
                    elif st != 200 or gv != val:
                        lost.append((n.name, key, val, st, gv))
            versions = {name: cfg.get("version") for name, cfg in configs.items()}
            settings_equal = len({repr(sorted(cfg.get("settings", {}).items()))
                                  for cfg in configs.values()}) == 1
            acked_vs = [v for _, v in w.versions]
            non_increasing = [(w.versions[k - 1], w.versions[k]) for k in range(1, len(acked_vs))
                              if not (isinstance(acked_vs[k], int) and
                                      isinstance(acked_vs[k - 1], int) and
                                      acked_vs[k] > acked_vs[k - 1])]
            final_v = min(v for v in versions.values() if isinstance(v, int))
            summary = ("SUMMARY seed=%d attempted=%d acknowledged=%d gave_up=%d requests=%d "
                       "kills=%d leader_kills=%d write_phase_s=%.1f last_acked_version=%s "
                       "final_versions=%s commit=%s lost=%d version_reuse=%d late_commits=%d "
                       "restarts_refused_by_eaddrinuse=%d"
                       % (seed, w.n_acked + len(w.unacked), w.n_acked, len(w.unacked),
                          w.attempts, len(kills), n_leader_kills, took,
                          acked_vs[-1] if acked_vs else None, versions,
                          {k: r.get("commit") for k, r in rs.items()}, len(lost),
                          len(non_increasing), len(late_ok), bind_failures))
            print(summary)
            log(summary)
            for x in lost[:50]:
                log("LOST on %s: %s=%s -> status %s value %r" % x)
            for x in non_increasing[:20]:
                log("acknowledged versions not increasing: %s then %s" % x)
            for x in late_ok[:20]:
                log("on %s %s: acked %s, later given-up write %s committed" % x)
            self.assertEqual(lost, [], "acknowledged writes missing (seed %d); first: %s"
                             % (seed, lost[:10]))
            self.assertEqual(non_increasing, [], "acknowledged writes reused a version "
                             "(an acknowledged entry was lost), seed %d" % seed)
            self.assertEqual(len(set(versions.values())), 1, versions)
            self.assertLessEqual(acked_vs[-1], final_v)
            self.assertTrue(settings_equal, "GET /v1/config settings differ between seeds")
            self.assertGreater(len(kills), 0)
            # the run must have made real progress, or the test proves nothing
            self.assertGreaterEqual(w.n_acked, min(WRITES, 100), "too few writes acknowledged")


if __name__ == "__main__":
    harness.main()
