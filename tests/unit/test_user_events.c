/* test_user_events.c: the user-event core (include/hearsay/user_events.h), one test per rule,
 * on a small in-memory cluster of cores with a shared member table, a network with latency,
 * loss and cut links: delivery to everyone at most once, the seen window, the floor and the
 * horizon, the age rules (no replay to a restarted member), coalescing, confirmed delivery,
 * repair of lost pushes, the budget, large payloads over streams, queries with filters, early
 * ends, declines and relays, and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/codec.h"
#include "hearsay/user_events.h"
#include "hearsay/wire.h"

#define MAXN 40
#define MAXD 64

typedef struct tnode {
    hs_ue *u;
    char name[16];
    hs_addr addr;
    char tags[64];
    size_t tags_len;
    bool live, up;
    int self;
    /* deliveries */
    char ids[MAXD][HS_UE_ID_MAX];
    int count[MAXD];
    size_t nids;
    uint8_t last_payload[HS_UE_PAYLOAD_MAX];
    size_t last_len;
    char last_name[HS_UE_NAME_MAX + 1];
    uint64_t last_ref;
    bool last_query;
    bool auto_answer, decline;
} tnode;

typedef struct tmsg {
    int from, to;
    uint8_t *data;
    size_t len;
    bool stream;
    uint64_t at;
} tmsg;

static tnode T[MAXN];
static int n_nodes;
static tmsg *net;
static size_t nnet, capnet;
static uint64_t now;
static double loss;
static uint64_t rng = 88172645463325252ULL;
static bool cut[MAXN][MAXN]; /* cut[a][b]: nothing from a reaches b */
static uint64_t bytes_sent[MAXN];
static bool saw_stream;
static hs_ue_done dones[32];
static char done_pending[32][4][HS_NAME_MAX + 1];
static size_t ndones;
static hs_ue_reply replies[256];
static char reply_payload[256][64];
static size_t nreplies;

