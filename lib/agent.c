/* agent.c: one whole agent as a pure core (include/hearsay/agent.h): routes delivered payloads
 * to the membership node, the Raft node, the configuration client, the key ring and the
 * user-event core (agent_user.c), wires
 * their outputs into each other's inputs, and queues what the caller must send, publish,
 * answer, log and persist. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent_internal.h"
#include "hearsay/wire.h"

#define PUMP_ROUNDS 32 /* wiring rounds per input; each core's outputs feed the others */

/* ---- queues ---- */

/* Appends an item; begin() compacts what was taken (never here: a holding caller may still
 * use taken items, and their memory is freed only by begin()). */
static void *q_push(ag_queue *q)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        void *p = realloc(q->items, cap * q->size);
        if (!p) abort(); /* the cores abort on no memory too */
        q->items = p;
        q->cap = cap;
    }
    void *it = (char *)q->items + q->n++ * q->size;
    memset(it, 0, q->size);
    return it;
}

void *ag_push(ag_queue *q)
{
    return q_push(q);
}

static void *q_pop(ag_queue *q)
{
    if (q->read >= q->n) return NULL;
    return (char *)q->items + q->read++ * q->size;
}

/* Frees what the caller took since the last call (packets' and dones' owned memory), unless
 * the caller holds the agent (it may still be using them). */
static void begin(hs_agent *a, uint64_t now)
{
    if (now > a->now) a->now = now;
    if (a->held) return;
    for (size_t i = 0; i < a->packets.read; i++) free(((ag_packet *)a->packets.items)[i].data);
    if (a->packets.read) /* items may still be NULL: memmove wants pointers even for 0 bytes */
        memmove(a->packets.items, (ag_packet *)a->packets.items + a->packets.read,
                (a->packets.n - a->packets.read) * sizeof(ag_packet));
    a->packets.n -= a->packets.read;
    a->packets.read = 0;
    for (size_t i = 0; i < a->dones.read; i++) {
        free(((ag_done *)a->dones.items)[i].answers);
        free(((ag_done *)a->dones.items)[i].pending);
    }
    if (a->dones.read)
        memmove(a->dones.items, (ag_done *)a->dones.items + a->dones.read,
                (a->dones.n - a->dones.read) * sizeof(ag_done));
    a->dones.n -= a->dones.read;
    a->dones.read = 0;
    ag_user_begin(&a->events, true);
    ag_user_begin(&a->replies, false);
    if (a->notice_read == a->nnotices) a->notice_read = a->nnotices = 0;
}

void ag_queue_packet(hs_agent *a, const hs_addr *to, const uint8_t *data, size_t len, bool stream)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) abort();
    if (len) memcpy(copy, data, len);
    ag_packet *p = q_push(&a->packets);
    *p = (ag_packet){*to, copy, len, stream};
}

void ag_notice(hs_agent *a, int level, const char *fmt, ...)
{
    if (a->nnotices >= AG_NOTICES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->notices[a->nnotices], AG_NOTICE_LEN, fmt, ap);
    va_end(ap);
    a->notice_level[a->nnotices++] = level;
}

/* ---- events ---- */

static void publish_member(hs_agent *a, const hs_event *ev)
{
    int kind = hs_event_kind_of_member(ev->type);
    if (kind < 0) return;
    hs_agent_event *e = q_push(&a->events);
    e->kind = (hs_event_kind)kind;
    snprintf(e->name, sizeof(e->name), "%s", ev->name);
    e->addr = ev->addr;
    e->status = ev->status;
    e->prev_status = ev->prev_status;
    e->incarnation = ev->incarnation;
    e->config_version = ev->config_version;
    hs_member_info mi;
    if (hs_node_find(a->node, ev->name, &mi) && mi.tags.len <= sizeof(e->tags_data)) {
        if (mi.tags.len) memcpy(e->tags_data, mi.tags.data, mi.tags.len);
        e->tags.len = mi.tags.len;
    }
    if (kind != HS_EVK_MEMBER_SUSPECT && kind != HS_EVK_MEMBER_ALIVE)
        a->persist |= HS_AGENT_SAVE_MEMBERS;
}

