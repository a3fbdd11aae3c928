/* membership_probe.c: failure detection by probing.
 * Each of our subjects (our K ring successors) has a due time; when it comes we Ping it and
 * set the next one K periods later, so we send one Ping per period on average. The subject
 * decides when its K observers probe it: its Pong to an observer's periodic probe carries
 * `next_ms`, the wait until that observer's slot (observer d of K probes at the subject's
 * anchor + (d - 1) periods, modulo K periods), and the observer takes it as the next due time.
 * So a member is probed about once per period at evenly spaced times, without a shared clock,
 * and the wait until a crashed member is first probed stays under about one period (with K
 * observers probing at independent phases, some members would go three or four periods
 * without a probe). A Pong within probe_timeout ends a check; otherwise PingReqs ask other
 * members to Ping the target for us, and without any ack by indirect_timeout the check has
 * failed (membership_vote.c takes it from there). Checks of a suspect by its vote group use
 * the same machinery, with the direct and indirect probes sent at once. */
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "membership_internal.h"

static uint8_t *msg_begin(hs_node *n, hs_writer *w, uint8_t type)
{
    uint8_t *buf = malloc(n->cfg.max_packet);
    if (!buf) abort();
    hs_writer_init(w, buf, n->cfg.max_packet);
    hs_put_u8(w, type);
    return buf;
}

static void msg_send(hs_node *n, const hs_addr *to, uint8_t *buf, hs_writer *w)
{
    if (!w->ok) {
        free(buf);
        return;
    }
    hs_emit(n, to, buf, w->len);
}

/* PING = seq:u32 from:str8 inc:u32 config:u64 target:str8 target_inc:u32 flags:u8 piggyback.
 * flags bit 0: the sender suspects the target at target_inc, so a live target refutes at
 * once (Lifeguard's "buddy system") instead of waiting to hear a vote. */
#define PING_SUSPECTED 1

static void write_ping(hs_node *n, const char *target, uint32_t target_inc, uint8_t flags,
                       hs_member *peer, const hs_addr *to, uint32_t seq)
{
    hs_writer w;
    uint8_t *buf = msg_begin(n, &w, HS_MSG_PING);
    hs_put_u32(&w, seq);
    hs_put_str8(&w, n->self->name, strlen(n->self->name));
    hs_put_u32(&w, n->self->inc);
    hs_put_u64(&w, n->config_version);
    hs_put_str8(&w, target, strlen(target));
    hs_put_u32(&w, target_inc);
    hs_put_u8(&w, flags);
    hs_put_piggyback(n, &w, peer);
    msg_send(n, to, buf, &w);
}

static uint8_t suspect_flags(const hs_member *m)
{
    return (m->susp || m->status == HS_SUSPECT) ? PING_SUSPECTED : 0;
}

void hs_send_ping(hs_node *n, hs_member *target, const hs_addr *to, uint32_t seq)
{
    write_ping(n, target->name, target->inc, suspect_flags(target), target, to, seq);
}

void hs_send_pingreq(hs_node *n, hs_member *target, hs_member *via, uint32_t seq)
{
    hs_writer w;
    uint8_t *buf = msg_begin(n, &w, HS_MSG_PINGREQ);
    hs_put_u32(&w, seq);
    hs_put_str8(&w, target->name, strlen(target->name));
    hs_addr ta = hs_member_addr(n, target);
    hs_put_addr(&w, &ta);
    hs_put_u32(&w, target->inc);
    hs_put_u8(&w, suspect_flags(target));
    hs_addr va = hs_member_addr(n, via);
    msg_send(n, &va, buf, &w);
    n->stats.indirect_sent++;
}

