/* membership_vote.c: suspicion and the majority vote that turns it into a failure.
 *
 * The vote group of a member is its K observers (ring predecessors, member_table.c).
 * When one of our checks of a member fails, we mark it suspect and ask the rest of its
 * group to check it too (Suspect). Each observer that fails verify_rounds checks in a row
 * votes (Vote, sent to the group and to the subject, which refutes if it hears it). Votes
 * are tied to the subject's incarnation and count for vote_validity_ms. An observer that
 * has itself voted and holds votes from more than half of the group declares the member
 * failed and gossips it, once a majority of the cluster answers it (membership_quorum.c).
 * A check that succeeds withdraws our vote (Vote with retract).
 * The group and the number of rounds are fixed, so detection time does not grow with N. */
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

#define VOTE_RETRACT 1

static uint32_t max_rounds(const hs_node *n)
{
    return n->cfg.verify_rounds + 8;
}

static void suspects_add(hs_node *n, hs_member *m)
{
    if (n->nsuspects == n->suspects_cap) {
        size_t cap = n->suspects_cap ? n->suspects_cap * 2 : 8;
        hs_member **s = realloc(n->suspects, cap * sizeof(*s));
        if (!s) abort();
        n->suspects = s;
        n->suspects_cap = cap;
    }
    n->suspects[n->nsuspects++] = m;
}

void hs_suspect_start(hs_node *n, hs_member *m, bool from_own_probe)
{
    (void)from_own_probe;
    if (m->susp) return;
    m->susp = calloc(1, sizeof(*m->susp));
    if (!m->susp) abort();
    m->susp->inc = m->inc;
    suspects_add(n, m);
}

void hs_suspicion_clear(hs_node *n, hs_member *m)
{
    if (!m->susp) return;
    free(m->susp);
    m->susp = NULL;
    for (size_t i = 0; i < n->nsuspects; i++)
        if (n->suspects[i] == m) {
            n->suspects[i] = n->suspects[--n->nsuspects];
            break;
        }
}

/* SUSPECT = subject:str8 inc:u32 from:str8 ; VOTE = subject:str8 inc:u32 voter:str8 flags:u8 */
static void send_about(hs_node *n, uint8_t type, hs_member *m, bool to_subject, uint8_t flags)
{
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k = hs_observers(n, m, obs, HS_MAX_VOTE_GROUP);
    for (size_t i = 0; i <= k; i++) {
        hs_member *to = i < k ? obs[i] : (to_subject ? m : NULL);
        if (!to || to == n->self) continue;
        uint8_t *buf = malloc(3 + 2 * (HS_NAME_MAX + 1) + 4 + 1);
        if (!buf) abort();
        hs_writer w;
        hs_writer_init(&w, buf, 3 + 2 * (HS_NAME_MAX + 1) + 4 + 1);
        hs_put_u8(&w, type);
        hs_put_str8(&w, m->name, strlen(m->name));
        hs_put_u32(&w, m->inc);
        hs_put_str8(&w, n->self->name, strlen(n->self->name));
        if (type == HS_MSG_VOTE) hs_put_u8(&w, flags);
        if (!w.ok) {
            free(buf);
            continue;
        }
        hs_addr a = hs_member_addr(n, to);
        hs_emit(n, &a, buf, w.len);
    }
}

static size_t valid_votes(const hs_node *n, const hs_suspicion *s)
{
    size_t c = 0;
    for (size_t i = 0; i < s->nvotes; i++)
        if (s->votes[i].at_ms + n->cfg.vote_validity_ms > n->now) c++;
    return c;
}

static void record_vote(hs_node *n, hs_suspicion *s, uint64_t voter_hash)
{
    for (size_t i = 0; i < s->nvotes; i++)
        if (s->votes[i].voter_hash == voter_hash) {
            s->votes[i].at_ms = n->now;
            return;
        }
    if (s->nvotes < HS_MAX_VOTE_GROUP) s->votes[s->nvotes++] = (hs_vote){voter_hash, n->now};
}

static void drop_vote(hs_suspicion *s, uint64_t voter_hash)
{
    for (size_t i = 0; i < s->nvotes; i++)
        if (s->votes[i].voter_hash == voter_hash) {
            s->votes[i] = s->votes[--s->nvotes];
            return;
        }
}

