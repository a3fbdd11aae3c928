/* test_probe_schedule.c: when the observers of a member probe it (lib/membership_probe.c).
 * The subject's Pong tells each of its K observers when to probe next, so that its probes
 * come about once per period, evenly spaced; a hint out of range is clamped, and only the
 * Pong to our own periodic probe moves a due time (not one to a Ping we relayed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/codec.h"
#include "hearsay/wire.h"
#include "membership_internal.h"
#include "minicluster.h"

#define MAX_PROBES 4096

typedef struct probe_log {
    uint64_t at[MC_MAX][MAX_PROBES]; /* when each member was pinged */
    size_t n[MC_MAX];
    int pong_from, pong_to;
    size_t pongs; /* Pongs from pong_from to pong_to */
    size_t acks;  /* IndirectAcks sent */
} probe_log;

static probe_log *log_;

static void start_cluster(mc_cluster *c, int n)
{
    mc_init(c, n);
    mc_start(c, 0, -1);
    for (int i = 1; i < n; i++) mc_start(c, i, 0);
}

static void tap(mc_cluster *c, int from, int to, const uint8_t *data, size_t len, bool stream)
{
    (void)stream;
    if (len && data[0] == HS_MSG_PONG && from == log_->pong_from && to == log_->pong_to)
        log_->pongs++;
    if (len && data[0] == HS_MSG_INDIRECT_ACK) log_->acks++;
    if (!len || data[0] != HS_MSG_PING) return;
    hs_reader r;
    char name[HS_NAME_MAX + 1];
    hs_reader_init(&r, data, len);
    hs_get_u8(&r);
    hs_get_u32(&r);
    hs_get_str8(&r, name, sizeof(name), true);
    hs_get_u32(&r);
    hs_get_u64(&r);
    hs_get_str8(&r, name, sizeof(name), true);
    assert_true(r.ok);
    int target = atoi(name + 4); /* "nodeN" */
    assert_int_equal(target, to);
    if (log_->n[to] < MAX_PROBES) log_->at[to][log_->n[to]++] = c->now;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* After the cluster settles, every member is probed about once a period by its five
 * observers together, and never goes two periods without a probe. With each observer
 * probing at a fixed phase of its own, some of 24 members would (gaps of 3-4 s). */
static void test_probes_evenly_spaced(void **state)
{
    (void)state;
    enum { N = 24, WATCH_MS = 60000 };
    mc_cluster c;
    start_cluster(&c, N);
    mc_run(&c, 30000);
    log_ = calloc(1, sizeof(*log_));
    c.tap = tap;
    uint64_t from = c.now;
    mc_run(&c, WATCH_MS);
    uint64_t worst = 0;
    for (int j = 0; j < N; j++) {
        size_t k = log_->n[j];
        /* about one probe per period; the observers' Pings take turns */
        assert_in_range(k, WATCH_MS / 1000 - 2, WATCH_MS / 1000 + 2);
        qsort(log_->at[j], k, sizeof(uint64_t), cmp_u64);
        uint64_t gap = log_->at[j][0] - from;
        for (size_t i = 1; i < k; i++)
            if (log_->at[j][i] - log_->at[j][i - 1] > gap)
                gap = log_->at[j][i] - log_->at[j][i - 1];
        if (gap > worst) worst = gap;
    }
    printf("# longest time a member went without a probe: %llu ms\n", (unsigned long long)worst);
    assert_true(worst <= 1500); /* 1000 ms when every observer has its slot */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) assert_false(c.ever_failed[i][j]);
    free(log_);
    mc_free(&c);
}

static hs_subject *subject_of(hs_node *n, const char *name)
{
    for (size_t i = 0; i < n->nsubj; i++)
        if (strcmp(n->subj[i].m->name, name) == 0) return &n->subj[i];
    return NULL;
}

static hs_check *periodic_check_of(hs_node *n, const char *name)
{
    for (size_t i = 0; i < HS_MAX_CHECKS; i++)
        if (n->checks[i].used && n->checks[i].kind == HS_CHECK_PROBE &&
            strcmp(n->checks[i].target, name) == 0)
            return &n->checks[i];
    return NULL;
}

