/* test_cc_sessions.c: the client sessions of the replicated configuration (cc_session.c), one
 * test per rule: a duplicate gets its original answer and changes nothing, a reused seq with
 * another request is a conflict, the floor forgets answered requests for good, the answers
 * per session are bounded, eviction is least-recently-used and identical on every replica,
 * an evicted session never applies again (the horizon), sessions travel in snapshots but not
 * in configurations shipped to non-seeds, seed changes carry their tag, and hostile bytes are
 * rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/cluster_config.h"

static hs_cc_cmd set_cmd(const char *key, const char *value, uint64_t session, uint64_t seq,
                         uint64_t floor)
{
    hs_cc_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = HS_CC_SET;
    snprintf(c.key, sizeof(c.key), "%s", key);
    snprintf(c.value, sizeof(c.value), "%s", value);
    c.tag = (hs_cc_tag){.session = session, .born = 0, .seq = seq, .floor = floor};
    return c;
}

/* Applies cmd as a committed Raft entry (through its byte encoding). */
static hs_cc_outcome apply(hs_cluster_config *c, hs_cc_cmd cmd)
{
    uint8_t buf[HS_CC_CMD_MAX];
    size_t n = hs_cc_cmd_encode(&cmd, buf, sizeof(buf));
    assert_true(n > 0);
    hs_raft_entry e = {
        .index = 1, .term = 1, .type = HS_RAFT_ENTRY_NORMAL, .len = (uint32_t)n, .data = buf};
    hs_cc_outcome o;
    hs_cc_apply_entry(c, &e, &o);
    return o;
}

static hs_cluster_config *fresh(void)
{
    hs_cluster_config *c = malloc(sizeof(*c));
    assert_non_null(c);
    hs_cc_init(c);
    return c;
}

/* The configuration without its sessions is equal. */
static void assert_same_config(const hs_cluster_config *a, const hs_cluster_config *b)
{
    assert_memory_equal(a, b, offsetof(hs_cluster_config, sess_clock));
}

static void test_duplicate_gets_original_answer_and_changes_nothing(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh();
    hs_cc_cmd first = set_cmd("k", "v1", 7, 1, 1);
    hs_cc_outcome o = apply(c, first);
    assert_int_equal(o.rc, HS_CC_OK);
    assert_false(o.duplicate);
    assert_int_equal(o.version, 1);
    hs_cc_outcome o2 = apply(c, set_cmd("k", "v2", 7, 2, 1));
    assert_int_equal(o2.version, 2);
    hs_cluster_config *before = malloc(sizeof(*before));
    memcpy(before, c, sizeof(*c));
    /* the first request again (a retry or a replay): its answer, nothing applied */
    o = apply(c, first);
    assert_int_equal(o.rc, HS_CC_OK);
    assert_true(o.duplicate);
    assert_int_equal(o.version, 1);
    assert_string_equal(hs_cc_get(c, "k"), "v2"); /* the value did not go back */
    assert_memory_equal(before, c, sizeof(*c));   /* sessions included */
    /* the leader's check says the same without applying anything */
    hs_cc_outcome chk;
    assert_false(hs_cc_session_check(c, &first.tag, hs_cc_cmd_fingerprint(&first), &chk));
    assert_true(chk.duplicate);
    assert_int_equal(chk.version, 1);
    free(before);
    free(c);
}

static void test_refused_request_answered_the_same_again(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh();
    hs_cc_cmd del = set_cmd("absent", "", 9, 1, 1);
    del.op = HS_CC_DELETE;
    del.value[0] = '\0';
    hs_cc_outcome o = apply(c, del);
    assert_int_equal(o.rc, HS_CC_ENOENT);
    assert_int_equal(c->version, 0);
    assert_int_equal(c->sess_clock, 1); /* recorded, version unchanged */
    apply(c, set_cmd("absent", "now", 10, 1, 1));
    o = apply(c, del); /* the key exists now, but the retry gets the original refusal */
    assert_int_equal(o.rc, HS_CC_ENOENT);
    assert_true(o.duplicate);
    assert_string_equal(hs_cc_get(c, "absent"), "now");
    free(c);
}

static void test_same_seq_other_request_conflicts(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh();
    apply(c, set_cmd("k", "v1", 7, 1, 1));
    hs_cc_outcome o = apply(c, set_cmd("k", "other", 7, 1, 1));
    assert_int_equal(o.rc, HS_CC_ECONFLICT);
    assert_false(o.duplicate);
    assert_string_equal(hs_cc_get(c, "k"), "v1");
    assert_int_equal(c->version, 1);
    free(c);
}

