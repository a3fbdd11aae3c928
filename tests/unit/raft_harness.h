/* raft_harness.h: a tiny synchronous in-memory network of Raft nodes for the unit tests
 * (test_raft_*.c). Messages go through the wire codec; Readies are drained and advanced at
 * once (as a daemon with synchronous fsync would); links can be cut per direction. */
#ifndef HEARSAY_TEST_RAFT_HARNESS_H
#define HEARSAY_TEST_RAFT_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/raft.h"

#define NET_MAX  6
#define NET_QMAX 4096

typedef struct net_pkt {
    uint8_t *buf;
    size_t len;
} net_pkt;

typedef struct net {
    int n;
    hs_raft *r[NET_MAX + 1]; /* by id, 1..n */
    bool cut[NET_MAX + 1][NET_MAX + 1];
    net_pkt q[NET_QMAX];
    size_t qh, qt;
    uint64_t now;
    uint64_t delivered; /* messages stepped into a node so far */
    /* what the last drains produced, per node */
    uint64_t applied[NET_MAX + 1];
    hs_raft_read_state reads[NET_MAX + 1][16];
    size_t nreads[NET_MAX + 1];
    hs_raft_hard_state hs[NET_MAX + 1];
    uint64_t snap_index[NET_MAX + 1];
} net;

static inline hs_raft_conf net_conf(int n)
{
    hs_raft_conf c;
    memset(&c, 0, sizeof(c));
    for (int i = 1; i <= n; i++) {
        hs_raft_peer *p = &c.peers[c.n++];
        p->id = (uint64_t)i;
        snprintf(p->name, sizeof(p->name), "s%d", i);
        p->addr = hs_addr_v4(127, 0, 0, 1, (uint16_t)(7000 + i));
    }
    return c;
}

static inline hs_raft *net_node(uint64_t id, int n, uint64_t seed)
{
    hs_raft_cfg cfg = {.id = id,
                       .rng_seed = seed,
                       .election_min_ms = 150,
                       .election_max_ms = 300,
                       .heartbeat_ms = 50,
                       .peers = net_conf(n)};
    return hs_raft_new(&cfg, 0);
}

static inline net *net_new(int n)
{
    net *t = calloc(1, sizeof(*t));
    t->n = n;
    for (int i = 1; i <= n; i++) t->r[i] = net_node((uint64_t)i, n, 1000 + (uint64_t)i);
    return t;
}

static inline void net_free(net *t)
{
    for (int i = 1; i <= t->n; i++) hs_raft_free(t->r[i]);
    while (t->qh != t->qt) free(t->q[t->qh++ % NET_QMAX].buf);
    free(t);
}

static inline void net_send(net *t, const hs_raft_msg *m)
{
    if (m->to < 1 || m->to > (uint64_t)t->n || t->cut[m->from][m->to]) return;
    if (t->qt - t->qh >= NET_QMAX) return;
    size_t len = hs_raft_msg_size(m);
    uint8_t *buf = malloc(len);
    if (hs_raft_msg_encode(m, buf, len) != len) abort();
    t->q[t->qt++ % NET_QMAX] = (net_pkt){buf, len};
}

/* Drains node id's Readies: "persist", send, apply, advance. */
static inline void net_drain(net *t, int id)
{
    hs_raft *r = t->r[id];
    hs_raft_ready rd;
    while (r && hs_raft_get_ready(r, &rd)) {
        if (rd.has_hard_state) t->hs[id] = rd.hard_state;
        if (rd.snapshot) {
            t->snap_index[id] = rd.snapshot->index;
            t->applied[id] = rd.snapshot->index;
        }
        for (size_t i = 0; i < rd.n_msgs; i++) net_send(t, &rd.msgs[i]);
        for (size_t i = 0; i < rd.n_committed; i++) t->applied[id] = rd.committed[i].index;
        for (size_t i = 0; i < rd.n_reads && t->nreads[id] < 16; i++)
            t->reads[id][t->nreads[id]++] = rd.reads[i];
        hs_raft_advance(r, &rd);
    }
}

static inline void net_drain_all(net *t)
{
    for (int i = 1; i <= t->n; i++) net_drain(t, i);
}

/* Delivers until nothing is in flight. */
static inline void net_settle(net *t)
{
    for (int guard = 0; guard < 100000; guard++) {
        net_drain_all(t);
        if (t->qh == t->qt) return;
        net_pkt p = t->q[t->qh++ % NET_QMAX];
        hs_raft_msg m;
        if (hs_raft_msg_decode(p.buf, p.len, &m) == 0) {
            if (t->r[m.to]) hs_raft_step(t->r[m.to], t->now, &m);
            t->delivered++;
            hs_raft_msg_release(&m);
        }
        free(p.buf);
    }
}

/* Lets ms of virtual time pass, 1 ms at a time, ticking and delivering. */
static inline void net_run(net *t, uint64_t ms)
{
    for (uint64_t i = 0; i < ms; i++) {
        t->now++;
        for (int k = 1; k <= t->n; k++)
            if (t->r[k] && hs_raft_next_deadline(t->r[k]) <= t->now) hs_raft_tick(t->r[k], t->now);
        net_settle(t);
    }
}

/* Makes node id time out first and campaign; returns once messages settle. */
static inline void net_campaign(net *t, int id)
{
    uint64_t d = hs_raft_next_deadline(t->r[id]);
    if (d > t->now) t->now = d;
    hs_raft_tick(t->r[id], t->now);
    net_settle(t);
}

static inline void net_isolate(net *t, int id, bool cut)
{
    for (int k = 1; k <= NET_MAX; k++) t->cut[id][k] = t->cut[k][id] = cut;
}

static inline int net_leader(net *t)
{
    int best = 0;
    for (int i = 1; i <= t->n; i++)
        if (t->r[i] && hs_raft_get_role(t->r[i]) == HS_RAFT_LEADER &&
            (!best || hs_raft_term(t->r[i]) > hs_raft_term(t->r[best])))
            best = i;
    return best;
}

/* Steps a hand-made message into node id and drains it; returns the messages it sent through
 * out (caller frees with net_msgs_free). */
typedef struct msgbuf {
    hs_raft_msg m[64];
    size_t n;
} msgbuf;

static inline void take_msgs(hs_raft *r, msgbuf *out, hs_raft_ready *keep)
{
    out->n = 0;
    hs_raft_ready rd;
    if (!hs_raft_get_ready(r, &rd)) return;
    for (size_t i = 0; i < rd.n_msgs && i < 64; i++) {
        /* keep only the scalar fields; entries are inspected through keep */
        out->m[out->n] = rd.msgs[i];
        out->m[out->n].entries = NULL;
        out->m[out->n].snapshot.data = NULL;
        out->n++;
    }
    if (keep) {
        *keep = rd; /* caller advances */
        return;
    }
    hs_raft_advance(r, &rd);
}

#endif
