"""test_user_events.py: user events and queries on real agents (issue 16). Four encrypted agents
(n1..n3 role=web|db, n4 without a query handler) with handlers on the command line: user-event
and user-event:deploy record HEARSAY_* and the payload per run; query:who answers with its name
and the payload; query:slow sleeps.
- `hearsay event --wait --json`: every member delivered it, each handler ran exactly once with
  the right environment; the event appears on GET /v1/events as user-event
- an 8 KiB payload of random bytes (from stdin) reaches every handler intact; 8193 bytes are
  refused: exit 1 from the CLI, HTTP 413 from the API
- no replay: n4 is killed, an event fires while it is down, n4 restarts (with its saved
  horizon): it runs neither the old events nor the one it missed, then runs a new one
- `hearsay query --json`: answers from all; --tag role=^web$ and --node filter who is asked;
  it returns as soon as every targeted member answered or declined (n4 has no handler), long
  before the timeout; a handler past the timeout makes it end at the timeout with that
  member pending (a reader gets 403 for both: test_socket_access.py)"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, log, wait_for  # noqa: E402

TAGS = {"n1": {"role": "web"}, "n2": {"role": "db"}, "n3": {"role": "web"}, "n4": {"role": "db"}}
ALL = {"n%d" % i: "alive" for i in range(1, 5)}


def runs(out, node):
    """The handler runs recorded on node: [(kind, name, id, ltime)]."""
    try:
        with open(os.path.join(out, "runs-" + node)) as f:
            return [tuple(line.split()) for line in f if line.strip()]
    except OSError:
        return []


class UserEvents(unittest.TestCase):
    def test_user_events(self):
        with Cluster(4, tags=TAGS) as c:
            out = os.path.join(c.dir, "out")
            os.makedirs(out)
            rec = os.path.join(out, "record.sh")
            with open(rec, "w") as f:
                # one line per run, the payload kept whole per (node, id, handler)
                f.write('#!/bin/sh\n'
                        'cat > "%s/payload-$HEARSAY_SELF-$1-$HEARSAY_EVENT_ID"\n'
                        'echo "$1 $HEARSAY_USER_EVENT $HEARSAY_EVENT_ID $HEARSAY_LTIME '
                        '$HEARSAY_EVENT" >> %s/runs-$HEARSAY_SELF\n' % (out, out))
            who = os.path.join(out, "who.sh")
            with open(who, "w") as f:
                f.write('#!/bin/sh\necho "I am $HEARSAY_SELF ($HEARSAY_QUERY_NAME)"\ncat\n')
            for p in (rec, who):
                os.chmod(p, 0o755)
            for n in c.nodes:
                args = ["--handler", "user-event=%s all" % rec,
                        "--handler", "user-event:deploy=%s deploy" % rec,
                        "--handler", "query:slow=sleep 30"]
                if n.name != "n4":
                    args += ["--handler", "query:who=%s" % who]
                orig = n.argv
                n.argv = (lambda o, a: lambda: o() + a)(orig, args)
            c.start()
            c.wait_converged(ALL, 10)
            n1, n2, n4 = c[1], c[2], c[4]

            # -- an event, confirmed by every member, each handler once -------------------
            watch = subprocess.Popen([c.hearsay, "--socket", c[3].sock, "watch", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.3)
            p = n2.cli("event", "--wait", "5", "--json", "deploy", "v1.2")
            self.assertEqual(p.returncode, 0, p.stderr)
            ans = json.loads(p.stdout)
            log("event --wait: %s (%.3f s)" % (ans, p.elapsed))
            self.assertEqual((ans["delivered"], ans["members"]), (4, 4))
            self.assertLess(ans["ms"], 2000)
            first = ans["id"]
            wait_for(lambda: all(len(runs(out, "n%d" % i)) == 2 for i in range(1, 5)), 5,
                     "both handlers on every member")
            for i in range(1, 5):
                r = sorted(runs(out, "n%d" % i))
                self.assertEqual([x[0] for x in r], ["all", "deploy"])
                for x in r:
                    self.assertEqual((x[1], x[2], x[4]), ("deploy", first, "user-event"))
                with open(os.path.join(out, "payload-n%d-all-%s" % (i, first))) as f:
                    self.assertEqual(f.read(), "v1.2")
            seen = None
            for line in watch.stdout:
                ev = json.loads(line)
                if ev.get("event") == "user-event":
                    seen = ev
                    break
            watch.kill()
            watch.communicate()
            self.assertEqual((seen["user_event"], seen["user_id"], seen["payload"], seen["name"]),
                             ("deploy", first, "v1.2", "n2"))

            # -- 8 KiB of random bytes intact; one byte more refused -----------------------
            big = os.urandom(8192)
            p = subprocess.run([c.hearsay, "--socket", n1.sock, "event", "--wait", "5", "--json",
                                "blob", "-"], input=big, capture_output=True, timeout=15)
            self.assertEqual(p.returncode, 0, p.stderr)
            ans = json.loads(p.stdout)
            self.assertEqual(ans["delivered"], 4)
            for i in range(1, 5):
                path = os.path.join(out, "payload-n%d-all-%s" % (i, ans["id"]))
                wait_for(lambda: os.path.exists(path) and os.path.getsize(path) == 8192, 5,
                         "8 KiB payload on n%d" % i)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), big, "n%d's payload" % i)
            p = subprocess.run([c.hearsay, "--socket", n1.sock, "event", "blob", "-"],
                               input=big + b"x", capture_output=True, timeout=15)
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"larger than 8192 bytes", p.stderr)
            st, body = n1.api("POST", "/v1/event/blob", body=big + b"x",
                              headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(st, 413, body)
            st, body = n1.api("POST", "/v1/query/who", body=big + b"x")
            self.assertEqual(st, 413, body)

            # -- no replay to a member that comes back -------------------------------------
            before = runs(out, "n4")
            n4.kill9()
            time.sleep(0.2)
            p = n1.cli("event", "--json", "deploy", "while-down")
            self.assertEqual(p.returncode, 0, p.stderr)
            missed = json.loads(p.stdout)["id"]
            n4.start()
            c.wait_converged(ALL, 10)
            time.sleep(4)  # the others hold their records and repair for 10 s
            self.assertEqual(runs(out, "n4"), before, "n4 ran an old event again after restart")
            p = n2.cli("event", "--wait", "5", "--json", "deploy", "after")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)["delivered"], 4)
            wait_for(lambda: len(runs(out, "n4")) == len(before) + 2, 5, "n4 runs the new one")
            self.assertNotIn(missed, [x[2] for x in runs(out, "n4")])
            for i in range(1, 5):  # the others ran each event once per handler
                r = runs(out, "n%d" % i)
                self.assertEqual(len(r), len(set(r)), "n%d ran something twice: %s" % (i, r))

            # -- queries --------------------------------------------------------------------
            p = n1.cli("--timeout", "10", "query", "who", "ping", "--json")
            self.assertEqual(p.returncode, 0, p.stderr)
            q = json.loads(p.stdout)
            log("query: %s (%.3f s)" % (q, p.elapsed))
            self.assertEqual(sorted(q["responses"]), ["n1", "n2", "n3"])
            self.assertEqual(sorted(q["acks"]), ["n1", "n2", "n3", "n4"])
            self.assertEqual(q["responses"]["n2"], "I am n2 (who)\nping")
            self.assertTrue(q["complete"])
            self.assertLess(p.elapsed, 3, "it waited for the timeout (n4 declines: no handler)")
            p = n2.cli("query", "who", "--tag", "role=^web$", "--json")
            q = json.loads(p.stdout)
            self.assertEqual(sorted(q["responses"]), ["n1", "n3"])
            self.assertEqual(q["targeted"], 2)
            p = n4.cli("query", "who", "x", "--node", "n2", "--node", "n4")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.splitlines(), ["n2: I am n2 (who)", "n2: x"])
            t0 = time.monotonic()
            p = n1.cli("--timeout", "1.5", "query", "slow", "--json", "--node", "n3")
            took = time.monotonic() - t0
            q = json.loads(p.stdout)
            log("slow query: %s (%.3f s)" % (q, took))
            self.assertEqual((q["responses"], q["pending"], q["complete"]), ({}, ["n3"], False))
            self.assertGreater(took, 1.4)
            self.assertLess(took, 4)
            # the slow handler was killed at the query's timeout, not after handler-timeout
            wait_for(lambda: "killed" in c[3].log_tail(200), 3, "slow handler killed on n3")


if __name__ == "__main__":
    unittest.main()
