/* test_agent.c: the agent core (include/hearsay/agent.h) wired end to end in memory: three
 * seeds and two members bootstrap a configuration, a member's write commits once, a key
 * rotation completes on every agent, seeds compact at the configured interval, a seed whose
 * storage fails stops taking part, a force-leave through Raft takes a dead member out of every
 * view (and readmit brings it back), a failure-detection change applies on every agent at the
 * configuration version that carries it, a user event runs once on every agent (its horizon
 * saved first) and not again after a restart, and a query is answered by every agent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "hearsay/agent.h"
#include "hearsay/fd_settings.h"

#define N     5
#define SEEDS 3

typedef struct node {
    hs_agent *a;
    hs_envelope env;
    hs_addr addr;
    char name[16];
    bool fail_storage;
    uint64_t syncs, snapshots;
    bool down;
    /* user events */
    int user_events, queries, horizon_saves, unsaved_deliveries;
    uint64_t saved_horizon;
    char last_payload[64];
} node;

typedef struct msg {
    int from, to;
    uint8_t *data;
    size_t len;
    bool stream;
    uint64_t at;
} msg;

static node nodes[N];
static msg *net;
static size_t nnet, capnet;
static uint64_t now;
static hs_agent_done dones[64];
static int done_of[64];
static size_t ndones;
static int replies;
static uint32_t compact_every; /* given to every agent; 0: the default */

static int st_ok(void *ctx, ...)
{
    node *n = ctx;
    return n->fail_storage ? -1 : 0;
}
static int st_hard(void *ctx, const hs_raft_hard_state *h)
{
    (void)h;
    return st_ok(ctx);
}
static int st_snap(void *ctx, const hs_raft_snapshot *s)
{
    (void)s;
    ((node *)ctx)->snapshots++;
    return st_ok(ctx);
}
static int st_append(void *ctx, const hs_raft_entry *e, size_t n)
{
    (void)e;
    (void)n;
    return st_ok(ctx);
}
static int st_sync(void *ctx)
{
    ((node *)ctx)->syncs++;
    return st_ok(ctx);
}
static int st_commit(void *ctx, uint64_t c)
{
    (void)c;
    return st_ok(ctx);
}

static int index_of(const hs_addr *a)
{
    for (int i = 0; i < N; i++)
        if (hs_addr_equal(&nodes[i].addr, a)) return i;
    return -1;
}

/* Moves every output of node i into the network (1 ms latency) or the done list. */
static void collect(int i)
{
    hs_agent_packet p;
    while (hs_agent_next_packet(nodes[i].a, &p)) {
        int to = index_of(&p.to);
        if (to < 0) continue;
        if (nnet == capnet) {
            capnet = capnet ? capnet * 2 : 256;
            net = realloc(net, capnet * sizeof(*net));
        }
        uint8_t *copy = malloc(p.len);
        memcpy(copy, p.data, p.len);
        net[nnet++] = (msg){i, to, copy, p.len, p.stream, now + 1};
    }
    hs_agent_done d;
    while (hs_agent_next_done(nodes[i].a, &d))
        if (ndones < 64) {
            done_of[ndones] = i;
            dones[ndones++] = d;
        }
    node *n = &nodes[i];
    /* the horizon is saved (taken) before any event of the same call is handled */
    if (hs_agent_take_persist(n->a) & HS_AGENT_SAVE_USER) {
        n->saved_horizon = hs_agent_user_horizon(n->a);
        n->horizon_saves++;
    }
    hs_agent_event e;
    while (hs_agent_next_event(n->a, &e)) {
        if (e.kind == HS_EVK_USER_EVENT) {
            n->user_events++;
            if (e.ltime >= n->saved_horizon) n->unsaved_deliveries++;
            snprintf(n->last_payload, sizeof(n->last_payload), "%.*s", (int)e.payload_len,
                     (const char *)e.payload);
        } else if (e.kind == HS_EVK_QUERY) {
            n->queries++;
            char answer[32];
            snprintf(answer, sizeof(answer), "from %s", n->name);
            assert_int_equal(hs_agent_query_respond(n->a, now, e.query_ref, (const uint8_t *)answer,
                                                    strlen(answer), false),
                             HS_UE_OK);
            collect(i);
        }
    }
    hs_agent_reply r;
    while (hs_agent_next_reply(n->a, &r)) replies += r.response;
    int level;
    const char *text;
    while (hs_agent_next_notice(n->a, &level, &text)) {
    }
}

