/* membership_quorum.c: a failure verdict needs a majority of the cluster behind the decider.
 *
 * The vote group of a member is five nodes; when a partition puts three of them on the small
 * side, their checks fail exactly as if the member had crashed. To keep the cut-off side from
 * declaring a member the majority can reach (and from spreading that verdict after the heal or
 * across a one-way cut), an observer whose verdict is ready first runs a Reach round: a tiny
 * REACH to every live member of its view (the suspects included), resent every probe_timeout
 * to those that have not answered, for at most indirect_timeout. The verdict stands when
 *   - more than half of the live members (ourselves included) answered, in a round that
 *     started after the verdict was ready (a round from before a partition never counts), and
 *   - the suspect did not answer, although it was sent the same REACH that the majority
 *     answered, four times as long before the verdict as the majority took to answer (at
 *     least 20 ms, at most probe_timeout). So a round that straddles a heal (the
 *     REACHes before it lost, those after it answered) cannot confirm checks that failed
 *     while we were cut off: the suspect, reachable again, answers the same resend.
 * A suspect that answers is alive: its suspicion ends. Rounds serve every waiting verdict at
 * once and run only when one waits, so idle traffic is unchanged; a decision costs one round
 * trip to every member and a few round trips of waiting.
 *
 * A round that fails means we are the ones cut off: our own votes are withdrawn (votes cast
 * while cut off never decide later) and the node keeps looking for the heal, backing off to
 * once per 5 s, by asking a sample of 8 of the members that did not answer (those the last
 * full round did not ask, because they joined our ring since, first). A full round follows
 * when most of the sample answers (the cut healed), or when the members that answered the
 * last full round and the sample's answers are a majority now (members rejoined, or others'
 * verdicts shrank the ring). A change of the ring brings the next sample forward to one
 * probe interval after the last. After quorum_fallback_ms without a majority it decides alone:
 * if more than half of the cluster crashed at once, the survivors still declare them failed
 * (after that delay) instead of never. A two-member cluster has no majority to ask. */
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

#define ROUND_BACKOFF_MAX_MS 5000
#define SAMPLE               8  /* members a cut-off node asks whether the cut healed */
#define REACH_WAIT_MIN_MS    20 /* least wait for the suspects' answers once a majority answered */

/* REACH = seq:u32 from:str8 ; REACH_ACK = seq:u32 from:str8 */
static void send_reach(hs_node *n, uint8_t type, uint32_t seq, const hs_addr *to)
{
    size_t cap = 1 + 4 + 1 + HS_NAME_MAX;
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, type);
    hs_put_u32(&w, seq);
    hs_put_str8(&w, n->self->name, strlen(n->self->name));
    if (!w.ok) {
        free(buf);
        return;
    }
    hs_emit(n, to, buf, w.len);
}

/* REACHes the live members that have not answered this round yet. */
static void send_round(hs_node *n)
{
    hs_quorum *q = &n->quorum;
    hs_ring_iter it = {0, 0};
    for (hs_member *m; (m = hs_ring_next(n, &it));) {
        if (m == n->self || m->reach_seq == q->seq) continue;
        m->reach_asked = q->seq;
        hs_addr a = hs_member_addr(n, m);
        send_reach(n, HS_MSG_REACH, q->seq, &a);
    }
    q->sent_at = n->now;
}

static uint32_t new_seq(hs_node *n)
{
    uint32_t seq = ++n->next_seq;
    return seq ? seq : ++n->next_seq;
}

static void start_round(hs_node *n)
{
    hs_quorum *q = &n->quorum;
    q->seq = q->full_seq = new_seq(n);
    q->full = true;
    q->started = q->last_start = n->now;
    q->ring_version = n->ring_version;
    q->decide_at = 0;
    q->answers = 1; /* ourselves */
    q->need = n->nring / 2 + 1;
    q->next_round_at = 0;
    n->stats.quorum_rounds++;
    send_round(n);
}

static void ask_in_sample(hs_node *n, hs_member *m)
{
    hs_quorum *q = &n->quorum;
    m->reach_seq = q->seq; /* picked (an answer is recognised by the seq it carries) */
    hs_addr a = hs_member_addr(n, m);
    send_reach(n, HS_MSG_REACH, q->seq, &a);
    q->need++;
}

