/* test_raft_paper.c: one test per claim of the Raft paper (section numbers in the names'
 * comments), plus our additions: pre-vote, check-quorum, the no-op, Figure 8, snapshots,
 * one-at-a-time seed changes, ReadIndex and the Ready persistence contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "raft_harness.h"

static hs_raft_msg mk(uint8_t type, uint64_t from, uint64_t to, uint64_t term)
{
    hs_raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

static hs_raft_entry ent(uint64_t index, uint64_t term)
{
    return (hs_raft_entry){.index = index, .term = term, .type = HS_RAFT_ENTRY_NORMAL};
}

/* A node restored with a log of the given terms (index 1..n) and hard state. */
static hs_raft *restored(uint64_t id, int peers, const uint64_t *terms, size_t n, uint64_t term,
                         uint64_t vote, uint64_t commit)
{
    hs_raft_entry e[32];
    for (size_t i = 0; i < n; i++) e[i] = ent(i + 1, terms[i]);
    hs_raft_cfg cfg = {.id = id,
                       .rng_seed = id,
                       .peers = net_conf(peers),
                       .hard = {.term = term, .vote = vote, .commit = commit},
                       .entries = e,
                       .n_entries = n};
    return hs_raft_new(&cfg, 0);
}

static void drain(hs_raft *r)
{
    hs_raft_ready rd;
    while (hs_raft_get_ready(r, &rd)) hs_raft_advance(r, &rd);
}

/* Elects node r (id 1) by hand with grants from node 2: pre-vote, vote, leader. */
static void elect_by_hand(hs_raft *r, uint64_t now)
{
    hs_raft_tick(r, hs_raft_next_deadline(r) > now ? hs_raft_next_deadline(r) : now);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_PRECANDIDATE);
    drain(r);
    hs_raft_msg m = mk(HS_RAFT_MSG_PREVOTE_RESP, 2, 1, hs_raft_term(r) + 1);
    hs_raft_step(r, now, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_CANDIDATE);
    drain(r);
    m = mk(HS_RAFT_MSG_VOTE_RESP, 2, 1, hs_raft_term(r));
    hs_raft_step(r, now, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_LEADER);
    drain(r);
}

/* 5.1: servers start as followers. */
static void test_start_as_follower(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    assert_int_equal(hs_raft_term(r), 0);
    assert_int_equal(hs_raft_leader(r), 0);
    hs_raft_free(r);
}

/* 5.1: a server that sees a larger term adopts it and reverts to follower, from any role. */
static void test_update_term_from_message(void **state)
{
    (void)state;
    /* follower */
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 5);
    hs_raft_step(r, 0, &m);
    assert_int_equal(hs_raft_term(r), 5);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    assert_int_equal(hs_raft_leader(r), 2);
    hs_raft_free(r);
    /* candidate */
    r = net_node(1, 3, 1);
    hs_raft_tick(r, hs_raft_next_deadline(r));
    m = mk(HS_RAFT_MSG_PREVOTE_RESP, 2, 1, 1);
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_CANDIDATE);
    m = mk(HS_RAFT_MSG_APPEND, 3, 1, 7);
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_term(r), 7);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    hs_raft_free(r);
    /* leader */
    r = net_node(1, 3, 1);
    elect_by_hand(r, 300);
    m = mk(HS_RAFT_MSG_APPEND_RESP, 2, 1, 9);
    m.reject = true;
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_term(r), 9);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    assert_int_equal(hs_raft_leader(r), 0);
    hs_raft_free(r);
}

/* 5.1: a request with a stale term is rejected; a stale leader is told the newer term. */
static void test_reject_stale_term(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 3);
    hs_raft_step(r, 0, &m);
    drain(r);
    m = mk(HS_RAFT_MSG_APPEND, 3, 1, 2);
    m.commit = 5;
    hs_raft_step(r, 0, &m);
    assert_int_equal(hs_raft_term(r), 3);
    assert_int_equal(hs_raft_leader(r), 2);
    assert_int_equal(hs_raft_commit(r), 0);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.m[0].type, HS_RAFT_MSG_APPEND_RESP);
    assert_int_equal(out.m[0].to, 3);
    assert_int_equal(out.m[0].term, 3);
    assert_true(out.m[0].reject);
    hs_raft_free(r);
}

/* 5.2: the leader sends heartbeats (empty appends) to every follower. */
static void test_leader_bcast_heartbeat(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    assert_int_equal(net_leader(t), 1);
    hs_raft *r = t->r[1];
    uint64_t d = hs_raft_next_deadline(r);
    hs_raft_tick(r, d);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_int_equal(out.n, 2);
    for (size_t i = 0; i < out.n; i++) {
        assert_int_equal(out.m[i].type, HS_RAFT_MSG_APPEND);
        assert_int_equal(out.m[i].n_entries, 0);
        assert_int_equal(out.m[i].commit, hs_raft_commit(r));
    }
    net_free(t);
}

/* 5.2 + pre-vote: on election timeout a follower first asks for pre-votes at term+1 WITHOUT
 * changing its own term; only a pre-vote majority makes it a real candidate. */
static void test_prevote_does_not_bump_term(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_tick(r, hs_raft_next_deadline(r));
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_PRECANDIDATE);
    assert_int_equal(hs_raft_term(r), 0);
    assert_int_equal(hs_raft_vote(r), 0);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_int_equal(out.n, 2);
    for (size_t i = 0; i < out.n; i++) {
        assert_int_equal(out.m[i].type, HS_RAFT_MSG_PREVOTE);
        assert_int_equal(out.m[i].term, 1);
    }
    /* a voter that grants a pre-vote does not change its term either */
    hs_raft *v = net_node(2, 3, 2);
    hs_raft_msg pv = mk(HS_RAFT_MSG_PREVOTE, 1, 2, 1);
    hs_raft_step(v, 400, &pv);
    assert_int_equal(hs_raft_term(v), 0);
    assert_int_equal(hs_raft_vote(v), 0);
    take_msgs(v, &out, NULL);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.m[0].type, HS_RAFT_MSG_PREVOTE_RESP);
    assert_false(out.m[0].reject);
    assert_int_equal(out.m[0].term, 1);
    hs_raft_free(v);
    hs_raft_free(r);
}

