/* test_config_client.c: the configuration client core (lib/config_client.c), one test per rule,
 * on three Raft seeds and two non-seed agents in memory (cfgc_harness.h): a change is forwarded
 * to the leader and answered once committed and applied where it was asked; a NOTLEADER sends
 * it straight to the leader it names; a retry whose answer was lost, a duplicate in flight, a
 * replay after commit and a leader change while in flight all end with ONE log entry and the
 * original answer; a forgotten session is placed anew when that is safe; the window bounds
 * changes in flight; an idempotency key applies once across agents; a non-seed installs only
 * newer configurations; hostile messages are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfgc_harness.h"
#include "hearsay/envelope.h"
#include "prng.h"

#define CLIENT  4
#define CLIENT2 5

static const char *key_text(uint8_t fill, char *out)
{
    uint8_t k[HS_ENV_KEY_BYTES];
    memset(k, fill, sizeof(k));
    hs_env_key_encode(k, out, HS_ENV_KEY_B64_LEN + 1);
    return out;
}

/* A change from node i, run to its end; returns its answer. */
static hs_cfgc_done change(world *w, int i, int kind, const char *key, const char *value)
{
    uint64_t op = w_start(w, i, kind, key, value, NULL);
    for (int k = 0; k < 100 && !w_done(w, i, op); k++) w_run(w, 10);
    const hs_cfgc_done *d = w_done(w, i, op);
    assert_non_null(d);
    return *d;
}

/* The tag the last forwarded request from i to the leader carried. */
static hs_cc_tag last_tag(world *w, int i, int leader, long *at)
{
    hs_cfgc_wire m;
    long k = w_find(w, HS_MSG_CONFIG_FWD, i, leader, &m);
    assert_true(k >= 0);
    if (at) *at = k;
    return m.tag;
}

static void test_forwarded_change_committed_once_and_applied_here(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    assert_true(L > 0);
    uint64_t last0 = hs_raft_last_index(w->net->r[L]);
    hs_cfgc_done d = change(w, CLIENT, HS_CFGC_SET, "k", "v1");
    assert_int_equal(d.result, HS_CFGC_OK);
    assert_string_equal(d.value, "v1");
    assert_int_equal(d.version, w->cc[L]->version);
    /* answered only once its own copy holds it */
    assert_string_equal(hs_cc_get(w->cc[CLIENT], "k"), "v1");
    assert_true(w->installs[CLIENT] >= 1);
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last0 + 1);
    hs_cc_tag t = last_tag(w, CLIENT, L, NULL);
    assert_true(t.session != 0);
    assert_int_equal(t.seq, 1);
    assert_int_equal(w_entries_with(w, L, t.session, 1), 1);
    w_free(w);
}

static void test_notleader_sends_it_straight_to_the_named_leader(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    change(w, CLIENT, HS_CFGC_SET, "warm", "up"); /* the client's hint is L now */
    /* L loses leadership (check-quorum), comes back as a follower */
    net_isolate(w->net, L, true);
    for (int k = 0; k < 40 && (!w_leader(w) || w_leader(w) == L); k++) w_run(w, 50);
    net_isolate(w->net, L, false);
    w_run(w, 100);
    int L2 = w_leader(w);
    assert_true(L2 > 0 && L2 != L);
    assert_true(w->now < 4000); /* the client's hint (L) is not refreshed yet */
    size_t mark = w->nrec;
    uint64_t t0 = w->now;
    uint64_t op = w_start(w, CLIENT, HS_CFGC_SET, "k", "v", NULL);
    const hs_cfgc_done *d = w_done(w, CLIENT, op);
    assert_non_null(d); /* no time passed: no retry timer was needed */
    assert_int_equal(d->result, HS_CFGC_OK);
    assert_int_equal(w->now, t0);
    bool notleader = false;
    for (size_t k = mark; k < w->nrec; k++) {
        hs_cfgc_wire m;
        assert_int_equal(hs_cfgc_wire_decode(w->rec[k].buf, w->rec[k].len, &m), 0);
        if (m.type == HS_MSG_CONFIG_FWD_RESP && w->rec[k].from == L) {
            assert_int_equal(m.result, HS_CFGC_NOTLEADER);
            char name[8];
            snprintf(name, sizeof(name), "s%d", L2);
            assert_string_equal(m.leader, name);
            notleader = true;
        }
    }
    assert_true(notleader);
    w_free(w);
}

