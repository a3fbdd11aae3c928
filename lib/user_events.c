/* user_events.c: the user-event core (include/hearsay/user_events.h): life cycle and output
 * queues, receiving records (the checks that keep each one to at most one delivery: seen,
 * fired before we started, older than the maximum age, below the floor), delivering them here
 * (with coalescing) and firing our own events. Spreading is ue_spread.c, acknowledgements and
 * queries ue_query.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ue_internal.h"

void hs_ue_cfg_default(hs_ue_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->budget_bps = 256 * 1024;
    c->fanout = 4;
    c->retransmits = 2;
    c->tick_ms = 100;
    c->repair_ms = 500;
    c->repair_for_ms = 10000;
    c->max_age_ms = 30000;
    c->coalesce_ms = 200;
    c->ack_retry_ms = 400;
    c->max_packet = HS_PACKET_MAX;
    c->buffer_bytes = 4u << 20;
}

const char *hs_ue_error_text(int err)
{
    switch (err) {
    case HS_UE_OK:
        return "ok";
    case HS_UE_BAD_NAME:
        return "bad name: 1-128 characters of A-Z a-z 0-9 . _ - :";
    case HS_UE_TOO_BIG:
        return "payload larger than 8192 bytes";
    case HS_UE_BAD_FILTER:
        return "bad filter: a member name, tag key or regular expression is invalid, or more "
               "than 16 filters";
    case HS_UE_BUSY:
        return "too many user events or queries in progress";
    case HS_UE_UNKNOWN:
        return "no such query waiting for an answer";
    default:
        return "unknown error";
    }
}

/* ---- queues ---- */

/* Items taken but not yet freed stay until the next begin(), which compacts the queue. */
void *ue_push(ue_queue *q)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        void *p = realloc(q->items, cap * q->size);
        if (!p) abort();
        q->items = p;
        q->cap = cap;
    }
    void *it = (char *)q->items + q->n++ * q->size;
    memset(it, 0, q->size);
    return it;
}

static void *pop(ue_queue *q)
{
    if (q->read >= q->n) return NULL;
    return (char *)q->items + q->read++ * q->size;
}

/* Frees what the caller took since the last call; the rest stays queued. */
static void begin(hs_ue *u, uint64_t now)
{
    if (now > u->now) u->now = now;
    ue_out_packet *p = u->packets.items;
    for (size_t i = 0; i < u->packets.read; i++) free(p[i].data);
    ue_out_delivery *d = u->deliveries.items;
    for (size_t i = 0; i < u->deliveries.read; i++) free(d[i].payload);
    ue_out_reply *r = u->replies.items;
    for (size_t i = 0; i < u->replies.read; i++) free(r[i].payload);
    ue_out_done *o = u->dones.items;
    for (size_t i = 0; i < u->dones.read; i++) free(o[i].pending);
    ue_queue *qs[] = {&u->packets, &u->deliveries, &u->replies, &u->dones};
    for (size_t k = 0; k < 4; k++) {
        ue_queue *q = qs[k];
        if (!q->read) continue;
        memmove(q->items, (char *)q->items + q->read * q->size, (q->n - q->read) * q->size);
        q->n -= q->read;
        q->read = 0;
    }
}

void ue_send(hs_ue *u, const hs_addr *to, const uint8_t *data, size_t len, bool stream)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) abort();
    memcpy(copy, data, len);
    ue_out_packet *p = ue_push(&u->packets);
    *p = (ue_out_packet){*to, copy, len, stream};
    u->st.packets_out++;
    u->st.bytes_out += len;
}

/* ---- the member table ---- */

bool ue_find(hs_ue *u, const char *name, hs_ue_member *out)
{
    return u->view.find(u->view.ctx, name, out);
}

static bool chosen(const hs_addr *out, size_t n, const hs_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (hs_addr_equal(&out[i], a)) return true;
    return false;
}

