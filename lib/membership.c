/* membership.c: the public face of the membership core (include/hearsay/membership.h):
 * configuration defaults, node lifecycle, the input entry points that dispatch to the
 * probe, vote and gossip files, the timer scheduler, and the output queues. */
#include <stdlib.h>
#include <string.h>

#include "hearsay/fd_settings.h"
#include "hearsay/wire.h"
#include "membership_internal.h"

void hs_config_default(hs_config *c)
{
    memset(c, 0, sizeof(*c));
    c->probe_interval_ms = 1000;
    c->probe_timeout_ms = 100;
    c->indirect_timeout_ms = 250;
    c->indirect_probes = 3;
    c->verify_probes = 10;
    c->vote_group_size = 5;
    c->verify_rounds = 2;
    c->verify_interval_ms = 500;
    c->vote_validity_ms = 5000;
    c->quorum_fallback_ms = 30000;
    c->readmit_ms = 2000;
    c->gossip_interval_ms = 25;
    c->gossip_fanout = 4;
    c->retransmit_mult = 3;
    c->sync_interval_ms = 30000;
    c->sync_ms_per_member = 60;
    c->revive_interval_ms = 2000;
    c->join_retry_ms = 1000;
    c->reap_failed_ms = 24ULL * 3600 * 1000;
    c->reap_left_ms = 24ULL * 3600 * 1000;
    c->max_members = 65536;
    c->max_packet = HS_PACKET_MAX;
}

static const char *status_names[] = {"alive", "suspect", "failed", "left"};

const char *hs_status_name(hs_status s)
{
    return (unsigned)s < 4 ? status_names[s] : "unknown";
}

int hs_status_parse(const char *s, hs_status *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, status_names[i]) == 0) {
            *out = (hs_status)i;
            return 0;
        }
    return -1;
}

