/* test_vote_group.c: the vote group (ring observers) and the vote thresholds at every size:
 * K = min(5, live - 1), a majority is K/2 + 1, votes expire after the validity window, and
 * only the subject's observers' votes count, and a verdict waits for a majority of the
 * cluster to answer a Reach round. Uses the core's internal header. */
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
    /* set on every path: cmocka's assert_non_null is not noreturn, so callers' later reads of k
     * would otherwise be maybe-uninitialized (gcc 12 -O3) */
    *k = 0;
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

/* Three other observers vote and our own checks fail verify_rounds times: the verdict on s
 * is ready and waits for a Reach round. */
static void verdict_ready(hs_node *n, hs_member *s, hs_member **obs, size_t k, uint64_t now)
{
    votes_from_others(n, s, obs, k, 3, now, false);
    for (uint32_t r = 0; r < n->cfg.verify_rounds; r++) hs_check_failed(n, s);
}

static void set_status(hs_node *n, hs_member *m, uint32_t inc, hs_status st)
{
    hs_entry e;
    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", m->name);
    e.addr = hs_member_addr(n, m);
    e.inc = inc;
    e.status = st;
    hs_merge_entry(n, &e);
}

static void reach_ack_from(hs_node *n, uint64_t now, const hs_member *m, uint32_t seq)
{
    uint8_t buf[256];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_REACH_ACK);
    hs_put_u32(&w, seq);
    hs_put_str8(&w, m->name, strlen(m->name));
    feed(n, now, buf, w.len);
}