static void send_pingreqs(hs_node *n, hs_check *c, hs_member *target)
{
    hs_member *sent[16];
    size_t nsent = 0;
    uint32_t count = c->kind == HS_CHECK_VERIFY ? n->cfg.verify_probes : n->cfg.indirect_probes;
    for (uint32_t i = 0; i < count && i < 16; i++) {
        hs_member *via = hs_random_live(n, target, NULL);
        bool dup = false;
        for (size_t j = 0; j < nsent; j++) dup |= sent[j] == via;
        if (!via || dup) continue;
        sent[nsent++] = via;
        hs_send_pingreq(n, target, via, c->seq);
    }
}

static bool check_outstanding(const hs_node *n, const hs_member *m)
{
    for (size_t i = 0; i < HS_MAX_CHECKS; i++)
        if (n->checks[i].used && n->checks[i].target_hash == m->ring_hash &&
            strcmp(n->checks[i].target, m->name) == 0)
            return true;
    return false;
}

/* Starts a check of m; verify checks send their indirect probes at once. */
static void start_check(hs_node *n, hs_member *m, hs_check_kind kind)
{
    bool verify = kind == HS_CHECK_VERIFY;
    if (check_outstanding(n, m)) return;
    hs_check *c = NULL;
    for (size_t i = 0; i < HS_MAX_CHECKS && !c; i++)
        if (!n->checks[i].used) c = &n->checks[i];
    if (!c) return;
    memset(c, 0, sizeof(*c));
    c->used = true;
    c->kind = (uint8_t)kind;
    c->seq = ++n->next_seq;
    if (c->seq == 0) c->seq = ++n->next_seq; /* 0 means "no check" on the wire */
    c->target_hash = m->ring_hash;
    strcpy(c->target, m->name);
    hs_addr a = hs_member_addr(n, m);
    hs_send_ping(n, m, &a, c->seq);
    n->stats.probes_sent++;
    if (verify) {
        send_pingreqs(n, c, m);
        c->indirect_at = 0;
        c->end_at = n->now + n->cfg.verify_interval_ms;
    } else {
        c->indirect_at = n->now + n->cfg.probe_timeout_ms;
        c->end_at = n->now + n->cfg.indirect_timeout_ms;
    }
}

void hs_start_verify(hs_node *n, hs_member *m)
{
    start_check(n, m, HS_CHECK_VERIFY);
}

void hs_start_health_check(hs_node *n, hs_member *m)
{
    start_check(n, m, HS_CHECK_HEALTH);
}

static uint64_t probe_cycle(const hs_node *n, size_t k)
{
    return (uint64_t)k * n->cfg.probe_interval_ms;
}

/* Brings our subject list up to date with the ring: subjects that stay keep their due times,
 * new ones are due at a random time within the next K periods, and the rest are forgotten. */
static void subjects_refresh(hs_node *n)
{
    if (n->subj_ring_version == n->ring_version) return;
    hs_member *now[HS_MAX_VOTE_GROUP];
    size_t k = hs_subjects(n, now, HS_MAX_VOTE_GROUP);
    hs_subject next[HS_MAX_VOTE_GROUP];
    for (size_t i = 0; i < k; i++) {
        next[i].m = now[i];
        next[i].due = 0;
        for (size_t j = 0; j < n->nsubj && !next[i].due; j++)
            if (n->subj[j].m == now[i]) next[i].due = n->subj[j].due;
        if (!next[i].due)
            next[i].due = n->now + 1 + hs_prng_below(&n->rng, (uint32_t)probe_cycle(n, k));
    }
    memcpy(n->subj, next, k * sizeof(*next));
    n->nsubj = k;
    n->subj_ring_version = n->ring_version;
}

void hs_probe_forget(hs_node *n, const hs_member *m)
{
    for (size_t i = 0; i < n->nsubj; i++)
        if (n->subj[i].m == m) {
            memmove(&n->subj[i], &n->subj[i + 1], (n->nsubj - i - 1) * sizeof(n->subj[0]));
            n->nsubj--;
            n->subj_ring_version = (uint64_t)-1;
            return;
        }
}