/* Our own vote stands and more than half of the group (as we see it) agrees. */
static bool votes_decide(const hs_node *n, hs_member *m)
{
    hs_suspicion *s = m->susp;
    if (!s || !s->my_vote_ms || s->my_vote_ms + n->cfg.vote_validity_ms <= n->now) return false;
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k = hs_observers(n, m, obs, HS_MAX_VOTE_GROUP);
    /* count only votes of members that are in the group as we see it */
    size_t votes = 0;
    for (size_t i = 0; i < s->nvotes; i++) {
        if (s->votes[i].at_ms + n->cfg.vote_validity_ms <= n->now) continue;
        for (size_t j = 0; j < k; j++)
            if (obs[j]->ring_hash == s->votes[i].voter_hash) {
                votes++;
                break;
            }
    }
    return k > 0 && votes * 2 > k;
}

/* Declares m failed once the votes stand and a Reach round that started after they did
 * found a majority of the cluster answering us (membership_quorum.c). A new node that has
 * not yet been sent a member's full view decides nothing: its table holds whoever gossip
 * happened to mention, so both the vote group and the majority it would count are too small
 * (a node restarted behind a one-way cut once declared a healthy member failed alone). */
static void try_decide(hs_node *n, hs_member *m)
{
    hs_suspicion *s = m->susp;
    if (!n->has_view || !votes_decide(n, m)) {
        if (s) s->ready_ms = 0;
        return;
    }
    if (!s->ready_ms) s->ready_ms = n->now;
    if (!hs_quorum_confirms(n, s->ready_ms)) return;
    hs_status prev = (hs_status)m->status;
    hs_set_status(n, m, HS_FAILED);
    n->stats.failures_declared++;
    hs_event_push(n, HS_EV_FAILED, m, prev);
    hs_bcast_queue(n, m);
    hs_gossip_soon(n);
}

void hs_votes_restart_own(hs_node *n)
{
    for (size_t i = 0; i < n->nsuspects; i++) {
        hs_suspicion *s = n->suspects[i]->susp;
        if (s->my_vote_ms) drop_vote(s, n->self->ring_hash);
        s->my_vote_ms = 0;
        s->ready_ms = 0;
        s->failed_rounds = 0; /* checks still planned start a new streak */
    }
}

void hs_votes_decide_waiting(hs_node *n)
{
    for (size_t i = 0; i < n->nsuspects;) {
        hs_member *m = n->suspects[i];
        if (m->susp->ready_ms) try_decide(n, m);
        if (m->susp) i++; /* else declared: another suspect was swapped into slot i */
    }
}

static void mark_suspect(hs_node *n, hs_member *m)
{
    if (m->status != HS_ALIVE) return;
    hs_set_status(n, m, HS_SUSPECT);
    n->stats.suspicions++;
    hs_event_push(n, HS_EV_SUSPECT, m, HS_ALIVE);
}

void hs_check_failed(hs_node *n, hs_member *m)
{
    if (!hs_is_live(m) || m == n->self) return;
    hs_suspect_start(n, m, true);
    hs_suspicion *s = m->susp;
    s->failed_rounds++;
    s->rounds_total++;
    mark_suspect(n, m);
    if (s->failed_rounds == 1) send_about(n, HS_MSG_SUSPECT, m, false, 0);
    if (s->failed_rounds >= n->cfg.verify_rounds) {
        s->my_vote_ms = n->now;
        record_vote(n, s, n->self->ring_hash);
        n->stats.votes_sent++;
        send_about(n, HS_MSG_VOTE, m, true, 0);
        try_decide(n, m);
        if (!m->susp) return; /* decided */
    }
    s->next_round_ms = s->rounds_total < max_rounds(n) ? n->now : 0;
}

void hs_check_succeeded(hs_node *n, hs_member *m)
{
    if (!m->susp) return;
    if (m->susp->my_vote_ms) send_about(n, HS_MSG_VOTE, m, false, VOTE_RETRACT);
    bool was_suspect = m->status == HS_SUSPECT;
    hs_set_status(n, m, HS_ALIVE); /* clears the suspicion */
    hs_suspicion_clear(n, m);
    if (was_suspect) hs_event_push(n, HS_EV_ALIVE, m, HS_SUSPECT);
}

static hs_member *read_about(hs_node *n, hs_reader *r, uint32_t *inc, char *who)
{
    char subject[HS_NAME_MAX + 1];
    hs_get_str8(r, subject, sizeof(subject), true);
    *inc = hs_get_u32(r);
    hs_get_str8(r, who, HS_NAME_MAX + 1, true);
    if (!r->ok || !hs_name_valid(subject) || !hs_name_valid(who)) {
        r->ok = false;
        return NULL;
    }
    return hs_table_find(n, subject);
}