/* A change whose answer is lost: the retry gets the ORIGINAL answer, no second entry. */
static void lost_answer(int kind, const char *key, const char *value)
{
    world *w = w_new();
    int L = w_elect(w);
    w_bootstrap(w, L);
    change(w, CLIENT, HS_CFGC_SET, "warm", "up");
    uint64_t last0 = hs_raft_last_index(w->net->r[L]);
    w_cut_cfg(w, L, CLIENT, true);
    uint64_t op = w_start(w, CLIENT, kind, key, value, NULL);
    assert_null(w_done(w, CLIENT, op));
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last0 + 1); /* committed */
    uint64_t version = w->cc[L]->version;
    hs_cc_tag t = last_tag(w, CLIENT, L, NULL);
    w_cut_cfg(w, L, CLIENT, false);
    /* meanwhile someone else changes the configuration again */
    assert_int_equal(change(w, CLIENT2, HS_CFGC_SET, "other", "x").result, HS_CFGC_OK);
    uint64_t dups = hs_cfgc_get_stats(w->core[L])->duplicates;
    for (int k = 0; k < 300 && !w_done(w, CLIENT, op); k++) w_run(w, 10);
    const hs_cfgc_done *d = w_done(w, CLIENT, op);
    assert_non_null(d);
    assert_int_equal(d->result, HS_CFGC_OK); /* not "already exists" / "not found" */
    assert_int_equal(d->version, version);   /* the original answer */
    assert_int_equal(w_done_count(w, CLIENT, op), 1);
    assert_int_equal(w_entries_with(w, L, t.session, t.seq), 1);
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last0 + 2); /* + the other change */
    assert_true(hs_cfgc_get_stats(w->core[L])->duplicates > dups);
    w_free(w);
}

static void test_lost_answer_retry_gets_original_answer(void **state)
{
    (void)state;
    lost_answer(HS_CFGC_SET, "k", "v1");
    lost_answer(HS_CFGC_ADD_SEED, "s9", "127.0.0.9:7946");
}

static void test_duplicate_in_flight_joins_the_entry(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    change(w, CLIENT, HS_CFGC_SET, "warm", "up");
    uint64_t last0 = hs_raft_last_index(w->net->r[L]);
    for (int f = 1; f <= W_SEEDS; f++) w->net->cut[L][f] = true; /* no commit for now */
    uint64_t op = w_start(w, CLIENT, HS_CFGC_SET, "k", "v", NULL);
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last0 + 1);
    /* the same request again, as another copy (another request id, another sender) */
    hs_cfgc_wire m;
    assert_true(w_find(w, HS_MSG_CONFIG_FWD, CLIENT, L, &m) >= 0);
    m.rid ^= 0x5555;
    uint8_t buf[HS_CFGC_WIRE_SMALL];
    size_t n = hs_cfgc_wire_encode(&m, buf, sizeof(buf));
    assert_true(n > 0);
    w_queue(w, CLIENT2, L, buf, n);
    w_settle(w);
    assert_int_equal(hs_cfgc_get_stats(w->core[L])->joined, 1);
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last0 + 1); /* no second entry */
    for (int f = 1; f <= W_SEEDS; f++) w->net->cut[L][f] = false;
    w_run(w, 60);
    const hs_cfgc_done *d = w_done(w, CLIENT, op);
    assert_non_null(d);
    assert_int_equal(d->result, HS_CFGC_OK);
    hs_cfgc_wire a;
    assert_true(w_find(w, HS_MSG_CONFIG_FWD_RESP, L, CLIENT2, &a) >= 0);
    assert_int_equal(a.result, HS_CFGC_OK);
    assert_int_equal(a.version, d->version); /* both copies got the one answer */
    assert_int_equal(w_entries_with(w, L, m.tag.session, m.tag.seq), 1);
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last0 + 1);
    w_free(w);
}