/* REACH_ACKs for round seq from the first `count` members other than us and `skip`. */
static void reach_acks(hs_node *n, uint64_t now, const hs_member *skip, size_t count, uint32_t seq)
{
    size_t sent = 0;
    for (size_t i = 0; i < n->nmembers && sent < count; i++) {
        hs_member *m = n->members[i];
        if (m == n->self || m == skip) continue;
        reach_ack_from(n, now, m, seq);
        sent++;
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
    /* our own checks fail verify_rounds times: we vote, and 4 of 5 would decide, but first a
     * majority of the cluster must answer a Reach round */
    for (uint32_t r = 0; r < n->cfg.verify_rounds; r++) hs_check_failed(n, s);
    assert_int_equal(s->status, HS_SUSPECT);
    assert_true(n->quorum.started != 0);
    reach_acks(n, now + 10, s, 24, n->quorum.seq); /* 25 of 50 with us: not more than half */
    assert_int_equal(s->status, HS_SUSPECT);
    reach_acks(n, now + 10, s, 25, n->quorum.seq); /* the 25th other member: 26 of 50 */
    /* the majority took 10 ms: the suspect gets four times as long to answer the same REACH */
    hs_node_tick(n, now + 39);
    assert_int_equal(s->status, HS_SUSPECT);
    hs_node_tick(n, now + 40);
    assert_int_equal(s->status, HS_FAILED);
    assert_int_equal(hs_node_stats_get(n)->failures_declared, 1);
    hs_node_free(n);
}

/* REACH packets the node has queued since the last call (the rest is dropped). */
static size_t drain_reaches(hs_node *n)
{
    size_t c = 0;
    hs_packet p;
    while (hs_node_next_packet(n, &p))
        if (p.len && p.data[0] == HS_MSG_REACH) c++;
    return c;
}

/* The cut-off side of a partition: the votes stand but no majority of the cluster answers,
 * so no verdict, however long the votes are renewed, until the fallback delay. While cut off
 * the node asks only a sample whether the cut healed, not every member again. */
static void test_no_verdict_without_majority(void **state)
{
    (void)state;
    hs_node *n = make_node(50);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    uint64_t now = 2000;
    size_t reaches = 0;
    drain_reaches(n);
    for (; now < 2000 + n->cfg.quorum_fallback_ms - 2000; now += 100) {
        verdict_ready(n, s, obs, k, now);
        /* a 21-member minority (ourselves and the first 20 others) answers whatever it gets */
        if (n->quorum.started) reach_acks(n, now, s, 20, n->quorum.seq);
        hs_node_tick(n, now);
        reaches += drain_reaches(n);
        assert_int_equal(s->status, HS_SUSPECT);
    }
    assert_int_equal(hs_node_stats_get(n)->failures_declared, 0);
    assert_int_equal(hs_node_stats_get(n)->quorum_rounds, 1);
    assert_int_equal(hs_node_stats_get(n)->quorum_lost, 1);
    /* one full round (49 REACHes, resent twice to the 29 silent ones), then samples of 8 */
    assert_true(reaches >= 49 + 2 * 29 + 5 * 8);
    assert_true(reaches <= 49 + 2 * 29 + 10 * 8);
    /* after the fallback delay without a majority the node decides alone */
    now = 2000 + n->cfg.quorum_fallback_ms + 600;
    verdict_ready(n, s, obs, k, now);
    hs_node_tick(n, now);
    assert_int_equal(s->status, HS_FAILED);
    hs_node_free(n);
}

/* The cut heals: the sample asked while cut off answers, a full round follows at once and the
 * verdicts may be reached again (by checks that fail now). */
static void test_heal_found_by_sample(void **state)
{
    (void)state;
    hs_node *n = make_node(50);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    verdict_ready(n, s, obs, k, 2000);
    hs_node_tick(n, 2500); /* nobody answered the full round */
    assert_int_equal(hs_node_stats_get(n)->quorum_lost, 1);
    assert_true(s->susp->my_vote_ms == 0); /* our vote, cast while cut off, is withdrawn */
    hs_node_tick(n, 3500);                 /* the first sample goes out */
    assert_true(n->quorum.started && !n->quorum.full);
    uint32_t seq = n->quorum.seq;
    reach_acks(n, 3501, NULL, 49, seq); /* the cut healed: everyone answers what reaches them */
    assert_true(n->quorum.started && n->quorum.full);
    reach_acks(n, 3502, s, 30, n->quorum.seq);
    hs_node_tick(n, 3501 + n->cfg.probe_timeout_ms);
    assert_int_equal(n->quorum.lost_since, 0);
    assert_int_equal(n->quorum.ok_start, 3501);
    hs_node_free(n);
}

/* Found by tests/chaos (seed 1): three of a member's five observers were on the small side of
 * a partition; their checks kept failing and one's verdict waited. The cut healed, its sample
 * and then a full round were answered by a majority, and the member, busy with the rejoining
 * side, answered the same REACH later than four times the majority's few ms: it was declared
 * failed everywhere for half a second. Checks made while cut off say nothing about the
 * suspect: the first majority after a cut starts them over, it does not confirm them. */
static void test_heal_does_not_confirm_checks_made_while_cut_off(void **state)
{
    (void)state;
    hs_node *n = make_node(50);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    verdict_ready(n, s, obs, k, 2000);
    hs_node_tick(n, 2500); /* nobody answered the full round: we are cut off */
    assert_int_equal(hs_node_stats_get(n)->quorum_lost, 1);
    verdict_ready(n, s, obs, k, 2600); /* our checks keep failing behind the cut */
    assert_true(s->susp->my_vote_ms != 0);
    hs_node_tick(n, 3500); /* the cut heals: the sample is answered */
    assert_true(n->quorum.started && !n->quorum.full);
    reach_acks(n, 3501, s, 49, n->quorum.seq);
    assert_true(n->quorum.started && n->quorum.full);
    reach_acks(n, 3502, s, 30, n->quorum.seq); /* a majority, not (yet) the suspect */
    hs_node_tick(n, 3501 + n->cfg.probe_timeout_ms);
    assert_int_equal(n->quorum.lost_since, 0);
    assert_int_not_equal(s->status, HS_FAILED);
    assert_non_null(s->susp);
    assert_int_equal(s->susp->my_vote_ms, 0); /* our vote from behind the cut is gone */
    assert_true(s->susp->next_round_ms != 0 || n->checks[0].used); /* checked again now */
    hs_node_free(n);
}

/* A round that reached a majority before the votes stood does not speak for them (it may
 * predate the partition): the verdict waits for a round that starts after. */
static void test_old_round_does_not_count(void **state)
{
    (void)state;
    hs_node *n = make_node(20);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    /* a first verdict, about another subject, confirmed at t=2000 */
    hs_member *obs2[HS_MAX_VOTE_GROUP];
    size_t k2 = 0;
    hs_member *s2 = NULL;
    for (size_t i = 0; i < n->nmembers && !s2; i++) {
        hs_member *m = n->members[i];
        if (m == n->self || m == s) continue;
        k2 = hs_observers(n, m, obs2, HS_MAX_VOTE_GROUP);
        for (size_t j = 0; j < k2; j++)
            if (obs2[j] == n->self) s2 = m;
    }
    assert_non_null(s2);
    verdict_ready(n, s2, obs2, k2, 2000);
    reach_acks(n, 2000, s2, 19, n->quorum.seq);
    hs_node_tick(n, 2200);
    assert_int_equal(s2->status, HS_FAILED);
    assert_int_equal(n->quorum.ok_start, 2000);
    /* a second verdict at t=3000: a new round, and nothing until it is answered */
    verdict_ready(n, s, obs, k, 3000);
    assert_int_equal(s->status, HS_SUSPECT);
    assert_int_equal(n->quorum.started, 3000);
    reach_acks(n, 3001, s, 18, n->quorum.seq);
    hs_node_tick(n, 3200);
    assert_int_equal(s->status, HS_FAILED);
    hs_node_free(n);
}

/* A round that straddles a heal: the REACHes sent while we were cut off were lost, the resend
 * after the heal reaches the majority and the suspect alike. The suspect answers, so the
 * checks that failed while we were cut off declare nothing. */
static void test_suspect_answering_reach_is_alive(void **state)
{
    (void)state;
    hs_node *n = make_node(20);
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    verdict_ready(n, s, obs, k, 2000);
    uint32_t seq = n->quorum.seq;
    hs_node_tick(n, 2200); /* nobody answered: resent */
    reach_acks(n, 2201, s, 12, seq);
    assert_int_equal(s->status, HS_SUSPECT);
    reach_ack_from(n, 2202, s, seq);
    assert_int_equal(s->status, HS_ALIVE);
    assert_null(s->susp);
    hs_node_tick(n, 2500);
    assert_int_equal(s->status, HS_ALIVE);
    assert_int_equal(hs_node_stats_get(n)->failures_declared, 0);
    hs_node_free(n);
}

/* REACH is answered with REACH_ACK carrying its sequence number; stray acks are ignored. */
static void test_reach_answered(void **state)
{
    (void)state;
    hs_node *n = make_node(5);
    uint8_t buf[256];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_REACH);
    hs_put_u32(&w, 0xabcdef01);
    hs_put_str8(&w, "m3", 2);
    feed(n, 2000, buf, w.len);
    hs_packet p;
    assert_true(hs_node_next_packet(n, &p));
    hs_reader r;
    hs_reader_init(&r, p.data, p.len);
    assert_int_equal(hs_get_u8(&r), HS_MSG_REACH_ACK);
    assert_int_equal(hs_get_u32(&r), 0xabcdef01);
    char name[HS_NAME_MAX + 1];
    hs_get_str8(&r, name, sizeof(name), true);
    assert_string_equal(name, "m0");
    hs_addr from = hs_addr_v4(127, 0, 0, 9, 7946);
    assert_true(hs_addr_equal(&p.to, &from)); /* back to where the REACH came from */
    /* an ack when no round runs changes nothing */
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_REACH_ACK);
    hs_put_u32(&w, 7);
    hs_put_str8(&w, "m3", 2);
    feed(n, 2000, buf, w.len);
    assert_int_equal(n->quorum.answers, 0);
    assert_int_equal(hs_node_stats_get(n)->drop_malformed, 0);
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
    set_status(n, s, 1, HS_ALIVE); /* it refuted: votes about incarnation 0 are void */
    uint8_t buf[256];
    for (size_t j = 0; j < k; j++)
        if (obs[j] != n->self) feed(n, 2000, buf, vote_msg(buf, s->name, obs[j]->name, 0));
    assert_null(s->susp);
    assert_int_equal(s->status, HS_ALIVE);
    hs_node_free(n);
}

