/* net.c: the virtual network. Copies each outgoing packet into a pooled message slot and
 * schedules its delivery after a sampled latency, applying partitions (symmetric and
 * one-way), uniform loss, per-node ingress/egress loss, duplication and reordering.
 * Streams are reliable (no loss, no duplication) but delayed and cut by partitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "sim.h"
#include "view.h"

#define SLOT_KEEP_CAP 65536 /* larger buffers are released when their slot is freed */

static uint32_t msg_alloc(sim *s, uint32_t from, uint32_t to, const hs_packet *p)
{
    uint32_t slot;
    if (s->msg_free != UINT32_MAX) {
        slot = s->msg_free;
        s->msg_free = s->msgs[slot].next_free;
    } else {
        if ((s->nmsgs & (s->nmsgs - 1)) == 0) { /* grow at powers of two */
            uint32_t cap = s->nmsgs ? s->nmsgs * 2 : 1024;
            if (cap < 1024) cap = 1024;
            sim_msg *v = realloc(s->msgs, cap * sizeof *v);
            if (!v) exit(2);
            s->msgs = v;
        }
        slot = s->nmsgs++;
        s->msgs[slot].data = NULL;
        s->msgs[slot].cap = 0;
    }
    sim_msg *m = &s->msgs[slot];
    if (m->cap < p->len) {
        uint32_t cap = p->len < 2048 ? 2048 : (uint32_t)p->len;
        free(m->data);
        m->data = malloc(cap);
        if (!m->data) exit(2);
        m->cap = cap;
    }
    memcpy(m->data, p->data, p->len);
    m->len = (uint32_t)p->len;
    m->from = from;
    m->to = to;
    m->stream = p->stream;
    return slot;
}

void net_msg_free(sim *s, uint32_t slot)
{
    sim_msg *m = &s->msgs[slot];
    if (m->cap > SLOT_KEEP_CAP) {
        free(m->data);
        m->data = NULL;
        m->cap = 0;
    }
    m->next_free = s->msg_free;
    s->msg_free = slot;
}

static uint64_t latency(sim *s)
{
    sim_net *n = &s->net;
    uint64_t d = n->lat_us - n->jitter_us;
    if (n->jitter_us) d += sim_rng_below(&s->net_rng, 2 * (uint64_t)n->jitter_us + 1);
    if (sim_rng_chance(&s->net_rng, n->reorder))
        d += sim_rng_below(&s->net_rng, (uint64_t)n->reorder_us + 1);
    return d ? d : 1;
}

void net_send(sim *s, uint32_t from, const hs_packet *p)
{
    sim_net *n = &s->net;
    sim_node *src = &s->nodes[from];
    src->pkts_out++;
    src->bytes_out += p->len;
    n->sent++;
    int to = sim_index_of_addr(s, &p->to);
    if (s->replayer && to >= 0) replay_record(s->replayer, from, (uint32_t)to, p);
    if (s->hash_packets) {
        uint32_t hdr[4] = {(uint32_t)s->now_us, from, (uint32_t)to,
                           (uint32_t)p->len | (p->stream ? 1u << 31 : 0)};
        view_digest_bytes(s, hdr, sizeof hdr);
        view_digest_bytes(s, p->data, p->len);
    }
    if (to < 0) {
        n->unroutable++;
        return;
    }
    sim_node *dst = &s->nodes[to];
    if (n->block[src->group][dst->group]) {
        n->dropped++;
        return;
    }
    if (!p->stream) {
        if (sim_rng_chance(&s->net_rng, n->loss) || sim_rng_chance(&s->net_rng, src->out_loss) ||
            sim_rng_chance(&s->net_rng, dst->in_loss)) {
            n->dropped++;
            return;
        }
    }
    uint32_t slot = msg_alloc(s, from, (uint32_t)to, p);
    sim_heap_push(&s->heap, s->now_us + latency(s), SIM_EV_MSG, slot, 0);
    if (!p->stream && sim_rng_chance(&s->net_rng, n->dup)) {
        n->duplicated++;
        uint32_t slot2 = msg_alloc(s, from, (uint32_t)to, p);
        sim_heap_push(&s->heap, s->now_us + latency(s), SIM_EV_MSG, slot2, 0);
    }
}