static bool eligible(const hs_ue_member *m, const char *skip1, const char *skip2)
{
    return m->live && !m->is_self && (!skip1 || strcmp(m->name, skip1)) &&
           (!skip2 || strcmp(m->name, skip2));
}

size_t ue_pick(hs_ue *u, size_t k, const char *skip1, const char *skip2, hs_addr *out)
{
    size_t n = u->view.count(u->view.ctx), got = 0;
    hs_ue_member m;
    if (n <= 64) { /* small: draw without replacement from those that qualify */
        hs_addr all[64];
        size_t na = 0;
        for (size_t i = 0; i < n; i++)
            if (u->view.at(u->view.ctx, i, &m) && eligible(&m, skip1, skip2)) all[na++] = m.addr;
        for (; got < k && na; got++) {
            size_t j = hs_prng_below(&u->rng, (uint32_t)na);
            out[got] = all[j];
            all[j] = all[--na];
        }
        return got;
    }
    for (size_t tries = 0; got < k && tries < 16 * k + 16; tries++) {
        size_t i = hs_prng_below(&u->rng, (uint32_t)n);
        if (!u->view.at(u->view.ctx, i, &m) || !eligible(&m, skip1, skip2)) continue;
        if (!chosen(out, got, &m.addr)) out[got++] = m.addr;
    }
    return got;
}

/* ---- clocks ---- */

uint64_t ue_uptime(const hs_ue *u)
{
    return u->now - u->start_ms;
}

uint32_t ue_age_now(const hs_ue *u, const ue_held *h)
{
    uint64_t a = h->age0 + (u->now - h->recv_ms);
    return a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
}

void ue_witness(hs_ue *u, uint64_t clock)
{
    if (clock > u->clock) u->clock = clock;
}

void ue_make_id(char *out, const char *origin, uint64_t epoch, uint32_t seq)
{
    snprintf(out, HS_UE_ID_MAX, "%s:%016llx:%u", origin, (unsigned long long)epoch, seq);
}

/* ---- delivering ---- */

static void queue_delivery(hs_ue *u, const hs_ue_delivery *d)
{
    ue_out_delivery *o = ue_push(&u->deliveries);
    o->d = *d;
    o->payload = malloc(d->len ? d->len : 1);
    if (!o->payload) abort();
    if (d->len) memcpy(o->payload, d->payload, d->len);
    o->d.payload = o->payload;
    if (d->query)
        u->st.queries_delivered++;
    else
        u->st.delivered++;
}

static void fill_delivery(hs_ue_delivery *d, const ue_record *r)
{
    memset(d, 0, sizeof(*d));
    d->query = r->kind == UE_KIND_QUERY;
    d->coalesce = r->flags & UE_RF_COALESCE;
    snprintf(d->name, sizeof(d->name), "%s", r->name);
    snprintf(d->origin, sizeof(d->origin), "%s", r->origin);
    ue_make_id(d->id, r->origin, r->epoch, r->seq);
    d->ltime = r->ltime;
    d->payload = r->payload;
    d->len = r->len;
}

static void ack_if_wanted(hs_ue *u, const char *origin, uint64_t epoch, uint32_t seq, bool want,
                          uint8_t flags)
{
    if (want) ue_ack(u, origin, epoch, seq, flags);
}

static ue_coalesce *coalesce_slot(hs_ue *u, const char *name)
{
    ue_coalesce *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < UE_COALESCE_NAMES; i++) {
        ue_coalesce *c = &u->co[i];
        if (c->used && !strcmp(c->name, name)) return c;
        if (!c->used && !free_slot) free_slot = c;
        if (c->used && !c->deadline_ms && (!oldest || c->last_ms < oldest->last_ms)) oldest = c;
    }
    ue_coalesce *c = free_slot ? free_slot : oldest;
    if (!c) return NULL; /* every name holds one: deliver without coalescing */
    free(c->payload);
    memset(c, 0, sizeof(*c));
    c->used = true;
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

