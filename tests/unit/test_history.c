/* test_history.c: the per-member status history behind `hearsay explain` (lib/member_history.c).
 * A crashed member's history on an observer holds who raised the suspicion and the failure with
 * a majority of its vote group as voters, decided here; on a member that only heard of it the
 * failure is marked learnt; the member coming back adds a join at a higher incarnation; a
 * member that never left alive has no history; the history is bounded (oldest records go). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "minicluster.h"

#define N      6
#define VICTIM 4

static hs_history_entry hist[HS_HISTORY_MAX + 4];

static void boot(mc_cluster *c)
{
    mc_init(c, N);
    mc_start(c, 0, -1);
    for (int i = 1; i < N; i++) mc_start(c, i, 0);
    mc_run(c, 8000);
    for (int i = 0; i < N; i++) assert_true(mc_all_see(c, i, HS_ALIVE));
}

static bool victim_failed(mc_cluster *c, void *arg)
{
    (void)arg;
    return mc_all_see(c, VICTIM, HS_FAILED);
}

static bool victim_alive(mc_cluster *c, void *arg)
{
    (void)arg;
    return mc_all_see(c, VICTIM, HS_ALIVE);
}

static const hs_history_entry *find(size_t n, hs_history_what w)
{
    for (size_t i = 0; i < n; i++)
        if (hist[i].what == w) return &hist[i];
    return NULL;
}

static void test_failure_explained(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    for (int v = 0; v < N; v++)
        assert_int_equal(hs_node_history(c.n[v].node, "node1", hist, HS_HISTORY_MAX), 0);
    assert_int_equal(hs_node_history(c.n[0].node, "nobody", hist, HS_HISTORY_MAX), SIZE_MAX);
    uint32_t inc = c.n[VICTIM].last_inc;
    mc_crash(&c, VICTIM);
    assert_true(mc_run_until(&c, 20000, victim_failed, NULL) != UINT64_MAX);
    size_t deciders = 0;
    for (int v = 0; v < N; v++) {
        if (v == VICTIM) continue;
        size_t n = hs_node_history(c.n[v].node, "node4", hist, HS_HISTORY_MAX);
        const hs_history_entry *f = find(n, HS_H_FAILED);
        assert_non_null(f);
        assert_int_equal(f->status, HS_FAILED);
        assert_int_equal(f->inc, inc);
        if (f->learnt) continue;
        /* decided here: a majority of the vote group (4 observers here) voted, named */
        deciders++;
        assert_true(f->nvotes >= 3);
        for (size_t k = 0; k < f->nvotes; k++) {
            assert_int_equal(strncmp(f->votes[k].name, "node", 4), 0);
            assert_true(f->votes[k].at_ms <= f->at_ms);
        }
        const hs_history_entry *s = find(n, HS_H_SUSPECT);
        assert_non_null(s);
        assert_true(s->at_ms <= f->at_ms);
        assert_int_equal(strncmp(s->by, "node", 4), 0);
        assert_string_not_equal(s->by, "node4");
    }
    assert_true(deciders >= 1);
    mc_start(&c, VICTIM, 0);
    assert_true(mc_run_until(&c, 8000, victim_alive, NULL) != UINT64_MAX);
    size_t n = hs_node_history(c.n[0].node, "node4", hist, HS_HISTORY_MAX);
    assert_true(n >= 2);
    assert_int_equal(hist[n - 1].what, HS_H_JOIN);
    assert_true(hist[n - 1].inc > inc);
    assert_string_equal(hs_history_what_name(HS_H_FAILED), "failed");
    mc_free(&c);
}

static void test_history_is_bounded(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    for (int k = 0; k < 12; k++) { /* removed, left, readmitted: 3 records a round */
        hs_node_remove_member(c.n[0].node, c.now, "node2", false);
        mc_run(&c, 10);
        hs_node_readmit_member(c.n[0].node, c.now, "node2");
        mc_run(&c, 10);
    }
    size_t n = hs_node_history(c.n[0].node, "node2", hist, HS_HISTORY_MAX + 4);
    assert_int_equal(n, HS_HISTORY_MAX);
    assert_int_equal(hist[n - 1].what, HS_H_READMITTED);
    for (size_t i = 1; i < n; i++) assert_true(hist[i - 1].at_ms <= hist[i].at_ms);
    /* asking for fewer gives the newest */
    assert_int_equal(hs_node_history(c.n[0].node, "node2", hist, 2), 2);
    assert_int_equal(hist[1].what, HS_H_READMITTED);
    mc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failure_explained),
        cmocka_unit_test(test_history_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
