/* membership_reach.c: the operator's reachability test (hs_node_reachability_start): a Ping to
 * every live member, PingReqs for those silent after probe_timeout through members that did
 * answer directly, and each member's result (direct, relayed, no answer) with its round-trip
 * time. Sans-I/O like the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

#define MAX_RELAYS 16 /* relays asked per silent member, at most */

typedef struct hs_reach {
    bool running;
    uint64_t started, relays_at, end_at;
    uint32_t first_seq; /* member i was pinged with first_seq + i */
    size_t n, pending;
    hs_reach_member *m;
} hs_reach;

const char *hs_reach_result_name(hs_reach_result r)
{
    switch (r) {
    case HS_REACH_DIRECT:
        return "direct";
    case HS_REACH_RELAYED:
        return "relayed";
    case HS_REACH_NONE:
        return "none";
    default:
        return "pending";
    }
}

void hs_reach_free(hs_node *n)
{
    if (!n->reach) return;
    free(n->reach->m);
    free(n->reach);
    n->reach = NULL;
}

bool hs_node_reachability_running(const hs_node *n)
{
    return n->reach && n->reach->running;
}

size_t hs_node_reachability_results(const hs_node *n, const hs_reach_member **out)
{
    *out = n->reach ? n->reach->m : NULL;
    return n->reach ? n->reach->n : 0;
}

long hs_node_reachability_start(hs_node *n, uint64_t now_ms)
{
    if (now_ms > n->now) n->now = now_ms;
    if (hs_node_reachability_running(n) || n->removed_self || n->stopped || n->leaving) return -1;
    size_t count = n->nring > 0 && hs_is_live(n->self) ? n->nring - 1 : n->nring;
    hs_reach_member *m = calloc(count ? count : 1, sizeof(*m));
    if (!m) return -1;
    if (!n->reach && !(n->reach = calloc(1, sizeof(*n->reach)))) {
        free(m);
        return -1;
    }
    hs_reach *r = n->reach;
    free(r->m);
    r->m = m;
    /* consecutive sequence numbers, none of them 0 ("no check" on the wire) */
    if (UINT32_MAX - n->next_seq <= count) n->next_seq = 0;
    r->first_seq = n->next_seq + 1;
    n->next_seq += (uint32_t)count;
    r->started = n->now;
    r->relays_at = n->now + n->cfg.probe_timeout_ms;
    r->end_at = n->now + n->cfg.indirect_timeout_ms;
    r->n = 0;
    hs_ring_iter it = {0, 0};
    for (hs_member *x; (x = hs_ring_next(n, &it)) && r->n < count;) {
        if (x == n->self) continue;
        hs_reach_member *e = &r->m[r->n];
        strcpy(e->name, x->name);
        e->addr = hs_member_addr(n, x);
        hs_send_ping(n, x, &e->addr, r->first_seq + (uint32_t)r->n);
        r->n++;
    }
    r->pending = r->n;
    r->running = r->n > 0;
    return (long)r->n;
}

static hs_reach_member *by_seq(hs_node *n, uint32_t seq)
{
    hs_reach *r = n->reach;
    if (!r || seq == 0 || (uint32_t)(seq - r->first_seq) >= r->n) return NULL;
    return &r->m[seq - r->first_seq];
}

bool hs_reach_ack(hs_node *n, uint32_t seq, const hs_member *sender, bool relayed)
{
    hs_reach_member *e = by_seq(n, seq);
    if (!e || !n->reach->running) return false;
    if (!relayed && (!sender || strcmp(sender->name, e->name) != 0)) return false;
    if (e->result != HS_REACH_PENDING && !(e->result == HS_REACH_RELAYED && !relayed))
        return true; /* a duplicate, or relayed first: keep the first answer's time */
    if (e->result == HS_REACH_PENDING) {
        e->rtt_ms = (uint32_t)(n->now - n->reach->started);
        n->reach->pending--;
    }
    e->result = relayed ? HS_REACH_RELAYED : HS_REACH_DIRECT;
    if (!n->reach->pending) n->reach->running = false;
    return true;
}

/* Relays for e: members that answered this test directly (we reach them and they us), from a
 * random place in the list, at most indirect_probes of them. */
static void ask_relays(hs_node *n, hs_reach_member *e, uint32_t seq)
{
    hs_reach *r = n->reach;
    hs_member *target = hs_table_find(n, e->name);
    if (!target || !hs_is_live(target)) return;
    size_t want = n->cfg.indirect_probes < MAX_RELAYS ? n->cfg.indirect_probes : MAX_RELAYS;
    size_t start = hs_prng_below(&n->rng, (uint32_t)r->n), nsent = 0;
    for (size_t k = 0; k < r->n && nsent < want; k++) {
        const hs_reach_member *x = &r->m[(start + k) % r->n];
        if (x->result != HS_REACH_DIRECT) continue;
        hs_member *via = hs_table_find(n, x->name);
        if (!via || via == target || !hs_is_live(via)) continue;
        hs_send_pingreq(n, target, via, seq);
        nsent++;
    }
    e->relays = (uint8_t)nsent;
}

void hs_reach_tick(hs_node *n)
{
    hs_reach *r = n->reach;
    if (!r || !r->running) return;
    bool quiet = n->removed_self || n->stopped || n->leaving; /* ends, sends nothing more */
    if (r->relays_at && n->now >= r->relays_at && !quiet) {
        r->relays_at = 0;
        for (size_t i = 0; i < r->n; i++)
            if (r->m[i].result == HS_REACH_PENDING)
                ask_relays(n, &r->m[i], r->first_seq + (uint32_t)i);
    }
    if (n->now >= r->end_at) {
        for (size_t i = 0; i < r->n; i++)
            if (r->m[i].result == HS_REACH_PENDING) r->m[i].result = HS_REACH_NONE;
        r->pending = 0;
        r->running = false;
    }
}

uint64_t hs_reach_next_deadline(const hs_node *n)
{
    const hs_reach *r = n->reach;
    if (!r || !r->running) return 0;
    return r->relays_at && r->relays_at < r->end_at ? r->relays_at : r->end_at;
}
