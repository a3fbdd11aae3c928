/* http_keys.c: the key-ring endpoints of docs/api.md: GET /v1/keys (the replicated ring and
 * this agent's; with ?members=1 which ring every member holds), POST /v1/keys/install|use|
 * remove (committed through the Raft leader, then acknowledged by every alive member) and
 * POST /v1/keys/rotate (all three steps, each acknowledged before the next: keyring.h). The
 * work is the engine's (configuration operations and key-ring surveys); this file parses,
 * holds the fair survey slot of the asker, and renders. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "http_internal.h"
#include "json_util.h"

#define WAIT_DEFAULT_MS 10000
#define WAIT_MAX_MS     25000
#define LIST_WAIT_MS    2000
#define CONN_TIMEOUT_S  30
#define OP_ROTATE       100 /* kreq.kind of a rotation (the others are HS_CFGC_KEY_*) */

/* One request in progress. */
typedef struct kreq {
    hsd_engine *e;
    struct evhttp_request *req;
    int kind; /* 0: a list; HS_CFGC_KEY_*; OP_ROTATE */
    char key_id[2 * HS_ENV_KEY_ID_BYTES + 1];
    uint64_t version, wait_ms, t0;
    hsd_peer who;
    bool slot;
} kreq;

static void id_hex(const uint8_t id[HS_ENV_KEY_ID_BYTES], char out[2 * HS_ENV_KEY_ID_BYTES + 1])
{
    sodium_bin2hex(out, 2 * HS_ENV_KEY_ID_BYTES + 1, id, HS_ENV_KEY_ID_BYTES);
}

static json_t *ring_json(const hs_kr_ring *r)
{
    json_t *a = json_array();
    char h[2 * HS_ENV_KEY_ID_BYTES + 1];
    for (uint8_t i = 0; i < r->n; i++) {
        id_hex(r->ids[i], h);
        json_array_append_new(a, json_string(h));
    }
    return a;
}

/* KEYS: the replicated ring and this agent's ring. */
static json_t *keys_object(const hsd_engine *e)
{
    const hs_cluster_config *cc = hs_agent_config(hsd_engine_agent(e));
    hs_kr_ring c, l;
    hs_kr_ring_of_config(cc, &c);
    hs_kr_ring_of_env(hsd_engine_envelope(e), &l);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer((json_int_t)cc->version));
    json_object_set_new(o, "insecure", json_boolean(hsd_engine_envelope(e)->insecure));
    json_object_set_new(o, "keys", ring_json(&c));
    char h[2 * HS_ENV_KEY_ID_BYTES + 1] = "";
    if (c.n) id_hex(c.ids[0], h);
    json_object_set_new(o, "primary", c.n ? json_string(h) : json_null());
    json_object_set_new(o, "local", ring_json(&l));
    return o;
}

static void kreq_end(kreq *k, int code, json_t *o)
{
    if (k->slot) hsd_slot_put(HSD_SLOT_SURVEY, &k->who);
    hsd_http_json(k->req, code, o);
    free(k);
}

static void kreq_fail(kreq *k, int code, const char *msg)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", hsd_json_str(msg));
    kreq_end(k, code, o);
}

/* A survey slot for the asker (http_slots.c: readers cannot take the ones an administrator's
 * rotation needs; a key change is asked by a privileged peer); false: answered 503. */
static bool admit(kreq *k)
{
    if (!hsd_http_peer(k->req, &k->who)) {
        k->who.uid = (uid_t)-1;
        k->who.privileged = false;
    }
    if (k->kind) k->who.privileged = true;
    int why = hsd_slot_take(HSD_SLOT_SURVEY, &k->who);
    if (why == HSD_SLOT_OK) return k->slot = true;
    char msg[200];
    hsd_slot_refusal(HSD_SLOT_SURVEY, why, &k->who, msg, sizeof(msg));
    kreq_fail(k, 503, msg);
    return false;
}

/* ---- a list: which ring every member holds ---- */

static void render_list(kreq *k, const hs_kr_survey_done *s)
{
    const hsd_engine *e = k->e;
    json_t *o = keys_object(e);
    hs_kr_ring self;
    hs_kr_ring_of_env(hsd_engine_envelope(e), &self);
    json_t *per = json_object(), *members = json_object(), *silent = json_array();
    size_t answered = 1;
    json_object_set_new(members, hsd_engine_options(e)->name, ring_json(&self));
    for (size_t i = 0; i < s->n; i++) {
        if (!s->members[i].answered) {
            json_array_append_new(silent, hsd_json_str(s->members[i].name));
            continue;
        }
        answered++;
        json_object_set_new(members, s->members[i].name, ring_json(&s->members[i].ring));
    }
    const char *name;
    json_t *ids;
    json_object_foreach(members, name, ids)
    {
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id)
        {
            const char *kid = json_string_value(id);
            json_t *row = json_object_get(per, kid);
            if (!row) {
                row = json_pack("{s:i,s:i}", "installed", 0, "primary", 0);
                json_object_set_new(per, kid, row);
            }
            json_object_set_new(
                row, "installed",
                json_integer(json_integer_value(json_object_get(row, "installed")) + 1));
            if (i == 0)
                json_object_set_new(
                    row, "primary",
                    json_integer(json_integer_value(json_object_get(row, "primary")) + 1));
        }
    }
    json_object_set_new(o, "members", json_integer((json_int_t)(s->n + 1)));
    json_object_set_new(o, "answered", json_integer((json_int_t)answered));
    json_object_set_new(o, "by_key", per);
    json_object_set_new(o, "by_member", members);
    json_object_set_new(o, "silent", silent);
    kreq_end(k, 200, o);
}

