/* membership_gossip.c: spreading what we know.
 *   - piggyback: every Ping and Pong carries >= 2 entries: first the peer's own entry if we
 *     hold it failed or left (so it can refute), then pending updates, fewest sends first,
 *     then random members;
 *   - push: while updates are pending, a Gossip message goes to `fanout` random members
 *     every gossip interval, and at once when something new arrives (infect-and-forward);
 *   - Meet: full-state exchange in one round trip, used to join and, every sync interval
 *     (scaled with N so the bytes per second stay flat), as anti-entropy; each Meet is
 *     followed by one datagram of our tombstones (member_tombs.c);
 *   - revive: now and then a Ping to a random failed member, so healed partitions and
 *     members that came back are found even when nobody else talks to them. */
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

#define MAX_CHOSEN 128

static bool chosen_has(hs_member **chosen, size_t n, const hs_member *m)
{
    for (size_t i = 0; i < n; i++)
        if (chosen[i] == m) return true;
    return false;
}

static size_t put_entries(hs_node *n, hs_writer *w, const hs_member *peer, bool fill_random)
{
    hs_member *chosen[MAX_CHOSEN];
    size_t nch = 0, npending = 0;
    size_t room = w->cap - w->len;
    hs_member *pm = peer ? (hs_member *)peer : NULL;
    if (pm && pm != n->self && !hs_is_live(pm) && hs_entry_size(pm) <= room) {
        chosen[nch++] = pm;
        room -= hs_entry_size(pm);
    }
    /* pending updates, those sent least often (the newest) first */
    for (int lvl = HS_BCAST_LEVELS - 1; lvl > 0 && n->nbcast && room > 16; lvl--) {
        hs_gossip_level *q = &n->bq[lvl];
        for (uint32_t i = q->n; i-- > 0 && nch < MAX_CHOSEN && room > 16;) {
            hs_member *m = q->items[i];
            if (m == pm || hs_entry_size(m) > room) continue;
            chosen[nch++] = m;
            room -= hs_entry_size(m);
        }
    }
    npending = nch;
    if (fill_random) {
        for (int tries = 0; nch < HS_MIN_PIGGYBACK && tries < 8 && n->nmembers > 1; tries++) {
            hs_member *m = n->members[hs_prng_below(&n->rng, (uint32_t)n->nmembers)];
            if (m == n->self && n->nmembers > 2) continue;
            if (chosen_has(chosen, nch, m) || hs_entry_size(m) > room) continue;
            chosen[nch++] = m;
            room -= hs_entry_size(m);
        }
    }
    for (size_t i = 0; i < nch; i++) {
        hs_put_entry(n, w, chosen[i]);
        if (i < npending && chosen[i]->bcast_pos >= 0) hs_bcast_sent(n, chosen[i]);
    }
    return nch;
}

void hs_put_piggyback(hs_node *n, hs_writer *w, const hs_member *peer)
{
    size_t count_pos = w->len;
    hs_put_u8(w, 0);
    if (!w->ok) return;
    size_t count = put_entries(n, w, peer, true);
    w->buf[count_pos] = (uint8_t)count;
}

bool hs_read_piggyback(hs_node *n, hs_reader *r)
{
    /* validate everything first, so a bad message changes nothing */
    hs_reader check = *r;
    hs_entry e;
    uint8_t count = hs_get_u8(&check);
    for (unsigned i = 0; i < count && check.ok; i++) hs_get_entry(&check, &e);
    if (!check.ok || hs_reader_left(&check) != 0) {
        *r = check;
        return false;
    }
    bool changed = false;
    hs_get_u8(r);
    for (unsigned i = 0; i < count; i++) {
        hs_get_entry(r, &e);
        changed |= hs_merge_entry(n, &e);
    }
    if (changed) hs_gossip_soon(n);
    return true;
}

void hs_gossip_soon(hs_node *n)
{
    if (!n->nbcast) return;
    uint64_t at = n->now;
    if (!n->gossip_at || at < n->gossip_at) n->gossip_at = at;
}

void hs_send_gossip_to(hs_node *n, const hs_addr *to)
{
    uint8_t *buf = malloc(n->cfg.max_packet);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, n->cfg.max_packet);
    hs_put_u8(&w, HS_MSG_GOSSIP);
    hs_put_str8(&w, n->self->name, strlen(n->self->name));
    size_t count_pos = w.len;
    hs_put_u8(&w, 0);
    size_t count = w.ok ? put_entries(n, &w, NULL, false) : 0;
    if (!w.ok || count == 0) {
        free(buf);
        return;
    }
    buf[count_pos] = (uint8_t)count;
    hs_emit(n, to, buf, w.len);
}

void hs_send_entry_to(hs_node *n, const hs_member *m, const hs_addr *to)
{
    size_t cap = 3 + HS_NAME_MAX + hs_entry_size(m);
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, HS_MSG_GOSSIP);
    hs_put_str8(&w, n->self->name, strlen(n->self->name));
    hs_put_u8(&w, 1);
    hs_put_entry(n, &w, m);
    if (!w.ok) {
        free(buf);
        return;
    }
    hs_emit(n, to, buf, w.len);
}

