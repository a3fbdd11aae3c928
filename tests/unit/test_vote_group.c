/* test_vote_group.c: the vote group (ring observers) and the vote thresholds at every size:
 * K = min(5, live - 1), a majority is K/2 + 1, votes expire after the validity window, and
 * only the subject's observers' votes count. Uses the core's internal header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

static hs_node *make_node(size_t members)
{
    hs_config cfg;
    hs_config_default(&cfg);
    strcpy(cfg.name, "m0");
    cfg.addr = hs_addr_v4(127, 0, 0, 1, 7946);
    hs_node *n = hs_node_new(&cfg, (hs_tags){NULL, 0}, 0, 1000, 7);
    for (size_t i = 1; i < members; i++) {
        hs_entry e;
        memset(&e, 0, sizeof(e));
        snprintf(e.name, sizeof(e.name), "m%zu", i);
        e.addr = hs_addr_v4(127, 1, (uint8_t)(i >> 8), (uint8_t)i, 7946);
        e.status = HS_ALIVE;
        hs_merge_entry(n, &e);
    }
    return n;
}

static void test_group_size_by_n(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 10; n++) {
        hs_node *node = make_node(n);
        size_t k = hs_vote_group_size(node);
        size_t expect = n - 1 < 5 ? n - 1 : 5;
        assert_int_equal(k, expect);
        hs_member *obs[HS_MAX_VOTE_GROUP];
        for (size_t i = 0; i < node->nmembers; i++) {
            hs_member *m = node->members[i];
            size_t got = hs_observers(node, m, obs, HS_MAX_VOTE_GROUP);
            assert_int_equal(got, expect);
            for (size_t a = 0; a < got; a++) {
                assert_true(obs[a] != m); /* never its own observer */
                for (size_t b = a + 1; b < got; b++) assert_true(obs[a] != obs[b]);
            }
        }
        hs_node_free(node);
    }
}

static void test_group_bounded_at_large_n(void **state)
{
    (void)state;
    hs_node *node = make_node(4000);
    assert_int_equal(hs_vote_group_size(node), 5);
    /* every member has exactly 5 observers, and is the subject of exactly 5 members:
     * the load of probing and voting is the same for everyone */
    size_t *subject_of = calloc(node->nmembers, sizeof(size_t));
    hs_member *obs[HS_MAX_VOTE_GROUP];
    for (size_t i = 0; i < node->nmembers; i++) {
        assert_int_equal(hs_observers(node, node->members[i], obs, HS_MAX_VOTE_GROUP), 5);
        for (size_t j = 0; j < 5; j++) subject_of[obs[j]->index]++;
    }
    for (size_t i = 0; i < node->nmembers; i++) assert_int_equal(subject_of[i], 5);
    free(subject_of);
    hs_member *subj[HS_MAX_VOTE_GROUP];
    assert_int_equal(hs_subjects(node, subj, HS_MAX_VOTE_GROUP), 5);
    for (size_t j = 0; j < 5; j++)
        assert_true(hs_is_observer(node, subj[j], node->self->ring_hash));
    /* the per-member table cost stays small */
    assert_true(hs_node_table_bytes(node) / node->nmembers <= 200);
    hs_node_free(node);
}

/* Builds a VOTE from `voter` about `subject` at incarnation 0. */
static size_t vote_msg(uint8_t *buf, const char *subject, const char *voter, uint8_t flags)
{
    hs_writer w;
    hs_writer_init(&w, buf, 256);
    hs_put_u8(&w, HS_MSG_VOTE);
    hs_put_str8(&w, subject, strlen(subject));
    hs_put_u32(&w, 0);
    hs_put_str8(&w, voter, strlen(voter));
    hs_put_u8(&w, flags);
    return w.len;
}

/* Finds a subject whose observers include us, so our own vote can decide. */
static hs_member *subject_we_observe(hs_node *n, hs_member **obs, size_t *k)
{
    for (size_t i = 0; i < n->nmembers; i++) {
        hs_member *m = n->members[i];
        if (m == n->self) continue;
        *k = hs_observers(n, m, obs, HS_MAX_VOTE_GROUP);
        for (size_t j = 0; j < *k; j++)
            if (obs[j] == n->self) return m;
    }
    return NULL;
}

static void feed(hs_node *n, uint64_t now, const uint8_t *buf, size_t len)
{
    hs_addr from = hs_addr_v4(127, 0, 0, 9, 7946);
    hs_node_receive(n, now, &from, buf, len, false);
}

