/* http_user.c: the user-event endpoints of docs/api.md. POST /v1/event/NAME (the body is the
 * payload; ?coalesce=1, ?wait_ms=N) fires an event and answers once it is accepted, or with a
 * wait once every live member delivered it or the wait ended. POST /v1/query/NAME (?node=NAME,
 * ?tag=KEY=REGEX, repeatable; ?timeout_ms=N) starts a query and answers a stream of JSON lines:
 * one per acknowledgement and answer as they arrive, then a last "done" line. Both are changing
 * operations (the router checks the peer). The work is the engine's; this file parses, holds a
 * query's survey slot and renders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "http_internal.h"
#include "json_util.h"

#define WAIT_MAX_MS      300000
#define QUERY_DEFAULT_MS 10000
#define QUERY_STREAM_MAX (4u << 20) /* bytes queued for one query's client, at most */

/* One request in progress. */
typedef struct ureq {
    struct evhttp_request *req;
    bool waited, slot, started;
    hsd_peer who;
    uint64_t dropped; /* query lines not queued: the client does not read */
} ureq;

/* A non-negative integer parameter (at most max); dflt when absent; -1 when malformed. */
static long long num_param(struct evkeyvalq *q, const char *key, long long dflt, long long max)
{
    const char *v = evhttp_find_header(q, key);
    if (!v) return dflt;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n > max) return -1;
    return n;
}

static bool flag_param(struct evkeyvalq *q, const char *key)
{
    const char *v = evhttp_find_header(q, key);
    return v && strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "no");
}

/* The NAME after prefix in path (percent-decoded) into out; false (answered 400) if bad. */
static bool name_of(struct evhttp_request *req, const char *path, size_t prefix, char *out,
                    size_t cap)
{
    char *dec = evhttp_uridecode(path + prefix, 0, NULL);
    bool ok = dec && strlen(dec) < cap && hs_ue_name_valid(dec);
    if (ok) strcpy(out, dec);
    free(dec);
    if (!ok) hsd_http_error(req, 400, hs_ue_error_text(HS_UE_BAD_NAME));
    return ok;
}

/* The body, at most HS_UE_PAYLOAD_MAX bytes; false (answered 413) if larger. */
static bool payload_of(struct evhttp_request *req, const uint8_t **p, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    if (*len > HS_UE_PAYLOAD_MAX) {
        hsd_http_error(req, 413, "payload larger than 8192 bytes");
        return false;
    }
    *p = *len ? evbuffer_pullup(in, (ev_ssize_t)*len) : NULL;
    return true;
}

static int code_of(int err)
{
    return err == HS_UE_TOO_BIG ? 413 : err == HS_UE_BUSY ? 503 : 400;
}

static json_t *names(const char (*n)[HS_NAME_MAX + 1], size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; i < count; i++) json_array_append_new(a, hsd_json_str(n[i]));
    return a;
}

/* Keeps the connection open for the wait (evhttp's idle timeout, our answer deadline). */
static void hold_for(struct evhttp_request *req, uint64_t ms)
{
    evhttp_connection_set_timeout(evhttp_request_get_connection(req), (int)(ms / 1000) + 10);
    hsd_http_conn_deadline(req, (unsigned)ms + 5000);
}

/* ---- POST /v1/event/NAME ---- */

static void on_fired(void *arg, const hs_agent_done *done)
{
    ureq *u = arg;
    const hs_ue_done *d = &done->user;
    json_t *o = json_object();
    json_object_set_new(o, "id", hsd_json_str(d->id));
    json_object_set_new(o, "ltime", json_integer((json_int_t)d->ltime));
    json_object_set_new(o, "members", json_integer((json_int_t)d->members));
    int code = 200;
    if (u->waited) {
        json_object_set_new(o, "delivered", json_integer((json_int_t)d->delivered));
        json_object_set_new(o, "ms", json_integer((json_int_t)d->elapsed_ms));
        json_object_set_new(o, "complete", json_boolean(d->complete));
        json_object_set_new(o, "pending", names(d->pending, d->n_pending));
        if (!d->complete) code = 202;
    }
    hsd_http_json(u->req, code, o);
    free(u);
}

static void fire(hsd_engine *e, struct evhttp_request *req, const char *path, struct evkeyvalq *q)
{
    char name[HS_UE_NAME_MAX + 1];
    const uint8_t *p;
    size_t len;
    if (!name_of(req, path, strlen("/v1/event/"), name, sizeof(name)) || !payload_of(req, &p, &len))
        return;
    long long wait = num_param(q, "wait_ms", 0, WAIT_MAX_MS);
    if (wait < 0) {
        hsd_http_error(req, 400, "wait_ms must be a number of milliseconds from 0 to 300000");
        return;
    }
    ureq *u = calloc(1, sizeof(*u));
    if (!u) abort();
    u->req = req;
    u->waited = wait > 0;
    if (wait) hold_for(req, (uint64_t)wait);
    int err = 0;
    if (!hsd_engine_fire_event(e, name, p, len, flag_param(q, "coalesce"), (uint64_t)wait, on_fired,
                               u, &err)) {
        hsd_http_error(req, code_of(err), hs_ue_error_text(err));
        free(u);
    }
}

/* ---- POST /v1/query/NAME ---- */

/* One line of a query's stream (the first starts it). */
static void line(ureq *u, json_t *o)
{
    struct evhttp_request *req = u->req;
    if (!u->started) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Content-Type", "application/x-ndjson");
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_send_reply_start(req, 200, "OK");
        u->started = true;
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (!text || !bev || evbuffer_get_length(bufferevent_get_output(bev)) > QUERY_STREAM_MAX) {
        u->dropped += bev != NULL; /* gone: nothing to count */
        free(text);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add_printf(b, "%s\n", text);
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
    }
    free(text);
}

