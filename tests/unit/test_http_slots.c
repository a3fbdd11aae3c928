/* test_http_slots.c: the fair shares of the API's slots (agent/daemon/http_slots.c): a quarter
 * of every limit kept for privileged peers, readers together the rest, one reader uid half of
 * that; slots given back; refusals counted by kind and reason, and said in words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_internal.h"

static const hsd_peer ROOT = {0, true};
static const hsd_peer ADMIN = {1000, true}; /* --admin-group or the agent's uid */
static const hsd_peer R1 = {65534, false}, R2 = {65533, false}, R3 = {65532, false};

/* Takes slots for p until one is refused; returns how many it got, *why the refusal. */
static unsigned fill(int kind, const hsd_peer *p, unsigned max, int *why)
{
    unsigned n = 0;
    *why = HSD_SLOT_OK;
    while (n < max && (*why = hsd_slot_take(kind, p)) == HSD_SLOT_OK) n++;
    return n;
}

static void test_default_connection_shares(void **state)
{
    (void)state;
    hsd_slots_init(0); /* --max-api-connections 256 */
    int why;
    assert_int_equal(fill(HSD_SLOT_CONN, &R1, 1000, &why), 96); /* half of 192 */
    assert_int_equal(why, HSD_SLOT_UID);
    assert_int_equal(fill(HSD_SLOT_CONN, &R2, 1000, &why), 96);
    assert_int_equal(why, HSD_SLOT_UID);
    /* the readers' 192 are taken: a third reader is refused, root is not */
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &R3), HSD_SLOT_READERS);
    assert_int_equal(fill(HSD_SLOT_CONN, &ROOT, 1000, &why), 64);
    assert_int_equal(why, HSD_SLOT_FULL);
    assert_int_equal(hsd_slots_used(HSD_SLOT_CONN, false), 192);
    assert_int_equal(hsd_slots_used(HSD_SLOT_CONN, true), 64);
    assert_int_equal(hsd_slots_refused(HSD_SLOT_CONN, HSD_SLOT_UID), 2);
    assert_int_equal(hsd_slots_refused(HSD_SLOT_CONN, HSD_SLOT_READERS), 1);
    assert_int_equal(hsd_slots_refused(HSD_SLOT_CONN, HSD_SLOT_FULL), 1);
    /* a slot given back is free again, for the share it came from */
    hsd_slot_put(HSD_SLOT_CONN, &R1);
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &R3), HSD_SLOT_OK);
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &R1), HSD_SLOT_FULL);
    hsd_slots_free();
}

static void test_privileged_may_take_everything(void **state)
{
    (void)state;
    hsd_slots_init(8);
    int why;
    assert_int_equal(fill(HSD_SLOT_CONN, &ADMIN, 100, &why), 8);
    assert_int_equal(why, HSD_SLOT_FULL);
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &R1), HSD_SLOT_FULL);
    for (int i = 0; i < 8; i++) hsd_slot_put(HSD_SLOT_CONN, &ADMIN);
    /* 8: 2 kept, readers 6, one uid 3 */
    assert_int_equal(fill(HSD_SLOT_CONN, &R1, 100, &why), 3);
    assert_int_equal(fill(HSD_SLOT_CONN, &R2, 100, &why), 3);
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &R3), HSD_SLOT_READERS);
    assert_int_equal(fill(HSD_SLOT_CONN, &ROOT, 100, &why), 2);
    hsd_slots_free();
}

static void test_small_limits(void **state)
{
    (void)state;
    int why;
    hsd_slots_init(1); /* nothing left for readers: only privileged peers connect */
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &R1), HSD_SLOT_READERS);
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &ROOT), HSD_SLOT_OK);
    hsd_slots_init(2); /* 1 kept, 1 for readers, and one uid may have it */
    assert_int_equal(fill(HSD_SLOT_CONN, &R1, 10, &why), 1);
    assert_int_equal(why, HSD_SLOT_UID);
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &R2), HSD_SLOT_READERS);
    assert_int_equal(hsd_slot_take(HSD_SLOT_CONN, &ROOT), HSD_SLOT_OK);
    hsd_slots_free();
}

static void test_streams_and_surveys(void **state)
{
    (void)state;
    hsd_slots_init(0);
    int why;
    assert_int_equal(fill(HSD_SLOT_STREAM, &R1, 100, &why), 24); /* 64: 16 kept, 48, 24 */
    assert_int_equal(fill(HSD_SLOT_STREAM, &R2, 100, &why), 24);
    assert_int_equal(hsd_slot_take(HSD_SLOT_STREAM, &R3), HSD_SLOT_READERS);
    assert_int_equal(fill(HSD_SLOT_SURVEY, &R1, 100, &why), 6); /* 16: 4 kept, 12, 6 */
    assert_int_equal(fill(HSD_SLOT_SURVEY, &R2, 100, &why), 6);
    assert_int_equal(hsd_slot_take(HSD_SLOT_SURVEY, &R3), HSD_SLOT_READERS);
    assert_int_equal(fill(HSD_SLOT_SURVEY, &ADMIN, 100, &why), 4);
    /* kinds are counted apart: streams and surveys left the connections alone */
    assert_int_equal(fill(HSD_SLOT_CONN, &R1, 1000, &why), 96);
    /* a uid that gives back everything is forgotten; one that still holds a kind is not */
    for (int i = 0; i < 24; i++) hsd_slot_put(HSD_SLOT_STREAM, &R2);
    for (int i = 0; i < 6; i++) hsd_slot_put(HSD_SLOT_SURVEY, &R2);
    assert_int_equal(hsd_slots_used(HSD_SLOT_STREAM, false), 24);
    assert_int_equal(hsd_slot_take(HSD_SLOT_STREAM, &R1), HSD_SLOT_UID);
    assert_int_equal(hsd_slot_take(HSD_SLOT_STREAM, &R2), HSD_SLOT_OK);
    hsd_slots_free();
}

static void test_refusal_words(void **state)
{
    (void)state;
    hsd_slots_init(0);
    char b[200];
    hsd_slot_refusal(HSD_SLOT_CONN, HSD_SLOT_UID, &R1, b, sizeof(b));
    assert_string_equal(b, "uid 65534 holds 96 API connections, the most one unprivileged uid "
                           "may hold");
    hsd_slot_refusal(HSD_SLOT_SURVEY, HSD_SLOT_READERS, &R1, b, sizeof(b));
    assert_string_equal(b, "the 12 key surveys unprivileged users may hold are taken (4 more are "
                           "kept for uid 0, the agent's uid and --admin-group)");
    hsd_slot_refusal(HSD_SLOT_CONN, HSD_SLOT_FULL, &ROOT, b, sizeof(b));
    assert_string_equal(b, "the agent serves at most 256 API connections at once "
                           "(--max-api-connections)");
    assert_string_equal(hsd_slot_name(HSD_SLOT_STREAM), "stream");
    assert_string_equal(hsd_slot_why_name(HSD_SLOT_READERS), "readers");
    hsd_slots_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_connection_shares),
        cmocka_unit_test(test_privileged_may_take_everything),
        cmocka_unit_test(test_small_limits),
        cmocka_unit_test(test_streams_and_surveys),
        cmocka_unit_test(test_refusal_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
