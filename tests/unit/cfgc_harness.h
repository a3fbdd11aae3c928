/* cfgc_harness.h: a synchronous in-memory world for the configuration client tests
 * (test_config_client.c): three Raft seeds (raft_harness.h's network) that apply committed
 * entries to their own configuration and run a configuration client core each, and two
 * non-seed agents running cores of their own. Config messages are delivered by address, can
 * be cut per direction, and every delivered one is recorded, so a test can replay it. */
#ifndef HEARSAY_TEST_CFGC_HARNESS_H
#define HEARSAY_TEST_CFGC_HARNESS_H

#include "hearsay/cluster_config.h"
#include "hearsay/config_client.h"
#include "hearsay/wire.h"
#include "raft_harness.h"

#define W_SEEDS 3
#define W_NODES 6 /* 1..3 seeds (Raft ids 1..3), 4..5 non-seeds; 0 unused */
#define W_QMAX  8192
#define W_REC   8192
#define W_DONE  64

typedef struct wmsg {
    int from, to;
    uint8_t *buf;
    size_t len;
} wmsg;

typedef struct world {
    net *net;
    uint64_t now;
    hs_cluster_config *cc[W_NODES];
    hs_cfgc *core[W_NODES];
    uint64_t applied[W_NODES];
    bool cut[W_NODES][W_NODES]; /* config messages from -> to are lost */
    wmsg q[W_QMAX];
    size_t qh, qt;
    wmsg rec[W_REC]; /* every delivered config message */
    size_t nrec;
    hs_cfgc_done done[W_NODES][W_DONE];
    size_t ndone[W_NODES];
    unsigned installs[W_NODES];
} world;

static inline hs_addr w_addr(int i)
{
    return hs_addr_v4(127, 0, 0, 1, (uint16_t)(i <= W_SEEDS ? 7000 + i : 7100 + i));
}

static inline int w_index(const hs_addr *a)
{
    for (int i = 1; i < W_NODES; i++) {
        hs_addr b = w_addr(i);
        if (hs_addr_equal(a, &b)) return i;
    }
    return 0;
}

static inline world *w_new(void)
{
    world *w = calloc(1, sizeof(*w));
    w->net = net_new(W_SEEDS);
    for (int i = 1; i < W_NODES; i++) {
        w->cc[i] = malloc(sizeof(*w->cc[i]));
        hs_cc_init(w->cc[i]);
        hs_cfgc_cfg cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.rng_seed = 500 + (uint64_t)i;
        cfg.seed = i <= W_SEEDS;
        for (int j = 1; j <= W_SEEDS; j++) {
            snprintf(cfg.seeds[cfg.n_seeds].name, sizeof(cfg.seeds[0].name), "s%d", j);
            cfg.seeds[cfg.n_seeds++].addr = w_addr(j);
        }
        w->core[i] = hs_cfgc_new(&cfg, w->cc[i], 0);
        if (cfg.seed) hs_cfgc_attach_raft(w->core[i], w->net->r[i], 0);
    }
    return w;
}

static inline void w_free(world *w)
{
    for (int i = 1; i < W_NODES; i++) {
        hs_cfgc_free(w->core[i]);
        free(w->cc[i]);
    }
    while (w->qh != w->qt) free(w->q[w->qh++ % W_QMAX].buf);
    for (size_t i = 0; i < w->nrec; i++) free(w->rec[i].buf);
    net_free(w->net);
    free(w);
}

/* Seed i's Readies: "persist", send, apply to its configuration and tell its core. */
static inline void w_drain(world *w, int i)
{
    hs_raft *r = w->net->r[i];
    hs_cfgc *c = w->core[i];
    hs_raft_ready rd;
    while (r && hs_raft_get_ready(r, &rd)) {
        if (rd.snapshot) {
            hs_cc_deserialize(rd.snapshot->data, rd.snapshot->len, w->cc[i]);
            w->applied[i] = rd.snapshot->index;
            hs_cfgc_restored(c, w->now, w->applied[i]);
        }
        for (size_t k = 0; k < rd.n_msgs; k++) net_send(w->net, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_committed; k++) {
            const hs_raft_entry *e = &rd.committed[k];
            if (e->index <= w->applied[i]) continue;
            hs_cc_outcome o;
            hs_cc_apply_entry(w->cc[i], e, &o);
            w->applied[i] = e->index;
            hs_cfgc_applied(c, w->now, e->index, e->term, &o);
        }
        if (rd.role_changed) hs_cfgc_role_changed(c, w->now);
        for (size_t k = 0; k < rd.n_reads; k++)
            hs_cfgc_read_state(c, w->now, rd.reads[k].ctx, rd.reads[k].index);
        hs_raft_advance(r, &rd);
    }
}

static inline void w_queue(world *w, int from, int to, const uint8_t *data, size_t len)
{
    if (!to || w->cut[from][to] || w->qt - w->qh >= W_QMAX) return;
    uint8_t *b = malloc(len);
    memcpy(b, data, len);
    w->q[w->qt++ % W_QMAX] = (wmsg){from, to, b, len};
}

/* Node i's outputs into the world. */
static inline void w_flush(world *w, int i)
{
    hs_cfgc *c = w->core[i];
    hs_cfgc_msg m;
    while (hs_cfgc_next_msg(c, &m)) w_queue(w, i, w_index(&m.to), m.data, m.len);
    hs_cfgc_done d;
    while (hs_cfgc_next_done(c, &d))
        if (w->ndone[i] < W_DONE) w->done[i][w->ndone[i]++] = d;
    hs_addr from;
    if (hs_cfgc_take_installed(c, &from)) w->installs[i]++;
    hs_cfgc_take_raft_work(c);
}