static void test_replays_after_commit_write_nothing(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    /* the seed set and the seeds' ring (untagged, as the daemon's first leader writes them) */
    w_bootstrap(w, L);
    char a[64], b[64];
    hs_cc_cmd ring;
    memset(&ring, 0, sizeof(ring));
    ring.op = HS_CC_KEY_INSTALL;
    memset(ring.key_bytes, 0xaa, sizeof(ring.key_bytes));
    w_propose(w, L, &ring);
    struct {
        int kind;
        const char *key, *value;
    } ops[] = {
        {HS_CFGC_SET, "k", "v1"},          {HS_CFGC_SET, "k", "v2"},
        {HS_CFGC_DELETE, "k", NULL},       {HS_CFGC_ADD_SEED, "s4", "127.0.0.4:7946"},
        {HS_CFGC_REMOVE_SEED, "s4", NULL}, {HS_CFGC_KEY_INSTALL, "keys", key_text(0xbb, b)},
        {HS_CFGC_KEY_USE, "keys", b},      {HS_CFGC_KEY_REMOVE, "keys", key_text(0xaa, a)},
    };
    long rec[8];
    for (int i = 0; i < 8; i++) {
        hs_cfgc_done d = change(w, CLIENT, ops[i].kind, ops[i].key, ops[i].value);
        assert_int_equal(d.result, HS_CFGC_OK);
        last_tag(w, CLIENT, L, &rec[i]);
    }
    assert_null(hs_cc_get(w->cc[L], "k"));
    assert_int_equal(w->cc[L]->n_keys, 1);
    assert_null(hs_raft_conf_find_name(hs_raft_get_conf(w->net->r[L]), "s4"));
    uint64_t last = hs_raft_last_index(w->net->r[L]);
    hs_cluster_config *before = malloc(sizeof(*before));
    memcpy(before, w->cc[L], sizeof(*before));
    /* replay every recorded request, in order and twice, to every seed */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 8; i++)
            for (int s = 1; s <= W_SEEDS; s++) w_replay(w, rec[i], s);
    w_run(w, 100);
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last); /* 0 new entries */
    assert_memory_equal(before, w->cc[L], sizeof(*before));   /* nothing went back */
    assert_null(hs_raft_conf_find_name(hs_raft_get_conf(w->net->r[L]), "s4"));
    /* what the replays were told: the last one its answer, the older ones "expired" */
    hs_cfgc_wire m;
    assert_true(w_find(w, HS_MSG_CONFIG_FWD_RESP, L, CLIENT, &m) >= 0);
    assert_int_equal(m.result, HS_CFGC_OK);
    assert_true(hs_cfgc_get_stats(w->core[L])->stale >= 7);
    free(before);
    w_free(w);
}

/* The old leader committed it (or a majority held it) and the answer never came: the new
 * leader answers the retry from the session, after applying what the old one left. */
static void leader_change(bool committed)
{
    world *w = w_new();
    int L = w_elect(w);
    change(w, CLIENT, HS_CFGC_SET, "warm", "up");
    w_cut_cfg(w, L, CLIENT, true);
    if (!committed)
        for (int f = 1; f <= W_SEEDS; f++) w->net->cut[f][L] = true; /* entries go, acks don't */
    uint64_t op = w_start(w, CLIENT, HS_CFGC_SET, "k", "v", NULL);
    hs_cc_tag t = last_tag(w, CLIENT, L, NULL);
    for (int f = 1; f <= W_SEEDS; f++)
        if (f != L) assert_int_equal(w_entries_with(w, f, t.session, t.seq), 1);
    assert_int_equal(hs_cc_get(w->cc[L], "k") != NULL, committed);
    /* the old leader is gone, for Raft and for everybody's config messages */
    net_isolate(w->net, L, true);
    for (int i = 1; i < W_NODES; i++) w->cut[L][i] = w->cut[i][L] = true;
    for (int k = 0; k < 800 && !w_done(w, CLIENT, op); k++) w_run(w, 10);
    int L2 = w_leader(w);
    assert_true(L2 > 0 && L2 != L);
    const hs_cfgc_done *d = w_done(w, CLIENT, op);
    assert_non_null(d);
    assert_int_equal(d->result, HS_CFGC_OK);
    assert_int_equal(w_done_count(w, CLIENT, op), 1);
    assert_int_equal(w_entries_with(w, L2, t.session, t.seq), 1); /* no second entry */
    assert_string_equal(hs_cc_get(w->cc[L2], "k"), "v");
    assert_string_equal(hs_cc_get(w->cc[CLIENT], "k"), "v");
    w_free(w);
}

static void test_leader_change_after_commit_answered_once(void **state)
{
    (void)state;
    leader_change(true);
}

static void test_leader_change_before_commit_answered_once(void **state)
{
    (void)state;
    leader_change(false);
}

