/* test_options.c: the daemon's option table and parsers (agent/daemon/options.c): every type
 * and bound, the INI file and flags overriding it for every option, the reload flags, and the
 * man pages, packaging/hearsay.conf and --help checked against the table. */
#include <ctype.h>
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

/* Parses the file text (NULL: none) and then one flag (NULL: none) into o. */
static int parse_file_flag(hsd_options *o, const char *text, const char *flag, char *err,
                           size_t errlen)
{
    char *argv[4] = {"hearsayd"};
    int argc = 1;
    if (text) {
        write_cfg(text);
        argv[argc++] = "-c";
        argv[argc++] = cfgpath;
    }
    if (flag) argv[argc++] = (char *)flag;
    int rc = hsd_options_parse(o, argc, argv, err, errlen);
    if (text) unlink(cfgpath);
    return rc;
}

static const void *fieldp(const hsd_options *o, const hsd_optdef *d)
{
    return (const char *)o + d->off;
}

static uint64_t uint_field(const hsd_options *o, const hsd_optdef *d)
{
    if (d->size == sizeof(uint64_t)) return *(const uint64_t *)fieldp(o, d);
    return *(const uint32_t *)fieldp(o, d);
}

static const hsd_optdef *row(const char *name)
{
    const hsd_optdef *d = hsd_option_find(name);
    assert_non_null(d);
    return d;
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
    /* the table's defaults */
    assert_string_equal(o.cluster, "hearsay");
    assert_int_equal(o.log_level, HSD_LOG_INFO);
    assert_true(o.reap_failed_s == 86400 && o.reap_left_s == 86400);
    assert_int_equal(o.max_api_connections, HSD_DEFAULT_API_CONNS);
    assert_int_equal(o.handler_timeout, 30);
    assert_int_equal(o.max_handlers, 8);
    assert_false(o.dev);
    assert_int_equal(parse(&o, err, sizeof(err), 4, "--reap-failed", "3600", "--reap-left=60"), 0);
    assert_true(o.reap_failed_s == 3600 && o.reap_left_s == 60);
    /* short flags, '_' or upper case in a long flag */
    assert_int_equal(parse(&o, err, sizeof(err), 4, "-h", "-V", "--DATA_DIR=/x"), 0);
    assert_true(o.help && o.version);
    assert_string_equal(o.data_dir, "/x");
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
    assert_int_equal(o.joins[0].addr.port, 9);
    assert_int_equal(o.seed_count, 1); /* untouched by flags */
    assert_int_equal(o.log_level, HSD_LOG_DEBUG);
    assert_true(o.insecure);
    assert_true(o.dev);
    /* tags merge by key: dc from the file, role from the flag */
    char want[] = "dc=one\0role=db";
    assert_int_equal(o.tags_len, sizeof(want));
    assert_memory_equal(o.tags, want, sizeof(want));
    /* the file comes first even when -c stands after the flags */
    assert_int_equal(parse(&o, err, sizeof(err), 5, "--name", "fromflag", "--config", cfgpath), 0);
    assert_string_equal(o.name, "fromflag");
    unlink(cfgpath);
}

static void test_errors(void **state)
{
    (void)state;
    hsd_options o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--bogus"), -1);
    assert_string_equal(err, "unknown option '--bogus' (see --help)");
    assert_int_equal(parse(&o, err, sizeof(err), 2, "-x"), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--name"), -1);
    assert_non_null(strstr(err, "--name needs a value"));
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
    assert_string_equal(err, "unexpected argument 'stray' (see --help)");
    /* incomplete or contradictory */
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--name", "n"), 0);
    assert_int_equal(hsd_options_check(&o, err, sizeof(err)), -1);
    assert_string_equal(err, "--bind HOST:PORT is required");
    assert_int_equal(parse(&o, err, sizeof(err), 12, "--name", "n", "--bind", "127.0.0.1:1",
                           "--socket", "/tmp/s", "--data-dir", "/tmp/d", "--key-file", "/k",
                           "--insecure"),
                     0);
    assert_int_equal(hsd_options_check(&o, err, sizeof(err)), -1);
    assert_string_equal(err, "--key-file and --insecure exclude each other");
}

/* Every uint row: both bounds taken, one past each refused with a message naming the option,
 * the value and the range; signs, blanks, junk and overflow refused. */
static void test_uint_bounds(void **state)
{
    (void)state;
    size_t n;
    const hsd_optdef *rows = hsd_option_rows(&n);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        const hsd_optdef *d = &rows[i];
        if (d->max == 0) continue;
        seen++;
        hsd_options o;
        char err[256], flag[64], want[128];
        snprintf(flag, sizeof(flag), "--%s=%llu", d->name, (unsigned long long)d->min);
        assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), 0);
        assert_true(uint_field(&o, d) == d->min);
        snprintf(flag, sizeof(flag), "--%s=%llu", d->name, (unsigned long long)d->max);
        assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), 0);
        assert_true(uint_field(&o, d) == d->max);
        snprintf(flag, sizeof(flag), "--%s=%llu", d->name, (unsigned long long)d->max + 1);
        assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "bad --%s '%llu': expected %s from %llu to %llu", d->name,
                 (unsigned long long)d->max + 1, d->arg, (unsigned long long)d->min,
                 (unsigned long long)d->max);
        assert_string_equal(err, want);
        snprintf(flag, sizeof(flag), "--%s=%llu", d->name, (unsigned long long)d->min - 1);
        assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), -1);
        static const char *const junk[] = {"",   "-1", "+5",   " 5",
                                           "5 ", "5x", "0x10", "18446744073709551616"};
        for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
            snprintf(flag, sizeof(flag), "--%s=%s", d->name, junk[j]);
            assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), -1);
        }
        /* the same bounds in the file */
        char text[96];
        snprintf(text, sizeof(text), "%s = %llu\n", d->name, (unsigned long long)d->max + 1);
        assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), -1);
        assert_non_null(strstr(err, want));
    }
    assert_int_equal(seen, 6); /* max-api-connections, reap-*, handler-timeout, max-handlers,
                                  user-event-budget */
}

