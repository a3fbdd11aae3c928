#!/usr/bin/env python3
"""test_packaging_health.py: packaging/health/hearsay-cron-check with a fake `hearsay` and a
fake `logger` on PATH, one case per `hearsay check` exit code (0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN) plus a missing/odd `hearsay`. Self-contained: python3 stdlib, no daemon, no syslog.
Also checks that the Consul example is valid JSON and the Nagios example uses `hearsay check`."""
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEALTH = os.path.join(ROOT, "packaging", "health")
SCRIPT = os.path.join(HEALTH, "hearsay-cron-check")

FAKE_HEARSAY = r"""#!/bin/sh
# fake hearsay: records its arguments, prints FAKE_LINE, exits FAKE_RC
printf '%s\n' "$*" >> "$FAKE_DIR/hearsay.args"
[ -n "${FAKE_LINE:-}" ] && printf '%s\n' "$FAKE_LINE"
[ -n "${FAKE_EXTRA:-}" ] && printf '%s\n' "$FAKE_EXTRA"
exit "${FAKE_RC:-0}"
"""

FAKE_LOGGER = r"""#!/bin/sh
# fake logger: one line per call, each argument followed by an ASCII unit separator
for a in "$@"; do printf '%s\037' "$a"; done >> "$FAKE_DIR/logger.calls"
printf '\n' >> "$FAKE_DIR/logger.calls"
"""


def write_exec(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP)


class CronCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hs-health-")
        self.dir = self.tmp.name
        self.bin = os.path.join(self.dir, "bin")
        os.mkdir(self.bin)
        write_exec(os.path.join(self.bin, "hearsay"), FAKE_HEARSAY)
        write_exec(os.path.join(self.bin, "logger"), FAKE_LOGGER)

    def tearDown(self):
        self.tmp.cleanup()

    def run_check(self, rc, line, args=(), extra_env=None):
        env = {
            "PATH": self.bin + os.pathsep + "/usr/bin:/bin",
            "FAKE_DIR": self.dir,
            "FAKE_RC": str(rc),
            "FAKE_LINE": line,
            "LC_ALL": "C",
        }
        env.update(extra_env or {})
        p = subprocess.run(["/bin/sh", SCRIPT, *args], env=env, capture_output=True,
                           text=True, timeout=30)
        return p

    def logger_calls(self):
        path = os.path.join(self.dir, "logger.calls")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.rstrip("\n").rstrip("\x1f").split("\x1f") for line in f]

    def hearsay_args(self):
        with open(os.path.join(self.dir, "hearsay.args")) as f:
            return f.read().splitlines()

    def test_ok_is_silent(self):
        p = self.run_check(0, "HEARSAY OK - 3/3 alive | alive=3;;3;0;3 failed=0",
                           ["--min-alive", "3"])
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, "")
        self.assertEqual(self.logger_calls(), [])
        self.assertEqual(self.hearsay_args(), ["check --min-alive 3"])

    def check_logged(self, rc, prio, line):
        p = self.run_check(rc, line, ["--quorum"])
        self.assertEqual(p.returncode, rc)
        self.assertEqual(p.stdout, line + "\n")
        calls = self.logger_calls()
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(calls[0], ["-t", "hearsay-check", "-p", "daemon." + prio, "--", line])
        self.assertEqual(self.hearsay_args(), ["check --quorum"])

    def test_warning(self):
        self.check_logged(1, "warning", "HEARSAY WARNING - 2/3 alive, 1 failed | alive=2;;;0;3 failed=1")

    def test_critical(self):
        self.check_logged(2, "crit", "HEARSAY CRITICAL - 1/3 alive, fewer than 3 alive | alive=1;;3;0;3 failed=2")

    def test_unknown(self):
        self.check_logged(3, "err", "HEARSAY UNKNOWN - cannot reach agent at /run/hearsay/api.sock: No such file or directory")

    def test_only_first_line_logged(self):
        p = self.run_check(2, "HEARSAY CRITICAL - no raft leader", extra_env={"FAKE_EXTRA": "second line"})
        self.assertEqual(p.returncode, 2)
        self.assertEqual(self.logger_calls()[0][-1], "HEARSAY CRITICAL - no raft leader")

    def test_odd_exit_code_is_unknown(self):
        p = self.run_check(5, "something odd")
        self.assertEqual(p.returncode, 3)
        calls = self.logger_calls()
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0][3], "daemon.err")
        self.assertIn("exit code 5", calls[0][-1])
        self.assertTrue(calls[0][-1].startswith("HEARSAY UNKNOWN"))

    def test_missing_hearsay_is_unknown(self):
        p = self.run_check(0, "", extra_env={"HEARSAY": os.path.join(self.dir, "nonexistent")})
        self.assertEqual(p.returncode, 3)
        calls = self.logger_calls()
        self.assertEqual(len(calls), 1)
        self.assertIn("exit code 127", calls[0][-1])

    def test_no_output_is_reported(self):
        p = self.run_check(2, "")
        self.assertEqual(p.returncode, 2)
        self.assertIn("printed nothing", self.logger_calls()[0][-1])

    def test_quiet_and_custom_tag(self):
        p = self.run_check(1, "HEARSAY WARNING - 1 failed",
                           extra_env={"HEARSAY_CHECK_QUIET": "1", "HEARSAY_CHECK_TAG": "hs",
                                      "HEARSAY_CHECK_FACILITY": "local3"})
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertEqual(self.logger_calls()[0][:4], ["-t", "hs", "-p", "local3.warning"])

    def test_hostile_output_passed_as_one_argument(self):
        line = "HEARSAY CRITICAL - member $(touch pwned) `id` ; rm -rf x"
        p = self.run_check(2, line)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(self.logger_calls()[0][-1], line)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "pwned")))


class Examples(unittest.TestCase):
    def test_consul_json(self):
        with open(os.path.join(HEALTH, "consul-hearsay-check.json")) as f:
            doc = json.load(f)
        args = doc["check"]["args"]
        self.assertEqual(args[:2], ["/usr/bin/hearsay", "check"])
        self.assertIn("interval", doc["check"])

    def test_nagios_cfg(self):
        with open(os.path.join(HEALTH, "nagios-hearsay.cfg")) as f:
            text = f.read()
        self.assertIn("command_line    /usr/bin/hearsay check", text)
        lines = [l.strip() for l in text.splitlines() if l.strip().startswith("command_line")]
        self.assertEqual(len(lines), 3)
        for l in lines:
            self.assertTrue(l.split(None, 1)[1].startswith("/usr/bin/hearsay check"), l)

    def test_script_is_executable(self):
        self.assertTrue(os.access(SCRIPT, os.X_OK))


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
