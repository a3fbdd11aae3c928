/* keys.c: the cluster key ring on every agent, and key rotation through the Raft group.
 *
 * - The ring that seals and opens traffic follows the replicated cluster configuration: when
 *   the configuration holds keys (the first Raft leader installs the seeds' key-file ring),
 *   every agent makes its envelope ring exactly that ring (primary first) and saves it in
 *   DATA_DIR/keyring (mode 0600, the key-file format), which the agent loads at start in
 *   place of --key-file. So an agent restarted after a rotation still speaks the current key.
 * - Acknowledgements: a survey sends KEYS_QUERY (0x64: rid u64) to every alive or suspect
 *   member, over UDP, every 500 ms until each answers KEYS_STATE (0x65: rid u64, config
 *   version u64, n u8, n key ids of 4 bytes, primary first) with the wanted ring, or until
 *   its deadline. Every agent answers queries with the ring it seals and opens with.
 * - Following the cluster: an agent that was down while the others moved to another primary
 *   key of its ring (it saved [OLD primary, NEW] after `install`, and came back after `use`
 *   and `remove`) can open everything it hears but nobody can open what it seals, so it can
 *   never fetch the newer configuration. When over FOLLOW_WINDOW_MS messages opened under
 *   one other key of our ring from more than twice as many hosts as sent us anything under
 *   our primary (and at least FOLLOW_MIN messages or 3 hosts), we seal with that key; the
 *   next configuration we apply decides again. (Counting hosts, not "nothing under our
 *   primary": several agents stuck on the same removed primary hear each other under it,
 *   and kept each other stuck.) Only keys already in our ring can be chosen, so a removed
 *   key is never taken back.
 * - HTTP: GET /v1/keys (the replicated ring by key id, this agent's ring, and with
 *   ?members=1 which ring every member holds); POST /v1/keys/install|use|remove with
 *   {"key":"BASE64"}: the change is committed through Raft (config_sync.c operations), then
 *   the answer waits until every alive member holds the new ring: 200 when all did, 202 with
 *   the names of those that did not by the deadline (?wait_ms=, default 10000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "hearsay/cluster_config.h"
#include "hearsay/codec.h"
#include "file_io.h"
#include "hearsay/wire.h"
#include "http_internal.h"
#include "json_util.h"
#include "log.h"

#define MEMBERS_MAX      8192
#define RESEND_MS        500
#define TICK_MS          50
#define WAIT_DEFAULT_MS  10000
#define WAIT_MAX_MS      25000
#define LIST_WAIT_MS     2000
#define CONN_TIMEOUT_S   30
#define FOLLOW_STEP_MS   2000 /* how often we look */
#define FOLLOW_STEPS     3    /* at the last 3 steps: FOLLOW_WINDOW_MS */
#define FOLLOW_WINDOW_MS (FOLLOW_STEP_MS * FOLLOW_STEPS)
#define FOLLOW_MIN       5
#define FOLLOW_HOSTS     16 /* distinct sending hosts remembered per key and step */

typedef struct ring {
    uint8_t n;
    uint8_t ids[HS_ENV_KEYS_MAX][HS_ENV_KEY_ID_BYTES]; /* primary first */
} ring;

typedef struct peer {
    char name[HS_NAME_MAX + 1];
    hs_addr addr;
    bool answered;
    uint64_t version;
    ring r;
} peer;

typedef struct survey {
    uint64_t rid;
    struct evhttp_request *req;
    int kind; /* 0: a list; otherwise the HSD_OP_KEY_* that was committed */
    char key_id[2 * HS_ENV_KEY_ID_BYTES + 1];
    uint64_t version; /* configuration version of the committed change */
    uint64_t t0, deadline, next_send;
    size_t n;
    peer *p;
    hsd_peer who; /* holds a survey slot of http_slots.c */
    struct survey *next;
} survey;

/* The wait a change asked for (?wait_ms=), kept by request until it is committed. */
typedef struct waitrec {
    struct evhttp_request *req;
    uint64_t wait_ms;
    struct waitrec *next;
} waitrec;

