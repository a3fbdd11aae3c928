"""test_checker.py: the chaos runner's history checks (checker.py) on made-up histories, so
that every rule is known to fire when it should and to stay quiet when the schedule explains
what the agents saw. No process, no root; runs in well under a second."""

import argparse
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402

NODES = ["n%d" % i for i in range(1, 11)]
SEEDS = ["n1", "n2", "n3"]


def args(*extra):
    p = argparse.ArgumentParser()
    checker.add_args(p)
    return p.parse_args(list(extra))


def ev(t, observer, name, status, inc=0, kind=None, gen=1):
    kind = kind or {"failed": "member-failed", "alive": "member-join",
                    "suspect": "member-suspect"}[status]
    return (t, observer, gen, {"id": int(t * 1000), "event": kind, "name": name,
                               "status": status, "incarnation": inc})


def fault(fid, kind, nodes, start, end, **params):
    return {"id": fid, "kind": kind, "nodes": nodes, "start": start, "end": end,
            "params": params}


def history(faults=(), events=(), writes=None, final=None, **kw):
    writes = writes if writes is not None else [
        {"i": 0, "key": "c0", "value": "w0", "acked": True, "version": 5, "status": 200,
         "cli": False, "t_end": 1.0}]
    cfg = {"version": 5, "settings": {"c0": "w0"}, "keys": 0}
    final = final or {"agree_s": 0.1, "raft": {s: {"commit": 9} for s in SEEDS},
                      "config": {s: dict(cfg) for s in SEEDS}, "consistent": {"c0": "w0"}}
    d = dict(seed=1, nodes=NODES, seeds=SEEDS, faults=list(faults), events=list(events),
             polls=[], writes=writes, rotation=[], crashes=[],
             starts={n: [(0.0, 0.5)] for n in NODES}, t_last=100.0, converge_s=0.5,
             converge_views=None, converge_trace=[], final=final, sanitizer=None,
             rotate=False, notes=[], load=[], oversleep=[], agent_cpu_pct=1.0,
             duration=100.0)
    d.update(kw)
    return checker.History(**d)


def rules(res):
    return sorted(v["rule"] for v in res["violations"])


class Ring(unittest.TestCase):
    def test_hash_matches_core(self):
        # hs_hash_str() of lib/prng.h, printed by a C program including it
        self.assertEqual(checker.ring_hash("n1"), 6606165266220292521)
        self.assertEqual(checker.ring_hash("n30"), 3540122439341175896)

    def test_observers_are_predecessors(self):
        ring = sorted(NODES, key=checker.ring_hash)
        x = ring[0]
        self.assertEqual(checker.observers(x, NODES), [ring[-1], ring[-2], ring[-3], ring[-4],
                                                       ring[-5]])