static void hold(ue_coalesce *c, const ue_record *r, uint64_t deadline)
{
    free(c->payload);
    fill_delivery(&c->held, r);
    c->payload = malloc(r->len ? r->len : 1);
    if (!c->payload) abort();
    if (r->len) memcpy(c->payload, r->payload, r->len);
    c->held.payload = c->payload;
    c->deadline_ms = deadline;
    c->ack_origin[0] = '\0';
    if (r->flags & UE_RF_WANT_ACK) {
        snprintf(c->ack_origin, sizeof(c->ack_origin), "%s", r->origin);
        c->ack_epoch = r->epoch;
        c->ack_seq = r->seq;
    }
}

/* A coalescing event: held for the window, replaced by a newer one of its name. */
static void coalesce(hs_ue *u, const ue_record *r)
{
    bool want = r->flags & UE_RF_WANT_ACK;
    ue_coalesce *c = coalesce_slot(u, r->name);
    if (!c) {
        hs_ue_delivery d;
        fill_delivery(&d, r);
        queue_delivery(u, &d);
        ack_if_wanted(u, r->origin, r->epoch, r->seq, want, 0);
        return;
    }
    c->last_ms = u->now;
    if (c->deadline_ms && r->ltime > c->held.ltime) {
        if (c->ack_origin[0]) ue_ack(u, c->ack_origin, c->ack_epoch, c->ack_seq, UE_AF_SUPERSEDED);
        u->st.coalesced++;
        hold(c, r, c->deadline_ms);
    } else if (c->deadline_ms || r->ltime < c->newest) {
        u->st.coalesced++;
        ack_if_wanted(u, r->origin, r->epoch, r->seq, want, UE_AF_SUPERSEDED);
    } else {
        hold(c, r, u->now + u->cfg.coalesce_ms);
    }
    if (r->ltime > c->newest) c->newest = r->ltime;
}

void ue_coalesce_tick(hs_ue *u)
{
    for (size_t i = 0; i < UE_COALESCE_NAMES; i++) {
        ue_coalesce *c = &u->co[i];
        if (!c->used) continue;
        if (c->deadline_ms && c->deadline_ms <= u->now) {
            queue_delivery(u, &c->held);
            if (c->ack_origin[0]) ue_ack(u, c->ack_origin, c->ack_epoch, c->ack_seq, 0);
            c->deadline_ms = 0;
            free(c->payload);
            c->payload = NULL;
        } else if (!c->deadline_ms && u->now - c->last_ms > u->cfg.max_age_ms) {
            c->used = false;
        }
    }
}

bool ue_deliver(hs_ue *u, const ue_record *r)
{
    bool want = r->flags & UE_RF_WANT_ACK;
    if (r->kind == UE_KIND_QUERY) {
        hs_ue_member self = {u->cfg.self, {0}, {NULL, 0}, true, true};
        hs_ue_member found;
        if (ue_find(u, u->cfg.self, &found)) self.tags = found.tags;
        ue_filter f;
        bool match = ue_filter_compile(&f, r) && ue_filter_match(&f, &self);
        ue_filter_free(&f);
        if (!match) return false;
        hs_ue_delivery d;
        fill_delivery(&d, r);
        d.ref = ue_pending_add(u, r);
        d.remaining_ms = r->timeout_ms > r->age_ms ? r->timeout_ms - r->age_ms : 0;
        ue_seen_delivered(u, r->ltime);
        queue_delivery(u, &d);
        ack_if_wanted(u, r->origin, r->epoch, r->seq, want, 0);
        return true;
    }
    ue_seen_delivered(u, r->ltime);
    if (r->flags & UE_RF_COALESCE) {
        coalesce(u, r);
        return true;
    }
    hs_ue_delivery d;
    fill_delivery(&d, r);
    queue_delivery(u, &d);
    ack_if_wanted(u, r->origin, r->epoch, r->seq, want, 0);
    return true;
}