struct hsd_keys {
    struct event *tick;
    survey *surveys;
    waitrec *waits;
    uint64_t window_start;
    unsigned step; /* the step being counted, of the last FOLLOW_STEPS */
    struct follow_step {
        uint32_t opened[HS_ENV_KEYS_MAX]; /* envelopes opened, by index in d->env's ring */
        uint8_t nhosts[HS_ENV_KEYS_MAX];  /* distinct sender instances, at most... */
        uint8_t hosts[HS_ENV_KEYS_MAX][FOLLOW_HOSTS][16]; /* ...these (instance, zero padded) */
    } steps[FOLLOW_STEPS];
};

/* A new counting window of follow_tick. */
static void follow_reset(struct hsd_keys *K, uint64_t now)
{
    memset(K->steps, 0, sizeof(K->steps));
    K->window_start = now;
}

/* ---- rings ---- */

static void ring_of_env(const hs_envelope *e, ring *out)
{
    out->n = (uint8_t)e->key_count;
    memcpy(out->ids, e->key_ids, sizeof(out->ids[0]) * e->key_count);
}

static void ring_of_config(const hs_cluster_config *c, ring *out)
{
    out->n = 0;
    if (c->n_keys == 0) return;
    hs_env_key_id(c->keys[c->primary_key], out->ids[out->n++]);
    for (uint32_t i = 0; i < c->n_keys && out->n < HS_ENV_KEYS_MAX; i++)
        if (i != c->primary_key) hs_env_key_id(c->keys[i], out->ids[out->n++]);
}

/* Same primary and the same set of keys. */
static bool ring_equal(const ring *a, const ring *b)
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

static void id_hex(const uint8_t id[HS_ENV_KEY_ID_BYTES], char out[2 * HS_ENV_KEY_ID_BYTES + 1])
{
    sodium_bin2hex(out, 2 * HS_ENV_KEY_ID_BYTES + 1, id, HS_ENV_KEY_ID_BYTES);
}

/* ---- the envelope follows the configuration ---- */

static void keyring_path(const hsd *d, char *out, size_t cap)
{
    snprintf(out, cap, "%s/keyring", d->opt.data_dir);
}

static void save_ring(hsd *d)
{
    char path[HSD_PATH_MAX + 16], err[600];
    keyring_path(d, path, sizeof(path));
    char text[HS_ENV_KEYS_MAX * (HS_ENV_KEY_B64_LEN + 1) + 128];
    size_t n = (size_t)snprintf(text, sizeof(text),
                                "# written by hearsayd: the replicated key ring, primary first\n");
    for (size_t i = 0; i < d->env.key_count; i++) {
        if (hs_env_key_encode(d->env.keys[i], text + n, sizeof(text) - n) != 0) return;
        n += strlen(text + n);
        text[n++] = '\n';
    }
    if (hsd_file_replace(path, text, n, 0600, err, sizeof(err)) != 0)
        log_warn("cannot save the key ring: %s", err);
    sodium_memzero(text, sizeof(text));
}

void hsd_keys_config_changed(hsd *d)
{
    const hs_cluster_config *c = d->cc;
    if (d->opt.insecure || c->n_keys == 0) return;
    ring want, have;
    ring_of_config(c, &want);
    ring_of_env(&d->env, &have);
    if (ring_equal(&want, &have)) return;
    hs_envelope e;
    if (hs_env_init(&e, d->opt.cluster, false) != 0) return;
    hs_env_add_key(&e, c->keys[c->primary_key]);
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (i != c->primary_key) hs_env_add_key(&e, c->keys[i]);
    hs_env_clear(&d->env);
    memcpy(&d->env, &e, sizeof(e));
    sodium_memzero(&e, sizeof(e));
    if (d->keys) follow_reset(d->keys, hsd_now_ms());
    char h[2 * HS_ENV_KEY_ID_BYTES + 1];
    id_hex(d->env.key_ids[0], h);
    log_info("key ring changed (configuration version %llu): %zu key(s), primary %s",
             (unsigned long long)c->version, d->env.key_count, h);
    save_ring(d);
}