/* ---- install, use, remove: committed, then acknowledged ---- */

static const char *step_name(int kind)
{
    return kind == HS_CFGC_KEY_INSTALL ? "install" : kind == HS_CFGC_KEY_USE ? "use" : "remove";
}

/* pending/acknowledged of a change survey, ourselves included. */
static json_t *acks(const hsd_engine *e, const hs_kr_answer *m, size_t n, bool self_ok,
                    bool only_pending, size_t *acked)
{
    json_t *pending = json_array();
    *acked = self_ok ? 1 : 0;
    if (!self_ok) json_array_append_new(pending, hsd_json_str(hsd_engine_options(e)->name));
    for (size_t i = 0; i < n; i++) {
        if (!only_pending && m[i].has_wanted)
            (*acked)++;
        else
            json_array_append_new(pending, hsd_json_str(m[i].name));
    }
    return pending;
}

static void render_change(kreq *k, const hs_kr_survey_done *s)
{
    json_t *o = keys_object(k->e);
    size_t acked;
    json_t *pending = acks(k->e, s->members, s->n, s->self_has_wanted, false, &acked);
    json_object_set_new(o, "op", json_string(step_name(k->kind)));
    json_object_set_new(o, "key", json_string(k->key_id));
    json_object_set_new(o, "committed_version", json_integer((json_int_t)k->version));
    json_object_set_new(o, "members", json_integer((json_int_t)(s->n + 1)));
    json_object_set_new(o, "acknowledged", json_integer((json_int_t)acked));
    int code = json_array_size(pending) ? 202 : 200;
    json_object_set_new(o, "pending", pending);
    json_object_set_new(o, "wait_ms", json_integer((json_int_t)(hsd_now_ms() - k->t0)));
    kreq_end(k, code, o);
}

static void on_survey(void *arg, const hs_agent_done *d)
{
    kreq *k = arg;
    if (k->kind)
        render_change(k, &d->survey);
    else
        render_list(k, &d->survey);
}

static void survey(kreq *k, bool change)
{
    if (!admit(k)) return;
    if (!hsd_engine_keys_survey(k->e, change, k->who.privileged, k->wait_ms, on_survey, k))
        kreq_fail(k, 503, "too many key operations in progress");
}

static const char *refusal(int kind)
{
    switch (kind) {
    case HS_CFGC_KEY_INSTALL:
        return "refused: the key is already installed, or the ring is full (8 keys)";
    case HS_CFGC_KEY_USE:
        return "refused: install the key on every member first (hearsay keys install)";
    default:
        return "refused: the primary key cannot be removed (hearsay keys use another first)";
    }
}

static void on_committed(void *arg, const hs_agent_done *done)
{
    kreq *k = arg;
    const hs_cfgc_done *d = &done->config;
    switch (d->result) {
    case HS_CFGC_OK:
        k->version = d->version;
        survey(k, true); /* the change reached our ring already: ask the members */
        return;
    case HS_CFGC_NOTFOUND:
        kreq_fail(k, 404, "no such key in the cluster key ring");
        return;
    case HS_CFGC_INVALID:
        kreq_fail(k, 409, refusal(k->kind));
        return;
    case HS_CFGC_CONFLICT:
        kreq_fail(k, 422, "the Idempotency-Key was used for a different request");
        return;
    default:
        kreq_fail(k, 503,
                  d->result == HS_CFGC_NOTLEADER ? "no Raft leader reachable"
                  : d->result == HS_CFGC_EXPIRED
                      ? "outcome unknown: the request's session was forgotten"
                      : "not committed in time");
    }
}

/* ---- rotate: the three steps as one operation ---- */

