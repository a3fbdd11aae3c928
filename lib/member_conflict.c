/* member_conflict.c: name checks and conflicts. An entry that would move a live member (or
 * ourselves) to another address is not taken at once: both addresses are asked to answer for
 * the name (a Ping naming it as the target, up to three times a probe timeout apart, until the
 * indirect timeout after the last). Then:
 *   - only the claimed address answers: the old one is really gone; the entry is applied (for
 *     our own name: we take a new incarnation over the stale entry);
 *   - only the held one answers, or none: the claim is stale; it is dropped (none: applied by
 *     the usual incarnation rules, the held address being gone too);
 *   - both answer: a conflict. It is reported (HS_EV_CONFLICT, the name_conflicts counter, a
 *     marker hs_node_conflict shows), the held address is kept, and the check goes on every
 *     two periods (at most 30 rounds) until one of them stops answering. If the name is ours
 *     and the entry came from the cluster (not from the other claimant's own messages), the
 *     cluster holds the name at the other address: we are the newer claimant and stop.
 * A Ping claiming our own name from another address (the other claimant checking) starts a
 * check that reports but never stops us. A check that found a held address silent lets claims
 * for that name through without asking again for 10 s. */
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

#define CHECK_TRIES 3
#define MAX_ROUNDS  30
#define GONE_MS     10000 /* a silent held address lets claims through this long */
#define REPORT_MS   60000 /* a conflict stays reported this long after its last confirmation */

static hs_name_check *check_find(hs_node *n, uint64_t hash, const char *name)
{
    for (size_t i = 0; i < HS_MAX_NAME_CHECKS; i++) {
        hs_name_check *c = &n->checks_name[i];
        if (c->used && c->hash == hash && !strcmp(c->name, name)) return c;
    }
    return NULL;
}

static void check_free(hs_name_check *c)
{
    free(c->entry);
    memset(c, 0, sizeof(*c));
}

void hs_claims_free(hs_node *n)
{
    for (size_t i = 0; i < HS_MAX_NAME_CHECKS; i++) free(n->checks_name[i].entry);
}

static bool is_self(const hs_node *n, const hs_name_check *c)
{
    return !strcmp(c->name, n->self->name);
}

static uint32_t next_seq(hs_node *n)
{
    uint32_t s = ++n->next_seq;
    return s ? s : ++n->next_seq; /* 0 means "no check" on the wire */
}

static void send_pings(hs_node *n, hs_name_check *c)
{
    hs_member *t = hs_table_find(n, c->name);
    if (!t) return;
    for (int k = is_self(n, c) ? 1 : 0; k < 2; k++)
        if (!c->answered[k]) hs_send_ping(n, t, &c->addr[k], c->seq[k]);
}

static void round_start(hs_node *n, hs_name_check *c, uint64_t at)
{
    c->answered[0] = is_self(n, c); /* our own address answers for us */
    c->answered[1] = false;
    c->seq[0] = next_seq(n);
    c->seq[1] = next_seq(n);
    c->tries = 0;
    c->next_at = at;
    c->end_at =
        at + (uint64_t)(CHECK_TRIES - 1) * n->cfg.probe_timeout_ms + n->cfg.indirect_timeout_ms;
}

static bool gone(hs_node *n, uint64_t hash, const hs_addr *held)
{
    for (size_t i = 0; i < HS_MAX_NAME_CHECKS; i++)
        if (n->gone[i].until > n->now && n->gone[i].hash == hash &&
            hs_addr_equal(&n->gone[i].addr, held))
            return true;
    return false;
}

static void note_gone(hs_node *n, uint64_t hash, const hs_addr *held)
{
    size_t pick = 0;
    for (size_t i = 1; i < HS_MAX_NAME_CHECKS; i++)
        if (n->gone[i].until < n->gone[pick].until) pick = i;
    n->gone[pick] = (hs_gone_addr){hash, n->now + GONE_MS, *held};
}

