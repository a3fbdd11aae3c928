/* asim_store.c: a seed's Raft storage in memory, the way a disk holds it: the hard state and a
 * snapshot are durable when written, appended entries only after the sync that follows them,
 * and the commit index is recorded last. Every callback checks the order the agent core
 * promises (agent.h): no term going back, no second vote in a term, no gap in the log, no
 * committed entry overwritten, no commit index past what is durable. Each committed entry is
 * passed on to the committed-log checks (asim_truth.c). */
#include <stdlib.h>
#include <string.h>

#include "asim.h"
#include "asim_check.h"
#include "simutil.h"

struct as_store {
    as_sim *s;
    uint32_t owner;
    hs_raft_hard_state hard;
    uint64_t snap_index, snap_term;
    hs_raft_entry *log; /* snap_index + 1, ...; data owned */
    size_t n, cap;
    size_t durable;    /* the first `durable` entries are synced */
    uint64_t commit;   /* last set_commit */
    uint64_t reported; /* highest index passed to truth_committed */
    uint64_t violations;
};

static void violation(as_store *st, const char *what, uint64_t a, uint64_t b)
{
    st->violations++;
    as_fail(st->s, "seed n%u storage: %s (%llu, %llu)", st->owner, what, (unsigned long long)a,
            (unsigned long long)b);
}

static void count(as_store *st)
{
    checks_counters(st->s->chk)->storage_checks++;
}

static uint64_t last_index(const as_store *st)
{
    return st->snap_index + st->n;
}

static void drop_from(as_store *st, size_t pos)
{
    for (size_t k = pos; k < st->n; k++) free(st->log[k].data);
    st->n = pos;
    if (st->durable > pos) st->durable = pos;
}

static int set_hard(void *ctx, const hs_raft_hard_state *h)
{
    as_store *st = ctx;
    count(st);
    if (h->term < st->hard.term) violation(st, "term went back", st->hard.term, h->term);
    if (h->term == st->hard.term && st->hard.vote && h->vote != st->hard.vote)
        violation(st, "a second vote in one term", st->hard.vote, h->vote);
    st->hard = *h;
    return 0;
}

/* Reports committed indices up to `to` (entries a snapshot covers as NULL). */
static void report(as_store *st, uint64_t to)
{
    for (uint64_t i = st->reported + 1; i <= to && !st->s->failed; i++) {
        const hs_raft_entry *e = i > st->snap_index ? &st->log[i - st->snap_index - 1] : NULL;
        truth_committed(st->s, st->owner, i, e);
    }
    if (to > st->reported) st->reported = to;
}

static int set_snapshot(void *ctx, const hs_raft_snapshot *s)
{
    as_store *st = ctx;
    count(st);
    if (s->index < st->snap_index)
        violation(st, "snapshot older than the one held", st->snap_index, s->index);
    size_t keep_from = st->n; /* drop everything unless the log holds the snapshot's entry */
    if (s->index > st->snap_index && s->index <= last_index(st) &&
        st->log[s->index - st->snap_index - 1].term == s->term)
        keep_from = (size_t)(s->index - st->snap_index);
    size_t keep = keep_from <= st->n ? st->n - keep_from : 0;
    for (size_t k = 0; k < keep_from && k < st->n; k++) free(st->log[k].data);
    memmove(st->log, st->log + keep_from, keep * sizeof *st->log);
    st->durable = st->durable > keep_from ? st->durable - keep_from : 0;
    st->n = keep;
    st->snap_index = s->index;
    st->snap_term = s->term;
    report(st, s->index); /* a snapshot holds committed state only */
    return 0;
}

static int append(void *ctx, const hs_raft_entry *e, size_t n)
{
    as_store *st = ctx;
    count(st);
    if (!n) return 0;
    uint64_t first = e[0].index;
    if (first <= st->snap_index || first > last_index(st) + 1) {
        violation(st, "append leaves a gap or rewrites the snapshot", first, last_index(st));
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (e[k].index != first + k) violation(st, "entries not consecutive", first, e[k].index);
        uint64_t i = e[k].index;
        if (i <= st->commit && i <= last_index(st) &&
            st->log[i - st->snap_index - 1].term != e[k].term)
            violation(st, "a committed entry overwritten", i, e[k].term);
    }
    drop_from(st, (size_t)(first - st->snap_index - 1));
    for (size_t k = 0; k < n; k++) {
        st->log = sim_grow(st->log, st->n, &st->cap, sizeof *st->log, 256);
        hs_raft_entry *d = &st->log[st->n++];
        *d = e[k];
        d->data = malloc(e[k].len ? e[k].len : 1);
        if (!d->data) exit(2);
        if (e[k].len) memcpy(d->data, e[k].data, e[k].len);
    }
    return 0;
}

static int sync_all(void *ctx)
{
    as_store *st = ctx;
    count(st);
    st->durable = st->n;
    return 0;
}

static int set_commit(void *ctx, uint64_t c)
{
    as_store *st = ctx;
    count(st);
    if (c < st->commit) violation(st, "commit index went back", st->commit, c);
    if (c > st->snap_index + st->durable)
        violation(st, "commit index past the durable log", c, st->snap_index + st->durable);
    st->commit = c;
    report(st, c);
    return 0;
}

as_store *store_new(as_sim *s, uint32_t owner)
{
    as_store *st = sim_xcalloc(1, sizeof *st);
    st->s = s;
    st->owner = owner;
    return st;
}

void store_free(as_store *st)
{
    if (!st) return;
    drop_from(st, 0);
    free(st->log);
    free(st);
}

hs_agent_storage store_callbacks(as_store *st)
{
    return (hs_agent_storage){st, set_hard, set_snapshot, append, sync_all, set_commit};
}

uint64_t store_violations(const as_store *st)
{
    return st ? st->violations : 0;
}

size_t store_unsynced(const as_store *st)
{
    return st ? st->n - st->durable : 0;
}
