/* keyring.c: the key-ring core (include/hearsay/keyring.h): the envelope's ring follows the
 * configuration, following the key proven senders use, surveys of the members' rings, and
 * rotation as install, use and remove, each acknowledged by every member before the next. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hearsay/codec.h"
#include "hearsay/keyring.h"
#include "hearsay/wire.h"
#include "prng.h"

#define PKT_MAX  64 /* bytes of a query or an answer */
#define SEND_MAX (2 * HS_KR_MEMBERS_MAX)

typedef struct kr_pkt {
    hs_addr to;
    uint8_t data[PKT_MAX];
    size_t len;
} kr_pkt;

typedef struct kr_peer {
    hs_kr_answer a;
    hs_addr addr;
} kr_peer;

enum { SV_FREE = 0, SV_RUNNING, SV_FINISHED, SV_TAKEN };

typedef struct kr_survey {
    int state;
    uint64_t id, rid, rotation; /* rotation: the one it belongs to (0: a caller's) */
    bool change, admin;
    uint64_t t0, end_ms, deadline, next_send;
    size_t n;
    kr_peer *p;
    hs_kr_answer *answers; /* handed out when finished */
} kr_survey;

typedef struct kr_rotation {
    int state; /* SV_* */
    uint64_t id;
    int step, done_step; /* step in progress; last committed step */
    bool waiting_op;
    uint8_t key[HS_ENV_KEY_BYTES];
    uint8_t new_id[HS_ENV_KEY_ID_BYTES];
    uint64_t t0, end_ms, wait_ms, version;
    uint32_t removed;
    bool ok;
    char why[96];
    size_t members, acked, n_pending;
    bool self_pending;
    hs_kr_answer *pending;
} kr_rotation;

struct follow_step {
    uint32_t opened[HS_ENV_KEYS_MAX];
    uint8_t nsenders[HS_ENV_KEYS_MAX];
    uint64_t senders[HS_ENV_KEYS_MAX][HS_KR_FOLLOW_SENDERS];
};

struct hs_keyring {
    hs_envelope *env;
    hs_prng rng;
    uint64_t next_id;
    /* the configuration's ring */
    hs_kr_ring cfg_ring;
    uint32_t cfg_n, cfg_primary;
    uint8_t cfg_keys[HS_CC_MAX_KEYS][HS_CC_KEY_BYTES];
    uint64_t cfg_version;
    /* following */
    uint64_t window_start;
    unsigned step;
    struct follow_step steps[HS_KR_FOLLOW_STEPS];
    bool followed;
    uint8_t fol_from[HS_ENV_KEY_ID_BYTES], fol_to[HS_ENV_KEY_ID_BYTES];
    /* surveys and rotations */
    kr_survey sv[HS_KR_SURVEYS_MAX];
    kr_rotation rot[HS_KR_ROTATIONS_MAX];
    hs_kr_op ops[HS_KR_ROTATIONS_MAX];
    size_t nops;
    /* outputs */
    kr_pkt *out;
    size_t nout, out_read, out_cap;
};

/* ---- rings ---- */

void hs_kr_ring_of_env(const hs_envelope *e, hs_kr_ring *out)
{
    out->n = (uint8_t)e->key_count;
    memcpy(out->ids, e->key_ids, sizeof(out->ids[0]) * e->key_count);
}

void hs_kr_ring_of_config(const hs_cluster_config *c, hs_kr_ring *out)
{
    out->n = 0;
    if (c->n_keys == 0) return;
    hs_env_key_id(c->keys[c->primary_key], out->ids[out->n++]);
    for (uint32_t i = 0; i < c->n_keys && out->n < HS_ENV_KEYS_MAX; i++)
        if (i != c->primary_key) hs_env_key_id(c->keys[i], out->ids[out->n++]);
}

bool hs_kr_ring_equal(const hs_kr_ring *a, const hs_kr_ring *b)
{
    if (a->n != b->n || (a->n && memcmp(a->ids[0], b->ids[0], HS_ENV_KEY_ID_BYTES) != 0))
        return false;
    for (uint8_t i = 1; i < a->n; i++) {
        bool found = false;
        for (uint8_t j = 1; j < b->n && !found; j++)
            found = !memcmp(a->ids[i], b->ids[j], HS_ENV_KEY_ID_BYTES);
        if (!found) return false;
    }
    return true;
}

/* ---- life cycle ---- */

