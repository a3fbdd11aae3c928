/* agent_user.c: the agent's user-event core (include/hearsay/user_events.h): the member table
 * it reads (the membership node's: alive and suspect members are live), its start with the
 * saved horizon, and its outputs moved into the agent's: packets, deliveries as user-event and
 * query events (with their payloads), query replies, operation ends and the horizon to save. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"

static void member_of(const hs_member_info *mi, hs_ue_member *out)
{
    *out = (hs_ue_member){mi->name, mi->addr, mi->tags,
                          mi->status == HS_ALIVE || mi->status == HS_SUSPECT, mi->is_self};
}

static size_t v_count(const void *ctx)
{
    return hs_node_member_count(((const hs_agent *)ctx)->node);
}

static bool v_at(const void *ctx, size_t i, hs_ue_member *out)
{
    hs_member_info mi;
    if (!hs_node_member_at(((const hs_agent *)ctx)->node, i, &mi)) return false;
    member_of(&mi, out);
    return true;
}

static bool v_find(const void *ctx, const char *name, hs_ue_member *out)
{
    hs_member_info mi;
    if (!hs_node_find(((const hs_agent *)ctx)->node, name, &mi)) return false;
    member_of(&mi, out);
    return true;
}

hs_ue *ag_user_start(hs_agent *a, const hs_agent_cfg *cfg, uint64_t now_ms)
{
    hs_ue_cfg c;
    hs_ue_cfg_default(&c);
    snprintf(c.self, sizeof(c.self), "%s", cfg->node.name);
    c.floor = cfg->ue_floor;
    c.rng_seed = cfg->rng_seed ^ 0x75736572ULL;
    if (cfg->ue_budget_bps) c.budget_bps = cfg->ue_budget_bps;
    if (cfg->node.max_packet) c.max_packet = cfg->node.max_packet;
    hs_ue_view v = {a, v_count, v_at, v_find};
    return hs_ue_new(&c, &v, now_ms);
}

static uint8_t *copy_of(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (!c) abort();
    if (n) memcpy(c, p, n);
    return c;
}

void ag_user_drain(hs_agent *a)
{
    hs_ue_packet p;
    while (hs_ue_next_packet(a->ue, &p)) ag_queue_packet(a, &p.to, p.data, p.len, p.stream);
    if (hs_ue_take_save(a->ue)) a->persist |= HS_AGENT_SAVE_USER;
    hs_ue_delivery d;
    while (hs_ue_next_delivery(a->ue, &d)) {
        ag_event *e = ag_push(&a->events);
        e->e.kind = d.query ? HS_EVK_QUERY : HS_EVK_USER_EVENT;
        snprintf(e->e.name, sizeof(e->e.name), "%s", d.origin);
        hs_member_info mi;
        if (hs_node_find(a->node, d.origin, &mi)) e->e.addr = mi.addr;
        e->e.status = e->e.prev_status = HS_ALIVE;
        snprintf(e->e.user_name, sizeof(e->e.user_name), "%s", d.name);
        snprintf(e->e.user_id, sizeof(e->e.user_id), "%s", d.id);
        e->e.ltime = d.ltime;
        e->e.coalesce = d.coalesce;
        e->payload = copy_of(d.payload, d.len);
        e->e.payload = e->payload;
        e->e.payload_len = d.len;
        e->e.query_ref = d.ref;
        e->e.query_remaining_ms = d.remaining_ms;
    }
    hs_ue_reply r;
    while (hs_ue_next_reply(a->ue, &r)) {
        ag_reply *x = ag_push(&a->replies);
        x->r = r;
        x->payload = copy_of(r.payload, r.len);
        x->r.payload = x->payload;
    }
    hs_ue_done u;
    while (hs_ue_next_done(a->ue, &u)) {
        ag_done *x = ag_push(&a->dones);
        x->d.op = u.op;
        x->d.what = HS_AGENT_DONE_USER;
        x->d.user = u;
        x->pending = calloc(u.n_pending ? u.n_pending : 1, sizeof(*x->pending));
        if (!x->pending) abort();
        if (u.n_pending) memcpy(x->pending, u.pending, u.n_pending * sizeof(*x->pending));
        x->d.user.pending = (const char(*)[HS_NAME_MAX + 1]) x->pending;
    }
}

void ag_user_begin(ag_queue *q, bool events)
{
    for (size_t i = 0; i < q->read; i++) {
        char *it = (char *)q->items + i * q->size;
        free(events ? ((ag_event *)it)->payload : ((ag_reply *)it)->payload);
    }
    if (q->read)
        memmove(q->items, (char *)q->items + q->read * q->size, (q->n - q->read) * q->size);
    q->n -= q->read;
    q->read = 0;
}