static void run_until(uint64_t t)
{
    while (now < t) {
        now++;
        for (size_t k = 0; k < nnet;) {
            msg m = net[k];
            if (m.at > now) {
                k++;
                continue;
            }
            net[k] = net[--nnet];
            if (!nodes[m.to].down) {
                hs_ch_sender who = {1000 + (uint64_t)m.from, 1, 0};
                hs_agent_receive(nodes[m.to].a, now, &nodes[m.from].addr, m.data, m.len, m.stream,
                                 &who);
                collect(m.to);
            }
            free(m.data);
        }
        for (int i = 0; i < N; i++)
            if (!nodes[i].down && hs_agent_next_deadline(nodes[i].a) <= now) {
                hs_agent_tick(nodes[i].a, now);
                collect(i);
            }
    }
}

/* Starts agent i (again, after a restart: floor is the user-event horizon it saved). */
static void agent_start(int i, uint64_t floor)
{
    hs_agent_cfg cfg;
    node *n = &nodes[i];
    memset(&cfg, 0, sizeof(cfg));
    cfg.ue_floor = floor;
    hs_config_default(&cfg.node);
    snprintf(cfg.node.name, sizeof(cfg.node.name), "%s", n->name);
    cfg.node.addr = n->addr;
    cfg.rng_seed = 42 + (uint64_t)i;
    cfg.env = &n->env;
    cfg.n_seeds = SEEDS;
    for (int s = 0; s < SEEDS; s++) {
        snprintf(cfg.seeds[s].name, sizeof(cfg.seeds[s].name), "n%d", s + 1);
        cfg.seeds[s].addr = nodes[s].addr;
        cfg.seeds[s].id = hs_cc_seed_id(cfg.seeds[s].name);
    }
    cfg.storage = (hs_agent_storage){n, st_hard, st_snap, st_append, st_sync, st_commit};
    cfg.compact_every = compact_every;
    const char *why = NULL;
    n->a = hs_agent_new(&cfg, now, &why);
    assert_non_null(n->a);
    hs_addr joins[SEEDS];
    size_t nj = 0;
    for (int s = 0; s < SEEDS; s++)
        if (s != i) joins[nj++] = nodes[s].addr;
    hs_agent_join(n->a, now, joins, nj);
    collect(i);
}

static void cluster_start(void)
{
    memset(nodes, 0, sizeof(nodes));
    nnet = ndones = 0;
    replies = 0;
    now = 1000;
    uint8_t key[HS_ENV_KEY_BYTES];
    memset(key, 7, sizeof(key));
    for (int i = 0; i < N; i++) {
        node *n = &nodes[i];
        snprintf(n->name, sizeof(n->name), "n%d", i + 1);
        n->addr = hs_addr_v4(127, 0, 0, (uint8_t)(i + 1), 7946);
        assert_int_equal(hs_env_init(&n->env, "test", false), 0);
        hs_env_add_key(&n->env, key);
    }
    for (int i = 0; i < N; i++) agent_start(i, 0);
}

static void cluster_stop(void)
{
    for (int i = 0; i < N; i++) {
        hs_agent_free(nodes[i].a);
        hs_env_clear(&nodes[i].env);
    }
    for (size_t k = 0; k < nnet; k++) free(net[k].data);
    free(net);
    net = NULL;
    nnet = capnet = 0;
}

static int leader(void)
{
    for (int i = 0; i < SEEDS; i++) {
        const hs_raft *r = hs_agent_raft(nodes[i].a);
        if (r && hs_raft_get_role(r) == HS_RAFT_LEADER) return i;
    }
    return -1;
}

static void test_bootstrap_and_member_write(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    assert_true(leader() >= 0);
    /* the configuration (name, seeds, the key ring) reached every agent, seeds and members */
    for (int i = 0; i < N; i++) {
        const hs_cluster_config *c = hs_agent_config(nodes[i].a);
        assert_int_equal(c->n_seeds, SEEDS);
        assert_int_equal(c->n_keys, 1);
        assert_string_equal(c->cluster_name, "test");
    }
    assert_true(nodes[0].syncs > 0);
    assert_false(hs_agent_is_seed(nodes[4].a));
    uint64_t op = hs_agent_config_op(nodes[4].a, now, HS_CFGC_SET, "color", "blue", NULL);
    assert_true(op != 0);
    collect(4);
    run_until(now + 2000);
    bool answered = false;
    for (size_t k = 0; k < ndones; k++)
        if (done_of[k] == 4 && dones[k].op == op) {
            assert_int_equal(dones[k].what, HS_AGENT_DONE_CONFIG);
            assert_int_equal(dones[k].config.result, HS_CFGC_OK);
            answered = true;
        }
    assert_true(answered);
    for (int i = 0; i < N; i++) {
        const char *v = hs_cc_get(hs_agent_config(nodes[i].a), "color");
        assert_non_null(v);
        assert_string_equal(v, "blue");
    }
    cluster_stop();
}