void hs_recv_suspect(hs_node *n, hs_reader *r)
{
    uint32_t inc;
    char who[HS_NAME_MAX + 1];
    hs_member *m = read_about(n, r, &inc, who);
    if (!m || !r->ok) return;
    if (m == n->self) {
        if (inc >= m->inc) hs_prove_alive(n, inc);
        return;
    }
    if (!hs_is_live(m) || inc != m->inc || !hs_is_observer(n, m, n->self->ring_hash)) return;
    if (n->health.held) return; /* declared failed ourselves: we check nobody for others */
    hs_suspect_start(n, m, false);
    hs_suspicion *s = m->susp;
    if (!s->next_round_ms && s->rounds_total == 0) {
        s->next_round_ms = n->now;
        /* the prober's failed check is the group's first round: one failed check of ours
         * then makes verify_rounds (2), so the whole group votes one check after the prober */
        if (s->failed_rounds == 0 && hs_is_observer(n, m, hs_hash_str(who))) s->failed_rounds = 1;
    }
}

void hs_recv_vote(hs_node *n, hs_reader *r)
{
    uint32_t inc;
    char who[HS_NAME_MAX + 1];
    hs_member *m = read_about(n, r, &inc, who);
    uint8_t flags = hs_get_u8(r);
    if (!m || !r->ok || flags > VOTE_RETRACT) return;
    if (m == n->self) {
        if (!(flags & VOTE_RETRACT) && inc >= m->inc) hs_prove_alive(n, inc);
        return;
    }
    if (!hs_is_live(m) || inc != m->inc) return;
    uint64_t voter = hs_hash_str(who);
    if (!hs_is_observer(n, m, voter)) return;
    if (flags & VOTE_RETRACT) {
        if (m->susp) drop_vote(m->susp, voter);
        return;
    }
    hs_suspect_start(n, m, false);
    record_vote(n, m->susp, voter);
    mark_suspect(n, m);
    if (hs_is_observer(n, m, n->self->ring_hash) && !n->health.held && !m->susp->next_round_ms &&
        m->susp->rounds_total == 0) {
        m->susp->next_round_ms = n->now;
        if (m->susp->failed_rounds == 0) m->susp->failed_rounds = 1; /* as for a Suspect */
    }
    try_decide(n, m);
}

static bool has_check(const hs_node *n, const hs_member *m)
{
    for (size_t i = 0; i < HS_MAX_CHECKS; i++)
        if (n->checks[i].used && n->checks[i].target_hash == m->ring_hash) return true;
    return false;
}

void hs_votes_recheck_own(hs_node *n)
{
    hs_votes_restart_own(n);
    for (size_t i = 0; i < n->nsuspects; i++) {
        hs_member *m = n->suspects[i];
        if (m->susp->rounds_total < max_rounds(n) && !has_check(n, m))
            m->susp->next_round_ms = n->now;
    }
}

void hs_votes_tick(hs_node *n)
{
    hs_votes_decide_waiting(n);
    for (size_t i = 0; i < n->nsuspects;) {
        hs_member *m = n->suspects[i];
        hs_suspicion *s = m->susp;
        if (s->next_round_ms && n->now >= s->next_round_ms) {
            s->next_round_ms = 0;
            hs_start_verify(n, m);
        }
        bool active = has_check(n, m) || s->next_round_ms;
        if (s->my_vote_ms && s->my_vote_ms + n->cfg.vote_validity_ms <= n->now) s->my_vote_ms = 0;
        if (!active && valid_votes(n, s) == 0) {
            /* nobody (ourselves included) holds it unreachable any more */
            bool was_suspect = m->status == HS_SUSPECT;
            hs_set_status(n, m, HS_ALIVE);
            hs_suspicion_clear(n, m); /* swaps another suspect into slot i */
            if (was_suspect) hs_event_push(n, HS_EV_ALIVE, m, HS_SUSPECT);
            continue;
        }
        i++;
    }
}

uint64_t hs_votes_next_deadline(const hs_node *n)
{
    uint64_t d = 0;
    for (size_t i = 0; i < n->nsuspects; i++) {
        const hs_suspicion *s = n->suspects[i]->susp;
        uint64_t t = s->next_round_ms;
        for (size_t j = 0; j < s->nvotes; j++) {
            uint64_t e = s->votes[j].at_ms + n->cfg.vote_validity_ms;
            if (e > n->now && (!t || e < t)) t = e;
        }
        if (!t) t = n->now + n->cfg.verify_interval_ms; /* re-evaluate soon */
        if (!d || t < d) d = t;
    }
    return d;
}
