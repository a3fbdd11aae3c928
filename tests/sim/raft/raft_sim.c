/* raft_sim.c: deterministic simulator for the Raft core (lib/raft*.c).
 *
 * 3- or 5-node clusters run on a virtual clock and a virtual network with per-message random
 * latency (hence reordering), drops, duplicates, partitions (symmetric and one-way), crashes that
 * lose everything not yet fsynced (the Ready being persisted is lost with the node) and restarts
 * from the durable state, and resets (hearsayd --raft-reset: a crashed seed comes back with no
 * log or snapshot, half of the time without its term and vote, marked recovering; one seed at a
 * time, only in a group of at least 3, no seed change meanwhile, down at least RESET_DOWN_MS).
 * Every message goes through the wire codec. After every event the
 * simulator checks Election Safety, Leader Append-Only, Log Matching, Leader Completeness, State
 * Machine Safety, that no acknowledged write is lost and that ReadIndex reads are not stale. At
 * the end of each seed the faults stop and the cluster must converge (liveness).
 *
 *   raft-sim --seeds N --start S [--nodes 3|5] [--trace] [--verbose]
 *
 * Same seed, same output. On a violation it prints the seed, the reason and the last trace lines,
 * and exits 1. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/raft.h"

#define MAXN        5
#define TRACE_RING  400
#define TRACE_LEN   200
#define LIVENESS_MS 30000 /* virtual ms the group gets to converge once the faults stop */

/* ---- deterministic PRNG ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t rnd_range(uint64_t lo, uint64_t hi) /* [lo, hi] */
{
    return lo + rnd() % (hi - lo + 1);
}
static bool chance(uint32_t permille)
{
    return rnd() % 1000 < permille;
}

static uint64_t hash64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    h ^= 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

/* ---- trace ---- */

static bool opt_trace, opt_verbose;
static char trace_ring[TRACE_RING][TRACE_LEN];
static size_t trace_n;
static uint64_t now;
static uint64_t cur_seed;
static bool violated;

static void trace(const char *fmt, ...)
{
    char line[TRACE_LEN];
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(line, sizeof(line), "%8" PRIu64 " ", now);
    vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
    va_end(ap);
    memcpy(trace_ring[trace_n % TRACE_RING], line, TRACE_LEN);
    trace_n++;
    if (opt_trace) printf("%s\n", line);
}

static void violation(const char *fmt, ...)
{
    if (violated) return;
    violated = true;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("VIOLATION seed=%" PRIu64 " t=%" PRIu64 ": %s\n", cur_seed, now, msg);
    size_t from = trace_n > TRACE_RING ? trace_n - TRACE_RING : 0;
    printf("--- last %zu trace lines (rerun with --seeds 1 --start %" PRIu64 " --trace) ---\n",
           trace_n - from, cur_seed);
    for (size_t i = from; i < trace_n; i++) printf("%s\n", trace_ring[i % TRACE_RING]);
}

/* ---- growable u64 tables indexed by log index ---- */

typedef struct {
    uint64_t *v;
    size_t n;
} table;

