/* config_client.c: the configuration client's operations (contract in config_client.h).
 * - Every change gets a place in a client session: this agent's own (a random id per boot,
 *   seq 1, 2, ..., at most HS_CFGC_WINDOW unanswered past the lowest one), or, with an
 *   idempotency key, the key's (id = hash of the key, seq 1).
 * - The Raft leader serves it (config_serve.c).
 * - Anyone else forwards to the leader it knows (non-seeds: the hint from the last answer,
 *   else a seed in round robin), again after 1 s without an answer, at once to the leader a
 *   NOTLEADER names; forwarded requests are served by the leader only.
 * - A committed change is answered once this agent's configuration holds its version (a
 *   non-seed fetches it); a read once applied up to its read index; anything by its 8 s
 *   deadline. A change refused as stale whose only copy that refusal answered is placed anew
 *   and sent again, once; otherwise it ends EXPIRED (it may have applied). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config_client_internal.h"
#include "hearsay/wire.h"

/* ---- outputs ---- */

void cfgc__send(hs_cfgc *c, const hs_addr *to, const hs_cfgc_wire *m)
{
    size_t cap = hs_cfgc_wire_size(m);
    outmsg *o = malloc(sizeof(*o) + cap);
    if (!o) return;
    o->len = hs_cfgc_wire_encode(m, o->data, cap);
    if (!o->len) {
        c->stats.oversize++;
        free(o);
        return;
    }
    o->to = *to;
    o->datagram_ok = m->type == HS_MSG_CONFIG_FETCH ||
                     (m->type == HS_MSG_CONFIG_FETCH_RESP && m->config_len == 0);
    o->next = NULL;
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
}

bool hs_cfgc_next_msg(hs_cfgc *c, hs_cfgc_msg *out)
{
    free(c->out_cur);
    c->out_cur = c->out_head;
    if (!c->out_cur) return false;
    c->out_head = c->out_cur->next;
    if (!c->out_head) c->out_tail = NULL;
    out->to = c->out_cur->to;
    out->data = c->out_cur->data;
    out->len = c->out_cur->len;
    out->datagram_ok = c->out_cur->datagram_ok;
    return true;
}

bool hs_cfgc_next_done(hs_cfgc *c, hs_cfgc_done *out)
{
    donenode *n = c->done_head;
    if (!n) return false;
    c->done_head = n->next;
    if (!c->done_head) c->done_tail = NULL;
    *out = n->d;
    free(n);
    return true;
}

bool hs_cfgc_take_installed(hs_cfgc *c, hs_addr *from)
{
    bool v = c->installed;
    if (v) *from = c->installed_from;
    c->installed = false;
    return v;
}

bool hs_cfgc_take_raft_work(hs_cfgc *c)
{
    bool v = c->raft_work;
    c->raft_work = false;
    return v;
}

const hs_cfgc_stats *hs_cfgc_get_stats(const hs_cfgc *c)
{
    return &c->stats;
}

uint64_t cfgc__clock(const hs_cfgc *c)
{
    return c->clock_seen > c->cc->sess_clock ? c->clock_seen : c->cc->sess_clock;
}

void cfgc__copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* ---- operations ---- */

static cop *op_find(hs_cfgc *c, uint64_t id)
{
    for (cop *o = c->ops; o; o = o->next)
        if (o->id == id) return o;
    return NULL;
}

static void send_answer(hs_cfgc *c, const hs_addr *to, uint64_t rid, int result, const char *value,
                        bool found, uint64_t version)
{
    hs_cfgc_wire m = {.type = HS_MSG_CONFIG_FWD_RESP,
                      .rid = rid,
                      .result = (uint8_t)result,
                      .version = version,
                      .clock = cfgc__clock(c),
                      .found = found};
    cfgc__copy_str(m.value, sizeof(m.value), value);
    cfgc__copy_str(m.leader, sizeof(m.leader), hs_cfgc_leader(c, c->now));
    cfgc__send(c, to, &m);
}

