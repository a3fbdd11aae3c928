/* ue_query.c: what goes back to an origin: acknowledgements of delivered records, the answers
 * of queries (retransmitted directly and through a relay until the origin acknowledges them or
 * the query ends), and the origin's operations (an event fired with a wait, a query): the
 * members they wait for, resends to the silent ones, replies as they arrive and the end.
 *   ACK       = type flags:u8 from:str8 epoch:u64 seq:u32
 *   RESPONSE  = type flags:u8 origin:str8 epoch:u64 seq:u32 from:str8 payload:blob16
 *   RESP_ACK  = type flags:u8 from:str8 epoch:u64 seq:u32 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ue_internal.h"

/* ---- acknowledgements ---- */

static void send_small(hs_ue *u, const char *to_name, uint8_t type, uint8_t flags, uint64_t epoch,
                       uint32_t seq)
{
    hs_ue_member m;
    if (!ue_find(u, to_name, &m) || m.is_self) return;
    uint8_t buf[2 + 1 + HS_NAME_MAX + 12];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, type);
    hs_put_u8(&w, flags);
    hs_put_str8(&w, u->cfg.self, strlen(u->cfg.self));
    hs_put_u64(&w, epoch);
    hs_put_u32(&w, seq);
    if (w.ok) ue_send(u, &m.addr, buf, w.len, false);
}

void ue_ack(hs_ue *u, const char *origin, uint64_t epoch, uint32_t seq, uint8_t flags)
{
    if (epoch == u->epoch && !strcmp(origin, u->cfg.self))
        ue_local_ack(u, seq, u->cfg.self, flags);
    else
        send_small(u, origin, HS_MSG_UE_ACK, flags, epoch, seq);
}

/* The small messages (ACK, RESP_ACK): from, epoch, seq; false if malformed. */
static bool get_small(hs_ue *u, const uint8_t *data, size_t len, uint8_t allowed, uint8_t *flags,
                      char *from, uint64_t *epoch, uint32_t *seq)
{
    hs_reader rd;
    hs_reader_init(&rd, data, len);
    hs_get_u8(&rd);
    *flags = hs_get_u8(&rd);
    hs_get_str8(&rd, from, HS_NAME_MAX + 1, true);
    *epoch = hs_get_u64(&rd);
    *seq = hs_get_u32(&rd);
    if (!rd.ok || hs_reader_left(&rd) != 0 || (*flags & ~allowed) || !ue_member_name_ok(from)) {
        u->st.malformed++;
        return false;
    }
    return true;
}

void ue_on_ack(hs_ue *u, const uint8_t *data, size_t len)
{
    uint8_t flags;
    char from[HS_NAME_MAX + 1];
    uint64_t epoch;
    uint32_t seq;
    if (!get_small(u, data, len, UE_AF_SUPERSEDED | UE_AF_REFUSED, &flags, from, &epoch, &seq))
        return;
    if (epoch == u->epoch) ue_local_ack(u, seq, from, flags);
}

/* ---- operations ---- */

static ue_op *op_of(hs_ue *u, uint32_t seq)
{
    for (size_t i = 0; i < UE_OPS_MAX; i++)
        if (u->ops[i].op && u->ops[i].seq == seq) return &u->ops[i];
    return NULL;
}

static ue_target *target_of(ue_op *o, const char *name, bool add)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->t[i].name, name)) return &o->t[i];
    if (!add) return NULL;
    ue_target *t = realloc(o->t, (o->n + 1) * sizeof(*t));
    if (!t) abort();
    o->t = t;
    t = &o->t[o->n++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->extra = true;
    return t;
}

ue_op *ue_op_new(hs_ue *u, bool query, uint32_t seq, uint64_t ltime, uint64_t wait_ms)
{
    for (size_t i = 0; i < UE_OPS_MAX; i++) {
        ue_op *o = &u->ops[i];
        if (o->op) continue;
        memset(o, 0, sizeof(*o));
        o->op = ++u->next_op;
        o->query = query;
        o->seq = seq;
        o->ltime = ltime;
        o->t0 = u->now;
        o->deadline_ms = u->now + wait_ms;
        o->next_ms = u->now + u->cfg.ack_retry_ms;
        return o;
    }
    return NULL;
}