static void on_reply(void *arg, const hs_agent_reply *r)
{
    ureq *u = arg;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(r->response ? "response" : "ack"));
    json_object_set_new(o, "from", hsd_json_str(r->from));
    if (r->response) hsd_json_set_payload(o, r->payload, r->len);
    json_object_set_new(o, "elapsed_ms", json_integer((json_int_t)r->elapsed_ms));
    line(u, o);
}

static void on_queried(void *arg, const hs_agent_done *done)
{
    ureq *u = arg;
    const hs_ue_done *d = &done->user;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("done"));
    json_object_set_new(o, "id", hsd_json_str(d->id));
    json_object_set_new(o, "ltime", json_integer((json_int_t)d->ltime));
    json_object_set_new(o, "targeted", json_integer((json_int_t)d->members));
    json_object_set_new(o, "acks", json_integer((json_int_t)d->acks));
    json_object_set_new(o, "responses", json_integer((json_int_t)d->responses));
    json_object_set_new(o, "answered", json_integer((json_int_t)d->answered));
    json_object_set_new(o, "complete", json_boolean(d->complete));
    json_object_set_new(o, "elapsed_ms", json_integer((json_int_t)d->elapsed_ms));
    json_object_set_new(o, "pending", names(d->pending, d->n_pending));
    if (u->dropped) json_object_set_new(o, "dropped_lines", json_integer((json_int_t)u->dropped));
    line(u, o);
    if (u->slot) hsd_slot_put(HSD_SLOT_SURVEY, &u->who);
    evhttp_send_reply_end(u->req); /* frees a request whose client went away, too */
    free(u);
}

/* The ?node= and ?tag=KEY=REGEX filters into q (pointing into the query string); false
 * (answered 400) when there are too many or a tag is not KEY=REGEX. */
static bool filters(struct evhttp_request *req, struct evkeyvalq *qs, hs_ue_query_spec *q,
                    const char **nodes, hs_ue_tag_filter *tags, char keys[][HS_UE_NAME_MAX + 1])
{
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, qs, next)
    {
        bool node = !strcmp(kv->key, "node"), tag = !strcmp(kv->key, "tag");
        if (!node && !tag) continue;
        if (q->n_nodes + q->n_tags == HS_UE_FILTERS_MAX) {
            hsd_http_error(req, 400, hs_ue_error_text(HS_UE_BAD_FILTER));
            return false;
        }
        if (node) {
            nodes[q->n_nodes++] = kv->value;
            continue;
        }
        const char *eq = strchr(kv->value, '=');
        size_t kl = eq ? (size_t)(eq - kv->value) : 0;
        if (!kl || kl > HS_UE_NAME_MAX) {
            hsd_http_error(req, 400, "tag filters are KEY=REGEX");
            return false;
        }
        memcpy(keys[q->n_tags], kv->value, kl);
        keys[q->n_tags][kl] = '\0';
        tags[q->n_tags] = (hs_ue_tag_filter){keys[q->n_tags], eq + 1};
        q->n_tags++;
    }
    q->nodes = nodes;
    q->tags = tags;
    return true;
}

/* A survey slot for the asker (http_slots.c); false: answered 503. */
static bool admit(ureq *u)
{
    if (!hsd_http_peer(u->req, &u->who)) {
        u->who.uid = (uid_t)-1;
        u->who.privileged = false;
    }
    int why = hsd_slot_take(HSD_SLOT_SURVEY, &u->who);
    if (why == HSD_SLOT_OK) return u->slot = true;
    char msg[200];
    hsd_slot_refusal(HSD_SLOT_SURVEY, why, &u->who, msg, sizeof(msg));
    hsd_http_error(u->req, 503, msg);
    return false;
}

static void query(hsd_engine *e, struct evhttp_request *req, const char *path, struct evkeyvalq *qs)
{
    char name[HS_UE_NAME_MAX + 1];
    hs_ue_query_spec q;
    memset(&q, 0, sizeof(q));
    const char *nodes[HS_UE_FILTERS_MAX];
    hs_ue_tag_filter tags[HS_UE_FILTERS_MAX];
    char keys[HS_UE_FILTERS_MAX][HS_UE_NAME_MAX + 1];
    if (!name_of(req, path, strlen("/v1/query/"), name, sizeof(name)) ||
        !payload_of(req, &q.payload, &q.len) || !filters(req, qs, &q, nodes, tags, keys))
        return;
    long long t = num_param(qs, "timeout_ms", QUERY_DEFAULT_MS, 300000);
    if (t < 1) {
        hsd_http_error(req, 400, "timeout_ms must be a number of milliseconds from 1 to 300000");
        return;
    }
    q.name = name;
    q.timeout_ms = (uint32_t)t;
    ureq *u = calloc(1, sizeof(*u));
    if (!u) abort();
    u->req = req;
    if (!admit(u)) {
        free(u);
        return;
    }
    hold_for(req, (uint64_t)t);
    /* the stream starts with the first line (this agent's own acknowledgement, at once): a
     * query that cannot start is still answered with a status; one that started may have
     * ended (and freed u) before this returns */
    int err = 0;
    if (!hsd_engine_query(e, &q, on_reply, on_queried, u, &err)) {
        hsd_slot_put(HSD_SLOT_SURVEY, &u->who);
        hsd_http_error(req, code_of(err), hs_ue_error_text(err));
        free(u);
    }
}

void hsd_api_user(hsd_engine *e, struct evhttp_request *req, const char *path, struct evkeyvalq *q)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        hsd_http_error(req, 405, "use POST");
        return;
    }
    if (!strncmp(path, "/v1/event/", 10))
        fire(e, req, path, q);
    else
        query(e, req, path, q);
}