/* A majority would answer a full round now: those that answered the last one, and the
 * sample's answers, are more than half of the ring as it is now. */
static bool sample_shows_majority(const hs_node *n)
{
    const hs_quorum *q = &n->quorum;
    return q->known + q->answers >= n->nring / 2 + 1;
}

/* While cut off: REACH a few of the members that did not answer the last full round; when
 * most of them answer, the cut has healed and a full round follows at once. This keeps a
 * cut-off node at a few packets per round instead of one per member. */
static void start_sample(hs_node *n)
{
    hs_quorum *q = &n->quorum;
    q->seq = new_seq(n);
    q->full = false;
    q->started = q->sent_at = q->last_start = n->now;
    q->ring_version = n->ring_version;
    q->decide_at = 0;
    q->answers = 0;
    q->need = 0;
    q->known = 1;
    q->next_round_at = 0;
    hs_ring_iter it = {0, 0};
    for (hs_member *m; (m = hs_ring_next(n, &it));) {
        if (m == n->self) continue;
        if (m->reach_seq == q->full_seq)
            q->known++;
        else if (m->reach_asked != q->full_seq && q->need < SAMPLE)
            ask_in_sample(n, m); /* joined our ring since the last full round */
    }
    for (size_t tries = 0; tries < 4 * SAMPLE && q->need < SAMPLE && n->nring > 1; tries++) {
        hs_member *m = hs_ring_at(n, hs_prng_below(&n->rng, (uint32_t)n->nring));
        if (m == n->self || m->reach_seq == q->full_seq || m->reach_seq == q->seq) continue;
        ask_in_sample(n, m);
    }
    if (!q->need || sample_shows_majority(n)) {
        /* everyone we still hold live answered last time, or enough of them: ask them all */
        q->started = 0;
        start_round(n);
    }
}

static bool fallback_due(const hs_node *n)
{
    const hs_quorum *q = &n->quorum;
    return q->lost_since && n->cfg.quorum_fallback_ms &&
           n->now - q->lost_since >= n->cfg.quorum_fallback_ms;
}

/* The next look for a majority while cut off, less and less often. */
static void schedule_next(hs_node *n)
{
    hs_quorum *q = &n->quorum;
    q->backoff_ms = q->backoff_ms ? q->backoff_ms * 2 : n->cfg.probe_interval_ms;
    if (q->backoff_ms > ROUND_BACKOFF_MAX_MS) q->backoff_ms = ROUND_BACKOFF_MAX_MS;
    q->next_round_at = n->now + q->backoff_ms;
}

static void end_round(hs_node *n, bool reached)
{
    hs_quorum *q = &n->quorum;
    uint64_t started = q->started;
    q->started = 0;
    if (!q->full) { /* a sample: most answered, so try a full round; else look again later */
        if (reached)
            start_round(n);
        else
            schedule_next(n);
        return;
    }
    if (reached) {
        bool healed = q->lost_since != 0;
        q->ok_start = started;
        q->lost_since = 0;
        q->backoff_ms = 0;
        q->next_round_at = 0;
        /* the first majority after a cut: the checks behind the waiting verdicts failed while
         * we were cut off, so they say nothing about the suspects; check them again (the
         * suspect's answer to this very round can come late: right after a heal it is busy
         * with the rejoining side, and 4 times the majority's answer time is a few ms) */
        if (healed)
            hs_votes_recheck_own(n);
        else
            hs_votes_decide_waiting(n);
        return;
    }
    n->stats.quorum_lost++;
    if (!q->lost_since) q->lost_since = started;
    /* our checks failed because we are the ones cut off: withdraw our votes, so a verdict
     * needs checks that fail again once a majority answers */
    if (!fallback_due(n)) hs_votes_restart_own(n);
    schedule_next(n);
}

