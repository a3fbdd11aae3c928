/* member_tombs.c: tombstones of reaped members and the TOMBS message that carries them.
 * A reaped member's name, last incarnation and status are kept for tomb_life_ms (default three
 * times the longer reap time) in a table of at most tomb_max entries (default max_members; when
 * full, the oldest goes first): no entry at or below that incarnation puts the name back into
 * the member table, so a replayed or stale Meet, Ping, Pong or Gossip does not revive it. A
 * sender that knows less than the tombstone (an older incarnation, or alive at the same one)
 * is told the tombstone in an answer no larger than its message, so a member that started
 * again refutes and comes back at once. Tombstones travel in the full-state exchange, with
 * their age, so a member that joins later refuses the ghost too and they expire everywhere
 * at about the same time. Wire form (docs/protocol.md):
 *   TOMBS = count:u8 { name:str8 inc:u32 status:u8 (failed|left) age_s:u32 }* */
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

#define TOMB_HEADER   2                                 /* type, count */
#define TOMB_LIFE_MAX (100ULL * 365 * 24 * 3600 * 1000) /* 100 years: now + life never wraps */

/* ---- the table: a min-heap by (expires, seq) and an open-addressing index by name ---- */

static bool leaves_first(const hs_tomb *a, const hs_tomb *b)
{
    return a->expires < b->expires || (a->expires == b->expires && (int32_t)(a->seq - b->seq) < 0);
}

static size_t home(const hs_node *n, uint64_t hash)
{
    return hash & (n->tomb_index_cap - 1);
}

static void place(hs_node *n, size_t pos, const hs_tomb *t)
{
    n->tombs[pos] = *t;
    n->tomb_index[t->slot] = (uint32_t)pos + 1;
}