static void push_done(hs_cfgc *c, uint64_t id, int kind, int result, const char *key,
                      const char *value, bool found, uint64_t version)
{
    donenode *n = calloc(1, sizeof(*n));
    if (!n) return;
    n->d.op = id;
    n->d.kind = kind;
    n->d.result = result;
    n->d.found = found;
    n->d.version = version;
    cfgc__copy_str(n->d.key, sizeof(n->d.key), key);
    cfgc__copy_str(n->d.value, sizeof(n->d.value), value);
    if (c->done_tail)
        c->done_tail->next = n;
    else
        c->done_head = n;
    c->done_tail = n;
}

/* Answers o (its origin, or the local caller) and frees it. */
void cfgc__finish(hs_cfgc *c, cop *o, int result, const char *value, bool found, uint64_t version)
{
    for (cop **pp = &c->ops; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    c->n_ops--;
    if (o->remote)
        send_answer(c, &o->origin, o->origin_rid, result, value, found, version);
    else
        push_done(c, o->id, o->kind, result, o->key, value, found, version);
    sodium_memzero(o->value, sizeof(o->value)); /* may hold a key */
    free(o);
}

static void complete_read(hs_cfgc *c, cop *o)
{
    const char *v = hs_cc_get(c->cc, o->key);
    cfgc__finish(c, o, v ? HS_CFGC_OK : HS_CFGC_NOTFOUND, v, v != NULL, c->cc->version);
}

void cfgc__check_catchup(hs_cfgc *c)
{
    for (cop *o = c->ops, *next; o; o = next) {
        next = o->next;
        if (o->state == ST_CATCHUP && c->cc->version >= o->want_version)
            cfgc__finish(c, o, HS_CFGC_OK, o->value, true, o->want_version);
        else if (o->state == ST_READ_WAIT && c->applied >= o->read_index)
            complete_read(c, o);
    }
}

/* ---- sessions (the client side) ---- */

static uint64_t keyed_session(const char *idem)
{
    static const uint8_t domain[] = "hearsay idempotency key";
    crypto_generichash_state st;
    uint8_t h[8];
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, domain, sizeof(domain));
    crypto_generichash_update(&st, (const uint8_t *)idem, strlen(idem));
    crypto_generichash_final(&st, h, sizeof(h));
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | h[i];
    return v ? v : 1;
}

/* The lowest seq of session still waiting here (at most seq). */
static uint64_t floor_of(const hs_cfgc *c, uint64_t session, uint64_t seq)
{
    uint64_t f = seq;
    for (const cop *o = c->ops; o; o = o->next)
        if (!o->remote && o->tag.session == session && o->tag.seq && o->tag.seq < f) f = o->tag.seq;
    return f;
}

/* Gives a change its place in this agent's session; false while the window is full. */
bool cfgc__place(hs_cfgc *c, cop *o)
{
    if (o->tag.session) return true;
    if (!c->sess_id) {
        do c->sess_id = hs_prng_next(&c->rng);
        while (!c->sess_id);
        c->sess_born = cfgc__clock(c);
        c->sess_next = 1;
    }
    if (c->sess_next >= floor_of(c, c->sess_id, c->sess_next) + HS_CFGC_WINDOW) return false;
    o->tag = (hs_cc_tag){.session = c->sess_id, .born = c->sess_born, .seq = c->sess_next++};
    o->own = true;
    return true;
}

/* The tag as it goes out now: the floor rises as answers come in. */
hs_cc_tag cfgc__tag_now(const hs_cfgc *c, const cop *o)
{
    hs_cc_tag t = o->tag;
    if (t.session && !o->remote) t.floor = floor_of(c, t.session, t.seq);
    return t;
}

/* The leader refused o as stale: its session was forgotten. If no other copy of it can still
 * apply, it certainly did not: place it anew and go again (once); else it ends EXPIRED. */
void cfgc__stale(hs_cfgc *c, cop *o)
{
    c->stats.stale++;
    if (o->own && o->tag.session == c->sess_id) c->sess_id = 0; /* begin another session */
    if (o->remote || o->renewed || o->copies > 1) {
        cfgc__finish(c, o, HS_CFGC_EXPIRED, NULL, false, 0);
        return;
    }
    o->renewed = true;
    if (o->keyed) {
        o->tag.born = cfgc__clock(c);
    } else {
        memset(&o->tag, 0, sizeof(o->tag));
        o->own = false;
    }
    o->copies = 0;
    o->state = ST_START;
    o->next_try = c->now;
}