/* 5.2: a candidate increments its term and votes for itself; term and vote come out in the
 * same Ready as the vote requests (persisted before they are sent). */
static void test_candidate_votes_for_self_durably(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_tick(r, hs_raft_next_deadline(r));
    drain(r);
    hs_raft_msg m = mk(HS_RAFT_MSG_PREVOTE_RESP, 2, 1, 1);
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_CANDIDATE);
    assert_int_equal(hs_raft_term(r), 1);
    assert_int_equal(hs_raft_vote(r), 1);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_true(rd.has_hard_state);
    assert_int_equal(rd.hard_state.term, 1);
    assert_int_equal(rd.hard_state.vote, 1);
    assert_int_equal(rd.n_msgs, 2);
    assert_int_equal(rd.msgs[0].type, HS_RAFT_MSG_VOTE);
    hs_raft_advance(r, &rd);
    hs_raft_free(r);
}

/* 5.2: a candidate with a majority becomes leader, and appends a no-op of its term. */
static void test_election_win_appends_noop(void **state)
{
    (void)state;
    net *t = net_new(5);
    net_campaign(t, 3);
    assert_int_equal(net_leader(t), 3);
    hs_raft *r = t->r[3];
    assert_int_equal(hs_raft_term(r), 1);
    const hs_raft_entry *e = hs_raft_entry_at(r, hs_raft_last_index(r));
    assert_non_null(e);
    assert_int_equal(e->type, HS_RAFT_ENTRY_NOOP);
    assert_int_equal(e->term, 1);
    /* and commits it once a majority has it */
    assert_int_equal(hs_raft_commit(r), e->index);
    for (int i = 1; i <= 5; i++) assert_int_equal(hs_raft_leader(t->r[i]), 3);
    net_free(t);
}

/* 5.2: a candidate rejected by a majority returns to follower. */
static void test_candidate_loses(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_tick(r, hs_raft_next_deadline(r));
    hs_raft_msg m = mk(HS_RAFT_MSG_PREVOTE_RESP, 2, 1, 1);
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_CANDIDATE);
    m = mk(HS_RAFT_MSG_VOTE_RESP, 2, 1, 1);
    m.reject = true;
    hs_raft_step(r, 300, &m);
    m.from = 3;
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    hs_raft_free(r);
}

/* 5.2: each server votes for at most one candidate per term (first come, first served), and the
 * vote is in the Ready that carries the response. */
static void test_vote_once_per_term(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_msg m = mk(HS_RAFT_MSG_VOTE, 2, 1, 1);
    hs_raft_step(r, 0, &m);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_true(rd.has_hard_state);
    assert_int_equal(rd.hard_state.vote, 2);
    assert_int_equal(rd.n_msgs, 1);
    assert_false(rd.msgs[0].reject);
    hs_raft_advance(r, &rd);
    m.from = 3;
    hs_raft_step(r, 0, &m);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_int_equal(out.n, 1);
    assert_true(out.m[0].reject);
    /* the same candidate asking again gets the same answer */
    m.from = 2;
    hs_raft_step(r, 0, &m);
    take_msgs(r, &out, NULL);
    assert_false(out.m[0].reject);
    hs_raft_free(r);
}

/* 5.2: a candidate that hears from a leader of its term steps down. */
static void test_candidate_fallback(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_tick(r, hs_raft_next_deadline(r));
    hs_raft_msg m = mk(HS_RAFT_MSG_PREVOTE_RESP, 2, 1, 1);
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_CANDIDATE);
    m = mk(HS_RAFT_MSG_APPEND, 3, 1, 1);
    hs_raft_step(r, 300, &m);
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    assert_int_equal(hs_raft_leader(r), 3);
    assert_int_equal(hs_raft_term(r), 1);
    hs_raft_free(r);
}

/* 5.2: election timeouts are random in [150, 300) ms, per node and per election. */
static void test_election_timeout_randomized(void **state)
{
    (void)state;
    bool seen[300] = {0};
    int distinct = 0;
    for (uint64_t s = 1; s <= 400; s++) {
        hs_raft *r = net_node(1, 3, s);
        for (int k = 0; k < 3; k++) {
            uint32_t to = hs_raft_election_timeout(r);
            assert_true(to >= 150 && to < 300);
            if (!seen[to]) distinct++;
            seen[to] = true;
            hs_raft_tick(r, hs_raft_next_deadline(r)); /* next election draws anew */
        }
        hs_raft_free(r);
    }
    assert_true(distinct > 100);
}

/* 5.4.1: a voter denies its vote to a candidate whose log is less up to date. */
static void test_vote_requires_up_to_date_log(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 2};
    hs_raft *r = restored(1, 3, terms, 2, 2, 0, 1);
    hs_raft_msg m = mk(HS_RAFT_MSG_VOTE, 3, 1, 3);
    m.log_index = 5;
    m.log_term = 1; /* longer but older */
    hs_raft_step(r, 1000, &m);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_int_equal(out.n, 1);
    assert_true(out.m[0].reject);
    assert_int_equal(hs_raft_term(r), 3);
    m.log_index = 2;
    m.log_term = 2; /* as up to date */
    hs_raft_step(r, 1000, &m);
    take_msgs(r, &out, NULL);
    assert_false(out.m[0].reject);
    hs_raft_free(r);
}

