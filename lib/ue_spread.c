/* ue_spread.c: how user-event records travel: the records a core holds (for relaying and
 * repair, bounded in bytes and age), the immediate push of a new record to `fanout` random live
 * members, its retransmission in the next ticks (many records per datagram; a record that does
 * not fit a datagram goes alone over a stream), the repair digests while active, and the token
 * bucket every byte of user traffic is paced by. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ue_internal.h"

#define HOT_MAX_MS   5000 /* a record not retransmitted by then is left to the repair */
#define BUCKET_FLOOR (64 * 1024)

bool ue_spend(hs_ue *u, size_t bytes)
{
    double cap = u->cfg.budget_bps > BUCKET_FLOOR ? u->cfg.budget_bps : BUCKET_FLOOR;
    if (u->now > u->tokens_ms) {
        u->tokens += (double)(u->now - u->tokens_ms) * u->cfg.budget_bps / 1000.0;
        if (u->tokens > cap) u->tokens = cap;
        u->tokens_ms = u->now;
    }
    if (u->tokens < (double)bytes) {
        u->st.deferred++;
        return false;
    }
    u->tokens -= (double)bytes;
    return true;
}

/* ---- held records ---- */

void ue_drop_held(hs_ue *u, size_t i)
{
    u->held_bytes -= u->held[i].wire_len;
    free(u->held[i].wire);
    u->held[i] = u->held[--u->nheld];
}

ue_held *ue_hold(hs_ue *u, const ue_record *r)
{
    while (u->nheld && u->held_bytes + r->wire_len > u->cfg.buffer_bytes) {
        size_t old = 0;
        for (size_t i = 1; i < u->nheld; i++)
            if (u->held[i].recv_ms < u->held[old].recv_ms) old = i;
        ue_drop_held(u, old);
    }
    if (u->nheld == u->capheld) {
        size_t cap = u->capheld ? 2 * u->capheld : 64;
        ue_held *p = realloc(u->held, cap * sizeof(*p));
        if (!p) abort();
        u->held = p;
        u->capheld = cap;
    }
    ue_held *h = &u->held[u->nheld];
    memset(h, 0, sizeof(*h));
    h->wire = malloc(r->wire_len);
    if (!h->wire) abort();
    memcpy(h->wire, r->wire, r->wire_len);
    h->wire_len = r->wire_len;
    h->age_off = r->age_off;
    h->kind = r->kind;
    h->flags = r->flags;
    snprintf(h->origin, sizeof(h->origin), "%s", r->origin);
    h->epoch = r->epoch;
    h->seq = r->seq;
    h->ltime = r->ltime;
    h->age0 = r->age_ms;
    h->recv_ms = u->now;
    if (r->kind == UE_KIND_QUERY)
        h->deadline_ms = u->now + (r->timeout_ms > r->age_ms ? r->timeout_ms - r->age_ms : 0);
    h->hot = (uint8_t)(u->cfg.retransmits > 255 ? 255 : u->cfg.retransmits);
    u->held_bytes += r->wire_len;
    u->nheld++;
    return h;
}

static bool expired(const hs_ue *u, const ue_held *h)
{
    return ue_age_now(u, h) > u->cfg.max_age_ms ||
           (h->kind == UE_KIND_QUERY && u->now >= h->deadline_ms);
}

/* ---- sending records ---- */

/* Copies h's record into w with its age as of now. */
static void put_held(hs_ue *u, hs_writer *w, const ue_held *h)
{
    size_t at = w->len;
    hs_put_bytes(w, h->wire, h->wire_len);
    if (!w->ok) return;
    uint32_t age = ue_age_now(u, h);
    uint8_t *p = w->buf + at + h->age_off;
    p[0] = (uint8_t)(age >> 24);
    p[1] = (uint8_t)(age >> 16);
    p[2] = (uint8_t)(age >> 8);
    p[3] = (uint8_t)age;
}

