/* raft_ready.c: the Raft node's lifecycle and output: creation from durable state, the Ready
 * the caller persists/sends/applies, hs_raft_advance, and read-only introspection. */
#include <stdlib.h>
#include <string.h>

#include "raft_internal.h"

/* ---- Ready ---- */

static hs_raft_hard_state hard_state(const hs_raft *r)
{
    return (hs_raft_hard_state){
        .term = r->term, .vote = r->vote, .commit = r->commit, .recovering = r->recovering};
}

static bool hs_changed(const hs_raft_hard_state *a, const hs_raft_hard_state *b)
{
    return a->term != b->term || a->vote != b->vote || a->commit != b->commit ||
           a->recovering != b->recovering;
}

bool hs_raft_has_ready(const hs_raft *r)
{
    if (r->ready_out) return false;
    hs_raft_hard_state h = hard_state(r);
    return hs_changed(&h, &r->prev_hs) || r->snap_unstable ||
           r->stable < hs_rlog_last_index(&r->log) || r->nmsgs > 0 || r->commit > r->applied ||
           r->nrstates > 0 || r->role != r->prev_role || r->lead != r->prev_lead ||
           r->term != r->prev_term;
}

static hs_raft_entry *copy_range(const hs_raft *r, uint64_t from, uint64_t to, size_t *n)
{
    *n = 0;
    if (to < from) return NULL;
    size_t cnt = to - from + 1;
    hs_raft_entry *out = calloc(cnt, sizeof(*out));
    if (!out) return NULL;
    for (size_t i = 0; i < cnt; i++) {
        const hs_raft_entry *e = hs_rlog_at(&r->log, from + i);
        if (!e || hs_rentry_copy(&out[i], e)) {
            hs_rentries_free(out, i);
            return NULL;
        }
    }
    *n = cnt;
    return out;
}

bool hs_raft_get_ready(hs_raft *r, hs_raft_ready *rd)
{
    memset(rd, 0, sizeof(*rd));
    if (!hs_raft_has_ready(r)) return false;
    hs_raft_hard_state h = hard_state(r);
    if (hs_changed(&h, &r->prev_hs)) {
        rd->has_hard_state = true;
        rd->hard_state = h;
        r->prev_hs = h;
    }
    if (r->snap_unstable) {
        rd->snapshot = malloc(sizeof(*rd->snapshot));
        if (rd->snapshot && hs_raft__snapshot_copy(rd->snapshot, &r->snap)) {
            free(rd->snapshot);
            rd->snapshot = NULL;
        }
        r->snap_unstable = false;
    }
    uint64_t last = hs_rlog_last_index(&r->log);
    rd->entries = copy_range(r, r->stable + 1, last, &rd->n_entries);
    rd->last_index_ = last;
    rd->last_term_ = hs_rlog_last_term(&r->log);
    rd->committed = copy_range(r, r->applied + 1, r->commit, &rd->n_committed);
    rd->applied_to_ = r->applied + rd->n_committed;
    /* apply membership changes as they are handed to the application; this may queue
     * messages, so it runs before the messages are taken */
    hs_raft__apply_conf_entries(r, rd->committed, rd->n_committed);
    rd->msgs = r->msgs;
    rd->n_msgs = r->nmsgs;
    r->msgs = NULL;
    r->nmsgs = r->capmsgs = 0;
    rd->reads = r->rstates;
    rd->n_reads = r->nrstates;
    r->rstates = NULL;
    r->nrstates = r->caprstates = 0;
    rd->role_changed =
        r->role != r->prev_role || r->lead != r->prev_lead || r->term != r->prev_term;
    rd->role = r->prev_role = r->role;
    rd->leader = r->prev_lead = r->lead;
    rd->term = r->prev_term = r->term;
    /* the hard state may have changed while applying conf entries (stepping down) */
    h = hard_state(r);
    if (hs_changed(&h, &r->prev_hs)) {
        rd->has_hard_state = true;
        rd->hard_state = h;
        r->prev_hs = h;
    }
    r->ready_out = true;
    return true;
}

void hs_raft_advance(hs_raft *r, hs_raft_ready *rd)
{
    if (rd->n_entries && rd->last_index_ > r->stable &&
        hs_rlog_term(&r->log, rd->last_index_) == rd->last_term_)
        r->stable = rd->last_index_;
    if (rd->applied_to_ > r->applied) r->applied = rd->applied_to_;
    hs_rentries_free(rd->entries, rd->n_entries);
    hs_rentries_free(rd->committed, rd->n_committed);
    for (size_t i = 0; i < rd->n_msgs; i++) hs_raft__free_msg(&rd->msgs[i]);
    free(rd->msgs);
    free(rd->reads);
    if (rd->snapshot) {
        free(rd->snapshot->data);
        free(rd->snapshot);
    }
    memset(rd, 0, sizeof(*rd));
    r->ready_out = false;
    hs_raft__after_persist(r);
}