/* A record that arrived (not ours): at most one delivery, then spread it. */
static void take_record(hs_ue *u, const ue_record *r, uint8_t mflags, const char *sender)
{
    bool want = r->flags & UE_RF_WANT_ACK, direct = mflags & UE_MF_DIRECT;
    ue_witness(u, r->ltime + 1);
    if (r->epoch == u->epoch && !strcmp(r->origin, u->cfg.self)) return; /* our own, back */
    if (ue_seen(u, r->origin, r->epoch, r->seq)) {
        u->st.duplicates++;
        if (!direct || !want) return;
        /* the origin resends it to us: it missed our acknowledgement */
        bool for_us = false;
        for (size_t i = 0; i < u->nheld; i++)
            if (u->held[i].seq == r->seq && u->held[i].epoch == r->epoch &&
                !strcmp(u->held[i].origin, r->origin))
                for_us = u->held[i].for_us;
        ue_ack(u, r->origin, r->epoch, r->seq, for_us ? 0 : UE_AF_REFUSED);
        return;
    }
    bool old = r->age_ms > u->cfg.max_age_ms || r->age_ms > ue_uptime(u) ||
               (r->kind == UE_KIND_QUERY && r->age_ms >= r->timeout_ms);
    if (old || r->ltime < u->floor) {
        if (old)
            u->st.refused_old++;
        else
            u->st.refused_floor++;
        if (direct && want) ue_ack(u, r->origin, r->epoch, r->seq, UE_AF_REFUSED);
        return;
    }
    ue_seen_mark(u, r->origin, r->epoch, r->seq, r->ltime);
    u->last_new_ms = u->now;
    ue_held *h = ue_hold(u, r);
    bool for_us = ue_deliver(u, r);
    if (!h) return;
    h->for_us = for_us;
    if (mflags & (UE_MF_REPAIR | UE_MF_DIRECT)) {
        h->hot = 0; /* a straggler: the others have it already */
        return;
    }
    ue_push_new(u, h, sender);
}

/* RECORDS: the whole message is checked before any record of it counts. */
static void on_records(hs_ue *u, const uint8_t *data, size_t len)
{
    ue_record *r = malloc(sizeof(*r));
    if (!r) abort();
    hs_reader rd;
    hs_reader_init(&rd, data, len);
    hs_get_u8(&rd);
    uint8_t flags = hs_get_u8(&rd);
    char sender[HS_NAME_MAX + 1];
    hs_get_str8(&rd, sender, sizeof(sender), true);
    uint64_t clock = hs_get_u64(&rd);
    uint8_t count = hs_get_u8(&rd);
    size_t first = rd.pos;
    bool ok =
        rd.ok && count && !(flags & ~(UE_MF_REPAIR | UE_MF_DIRECT)) && ue_member_name_ok(sender);
    for (uint8_t i = 0; ok && i < count; i++) ok = ue_get_record(&rd, r);
    if (!ok || hs_reader_left(&rd) != 0) {
        u->st.malformed++;
        free(r);
        return;
    }
    ue_witness(u, clock);
    hs_reader_init(&rd, data, len);
    rd.pos = first;
    for (uint8_t i = 0; i < count; i++)
        if (ue_get_record(&rd, r)) take_record(u, r, flags, sender);
    free(r);
}

/* ---- life cycle ---- */