static void test_strings_names_addrs(void **state)
{
    (void)state;
    hsd_options o;
    char err[256], flag[400];
    /* strings: the field's size minus the NUL, not one byte more */
    static const char *const strs[] = {"socket", "data-dir", "key-file", "socket-group",
                                       "admin-group"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const hsd_optdef *d = row(strs[i]);
        for (size_t len = d->size - 1; len <= d->size; len++) {
            int k = snprintf(flag, sizeof(flag), "--%s=", d->name);
            memset(flag + k, 'p', len);
            flag[k + len] = '\0';
            int rc = parse_file_flag(&o, NULL, flag, err, sizeof(err));
            assert_int_equal(rc, len < d->size ? 0 : -1);
            if (rc == 0) assert_int_equal(strlen(fieldp(&o, d)), len);
            if (rc != 0) assert_non_null(strstr(err, "longer than"));
        }
        snprintf(flag, sizeof(flag), "--%s=", d->name);
        assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), -1);
    }
    char longpath[HSD_PATH_MAX + 8];
    memset(longpath, 'c', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(parse(&o, err, sizeof(err), 3, "-c", longpath), -1);
    /* names: 64 characters of A-Z a-z 0-9 . _ - */
    char name[80];
    memset(name, 'n', 64);
    name[64] = '\0';
    assert_int_equal(parse(&o, err, sizeof(err), 5, "--name", name, "--cluster", "a.b_c-D9"), 0);
    assert_string_equal(o.name, name);
    assert_string_equal(o.cluster, "a.b_c-D9");
    strcat(name, "n");
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--name", name), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--cluster", "a/b"), -1);
    assert_string_equal(err, "bad --cluster 'a/b': 1-64 characters of A-Z a-z 0-9 . _ -");
    /* addresses: the default port, IPv6 in brackets, the have_ flag */
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--name=x"), 0);
    assert_false(o.have_bind || o.have_advertise);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--bind=127.0.0.1", "--advertise=[::1]:9"), 0);
    assert_true(o.have_bind && o.have_advertise);
    assert_int_equal(o.bind.port, HSD_DEFAULT_PORT);
    assert_int_equal(o.advertise.family, 6);
    assert_int_equal(o.advertise.port, 9);
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--advertise=::1"), -1);
    assert_string_equal(err, "bad --advertise address '::1': expected HOST:PORT");
}

static void test_bools_levels(void **state)
{
    (void)state;
    hsd_options o;
    char err[256], flag[64];
    static const char *const yes[] = {"1", "true", "YES", "on"}, *const no[] = {"0", "False", "no",
                                                                                "off"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(flag, sizeof(flag), "--dev=%s", yes[i]);
        assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), 0);
        assert_true(o.dev);
        snprintf(flag, sizeof(flag), "--dev=%s", no[i]);
        assert_int_equal(parse_file_flag(&o, "dev = 1\n", flag, err, sizeof(err)), 0);
        assert_false(o.dev);
    }
    assert_int_equal(parse_file_flag(&o, "insecure =\n", NULL, err, sizeof(err)), 0);
    assert_true(o.insecure); /* as a bare --insecure */
    assert_int_equal(parse_file_flag(&o, NULL, "--insecure=maybe", err, sizeof(err)), -1);
    assert_string_equal(err, "bad --insecure 'maybe': expected true or false");
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"error", HSD_LOG_ERR},     {"warn", HSD_LOG_WARN}, {"warning", HSD_LOG_WARN},
                  {"notice", HSD_LOG_NOTICE}, {"INFO", HSD_LOG_INFO}, {"debug", HSD_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        snprintf(flag, sizeof(flag), "--log-level=%s", levels[i].name);
        assert_int_equal(parse_file_flag(&o, NULL, flag, err, sizeof(err)), 0);
        assert_int_equal(o.log_level, levels[i].level);
    }
    assert_int_equal(parse_file_flag(&o, NULL, "--log-level=loud", err, sizeof(err)), -1);
    assert_string_equal(err, "bad --log-level 'loud': expected error, warn, notice, info or debug");
}