static void schedule(hs_node *n, uint64_t t)
{
    if (!n->name_check_at || t < n->name_check_at) n->name_check_at = t;
}

static hs_name_check *check_new(hs_node *n, const char *name, uint64_t hash, const hs_addr *held,
                                const hs_addr *claimed)
{
    hs_name_check *c = NULL;
    for (size_t i = 0; i < HS_MAX_NAME_CHECKS && !c; i++)
        if (!n->checks_name[i].used) c = &n->checks_name[i];
    if (!c) return NULL;
    c->used = true;
    c->hash = hash;
    strcpy(c->name, name);
    c->addr[0] = *held;
    c->addr[1] = *claimed;
    n->stats.name_checks++;
    round_start(n, c, n->now);
    schedule(n, n->now);
    return c;
}

static void keep_entry(hs_name_check *c, const hs_entry *e)
{
    if (c->entry && (e->inc < c->entry->e.inc || !hs_addr_equal(&e->addr, &c->addr[1]))) return;
    if (!c->entry && !(c->entry = malloc(sizeof(*c->entry)))) abort();
    c->entry->e = *e;
    memcpy(c->entry->tags, e->tags, e->tags_len);
    c->entry->e.tags = c->entry->tags;
    c->have_entry = true;
}

bool hs_claim_check(hs_node *n, hs_member *m, const hs_entry *e)
{
    if (n->stopping_until) return true; /* stopping: we take nothing in any more */
    hs_addr held = hs_member_addr(n, m);
    if (n->claim_bypass || gone(n, m->ring_hash, &held)) return false;
    hs_name_check *c = check_find(n, m->ring_hash, m->name);
    if (!c) {
        c = check_new(n, m->name, m->ring_hash, &held, &e->addr);
        if (!c) return false; /* every slot busy: the usual rules */
        send_pings(n, c);
        c->tries = 1;
        c->next_at = n->now + n->cfg.probe_timeout_ms;
        schedule(n, c->next_at);
    }
    if (m == n->self && !n->from_claimant) c->self_stop = true; /* the cluster says so */
    if (m != n->self) keep_entry(c, e);
    return true;
}

void hs_claims_note(hs_node *n, const hs_addr *from, uint8_t type, const char *sender, uint32_t seq)
{
    if (type == HS_MSG_PONG) {
        for (size_t i = 0; i < HS_MAX_NAME_CHECKS; i++) {
            hs_name_check *c = &n->checks_name[i];
            if (!c->used || strcmp(sender, c->name)) continue;
            for (int k = 0; k < 2; k++)
                if (seq == c->seq[k] && hs_addr_equal(from, &c->addr[k])) c->answered[k] = true;
        }
        return;
    }
    /* a Ping in our name from elsewhere: another claimant checking */
    hs_addr self = hs_member_addr(n, n->self);
    if (type != HS_MSG_PING || strcmp(sender, n->self->name) || hs_addr_equal(from, &self)) return;
    if (!check_find(n, n->self->ring_hash, sender))
        check_new(n, sender, n->self->ring_hash, &self, from);
}

/* ---- outcomes ---- */

static hs_conflict *marker(hs_node *n, uint64_t hash, const char *name)
{
    for (size_t i = 0; i < HS_MAX_CONFLICTS; i++)
        if (n->conflicts[i].until && n->conflicts[i].hash == hash &&
            !strcmp(n->conflicts[i].name, name))
            return &n->conflicts[i];
    return NULL;
}

bool hs_node_conflict(const hs_node *n, const char *name, hs_addr *other)
{
    const hs_conflict *c = marker((hs_node *)n, hs_hash_str(name), name);
    if (!c || c->until <= n->now) return false;
    if (other) *other = c->other;
    return true;
}

