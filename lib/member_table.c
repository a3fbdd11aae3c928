/* member_table.c: the member table (array + name index) and the monitoring ring.
 *
 * The ring orders live members by the hash of their names. Every node computes it from its
 * own view, so views that agree give the same ring: a member's K predecessors are its
 * observers (who probe it and vote on it), and its K successors are its subjects. Because K
 * is fixed, the vote group and the probe load per node stay the same at any cluster size. */
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

#define TOMBSTONE ((hs_member *)1)

bool hs_is_live(const hs_member *m)
{
    return m->status == HS_ALIVE || m->status == HS_SUSPECT;
}

static void index_insert(hs_member **idx, size_t cap, hs_member *m)
{
    size_t i = m->ring_hash & (cap - 1);
    while (idx[i] && idx[i] != TOMBSTONE) i = (i + 1) & (cap - 1);
    idx[i] = m;
}

static void index_grow(hs_node *n)
{
    size_t cap = n->index_cap ? n->index_cap * 2 : 64;
    while (cap < (n->nmembers + 1) * 2) cap *= 2;
    hs_member **idx = calloc(cap, sizeof(*idx));
    if (!idx) abort();
    for (size_t i = 0; i < n->nmembers; i++) index_insert(idx, cap, n->members[i]);
    free(n->index);
    n->index = idx;
    n->index_cap = cap;
    n->index_used = n->nmembers;
}

hs_member *hs_table_find(const hs_node *n, const char *name)
{
    if (!n->index_cap) return NULL;
    uint64_t h = hs_hash_str(name);
    size_t i = h & (n->index_cap - 1);
    for (size_t probes = 0; probes < n->index_cap; probes++) {
        hs_member *m = n->index[i];
        if (!m) return NULL;
        if (m != TOMBSTONE && m->ring_hash == h && strcmp(m->name, name) == 0) return m;
        i = (i + 1) & (n->index_cap - 1);
    }
    return NULL;
}

hs_member *hs_table_add(hs_node *n, const char *name, const hs_addr *addr)
{
    if (n->nmembers >= n->cfg.max_members) return NULL;
    if ((n->index_used + 1) * 2 > n->index_cap) index_grow(n);
    if (n->nmembers == n->members_cap) {
        size_t cap = n->members_cap ? n->members_cap * 2 : 16;
        hs_member **a = realloc(n->members, cap * sizeof(*a));
        hs_member **r = realloc(n->ring, cap * sizeof(*r));
        if (!a || !r) abort();
        n->members = a;
        n->ring = r;
        n->members_cap = cap;
    }
    size_t len = strlen(name);
    hs_member *m = calloc(1, sizeof(*m) + len + 1);
    if (!m) abort();
    memcpy(m->name, name, len + 1);
    m->ring_hash = hs_hash_str(name);
    m->addr = *addr;
    m->status = HS_FAILED; /* not on the ring until the caller makes it live */
    m->bcast_pos = -1;
    m->index = (uint32_t)n->nmembers;
    m->status_since = n->now;
    n->members[n->nmembers++] = m;
    index_insert(n->index, n->index_cap, m);
    n->index_used++;
    return m;
}

void hs_table_remove(hs_node *n, hs_member *m)
{
    hs_ring_remove(n, m);
    hs_bcast_remove(n, m);
    hs_suspicion_clear(n, m);
    size_t i = m->ring_hash & (n->index_cap - 1);
    while (n->index[i] != m) i = (i + 1) & (n->index_cap - 1);
    n->index[i] = TOMBSTONE;
    hs_member *last = n->members[--n->nmembers];
    n->members[m->index] = last;
    last->index = m->index;
    hs_probe_forget(n, m);
    free(m->tags);
    free(m);
    if (n->index_used > 4 * (n->nmembers + 8)) index_grow(n); /* drop tombstones */
}