hs_ue *hs_ue_new(const hs_ue_cfg *cfg, const hs_ue_view *view, uint64_t now_ms)
{
    if (!ue_member_name_ok(cfg->self) || !view || !view->count || !view->at || !view->find)
        return NULL;
    hs_ue *u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->cfg = *cfg;
    hs_ue_cfg d;
    hs_ue_cfg_default(&d);
    uint32_t *fields[] = {&u->cfg.budget_bps,   &u->cfg.fanout,     &u->cfg.tick_ms,
                          &u->cfg.repair_ms,    &u->cfg.max_age_ms, &u->cfg.coalesce_ms,
                          &u->cfg.ack_retry_ms, &u->cfg.max_packet, &u->cfg.repair_for_ms};
    uint32_t *dflt[] = {&d.budget_bps,   &d.fanout,     &d.tick_ms,
                        &d.repair_ms,    &d.max_age_ms, &d.coalesce_ms,
                        &d.ack_retry_ms, &d.max_packet, &d.repair_for_ms};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!*fields[i]) *fields[i] = *dflt[i];
    if (u->cfg.fanout > 8) u->cfg.fanout = 8;
    if (!u->cfg.buffer_bytes) u->cfg.buffer_bytes = d.buffer_bytes;
    u->view = *view;
    u->rng.s = cfg->rng_seed ^ 0x7573657265767473ULL;
    while (!u->epoch) u->epoch = hs_prng_next(&u->rng);
    u->next_seq = 1;
    u->now = u->start_ms = u->tokens_ms = now_ms;
    u->clock = u->floor = u->horizon = cfg->floor;
    u->tokens = u->cfg.budget_bps;
    u->packets.size = sizeof(ue_out_packet);
    u->deliveries.size = sizeof(ue_out_delivery);
    u->replies.size = sizeof(ue_out_reply);
    u->dones.size = sizeof(ue_out_done);
    ue_seen_init(u);
    return u;
}

void hs_ue_free(hs_ue *u)
{
    if (!u) return;
    begin(u, u->now);
    ue_out_packet *p = u->packets.items;
    for (size_t i = 0; i < u->packets.n; i++) free(p[i].data);
    ue_out_delivery *d = u->deliveries.items;
    for (size_t i = 0; i < u->deliveries.n; i++) free(d[i].payload);
    ue_out_reply *r = u->replies.items;
    for (size_t i = 0; i < u->replies.n; i++) free(r[i].payload);
    ue_out_done *o = u->dones.items;
    for (size_t i = 0; i < u->dones.n; i++) free(o[i].pending);
    free(u->packets.items);
    free(u->deliveries.items);
    free(u->replies.items);
    free(u->dones.items);
    while (u->nheld) ue_drop_held(u, u->nheld - 1);
    free(u->held);
    for (size_t i = 0; i < UE_COALESCE_NAMES; i++) free(u->co[i].payload);
    for (size_t i = 0; i < u->npend; i++) free(u->pend[i].wire);
    free(u->pend);
    ue_ops_free(u);
    ue_seen_free(u);
    free(u);
}

/* ---- inputs ---- */

void hs_ue_receive(hs_ue *u, uint64_t now_ms, const hs_addr *from, const uint8_t *data, size_t len,
                   bool stream)
{
    (void)stream;
    begin(u, now_ms);
    if (!len) return;
    switch (data[0]) {
    case HS_MSG_UE_RECORDS:
        on_records(u, data, len);
        break;
    case HS_MSG_UE_ACK:
        ue_on_ack(u, data, len);
        break;
    case HS_MSG_UE_RESPONSE:
        ue_on_response(u, from, data, len);
        break;
    case HS_MSG_UE_RESP_ACK:
        ue_on_resp_ack(u, data, len);
        break;
    case HS_MSG_UE_DIGEST:
        ue_on_digest(u, data, len);
        break;
    default:
        u->st.malformed++;
    }
}

static bool busy(const hs_ue *u)
{
    if (u->nheld || u->npend) return true;
    for (size_t i = 0; i < UE_OPS_MAX; i++)
        if (u->ops[i].op) return true;
    for (size_t i = 0; i < UE_COALESCE_NAMES; i++)
        if (u->co[i].used) return true;
    return false;
}

void hs_ue_tick(hs_ue *u, uint64_t now_ms)
{
    begin(u, now_ms);
    if (u->now < u->next_tick_ms) return;
    u->next_tick_ms = u->now + u->cfg.tick_ms;
    ue_coalesce_tick(u);
    ue_spread_tick(u);
    ue_query_tick(u);
}

uint64_t hs_ue_next_deadline(const hs_ue *u)
{
    if (!busy(u)) return 0;
    return u->next_tick_ms > u->now ? u->next_tick_ms : u->now;
}