/* Votes (then, with retract, withdraws) from `count` observers of s other than us. */
static void votes_from_others(hs_node *n, hs_member *s, hs_member **obs, size_t k, size_t count,
                              uint64_t now, bool retract)
{
    uint8_t buf[256];
    size_t voted = 0;
    for (size_t j = 0; j < k && voted < count; j++) {
        if (obs[j] == n->self) continue;
        feed(n, now, buf, vote_msg(buf, s->name, obs[j]->name, 0));
        if (retract) feed(n, now, buf, vote_msg(buf, s->name, obs[j]->name, 1));
        voted++;
    }
}

static void test_majority_with_own_vote(void **state)
{
    (void)state;
    hs_node *n = make_node(50);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    assert_non_null(s);
    assert_int_equal(k, 5);
    uint8_t buf[256];
    uint64_t now = 2000;
    /* two other observers vote: 2 of 5 is no majority, and we have not voted */
    votes_from_others(n, s, obs, k, 2, now, false);
    assert_int_equal(s->status, HS_SUSPECT);
    /* a non-observer's vote never counts */
    hs_member *outsider = NULL;
    for (size_t i = 0; i < n->nmembers && !outsider; i++)
        if (n->members[i] != s && !hs_is_observer(n, s, n->members[i]->ring_hash))
            outsider = n->members[i];
    feed(n, now, buf, vote_msg(buf, s->name, outsider->name, 0));
    assert_int_equal(s->susp->nvotes, 2);
    /* a third vote from the group: 3 of 5, but the deciding node must agree */
    for (size_t j = 0; j < k; j++) {
        if (obs[j] == n->self || s->susp->nvotes >= 3) continue;
        bool already = false;
        for (size_t v = 0; v < s->susp->nvotes; v++)
            already |= s->susp->votes[v].voter_hash == obs[j]->ring_hash;
        if (!already) feed(n, now, buf, vote_msg(buf, s->name, obs[j]->name, 0));
    }
    assert_int_equal(s->status, HS_SUSPECT);
    /* our own checks fail verify_rounds times: we vote, and 4 of 5 decide */
    for (uint32_t r = 0; r < n->cfg.verify_rounds; r++) hs_check_failed(n, s);
    assert_int_equal(s->status, HS_FAILED);
    assert_int_equal(hs_node_stats_get(n)->failures_declared, 1);
    hs_node_free(n);
}

static void test_votes_expire(void **state)
{
    (void)state;
    hs_node *n = make_node(50);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    uint64_t now = 2000;
    votes_from_others(n, s, obs, k, 2, now, false);
    /* the votes are older than the validity window when we come to agree */
    now += n->cfg.vote_validity_ms + 1;
    hs_node_tick(n, now);
    for (uint32_t r = 0; r < n->cfg.verify_rounds; r++) hs_check_failed(n, s);
    assert_int_not_equal(s->status, HS_FAILED);
    hs_node_free(n);
}

static void test_retracted_vote_does_not_count(void **state)
{
    (void)state;
    hs_node *n = make_node(50);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    votes_from_others(n, s, obs, k, 2, 2000, true);
    for (uint32_t r = 0; r < n->cfg.verify_rounds; r++) hs_check_failed(n, s);
    assert_int_not_equal(s->status, HS_FAILED); /* only our own vote is left: 1 of 5 */
    hs_node_free(n);
}

static void test_stale_incarnation_vote_ignored(void **state)
{
    (void)state;
    hs_node *n = make_node(10);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    /* the subject refuted: incarnation 1; votes about incarnation 0 are void */
    hs_entry e;
    memset(&e, 0, sizeof(e));
    strcpy(e.name, s->name);
    e.addr = s->addr;
    e.inc = 1;
    e.status = HS_ALIVE;
    hs_merge_entry(n, &e);
    uint8_t buf[256];
    for (size_t j = 0; j < k; j++)
        if (obs[j] != n->self) feed(n, 2000, buf, vote_msg(buf, s->name, obs[j]->name, 0));
    assert_null(s->susp);
    assert_int_equal(s->status, HS_ALIVE);
    hs_node_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_size_by_n),
        cmocka_unit_test(test_group_bounded_at_large_n),
        cmocka_unit_test(test_majority_with_own_vote),
        cmocka_unit_test(test_votes_expire),
        cmocka_unit_test(test_retracted_vote_does_not_count),
        cmocka_unit_test(test_stale_incarnation_vote_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
