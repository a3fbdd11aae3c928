#!/usr/bin/env python3
"""test_dns_names.py: host names as join targets, looked up by the agents' resolver (evdns)
on a DNS server the test runs (dnsstub.py, named by HEARSAY_RESOLV_CONF):

- B joins by the name seed.test (-> A1); --join nosuch.invalid:PORT logs the host and the
  resolver's error (and B still starts);
- A1 is killed; once B sees it not alive the name is changed to A2 (a running agent of its
  own, unknown to B): B looks the name up again and joins A2 within one retry period (the
  lan profile's 1 s); the same again back to a restarted A1;
- `hearsay join localhost:PORT` resolves through /etc/hosts; `hearsay join nosuch.invalid:PORT`
  fails naming the host and the resolver's error.

Prints "follow: ... s" lines (the time from the name's change to B seeing the new agent
alive), which docs/operations.md quotes."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from dnsstub import DnsStub  # noqa: E402

RETRY_S = 1.0  # join_retry_ms of the lan profile
SLACK_S = 0.3  # the lookup and the Meet's round trip on loopback, and the test's polling


class DnsNames(unittest.TestCase):
    def test_follow_a_changing_name(self):
        with harness.Cluster(3, join_via=None) as c:
            a1, a2, b = c[1], c[2], c[3]
            a2.port = a1.port = harness.pick_port([a1.ip, a2.ip])  # one name, one port
            a1.addr, a2.addr = "%s:%d" % (a1.ip, a1.port), "%s:%d" % (a2.ip, a2.port)
            dns = DnsStub("127.0.0.53", harness.pick_port(["127.0.0.53"]),
                          {"seed.test": a1.ip})
            self.addCleanup(dns.close)
            conf = os.path.join(c.dir, "resolv.conf")
            with open(conf, "w") as f:
                f.write("nameserver %s\nsearch test\n" % dns.addr)
            for n in c.nodes:
                n.env = {"HEARSAY_RESOLV_CONF": conf}
            b.join = ["seed.test:%d" % a1.port, "nosuch.invalid:%d" % a1.port]
            a1.start()
            a2.start()
            b.start()
            harness.wait_for(lambda: (b.members() or {}).get("n1") == "alive", 5,
                             "B joined A1 through seed.test")
            self.assertNotIn("n2", b.members())
            harness.wait_for(lambda: "cannot resolve nosuch.invalid" in b.log_tail(200), 5,
                             "the unresolvable --join logged")
            line = [x for x in b.log_tail(200).splitlines() if "cannot resolve" in x][0]
            harness.log("B: " + line.strip())
            self.assertRegex(line, r"cannot resolve nosuch\.invalid \(port \d+\): \S+")

            follows = []
            for old, new, new_name in ((a1, a2, "n2"), (a2, a1, "n1")):
                if not new.running():
                    new.start()
                t_kill = old.kill9()
                harness.wait_for(lambda: (b.members() or {}).get(old.name) != "alive", 10,
                                 "B sees %s down" % old.name)
                dns.records["seed.test"] = new.ip
                t_change = time.monotonic()
                harness.wait_for(lambda: (b.members() or {}).get(new_name) == "alive",
                                 RETRY_S + 3, "B joined %s through seed.test" % new_name)
                dt = time.monotonic() - t_change
                follows.append(dt)
                harness.log("follow: %.3f s after the name changed (%.3f s after the kill)"
                            % (dt, time.monotonic() - t_kill))
                self.assertLessEqual(dt, RETRY_S + SLACK_S, "not within one retry period")
            self.assertIn("now resolves to", b.log_tail(300))

            # the API's join: /etc/hosts, and a name that does not resolve
            p = b.cli("join", "localhost:%d" % a1.port)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Contacted 1 of 1", p.stdout)
            p = b.cli("join", "nosuch.invalid:%d" % a1.port)
            self.assertEqual(p.returncode, 1, p.stdout)
            harness.log("hearsay join nosuch.invalid: " + p.stderr.strip())
            self.assertRegex(p.stderr, r"cannot resolve nosuch\.invalid: \S+")
            self.assertNotIn("expected HOST:PORT", p.stderr)
            self.assertIn(("nosuch.invalid", 1), dns.queries)


if __name__ == "__main__":
    harness.main()
