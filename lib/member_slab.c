/* member_slab.c: memory for the members of one node. Members are carved from 64 KiB chunks
 * in sizes rounded up to 8 bytes (a member and its name), and a freed member goes on a free
 * list of its size for the next one. malloc would add 8 to 24 bytes to each (its header and
 * its 16-byte rounding): 1 GB in a 10,000-node simulation, which holds 10^8 members.
 * Memory is given back when the node is freed; until then it is bounded by the most members
 * the node ever held at once. */
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

#define SLAB_CHUNK (64 * 1024)
#define SLAB_ALIGN 8

struct hs_slab_chunk {
    struct hs_slab_chunk *next;
    size_t used;
    unsigned char mem[]; /* at offset 16: 8-byte aligned */
};

static size_t class_of(size_t size)
{
    return (size - sizeof(hs_member) + SLAB_ALIGN - 1) / SLAB_ALIGN;
}

static size_t rounded(size_t size)
{
    return sizeof(hs_member) + class_of(size) * SLAB_ALIGN;
}

hs_member *hs_slab_alloc(hs_node *n, size_t size)
{
    size_t c = class_of(size), sz = rounded(size);
    if (c < HS_SLAB_CLASSES && n->slab_free[c]) {
        void *p = n->slab_free[c];
        memcpy(&n->slab_free[c], p, sizeof(void *));
        memset(p, 0, sz);
        return p;
    }
    struct hs_slab_chunk *k = n->slab;
    if (!k || k->used + sz > SLAB_CHUNK - sizeof(*k)) {
        k = malloc(SLAB_CHUNK);
        if (!k) abort();
        k->next = n->slab;
        k->used = 0;
        n->slab = k;
    }
    void *p = k->mem + k->used;
    k->used += sz;
    memset(p, 0, sz);
    return p;
}

void hs_slab_release(hs_node *n, hs_member *m)
{
    size_t c = class_of(sizeof(*m) + strlen(m->name) + 1);
    memcpy(m, &n->slab_free[c], sizeof(void *));
    n->slab_free[c] = m;
}

void hs_slab_free_all(hs_node *n)
{
    while (n->slab) {
        struct hs_slab_chunk *k = n->slab;
        n->slab = k->next;
        free(k);
    }
    memset(n->slab_free, 0, sizeof(n->slab_free));
}