static void test_lists(void **state)
{
    (void)state;
    hsd_options o;
    char err[256], text[2048];
    /* 16 seeds fit, the 17th is refused; commas and blanks separate */
    size_t k = 0;
    for (int i = 0; i < HSD_SEEDS_MAX; i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "seed = s%d=127.0.0.%d:7,\tx%d=[::1]\n",
                              i, i + 1, i);
    assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), -1);
    assert_string_equal(err + strlen(err) - strlen("too many seeds (at most 16)"),
                        "too many seeds (at most 16)");
    k = 0;
    for (int i = 0; i < HSD_SEEDS_MAX; i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "seed = s%d=127.0.0.%d:7\n", i, i + 1);
    assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), 0);
    assert_int_equal(o.seed_count, HSD_SEEDS_MAX);
    assert_string_equal(o.seeds[15].name, "s15");
    assert_int_equal(parse_file_flag(&o, text, "--seed=z=127.0.0.1", err, sizeof(err)), 0);
    assert_int_equal(o.seed_count, 1); /* the command line replaces the file's list */
    assert_string_equal(o.seeds[0].name, "z");
    assert_int_equal(parse_file_flag(&o, NULL, "--seed=bad name=127.0.0.1", err, sizeof(err)), -1);
    assert_int_equal(parse_file_flag(&o, NULL, "--seed=a=no..where", err, sizeof(err)), -1);
    assert_string_equal(err, "bad --seed 'a=no..where': expected NAME=HOST:PORT (HOST an IPv4 "
                             "address, [IPv6] or a DNS name)");
    /* a DNS name is kept as text with its port, for the engine to resolve */
    assert_int_equal(parse_file_flag(&o, NULL, "--seed=a=seed-1.example:7000", err, sizeof(err)),
                     0);
    assert_string_equal(o.seeds[0].host, "seed-1.example");
    assert_true(o.seeds[0].addr.family == 0 && o.seeds[0].addr.port == 7000);
    assert_int_equal(
        parse_file_flag(&o, "join = localhost:17946, [::1]:5\n", NULL, err, sizeof(err)), 0);
    assert_int_equal(o.join_count, 2);
    assert_string_equal(o.joins[0].host, "localhost");
    assert_int_equal(o.joins[0].addr.port, 17946);
    assert_true(o.joins[1].host[0] == 0 && o.joins[1].addr.family == 6);
    assert_int_equal(parse_file_flag(&o, NULL, "--join=localhost:0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad --join address 'localhost:0'"));
    assert_int_equal(parse_file_flag(&o, NULL, "--seed=, ,", err, sizeof(err)), -1);
    assert_string_equal(err, "empty value for --seed");
    /* 32 joins fit, the 33rd is refused */
    k = 0;
    for (int i = 0; i < HSD_JOINS_MAX; i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "join = 127.0.1.%d:%d\n", i, i + 1);
    assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), 0);
    assert_int_equal(o.join_count, HSD_JOINS_MAX);
    strcat(text, "join = 127.0.0.1\n");
    assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too many --join addresses (at most 32)"));
    /* tags split on commas only: values may hold blanks; 512 bytes in all */
    assert_int_equal(parse_file_flag(&o, "tag = a=b c,d=e\n", NULL, err, sizeof(err)), 0);
    assert_int_equal(o.tags_len, sizeof("a=b c\0d=e"));
    assert_memory_equal(o.tags, "a=b c\0d=e", o.tags_len);
    char big[300];
    memset(big, 'v', sizeof(big));
    memcpy(big, "--tag=k=", 8);
    big[255] = '\0';
    char big2[300], big3[300];
    memcpy(big2, big, sizeof(big2));
    memcpy(big3, big, sizeof(big3));
    big2[6] = 'j';
    big3[6] = 'l';
    assert_int_equal(parse(&o, err, sizeof(err), 3, big, "--tag=x=1"), 0);
    assert_int_equal(parse(&o, err, sizeof(err), 4, big, big2, big3), -1);
    assert_string_equal(err, "tags too large (at most 512 bytes)");
    assert_int_equal(parse_file_flag(&o, NULL, "--tag=k=a\x01", err, sizeof(err)), -1);
}