int hsd_keys_load_saved(hsd *d, bool *loaded, char *err, size_t errlen)
{
    *loaded = false;
    char path[HSD_PATH_MAX + 16];
    keyring_path(d, path, sizeof(path));
    if (access(path, F_OK) != 0) return 0;
    hs_envelope e;
    if (hs_env_init(&e, d->opt.cluster, false) != 0) return -1;
    int rc = hsd_load_key_file(&e, path, err, errlen);
    if (rc != 0) {
        hs_env_clear(&e);
        return rc;
    }
    /* the key file's keys are NOT merged in: one of them may have been removed from the
     * cluster ring since, and a removed key must stay refused */
    hs_env_clear(&d->env);
    memcpy(&d->env, &e, sizeof(e));
    sodium_memzero(&e, sizeof(e));
    *loaded = true;
    return 0;
}

/* ---- following the key the cluster seals with ---- */

static void note_host(struct follow_step *st, size_t key, const uint8_t ip[16])
{
    for (uint8_t j = 0; j < st->nhosts[key]; j++)
        if (!memcmp(st->hosts[key][j], ip, 16)) return;
    if (st->nhosts[key] < FOLLOW_HOSTS) memcpy(st->hosts[key][st->nhosts[key]++], ip, 16);
}

void hsd_keys_opened(hsd *d, const hs_ch_sender *who)
{
    struct hsd_keys *K = d->keys;
    if (!K || d->opt.insecure || who->key >= d->env.key_count) return;
    /* senders are counted by instance: the channel delivered only fresh messages of instances
     * proven at their address, so a replayer can neither add hosts nor repeat them */
    struct follow_step *st = &K->steps[K->step];
    uint8_t id[16] = {0};
    for (int i = 0; i < 8; i++) id[i] = (uint8_t)(who->instance >> (56 - 8 * i));
    st->opened[who->key]++;
    note_host(st, who->key, id);
}

/* Over the last FOLLOW_STEPS steps: messages and distinct hosts under each key. */
static void follow_totals(const struct hsd_keys *K, size_t nkeys, uint32_t *opened, uint32_t *hosts)
{
    for (size_t i = 0; i < nkeys; i++) {
        struct follow_step all;
        all.nhosts[i] = 0;
        opened[i] = 0;
        for (unsigned k = 0; k < FOLLOW_STEPS; k++) {
            opened[i] += K->steps[k].opened[i];
            for (uint8_t j = 0; j < K->steps[k].nhosts[i]; j++)
                note_host(&all, i, K->steps[k].hosts[i][j]);
        }
        hosts[i] = all.nhosts[i];
    }
}

static void follow_tick(hsd *d, uint64_t now)
{
    struct hsd_keys *K = d->keys;
    if (now < K->window_start + FOLLOW_STEP_MS) return;
    uint32_t opened[HS_ENV_KEYS_MAX], hosts[HS_ENV_KEYS_MAX];
    follow_totals(K, d->env.key_count, opened, hosts);
    size_t best = 0;
    for (size_t i = 1; i < d->env.key_count; i++)
        if (hosts[i] > hosts[best] || (hosts[i] == hosts[best] && opened[i] > opened[best]))
            best = i;
    if (best != 0 && hosts[best] > 2 * hosts[0] &&
        (opened[best] >= FOLLOW_MIN || hosts[best] >= 3)) {
        char from[2 * HS_ENV_KEY_ID_BYTES + 1], to[2 * HS_ENV_KEY_ID_BYTES + 1];
        id_hex(d->env.key_ids[0], from);
        id_hex(d->env.key_ids[best], to);
        log_warn("in %d ms %u host(s) sent under our primary key %s but %u under key %s of "
                 "our ring (%u messages): sealing with %s until the cluster configuration says "
                 "otherwise",
                 FOLLOW_WINDOW_MS, (unsigned)hosts[0], from, (unsigned)hosts[best], to,
                 (unsigned)opened[best], to);
        uint8_t key[HS_ENV_KEY_BYTES];
        memcpy(key, d->env.keys[best], sizeof(key));
        hs_env_use_key(&d->env, key);
        sodium_memzero(key, sizeof(key));
        follow_reset(K, now); /* the ring's order changed: indexes mean other keys now */
        return;
    }
    K->step = (K->step + 1) % FOLLOW_STEPS; /* the oldest step makes room for the next */
    memset(&K->steps[K->step], 0, sizeof(K->steps[K->step]));
    K->window_start = now;
}