hs_keyring *hs_kr_new(hs_envelope *env, uint64_t now_ms, uint64_t rng_seed)
{
    hs_keyring *k = calloc(1, sizeof(*k));
    if (!k) return NULL;
    k->env = env;
    k->rng.s = rng_seed;
    k->window_start = now_ms;
    return k;
}

static void survey_release(kr_survey *s)
{
    free(s->p);
    free(s->answers);
    memset(s, 0, sizeof(*s));
}

static void rotation_release(kr_rotation *r)
{
    free(r->pending);
    sodium_memzero(r->key, sizeof(r->key));
    memset(r, 0, sizeof(*r));
}

void hs_kr_free(hs_keyring *k)
{
    if (!k) return;
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++) survey_release(&k->sv[i]);
    for (size_t i = 0; i < HS_KR_ROTATIONS_MAX; i++) rotation_release(&k->rot[i]);
    sodium_memzero(k->cfg_keys, sizeof(k->cfg_keys));
    sodium_memzero(k->ops, sizeof(k->ops));
    free(k->out);
    free(k);
}

/* Every call into the core starts here: outputs taken are released. */
static void begin(hs_keyring *k)
{
    k->nout = k->out_read = 0;
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++)
        if (k->sv[i].state == SV_TAKEN) survey_release(&k->sv[i]);
    for (size_t i = 0; i < HS_KR_ROTATIONS_MAX; i++)
        if (k->rot[i].state == SV_TAKEN) rotation_release(&k->rot[i]);
}

static void emit(hs_keyring *k, const hs_addr *to, const hs_writer *w)
{
    if (!w->ok || k->nout >= SEND_MAX) return;
    if (k->nout == k->out_cap) {
        size_t cap = k->out_cap ? k->out_cap * 2 : 16;
        kr_pkt *o = realloc(k->out, cap * sizeof(*o));
        if (!o) return;
        k->out = o;
        k->out_cap = cap;
    }
    kr_pkt *p = &k->out[k->nout++];
    p->to = *to;
    memcpy(p->data, w->buf, w->len);
    p->len = w->len;
}

bool hs_kr_next_packet(hs_keyring *k, hs_kr_packet *out)
{
    if (k->out_read >= k->nout) return false;
    kr_pkt *p = &k->out[k->out_read++];
    out->to = p->to;
    out->data = p->data;
    out->len = p->len;
    return true;
}

/* ---- the ring follows the configuration ---- */

static void follow_reset(hs_keyring *k, uint64_t now)
{
    memset(k->steps, 0, sizeof(k->steps));
    k->step = 0;
    k->window_start = now;
}

bool hs_kr_config(hs_keyring *k, uint64_t now_ms, const hs_cluster_config *c)
{
    begin(k);
    k->cfg_version = c->version;
    hs_kr_ring_of_config(c, &k->cfg_ring);
    k->cfg_n = c->n_keys;
    k->cfg_primary = c->primary_key;
    memcpy(k->cfg_keys, c->keys, sizeof(k->cfg_keys));
    if (k->env->insecure || c->n_keys == 0) return false;
    hs_kr_ring have;
    hs_kr_ring_of_env(k->env, &have);
    if (hs_kr_ring_equal(&k->cfg_ring, &have)) return false;
    hs_envelope e;
    if (hs_env_init(&e, k->env->cluster, false) != 0) return false;
    hs_env_add_key(&e, c->keys[c->primary_key]);
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (i != c->primary_key) hs_env_add_key(&e, c->keys[i]);
    hs_env_clear(k->env);
    memcpy(k->env, &e, sizeof(e));
    sodium_memzero(&e, sizeof(e));
    follow_reset(k, now_ms); /* indexes in the ring mean other keys now */
    return true;
}

/* ---- following ---- */

static void note_sender(struct follow_step *st, size_t key, uint64_t instance)
{
    for (uint8_t j = 0; j < st->nsenders[key]; j++)
        if (st->senders[key][j] == instance) return;
    if (st->nsenders[key] < HS_KR_FOLLOW_SENDERS) st->senders[key][st->nsenders[key]++] = instance;
}

void hs_kr_opened(hs_keyring *k, uint64_t instance, size_t key)
{
    if (k->env->insecure || key >= k->env->key_count) return;
    struct follow_step *st = &k->steps[k->step];
    st->opened[key]++;
    note_sender(st, key, instance);
}