static void test_rotation_reaches_every_agent(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    uint8_t nk[HS_ENV_KEY_BYTES];
    memset(nk, 9, sizeof(nk));
    uint64_t op = hs_agent_keys_rotate(nodes[3].a, now, nk, 5000);
    assert_true(op != 0);
    collect(3);
    run_until(now + 8000);
    bool done = false;
    for (size_t k = 0; k < ndones; k++)
        if (done_of[k] == 3 && dones[k].op == op) {
            assert_int_equal(dones[k].what, HS_AGENT_DONE_ROTATE);
            assert_true(dones[k].rotation.ok);
            assert_int_equal(dones[k].rotation.acked, N);
            done = true;
        }
    assert_true(done);
    for (int i = 0; i < N; i++) {
        assert_int_equal(nodes[i].env.key_count, 1);
        assert_memory_equal(nodes[i].env.keys[0], nk, HS_ENV_KEY_BYTES);
    }
    cluster_stop();
}

/* compact_every (the crash tests set it through HEARSAY_COMPACT_EVERY) takes effect */
static void test_seeds_compact_at_the_interval(void **state)
{
    (void)state;
    compact_every = 4;
    cluster_start();
    run_until(now + 3000);
    for (int k = 0; k < 12; k++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", k);
        assert_true(hs_agent_config_op(nodes[4].a, now, HS_CFGC_SET, key, "v", NULL) != 0);
        collect(4);
        run_until(now + 300);
    }
    for (int i = 0; i < SEEDS; i++) assert_true(nodes[i].snapshots >= 2);
    compact_every = 0;
    cluster_stop();
    cluster_start();
    run_until(now + 3000);
    for (int i = 0; i < SEEDS; i++) assert_int_equal(nodes[i].snapshots, 0);
    cluster_stop();
}

static void test_storage_failure_stops_raft(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    int l = leader();
    assert_true(l >= 0);
    nodes[l].fail_storage = true;
    hs_agent_config_op(nodes[l].a, now, HS_CFGC_SET, "k", "v", NULL);
    collect(l);
    run_until(now + 3000);
    assert_true(hs_agent_raft_failed(nodes[l].a));
    assert_null(hs_agent_raft(nodes[l].a));
    /* the others elect a new leader among themselves */
    int l2 = leader();
    assert_true(l2 >= 0 && l2 != l);
    cluster_stop();
}

/* The result of operation op of node who, once it ended within ms (-1: it did not). */
static int wait_done(int who, uint64_t op, uint64_t ms)
{
    uint64_t end = now + ms;
    while (now < end) {
        for (size_t k = 0; k < ndones; k++)
            if (done_of[k] == who && dones[k].op == op) return dones[k].config.result;
        run_until(now + 1);
    }
    return -1;
}

static int config_op(int who, int kind, const char *key, const char *value)
{
    uint64_t op = hs_agent_config_op(nodes[who].a, now, kind, key, value, NULL);
    assert_true(op != 0);
    collect(who);
    return wait_done(who, op, 3000);
}

/* The status node i shows for name (-1: not in its table). */
static int status_of(int i, const char *name)
{
    hs_member_info mi;
    return hs_node_find(hs_agent_node(nodes[i].a), name, &mi) ? (int)mi.status : -1;
}

static bool all_up_show(const char *name, int status)
{
    for (int i = 0; i < N; i++)
        if (!nodes[i].down && strcmp(nodes[i].name, name) && status_of(i, name) != status)
            return false;
    return true;
}