static double unit(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* ---- the member table every core reads ---- */

static size_t v_count(const void *ctx)
{
    (void)ctx;
    return (size_t)n_nodes;
}

static void fill(int i, int self, hs_ue_member *out)
{
    *out = (hs_ue_member){T[i].name, T[i].addr, {T[i].tags, T[i].tags_len}, T[i].live, i == self};
}

static bool v_at(const void *ctx, size_t i, hs_ue_member *out)
{
    if (i >= (size_t)n_nodes) return false;
    fill((int)i, *(const int *)ctx, out);
    return true;
}

static bool v_find(const void *ctx, const char *name, hs_ue_member *out)
{
    for (int i = 0; i < n_nodes; i++)
        if (!strcmp(T[i].name, name)) {
            fill(i, *(const int *)ctx, out);
            return true;
        }
    return false;
}

static int index_of(const hs_addr *a)
{
    for (int i = 0; i < n_nodes; i++)
        if (hs_addr_equal(&T[i].addr, a)) return i;
    return -1;
}

static void start(int i, hs_ue_cfg *cfg)
{
    hs_ue_cfg c;
    if (cfg)
        c = *cfg;
    else
        hs_ue_cfg_default(&c);
    snprintf(c.self, sizeof(c.self), "%s", T[i].name);
    c.rng_seed = 1000 + (uint64_t)i + now;
    static const hs_ue_view view = {NULL, v_count, v_at, v_find};
    hs_ue_view v = view;
    v.ctx = &T[i].self;
    T[i].u = hs_ue_new(&c, &v, now);
    assert_non_null(T[i].u);
    T[i].up = true;
}

static void setup_cluster(int n, hs_ue_cfg *cfg)
{
    for (size_t k = 0; k < nnet; k++) free(net[k].data);
    nnet = 0;
    memset(cut, 0, sizeof(cut));
    memset(bytes_sent, 0, sizeof(bytes_sent));
    n_nodes = n;
    ndones = nreplies = 0;
    saw_stream = false;
    loss = 0;
    for (int i = 0; i < n; i++) {
        memset(&T[i], 0, sizeof(T[i]));
        snprintf(T[i].name, sizeof(T[i].name), "n%d", i);
        T[i].addr = hs_addr_v4(10, 0, 0, (uint8_t)(i + 1), 7946);
        T[i].self = i;
        T[i].live = true;
        int len = snprintf(T[i].tags, sizeof(T[i].tags), "role=%s", i % 2 ? "web" : "db");
        T[i].tags_len = (size_t)len + 1;
        start(i, cfg);
    }
}

static void teardown_cluster(void)
{
    for (int i = 0; i < n_nodes; i++) hs_ue_free(T[i].u);
    for (size_t k = 0; k < nnet; k++) free(net[k].data);
    free(net);
    net = NULL;
    nnet = capnet = 0;
}

static int find_id(tnode *t, const char *id)
{
    for (size_t k = 0; k < t->nids; k++)
        if (!strcmp(t->ids[k], id)) return (int)k;
    return -1;
}

static void to_net(int i, const hs_ue_packet *p)
{
    bytes_sent[i] += p->len;
    saw_stream |= p->stream;
    int to = index_of(&p->to);
    if (to < 0) return;
    if (nnet == capnet) {
        capnet = capnet ? capnet * 2 : 256;
        net = realloc(net, capnet * sizeof(*net));
    }
    uint8_t *copy = malloc(p->len);
    memcpy(copy, p->data, p->len);
    net[nnet++] = (tmsg){i, to, copy, p->len, p->stream, now + 1};
}

/* Drains node i's outputs (answers given here queue more packets: until none is left). */
static void collect(int i)
{
    tnode *t = &T[i];
    for (bool any = true; any;) {
        any = false;
        hs_ue_packet p;
        while (hs_ue_next_packet(t->u, &p)) to_net(i, &p);
        hs_ue_delivery d;
        while (hs_ue_next_delivery(t->u, &d)) {
            int k = find_id(t, d.id);
            if (k < 0 && t->nids < MAXD) {
                k = (int)t->nids++;
                snprintf(t->ids[k], sizeof(t->ids[k]), "%s", d.id);
            }
            if (k >= 0) t->count[k]++;
            memcpy(t->last_payload, d.payload, d.len);
            t->last_len = d.len;
            snprintf(t->last_name, sizeof(t->last_name), "%s", d.name);
            t->last_ref = d.ref;
            t->last_query = d.query;
            if (d.query && t->auto_answer) {
                assert_int_equal(hs_ue_respond(t->u, now, d.ref, (const uint8_t *)t->name,
                                               strlen(t->name), t->decline),
                                 HS_UE_OK);
                any = true;
            }
        }
        hs_ue_reply r;
        while (hs_ue_next_reply(t->u, &r))
            if (nreplies < 256) {
                snprintf(reply_payload[nreplies], 64, "%.*s", (int)(r.len < 63 ? r.len : 63),
                         (const char *)r.payload);
                replies[nreplies++] = r;
            }
        hs_ue_done dn;
        while (hs_ue_next_done(t->u, &dn))
            if (ndones < 32) {
                for (size_t k = 0; k < dn.n_pending && k < 4; k++)
                    snprintf(done_pending[ndones][k], HS_NAME_MAX + 1, "%s", dn.pending[k]);
                dones[ndones++] = dn;
            }
    }
}

static void run_until(uint64_t t)
{
    while (now < t) {
        now++;
        for (size_t k = 0; k < nnet;) {
            tmsg m = net[k];
            if (m.at > now) {
                k++;
                continue;
            }
            net[k] = net[--nnet];
            bool lost = cut[m.from][m.to] || (!m.stream && unit() < loss);
            if (!lost && T[m.to].up) {
                hs_ue_receive(T[m.to].u, now, &T[m.from].addr, m.data, m.len, m.stream);
                collect(m.to);
            }
            free(m.data);
        }
        for (int i = 0; i < n_nodes; i++) {
            if (!T[i].up) continue;
            uint64_t d = hs_ue_next_deadline(T[i].u);
            if (d && d <= now) {
                hs_ue_tick(T[i].u, now);
                collect(i);
            }
        }
    }
}

static uint64_t fire(int i, const char *name, const char *payload, bool coalesce, uint64_t wait)
{
    int err = -1;
    uint64_t op = hs_ue_fire(T[i].u, now, name, (const uint8_t *)payload,
                             payload ? strlen(payload) : 0, coalesce, wait, &err);
    assert_int_equal(err, HS_UE_OK);
    assert_true(op != 0);
    collect(i);
    return op;
}

/* How many nodes delivered an event whose id starts with origin, and the most times one did. */
static int delivered_by(const char *id, int *max_count)
{
    int n = 0;
    *max_count = 0;
    for (int i = 0; i < n_nodes; i++) {
        int k = find_id(&T[i], id);
        if (k < 0) continue;
        n++;
        if (T[i].count[k] > *max_count) *max_count = T[i].count[k];
    }
    return n;
}

static const char *first_id(int origin)
{
    return T[origin].nids ? T[origin].ids[0] : "";
}

/* ---- tests ---- */

static void test_every_member_once(void **state)
{
    (void)state;
    setup_cluster(30, NULL);
    fire(3, "deploy", "v1.2", false, 0);
    assert_int_equal(ndones, 1); /* no wait: ends at once */
    run_until(now + 2000);
    int maxc;
    assert_int_equal(delivered_by(first_id(3), &maxc), 30);
    assert_int_equal(maxc, 1);
    for (int i = 0; i < 30; i++) {
        assert_string_equal(T[i].last_name, "deploy");
        assert_memory_equal(T[i].last_payload, "v1.2", 4);
    }
    teardown_cluster();
}

/* A copy of the first message in flight to node i (the caller frees it). */
static uint8_t *recorded_to(int i, size_t *len)
{
    for (size_t k = 0; k < nnet; k++)
        if (net[k].to == i) {
            uint8_t *copy = malloc(net[k].len);
            assert_non_null(copy);
            memcpy(copy, net[k].data, net[k].len);
            *len = net[k].len;
            return copy;
        }
    fail_msg("no message in flight to node %d", i);
    return NULL;
}

static void test_replayed_message_not_delivered_again(void **state)
{
    (void)state;
    setup_cluster(5, NULL);
    fire(0, "x", "p", false, 0);
    /* record a message node 1 receives, and give it again later */
    size_t clen = 0;
    uint8_t *copy = recorded_to(1, &clen);
    run_until(now + 1000);
    int maxc;
    assert_int_equal(delivered_by(first_id(0), &maxc), 5);
    for (int r = 0; r < 3; r++) {
        hs_ue_receive(T[1].u, now, &T[0].addr, copy, clen, false);
        collect(1);
        run_until(now + 100);
    }
    assert_int_equal(T[1].count[0], 1);
    assert_true(hs_ue_get_stats(T[1].u)->duplicates >= 3);
    /* again once the origin has been quiet longer than 2 x max_age (the seen table used to
     * forget it by then, and the replay ran the handler a second time): the agent ticks its
     * core all the while */
    for (int k = 0; k < 1250; k++) {
        now += 100;
        hs_ue_tick(T[1].u, now);
        collect(1);
    }
    hs_ue_receive(T[1].u, now, &T[0].addr, copy, clen, false);
    collect(1);
    run_until(now + 1000);
    assert_int_equal(T[1].count[0], 1);
    free(copy);
    teardown_cluster();
}

static void test_lamport_clock_witnessed(void **state)
{
    (void)state;
    setup_cluster(3, NULL);
    for (int k = 0; k < 5; k++) fire(0, "tick", NULL, false, 0);
    run_until(now + 500);
    uint64_t c0 = hs_ue_clock(T[0].u);
    assert_true(c0 >= 5);
    assert_true(hs_ue_clock(T[2].u) >= c0); /* witnessed the origin's clock */
    fire(2, "tock", NULL, false, 0);        /* takes an ltime above every one node 2 had seen */
    run_until(now + 500);
    assert_true(hs_ue_clock(T[0].u) > c0);
    teardown_cluster();
}

static void test_floor_refuses_and_horizon_grows(void **state)
{
    (void)state;
    setup_cluster(3, NULL);
    for (int k = 0; k < 4; k++) fire(0, "e", NULL, false, 0);
    run_until(now + 500);
    uint64_t h = hs_ue_horizon(T[1].u);
    assert_int_equal(h, 4); /* ltimes 0..3 delivered */
    assert_true(hs_ue_take_save(T[1].u));
    assert_false(hs_ue_take_save(T[1].u));
    /* node 1 restarts with the saved horizon; node 2 fires an event with a lower ltime (it is
     * a fresh cluster member whose clock has not seen those events) */
    hs_ue_free(T[1].u);
    T[1].up = false;
    hs_ue_cfg c;
    hs_ue_cfg_default(&c);
    c.floor = h + 10;
    run_until(now + 10);
    start(1, &c);
    assert_true(hs_ue_clock(T[1].u) >= h + 10);
    fire(2, "low", NULL, false, 0);
    run_until(now + 1000);
    assert_int_equal(find_id(&T[1], T[2].ids[T[2].nids - 1]), -1);
    assert_true(hs_ue_get_stats(T[1].u)->refused_floor >= 1);
    teardown_cluster();
}

static void test_restarted_member_gets_no_old_event(void **state)
{
    (void)state;
    setup_cluster(8, NULL);
    T[5].up = false; /* down while the event spreads */
    fire(0, "deploy", "old", false, 0);
    run_until(now + 300);
    hs_ue_free(T[5].u);
    start(5, NULL);        /* restarted, nothing saved: only the age rule protects it */
    run_until(now + 5000); /* repairs run meanwhile: the others hold the record */
    assert_int_equal(T[5].nids, 0);
    fire(1, "deploy", "new", false, 0);
    run_until(now + 2000);
    assert_int_equal(T[5].nids, 1);
    assert_memory_equal(T[5].last_payload, "new", 3);
    teardown_cluster();
}

static void test_older_than_max_age_refused(void **state)
{
    (void)state;
    hs_ue_cfg c;
    hs_ue_cfg_default(&c);
    c.max_age_ms = 1000;
    setup_cluster(2, &c);
    now += 5000; /* both up for 5 s: a record claiming 2 s of age was fired after they started */
    uint8_t buf[256];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_UE_RECORDS);
    hs_put_u8(&w, 0);
    hs_put_str8(&w, "n0", 2);
    hs_put_u64(&w, 0);
    hs_put_u8(&w, 1);
    hs_put_u8(&w, 0);
    hs_put_u8(&w, 0);
    hs_put_str8(&w, "n0", 2);
    hs_put_u64(&w, 77);
    hs_put_u32(&w, 1);
    hs_put_u64(&w, 0);
    hs_put_u32(&w, 2000);
    hs_put_str8(&w, "aged", 4);
    hs_put_blob16(&w, NULL, 0);
    assert_true(w.ok);
    size_t before = T[1].nids;
    hs_ue_receive(T[1].u, now, &T[0].addr, buf, w.len, false);
    collect(1);
    assert_int_equal(T[1].nids, before);
    assert_true(hs_ue_get_stats(T[1].u)->refused_old >= 1);
    teardown_cluster();
}

