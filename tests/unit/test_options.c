/* test_options.c: the daemon's option parser (agent/daemon/options.c): flags, the INI file,
 * flags overriding the file, list and tag merging, and rejection of malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"
#include "log.h"

static char cfgpath[64];

static void write_cfg(const char *text)
{
    strcpy(cfgpath, "/tmp/hsd-test-options-XXXXXX");
    int fd = mkstemp(cfgpath);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int parse(hsd_options *o, char *err, size_t errlen, int argc, ...)
{
    char *argv[32];
    va_list ap;
    va_start(ap, argc);
    argv[0] = "hearsayd";
    for (int i = 1; i < argc; i++) argv[i] = va_arg(ap, char *);
    va_end(ap);
    return hsd_options_parse(o, argc, argv, err, errlen);
}

static void test_flags(void **state)
{
    (void)state;
    hsd_options o;
    char err[256] = "";
    assert_int_equal(parse(&o, err, sizeof(err), 15, "--name", "n1", "--bind", "127.0.0.1:7000",
                           "--socket=/tmp/s.sock", "--data-dir", "/tmp/d", "--seed",
                           "s1=127.0.0.2:7000", "--join", "127.0.0.3:7000", "--insecure", "--tag",
                           "role=db"),
                     0);
    assert_string_equal(o.name, "n1");
    assert_int_equal(o.bind.port, 7000);
    assert_string_equal(o.socket_path, "/tmp/s.sock");
    assert_int_equal(o.seed_count, 1);
    assert_string_equal(o.seeds[0].name, "s1");
    assert_int_equal(o.join_count, 1);
    assert_true(o.insecure);
    assert_int_equal(o.tags_len, strlen("role=db") + 1);
    assert_int_equal(hsd_options_check(&o, err, sizeof(err)), 0);
    assert_true(o.reap_failed_s == 0 && o.reap_left_s == 0); /* core defaults: 24 h */
    assert_int_equal(parse(&o, err, sizeof(err), 4, "--reap-failed", "3600", "--reap-left=60"), 0);
    assert_true(o.reap_failed_s == 3600 && o.reap_left_s == 60);
}

static void test_file_and_override(void **state)
{
    (void)state;
    write_cfg("# comment\nname = fromfile\nbind = 127.0.0.1:7100\nsocket = /tmp/a.sock\n"
              "data_dir = /tmp/x\njoin = 127.0.0.5:1, 127.0.0.6:2\nseed = a=127.0.0.7:3\n"
              "tag = role=web\ntag = dc=one\nlog-level = debug\ninsecure = yes\n");
    hsd_options o;
    char err[256] = "";
    assert_int_equal(parse(&o, err, sizeof(err), 10, "-c", cfgpath, "--name", "fromflag", "--join",
                           "127.0.0.9:9", "--tag", "role=db", "--dev"),
                     0);
    assert_string_equal(o.name, "fromflag");
    assert_int_equal(o.bind.port, 7100);
    assert_string_equal(o.data_dir, "/tmp/x");
    assert_int_equal(o.join_count, 1); /* flags replace the file's list */
    assert_int_equal(o.joins[0].port, 9);
    assert_int_equal(o.seed_count, 1); /* untouched by flags */
    assert_int_equal(o.log_level, HSD_LOG_DEBUG);
    assert_true(o.insecure);
    assert_true(o.dev);
    /* tags merge by key: dc from the file, role from the flag */
    char want[] = "dc=one\0role=db";
    assert_int_equal(o.tags_len, sizeof(want));
    assert_memory_equal(o.tags, want, sizeof(want));
    unlink(cfgpath);
}

static void test_errors(void **state)
{
    (void)state;
    hsd_options o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--bogus"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--name"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--name", "bad name"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--bind", "nonsense:xx"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--seed", "noequals"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--tag", "=v"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--log-level", "loud"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--reap-failed", "0"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--reap-failed", "-5"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--reap-left", "1h"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--reap-left", "99999999999999999999"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--insecure=maybe", "x"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", "/nonexistent/hearsay.conf"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 2, "stray"), -1);
    /* incomplete or contradictory */
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--name", "n"), 0);
    assert_int_equal(hsd_options_check(&o, err, sizeof(err)), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 12, "--name", "n", "--bind", "127.0.0.1:1",
                           "--socket", "/tmp/s", "--data-dir", "/tmp/d", "--key-file", "/k",
                           "--insecure"),
                     0);
    assert_int_equal(hsd_options_check(&o, err, sizeof(err)), -1);
    /* too many tags */
    char big[300];
    memset(big, 'v', sizeof(big));
    memcpy(big, "k=", 2);
    big[250] = '\0';
    assert_int_equal(parse(&o, err, sizeof(err), 5, "--tag", big, "--tag", "x=1"), 0);
    char big2[300];
    memcpy(big2, big, sizeof(big2));
    big2[0] = 'j';
    char big3[300];
    memcpy(big3, big, sizeof(big3));
    big3[0] = 'l';
    assert_int_equal(parse(&o, err, sizeof(err), 7, "--tag", big, "--tag", big2, "--tag", big3),
                     -1);
}

static void test_hostile_file(void **state)
{
    (void)state;
    hsd_options o;
    char err[256];
    write_cfg("[other]\nname = x\n");
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", cfgpath), -1);
    unlink(cfgpath);
    write_cfg("unknown = 1\n");
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", cfgpath), -1);
    unlink(cfgpath);
    write_cfg("config = /etc/passwd\n");
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", cfgpath), -1);
    unlink(cfgpath);
    write_cfg("this is not ini\n");
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", cfgpath), -1);
    unlink(cfgpath);
    char *lng = malloc(20000);
    memcpy(lng, "name = ", 7);
    memset(lng + 7, 'a', 20000 - 9);
    lng[20000 - 2] = '\n';
    lng[20000 - 1] = '\0';
    write_cfg(lng);
    free(lng);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", cfgpath), -1);
    unlink(cfgpath);
    write_cfg("name = a\x01b\n");
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", cfgpath), -1);
    unlink(cfgpath);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", "/tmp"), -1);
}

static void test_tags_put(void **state)
{
    (void)state;
    char buf[32];
    size_t len = 0;
    assert_int_equal(hsd_tags_put(buf, &len, sizeof(buf), "a", "1"), 0);
    assert_int_equal(hsd_tags_put(buf, &len, sizeof(buf), "b", "2"), 0);
    assert_int_equal(hsd_tags_put(buf, &len, sizeof(buf), "a", "3"), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(buf, "b=2\0a=3", 8);
    assert_int_equal(hsd_tags_put(buf, &len, sizeof(buf), "b", NULL), 0);
    assert_int_equal(len, 4);
    assert_int_equal(hsd_tags_put(buf, &len, sizeof(buf), "c", "0123456789012345678901234567"), -1);
    assert_int_equal(hsd_log_parse_level("WARN"), HSD_LOG_WARN);
    assert_int_equal(hsd_log_parse_level("nope"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),    cmocka_unit_test(test_file_and_override),
        cmocka_unit_test(test_errors),   cmocka_unit_test(test_hostile_file),
        cmocka_unit_test(test_tags_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