static void test_handlers(void **state)
{
    (void)state;
    hsd_options o;
    char err[256];
    static const char *const events[HSD_HANDLER_EVENTS] = {"member-join",   "member-failed",
                                                           "member-leave",  "member-update",
                                                           "config-change", "user-event"};
    for (int i = 0; i < HSD_HANDLER_EVENTS; i++) {
        char text[96], flag[96];
        snprintf(text, sizeof(text), "%s = /bin/file-%d\n", events[i], i);
        snprintf(flag, sizeof(flag), "--handler=%s=/bin/flag %d", events[i], i);
        assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), 0);
        for (int j = 0; j < HSD_HANDLER_EVENTS; j++)
            assert_true((o.handlers[j][0] != '\0') == (i == j));
        assert_int_equal(o.handlers[i][strlen("/bin/file-")], '0' + i);
        assert_int_equal(parse_file_flag(&o, text, flag, err, sizeof(err)), 0);
        assert_int_equal(o.handlers[i][strlen("/bin/flag ")], '0' + i);
    }
    /* an empty command removes the file's handler */
    assert_int_equal(parse_file_flag(&o, "member-join = x\n", "--member-join=", err, sizeof(err)),
                     0);
    assert_string_equal(o.handlers[0], "");
    assert_int_equal(parse_file_flag(&o, NULL, "--handler=member-joins=x", err, sizeof(err)), -1);
    assert_string_equal(err, "bad handler event 'member-joins': member-join, member-failed, "
                             "member-leave, member-update, config-change, user-event, "
                             "user-event:NAME, query:NAME");
    assert_int_equal(parse_file_flag(&o, NULL, "--handler=x", err, sizeof(err)), -1);
    char cmd[HSD_HANDLER_CMD_MAX + 32];
    int k = snprintf(cmd, sizeof(cmd), "--config-change=");
    memset(cmd + k, 'x', HSD_HANDLER_CMD_MAX - 1);
    cmd[k + HSD_HANDLER_CMD_MAX - 1] = '\0';
    assert_int_equal(parse_file_flag(&o, NULL, cmd, err, sizeof(err)), 0);
    assert_int_equal(strlen(o.handlers[4]), HSD_HANDLER_CMD_MAX - 1);
    strcat(cmd, "x");
    assert_int_equal(parse_file_flag(&o, NULL, cmd, err, sizeof(err)), -1);
    assert_string_equal(err, "handler command for config-change longer than 1023 bytes");
}

/* user-event:NAME and query:NAME handlers: set by --handler (the file's and the flag's), replaced,
 * removed by an empty command, their names checked, at most HSD_NAMED_HANDLERS. */
static void test_named_handlers(void **state)
{
    (void)state;
    hsd_options o;
    char err[256];
    assert_int_equal(parse_file_flag(&o, "handler = query:disk=/bin/file\n",
                                     "--handler=user-event:deploy=/bin/deploy x", err, sizeof(err)),
                     0);
    assert_string_equal(hsd_named_handler_cmd(&o, "query:disk"), "/bin/file");
    assert_string_equal(hsd_named_handler_cmd(&o, "user-event:deploy"), "/bin/deploy x");
    assert_null(hsd_named_handler_cmd(&o, "user-event:disk"));
    assert_int_equal(parse_file_flag(&o, "handler = query:disk=/bin/file\n",
                                     "--handler=query:disk=/bin/flag", err, sizeof(err)),
                     0);
    assert_int_equal(o.n_named, 1);
    assert_string_equal(hsd_named_handler_cmd(&o, "query:disk"), "/bin/flag");
    assert_int_equal(parse_file_flag(&o, "handler = query:disk=/bin/file\n",
                                     "--handler=query:disk=", err, sizeof(err)),
                     0);
    assert_int_equal(o.n_named, 0);
    const char *bad[] = {"--handler=user-event:=x", "--handler=query:a b=x",
                         "--handler=user-event:a/b=x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse_file_flag(&o, NULL, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, "must be 1-128 of"));
    }
    char text[8192] = "";
    for (int i = 0; i <= HSD_NAMED_HANDLERS; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "handler = query:q%d=c\n", i);
    assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too many user-event and query handlers (at most 32)"));
    /* the INI parser (inih) splits at ':' as at '=': "user-event:deploy = CMD" would be the
     * handler of every user event running "deploy = CMD"; refused, with the form that works */
    const char *colon[] = {"user-event:deploy = /bin/deploy\n", "user-event:deploy=/bin/x\n",
                           "user-event = FOO=1 /bin/x\n"};
    for (size_t i = 0; i < sizeof(colon) / sizeof(colon[0]); i++) {
        assert_int_equal(parse_file_flag(&o, colon[i], NULL, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "handler = user-event:NAME=CMD"));
    }
    assert_int_equal(parse_file_flag(&o, "query:disk = /bin/df\n", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "handler = query:NAME=CMD"));
    assert_int_equal(parse_file_flag(&o, "user-event = /bin/all x=1\n", NULL, err, sizeof(err)), 0);
    assert_string_equal(o.handlers[5], "/bin/all x=1");
    assert_int_equal(parse_file_flag(&o, NULL, "--user-event=FOO=1 /bin/x", err, sizeof(err)), 0);
}