ue_held *ue_accept_own(hs_ue *u, const ue_record *r)
{
    size_t cap = 64 + r->len + HS_UE_FILTERS_MAX * (2 * HS_UE_NAME_MAX + HS_UE_REGEX_MAX + 4);
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    ue_record own = *r;
    ue_put_record(&w, r, &own.age_off);
    own.wire = buf;
    own.wire_len = w.len;
    ue_seen_mark(u, r->origin, r->epoch, r->seq, r->ltime);
    u->last_new_ms = u->now;
    ue_held *h = w.ok ? ue_hold(u, &own) : NULL;
    bool for_us = ue_deliver(u, &own);
    if (h) {
        h = &u->held[u->nheld - 1];
        h->for_us = for_us;
        ue_push_new(u, h, NULL);
    }
    free(buf);
    return h;
}

/* The record of a new event or query of ours, numbered and timed. */
static void own_record(hs_ue *u, ue_record *r, uint8_t kind, const char *name,
                       const uint8_t *payload, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    snprintf(r->origin, sizeof(r->origin), "%s", u->cfg.self);
    r->epoch = u->epoch;
    r->seq = u->next_seq++;
    r->ltime = u->clock++;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->payload = payload;
    r->len = len;
}

static void done_now(hs_ue *u, uint64_t op, const ue_record *r, size_t members)
{
    ue_out_done *d = ue_push(&u->dones);
    d->d.op = op;
    ue_make_id(d->d.id, r->origin, r->epoch, r->seq);
    d->d.ltime = r->ltime;
    d->d.members = members;
    d->d.delivered = 1;
}

static size_t live_count(hs_ue *u)
{
    size_t n = u->view.count(u->view.ctx), live = 0;
    bool self = false;
    hs_ue_member m;
    for (size_t i = 0; i < n; i++)
        if (u->view.at(u->view.ctx, i, &m) && m.live) {
            live++;
            self |= m.is_self;
        }
    return live + !self;
}

uint64_t hs_ue_fire(hs_ue *u, uint64_t now_ms, const char *name, const uint8_t *payload, size_t len,
                    bool coalesce_, uint64_t wait_ms, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    begin(u, now_ms);
    *err = !name || !hs_ue_name_valid(name) ? HS_UE_BAD_NAME
           : len > HS_UE_PAYLOAD_MAX        ? HS_UE_TOO_BIG
           : (len && !payload)              ? HS_UE_TOO_BIG
                                            : HS_UE_OK;
    if (*err) return 0;
    ue_record *r = malloc(sizeof(*r));
    if (!r) abort();
    own_record(u, r, UE_KIND_EVENT, name, payload, len);
    r->flags = (coalesce_ ? UE_RF_COALESCE : 0) | (wait_ms ? UE_RF_WANT_ACK : 0);
    uint64_t id;
    if (wait_ms) {
        ue_op *o = ue_op_new(u, false, r->seq, r->ltime, wait_ms);
        if (!o) {
            u->next_seq--;
            u->clock--;
            free(r);
            *err = HS_UE_BUSY;
            return 0;
        }
        ue_op_targets(u, o, NULL);
        id = o->op;
    } else {
        id = ++u->next_op;
    }
    u->st.fired++;
    ue_accept_own(u, r);
    if (!wait_ms) done_now(u, id, r, live_count(u));
    free(r);
    return id;
}

