"""test_watch.py: `hearsay watch --json` against a real agent: it shows a killed member's
suspect and failed events and its return, `--since 0` replays the buffered events, and when
the watched agent itself restarts the watcher reconnects and keeps printing events."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

ALL = {"n1": "alive", "n2": "alive", "n3": "alive"}


class Watcher:
    def __init__(self, cluster, node, *args):
        self.p = subprocess.Popen([cluster.hearsay, "--socket", node.sock, "watch", "--json"]
                                  + list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        harness._procs[self.p.pid] = self.p
        self.events = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.events.append(json.loads(line))

    def seen(self, event, name):
        return any(e.get("event") == event and e.get("name") == name for e in self.events)

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        rc = harness.reap(self.p, 5)
        self.t.join(2)
        err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        return rc, err


class Watch(unittest.TestCase):
    def test_watch_events(self):
        with Cluster(3) as c:
            c.start()
            c.wait_converged(ALL, 5)
            w = Watcher(c, c[1])
            time.sleep(0.3)
            c[3].kill9()
            harness.wait_for(lambda: w.seen("member-failed", "n3"), 10, "member-failed n3")
            self.assertTrue(w.seen("member-suspect", "n3"))
            c[3].start()
            harness.wait_for(lambda: w.seen("member-join", "n3") or w.seen("member-alive", "n3"),
                             5, "n3 back in the event stream")
            ids = [e["id"] for e in w.events]
            self.assertEqual(ids, sorted(ids))
            log("events on n1: %s" % [(e["id"], e["event"], e["name"]) for e in w.events])

            replay = Watcher(c, c[1], "--since", "0")
            harness.wait_for(lambda: replay.seen("member-failed", "n3"), 3, "replayed events")
            self.assertEqual(replay.stop()[0], 0)

            # the watched agent restarts: the watcher reconnects and goes on
            n_before = len(w.events)
            c[1].kill9()
            time.sleep(0.5)
            c[1].start()
            c.wait_converged(ALL, 5)
            p = c[2].cli("tags", "set", "after=restart")
            self.assertEqual(p.returncode, 0, p.stderr)
            harness.wait_for(lambda: w.seen("member-update", "n2")
                             or any(e.get("name") == "n2" and e.get("tags", {}).get("after")
                                    for e in w.events[n_before:]), 10,
                             "n2's tag change seen by the reconnected watcher")
            rc, err = w.stop()
            log("watcher stderr: %s" % err.strip())
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    harness.main()