void ue_op_targets(hs_ue *u, ue_op *o, const ue_record *r)
{
    ue_filter f = {0};
    if (r && !ue_filter_compile(&f, r)) return;
    size_t n = u->view.count(u->view.ctx);
    bool self = false;
    o->t = calloc(n + 1, sizeof(*o->t));
    if (!o->t) abort();
    hs_ue_member m;
    for (size_t i = 0; i < n; i++) {
        if (!u->view.at(u->view.ctx, i, &m) || !m.live) continue;
        if (r && !ue_filter_match(&f, &m)) continue;
        self |= m.is_self;
        snprintf(o->t[o->n++].name, sizeof(o->t[0].name), "%s", m.name);
    }
    if (!self && !ue_find(u, u->cfg.self, &m)) { /* not in our own table yet: still a member */
        m = (hs_ue_member){u->cfg.self, {0}, {NULL, 0}, true, true};
        if (!r || ue_filter_match(&f, &m))
            snprintf(o->t[o->n++].name, sizeof(o->t[0].name), "%s", u->cfg.self);
    }
    if (r) ue_filter_free(&f);
}

/* The op's wire record, kept for direct resends. */
static void keep_wire(hs_ue *u, ue_op *o)
{
    if (o->wire) return;
    for (size_t i = 0; i < u->nheld; i++) {
        ue_held *h = &u->held[i];
        if (h->epoch != u->epoch || h->seq != o->seq || strcmp(h->origin, u->cfg.self)) continue;
        o->wire = malloc(h->wire_len);
        if (!o->wire) abort();
        memcpy(o->wire, h->wire, h->wire_len);
        o->wire_len = h->wire_len;
        o->age_off = h->age_off;
    }
}

static void reply(hs_ue *u, ue_op *o, const char *from, bool response, bool no_handler,
                  const uint8_t *payload, size_t len)
{
    ue_out_reply *r = ue_push(&u->replies);
    r->r.op = o->op;
    r->r.response = response;
    r->r.no_handler = no_handler;
    snprintf(r->r.from, sizeof(r->r.from), "%s", from);
    r->payload = malloc(len ? len : 1);
    if (!r->payload) abort();
    if (len) memcpy(r->payload, payload, len);
    r->r.payload = r->payload;
    r->r.len = len;
    r->r.elapsed_ms = u->now - o->t0;
}

/* Has target t an outcome (delivered, answered, refused)? */
static bool settled(const ue_op *o, const ue_target *t)
{
    return t->refused || (o->query ? t->answered : t->acked);
}

static bool live(hs_ue *u, const char *name)
{
    hs_ue_member m;
    if (!strcmp(name, u->cfg.self)) return true;
    return ue_find(u, name, &m) && m.live;
}

static void finish(hs_ue *u, ue_op *o)
{
    ue_out_done *d = ue_push(&u->dones);
    d->d.op = o->op;
    d->d.query = o->query;
    ue_make_id(d->d.id, u->cfg.self, u->epoch, o->seq);
    d->d.ltime = o->ltime;
    d->pending = calloc(o->n ? o->n : 1, sizeof(*d->pending));
    if (!d->pending) abort();
    bool complete = true;
    for (size_t i = 0; i < o->n; i++) {
        ue_target *t = &o->t[i];
        if (t->extra) continue;
        d->d.members++;
        bool ok = o->query ? t->answered : t->delivered;
        if (ok || (!t->refused && !live(u, t->name))) continue;
        complete = false;
        snprintf(d->pending[d->d.n_pending++], HS_NAME_MAX + 1, "%s", t->name);
    }
    d->d.pending = (const char(*)[HS_NAME_MAX + 1]) d->pending;
    d->d.delivered = o->delivered;
    d->d.acks = o->acks;
    d->d.responses = o->responses;
    d->d.answered = o->answered;
    d->d.complete = complete;
    d->d.elapsed_ms = u->now - o->t0;
    free(o->t);
    free(o->wire);
    memset(o, 0, sizeof(*o));
}

/* Ends o once every targeted member still live has its outcome. */
static void check(hs_ue *u, ue_op *o)
{
    for (size_t i = 0; i < o->n; i++)
        if (!o->t[i].extra && !settled(o, &o->t[i]) && live(u, o->t[i].name)) return;
    finish(u, o);
}

void ue_local_ack(hs_ue *u, uint32_t seq, const char *from, uint8_t flags)
{
    ue_op *o = op_of(u, seq);
    if (!o) return;
    ue_target *t = target_of(o, from, o->query);
    if (!t || settled(o, t)) return;
    if (flags & UE_AF_REFUSED) {
        t->refused = true;
    } else if (!t->acked) {
        t->acked = true;
        if (o->query) {
            o->acks++;
            reply(u, o, from, false, false, NULL, 0);
        } else {
            t->delivered = true;
            o->delivered++;
        }
    }
    check(u, o);
}