/* A Pong from `who` answering seq, asking for the next probe in next_ms. */
static size_t pong(uint8_t *buf, size_t cap, hs_node *who, uint32_t seq, uint16_t next_ms)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, HS_MSG_PONG);
    hs_put_u32(&w, seq);
    hs_put_str8(&w, who->self->name, strlen(who->self->name));
    hs_put_u32(&w, who->self->inc);
    hs_put_u64(&w, 0);
    hs_put_u16(&w, next_ms);
    hs_put_u8(&w, 0); /* no piggybacked entries */
    assert_true(w.ok);
    return w.len;
}

/* Probes node 0's first subject now and answers with next_ms; returns the new due time
 * relative to now. */
static uint64_t answer_probe(mc_cluster *c, uint16_t next_ms)
{
    hs_node *n = c->n[0].node;
    hs_subject *s = &n->subj[0];
    int j = atoi(s->m->name + 4);
    s->due = c->now;
    hs_node_tick(n, c->now);
    hs_check *chk = periodic_check_of(n, s->m->name);
    assert_non_null(chk);
    uint8_t buf[128];
    size_t len = pong(buf, sizeof(buf), c->n[j].node, chk->seq, next_ms);
    mc_inject_from(c, j, 0, buf, len);
    assert_null(periodic_check_of(n, s->m->name)); /* the Pong answered it */
    return s->due - c->now;
}

static void test_hint_moves_due_and_is_clamped(void **state)
{
    (void)state;
    mc_cluster c;
    start_cluster(&c, 8);
    mc_run(&c, 10000);
    hs_node *n = c.n[0].node;
    assert_int_equal(n->nsubj, 5);
    uint64_t cycle = 5 * c.cfg.probe_interval_ms;
    assert_int_equal(answer_probe(&c, 4321), 4321);               /* in range: taken */
    assert_int_equal(answer_probe(&c, 1), cycle / 2);             /* too soon: K/2 periods */
    assert_int_equal(answer_probe(&c, 65535), cycle + cycle / 2); /* too late: 3K/2 periods */
    assert_int_equal(answer_probe(&c, 0), cycle);                 /* no hint: K periods */
    mc_free(&c);
}

/* The subject computes hints for its observers only, in [K/2, 3K/2) periods. */
static void test_pong_hint_range(void **state)
{
    (void)state;
    mc_cluster c;
    start_cluster(&c, 8);
    mc_run(&c, 10000);
    hs_node *x = c.n[3].node;
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k = hs_observers(x, x->self, obs, HS_MAX_VOTE_GROUP);
    assert_int_equal(k, 5);
    uint64_t cycle = 5 * c.cfg.probe_interval_ms;
    for (int i = 0; i < 8; i++) {
        if (i == 3) continue;
        hs_node *o = c.n[i].node;
        bool observer = false;
        for (size_t d = 0; d < k; d++) observer |= strcmp(obs[d]->name, o->self->name) == 0;
        /* a Ping from o to node 3 */
        uint8_t buf[128];
        hs_writer w;
        hs_writer_init(&w, buf, sizeof(buf));
        hs_put_u8(&w, HS_MSG_PING);
        hs_put_u32(&w, 0x7000000 + (uint32_t)i);
        hs_put_str8(&w, o->self->name, strlen(o->self->name));
        hs_put_u32(&w, o->self->inc);
        hs_put_u64(&w, 0);
        hs_put_str8(&w, "node3", 5);
        hs_put_u32(&w, x->self->inc);
        hs_put_u8(&w, 0);
        hs_put_u8(&w, 0);
        assert_true(w.ok);
        hs_node_receive(x, c.now, &o->cfg.addr, buf, w.len, false);
        hs_packet p;
        bool found = false;
        while (hs_node_next_packet(x, &p)) {
            if (p.data[0] != HS_MSG_PONG) continue;
            hs_reader r;
            char name[HS_NAME_MAX + 1];
            hs_reader_init(&r, p.data, p.len);
            hs_get_u8(&r);
            assert_int_equal(hs_get_u32(&r), 0x7000000 + (uint32_t)i);
            hs_get_str8(&r, name, sizeof(name), true);
            hs_get_u32(&r);
            hs_get_u64(&r);
            uint16_t next_ms = hs_get_u16(&r);
            assert_true(r.ok);
            if (observer)
                assert_in_range(next_ms, cycle / 2, cycle + cycle / 2 - 1);
            else
                assert_int_equal(next_ms, 0);
            found = true;
        }
        assert_true(found);
    }
    mc_free(&c);
}

/* Node 0 relays a probe of its own subject for node 1: the subject's Pong (which carries a
 * hint, node 0 being its observer) answers the relay, not a check of ours, and leaves node
 * 0's due time for the subject alone. */
