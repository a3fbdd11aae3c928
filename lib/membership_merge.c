/* membership_merge.c: how a gossip entry about a member changes our view, and the queue of
 * updates we spread. Rules (SWIM's, with left as the strongest word):
 *   - a higher incarnation always wins;
 *   - at the same incarnation, left > failed > alive (suspicion is local, never gossiped);
 *   - anything that says we ourselves are failed or left, or knows a higher incarnation of
 *     ours, is refuted by taking a higher incarnation and gossiping that we are alive;
 *   - a name reaped from the table comes back only above its tombstone's incarnation;
 *   - a removed name (force-leave) is refused whatever the entry says (member_removed.c);
 *   - an entry moving a live member (or ourselves) to another address waits for a name check
 *     (member_conflict.c): the old address must have stopped answering for the name. */
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

void hs_refute(hs_node *n, uint32_t seen_inc, bool everyone)
{
    if (n->leaving) return;
    uint32_t inc = seen_inc > n->self->inc ? seen_inc : n->self->inc;
    n->self->inc = inc + 1;
    n->stats.refutations++;
    hs_history_note(n, n->self, HS_H_REFUTED, "", NULL);
    hs_event_push(n, HS_EV_INCARNATION, n->self, HS_ALIVE);
    if (everyone) {
        hs_bcast_queue(n, n->self);
        hs_gossip_soon(n);
        return;
    }
    /* A suspicion lives only in our vote group: tell the group, and the next couple of
     * messages (the Pong to whoever asked), not the whole cluster. */
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k = hs_observers(n, n->self, obs, HS_MAX_VOTE_GROUP);
    hs_bcast_queue_limited(n, n->self, 2);
    for (size_t i = 0; i < k; i++) {
        hs_addr a = hs_member_addr(n, obs[i]);
        hs_send_entry_to(n, n->self, &a);
    }
}

static bool set_tags(hs_member *m, const uint8_t *tags, uint16_t len)
{
    if (len == m->tags_len && (len == 0 || memcmp(tags, m->tags, len) == 0)) return false;
    char *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) abort();
        memcpy(copy, tags, len);
    }
    free(m->tags);
    m->tags = copy;
    m->tags_len = len;
    return true;
}

/* Declared failed or left: we missed what others said meanwhile (they stopped gossiping to
 * us), so do an anti-entropy exchange soon instead of in minutes, and a second one that picks
 * up what the first peer also missed. */
void hs_catch_up(hs_node *n)
{
    uint64_t soon = n->now + hs_prng_below(&n->rng, 1000);
    if (soon < n->sync_at) n->sync_at = soon;
    n->catchup_syncs = 3;
}

static bool merge(hs_node *n, const hs_entry *e);

static bool merge_self(hs_node *n, const hs_entry *e)
{
    hs_member *me = n->self;
    if (n->leaving) return false;
    /* alive at another address: someone else with our name, or our old address */
    if (e->status == HS_ALIVE && !hs_member_addr_is(n, me, &e->addr) && hs_claim_check(n, me, e))
        return false;
    if (e->inc > me->inc || (e->inc == me->inc && e->status != HS_ALIVE)) {
        if (e->status == HS_ALIVE) { /* a newer incarnation of ours is about: take above it */
            hs_refute(n, e->inc, true);
            return false;
        }
        /* Declared failed or left: refute, at once if our links were fine, else once they
         * have been fine for readmit_ms (membership_health.c). We missed what others said
         * meanwhile (they stopped gossiping to us), so do an anti-entropy exchange soon
         * instead of in minutes. */
        if (!n->health.held || e->inc > n->health.held_inc) hs_catch_up(n);
        hs_health_declared_failed(n, e->inc);
        return false;
    }
    if (e->status != HS_ALIVE && !n->health.held) {
        /* Someone still holds an older incarnation of ours failed or left: we refuted
         * already, but the refutation never reached it (we heard the Fail through a one-way
         * cut and could not answer). Spread our current entry again, so the Pong answering
         * this (revive) Ping carries it, instead of staying failed until anti-entropy. And
         * what the others said while our messages could not get out (refutations of members
         * we hold failed) passed us by: the catch-up exchanges we did then went nowhere, so
         * do them again now that this peer reaches us. */
        hs_bcast_queue(n, me);
        hs_gossip_soon(n);
        if (!n->catchup_syncs) hs_catch_up(n);
    }
    return false;
}

