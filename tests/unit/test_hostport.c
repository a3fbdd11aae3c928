/* test_hostport.c: HOST:PORT parsing of the daemon (agent/daemon/hostport.c): addresses,
 * [IPv6]:port, DNS names kept as text for the resolver, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hostport.h"

static void test_numeric(void **state)
{
    (void)state;
    hsd_target t;
    assert_int_equal(hsd_hostport_parse(&t, "127.0.0.3:7946", 0), 0);
    assert_true(t.addr.family == 4 && t.addr.port == 7946 && t.host[0] == 0);
    assert_int_equal(hsd_hostport_parse(&t, "[::1]:80", 0), 0);
    assert_true(t.addr.family == 6 && t.addr.port == 80 && t.host[0] == 0);
    assert_int_equal(hsd_hostport_parse(&t, "10.1.2.3", 7946), 0);
    assert_int_equal(t.addr.port, 7946);
    assert_int_equal(hsd_hostport_parse(&t, "[2001:db8::7]", 9), 0);
    assert_true(t.addr.family == 6 && t.addr.port == 9);
}

static void test_names(void **state)
{
    (void)state;
    hsd_target t;
    char buf[HSD_HOST_MAX + 8];
    assert_int_equal(hsd_hostport_parse(&t, "localhost:17946", 0), 0);
    assert_string_equal(t.host, "localhost");
    assert_true(t.addr.family == 0 && t.addr.port == 17946);
    assert_string_equal(hsd_target_format(&t, buf, sizeof(buf)), "localhost:17946");
    assert_int_equal(hsd_hostport_parse(&t, "seed.test", 7946), 0);
    assert_string_equal(t.host, "seed.test");
    assert_int_equal(t.addr.port, 7946);
    assert_int_equal(hsd_hostport_parse(&t, "a-1.b_2.example.:5", 0), 0); /* fully qualified */
    assert_string_equal(t.host, "a-1.b_2.example.");
    assert_int_equal(hsd_hostport_parse(&t, "3com.example:1", 0), 0);
    /* 63-byte labels and 253 bytes in all */
    char name[300];
    memset(name, 'a', 63);
    strcpy(name + 63, ".x:1");
    assert_int_equal(hsd_hostport_parse(&t, name, 0), 0);
    memset(name, 'a', 64);
    strcpy(name + 64, ".x:1");
    assert_int_not_equal(hsd_hostport_parse(&t, name, 0), 0);
    for (int i = 0; i < 254; i++) name[i] = i % 2 ? '.' : 'a';
    strcpy(name + 253, ":1"); /* "a.a. ... a" of 253 bytes */
    assert_int_equal(hsd_hostport_parse(&t, name, 0), 0);
    name[253] = 'a';
    strcpy(name + 254, ":1");
    assert_int_not_equal(hsd_hostport_parse(&t, name, 0), 0);
}

static void test_refused(void **state)
{
    (void)state;
    hsd_target t;
    const char *bad[] = {
        "",            /* empty */
        "localhost",   /* no port, and no default */
        "localhost:",  /* empty port */
        "localhost:0", /* port 0 */
        "localhost:65536",
        "localhost:+5",
        "localhost:5x",
        "localhost:-1",
        ":7946",  /* no host */
        "a..b:1", /* empty label */
        ".a:1",
        "a b:1",
        "a/b:1",
        "ex\xc3\xa4mple:1", /* not a name */
        "1.2.3:7946",       /* all digits: a mistyped address, not a name */
        "999.1.1.1:7946",
        "127.0.0.1:99999",
        "::1:7946", /* IPv6 needs brackets */
        "[::1",
        "[::1]x",
        "[name]:1",
        "[]:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (hsd_hostport_parse(&t, bad[i], 0) == 0) fail_msg("accepted '%s'", bad[i]);
    assert_int_not_equal(hsd_hostport_parse(&t, NULL, 7946), 0);
    assert_int_not_equal(hsd_hostport_parse(&t, "localhost:0", 7946), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