static void test_forgotten_session_placed_anew_once(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    assert_int_equal(change(w, CLIENT, HS_CFGC_SET, "k", "v1").result, HS_CFGC_OK);
    long first;
    hs_cc_tag t1 = last_tag(w, CLIENT, L, &first);
    /* HS_CC_MAX_SESSIONS other sessions: the client's, least recently used, is evicted */
    hs_raft *r = w->net->r[L];
    uint64_t born = w->cc[L]->sess_clock;
    for (int i = 0; i < HS_CC_MAX_SESSIONS; i++) {
        hs_cc_cmd cmd;
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = HS_CC_SET;
        snprintf(cmd.key, sizeof(cmd.key), "churn");
        snprintf(cmd.value, sizeof(cmd.value), "%d", i);
        cmd.tag = (hs_cc_tag){.session = 90000 + (uint64_t)i, .born = born, .seq = 1, .floor = 1};
        uint8_t b[HS_CC_CMD_MAX];
        size_t n = hs_cc_cmd_encode(&cmd, b, sizeof(b));
        uint64_t idx, term;
        assert_int_equal(hs_raft_propose(r, b, n, &idx, &term), HS_RAFT_OK);
    }
    w_run(w, 50);
    assert_true(w->cc[L]->sess_horizon > 0);
    /* every seed evicted the same session: the same state, byte for byte */
    static uint8_t s1[HS_CC_SNAPSHOT_MAX], s2[HS_CC_SNAPSHOT_MAX];
    size_t n1 = hs_cc_serialize_snapshot(w->cc[1], s1, sizeof(s1));
    for (int i = 2; i <= W_SEEDS; i++) {
        size_t n2 = hs_cc_serialize_snapshot(w->cc[i], s2, sizeof(s2));
        assert_int_equal(n1, n2);
        assert_memory_equal(s1, s2, n1);
    }
    uint64_t last = hs_raft_last_index(r);
    /* the next change meets the forgotten session: refused unapplied, placed anew, done */
    hs_cfgc_done d = change(w, CLIENT, HS_CFGC_SET, "k", "v2");
    assert_int_equal(d.result, HS_CFGC_OK);
    assert_int_equal(hs_cfgc_get_stats(w->core[CLIENT])->stale, 1);
    assert_int_equal(hs_raft_last_index(r), last + 1);
    hs_cc_tag t2 = last_tag(w, CLIENT, L, NULL);
    assert_true(t2.session != t1.session);
    assert_string_equal(hs_cc_get(w->cc[L], "k"), "v2");
    /* a very late retry of the first request: refused, never applied again */
    w_replay(w, first, L);
    assert_int_equal(hs_raft_last_index(r), last + 1);
    assert_string_equal(hs_cc_get(w->cc[L], "k"), "v2");
    hs_cfgc_wire m;
    assert_true(w_find(w, HS_MSG_CONFIG_FWD_RESP, L, CLIENT, &m) >= 0);
    assert_int_equal(m.result, HS_CFGC_EXPIRED);
    w_free(w);
}

static void test_window_bounds_changes_in_flight(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    change(w, CLIENT, HS_CFGC_SET, "warm", "up");
    uint64_t ops[HS_CFGC_WINDOW + 4];
    for (int i = 0; i < HS_CFGC_WINDOW + 4; i++) {
        char k[16];
        snprintf(k, sizeof(k), "w%d", i);
        ops[i] = hs_cfgc_start(w->core[CLIENT], w->now, HS_CFGC_SET, k, "x", NULL);
    }
    hs_cfgc_msg m;
    int fwd = 0;
    while (hs_cfgc_next_msg(w->core[CLIENT], &m)) {
        fwd += m.data[0] == HS_MSG_CONFIG_FWD;
        w_queue(w, CLIENT, w_index(&m.to), m.data, m.len);
    }
    assert_int_equal(fwd, HS_CFGC_WINDOW);
    w_run(w, 500);
    for (int i = 0; i < HS_CFGC_WINDOW + 4; i++) {
        const hs_cfgc_done *d = w_done(w, CLIENT, ops[i]);
        assert_non_null(d);
        assert_int_equal(d->result, HS_CFGC_OK);
    }
    (void)L;
    w_free(w);
}