static void report(hs_node *n, hs_name_check *c)
{
    hs_conflict *k = marker(n, c->hash, c->name);
    bool fresh = !k;
    for (size_t i = 0; i < HS_MAX_CONFLICTS && !k; i++)
        if (n->conflicts[i].until <= n->now) k = &n->conflicts[i];
    if (k) {
        k->hash = c->hash;
        strcpy(k->name, c->name);
        k->other = c->addr[1];
        k->until = n->now + REPORT_MS;
    }
    if (c->confirmed && !fresh) return;
    c->confirmed = true;
    n->stats.name_conflicts++;
    hs_member *m = hs_table_find(n, c->name);
    if (!m) return;
    hs_history_note(n, m, HS_H_CONFLICT, "", &c->addr[1]);
    hs_event_push(n, HS_EV_CONFLICT, m, (hs_status)m->status);
    n->events[n->nevents - 1].addr = c->addr[1];
}

static void unmark(hs_node *n, hs_name_check *c)
{
    hs_conflict *k = marker(n, c->hash, c->name);
    if (k) memset(k, 0, sizeof(*k));
}

/* The newer claimant of our own name: for one check window we only answer Pings (the members
 * checking the claim see both addresses answer and report it), then we are quiet for good
 * and the agent stops the process (hs_claims_stopping). */
static void stop(hs_node *n, const hs_addr *other)
{
    n->stopped_by = *other;
    n->join_retry_at = 0;
    n->stopping_until =
        n->now + (uint64_t)(CHECK_TRIES - 1) * n->cfg.probe_timeout_ms + n->cfg.indirect_timeout_ms;
}

void hs_claims_stopping(hs_node *n)
{
    if (n->now < n->stopping_until) return;
    n->stopping_until = 0;
    n->stopped = true;
    hs_event_push(n, HS_EV_CONFLICT, n->self, (hs_status)n->self->status);
    n->events[n->nevents - 1].addr = n->stopped_by;
    n->events[n->nevents - 1].status = HS_LEFT;
}

static void conclude(hs_node *n, hs_name_check *c)
{
    bool held = c->answered[0], claimed = c->answered[1], self = is_self(n, c);
    if (held && claimed) {
        report(n, c);
        if (self && c->self_stop) {
            hs_addr other = c->addr[1];
            check_free(c);
            stop(n, &other);
            return;
        }
        if (++c->rounds < MAX_ROUNDS) {
            round_start(n, c, n->now + 2ULL * n->cfg.probe_interval_ms);
            return;
        }
    } else {
        if (c->confirmed) unmark(n, c); /* one of them is gone: resolved */
        if (!held) note_gone(n, c->hash, &c->addr[0]);
        if (!held && c->have_entry) {
            hs_entry_copy *ec = c->entry;
            c->entry = NULL;
            n->claim_bypass = true;
            if (hs_merge_entry(n, &ec->e)) hs_gossip_soon(n);
            n->claim_bypass = false;
            free(ec);
        }
        /* the cluster held us alive at an address that is silent now: outnumber that entry */
        if (self && !claimed && c->self_stop) hs_refute(n, n->self->inc, true);
    }
    check_free(c);
}

void hs_claims_tick(hs_node *n)
{
    uint64_t next = 0;
    for (size_t i = 0; i < HS_MAX_NAME_CHECKS; i++) {
        hs_name_check *c = &n->checks_name[i];
        if (!c->used) continue;
        if (n->now >= c->next_at && c->tries < CHECK_TRIES && !(c->answered[0] && c->answered[1])) {
            send_pings(n, c);
            c->tries++;
            c->next_at = n->now + n->cfg.probe_timeout_ms;
        }
        if ((c->answered[0] && c->answered[1] && c->tries) || n->now >= c->end_at) {
            conclude(n, c);
            if (!c->used || n->stopped) continue;
        }
        uint64_t t = c->tries < CHECK_TRIES && c->next_at < c->end_at ? c->next_at : c->end_at;
        if (!next || t < next) next = t;
    }
    n->name_check_at = next;
}
