/* asim_check.c: the invariants of `hearsay-sim replay`, checked at every step: each envelope
 * delivered at most once per receiver, and a replay only where its original went; no core
 * payload sealed under a key after its removal committed, and no envelope under it delivered
 * unless sealed before, and not once its rotation completed; no configuration going back or
 * disagreeing with the committed log; no departed member shown alive again by an agent that
 * saw it go; no reply to an unproven source larger than what it answers, and no more bytes to
 * a stranger than it sent. The first violation stops the run (as_fail). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asim_attack.h"
#include "asim_check.h"
#include "simutil.h"

typedef struct dkey {
    uint64_t inst, seq; /* seq: with the stream bit for stream frames */
    uint32_t recv;
    uint32_t used;
} dkey;

struct as_checks {
    as_check_stats st;
    uint32_t n;
    dkey *set;
    size_t cap, count;
    uint8_t *saw_go; /* [observer * n + subject]: saw it leave, fail or reaped */
    uint64_t in[AS_FORGED + 1], out[AS_FORGED + 1]; /* datagram bytes from / to strangers */
};

as_checks *checks_new(uint32_t n)
{
    as_checks *c = sim_xcalloc(1, sizeof *c);
    c->n = n;
    c->saw_go = sim_xcalloc((size_t)n * n, 1);
    c->cap = 1 << 16;
    c->set = sim_xcalloc(c->cap, sizeof *c->set);
    return c;
}

void checks_free(as_checks *c)
{
    if (!c) return;
    free(c->saw_go);
    free(c->set);
    free(c);
}

const as_check_stats *checks_stats(const as_checks *c)
{
    return &c->st;
}

as_check_stats *checks_counters(as_checks *c)
{
    return &c->st;
}

uint64_t checks_total(const as_checks *c)
{
    const as_check_stats *s = &c->st;
    return s->deliveries + s->key_checks + s->config_checks + s->view_checks + s->reply_checks +
           s->storage_checks + s->log_checks;
}

/* ---- delivered at most once ---- */

static size_t slot_of(const as_checks *c, uint32_t recv, uint64_t inst, uint64_t seq)
{
    uint64_t h = inst * 0x9e3779b97f4a7c15ULL ^ seq * 0xc2b2ae3d27d4eb4fULL ^ recv;
    h ^= h >> 29;
    return (size_t)(h & (c->cap - 1));
}

/* Inserts; false if it was there already. */
static bool once(as_checks *c, uint32_t recv, uint64_t inst, uint64_t seq)
{
    if (2 * (c->count + 1) > c->cap) {
        dkey *old = c->set;
        size_t ocap = c->cap;
        c->cap *= 2;
        c->set = sim_xcalloc(c->cap, sizeof *c->set);
        for (size_t i = 0; i < ocap; i++) {
            if (!old[i].used) continue;
            size_t k = slot_of(c, old[i].recv, old[i].inst, old[i].seq);
            while (c->set[k].used) k = (k + 1) & (c->cap - 1);
            c->set[k] = old[i];
        }
        free(old);
    }
    size_t k = slot_of(c, recv, inst, seq);
    while (c->set[k].used) {
        if (c->set[k].recv == recv && c->set[k].inst == inst && c->set[k].seq == seq) return false;
        k = (k + 1) & (c->cap - 1);
    }
    c->set[k] = (dkey){inst, seq, recv, 1};
    c->count++;
    return true;
}

/* ---- keys ---- */

/* When the removal of the key that sealed wire committed, and when its rotation completed
 * (UINT64_MAX: never, or not sealed). */
static uint64_t removed_at(const as_sim *s, const uint8_t *wire, size_t len, uint64_t *done_us)
{
    *done_us = UINT64_MAX;
    if (len < HS_ENV_HEADER_BYTES || !(wire[1] & HS_ENV_FLAG_SEALED)) return UINT64_MAX;
    return truth_removed_at(s->truth, wire + 2, done_us);
}

void check_seal(as_sim *s, uint32_t i, const uint8_t *wire, size_t len, bool core)
{
    as_checks *c = s->chk;
    c->st.key_checks++;
    uint64_t done, at = removed_at(s, wire, len, &done);
    if (at > s->now_us) return;
    if (!core) {
        c->st.control_removed++;
        return;
    }
    as_fail(s, "n%u sealed a core payload under a key whose removal committed at %.3f s", i,
            (double)at / 1e6);
}