void hs_probe_tick(hs_node *n)
{
    subjects_refresh(n);
    uint64_t cycle = probe_cycle(n, n->nsubj);
    for (size_t i = 0; i < n->nsubj; i++) {
        hs_subject *s = &n->subj[i];
        if (n->now < s->due) continue;
        s->due += cycle;
        if (s->due <= n->now) s->due = n->now + cycle; /* we were not run for a while */
        start_check(n, s->m, HS_CHECK_PROBE);
    }
}

/* The wait we ask of observer o before its next periodic probe of us (0: o is none of our
 * observers, or the wait does not fit the wire's u16): observer d of K should probe at our
 * times anchor + (d - 1) periods modulo K periods, never sooner than K/2 periods from now. */
static uint16_t probe_hint(const hs_node *n, const hs_member *o)
{
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k = hs_observers(n, n->self, obs, HS_MAX_VOTE_GROUP);
    uint64_t p = n->cfg.probe_interval_ms, cycle = probe_cycle(n, k);
    if (!cycle || cycle + cycle / 2 > UINT16_MAX) return 0;
    for (size_t d = 0; d < k; d++) {
        if (obs[d] != o) continue;
        uint64_t want = (n->probe_anchor + d * p) % cycle;
        uint64_t wait = (want + cycle - n->now % cycle) % cycle;
        return (uint16_t)(wait < cycle / 2 ? wait + cycle : wait);
    }
    return 0;
}

/* A Pong to our periodic probe of subject m says when m wants the next one. Kept within
 * [K/2, 3K/2] periods, so a hostile or confused hint can neither stop our probes of m nor
 * make us flood it. */
static void probe_hint_apply(hs_node *n, const hs_member *m, uint16_t next_ms)
{
    uint64_t cycle = probe_cycle(n, n->nsubj), wait = next_ms;
    if (!next_ms || !cycle) return;
    if (wait < cycle / 2) wait = cycle / 2;
    if (wait > cycle + cycle / 2) wait = cycle + cycle / 2;
    for (size_t i = 0; i < n->nsubj; i++)
        if (n->subj[i].m == m) n->subj[i].due = n->now + wait;
}

static hs_check *find_check(hs_node *n, uint32_t seq)
{
    if (seq == 0) return NULL;
    for (size_t i = 0; i < HS_MAX_CHECKS; i++)
        if (n->checks[i].used && n->checks[i].seq == seq) return &n->checks[i];
    return NULL;
}

static void check_acked(hs_node *n, hs_check *c)
{
    c->used = false;
    hs_health_note(n, true, n->now);
    hs_member *m = hs_table_find(n, c->target);
    if (m) hs_check_succeeded(n, m);
}

void hs_checks_tick(hs_node *n)
{
    for (size_t i = 0; i < HS_MAX_CHECKS; i++) {
        hs_check *c = &n->checks[i];
        if (!c->used) continue;
        hs_member *m = hs_table_find(n, c->target);
        if (!m || !hs_is_live(m)) {
            c->used = false;
            continue;
        }
        if (c->indirect_at && n->now >= c->indirect_at) {
            c->indirect_at = 0;
            send_pingreqs(n, c, m);
        }
        if (n->now >= c->end_at) {
            c->used = false;
            n->stats.probes_failed++;
            hs_health_note(n, false, c->end_at);
            /* a test of our own links accuses nobody, nor does a node holding back its return */
            if (c->kind != HS_CHECK_HEALTH && !n->health.held) hs_check_failed(n, m);
        }
    }
}

uint64_t hs_probe_next_deadline(const hs_node *n)
{
    /* the ring changed since the subject list was made: tick now to bring it up to date */
    if (n->subj_ring_version != n->ring_version) return n->now ? n->now : 1;
    uint64_t d = 0;
    for (size_t i = 0; i < n->nsubj; i++)
        if (!d || n->subj[i].due < d) d = n->subj[i].due;
    for (size_t i = 0; i < HS_MAX_CHECKS; i++) {
        const hs_check *c = &n->checks[i];
        if (!c->used) continue;
        uint64_t t = c->indirect_at && c->indirect_at < c->end_at ? c->indirect_at : c->end_at;
        if (!d || t < d) d = t;
    }
    return d;
}

