/* member_table.c: the member table: an array of members plus an open-addressing index by the
 * hash of their names. The monitoring ring over the live ones is in member_ring.c. */
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
        if (!a) abort();
        n->members = a;
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
