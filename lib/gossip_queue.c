/* gossip_queue.c: the queue of updates this node still has to spread. An update about a
 * member is sent retransmit_mult * ceil(log2(N+1)) times (piggybacked and pushed), newest
 * (fewest sends) first. Members sit in levels by sends left, so picking the next entries
 * for a packet costs the entries picked, not the length of the queue. */
#include <stdlib.h>

#include "membership_internal.h"

uint32_t hs_retransmit_limit(const hs_node *n)
{
    uint32_t log2n = 0;
    while ((1ULL << log2n) < (uint64_t)n->nring + 1) log2n++;
    uint32_t limit = n->cfg.retransmit_mult * (log2n ? log2n : 1);
    return limit < HS_BCAST_LEVELS - 1 ? limit : HS_BCAST_LEVELS - 1;
}

static void level_add(hs_node *n, hs_member *m)
{
    if (!n->bq) {
        n->bq = calloc(HS_BCAST_LEVELS, sizeof(*n->bq));
        if (!n->bq) abort();
    }
    hs_gossip_level *q = &n->bq[m->bcast_left];
    if (q->n == q->cap) {
        uint32_t cap = q->cap ? q->cap * 2 : 8;
        hs_member **items = realloc(q->items, cap * sizeof(*items));
        if (!items) abort();
        q->items = items;
        q->cap = cap;
    }
    m->bcast_pos = (int32_t)q->n;
    q->items[q->n++] = m;
    n->nbcast++;
}

void hs_bcast_remove(hs_node *n, hs_member *m)
{
    if (m->bcast_pos < 0) return;
    hs_gossip_level *q = &n->bq[m->bcast_left];
    hs_member *last = q->items[--q->n];
    q->items[m->bcast_pos] = last;
    last->bcast_pos = m->bcast_pos;
    m->bcast_pos = -1;
    n->nbcast--;
    /* a level emptied after a burst (a join storm queues every member once) gives its memory
     * back: every node of a 10,000-node simulation holds 36 levels */
    if (q->cap > 64 && q->n < q->cap / 4) {
        uint32_t cap = q->cap / 2;
        hs_member **items = realloc(q->items, cap * sizeof(*items));
        if (items) {
            q->items = items;
            q->cap = cap;
        }
    }
}

void hs_bcast_queue(hs_node *n, hs_member *m)
{
    hs_bcast_remove(n, m);
    m->bcast_left = (uint8_t)hs_retransmit_limit(n);
    if (m->bcast_left) level_add(n, m);
}

void hs_bcast_queue_limited(hs_node *n, hs_member *m, uint32_t sends)
{
    hs_bcast_remove(n, m);
    uint32_t limit = hs_retransmit_limit(n);
    m->bcast_left = (uint8_t)(sends < limit ? sends : limit);
    if (m->bcast_left) level_add(n, m);
}

void hs_bcast_sent(hs_node *n, hs_member *m)
{
    hs_bcast_remove(n, m);
    if (m->bcast_left > 0 && --m->bcast_left > 0) level_add(n, m);
}

void hs_bcast_free(hs_node *n)
{
    if (!n->bq) return;
    for (int i = 0; i < HS_BCAST_LEVELS; i++) free(n->bq[i].items);
    free(n->bq);
    n->bq = NULL;
}