/* 5.3: an entry is committed once the leader has replicated it on a majority, then applied
 * everywhere. */
static void test_leader_commits_on_majority(void **state)
{
    (void)state;
    net *t = net_new(5);
    net_campaign(t, 1);
    net_isolate(t, 1, true);
    t->cut[1][2] = t->cut[2][1] = false; /* leader reaches only node 2: 2 of 5 */
    uint64_t idx, term;
    assert_int_equal(hs_raft_propose(t->r[1], "x", 1, &idx, &term), 0);
    net_settle(t);
    assert_true(hs_raft_commit(t->r[1]) < idx);
    t->cut[1][3] = t->cut[3][1] = false; /* now 3 of 5 */
    net_run(t, 60);
    assert_int_equal(hs_raft_commit(t->r[1]), idx);
    net_isolate(t, 1, false);
    net_run(t, 120);
    for (int i = 1; i <= 5; i++) assert_int_equal(t->applied[i], idx);
    net_free(t);
}

/* Ready contract: the leader counts itself for a commit only once its own entries are durable
 * (after hs_raft_advance), even in a one-node group. */
static void test_leader_counts_itself_only_when_durable(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 1, 1);
    hs_raft_tick(r, hs_raft_next_deadline(r));
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_LEADER);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(hs_raft_commit(r), 0);
    hs_raft_advance(r, &rd);
    assert_int_equal(hs_raft_commit(r), 1);
    hs_raft_free(r);
}

/* 5.4.2 / Figure 8: a leader never commits an entry of an older term by counting replicas; it
 * is committed only indirectly, by committing an entry of the current term. */
static void test_figure8_no_commit_of_older_term_by_count(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 2};
    hs_raft *r = restored(1, 3, terms, 2, 2, 0, 1);
    elect_by_hand(r, 1000); /* term 3, no-op at index 3 */
    assert_int_equal(hs_raft_term(r), 3);
    assert_int_equal(hs_raft_last_index(r), 3);
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND_RESP, 2, 1, 3);
    m.index = 2; /* node 2 holds the term-2 entry: a majority has it */
    hs_raft_step(r, 1000, &m);
    assert_int_equal(hs_raft_commit(r), 1);
    m.index = 3; /* now a current-term entry is on a majority */
    hs_raft_step(r, 1000, &m);
    assert_int_equal(hs_raft_commit(r), 3);
    hs_raft_free(r);
}

/* 5.3: a follower learns the commit index from the leader, capped by what it matched. */
static void test_follower_commit(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_entry e[2] = {ent(1, 1), ent(2, 1)};
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 1);
    m.entries = e;
    m.n_entries = 2;
    m.commit = 5;
    hs_raft_step(r, 0, &m);
    assert_int_equal(hs_raft_commit(r), 2);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_int_equal(rd.n_entries, 2);
    assert_int_equal(rd.n_committed, 2);
    assert_int_equal(rd.hard_state.commit, 2);
    hs_raft_advance(r, &rd);
    hs_raft_free(r);
}

/* 5.3: the consistency check: a follower refuses entries whose predecessor it does not hold,
 * hinting where the leader should back up to; log entries are durable before the ack. */
static void test_follower_consistency_check(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1};
    hs_raft *r = restored(1, 3, terms, 3, 1, 0, 1);
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 2);
    m.log_index = 3;
    m.log_term = 2; /* conflicting term */
    hs_raft_step(r, 0, &m);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_int_equal(out.n, 1);
    assert_true(out.m[0].reject);
    assert_int_equal(out.m[0].index, 1); /* skip back over the whole term-1 run above commit */
    m.log_index = 7;                     /* beyond our log */
    hs_raft_step(r, 0, &m);
    take_msgs(r, &out, NULL);
    assert_true(out.m[0].reject);
    assert_int_equal(out.m[0].index, 3);
    /* matching predecessor: accepted; entries and the ack leave in the same Ready */
    hs_raft_entry e = ent(4, 2);
    m.log_index = 3;
    m.log_term = 1;
    m.entries = &e;
    m.n_entries = 1;
    hs_raft_step(r, 0, &m);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.n_msgs, 1);
    assert_false(rd.msgs[0].reject);
    assert_int_equal(rd.msgs[0].index, 4);
    hs_raft_advance(r, &rd);
    hs_raft_free(r);
}

/* 5.3: a follower deletes a conflicting suffix and takes the leader's entries. */
static void test_follower_truncates_conflict(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1};
    hs_raft *r = restored(1, 3, terms, 3, 1, 0, 1);
    hs_raft_entry e = ent(2, 2);
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 2);
    m.log_index = 1;
    m.log_term = 1;
    m.entries = &e;
    m.n_entries = 1;
    hs_raft_step(r, 0, &m);
    assert_int_equal(hs_raft_last_index(r), 2);
    assert_int_equal(hs_raft_term_at(r, 2), 2);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_int_equal(rd.n_entries, 1); /* index 2 replaces persisted 2..3 */
    assert_int_equal(rd.entries[0].index, 2);
    hs_raft_advance(r, &rd);
    hs_raft_free(r);
}

/* 5.3 / Figure 7: the leader backs up and overwrites a diverging follower log. */
static void test_leader_syncs_follower_log(void **state)
{
    (void)state;
    net *t = net_new(3);
    hs_raft_free(t->r[1]);
    hs_raft_free(t->r[2]);
    hs_raft_free(t->r[3]);
    uint64_t good[] = {1, 3, 3};
    uint64_t bad[] = {1, 2, 2, 2, 2, 2, 2};
    t->r[1] = restored(1, 3, good, 3, 3, 0, 1);
    t->r[2] = restored(2, 3, bad, 7, 2, 0, 1);
    t->r[3] = restored(3, 3, good, 3, 3, 0, 1);
    net_campaign(t, 1);
    assert_int_equal(net_leader(t), 1);
    net_run(t, 200);
    hs_raft *l = t->r[1], *f = t->r[2];
    assert_int_equal(hs_raft_last_index(f), hs_raft_last_index(l));
    for (uint64_t i = 1; i <= hs_raft_last_index(l); i++)
        assert_int_equal(hs_raft_term_at(f, i), hs_raft_term_at(l, i));
    assert_int_equal(hs_raft_commit(f), hs_raft_last_index(l));
    net_free(t);
}

