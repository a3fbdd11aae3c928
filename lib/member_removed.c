/* member_removed.c: members removed by force-leave (the replicated configuration's list, which
 * the agent applies here). A removed name's messages are dropped and entries about it are
 * refused; a member we hold is shown left, or with prune forgotten behind a tombstone at its
 * incarnation, so that once readmitted only the member itself, at a new incarnation, brings
 * the name back. Our own name removed: we go quiet until readmitted, then take a new
 * incarnation and meet the cluster again. The set is a sorted array by name hash. */
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

/* The first position whose hash is >= h. */
static size_t lower(const hs_node *n, uint64_t h)
{
    size_t lo = 0, hi = n->nremoved;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (n->removed[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static hs_removed *find(const hs_node *n, const char *name)
{
    uint64_t h = hs_hash_str(name);
    for (size_t i = lower(n, h); i < n->nremoved && n->removed[i].hash == h; i++)
        if (!strcmp(n->removed[i].name, name)) return &n->removed[i];
    return NULL;
}

bool hs_removed_has(const hs_node *n, const char *name)
{
    return n->nremoved && find(n, name);
}

int hs_node_removed(const hs_node *n, const char *name)
{
    const hs_removed *r = n->nremoved ? find(n, name) : NULL;
    return r ? r->prune : -1;
}

size_t hs_node_removed_count(const hs_node *n)
{
    return n->nremoved;
}

const char *hs_node_removed_at(const hs_node *n, size_t i)
{
    return i < n->nremoved ? n->removed[i].name : NULL;
}

void hs_removed_free(hs_node *n)
{
    free(n->removed);
}

bool hs_msg_sender(const uint8_t *data, size_t len, char *name, uint32_t *seq)
{
    hs_reader r;
    hs_reader_init(&r, data, len);
    uint8_t type = hs_get_u8(&r);
    *seq = 0;
    switch (type) {
    case HS_MSG_PING: /* seq:u32 from:str8 ... */
    case HS_MSG_PONG:
        *seq = hs_get_u32(&r);
        break;
    case HS_MSG_MEET: /* flags:u8 name:str8 ... */
    case HS_MSG_MEET_REPLY:
        hs_get_u8(&r);
        break;
    case HS_MSG_GOSSIP: /* name:str8 entries */
        break;
    case HS_MSG_SUSPECT: /* subject:str8 inc:u32 from:str8 */
    case HS_MSG_VOTE:    /* subject:str8 inc:u32 voter:str8 flags:u8 */
        hs_get_str8(&r, name, HS_NAME_MAX + 1, true);
        hs_get_u32(&r);
        break;
    default:
        return false;
    }
    hs_get_str8(&r, name, HS_NAME_MAX + 1, true);
    return r.ok && hs_name_valid(name);
}

/* Marks m left (an event if it was not) and drops what we would still say about it. */
static void mark_left(hs_node *n, hs_member *m)
{
    hs_status prev = (hs_status)m->status;
    hs_bcast_remove(n, m);
    if (prev == HS_LEFT) return;
    hs_history_stash(n, m);
    hs_set_status(n, m, HS_LEFT);
    hs_event_push(n, HS_EV_LEFT, m, prev);
}

void hs_node_remove_member(hs_node *n, uint64_t now_ms, const char *name, bool prune)
{
    if (now_ms > n->now) n->now = now_ms;
    if (!hs_name_valid(name)) return;
    hs_removed *r = find(n, name);
    bool more = !r || (prune && !r->prune);
    if (!r) {
        if (n->nremoved == n->removed_cap) {
            size_t cap = n->removed_cap ? n->removed_cap * 2 : 8;
            hs_removed *a = realloc(n->removed, cap * sizeof(*a));
            if (!a) abort();
            n->removed = a;
            n->removed_cap = cap;
        }
        uint64_t h = hs_hash_str(name);
        size_t i = lower(n, h);
        memmove(&n->removed[i + 1], &n->removed[i], (n->nremoved - i) * sizeof(*n->removed));
        n->nremoved++;
        r = &n->removed[i];
        memset(r, 0, sizeof(*r));
        r->hash = h;
        strcpy(r->name, name);
    }
    r->prune |= prune;
    if (!more) return;
    hs_member *m = hs_table_find(n, name);
    if (m == n->self) {
        n->removed_self = true;
        n->join_retry_at = 0;
        return;
    }
    if (!m) return;
    hs_history_note(n, m, HS_H_REMOVED, "", NULL);
    mark_left(n, m);
    if (!prune) return;
    hs_event_push(n, HS_EV_REAP, m, HS_LEFT);
    hs_tomb_bury(n, m);
    hs_table_remove(n, m);
}

void hs_node_readmit_member(hs_node *n, uint64_t now_ms, const char *name)
{
    if (now_ms > n->now) n->now = now_ms;
    hs_removed *r = n->nremoved ? find(n, name) : NULL;
    if (!r) return;
    size_t i = (size_t)(r - n->removed);
    memmove(&n->removed[i], &n->removed[i + 1], (n->nremoved - i - 1) * sizeof(*n->removed));
    n->nremoved--;
    hs_member *m = hs_table_find(n, name);
    if (m && m != n->self) hs_history_note(n, m, HS_H_READMITTED, "", NULL);
    if (m != n->self || !n->removed_self) return;
    /* back: an incarnation above whatever the others hold (left, a tombstone), and a Meet to
     * the join addresses and a few members we know, as at a start */
    n->removed_self = false;
    hs_refute(n, n->self->inc, true);
    for (size_t k = 0; k < n->njoin; k++) hs_send_meet(n, &n->join_addrs[k], HS_MSG_MEET, true);
    for (size_t k = 0, sent = 0; k < n->nmembers && sent < 3; k++) {
        hs_member *o = n->members[hs_prng_below(&n->rng, (uint32_t)n->nmembers)];
        if (o == n->self) continue;
        hs_addr to = hs_member_addr(n, o);
        hs_send_meet(n, &to, HS_MSG_MEET, true);
        sent++;
    }
    n->joined = false;
    n->join_retry_at = n->njoin ? n->now + n->cfg.join_retry_ms : 0;
    n->sync_at = n->now + hs_prng_below(&n->rng, 1000);
}