void ag_config_changed(hs_agent *a, const char *src, const hs_addr *addr)
{
    hs_node_set_config_version(a->node, a->cc->version); /* rides on every Ping from now on */
    if (hs_kr_config(a->kr, a->now, a->cc)) {
        a->persist |= HS_AGENT_SAVE_KEYRING;
        char h[2 * HS_ENV_KEY_ID_BYTES + 1];
        sodium_bin2hex(h, sizeof(h), a->env->key_ids[0], HS_ENV_KEY_ID_BYTES);
        ag_notice(a, HS_AGENT_INFO,
                  "key ring changed (configuration version %llu): %zu key(s), primary %s",
                  (unsigned long long)a->cc->version, a->env->key_count, h);
    }
    if (!a->seed) a->persist |= HS_AGENT_SAVE_CONFIG;
    ag_operator_apply(a, true);
    a->node_dirty = true;
    hs_agent_event *e = q_push(&a->events);
    e->kind = HS_EVK_CONFIG_CHANGE;
    snprintf(e->name, sizeof(e->name), "%s", src);
    e->addr = *addr;
    e->status = e->prev_status = HS_ALIVE;
    e->config_version = a->cc->version;
}

/* ---- wiring ---- */

hs_cfgc *ag_cfgc(hs_agent *a)
{
    hs_cfgc_attach_raft(a->cfgc, a->raft_failed ? NULL : a->raft, a->applied);
    return a->cfgc;
}

/* We are the newer claimant of our name: the caller stops the process. */
static void name_taken(hs_agent *a)
{
    hs_addr other;
    char b[HS_ADDR_STRLEN];
    if (a->stop_why[0] || !hs_node_stopped(a->node, &other)) return;
    snprintf(a->stop_why, sizeof(a->stop_why),
             "name conflict: the agent at %s answers for our name %s and the cluster holds it "
             "there; this agent (the newer claimant) stops: give it another --name, or stop "
             "the other one first",
             hs_addr_format(&other, b, sizeof(b)), a->name);
    ag_notice(a, HS_AGENT_ERR, "%s", a->stop_why);
}

static void drain_node(hs_agent *a)
{
    a->node_dirty = false;
    hs_packet p;
    while (hs_node_next_packet(a->node, &p)) ag_queue_packet(a, &p.to, p.data, p.len, p.stream);
    hs_event ev;
    while (hs_node_next_event(a->node, &ev)) {
        if (ev.type == HS_EV_INCARNATION) {
            a->incarnation = ev.incarnation;
            a->persist |= HS_AGENT_SAVE_INCARNATION;
        } else if (ev.type == HS_EV_CONFIG_SEEN) {
            hs_cfgc_version_seen(ag_cfgc(a), a->now, &ev.addr, ev.config_version);
        } else {
            publish_member(a, &ev);
            if (ev.type == HS_EV_CONFLICT && !strcmp(ev.name, a->name)) name_taken(a);
        }
    }
}

/* The name of the member at addr, or "". */
static const char *name_at(const hs_agent *a, const hs_addr *addr)
{
    hs_member_info mi;
    size_t total = hs_node_member_count(a->node);
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(a->node, i, &mi) && hs_addr_equal(&mi.addr, addr)) return mi.name;
    return "";
}

/* A rotation's configuration operation ended: tell the key ring. */
static bool rotation_op_done(hs_agent *a, const hs_cfgc_done *d);

/* Fetches and the answers without a configuration (sent every 5 s by every member to keep
 * its leader hint fresh) travel as datagrams in a keyed cluster (hs_cfgc_msg.datagram_ok);
 * whatever carries the configuration, forwarded changes and everything of an unkeyed cluster
 * take the streams. */
static bool fetch_type(uint8_t t)
{
    return t == HS_MSG_CONFIG_FETCH || t == HS_MSG_CONFIG_FETCH_RESP;
}

static bool cfgc_datagram(const hs_agent *a, const hs_cfgc_msg *m)
{
    return a->env->key_count > 0 && m->datagram_ok && m->len <= HS_PACKET_MAX;
}

