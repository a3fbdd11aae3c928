"""test_raft_restart_commit.py (issue 15): a restarted seed never answers with less than it had
acknowledged, from the first moment its API socket answers.

3 seeds n1-n3 on 127.0.0.1-3, 30 committed keys. Then four restarts: the leader and a follower,
each stopped cleanly (SIGTERM) and with kill -9. Before each stop the seed's commit index and
configuration version are read; after it is started again, GET /v1/raft and GET /v1/config are
polled back to back from the first answer on, for 1 s, and every answer must show at least
that commit index and that version. (main's code started every seed at the commit index of its
last term or vote change, so for the first tens of milliseconds a restarted seed answered with
an older commit and configuration, often version 0.)
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

KEYS = 30
POLL_S = 1.0


def get(node, path):
    try:
        st, body = node.api("GET", path, timeout=0.5)
    except OSError:
        return None
    return body if st == 200 and isinstance(body, dict) else None


def raft(node):
    return get(node, "/v1/raft") or {}


class RaftRestartCommit(unittest.TestCase):
    def poll_after_start(self, node, commit0, version0):
        """Starts node and polls it; returns (answers, lowest commit, lowest version)."""
        node.start(wait=False)
        first = None
        answers, low_c, low_v = 0, None, None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if node.proc.poll() is not None:
                self.fail("%s exited with %s:\n%s" % (node.name, node.proc.returncode,
                                                      node.log_tail()))
            r = get(node, "/v1/raft")
            cfg = get(node, "/v1/config")
            if r is None or cfg is None:
                if first is None:
                    time.sleep(0.002)
                continue
            if first is None:
                first = time.monotonic()
                log("%s answers %.3f s after its start: commit %s version %s"
                    % (node.name, first - node.started_at, r.get("commit"), cfg.get("version")))
            answers += 1
            c, v = r.get("commit", 0), cfg.get("version", 0)
            low_c = c if low_c is None else min(low_c, c)
            low_v = v if low_v is None else min(low_v, v)
            if time.monotonic() - first > POLL_S:
                break
        self.assertIsNotNone(first, "%s never answered" % node.name)
        return answers, low_c, low_v

    def test_restart_never_goes_back(self):
        with Cluster(3, seeds=(1, 2, 3)) as c:
            c.start()
            wait_for(lambda: any(raft(n).get("state") == "leader" for n in c.nodes), 10,
                     "a leader")
            for i in range(KEYS):
                st, body = c.nodes[i % 3].api("PUT", "/v1/config/r%d" % i, body="x%d" % i,
                                              timeout=10)
                self.assertEqual(st, 200, body)
            results = []
            for role in ("leader", "follower"):
                for how in ("sigterm", "kill9"):
                    wait_for(lambda: len({(raft(n).get("commit"), raft(n).get("applied"))
                                          for n in c.nodes}) == 1 and
                             any(raft(n).get("state") == "leader" for n in c.nodes), 15,
                             "seeds agree on commit and applied, with a leader")
                    node = next(n for n in c.nodes if raft(n).get("state") == role)
                    commit0 = raft(node)["commit"]
                    version0 = get(node, "/v1/config")["version"]
                    if how == "sigterm":
                        node.sigterm()
                    else:
                        node.kill9()
                    answers, low_c, low_v = self.poll_after_start(node, commit0, version0)
                    results.append((role, how, node.name, commit0, version0, answers, low_c,
                                    low_v))
                    log("%s %s (%s): before commit %d version %d; %d answers, lowest commit "
                        "%s version %s" % results[-1])
                    # a write between restarts, so the next one has more to lose
                    st, body = c.nodes[0].api("PUT", "/v1/config/after-%s-%s" % (role, how),
                                              body="1", timeout=10)
                    self.assertEqual(st, 200, body)
            for role, how, name, commit0, version0, answers, low_c, low_v in results:
                self.assertGreater(answers, 5)
                self.assertGreaterEqual(low_c, commit0, "%s %s restart of %s answered commit "
                                        "%s < %s" % (role, how, name, low_c, commit0))
                self.assertGreaterEqual(low_v, version0, "%s %s restart of %s answered version "
                                        "%s < %s" % (role, how, name, low_v, version0))


if __name__ == "__main__":
    harness.main()