void hs_gossip_tick(hs_node *n)
{
    if (!n->nbcast) {
        n->gossip_at = 0;
        return;
    }
    hs_member *sent[16];
    size_t nsent = 0;
    uint32_t fanout = n->cfg.gossip_fanout < 16 ? n->cfg.gossip_fanout : 16;
    for (uint32_t tries = 0; nsent < fanout && tries < 4 * fanout && n->nbcast; tries++) {
        hs_member *m = hs_random_live(n, NULL, NULL);
        if (!m || chosen_has(sent, nsent, m)) continue;
        sent[nsent++] = m;
        hs_addr a = hs_member_addr(n, m);
        hs_send_gossip_to(n, &a);
        n->stats.gossip_pushes++;
    }
    n->gossip_at = n->nbcast ? n->now + n->cfg.gossip_interval_ms : 0;
}

/* ---- Meet: full state in one round trip ---- */

void hs_send_meet(hs_node *n, const hs_addr *to, uint8_t type, bool join)
{
    size_t size = 1 + 1 + 1 + HS_NAME_MAX + 8 + 4;
    for (size_t i = 0; i < n->nmembers; i++) size += hs_entry_size(n->members[i]);
    uint8_t *buf = malloc(size);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, size);
    hs_put_u8(&w, type);
    hs_put_u8(&w, join ? 1 : 0);
    hs_put_str8(&w, n->self->name, strlen(n->self->name));
    hs_put_u64(&w, n->config_version);
    hs_put_u32(&w, (uint32_t)n->nmembers);
    for (size_t i = 0; i < n->nmembers; i++) hs_put_entry(n, &w, n->members[i]);
    if (!w.ok) {
        free(buf);
        return;
    }
    hs_emit(n, to, buf, w.len);
    hs_send_tombs(n, to); /* the rest of our state: the reaped members we keep refusing */
    n->stats.syncs++;
}

void hs_recv_meet(hs_node *n, const hs_addr *from, hs_reader *r, uint8_t type)
{
    char name[HS_NAME_MAX + 1];
    uint8_t flags = hs_get_u8(r);
    hs_get_str8(r, name, sizeof(name), true);
    uint64_t version = hs_get_u64(r);
    uint32_t count = hs_get_u32(r);
    if (!r->ok || flags > 1 || count > n->cfg.max_members || !hs_name_valid(name)) {
        r->ok = false;
        return;
    }
    hs_reader check = *r;
    hs_entry e;
    for (uint32_t i = 0; i < count && check.ok; i++) hs_get_entry(&check, &e);
    if (!check.ok || hs_reader_left(&check) != 0) {
        *r = check;
        return;
    }
    bool changed = false;
    /* the live members of a joiner's first view are news to nobody else: they are not
     * gossiped on (each of N joiners re-gossiping N members made a boot quadratic in packets).
     * Failed and left ones still are: such news may have reached only a few members (chaos
     * seed 1: a leave known to a seed only, never spread, the cluster held the member failed) */
    n->quiet_merge = !n->has_view && !flags;
    for (uint32_t i = 0; i < count; i++) {
        hs_get_entry(r, &e);
        changed |= hs_merge_entry(n, &e);
    }
    n->quiet_merge = false;
    hs_member *sender = hs_table_find(n, name);
    /* a Meet carries no sequence number, so it is no proof of life (a replay would be
     * taken for one); its entries merge by incarnation like any gossip */
    if (sender) hs_note_config_version(n, sender, version);
    if (changed) hs_gossip_soon(n);
    if (!flags) n->has_view = true; /* a member's whole view (a joiner's holds only itself) */
    if (type == HS_MSG_MEET) {
        hs_send_meet(n, from, HS_MSG_MEET_REPLY, false);
    } else {
        n->joined = true;
        n->join_retry_at = 0;
    }
}

void hs_sync_tick(hs_node *n)
{
    uint64_t interval = n->cfg.sync_interval_ms;
    uint64_t scaled = (uint64_t)n->nmembers * n->cfg.sync_ms_per_member;
    if (scaled > interval) interval = scaled;
    if (n->catchup_syncs && n->catchup_syncs-- > 1) interval = 4000;
    n->sync_at = n->now + interval * 3 / 4 + hs_prng_below(&n->rng, (uint32_t)(interval / 2 + 1));
    hs_member *m = hs_random_live(n, NULL, NULL);
    if (!m) return;
    hs_addr a = hs_member_addr(n, m);
    hs_send_meet(n, &a, HS_MSG_MEET, false);
}

void hs_revive_tick(hs_node *n)
{
    n->revive_at =
        n->now + n->cfg.revive_interval_ms / 2 + hs_prng_below(&n->rng, n->cfg.revive_interval_ms);
    if (n->nmembers < 2) return;
    for (int tries = 0; tries < 16; tries++) {
        hs_member *m = n->members[hs_prng_below(&n->rng, (uint32_t)n->nmembers)];
        if (m->status == HS_FAILED) {
            hs_addr a = hs_member_addr(n, m);
            hs_send_ping(n, m, &a, 0);
            return;
        }
    }
}