/* Every option but -c, --help and --version set from the file, each field checked by hand. */
static void test_every_option_from_file(void **state)
{
    (void)state;
    static const char text[] =
        "[hearsay]\nname = n1\ncluster = c1\nbind = 127.0.0.1:1\nadvertise = 127.0.0.2:2\n"
        "socket = /tmp/s\ndata-dir = /tmp/d\nseed = s1=127.0.0.3:3\njoin = 127.0.0.4:4\n"
        "key-file = /tmp/k\ninsecure = true\ntag = t=1\nlog-level = warn\nsocket-group = g1\n"
        "admin-group = g2\nmax-api-connections = 7\nreap-failed = 11\nreap-left = 12\n"
        "profile = wan\nmember-join = j0\nhandler = member-join=j\nmember-failed = f\nmember-leave "
        "= "
        "l\nmember-update = u\n"
        "config-change = c\nuser-event = ue\nhandler = user-event:deploy=d\n"
        "handler = query:disk=df -h\nhandler-timeout = 13\nmax-handlers = 14\n"
        "user-event-budget = 5000\ndev = on\n";
    hsd_options o;
    char err[256];
    assert_int_equal(parse_file_flag(&o, text, NULL, err, sizeof(err)), 0);
    assert_string_equal(o.name, "n1");
    assert_string_equal(o.cluster, "c1");
    assert_true(o.have_bind && o.bind.port == 1);
    assert_true(o.have_advertise && o.advertise.port == 2);
    assert_string_equal(o.socket_path, "/tmp/s");
    assert_string_equal(o.data_dir, "/tmp/d");
    assert_true(o.seed_count == 1 && o.seeds[0].addr.port == 3);
    assert_true(o.join_count == 1 && o.joins[0].addr.port == 4);
    assert_string_equal(o.key_file, "/tmp/k");
    assert_true(o.insecure);
    assert_memory_equal(o.tags, "t=1", 4);
    assert_int_equal(o.log_level, HSD_LOG_WARN);
    assert_string_equal(o.socket_group, "g1");
    assert_string_equal(o.admin_group, "g2");
    assert_int_equal(o.max_api_connections, 7);
    assert_true(o.reap_failed_s == 11 && o.reap_left_s == 12);
    assert_int_equal(o.profile, 1); /* wan */
    assert_string_equal(o.handlers[0], "j");
    assert_string_equal(o.handlers[1], "f");
    assert_string_equal(o.handlers[2], "l");
    assert_string_equal(o.handlers[3], "u");
    assert_string_equal(o.handlers[4], "c");
    assert_string_equal(o.handlers[5], "ue");
    assert_string_equal(hsd_named_handler_cmd(&o, "user-event:deploy"), "d");
    assert_string_equal(hsd_named_handler_cmd(&o, "query:disk"), "df -h");
    assert_int_equal(o.user_event_budget, 5000);
    assert_int_equal(o.handler_timeout, 13);
    assert_int_equal(o.max_handlers, 14);
    assert_true(o.dev);
    /* a row added to the table must be added here */
    size_t n;
    const hsd_optdef *rows = hsd_option_rows(&n);
    for (size_t i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof(key), "\n%s = ", rows[i].name);
        if ((strstr(text, key) != NULL) != !(rows[i].flags & HSD_OPT_CLI))
            fail_msg("%s: in the file iff not HSD_OPT_CLI", rows[i].name);
    }
    /* -c, --help and --version are refused in the file */
    assert_int_equal(parse_file_flag(&o, "config = /etc/passwd\n", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'config' cannot be set inside the config file"));
    assert_int_equal(parse_file_flag(&o, "help = 1\n", NULL, err, sizeof(err)), -1);
}

/* Two values for every option from the file or a flag (a, b); a is the longer string, so a
 * field set to a then to b must not keep a's tail. */
static const struct {
    const char *name, *a, *b;
} SAMPLES[] = {
    {"name", "alpha-long", "b1"},
    {"cluster", "cluster-long", "c2"},
    {"bind", "127.0.0.1:1000", "127.0.0.2:2"},
    {"advertise", "[::1]:1000", "127.0.0.2:2"},
    {"socket", "/tmp/long-a.sock", "/tmp/b"},
    {"data-dir", "/tmp/long-a", "/tmp/b"},
    {"seed", "seed-long=127.0.0.1:1", "s=127.0.0.2:2"},
    {"join", "127.0.0.1:1,127.0.0.3", "127.0.0.2:2"},
    {"key-file", "/tmp/long-a.key", "/b"},
    {"insecure", "true", "false"},
    {"tag", "k=long-1", "k=2"},
    {"log-level", "debug", "warn"},
    {"socket-group", "group-long", "gb"},
    {"admin-group", "group-long", "gb"},
    {"max-api-connections", "10", "20"},
    {"reap-failed", "100", "200"},
    {"reap-left", "100", "200"},
    {"profile", "local", "wan"},
    {"handler", "member-join=long-a", "member-join=b"},
    {"member-join", "long-a", "b"},
    {"member-failed", "long-a", "b"},
    {"member-leave", "long-a", "b"},
    {"member-update", "long-a", "b"},
    {"config-change", "long-a", "b"},
    {"user-event", "long-a", "b"},
    {"handler-timeout", "5", "6"},
    {"max-handlers", "2", "3"},
    {"user-event-budget", "100000", "20000"},
    {"dev", "true", "false"},
};

static const char *sample(const char *name, bool b)
{
    for (size_t i = 0; i < sizeof(SAMPLES) / sizeof(SAMPLES[0]); i++)
        if (!strcmp(SAMPLES[i].name, name)) return b ? SAMPLES[i].b : SAMPLES[i].a;
    fail_msg("no sample values for option %s", name);
    return NULL;
}

/* For every option: the flag wins over the file, and gives the same field as the flag alone. */
static void test_flag_overrides_file(void **state)
{
    (void)state;
    size_t n;
    const hsd_optdef *rows = hsd_option_rows(&n);
    for (size_t i = 0; i < n; i++) {
        const hsd_optdef *d = &rows[i];
        if (d->flags & HSD_OPT_CLI) continue;
        char text[128], flag[128], err[256];
        snprintf(text, sizeof(text), "%s = %s\n", d->name, sample(d->name, false));
        snprintf(flag, sizeof(flag), "--%s=%s", d->name, sample(d->name, true));
        static hsd_options file_only, flag_only, both;
        assert_int_equal(parse_file_flag(&file_only, text, NULL, err, sizeof(err)), 0);
        assert_int_equal(parse_file_flag(&flag_only, NULL, flag, err, sizeof(err)), 0);
        assert_int_equal(parse_file_flag(&both, text, flag, err, sizeof(err)), 0);
        if (!memcmp(fieldp(&file_only, d), fieldp(&flag_only, d), d->size))
            fail_msg("%s: the two samples give the same field", d->name);
        if (memcmp(fieldp(&both, d), fieldp(&flag_only, d), d->size))
            fail_msg("%s: the flag did not override the file", d->name);
    }
}

/* The options a SIGHUP applies (signals.c: log level and tags; handlers.c: the handlers and
 * their limits) are the rows marked HSD_OPT_RELOAD; hsd_options_restart_needed names exactly
 * the others when they change. */
static void test_reload_flags(void **state)
{
    (void)state;
    static const char *const reloaded[] = {"tag",           "log-level",     "handler",
                                           "member-join",   "member-failed", "member-leave",
                                           "member-update", "config-change", "handler-timeout",
                                           "max-handlers",  "user-event"};
    size_t n, nreload = 0;
    const hsd_optdef *rows = hsd_option_rows(&n);
    for (size_t i = 0; i < n; i++) {
        const hsd_optdef *d = &rows[i];
        bool want = false;
        for (size_t j = 0; j < sizeof(reloaded) / sizeof(reloaded[0]); j++)
            want = want || !strcmp(reloaded[j], d->name);
        assert_int_equal(!!(d->flags & HSD_OPT_RELOAD), want);
        nreload += want;
        if (d->flags & HSD_OPT_CLI) continue;
        char ta[128], tb[128], flag[128], err[256], names[256];
        static hsd_options running, next;
        snprintf(ta, sizeof(ta), "%s = %s\n", d->name, sample(d->name, false));
        snprintf(tb, sizeof(tb), "%s = %s\n", d->name, sample(d->name, true));
        assert_int_equal(parse_file_flag(&running, ta, NULL, err, sizeof(err)), 0);
        assert_int_equal(parse_file_flag(&next, ta, NULL, err, sizeof(err)), 0);
        assert_int_equal(hsd_options_restart_needed(&running, &next, names, sizeof(names)), 0);
        assert_int_equal(parse_file_flag(&next, tb, NULL, err, sizeof(err)), 0);
        size_t changed = hsd_options_restart_needed(&running, &next, names, sizeof(names));
        assert_int_equal(changed, want ? 0 : 1);
        assert_string_equal(names, want ? "" : d->name);
        /* a flag that overrides the changed line: nothing changed */
        snprintf(flag, sizeof(flag), "--%s=%s", d->name, sample(d->name, true));
        assert_int_equal(parse_file_flag(&running, ta, flag, err, sizeof(err)), 0);
        assert_int_equal(parse_file_flag(&next, tb, flag, err, sizeof(err)), 0);
        assert_int_equal(hsd_options_restart_needed(&running, &next, names, sizeof(names)), 0);
    }
    assert_int_equal(nreload, sizeof(reloaded) / sizeof(reloaded[0]));
    /* several, into a short buffer: counted, cut, NUL-terminated */
    hsd_options a, b;
    char err[256], names[8];
    assert_int_equal(parse(&a, err, sizeof(err), 3, "--name=a", "--bind=127.0.0.1:1"), 0);
    assert_int_equal(parse(&b, err, sizeof(err), 4, "--name=b", "--bind=127.0.0.1:2", "--dev"), 0);
    assert_int_equal(hsd_options_restart_needed(&a, &b, names, sizeof(names)), 3);
    assert_string_equal(names, "name");
}

/* --- the documents against the table ------------------------------------------------------ */

static char *slurp(const char *rel)
{
    const char *src = getenv("HSD_SOURCE_DIR") ? getenv("HSD_SOURCE_DIR") : HSD_SOURCE_DIR;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", src, rel);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Is w in s as a whole word (no letter or digit on either side)? */
static bool has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
        bool l = p == s || !isalnum((unsigned char)p[-1]);
        bool r = !isalnum((unsigned char)p[n]);
        if (l && r) return true;
    }
    return false;
}