static void on_rotated(void *arg, const hs_agent_done *done)
{
    kreq *k = arg;
    const hs_kr_rotation_done *r = &done->rotation;
    json_t *o = keys_object(k->e);
    size_t acked;
    json_t *pending = acks(k->e, r->pending, r->n_pending, !r->self_pending, true, &acked);
    json_object_set_new(o, "op", json_string("rotate"));
    json_object_set_new(o, "key", json_string(k->key_id));
    json_object_set_new(o, "ok", json_boolean(r->ok));
    json_object_set_new(o, "step", json_string(hs_kr_step_name(r->step)));
    if (!r->ok) json_object_set_new(o, "reason", hsd_json_str(r->why));
    int code = r->ok ? 200 : r->n_pending || r->self_pending ? 202 : 503;
    if (code == 503) json_object_set_new(o, "error", hsd_json_str(r->why));
    json_object_set_new(o, "committed_version", json_integer((json_int_t)r->version));
    json_object_set_new(o, "members", json_integer((json_int_t)r->members));
    json_object_set_new(o, "acknowledged", json_integer((json_int_t)r->acked));
    json_object_set_new(o, "removed", json_integer((json_int_t)r->removed));
    json_object_set_new(o, "pending", pending);
    json_object_set_new(o, "wait_ms", json_integer((json_int_t)r->elapsed_ms));
    kreq_end(k, code, o);
}

/* ---- requests ---- */

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

/* The body's {"key":"BASE64"}: 0, or -1 with the request answered. */
static int body_key(struct evhttp_request *req, uint8_t key[HS_ENV_KEY_BYTES])
{
    json_t *j = hsd_http_body_json(req);
    if (!j) return -1;
    const char *text = json_string_value(json_object_get(j, "key"));
    int rc = text && hs_env_key_decode(text, strlen(text), key) == 0 ? 0 : -1;
    json_decref(j);
    if (rc) hsd_http_error(req, 400, "\"key\" must be a base64 key of 32 bytes (hearsay keygen)");
    return rc;
}

static void change(hsd_engine *e, struct evhttp_request *req, int kind, struct evkeyvalq *q)
{
    if (hsd_engine_envelope(e)->insecure) {
        hsd_http_error(req, 409, "this agent runs insecure: there is no key ring to change");
        return;
    }
    uint8_t key[HS_ENV_KEY_BYTES], id[HS_ENV_KEY_ID_BYTES];
    if (body_key(req, key) != 0) return;
    kreq *k = calloc(1, sizeof(*k));
    if (!k) abort();
    *k = (kreq){e, req, kind, "", 0, wait_param(q, WAIT_DEFAULT_MS), hsd_now_ms(), {0, 0}, false};
    hs_env_key_id(key, id);
    id_hex(id, k->key_id);
    if (kind == OP_ROTATE) {
        /* each step's acknowledgement may take the whole wait: four waits, and the commits */
        unsigned ms = (unsigned)(4 * k->wait_ms + 20000);
        evhttp_connection_set_timeout(evhttp_request_get_connection(req), (int)(ms / 1000));
        hsd_http_conn_deadline(req, ms);
        if (admit(k) && !hsd_engine_keys_rotate(e, key, k->wait_ms, on_rotated, k))
            kreq_fail(k, 503,
                      "a rotation is already in progress (or the ring is not yet "
                      "replicated)");
        sodium_memzero(key, sizeof(key));
        return;
    }
    char b64[HS_ENV_KEY_B64_LEN + 1];
    hs_env_key_encode(key, b64, sizeof(b64));
    sodium_memzero(key, sizeof(key));
    /* commit plus the wait can outlast the API's usual connection timeout */
    evhttp_connection_set_timeout(evhttp_request_get_connection(req), CONN_TIMEOUT_S);
    const char *idem = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
    if (!hsd_engine_config_op(e, kind, "keys", b64, idem, on_committed, k))
        kreq_fail(k, 503, "too many operations in progress");
    sodium_memzero(b64, sizeof(b64));
}

void hsd_api_keys(hsd_engine *e, struct evhttp_request *req, const char *path, struct evkeyvalq *q)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (!strcmp(path, "/v1/keys")) {
        if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
            hsd_http_error(req, 405, "use GET");
            return;
        }
        const char *mem = evhttp_find_header(q, "members");
        if (mem && strcmp(mem, "0") != 0 && strcmp(mem, "false") != 0) {
            kreq *k = calloc(1, sizeof(*k));
            if (!k) abort();
            *k = (kreq){e, req, 0, "", 0, wait_param(q, LIST_WAIT_MS), hsd_now_ms(), {0, 0}, false};
            survey(k, false);
        } else {
            hsd_http_json(req, 200, keys_object(e));
        }
        return;
    }
    int kind = !strcmp(path, "/v1/keys/install")  ? HS_CFGC_KEY_INSTALL
               : !strcmp(path, "/v1/keys/use")    ? HS_CFGC_KEY_USE
               : !strcmp(path, "/v1/keys/remove") ? HS_CFGC_KEY_REMOVE
               : !strcmp(path, "/v1/keys/rotate") ? OP_ROTATE
                                                  : 0;
    if (!kind) {
        hsd_http_error(req, 404, "no such endpoint");
        return;
    }
    if (m != EVHTTP_REQ_POST) {
        hsd_http_error(req, 405, "use POST");
        return;
    }
    change(e, req, kind, q);
}