class RuleA(unittest.TestCase):
    def test_healthy_node_failed_is_flagged(self):
        h = history(events=[ev(10.0, "n2", "n5", "failed"), ev(10.01, "n3", "n5", "failed")])
        res = checker.check(h, args())
        self.assertEqual(rules(res), ["a"])
        self.assertIn("declared-while-healthy", res["violations"][0]["what"])

    def test_paused_node_failed_is_explained(self):
        h = history(faults=[fault(0, "pause", ["n5"], 8.0, 11.0)],
                    events=[ev(10.0, "n2", "n5", "failed")])
        self.assertEqual(rules(checker.check(h, args())), [])

    def test_failed_shortly_after_resume_is_explained_within_grace(self):
        h = history(faults=[fault(0, "pause", ["n5"], 8.0, 11.0)],
                    events=[ev(13.5, "n2", "n5", "failed")])
        self.assertEqual(rules(checker.check(h, args())), [])
        self.assertEqual(rules(checker.check(h, args("--grace-after", "1"))), ["a"])

    def test_light_loss_is_no_excuse_heavy_loss_is(self):
        light = history(faults=[fault(0, "loss", ["n5"], 5.0, 20.0, p=0.3)],
                        events=[ev(10.0, "n2", "n5", "failed")])
        self.assertEqual(rules(checker.check(light, args())), ["a"])
        heavy = history(faults=[fault(0, "loss", ["n5"], 5.0, 20.0, p=0.8)],
                        events=[ev(10.0, "n2", "n5", "failed")])
        self.assertEqual(rules(checker.check(heavy, args())), [])

    def test_minority_side_sees_majority_failed_is_explained(self):
        part = fault(0, "partition", ["n9", "n10"], 5.0, 15.0, minority=["n9", "n10"],
                     majority=NODES[:8])
        h = history(faults=[part], events=[ev(9.0, "n9", "n4", "failed"),
                                           ev(9.0, "n1", "n9", "failed")])
        self.assertEqual(rules(checker.check(h, args())), [])

    def test_cut_off_verdict_shown_after_heal(self):
        part = fault(0, "partition", ["n8", "n9", "n10"], 5.0, 15.0,
                     minority=["n8", "n9", "n10"], majority=NODES[:7])
        evs = [ev(9.0, "n9", "n4", "failed"), ev(9.0, "n10", "n4", "failed"),
               ev(19.0, "n2", "n4", "failed")]  # merged into the majority after the heal
        res = checker.check(history(faults=[part], events=evs), args())
        self.assertEqual(rules(res), ["a"])
        self.assertIn("cut-off-verdict", res["violations"][0]["what"])


class RuleB(unittest.TestCase):
    def kill(self, down=10.0):
        return fault(0, "kill", ["n5"], 10.0, 10.0 + down, role="node")

    def detections(self, delay, skip=()):
        return [ev(10.0 + delay, o, "n5", "failed") for o in NODES if o != "n5" and
                o not in skip]

    def starts(self, down=10.0):
        s = {n: [(0.0, 0.5)] for n in NODES}
        s["n5"].append((10.0 + down, 10.0 + down + 0.2))
        return s

    def test_detected_in_time(self):
        h = history(faults=[self.kill()], events=self.detections(2.0), starts=self.starts())
        res = checker.check(h, args())
        self.assertEqual(rules(res), [])
        self.assertEqual(res["summary"]["kills"]["detect_s_judged"]["max"], 2.0)

    def test_detected_late(self):
        h = history(faults=[self.kill()], events=self.detections(6.5), starts=self.starts())
        self.assertEqual(rules(checker.check(h, args())), ["b"])

    def test_one_member_never_learns(self):
        h = history(faults=[self.kill()], events=self.detections(2.0, skip=("n7",)),
                    starts=self.starts())
        res = checker.check(h, args())
        self.assertEqual(rules(res), ["b"])
        self.assertIn("n7", res["violations"][0]["what"])

    def test_paused_member_not_counted(self):
        h = history(faults=[self.kill(), fault(1, "pause", ["n7"], 11.0, 13.0)],
                    events=self.detections(2.0, skip=("n7",)), starts=self.starts())
        self.assertEqual(rules(checker.check(h, args())), [])

    def test_quick_restart_not_judged(self):
        h = history(faults=[self.kill(down=2.0)], events=[], starts=self.starts(2.0))
        res = checker.check(h, args())
        self.assertEqual(rules(res), [])
        self.assertEqual(res["summary"]["kills"]["judged"], 0)

    def test_vote_group_impaired_not_judged(self):
        obs = checker.observers("n5", NODES)
        pauses = [fault(i + 1, "pause", [o], 9.5, 14.0) for i, o in enumerate(obs[:3])]
        h = history(faults=[self.kill()] + pauses, events=[], starts=self.starts())
        res = checker.check(h, args())
        self.assertEqual(rules(res), [])
        self.assertEqual(res["summary"]["kills"]["not_judged"], {"vote group impaired": 1})

    def no_majority_history(self, delay, cut_end=14.0):
        # the four members outside n5's vote group are cut off, and two of its observers
        # are paused: the three healthy observers reach 3 of the 10 their agents hold live
        obs = checker.observers("n5", NODES)
        cut = [x for x in NODES if x != "n5" and x not in obs]
        big = [x for x in NODES if x not in cut]
        faults = [self.kill(), fault(1, "partition", cut, 9.0, cut_end, minority=cut,
                                     majority=big, direction="both")]
        faults += [fault(2 + i, "pause", [x], 9.0, cut_end) for i, x in enumerate(obs[:2])]
        joins = [ev(0.1, o, x, "alive") for o in NODES for x in NODES if x != o]
        return obs, history(faults=faults, events=joins + self.detections(delay),
                            starts=self.starts())

    def test_deadline_runs_from_majority_reachable(self):
        # detected 6.5 s after the kill, 2.5 s after a majority was reachable again
        obs, h = self.no_majority_history(6.5)
        res = checker.check(h, args())
        self.assertEqual(rules(res), [])
        k = res["summary"]["kills"]
        self.assertEqual(k["waited_for_majority"], 1)
        self.assertEqual(k["majority_wait_s"]["max"], 4.0)
        self.assertEqual(k["detect_s_judged"]["max"], 2.5)

    def test_late_after_majority_reachable(self):
        obs, h = self.no_majority_history(9.5)
        res = checker.check(h, args())
        self.assertEqual(rules(res), ["b"])
        self.assertIn("after a majority was reachable again", res["violations"][0]["what"])