const char *hs_event_name(hs_event_type t)
{
    static const char *names[] = {
        "member-join",  "member-update", "member-suspect", "member-alive", "member-failed",
        "member-leave", "member-reap",   "config-seen",    "incarnation",  "member-conflict"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

static bool config_valid(const hs_config *c)
{
    return hs_name_valid(c->name) && (c->addr.family == 4 || c->addr.family == 6) &&
           c->addr.port != 0 && c->probe_interval_ms >= 10 && c->probe_timeout_ms > 0 &&
           c->indirect_timeout_ms > c->probe_timeout_ms && c->vote_group_size >= 1 &&
           c->verify_rounds >= 1 && c->verify_interval_ms > 0 && c->gossip_interval_ms > 0 &&
           c->gossip_fanout >= 1 && c->max_members >= 2 && c->max_packet >= 256 &&
           c->max_packet <= 65000 && c->join_retry_ms > 0 && c->revive_interval_ms > 0;
}

hs_node *hs_node_new(const hs_config *cfg, hs_tags tags, uint32_t incarnation, uint64_t now_ms,
                     uint64_t seed)
{
    if (!config_valid(cfg) || hs_tags_validate(tags) != 0) return NULL;
    hs_node *n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->cfg = *cfg;
    hs_tombs_init(n);
    n->v6_free = UINT32_MAX; /* no free IPv6 slot */
    n->rng.s = seed;
    n->now = now_ms;
    n->self = hs_table_add(n, cfg->name, &cfg->addr);
    n->self->inc = incarnation;
    if (tags.len) {
        n->self->tags = malloc(tags.len);
        if (!n->self->tags) abort();
        memcpy(n->self->tags, tags.data, tags.len);
        n->self->tags_len = (uint16_t)tags.len;
    }
    n->self->status = HS_ALIVE;
    n->has_view = true; /* the first node of a cluster: its view is the whole cluster */
    hs_ring_insert(n, n->self);
    n->subj_ring_version = (uint64_t)-1;
    n->probe_anchor = hs_prng_next(&n->rng) >> 16;
    n->sync_at = now_ms + cfg->sync_interval_ms / 2 + hs_prng_below(&n->rng, cfg->sync_interval_ms);
    n->revive_at = now_ms + cfg->revive_interval_ms;
    n->housekeeping_at = now_ms + 1000;
    /* probe sequence numbers start somewhere new on every start (the agent's seed is random),
     * so a Pong recorded before a restart cannot answer a probe after it (without drawing
     * from the PRNG stream, which keeps simulator runs as they were) */
    n->next_seq = (uint32_t)(seed >> 32) ^ (uint32_t)seed;
    return n;
}

void hs_node_free(hs_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->nmembers; i++) {
        free(n->members[i]->susp);
        hs_history_free(n->members[i]);
        free(n->members[i]->tags);
    }
    hs_slab_free_all(n);
    free(n->v6);
    for (size_t i = 0; i < n->nout; i++) free(n->out[i].owned);
    free(n->members);
    free(n->index);
    hs_ring_free(n);
    free(n->suspects);
    hs_bcast_free(n);
    hs_tombs_free(n);
    hs_removed_free(n);
    hs_claims_free(n);
    hs_reach_free(n);
    free(n->join_addrs);
    free(n->out);
    free(n->events);
    free(n);
}

/* ---- outputs ---- */

/* Output queues that a burst grew (a full-state exchange publishes an event per new member)
 * give their memory back once drained. */
#define OUTPUT_KEEP 64

static void outputs_compact(hs_node *n)
{
    if (n->out_read) {
        for (size_t i = 0; i < n->out_read; i++) free(n->out[i].owned);
        memmove(n->out, n->out + n->out_read, (n->nout - n->out_read) * sizeof(*n->out));
        n->nout -= n->out_read;
        n->out_read = 0;
        if (!n->nout && n->out_cap > OUTPUT_KEEP) {
            free(n->out);
            n->out = NULL;
            n->out_cap = 0;
        }
    }
    if (n->events_read) {
        memmove(n->events, n->events + n->events_read,
                (n->nevents - n->events_read) * sizeof(*n->events));
        n->nevents -= n->events_read;
        n->events_read = 0;
        if (!n->nevents && n->events_cap > OUTPUT_KEEP) {
            free(n->events);
            n->events = NULL;
            n->events_cap = 0;
        }
    }
}

void hs_emit(hs_node *n, const hs_addr *to, uint8_t *data, size_t len)
{
    if (n->nout == n->out_cap) {
        size_t cap = n->out_cap ? n->out_cap * 2 : 16;
        hs_outbuf *o = realloc(n->out, cap * sizeof(*o));
        if (!o) abort();
        n->out = o;
        n->out_cap = cap;
    }
    hs_outbuf *o = &n->out[n->nout++];
    o->owned = data;
    o->pkt.to = *to;
    o->pkt.data = data;
    o->pkt.len = len;
    o->pkt.stream = len > n->cfg.max_packet;
    n->stats.msgs_out++;
    n->stats.bytes_out += len;
}

bool hs_node_next_packet(hs_node *n, hs_packet *out)
{
    if (n->out_read >= n->nout) return false;
    *out = n->out[n->out_read++].pkt;
    return true;
}

void hs_event_push(hs_node *n, hs_event_type t, const hs_member *m, hs_status prev)
{
    if (n->nevents == n->events_cap) {
        size_t cap = n->events_cap ? n->events_cap * 2 : 16;
        hs_event *e = realloc(n->events, cap * sizeof(*e));
        if (!e) abort();
        n->events = e;
        n->events_cap = cap;
    }
    hs_event *e = &n->events[n->nevents++];
    memset(e, 0, sizeof(*e));
    e->type = t;
    if (m) {
        strcpy(e->name, m->name);
        e->addr = hs_member_addr(n, m);
        e->status = (hs_status)m->status;
        e->incarnation = m->inc;
    }
    e->prev_status = prev;
    e->config_version = n->max_seen_version;
    e->at_ms = n->now;
    if (m) hs_history_event(n, (hs_member *)m, t, prev);
}

bool hs_node_next_event(hs_node *n, hs_event *out)
{
    if (n->events_read >= n->nevents) return false;
    *out = n->events[n->events_read++];
    return true;
}

/* Moves a member to a new status, keeping the ring and suspicions consistent. */
void hs_set_status(hs_node *n, hs_member *m, hs_status s)
{
    if (m->status == s) return;
    bool was_live = hs_is_live(m);
    m->status = s;
    m->status_since = n->now;
    bool live = hs_is_live(m);
    if (was_live && !live) hs_ring_remove(n, m);
    if (!was_live && live) hs_ring_insert(n, m);
    if (s == HS_ALIVE || !live) {
        hs_history_stash(n, m); /* the votes that stood, for the record of this change */
        hs_suspicion_clear(n, m);
    }
}

/* ---- inputs ---- */

static void begin(hs_node *n, uint64_t now)
{
    if (now > n->now) n->now = now;
    outputs_compact(n);
}

void hs_node_join(hs_node *n, uint64_t now_ms, const hs_addr *addrs, size_t count)
{
    begin(n, now_ms);
    if (!count) return;
    hs_addr *a = realloc(n->join_addrs, (n->njoin + count) * sizeof(*a));
    if (!a) abort();
    n->join_addrs = a;
    for (size_t i = 0; i < count; i++) {
        if (hs_addr_equal(&addrs[i], &n->cfg.addr)) continue;
        /* an address joined again (the daemon's re-resolved names) is met again, not kept twice */
        size_t k = 0;
        while (k < n->njoin && !hs_addr_equal(&n->join_addrs[k], &addrs[i])) k++;
        if (k == n->njoin) n->join_addrs[n->njoin++] = addrs[i];
        hs_send_meet(n, &addrs[i], HS_MSG_MEET, true);
    }
    n->joined = false;
    if (n->njoin && n->nmembers == 1) n->has_view = false; /* a new node joining a cluster */
    n->join_retry_at = n->njoin ? n->now + n->cfg.join_retry_ms : 0;
}

/* A leaving node gossips its Leave again this often until it exits: a Leave whose first
 * round of sends all went into a partition (chaos seed 1) was otherwise lost, and the
 * cluster held the member failed instead of left. */
#define LEAVE_AGAIN_MS 500

void hs_node_leave(hs_node *n, uint64_t now_ms)
{
    begin(n, now_ms);
    if (n->leaving) return;
    n->leaving = true;
    n->self->inc++;
    hs_set_status(n, n->self, HS_LEFT);
    hs_event_push(n, HS_EV_INCARNATION, n->self, HS_LEFT);
    hs_bcast_queue(n, n->self);
    /* tell our subjects and a few others directly, then keep gossiping */
    hs_member *subj[HS_MAX_VOTE_GROUP];
    size_t k = hs_subjects(n, subj, HS_MAX_VOTE_GROUP);
    for (size_t i = 0; i < k; i++) {
        hs_addr a = hs_member_addr(n, subj[i]);
        hs_send_gossip_to(n, &a);
    }
    hs_gossip_soon(n);
    n->join_retry_at = 0;
    n->leave_again_at = n->now + LEAVE_AGAIN_MS;
}

int hs_node_set_tags(hs_node *n, uint64_t now_ms, hs_tags tags)
{
    begin(n, now_ms);
    if (hs_tags_validate(tags) != 0) return -1;
    char *copy = NULL;
    if (tags.len) {
        copy = malloc(tags.len);
        if (!copy) abort();
        memcpy(copy, tags.data, tags.len);
    }
    free(n->self->tags);
    n->self->tags = copy;
    n->self->tags_len = (uint16_t)tags.len;
    n->self->inc++;
    hs_event_push(n, HS_EV_INCARNATION, n->self, (hs_status)n->self->status);
    hs_event_push(n, HS_EV_UPDATE, n->self, (hs_status)n->self->status);
    hs_bcast_queue(n, n->self);
    hs_gossip_soon(n);
    return 0;
}

void hs_node_set_config_version(hs_node *n, uint64_t version)
{
    n->config_version = version;
    n->self->config_version = version;
    if (version > n->max_seen_version) n->max_seen_version = version;
}

void hs_node_receive(hs_node *n, uint64_t now_ms, const hs_addr *from, const uint8_t *data,
                     size_t len, bool stream)
{
    begin(n, now_ms);
    n->stats.msgs_in++;
    n->stats.bytes_in += len;
    if (n->leaving || n->removed_self || n->stopped || !data || len == 0) return;
    if (n->stopping_until && data[0] != HS_MSG_PING) return; /* answering checks, no more */
    if (!stream && len > 65535) {
        n->stats.drop_malformed++;
        return;
    }
    n->ntomb_answer = 0;
    char sender[HS_NAME_MAX + 1];
    uint32_t seq;
    bool named = hs_msg_sender(data, len, sender, &seq);
    if (named && hs_removed_has(n, sender)) {
        n->stats.removed_refused++; /* force-leave: nothing a removed member says counts */
        return;
    }
    if (named) hs_claims_note(n, from, data[0], sender, seq);
    n->from_claimant = named && !strcmp(sender, n->self->name);
    hs_reader r;
    hs_reader_init(&r, data, len);
    uint8_t type = hs_get_u8(&r);
    switch (type) {
    case HS_MSG_PING:
        hs_recv_ping(n, from, &r);
        break;
    case HS_MSG_PONG:
        hs_recv_pong(n, from, &r);
        break;
    case HS_MSG_PINGREQ:
        hs_recv_pingreq(n, from, &r);
        break;
    case HS_MSG_INDIRECT_ACK:
        hs_recv_indirect_ack(n, &r);
        break;
    case HS_MSG_SUSPECT:
        hs_recv_suspect(n, &r);
        break;
    case HS_MSG_VOTE:
        hs_recv_vote(n, &r);
        break;
    case HS_MSG_GOSSIP: {
        char name[HS_NAME_MAX + 1];
        hs_get_str8(&r, name, sizeof(name), true);
        if (r.ok) hs_read_piggyback(n, &r);
        break;
    }
    case HS_MSG_MEET:
    case HS_MSG_MEET_REPLY:
        hs_recv_meet(n, from, &r, type);
        break;
    case HS_MSG_REACH:
    case HS_MSG_REACH_ACK:
        hs_recv_reach(n, from, &r, type);
        break;
    case HS_MSG_TOMBS:
        hs_recv_tombs(n, &r);
        break;
    default:
        n->stats.drop_unknown_type++;
        n->from_claimant = false;
        return;
    }
    n->from_claimant = false;
    if (!r.ok || hs_reader_left(&r) != 0) {
        n->stats.drop_malformed++;
        return;
    }
    /* whoever told us of a reaped member below its tombstone learns the tombstone */
    hs_tombs_answer(n, from, len);
}

static void reap(hs_node *n)
{
    for (size_t i = 0; i < n->nmembers;) {
        hs_member *m = n->members[i];
        uint64_t limit = m->status == HS_FAILED ? n->cfg.reap_failed_ms
                         : m->status == HS_LEFT ? n->cfg.reap_left_ms
                                                : 0;
        if (m != n->self && limit && n->now - m->status_since >= limit) {
            hs_event_push(n, HS_EV_REAP, m, (hs_status)m->status);
            hs_tomb_bury(n, m);
            hs_table_remove(n, m);
            continue;
        }
        i++;
    }
}

void hs_node_tick(hs_node *n, uint64_t now_ms)
{
    begin(n, now_ms);
    hs_reach_tick(n); /* ends on time even while quiet or leaving */
    if (n->stopping_until) {
        hs_claims_stopping(n);
        return;
    }
    if (n->removed_self || n->stopped) { /* quiet: only forgetting goes on */
        if (n->now >= n->housekeeping_at) {
            n->housekeeping_at = n->now + 1000;
            reap(n);
            hs_tombs_expire(n);
        }
        return;
    }
    if (n->name_check_at && n->now >= n->name_check_at) hs_claims_tick(n);
    if (n->join_retry_at && n->now >= n->join_retry_at) {
        if (n->joined) {
            n->join_retry_at = 0;
        } else {
            for (size_t i = 0; i < n->njoin; i++)
                hs_send_meet(n, &n->join_addrs[i], HS_MSG_MEET, true);
            n->join_retry_at = n->now + n->cfg.join_retry_ms;
        }
    }
    if (!n->leaving) {
        hs_checks_tick(n);
        hs_health_tick(n);
        hs_votes_tick(n);
        hs_quorum_tick(n); /* after the verdicts of this tick changed the ring */
        hs_probe_tick(n);
        if (n->now >= n->sync_at) hs_sync_tick(n);
        if (n->now >= n->revive_at) hs_revive_tick(n);
    }
    if (n->leaving && n->now >= n->leave_again_at) {
        n->leave_again_at = n->now + LEAVE_AGAIN_MS;
        hs_bcast_queue(n, n->self);
        hs_gossip_soon(n);
    }
    if (n->gossip_at && n->now >= n->gossip_at) hs_gossip_tick(n);
    if (n->now >= n->housekeeping_at) {
        n->housekeeping_at = n->now + 1000;
        reap(n);
        hs_tombs_expire(n);
    }
}

static uint64_t min_nonzero(uint64_t a, uint64_t b)
{
    if (!a) return b;
    if (!b) return a;
    return a < b ? a : b;
}

static uint64_t core_deadline(const hs_node *n)
{
    uint64_t d = n->housekeeping_at;
    if (n->stopping_until) return n->stopping_until;
    if (n->removed_self || n->stopped) return d;
    d = min_nonzero(d, n->name_check_at);
    d = min_nonzero(d, n->gossip_at);
    d = min_nonzero(d, n->join_retry_at);
    if (n->leaving) d = min_nonzero(d, n->leave_again_at);
    if (!n->leaving) {
        d = min_nonzero(d, n->sync_at);
        d = min_nonzero(d, n->revive_at);
        d = min_nonzero(d, hs_probe_next_deadline(n));
        d = min_nonzero(d, hs_votes_next_deadline(n));
        d = min_nonzero(d, hs_quorum_next_deadline(n));
        d = min_nonzero(d, hs_health_next_deadline(n));
    }
    return d;
}

uint64_t hs_node_next_deadline(const hs_node *n)
{
    return min_nonzero(core_deadline(n), hs_reach_next_deadline(n));
}

/* ---- run-time settings ---- */

int hs_node_set_timing(hs_node *n, uint64_t now_ms, const hs_config *cfg)
{
    begin(n, now_ms);
    hs_config next = n->cfg;
    hs_fd_copy(&next, cfg);
    if (!config_valid(&next)) return -1;
    n->cfg = next;
    /* timers set under the old values come no later than the new ones would */
    uint64_t now = n->now;
    if (n->sync_at > now + next.sync_interval_ms)
        n->sync_at = now + hs_prng_below(&n->rng, next.sync_interval_ms);
    if (n->revive_at > now + next.revive_interval_ms)
        n->revive_at = now + hs_prng_below(&n->rng, next.revive_interval_ms);
    if (n->gossip_at > now + next.gossip_interval_ms) n->gossip_at = now;
    if (n->join_retry_at > now + next.join_retry_ms) n->join_retry_at = now + next.join_retry_ms;
    uint64_t cycle = (uint64_t)next.probe_interval_ms * (n->nsubj ? n->nsubj : 1);
    for (size_t i = 0; i < n->nsubj; i++)
        if (n->subj[i].due > now + cycle)
            n->subj[i].due = now + 1 + hs_prng_below(&n->rng, (uint32_t)cycle);
    n->subj_ring_version = (uint64_t)-1; /* the vote group size may have changed */
    return 0;
}

const hs_config *hs_node_config(const hs_node *n)
{
    return &n->cfg;
}

bool hs_node_stopped(const hs_node *n, hs_addr *other)
{
    if (n->stopped && other) *other = n->stopped_by;
    return n->stopped;
}

/* ---- queries ---- */

static void fill_info(const hs_node *n, const hs_member *m, hs_member_info *out)
{
    out->name = m->name;
    out->addr = hs_member_addr(n, m);
    out->status = (hs_status)m->status;
    out->incarnation = m->inc;
    out->tags.data = m->tags;
    out->tags.len = m->tags_len;
    out->status_since_ms = m->status_since;
    out->config_version = m->config_version;
    out->is_self = m == n->self;
}

size_t hs_node_member_count(const hs_node *n)
{
    return n->nmembers;
}

bool hs_node_member_at(const hs_node *n, size_t i, hs_member_info *out)
{
    if (i >= n->nmembers) return false;
    fill_info(n, n->members[i], out);
    return true;
}

bool hs_node_find(const hs_node *n, const char *name, hs_member_info *out)
{
    hs_member *m = hs_table_find(n, name);
    if (!m) return false;
    fill_info(n, m, out);
    return true;
}

void hs_node_status_counts(const hs_node *n, size_t counts[4])
{
    memset(counts, 0, 4 * sizeof(size_t));
    for (size_t i = 0; i < n->nmembers; i++) counts[n->members[i]->status & 3]++;
}

size_t hs_node_table_bytes(const hs_node *n)
{
    size_t bytes =
        n->members_cap * sizeof(hs_member *) + n->index_cap * sizeof(*n->index) + hs_ring_bytes(n);
    for (size_t i = 0; i < n->nmembers; i++) {
        const hs_member *m = n->members[i];
        bytes += sizeof(*m) + strlen(m->name) + 1 + m->tags_len;
        if (m->susp) bytes += sizeof(*m->susp);
    }
    return bytes;
}

const hs_node_stats *hs_node_stats_get(const hs_node *n)
{
    return &n->stats;
}