/* ---- surveys ---- */

static void send_query(hsd *d, uint64_t rid, const hs_addr *to)
{
    uint8_t b[16];
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, HS_MSG_KEYS_QUERY);
    hs_put_u64(&w, rid);
    hsd_udp_send(d, to, w.buf, w.len);
}

static void on_query(hsd *d, const hs_addr *from, hs_reader *r)
{
    uint64_t rid = hs_get_u64(r);
    if (!r->ok || hs_reader_left(r) != 0) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        return;
    }
    uint8_t b[32 + HS_ENV_KEYS_MAX * HS_ENV_KEY_ID_BYTES];
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, HS_MSG_KEYS_STATE);
    hs_put_u64(&w, rid);
    hs_put_u64(&w, d->cc->version);
    hs_put_u8(&w, (uint8_t)d->env.key_count);
    for (size_t i = 0; i < d->env.key_count; i++)
        hs_put_bytes(&w, d->env.key_ids[i], HS_ENV_KEY_ID_BYTES);
    if (w.ok) hsd_udp_send(d, from, w.buf, w.len);
}

static void on_state(hsd *d, const hs_addr *from, hs_reader *r)
{
    uint64_t rid = hs_get_u64(r);
    uint64_t version = hs_get_u64(r);
    uint8_t n = hs_get_u8(r);
    if (n > HS_ENV_KEYS_MAX) r->ok = false;
    const uint8_t *ids = hs_get_bytes(r, (size_t)n * HS_ENV_KEY_ID_BYTES);
    if (!r->ok || hs_reader_left(r) != 0) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        return;
    }
    for (survey *s = d->keys->surveys; s; s = s->next) {
        if (s->rid != rid) continue;
        for (size_t i = 0; i < s->n; i++) {
            peer *p = &s->p[i];
            if (!hs_addr_equal(&p->addr, from)) continue;
            p->answered = true;
            p->version = version;
            p->r.n = n;
            memcpy(p->r.ids, ids, (size_t)n * HS_ENV_KEY_ID_BYTES);
        }
        event_active(d->keys->tick, EV_TIMEOUT, 0);
    }
}

void hsd_keys_receive(hsd *d, const hs_addr *from, const uint8_t *data, size_t len)
{
    hs_reader r;
    hs_reader_init(&r, data + 1, len - 1);
    if (!d->keys) return;
    if (data[0] == HS_MSG_KEYS_QUERY)
        on_query(d, from, &r);
    else
        on_state(d, from, &r);
}

/* The members a survey asks: everyone alive or suspect but ourselves (we answer locally). */
static int survey_members(hsd *d, survey *s)
{
    size_t total = hs_node_member_count(d->node);
    s->p = calloc(total ? total : 1, sizeof(*s->p));
    if (!s->p) return -1;
    hs_member_info mi;
    for (size_t i = 0; i < total && s->n < MEMBERS_MAX; i++) {
        if (!hs_node_member_at(d->node, i, &mi) || mi.is_self) continue;
        if (mi.status != HS_ALIVE && mi.status != HS_SUSPECT) continue;
        peer *p = &s->p[s->n++];
        snprintf(p->name, sizeof(p->name), "%s", mi.name);
        p->addr = mi.addr;
    }
    return 0;
}

static void survey_free(hsd *d, survey *s)
{
    for (survey **pp = &d->keys->surveys; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    hsd_slot_put(HSD_SLOT_SURVEY, &s->who);
    free(s->p);
    free(s);
}

static json_t *ring_json(const ring *r)
{
    json_t *a = json_array();
    char h[2 * HS_ENV_KEY_ID_BYTES + 1];
    for (uint8_t i = 0; i < r->n; i++) {
        id_hex(r->ids[i], h);
        json_array_append_new(a, json_string(h));
    }
    return a;
}

/* The replicated ring and this agent's ring, as in GET /v1/keys. */
static json_t *keys_object(hsd *d)
{
    ring c, e;
    ring_of_config(d->cc, &c);
    ring_of_env(&d->env, &e);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer((json_int_t)d->cc->version));
    json_object_set_new(o, "insecure", json_boolean(d->opt.insecure));
    json_object_set_new(o, "keys", ring_json(&c));
    char h[2 * HS_ENV_KEY_ID_BYTES + 1] = "";
    if (c.n) id_hex(c.ids[0], h);
    json_object_set_new(o, "primary", c.n ? json_string(h) : json_null());
    json_object_set_new(o, "local", ring_json(&e));
    return o;
}