static bool drain_cfgc(hs_agent *a)
{
    bool progress = false;
    hs_cfgc_msg m;
    while (hs_cfgc_next_msg(a->cfgc, &m))
        ag_queue_packet(a, &m.to, m.data, m.len, !cfgc_datagram(a, &m));
    hs_cfgc_done done;
    while (hs_cfgc_next_done(a->cfgc, &done)) {
        if (rotation_op_done(a, &done)) {
            progress = true;
        } else {
            ag_done *d = q_push(&a->dones);
            d->d.op = done.op;
            d->d.what = HS_AGENT_DONE_CONFIG;
            d->d.config = done;
        }
        sodium_memzero(done.value, sizeof(done.value));
    }
    hs_addr from;
    if (hs_cfgc_take_installed(a->cfgc, &from)) {
        char b[HS_ADDR_STRLEN];
        ag_notice(a, HS_AGENT_INFO, "installed cluster configuration version %llu from %s",
                  (unsigned long long)a->cc->version, hs_addr_format(&from, b, sizeof(b)));
        ag_config_changed(a, name_at(a, &from), &from);
        progress = true;
    }
    if (hs_cfgc_take_raft_work(a->cfgc)) progress = true;
    return progress;
}

/* The members a survey asks: alive or suspect, not ourselves. */
static size_t live_members(const hs_agent *a, hs_kr_member **out)
{
    size_t total = hs_node_member_count(a->node), n = 0;
    hs_kr_member *m = calloc(total ? total : 1, sizeof(*m));
    if (!m) abort();
    hs_member_info mi;
    for (size_t i = 0; i < total; i++) {
        if (!hs_node_member_at(a->node, i, &mi) || mi.is_self) continue;
        if (mi.status != HS_ALIVE && mi.status != HS_SUSPECT) continue;
        snprintf(m[n].name, sizeof(m[n].name), "%s", mi.name);
        m[n++].addr = mi.addr;
    }
    *out = m;
    return n;
}

static bool rotation_op_done(hs_agent *a, const hs_cfgc_done *d)
{
    for (size_t i = 0; i < AG_ROT_OPS; i++) {
        if (a->rot_ops[i].cfgc_op != d->op) continue;
        uint64_t rot = a->rot_ops[i].rotation;
        a->rot_ops[i].cfgc_op = a->rot_ops[i].rotation = 0;
        hs_kr_member *m;
        size_t n = live_members(a, &m);
        const char *why = d->result == HS_CFGC_NOTLEADER ? "no Raft leader reachable"
                          : d->result == HS_CFGC_TIMEOUT ? "not committed in time"
                          : d->result == HS_CFGC_BUSY    ? "a seed change is pending"
                                                         : "refused by the configuration";
        hs_kr_op_done(a->kr, a->now, rot, d->result == HS_CFGC_OK, why, d->version, m, n);
        free(m);
        return true;
    }
    return false;
}

/* Copies answers (valid only until the next call into the key ring) into memory of ours. */
static hs_kr_answer *copy_answers(const hs_kr_answer *src, size_t n)
{
    hs_kr_answer *c = calloc(n ? n : 1, sizeof(*c));
    if (!c) abort();
    if (n) memcpy(c, src, n * sizeof(*c));
    return c;
}

