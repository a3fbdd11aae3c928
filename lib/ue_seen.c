/* ue_seen.c: which records a user-event core has seen, so it runs each at most once: per origin
 * epoch every sequence number up to a base and a window of HS_UE_WINDOW above it (a number that
 * falls behind the window counts as seen), a hash index over the origin epochs, the in-memory
 * floor (raised when a table full of origins forgets one: origins are never forgotten by time,
 * or a replay of a quiet origin's records would run them again) and the horizon to persist.
 * Digests (what we hold, for the repair) are built and compared here too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ue_internal.h"

static uint64_t key_of(const char *origin, uint64_t epoch)
{
    return hs_hash_str(origin) ^ (epoch * 0x9e3779b97f4a7c15ULL);
}

static void reindex(hs_ue *u)
{
    for (size_t i = 0; i < u->index_cap; i++) u->index[i] = -1;
    for (size_t i = 0; i < u->norigins; i++) {
        ue_origin *o = &u->origins[i];
        size_t h = (size_t)(key_of(o->name, o->epoch) & (u->index_cap - 1));
        o->next = u->index[h];
        u->index[h] = (int32_t)i;
    }
}

void ue_seen_init(hs_ue *u)
{
    u->index_cap = 2 * UE_ORIGINS_MAX;
    u->index = malloc(u->index_cap * sizeof(*u->index));
    u->origins = calloc(UE_ORIGINS_MAX, sizeof(*u->origins));
    if (!u->index || !u->origins) abort(); /* the cores abort on no memory */
    u->norigins = 0;
    reindex(u);
}

void ue_seen_free(hs_ue *u)
{
    free(u->index);
    free(u->origins);
}

static ue_origin *find(const hs_ue *u, const char *origin, uint64_t epoch)
{
    size_t h = (size_t)(key_of(origin, epoch) & (u->index_cap - 1));
    for (int32_t i = u->index[h]; i >= 0; i = u->origins[i].next) {
        ue_origin *o = &u->origins[i];
        if (o->epoch == epoch && !strcmp(o->name, origin)) return o;
    }
    return NULL;
}

static bool bit(const ue_origin *o, uint32_t i)
{
    return (o->bits[i / 64] >> (i % 64)) & 1;
}

/* The window moves up by k: bit i becomes what bit i + k was. */
static void shift(ue_origin *o, uint32_t k)
{
    o->base += k;
    if (k >= HS_UE_WINDOW) {
        memset(o->bits, 0, sizeof(o->bits));
        return;
    }
    size_t ws = k / 64, bs = k % 64;
    for (size_t i = 0; i < UE_WORDS; i++) {
        uint64_t lo = i + ws < UE_WORDS ? o->bits[i + ws] : 0;
        uint64_t hi = i + ws + 1 < UE_WORDS ? o->bits[i + ws + 1] : 0;
        o->bits[i] = bs ? (lo >> bs) | (hi << (64 - bs)) : lo;
    }
}

bool ue_seen(const hs_ue *u, const char *origin, uint64_t epoch, uint32_t seq)
{
    const ue_origin *o = find(u, origin, epoch);
    if (!o) return false;
    if (seq <= o->base) return true;
    uint32_t d = seq - o->base - 1;
    return d < HS_UE_WINDOW && bit(o, d);
}

/* Forgets origin i (the array stays dense; the caller reindexes). */
static void forget(hs_ue *u, size_t i)
{
    u->origins[i] = u->origins[--u->norigins];
}

static ue_origin *add(hs_ue *u, const char *origin, uint64_t epoch)
{
    if (u->norigins == UE_ORIGINS_MAX) {
        /* the least recently active goes; nothing at or below its newest ltime is delivered
         * from now on, so none of its records can run twice */
        size_t old = 0;
        for (size_t i = 1; i < u->norigins; i++)
            if (u->origins[i].last_ms < u->origins[old].last_ms) old = i;
        if (u->origins[old].max_ltime + 1 > u->floor) u->floor = u->origins[old].max_ltime + 1;
        forget(u, old);
        reindex(u);
    }
    ue_origin *o = &u->origins[u->norigins];
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", origin);
    o->epoch = epoch;
    size_t h = (size_t)(key_of(origin, epoch) & (u->index_cap - 1));
    o->next = u->index[h];
    u->index[h] = (int32_t)u->norigins++;
    return o;
}

void ue_seen_mark(hs_ue *u, const char *origin, uint64_t epoch, uint32_t seq, uint64_t ltime)
{
    ue_origin *o = find(u, origin, epoch);
    if (!o) o = add(u, origin, epoch);
    o->last_ms = u->now;
    if (ltime > o->max_ltime) o->max_ltime = ltime;
    if (seq <= o->base) return;
    uint32_t d = seq - o->base - 1;
    if (d >= HS_UE_WINDOW) {
        shift(o, d - HS_UE_WINDOW + 1);
        d = HS_UE_WINDOW - 1;
    }
    o->bits[d / 64] |= 1ULL << (d % 64);
    uint32_t run = 0;
    for (size_t w = 0; w < UE_WORDS; w++) {
        if (o->bits[w] == ~0ULL) {
            run += 64;
            continue;
        }
        run += (uint32_t)__builtin_ctzll(~o->bits[w]);
        break;
    }
    if (run) shift(o, run);
}

void ue_seen_delivered(hs_ue *u, uint64_t ltime)
{
    if (ltime + 1 > u->horizon) {
        u->horizon = ltime + 1;
        u->save = true;
    }
}

size_t ue_seen_digest(const hs_ue *u, ue_digest_entry *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < u->norigins && n < cap; i++) {
        const ue_origin *o = &u->origins[i];
        if (u->now - o->last_ms > u->cfg.max_age_ms) continue;
        snprintf(out[n].origin, sizeof(out[n].origin), "%s", o->name);
        out[n].epoch = o->epoch;
        out[n].base = o->base;
        out[n++].bits = o->bits[0];
    }
    return n;
}

bool ue_seen_lacks(const hs_ue *u, const ue_digest_entry *e)
{
    const ue_origin *o = find(u, e->origin, e->epoch);
    if (!o) return e->base > 0 || e->bits;
    if (e->base > o->base + HS_UE_WINDOW) return true;
    for (uint32_t s = o->base + 1; s <= e->base; s++)
        if (!bit(o, s - o->base - 1)) return true;
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t s = e->base + 1 + i;
        if (!((e->bits >> i) & 1) || s <= o->base) continue;
        if (s - o->base - 1 >= HS_UE_WINDOW || !bit(o, s - o->base - 1)) return true;
    }
    return false;
}

bool ue_digest_has(const ue_digest_entry *d, size_t n, const ue_held *h)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i].epoch != h->epoch || strcmp(d[i].origin, h->origin)) continue;
        if (h->seq <= d[i].base) return true;
        uint32_t k = h->seq - d[i].base - 1;
        return k < 64 && ((d[i].bits >> k) & 1);
    }
    return false;
}
