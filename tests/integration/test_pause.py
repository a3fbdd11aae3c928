"""test_pause.py: an agent paused with SIGSTOP for 0.6 s and resumed is never shown failed by
any observer (views polled every 50 ms from the pause until it is alive again) and is alive
on every agent within 2 s of SIGCONT (three trials on different agents); an agent stopped 400 ms
of every 500 ms for 8 s is never shown failed either. A stop shorter than indirect_timeout +
verify_interval (250 + 500 ms) can never make a majority of its observers vote
(docs/protocol.md, "Timeline of one detection")."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

N = 5
ALL_ALIVE = {"n%d" % i: "alive" for i in range(1, N + 1)}


class Pause(unittest.TestCase):
    def test_sigstop_600ms_is_not_failure(self):
        recover = []
        with Cluster(N) as c:
            c.start()
            c.wait_converged(ALL_ALIVE, 5)
            time.sleep(1.0)
            for trial, victim in enumerate([c[3], c[5], c[2]]):
                others = [n for n in c.nodes if n is not victim]
                marks = []
                t_stop = victim.sigstop()
                while time.monotonic() - t_stop < 0.6:
                    for obs, v in c.views(others).items():
                        st = (v or {}).get(victim.name)
                        if st != "alive":
                            marks.append((round(time.monotonic() - t_stop, 3), obs, st))
                    time.sleep(0.05)
                t_cont = victim.sigcont()
                took = None
                while time.monotonic() - t_cont < 5:
                    views = c.views()
                    for obs, v in views.items():
                        st = (v or {}).get(victim.name)
                        if st != "alive":
                            marks.append((round(time.monotonic() - t_stop, 3), obs, st))
                    if all(v == ALL_ALIVE for v in views.values()):
                        took = time.monotonic() - t_cont
                        break
                    time.sleep(0.05)
                failed = [m for m in marks if m[2] == "failed"]
                suspect = [m for m in marks if m[2] == "suspect"]
                log("trial %d: %s paused 0.6 s: %d suspect marks, %d failed marks, alive "
                    "everywhere %s s after SIGCONT" % (trial, victim.name, len(suspect),
                                                      len(failed),
                                                      "%.3f" % took if took else "NOT"))
                self.assertEqual(failed, [], "observers marked the paused agent failed")
                self.assertIsNotNone(took, "not alive everywhere 5 s after SIGCONT: %s"
                                     % c.views())
                recover.append(took)
                time.sleep(1.5)
        print("MEASURE pause_recover_s max=%.3f all=%s"
              % (max(recover), ",".join("%.3f" % x for x in recover)))
        self.assertLessEqual(max(recover), 2.0)

    def test_stopped_400_of_every_500_ms_is_not_failure(self):
        with Cluster(N) as c:
            c.start()
            c.wait_converged(ALL_ALIVE, 5)
            time.sleep(1.0)
            victim = c[4]
            others = [n for n in c.nodes if n is not victim]
            failed = []
            t0 = time.monotonic()
            cycles = 0
            while time.monotonic() - t0 < 8:
                victim.sigstop()
                t_stop = time.monotonic()
                while time.monotonic() - t_stop < 0.4:
                    for obs, v in c.views(others).items():
                        if (v or {}).get(victim.name) == "failed":
                            failed.append((round(time.monotonic() - t0, 3), obs))
                    time.sleep(0.05)
                victim.sigcont()
                cycles += 1
                time.sleep(0.1)
            log("%s stopped 400 ms of every 500 ms, %d cycles: %d failed marks"
                % (victim.name, cycles, len(failed)))
            self.assertEqual(failed, [], "observers marked the duty-cycled agent failed")
            self.assertIsNotNone(c.wait_converged(ALL_ALIVE, 5))


if __name__ == "__main__":
    harness.main()