static void test_force_leave_and_readmit(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    nodes[4].down = true; /* n5 is dead */
    run_until(now + 100);
    assert_int_equal(config_op(3, HS_CFGC_REMOVE_NODE, "n5", ""), HS_CFGC_OK);
    uint64_t t0 = now;
    while (!all_up_show("n5", HS_LEFT) && now < t0 + 1000) run_until(now + 1);
    assert_true(all_up_show("n5", HS_LEFT));
    for (int i = 0; i < 4; i++) {
        assert_true(hs_cc_is_removed(hs_agent_config(nodes[i].a), "n5"));
        assert_int_equal(hs_node_removed(hs_agent_node(nodes[i].a), "n5"), 0);
    }
    /* --prune forgets it; a seed cannot be removed (it leaves the Raft group first) */
    assert_int_equal(config_op(0, HS_CFGC_REMOVE_NODE, "n5", HS_CC_PRUNE), HS_CFGC_OK);
    run_until(now + 500);
    assert_true(all_up_show("n5", -1));
    assert_int_equal(config_op(3, HS_CFGC_REMOVE_NODE, "n1", ""), HS_CFGC_INVALID);
    /* n5 starts again: nobody takes it back; it learns it was removed (a seed's answer to its
     * periodic fetch) and goes quiet */
    nodes[4].down = false;
    run_until(now + 7000);
    assert_true(all_up_show("n5", -1));
    assert_int_equal(hs_node_removed(hs_agent_node(nodes[4].a), "n5"), 1);
    uint32_t inc = hs_agent_incarnation(nodes[4].a);
    /* readmitted from the removed agent itself (the explicit rejoin): back everywhere */
    assert_int_equal(config_op(4, HS_CFGC_READMIT_NODE, "n5", ""), HS_CFGC_OK);
    t0 = now;
    while (!all_up_show("n5", HS_ALIVE) && now < t0 + 5000) run_until(now + 1);
    assert_true(all_up_show("n5", HS_ALIVE));
    assert_true(hs_agent_incarnation(nodes[4].a) > inc);
    cluster_stop();
}

/* Every agent's probe interval is the one its own configuration version says, at every step. */
static void check_same_version_same_settings(void)
{
    for (int i = 0; i < N; i++) {
        hs_config want;
        hs_config base;
        hs_config_default(&base);
        hs_fd_effective(hs_agent_config(nodes[i].a), &base, HS_FD_LAN, &want, NULL);
        const hs_config *have = hs_node_config(hs_agent_node(nodes[i].a));
        assert_int_equal(have->probe_interval_ms, want.probe_interval_ms);
        assert_int_equal(have->probe_timeout_ms, want.probe_timeout_ms);
    }
}

static bool all_probe_every(uint32_t ms)
{
    for (int i = 0; i < N; i++)
        if (hs_node_config(hs_agent_node(nodes[i].a))->probe_interval_ms != ms) return false;
    return true;
}

static void test_fd_change_everywhere(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    uint64_t op =
        hs_agent_config_op(nodes[4].a, now, HS_CFGC_SET_FD, "probe_interval_ms", "500", NULL);
    collect(4);
    uint64_t t0 = now;
    while (!all_probe_every(500) && now < t0 + 2000) {
        run_until(now + 1);
        check_same_version_same_settings();
    }
    assert_true(all_probe_every(500));
    assert_int_equal(wait_done(4, op, 1000), HS_CFGC_OK);
    /* a profile for the whole cluster, over the agents' own; the override stays on top */
    assert_int_equal(config_op(1, HS_CFGC_SET_FD, "profile", "wan"), HS_CFGC_OK);
    t0 = now;
    while (now < t0 + 1000) {
        run_until(now + 1);
        check_same_version_same_settings();
    }
    assert_true(all_probe_every(500));
    assert_int_equal(hs_node_config(hs_agent_node(nodes[3].a))->probe_timeout_ms, 3000);
    assert_int_equal(hs_agent_fd_profile(nodes[3].a), HS_FD_WAN);
    assert_int_equal(config_op(2, HS_CFGC_DELETE_FD, "probe_interval_ms", ""), HS_CFGC_OK);
    run_until(now + 1000);
    assert_true(all_probe_every(5000));
    /* out of bounds or unknown: refused before Raft, nothing changes */
    assert_int_equal(config_op(4, HS_CFGC_SET_FD, "probe_interval_ms", "5"), HS_CFGC_INVALID);
    assert_int_equal(config_op(4, HS_CFGC_SET_FD, "no_such", "5"), HS_CFGC_INVALID);
    check_same_version_same_settings();
    cluster_stop();
}