static void survey_answer(hsd *d, survey *s)
{
    ring want, self;
    ring_of_config(d->cc, &want);
    ring_of_env(&d->env, &self);
    json_t *o = keys_object(d);
    json_t *pending = json_array();
    size_t acked = ring_equal(&self, &want) ? 1 : 0;
    if (!acked) json_array_append_new(pending, hsd_json_str(d->opt.name));
    if (s->kind) {
        for (size_t i = 0; i < s->n; i++) {
            if (s->p[i].answered && ring_equal(&s->p[i].r, &want))
                acked++;
            else
                json_array_append_new(pending, hsd_json_str(s->p[i].name));
        }
        const char *op = s->kind == HSD_OP_KEY_INSTALL ? "install"
                         : s->kind == HSD_OP_KEY_USE   ? "use"
                                                       : "remove";
        json_object_set_new(o, "op", json_string(op));
        json_object_set_new(o, "key", json_string(s->key_id));
        json_object_set_new(o, "committed_version", json_integer((json_int_t)s->version));
        json_object_set_new(o, "members", json_integer((json_int_t)(s->n + 1)));
        json_object_set_new(o, "acknowledged", json_integer((json_int_t)acked));
        json_object_set_new(o, "pending", pending);
        json_object_set_new(o, "wait_ms", json_integer((json_int_t)(hsd_now_ms() - s->t0)));
        hsd_http_json(s->req, json_array_size(pending) ? 202 : 200, o);
        return;
    }
    /* a list: per key id, on how many members it is installed and primary */
    json_t *per = json_object(), *members = json_object(), *silent = json_array();
    size_t answered = 1;
    json_object_set_new(members, d->opt.name, ring_json(&self));
    for (size_t i = 0; i < s->n; i++) {
        if (!s->p[i].answered) {
            json_array_append_new(silent, hsd_json_str(s->p[i].name));
            continue;
        }
        answered++;
        json_object_set_new(members, s->p[i].name, ring_json(&s->p[i].r));
    }
    const char *name;
    json_t *ids;
    json_object_foreach(members, name, ids)
    {
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id)
        {
            const char *k = json_string_value(id);
            json_t *e = json_object_get(per, k);
            if (!e) {
                e = json_pack("{s:i,s:i}", "installed", 0, "primary", 0);
                json_object_set_new(per, k, e);
            }
            json_object_set_new(
                e, "installed",
                json_integer(json_integer_value(json_object_get(e, "installed")) + 1));
            if (i == 0)
                json_object_set_new(
                    e, "primary",
                    json_integer(json_integer_value(json_object_get(e, "primary")) + 1));
        }
    }
    json_decref(pending);
    json_object_set_new(o, "members", json_integer((json_int_t)(s->n + 1)));
    json_object_set_new(o, "answered", json_integer((json_int_t)answered));
    json_object_set_new(o, "by_key", per);
    json_object_set_new(o, "by_member", members);
    json_object_set_new(o, "silent", silent);
    hsd_http_json(s->req, 200, o);
}

static bool survey_done(hsd *d, const survey *s)
{
    ring want, self;
    ring_of_config(d->cc, &want);
    ring_of_env(&d->env, &self);
    if (s->kind && !ring_equal(&self, &want)) return false;
    for (size_t i = 0; i < s->n; i++) {
        if (!s->p[i].answered) return false;
        if (s->kind && !ring_equal(&s->p[i].r, &want)) return false;
    }
    return true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    uint64_t now = hsd_now_ms();
    follow_tick(d, now);
    for (survey *s = d->keys->surveys, *next; s; s = next) {
        next = s->next;
        if (survey_done(d, s) || now >= s->deadline) {
            survey_answer(d, s);
            survey_free(d, s);
            continue;
        }
        if (now < s->next_send) continue;
        s->next_send = now + RESEND_MS;
        ring want;
        ring_of_config(d->cc, &want);
        for (size_t i = 0; i < s->n; i++)
            if (!s->p[i].answered || (s->kind && !ring_equal(&s->p[i].r, &want)))
                send_query(d, s->rid, &s->p[i].addr);
    }
}

