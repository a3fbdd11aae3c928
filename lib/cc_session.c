/* cc_session.c: the client sessions of the replicated configuration (exactly-once changes, the
 * Raft dissertation's section 6.3): the rules every seed applies and the leader checks before
 * it proposes, request fingerprints, tags in commands and seed changes, applying entries, and
 * the session table in snapshots. The rules are in cluster_config.h; docs/raft.md explains. */
#include <string.h>

#include <sodium.h>

#include "cc_internal.h"

#define TAG_BYTES 32 /* session, born, seq, floor */

bool hs_cc__tag_valid(const hs_cc_tag *t)
{
    return t->session != 0 && t->seq >= 1 && t->floor >= 1 && t->floor <= t->seq;
}

void hs_cc__put_tag(hs_writer *w, const hs_cc_tag *t)
{
    hs_put_u64(w, t->session);
    hs_put_u64(w, t->born);
    hs_put_u64(w, t->seq);
    hs_put_u64(w, t->floor);
}

bool hs_cc__get_tag(hs_reader *r, hs_cc_tag *t)
{
    t->session = hs_get_u64(r);
    t->born = hs_get_u64(r);
    t->seq = hs_get_u64(r);
    t->floor = hs_get_u64(r);
    if (!r->ok || !hs_cc__tag_valid(t)) r->ok = false;
    return r->ok;
}

void hs_cc_conf_set_tag(hs_raft_conf_change *cc, const hs_cc_tag *t)
{
    cc->tag_len = 0;
    if (!t->session) return;
    hs_writer w;
    hs_writer_init(&w, cc->tag, sizeof(cc->tag));
    hs_cc__put_tag(&w, t);
    if (w.ok) cc->tag_len = (uint8_t)w.len;
}

bool hs_cc_conf_get_tag(const hs_raft_conf_change *cc, hs_cc_tag *out)
{
    memset(out, 0, sizeof(*out));
    if (cc->tag_len != TAG_BYTES) return false;
    hs_reader r;
    hs_reader_init(&r, cc->tag, cc->tag_len);
    if (hs_cc__get_tag(&r, out)) return true;
    memset(out, 0, sizeof(*out));
    return false;
}

bool hs_cc_entry_tag(const hs_raft_entry *e, hs_cc_tag *out)
{
    memset(out, 0, sizeof(*out));
    if (e->type == HS_RAFT_ENTRY_NORMAL) {
        hs_cc_cmd cmd;
        if (hs_cc_cmd_decode(e->data, e->len, &cmd) != 0 || !cmd.tag.session) return false;
        *out = cmd.tag;
        return true;
    }
    if (e->type == HS_RAFT_ENTRY_CONF) {
        hs_raft_conf_change cc;
        return hs_raft_conf_change_decode(e->data, e->len, &cc) == 0 &&
               hs_cc_conf_get_tag(&cc, out);
    }
    return false;
}

/* ---- fingerprints and seed ids ---- */

static uint64_t hash8(uint8_t domain, const uint8_t *b, size_t n)
{
    crypto_generichash_state st;
    uint8_t h[8];
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, &domain, 1);
    crypto_generichash_update(&st, b, n);
    crypto_generichash_final(&st, h, sizeof(h));
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | h[i];
    return v;
}

uint64_t hs_cc_cmd_fingerprint(const hs_cc_cmd *cmd)
{
    hs_cc_cmd c = *cmd;
    memset(&c.tag, 0, sizeof(c.tag));
    uint8_t b[HS_CC_CMD_MAX];
    size_t n = hs_cc_cmd_encode(&c, b, sizeof(b));
    return hash8('M', b, n);
}

/* Of the request, not of the entry: a removal names only the seed, and its retry must match
 * after the seed (and so its address) is gone. */
uint64_t hs_cc_conf_fingerprint(const hs_raft_conf_change *cc)
{
    uint8_t b[128];
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, cc->op);
    hs_put_str8(&w, cc->peer.name, strnlen(cc->peer.name, HS_RAFT_NAME_MAX));
    if (cc->op == HS_RAFT_ADD_SEED) {
        hs_put_u8(&w, cc->peer.addr.family);
        hs_put_bytes(&w, cc->peer.addr.ip, 16);
        hs_put_u16(&w, cc->peer.addr.port);
    }
    return hash8('C', b, w.ok ? w.len : 0);
}

uint64_t hs_cc_seed_id(const char *name)
{
    uint8_t h[8];
    crypto_generichash(h, sizeof(h), (const uint8_t *)name, strlen(name), NULL, 0);
    uint64_t id = 0;
    for (int i = 0; i < 8; i++) id = id << 8 | h[i];
    id &= 0x7fffffffffffffffULL;
    return id ? id : 1;
}