static void test_floor_forgets_answered_requests_for_good(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh();
    apply(c, set_cmd("a", "1", 7, 1, 1));
    apply(c, set_cmd("a", "2", 7, 2, 1));
    assert_int_equal(c->sessions[0].n, 2);
    /* seq 3 says the client holds the answers below 3: they are dropped */
    apply(c, set_cmd("a", "3", 7, 3, 3));
    assert_int_equal(c->sessions[0].n, 1);
    assert_int_equal(c->sessions[0].floor, 3);
    hs_cc_outcome o = apply(c, set_cmd("a", "1", 7, 1, 1));
    assert_int_equal(o.rc, HS_CC_ESTALE); /* never applied again, never answered again */
    assert_string_equal(hs_cc_get(c, "a"), "3");
    assert_int_equal(c->version, 3);
    free(c);
}

static void test_answers_per_session_are_bounded(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh();
    /* a client that ignores its window: floor stays 1 */
    for (uint64_t s = 1; s <= HS_CC_SESSION_ANSWERS + 3; s++) {
        char v[8];
        snprintf(v, sizeof(v), "%u", (unsigned)s);
        assert_int_equal(apply(c, set_cmd("w", v, 5, s, 1)).rc, HS_CC_OK);
    }
    const hs_cc_session *s = &c->sessions[0];
    assert_int_equal(s->n, HS_CC_SESSION_ANSWERS);
    assert_int_equal(s->floor, 4); /* the three oldest answers went, and their seqs with them */
    assert_int_equal(apply(c, set_cmd("w", "1", 5, 1, 1)).rc, HS_CC_ESTALE);
    assert_true(apply(c, set_cmd("w", "4", 5, 4, 1)).duplicate);
    free(c);
}

/* Applies the same stream of requests from many sessions to two replicas. */
static void churn(hs_cluster_config *a, hs_cluster_config *b, uint64_t first, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        hs_cc_cmd cmd = set_cmd("churn", "x", first + i, 1, 1);
        cmd.tag.born = a->sess_clock;
        hs_cc_outcome oa = apply(a, cmd), ob = apply(b, cmd);
        assert_int_equal(oa.rc, ob.rc);
    }
}

static void test_eviction_is_lru_and_identical_on_every_replica(void **state)
{
    (void)state;
    hs_cluster_config *a = fresh(), *b = fresh();
    churn(a, b, 1000, HS_CC_MAX_SESSIONS); /* full */
    /* session 1000 is used again: now 1001 is the least recently used */
    hs_cc_cmd again = set_cmd("churn", "y", 1000, 2, 2);
    apply(a, again);
    apply(b, again);
    uint64_t lru_use = 0;
    for (uint32_t i = 0; i < a->n_sessions; i++)
        if (a->sessions[i].id == 1001) lru_use = a->sessions[i].last_use;
    churn(a, b, 5000, 1); /* one new session evicts exactly one: 1001 */
    assert_int_equal(a->n_sessions, HS_CC_MAX_SESSIONS);
    for (uint32_t i = 0; i < a->n_sessions; i++) assert_int_not_equal(a->sessions[i].id, 1001);
    assert_int_equal(a->sess_horizon, lru_use + 1);
    static uint8_t sa[HS_CC_SNAPSHOT_MAX], sb[HS_CC_SNAPSHOT_MAX];
    size_t na = hs_cc_serialize_snapshot(a, sa, sizeof(sa));
    size_t nb = hs_cc_serialize_snapshot(b, sb, sizeof(sb));
    assert_true(na > 0);
    assert_int_equal(na, nb);
    assert_memory_equal(sa, sb, na);
    assert_memory_equal(a, b, sizeof(*a));
    free(a);
    free(b);
}

static void test_evicted_session_never_applies_again(void **state)
{
    (void)state;
    hs_cluster_config *a = fresh(), *b = fresh();
    hs_cc_cmd old = set_cmd("late", "old", 42, 1, 1);
    apply(a, old);
    apply(b, old);
    churn(a, b, 2000, HS_CC_MAX_SESSIONS); /* 42 is the least recently used: evicted */
    hs_cc_outcome o = apply(a, old);
    assert_int_equal(o.rc, HS_CC_ESTALE); /* a very late retry or replay: refused, not applied */
    assert_int_equal(apply(b, old).rc, HS_CC_ESTALE);
    hs_cc_cmd next = set_cmd("late", "next", 42, 2, 2); /* and so is anything else of it */
    assert_int_equal(apply(a, next).rc, HS_CC_ESTALE);
    assert_string_equal(hs_cc_get(a, "late"), "old");
    /* a new session born before the horizon is refused, one born at the clock is accepted,
     * one born in the future is refused */
    hs_cc_cmd n1 = set_cmd("late", "n1", 77, 1, 1);
    n1.tag.born = a->sess_horizon - 1;
    assert_int_equal(apply(a, n1).rc, HS_CC_ESTALE);
    n1.tag.born = a->sess_clock + 1;
    assert_int_equal(apply(a, n1).rc, HS_CC_ESTALE);
    n1.tag.born = a->sess_clock;
    assert_int_equal(apply(a, n1).rc, HS_CC_OK);
    free(a);
    free(b);
}