static void test_seen_window(void **state)
{
    (void)state;
    setup_cluster(2, NULL);
    uint8_t buf[256];
    /* seq 1, then seq 1 + 2 * HS_UE_WINDOW, then seq 2 (fell behind the window: counts as seen)
     * and seq 2 * HS_UE_WINDOW (inside: new) */
    uint32_t seqs[] = {1, 1 + 2 * HS_UE_WINDOW, 2, 2 * HS_UE_WINDOW};
    size_t expect[] = {1, 2, 2, 3};
    for (size_t k = 0; k < 4; k++) {
        hs_writer w;
        hs_writer_init(&w, buf, sizeof(buf));
        hs_put_u8(&w, HS_MSG_UE_RECORDS);
        hs_put_u8(&w, 0);
        hs_put_str8(&w, "n0", 2);
        hs_put_u64(&w, 0);
        hs_put_u8(&w, 1);
        hs_put_u8(&w, 0);
        hs_put_u8(&w, 0);
        hs_put_str8(&w, "n0", 2);
        hs_put_u64(&w, 99);
        hs_put_u32(&w, seqs[k]);
        hs_put_u64(&w, k);
        hs_put_u32(&w, 0);
        hs_put_str8(&w, "w", 1);
        hs_put_blob16(&w, NULL, 0);
        hs_ue_receive(T[1].u, now, &T[0].addr, buf, w.len, false);
        collect(1);
        assert_int_equal(T[1].nids, expect[k]);
    }
    teardown_cluster();
}

