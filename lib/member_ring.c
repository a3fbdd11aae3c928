/* member_ring.c: the monitoring ring, the live members in the order of the hash of their
 * names. A member's K predecessors are its observers (they probe it and vote on it), its K
 * successors its subjects. Nodes that agree on membership agree on the ring.
 *
 * The ring is a sorted sequence kept in blocks of at most RING_BLOCK members, so an insertion
 * moves at most one block (a flat array moved half the ring: every node of an N-node cluster
 * inserts N members, O(N^3) bytes moved for a cluster's boot, 2 TB at N = 10,000). Positions
 * are (block, offset); the i-th member is found by walking the block counts (N / 128 blocks
 * at most), which only random picks and whole-ring walks need. */
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

#define RING_BLOCK 256

struct hs_ring_block {
    uint32_t n;
    hs_member *m[RING_BLOCK];
};

typedef struct pos {
    size_t b, o;
} pos;

/* The first position whose hash is >= h (one past the end: b == nrb). */
static pos lower_bound(const hs_node *n, uint64_t h)
{
    size_t lo = 0, hi = n->nrb;
    while (lo < hi) { /* first block whose last member's hash is >= h */
        size_t mid = (lo + hi) / 2;
        const hs_ring_block *blk = n->rb[mid];
        if (blk->m[blk->n - 1]->ring_hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n->nrb) return (pos){n->nrb, 0};
    const hs_ring_block *blk = n->rb[lo];
    size_t a = 0, z = blk->n;
    while (a < z) {
        size_t mid = (a + z) / 2;
        if (blk->m[mid]->ring_hash < h)
            a = mid + 1;
        else
            z = mid;
    }
    return (pos){lo, a};
}

static hs_member *at(const hs_node *n, pos p)
{
    return n->rb[p.b]->m[p.o];
}

static pos next(const hs_node *n, pos p)
{
    if (++p.o < n->rb[p.b]->n) return p;
    return (pos){p.b + 1 < n->nrb ? p.b + 1 : 0, 0};
}

static pos prev(const hs_node *n, pos p)
{
    if (p.o > 0) return (pos){p.b, p.o - 1};
    size_t b = p.b > 0 ? p.b - 1 : n->nrb - 1;
    return (pos){b, n->rb[b]->n - 1};
}

/* Where m is on the ring, or b == nrb if it is not. */
static pos find(const hs_node *n, const hs_member *m)
{
    pos p = lower_bound(n, m->ring_hash);
    for (size_t steps = 0; p.b < n->nrb && steps < n->nring; steps++) {
        hs_member *x = at(n, p);
        if (x == m) return p;
        if (x->ring_hash != m->ring_hash) break;
        p = next(n, p);
        if (p.b == 0 && p.o == 0) break; /* wrapped */
    }
    return (pos){n->nrb, 0};
}

static void blocks_insert(hs_node *n, size_t at_b, hs_ring_block *blk)
{
    if (n->nrb == n->rb_cap) {
        size_t cap = n->rb_cap ? n->rb_cap * 2 : 4;
        hs_ring_block **a = realloc(n->rb, cap * sizeof(*a));
        if (!a) abort();
        n->rb = a;
        n->rb_cap = cap;
    }
    memmove(&n->rb[at_b + 1], &n->rb[at_b], (n->nrb - at_b) * sizeof(*n->rb));
    n->rb[at_b] = blk;
    n->nrb++;
}

static hs_ring_block *block_new(void)
{
    hs_ring_block *blk = malloc(sizeof(*blk));
    if (!blk) abort();
    blk->n = 0;
    return blk;
}

void hs_ring_insert(hs_node *n, hs_member *m)
{
    if (!n->nrb) { /* blocks are never empty: the first member brings the first block */
        blocks_insert(n, 0, block_new());
        n->rb[0]->m[0] = m;
        n->rb[0]->n = 1;
        n->nring = 1;
        n->ring_version++;
        return;
    }
    if (find(n, m).b < n->nrb) return;
    pos p = lower_bound(n, m->ring_hash);
    if (p.b == n->nrb) p = (pos){n->nrb - 1, n->rb[n->nrb - 1]->n}; /* after the last */
    hs_ring_block *blk = n->rb[p.b];
    if (blk->n == RING_BLOCK) { /* split in halves, then insert into the right one */
        hs_ring_block *right = block_new();
        right->n = RING_BLOCK / 2;
        memcpy(right->m, blk->m + RING_BLOCK / 2, (RING_BLOCK / 2) * sizeof(*blk->m));
        blk->n = RING_BLOCK / 2;
        blocks_insert(n, p.b + 1, right);
        if (p.o > RING_BLOCK / 2) {
            p = (pos){p.b + 1, p.o - RING_BLOCK / 2};
            blk = right;
        }
    }
    memmove(&blk->m[p.o + 1], &blk->m[p.o], (blk->n - p.o) * sizeof(*blk->m));
    blk->m[p.o] = m;
    blk->n++;
    n->nring++;
    n->ring_version++;
}

void hs_ring_remove(hs_node *n, hs_member *m)
{
    pos p = find(n, m);
    if (p.b == n->nrb) return;
    hs_ring_block *blk = n->rb[p.b];
    memmove(&blk->m[p.o], &blk->m[p.o + 1], (blk->n - p.o - 1) * sizeof(*blk->m));
    blk->n--;
    n->nring--;
    n->ring_version++;
    if (!blk->n) {
        free(blk);
        memmove(&n->rb[p.b], &n->rb[p.b + 1], (n->nrb - p.b - 1) * sizeof(*n->rb));
        n->nrb--;
    }
}

void hs_ring_free(hs_node *n)
{
    for (size_t b = 0; b < n->nrb; b++) free(n->rb[b]);
    free(n->rb);
    n->rb = NULL;
    n->nrb = n->rb_cap = n->nring = 0;
}

size_t hs_ring_bytes(const hs_node *n)
{
    return n->nrb * sizeof(hs_ring_block) + n->rb_cap * sizeof(*n->rb);
}

hs_member *hs_ring_at(const hs_node *n, size_t i)
{
    for (size_t b = 0; b < n->nrb; b++) {
        if (i < n->rb[b]->n) return n->rb[b]->m[i];
        i -= n->rb[b]->n;
    }
    return NULL;
}

hs_member *hs_ring_next(const hs_node *n, hs_ring_iter *it)
{
    while (it->b < n->nrb) {
        const hs_ring_block *blk = n->rb[it->b];
        if (it->o < blk->n) return blk->m[it->o++];
        it->b++;
        it->o = 0;
    }
    return NULL;
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
    pos p = lower_bound(n, m->ring_hash);
    if (p.b == n->nrb) p = (pos){0, 0}; /* past the last: the ring wraps to the first */
    for (size_t step = 1; step <= n->nring && got < k && got < max; step++) {
        p = prev(n, p);
        hs_member *o = at(n, p);
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
    if (!n->nring) return 0;
    pos p = find(n, n->self);
    if (p.b == n->nrb) return 0;
    for (size_t step = 1; step < n->nring && got < k && got < max; step++) {
        p = next(n, p);
        out[got++] = at(n, p);
    }
    return got;
}

hs_member *hs_random_live(hs_node *n, const hs_member *exclude1, const hs_member *exclude2)
{
    if (n->nring == 0) return NULL;
    for (int tries = 0; tries < 8; tries++) {
        hs_member *m = hs_ring_at(n, hs_prng_below(&n->rng, (uint32_t)n->nring));
        if (m != n->self && m != exclude1 && m != exclude2) return m;
    }
    return NULL;
}