static void test_sessions_in_snapshots_not_in_shipped_config(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh(), *back = fresh();
    apply(c, set_cmd("k", "v", 7, 1, 1));
    apply(c, set_cmd("k", "w", 8, 3, 2));
    static uint8_t buf[HS_CC_SNAPSHOT_MAX];
    size_t n = hs_cc_serialize_snapshot(c, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(hs_cc_deserialize(buf, n, back), 0);
    assert_memory_equal(c, back, sizeof(*c));
    for (size_t cut = 0; cut < n; cut++) assert_int_equal(hs_cc_deserialize(buf, cut, back), -1);
    size_t m = hs_cc_serialize(c, buf, sizeof(buf));
    assert_true(m > 0 && m < n);
    assert_int_equal(hs_cc_deserialize(buf, m, back), 0);
    assert_same_config(c, back);
    assert_int_equal(back->n_sessions, 0);
    assert_int_equal(back->sess_clock, 0);
    free(c);
    free(back);
}

static void test_hostile_session_block_rejected(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh(), *back = fresh();
    apply(c, set_cmd("k", "v", 7, 1, 1));
    apply(c, set_cmd("k", "w", 7, 2, 1));
    apply(c, set_cmd("k", "x", 8, 1, 1));
    static uint8_t good[HS_CC_SNAPSHOT_MAX], bad[HS_CC_SNAPSHOT_MAX];
    size_t n = hs_cc_serialize_snapshot(c, good, sizeof(good));
    hs_cluster_config *m = fresh();
    /* each mutation of the table is refused as a whole */
    for (int k = 0; k < 7; k++) {
        memcpy(m, c, sizeof(*c));
        switch (k) {
        case 0:
            m->sessions[1].id = m->sessions[0].id;
            break; /* duplicate id */
        case 1:
            m->sessions[0].answers[1].seq = 1;
            break; /* not ascending */
        case 2:
            m->sessions[0].last_use = m->sess_clock + 1;
            break; /* from the future */
        case 3:
            m->sessions[0].answers[0].rc = HS_CC_ESTALE;
            break; /* never recorded */
        case 4:
            m->sessions[0].floor = 2;
            break; /* answer below floor */
        case 5:
            m->sess_horizon = m->sess_clock + 2;
            break; /* horizon ahead */
        case 6:
            m->sessions[1].last_use = m->sessions[0].last_use;
            break; /* same use */
        }
        size_t bn = hs_cc_serialize_snapshot(m, bad, sizeof(bad));
        assert_true(bn > 0);
        assert_int_equal(hs_cc_deserialize(bad, bn, back), -1);
    }
    /* a count larger than the table */
    memcpy(bad, good, n);
    size_t at = hs_cc_serialize(c, bad, sizeof(bad)) + 16; /* clock, horizon, then the count */
    bad[4] = 2;                                            /* format 2 */
    bad[at] = 0xff;
    assert_int_equal(hs_cc_deserialize(bad, n, back), -1);
    free(m);
    free(c);
    free(back);
}

static void test_command_tag_encoding_is_canonical(void **state)
{
    (void)state;
    hs_cc_cmd cmd = set_cmd("k", "v", 3, 5, 4), d;
    uint8_t buf[HS_CC_CMD_MAX];
    size_t n = hs_cc_cmd_encode(&cmd, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(buf[0], 2);
    assert_int_equal(hs_cc_cmd_decode(buf, n, &d), 0);
    assert_memory_equal(&d.tag, &cmd.tag, sizeof(cmd.tag));
    for (size_t cut = 0; cut < n; cut++) assert_int_equal(hs_cc_cmd_decode(buf, cut, &d), -1);
    /* invalid tags are not encoded and not decoded */
    hs_cc_cmd bad = cmd;
    bad.tag.floor = 6; /* above seq */
    assert_int_equal(hs_cc_cmd_encode(&bad, buf, sizeof(buf)), 0);
    n = hs_cc_cmd_encode(&cmd, buf, sizeof(buf));
    memset(buf + 1, 0, 8); /* session 0 in format 2: not canonical */
    assert_int_equal(hs_cc_cmd_decode(buf, n, &d), -1);
    /* an untagged command keeps format 1 */
    memset(&cmd.tag, 0, sizeof(cmd.tag));
    n = hs_cc_cmd_encode(&cmd, buf, sizeof(buf));
    assert_int_equal(buf[0], 1);
    /* the fingerprint ignores the tag and sees the request */
    hs_cc_cmd t1 = set_cmd("k", "v", 3, 5, 4), t2 = set_cmd("k", "v", 9, 1, 1);
    hs_cc_cmd t3 = set_cmd("k", "V", 3, 5, 4);
    assert_true(hs_cc_cmd_fingerprint(&t1) == hs_cc_cmd_fingerprint(&t2));
    assert_true(hs_cc_cmd_fingerprint(&t1) != hs_cc_cmd_fingerprint(&t3));
}

static hs_raft_conf_change seed_change(uint8_t op, const char *name, uint8_t last)
{
    hs_raft_conf_change cc;
    memset(&cc, 0, sizeof(cc));
    cc.op = op;
    cc.peer.id = hs_cc_seed_id(name);
    snprintf(cc.peer.name, sizeof(cc.peer.name), "%s", name);
    cc.peer.addr = hs_addr_v4(10, 0, 0, last, 7946);
    return cc;
}

static hs_cc_outcome apply_conf(hs_cluster_config *c, const hs_raft_conf_change *cc)
{
    uint8_t buf[192];
    size_t n = hs_raft_conf_change_encode(cc, buf, sizeof(buf));
    assert_true(n > 0);
    hs_raft_entry e = {
        .index = 1, .term = 1, .type = HS_RAFT_ENTRY_CONF, .len = (uint32_t)n, .data = buf};
    hs_cc_tag t;
    assert_int_equal(hs_cc_entry_tag(&e, &t), cc->tag_len > 0);
    hs_cc_outcome o;
    hs_cc_apply_entry(c, &e, &o);
    return o;
}

static void test_seed_changes_carry_their_session(void **state)
{
    (void)state;
    hs_cluster_config *c = fresh();
    hs_cc_tag t1 = {.session = 11, .seq = 1, .floor = 1},
              t2 = {.session = 11, .seq = 2, .floor = 2};
    hs_raft_conf_change add = seed_change(HS_RAFT_ADD_SEED, "s1", 1);
    hs_cc_conf_set_tag(&add, &t1);
    hs_raft_conf_change other = seed_change(HS_RAFT_ADD_SEED, "s2", 2);
    apply_conf(c, &other); /* untagged: the last seed cannot be removed later */
    hs_cc_outcome o = apply_conf(c, &add);
    assert_int_equal(o.rc, HS_CC_OK);
    uint64_t v = o.version;
    /* removal names the seed only: its fingerprint does not depend on the address */
    hs_raft_conf_change rm = seed_change(HS_RAFT_REMOVE_SEED, "s1", 99);
    hs_raft_conf_change rm2 = seed_change(HS_RAFT_REMOVE_SEED, "s1", 1);
    assert_true(hs_cc_conf_fingerprint(&rm) == hs_cc_conf_fingerprint(&rm2));
    assert_true(hs_cc_conf_fingerprint(&add) != hs_cc_conf_fingerprint(&other));
    hs_cc_conf_set_tag(&rm, &t2);
    assert_int_equal(apply_conf(c, &rm).rc, HS_CC_OK);
    assert_null(hs_cc_find_seed(c, "s1"));
    /* the add's retry: the session has forgotten it (floor 2), and says so */
    hs_cc_outcome chk;
    assert_false(hs_cc_session_check(c, &t1, hs_cc_conf_fingerprint(&add), &chk));
    assert_int_equal(chk.rc, HS_CC_ESTALE);
    /* the remove's retry: its original answer, though the seed is gone by now */
    assert_false(hs_cc_session_check(c, &t2, hs_cc_conf_fingerprint(&rm), &chk));
    assert_true(chk.duplicate);
    assert_int_equal(chk.rc, HS_CC_OK);
    assert_int_equal(chk.version, v + 1);
    /* tags survive the entry encoding; a tag that is not ours reads as none */
    hs_cc_tag back;
    assert_true(hs_cc_conf_get_tag(&rm, &back));
    assert_memory_equal(&back, &t2, sizeof(t2));
    rm.tag_len = 5;
    assert_false(hs_cc_conf_get_tag(&rm, &back));
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_gets_original_answer_and_changes_nothing),
        cmocka_unit_test(test_refused_request_answered_the_same_again),
        cmocka_unit_test(test_same_seq_other_request_conflicts),
        cmocka_unit_test(test_floor_forgets_answered_requests_for_good),
        cmocka_unit_test(test_answers_per_session_are_bounded),
        cmocka_unit_test(test_eviction_is_lru_and_identical_on_every_replica),
        cmocka_unit_test(test_evicted_session_never_applies_again),
        cmocka_unit_test(test_sessions_in_snapshots_not_in_shipped_config),
        cmocka_unit_test(test_hostile_session_block_rejected),
        cmocka_unit_test(test_command_tag_encoding_is_canonical),
        cmocka_unit_test(test_seed_changes_carry_their_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