/* A survey slot for the asker (http_slots.c: readers cannot take the ones an administrator's
 * rotation needs; a key change was asked by a privileged peer); false: answered 503. */
static bool survey_admit(struct evhttp_request *req, int kind, hsd_peer *who)
{
    if (!hsd_http_peer(req, who)) {
        who->uid = (uid_t)-1;
        who->privileged = false;
    }
    if (kind) who->privileged = true;
    int why = hsd_slot_take(HSD_SLOT_SURVEY, who);
    if (why == HSD_SLOT_OK) return true;
    char msg[200];
    hsd_slot_refusal(HSD_SLOT_SURVEY, why, who, msg, sizeof(msg));
    hsd_http_error(req, 503, msg);
    return false;
}

static void survey_start(hsd *d, struct evhttp_request *req, int kind, const char *key_id,
                         uint64_t version, uint64_t wait_ms)
{
    struct hsd_keys *K = d->keys;
    hsd_peer who;
    if (!survey_admit(req, kind, &who)) return;
    survey *s = calloc(1, sizeof(*s));
    if (!s || survey_members(d, s) != 0) {
        free(s);
        hsd_slot_put(HSD_SLOT_SURVEY, &who);
        hsd_http_error(req, 503, "out of memory");
        return;
    }
    s->who = who;
    randombytes_buf(&s->rid, sizeof(s->rid));
    s->req = req;
    s->kind = kind;
    snprintf(s->key_id, sizeof(s->key_id), "%s", key_id ? key_id : "");
    s->version = version;
    s->t0 = hsd_now_ms();
    s->deadline = s->t0 + wait_ms;
    s->next = K->surveys;
    K->surveys = s;
    /* the first round goes out from the loop, after the committed change reached our ring */
    event_active(K->tick, EV_TIMEOUT, 0);
}

/* ---- HTTP ---- */

/* The wait an operation asked for (?wait_ms=), bounded. */
static uint64_t wait_param(struct evkeyvalq *q, uint64_t dflt)
{
    const char *w = q ? evhttp_find_header(q, "wait_ms") : NULL;
    if (!w) return dflt;
    char *end;
    unsigned long long v = strtoull(w, &end, 10);
    if (*end || end == w) return dflt;
    return v > WAIT_MAX_MS ? WAIT_MAX_MS : v;
}

static uint64_t take_wait(hsd *d, struct evhttp_request *req)
{
    for (waitrec **pp = &d->keys->waits; *pp; pp = &(*pp)->next)
        if ((*pp)->req == req) {
            waitrec *w = *pp;
            uint64_t ms = w->wait_ms;
            *pp = w->next;
            free(w);
            return ms;
        }
    return WAIT_DEFAULT_MS;
}

static const char *refusal(int kind)
{
    switch (kind) {
    case HSD_OP_KEY_INSTALL:
        return "refused: the key is already installed, or the ring is full (8 keys)";
    case HSD_OP_KEY_USE:
        return "refused: install the key on every member first (hearsay keys install)";
    default:
        return "refused: the primary key cannot be removed (hearsay keys use another first)";
    }
}

void hsd_keys_op_done(hsd *d, struct evhttp_request *req, int kind, int result, const char *b64,
                      uint64_t version)
{
    uint64_t wait_ms = take_wait(d, req);
    if (result == HSD_OP_NOTFOUND) {
        hsd_http_error(req, 404, "no such key in the cluster key ring");
        return;
    }
    if (result == HSD_OP_INVALID) {
        hsd_http_error(req, 409, refusal(kind));
        return;
    }
    if (result == HSD_OP_CONFLICT) {
        hsd_http_error(req, 422, "the Idempotency-Key was used for a different request");
        return;
    }
    if (result != HSD_OP_OK) {
        hsd_http_error(req, 503,
                       result == HSD_OP_NOTLEADER ? "no Raft leader reachable"
                       : result == HSD_OP_EXPIRED
                           ? "outcome unknown: the request's session was forgotten"
                           : "not committed in time");
        return;
    }
    uint8_t key[HS_ENV_KEY_BYTES], id[HS_ENV_KEY_ID_BYTES];
    char hex[2 * HS_ENV_KEY_ID_BYTES + 1] = "";
    if (hs_env_key_decode(b64, strlen(b64), key) == 0) {
        hs_env_key_id(key, id);
        id_hex(id, hex);
        sodium_memzero(key, sizeof(key));
    }
    survey_start(d, req, kind, hex, version, wait_ms);
}