uint64_t hs_ue_query(hs_ue *u, uint64_t now_ms, const hs_ue_query_spec *q, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    begin(u, now_ms);
    *err =
        !q || !q->name || !hs_ue_name_valid(q->name)            ? HS_UE_BAD_NAME
        : q->len > HS_UE_PAYLOAD_MAX || (q->len && !q->payload) ? HS_UE_TOO_BIG
        : q->n_nodes + q->n_tags > HS_UE_FILTERS_MAX || q->timeout_ms == 0 || q->timeout_ms > 300000
            ? HS_UE_BAD_FILTER
            : HS_UE_OK;
    if (*err) return 0;
    ue_record *r = malloc(sizeof(*r));
    if (!r) abort();
    memset(r, 0, sizeof(*r));
    r->kind = UE_KIND_QUERY;
    for (size_t i = 0; i < q->n_nodes && !*err; i++) {
        if (!q->nodes[i] || !ue_member_name_ok(q->nodes[i]))
            *err = HS_UE_BAD_FILTER;
        else
            snprintf(r->nodes[i], sizeof(r->nodes[i]), "%s", q->nodes[i]);
    }
    for (size_t i = 0; i < q->n_tags && !*err; i++) {
        const hs_ue_tag_filter *t = &q->tags[i];
        if (!t->key || !t->regex || !ue_tag_key_ok(t->key) || strlen(t->regex) > HS_UE_REGEX_MAX)
            *err = HS_UE_BAD_FILTER;
        else {
            snprintf(r->tag_keys[i], sizeof(r->tag_keys[i]), "%s", t->key);
            snprintf(r->tag_res[i], sizeof(r->tag_res[i]), "%s", t->regex);
        }
    }
    r->n_nodes = (uint8_t)q->n_nodes;
    r->n_tags = (uint8_t)q->n_tags;
    ue_filter f;
    if (!*err && !ue_filter_compile(&f, r)) *err = HS_UE_BAD_FILTER;
    if (*err) {
        free(r);
        return 0;
    }
    ue_filter_free(&f);
    ue_record spec = *r;
    own_record(u, r, UE_KIND_QUERY, q->name, q->payload, q->len);
    memcpy(r->nodes, spec.nodes, sizeof(r->nodes));
    memcpy(r->tag_keys, spec.tag_keys, sizeof(r->tag_keys));
    memcpy(r->tag_res, spec.tag_res, sizeof(r->tag_res));
    r->n_nodes = spec.n_nodes;
    r->n_tags = spec.n_tags;
    r->flags = UE_RF_WANT_ACK;
    r->timeout_ms = q->timeout_ms;
    ue_op *o = ue_op_new(u, true, r->seq, r->ltime, q->timeout_ms);
    if (!o) {
        u->next_seq--;
        u->clock--;
        free(r);
        *err = HS_UE_BUSY;
        return 0;
    }
    ue_op_targets(u, o, r);
    uint64_t id = o->op;
    u->st.queries++;
    ue_accept_own(u, r);
    free(r);
    ue_query_tick(u); /* nobody targeted: it ends at once */
    return id;
}

/* ---- outputs ---- */

bool hs_ue_next_packet(hs_ue *u, hs_ue_packet *out)
{
    ue_out_packet *p = pop(&u->packets);
    if (!p) return false;
    *out = (hs_ue_packet){p->to, p->data, p->len, p->stream};
    return true;
}

bool hs_ue_next_delivery(hs_ue *u, hs_ue_delivery *out)
{
    ue_out_delivery *d = pop(&u->deliveries);
    if (!d) return false;
    *out = d->d;
    return true;
}

bool hs_ue_next_reply(hs_ue *u, hs_ue_reply *out)
{
    ue_out_reply *r = pop(&u->replies);
    if (!r) return false;
    *out = r->r;
    return true;
}

bool hs_ue_next_done(hs_ue *u, hs_ue_done *out)
{
    ue_out_done *d = pop(&u->dones);
    if (!d) return false;
    *out = d->d;
    return true;
}

uint64_t hs_ue_horizon(const hs_ue *u)
{
    return u->horizon;
}

bool hs_ue_take_save(hs_ue *u)
{
    bool s = u->save;
    u->save = false;
    return s;
}

uint64_t hs_ue_clock(const hs_ue *u)
{
    return u->clock;
}

const hs_ue_stats *hs_ue_get_stats(const hs_ue *u)
{
    return &u->st;
}

size_t hs_ue_buffered(const hs_ue *u)
{
    return u->nheld;
}