void hs_note_config_version(hs_node *n, hs_member *m, uint64_t v)
{
    m->config_version = v;
    if (v > n->max_seen_version) {
        n->max_seen_version = v;
        if (v > n->config_version) hs_event_push(n, HS_EV_CONFIG_SEEN, m, (hs_status)m->status);
    }
}

/* Any message from m shows it is up: ends our checks and suspicion of it. */
void hs_note_alive_evidence(hs_node *n, hs_member *m, uint32_t inc)
{
    (void)inc;
    if (m == n->self || !hs_is_live(m)) return;
    for (size_t i = 0; i < HS_MAX_CHECKS; i++)
        if (n->checks[i].used && n->checks[i].target_hash == m->ring_hash &&
            strcmp(n->checks[i].target, m->name) == 0)
            n->checks[i].used = false;
    hs_check_succeeded(n, m);
}

/* A Ping is fresh proof of life only if its sequence number moved forward since the last Ping
 * from the same member at the same incarnation (serial arithmetic; every node numbers its
 * probes from one counter that starts at a random value): a replayed Ping cannot keep a dead
 * member looking alive. A reordered datagram is merely not counted. */
static bool ping_is_fresh(hs_member *m, uint32_t inc, uint32_t seq)
{
    if (inc < m->ping_inc) return false;
    if (inc == m->ping_inc && m->ping_seq != 0 && (int32_t)(seq - m->ping_seq) <= 0) return false;
    m->ping_inc = inc;
    m->ping_seq = seq;
    return true;
}

/* Reads the sender header shared by Ping and Pong. */
static hs_member *read_sender(hs_node *n, hs_reader *r, uint32_t *inc, uint64_t *version)
{
    char name[HS_NAME_MAX + 1];
    hs_get_str8(r, name, sizeof(name), true);
    *inc = hs_get_u32(r);
    *version = hs_get_u64(r);
    if (!r->ok || !hs_name_valid(name)) {
        r->ok = false;
        return NULL;
    }
    hs_member *m = hs_table_find(n, name);
    if (!m) hs_tomb_check_sender(n, name, *inc);
    return m;
}

void hs_recv_ping(hs_node *n, const hs_addr *from, hs_reader *r)
{
    uint32_t seq = hs_get_u32(r), inc;
    uint64_t version;
    hs_member *sender = read_sender(n, r, &inc, &version);
    char target[HS_NAME_MAX + 1];
    hs_get_str8(r, target, sizeof(target), true);
    uint32_t target_inc = hs_get_u32(r);
    uint8_t flags = hs_get_u8(r);
    if (!r->ok || flags > PING_SUSPECTED) {
        r->ok = false;
        return;
    }
    if (strcmp(target, n->self->name) != 0) {
        /* meant for whoever had this address before us: say nothing */
        n->stats.drop_not_member++;
        hs_reader_init(r, NULL, 0);
        return;
    }
    if (!hs_read_piggyback(n, r)) return;
    if ((flags & PING_SUSPECTED) && target_inc >= n->self->inc) hs_prove_alive(n, target_inc);
    if (sender) {
        hs_note_config_version(n, sender, version);
        if (inc >= sender->inc && ping_is_fresh(sender, inc, seq))
            hs_note_alive_evidence(n, sender, inc);
    }
    /* PONG = seq:u32 from:str8 inc:u32 config:u64 next_ms:u16 piggyback. next_ms: when the
     * sender, if it is one of our observers, should probe us next (0: no request) */
    uint16_t next_ms = sender && !(flags & PING_SUSPECTED) ? probe_hint(n, sender) : 0;
    hs_writer w;
    uint8_t *buf = msg_begin(n, &w, HS_MSG_PONG);
    hs_put_u32(&w, seq);
    hs_put_str8(&w, n->self->name, strlen(n->self->name));
    hs_put_u32(&w, n->self->inc);
    hs_put_u64(&w, n->config_version);
    hs_put_u16(&w, next_ms);
    hs_put_piggyback(n, &w, sender);
    msg_send(n, from, buf, &w);
}