static void keys_change(hsd *d, struct evhttp_request *req, int kind, struct evkeyvalq *q)
{
    if (d->opt.insecure) {
        hsd_http_error(req, 409, "this agent runs insecure: there is no key ring to change");
        return;
    }
    json_t *j = hsd_http_body_json(req);
    if (!j) return;
    const char *text = json_string_value(json_object_get(j, "key"));
    uint8_t key[HS_ENV_KEY_BYTES];
    if (!text || hs_env_key_decode(text, strlen(text), key) != 0) {
        json_decref(j);
        hsd_http_error(req, 400, "\"key\" must be a base64 key of 32 bytes (hearsay keygen)");
        return;
    }
    char b64[HS_ENV_KEY_B64_LEN + 1];
    hs_env_key_encode(key, b64, sizeof(b64));
    sodium_memzero(key, sizeof(key));
    json_decref(j);
    waitrec *w = calloc(1, sizeof(*w));
    if (!w) {
        hsd_http_error(req, 503, "out of memory");
        return;
    }
    w->req = req;
    w->wait_ms = wait_param(q, WAIT_DEFAULT_MS);
    w->next = d->keys->waits;
    d->keys->waits = w;
    /* commit plus the wait can outlast the API's usual connection timeout */
    evhttp_connection_set_timeout(evhttp_request_get_connection(req), CONN_TIMEOUT_S);
    hsd_op_start(d, kind, "keys", b64, req);
    sodium_memzero(b64, sizeof(b64));
}

void hsd_api_keys(hsd *d, struct evhttp_request *req, const char *path, struct evkeyvalq *q)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (!strcmp(path, "/v1/keys")) {
        if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
            hsd_http_error(req, 405, "use GET");
            return;
        }
        const char *mem = evhttp_find_header(q, "members");
        if (mem && strcmp(mem, "0") != 0 && strcmp(mem, "false") != 0)
            survey_start(d, req, 0, NULL, d->cc->version, wait_param(q, LIST_WAIT_MS));
        else
            hsd_http_json(req, 200, keys_object(d));
        return;
    }
    int kind = !strcmp(path, "/v1/keys/install")  ? HSD_OP_KEY_INSTALL
               : !strcmp(path, "/v1/keys/use")    ? HSD_OP_KEY_USE
               : !strcmp(path, "/v1/keys/remove") ? HSD_OP_KEY_REMOVE
                                                  : 0;
    if (!kind) {
        hsd_http_error(req, 404, "no such endpoint");
        return;
    }
    if (m != EVHTTP_REQ_POST) {
        hsd_http_error(req, 405, "use POST");
        return;
    }
    keys_change(d, req, kind, q);
}

/* ---- life cycle ---- */

int hsd_keys_init(hsd *d)
{
    d->keys = calloc(1, sizeof(*d->keys));
    if (!d->keys) return -1;
    d->keys->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
    if (!d->keys->tick) return -1;
    struct timeval tv = {0, TICK_MS * 1000};
    return event_add(d->keys->tick, &tv);
}

void hsd_keys_free(hsd *d)
{
    struct hsd_keys *K = d->keys;
    if (!K) return;
    while (K->surveys) {
        survey *s = K->surveys;
        K->surveys = s->next;
        hsd_slot_put(HSD_SLOT_SURVEY, &s->who);
        free(s->p);
        free(s);
    }
    while (K->waits) {
        waitrec *w = K->waits;
        K->waits = w->next;
        free(w);
    }
    if (K->tick) event_free(K->tick);
    free(K);
    d->keys = NULL;
}