bool hs_merge_entry(hs_node *n, const hs_entry *e)
{
    n->merging = true;
    bool changed = merge(n, e);
    n->merging = false;
    return changed;
}

static bool merge(hs_node *n, const hs_entry *e)
{
    hs_member *m = hs_table_find(n, e->name);
    if (m == n->self) return merge_self(n, e);
    if (hs_removed_has(n, e->name)) {
        n->stats.removed_refused++;
        return false;
    }
    if (m && hs_is_live(m) && e->status == HS_ALIVE && !hs_member_addr_is(n, m, &e->addr) &&
        hs_claim_check(n, m, e))
        return false;
    if (!m) {
        /* reaped: only the member itself, at a new incarnation, brings the name back */
        if (hs_tomb_refuses(n, e->name, e->inc, e->status)) return false;
        m = hs_table_add(n, e->name, &e->addr);
        if (!m) return false;
        m->inc = e->inc;
        set_tags(m, e->tags, e->tags_len);
        if (e->status == HS_ALIVE) {
            hs_set_status(n, m, HS_ALIVE);
            hs_event_push(n, HS_EV_JOIN, m, HS_ALIVE); /* new: no previous status */
        } else {
            m->status = e->status; /* learnt as failed or left: no event, never seen alive */
        }
        if (!n->quiet_merge || e->status != HS_ALIVE) hs_bcast_queue(n, m);
        return true;
    }
    if (e->inc < m->inc) return false;
    uint8_t cur = m->status == HS_SUSPECT ? HS_ALIVE : m->status;
    if (e->inc == m->inc && e->status <= cur) {
        /* same word at the same incarnation: nothing new (tags only change with inc) */
        return false;
    }
    hs_status prev = (hs_status)m->status;
    bool newer = e->inc > m->inc;
    hs_addr old_addr = hs_member_addr(n, m);
    bool addr_changed = !hs_addr_equal(&old_addr, &e->addr);
    bool tags_changed = newer && set_tags(m, e->tags, e->tags_len);
    if (addr_changed) hs_member_set_addr(n, m, &e->addr);
    m->inc = e->inc;
    if (m->susp && m->susp->inc < m->inc) {
        hs_history_stash(n, m);
        hs_suspicion_clear(n, m);
    }
    hs_set_status(n, m, (hs_status)e->status);
    if (e->status == HS_ALIVE && hs_is_live(m) && (prev == HS_ALIVE || prev == HS_SUSPECT) &&
        !tags_changed && !addr_changed) {
        /* only a refutation of a suspicion: the vote group has it already, and the rest of
         * the cluster learns the number in passing (piggyback, anti-entropy) */
        if (prev == HS_SUSPECT) hs_event_push(n, HS_EV_ALIVE, m, prev);
        return true;
    }
    switch (e->status) {
    case HS_ALIVE:
        if (prev == HS_FAILED || prev == HS_LEFT)
            hs_event_push(n, HS_EV_JOIN, m, prev);
        else if (prev == HS_SUSPECT)
            hs_event_push(n, HS_EV_ALIVE, m, prev);
        if (prev != HS_FAILED && prev != HS_LEFT && (tags_changed || addr_changed))
            hs_event_push(n, HS_EV_UPDATE, m, prev);
        break;
    case HS_FAILED:
        hs_event_push(n, HS_EV_FAILED, m, prev);
        break;
    case HS_LEFT:
        hs_event_push(n, HS_EV_LEFT, m, prev);
        break;
    }
    if (!n->quiet_merge || e->status != HS_ALIVE) hs_bcast_queue(n, m);
    return true;
}