void hs_recv_pong(hs_node *n, const hs_addr *from, hs_reader *r)
{
    (void)from;
    uint32_t seq = hs_get_u32(r), inc;
    uint64_t version;
    hs_member *sender = read_sender(n, r, &inc, &version);
    uint16_t next_ms = hs_get_u16(r);
    if (!r->ok) return;
    if (!hs_read_piggyback(n, r)) return;
    if (sender) sender = hs_table_find(n, sender->name); /* merging may not remove, but be safe */
    /* only a Pong that answers a Ping of ours is proof of life: a replayed one answers none */
    hs_check *c = find_check(n, seq);
    bool solicited = c != NULL;
    /* only the answer to our own periodic probe of a subject moves its due time (not one to
     * a check of a suspect, nor one to a Ping we relayed for someone else) */
    if (c && c->kind == HS_CHECK_PROBE && sender && sender->ring_hash == c->target_hash &&
        strcmp(sender->name, c->target) == 0)
        probe_hint_apply(n, sender, next_ms);
    if (c) check_acked(n, c);
    if (hs_reach_ack(n, seq, sender, false)) solicited = true;
    for (size_t i = 0; i < HS_MAX_RELAYS; i++) {
        hs_relay *rl = &n->relays[i];
        if (rl->used && rl->our_seq == seq) {
            rl->used = false;
            solicited = true;
            hs_writer w;
            uint8_t *buf = msg_begin(n, &w, HS_MSG_INDIRECT_ACK);
            hs_put_u32(&w, rl->their_seq);
            msg_send(n, &rl->requester, buf, &w);
        }
    }
    if (sender) {
        hs_note_config_version(n, sender, version);
        if (solicited && inc >= sender->inc) hs_note_alive_evidence(n, sender, inc);
    }
}

/* PINGREQ = seq:u32 target:str8 addr target_inc:u32 flags:u8 (as in PING) */
void hs_recv_pingreq(hs_node *n, const hs_addr *from, hs_reader *r)
{
    uint32_t seq = hs_get_u32(r);
    char target[HS_NAME_MAX + 1];
    hs_addr addr;
    hs_get_str8(r, target, sizeof(target), true);
    hs_get_addr(r, &addr);
    uint32_t target_inc = hs_get_u32(r);
    uint8_t flags = hs_get_u8(r);
    if (!r->ok || !hs_name_valid(target) || flags > PING_SUSPECTED) {
        r->ok = false;
        return;
    }
    hs_relay *slot = NULL;
    for (size_t i = 0; i < HS_MAX_RELAYS && !slot; i++)
        if (!n->relays[i].used || n->relays[i].expires <= n->now) slot = &n->relays[i];
    if (!slot) return; /* bounded: drop when busy */
    slot->used = true;
    slot->our_seq = ++n->next_seq;
    if (slot->our_seq == 0) slot->our_seq = ++n->next_seq;
    slot->their_seq = seq;
    slot->requester = *from;
    slot->expires = n->now + n->cfg.indirect_timeout_ms + n->cfg.verify_interval_ms;
    hs_member *m = hs_table_find(n, target);
    if (m) flags |= suspect_flags(m);
    write_ping(n, target, target_inc, flags, m, &addr, slot->our_seq);
}

/* INDIRECT_ACK = seq:u32 */
void hs_recv_indirect_ack(hs_node *n, hs_reader *r)
{
    uint32_t seq = hs_get_u32(r);
    if (!r->ok) return;
    hs_check *c = find_check(n, seq);
    if (c) check_acked(n, c);
    hs_reach_ack(n, seq, NULL, true);
}