/* Found by tests/chaos (seed 7): the majority side of a one-way cut had exactly half of its
 * ring answering, so its Reach rounds failed; then a killed member restarted on its side and
 * rejoined its ring, which made it a majority. Its samples asked only members that had not
 * answered, all behind the cut, so it waited for the cut to heal (4 s) before a full round.
 * A rejoined member is asked first, a sample is soon after the ring changes, and the answers
 * of the last full round count towards the majority a sample looks for. */
static void test_rejoined_member_restores_majority(void **state)
{
    (void)state;
    hs_node *n = make_node(50);
    hs_member *back = n->members[49], *gone = n->members[48];
    set_status(n, back, 1, HS_FAILED);
    set_status(n, gone, 1, HS_FAILED);
    assert_int_equal(n->nring, 48); /* a majority is 25 */
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k;
    hs_member *s = subject_we_observe(n, obs, &k);
    assert_true(s != back && s != gone);
    verdict_ready(n, s, obs, k, 2000);
    size_t acks = 0; /* 23 others and ourselves: 24 of 48 */
    for (size_t i = 0; i < n->nmembers && acks < 23; i++) {
        hs_member *m = n->members[i];
        if (m == n->self || m == s || !hs_is_live(m)) continue;
        reach_ack_from(n, 2000, m, n->quorum.seq);
        acks++;
    }
    hs_node_tick(n, 2500);
    assert_int_equal(hs_node_stats_get(n)->quorum_lost, 1);
    drain_reaches(n);
    /* `back` restarts and rejoins our ring: 49 members, a majority is still 25 */
    set_status(n, back, 2, HS_ALIVE);
    verdict_ready(n, s, obs, k, 3000); /* the votes stand again */
    hs_node_tick(n, 3000);             /* a sample, one probe interval after the round */
    assert_true(n->quorum.started && !n->quorum.full);
    assert_int_equal(back->reach_seq, n->quorum.seq); /* asked first */
    reach_ack_from(n, 3001, back, n->quorum.seq);
    assert_true(n->quorum.started && n->quorum.full); /* 24 + 1: a full round at once */
    acks = 0;
    for (size_t i = 0; i < n->nmembers && acks < 24; i++) {
        hs_member *m = n->members[i];
        if (m == n->self || m == s || !hs_is_live(m)) continue;
        reach_ack_from(n, 3002, m, n->quorum.seq);
        acks++;
    }
    hs_node_tick(n, 3001 + n->cfg.probe_timeout_ms);
    /* the first majority after the cut: our checks start over rather than decide */
    assert_int_not_equal(s->status, HS_FAILED);
    assert_int_equal(n->quorum.lost_since, 0);
    uint64_t t = 3001 + n->cfg.probe_timeout_ms + 1;
    verdict_ready(n, s, obs, k, t);                   /* the fresh checks fail too: it is down */
    assert_true(n->quorum.started && n->quorum.full); /* a round after the votes stood */
    reach_acks(n, t + 1, s, 30, n->quorum.seq);
    hs_node_tick(n, t + 1 + n->cfg.probe_timeout_ms);
    assert_int_equal(s->status, HS_FAILED);
    hs_node_free(n);
}