static uint64_t tget(const table *t, uint64_t i)
{
    return i < t->n ? t->v[i] : 0;
}
static void tset(table *t, uint64_t i, uint64_t val)
{
    if (i >= t->n) {
        size_t n = t->n ? t->n : 256;
        while (n <= i) n *= 2;
        t->v = realloc(t->v, n * sizeof(uint64_t));
        if (!t->v) abort();
        memset(t->v + t->n, 0, (n - t->n) * sizeof(uint64_t));
        t->n = n;
    }
    t->v[i] = val;
}
static void tfree(table *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* (index, term) -> (data hash, prev term) for Log Matching; open addressing. */
typedef struct {
    uint64_t index, term, hash, prev;
} lm_slot;
static lm_slot *lm;
static size_t lm_cap, lm_n;

static void lm_reset(void)
{
    free(lm);
    lm_cap = 4096;
    lm_n = 0;
    lm = calloc(lm_cap, sizeof(*lm));
    if (!lm) abort();
}
static lm_slot *lm_find(uint64_t index, uint64_t term, bool insert)
{
    if (insert && lm_n * 2 >= lm_cap) {
        lm_slot *old = lm;
        size_t oc = lm_cap;
        lm_cap *= 2;
        lm = calloc(lm_cap, sizeof(*lm));
        if (!lm) abort();
        lm_n = 0;
        for (size_t i = 0; i < oc; i++)
            if (old[i].index) *lm_find(old[i].index, old[i].term, true) = old[i];
        free(old);
    }
    size_t h = (size_t)(hash64(index * 31 + term, &term, sizeof(term)) & (lm_cap - 1));
    for (;;) {
        lm_slot *s = &lm[h];
        if (s->index == index && s->term == term) return s;
        if (s->index == 0) {
            if (!insert) return NULL;
            s->index = index;
            s->term = term;
            lm_n++;
            return s;
        }
        h = (h + 1) & (lm_cap - 1);
    }
}

/* ---- network ---- */

typedef struct event {
    uint64_t t, seq;
    int to;
    uint8_t *buf;
    size_t len;
} event;

static event *heap;
static size_t heap_n, heap_cap;
static uint64_t ev_seq;

static bool ev_less(const event *a, const event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}
static void heap_push(event e)
{
    if (heap_n == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 1024;
        heap = realloc(heap, heap_cap * sizeof(*heap));
        if (!heap) abort();
    }
    size_t i = heap_n++;
    heap[i] = e;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&heap[i], &heap[p])) break;
        event t = heap[i];
        heap[i] = heap[p];
        heap[p] = t;
        i = p;
    }
}
static event heap_pop(void)
{
    event top = heap[0];
    heap[0] = heap[--heap_n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_n && ev_less(&heap[l], &heap[m])) m = l;
        if (r < heap_n && ev_less(&heap[r], &heap[m])) m = r;
        if (m == i) break;
        event t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- nodes ---- */

typedef struct node {
    uint64_t id;
    bool up;
    uint64_t restart_at;
    bool reset; /* the next restart is after hearsayd --raft-reset: see reset_storage */
    uint64_t reset_earliest; /* ... and not before this time */
    hs_raft *r;
    bool rd_pending;
    hs_raft_ready rd;
    uint64_t rd_done_at;
    /* durable state */
    hs_raft_hard_state hs;
    hs_raft_snapshot snap;
    hs_raft_entry *log;
    size_t nlog, caplog;
    /* state machine: index, running hash */
    uint64_t sm_index, sm_hash;
    uint64_t compact_every;
    /* checker state */
    uint64_t seen_commit;
    uint64_t la_term; /* Leader Append-Only: copy of the log while leader in la_term */
    table la_terms;
    uint64_t la_first, la_last;
    table votes; /* term -> candidate this node granted its vote to (never forgotten) */
} node;

static node nodes[MAXN];
static int nn;
static hs_raft_conf conf0;
static bool blocked[MAXN][MAXN];
static uint32_t drop_pm, dup_pm, lat_max, fsync_max;
static bool faults_on;

/* global checker state */
static table leader_of_term; /* term -> leader id */
static table committed_term; /* index -> term of the committed entry */
static table committed_in;   /* index -> term in which it was committed */
static table applied_hash;   /* index -> hash of the applied entry (type, term, data) */
static table chain_hash;     /* index -> state machine hash after applying index */
static uint64_t max_committed;
typedef struct {
    uint64_t id, index, term, node;
    bool acked;
} write_rec;
static write_rec *writes;
static size_t nwrites, capwrites;
static uint64_t max_acked_index;
typedef struct {
    uint64_t ctx, required, node;
    bool done;
} read_rec;
static read_rec *reads;
static size_t nreads, capreads;

/* stats */
static uint64_t st_events, st_msgs, st_crashes, st_elections, st_acked, st_reads, st_snapshots,
    st_confs, st_resets;

/* A reset node is down at least this long: longer than an election timeout plus the longest
 * message latency, so no candidacy it voted in is still collecting votes and none of its
 * messages is still in flight when it comes back (docs/raft.md "Repairing a seed"). */
#define RESET_DOWN_MS 400

static void durable_truncate(node *n, uint64_t from)
{
    while (n->nlog && n->log[n->nlog - 1].index >= from) {
        n->nlog--;
        free(n->log[n->nlog].data);
    }
}

static void durable_append(node *n, const hs_raft_entry *e)
{
    uint64_t last = n->nlog ? n->log[n->nlog - 1].index : n->snap.index;
    if (e->index != last + 1)
        violation("node %" PRIu64 ": gap in durable log (append %" PRIu64 " after %" PRIu64 ")",
                  n->id, e->index, last);
    if (n->nlog == n->caplog) {
        n->caplog = n->caplog ? n->caplog * 2 : 64;
        n->log = realloc(n->log, n->caplog * sizeof(*n->log));
        if (!n->log) abort();
    }
    hs_raft_entry *d = &n->log[n->nlog++];
    *d = *e;
    d->data = NULL;
    if (e->len) {
        d->data = malloc(e->len);
        if (!d->data) abort();
        memcpy(d->data, e->data, e->len);
    }
}

static void durable_set_snapshot(node *n, const hs_raft_snapshot *s)
{
    /* keep the log suffix only if it continues the snapshot */
    size_t keep_from = n->nlog;
    for (size_t i = 0; i < n->nlog; i++)
        if (n->log[i].index == s->index && n->log[i].term == s->term) keep_from = i + 1;
    for (size_t i = 0; i < keep_from; i++) free(n->log[i].data);
    if (n->nlog > keep_from)
        memmove(n->log, n->log + keep_from, (n->nlog - keep_from) * sizeof(*n->log));
    n->nlog -= keep_from;
    free(n->snap.data);
    n->snap = *s;
    n->snap.data = malloc(s->len ? s->len : 1);
    if (!n->snap.data) abort();
    memcpy(n->snap.data, s->data, s->len);
}

static uint64_t entry_hash(const hs_raft_entry *e)
{
    uint64_t h = hash64(e->type, &e->term, sizeof(e->term));
    return hash64(h, e->data, e->len);
}

/* The persistence contract, checked on every reply as it leaves: a granted vote is durable (and
 * is the only one this node ever granted in that term), an acknowledged entry is durable. */
static void check_reply_durable(const node *n, const hs_raft_msg *m)
{
    if (m->type == HS_RAFT_MSG_VOTE_RESP && !m->reject) {
        /* durable: this vote, or a later term (which makes voting again in m->term impossible) */
        if (n->hs.term < m->term || (n->hs.term == m->term && n->hs.vote != m->to))
            violation("node %" PRIu64 " granted a vote in term %" PRIu64 " not yet durable", n->id,
                      m->term);
        uint64_t prev = tget(&n->votes, m->term);
        if (prev && prev != m->to)
            violation("node %" PRIu64 " voted twice in term %" PRIu64 " (%" PRIu64 ", %" PRIu64 ")",
                      n->id, m->term, prev, m->to);
        tset(&((node *)n)->votes, m->term, m->to);
    }
    if (m->type == HS_RAFT_MSG_APPEND_RESP && !m->reject) {
        uint64_t last = n->nlog ? n->log[n->nlog - 1].index : n->snap.index;
        if (m->index > last)
            violation("node %" PRIu64 " acknowledged index %" PRIu64 " but only %" PRIu64
                      " is durable",
                      n->id, m->index, last);
    }
    bool pre = m->type == HS_RAFT_MSG_PREVOTE || m->type == HS_RAFT_MSG_PREVOTE_RESP;
    if (!pre && m->term > n->hs.term)
        violation("node %" PRIu64 " sent term %" PRIu64 " with durable term %" PRIu64, n->id,
                  m->term, n->hs.term);
}

static void send_msg(const node *sender, const hs_raft_msg *m)
{
    int from = (int)m->from - 1, to = (int)m->to - 1;
    if (to < 0 || to >= nn) return;
    check_reply_durable(sender, m);
    size_t len = hs_raft_msg_size(m);
    uint8_t *buf = malloc(len);
    if (!buf) abort();
    size_t got = hs_raft_msg_encode(m, buf, len);
    if (got != len) violation("encode failed for type 0x%02x (%zu vs %zu)", m->type, got, len);
    st_msgs++;
    int copies = 1;
    if (faults_on && (blocked[from][to] || chance(drop_pm))) copies = 0;
    if (faults_on && copies && chance(dup_pm)) copies = 2;
    if (!copies) {
        free(buf);
        return;
    }
    for (int c = 0; c < copies; c++) {
        event e = {.t = now + rnd_range(1, lat_max), .seq = ev_seq++, .to = to, .len = len};
        if (c == 0) {
            e.buf = buf;
        } else {
            e.buf = malloc(len);
            if (!e.buf) abort();
            memcpy(e.buf, buf, len);
        }
        heap_push(e);
    }
}

static void sm_apply(node *n, const hs_raft_entry *e)
{
    if (e->index != n->sm_index + 1) {
        violation("node %" PRIu64 " applies %" PRIu64 " after %" PRIu64, n->id, e->index,
                  n->sm_index);
        return;
    }
    uint64_t eh = entry_hash(e);
    uint64_t prev = tget(&applied_hash, e->index);
    if (prev && prev != eh)
        violation("State Machine Safety: node %" PRIu64 " applied a different entry at %" PRIu64,
                  n->id, e->index);
    tset(&applied_hash, e->index, eh);
    n->sm_hash = hash64(n->sm_hash, &eh, sizeof(eh));
    n->sm_index = e->index;
    uint64_t ch = tget(&chain_hash, e->index);
    if (ch && ch != n->sm_hash)
        violation("State Machine Safety: node %" PRIu64 " state differs at %" PRIu64, n->id,
                  e->index);
    tset(&chain_hash, e->index, n->sm_hash);
    if (e->type == HS_RAFT_ENTRY_NORMAL && e->len >= 8) {
        uint64_t wid;
        memcpy(&wid, e->data, 8);
        if (wid >= 1 && wid <= nwrites) {
            write_rec *w = &writes[wid - 1];
            if (w->index == e->index && w->term == e->term && w->node == n->id && !w->acked) {
                w->acked = true;
                st_acked++;
                if (w->index > max_acked_index) max_acked_index = w->index;
                trace("n%" PRIu64 " ack write %" PRIu64 " at %" PRIu64 "/%" PRIu64, n->id, wid,
                      e->index, e->term);
            }
        }
    }
}

static void sm_restore(node *n, const hs_raft_snapshot *s)
{
    uint64_t idx = 0, h = 0;
    if (s->len == 16) {
        memcpy(&idx, s->data, 8);
        memcpy(&h, s->data + 8, 8);
    }
    if (idx != s->index) violation("node %" PRIu64 ": snapshot data index mismatch", n->id);
    uint64_t ch = tget(&chain_hash, idx);
    if (ch && ch != h)
        violation("State Machine Safety: node %" PRIu64
                  " restored a snapshot differing at %" PRIu64,
                  n->id, idx);
    n->sm_index = idx;
    n->sm_hash = h;
}

/* The Ready of node n was fsynced: make it durable, send, apply, advance. */
static void finish_ready(node *n)
{
    hs_raft_ready *rd = &n->rd;
    if (rd->snapshot) {
        durable_set_snapshot(n, rd->snapshot);
        sm_restore(n, rd->snapshot);
        st_snapshots++;
        trace("n%" PRIu64 " installed snapshot %" PRIu64 "/%" PRIu64, n->id, rd->snapshot->index,
              rd->snapshot->term);
    }
    if (rd->n_entries) {
        durable_truncate(n, rd->entries[0].index);
        for (size_t i = 0; i < rd->n_entries; i++) durable_append(n, &rd->entries[i]);
    }
    if (rd->has_hard_state) n->hs = rd->hard_state;
    for (size_t i = 0; i < rd->n_msgs; i++) send_msg(n, &rd->msgs[i]);
    for (size_t i = 0; i < rd->n_committed; i++) sm_apply(n, &rd->committed[i]);
    for (size_t i = 0; i < rd->n_reads; i++) {
        const hs_raft_read_state *rs = &rd->reads[i];
        if (rs->ctx >= 1 && rs->ctx <= nreads) {
            read_rec *q = &reads[rs->ctx - 1];
            if (q->node == n->id && !q->done) {
                q->done = true;
                st_reads++;
                if (rs->index < q->required)
                    violation("stale ReadIndex: ctx %" PRIu64 " index %" PRIu64
                              " < acked write at %" PRIu64,
                              rs->ctx, rs->index, q->required);
            }
        }
    }
    hs_raft_advance(n->r, rd);
    n->rd_pending = false;
    /* (applied may run ahead of the state machine when a snapshot arrived meanwhile: it comes
     * out of the next Ready, and sm_apply checks that entries stay contiguous) */
    if (n->sm_index >= n->snap.index + n->compact_every) {
        uint8_t data[16];
        memcpy(data, &n->sm_index, 8);
        memcpy(data + 8, &n->sm_hash, 8);
        if (hs_raft_compact(n->r, n->sm_index, data, sizeof(data)) == HS_RAFT_OK) {
            durable_set_snapshot(n, hs_raft_get_snapshot(n->r));
            trace("n%" PRIu64 " compacted to %" PRIu64, n->id, n->sm_index);
        }
    }
}

/* Takes a Ready if there is one; its fsync completes a little later. */
static void collect_ready(node *n)
{
    if (!n->up || n->rd_pending || !hs_raft_has_ready(n->r)) return;
    if (!hs_raft_get_ready(n->r, &n->rd)) return;
    hs_raft_ready *rd = &n->rd;
    /* Log Matching: every entry that enters any log is checked against all others with the
     * same (index, term): same data, same preceding term. */
    for (size_t i = 0; i < rd->n_entries; i++) {
        const hs_raft_entry *e = &rd->entries[i];
        uint64_t prev = i ? rd->entries[i - 1].term : hs_raft_term_at(n->r, e->index - 1);
        lm_slot *s = lm_find(e->index, e->term, true);
        uint64_t eh = entry_hash(e);
        if (s->hash == 0) {
            s->hash = eh;
            s->prev = prev;
        } else if (s->hash != eh || (prev && s->prev && s->prev != prev)) {
            violation("Log Matching: node %" PRIu64 " holds a different entry at %" PRIu64
                      "/%" PRIu64,
                      n->id, e->index, e->term);
        }
    }
    if (rd->role_changed) {
        trace("n%" PRIu64 " is %s term %" PRIu64 " leader %" PRIu64, n->id,
              rd->role == HS_RAFT_PRECANDIDATE ? "precandidate" : hs_raft_role_name(rd->role),
              rd->term, rd->leader);
        if (rd->role == HS_RAFT_LEADER) st_elections++;
    }
    n->rd_pending = true;
    n->rd_done_at = now + (fsync_max ? rnd_range(0, fsync_max) : 0);
}

/* hearsayd --raft-reset on a crashed node: its log and snapshot are gone, and half of the time
 * its hard state too (term and vote 0); it comes back recovering. */
static void reset_storage(node *n)
{
    for (size_t i = 0; i < n->nlog; i++) free(n->log[i].data);
    n->nlog = 0;
    free(n->snap.data);
    memset(&n->snap, 0, sizeof(n->snap));
    bool keep = chance(500);
    if (!keep) n->hs.term = n->hs.vote = 0;
    n->hs.commit = 0;
    n->hs.recovering = true;
    n->reset = false;
    st_resets++;
    trace("n%" PRIu64 " reset: log and snapshot discarded, %s", n->id,
          keep ? "term and vote kept" : "term and vote lost");
}

static void start_node(node *n)
{
    if (n->reset) reset_storage(n);
    hs_raft_cfg cfg = {.id = n->id,
                       .rng_seed = rnd(),
                       .election_min_ms = 150,
                       .election_max_ms = 300,
                       .heartbeat_ms = 50,
                       .peers = conf0,
                       .hard = n->hs,
                       .snapshot = n->snap.index ? &n->snap : NULL,
                       .entries = n->log,
                       .n_entries = n->nlog};
    n->r = hs_raft_new(&cfg, now);
    if (!n->r) {
        violation("node %" PRIu64 " failed to restart from its durable state", n->id);
        return;
    }
    n->up = true;
    n->sm_index = 0;
    n->sm_hash = 0;
    if (n->snap.index) sm_restore(n, &n->snap);
    n->seen_commit = 0;
    n->la_term = 0;
}

static void crash_node(node *n)
{
    if (!n->up) return;
    if (n->rd_pending) hs_raft_advance(n->r, &n->rd); /* frees it; the node is discarded */
    n->rd_pending = false;
    hs_raft_free(n->r);
    n->r = NULL;
    n->up = false;
    st_crashes++;
    trace("n%" PRIu64 " crashed (durable: term %" PRIu64 " vote %" PRIu64 " log %" PRIu64
          "..%" PRIu64 ")",
          n->id, n->hs.term, n->hs.vote, n->snap.index, n->snap.index + n->nlog);
}

static void free_node(node *n)
{
    crash_node(n);
    for (size_t i = 0; i < n->nlog; i++) free(n->log[i].data);
    free(n->log);
    free(n->snap.data);
    tfree(&n->la_terms);
    tfree(&n->votes);
    memset(n, 0, sizeof(*n));
}

/* ---- invariants checked after every event ---- */

static void check_invariants(void)
{
    for (int i = 0; i < nn; i++) {
        node *n = &nodes[i];
        if (!n->up) continue;
        hs_raft *r = n->r;
        uint64_t term = hs_raft_term(r);
        uint64_t first = hs_raft_first_index(r), last = hs_raft_last_index(r);
        /* commits: remember the term of every committed entry */
        uint64_t c = hs_raft_commit(r);
        for (uint64_t k = n->seen_commit + 1; k <= c; k++) {
            uint64_t t = hs_raft_term_at(r, k);
            if (!t) continue;
            uint64_t ct = tget(&committed_term, k);
            if (ct && ct != t)
                violation("two different entries committed at %" PRIu64 " (terms %" PRIu64
                          " and %" PRIu64 ")",
                          k, ct, t);
            tset(&committed_term, k, t);
            /* the first node to see an index committed is the leader that committed it */
            if (!ct) tset(&committed_in, k, term);
            if (k > max_committed) max_committed = k;
        }
        if (c > n->seen_commit) n->seen_commit = c;
        if (hs_raft_get_role(r) != HS_RAFT_LEADER) {
            n->la_term = 0;
            continue;
        }
        /* Election Safety */
        uint64_t l = tget(&leader_of_term, term);
        if (l && l != n->id)
            violation("Election Safety: nodes %" PRIu64 " and %" PRIu64 " both lead term %" PRIu64,
                      l, n->id, term);
        tset(&leader_of_term, term, n->id);
        /* Leader Append-Only */
        if (n->la_term == term) {
            if (last < n->la_last)
                violation("Leader Append-Only: leader %" PRIu64 " log shrank %" PRIu64
                          " -> %" PRIu64,
                          n->id, n->la_last, last);
            uint64_t from = first > n->la_first ? first : n->la_first;
            for (uint64_t k = from; k <= n->la_last && k <= last; k++)
                if (tget(&n->la_terms, k) != hs_raft_term_at(r, k))
                    violation("Leader Append-Only: leader %" PRIu64 " rewrote entry %" PRIu64,
                              n->id, k);
        }
        n->la_term = term;
        n->la_first = first;
        n->la_last = last;
        for (uint64_t k = first; k <= last; k++) tset(&n->la_terms, k, hs_raft_term_at(r, k));
        /* Leader Completeness: every entry committed in an earlier term is in the leader's log
         * (a stale leader of an older term may of course lack newer commits) */
        uint64_t base = first - 1;
        if (base && tget(&committed_term, base) && tget(&committed_in, base) < term &&
            tget(&committed_term, base) != hs_raft_term_at(r, base))
            violation("Leader Completeness: leader %" PRIu64 " snapshot base differs", n->id);
        for (uint64_t k = first; k <= max_committed; k++) {
            uint64_t ct = tget(&committed_term, k);
            if (!ct || tget(&committed_in, k) >= term) continue;
            if (k > last || ct != hs_raft_term_at(r, k))
                violation("Leader Completeness: leader %" PRIu64 " of term %" PRIu64
                          " lacks the entry committed at %" PRIu64 " in term %" PRIu64,
                          n->id, term, k, tget(&committed_in, k));
        }
    }
    /* No acknowledged write lost: its slot in the committed history is still that write */
    for (size_t i = 0; i < nwrites; i++) {
        const write_rec *w = &writes[i];
        if (!w->acked) continue;
        uint64_t ct = tget(&committed_term, w->index);
        if (ct && ct != w->term)
            violation("acknowledged write %" PRIu64 " at %" PRIu64 "/%" PRIu64 " was lost", w->id,
                      w->index, w->term);
    }
}

/* ---- workload and faults ---- */

static int find_leader(void)
{
    int best = -1;
    for (int i = 0; i < nn; i++) {
        if (!nodes[i].up || hs_raft_get_role(nodes[i].r) != HS_RAFT_LEADER) continue;
        if (best < 0 || hs_raft_term(nodes[i].r) > hs_raft_term(nodes[best].r)) best = i;
    }
    return best;
}

/* A node is being reset (down for it, or back and recovering, up or down). */
static bool resetting(void)
{
    for (int i = 0; i < nn; i++)
        if (nodes[i].reset || nodes[i].hs.recovering ||
            (nodes[i].up && hs_raft_recovering(nodes[i].r)))
            return true;
    return false;
}

/* The operator's rule for hearsayd --raft-reset: one seed at a time, a member of a group of at
 * least 3 (so that the others hold a quorum without it), no seed change under way. */
static bool may_reset(const node *n)
{
    int l = find_leader();
    if (l < 0 || resetting()) return false;
    hs_raft *r = nodes[l].r;
    for (uint64_t i = hs_raft_applied(r) + 1; i <= hs_raft_last_index(r); i++) {
        const hs_raft_entry *e = hs_raft_entry_at(r, i);
        if (e && e->type == HS_RAFT_ENTRY_CONF) return false; /* a seed change under way */
    }
    const hs_raft_conf *c = hs_raft_get_conf(r);
    return c->n >= 3 && hs_raft_conf_find(c, n->id) != NULL;
}

/* The operator's add-seed / remove-seed, through whichever node leads: remove a random seed
 * (the leader included) when all are members, else add one of the missing ones back. Not
 * while a seed is being reset. */
static void client_conf_change(void)
{
    int l = find_leader();
    if (l < 0 || resetting()) return;
    hs_raft *r = nodes[l].r;
    const hs_raft_conf *c = hs_raft_get_conf(r);
    hs_raft_conf_change cc;
    memset(&cc, 0, sizeof(cc));
    if (c->n == (uint32_t)nn) {
        cc.op = HS_RAFT_REMOVE_SEED;
        cc.peer = c->peers[rnd_range(0, c->n - 1)];
    } else {
        cc.op = HS_RAFT_ADD_SEED;
        for (uint32_t i = 0; i < conf0.n; i++)
            if (!hs_raft_conf_find(c, conf0.peers[i].id)) cc.peer = conf0.peers[i];
    }
    uint64_t index, term;
    int rc = hs_raft_propose_conf(r, &cc, &index, &term);
    trace("n%d propose %s seed %" PRIu64 ": %s", l + 1,
          cc.op == HS_RAFT_ADD_SEED ? "add" : "remove", cc.peer.id,
          rc == 0               ? "ok"
          : rc == HS_RAFT_EBUSY ? "busy"
                                : "refused");
    if (rc == 0) st_confs++;
}

static void client_write(void)
{
    if (chance(25)) {
        client_conf_change();
        return;
    }
    /* ask a random node; only a leader accepts (stale leaders included: that is the point) */
    int i = (int)rnd_range(0, (uint64_t)nn - 1);
    if (chance(700)) {
        int l = find_leader();
        if (l >= 0) i = l;
    }
    node *n = &nodes[i];
    if (!n->up) return;
    if (nwrites == capwrites) {
        capwrites = capwrites ? capwrites * 2 : 256;
        writes = realloc(writes, capwrites * sizeof(*writes));
        if (!writes) abort();
    }
    uint64_t wid = nwrites + 1;
    uint8_t data[64];
    size_t len = 8 + (size_t)rnd_range(0, sizeof(data) - 8);
    memcpy(data, &wid, 8);
    for (size_t k = 8; k < len; k++) data[k] = (uint8_t)rnd();
    uint64_t index, term;
    if (hs_raft_propose(n->r, data, len, &index, &term) != HS_RAFT_OK) return;
    writes[nwrites++] = (write_rec){.id = wid, .index = index, .term = term, .node = n->id};
    trace("n%" PRIu64 " propose write %" PRIu64 " at %" PRIu64 "/%" PRIu64, n->id, wid, index,
          term);
}

static void client_read(void)
{
    int i = (int)rnd_range(0, (uint64_t)nn - 1);
    node *n = &nodes[i];
    if (!n->up) return;
    if (nreads == capreads) {
        capreads = capreads ? capreads * 2 : 64;
        reads = realloc(reads, capreads * sizeof(*reads));
        if (!reads) abort();
    }
    uint64_t ctx = nreads + 1;
    if (hs_raft_read_index(n->r, ctx) != HS_RAFT_OK) return;
    reads[nreads++] = (read_rec){.ctx = ctx, .required = max_acked_index, .node = n->id};
    trace("n%" PRIu64 " read ctx %" PRIu64 " (must see >= %" PRIu64 ")", n->id, ctx,
          max_acked_index);
}

static void fault(void)
{
    uint64_t k = rnd() % 100;
    if (k < 30) {
        memset(blocked, 0, sizeof(blocked));
        trace("heal");
    } else if (k < 50) {
        /* split into two sides */
        uint32_t side = (uint32_t)rnd();
        for (int a = 0; a < nn; a++)
            for (int b = 0; b < nn; b++) blocked[a][b] = ((side >> a) & 1) != ((side >> b) & 1);
        trace("partition mask %x", side & ((1u << nn) - 1));
    } else if (k < 60) {
        int a = (int)rnd_range(0, (uint64_t)nn - 1), b = (int)rnd_range(0, (uint64_t)nn - 1);
        blocked[a][b] = true;
        trace("one-way block n%d -> n%d", a + 1, b + 1);
    } else if (k < 70) {
        int a = (int)rnd_range(0, (uint64_t)nn - 1);
        for (int b = 0; b < nn; b++) blocked[a][b] = blocked[b][a] = (a != b);
        trace("isolate n%d", a + 1);
    } else {
        int a = (int)rnd_range(0, (uint64_t)nn - 1);
        node *n = &nodes[a];
        if (n->up) {
            bool reset = chance(60) && may_reset(n); /* its data is damaged: reset it */
            crash_node(n);
            /* quick restarts catch what a node forgets (vote, acked entries) mid-election */
            n->restart_at = now + (chance(500) ? rnd_range(1, 20) : rnd_range(10, 800));
            if (reset) {
                n->reset = true;
                n->reset_earliest = now + RESET_DOWN_MS;
                n->restart_at = now + rnd_range(RESET_DOWN_MS, 1200);
            }
        }
    }
}

/* One leader whose whole log is committed (acknowledged writes included) and applied by every
 * seed of its configuration. With report set, a failure is a violation. */
static bool converged(bool report)
{
    int l = find_leader();
    if (l < 0) {
        if (report) violation("no leader after the faults stopped");
        return false;
    }
    uint64_t lc = hs_raft_commit(nodes[l].r);
    if (report && lc < max_acked_index)
        violation("acknowledged writes up to %" PRIu64 " but the leader committed %" PRIu64,
                  max_acked_index, lc);
    if (lc != hs_raft_last_index(nodes[l].r)) {
        if (report) violation("the leader did not commit its log after the faults stopped");
        return false;
    }
    const hs_raft_conf *c = hs_raft_get_conf(nodes[l].r);
    if (!hs_raft_conf_find(c, nodes[l].id)) {
        if (report) violation("the leader is not a member");
        return false;
    }
    for (int i = 0; i < nn; i++)
        if (hs_raft_conf_find(c, nodes[i].id) && (!nodes[i].up || nodes[i].sm_index != lc)) {
            if (report)
                violation("node %d applied %" PRIu64 ", leader committed %" PRIu64, i + 1,
                          nodes[i].sm_index, lc);
            return false;
        }
    return true;
}

/* ---- one seed ---- */

typedef struct result {
    bool ok;
    uint64_t events;
} result;

static void reset_globals(void)
{
    tfree(&leader_of_term);
    tfree(&committed_term);
    tfree(&committed_in);
    tfree(&applied_hash);
    tfree(&chain_hash);
    max_committed = max_acked_index = 0;
    free(writes);
    writes = NULL;
    nwrites = capwrites = 0;
    free(reads);
    reads = NULL;
    nreads = capreads = 0;
    while (heap_n) free(heap_pop().buf);
    lm_reset();
    memset(blocked, 0, sizeof(blocked));
}

static bool run_seed(uint64_t seed, int nodes_opt)
{
    cur_seed = seed;
    rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
    violated = false;
    trace_n = 0;
    now = 0;
    reset_globals();
    nn = nodes_opt ? nodes_opt : (seed % 2 ? 3 : 5);
    drop_pm = (uint32_t)rnd_range(0, 100);
    dup_pm = (uint32_t)rnd_range(0, 50);
    lat_max = (uint32_t)rnd_range(1, 40);
    fsync_max = (uint32_t)rnd_range(0, 10);
    uint64_t fault_every = rnd_range(100, 600);
    uint64_t write_every = rnd_range(5, 40);
    uint64_t chaos_end = 6000, quiet_end = 9000, end = 10000;
    trace("seed %" PRIu64 ": %d nodes drop %u%% dup %u%% latency 1-%u ms fsync 0-%u ms", seed, nn,
          drop_pm / 10, dup_pm / 10, lat_max, fsync_max);
    memset(&conf0, 0, sizeof(conf0));
    for (int i = 0; i < nn; i++) {
        hs_raft_peer *p = &conf0.peers[conf0.n++];
        p->id = (uint64_t)i + 1;
        snprintf(p->name, sizeof(p->name), "seed%d", i + 1);
        p->addr = (hs_addr){.family = 4, .ip = {10, 0, 0, (uint8_t)(i + 1)}, .port = 7946};
    }
    memset(nodes, 0, sizeof(nodes));
    for (int i = 0; i < nn; i++) {
        nodes[i].id = (uint64_t)i + 1;
        nodes[i].compact_every = rnd_range(5, 80);
        start_node(&nodes[i]);
    }
    faults_on = true;
    uint64_t next_fault = fault_every, next_write = write_every, next_read = 50;
    bool healed = false;
    uint64_t events = 0;
    for (;;) {
        if (violated) break;
        if (now >= end) {
            /* liveness: once the faults stop the group must converge; give it up to
             * LIVENESS_MS (split votes in a 2-seed group can take a few rounds) */
            if (converged(false) || now >= chaos_end + LIVENESS_MS) break;
            end = now + 500;
        }
        /* the next thing to happen */
        uint64_t t = end;
        if (heap_n && heap[0].t < t) t = heap[0].t;
        for (int i = 0; i < nn; i++) {
            node *n = &nodes[i];
            if (!n->up) {
                if (n->restart_at < t) t = n->restart_at;
                continue;
            }
            uint64_t d = hs_raft_next_deadline(n->r);
            if (d < t) t = d;
            if (n->rd_pending && n->rd_done_at < t) t = n->rd_done_at;
        }
        if (now < chaos_end && next_fault < t) t = next_fault;
        if (now < quiet_end && next_write < t) t = next_write;
        if (now < quiet_end && next_read < t) t = next_read;
        if (!healed && chaos_end < t) t = chaos_end;
        if (t < now) t = now;
        now = t;
        events++;

        if (!healed && now >= chaos_end) {
            healed = true;
            faults_on = false;
            memset(blocked, 0, sizeof(blocked));
            for (int i = 0; i < nn; i++)
                if (!nodes[i].up)
                    nodes[i].restart_at = nodes[i].reset && nodes[i].reset_earliest > now
                                              ? nodes[i].reset_earliest
                                              : now;
            trace("faults end: heal and restart everything");
        }
        if (heap_n && heap[0].t <= now) {
            event e = heap_pop();
            node *n = &nodes[e.to];
            if (n->up) {
                hs_raft_msg m;
                if (hs_raft_msg_decode(e.buf, e.len, &m) != 0) {
                    violation("decode failed for a message the core encoded");
                } else {
                    if (opt_verbose)
                        trace("n%" PRIu64 " <- n%" PRIu64 " type 0x%02x term %" PRIu64
                              " idx %" PRIu64 " n %u%s",
                              m.to, m.from, m.type, m.term, m.log_index ? m.log_index : m.index,
                              m.n_entries, m.reject ? " reject" : "");
                    hs_raft_step(n->r, now, &m);
                    hs_raft_msg_release(&m);
                }
            }
            free(e.buf);
        }
        for (int i = 0; i < nn; i++) {
            node *n = &nodes[i];
            if (!n->up && n->restart_at <= now) {
                start_node(n);
                trace("n%" PRIu64 " restarted", n->id);
            }
            if (!n->up) continue;
            if (n->rd_pending && n->rd_done_at <= now) finish_ready(n);
            if (hs_raft_next_deadline(n->r) <= now) hs_raft_tick(n->r, now);
            collect_ready(n);
            if (n->rd_pending && n->rd_done_at <= now) {
                finish_ready(n);
                collect_ready(n);
            }
        }
        if (now < chaos_end && now >= next_fault) {
            fault();
            next_fault = now + rnd_range(fault_every / 2, fault_every * 3 / 2);
        }
        if (now < quiet_end && now >= next_write) {
            client_write();
            next_write = now + rnd_range(1, write_every * 2);
        }
        if (now < quiet_end && now >= next_read) {
            client_read();
            next_read = now + rnd_range(20, 200);
        }
        check_invariants();
    }
    st_events += events;
    if (!violated && !converged(false))
        violation("not converged %" PRIu64 " ms after the faults stopped", now - chaos_end);
    if (!violated) converged(true); /* report the precise failure, if any */
    for (int i = 0; i < nn; i++) free_node(&nodes[i]);
    reset_globals();
    return !violated;
}

static void usage(void)
{
    fprintf(stderr, "usage: raft-sim [--seeds N] [--start S] [--nodes 3|5] [--trace] "
                    "[--verbose]\n");
}

int main(int argc, char **argv)
{
    uint64_t seeds = 100, start = 1;
    int nodes_opt = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            seeds = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--start") && i + 1 < argc) {
            start = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--nodes") && i + 1 < argc) {
            nodes_opt = atoi(argv[++i]);
            if (nodes_opt < 1 || nodes_opt > MAXN) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[i], "--trace")) {
            opt_trace = true;
        } else if (!strcmp(argv[i], "--verbose")) {
            opt_verbose = true;
        } else {
            usage();
            return 2;
        }
    }
    uint64_t failed = 0, first_failed = 0;
    for (uint64_t s = start; s < start + seeds; s++) {
        if (!run_seed(s, nodes_opt)) {
            if (!failed) first_failed = s;
            failed++;
            break; /* the first violation is the interesting one */
        }
    }
    free(heap);
    free(lm);
    printf("raft-sim: seeds %" PRIu64 "..%" PRIu64 " %s: events %" PRIu64 " msgs %" PRIu64
           " elections %" PRIu64 " crashes %" PRIu64 " acked-writes %" PRIu64 " reads %" PRIu64
           " snapshots-installed %" PRIu64 " seed-changes %" PRIu64 " resets %" PRIu64 "\n",
           start, start + seeds - 1, failed ? "FAILED" : "ok", st_events, st_msgs, st_elections,
           st_crashes, st_acked, st_reads, st_snapshots, st_confs, st_resets);
    if (failed) printf("first failing seed: %" PRIu64 "\n", first_failed);
    return failed ? 1 : 0;
}