/* ---- lifecycle ---- */

hs_raft *hs_raft_new(const hs_raft_cfg *cfg, uint64_t now_ms)
{
    if (!cfg || cfg->id == 0) return NULL;
    hs_raft *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->id = cfg->id;
    r->rng.s = cfg->rng_seed ^ (cfg->id * 0x9e3779b97f4a7c15ULL);
    r->emin = cfg->election_min_ms ? cfg->election_min_ms : 150;
    r->emax = cfg->election_max_ms > r->emin ? cfg->election_max_ms : r->emin * 2;
    r->hb = cfg->heartbeat_ms ? cfg->heartbeat_ms : 50;
    r->now = now_ms;
    const hs_raft_snapshot *s = cfg->snapshot && cfg->snapshot->index ? cfg->snapshot : NULL;
    if (s) {
        if (s->conf.n > HS_RAFT_MAX_PEERS || hs_raft__snapshot_copy(&r->snap, s)) goto fail;
        hs_rlog_init(&r->log, s->index, s->term);
        r->conf = s->conf;
    } else {
        if (cfg->peers.n > HS_RAFT_MAX_PEERS) goto fail;
        hs_rlog_init(&r->log, 0, 0);
        r->conf = cfg->peers;
    }
    for (size_t i = 0; i < cfg->n_entries; i++)
        if (hs_rlog_append(&r->log, &cfg->entries[i])) goto fail;
    r->term = cfg->hard.term;
    r->vote = cfg->hard.vote;
    r->commit = cfg->hard.commit;
    r->recovering = cfg->hard.recovering;
    if (r->commit < r->log.base_index) r->commit = r->log.base_index;
    if (r->commit > hs_rlog_last_index(&r->log)) r->commit = hs_rlog_last_index(&r->log);
    r->applied = r->log.base_index;
    r->stable = hs_rlog_last_index(&r->log);
    r->conf_through = r->log.base_index;
    for (uint64_t i = r->log.base_index + 1; i <= r->commit; i++)
        hs_raft__apply_conf_entries(r, hs_rlog_at(&r->log, i), 1);
    r->prev_hs = hard_state(r);
    r->prev_hs.commit = cfg->hard.commit;
    r->prev_term = r->term;
    r->role = r->prev_role = HS_RAFT_FOLLOWER;
    hs_raft__reset_election_timer(r);
    return r;
fail:
    hs_raft_free(r);
    return NULL;
}

void hs_raft_free(hs_raft *r)
{
    if (!r) return;
    hs_rlog_free(&r->log);
    free(r->snap.data);
    for (size_t i = 0; i < r->nmsgs; i++) hs_raft__free_msg(&r->msgs[i]);
    free(r->msgs);
    free(r->rstates);
    free(r->reads);
    free(r);
}

/* ---- introspection ---- */

uint64_t hs_raft_id(const hs_raft *r)
{
    return r->id;
}
hs_raft_role hs_raft_get_role(const hs_raft *r)
{
    return r->role;
}
uint64_t hs_raft_leader(const hs_raft *r)
{
    return r->lead;
}
uint64_t hs_raft_term(const hs_raft *r)
{
    return r->term;
}
uint64_t hs_raft_vote(const hs_raft *r)
{
    return r->vote;
}
uint64_t hs_raft_commit(const hs_raft *r)
{
    return r->commit;
}
uint64_t hs_raft_applied(const hs_raft *r)
{
    return r->applied;
}
bool hs_raft_recovering(const hs_raft *r)
{
    return r->recovering;
}
uint64_t hs_raft_first_index(const hs_raft *r)
{
    return r->log.base_index + 1;
}
uint64_t hs_raft_last_index(const hs_raft *r)
{
    return hs_rlog_last_index(&r->log);
}
uint64_t hs_raft_term_at(const hs_raft *r, uint64_t index)
{
    return hs_rlog_term(&r->log, index);
}
const hs_raft_entry *hs_raft_entry_at(const hs_raft *r, uint64_t index)
{
    return hs_rlog_at(&r->log, index);
}
const hs_raft_conf *hs_raft_get_conf(const hs_raft *r)
{
    return &r->conf;
}
const hs_raft_snapshot *hs_raft_get_snapshot(const hs_raft *r)
{
    return &r->snap;
}
uint32_t hs_raft_election_timeout(const hs_raft *r)
{
    return r->cur_timeout;
}