/* Messages and distinct senders under key over the window. */
static void follow_totals(const hs_keyring *k, size_t key, uint32_t *opened, uint32_t *senders)
{
    struct follow_step all;
    all.nsenders[key] = 0;
    *opened = 0;
    for (unsigned s = 0; s < HS_KR_FOLLOW_STEPS; s++) {
        *opened += k->steps[s].opened[key];
        for (uint8_t j = 0; j < k->steps[s].nsenders[key]; j++)
            note_sender(&all, key, k->steps[s].senders[key][j]);
    }
    *senders = all.nsenders[key];
}

/* Following moves the way rotations do: only to a key the configuration installed after its
 * primary, never back to one a "use" demoted (members that have not applied the "use" yet
 * still seal under it, and its removal comes next). Without a ring in the configuration, any
 * key of ours. */
static bool may_follow(const hs_keyring *k, const uint8_t *key)
{
    if (!k->cfg_n) return true;
    for (uint32_t i = k->cfg_primary + 1; i < k->cfg_n; i++)
        if (!memcmp(k->cfg_keys[i], key, HS_ENV_KEY_BYTES)) return true;
    return false;
}

static void follow_tick(hs_keyring *k, uint64_t now)
{
    if (now < k->window_start + HS_KR_FOLLOW_STEP_MS) return;
    size_t nk = k->env->key_count, best = 0;
    uint32_t opened[HS_ENV_KEYS_MAX] = {0}, senders[HS_ENV_KEYS_MAX] = {0};
    for (size_t i = 0; i < nk; i++) follow_totals(k, i, &opened[i], &senders[i]);
    for (size_t i = 1; i < nk; i++)
        if (may_follow(k, k->env->keys[i]) &&
            (senders[i] > senders[best] ||
             (senders[i] == senders[best] && opened[i] > opened[best])))
            best = i;
    if (best != 0 && senders[best] > 2 * senders[0] &&
        (opened[best] >= HS_KR_FOLLOW_MIN || senders[best] >= 3)) {
        memcpy(k->fol_from, k->env->key_ids[0], HS_ENV_KEY_ID_BYTES);
        memcpy(k->fol_to, k->env->key_ids[best], HS_ENV_KEY_ID_BYTES);
        uint8_t key[HS_ENV_KEY_BYTES];
        memcpy(key, k->env->keys[best], sizeof(key));
        hs_env_use_key(k->env, key);
        sodium_memzero(key, sizeof(key));
        k->followed = true;
        follow_reset(k, now);
        return;
    }
    k->step = (k->step + 1) % HS_KR_FOLLOW_STEPS; /* the oldest step makes room */
    memset(&k->steps[k->step], 0, sizeof(k->steps[k->step]));
    k->window_start = now;
}

bool hs_kr_take_followed(hs_keyring *k, uint8_t from[HS_ENV_KEY_ID_BYTES],
                         uint8_t to[HS_ENV_KEY_ID_BYTES])
{
    if (!k->followed) return false;
    k->followed = false;
    memcpy(from, k->fol_from, HS_ENV_KEY_ID_BYTES);
    memcpy(to, k->fol_to, HS_ENV_KEY_ID_BYTES);
    return true;
}

/* ---- surveys ---- */

static kr_survey *survey_slot(hs_keyring *k, bool admin)
{
    size_t used = 0;
    kr_survey *free_slot = NULL;
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++) {
        if (k->sv[i].state != SV_FREE)
            used++;
        else if (!free_slot)
            free_slot = &k->sv[i];
    }
    /* readers' lists leave HS_KR_ADMIN_SURVEYS slots to changes and rotations */
    if (!admin && used + HS_KR_ADMIN_SURVEYS >= HS_KR_SURVEYS_MAX) return NULL;
    return free_slot;
}

static uint64_t survey_start(hs_keyring *k, uint64_t now, const hs_kr_member *m, size_t n,
                             bool change, bool admin, uint64_t wait_ms, uint64_t rotation)
{
    kr_survey *s = survey_slot(k, admin);
    if (!s) return 0;
    if (n > HS_KR_MEMBERS_MAX) n = HS_KR_MEMBERS_MAX;
    s->p = calloc(n ? n : 1, sizeof(*s->p));
    if (!s->p) return 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s->p[i].a.name, m[i].name, sizeof(s->p[i].a.name));
        s->p[i].a.name[HS_NAME_MAX] = '\0';
        s->p[i].addr = m[i].addr;
    }
    s->n = n;
    s->state = SV_RUNNING;
    s->id = ++k->next_id;
    s->rid = hs_prng_next(&k->rng);
    s->rotation = rotation;
    s->change = change;
    s->admin = admin;
    s->t0 = now;
    s->deadline = now + wait_ms;
    s->next_send = now; /* the first round goes out at the next tick */
    return s->id;
}