/* ---- running an operation ---- */

static void send_fwd(hs_cfgc *c, cop *o)
{
    hs_cfgc_wire m = {.type = HS_MSG_CONFIG_FWD, .rid = o->id, .op = (uint8_t)o->kind};
    m.tag = cfgc__tag_now(c, o);
    cfgc__copy_str(m.key, sizeof(m.key), o->key);
    cfgc__copy_str(m.value, sizeof(m.value), o->value);
    cfgc__send(c, &o->target, &m);
    sodium_memzero(m.value, sizeof(m.value));
    o->copies++;
}

/* Runs o as far as it goes now: serve it as leader, read through the leader, or forward. */
static void op_run(hs_cfgc *c, cop *o)
{
    hs_raft *r = c->raft;
    o->next_try = c->now + CFGC_RETRY_MS;
    if (r && hs_raft_get_role(r) == HS_RAFT_LEADER) {
        cfgc__serve(c, o);
        return;
    }
    if (o->remote) {
        /* forwarded requests are served by the leader only; the answer names who leads */
        cfgc__finish(c, o, HS_CFGC_NOTLEADER, NULL, false, 0);
        return;
    }
    if (r && o->kind == HS_CFGC_READ && hs_raft_leader(r)) {
        /* a follower seed: ReadIndex through the leader, served from our own state */
        if (hs_raft_read_index(r, o->id) == HS_RAFT_OK) {
            o->state = ST_READING;
            o->next_try = c->now + CFGC_RESEND_MS;
            c->raft_work = true;
        }
        return;
    }
    if (hs_cfgc_changes(o->kind) && !cfgc__place(c, o)) return;
    const char *leader = hs_cfgc_leader(c, c->now);
    if (leader && cfgc__name_addr(c, leader, &o->target)) {
        /* forward to the leader */
    } else if (r || !cfgc__any_seed(c, &o->target)) {
        return; /* a seed without a known leader waits for the election */
    }
    o->state = ST_REMOTE;
    o->next_try = c->now + CFGC_RESEND_MS;
    send_fwd(c, o);
}

static cop *op_new(hs_cfgc *c, int kind, const char *key, const char *value)
{
    if (c->n_ops >= HS_CFGC_OPS_MAX) return NULL;
    cop *o = calloc(1, sizeof(*o));
    if (!o) return NULL;
    o->id = c->next_id++;
    if (!o->id) o->id = c->next_id++;
    o->kind = kind;
    cfgc__copy_str(o->key, sizeof(o->key), key);
    cfgc__copy_str(o->value, sizeof(o->value), value);
    o->deadline = c->now + CFGC_DEADLINE_MS;
    o->state = ST_START;
    o->next = c->ops;
    c->ops = o;
    c->n_ops++;
    return o;
}

uint64_t hs_cfgc_start(hs_cfgc *c, uint64_t now, int kind, const char *key, const char *value,
                       const char *idem)
{
    c->now = now;
    cop *o = kind >= 1 && kind <= HS_CFGC_KIND_MAX ? op_new(c, kind, key, value) : NULL;
    if (!o) {
        uint64_t id = c->next_id++;
        if (!id) id = c->next_id++;
        push_done(c, id, kind, HS_CFGC_TIMEOUT, key, NULL, false, 0);
        return id;
    }
    if (idem && idem[0] && hs_cfgc_changes(kind)) {
        o->keyed = true;
        o->tag = (hs_cc_tag){
            .session = keyed_session(idem), .born = cfgc__clock(c), .seq = 1, .floor = 1};
    }
    uint64_t id = o->id;
    op_run(c, o);
    return id;
}

/* ---- messages ---- */

static void on_fwd(hs_cfgc *c, const hs_addr *from, const hs_cfgc_wire *m)
{
    for (cop *o = c->ops; o; o = o->next)
        if (o->remote && o->origin_rid == m->rid && hs_addr_equal(&o->origin, from)) return;
    cop *o = op_new(c, m->op, m->key, m->value);
    if (!o) {
        send_answer(c, from, m->rid, HS_CFGC_TIMEOUT, NULL, false, 0);
        return;
    }
    o->remote = true;
    o->origin = *from;
    o->origin_rid = m->rid;
    o->tag = m->tag;
    op_run(c, o);
}

