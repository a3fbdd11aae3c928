#!/usr/bin/env python3
"""test_dns_names.py: host names as join targets, looked up by the agents' resolver (evdns)
on a DNS server the test runs (dnsstub.py, named by HEARSAY_RESOLV_CONF):

- B joins by the name seed.test (-> A1); --join nosuch.invalid:PORT logs the host and the
  resolver's error (and B still starts);
- A1 is killed; once B sees it not alive the name is changed to A2 (a running agent of its
  own, unknown to B): B looks the name up again and joins A2 within one retry period (the
  lan profile's 1 s); the same again from A2 to A3;
- `hearsay join localhost:PORT` resolves through /etc/hosts; `hearsay join nosuch.invalid:PORT`
  fails naming the host and the resolver's error;
- a seed given by name (--seed n1=seed1.test:PORT) is resolved at start, for the Raft group
  and the join; a seed whose name does not resolve stops the start (exit 2) naming it.

Prints "follow: ... s" lines (the time from the name's change to B seeing the new agent
alive), which docs/operations.md quotes."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from dnsstub import DnsStub  # noqa: E402

RETRY_S = 1.0  # join_retry_ms of the lan profile
SLACK_S = 0.3  # the lookup and the Meet's round trip on loopback, and the test's polling


def dns_for(c, records):
    """A DnsStub on 127.0.0.53 and a resolv.conf naming it, set for every node of c."""
    dns = DnsStub("127.0.0.53", harness.pick_port(["127.0.0.53"]), records)
    conf = os.path.join(c.dir, "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver %s\nsearch test\n" % dns.addr)
    for n in c.nodes:
        n.env = {"HEARSAY_RESOLV_CONF": conf}
    return dns, conf


class DnsNames(unittest.TestCase):
    def test_seed_by_name(self):
        with harness.Cluster(2, join_via=None) as c:
            a, b = c[1], c[2]
            dns, conf = dns_for(c, {"seed1.test": a.ip})
            self.addCleanup(dns.close)
            c.extra_args = ["--seed", "n1=seed1.test:%d" % a.port]
            a.start()
            b.start()
            harness.wait_for(lambda: (b.members() or {}).get("n1") == "alive", 5,
                             "n2 joined the seed n1 through seed1.test")
            want = [{"name": "n1", "addr": a.addr}]  # the Raft group's, resolved at start
            harness.wait_for(lambda: b.api("GET", "/v1/config")[1].get("seeds") == want, 5,
                             "n2's configuration naming the seed by address")
            p = subprocess.run([c.hearsayd, "--name", "n9", "--bind", "127.0.0.9:%d" % a.port,
                                "--socket", os.path.join(c.dir, "n9.sock"),
                                "--data-dir", os.path.join(c.dir, "n9"), "--insecure",
                                "--seed", "n1=nosuch.invalid:%d" % a.port],
                               capture_output=True, text=True, timeout=20,
                               env=dict(os.environ, HEARSAY_RESOLV_CONF=conf))
            harness.log("bad seed: exit %d: %s" % (p.returncode, p.stderr.strip()[-200:]))
            self.assertEqual(p.returncode, 2)
            self.assertRegex(p.stderr, r"cannot resolve --seed n1=nosuch\.invalid:\d+: \S+")

    def test_follow_a_changing_name(self):
        with harness.Cluster(4, join_via=None) as c:
            a1, a2, a3, b = c[1], c[2], c[3], c[4]
            port = harness.pick_port([a1.ip, a2.ip, a3.ip])  # one name, one port
            for a in (a1, a2, a3):
                a.port, a.addr = port, "%s:%d" % (a.ip, port)
            dns, _ = dns_for(c, {"seed.test": a1.ip})
            self.addCleanup(dns.close)
            b.join = ["seed.test:%d" % port, "nosuch.invalid:%d" % port]
            for n in c.nodes:
                n.start()
            harness.wait_for(lambda: (b.members() or {}).get("n1") == "alive", 5,
                             "B joined A1 through seed.test")
            self.assertEqual(sorted(b.members()), ["n1", "n4"])
            harness.wait_for(lambda: "cannot resolve nosuch.invalid" in b.log_tail(200), 5,
                             "the unresolvable --join logged")
            line = [x for x in b.log_tail(200).splitlines() if "cannot resolve" in x][0]
            harness.log("B: " + line.strip())
            self.assertRegex(line, r"cannot resolve nosuch\.invalid \(port \d+\): \S+")

            follows = []
            for old, new in ((a1, a2), (a2, a3)):  # new: an agent B has never heard of
                new_name = new.name
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
            p = b.cli("join", "localhost:%d" % port)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Contacted 1 of 1", p.stdout)
            p = b.cli("join", "nosuch.invalid:%d" % port)
            self.assertEqual(p.returncode, 1, p.stdout)
            harness.log("hearsay join nosuch.invalid: " + p.stderr.strip())
            self.assertRegex(p.stderr, r"cannot resolve nosuch\.invalid: \S+")
            self.assertNotIn("expected HOST:PORT", p.stderr)
            self.assertIn(("nosuch.invalid", 1), dns.queries)


if __name__ == "__main__":
    harness.main()