uint64_t hs_kr_survey(hs_keyring *k, uint64_t now_ms, const hs_kr_member *m, size_t n, bool change,
                      bool admin, uint64_t wait_ms)
{
    begin(k);
    return survey_start(k, now_ms, m, n, change, admin, wait_ms, 0);
}

static void put_query(hs_keyring *k, uint64_t rid, const hs_addr *to)
{
    uint8_t b[PKT_MAX];
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, HS_MSG_KEYS_QUERY);
    hs_put_u64(&w, rid);
    emit(k, to, &w);
}

static bool peer_wanted(const hs_keyring *k, const kr_survey *s, const kr_peer *p)
{
    return p->a.answered && (!s->change || hs_kr_ring_equal(&p->a.ring, &k->cfg_ring));
}

static bool self_wanted(const hs_keyring *k)
{
    hs_kr_ring self;
    hs_kr_ring_of_env(k->env, &self);
    return hs_kr_ring_equal(&self, &k->cfg_ring);
}

static bool survey_complete(const hs_keyring *k, const kr_survey *s)
{
    if (s->change && !self_wanted(k)) return false;
    for (size_t i = 0; i < s->n; i++)
        if (!peer_wanted(k, s, &s->p[i])) return false;
    return true;
}

static void on_query(hs_keyring *k, const hs_addr *from, hs_reader *r)
{
    uint64_t rid = hs_get_u64(r);
    if (!r->ok || hs_reader_left(r) != 0) {
        r->ok = false;
        return;
    }
    uint8_t b[PKT_MAX];
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, HS_MSG_KEYS_STATE);
    hs_put_u64(&w, rid);
    hs_put_u64(&w, k->cfg_version);
    hs_put_u8(&w, (uint8_t)k->env->key_count);
    for (size_t i = 0; i < k->env->key_count; i++)
        hs_put_bytes(&w, k->env->key_ids[i], HS_ENV_KEY_ID_BYTES);
    emit(k, from, &w);
}

static void on_state(hs_keyring *k, const hs_addr *from, hs_reader *r)
{
    uint64_t rid = hs_get_u64(r);
    uint64_t version = hs_get_u64(r);
    uint8_t n = hs_get_u8(r);
    if (n > HS_ENV_KEYS_MAX) r->ok = false;
    const uint8_t *ids = hs_get_bytes(r, (size_t)n * HS_ENV_KEY_ID_BYTES);
    if (!r->ok || hs_reader_left(r) != 0) {
        r->ok = false;
        return;
    }
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++) {
        kr_survey *s = &k->sv[i];
        if (s->state != SV_RUNNING || s->rid != rid) continue;
        for (size_t j = 0; j < s->n; j++) {
            kr_peer *p = &s->p[j];
            if (!hs_addr_equal(&p->addr, from)) continue;
            p->a.answered = true;
            p->a.version = version;
            p->a.ring.n = n;
            memcpy(p->a.ring.ids, ids, (size_t)n * HS_ENV_KEY_ID_BYTES);
        }
    }
}

static void survey_end(hs_keyring *k, kr_survey *s, uint64_t now);

int hs_kr_receive(hs_keyring *k, uint64_t now_ms, const hs_addr *from, const uint8_t *data,
                  size_t len)
{
    begin(k);
    if (len < 1) return -1;
    hs_reader r;
    hs_reader_init(&r, data + 1, len - 1);
    if (data[0] == HS_MSG_KEYS_QUERY)
        on_query(k, from, &r);
    else if (data[0] == HS_MSG_KEYS_STATE)
        on_state(k, from, &r);
    else
        return -1;
    if (!r.ok) return -1;
    /* an answer may complete a survey: end it now rather than at the next tick */
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++)
        if (k->sv[i].state == SV_RUNNING && survey_complete(k, &k->sv[i]))
            survey_end(k, &k->sv[i], now_ms);
    return 0;
}

/* ---- rotation ---- */

const char *hs_kr_step_name(int step)
{
    static const char *const names[] = {"start", "install", "use", "remove", "done"};
    return step >= 0 && step <= HS_KR_DONE ? names[step] : "unknown";
}

