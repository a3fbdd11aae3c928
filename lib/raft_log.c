/* raft_log.c: the Raft core's in-memory log (entries after the snapshot base), with append,
 * suffix truncation on conflict and prefix compaction after a snapshot. */
#include <stdlib.h>
#include <string.h>

#include "raft_log.h"

void hs_rlog_init(hs_raft_log *l, uint64_t base_index, uint64_t base_term)
{
    memset(l, 0, sizeof(*l));
    l->base_index = base_index;
    l->base_term = base_term;
}

void hs_rentries_free(hs_raft_entry *e, size_t n)
{
    if (!e) return;
    for (size_t i = 0; i < n; i++) free(e[i].data);
    free(e);
}

void hs_rlog_free(hs_raft_log *l)
{
    hs_rentries_free(l->ents, l->n);
    l->ents = NULL;
    l->n = l->cap = 0;
}

uint64_t hs_rlog_last_index(const hs_raft_log *l)
{
    return l->base_index + l->n;
}

uint64_t hs_rlog_last_term(const hs_raft_log *l)
{
    return l->n ? l->ents[l->n - 1].term : l->base_term;
}

uint64_t hs_rlog_term(const hs_raft_log *l, uint64_t index)
{
    if (index == l->base_index) return l->base_term;
    if (index < l->base_index || index > hs_rlog_last_index(l)) return 0;
    return l->ents[index - l->base_index - 1].term;
}

const hs_raft_entry *hs_rlog_at(const hs_raft_log *l, uint64_t index)
{
    if (index <= l->base_index || index > hs_rlog_last_index(l)) return NULL;
    return &l->ents[index - l->base_index - 1];
}

int hs_rentry_copy(hs_raft_entry *dst, const hs_raft_entry *src)
{
    *dst = *src;
    dst->data = NULL;
    if (src->len) {
        dst->data = malloc(src->len);
        if (!dst->data) return HS_RAFT_ENOMEM;
        memcpy(dst->data, src->data, src->len);
    }
    return HS_RAFT_OK;
}

int hs_rlog_append(hs_raft_log *l, const hs_raft_entry *e)
{
    if (e->index != hs_rlog_last_index(l) + 1 || e->len > HS_RAFT_MAX_ENTRY) return HS_RAFT_EINVAL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        hs_raft_entry *n = realloc(l->ents, cap * sizeof(*n));
        if (!n) return HS_RAFT_ENOMEM;
        l->ents = n;
        l->cap = cap;
    }
    int rc = hs_rentry_copy(&l->ents[l->n], e);
    if (rc) return rc;
    l->n++;
    return HS_RAFT_OK;
}

void hs_rlog_truncate(hs_raft_log *l, uint64_t from)
{
    if (from <= l->base_index) from = l->base_index + 1;
    while (hs_rlog_last_index(l) >= from && l->n > 0) {
        l->n--;
        free(l->ents[l->n].data);
        l->ents[l->n].data = NULL;
    }
}

void hs_rlog_compact(hs_raft_log *l, uint64_t index, uint64_t term)
{
    if (index <= l->base_index) return;
    size_t drop = index - l->base_index;
    if (drop > l->n) drop = l->n;
    for (size_t i = 0; i < drop; i++) free(l->ents[i].data);
    if (l->n > drop) memmove(l->ents, l->ents + drop, (l->n - drop) * sizeof(*l->ents));
    l->n -= drop;
    if (index > l->base_index + drop) { /* log did not reach index: nothing left */
        for (size_t i = 0; i < l->n; i++) free(l->ents[i].data);
        l->n = 0;
    }
    l->base_index = index;
    l->base_term = term;
}