/* Check-quorum: a leader that stops hearing from a majority steps down. */
static void test_check_quorum_steps_down(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    net_run(t, 500);
    assert_int_equal(hs_raft_get_role(t->r[1]), HS_RAFT_LEADER);
    net_isolate(t, 1, true);
    net_run(t, 400);
    assert_int_not_equal(hs_raft_get_role(t->r[1]), HS_RAFT_LEADER);
    int l = net_leader(t);
    assert_true(l == 2 || l == 3);
    net_free(t);
}

/* Pre-vote + check-quorum: a follower that heard from its leader recently ignores (pre-)vote
 * requests, and an isolated node cannot inflate terms and disrupt the leader on return. */
static void test_prevote_isolated_node_does_not_disrupt(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    net_run(t, 100);
    uint64_t term = hs_raft_term(t->r[1]);
    hs_raft_msg m = mk(HS_RAFT_MSG_PREVOTE, 3, 2, term + 1);
    m.log_index = 100;
    m.log_term = term;
    hs_raft_step(t->r[2], t->now, &m);
    msgbuf out;
    take_msgs(t->r[2], &out, NULL);
    assert_int_equal(out.n, 0); /* in lease: ignored */
    m.type = HS_RAFT_MSG_VOTE;
    hs_raft_step(t->r[2], t->now, &m);
    assert_int_equal(hs_raft_term(t->r[2]), term);

    net_isolate(t, 3, true);
    net_run(t, 3000);
    assert_int_equal(hs_raft_term(t->r[3]), term); /* pre-votes fail; no term inflation */
    net_isolate(t, 3, false);
    net_run(t, 1000);
    assert_int_equal(net_leader(t), 1);
    assert_int_equal(hs_raft_term(t->r[1]), term);
    net_free(t);
}

/* Ours: a leader whose process died (both followers saw its stream end) is replaced within
 * HS_RAFT_LOST_MAX_MS plus the rounds of pre-vote and vote, well before any election timeout
 * (at least 150 ms after the last heartbeat, and heartbeats are 50 ms apart here). */
static void test_leader_lost_elects_at_once(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    net_run(t, 500);
    assert_int_equal(net_leader(t), 1);
    uint64_t term = hs_raft_term(t->r[1]);
    net_isolate(t, 1, true); /* dead from here on */
    hs_raft_leader_lost(t->r[2], t->now, 1);
    hs_raft_leader_lost(t->r[3], t->now, 1);
    assert_int_equal(hs_raft_leader(t->r[2]), 0);
    net_run(t, HS_RAFT_LOST_MAX_MS + 5);
    int l = 0;
    for (int i = 2; i <= 3; i++)
        if (hs_raft_get_role(t->r[i]) == HS_RAFT_LEADER) l = i;
    assert_true(l == 2 || l == 3);
    assert_int_equal(hs_raft_term(t->r[l]), term + 1);
    net_free(t);
}

/* Ours: one follower wrongly believing its leader gone disrupts nothing: its pre-vote is
 * refused by the other follower (in lease) and the leader, no term moves, and it follows the
 * leader again at its next heartbeat. Calls naming another seed, or made on the leader, do
 * nothing at all. */
static void test_leader_lost_wrongly_disrupts_nothing(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    net_run(t, 500);
    uint64_t term = hs_raft_term(t->r[1]);
    uint64_t deadline = hs_raft_next_deadline(t->r[3]);
    hs_raft_leader_lost(t->r[3], t->now, 2); /* not its leader */
    hs_raft_leader_lost(t->r[1], t->now, 1); /* a leader */
    assert_int_equal(hs_raft_next_deadline(t->r[3]), deadline);
    assert_int_equal(hs_raft_get_role(t->r[1]), HS_RAFT_LEADER);
    hs_raft_leader_lost(t->r[2], t->now, 1);
    net_run(t, 2000);
    assert_int_equal(net_leader(t), 1);
    for (int i = 1; i <= 3; i++) assert_int_equal(hs_raft_term(t->r[i]), term);
    assert_int_equal(hs_raft_leader(t->r[2]), 1);
    assert_int_equal(hs_raft_get_role(t->r[2]), HS_RAFT_FOLLOWER);
    net_free(t);
}

/* 7: log compaction; a follower too far behind gets InstallSnapshot. */
static void test_snapshot_install(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    net_isolate(t, 3, true);
    for (int i = 0; i < 10; i++)
        assert_int_equal(hs_raft_propose(t->r[1], "abc", 3, NULL, NULL), 0);
    net_settle(t);
    hs_raft *l = t->r[1];
    uint64_t applied = hs_raft_applied(l);
    assert_int_equal(applied, 11);
    assert_int_equal(hs_raft_compact(l, applied - 1, "S", 1), HS_RAFT_EINVAL); /* not applied */
    assert_int_equal(hs_raft_compact(l, applied, "STATE", 5), 0);
    assert_int_equal(hs_raft_first_index(l), applied + 1);
    assert_int_equal(hs_raft_get_snapshot(l)->index, applied);
    net_isolate(t, 3, false);
    net_run(t, 100);
    assert_int_equal(t->snap_index[3], applied);
    assert_int_equal(hs_raft_commit(t->r[3]), applied);
    assert_int_equal(hs_raft_first_index(t->r[3]), applied + 1);
    assert_int_equal(hs_raft_get_snapshot(t->r[3])->len, 5);
    assert_memory_equal(hs_raft_get_snapshot(t->r[3])->data, "STATE", 5);
    /* and replication continues after it */
    uint64_t idx;
    assert_int_equal(hs_raft_propose(l, "z", 1, &idx, NULL), 0);
    net_run(t, 100);
    assert_int_equal(t->applied[3], idx);
    net_free(t);
}