void check_delivered(as_sim *s, uint32_t j, const as_msg *m, const hs_ch_sender *who, bool stream)
{
    as_checks *c = s->chk;
    c->st.deliveries++;
    c->st.key_checks++;
    uint64_t seq = who->seq | (stream ? HS_CH_STREAM_SEQ : 0);
    if (!once(c, j, who->instance, seq))
        as_fail(s, "n%u's channel delivered %s %016llx/%llu twice (origin %u)", j,
                stream ? "frame" : "datagram", (unsigned long long)who->instance,
                (unsigned long long)who->seq, m->origin);
    /* a removed key: never for anything sealed after its removal committed, nor anywhere once
     * its rotation completed (every member it surveyed holds the new ring only); before that,
     * a member that has not applied the removal yet still opens what was sealed earlier (a
     * recorded datagram delayed inside its sender's window): counted */
    uint64_t done, at = removed_at(s, m->data, m->len, &done);
    if (at <= s->now_us) {
        if (m->sealed_us >= at || (done <= s->now_us && s->ag[j].state == AS_RUNNING))
            as_fail(s,
                    "n%u delivered a %s sealed under a key whose removal committed at %.3f s "
                    "(sealed at %.3f s, rotation %s, origin %u)",
                    j, stream ? "frame" : "datagram", (double)at / 1e6, (double)m->sealed_us / 1e6,
                    done <= s->now_us ? "completed" : "running", m->origin);
        c->st.lag_old_key++;
    }
    if (m->origin == AS_O_CLUSTER) return;
    if (m->rec_to == (int)j) {
        c->st.replay_delivered_first++; /* the original was lost, or is still on its way */
        return;
    }
    c->st.replay_delivered_redirect++;
    as_fail(s, "n%u delivered a replayed datagram numbered for n%d (from %016llx)", j, m->rec_to,
            (unsigned long long)who->instance);
}

/* ---- configuration ---- */

void check_config(as_sim *s, uint32_t i)
{
    as_agent *g = &s->ag[i];
    as_checks *c = s->chk;
    c->st.config_checks++;
    const hs_cluster_config *cc = hs_agent_config(g->a);
    uint64_t v = cc->version, top = truth_config(s->truth)->version;
    if (v == g->cfg_version) return;
    if (v < g->cfg_version)
        as_fail(s, "n%u's configuration went back from version %llu to %llu", i,
                (unsigned long long)g->cfg_version, (unsigned long long)v);
    if (v > top)
        as_fail(s, "n%u holds configuration version %llu, beyond the committed %llu", i,
                (unsigned long long)v, (unsigned long long)top);
    for (uint32_t k = 0; k < AS_KEYS && !s->failed; k++) {
        int64_t held = truth_value_of(s, cc, k), want = truth_value_at(s->truth, k, v);
        if (held != want)
            as_fail(s,
                    "n%u at version %llu holds k%u = w%lld where the committed log says "
                    "w%lld",
                    i, (unsigned long long)v, k, (long long)held, (long long)want);
    }
    g->cfg_version = v;
}

/* ---- views ---- */

void check_event(as_sim *s, uint32_t i, const hs_agent_event *e)
{
    as_checks *c = s->chk;
    int d = as_index_of_name(s, e->name);
    if (d < 0 || !s->ag[d].left_us || e->kind == HS_EVK_CONFIG_CHANGE) return;
    c->st.view_checks++;
    uint8_t *saw = &c->saw_go[(size_t)i * c->n + (size_t)d];
    switch (e->kind) {
    case HS_EVK_MEMBER_LEAVE:
    case HS_EVK_MEMBER_FAILED:
    case HS_EVK_MEMBER_REAP:
        *saw = 1;
        return;
    case HS_EVK_MEMBER_JOIN:
        if (*saw || s->ag[d].gone_us)
            as_fail(s, "departed n%d came back (member-join) in n%u's view", d, i);
        return;
    default:
        if (*saw)
            as_fail(s, "n%u shows departed n%d as %s again after it saw it go", i, d,
                    hs_event_kind_name(e->kind));
    }
}

void check_views(as_sim *s)
{
    as_checks *c = s->chk;
    for (uint32_t i = 0; i < s->n && !s->failed; i++) {
        if (!as_alive(s, (int)i)) continue;
        for (uint32_t d = 0; d < s->n; d++) {
            if (!c->saw_go[(size_t)i * c->n + d]) continue;
            c->st.view_checks++;
            hs_member_info mi;
            if (hs_node_find(hs_agent_node(s->ag[i].a), s->ag[d].name, &mi) &&
                (mi.status == HS_ALIVE || mi.status == HS_SUSPECT))
                as_fail(s, "n%u's table shows departed n%u %s", i, d, hs_status_name(mi.status));
        }
    }
}

/* ---- replies to strangers ---- */

void check_reply(as_sim *s, size_t in_len, size_t out_len)
{
    s->chk->st.reply_checks++;
    if (out_len > in_len)
        as_fail(s, "a reply of %zu bytes to an unproven source that sent %zu", out_len, in_len);
}

void check_stranger_bytes(as_sim *s, const hs_addr *a, size_t len, bool to_it)
{
    as_checks *c = s->chk;
    int k = atk_stranger_index(a);
    if (k < 0) return;
    if (!to_it) {
        c->in[k] += len;
        return;
    }
    c->out[k] += len;
    c->st.reply_checks++;
    if (c->out[k] > c->in[k]) {
        char b[HS_ADDR_STRLEN];
        as_fail(s, "%llu bytes sent to stranger %s, which sent %llu", (unsigned long long)c->out[k],
                hs_addr_format(a, b, sizeof b), (unsigned long long)c->in[k]);
    }
}
