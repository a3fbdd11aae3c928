/* member_history.c: every member's status history as this node saw it, for `hearsay explain`:
 * who raised a suspicion, which votes stood when it was declared failed or cleared, who
 * decided (this node, or learnt from gossip), refutations and incarnations, removals and
 * conflicts, with times. A member gets a history with its first suspicion, failure, leave,
 * removal or conflict (a member that never left alive costs nothing); the records are kept in
 * a small array that grows to HS_HISTORY_MAX and then drops the oldest. Voters are kept as
 * ring hashes and named when read (a voter reaped since shows as "?" and its hash). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

typedef struct hs_hist_rec {
    uint64_t at_ms, by_hash; /* by: 0 = nobody named (the configuration) */
    hs_addr addr;
    uint32_t inc;
    uint8_t what, status, learnt, nvotes;
    struct {
        uint64_t hash, at_ms;
    } votes[HS_HISTORY_VOTES];
} hs_hist_rec;

struct hs_history {
    uint32_t n, cap;
    hs_hist_rec recs[];
};

#define FIRST_CAP 2

void hs_history_free(hs_member *m)
{
    free(m->hist);
    m->hist = NULL;
}

void hs_history_stash(hs_node *n, const hs_member *m)
{
    if (!m->susp) return;
    n->votes_of = m;
    n->stash_at = n->now;
    n->nstash = m->susp->nvotes < HS_MAX_VOTE_GROUP ? m->susp->nvotes : HS_MAX_VOTE_GROUP;
    memcpy(n->stash, m->susp->votes, n->nstash * sizeof(n->stash[0]));
}

/* A new record at the end of m's history (allocated if new is allowed). */
static hs_hist_rec *append(hs_member *m, bool create)
{
    struct hs_history *h = m->hist;
    if (!h && !create) return NULL;
    if (!h || (h->n == h->cap && h->cap < HS_HISTORY_MAX)) {
        uint32_t cap = h ? h->cap * 2 : FIRST_CAP;
        if (cap > HS_HISTORY_MAX) cap = HS_HISTORY_MAX;
        struct hs_history *g = realloc(h, sizeof(*g) + cap * sizeof(g->recs[0]));
        if (!g) abort();
        if (!h) g->n = 0;
        g->cap = cap;
        m->hist = h = g;
    }
    if (h->n == h->cap) {
        memmove(&h->recs[0], &h->recs[1], (h->cap - 1) * sizeof(h->recs[0]));
        h->n--;
    }
    hs_hist_rec *r = &h->recs[h->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

static hs_hist_rec *record(hs_node *n, hs_member *m, hs_history_what what, bool create)
{
    hs_hist_rec *r = append(m, create);
    if (!r) return NULL;
    r->at_ms = n->now;
    r->what = (uint8_t)what;
    r->status = m->status;
    r->inc = m->inc;
    r->addr = hs_member_addr(n, m);
    r->learnt = n->merging;
    return r;
}

/* The votes stashed for m when its suspicion ended (now), into r. */
static void take_votes(hs_node *n, const hs_member *m, hs_hist_rec *r)
{
    if (n->votes_of != m || n->stash_at != n->now) return;
    for (size_t i = 0; i < n->nstash && r->nvotes < HS_HISTORY_VOTES; i++) {
        r->votes[r->nvotes].hash = n->stash[i].voter_hash;
        r->votes[r->nvotes++].at_ms = n->stash[i].at_ms;
    }
    n->votes_of = NULL;
}

void hs_history_event(hs_node *n, hs_member *m, hs_event_type t, hs_status prev)
{
    hs_hist_rec *r = NULL;
    switch (t) {
    case HS_EV_JOIN:
        r = record(n, m, HS_H_JOIN, prev == HS_FAILED || prev == HS_LEFT);
        break;
    case HS_EV_UPDATE:
        r = record(n, m, HS_H_UPDATE, false);
        break;
    case HS_EV_SUSPECT:
        if (!(r = record(n, m, HS_H_SUSPECT, true))) break;
        r->by_hash = n->self->ring_hash; /* our own check failed, unless a vote just came */
        for (size_t i = 0; m->susp && i < m->susp->nvotes; i++)
            if (m->susp->votes[i].at_ms == n->now &&
                m->susp->votes[i].voter_hash != n->self->ring_hash) {
                r->by_hash = m->susp->votes[i].voter_hash;
                r->learnt = true;
            }
        break;
    case HS_EV_ALIVE:
        r = record(n, m, n->merging ? HS_H_REFUTED : HS_H_ALIVE, true);
        break;
    case HS_EV_FAILED:
        r = record(n, m, HS_H_FAILED, true);
        if (r && !r->learnt) r->by_hash = n->self->ring_hash;
        break;
    case HS_EV_LEFT:
        r = record(n, m, HS_H_LEFT, true);
        break;
    default:
        return;
    }
    if (r) take_votes(n, m, r);
}

void hs_history_note(hs_node *n, hs_member *m, hs_history_what what, const char *by,
                     const hs_addr *addr)
{
    hs_hist_rec *r = record(n, m, what, true);
    r->learnt = false;
    if (by && by[0]) r->by_hash = hs_hash_str(by);
    if (addr) r->addr = *addr;
}

static void name_of(const hs_node *n, uint64_t h, char *out)
{
    const hs_member *m = h ? hs_table_find_hash(n, h) : NULL;
    if (m)
        snprintf(out, HS_NAME_MAX + 1, "%s", m->name);
    else if (h)
        snprintf(out, HS_NAME_MAX + 1, "?%016llx", (unsigned long long)h);
    else
        out[0] = '\0';
}

size_t hs_node_history(const hs_node *n, const char *name, hs_history_entry *out, size_t max)
{
    const hs_member *m = hs_table_find(n, name);
    if (!m) return SIZE_MAX;
    const struct hs_history *h = m->hist;
    size_t count = h ? h->n : 0;
    if (count > max) count = max;
    for (size_t i = 0; i < count; i++) {
        const hs_hist_rec *r = &h->recs[h->n - count + i];
        hs_history_entry *e = &out[i];
        memset(e, 0, sizeof(*e));
        e->at_ms = r->at_ms;
        e->what = (hs_history_what)r->what;
        e->status = (hs_status)r->status;
        e->inc = r->inc;
        e->learnt = r->learnt;
        e->addr = r->addr;
        name_of(n, r->by_hash, e->by);
        e->nvotes = r->nvotes;
        for (size_t k = 0; k < r->nvotes; k++) {
            name_of(n, r->votes[k].hash, e->votes[k].name);
            e->votes[k].at_ms = r->votes[k].at_ms;
        }
    }
    return count;
}

const char *hs_history_what_name(hs_history_what w)
{
    static const char *const names[] = {"",        "join",       "update",  "suspect",
                                        "alive",   "refuted",    "failed",  "left",
                                        "removed", "readmitted", "conflict"};
    return (unsigned)w < sizeof(names) / sizeof(names[0]) ? names[w] : "unknown";
}