static bool drain_kr(hs_agent *a)
{
    bool progress = false;
    hs_kr_packet p;
    while (hs_kr_next_packet(a->kr, &p)) ag_queue_packet(a, &p.to, p.data, p.len, false);
    hs_kr_op op;
    while (hs_kr_next_op(a->kr, &op)) {
        char b64[HS_ENV_KEY_B64_LEN + 1];
        hs_env_key_encode(op.key, b64, sizeof(b64));
        int kind = op.step == HS_KR_INSTALL ? HS_CFGC_KEY_INSTALL
                   : op.step == HS_KR_USE   ? HS_CFGC_KEY_USE
                                            : HS_CFGC_KEY_REMOVE;
        size_t slot = AG_ROT_OPS;
        for (size_t i = 0; i < AG_ROT_OPS && slot == AG_ROT_OPS; i++)
            if (!a->rot_ops[i].cfgc_op) slot = i;
        if (slot < AG_ROT_OPS) {
            a->rot_ops[slot].rotation = op.rotation;
            a->rot_ops[slot].cfgc_op = hs_cfgc_start(ag_cfgc(a), a->now, kind, "keys", b64, NULL);
        } else {
            hs_kr_op_done(a->kr, a->now, op.rotation, false, "too many rotations", 0, NULL, 0);
        }
        sodium_memzero(b64, sizeof(b64));
        sodium_memzero(&op, sizeof(op));
        progress = true;
    }
    hs_kr_survey_done sd;
    while (hs_kr_next_survey_done(a->kr, &sd)) {
        ag_done *d = q_push(&a->dones);
        d->answers = copy_answers(sd.members, sd.n);
        d->d.op = sd.id;
        d->d.what = HS_AGENT_DONE_SURVEY;
        d->d.survey = sd;
        d->d.survey.members = d->answers;
    }
    hs_kr_rotation_done rd;
    while (hs_kr_next_rotation_done(a->kr, &rd)) {
        ag_done *d = q_push(&a->dones);
        d->answers = copy_answers(rd.pending, rd.n_pending);
        d->d.op = rd.id;
        d->d.what = HS_AGENT_DONE_ROTATE;
        d->d.rotation = rd;
        d->d.rotation.pending = d->answers;
    }
    uint8_t from[HS_ENV_KEY_ID_BYTES], to[HS_ENV_KEY_ID_BYTES];
    if (hs_kr_take_followed(a->kr, from, to)) {
        char f[9], t[9];
        sodium_bin2hex(f, sizeof(f), from, sizeof(from));
        sodium_bin2hex(t, sizeof(t), to, sizeof(to));
        ag_notice(a, HS_AGENT_WARN,
                  "more senders seal under key %s of our ring than under our primary %s: "
                  "sealing with %s until the cluster configuration says otherwise",
                  t, f, t);
    }
    return progress;
}

/* Runs the wiring until no core has anything for another. */
static void pump(hs_agent *a)
{
    for (int round = 0; round < PUMP_ROUNDS; round++) {
        drain_node(a);
        if (a->raft && !a->raft_failed) ag_raft_drive(a);
        bool progress = drain_cfgc(a);
        progress |= drain_kr(a);
        if (!progress && !a->node_dirty) break;
    }
    ag_user_drain(a);
}

/* ---- life cycle ---- */

hs_agent *hs_agent_new(const hs_agent_cfg *cfg, uint64_t now_ms, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    *why = NULL;
    hs_agent *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->now = now_ms;
    a->packets.size = sizeof(ag_packet);
    a->events.size = sizeof(ag_event);
    a->dones.size = sizeof(ag_done);
    a->replies.size = sizeof(ag_reply);
    a->env = cfg->env;
    a->incarnation = cfg->incarnation;
    a->compact_every = cfg->compact_every ? cfg->compact_every : HS_AGENT_COMPACT_EVERY;
    snprintf(a->name, sizeof(a->name), "%s", cfg->node.name);
    a->base = cfg->node;
    a->base_profile = a->profile = cfg->profile;
    a->spread_rng = cfg->rng_seed ^ 0x737072656164ULL;
    a->n_seeds = cfg->n_seeds < HS_AGENT_SEEDS_MAX ? cfg->n_seeds : HS_AGENT_SEEDS_MAX;
    if (a->n_seeds) memcpy(a->seeds, cfg->seeds, a->n_seeds * sizeof(a->seeds[0]));
    for (size_t i = 0; i < a->n_seeds; i++)
        if (!strcmp(a->seeds[i].name, cfg->node.name)) a->seed = true;
    a->cc = malloc(sizeof(*a->cc));
    if (!a->cc) goto fail;
    hs_cc_init(a->cc);
    if (!a->seed && cfg->saved) memcpy(a->cc, cfg->saved, sizeof(*a->cc));
    a->node = hs_node_new(&cfg->node, cfg->tags, cfg->incarnation, now_ms, cfg->rng_seed);
    if (!a->node) {
        *why = "cannot create the membership node (bad name, address or tags?)";
        goto fail;
    }
    hs_node_set_config_version(a->node, a->cc->version);
    a->ue = ag_user_start(a, cfg, now_ms);
    if (!a->ue) goto fail;
    a->kr = hs_kr_new(a->env, now_ms, cfg->rng_seed ^ 0x6b6579726e67ULL);
    hs_cfgc_cfg cc;
    memset(&cc, 0, sizeof(cc));
    cc.rng_seed = cfg->rng_seed ^ 0x63666763ULL;
    cc.seed = a->seed;
    cc.n_seeds = a->n_seeds;
    if (a->n_seeds) memcpy(cc.seeds, a->seeds, a->n_seeds * sizeof(cc.seeds[0]));
    a->cfgc = hs_cfgc_new(&cc, a->cc, now_ms);
    if (!a->kr || !a->cfgc) goto fail;
    if (a->seed && ag_raft_start(a, cfg, why) != 0) goto fail;
    if (a->cc->version) hs_kr_config(a->kr, now_ms, a->cc);
    ag_operator_apply(a, false); /* the saved or restored configuration's settings */
    a->spread_version = a->cc->version;
    pump(a);
    return a;
fail:
    hs_agent_free(a);
    return NULL;
}

