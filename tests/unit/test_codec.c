/* test_codec.c: the bounds-checked reader/writer, address parsing and tag validation that
 * every decoder relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/addr.h"
#include "hearsay/codec.h"
#include "hearsay/membership.h"

static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[64];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, 0xab);
    hs_put_u16(&w, 0xbeef);
    hs_put_u32(&w, 0xdeadbeef);
    hs_put_u64(&w, 0x0102030405060708ULL);
    hs_put_str8(&w, "node1", 5);
    hs_put_blob16(&w, "xyz", 3);
    assert_true(w.ok);
    hs_reader r;
    hs_reader_init(&r, buf, w.len);
    assert_int_equal(hs_get_u8(&r), 0xab);
    assert_int_equal(hs_get_u16(&r), 0xbeef);
    assert_int_equal(hs_get_u32(&r), 0xdeadbeef);
    assert_true(hs_get_u64(&r) == 0x0102030405060708ULL);
    char name[8];
    assert_int_equal(hs_get_str8(&r, name, sizeof(name), true), 5);
    assert_string_equal(name, "node1");
    size_t n;
    const uint8_t *p = hs_get_blob16(&r, 10, &n);
    assert_non_null(p);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "xyz", 3);
    assert_true(r.ok);
    assert_int_equal(hs_reader_left(&r), 0);
}

static void test_writer_overflow_sticks(void **state)
{
    (void)state;
    uint8_t buf[5];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u32(&w, 1);
    assert_true(w.ok);
    hs_put_u16(&w, 1);
    assert_false(w.ok);
    hs_put_u8(&w, 1); /* would fit, but the writer stays failed */
    assert_false(w.ok);
    assert_int_equal(w.len, 4);
    char big[300];
    memset(big, 'a', sizeof(big));
    uint8_t b2[400];
    hs_writer_init(&w, b2, sizeof(b2));
    hs_put_str8(&w, big, 256);
    assert_false(w.ok);
}

static void test_reader_truncation(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x01, 0x02, 0x03};
    hs_reader r;
    hs_reader_init(&r, buf, sizeof(buf));
    assert_int_equal(hs_get_u16(&r), 0x0102);
    assert_int_equal(hs_get_u32(&r), 0); /* only one byte left */
    assert_false(r.ok);
    assert_int_equal(hs_get_u8(&r), 0); /* stays failed */
    assert_int_equal(hs_reader_left(&r), 0);
}

static void test_str8_limits(void **state)
{
    (void)state;
    char out[4];
    const uint8_t too_long[] = {5, 'a', 'b', 'c', 'd', 'e'};
    hs_reader r;
    hs_reader_init(&r, too_long, sizeof(too_long));
    hs_get_str8(&r, out, sizeof(out), true);
    assert_false(r.ok);
    const uint8_t with_nul[] = {3, 'a', 0, 'c'};
    hs_reader_init(&r, with_nul, sizeof(with_nul));
    hs_get_str8(&r, out, sizeof(out), true);
    assert_false(r.ok);
    const uint8_t empty[] = {0};
    hs_reader_init(&r, empty, sizeof(empty));
    hs_get_str8(&r, out, sizeof(out), true);
    assert_false(r.ok);
    const uint8_t lies[] = {200, 'a'};
    hs_reader_init(&r, lies, sizeof(lies));
    hs_get_str8(&r, out, sizeof(out), false);
    assert_false(r.ok);
    const uint8_t blob[] = {0x00, 0x09, 1, 2, 3};
    size_t n;
    hs_reader_init(&r, blob, sizeof(blob));
    assert_null(hs_get_blob16(&r, 100, &n));
    assert_false(r.ok);
    hs_reader_init(&r, blob, sizeof(blob));
    assert_null(hs_get_blob16(&r, 4, &n)); /* over the caller's limit */
    assert_false(r.ok);
}

static void test_addr_parse(void **state)
{
    (void)state;
    hs_addr a;
    char buf[HS_ADDR_STRLEN];
    assert_int_equal(hs_addr_parse(&a, "127.0.0.3:7946", 0), 0);
    assert_int_equal(a.family, 4);
    assert_int_equal(a.port, 7946);
    assert_string_equal(hs_addr_format(&a, buf, sizeof(buf)), "127.0.0.3:7946");
    assert_int_equal(hs_addr_parse(&a, "[::1]:80", 0), 0);
    assert_int_equal(a.family, 6);
    assert_string_equal(hs_addr_format(&a, buf, sizeof(buf)), "[::1]:80");
    assert_int_equal(hs_addr_parse(&a, "10.1.2.3", 7946), 0);
    assert_int_equal(a.port, 7946);
    const char *bad[] = {"",       ":1",    "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:-1",
                         "host:1", "::1:5", "[::1",     "[::1]x",    "1.2.3.4:5x",    "1.2.3.4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(hs_addr_parse(&a, bad[i], 0), 0);
    hs_addr b = hs_addr_v4(127, 0, 0, 3, 7946), c;
    hs_addr_parse(&c, "127.0.0.3:7946", 0);
    assert_true(hs_addr_equal(&b, &c));
}

static void test_tags(void **state)
{
    (void)state;
    static const char ok[] = "role=db\0dc=eu-1\0empty=";
    hs_tags t = {ok, sizeof(ok)};
    assert_int_equal(hs_tags_validate(t), 0);
    assert_string_equal(hs_tags_get(t, "role"), "db");
    assert_string_equal(hs_tags_get(t, "dc"), "eu-1");
    assert_string_equal(hs_tags_get(t, "empty"), "");
    assert_null(hs_tags_get(t, "rol"));
    size_t pos = 0;
    int count = 0;
    while (hs_tags_next(t, &pos)) count++;
    assert_int_equal(count, 3);
    static const char dup[] = "a=1\0a=2";
    assert_int_equal(hs_tags_validate((hs_tags){dup, sizeof(dup)}), -1);
    static const char nokey[] = "=1";
    assert_int_equal(hs_tags_validate((hs_tags){nokey, sizeof(nokey)}), -1);
    static const char unterminated[] = {'a', '=', '1'};
    assert_int_equal(hs_tags_validate((hs_tags){unterminated, 3}), -1);
    static const char ctl[] = "a=\n";
    assert_int_equal(hs_tags_validate((hs_tags){ctl, sizeof(ctl)}), -1);
    char big[HS_TAGS_MAX + 10];
    memset(big, 'x', sizeof(big));
    big[0] = 'k';
    big[1] = '=';
    big[sizeof(big) - 1] = 0;
    assert_int_equal(hs_tags_validate((hs_tags){big, sizeof(big)}), -1);
    assert_int_equal(hs_tags_validate((hs_tags){NULL, 0}), 0);
}

static void test_status_names(void **state)
{
    (void)state;
    hs_status s;
    const char *names[] = {"alive", "suspect", "failed", "left"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(hs_status_parse(names[i], &s), 0);
        assert_int_equal(s, i);
        assert_string_equal(hs_status_name(s), names[i]);
    }
    assert_int_equal(hs_status_parse("dead", &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),         cmocka_unit_test(test_writer_overflow_sticks),
        cmocka_unit_test(test_reader_truncation), cmocka_unit_test(test_str8_limits),
        cmocka_unit_test(test_addr_parse),        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
