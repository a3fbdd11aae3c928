"""test_handlers.py: event handlers (issue 6). Three agents; n1 has handlers (in its INI file)
for member-join, member-failed and member-leave that append
`$HEARSAY_EVENT $HEARSAY_MEMBER_NAME $HEARSAY_MEMBER_STATUS $HEARSAY_TAG_ROLE` and the stdin
JSON to files, and a member-update handler that sleeps 100 s with handler-timeout = 1;
max-handlers = 1, so concurrent events go through the queue.
- join: n2 and n3 show up with their role tags
- `hearsay tags set` on n2 -> member-update handler runs, is killed after ~1 s and the kill is
  logged; /v1/health on n1 stays fast meanwhile (max latency measured)
- kill -9 n3 -> member-failed handler with the right env and JSON
- graceful leave of n2 -> member-leave handler
- /v1/metrics counts runs and the timeout."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

TAGS = {"n1": {"role": "admin"}, "n2": {"role": "web"}, "n3": {"role": "db"}}
ALL_ALIVE = {"n1": "alive", "n2": "alive", "n3": "alive"}


def events_in(path, event):
    """the complete JSON documents of one event type the handlers have written so far"""
    docs = []
    for line in read_lines(path):
        try:
            docs.append(json.loads(line))
        except ValueError:
            pass  # a line still being written
    return [d for d in docs if d.get("event") == event]


def read_lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f]
    except OSError:
        return []


class Handlers(unittest.TestCase):
    def test_handlers(self):
        t_start = time.monotonic()
        with Cluster(3, tags=TAGS) as c:
            out = os.path.join(c.dir, "handler-out")
            os.makedirs(out)
            env_file = os.path.join(out, "env.txt")
            json_file = os.path.join(out, "json.txt")
            # a script: inih treats " ;" in a value as the start of a comment
            rec = os.path.join(out, "record.sh")
            with open(rec, "w") as f:
                f.write('#!/bin/sh\n'
                        'echo "$HEARSAY_EVENT $HEARSAY_MEMBER_NAME $HEARSAY_MEMBER_STATUS '
                        '$HEARSAY_TAG_ROLE $HEARSAY_SELF_NAME" >> %s\n'
                        'cat >> %s\n'
                        'echo "handled $HEARSAY_MEMBER_NAME"\n' % (env_file, json_file))
            os.chmod(rec, 0o755)
            conf = os.path.join(c.dir, "n1.conf")
            with open(conf, "w") as f:
                f.write("[hearsay]\n")
                for ev in ("member-join", "member-failed", "member-leave"):
                    f.write("%s = %s\n" % (ev, rec))
                f.write("member-update = echo update-started $HEARSAY_MEMBER_NAME && sleep 100\n")
                f.write("handler-timeout = 1\n")
                f.write("max-handlers = 1\n")  # the second join handler waits in the queue
            n1 = c[1]
            orig_argv = n1.argv
            n1.argv = lambda: orig_argv() + ["-c", conf]

            c.start()
            c.wait_converged(ALL_ALIVE, 5)

            def has(prefix):
                return lambda: any(line.startswith(prefix) for line in read_lines(env_file))

            took = wait_for(lambda: has("member-join n2 alive web n1")()
                            and has("member-join n3 alive db n1")(), 5, "join handlers")
            log("join handlers for n2 and n3 seen %.3f s after convergence" % took)

            # member-update: a handler that sleeps 100 s is killed after handler-timeout 1 s
            p = c[2].cli("tags", "set", "role=api")
            self.assertEqual(p.returncode, 0, p.stderr)
            t0 = time.monotonic()
            wait_for(lambda: "update-started n2" in n1.log_tail(200), 5, "update handler start")
            started = time.monotonic() - t0
            worst = 0.0
            count = 0
            while time.monotonic() - t0 < started + 1.5:
                t = time.monotonic()
                st, _ = n1.api("GET", "/v1/health", timeout=1.0)
                worst = max(worst, time.monotonic() - t)
                count += 1
                self.assertEqual(st, 200)
                time.sleep(0.02)
            killed = wait_for(lambda: "still running after 1 s: killed" in n1.log_tail(200), 5,
                              "timeout kill logged")
            log("update handler started %.3f s after tags set; /v1/health during it: %d calls, "
                "max %.1f ms; kill logged" % (started, count, worst * 1000))
            self.assertLess(worst, 0.2, "health slow while a handler runs")
            del killed

            # kill -9 n3 -> member-failed
            t0 = c[3].kill9()
            took = wait_for(has("member-failed n3 failed db n1"), 15, "member-failed handler")
            log("member-failed handler for n3 ran %.3f s after kill -9" % (time.monotonic() - t0))
            # the handler writes its environment line, then the JSON from its stdin: wait for both
            wait_for(lambda: events_in(json_file, "member-failed"), 5, "member-failed document")
            docs = [json.loads(line) for line in read_lines(json_file) if line.strip()]
            failed = [d for d in docs if d.get("event") == "member-failed"]
            self.assertEqual(len(failed), 1, docs)
            self.assertEqual(failed[0]["name"], "n3")
            self.assertEqual(failed[0]["status"], "failed")
            self.assertEqual(failed[0]["addr"], c[3].addr)
            self.assertEqual(failed[0]["tags"], {"role": "db"})
            self.assertIn("id", failed[0])
            self.assertIn("handled n3", n1.log_tail(400))

            # graceful leave of n2 -> member-leave (tag changed to api above)
            t0, rc = c[2].sigterm()
            self.assertEqual(rc, 0)
            wait_for(has("member-leave n2 left api n1"), 5, "member-leave handler")
            log("member-leave handler for n2 ran %.3f s after SIGTERM" % (time.monotonic() - t0))
            wait_for(lambda: events_in(json_file, "member-leave"), 5, "member-leave document")
            left = events_in(json_file, "member-leave")
            self.assertEqual([d["name"] for d in left], ["n2"])

            st, text = n1.api("GET", "/v1/metrics")
            self.assertEqual(st, 200)
            metrics = dict(line.split()[:2] for line in text.splitlines()
                           if line.startswith("hearsay_handlers_"))
            log("metrics: %s" % metrics)
            self.assertGreaterEqual(int(metrics["hearsay_handlers_run_total"]), 5)
            self.assertEqual(metrics["hearsay_handlers_timeout_total"], "1")
            self.assertEqual(metrics["hearsay_handlers_failed_total"], "0")
            self.assertEqual(metrics["hearsay_handlers_dropped_total"], "0")
        log("test took %.1f s" % (time.monotonic() - t_start))


if __name__ == "__main__":
    unittest.main()