/* Found by tests/chaos (seed 7): a node restarted behind a one-way cut (the majority's
 * packets to it dropped) never got its join answered; gossip from the one peer it could hear
 * had mentioned a single member. With that table the member's vote group was the node
 * alone and "a majority of the cluster" was itself: its failing checks declared a healthy
 * member failed, and its verdict went out to everyone. Until some member's full view
 * (a Meet) arrives, a joining node decides nothing; after that it does (here, a
 * two-member cluster, where nobody else can be asked). */
static void test_joining_node_decides_nothing(void **state)
{
    (void)state;
    hs_node *n = make_node(1);
    hs_addr seed = hs_addr_v4(127, 1, 0, 99, 7946);
    hs_node_join(n, 1000, &seed, 1);
    hs_entry e;
    memset(&e, 0, sizeof(e));
    strcpy(e.name, "m1");
    e.addr = hs_addr_v4(127, 1, 0, 1, 7946);
    e.status = HS_ALIVE;
    hs_merge_entry(n, &e); /* as if a piggybacked entry had mentioned it */
    hs_member *x = hs_table_find(n, "m1");
    for (uint64_t now = 2000; now < 2000 + 4 * n->cfg.vote_validity_ms; now += 200) {
        hs_check_failed(n, x);
        hs_node_tick(n, now);
        assert_int_not_equal(x->status, HS_FAILED);
    }
    assert_int_equal(hs_node_stats_get(n)->failures_declared, 0);
    /* m1 answers the join with its whole view: the cluster is the two of us */
    uint8_t buf[512];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_MEET_REPLY);
    hs_put_u8(&w, 0);
    hs_put_str8(&w, "m1", 2);
    hs_put_u64(&w, 0);
    hs_put_u32(&w, 2);
    hs_put_entry(n, &w, x);
    hs_put_entry(n, &w, n->self);
    assert_true(w.ok);
    uint64_t now = 2000 + 4 * n->cfg.vote_validity_ms;
    feed(n, now, buf, w.len);
    for (uint32_t r = 0; r < n->cfg.verify_rounds; r++) hs_check_failed(n, x);
    hs_node_tick(n, now);
    assert_int_equal(x->status, HS_FAILED);
    hs_node_free(n);
}

