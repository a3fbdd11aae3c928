/* raft_log.h: private to the Raft core. The in-memory log of one node: the entries after the
 * latest snapshot, plus the snapshot's (index, term) as the log's base. */
#ifndef HEARSAY_RAFT_LOG_H
#define HEARSAY_RAFT_LOG_H

#include "hearsay/raft.h"

typedef struct hs_raft_log {
    hs_raft_entry *ents; /* ents[i] has index base_index + 1 + i */
    size_t n, cap;
    uint64_t base_index, base_term; /* the snapshot's last entry (0/0 without snapshot) */
} hs_raft_log;

void hs_rlog_init(hs_raft_log *l, uint64_t base_index, uint64_t base_term);
void hs_rlog_free(hs_raft_log *l);
uint64_t hs_rlog_last_index(const hs_raft_log *l);
uint64_t hs_rlog_last_term(const hs_raft_log *l);
/* Term at index: base_term at the base, 0 below the base or past the end. */
uint64_t hs_rlog_term(const hs_raft_log *l, uint64_t index);
const hs_raft_entry *hs_rlog_at(const hs_raft_log *l, uint64_t index);
/* Appends a copy of e; e->index must be last + 1. 0, or HS_RAFT_ENOMEM / HS_RAFT_EINVAL. */
int hs_rlog_append(hs_raft_log *l, const hs_raft_entry *e);
/* Drops every entry with index >= from. */
void hs_rlog_truncate(hs_raft_log *l, uint64_t from);
/* Drops every entry with index <= index and makes (index, term) the base. If the log does not
 * reach index, the log ends up empty. */
void hs_rlog_compact(hs_raft_log *l, uint64_t index, uint64_t term);

/* Entry copies (data is duplicated). */
int hs_rentry_copy(hs_raft_entry *dst, const hs_raft_entry *src);
void hs_rentries_free(hs_raft_entry *e, size_t n);

#endif