void hs_agent_free(hs_agent *a)
{
    if (!a) return;
    begin(a, a->now);
    for (size_t i = 0; i < a->packets.n; i++) free(((ag_packet *)a->packets.items)[i].data);
    for (size_t i = 0; i < a->dones.n; i++) {
        free(((ag_done *)a->dones.items)[i].answers);
        free(((ag_done *)a->dones.items)[i].pending);
    }
    a->events.read = a->events.n;
    a->replies.read = a->replies.n;
    ag_user_begin(&a->events, true);
    ag_user_begin(&a->replies, false);
    free(a->packets.items);
    free(a->events.items);
    free(a->dones.items);
    free(a->replies.items);
    hs_ue_free(a->ue);
    hs_raft_free(a->raft);
    hs_cfgc_free(a->cfgc);
    hs_kr_free(a->kr);
    hs_node_free(a->node);
    if (a->cc) sodium_memzero(a->cc, sizeof(*a->cc));
    free(a->cc);
    free(a);
}

/* ---- inputs ---- */

void hs_agent_receive(hs_agent *a, uint64_t now_ms, const hs_addr *from, const uint8_t *data,
                      size_t len, bool stream, const hs_ch_sender *who)
{
    begin(a, now_ms);
    if (!len) return;
    if (who) hs_kr_opened(a->kr, who->instance, who->key);
    uint8_t t = data[0];
    if (hs_msg_is_membership(t)) {
        hs_node_receive(a->node, a->now, from, data, len, stream);
    } else if (hs_msg_is_raft(t) && (stream || who)) { /* datagrams: keyed rings only */
        if (a->raft && !a->raft_failed) {
            hs_raft_msg m;
            if (hs_raft_msg_decode(data, len, &m) == 0) {
                hs_raft_step(a->raft, a->now, &m);
                hs_raft_msg_release(&m);
            }
        }
    } else if (t == HS_MSG_KEYS_QUERY || t == HS_MSG_KEYS_STATE) {
        hs_kr_receive(a->kr, a->now, from, data, len);
    } else if (hs_msg_is_config(t) && (stream || (who && fetch_type(t)))) {
        hs_cfgc_receive(ag_cfgc(a), a->now, from, data, len);
    } else if (hs_msg_is_user(t)) {
        hs_ue_receive(a->ue, a->now, from, data, len, stream);
    }
    pump(a);
}

size_t hs_agent_stream_peers(const hs_agent *a, hs_addr *out, size_t max)
{
    if (!a->raft || a->raft_failed) return 0;
    const hs_raft_conf *conf = hs_raft_get_conf(a->raft);
    uint64_t self = hs_raft_id(a->raft);
    size_t n = 0;
    for (uint32_t i = 0; i < conf->n && n < max; i++)
        if (conf->peers[i].id != self) out[n++] = conf->peers[i].addr;
    return n;
}