static void local_response(hs_ue *u, uint32_t seq, const char *from, const uint8_t *payload,
                           size_t len, bool no_handler)
{
    ue_op *o = op_of(u, seq);
    if (!o || !o->query) return;
    ue_target *t = target_of(o, from, true);
    if (t->answered) return;
    if (!t->acked) {
        t->acked = true;
        o->acks++;
        reply(u, o, from, false, false, NULL, 0);
    }
    t->answered = true;
    if (!t->extra) o->answered++;
    if (!no_handler) {
        o->responses++;
        reply(u, o, from, true, false, payload, len);
    }
    check(u, o);
}

/* Resends our record directly to every live target without an outcome. */
static void resend(hs_ue *u, ue_op *o)
{
    keep_wire(u, o);
    if (!o->wire) return;
    ue_held h = {.wire = o->wire, .wire_len = o->wire_len, .age_off = o->age_off, .recv_ms = o->t0};
    ue_held *hp = &h;
    for (size_t i = 0; i < o->n; i++) {
        ue_target *t = &o->t[i];
        hs_ue_member m;
        if (t->extra || settled(o, t) || t->acked || !strcmp(t->name, u->cfg.self) ||
            !ue_find(u, t->name, &m) || !m.live)
            continue;
        ue_send_held_to(u, &m.addr, &hp, 1, UE_MF_DIRECT);
    }
}

/* ---- answers ---- */

uint64_t ue_pending_add(hs_ue *u, const ue_record *r)
{
    if (u->npend == UE_PENDING_MAX) {
        free(u->pend[0].wire);
        memmove(u->pend, u->pend + 1, (u->npend - 1) * sizeof(*u->pend));
        u->npend--;
    }
    if (!u->pend) u->pend = calloc(UE_PENDING_MAX, sizeof(*u->pend));
    if (!u->pend) abort();
    ue_pending *p = &u->pend[u->npend++];
    memset(p, 0, sizeof(*p));
    p->ref = ++u->next_ref;
    snprintf(p->origin, sizeof(p->origin), "%s", r->origin);
    p->epoch = r->epoch;
    p->seq = r->seq;
    p->deadline_ms = u->now + (r->timeout_ms > r->age_ms ? r->timeout_ms - r->age_ms : 0);
    return p->ref;
}

static void drop_pending(hs_ue *u, size_t i)
{
    free(u->pend[i].wire);
    memmove(u->pend + i, u->pend + i + 1, (u->npend - i - 1) * sizeof(*u->pend));
    u->npend--;
}

/* Sends an answer to the origin, and through a relay when asked. */
static void send_answer(hs_ue *u, ue_pending *p, bool relay)
{
    hs_ue_member m;
    if (ue_find(u, p->origin, &m) && m.live && ue_spend(u, p->wire_len)) {
        p->wire[1] &= (uint8_t)~UE_PF_RELAY;
        ue_send(u, &m.addr, p->wire, p->wire_len, p->wire_len > u->cfg.max_packet);
    }
    hs_addr via;
    if (relay && ue_pick(u, 1, p->origin, NULL, &via) && ue_spend(u, p->wire_len)) {
        p->wire[1] |= UE_PF_RELAY;
        ue_send(u, &via, p->wire, p->wire_len, p->wire_len > u->cfg.max_packet);
        p->wire[1] &= (uint8_t)~UE_PF_RELAY;
    }
}

int hs_ue_respond(hs_ue *u, uint64_t now_ms, uint64_t ref, const uint8_t *payload, size_t len,
                  bool no_handler)
{
    if (now_ms > u->now) u->now = now_ms;
    if (len > HS_UE_PAYLOAD_MAX || (len && !payload)) return HS_UE_TOO_BIG;
    size_t i = 0;
    while (i < u->npend && u->pend[i].ref != ref) i++;
    if (i == u->npend || u->pend[i].answered) return HS_UE_UNKNOWN;
    ue_pending *p = &u->pend[i];
    u->st.responses_sent++;
    if (no_handler) len = 0;
    if (p->epoch == u->epoch && !strcmp(p->origin, u->cfg.self)) {
        local_response(u, p->seq, u->cfg.self, payload, len, no_handler);
        drop_pending(u, i);
        return HS_UE_OK;
    }
    size_t cap = 2 + 2 * (1 + HS_NAME_MAX) + 12 + 2 + len;
    p->wire = malloc(cap);
    if (!p->wire) abort();
    hs_writer w;
    hs_writer_init(&w, p->wire, cap);
    hs_put_u8(&w, HS_MSG_UE_RESPONSE);
    hs_put_u8(&w, no_handler ? UE_PF_NO_HANDLER : 0);
    hs_put_str8(&w, p->origin, strlen(p->origin));
    hs_put_u64(&w, p->epoch);
    hs_put_u32(&w, p->seq);
    hs_put_str8(&w, u->cfg.self, strlen(u->cfg.self));
    hs_put_blob16(&w, payload, len);
    p->wire_len = w.len;
    p->answered = true;
    p->next_ms = u->now + u->cfg.ack_retry_ms;
    send_answer(u, p, false);
    return HS_UE_OK;
}