static void on_fwd_resp(hs_cfgc *c, const hs_addr *from, const hs_cfgc_wire *m)
{
    cfgc__set_hint(c, m->leader);
    if (m->clock > c->clock_seen) c->clock_seen = m->clock;
    cop *o = op_find(c, m->rid);
    if (!o || o->remote || o->state != ST_REMOTE || !hs_addr_equal(&o->target, from)) return;
    if (m->result == HS_CFGC_NOTLEADER || m->result == HS_CFGC_TIMEOUT) {
        hs_addr a;
        if (m->result == HS_CFGC_NOTLEADER && o->copies) o->copies--; /* it did nothing */
        o->state = ST_START;
        if (m->leader[0] && cfgc__name_addr(c, m->leader, &a) && !hs_addr_equal(&a, from))
            op_run(c, o); /* straight to the leader it named */
        else
            o->next_try = c->now + CFGC_RETRY_MS;
        return;
    }
    if (m->result == HS_CFGC_EXPIRED) {
        c->clock_seen = m->clock; /* the leader's: a new session is born at it */
        cfgc__stale(c, o);
        return;
    }
    if (m->result != HS_CFGC_OK || o->kind == HS_CFGC_READ) {
        cfgc__finish(c, o, m->result, m->value, m->found, m->version);
        return;
    }
    /* committed: answer once our own configuration has it */
    o->state = ST_CATCHUP;
    o->want_version = m->version;
    o->next_try = c->now + CFGC_CATCHUP_MS;
    if (m->version > c->want_version) c->want_version = m->version;
    if (c->cc->version >= m->version) {
        cfgc__finish(c, o, HS_CFGC_OK, o->value, true, m->version);
        return;
    }
    if (!c->cfg.seed) cfgc__send_fetch(c, from);
}

int hs_cfgc_receive(hs_cfgc *c, uint64_t now, const hs_addr *from, const uint8_t *data, size_t len)
{
    c->now = now;
    hs_cfgc_wire m;
    if (hs_cfgc_wire_decode(data, len, &m) != 0) return -1;
    switch (m.type) {
    case HS_MSG_CONFIG_FETCH:
        cfgc__on_fetch(c, from, &m);
        return 0;
    case HS_MSG_CONFIG_FETCH_RESP:
        return cfgc__on_fetch_resp(c, from, &m);
    case HS_MSG_CONFIG_FWD:
        on_fwd(c, from, &m);
        return 0;
    case HS_MSG_CONFIG_FWD_RESP:
        on_fwd_resp(c, from, &m);
        return 0;
    }
    return -1;
}

/* ---- Raft notifications ---- */

void hs_cfgc_applied(hs_cfgc *c, uint64_t now, uint64_t index, uint64_t term,
                     const hs_cc_outcome *out)
{
    c->now = now;
    if (index > c->applied) c->applied = index;
    for (cop *o = c->ops, *next; o; o = next) {
        next = o->next;
        if (o->state != ST_PROPOSED || o->index != index) continue;
        if (o->joined) {
            o->state = ST_START; /* the session knows the answer now */
            o->joined = false;
            o->next_try = now;
        } else if (o->term != term) {
            if (o->copies) o->copies--; /* lost with its leader: it never applied */
            o->state = ST_START;
            o->next_try = now + CFGC_RETRY_MS;
        } else {
            cfgc__answer(c, o, out);
        }
    }
    /* a new leader that just caught up serves what waited for that at once (next tick) */
    if (c->raft && hs_raft_get_role(c->raft) == HS_RAFT_LEADER && cfgc__caught_up(c))
        for (cop *o = c->ops; o; o = o->next)
            if (o->state == ST_START && o->next_try > now) o->next_try = now;
    cfgc__check_catchup(c);
}

void hs_cfgc_restored(hs_cfgc *c, uint64_t now, uint64_t index)
{
    c->now = now;
    if (index > c->applied) c->applied = index;
    for (cop *o = c->ops; o; o = o->next)
        if (o->state == ST_PROPOSED && o->index <= index) {
            o->state = ST_START; /* its entry is inside the snapshot: ask the sessions */
            o->joined = false;
            o->next_try = now;
        }
    cfgc__check_catchup(c);
}

