/* raft.c: the Raft protocol of one node (sans-I/O): elections with pre-vote and check-quorum,
 * log replication with the consistency check, commit rules (Figure 8), InstallSnapshot,
 * one-at-a-time seed changes and ReadIndex. The Ready/advance side and the node's lifecycle are
 * in raft_ready.c; include/hearsay/raft.h has the caller's side, docs/raft.md the design. */
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "raft_internal.h"

static bool is_member(const hs_raft *r, uint64_t id)
{
    return hs_raft_conf_find(&r->conf, id) != NULL;
}

static uint32_t quorum(const hs_raft *r)
{
    return r->conf.n / 2 + 1;
}

/* ---- output ---- */

static hs_raft_msg *new_msg(hs_raft *r, uint8_t type, uint64_t to)
{
    if (r->nmsgs == r->capmsgs) {
        size_t cap = r->capmsgs ? r->capmsgs * 2 : 16;
        hs_raft_msg *n = realloc(r->msgs, cap * sizeof(*n));
        if (!n) return NULL;
        r->msgs = n;
        r->capmsgs = cap;
    }
    hs_raft_msg *m = &r->msgs[r->nmsgs++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = r->id;
    m->to = to;
    m->term = r->term;
    return m;
}

void hs_raft__free_msg(hs_raft_msg *m)
{
    hs_rentries_free(m->entries, m->n_entries);
    free(m->snapshot.data);
    m->entries = NULL;
    m->snapshot.data = NULL;
}

static void push_read_state(hs_raft *r, uint64_t ctx, uint64_t index)
{
    if (r->nrstates == r->caprstates) {
        size_t cap = r->caprstates ? r->caprstates * 2 : 8;
        hs_raft_read_state *n = realloc(r->rstates, cap * sizeof(*n));
        if (!n) return;
        r->rstates = n;
        r->caprstates = cap;
    }
    r->rstates[r->nrstates++] = (hs_raft_read_state){.ctx = ctx, .index = index};
}

int hs_raft__snapshot_copy(hs_raft_snapshot *dst, const hs_raft_snapshot *src)
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

/* ---- timers and role changes ---- */

void hs_raft__reset_election_timer(hs_raft *r)
{
    uint32_t span = r->emax > r->emin ? r->emax - r->emin : 1;
    r->cur_timeout = r->emin + (uint32_t)(hs_prng_next(&r->rng) % span);
    r->election_deadline = r->now + r->cur_timeout;
}

static void drop_reads(hs_raft *r)
{
    r->nreads = 0;
}

static void become_follower(hs_raft *r, uint64_t term, uint64_t lead)
{
    if (term != r->term) {
        r->term = term;
        r->vote = 0;
        r->recover_read = 0;
    }
    if (r->role == HS_RAFT_LEADER) drop_reads(r);
    r->role = HS_RAFT_FOLLOWER;
    r->lead = lead;
    if (lead) r->last_leader_contact = r->now;
    hs_raft__reset_election_timer(r);
}

static progress *find_pr(hs_raft *r, uint64_t id)
{
    for (uint32_t i = 0; i < r->nprs; i++)
        if (r->prs[i].id == id) return &r->prs[i];
    return NULL;
}

/* Rebuilds the progress table from the conf, keeping what is known about existing peers. */
static void sync_progress(hs_raft *r)
{
    progress old[HS_RAFT_MAX_PEERS];
    uint32_t nold = r->nprs;
    memcpy(old, r->prs, sizeof(old));
    r->nprs = 0;
    for (uint32_t i = 0; i < r->conf.n; i++) {
        uint64_t id = r->conf.peers[i].id;
        progress p = {.id = id, .next = hs_rlog_last_index(&r->log) + 1, .active = true};
        for (uint32_t j = 0; j < nold; j++)
            if (old[j].id == id) p = old[j];
        r->prs[r->nprs++] = p;
    }
}

static void reset_votes(hs_raft *r)
{
    r->nvotes = 0;
}

static void record_vote(hs_raft *r, uint64_t id, bool granted)
{
    if (!is_member(r, id)) return;
    for (uint32_t i = 0; i < r->nvotes; i++)
        if (r->vote_ids[i] == id) return;
    if (r->nvotes >= HS_RAFT_MAX_PEERS) return;
    r->vote_ids[r->nvotes] = id;
    r->vote_granted[r->nvotes] = granted;
    r->nvotes++;
}

static void count_votes(const hs_raft *r, uint32_t *yes, uint32_t *no)
{
    *yes = *no = 0;
    for (uint32_t i = 0; i < r->nvotes; i++) {
        if (r->vote_granted[i])
            (*yes)++;
        else
            (*no)++;
    }
}

static void send_append(hs_raft *r, progress *pr);
static void bcast_append(hs_raft *r);

static void become_leader(hs_raft *r)
{
    r->role = HS_RAFT_LEADER;
    r->lead = r->id;
    r->nprs = 0;
    sync_progress(r);
    for (uint32_t i = 0; i < r->nprs; i++) {
        r->prs[i].match = 0;
        r->prs[i].next = hs_rlog_last_index(&r->log) + 1;
        r->prs[i].read_ack = 0;
        r->prs[i].active = true;
    }
    drop_reads(r);
    r->read_round = 0;
    hs_raft_entry noop = {
        .term = r->term, .index = hs_rlog_last_index(&r->log) + 1, .type = HS_RAFT_ENTRY_NOOP};
    hs_rlog_append(&r->log, &noop);
    /* No membership change until everything in the log (an older term's change included) is
     * applied; the no-op makes that also mean "after a current-term commit". */
    r->pending_conf_index = noop.index;
    r->heartbeat_deadline = r->now + r->hb;
    r->checkq_deadline = r->now + r->emin;
    bcast_append(r);
}

static void send_vote_requests(hs_raft *r, bool pre)
{
    for (uint32_t i = 0; i < r->conf.n; i++) {
        uint64_t id = r->conf.peers[i].id;
        if (id == r->id) continue;
        hs_raft_msg *m = new_msg(r, pre ? HS_RAFT_MSG_PREVOTE : HS_RAFT_MSG_VOTE, id);
        if (!m) return;
        m->term = pre ? r->term + 1 : r->term;
        m->log_index = hs_rlog_last_index(&r->log);
        m->log_term = hs_rlog_last_term(&r->log);
    }
}

static void campaign(hs_raft *r, bool pre)
{
    if (!is_member(r, r->id)) {
        hs_raft__reset_election_timer(r);
        return;
    }
    if (r->role == HS_RAFT_LEADER) drop_reads(r);
    reset_votes(r);
    r->lead = 0;
    hs_raft__reset_election_timer(r);
    if (pre) {
        r->role = HS_RAFT_PRECANDIDATE;
    } else {
        r->role = HS_RAFT_CANDIDATE;
        r->term++;
        r->vote = r->id;
    }
    record_vote(r, r->id, true);
    if (quorum(r) <= 1) {
        if (pre)
            campaign(r, false);
        else
            become_leader(r);
        return;
    }
    send_vote_requests(r, pre);
}

/* ---- recovery of a node that lost its log (hs_raft_hard_state.recovering) ---- */

/* Asks the leader for a read index (at most once per election_min_ms, until one arrived in
 * this term). Its answer comes only after a quorum of the others (this node's acks do not
 * count, see recover_cap_ack) answered a heartbeat round of the leader's term that started
 * after this node was back. */
static void recover_probe(hs_raft *r)
{
    if (!r->recovering || r->lead == 0 || r->now < r->recover_probe_at ||
        (r->recover_read != 0 && r->recover_term == r->term))
        return;
    r->recover_probe_at = r->now + r->emin;
    hs_raft_msg *m = new_msg(r, HS_RAFT_MSG_READINDEX, r->lead);
    if (m) m->ctx = HS_RAFT_RECOVER_CTX;
}

/* Up to date: this node holds everything up to a read index of the current leader, which
 * covers an entry of the leader's term and so every entry committed before. It votes again,
 * but not in this term (it may have voted in it before it lost its state): the vote goes to
 * the leader, who has already won it. */
static void recover_check(hs_raft *r)
{
    if (!r->recovering || r->recover_read == 0 || r->recover_term != r->term ||
        r->commit < r->recover_read)
        return;
    r->recovering = false;
    if (r->vote == 0) r->vote = r->recover_lead;
}

/* A recovering node acknowledges nothing past the leader's commit index and takes part in no
 * read round, so it never helps a commit or a read index before it is up to date. */
static void recover_cap_ack(const hs_raft *r, hs_raft_msg *resp)
{
    if (!r->recovering) return;
    if (!resp->reject && resp->index > r->commit) resp->index = r->commit;
    resp->ctx = 0;
}

/* ---- replication ---- */

static void send_append(hs_raft *r, progress *pr)
{
    if (pr->id == r->id) return;
    uint64_t prev = pr->next - 1;
    if (prev < r->log.base_index) {
        /* the entries it needs are compacted: ship the snapshot */
        hs_raft_msg *m = new_msg(r, HS_RAFT_MSG_SNAPSHOT, pr->id);
        if (!m) return;
        if (hs_raft__snapshot_copy(&m->snapshot, &r->snap)) {
            r->nmsgs--;
            return;
        }
        m->commit = r->commit;
        pr->next = r->snap.index + 1;
        return;
    }
    hs_raft_msg *m = new_msg(r, HS_RAFT_MSG_APPEND, pr->id);
    if (!m) return;
    m->log_index = prev;
    m->log_term = hs_rlog_term(&r->log, prev);
    m->commit = r->commit;
    m->ctx = r->read_round;
    uint64_t last = hs_rlog_last_index(&r->log);
    size_t n = 0, bytes = 0;
    while (pr->next + n <= last && n < HS_RAFT_MAX_MSG_ENTS) {
        const hs_raft_entry *e = hs_rlog_at(&r->log, pr->next + n);
        if (n > 0 && bytes + e->len > HS_RAFT_MAX_MSG_BYTES) break;
        bytes += e->len;
        n++;
    }
    if (n) {
        m->entries = calloc(n, sizeof(*m->entries));
        if (!m->entries) {
            r->nmsgs--;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (hs_rentry_copy(&m->entries[i], hs_rlog_at(&r->log, pr->next + i))) {
                hs_rentries_free(m->entries, i);
                r->nmsgs--;
                return;
            }
        }
        m->n_entries = (uint32_t)n;
        pr->next += n; /* optimistic; heartbeats rewind to match + 1 */
    }
}

static void bcast_append(hs_raft *r)
{
    for (uint32_t i = 0; i < r->nprs; i++) send_append(r, &r->prs[i]);
}

static void bcast_heartbeat(hs_raft *r)
{
    for (uint32_t i = 0; i < r->nprs; i++) {
        progress *pr = &r->prs[i];
        if (pr->id == r->id) continue;
        pr->next = pr->match + 1; /* resend whatever is not acknowledged */
        send_append(r, pr);
    }
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The quorum-th largest of one value per voter. */
static uint64_t quorum_value(const hs_raft *r, uint64_t self_value, bool use_read_ack)
{
    uint64_t v[HS_RAFT_MAX_PEERS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->conf.n; i++) {
        uint64_t id = r->conf.peers[i].id;
        if (id == r->id) {
            v[n++] = self_value;
            continue;
        }
        const progress *pr = NULL;
        for (uint32_t j = 0; j < r->nprs; j++)
            if (r->prs[j].id == id) pr = &r->prs[j];
        v[n++] = pr ? (use_read_ack ? pr->read_ack : pr->match) : 0;
    }
    qsort(v, n, sizeof(v[0]), cmp_desc);
    return v[quorum(r) - 1];
}

/* Leader: advance commit to the highest index stored on a quorum, but only if that entry is of
 * the current term (Figure 8: older entries are committed indirectly). */
static bool maybe_commit(hs_raft *r)
{
    uint64_t self =
        r->stable < hs_rlog_last_index(&r->log) ? r->stable : hs_rlog_last_index(&r->log);
    uint64_t idx = quorum_value(r, self, false);
    if (idx > r->commit && hs_rlog_term(&r->log, idx) == r->term) {
        r->commit = idx;
        return true;
    }
    return false;
}

static void release_reads(hs_raft *r)
{
    if (r->role != HS_RAFT_LEADER || r->nreads == 0) return;
    uint64_t done = quorum_value(r, UINT64_MAX, true);
    size_t keep = 0;
    for (size_t i = 0; i < r->nreads; i++) {
        pending_read *p = &r->reads[i];
        if (p->round > done) {
            r->reads[keep++] = *p;
            continue;
        }
        if (p->from == r->id) {
            push_read_state(r, p->ctx, p->index);
        } else {
            hs_raft_msg *m = new_msg(r, HS_RAFT_MSG_READINDEX_RESP, p->from);
            if (m) {
                m->ctx = p->ctx;
                m->index = p->index;
            }
        }
    }
    r->nreads = keep;
}

/* ---- message handlers ---- */

static bool log_up_to_date(const hs_raft *r, uint64_t last_index, uint64_t last_term)
{
    uint64_t lt = hs_rlog_last_term(&r->log);
    return last_term > lt || (last_term == lt && last_index >= hs_rlog_last_index(&r->log));
}

static void handle_vote(hs_raft *r, const hs_raft_msg *m)
{
    bool pre = m->type == HS_RAFT_MSG_PREVOTE;
    bool can_vote;
    if (pre)
        can_vote = m->term > r->term;
    else
        can_vote = r->vote == m->from || (r->vote == 0 && r->lead == 0);
    if (r->recovering) can_vote = false;
    /* A node outside its own configuration (a non-seed, a removed seed) votes only for a
     * candidate whose log is strictly ahead of its own: such a candidate may know of a later
     * configuration that includes us, and refusing it could leave the group without a quorum.
     * Votes are counted only by candidates that list the voter, so this never adds power. */
    bool ahead =
        m->log_term > hs_rlog_last_term(&r->log) ||
        (m->log_term == hs_rlog_last_term(&r->log) && m->log_index > hs_rlog_last_index(&r->log));
    bool grant =
        can_vote && (is_member(r, r->id) || ahead) && log_up_to_date(r, m->log_index, m->log_term);
    hs_raft_msg *resp = new_msg(r, pre ? HS_RAFT_MSG_PREVOTE_RESP : HS_RAFT_MSG_VOTE_RESP, m->from);
    if (!resp) return;
    resp->reject = !grant;
    if (grant && pre) resp->term = m->term;
    if (grant && !pre) {
        r->vote = m->from;
        hs_raft__reset_election_timer(r);
    }
}

/* Acks still queued (a Ready is being persisted) must not claim entries that were just
 * truncated: they would leave after the truncation is persisted, vouching for entries this node
 * no longer holds. Lowering them keeps them true (the prefix still matches). */
static void clamp_queued_acks(hs_raft *r, uint64_t max_index)
{
    for (size_t i = 0; i < r->nmsgs; i++) {
        hs_raft_msg *q = &r->msgs[i];
        if (q->type == HS_RAFT_MSG_APPEND_RESP && !q->reject && q->index > max_index)
            q->index = max_index;
    }
}

static void handle_append(hs_raft *r, const hs_raft_msg *m)
{
    hs_raft_msg *resp = new_msg(r, HS_RAFT_MSG_APPEND_RESP, m->from);
    if (!resp) return;
    resp->ctx = m->ctx;
    uint64_t last = hs_rlog_last_index(&r->log);
    bool match = m->log_index <= r->commit ||
                 (m->log_index <= last && hs_rlog_term(&r->log, m->log_index) == m->log_term);
    if (!match) {
        uint64_t hint;
        if (m->log_index > last) {
            hint = last;
        } else {
            /* skip back over the whole conflicting term */
            uint64_t t = hs_rlog_term(&r->log, m->log_index);
            hint = m->log_index - 1;
            while (hint > r->commit && hint > r->log.base_index && hs_rlog_term(&r->log, hint) == t)
                hint--;
        }
        if (hint < r->commit) hint = r->commit;
        resp->reject = true;
        resp->index = hint;
        recover_cap_ack(r, resp);
        return;
    }
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const hs_raft_entry *e = &m->entries[i];
        if (e->index <= r->commit || e->index <= r->log.base_index) continue;
        if (e->index <= hs_rlog_last_index(&r->log)) {
            if (hs_rlog_term(&r->log, e->index) == e->term) continue;
            hs_rlog_truncate(&r->log, e->index);
            if (r->stable >= e->index) r->stable = e->index - 1;
            clamp_queued_acks(r, e->index - 1);
        }
        if (hs_rlog_append(&r->log, e) != HS_RAFT_OK) {
            /* out of memory or a malformed index: ack only what we hold */
            resp->index = hs_rlog_last_index(&r->log);
            if (resp->index > m->log_index + i) resp->index = m->log_index + i;
            if (resp->index < r->commit) resp->index = r->commit;
            recover_cap_ack(r, resp);
            return;
        }
    }
    uint64_t matched = m->log_index + m->n_entries;
    if (m->commit > r->commit) {
        uint64_t c = m->commit < matched ? m->commit : matched;
        if (c > r->commit) r->commit = c;
    }
    resp->index = matched > r->commit ? matched : r->commit;
    recover_cap_ack(r, resp);
    recover_check(r);
}

static void handle_snapshot(hs_raft *r, const hs_raft_msg *m)
{
    const hs_raft_snapshot *s = &m->snapshot;
    hs_raft_msg *resp = new_msg(r, HS_RAFT_MSG_APPEND_RESP, m->from);
    if (!resp) return;
    if (s->index <= r->commit) {
        resp->index = r->commit;
        recover_cap_ack(r, resp);
        return;
    }
    if (hs_rlog_term(&r->log, s->index) == s->term && s->index > r->log.base_index) {
        r->commit = s->index; /* we hold the entry: just fast-forward */
        resp->index = s->index;
        recover_cap_ack(r, resp);
        recover_check(r);
        return;
    }
    hs_raft_snapshot copy;
    if (hs_raft__snapshot_copy(&copy, s)) {
        r->nmsgs--;
        return;
    }
    free(r->snap.data);
    r->snap = copy;
    r->snap_unstable = true;
    hs_rlog_compact(&r->log, s->index, s->term);
    hs_rlog_truncate(&r->log, s->index + 1);
    r->stable = s->index;
    clamp_queued_acks(r, s->index);
    r->commit = r->applied = s->index;
    r->conf = s->conf;
    r->conf_through = s->index;
    resp->index = s->index;
    recover_cap_ack(r, resp);
    recover_check(r);
}

static int read_request(hs_raft *r, uint64_t from, uint64_t ctx)
{
    if (r->role != HS_RAFT_LEADER) {
        if (from != r->id || r->lead == 0) return HS_RAFT_ENOTLEADER;
        hs_raft_msg *m = new_msg(r, HS_RAFT_MSG_READINDEX, r->lead);
        if (!m) return HS_RAFT_ENOMEM;
        m->ctx = ctx;
        return HS_RAFT_OK;
    }
    if (hs_rlog_term(&r->log, r->commit) != r->term) {
        if (from != r->id) {
            hs_raft_msg *m = new_msg(r, HS_RAFT_MSG_READINDEX_RESP, from);
            if (m) {
                m->ctx = ctx;
                m->reject = true;
            }
        }
        return HS_RAFT_EBUSY;
    }
    if (r->nreads == r->capreads) {
        size_t cap = r->capreads ? r->capreads * 2 : 8;
        pending_read *n = realloc(r->reads, cap * sizeof(*n));
        if (!n) return HS_RAFT_ENOMEM;
        r->reads = n;
        r->capreads = cap;
    }
    r->read_round++;
    r->reads[r->nreads++] =
        (pending_read){.ctx = ctx, .from = from, .index = r->commit, .round = r->read_round};
    if (quorum(r) > 1) bcast_heartbeat(r);
    release_reads(r);
    return HS_RAFT_OK;
}

static void step_leader(hs_raft *r, const hs_raft_msg *m)
{
    if (m->type == HS_RAFT_MSG_READINDEX) {
        read_request(r, m->from, m->ctx);
        return;
    }
    if (m->type != HS_RAFT_MSG_APPEND_RESP) return;
    progress *pr = find_pr(r, m->from);
    if (!pr || pr->id == r->id) return;
    pr->active = true;
    if (m->ctx > pr->read_ack && m->ctx <= r->read_round) pr->read_ack = m->ctx;
    if (m->reject) {
        /* The hint is the follower's last index or the start of its conflicting term. Below
         * match the follower holds less than it acknowledged: its storage lost entries (a
         * reset seed), or this reject is older than its last ack. Either way resending from
         * the hint repairs it, and match must follow it down, or every heartbeat probes past
         * the cut again and the two ping-pong forever. The commit index never moves back. */
        if (m->index < pr->match) pr->match = m->index;
        uint64_t next = m->index + 1;
        if (next > pr->next) next = pr->next;
        if (next < pr->match + 1) next = pr->match + 1;
        if (next != pr->next || m->index + 1 <= pr->next) {
            pr->next = next;
            send_append(r, pr);
        }
    } else {
        if (m->index > pr->match && m->index <= hs_rlog_last_index(&r->log)) {
            pr->match = m->index;
            if (pr->next < pr->match + 1) pr->next = pr->match + 1;
            if (maybe_commit(r)) bcast_append(r);
        }
        if (pr->match < hs_rlog_last_index(&r->log) && pr->next <= pr->match + 1)
            send_append(r, pr);
    }
    release_reads(r);
}

static void step_candidate(hs_raft *r, const hs_raft_msg *m)
{
    bool pre = r->role == HS_RAFT_PRECANDIDATE;
    uint8_t want = pre ? HS_RAFT_MSG_PREVOTE_RESP : HS_RAFT_MSG_VOTE_RESP;
    if (m->type == HS_RAFT_MSG_APPEND || m->type == HS_RAFT_MSG_SNAPSHOT) {
        become_follower(r, m->term, m->from);
        if (m->type == HS_RAFT_MSG_APPEND)
            handle_append(r, m);
        else
            handle_snapshot(r, m);
        return;
    }
    if (m->type != want) return;
    if (pre && !m->reject && m->term != r->term + 1) return;
    record_vote(r, m->from, !m->reject);
    uint32_t yes, no;
    count_votes(r, &yes, &no);
    if (yes >= quorum(r)) {
        if (pre)
            campaign(r, false);
        else
            become_leader(r);
    } else if (no >= quorum(r)) {
        become_follower(r, r->term, 0);
    }
}

static void step_follower(hs_raft *r, const hs_raft_msg *m)
{
    switch (m->type) {
    case HS_RAFT_MSG_APPEND:
    case HS_RAFT_MSG_SNAPSHOT:
        r->lead = m->from;
        r->last_leader_contact = r->now;
        hs_raft__reset_election_timer(r);
        if (m->type == HS_RAFT_MSG_APPEND)
            handle_append(r, m);
        else
            handle_snapshot(r, m);
        recover_probe(r); /* the leader's messages pace the probes */
        break;
    case HS_RAFT_MSG_READINDEX_RESP:
        if (m->ctx != HS_RAFT_RECOVER_CTX) {
            if (!m->reject) push_read_state(r, m->ctx, m->index);
        } else if (r->recovering && !m->reject && m->index > 0 &&
                   (r->recover_read == 0 || r->recover_term != r->term)) {
            r->recover_read = m->index;
            r->recover_term = r->term;
            r->recover_lead = m->from;
            recover_check(r);
        }
        break;
    default:
        break;
    }
}

static bool in_lease(const hs_raft *r)
{
    if (r->role == HS_RAFT_LEADER) return true;
    return r->role == HS_RAFT_FOLLOWER && r->lead != 0 && r->now < r->last_leader_contact + r->emin;
}

int hs_raft_step(hs_raft *r, uint64_t now_ms, const hs_raft_msg *m)
{
    if (now_ms > r->now) r->now = now_ms;
    if (m->to != r->id || m->from == r->id || m->from == 0) return HS_RAFT_EINVAL;
    if (m->type == HS_RAFT_MSG_SNAPSHOT &&
        (m->snapshot.conf.n == 0 || m->snapshot.conf.n > HS_RAFT_MAX_PEERS ||
         m->snapshot.index == 0 || m->snapshot.len > HS_RAFT_MAX_SNAPSHOT))
        return HS_RAFT_EINVAL;
    if (m->n_entries > HS_RAFT_MAX_MSG_ENTS || (m->n_entries && !m->entries)) return HS_RAFT_EINVAL;
    if (m->term > r->term) {
        bool is_vote = m->type == HS_RAFT_MSG_VOTE || m->type == HS_RAFT_MSG_PREVOTE;
        if (is_vote && in_lease(r)) return HS_RAFT_OK; /* check-quorum: a leader is alive */
        if (m->type == HS_RAFT_MSG_PREVOTE) {
            /* pre-vote never changes our term */
        } else if (m->type == HS_RAFT_MSG_PREVOTE_RESP && !m->reject) {
            /* a granted pre-vote carries the future term */
        } else {
            bool from_leader = m->type == HS_RAFT_MSG_APPEND || m->type == HS_RAFT_MSG_SNAPSHOT;
            become_follower(r, m->term, from_leader ? m->from : 0);
        }
    } else if (m->term < r->term) {
        if (m->type == HS_RAFT_MSG_APPEND || m->type == HS_RAFT_MSG_SNAPSHOT) {
            /* tell a stale leader about the newer term so it steps down */
            hs_raft_msg *resp = new_msg(r, HS_RAFT_MSG_APPEND_RESP, m->from);
            if (resp) resp->reject = true;
        } else if (m->type == HS_RAFT_MSG_PREVOTE) {
            hs_raft_msg *resp = new_msg(r, HS_RAFT_MSG_PREVOTE_RESP, m->from);
            if (resp) resp->reject = true;
        }
        return HS_RAFT_OK;
    }
    if (m->type == HS_RAFT_MSG_VOTE || m->type == HS_RAFT_MSG_PREVOTE) {
        handle_vote(r, m);
        return HS_RAFT_OK;
    }
    switch (r->role) {
    case HS_RAFT_LEADER:
        step_leader(r, m);
        break;
    case HS_RAFT_CANDIDATE:
    case HS_RAFT_PRECANDIDATE:
        step_candidate(r, m);
        break;
    case HS_RAFT_FOLLOWER:
        step_follower(r, m);
        break;
    }
    return HS_RAFT_OK;
}

void hs_raft_tick(hs_raft *r, uint64_t now_ms)
{
    if (now_ms > r->now) r->now = now_ms;
    if (r->role == HS_RAFT_LEADER) {
        if (r->now >= r->checkq_deadline) {
            uint32_t active = 0;
            for (uint32_t i = 0; i < r->nprs; i++) {
                if (r->prs[i].id == r->id || r->prs[i].active) active++;
                r->prs[i].active = false;
            }
            r->checkq_deadline = r->now + r->emin;
            if (active < quorum(r)) {
                become_follower(r, r->term, 0); /* check-quorum: lost the majority */
                return;
            }
        }
        if (r->now >= r->heartbeat_deadline) {
            bcast_heartbeat(r);
            r->heartbeat_deadline = r->now + r->hb;
        }
        return;
    }
    if (r->now >= r->election_deadline) {
        if (r->recovering)
            hs_raft__reset_election_timer(r); /* never campaigns */
        else
            campaign(r, true);
    }
}

void hs_raft_leader_lost(hs_raft *r, uint64_t now_ms, uint64_t id)
{
    if (now_ms > r->now) r->now = now_ms;
    if (r->role != HS_RAFT_FOLLOWER || id == 0 || r->lead != id || r->recovering) return;
    r->lead = 0; /* out of the lease: pre-votes from the other followers are granted again */
    uint32_t span = HS_RAFT_LOST_MAX_MS - HS_RAFT_LOST_MIN_MS;
    uint64_t at = r->now + HS_RAFT_LOST_MIN_MS + hs_prng_next(&r->rng) % span;
    if (at < r->election_deadline) r->election_deadline = at;
}

uint64_t hs_raft_next_deadline(const hs_raft *r)
{
    if (r->role == HS_RAFT_LEADER)
        return r->heartbeat_deadline < r->checkq_deadline ? r->heartbeat_deadline
                                                          : r->checkq_deadline;
    return r->election_deadline;
}

/* ---- proposals ---- */

static int append_local(hs_raft *r, uint8_t type, const void *data, size_t len, uint64_t *index,
                        uint64_t *term)
{
    hs_raft_entry e = {.term = r->term,
                       .index = hs_rlog_last_index(&r->log) + 1,
                       .type = type,
                       .len = (uint32_t)len,
                       .data = (uint8_t *)data};
    int rc = hs_rlog_append(&r->log, &e);
    if (rc) return rc;
    if (index) *index = e.index;
    if (term) *term = e.term;
    bcast_append(r);
    return HS_RAFT_OK;
}

int hs_raft_propose(hs_raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term)
{
    if (r->role != HS_RAFT_LEADER) return HS_RAFT_ENOTLEADER;
    if (len > HS_RAFT_MAX_ENTRY || (len && !data)) return HS_RAFT_EINVAL;
    return append_local(r, HS_RAFT_ENTRY_NORMAL, data, len, index, term);
}

int hs_raft_propose_conf(hs_raft *r, const hs_raft_conf_change *cc, uint64_t *index, uint64_t *term)
{
    if (r->role != HS_RAFT_LEADER) return HS_RAFT_ENOTLEADER;
    if (r->conf_through < r->pending_conf_index || r->applied < r->pending_conf_index ||
        hs_rlog_term(&r->log, r->commit) != r->term)
        return HS_RAFT_EBUSY;
    hs_raft_conf tmp = r->conf;
    if (hs_raft_conf_apply(&tmp, cc)) return HS_RAFT_EINVAL;
    uint8_t buf[160];
    size_t n = hs_raft_conf_change_encode(cc, buf, sizeof(buf));
    if (!n) return HS_RAFT_EINVAL;
    uint64_t idx;
    int rc = append_local(r, HS_RAFT_ENTRY_CONF, buf, n, &idx, term);
    if (rc) return rc;
    r->pending_conf_index = idx;
    if (index) *index = idx;
    return HS_RAFT_OK;
}

int hs_raft_read_index(hs_raft *r, uint64_t ctx)
{
    if (ctx == HS_RAFT_RECOVER_CTX) return HS_RAFT_EINVAL;
    return read_request(r, r->id, ctx);
}

int hs_raft_compact(hs_raft *r, uint64_t index, const void *data, size_t len)
{
    if (r->ready_out || index != r->applied || index <= r->log.base_index ||
        index > hs_rlog_last_index(&r->log) || r->conf_through > index ||
        len > HS_RAFT_MAX_SNAPSHOT || (len && !data))
        return HS_RAFT_EINVAL;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return HS_RAFT_ENOMEM;
        memcpy(copy, data, len);
    }
    free(r->snap.data);
    r->snap.index = index;
    r->snap.term = hs_rlog_term(&r->log, index);
    r->snap.conf = r->conf;
    r->snap.len = (uint32_t)len;
    r->snap.data = copy;
    hs_rlog_compact(&r->log, index, r->snap.term);
    if (r->stable < index) r->stable = index;
    return HS_RAFT_OK;
}

/* ---- membership changes take effect ---- */

void hs_raft__apply_conf_entries(hs_raft *r, const hs_raft_entry *ents, size_t n)
{
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        const hs_raft_entry *e = &ents[i];
        if (e->index <= r->conf_through) continue;
        r->conf_through = e->index;
        if (e->type != HS_RAFT_ENTRY_CONF) continue;
        hs_raft_conf_change cc;
        if (hs_raft_conf_change_decode(e->data, e->len, &cc)) continue;
        if (hs_raft_conf_apply(&r->conf, &cc) == HS_RAFT_OK) changed = true;
    }
    if (!changed || r->role != HS_RAFT_LEADER) return;
    if (!is_member(r, r->id)) {
        become_follower(r, r->term, 0); /* removed ourselves: stop leading */
        return;
    }
    sync_progress(r);
    if (maybe_commit(r)) bcast_append(r);
    bcast_append(r);
}

void hs_raft__after_persist(hs_raft *r)
{
    if (r->role == HS_RAFT_LEADER && maybe_commit(r)) bcast_append(r);
}