static void test_coalescing_keeps_newest(void **state)
{
    (void)state;
    setup_cluster(6, NULL);
    fire(0, "reload", "a", true, 0);
    run_until(now + 20);
    fire(1, "reload", "b", true, 0);
    run_until(now + 20);
    fire(0, "reload", "c", true, 0);
    run_until(now + 1000);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(T[i].nids, 1); /* one run per member */
        assert_memory_equal(T[i].last_payload, "c", 1);
    }
    /* a name that is not coalesced runs every time */
    fire(2, "other", "1", false, 0);
    fire(2, "other", "2", false, 0);
    run_until(now + 1000);
    assert_int_equal(T[4].nids, 3);
    teardown_cluster();
}

static void test_wait_confirms_delivery(void **state)
{
    (void)state;
    setup_cluster(12, NULL);
    uint64_t op = fire(4, "flush", "all", false, 3000);
    run_until(now + 3500);
    assert_int_equal(ndones, 1);
    assert_int_equal(dones[0].op, op);
    assert_int_equal(dones[0].members, 12);
    assert_int_equal(dones[0].delivered, 12);
    assert_true(dones[0].complete);
    assert_true(dones[0].elapsed_ms < 100); /* ended as soon as all had acked */
    teardown_cluster();
}

static void test_wait_reports_the_silent(void **state)
{
    (void)state;
    setup_cluster(6, NULL);
    for (int i = 0; i < 6; i++) cut[i][2] = true; /* nothing reaches n2; it stays "live" */
    fire(0, "flush", NULL, false, 1500);
    run_until(now + 2000);
    assert_int_equal(ndones, 1);
    assert_int_equal(dones[0].delivered, 5);
    assert_false(dones[0].complete);
    assert_int_equal(dones[0].n_pending, 1);
    assert_string_equal(done_pending[0][0], "n2");
    teardown_cluster();
}