void hs_agent_peer_lost(hs_agent *a, uint64_t now_ms, const hs_addr *addr)
{
    begin(a, now_ms);
    if (!a->raft || a->raft_failed) return;
    const hs_raft_conf *conf = hs_raft_get_conf(a->raft);
    for (uint32_t i = 0; i < conf->n; i++)
        if (hs_addr_equal(&conf->peers[i].addr, addr)) {
            if (conf->peers[i].id == hs_raft_leader(a->raft))
                ag_notice(a, HS_AGENT_INFO, "raft: the leader's stream ended; electing now");
            hs_raft_leader_lost(a->raft, a->now, conf->peers[i].id);
        }
    pump(a);
}

void hs_agent_tick(hs_agent *a, uint64_t now_ms)
{
    begin(a, now_ms);
    hs_node_tick(a->node, a->now);
    if (a->raft && !a->raft_failed) ag_raft_tick(a);
    hs_cfgc_tick(ag_cfgc(a), a->now);
    hs_kr_tick(a->kr, a->now);
    hs_ue_tick(a->ue, a->now);
    pump(a);
}

static uint64_t min_nonzero(uint64_t x, uint64_t y)
{
    if (!x) return y;
    if (!y) return x;
    return x < y ? x : y;
}

void hs_agent_hold(hs_agent *a, bool hold)
{
    a->held = hold;
}

uint64_t hs_agent_next_deadline(const hs_agent *a)
{
    uint64_t d = hs_node_next_deadline(a->node);
    if (a->raft && !a->raft_failed) d = min_nonzero(d, hs_raft_next_deadline(a->raft));
    d = min_nonzero(d, hs_cfgc_next_deadline(a->cfgc));
    d = min_nonzero(d, hs_kr_next_deadline(a->kr));
    d = min_nonzero(d, hs_ue_next_deadline(a->ue));
    return d;
}

void hs_agent_join(hs_agent *a, uint64_t now_ms, const hs_addr *addrs, size_t n)
{
    begin(a, now_ms);
    hs_node_join(a->node, a->now, addrs, n);
    pump(a);
}

void hs_agent_leave(hs_agent *a, uint64_t now_ms)
{
    begin(a, now_ms);
    hs_node_leave(a->node, a->now);
    pump(a);
}

long hs_agent_reachability(hs_agent *a, uint64_t now_ms)
{
    begin(a, now_ms);
    long rc = hs_node_reachability_start(a->node, a->now);
    pump(a);
    return rc;
}

int hs_agent_set_tags(hs_agent *a, uint64_t now_ms, hs_tags tags)
{
    begin(a, now_ms);
    int rc = hs_node_set_tags(a->node, a->now, tags);
    pump(a);
    return rc;
}

uint64_t hs_agent_config_op(hs_agent *a, uint64_t now_ms, int kind, const char *key,
                            const char *value, const char *idem)
{
    begin(a, now_ms);
    uint64_t op = hs_cfgc_start(ag_cfgc(a), a->now, kind, key, value, idem);
    pump(a);
    return op;
}

uint64_t hs_agent_keys_survey(hs_agent *a, uint64_t now_ms, bool change, bool admin,
                              uint64_t wait_ms)
{
    begin(a, now_ms);
    hs_kr_member *m;
    size_t n = live_members(a, &m);
    uint64_t id = hs_kr_survey(a->kr, a->now, m, n, change, admin, wait_ms);
    free(m);
    if (id) hs_kr_tick(a->kr, a->now); /* the first round goes out now */
    pump(a);
    return id;
}

uint64_t hs_agent_keys_rotate(hs_agent *a, uint64_t now_ms, const uint8_t key[HS_ENV_KEY_BYTES],
                              uint64_t wait_ms)
{
    begin(a, now_ms);
    hs_kr_member *m;
    size_t n = live_members(a, &m);
    uint64_t id = hs_kr_rotate(a->kr, a->now, key, wait_ms, m, n);
    free(m);
    if (id) hs_kr_tick(a->kr, a->now);
    pump(a);
    return id;
}