static kr_rotation *rotation_find(hs_keyring *k, uint64_t id)
{
    for (size_t i = 0; i < HS_KR_ROTATIONS_MAX; i++)
        if (k->rot[i].state == SV_RUNNING && k->rot[i].id == id) return &k->rot[i];
    return NULL;
}

static void rotation_end(kr_rotation *r, uint64_t now, bool ok, const char *why)
{
    r->end_ms = now;
    r->ok = ok;
    if (ok) r->step = HS_KR_DONE;
    snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
    r->state = SV_FINISHED;
}

/* The configuration's index of the key with id, or -1. */
static int cfg_index(const hs_keyring *k, const uint8_t id[HS_ENV_KEY_ID_BYTES])
{
    for (uint32_t i = 0; i < k->cfg_n; i++) {
        uint8_t kid[HS_ENV_KEY_ID_BYTES];
        hs_env_key_id(k->cfg_keys[i], kid);
        if (!memcmp(kid, id, HS_ENV_KEY_ID_BYTES)) return (int)i;
    }
    return -1;
}

/* The next step the configuration still needs, and its key. */
static int next_step(const hs_keyring *k, const kr_rotation *r, uint8_t key[HS_ENV_KEY_BYTES])
{
    int at = cfg_index(k, r->new_id);
    memcpy(key, r->key, HS_ENV_KEY_BYTES);
    if (at < 0) return HS_KR_INSTALL;
    if ((uint32_t)at != k->cfg_primary) return HS_KR_USE;
    for (uint32_t i = 0; i < k->cfg_n; i++)
        if ((int)i != at) {
            memcpy(key, k->cfg_keys[i], HS_ENV_KEY_BYTES);
            return HS_KR_REMOVE;
        }
    return HS_KR_DONE;
}

/* Every member holds the configuration's ring: start the next step, or finish. */
static void rotation_advance(hs_keyring *k, kr_rotation *r, uint64_t now)
{
    if (k->nops >= HS_KR_ROTATIONS_MAX) { /* cannot happen: one op per rotation at most */
        rotation_end(r, now, false, "internal: operation queue full");
        return;
    }
    hs_kr_op *op = &k->ops[k->nops];
    int step = next_step(k, r, op->key);
    if (step == HS_KR_DONE) {
        sodium_memzero(op->key, sizeof(op->key));
        rotation_end(r, now, true, NULL);
        return;
    }
    op->rotation = r->id;
    op->step = step;
    k->nops++;
    r->step = step;
    r->waiting_op = true;
}

static void rotation_survey_end(hs_keyring *k, kr_survey *s, uint64_t now)
{
    kr_rotation *r = rotation_find(k, s->rotation);
    if (!r) return;
    r->members = s->n + 1;
    r->acked = self_wanted(k) ? 1 : 0;
    free(r->pending);
    r->pending = calloc(s->n + 1, sizeof(*r->pending));
    r->n_pending = 0;
    r->self_pending = !self_wanted(k);
    for (size_t i = 0; i < s->n; i++) {
        if (peer_wanted(k, s, &s->p[i]))
            r->acked++;
        else if (r->pending)
            r->pending[r->n_pending++] = s->p[i].a;
    }
    if (r->acked < r->members) {
        rotation_end(r, now, false,
                     r->done_step ? "not every member holds the new ring"
                                  : "not every member holds the cluster's ring");
        return;
    }
    rotation_advance(k, r, now);
}

uint64_t hs_kr_rotate(hs_keyring *k, uint64_t now_ms, const uint8_t new_key[HS_ENV_KEY_BYTES],
                      uint64_t wait_ms, const hs_kr_member *m, size_t n)
{
    begin(k);
    if (k->env->insecure || k->cfg_n == 0) return 0;
    kr_rotation *r = NULL;
    for (size_t i = 0; i < HS_KR_ROTATIONS_MAX && !r; i++)
        if (k->rot[i].state == SV_FREE) r = &k->rot[i];
    if (!r) return 0;
    memset(r, 0, sizeof(*r));
    r->id = ++k->next_id;
    /* first the precondition of every step: the members hold the current ring (so a rotation
     * that stopped, run again, never uses or removes a key some member lacks) */
    if (!survey_start(k, now_ms, m, n, true, true, wait_ms, r->id)) return 0;
    r->state = SV_RUNNING;
    memcpy(r->key, new_key, HS_ENV_KEY_BYTES);
    hs_env_key_id(new_key, r->new_id);
    r->t0 = now_ms;
    r->wait_ms = wait_ms;
    r->version = k->cfg_version;
    return r->id;
}