static void test_wait_resends_through_loss(void **state)
{
    (void)state;
    setup_cluster(20, NULL);
    loss = 0.4;
    fire(7, "flush", NULL, false, 5000);
    run_until(now + 6000);
    assert_int_equal(ndones, 1);
    assert_int_equal(dones[0].delivered, 20);
    int maxc;
    assert_int_equal(delivered_by(first_id(7), &maxc), 20);
    assert_int_equal(maxc, 1);
    teardown_cluster();
}

static void test_repair_fills_lost_pushes(void **state)
{
    (void)state;
    hs_ue_cfg c;
    hs_ue_cfg_default(&c);
    c.retransmits = 0; /* one push wave only: what it misses, the repair must bring */
    c.fanout = 2;
    setup_cluster(30, &c);
    run_until(now + 100);
    loss = 0.3;
    for (int k = 0; k < 5; k++) fire(k, "e", NULL, false, 0);
    run_until(now + 8000);
    for (int i = 0; i < 30; i++) assert_int_equal(T[i].nids, 5);
    for (int k = 0; k < 5; k++) {
        int maxc;
        assert_int_equal(delivered_by(T[k].ids[0], &maxc), 30);
        assert_int_equal(maxc, 1);
    }
    uint64_t repairs = 0;
    for (int i = 0; i < 30; i++) repairs += hs_ue_get_stats(T[i].u)->repairs_sent;
    assert_true(repairs > 0);
    teardown_cluster();
}

