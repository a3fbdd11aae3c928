/* member_table.c: the member table: an array of members plus an open-addressing index by the
 * hash of their names. The monitoring ring over the live ones is in member_ring.c. */
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

/* Index slots hold a member's position in n->members: 4 bytes, at most 3/4 full. */
#define SLOT_EMPTY UINT32_MAX
#define SLOT_GONE  (UINT32_MAX - 1) /* a removed member: lookups probe past it */

bool hs_is_live(const hs_member *m)
{
    return m->status == HS_ALIVE || m->status == HS_SUSPECT;
}

static void index_insert(uint32_t *idx, size_t cap, const hs_member *m)
{
    size_t i = m->ring_hash & (cap - 1);
    while (idx[i] != SLOT_EMPTY && idx[i] != SLOT_GONE) i = (i + 1) & (cap - 1);
    idx[i] = m->index;
}

static void index_grow(hs_node *n)
{
    size_t cap = 64;
    while (cap * 3 < (n->nmembers + 1) * 4) cap *= 2;
    uint32_t *idx = malloc(cap * sizeof(*idx));
    if (!idx) abort();
    memset(idx, 0xff, cap * sizeof(*idx)); /* SLOT_EMPTY */
    for (size_t i = 0; i < n->nmembers; i++) index_insert(idx, cap, n->members[i]);
    free(n->index);
    n->index = idx;
    n->index_cap = cap;
    n->index_used = n->nmembers;
}

/* The index slot holding the member at position pos of n->members. */
static size_t slot_of(const hs_node *n, const hs_member *m, uint32_t pos)
{
    size_t i = m->ring_hash & (n->index_cap - 1);
    while (n->index[i] != pos) i = (i + 1) & (n->index_cap - 1);
    return i;
}

hs_member *hs_table_find(const hs_node *n, const char *name)
{
    if (!n->index_cap) return NULL;
    uint64_t h = hs_hash_str(name);
    size_t i = h & (n->index_cap - 1);
    for (size_t probes = 0; probes < n->index_cap; probes++) {
        uint32_t v = n->index[i];
        if (v == SLOT_EMPTY) return NULL;
        if (v != SLOT_GONE) {
            hs_member *m = n->members[v];
            if (m->ring_hash == h && strcmp(m->name, name) == 0) return m;
        }
        i = (i + 1) & (n->index_cap - 1);
    }
    return NULL;
}

hs_member *hs_table_find_hash(const hs_node *n, uint64_t h)
{
    if (!n->index_cap) return NULL;
    size_t i = h & (n->index_cap - 1);
    for (size_t probes = 0; probes < n->index_cap; probes++) {
        uint32_t v = n->index[i];
        if (v == SLOT_EMPTY) return NULL;
        if (v != SLOT_GONE && n->members[v]->ring_hash == h) return n->members[v];
        i = (i + 1) & (n->index_cap - 1);
    }
    return NULL;
}

#define V6_NONE UINT32_MAX

static uint32_t slot_get(const hs_member *m)
{
    uint32_t v;
    memcpy(&v, m->ip4, sizeof(v));
    return v;
}

static void v6_release(hs_node *n, hs_member *m)
{
    if (m->family != 6) return;
    uint32_t k = slot_get(m);
    memcpy(n->v6[k].ip, &n->v6_free, sizeof(n->v6_free));
    n->v6_free = k;
    m->family = 0;
}

static uint32_t v6_take(hs_node *n)
{
    if (n->v6_free != V6_NONE) {
        uint32_t k = n->v6_free;
        memcpy(&n->v6_free, n->v6[k].ip, sizeof(n->v6_free));
        return k;
    }
    if (n->nv6 == n->v6_cap) {
        uint32_t cap = n->v6_cap ? n->v6_cap * 2 : 8;
        hs_addr *a = realloc(n->v6, cap * sizeof(*a));
        if (!a) abort();
        n->v6 = a;
        n->v6_cap = cap;
    }
    return n->nv6++;
}

hs_addr hs_member_addr(const hs_node *n, const hs_member *m)
{
    if (m->family == 6) return n->v6[slot_get(m)];
    hs_addr a;
    memset(&a, 0, sizeof(a));
    a.family = m->family;
    memcpy(a.ip, m->ip4, 4);
    a.port = m->port;
    return a;
}

void hs_member_set_addr(hs_node *n, hs_member *m, const hs_addr *a)
{
    v6_release(n, m);
    m->port = a->port;
    m->family = a->family;
    if (a->family == 6) {
        uint32_t k = v6_take(n);
        n->v6[k] = *a;
        memcpy(m->ip4, &k, sizeof(k));
    } else {
        memcpy(m->ip4, a->ip, 4);
    }
}

hs_member *hs_table_add(hs_node *n, const char *name, const hs_addr *addr)
{
    if (n->nmembers >= n->cfg.max_members) return NULL;
    if ((n->index_used + 1) * 4 > n->index_cap * 3) index_grow(n);
    if (n->nmembers == n->members_cap) { /* grown by half: 10,000 members take 10,390 slots */
        size_t cap = n->members_cap ? n->members_cap + n->members_cap / 2 : 16;
        hs_member **a = realloc(n->members, cap * sizeof(*a));
        if (!a) abort();
        n->members = a;
        n->members_cap = cap;
    }
    size_t len = strlen(name);
    hs_member *m = hs_slab_alloc(n, sizeof(*m) + len + 1);
    memcpy(m->name, name, len + 1);
    m->ring_hash = hs_hash_str(name);
    hs_member_set_addr(n, m, addr);
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
    n->index[slot_of(n, m, m->index)] = SLOT_GONE;
    hs_member *last = n->members[--n->nmembers];
    if (last != m) { /* the last member moves into m's position: its slot follows */
        n->index[slot_of(n, last, last->index)] = m->index;
        n->members[m->index] = last;
        last->index = m->index;
    }
    hs_probe_forget(n, m);
    if (n->votes_of == m) n->votes_of = NULL;
    hs_history_free(m);
    free(m->tags);
    v6_release(n, m);
    hs_slab_release(n, m);
    if (n->index_used > 4 * (n->nmembers + 8)) index_grow(n); /* drop tombstones */
}