static void sift_up(hs_node *n, size_t pos)
{
    hs_tomb t = n->tombs[pos];
    while (pos > 0 && leaves_first(&t, &n->tombs[(pos - 1) / 2])) {
        place(n, pos, &n->tombs[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    place(n, pos, &t);
}

static void sift_down(hs_node *n, size_t pos)
{
    hs_tomb t = n->tombs[pos];
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= n->ntombs) break;
        if (c + 1 < n->ntombs && leaves_first(&n->tombs[c + 1], &n->tombs[c])) c++;
        if (!leaves_first(&n->tombs[c], &t)) break;
        place(n, pos, &n->tombs[c]);
        pos = c;
    }
    place(n, pos, &t);
}

static void index_insert(hs_node *n, size_t pos)
{
    size_t i = home(n, n->tombs[pos].hash);
    while (n->tomb_index[i]) i = (i + 1) & (n->tomb_index_cap - 1);
    n->tomb_index[i] = (uint32_t)pos + 1;
    n->tombs[pos].slot = (uint32_t)i;
}

/* Empties slot i and shifts back the entries after it that linear probing put past it. */
static void index_remove(hs_node *n, size_t i)
{
    size_t mask = n->tomb_index_cap - 1;
    n->tomb_index[i] = 0;
    for (size_t j = (i + 1) & mask; n->tomb_index[j]; j = (j + 1) & mask) {
        uint32_t v = n->tomb_index[j];
        size_t k = home(n, n->tombs[v - 1].hash);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        n->tomb_index[i] = v;
        n->tombs[v - 1].slot = (uint32_t)i;
        n->tomb_index[j] = 0;
        i = j;
    }
}

static hs_tomb *tomb_find(const hs_node *n, const char *name, uint64_t hash)
{
    if (!n->ntombs) return NULL;
    for (size_t i = home(n, hash);; i = (i + 1) & (n->tomb_index_cap - 1)) {
        uint32_t v = n->tomb_index[i];
        if (!v) return NULL;
        hs_tomb *t = &n->tombs[v - 1];
        if (t->hash == hash && strcmp(t->name, name) == 0) return t;
    }
}

static void tomb_delete(hs_node *n, size_t pos)
{
    index_remove(n, n->tombs[pos].slot);
    size_t last = --n->ntombs;
    if (pos == last) return;
    place(n, pos, &n->tombs[last]);
    if (pos > 0 && leaves_first(&n->tombs[pos], &n->tombs[(pos - 1) / 2]))
        sift_up(n, pos);
    else
        sift_down(n, pos);
}

/* Doubles the heap (up to tomb_max) and rebuilds the index at twice its size or more. */
static void grow(hs_node *n)
{
    size_t cap = n->tombs_cap ? n->tombs_cap * 2 : 16;
    if (cap > n->tomb_max) cap = n->tomb_max;
    hs_tomb *t = realloc(n->tombs, cap * sizeof(*t));
    size_t icap = 32;
    while (icap < 2 * cap) icap *= 2;
    uint32_t *idx = calloc(icap, sizeof(*idx));
    if (!t || !idx) abort();
    free(n->tomb_index);
    n->tombs = t;
    n->tombs_cap = cap;
    n->tomb_index = idx;
    n->tomb_index_cap = icap;
    for (size_t pos = 0; pos < n->ntombs; pos++) index_insert(n, pos);
}

static void tomb_put(hs_node *n, const char *name, uint64_t hash, uint32_t inc, uint8_t status,
                     uint64_t expires)
{
    if (!n->tomb_max) return;
    if (n->ntombs == n->tomb_max) {
        if (expires < n->tombs[0].expires) return; /* older than all we keep: it would go first */
        tomb_delete(n, 0);
    }
    if (n->ntombs == n->tombs_cap) grow(n);
    size_t pos = n->ntombs++;
    hs_tomb *t = &n->tombs[pos];
    memset(t, 0, sizeof(*t));
    t->hash = hash;
    t->expires = expires;
    t->seq = n->tomb_seq++;
    t->inc = inc;
    t->status = status;
    strcpy(t->name, name);
    index_insert(n, pos);
    sift_up(n, pos);
}

void hs_tombs_init(hs_node *n)
{
    uint64_t reap =
        n->cfg.reap_failed_ms > n->cfg.reap_left_ms ? n->cfg.reap_failed_ms : n->cfg.reap_left_ms;
    if (reap > TOMB_LIFE_MAX / 3) reap = TOMB_LIFE_MAX / 3;
    n->tomb_life_ms = n->cfg.tombstone_ms ? n->cfg.tombstone_ms : 3 * reap;
    if (n->tomb_life_ms > TOMB_LIFE_MAX) n->tomb_life_ms = TOMB_LIFE_MAX;
    n->tomb_max = n->cfg.max_tombstones ? n->cfg.max_tombstones : n->cfg.max_members;
}

void hs_tombs_free(hs_node *n)
{
    free(n->tombs);
    free(n->tomb_index);
}

size_t hs_node_tombstone_count(const hs_node *n)
{
    return n->ntombs;
}

void hs_tomb_bury(hs_node *n, const hs_member *m)
{
    hs_tomb *t = tomb_find(n, m->name, m->ring_hash);
    if (t) tomb_delete(n, (size_t)(t - n->tombs));
    tomb_put(n, m->name, m->ring_hash, m->inc, m->status, n->now + n->tomb_life_ms);
}

void hs_tombs_expire(hs_node *n)
{
    while (n->ntombs && n->tombs[0].expires <= n->now) tomb_delete(n, 0);
}

/* ---- refusing, and telling the sender ---- */

static void note_answer(hs_node *n, const char *name)
{
    for (size_t i = 0; i < n->ntomb_answer; i++)
        if (strcmp(n->tomb_answer[i], name) == 0) return;
    if (n->ntomb_answer < HS_MAX_TOMB_ANSWERS) strcpy(n->tomb_answer[n->ntomb_answer++], name);
}

bool hs_tomb_refuses(hs_node *n, const char *name, uint32_t inc, uint8_t status)
{
    if (!n->ntombs) return false;
    hs_tomb *t = tomb_find(n, name, hs_hash_str(name));
    if (!t) return false;
    if (inc > t->inc) { /* the member itself took a new incarnation: it started again */
        tomb_delete(n, (size_t)(t - n->tombs));
        return false;
    }
    n->stats.tombstone_refused++;
    if (inc < t->inc || status < t->status) note_answer(n, name);
    return true;
}

void hs_tomb_check_sender(hs_node *n, const char *name, uint32_t inc)
{
    if (!n->ntombs) return;
    hs_tomb *t = tomb_find(n, name, hs_hash_str(name));
    if (t && inc <= t->inc) note_answer(n, name); /* alive at inc: less than failed or left */
}

static size_t record_size(const hs_tomb *t)
{
    return 1 + strlen(t->name) + 4 + 1 + 4;
}

static void put_record(hs_node *n, hs_writer *w, const hs_tomb *t)
{
    /* in whole seconds, rounded up: passed on and on, a tombstone can only end sooner */
    uint64_t left = t->expires > n->now ? t->expires - n->now : 0;
    uint64_t age =
        ((left < n->tomb_life_ms ? n->tomb_life_ms - left : n->tomb_life_ms) + 999) / 1000;
    hs_put_str8(w, t->name, strlen(t->name));
    hs_put_u32(w, t->inc);
    hs_put_u8(w, t->status);
    hs_put_u32(w, age > UINT32_MAX ? UINT32_MAX : (uint32_t)age);
}

/* Emits those of the records that fit in cap bytes, in one TOMBS message. */
static void send_records(hs_node *n, const hs_addr *to, size_t cap, const hs_tomb **list,
                         size_t count)
{
    if (cap <= TOMB_HEADER || !count) return;
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, HS_MSG_TOMBS);
    hs_put_u8(&w, 0);
    unsigned put = 0;
    for (size_t k = 0; k < count && put < 255; k++) {
        if (record_size(list[k]) > cap - w.len) continue;
        put_record(n, &w, list[k]);
        put++;
    }
    if (!w.ok || put == 0) {
        free(buf);
        return;
    }
    buf[1] = (uint8_t)put;
    hs_emit(n, to, buf, w.len);
}