/* A digest (recorded, or spoofed by nobody: it is sealed) re-sent from another source address:
 * the repair it asks for goes to the member it names, never to the packet's source, so a
 * replayed 40-byte digest cannot reflect kilobytes of records onto an address of the
 * attacker's choosing. */
static void test_repair_goes_to_the_member_not_the_source(void **state)
{
    (void)state;
    setup_cluster(3, NULL);
    fire(0, "e", "payload", false, 0);
    run_until(now + 500);
    assert_int_equal(T[1].nids, 1);
    uint8_t d[64];
    size_t n = 0, nl = strlen(T[2].name);
    d[n++] = HS_MSG_UE_DIGEST;
    d[n++] = 0;
    d[n++] = (uint8_t)nl;
    memcpy(d + n, T[2].name, nl);
    n += nl;
    memset(d + n, 0, 8); /* clock */
    n += 8;
    memset(d + n, 0xff, 4); /* uptime: everything is new to it */
    n += 4;
    d[n++] = 0; /* no entries: it lacks everything */
    d[n++] = 0;
    hs_addr victim = hs_addr_v4(192, 0, 2, 7, 7946);
    hs_ue_receive(T[1].u, now, &victim, d, n, false);
    size_t to_member = 0;
    hs_ue_packet p;
    while (hs_ue_next_packet(T[1].u, &p)) {
        assert_false(hs_addr_equal(&p.to, &victim));
        to_member += hs_addr_equal(&p.to, &T[2].addr);
    }
    assert_int_equal(to_member, 1);
    teardown_cluster();
}

static void test_budget_caps_bytes(void **state)
{
    (void)state;
    hs_ue_cfg c;
    hs_ue_cfg_default(&c);
    c.budget_bps = 20000; /* the bucket holds 64 KiB at most (its floor) */
    setup_cluster(10, &c);
    char payload[1000];
    memset(payload, 'x', sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    for (int k = 0; k < 200; k++) {
        fire(0, "storm", payload, false, 0);
        run_until(now + 10); /* 100 per second */
    }
    uint64_t limit = 64 * 1024 + 20000ULL * 2; /* burst plus 2 s at the rate */
    assert_true(bytes_sent[0] <= limit + 2000);
    assert_true(hs_ue_get_stats(T[0].u)->deferred > 0);
    teardown_cluster();
}

static void test_large_payload_over_stream(void **state)
{
    (void)state;
    setup_cluster(10, NULL);
    static char big[HS_UE_PAYLOAD_MAX + 1];
    for (size_t i = 0; i < HS_UE_PAYLOAD_MAX; i++) big[i] = (char)('a' + i % 26);
    int err;
    assert_int_equal(
        hs_ue_fire(T[0].u, now, "big", (const uint8_t *)big, HS_UE_PAYLOAD_MAX + 1, false, 0, &err),
        0);
    assert_int_equal(err, HS_UE_TOO_BIG);
    assert_int_equal(hs_ue_fire(T[0].u, now, "bad name", NULL, 0, false, 0, &err), 0);
    assert_int_equal(err, HS_UE_BAD_NAME);
    assert_true(hs_ue_fire(T[0].u, now, "big", (const uint8_t *)big, HS_UE_PAYLOAD_MAX, false, 2000,
                           &err) != 0);
    collect(0);
    run_until(now + 2500);
    assert_true(saw_stream);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(T[i].last_len, HS_UE_PAYLOAD_MAX);
        assert_memory_equal(T[i].last_payload, big, HS_UE_PAYLOAD_MAX);
    }
    assert_int_equal(dones[ndones - 1].delivered, 10);
    teardown_cluster();
}