/* ---- the rules ---- */

static hs_cc_session *find(const hs_cluster_config *c, uint64_t id)
{
    for (uint32_t i = 0; i < c->n_sessions; i++)
        if (c->sessions[i].id == id) return (hs_cc_session *)&c->sessions[i];
    return NULL;
}

bool hs_cc_session_check(const hs_cluster_config *c, const hs_cc_tag *t, uint64_t fp,
                         hs_cc_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->version = c->version;
    if (!hs_cc__tag_valid(t)) {
        out->rc = HS_CC_EINVAL;
        return false;
    }
    const hs_cc_session *s = find(c, t->session);
    if (!s) {
        /* new, unless it was born before the horizon: an evicted session stays refused */
        if (t->born >= c->sess_horizon && t->born <= c->sess_clock) return true;
        out->rc = HS_CC_ESTALE;
        return false;
    }
    if (t->seq < s->floor) {
        out->rc = HS_CC_ESTALE;
        return false;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        const hs_cc_answer *a = &s->answers[i];
        if (a->seq != t->seq) continue;
        if (a->fp != fp) {
            out->rc = HS_CC_ECONFLICT;
            return false;
        }
        out->rc = a->rc;
        out->version = a->version;
        out->duplicate = true;
        return false;
    }
    return true;
}

static void drop_answers_below(hs_cc_session *s)
{
    uint32_t k = 0;
    while (k < s->n && s->answers[k].seq < s->floor) k++;
    memmove(&s->answers[0], &s->answers[k], (s->n - k) * sizeof(s->answers[0]));
    s->n -= k;
}

/* The least recently used session goes; none of its requests may ever apply again. */
static void evict_lru(hs_cluster_config *c)
{
    uint32_t lru = 0;
    for (uint32_t i = 1; i < c->n_sessions; i++)
        if (c->sessions[i].last_use < c->sessions[lru].last_use) lru = i;
    if (c->sessions[lru].last_use + 1 > c->sess_horizon)
        c->sess_horizon = c->sessions[lru].last_use + 1;
    memmove(&c->sessions[lru], &c->sessions[lru + 1],
            (c->n_sessions - lru - 1) * sizeof(c->sessions[0]));
    c->n_sessions--;
}

/* Records the answer to a request that was just applied (rc: its result). */
static void record(hs_cluster_config *c, const hs_cc_tag *t, uint64_t fp, int rc)
{
    hs_cc_session *s = find(c, t->session);
    if (!s) {
        if (c->n_sessions >= HS_CC_MAX_SESSIONS) evict_lru(c);
        s = &c->sessions[c->n_sessions++];
        memset(s, 0, sizeof(*s));
        s->id = t->session;
        s->floor = t->floor;
    }
    s->last_use = ++c->sess_clock;
    if (t->floor > s->floor) {
        s->floor = t->floor;
        drop_answers_below(s);
    }
    if (s->n == HS_CC_SESSION_ANSWERS) {
        /* only a client ignoring its window gets here: the oldest answer is forgotten */
        s->floor = s->answers[0].seq + 1;
        drop_answers_below(s);
    }
    if (t->seq < s->floor) return;
    uint32_t at = s->n;
    while (at > 0 && s->answers[at - 1].seq > t->seq) at--;
    memmove(&s->answers[at + 1], &s->answers[at], (s->n - at) * sizeof(s->answers[0]));
    hs_cc_answer *a = &s->answers[at];
    memset(a, 0, sizeof(*a)); /* padding too: replicas compare equal byte for byte */
    a->seq = t->seq;
    a->version = c->version;
    a->fp = fp;
    a->rc = (int8_t)rc;
    s->n++;
}

static void apply_cmd(hs_cluster_config *c, const hs_cc_cmd *cmd, hs_cc_outcome *out)
{
    uint64_t fp = cmd->tag.session ? hs_cc_cmd_fingerprint(cmd) : 0;
    if (cmd->tag.session && !hs_cc_session_check(c, &cmd->tag, fp, out)) return;
    out->rc = hs_cc__apply_cmd(c, cmd);
    out->version = c->version;
    out->duplicate = false;
    if (cmd->tag.session) record(c, &cmd->tag, fp, out->rc);
}

int hs_cc_apply(hs_cluster_config *c, const hs_cc_cmd *cmd)
{
    hs_cc_outcome o;
    apply_cmd(c, cmd, &o);
    return o.rc;
}

/* Seed changes take effect in the Raft core as they commit, whatever the sessions say, so the
 * seed set here follows every committed change too (the leader checked the session before it
 * proposed it); the session records the answer, or reports what it already knew. */