static void test_user_event_once_everywhere(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    int err;
    uint64_t op =
        hs_agent_fire(nodes[4].a, now, "deploy", (const uint8_t *)"v2", 2, false, 2000, &err);
    assert_true(op != 0);
    collect(4);
    run_until(now + 1000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(nodes[i].user_events, 1);
        assert_string_equal(nodes[i].last_payload, "v2");
        assert_int_equal(nodes[i].unsaved_deliveries, 0);
        assert_true(nodes[i].horizon_saves >= 1);
    }
    bool done = false;
    for (size_t k = 0; k < ndones; k++)
        if (done_of[k] == 4 && dones[k].op == op) {
            assert_int_equal(dones[k].what, HS_AGENT_DONE_USER);
            assert_int_equal(dones[k].user.delivered, N);
            assert_true(dones[k].user.complete);
            done = true;
        }
    assert_true(done);
    /* n4 (not a seed) restarts with the horizon it saved: the event still circulating (the others
     * hold it for the repair) does not run there again; a new one does */
    uint64_t h = nodes[3].saved_horizon;
    hs_agent_free(nodes[3].a);
    nodes[3].down = true;
    run_until(now + 200);
    nodes[3].down = false;
    nodes[3].user_events = 0;
    agent_start(3, h);
    assert_true(hs_agent_user_clock(nodes[3].a) >= h);
    run_until(now + 3000);
    assert_int_equal(nodes[3].user_events, 0);
    hs_agent_fire(nodes[0].a, now, "deploy", (const uint8_t *)"v3", 2, false, 0, &err);
    collect(0);
    run_until(now + 1000);
    assert_int_equal(nodes[3].user_events, 1);
    assert_string_equal(nodes[3].last_payload, "v3");
    assert_int_equal(nodes[1].user_events, 2);
    cluster_stop();
}

static void test_query_answered_everywhere(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    hs_ue_query_spec q = {"version", NULL, 0, NULL, 0, NULL, 0, 3000};
    int err;
    uint64_t op = hs_agent_query(nodes[1].a, now, &q, &err);
    assert_true(op != 0);
    collect(1);
    run_until(now + 500);
    assert_int_equal(replies, N);
    bool done = false;
    for (size_t k = 0; k < ndones; k++)
        if (done_of[k] == 1 && dones[k].op == op) {
            assert_int_equal(dones[k].what, HS_AGENT_DONE_USER);
            assert_true(dones[k].user.query);
            assert_int_equal(dones[k].user.responses, N);
            assert_true(dones[k].user.complete);
            assert_true(dones[k].user.elapsed_ms < 500);
            done = true;
        }
    assert_true(done);
    for (int i = 0; i < N; i++) assert_int_equal(nodes[i].queries, 1);
    cluster_stop();
}

/* A caller that answers a query while it drains the agent's events (the daemon's handlers
 * do, for a query nobody handles) calls in again: held, the event it is handling stays valid
 * (without the hold its payload was freed by that call; ASan saw the daemon read it). */
static void test_held_outputs_survive_a_call_in(void **state)
{
    (void)state;
    cluster_start();
    run_until(now + 3000);
    const char *self[] = {nodes[3].name};
    hs_ue_query_spec q = {"who", (const uint8_t *)"abc", 3, self, 1, NULL, 0, 3000};
    int err;
    hs_agent *a = nodes[3].a;
    assert_true(hs_agent_query(a, now, &q, &err) != 0);
    hs_agent_hold(a, true);
    bool seen = false;
    hs_agent_event e;
    while (hs_agent_next_event(a, &e)) {
        if (e.kind != HS_EVK_QUERY) continue;
        assert_int_equal(hs_agent_query_respond(a, now, e.query_ref, NULL, 0, true), HS_UE_OK);
        assert_int_equal(e.payload_len, 3);
        assert_memory_equal(e.payload, "abc", 3);
        seen = true;
    }
    hs_agent_hold(a, false);
    assert_true(seen);
    collect(3);
    cluster_stop();
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_and_member_write),
        cmocka_unit_test(test_rotation_reaches_every_agent),
        cmocka_unit_test(test_seeds_compact_at_the_interval),
        cmocka_unit_test(test_storage_failure_stops_raft),
        cmocka_unit_test(test_force_leave_and_readmit),
        cmocka_unit_test(test_fd_change_everywhere),
        cmocka_unit_test(test_user_event_once_everywhere),
        cmocka_unit_test(test_query_answered_everywhere),
        cmocka_unit_test(test_held_outputs_survive_a_call_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
