/* test_reachability.c: the membership core's reachability test (membership_reach.c) on the
 * minicluster: every member answers directly; a member cut off from the tester answers
 * through relays; a crashed one has no answer by indirect_timeout; one test at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "minicluster.h"

static void start_cluster(mc_cluster *c, int n)
{
    mc_init(c, n);
    mc_start(c, 0, -1);
    for (int i = 1; i < n; i++) mc_start(c, i, 0);
    mc_run(c, 3000);
}

/* Starts a test on node 0 and sends its Pings. */
static long start_test(mc_cluster *c)
{
    long n = hs_node_reachability_start(c->n[0].node, c->now);
    mc_drain(c, 0);
    return n;
}

static bool ended(mc_cluster *c, void *arg)
{
    (void)arg;
    return !hs_node_reachability_running(c->n[0].node);
}

static const hs_reach_member *result_of(mc_cluster *c, int j)
{
    const hs_reach_member *m;
    size_t n = hs_node_reachability_results(c->n[0].node, &m);
    char name[16];
    snprintf(name, sizeof name, "node%d", j);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].name, name)) return &m[i];
    return NULL;
}

static void test_all_direct(void **state)
{
    (void)state;
    mc_cluster c;
    start_cluster(&c, 5);
    assert_int_equal(start_test(&c), 4);
    assert_true(hs_node_reachability_running(c.n[0].node));
    assert_int_equal(start_test(&c), -1); /* one at a time */
    uint64_t t = mc_run_until(&c, 1000, ended, NULL);
    assert_true(t <= 5); /* ended by the last Pong, not by the timeout */
    for (int j = 1; j < 5; j++) {
        const hs_reach_member *m = result_of(&c, j);
        assert_non_null(m);
        assert_int_equal(m->result, HS_REACH_DIRECT);
        assert_int_equal(m->relays, 0);
        assert_true(m->rtt_ms >= 1 && m->rtt_ms <= 4);
    }
    /* a new test after the end, with fresh results */
    assert_int_equal(start_test(&c), 4);
    assert_int_equal(result_of(&c, 1)->result, HS_REACH_PENDING);
    mc_run_until(&c, 1000, ended, NULL);
    assert_int_equal(result_of(&c, 1)->result, HS_REACH_DIRECT);
    mc_free(&c);
}

static void test_relayed_and_silent(void **state)
{
    (void)state;
    mc_cluster c;
    start_cluster(&c, 5);
    c.drop[0][3] = c.drop[3][0] = true; /* node3: only through others */
    mc_crash(&c, 4);                    /* node4: not at all */
    uint64_t start = c.now;
    assert_int_equal(start_test(&c), 4);
    uint64_t t = mc_run_until(&c, 5000, ended, NULL);
    const hs_config *cfg = hs_node_config(c.n[0].node);
    assert_int_equal(c.now - start, cfg->indirect_timeout_ms); /* ended by the timeout */
    assert_true(t != UINT64_MAX);
    for (int j = 1; j <= 2; j++) assert_int_equal(result_of(&c, j)->result, HS_REACH_DIRECT);
    const hs_reach_member *r3 = result_of(&c, 3), *r4 = result_of(&c, 4);
    assert_int_equal(r3->result, HS_REACH_RELAYED);
    assert_true(r3->relays >= 1 && r3->relays <= 2); /* through node1/node2, the direct ones */
    assert_true(r3->rtt_ms > cfg->probe_timeout_ms && r3->rtt_ms < cfg->indirect_timeout_ms);
    assert_int_equal(r4->result, HS_REACH_NONE);
    assert_int_equal(r4->rtt_ms, 0);
    mc_free(&c);
}

static void test_alone(void **state)
{
    (void)state;
    mc_cluster c;
    start_cluster(&c, 1);
    assert_int_equal(start_test(&c), 0);
    assert_false(hs_node_reachability_running(c.n[0].node));
    const hs_reach_member *m;
    assert_int_equal(hs_node_reachability_results(c.n[0].node, &m), 0);
    mc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_direct),
        cmocka_unit_test(test_relayed_and_silent),
        cmocka_unit_test(test_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