static uint64_t query(int i, const char *name, const char *const *nodes, size_t nn,
                      const hs_ue_tag_filter *tags, size_t nt, uint32_t timeout)
{
    hs_ue_query_spec q = {name, (const uint8_t *)"q?", 2, nodes, nn, tags, nt, timeout};
    int err = -1;
    uint64_t op = hs_ue_query(T[i].u, now, &q, &err);
    assert_int_equal(err, HS_UE_OK);
    collect(i);
    return op;
}

static size_t count_replies(uint64_t op, bool response)
{
    size_t n = 0;
    for (size_t k = 0; k < nreplies; k++)
        n += replies[k].op == op && replies[k].response == response;
    return n;
}

static void test_query_collects_and_ends_early(void **state)
{
    (void)state;
    setup_cluster(15, NULL);
    for (int i = 0; i < 15; i++) T[i].auto_answer = true;
    uint64_t op = query(2, "version", NULL, 0, NULL, 0, 5000);
    run_until(now + 500);
    assert_int_equal(ndones, 1);
    assert_int_equal(dones[0].op, op);
    assert_true(dones[0].complete);
    assert_int_equal(dones[0].members, 15);
    assert_int_equal(dones[0].responses, 15);
    assert_true(dones[0].elapsed_ms < 200); /* not the 5 s timeout */
    assert_int_equal(count_replies(op, true), 15);
    assert_int_equal(count_replies(op, false), 15);
    /* answering the same query again is refused */
    assert_int_equal(hs_ue_respond(T[5].u, now, T[5].last_ref, NULL, 0, false), HS_UE_UNKNOWN);
    teardown_cluster();
}

static void test_query_filters(void **state)
{
    (void)state;
    setup_cluster(10, NULL);
    for (int i = 0; i < 10; i++) T[i].auto_answer = true;
    hs_ue_tag_filter web = {"role", "^web$"};
    uint64_t op = query(0, "disk", NULL, 0, &web, 1, 3000);
    run_until(now + 500);
    assert_int_equal(ndones, 1);
    assert_int_equal(dones[0].members, 5); /* odd nodes are web */
    assert_int_equal(dones[0].responses, 5);
    for (size_t k = 0; k < nreplies; k++)
        if (replies[k].op == op) assert_true((replies[k].from[1] - '0') % 2 == 1);
    for (int i = 0; i < 10; i += 2) assert_int_equal(T[i].nids, 0);
    const char *names[] = {"n3", "n4"};
    op = query(1, "disk", names, 2, NULL, 0, 3000);
    run_until(now + 500);
    assert_int_equal(dones[1].members, 2);
    assert_int_equal(dones[1].responses, 2);
    /* a bad expression is refused before anything is sent */
    hs_ue_tag_filter bad = {"role", "(("};
    hs_ue_query_spec q = {"disk", NULL, 0, NULL, 0, &bad, 1, 1000};
    int err;
    assert_int_equal(hs_ue_query(T[0].u, now, &q, &err), 0);
    assert_int_equal(err, HS_UE_BAD_FILTER);
    teardown_cluster();
}

static void test_query_declines_and_timeout(void **state)
{
    (void)state;
    setup_cluster(6, NULL);
    for (int i = 0; i < 6; i++) T[i].auto_answer = true;
    T[3].decline = true;      /* no handler there */
    T[4].auto_answer = false; /* its handler never finishes */
    uint64_t op = query(0, "q", NULL, 0, NULL, 0, 1000);
    run_until(now + 1500);
    assert_int_equal(ndones, 1);
    assert_int_equal(dones[0].op, op);
    assert_false(dones[0].complete);
    assert_int_equal(dones[0].responses, 4); /* 0, 1, 2, 5 */
    assert_int_equal(dones[0].answered, 5);  /* and the decline of 3 */
    assert_int_equal(dones[0].n_pending, 1);
    assert_string_equal(done_pending[0][0], "n4");
    assert_true(dones[0].elapsed_ms >= 1000);
    teardown_cluster();
}