static hs_raft_conf_change cc_of(uint8_t op, uint64_t id)
{
    hs_raft_conf_change cc;
    memset(&cc, 0, sizeof(cc));
    cc.op = op;
    cc.peer.id = id;
    snprintf(cc.peer.name, sizeof(cc.peer.name), "s%d", (int)id);
    cc.peer.addr = hs_addr_v4(127, 0, 0, 1, (uint16_t)(7000 + id));
    return cc;
}

/* Membership: one seed at a time, and only after the leader committed an entry of its term. */
static void test_conf_change_one_at_a_time_after_current_term_commit(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    elect_by_hand(r, 1000);
    hs_raft_conf_change add4 = cc_of(HS_RAFT_ADD_SEED, 4), add5 = cc_of(HS_RAFT_ADD_SEED, 5);
    assert_int_equal(hs_raft_propose_conf(r, &add4, NULL, NULL), HS_RAFT_EBUSY);
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND_RESP, 2, 1, hs_raft_term(r));
    m.index = 1; /* the no-op is on a majority */
    hs_raft_step(r, 1000, &m);
    assert_int_equal(hs_raft_commit(r), 1);
    drain(r); /* applied */
    uint64_t idx;
    assert_int_equal(hs_raft_propose_conf(r, &add4, &idx, NULL), 0);
    assert_int_equal(hs_raft_propose_conf(r, &add5, NULL, NULL), HS_RAFT_EBUSY);
    assert_int_equal(hs_raft_get_conf(r)->n, 3); /* takes effect when applied */
    drain(r);
    m.index = idx;
    hs_raft_step(r, 1000, &m);
    drain(r);
    assert_int_equal(hs_raft_get_conf(r)->n, 4);
    assert_non_null(hs_raft_conf_find(hs_raft_get_conf(r), 4));
    assert_int_equal(hs_raft_propose_conf(r, &add4, NULL, NULL), HS_RAFT_EINVAL); /* dup */
    assert_int_equal(hs_raft_propose_conf(r, &add5, NULL, NULL), 0);
    hs_raft_free(r);
}

/* A non-member (non-seed) never campaigns and never votes; once added it takes part. */
static void test_add_seed_and_non_member_never_votes(void **state)
{
    (void)state;
    net *t = net_new(3);
    t->n = 4;
    t->r[4] = net_node(4, 3, 44); /* knows the 3 seeds, is not one */
    net_campaign(t, 1);
    net_run(t, 1000);
    assert_int_equal(hs_raft_get_role(t->r[4]), HS_RAFT_FOLLOWER);
    hs_raft_msg m = mk(HS_RAFT_MSG_VOTE, 2, 4, 50);
    hs_raft_step(t->r[4], t->now, &m);
    msgbuf out;
    take_msgs(t->r[4], &out, NULL);
    assert_int_equal(out.n, 1);
    assert_true(out.m[0].reject);
    net_free(t);

    t = net_new(3);
    t->n = 4;
    t->r[4] = net_node(4, 3, 44);
    net_campaign(t, 1);
    net_run(t, 100);
    hs_raft_conf_change add4 = cc_of(HS_RAFT_ADD_SEED, 4);
    assert_int_equal(hs_raft_propose_conf(t->r[1], &add4, NULL, NULL), 0);
    net_run(t, 300);
    for (int i = 1; i <= 4; i++) assert_int_equal(hs_raft_get_conf(t->r[i])->n, 4);
    /* the new seed now counts: with 1 and 4 cut off, 2 of 4 cannot commit */
    net_isolate(t, 3, true);
    net_isolate(t, 4, true);
    uint64_t idx;
    assert_int_equal(hs_raft_propose(t->r[1], "q", 1, &idx, NULL), 0);
    net_run(t, 100);
    assert_true(hs_raft_commit(t->r[1]) < idx);
    net_isolate(t, 4, false);
    net_run(t, 100);
    assert_true(hs_raft_commit(t->r[1]) >= idx);
    net_free(t);
}

/* Removing the leader: it steps down once the change is applied; the rest elect a leader. */
static void test_remove_leader(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    net_run(t, 100);
    hs_raft_conf_change rm1 = cc_of(HS_RAFT_REMOVE_SEED, 1);
    assert_int_equal(hs_raft_propose_conf(t->r[1], &rm1, NULL, NULL), 0);
    net_run(t, 1000);
    assert_int_not_equal(hs_raft_get_role(t->r[1]), HS_RAFT_LEADER);
    int l = net_leader(t);
    assert_true(l == 2 || l == 3);
    assert_int_equal(hs_raft_get_conf(t->r[l])->n, 2);
    assert_int_equal(hs_raft_propose(t->r[l], "after", 5, NULL, NULL), 0);
    net_free(t);
}

/* ReadIndex: answered only after a majority confirms leadership; forwarded from followers;
 * refused before the leader has committed in its term; silent when leadership is lost. */