/* One roff line as text: the macro name dropped, its arguments joined (without spaces for the
 * alternating-font macros .BR, .BI, ...), the escapes for dashes and fonts removed. */
static void roff_text(const char *line, char *out, size_t cap)
{
    char raw[1024];
    size_t k = 0;
    const char *p = line;
    if (line[0] == '.') {
        size_t ml = strcspn(++p, " ");
        bool alt = ml == 2 && strchr("BIR", p[0]) && strchr("BIR", p[1]);
        for (p += ml; *p;) {
            while (*p == ' ') p++;
            if (!*p) break;
            if (k && !alt && k + 1 < sizeof(raw)) raw[k++] = ' ';
            char stop = *p == '"' ? '"' : ' ';
            if (*p == '"') p++;
            while (*p && *p != stop && k + 1 < sizeof(raw)) raw[k++] = *p++;
            if (*p == '"') p++;
        }
    } else {
        while (*p && k + 1 < sizeof(raw)) raw[k++] = *p++;
    }
    raw[k] = '\0';
    k = 0;
    for (p = raw; *p && k + 1 < cap; p++) {
        if (*p == '\\' && p[1] == 'f' && p[2]) {
            p += 2;
        } else if (*p == '\\' && (p[1] == '-' || p[1] == '&' || p[1] == 'e')) {
            if (p[1] != '&') out[k++] = p[1] == 'e' ? '\\' : '-';
            p++;
        } else {
            out[k++] = *p;
        }
    }
    out[k] = '\0';
}