static void test_idempotency_key_applies_once_across_agents(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    uint64_t op1 = w_start(w, CLIENT, HS_CFGC_SET, "k", "v", "retry-me");
    w_run(w, 20);
    const hs_cfgc_done *d1 = w_done(w, CLIENT, op1);
    assert_non_null(d1);
    assert_int_equal(d1->result, HS_CFGC_OK);
    uint64_t last = hs_raft_last_index(w->net->r[L]);
    assert_int_equal(change(w, CLIENT, HS_CFGC_SET, "k", "later").result, HS_CFGC_OK);
    /* the script retries the first request on another agent */
    uint64_t op2 = w_start(w, CLIENT2, HS_CFGC_SET, "k", "v", "retry-me");
    w_run(w, 20);
    const hs_cfgc_done *d2 = w_done(w, CLIENT2, op2);
    assert_non_null(d2);
    assert_int_equal(d2->result, HS_CFGC_OK);
    assert_int_equal(d2->version, d1->version);
    assert_string_equal(hs_cc_get(w->cc[L], "k"), "later"); /* not applied again */
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last + 1);
    /* the same key for another request is refused */
    uint64_t op3 = w_start(w, CLIENT2, HS_CFGC_SET, "k", "different", "retry-me");
    w_run(w, 20);
    assert_int_equal(w_done(w, CLIENT2, op3)->result, HS_CFGC_CONFLICT);
    assert_int_equal(hs_raft_last_index(w->net->r[L]), last + 1);
    w_free(w);
}

static void test_fetch_installs_only_newer_configurations(void **state)
{
    (void)state;
    world *w = w_new();
    int L = w_elect(w);
    change(w, CLIENT2, HS_CFGC_SET, "a", "1");
    change(w, CLIENT2, HS_CFGC_SET, "a", "2");
    uint64_t v = w->cc[L]->version;
    assert_int_equal(w->cc[CLIENT]->version, 0);
    /* gossip says the leader holds a newer version: the client fetches and installs it */
    hs_addr la = w_addr(L);
    hs_cfgc_version_seen(w->core[CLIENT], w->now, &la, v);
    w_settle(w);
    assert_int_equal(w->cc[CLIENT]->version, v);
    assert_string_equal(hs_cc_get(w->cc[CLIENT], "a"), "2");
    assert_int_equal(w->installs[CLIENT], 1);
    assert_int_equal(w->cc[CLIENT]->n_sessions, 0); /* sessions are not shipped */
    /* an older (recorded) configuration is not installed */
    hs_cfgc_wire old;
    static uint8_t ser[HS_CC_SERIALIZED_MAX];
    hs_cluster_config *c = malloc(sizeof(*c));
    memcpy(c, w->cc[L], sizeof(*c));
    c->version = v - 1;
    memset(&old, 0, sizeof(old));
    old.type = HS_MSG_CONFIG_FETCH_RESP;
    old.version = v - 1;
    old.config = ser;
    old.config_len = (uint32_t)hs_cc_serialize(c, ser, sizeof(ser));
    uint8_t *buf = malloc(hs_cfgc_wire_size(&old));
    size_t n = hs_cfgc_wire_encode(&old, buf, hs_cfgc_wire_size(&old));
    assert_int_equal(hs_cfgc_receive(w->core[CLIENT], w->now, &la, buf, n), 0);
    assert_int_equal(w->cc[CLIENT]->version, v);
    free(buf);
    /* a newer version whose bytes do not decode: refused, counted */
    old.version = v + 5;
    old.config = (const uint8_t *)"garbage";
    old.config_len = 7;
    buf = malloc(hs_cfgc_wire_size(&old));
    n = hs_cfgc_wire_encode(&old, buf, hs_cfgc_wire_size(&old));
    assert_int_equal(hs_cfgc_receive(w->core[CLIENT], w->now, &la, buf, n), -1);
    assert_int_equal(w->cc[CLIENT]->version, v);
    /* a seed never installs a fetched configuration (it follows Raft) */
    int F = L == 1 ? 2 : 1;
    uint64_t fv = w->cc[F]->version;
    assert_int_equal(hs_cfgc_receive(w->core[F], w->now, &la, buf, n), 0);
    assert_int_equal(w->cc[F]->version, fv);
    free(buf);
    free(c);
    w_free(w);
}

static void test_unanswered_change_ends_by_its_deadline(void **state)
{
    (void)state;
    world *w = w_new();
    w_elect(w);
    for (int i = 1; i <= W_SEEDS; i++) w_cut_cfg(w, CLIENT, i, true);
    uint64_t op = w_start(w, CLIENT, HS_CFGC_SET, "k", "v", NULL);
    w_run(w, 7900);
    assert_null(w_done(w, CLIENT, op));
    w_run(w, 200);
    const hs_cfgc_done *d = w_done(w, CLIENT, op);
    assert_non_null(d);
    assert_true(d->result == HS_CFGC_TIMEOUT || d->result == HS_CFGC_NOTLEADER);
    w_free(w);
}