static size_t header_len(const hs_ue *u)
{
    return 2 + 1 + strlen(u->cfg.self) + 8 + 1;
}

/* One RECORDS message of hs[from, to) to `to`, budgeted. */
static bool send_batch(hs_ue *u, const hs_addr *to, ue_held *const *hs, size_t from, size_t upto,
                       uint8_t flags, bool stream)
{
    size_t need = header_len(u);
    for (size_t i = from; i < upto; i++) need += hs[i]->wire_len;
    if (!ue_spend(u, need)) return false;
    uint8_t *buf = need <= sizeof(u->scratch) ? u->scratch : malloc(need);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, need);
    ue_put_records_header(&w, flags, u->cfg.self, u->clock, (uint8_t)(upto - from));
    for (size_t i = from; i < upto; i++) put_held(u, &w, hs[i]);
    if (w.ok) ue_send(u, to, buf, w.len, stream);
    if (buf != u->scratch) free(buf);
    return w.ok;
}

void ue_send_held_to(hs_ue *u, const hs_addr *to, ue_held *const *hs, size_t n, uint8_t flags)
{
    size_t room = u->cfg.max_packet, hdr = header_len(u);
    size_t start = 0, bytes = hdr;
    for (size_t i = 0; i < n; i++) {
        if (hdr + hs[i]->wire_len > room) { /* alone, over a stream */
            if (start < i) send_batch(u, to, hs, start, i, flags, false);
            send_batch(u, to, hs, i, i + 1, flags, true);
            start = i + 1;
            bytes = hdr;
            continue;
        }
        if (bytes + hs[i]->wire_len > room || i - start == 255) {
            send_batch(u, to, hs, start, i, flags, false);
            start = i;
            bytes = hdr;
        }
        bytes += hs[i]->wire_len;
    }
    if (start < n) send_batch(u, to, hs, start, n, flags, false);
}

void ue_push_new(hs_ue *u, ue_held *h, const char *from_name)
{
    hs_addr to[8];
    size_t n = ue_pick(u, u->cfg.fanout, from_name, h->origin, to);
    uint64_t deferred = u->st.deferred;
    for (size_t i = 0; i < n; i++) ue_send_held_to(u, &to[i], &h, 1, 0);
    if (u->st.deferred != deferred && h->hot < 255) h->hot++; /* the next tick sends it */
}

/* ---- the tick: expiry, retransmission, repair ---- */

static void retransmit(hs_ue *u)
{
    ue_held **hot = NULL;
    size_t nhot = 0;
    for (size_t i = 0; i < u->nheld; i++) {
        ue_held *h = &u->held[i];
        if (!h->hot) continue;
        if (u->now - h->recv_ms > HOT_MAX_MS) {
            h->hot = 0;
            u->st.dropped_backlog++;
            continue;
        }
        if (!hot) hot = malloc(u->nheld * sizeof(*hot));
        if (!hot) abort();
        hot[nhot++] = h;
    }
    if (!nhot) return;
    hs_addr to[8];
    size_t n = ue_pick(u, u->cfg.fanout, NULL, NULL, to);
    uint64_t deferred = u->st.deferred;
    for (size_t i = 0; i < n; i++) ue_send_held_to(u, &to[i], hot, nhot, 0);
    if (u->st.deferred == deferred)
        for (size_t i = 0; i < nhot; i++) hot[i]->hot--;
    free(hot);
}

