/* test_name_conflict.c: two agents with one name (lib/member_conflict.c). A second process that
 * joins under a live member's name at another address is refused by every member, is reported
 * (member-conflict event, counter, marker, by the member it met and by the first claimant) and
 * stops as the newer claimant, whatever incarnation it starts with, while the first keeps its
 * name and address; once the newer one is gone the
 * report ends. A member that restarts at a new address while its old process is dead takes
 * its name over (no conflict); a stale entry naming the old address changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/codec.h"
#include "minicluster.h"

#define N       4 /* node0 .. node3 */
#define CLAIMER 5 /* the address index the second "node2" runs at */

static void boot(mc_cluster *c)
{
    mc_init(c, CLAIMER + 1);
    mc_start(c, 0, -1);
    for (int i = 1; i < N; i++) mc_start(c, i, 0);
    mc_run(c, 8000);
    for (int i = 0; i < N; i++) assert_true(mc_all_see(c, i, HS_ALIVE));
}

static hs_addr addr_of(mc_cluster *c, int viewer, const char *name)
{
    hs_member_info mi;
    assert_true(hs_node_find(c->n[viewer].node, name, &mi));
    return mi.addr;
}

static bool claimer_stopped(mc_cluster *c, void *arg)
{
    (void)arg;
    return hs_node_stopped(c->n[CLAIMER].node, NULL);
}

static void check_newer_claimant_stops(uint32_t inc)
{
    mc_cluster c;
    boot(&c);
    hs_addr real = mc_addr(2), dup = mc_addr(CLAIMER);
    mc_start_as(&c, CLAIMER, "node2", inc, 0);
    uint64_t took = mc_run_until(&c, 5000, claimer_stopped, NULL);
    assert_true(took != UINT64_MAX);
    hs_addr other;
    assert_true(hs_node_stopped(c.n[CLAIMER].node, &other));
    assert_true(hs_addr_equal(&other, &real));
    assert_false(hs_node_stopped(c.n[2].node, NULL));
    /* the cluster kept the first claimant's address, and node0 (met by the newcomer) reported
     * the conflict with the other address */
    for (int v = 0; v < N; v++) {
        hs_addr a = addr_of(&c, v, "node2");
        if (v != 2) assert_true(hs_addr_equal(&a, &real));
    }
    assert_true(c.events[0][2][HS_EV_CONFLICT] >= 1);
    hs_addr seen;
    assert_true(hs_node_conflict(c.n[0].node, "node2", &seen));
    assert_true(hs_addr_equal(&seen, &dup));
    assert_true(hs_node_stats_get(c.n[0].node)->name_conflicts >= 1);
    /* the first claimant heard the newer one check the name and reported it too */
    assert_true(hs_node_stats_get(c.n[2].node)->name_conflicts >= 1);
    /* the newer claimant is quiet: it sends nothing more */
    uint64_t out = hs_node_stats_get(c.n[CLAIMER].node)->msgs_out;
    mc_run(&c, 3000);
    assert_int_equal(hs_node_stats_get(c.n[CLAIMER].node)->msgs_out, out);
    /* it is gone for good: the report ends, node2 stayed alive at its address everywhere */
    mc_crash(&c, CLAIMER);
    mc_run(&c, 10000);
    assert_false(hs_node_conflict(c.n[0].node, "node2", NULL));
    assert_true(mc_all_see(&c, 2, HS_ALIVE));
    for (int v = 0; v < N; v++) {
        hs_addr a = addr_of(&c, v, "node2");
        assert_true(hs_addr_equal(&a, &real));
    }
    mc_free(&c);
}

static void test_newer_claimant_stops(void **state)
{
    (void)state;
    check_newer_claimant_stops(0);
}

/* An incarnation above the first one's would win by the gossip rules: it must not. */
static void test_newer_claimant_with_higher_incarnation_stops(void **state)
{
    (void)state;
    check_newer_claimant_stops(1000);
}

static bool moved(mc_cluster *c, void *arg)
{
    const hs_addr *to = arg;
    for (int v = 0; v < N; v++) {
        if (v == 2) continue;
        hs_member_info mi;
        if (!hs_node_find(c->n[v].node, "node2", &mi) || mi.status != HS_ALIVE ||
            !hs_addr_equal(&mi.addr, to))
            return false;
    }
    return true;
}

/* node2 dies and starts again at another address before anyone noticed: it takes its name over
 * once the old address is silent, and nobody reports a conflict. */
static void test_move_to_new_address_takes_over(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    uint32_t inc = c.n[2].last_inc;
    mc_crash(&c, 2);
    hs_addr dup = mc_addr(CLAIMER);
    mc_start_as(&c, CLAIMER, "node2", inc, 0);
    uint64_t took = mc_run_until(&c, 6000, moved, &dup);
    assert_true(took != UINT64_MAX);
    assert_false(hs_node_stopped(c.n[CLAIMER].node, NULL));
    for (int v = 0; v < N; v++) {
        if (v == 2) continue;
        assert_int_equal(c.events[v][2][HS_EV_CONFLICT], 0);
        assert_false(hs_node_conflict(c.n[v].node, "node2", NULL));
    }
    mc_free(&c);
}

/* An entry naming a live member at an address where nobody answers for it (stale, or forged by
 * a key holder) moves nobody. */
static void test_stale_address_claim_changes_nothing(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    hs_member_info mi;
    assert_true(hs_node_find(c.n[0].node, "node3", &mi));
    /* a Gossip entry: node3 alive at 127.0.0.30 with a much higher incarnation */
    uint8_t buf[256];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, 0x07);
    hs_put_str8(&w, "node1", 5);
    hs_put_u8(&w, 1);
    hs_put_str8(&w, "node3", 5);
    hs_put_u8(&w, 4);
    const uint8_t ip[4] = {127, 0, 0, 30};
    hs_put_bytes(&w, ip, 4);
    hs_put_u16(&w, 7946);
    hs_put_u32(&w, mi.incarnation + 50);
    hs_put_u8(&w, HS_ALIVE);
    hs_put_u16(&w, 0);
    assert_true(w.ok);
    mc_inject_from(&c, 1, 0, buf, w.len);
    mc_run(&c, 3000);
    hs_member_info now;
    assert_true(hs_node_find(c.n[0].node, "node3", &now));
    assert_true(hs_addr_equal(&now.addr, &mi.addr));
    assert_int_equal(now.incarnation, mi.incarnation);
    assert_false(hs_node_conflict(c.n[0].node, "node3", NULL));
    assert_true(hs_node_stats_get(c.n[0].node)->name_checks >= 1);
    mc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newer_claimant_stops),
        cmocka_unit_test(test_newer_claimant_with_higher_incarnation_stops),
        cmocka_unit_test(test_move_to_new_address_takes_over),
        cmocka_unit_test(test_stale_address_claim_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