static inline void w_deliver(world *w, wmsg m)
{
    hs_addr from = w_addr(m.from);
    hs_cfgc_receive(w->core[m.to], w->now, &from, m.buf, m.len);
    if (w->nrec < W_REC)
        w->rec[w->nrec++] = m;
    else
        free(m.buf);
}

/* Delivers until nothing is in flight, at the current time. */
static inline void w_settle(world *w)
{
    for (int guard = 0; guard < 1000000; guard++) {
        for (int i = 1; i <= W_SEEDS; i++) w_drain(w, i);
        for (int i = 1; i < W_NODES; i++) w_flush(w, i);
        net *t = w->net;
        if (t->qh != t->qt) {
            net_pkt p = t->q[t->qh++ % NET_QMAX];
            hs_raft_msg m;
            if (hs_raft_msg_decode(p.buf, p.len, &m) == 0) {
                if (m.to >= 1 && m.to <= W_SEEDS && t->r[m.to])
                    hs_raft_step(t->r[m.to], w->now, &m);
                hs_raft_msg_release(&m);
            }
            free(p.buf);
        } else if (w->qh != w->qt) {
            w_deliver(w, w->q[w->qh++ % W_QMAX]);
        } else {
            return;
        }
    }
}

/* Lets ms of time pass, 1 ms at a time: Raft ticks, core ticks, deliveries. */
static inline void w_run(world *w, uint64_t ms)
{
    for (uint64_t k = 0; k < ms; k++) {
        w->now++;
        w->net->now = w->now;
        for (int i = 1; i <= W_SEEDS; i++)
            if (hs_raft_next_deadline(w->net->r[i]) <= w->now) hs_raft_tick(w->net->r[i], w->now);
        for (int i = 1; i < W_NODES; i++)
            if (hs_cfgc_next_deadline(w->core[i]) <= w->now) hs_cfgc_tick(w->core[i], w->now);
        w_settle(w);
    }
}

static inline int w_leader(world *w)
{
    return net_leader(w->net);
}

static inline int w_elect(world *w)
{
    for (int k = 0; k < 40 && !w_leader(w); k++) w_run(w, 50);
    w_run(w, 50); /* its no-op committed and applied everywhere */
    return w_leader(w);
}

/* Proposes an untagged command on leader L and lets it commit (the daemon's bootstrap). */
static inline void w_propose(world *w, int L, const hs_cc_cmd *cmd)
{
    uint8_t b[HS_CC_CMD_MAX];
    size_t n = hs_cc_cmd_encode(cmd, b, sizeof(b));
    uint64_t idx, term;
    if (!n || hs_raft_propose(w->net->r[L], b, n, &idx, &term) != HS_RAFT_OK) abort();
    w_run(w, 10);
}

/* What the daemon's first leader writes: the seed set. */
static inline void w_bootstrap(world *w, int L)
{
    const hs_raft_conf *c = hs_raft_get_conf(w->net->r[L]);
    for (uint32_t i = 0; i < c->n; i++) {
        hs_cc_cmd cmd;
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = HS_CC_ADD_SEED;
        cmd.seed.id = c->peers[i].id;
        memcpy(cmd.seed.name, c->peers[i].name, sizeof(cmd.seed.name));
        cmd.seed.addr = c->peers[i].addr;
        w_propose(w, L, &cmd);
    }
}

static inline uint64_t w_start(world *w, int i, int kind, const char *key, const char *value,
                               const char *idem)
{
    uint64_t op = hs_cfgc_start(w->core[i], w->now, kind, key, value, idem);
    w_settle(w);
    return op;
}

/* The ended operation op of node i, or NULL. */
static inline const hs_cfgc_done *w_done(world *w, int i, uint64_t op)
{
    for (size_t k = 0; k < w->ndone[i]; k++)
        if (w->done[i][k].op == op) return &w->done[i][k];
    return NULL;
}

static inline size_t w_done_count(world *w, int i, uint64_t op)
{
    size_t n = 0;
    for (size_t k = 0; k < w->ndone[i]; k++) n += w->done[i][k].op == op;
    return n;
}

/* Entries in seed i's log (from its first) carrying this session place. */
static inline int w_entries_with(world *w, int i, uint64_t session, uint64_t seq)
{
    hs_raft *r = w->net->r[i];
    int n = 0;
    for (uint64_t k = hs_raft_first_index(r); k <= hs_raft_last_index(r); k++) {
        const hs_raft_entry *e = hs_raft_entry_at(r, k);
        hs_cc_tag t;
        if (e && hs_cc_entry_tag(e, &t) && t.session == session && t.seq == seq) n++;
    }
    return n;
}

/* The last recorded message of this type from -> to (to 0: anyone), decoded; -1 if none. */
static inline long w_find(world *w, uint8_t type, int from, int to, hs_cfgc_wire *out)
{
    for (size_t k = w->nrec; k-- > 0;) {
        wmsg *m = &w->rec[k];
        if (m->buf[0] == type && m->from == from && (!to || m->to == to)) {
            if (out && hs_cfgc_wire_decode(m->buf, m->len, out) != 0) return -1;
            return (long)k;
        }
    }
    return -1;
}

/* Delivers a recorded message again, from the same sender (a replay). */
static inline void w_replay(world *w, long k, int to)
{
    w_queue(w, w->rec[k].from, to ? to : w->rec[k].to, w->rec[k].buf, w->rec[k].len);
    w_settle(w);
}

static inline void w_cut_cfg(world *w, int a, int b, bool cut)
{
    w->cut[a][b] = cut;
}

#endif