static void test_relay_pong_keeps_due(void **state)
{
    (void)state;
    mc_cluster c;
    start_cluster(&c, 8);
    mc_run(&c, 10000);
    hs_node *n = c.n[0].node;
    hs_subject *s = &n->subj[0];
    int j = atoi(s->m->name + 4);
    assert_true(j != 1);
    uint64_t due = c.now + 12345; /* a due time no hint could give */
    s->due = due;
    uint8_t buf[128];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_PINGREQ);
    hs_put_u32(&w, 77);
    hs_put_str8(&w, s->m->name, strlen(s->m->name));
    hs_addr sa = hs_member_addr(n, s->m);
    hs_put_addr(&w, &sa);
    hs_put_u32(&w, s->m->inc);
    hs_put_u8(&w, 0);
    assert_true(w.ok);
    log_ = calloc(1, sizeof(*log_));
    log_->pong_from = j;
    log_->pong_to = 0;
    c.tap = tap;
    mc_inject_from(&c, 1, 0, buf, w.len);
    assert_int_equal(log_->n[j], 1); /* node 0 pinged the subject for node 1 */
    mc_run(&c, 5);                   /* Ping there, Pong back, IndirectAck to node 1 */
    assert_int_equal(log_->pongs, 1);
    assert_int_equal(log_->acks, 1);
    assert_ptr_equal(subject_of(n, s->m->name), s);
    assert_int_equal(s->due, due);
    free(log_);
    mc_free(&c);
}

static int index_of(const hs_member *m)
{
    return atoi(m->name + 4);
}

/* A ring change keeps the due times of the subjects that stay, forgets the ones that go,
 * and gives a new one a due time within the next K periods. */
static void test_ring_change_keeps_due(void **state)
{
    (void)state;
    mc_cluster c;
    start_cluster(&c, 12);
    mc_run(&c, 10000);
    hs_node *n = c.n[0].node;
    size_t k = n->nsubj;
    assert_int_equal(k, 5);
    hs_member *keep[HS_MAX_VOTE_GROUP];
    uint64_t due[HS_MAX_VOTE_GROUP];
    for (size_t i = 0; i < k; i++) {
        keep[i] = n->subj[i].m;
        due[i] = n->subj[i].due = c.now + 20000 + i; /* no probe or hint gives these */
    }
    /* a member that is none of node 0's subjects (nor node 0) leaves the ring */
    int gone = -1;
    for (int j = 1; j < 12 && gone < 0; j++) {
        char name[16];
        snprintf(name, sizeof(name), "node%d", j);
        if (!subject_of(n, name)) gone = j;
    }
    assert_true(gone > 0);
    uint64_t v = n->ring_version;
    hs_node_leave(c.n[gone].node, c.now);
    mc_run(&c, 100);
    assert_true(n->ring_version != v);
    assert_int_equal(n->nsubj, k);
    for (size_t i = 0; i < k; i++) {
        assert_ptr_equal(n->subj[i].m, keep[i]);
        assert_int_equal(n->subj[i].due, due[i]);
    }
    /* now node 0's second subject leaves: the others keep their times, the next member on
     * the ring becomes a subject due within K periods */
    int second = index_of(keep[1]);
    uint64_t t0 = c.now;
    hs_node_leave(c.n[second].node, c.now);
    mc_run(&c, 100);
    assert_int_equal(mc_status(&c, 0, second), HS_LEFT);
    assert_int_equal(n->nsubj, k);
    assert_null(subject_of(n, keep[1]->name));
    size_t kept = 0;
    for (size_t i = 0; i < k; i++) {
        size_t was = k;
        for (size_t j = 0; j < k; j++)
            if (keep[j] == n->subj[i].m) was = j;
        if (was < k) {
            assert_int_equal(n->subj[i].due, due[was]);
            kept++;
        } else {
            assert_in_range(n->subj[i].due, t0 + 1, t0 + 100 + 5 * c.cfg.probe_interval_ms);
        }
    }
    assert_int_equal(kept, k - 1);
    mc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probes_evenly_spaced),
        cmocka_unit_test(test_hint_moves_due_and_is_clamped),
        cmocka_unit_test(test_pong_hint_range),
        cmocka_unit_test(test_relay_pong_keeps_due),
        cmocka_unit_test(test_ring_change_keeps_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