class RulesCDE(unittest.TestCase):
    def test_no_convergence(self):
        self.assertEqual(rules(checker.check(history(converge_s=None), args())), ["c"])
        self.assertEqual(rules(checker.check(history(converge_s=12.0), args())), ["c"])

    def test_lost_write(self):
        writes = [{"i": 0, "key": "c0", "value": "w0", "acked": True, "version": 5,
                   "status": 200, "cli": False, "t_end": 1.0},
                  {"i": 1, "key": "c0", "value": "w1", "acked": True, "version": 6,
                   "status": 200, "cli": True, "t_end": 2.0}]
        res = checker.check(history(writes=writes), args())
        self.assertIn("d", rules(res))
        self.assertTrue(any("c0=w1" in v["what"] for v in res["violations"]))

    def test_unacknowledged_later_write_may_win(self):
        writes = [{"i": 0, "key": "c0", "value": "wx", "acked": True, "version": 4,
                   "status": 200, "cli": False, "t_end": 1.0},
                  {"i": 1, "key": "c0", "value": "w0", "acked": False, "version": None,
                   "status": 503, "cli": False, "t_end": 2.0}]
        self.assertEqual(rules(checker.check(history(writes=writes), args())), [])

    def test_version_reuse(self):
        writes = [{"i": 0, "key": "c1", "value": "a", "acked": True, "version": 5,
                   "status": 200, "cli": False, "t_end": 1.0},
                  {"i": 1, "key": "c0", "value": "w0", "acked": True, "version": 5,
                   "status": 200, "cli": False, "t_end": 2.0}]
        final = {"agree_s": 0.1, "raft": {}, "consistent": {"c0": "w0", "c1": "a"},
                 "config": {s: {"version": 5, "settings": {"c0": "w0", "c1": "a"}, "keys": 0}
                            for s in SEEDS}}
        self.assertEqual(rules(checker.check(history(writes=writes, final=final), args())),
                         ["d"])

    def test_seeds_disagree(self):
        final = {"agree_s": None, "raft": {}, "consistent": {"c0": "w0"},
                 "config": {s: {"version": 5, "settings": {"c0": "w0"}, "keys": 0}
                            for s in SEEDS}}
        self.assertEqual(rules(checker.check(history(final=final), args())), ["d"])

    def test_crash_and_sanitizer(self):
        h = history(crashes=[{"t": 3.0, "node": "n4", "rc": -6, "log_tail": "boom\n"}],
                    sanitizer="sanitizer reports in agent logs: ['n4: runtime error:']")
        self.assertEqual(rules(checker.check(h, args())), ["e", "e"])


if __name__ == "__main__":
    unittest.main(verbosity=1)