static void test_answer_relayed_around_a_cut_link(void **state)
{
    (void)state;
    setup_cluster(8, NULL);
    for (int i = 0; i < 8; i++) T[i].auto_answer = true;
    cut[5][0] = true; /* n5's answers never reach the origin n0 directly */
    uint64_t op = query(0, "q", NULL, 0, NULL, 0, 4000);
    run_until(now + 4500);
    assert_int_equal(ndones, 1);
    assert_true(dones[0].complete);
    assert_int_equal(dones[0].responses, 8);
    bool from5 = false;
    for (size_t k = 0; k < nreplies; k++)
        from5 |= replies[k].op == op && replies[k].response && !strcmp(replies[k].from, "n5");
    assert_true(from5);
    uint64_t relayed = 0;
    for (int i = 0; i < 8; i++) relayed += hs_ue_get_stats(T[i].u)->relayed;
    assert_true(relayed >= 1);
    teardown_cluster();
}

static void test_hostile_input(void **state)
{
    (void)state;
    setup_cluster(2, NULL);
    uint8_t buf[512];
    /* a good record followed by one with a bad flag: nothing of the message counts */
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_UE_RECORDS);
    hs_put_u8(&w, 0);
    hs_put_str8(&w, "n0", 2);
    hs_put_u64(&w, 0);
    hs_put_u8(&w, 2);
    for (int k = 0; k < 2; k++) {
        hs_put_u8(&w, 0);
        hs_put_u8(&w, k ? 0x80 : 0);
        hs_put_str8(&w, "n0", 2);
        hs_put_u64(&w, 5);
        hs_put_u32(&w, (uint32_t)k + 1);
        hs_put_u64(&w, 0);
        hs_put_u32(&w, 0);
        hs_put_str8(&w, "ok", 2);
        hs_put_blob16(&w, "x", 1);
    }
    hs_ue_receive(T[1].u, now, &T[0].addr, buf, w.len, false);
    collect(1);
    assert_int_equal(T[1].nids, 0);
    /* every truncation of the message is refused too */
    for (size_t cut_at = 1; cut_at < w.len; cut_at++) {
        hs_ue_receive(T[1].u, now, &T[0].addr, buf, cut_at, false);
        collect(1);
    }
    assert_int_equal(T[1].nids, 0);
    /* random bytes of every type */
    for (int k = 0; k < 2000; k++) {
        size_t len = 1 + (size_t)(unit() * 300);
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(unit() * 256);
        buf[0] = (uint8_t)(HS_MSG_UE_FIRST + k % 6);
        hs_ue_receive(T[1].u, now, &T[0].addr, buf, len, k % 2);
        collect(1);
        hs_ue_tick(T[1].u, now += 7);
        collect(1);
    }
    assert_true(hs_ue_get_stats(T[1].u)->malformed > 0);
    teardown_cluster();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_member_once),
        cmocka_unit_test(test_replayed_message_not_delivered_again),
        cmocka_unit_test(test_lamport_clock_witnessed),
        cmocka_unit_test(test_floor_refuses_and_horizon_grows),
        cmocka_unit_test(test_restarted_member_gets_no_old_event),
        cmocka_unit_test(test_older_than_max_age_refused),
        cmocka_unit_test(test_seen_window),
        cmocka_unit_test(test_coalescing_keeps_newest),
        cmocka_unit_test(test_wait_confirms_delivery),
        cmocka_unit_test(test_wait_reports_the_silent),
        cmocka_unit_test(test_wait_resends_through_loss),
        cmocka_unit_test(test_repair_fills_lost_pushes),
        cmocka_unit_test(test_repair_goes_to_the_member_not_the_source),
        cmocka_unit_test(test_budget_caps_bytes),
        cmocka_unit_test(test_large_payload_over_stream),
        cmocka_unit_test(test_query_collects_and_ends_early),
        cmocka_unit_test(test_query_filters),
        cmocka_unit_test(test_query_declines_and_timeout),
        cmocka_unit_test(test_answer_relayed_around_a_cut_link),
        cmocka_unit_test(test_hostile_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