void ue_on_response(hs_ue *u, const hs_addr *from, const uint8_t *data, size_t len)
{
    hs_reader rd;
    hs_reader_init(&rd, data, len);
    hs_get_u8(&rd);
    uint8_t flags = hs_get_u8(&rd);
    char origin[HS_NAME_MAX + 1], who[HS_NAME_MAX + 1];
    hs_get_str8(&rd, origin, sizeof(origin), true);
    uint64_t epoch = hs_get_u64(&rd);
    uint32_t seq = hs_get_u32(&rd);
    hs_get_str8(&rd, who, sizeof(who), true);
    size_t plen = 0;
    const uint8_t *payload = hs_get_blob16(&rd, HS_UE_PAYLOAD_MAX, &plen);
    if (!rd.ok || hs_reader_left(&rd) != 0 || (flags & ~(UE_PF_RELAY | UE_PF_NO_HANDLER)) ||
        !ue_member_name_ok(origin) || !ue_member_name_ok(who)) {
        u->st.malformed++;
        return;
    }
    bool ours = epoch == u->epoch && !strcmp(origin, u->cfg.self);
    if ((flags & UE_PF_RELAY) && !ours) { /* forward it, once, to a live origin */
        hs_ue_member m;
        if (!ue_find(u, origin, &m) || !m.live || !ue_spend(u, len)) return;
        uint8_t *copy = malloc(len);
        if (!copy) abort();
        memcpy(copy, data, len);
        copy[1] &= (uint8_t)~UE_PF_RELAY;
        ue_send(u, &m.addr, copy, len, len > u->cfg.max_packet);
        free(copy);
        u->st.relayed++;
        return;
    }
    if (!ours) return;
    hs_ue_member m;
    if (ue_find(u, who, &m))
        send_small(u, who, HS_MSG_UE_RESP_ACK, 0, epoch, seq);
    else if (from) { /* not in our table yet: answer where it came from */
        uint8_t buf[2 + 1 + HS_NAME_MAX + 12];
        hs_writer w;
        hs_writer_init(&w, buf, sizeof(buf));
        hs_put_u8(&w, HS_MSG_UE_RESP_ACK);
        hs_put_u8(&w, 0);
        hs_put_str8(&w, u->cfg.self, strlen(u->cfg.self));
        hs_put_u64(&w, epoch);
        hs_put_u32(&w, seq);
        ue_send(u, from, buf, w.len, false);
    }
    local_response(u, seq, who, payload, plen, flags & UE_PF_NO_HANDLER);
}

void ue_on_resp_ack(hs_ue *u, const uint8_t *data, size_t len)
{
    uint8_t flags;
    char from[HS_NAME_MAX + 1];
    uint64_t epoch;
    uint32_t seq;
    if (!get_small(u, data, len, 0, &flags, from, &epoch, &seq)) return;
    for (size_t i = 0; i < u->npend; i++)
        if (u->pend[i].answered && u->pend[i].epoch == epoch && u->pend[i].seq == seq &&
            !strcmp(u->pend[i].origin, from)) {
            drop_pending(u, i);
            return;
        }
}

/* ---- the tick ---- */

void ue_query_tick(hs_ue *u)
{
    for (size_t i = 0; i < u->npend;) {
        ue_pending *p = &u->pend[i];
        if (u->now >= p->deadline_ms) {
            drop_pending(u, i);
            continue;
        }
        if (p->answered && u->now >= p->next_ms) {
            send_answer(u, p, true);
            p->next_ms = u->now + u->cfg.ack_retry_ms;
        }
        i++;
    }
    for (size_t i = 0; i < UE_OPS_MAX; i++) {
        ue_op *o = &u->ops[i];
        if (!o->op) continue;
        if (u->now >= o->deadline_ms) {
            finish(u, o);
            continue;
        }
        if (u->now >= o->next_ms) {
            resend(u, o);
            o->next_ms = u->now + u->cfg.ack_retry_ms;
        }
        if (o->op) check(u, o);
    }
}

void ue_ops_free(hs_ue *u)
{
    for (size_t i = 0; i < UE_OPS_MAX; i++) {
        free(u->ops[i].t);
        free(u->ops[i].wire);
    }
}
