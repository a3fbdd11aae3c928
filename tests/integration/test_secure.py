"""test_secure.py: agents started with a key file from `hearsay keygen -o` form a cluster
(encrypted gossip, health says insecure=false); an agent with another key, or running
insecure, cannot join it and no member ever lists it."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, log  # noqa: E402


class Secure(unittest.TestCase):
    def test_key_file_cluster(self):
        with Cluster(4, secure=True) as c:
            intruder = c[4]
            intruder.join = [c[1].addr]
            for n in c.nodes[:3]:
                n.start(wait=n.index == 1)
            for n in c.nodes[:3]:
                n.wait_ready()
            took = c.wait_converged({"n1": "alive", "n2": "alive", "n3": "alive"}, 5,
                                    observers=c.nodes[:3])
            log("secure cluster of 3 converged %.3f s after start" % took)
            st, h = c[1].api("GET", "/v1/health")
            self.assertEqual((st, h.get("insecure")), (200, False), h)

            other_key = os.path.join(c.dir, "other.key")
            self.assertEqual(c.cli("keygen", "-o", other_key).returncode, 0)
            c.key_file, saved = other_key, c.key_file
            intruder.start()
            c.key_file = saved
            time.sleep(2.5)
            self.assertEqual(c[4].members(), {"n4": "alive"})
            for n in c.nodes[:3]:
                self.assertNotIn("n4", n.members())
            intruder.kill9()

            c.key_file = None  # insecure now
            intruder.start()
            c.key_file = saved
            time.sleep(2.5)
            self.assertEqual(c[4].members(), {"n4": "alive"})
            for n in c.nodes[:3]:
                self.assertNotIn("n4", n.members())
            st, m = c[1].api("GET", "/v1/metrics")
            drops = [line for line in str(m).splitlines()
                     if ("unknown_key" in line or "plaintext_rejected" in line)
                     and not line.startswith("#")]
            log("n1 drops: %s" % "; ".join(drops))


if __name__ == "__main__":
    harness.main()