uint64_t hs_agent_fire(hs_agent *a, uint64_t now_ms, const char *name, const uint8_t *payload,
                       size_t len, bool coalesce, uint64_t wait_ms, int *err)
{
    begin(a, now_ms);
    uint64_t op = hs_ue_fire(a->ue, a->now, name, payload, len, coalesce, wait_ms, err);
    pump(a);
    return op;
}

uint64_t hs_agent_query(hs_agent *a, uint64_t now_ms, const hs_ue_query_spec *q, int *err)
{
    begin(a, now_ms);
    uint64_t op = hs_ue_query(a->ue, a->now, q, err);
    pump(a);
    return op;
}

int hs_agent_query_respond(hs_agent *a, uint64_t now_ms, uint64_t ref, const uint8_t *payload,
                           size_t len, bool no_handler)
{
    begin(a, now_ms);
    int rc = hs_ue_respond(a->ue, a->now, ref, payload, len, no_handler);
    pump(a);
    return rc;
}

/* ---- outputs ---- */

bool hs_agent_next_packet(hs_agent *a, hs_agent_packet *out)
{
    ag_packet *p = q_pop(&a->packets);
    if (!p) return false;
    *out = (hs_agent_packet){p->to, p->data, p->len, p->stream};
    return true;
}

bool hs_agent_next_event(hs_agent *a, hs_agent_event *out)
{
    ag_event *e = q_pop(&a->events);
    if (!e) return false;
    *out = e->e;
    out->tags.data = out->tags_data;
    return true;
}

bool hs_agent_next_done(hs_agent *a, hs_agent_done *out)
{
    ag_done *d = q_pop(&a->dones);
    if (!d) return false;
    *out = d->d;
    return true;
}

bool hs_agent_next_reply(hs_agent *a, hs_agent_reply *out)
{
    ag_reply *r = q_pop(&a->replies);
    if (!r) return false;
    *out = r->r;
    return true;
}

bool hs_agent_next_notice(hs_agent *a, int *level, const char **text)
{
    if (a->notice_read >= a->nnotices) return false;
    *level = a->notice_level[a->notice_read];
    *text = a->notices[a->notice_read++];
    return true;
}

unsigned hs_agent_take_persist(hs_agent *a)
{
    unsigned p = a->persist;
    a->persist = 0;
    return p;
}

/* ---- state ---- */

const hs_node *hs_agent_node(const hs_agent *a)
{
    return a->node;
}

const hs_raft *hs_agent_raft(const hs_agent *a)
{
    return a->raft_failed ? NULL : a->raft;
}

const hs_cluster_config *hs_agent_config(const hs_agent *a)
{
    return a->cc;
}

uint32_t hs_agent_incarnation(const hs_agent *a)
{
    return a->incarnation;
}

uint64_t hs_agent_applied(const hs_agent *a)
{
    return a->applied;
}

bool hs_agent_is_seed(const hs_agent *a)
{
    return a->seed;
}

bool hs_agent_raft_failed(const hs_agent *a)
{
    return a->raft_failed;
}

const char *hs_agent_leader(const hs_agent *a, uint64_t now_ms)
{
    hs_cfgc_attach_raft(a->cfgc, a->raft_failed ? NULL : a->raft, a->applied);
    return hs_cfgc_leader(a->cfgc, now_ms);
}

const hs_cfgc_stats *hs_agent_cfgc_stats(const hs_agent *a)
{
    return hs_cfgc_get_stats(a->cfgc);
}

uint64_t hs_agent_user_horizon(const hs_agent *a)
{
    return hs_ue_horizon(a->ue);
}

uint64_t hs_agent_user_clock(const hs_agent *a)
{
    return hs_ue_clock(a->ue);
}

const hs_ue_stats *hs_agent_ue_stats(const hs_agent *a)
{
    return hs_ue_get_stats(a->ue);
}