void hs_send_tombs(hs_node *n, const hs_addr *to)
{
    const hs_tomb *list[255];
    if (!n->ntombs) return;
    size_t start = hs_prng_below(&n->rng, (uint32_t)n->ntombs), count = 0;
    for (size_t k = 0; k < n->ntombs && count < 255; k++)
        list[count++] = &n->tombs[(start + k) % n->ntombs];
    send_records(n, to, n->cfg.max_packet, list, count);
}

void hs_tombs_answer(hs_node *n, const hs_addr *to, size_t request_len)
{
    const hs_tomb *list[HS_MAX_TOMB_ANSWERS];
    size_t count = 0;
    for (size_t k = 0; k < n->ntomb_answer; k++) {
        const char *name = n->tomb_answer[k];
        const hs_tomb *t = tomb_find(n, name, hs_hash_str(name));
        if (t) list[count++] = t; /* gone meanwhile if not: the member came back */
    }
    n->ntomb_answer = 0;
    send_records(n, to, request_len < n->cfg.max_packet ? request_len : n->cfg.max_packet, list,
                 count);
}

/* ---- receiving ---- */

static bool get_record(hs_reader *r, char *name, uint32_t *inc, uint8_t *status, uint32_t *age)
{
    hs_get_str8(r, name, HS_NAME_MAX + 1, true);
    *inc = hs_get_u32(r);
    *status = hs_get_u8(r);
    *age = hs_get_u32(r);
    if (r->ok && (!hs_name_valid(name) || (*status != HS_FAILED && *status != HS_LEFT)))
        r->ok = false;
    return r->ok;
}

/* One record about a name we hold: merged like a gossip entry (it may be ourselves). */
static bool merge_known(hs_node *n, hs_member *m, uint32_t inc, uint8_t status)
{
    hs_entry e;
    memset(&e, 0, sizeof(e));
    strcpy(e.name, m->name);
    e.addr = hs_member_addr(n, m);
    e.inc = inc;
    e.status = status;
    e.tags = (const uint8_t *)m->tags;
    e.tags_len = m->tags_len;
    return hs_merge_entry(n, &e);
}

static void learn(hs_node *n, const char *name, uint32_t inc, uint8_t status, uint64_t age_ms)
{
    uint64_t hash = hs_hash_str(name);
    hs_tomb *t = tomb_find(n, name, hash);
    if (t && (inc < t->inc || (inc == t->inc && status <= t->status))) {
        if (inc < t->inc || status < t->status) note_answer(n, name);
        return; /* we know as much or more (and keep our own age: no refreshing) */
    }
    if (t) tomb_delete(n, (size_t)(t - n->tombs));
    tomb_put(n, name, hash, inc, status, n->now + (n->tomb_life_ms - age_ms));
}

void hs_recv_tombs(hs_node *n, hs_reader *r)
{
    char name[HS_NAME_MAX + 1];
    uint32_t inc, age;
    uint8_t status;
    hs_reader check = *r;
    uint8_t count = hs_get_u8(&check);
    for (unsigned i = 0; i < count && get_record(&check, name, &inc, &status, &age); i++) {
    }
    if (!check.ok || count == 0 || hs_reader_left(&check) != 0) {
        r->ok = false;
        return;
    }
    bool changed = false;
    hs_get_u8(r);
    for (unsigned i = 0; i < count; i++) {
        get_record(r, name, &inc, &status, &age);
        uint64_t age_ms = (uint64_t)age * 1000;
        if (age_ms >= n->tomb_life_ms) continue; /* expired where it came from */
        hs_member *m = hs_table_find(n, name);
        if (m)
            changed |= merge_known(n, m, inc, status);
        else
            learn(n, name, inc, status, age_ms);
    }
    if (changed) hs_gossip_soon(n);
}