bool hs_quorum_confirms(hs_node *n, uint64_t since)
{
    hs_quorum *q = &n->quorum;
    if (n->nring <= 2 || fallback_due(n)) return true;
    if (q->ok_start && q->ok_start >= since) return true;
    /* a round that started before `since` cannot speak for it: wait for the next one (while
     * we are cut off, the next is the backed-off one hs_quorum_tick starts) */
    if (!q->started && !q->lost_since) start_round(n);
    return false;
}

/* While cut off, a changed ring (members rejoined or were declared by others) is worth a
 * look soon: one probe interval after the last, whatever the backoff. */
static uint64_t next_look(const hs_node *n)
{
    const hs_quorum *q = &n->quorum;
    uint64_t at = q->next_round_at;
    if (at && q->ring_version != n->ring_version) {
        uint64_t soon = q->last_start + n->cfg.probe_interval_ms;
        if (soon < at) at = soon;
    }
    return at;
}

void hs_quorum_tick(hs_node *n)
{
    hs_quorum *q = &n->quorum;
    if (!q->started) {
        uint64_t at = next_look(n);
        if (at && n->now >= at) {
            if (q->ring_version != n->ring_version) q->backoff_ms = 0;
            start_sample(n);
        }
        return;
    }
    if (!q->full) {
        if (n->now >= q->started + n->cfg.indirect_timeout_ms) end_round(n, false);
        return;
    }
    if (q->decide_at) {
        if (n->now >= q->decide_at) end_round(n, true);
    } else if (n->now >= q->started + n->cfg.indirect_timeout_ms) {
        end_round(n, false);
    } else if (n->now >= q->sent_at + n->cfg.probe_timeout_ms) {
        send_round(n);
    }
}

uint64_t hs_quorum_next_deadline(const hs_node *n)
{
    const hs_quorum *q = &n->quorum;
    if (q->started && !q->full) return q->started + n->cfg.indirect_timeout_ms;
    if (q->started && q->decide_at) return q->decide_at;
    if (q->started) {
        uint64_t resend = q->sent_at + n->cfg.probe_timeout_ms;
        uint64_t end = q->started + n->cfg.indirect_timeout_ms;
        return resend < end ? resend : end;
    }
    uint64_t d = next_look(n);
    if (q->lost_since && n->cfg.quorum_fallback_ms && n->nsuspects) {
        uint64_t f = q->lost_since + n->cfg.quorum_fallback_ms; /* waiting verdicts go ahead */
        if (f > n->now && (!d || f < d)) d = f;
    }
    return d;
}

void hs_recv_reach(hs_node *n, const hs_addr *from, hs_reader *r, uint8_t type)
{
    uint32_t seq = hs_get_u32(r);
    char name[HS_NAME_MAX + 1];
    hs_get_str8(r, name, sizeof(name), true);
    if (!r->ok || !hs_name_valid(name)) {
        r->ok = false;
        return;
    }
    if (type == HS_MSG_REACH) {
        send_reach(n, HS_MSG_REACH_ACK, seq, from);
        return;
    }
    hs_quorum *q = &n->quorum;
    if (!q->started || seq != q->seq) return; /* late, replayed or not ours */
    hs_member *m = hs_table_find(n, name);
    if (!m || m == n->self || !hs_is_live(m)) return;
    if (!q->full) { /* one of the sample: was it picked, and is this its first answer? */
        if (m->reach_seq != seq) return;
        m->reach_seq = 0;
        if (++q->answers * 2 > q->need || sample_shows_majority(n)) end_round(n, true);
        return;
    }
    if (m->reach_seq == seq) return;
    m->reach_seq = seq;
    if (m->susp) hs_note_alive_evidence(n, m, m->inc); /* a suspect that answers is up */
    if (++q->answers >= q->need && !q->decide_at) {
        /* a majority answers: give the suspects four times as long as the majority took to
         * answer the same REACH (at least REACH_WAIT_MIN_MS, at most probe_timeout) */
        uint64_t wait = 4 * (n->now - q->sent_at);
        if (wait < REACH_WAIT_MIN_MS) wait = REACH_WAIT_MIN_MS;
        if (wait > n->cfg.probe_timeout_ms) wait = n->cfg.probe_timeout_ms;
        q->decide_at = q->sent_at + wait;
        if (q->decide_at <= n->now) end_round(n, true);
    }
}