bool hs_kr_next_op(hs_keyring *k, hs_kr_op *out)
{
    if (!k->nops) return false;
    *out = k->ops[0];
    memmove(k->ops, k->ops + 1, (k->nops - 1) * sizeof(k->ops[0]));
    k->nops--;
    sodium_memzero(&k->ops[k->nops], sizeof(k->ops[0]));
    return true;
}

void hs_kr_op_done(hs_keyring *k, uint64_t now_ms, uint64_t rotation, bool ok, const char *why,
                   uint64_t version, const hs_kr_member *m, size_t n)
{
    begin(k);
    kr_rotation *r = rotation_find(k, rotation);
    if (!r || !r->waiting_op) return;
    r->waiting_op = false;
    if (!ok) {
        rotation_end(r, now_ms, false, why ? why : "the change was not committed");
        return;
    }
    r->done_step = r->step;
    r->version = version;
    if (r->step == HS_KR_REMOVE) r->removed++;
    if (!survey_start(k, now_ms, m, n, true, true, r->wait_ms, r->id))
        rotation_end(r, now_ms, false, "no survey slot free");
}

bool hs_kr_next_rotation_done(hs_keyring *k, hs_kr_rotation_done *out)
{
    for (size_t i = 0; i < HS_KR_ROTATIONS_MAX; i++) {
        kr_rotation *r = &k->rot[i];
        if (r->state != SV_FINISHED) continue;
        r->state = SV_TAKEN;
        memset(out, 0, sizeof(*out));
        out->id = r->id;
        out->ok = r->ok;
        out->step = r->ok ? HS_KR_DONE : r->step;
        snprintf(out->why, sizeof(out->why), "%s", r->why);
        out->version = r->version;
        out->members = r->members;
        out->acked = r->acked;
        out->n_pending = r->n_pending;
        out->pending = r->pending;
        out->self_pending = r->self_pending;
        out->elapsed_ms = r->end_ms - r->t0;
        memcpy(out->new_id, r->new_id, HS_ENV_KEY_ID_BYTES);
        out->removed = r->removed;
        return true;
    }
    return false;
}

/* ---- ticking ---- */

static void survey_end(hs_keyring *k, kr_survey *s, uint64_t now)
{
    if (s->rotation) {
        rotation_survey_end(k, s, now);
        survey_release(s);
        return;
    }
    s->end_ms = now;
    s->answers = calloc(s->n ? s->n : 1, sizeof(*s->answers));
    for (size_t i = 0; s->answers && i < s->n; i++) {
        s->answers[i] = s->p[i].a;
        s->answers[i].has_wanted = peer_wanted(k, s, &s->p[i]);
    }
    s->state = SV_FINISHED;
}

bool hs_kr_next_survey_done(hs_keyring *k, hs_kr_survey_done *out)
{
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++) {
        kr_survey *s = &k->sv[i];
        if (s->state != SV_FINISHED) continue;
        s->state = SV_TAKEN;
        out->id = s->id;
        out->change = s->change;
        out->elapsed_ms = s->end_ms - s->t0;
        out->n = s->answers ? s->n : 0;
        out->members = s->answers;
        out->self_has_wanted = !s->change || self_wanted(k);
        return true;
    }
    return false;
}

void hs_kr_tick(hs_keyring *k, uint64_t now_ms)
{
    begin(k);
    follow_tick(k, now_ms);
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++) {
        kr_survey *s = &k->sv[i];
        if (s->state != SV_RUNNING) continue;
        if (survey_complete(k, s) || now_ms >= s->deadline) {
            survey_end(k, s, now_ms);
            continue;
        }
        if (now_ms < s->next_send) continue;
        s->next_send = now_ms + HS_KR_RESEND_MS;
        for (size_t j = 0; j < s->n; j++)
            if (!peer_wanted(k, s, &s->p[j])) put_query(k, s->rid, &s->p[j].addr);
    }
}

uint64_t hs_kr_next_deadline(const hs_keyring *k)
{
    uint64_t d = k->window_start + HS_KR_FOLLOW_STEP_MS;
    for (size_t i = 0; i < HS_KR_SURVEYS_MAX; i++) {
        const kr_survey *s = &k->sv[i];
        if (s->state != SV_RUNNING) continue;
        uint64_t t = s->next_send < s->deadline ? s->next_send : s->deadline;
        if (t < d) d = t;
    }
    return d;
}