/* Members keep their address in 7 bytes; an IPv6 one lives in a slot of the node's table,
 * taken and given back as members come, change address and go. */
static void test_member_addresses_v4_v6(void **state)
{
    (void)state;
    hs_node *n = make_node(3);
    hs_addr v6;
    assert_int_equal(hs_addr_parse(&v6, "[2001:db8::7]:7000", 0), 0);
    hs_entry e;
    memset(&e, 0, sizeof(e));
    strcpy(e.name, "six");
    e.addr = v6;
    e.status = HS_ALIVE;
    assert_true(hs_merge_entry(n, &e));
    hs_member_info info;
    assert_true(hs_node_find(n, "six", &info));
    assert_true(hs_addr_equal(&info.addr, &v6));
    /* a new incarnation at an IPv4 address frees the slot, and the next IPv6 reuses it (the
     * name check of a live member claimed at a second address, member_conflict.c, let through) */
    n->claim_bypass = true;
    e.inc = 1;
    e.addr = hs_addr_v4(10, 1, 2, 3, 7946);
    assert_true(hs_merge_entry(n, &e));
    assert_true(hs_node_find(n, "six", &info));
    assert_true(hs_addr_equal(&info.addr, &e.addr));
    assert_int_equal(n->v6_free, 0);
    strcpy(e.name, "six-b");
    e.addr = v6;
    e.addr.port = 7001;
    assert_true(hs_merge_entry(n, &e));
    assert_int_equal(n->nv6, 1);
    assert_true(hs_node_find(n, "six-b", &info));
    assert_true(hs_addr_equal(&info.addr, &e.addr));
    hs_table_remove(n, hs_table_find(n, "six-b"));
    assert_int_equal(n->v6_free, 0);
    assert_true(hs_node_find(n, "six", &info));
    assert_int_equal(info.addr.family, 4);
    hs_node_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_size_by_n),
        cmocka_unit_test(test_member_addresses_v4_v6),
        cmocka_unit_test(test_group_bounded_at_large_n),
        cmocka_unit_test(test_majority_with_own_vote),
        cmocka_unit_test(test_no_verdict_without_majority),
        cmocka_unit_test(test_heal_found_by_sample),
        cmocka_unit_test(test_heal_does_not_confirm_checks_made_while_cut_off),
        cmocka_unit_test(test_old_round_does_not_count),
        cmocka_unit_test(test_reach_answered),
        cmocka_unit_test(test_suspect_answering_reach_is_alive),
        cmocka_unit_test(test_votes_expire),
        cmocka_unit_test(test_retracted_vote_does_not_count),
        cmocka_unit_test(test_stale_incarnation_vote_ignored),
        cmocka_unit_test(test_joining_node_decides_nothing),
        cmocka_unit_test(test_rejoined_member_restores_majority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
