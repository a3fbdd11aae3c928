"""test_raft_repair.py (issue 15): Raft storage that refuses rather than forgets, on real seeds.

3 seeds n1-n3 on 127.0.0.1-3 (insecure: storage does not depend on the envelope), 50 keys
written and committed everywhere. Then, on a follower seed F:
1. one flipped byte in the middle of F's DATA_DIR/raft/log: F refuses to start with exit
   status 65 and a message naming the log file, the byte offset and --raft-reset (main's code
   cut the log there with a "torn tail" warning, started, and then livelocked with the leader:
   commit 0, 0 of 50 keys);
2. `hearsayd --raft-reset` with the same options: exit 0, DATA_DIR/raft moved aside; started
   again F is recovering, catches up, holds every committed key, stops recovering (votes
   again), and a write through F commits everywhere;
3. its hard state made oversized (junk appended), then cut short: each refused with exit 65
   naming the hardstate file (main's code took an oversized file for a missing one: term and
   vote 0, no message); restored, F starts and holds every key;
4. a torn last record (half of a record appended to the log while F is down): F starts,
   warns about the torn record at that offset, and holds every key.
"""

import glob
import os
import struct
import subprocess
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log, wait_for  # noqa: E402

KEYS = 50
DATA_ERROR = 65


def raft(node):
    return harness.raft_status(node, timeout=1.0)


def settings(node):
    try:
        st, body = node.api("GET", "/v1/config", timeout=2.0)
    except OSError:
        return {}
    return body.get("settings", {}) if st == 200 and isinstance(body, dict) else {}


def holds_all(node, keys):
    s = settings(node)
    return all(s.get(k) == v for k, v in keys.items())


def refused(node, timeout=10.0):
    """Starts node, expects it to exit on its own; returns (status, log text since start)."""
    start = os.path.getsize(node.logfile) if os.path.exists(node.logfile) else 0
    node.start(wait=False)
    rc = harness.reap(node.proc, timeout)
    with open(node.logfile, errors="replace") as f:
        f.seek(start)
        text = f.read()
    return rc, text


class RaftRepair(unittest.TestCase):
    def test_damage_refused_and_reset(self):
        with Cluster(3, seeds=(1, 2, 3)) as c:
            c.start()
            wait_for(lambda: any(raft(n).get("state") == "leader" for n in c.nodes), 10,
                     "a leader")
            keys = {}
            for i in range(KEYS):
                k, v = "k%d" % i, "v%d" % i
                st, body = c.nodes[i % 3].api("PUT", "/v1/config/" + k, body=v, timeout=10)
                self.assertEqual(st, 200, body)
                keys[k] = v
            wait_for(lambda: all(holds_all(n, keys) for n in c.nodes) and
                     len({raft(n).get("commit") for n in c.nodes}) == 1, 10,
                     "every seed holds the 50 keys at the same commit")
            f = next(n for n in c.nodes if raft(n).get("state") == "follower")
            commit0 = raft(f)["commit"]
            log("follower %s at commit %d" % (f.name, commit0))
            logf = os.path.join(f.data_dir, "raft", "log")
            hard = os.path.join(f.data_dir, "raft", "hardstate")

            # 1. a flipped byte in the middle of the log
            f.kill9()
            data = bytearray(open(logf, "rb").read())
            mid = len(data) // 2
            data[mid] ^= 0x20
            open(logf, "wb").write(bytes(data))
            rc, text = refused(f)
            log("flipped byte %d of %d: exit %s" % (mid, len(data), rc))
            self.assertEqual(rc, DATA_ERROR, text)
            self.assertIn("%s is damaged at byte offset" % logf, text)
            self.assertIn("--raft-reset", text)
            self.assertNotIn("torn", text)

            # 2. the documented repair
            p = subprocess.run(f.argv() + ["--raft-reset"], capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(len(glob.glob(os.path.join(f.data_dir, "raft.reset-*"))), 1)
            f.start()
            t = wait_for(lambda: holds_all(f, keys) and raft(f).get("commit", 0) >= commit0 and
                         raft(f).get("recovering") is False, 15,
                         "%s caught up after --raft-reset" % f.name, 0.05)
            log("%s caught up %.2f s after its restart: %s" % (f.name, t, raft(f)))
            st, body = f.api("PUT", "/v1/config/after-reset", body="yes", timeout=10)
            self.assertEqual(st, 200, body)
            keys["after-reset"] = "yes"
            wait_for(lambda: all(holds_all(n, keys) for n in c.nodes), 10,
                     "the write through the repaired seed everywhere")

            # 3. a damaged hard state: oversized, then short
            f.kill9()
            good = open(hard, "rb").read()
            for what, bad in (("oversized", good + b"\0" * 72), ("short", good[:len(good) - 3])):
                open(hard, "wb").write(bad)
                rc, text = refused(f)
                log("hard state %s (%d bytes): exit %s" % (what, len(bad), rc))
                self.assertEqual(rc, DATA_ERROR, text)
                self.assertIn("%s is damaged" % hard, text)
                self.assertIn("--raft-reset", text)
            open(hard, "wb").write(good)
            f.start()
            wait_for(lambda: holds_all(f, keys), 10, "%s holds every key again" % f.name)

            # 4. a torn last record: cut with a warning, nothing lost
            f.kill9()
            size = os.path.getsize(logf)
            body = struct.pack(">QQB", 10 ** 6, 10 ** 6, 0) + b"x" * 20
            head = struct.pack(">II", len(body), zlib.crc32(body))
            rec = head + struct.pack(">I", zlib.crc32(head)) + body
            with open(logf, "ab") as fh:
                fh.write(rec[:len(rec) // 2])  # a whole header, half of the body
            start = os.path.getsize(f.logfile)
            f.start()
            wait_for(lambda: holds_all(f, keys), 10, "%s holds every key after the torn tail"
                     % f.name)
            with open(f.logfile, errors="replace") as fh:
                fh.seek(start)
                text = fh.read()
            self.assertIn("ends in a torn record at byte offset %d" % size, text)


if __name__ == "__main__":
    harness.main()