typedef struct doc_entry {
    char tag[1024], body[4096];
} doc_entry;

/* The .TP entries of one section (.SH NAME) of a man page. */
static size_t man_entries(const char *page, const char *section, doc_entry *e, size_t cap)
{
    char *text = slurp(page), *save = NULL, want[64];
    snprintf(want, sizeof(want), ".SH %s", section);
    size_t n = 0;
    bool in = false, tag_next = false;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, ".SH", 3)) {
            in = !strcmp(l, want);
            if (!in && n) break;
            continue;
        }
        if (!in) continue;
        char t[1024];
        roff_text(l, t, sizeof(t));
        if (!strcmp(l, ".TP")) {
            assert_true(n < cap);
            memset(&e[n++], 0, sizeof(e[0]));
            tag_next = true;
        } else if (n && tag_next) {
            snprintf(e[n - 1].tag, sizeof(e[0].tag), "%s", t);
            tag_next = false;
        } else if (n) {
            size_t bl = strlen(e[n - 1].body);
            snprintf(e[n - 1].body + bl, sizeof(e[0].body) - bl, "%s ", t);
        }
    }
    free(text);
    return n;
}

/* The words of a tag: "--NAME"/"-X" words (long), or the words before " = " (file). */
static bool tag_names(const char *tag, bool file, const char *name, char short_flag)
{
    char t[1024], *save = NULL;
    snprintf(t, sizeof(t), "%s", tag);
    bool found = false;
    for (char *w = strtok_r(t, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
        if (file && !strcmp(w, "=")) break;
        if (!file && w[0] == '-' && w[1] == short_flag && !w[2] && short_flag) found = true;
        if (!file && strncmp(w, "--", 2)) continue;
        const char *n = file ? w : w + 2;
        if (!name) {
            const hsd_optdef *d = hsd_option_find(n);
            if (!d || strcmp(d->name, n)) fail_msg("the page documents an unknown option %s", w);
            if (file && (d->flags & HSD_OPT_CLI)) fail_msg("%s is not a file setting", w);
        } else if (!strcmp(n, name)) {
            found = true;
        }
    }
    return found;
}

/* What a document says about an option: its default, its upper bound, "SIGHUP" iff the
 * option is reloaded. */
static void check_doc(const char *where, const hsd_optdef *d, const char *doc)
{
    if (d->def && !has_word(doc, d->def))
        fail_msg("%s: %s does not give its default %s", where, d->name, d->def);
    char max[32];
    snprintf(max, sizeof(max), "%llu", (unsigned long long)d->max);
    if (d->max && !has_word(doc, max))
        fail_msg("%s: %s does not give its bound %s", where, d->name, max);
    if ((strstr(doc, "SIGHUP") != NULL) != !!(d->flags & HSD_OPT_RELOAD))
        fail_msg("%s: %s says SIGHUP iff it is reloaded", where, d->name);
}

static void check_man(const char *page, const char *section, bool file)
{
    static doc_entry e[64];
    size_t ne = man_entries(page, section, e, 64), n;
    assert_true(ne > 10);
    for (size_t i = 0; i < ne; i++) tag_names(e[i].tag, file, NULL, 0);
    const hsd_optdef *rows = hsd_option_rows(&n);
    for (size_t r = 0; r < n; r++) {
        const hsd_optdef *d = &rows[r];
        if (file && (d->flags & HSD_OPT_CLI)) continue;
        size_t i = 0;
        while (i < ne && !tag_names(e[i].tag, file, d->name, 0)) i++;
        if (i == ne) fail_msg("%s does not document %s", page, d->name);
        if (d->short_flag && !file && !tag_names(e[i].tag, false, "", d->short_flag))
            fail_msg("%s: %s without -%c", page, d->name, d->short_flag);
        check_doc(page, d, e[i].body);
    }
}

static void test_man_pages(void **state)
{
    (void)state;
    check_man("packaging/man/hearsayd.8", "OPTIONS", false);
    check_man("packaging/man/hearsay.conf.5", "SETTINGS", true);
}

/* packaging/hearsay.conf: every "#key = value" line is a file setting whose example value the
 * parser takes, every file setting has one, and the comment above it says what check_doc asks. */
static void test_example_config(void **state)
{
    (void)state;
    char *text = slurp("packaging/hearsay.conf"), *save = NULL;
    static char block[8192], doc[8192];
    size_t n;
    const hsd_optdef *rows = hsd_option_rows(&n);
    bool seen[64] = {false};
    assert_true(n <= 64);
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        const char *s = l[0] == '#' && isalpha((unsigned char)l[1]) ? l + 1 : l;
        if (s[0] == '[') {
            block[0] = '\0';
            continue;
        }
        if (s == l && s[0] == '#') {
            strncat(block, s, sizeof(block) - strlen(block) - 2);
            strcat(block, " ");
            continue;
        }
        const char *eq = strstr(s, " = ");
        if (!eq) continue;
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - s), s);
        const hsd_optdef *d = hsd_option_find(key);
        if (!d || (d->flags & HSD_OPT_CLI)) fail_msg("hearsay.conf sets an unknown %s", key);
        static hsd_options o;
        char err[256];
        memset(&o, 0, sizeof(o));
        if (hsd_options_set(&o, key, eq + 3, false, err, sizeof(err)) != 0)
            fail_msg("hearsay.conf: %s", err);
        if (block[0]) strcpy(doc, block);
        block[0] = '\0';
        check_doc("hearsay.conf", d, doc);
        seen[d - rows] = true;
    }
    for (size_t r = 0; r < n; r++)
        if (!(rows[r].flags & HSD_OPT_CLI) && !seen[r])
            fail_msg("hearsay.conf has no line for %s", rows[r].name);
    free(text);
}