static int ring_cmp(const void *a, const void *b)
{
    const hs_member *x = *(hs_member *const *)a, *y = *(hs_member *const *)b;
    if (x->ring_hash != y->ring_hash) return x->ring_hash < y->ring_hash ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Members a full-state exchange made live were appended unsorted (inserting each in place
 * costs a memmove of the ring: O(N^2) for a joiner's first view, O(N^3) for a cluster's
 * boot): sort them in once before the ring is read. */
static void ring_settle(const hs_node *cn)
{
    hs_node *n = (hs_node *)cn;
    if (!n->ring_unsorted) return;
    qsort(n->ring, n->nring, sizeof(*n->ring), ring_cmp);
    n->ring_unsorted = false;
}

void hs_ring_batch(hs_node *n, bool on)
{
    n->ring_batch = on;
    if (!on) ring_settle(n);
}

/* First ring position whose hash is >= h. */
static size_t ring_lower_bound(const hs_node *n, uint64_t h)
{
    ring_settle(n);
    size_t lo = 0, hi = n->nring;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (n->ring[mid]->ring_hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t ring_find(const hs_node *n, const hs_member *m)
{
    size_t i = ring_lower_bound(n, m->ring_hash);
    while (i < n->nring && n->ring[i] != m && n->ring[i]->ring_hash == m->ring_hash) i++;
    return (i < n->nring && n->ring[i] == m) ? i : n->nring;
}

void hs_ring_insert(hs_node *n, hs_member *m)
{
    if (n->ring_batch) { /* not on the ring: hs_set_status inserts only members turning live */
        n->ring[n->nring++] = m;
        n->ring_unsorted = true;
        n->ring_version++;
        return;
    }
    if (ring_find(n, m) < n->nring) return;
    size_t i = ring_lower_bound(n, m->ring_hash);
    memmove(&n->ring[i + 1], &n->ring[i], (n->nring - i) * sizeof(*n->ring));
    n->ring[i] = m;
    n->nring++;
    n->ring_version++;
}

void hs_ring_remove(hs_node *n, hs_member *m)
{
    size_t i = ring_find(n, m);
    if (i == n->nring) return;
    memmove(&n->ring[i], &n->ring[i + 1], (n->nring - i - 1) * sizeof(*n->ring));
    n->nring--;
    n->ring_version++;
}

size_t hs_vote_group_size(const hs_node *n)
{
    size_t k = n->cfg.vote_group_size;
    if (k > HS_MAX_VOTE_GROUP) k = HS_MAX_VOTE_GROUP;
    size_t others = n->nring ? n->nring - 1 : 0;
    return k < others ? k : others;
}

size_t hs_observers(const hs_node *n, const hs_member *m, hs_member **out, size_t max)
{
    size_t k = hs_vote_group_size(n), got = 0;
    if (!n->nring) return 0;
    /* position of m (or where it would be) on the ring; walk backwards */
    size_t pos = ring_lower_bound(n, m->ring_hash);
    for (size_t step = 1; step <= n->nring && got < k && got < max; step++) {
        hs_member *o = n->ring[(pos + n->nring - step) % n->nring];
        if (o != m) out[got++] = o;
    }
    return got;
}

bool hs_is_observer(const hs_node *n, const hs_member *subject, uint64_t who_hash)
{
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k = hs_observers(n, subject, obs, HS_MAX_VOTE_GROUP);
    for (size_t i = 0; i < k; i++)
        if (obs[i]->ring_hash == who_hash) return true;
    return false;
}

size_t hs_subjects(const hs_node *n, hs_member **out, size_t max)
{
    size_t k = hs_vote_group_size(n), got = 0;
    size_t pos = ring_find(n, n->self);
    if (pos == n->nring) return 0;
    for (size_t step = 1; step < n->nring && got < k && got < max; step++)
        out[got++] = n->ring[(pos + step) % n->nring];
    return got;
}

hs_member *hs_random_live(hs_node *n, const hs_member *exclude1, const hs_member *exclude2)
{
    if (n->nring == 0) return NULL;
    for (int tries = 0; tries < 8; tries++) {
        hs_member *m = n->ring[hs_prng_below(&n->rng, (uint32_t)n->nring)];
        if (m != n->self && m != exclude1 && m != exclude2) return m;
    }
    return NULL;
}