static void test_hostile_messages_refused(void **state)
{
    (void)state;
    hs_cfgc_wire ok[4];
    memset(ok, 0, sizeof(ok));
    ok[0] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FETCH, .version = 3};
    ok[1] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FETCH_RESP,
                           .version = 3,
                           .clock = 9,
                           .config = (const uint8_t *)"abc",
                           .config_len = 3};
    ok[2] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FWD,
                           .rid = 5,
                           .op = HS_CFGC_SET,
                           .tag = {.session = 1, .born = 2, .seq = 3, .floor = 3}};
    strcpy(ok[2].key, "k");
    ok[3] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FWD_RESP, .rid = 5, .result = HS_CFGC_OK};
    strcpy(ok[3].leader, "s1");
    uint8_t buf[HS_CFGC_WIRE_SMALL + 8], tmp[HS_CFGC_WIRE_SMALL + 8];
    hs_cfgc_wire d;
    for (int i = 0; i < 4; i++) {
        size_t n = hs_cfgc_wire_encode(&ok[i], buf, sizeof(buf));
        assert_true(n > 0);
        assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), 0);
        size_t n2 = hs_cfgc_wire_encode(&d, tmp, sizeof(tmp));
        assert_int_equal(n2, n);
        assert_memory_equal(tmp, buf, n);
        for (size_t cut = 0; cut < n; cut++)
            assert_int_equal(hs_cfgc_wire_decode(buf, cut, &d), -1);
        buf[n] = 0;
        assert_int_equal(hs_cfgc_wire_decode(buf, n + 1, &d), -1); /* trailing byte */
    }
    /* field by field: an op out of range, a read with a session, a change without one or with
     * floor above seq, a result out of range, found not 0/1, a config length that lies */
    size_t n = hs_cfgc_wire_encode(&ok[2], buf, sizeof(buf));
    buf[9] = 0;
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    buf[9] = HS_CFGC_KIND_MAX + 1;
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    buf[9] = HS_CFGC_READ;
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    hs_cfgc_wire bad = ok[2];
    bad.tag.floor = 4;
    n = hs_cfgc_wire_encode(&bad, buf, sizeof(buf));
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    bad.tag = (hs_cc_tag){0};
    n = hs_cfgc_wire_encode(&bad, buf, sizeof(buf));
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    n = hs_cfgc_wire_encode(&ok[3], buf, sizeof(buf));
    buf[9] = HS_CFGC_RESULT_MAX + 1;
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    n = hs_cfgc_wire_encode(&ok[3], buf, sizeof(buf));
    buf[26] = 2; /* found */
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    n = hs_cfgc_wire_encode(&ok[1], buf, sizeof(buf));
    buf[18] = 1; /* the config length's high byte: 2^24 + 3 > what follows */
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    buf[0] = 0x6f;
    assert_int_equal(hs_cfgc_wire_decode(buf, n, &d), -1);
    /* random bytes into a live core: refused or harmless, never a crash */
    world *w = w_new();
    w_elect(w);
    hs_prng p = {42};
    hs_addr from = w_addr(CLIENT2);
    for (int k = 0; k < 20000; k++) {
        uint8_t r[80];
        size_t len = 1 + hs_prng_below(&p, sizeof(r) - 1);
        for (size_t i = 0; i < len; i++) r[i] = (uint8_t)hs_prng_next(&p);
        r[0] = (uint8_t)(0x60 + hs_prng_below(&p, 4));
        for (int s = 1; s < W_NODES; s++) hs_cfgc_receive(w->core[s], w->now, &from, r, len);
        w_settle(w);
    }
    w_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarded_change_committed_once_and_applied_here),
        cmocka_unit_test(test_notleader_sends_it_straight_to_the_named_leader),
        cmocka_unit_test(test_lost_answer_retry_gets_original_answer),
        cmocka_unit_test(test_duplicate_in_flight_joins_the_entry),
        cmocka_unit_test(test_replays_after_commit_write_nothing),
        cmocka_unit_test(test_leader_change_after_commit_answered_once),
        cmocka_unit_test(test_leader_change_before_commit_answered_once),
        cmocka_unit_test(test_forgotten_session_placed_anew_once),
        cmocka_unit_test(test_window_bounds_changes_in_flight),
        cmocka_unit_test(test_idempotency_key_applies_once_across_agents),
        cmocka_unit_test(test_fetch_installs_only_newer_configurations),
        cmocka_unit_test(test_unanswered_change_ends_by_its_deadline),
        cmocka_unit_test(test_hostile_messages_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