static void test_read_index(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    elect_by_hand(r, 1000);
    assert_int_equal(hs_raft_read_index(r, 1), HS_RAFT_EBUSY);
    hs_raft_free(r);

    net *t = net_new(3);
    net_campaign(t, 1);
    net_run(t, 100);
    assert_int_equal(hs_raft_read_index(t->r[1], 7), 0);
    net_drain(t, 1);
    assert_int_equal(t->nreads[1], 0); /* not before the heartbeat round trip */
    net_settle(t);
    assert_int_equal(t->nreads[1], 1);
    assert_int_equal(t->reads[1][0].ctx, 7);
    assert_int_equal(t->reads[1][0].index, hs_raft_commit(t->r[1]));

    assert_int_equal(hs_raft_read_index(t->r[2], 9), 0); /* forwarded */
    net_settle(t);
    assert_int_equal(t->nreads[2], 1);
    assert_int_equal(t->reads[2][0].ctx, 9);

    net_isolate(t, 1, true);
    assert_int_equal(hs_raft_read_index(t->r[1], 11), 0);
    net_run(t, 20);
    assert_int_equal(t->nreads[1], 1); /* no quorum: no answer */
    net_free(t);
}

/* Restart: term, vote and log come back from durable state, so a vote is never given twice. */
static void test_restart_keeps_term_and_vote(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 2, 5};
    hs_raft *r = restored(1, 3, terms, 3, 5, 2, 2);
    assert_int_equal(hs_raft_term(r), 5);
    assert_int_equal(hs_raft_vote(r), 2);
    assert_int_equal(hs_raft_last_index(r), 3);
    assert_int_equal(hs_raft_commit(r), 2);
    hs_raft_msg m = mk(HS_RAFT_MSG_VOTE, 3, 1, 5);
    m.log_index = 9;
    m.log_term = 5;
    hs_raft_step(r, 1000, &m);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_true(out.m[0].reject);
    /* committed entries are handed out again (from the snapshot point) after a restart */
    drain(r);
    assert_int_equal(hs_raft_applied(r), 2);
    hs_raft_free(r);
}

/* Safety end to end: random crashes of the leader never lose committed entries. */
static void test_leader_crash_keeps_committed(void **state)
{
    (void)state;
    net *t = net_new(5);
    net_campaign(t, 1);
    uint64_t idx;
    assert_int_equal(hs_raft_propose(t->r[1], "keep", 4, &idx, NULL), 0);
    net_run(t, 60);
    assert_int_equal(hs_raft_commit(t->r[1]), idx);
    net_isolate(t, 1, true);
    net_run(t, 1000);
    int l = net_leader(t);
    assert_true(l >= 2);
    const hs_raft_entry *e = hs_raft_entry_at(t->r[l], idx);
    assert_non_null(e);
    assert_memory_equal(e->data, "keep", 4);
    net_free(t);
}

/* Ready contract with an asynchronous disk: the node may be stepped while a Ready is being
 * persisted; entries rewritten meanwhile come out again in the next Ready. */
static void test_async_ready_with_conflicting_rewrite(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_entry e1[2] = {ent(1, 1), ent(2, 1)};
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 1);
    m.entries = e1;
    m.n_entries = 2;
    hs_raft_step(r, 0, &m);
    hs_raft_ready rd1;
    assert_true(hs_raft_get_ready(r, &rd1));
    assert_int_equal(rd1.n_entries, 2);
    /* while rd1 is being fsynced, a new leader overwrites index 2 */
    hs_raft_entry e2[2] = {ent(2, 2), ent(3, 2)};
    m = mk(HS_RAFT_MSG_APPEND, 3, 1, 2);
    m.log_index = 1;
    m.log_term = 1;
    m.entries = e2;
    m.n_entries = 2;
    hs_raft_step(r, 0, &m);
    hs_raft_ready rd2;
    assert_false(hs_raft_get_ready(r, &rd2)); /* one Ready at a time */
    hs_raft_advance(r, &rd1);
    assert_true(hs_raft_get_ready(r, &rd2));
    assert_true(rd2.n_entries >= 2);
    assert_int_equal(rd2.entries[rd2.n_entries - 1].index, 3);
    assert_int_equal(rd2.entries[rd2.n_entries - 2].term, 2); /* index 2 rewritten */
    assert_true(rd2.entries[0].index <= 2);
    assert_int_equal(rd2.hard_state.term, 2);
    assert_int_equal(rd2.n_msgs, 1);
    assert_false(rd2.msgs[0].reject);
    assert_int_equal(rd2.msgs[0].index, 3);
    hs_raft_advance(r, &rd2);
    assert_false(hs_raft_has_ready(r));
    hs_raft_free(r);
}

/* An ack still queued behind an outstanding Ready never vouches for entries truncated meanwhile
 * (found by the 100,000-seed soak: it would leave after the truncation was persisted). */
static void test_queued_ack_clamped_by_truncation(void **state)
{
    (void)state;
    hs_raft *r = net_node(1, 3, 1);
    hs_raft_msg hb = mk(HS_RAFT_MSG_APPEND, 2, 1, 1);
    hs_raft_step(r, 0, &hb);
    hs_raft_ready rd0;
    assert_true(hs_raft_get_ready(r, &rd0)); /* being persisted for a while */
    hs_raft_entry e1[2] = {ent(1, 1), ent(2, 1)};
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 1);
    m.entries = e1;
    m.n_entries = 2;
    hs_raft_step(r, 0, &m); /* ack of 2 queued */
    hs_raft_entry e2 = ent(2, 2);
    m = mk(HS_RAFT_MSG_APPEND, 3, 1, 2);
    m.log_index = 1;
    m.log_term = 1;
    m.entries = &e2;
    m.n_entries = 1;
    hs_raft_step(r, 0, &m); /* index 2 rewritten by the term-2 leader */
    hs_raft_advance(r, &rd0);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_int_equal(rd.n_msgs, 2);
    assert_int_equal(rd.msgs[0].term, 1);
    assert_int_equal(rd.msgs[0].index, 1); /* was 2: entry 2 of term 1 is gone */
    assert_int_equal(rd.msgs[1].term, 2);
    assert_int_equal(rd.msgs[1].index, 2);
    hs_raft_advance(r, &rd);
    hs_raft_free(r);
}