static void send_digest(hs_ue *u, const hs_addr *to, uint8_t flags)
{
    ue_digest_entry *d = malloc(UE_DIGEST_MAX * sizeof(*d));
    if (!d) abort();
    size_t n = ue_seen_digest(u, d, UE_DIGEST_MAX);
    size_t cap = 64 + HS_NAME_MAX + n * (1 + HS_NAME_MAX + 20);
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, HS_MSG_UE_DIGEST);
    hs_put_u8(&w, flags);
    hs_put_str8(&w, u->cfg.self, strlen(u->cfg.self));
    hs_put_u64(&w, u->clock);
    uint64_t up = ue_uptime(u);
    hs_put_u32(&w, up > UINT32_MAX ? UINT32_MAX : (uint32_t)up);
    hs_put_u16(&w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        hs_put_str8(&w, d[i].origin, strlen(d[i].origin));
        hs_put_u64(&w, d[i].epoch);
        hs_put_u32(&w, d[i].base);
        hs_put_u64(&w, d[i].bits);
    }
    if (w.ok && ue_spend(u, w.len)) ue_send(u, to, buf, w.len, w.len > u->cfg.max_packet);
    free(buf);
    free(d);
}

void ue_spread_tick(hs_ue *u)
{
    for (size_t i = 0; i < u->nheld;)
        if (expired(u, &u->held[i]))
            ue_drop_held(u, i);
        else
            i++;
    retransmit(u);
    if (u->now < u->next_repair_ms) return;
    u->next_repair_ms = u->now + u->cfg.repair_ms;
    if (!u->last_new_ms || u->now - u->last_new_ms > u->cfg.repair_for_ms) return;
    hs_addr to;
    if (ue_pick(u, 1, NULL, NULL, &to)) send_digest(u, &to, 0);
}

/* DIGEST: send back what it lacks (fired after the asker started), and ask for what we lack.
 * Both go to the member the digest names, at the address our table holds for it, never to the
 * packet's source: a digest re-sent from elsewhere reflects nothing onto that address. */
void ue_on_digest(hs_ue *u, const uint8_t *data, size_t len)
{
    hs_reader rd;
    hs_reader_init(&rd, data, len);
    hs_get_u8(&rd);
    uint8_t flags = hs_get_u8(&rd);
    char sender[HS_NAME_MAX + 1];
    hs_get_str8(&rd, sender, sizeof(sender), true);
    uint64_t clock = hs_get_u64(&rd);
    uint32_t uptime = hs_get_u32(&rd);
    uint16_t n = hs_get_u16(&rd);
    if (!rd.ok || n > UE_DIGEST_MAX || (flags & ~UE_DF_REPLY) || !ue_member_name_ok(sender)) {
        u->st.malformed++;
        return;
    }
    ue_digest_entry *d = malloc((n ? n : 1) * sizeof(*d));
    if (!d) abort();
    for (uint16_t i = 0; i < n && rd.ok; i++) {
        hs_get_str8(&rd, d[i].origin, sizeof(d[i].origin), true);
        d[i].epoch = hs_get_u64(&rd);
        d[i].base = hs_get_u32(&rd);
        d[i].bits = hs_get_u64(&rd);
        if (rd.ok && (!ue_member_name_ok(d[i].origin) || !d[i].epoch)) rd.ok = false;
    }
    if (!rd.ok || hs_reader_left(&rd) != 0) {
        u->st.malformed++;
        free(d);
        return;
    }
    ue_witness(u, clock);
    hs_ue_member asker;
    if (!ue_find(u, sender, &asker) || !asker.live || asker.is_self) {
        free(d);
        return;
    }
    const hs_addr *to = &asker.addr;
    ue_held **send = NULL;
    size_t ns = 0;
    for (size_t i = 0; i < u->nheld; i++) {
        ue_held *h = &u->held[i];
        if (expired(u, h) || ue_age_now(u, h) > uptime || ue_digest_has(d, n, h)) continue;
        if (!send) send = malloc(u->nheld * sizeof(*send));
        if (!send) abort();
        send[ns++] = h;
    }
    if (ns) {
        ue_send_held_to(u, to, send, ns, UE_MF_REPAIR);
        u->st.repairs_sent += ns;
    }
    free(send);
    bool lacks = false;
    for (uint16_t i = 0; i < n && !lacks && !(flags & UE_DF_REPLY); i++)
        lacks = ue_seen_lacks(u, &d[i]);
    free(d);
    if (lacks) send_digest(u, to, UE_DF_REPLY);
}