void hs_cfgc_read_state(hs_cfgc *c, uint64_t now, uint64_t ctx, uint64_t index)
{
    c->now = now;
    cop *o = op_find(c, ctx);
    if (!o || o->state != ST_READING) return;
    o->state = ST_READ_WAIT;
    o->read_index = index;
    if (c->applied >= index) complete_read(c, o);
}

void hs_cfgc_role_changed(hs_cfgc *c, uint64_t now)
{
    c->now = now;
    /* waiting operations retry at once against the new leader (at the next tick, never
     * inside the caller's Ready) */
    for (cop *o = c->ops; o; o = o->next)
        if (o->state == ST_START || o->state == ST_READING || o->state == ST_REMOTE) {
            if (o->state == ST_REMOTE) o->state = ST_START;
            o->next_try = 0;
        }
}

/* ---- time ---- */

static bool waits_for_try(const hs_cfgc *c, const cop *o)
{
    return o->state == ST_START || o->state == ST_READING || o->state == ST_REMOTE ||
           (o->state == ST_CATCHUP && !c->cfg.seed);
}

void hs_cfgc_tick(hs_cfgc *c, uint64_t now)
{
    c->now = now;
    for (cop *o = c->ops, *next; o; o = next) {
        next = o->next;
        if (now >= o->deadline) {
            cfgc__finish(c, o,
                         o->state == ST_START && !hs_cfgc_leader(c, now) ? HS_CFGC_NOTLEADER
                                                                         : HS_CFGC_TIMEOUT,
                         NULL, false, 0);
            continue;
        }
        if (!waits_for_try(c, o) || now < o->next_try) continue;
        if (o->state == ST_REMOTE) {
            /* no answer: the hinted leader may be gone; ask again, elsewhere if we guessed */
            if (!c->cfg.seed) c->leader[0] = '\0';
            o->state = ST_START;
        }
        if (o->state == ST_CATCHUP) {
            hs_addr a;
            if (cfgc__any_seed(c, &a)) cfgc__send_fetch(c, &a);
            o->next_try = now + CFGC_CATCHUP_MS;
        } else {
            op_run(c, o);
        }
    }
    cfgc__fetch_tick(c);
}

uint64_t hs_cfgc_next_deadline(const hs_cfgc *c)
{
    uint64_t d = cfgc__fetch_deadline(c);
    for (const cop *o = c->ops; o; o = o->next) {
        if (o->deadline < d) d = o->deadline;
        if (waits_for_try(c, o) && o->next_try < d) d = o->next_try;
    }
    return d;
}

/* ---- life cycle ---- */

hs_cfgc *hs_cfgc_new(const hs_cfgc_cfg *cfg, hs_cluster_config *cc, uint64_t now)
{
    hs_cfgc *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->cfg = *cfg;
    if (c->cfg.n_seeds > HS_CFGC_SEEDS_MAX) c->cfg.n_seeds = HS_CFGC_SEEDS_MAX;
    c->cc = cc;
    c->now = now;
    c->rng.s = cfg->rng_seed;
    c->next_id = hs_prng_next(&c->rng);
    c->rr = hs_prng_below(&c->rng, 1024);
    c->ser = malloc(HS_CC_SERIALIZED_MAX);
    c->incoming = malloc(sizeof(*c->incoming));
    if (!c->ser || !c->incoming) {
        hs_cfgc_free(c);
        return NULL;
    }
    return c;
}

void hs_cfgc_attach_raft(hs_cfgc *c, hs_raft *r, uint64_t applied)
{
    c->raft = r;
    if (applied > c->applied) c->applied = applied;
}

void hs_cfgc_free(hs_cfgc *c)
{
    if (!c) return;
    while (c->ops) {
        cop *o = c->ops;
        c->ops = o->next;
        sodium_memzero(o->value, sizeof(o->value));
        free(o);
    }
    while (c->out_head) {
        outmsg *o = c->out_head;
        c->out_head = o->next;
        free(o);
    }
    free(c->out_cur);
    hs_cfgc_done d;
    while (hs_cfgc_next_done(c, &d)) {
    }
    free(c->ser);
    free(c->incoming);
    free(c);
}
