"""test_file_hygiene.py (issue 15): hearsayd refuses unsafe files and directories at start,
with a message naming the path and the fix, and an exit status systemd does not retry.

One agent (secure, a key file from `hearsay keygen`) is started against, in turn:
1. a key file that belongs to another uid (65534), mode 0600 -> exit 2, "belongs to uid 65534";
2. a key file of mode 0640 -> exit 2, "chmod 600";
3. a key file that is a symbolic link to a good one -> exit 2, "symbolic link";
4. a config file (-c) that is a symbolic link -> exit 2, "symbolic link";
5. a data directory of mode 0777 -> exit 2, "chmod go-w";
6. a data directory another agent is running on -> exit 1, "in use by another hearsayd";
then the good files: it starts. (main's code, 6faded5, started in cases 1, 4, 5 and 6, and
exited with status 1 in cases 2 and 3.) Needs root for the chown; skipped otherwise.
"""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402

CONFIG_ERROR = 2


class FileHygiene(unittest.TestCase):
    def expect_refusal(self, node, status, words):
        start = os.path.getsize(node.logfile) if os.path.exists(node.logfile) else 0
        node.start(wait=False)
        try:
            rc = node.proc.wait(10)
        except Exception:  # noqa: BLE001 - still running: it did not refuse
            rc = None
        harness.reap(node.proc)
        with open(node.logfile, errors="replace") as f:
            f.seek(start)
            text = f.read()
        log("%s: exit %s" % (words, rc))
        self.assertEqual(rc, status, text)
        self.assertIn(words, text)

    def test_refusals(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (chown of the key file)")
        with Cluster(1, secure=True) as c:
            n = c.nodes[0]
            good_key = c.key_file
            bad_key = os.path.join(c.dir, "other-owner.key")

            def use_key(path):
                c.key_file = path

            shutil.copy(good_key, bad_key)
            os.chmod(bad_key, 0o600)
            os.chown(bad_key, 65534, 65534)
            use_key(bad_key)
            self.expect_refusal(n, CONFIG_ERROR, "belongs to uid 65534")

            os.chown(bad_key, 0, 0)
            os.chmod(bad_key, 0o640)
            self.expect_refusal(n, CONFIG_ERROR, "chmod 600 %s" % bad_key)

            link = os.path.join(c.dir, "link.key")
            os.symlink(good_key, link)
            use_key(link)
            self.expect_refusal(n, CONFIG_ERROR, "%s is a symbolic link" % link)
            use_key(good_key)

            conf = os.path.join(c.dir, "hearsay.conf")
            with open(conf, "w") as f:
                f.write("log-level = info\n")
            conf_link = os.path.join(c.dir, "link.conf")
            os.symlink(conf, conf_link)
            n.extra = ["-c", conf_link]
            orig_argv = n.argv
            n.argv = lambda: orig_argv() + n.extra
            self.expect_refusal(n, CONFIG_ERROR, "%s is a symbolic link" % conf_link)
            n.extra = ["-c", conf]

            os.chmod(n.data_dir, 0o777)
            self.expect_refusal(n, CONFIG_ERROR, "chmod go-w %s" % n.data_dir)
            os.chmod(n.data_dir, 0o755)

            n.start()  # the good files: it runs
            twin = harness.Node(c, 1)
            twin.name, twin.data_dir = "twin", n.data_dir
            twin.sock = os.path.join(c.dir, "twin.sock")
            twin.logfile = os.path.join(c.dir, "twin.log")
            self.expect_refusal(twin, 1, "in use by another hearsayd")
            self.assertTrue(n.running())


if __name__ == "__main__":
    harness.main()