/* A node outside its own configuration votes only for a candidate strictly ahead of it (one
 * that may know a newer configuration including it). */
static void test_non_member_votes_only_for_candidate_ahead(void **state)
{
    (void)state;
    hs_raft *r = net_node(4, 3, 1); /* seeds are 1..3 */
    hs_raft_msg m = mk(HS_RAFT_MSG_VOTE, 1, 4, 3);
    hs_raft_step(r, 1000, &m); /* log (0, 0): not ahead of our empty log */
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_true(out.m[0].reject);
    m.log_index = 5;
    m.log_term = 2;
    hs_raft_step(r, 1000, &m);
    take_msgs(r, &out, NULL);
    assert_false(out.m[0].reject);
    /* and it never campaigns */
    for (int i = 0; i < 10; i++) hs_raft_tick(r, hs_raft_next_deadline(r));
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    assert_int_equal(hs_raft_term(r), 3);
    hs_raft_free(r);
}

/* Repair of a follower that holds less than it acknowledged (its log was cut, e.g. a seed whose
 * damaged log was reset): the leader must back off below what it believed matched and resend
 * what is missing, instead of probing past the cut forever. Before the fix the leader never
 * went below match + 1, the follower rejected every probe and the two ping-ponged without end. */
static void test_follower_with_lost_suffix_is_repaired(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    assert_int_equal(net_leader(t), 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(hs_raft_propose(t->r[1], "abc", 3, NULL, NULL), 0);
    net_run(t, 100);
    hs_raft *l = t->r[1];
    uint64_t last = hs_raft_last_index(l);
    assert_int_equal(hs_raft_commit(t->r[3]), last);
    /* node 3 comes back with only its first 3 entries (same term and vote) */
    hs_raft_entry kept[3];
    for (uint64_t i = 1; i <= 3; i++) kept[i - 1] = *hs_raft_entry_at(l, i);
    hs_raft_cfg cfg = {.id = 3,
                       .rng_seed = 3,
                       .peers = net_conf(3),
                       .hard = {.term = hs_raft_term(t->r[3]), .vote = hs_raft_vote(t->r[3])},
                       .entries = kept,
                       .n_entries = 3};
    hs_raft *cut = hs_raft_new(&cfg, t->now);
    assert_non_null(cut);
    hs_raft_free(t->r[3]);
    t->r[3] = cut;
    uint64_t before = t->delivered;
    net_run(t, 120); /* two heartbeat rounds */
    assert_int_equal(net_leader(t), 1);
    assert_int_equal(hs_raft_last_index(t->r[3]), last);
    assert_int_equal(hs_raft_commit(t->r[3]), last);
    for (uint64_t i = 1; i <= last; i++)
        assert_int_equal(hs_raft_term_at(t->r[3], i), hs_raft_term_at(l, i));
    /* a handful of heartbeats and one repair, not a message storm */
    assert_true(t->delivered - before < 100);
    net_free(t);
}

/* A node of a 3-node group after hearsayd --raft-reset: no log, the given term, recovering. */
static hs_raft *recovering_node(uint64_t id, uint64_t term, uint64_t now)
{
    hs_raft_cfg cfg = {
        .id = id, .rng_seed = id, .peers = net_conf(3), .hard = {.term = term, .recovering = true}};
    return hs_raft_new(&cfg, now);
}

/* Repair (hearsayd --raft-reset): a node that lost its log, and maybe its term and vote, is
 * "recovering". It grants no vote or pre-vote and never campaigns, whatever the timers say. */
static void test_recovering_node_neither_votes_nor_campaigns(void **state)
{
    (void)state;
    hs_raft *r = recovering_node(1, 4, 0);
    assert_true(hs_raft_recovering(r));
    hs_raft_msg m = mk(HS_RAFT_MSG_VOTE, 2, 1, 5);
    hs_raft_step(r, 1000, &m);
    msgbuf out;
    take_msgs(r, &out, NULL);
    assert_int_equal(out.n, 1);
    assert_true(out.m[0].reject);
    assert_int_equal(hs_raft_term(r), 5);
    assert_int_equal(hs_raft_vote(r), 0);
    m = mk(HS_RAFT_MSG_PREVOTE, 3, 1, 6);
    hs_raft_step(r, 2000, &m);
    take_msgs(r, &out, NULL);
    assert_true(out.m[0].reject);
    for (int i = 0; i < 20; i++) {
        hs_raft_tick(r, hs_raft_next_deadline(r));
        take_msgs(r, &out, NULL);
        assert_int_equal(out.n, 0);
    }
    assert_int_equal(hs_raft_get_role(r), HS_RAFT_FOLLOWER);
    assert_int_equal(hs_raft_term(r), 5);
    hs_raft_free(r);
}

/* A recovering node stores what the leader sends but acknowledges nothing past the leader's
 * commit index and no read round, so it never helps a commit or a read; it asks the leader for
 * a read index instead. */
static void test_recovering_node_acks_at_most_commit(void **state)
{
    (void)state;
    hs_raft *r = recovering_node(1, 5, 0);
    hs_raft_entry e[3] = {ent(1, 5), ent(2, 5), ent(3, 5)};
    hs_raft_msg m = mk(HS_RAFT_MSG_APPEND, 2, 1, 5);
    m.entries = e;
    m.n_entries = 3;
    m.commit = 1;
    m.ctx = 3;
    hs_raft_step(r, 100, &m);
    assert_int_equal(hs_raft_last_index(r), 3);
    hs_raft_ready rd;
    assert_true(hs_raft_get_ready(r, &rd));
    assert_int_equal(rd.n_entries, 3);
    assert_true(rd.hard_state.recovering);
    size_t acks = 0, probes = 0;
    for (size_t i = 0; i < rd.n_msgs; i++) {
        if (rd.msgs[i].type == HS_RAFT_MSG_APPEND_RESP) {
            acks++;
            assert_false(rd.msgs[i].reject);
            assert_int_equal(rd.msgs[i].index, 1);
            assert_int_equal(rd.msgs[i].ctx, 0);
        }
        if (rd.msgs[i].type == HS_RAFT_MSG_READINDEX) {
            probes++;
            assert_int_equal(rd.msgs[i].to, 2);
            assert_true(rd.msgs[i].ctx == HS_RAFT_RECOVER_CTX);
        }
    }
    assert_int_equal(acks, 1);
    assert_int_equal(probes, 1);
    hs_raft_advance(r, &rd);
    assert_int_equal(hs_raft_read_index(r, HS_RAFT_RECOVER_CTX), HS_RAFT_EINVAL);
    hs_raft_free(r);
}

/* A reset node rejoins only while the others hold a quorum: with one of them cut off it stays
 * a learner, and the leader cannot commit with its help; once they answer, it is brought up to
 * date, votes again (for the leader in this term, so never twice in a term it may have voted
 * in before), and counts again. */
static void test_reset_node_rejoins_only_with_a_quorum_of_the_others(void **state)
{
    (void)state;
    net *t = net_new(3);
    net_campaign(t, 1);
    for (int i = 0; i < 5; i++) assert_int_equal(hs_raft_propose(t->r[1], "abc", 3, NULL, NULL), 0);
    net_run(t, 100);
    hs_raft *l = t->r[1];
    uint64_t term = hs_raft_term(l), commit0 = hs_raft_commit(l);
    hs_raft_free(t->r[3]);
    t->r[3] = recovering_node(3, 0, t->now); /* lost everything, term and vote too */
    net_isolate(t, 2, true);
    uint64_t idx;
    assert_int_equal(hs_raft_propose(l, "new", 3, &idx, NULL), 0);
    net_run(t, 600);
    assert_int_equal(net_leader(t), 1);
    assert_true(hs_raft_recovering(t->r[3]));
    assert_int_equal(hs_raft_last_index(t->r[3]), idx); /* stored, not acknowledged */
    assert_int_equal(hs_raft_commit(l), commit0);       /* no commit with a learner's help */
    net_isolate(t, 2, false);
    net_run(t, 300);
    assert_false(hs_raft_recovering(t->r[3]));
    assert_int_equal(hs_raft_commit(t->r[3]), idx);
    assert_int_equal(hs_raft_term(t->r[3]), term);
    assert_int_equal(hs_raft_vote(t->r[3]), 1);
    assert_int_equal(t->hs[3].vote, 1); /* durable */
    assert_false(t->hs[3].recovering);
    /* no second vote in this term; a vote in a later one */
    uint64_t later = t->now + 1000;
    hs_raft_msg m = mk(HS_RAFT_MSG_VOTE, 2, 3, term);
    m.log_index = 100;
    m.log_term = term;
    hs_raft_step(t->r[3], later, &m);
    msgbuf out;
    take_msgs(t->r[3], &out, NULL);
    assert_true(out.m[0].reject);
    m.term = term + 1;
    hs_raft_step(t->r[3], later, &m);
    take_msgs(t->r[3], &out, NULL);
    assert_false(out.m[0].reject);
    net_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_as_follower),
        cmocka_unit_test(test_update_term_from_message),
        cmocka_unit_test(test_reject_stale_term),
        cmocka_unit_test(test_leader_bcast_heartbeat),
        cmocka_unit_test(test_prevote_does_not_bump_term),
        cmocka_unit_test(test_candidate_votes_for_self_durably),
        cmocka_unit_test(test_election_win_appends_noop),
        cmocka_unit_test(test_candidate_loses),
        cmocka_unit_test(test_vote_once_per_term),
        cmocka_unit_test(test_candidate_fallback),
        cmocka_unit_test(test_election_timeout_randomized),
        cmocka_unit_test(test_vote_requires_up_to_date_log),
        cmocka_unit_test(test_leader_commits_on_majority),
        cmocka_unit_test(test_leader_counts_itself_only_when_durable),
        cmocka_unit_test(test_figure8_no_commit_of_older_term_by_count),
        cmocka_unit_test(test_follower_commit),
        cmocka_unit_test(test_follower_consistency_check),
        cmocka_unit_test(test_follower_truncates_conflict),
        cmocka_unit_test(test_leader_syncs_follower_log),
        cmocka_unit_test(test_check_quorum_steps_down),
        cmocka_unit_test(test_prevote_isolated_node_does_not_disrupt),
        cmocka_unit_test(test_leader_lost_elects_at_once),
        cmocka_unit_test(test_leader_lost_wrongly_disrupts_nothing),
        cmocka_unit_test(test_snapshot_install),
        cmocka_unit_test(test_conf_change_one_at_a_time_after_current_term_commit),
        cmocka_unit_test(test_add_seed_and_non_member_never_votes),
        cmocka_unit_test(test_remove_leader),
        cmocka_unit_test(test_read_index),
        cmocka_unit_test(test_restart_keeps_term_and_vote),
        cmocka_unit_test(test_leader_crash_keeps_committed),
        cmocka_unit_test(test_async_ready_with_conflicting_rewrite),
        cmocka_unit_test(test_non_member_votes_only_for_candidate_ahead),
        cmocka_unit_test(test_queued_ack_clamped_by_truncation),
        cmocka_unit_test(test_follower_with_lost_suffix_is_repaired),
        cmocka_unit_test(test_recovering_node_neither_votes_nor_campaigns),
        cmocka_unit_test(test_recovering_node_acks_at_most_commit),
        cmocka_unit_test(test_reset_node_rejoins_only_with_a_quorum_of_the_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