/* --help: a line per option with its placeholder, default and reload mark, 79 columns. */
static void test_usage(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0, n;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    hsd_options_usage(f);
    fclose(f);
    const hsd_optdef *rows = hsd_option_rows(&n);
    for (size_t r = 0; r < n; r++) {
        const hsd_optdef *d = &rows[r];
        char start[64], sf[8] = "", want[64];
        if (d->short_flag) snprintf(sf, sizeof(sf), "-%c, ", d->short_flag);
        snprintf(start, sizeof(start), "\n  %s--%s%s%s", sf, d->name, d->arg ? " " : "",
                 d->arg ? d->arg : "");
        char *p = strstr(buf, start);
        if (!p || !strchr(" \n", p[strlen(start)])) fail_msg("--help has no line for %s", start);
        char *end = strstr(p + 1, "\n  -");
        char entry[512];
        snprintf(entry, sizeof(entry), "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
        snprintf(want, sizeof(want), "default %s", d->def ? d->def : "");
        assert_true((strstr(entry, want) != NULL) == (d->def && d->arg));
        assert_true((strstr(entry, "SIGHUP") != NULL) == !!(d->flags & HSD_OPT_RELOAD));
    }
    for (char *l = buf; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0))
        assert_true(strcspn(l, "\n") <= 79);
    free(buf);
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
    assert_non_null(strstr(err, "unknown option 'unknown'"));
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
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_file_and_override),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_uint_bounds),
        cmocka_unit_test(test_strings_names_addrs),
        cmocka_unit_test(test_bools_levels),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_handlers),
        cmocka_unit_test(test_named_handlers),
        cmocka_unit_test(test_every_option_from_file),
        cmocka_unit_test(test_flag_overrides_file),
        cmocka_unit_test(test_reload_flags),
        cmocka_unit_test(test_man_pages),
        cmocka_unit_test(test_example_config),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_hostile_file),
        cmocka_unit_test(test_tags_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