static void apply_conf(hs_cluster_config *c, const hs_raft_conf_change *cc, hs_cc_outcome *out)
{
    hs_cc_tag t;
    bool tagged = hs_cc_conf_get_tag(cc, &t);
    uint64_t fp = tagged ? hs_cc_conf_fingerprint(cc) : 0;
    hs_cc_outcome known;
    bool fresh = !tagged || hs_cc_session_check(c, &t, fp, &known);
    out->rc = hs_cc__apply_conf(c, cc);
    out->version = c->version;
    out->duplicate = false;
    if (!fresh)
        *out = known;
    else if (tagged)
        record(c, &t, fp, out->rc);
}

int hs_cc_apply_raft_conf(hs_cluster_config *c, const hs_raft_conf_change *cc)
{
    hs_cc_outcome o;
    apply_conf(c, cc, &o);
    return o.rc;
}

int hs_cc_apply_entry(hs_cluster_config *c, const hs_raft_entry *e, hs_cc_outcome *out)
{
    *out = (hs_cc_outcome){.rc = HS_CC_EINVAL, .version = c->version};
    hs_cc_cmd cmd;
    hs_raft_conf_change cc;
    if (e->type == HS_RAFT_ENTRY_NOOP)
        out->rc = HS_CC_OK;
    else if (e->type == HS_RAFT_ENTRY_NORMAL && hs_cc_cmd_decode(e->data, e->len, &cmd) == 0)
        apply_cmd(c, &cmd, out);
    else if (e->type == HS_RAFT_ENTRY_CONF && hs_raft_conf_change_decode(e->data, e->len, &cc) == 0)
        apply_conf(c, &cc, out);
    return out->rc;
}

/* ---- the table in snapshots ---- */

void hs_cc__put_sessions(hs_writer *w, const hs_cluster_config *c)
{
    hs_put_u64(w, c->sess_clock);
    hs_put_u64(w, c->sess_horizon);
    hs_put_u16(w, (uint16_t)c->n_sessions);
    for (uint32_t i = 0; i < c->n_sessions; i++) {
        const hs_cc_session *s = &c->sessions[i];
        hs_put_u64(w, s->id);
        hs_put_u64(w, s->last_use);
        hs_put_u64(w, s->floor);
        if (s->n > HS_CC_SESSION_ANSWERS) w->ok = false;
        hs_put_u8(w, (uint8_t)s->n);
        for (uint32_t k = 0; k < s->n && k < HS_CC_SESSION_ANSWERS; k++) {
            hs_put_u64(w, s->answers[k].seq);
            hs_put_u64(w, s->answers[k].version);
            hs_put_u64(w, s->answers[k].fp);
            hs_put_u8(w, (uint8_t)-s->answers[k].rc);
        }
    }
}

static bool session_valid(const hs_cluster_config *c, const hs_cc_session *s)
{
    if (s->id == 0 || s->floor == 0 || s->last_use == 0 || s->last_use > c->sess_clock ||
        s->n > HS_CC_SESSION_ANSWERS)
        return false;
    for (uint32_t k = 0; k < s->n; k++) {
        const hs_cc_answer *a = &s->answers[k];
        if (a->seq < s->floor || (k > 0 && a->seq <= s->answers[k - 1].seq)) return false;
        if (a->rc > 0 || a->rc < HS_CC_EPERM) return false; /* what applying can answer */
    }
    return true;
}

bool hs_cc__get_sessions(hs_reader *r, hs_cluster_config *c)
{
    c->sess_clock = hs_get_u64(r);
    c->sess_horizon = hs_get_u64(r);
    c->n_sessions = hs_get_u16(r);
    if (!r->ok || c->n_sessions > HS_CC_MAX_SESSIONS || c->sess_horizon > c->sess_clock + 1)
        return false;
    for (uint32_t i = 0; i < c->n_sessions && r->ok; i++) {
        hs_cc_session *s = &c->sessions[i];
        s->id = hs_get_u64(r);
        s->last_use = hs_get_u64(r);
        s->floor = hs_get_u64(r);
        s->n = hs_get_u8(r);
        if (s->n > HS_CC_SESSION_ANSWERS) return false;
        for (uint32_t k = 0; k < s->n; k++) {
            s->answers[k].seq = hs_get_u64(r);
            s->answers[k].version = hs_get_u64(r);
            s->answers[k].fp = hs_get_u64(r);
            uint8_t neg = hs_get_u8(r);
            if (neg > (uint8_t)-HS_CC_EPERM) return false;
            s->answers[k].rc = (int8_t)-neg;
        }
        if (!r->ok || !session_valid(c, s)) return false;
        for (uint32_t j = 0; j < i; j++)
            if (c->sessions[j].id == s->id || c->sessions[j].last_use == s->last_use) return false;
    }
    return r->ok;
}
