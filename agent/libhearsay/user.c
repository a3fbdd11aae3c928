/* user.c: libhearsay's calls for user events and queries: hs_client_user_event (POST
 * /v1/event/NAME, the payload as the body) and hs_client_query (POST /v1/query/NAME, whose
 * answer is a stream of JSON lines: each acknowledgement and answer goes to the caller's
 * callback as it arrives, the last line is the summary), and the parsers of their answers. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_LINE_MAX (256 * 1024) /* an answer of 8 KiB, escaped, fits many times over */

int hsc_parse_user_event(const char *body, size_t len, hs_client_user_event_result **out, char *err,
                         size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_user_event_result *u = hsc_result_parse(body, len, sizeof *u, &doc, &rc, err, errlen);
    if (!u) return rc;
    json_t *pending = json_object_get(doc, "pending");
    u->pending = hsc_strings(u, pending, &u->n_pending);
    if (!u->pending) {
        hs_client_free(u);
        return hsc_nomem(err, errlen);
    }
    u->id = hsc_jstr(doc, "id", "");
    u->ltime = hsc_ju64(doc, "ltime");
    u->members = hsc_ju64(doc, "members");
    u->waited = json_is_integer(json_object_get(doc, "delivered"));
    u->delivered = hsc_ju64(doc, "delivered");
    u->ms = hsc_ju64(doc, "ms");
    u->complete = json_is_true(json_object_get(doc, "complete"));
    *out = u;
    return HS_CLIENT_OK;
}

/* Checks a name and appends it percent-encoded to target; -1 (error set) if bad. */
static int put_name(hs_client *c, char *target, size_t cap, const char *name)
{
    if (!name || !*name || strlen(name) > 128) return hsc_invalid(c, "a name is 1-128 bytes");
    if (hs_client_url_encode(target, cap, name)) return hsc_invalid(c, "name too long");
    return 0;
}

HS_CLIENT_API int hs_client_user_event(hs_client *c, const char *name, const void *payload,
                                       size_t len, int flags, int wait_ms,
                                       hs_client_user_event_result **out)
{
    if (out) *out = NULL;
    if (!c || !out || (len && !payload)) return hsc_invalid(c, "invalid argument");
    if (wait_ms < 0 || wait_ms > 300000) return hsc_invalid(c, "wait_ms is 0..300000");
    if (len > HS_CLIENT_PAYLOAD_MAX) {
        snprintf(ERRBUF(c), "payload of %zu bytes: at most %d", len, HS_CLIENT_PAYLOAD_MAX);
        return HS_CLIENT_EPAYLOAD;
    }
    char target[512] = "/v1/event/";
    int rc = put_name(c, target, sizeof target, name);
    if (rc) return rc;
    size_t n = strlen(target);
    snprintf(target + n, sizeof target - n, "?wait_ms=%d%s", wait_ms,
             flags & HS_CLIENT_COALESCE ? "&coalesce=1" : "");
    int timeout = c->timeout_ms < 0 ? -1 : c->timeout_ms + wait_ms;
    hs_client_response r;
    rc = hsc_call(c, "POST", target, "application/octet-stream", payload, len, timeout, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_user_event(r.body, r.body_len, out, ERRBUF(c)));
}

/* ---- queries ---- */

static int b64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes base64 (padding optional) into a new buffer (NUL-terminated); NULL if malformed. */
static char *b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *out = malloc(n / 4 * 3 + 4);
    if (!out) return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (char)(acc >> bits);
        }
    }
    out[k] = '\0';
    *len = k;
    return out;
}

typedef struct qstream {
    hs_client_query_cb cb;
    void *ctx;
    char *line;
    size_t len, cap;
    bool skipping, no_mem, stopped;
    json_t *done; /* the last line */
    char err[160];
} qstream;

/* One complete line: nonzero to stop. */
static int q_line(qstream *q, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
    if (len == 0) return 0;
    json_t *o = json_loadb(line, len, 0, NULL);
    const char *type = hsc_jstr(o, "type", "");
    if (!strcmp(type, "done")) {
        json_decref(q->done);
        q->done = o;
        return 0;
    }
    if (!strcmp(type, "error")) {
        snprintf(q->err, sizeof q->err, "%s", hsc_jstr(o, "error", "the query failed"));
        json_decref(o);
        return 0;
    }
    int stop = 0;
    if (q->cb && (!strcmp(type, "ack") || !strcmp(type, "response"))) {
        hs_client_query_reply r = {type[0] == 'r', hsc_jstr(o, "from", ""), "", 0,
                                   hsc_ju64(o, "elapsed_ms")};
        json_t *p = json_object_get(o, "payload");
        char *decoded = NULL;
        if (json_is_string(p)) {
            r.payload = json_string_value(p);
            r.payload_len = json_string_length(p);
        } else if (json_is_string(json_object_get(o, "payload_base64"))) {
            decoded = b64_decode(hsc_jstr(o, "payload_base64", ""), &r.payload_len);
            if (decoded) r.payload = decoded;
        }
        stop = q->cb(&r, q->ctx);
        q->stopped |= stop != 0;
        free(decoded);
    }
    json_decref(o);
    return stop;
}

static int q_feed(void *ctx, const char *p, size_t n)
{
    qstream *q = ctx;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!q->skipping && q->len + take > QUERY_LINE_MAX) {
            q->skipping = true; /* not a line of ours: dropped */
            q->len = 0;
        }
        if (!q->skipping) {
            if (q->len + take + 1 > q->cap) {
                size_t cap = q->cap ? q->cap : 4096;
                while (cap < q->len + take + 1) cap *= 2;
                char *l = realloc(q->line, cap);
                if (!l) {
                    q->no_mem = true;
                    return 1;
                }
                q->line = l;
                q->cap = cap;
            }
            memcpy(q->line + q->len, p, take);
            q->len += take;
        }
        p += take;
        n -= take;
        if (nl) {
            p++;
            n--;
            if (!q->skipping && q_line(q, q->line ? q->line : "", q->len)) return 1;
            q->skipping = false;
            q->len = 0;
        }
    }
    return 0;
}

static int parse_query_done(json_t *doc, hs_client_query_result **out)
{
    hs_client_query_result *r = hsc_result_new(sizeof *r, doc);
    if (!r) {
        json_decref(doc);
        return HS_CLIENT_ENOMEM;
    }
    r->pending = hsc_strings(r, json_object_get(doc, "pending"), &r->n_pending);
    if (!r->pending) {
        hs_client_free(r);
        return HS_CLIENT_ENOMEM;
    }
    r->id = hsc_jstr(doc, "id", "");
    r->ltime = hsc_ju64(doc, "ltime");
    r->targeted = hsc_ju64(doc, "targeted");
    r->acks = hsc_ju64(doc, "acks");
    r->responses = hsc_ju64(doc, "responses");
    r->answered = hsc_ju64(doc, "answered");
    r->elapsed_ms = hsc_ju64(doc, "elapsed_ms");
    r->complete = json_is_true(json_object_get(doc, "complete"));
    *out = r;
    return HS_CLIENT_OK;
}

/* Appends "&key=value" (value percent-encoded); -1 if it does not fit. */
static int put_param(char *target, size_t cap, char *sep, const char *key, const char *value)
{
    size_t n = strlen(target);
    if (n + strlen(key) + 3 >= cap) return -1;
    snprintf(target + n, cap - n, "%c%s=", *sep, key);
    *sep = '&';
    return hs_client_url_encode(target, cap, value);
}

HS_CLIENT_API int hs_client_query(hs_client *c, const char *name, const void *payload, size_t len,
                                  const hs_client_query_params *p, hs_client_query_cb cb, void *ctx,
                                  hs_client_query_result **out)
{
    if (out) *out = NULL;
    if (!c || (len && !payload)) return hsc_invalid(c, "invalid argument");
    hsc_reset(c);
    hs_client_query_params none = {0};
    if (!p) p = &none;
    if (p->timeout_ms < 0 || p->timeout_ms > 300000)
        return hsc_invalid(c, "timeout_ms is 0..300000");
    if (len > HS_CLIENT_PAYLOAD_MAX) {
        snprintf(ERRBUF(c), "payload of %zu bytes: at most %d", len, HS_CLIENT_PAYLOAD_MAX);
        return HS_CLIENT_EPAYLOAD;
    }
    char target[HSC_TARGET_MAX] = "/v1/query/", sep = '?';
    int rc = put_name(c, target, sizeof target, name);
    if (rc) return rc;
    for (size_t i = 0; i < p->n_nodes; i++)
        if (!p->nodes[i] || put_param(target, sizeof target, &sep, "node", p->nodes[i]))
            return hsc_invalid(c, "bad or too many --node filters");
    for (size_t i = 0; i < p->n_tags; i++)
        if (!p->tags[i] || !strchr(p->tags[i], '=') ||
            put_param(target, sizeof target, &sep, "tag", p->tags[i]))
            return hsc_invalid(c, "a tag filter is KEY=REGEX");
    if (p->timeout_ms) {
        char t[16];
        snprintf(t, sizeof t, "%d", p->timeout_ms);
        if (put_param(target, sizeof target, &sep, "timeout_ms", t))
            return hsc_invalid(c, "filters too long");
    }
    qstream q = {.cb = cb, .ctx = ctx};
    int wait = p->timeout_ms ? p->timeout_ms : 10000;
    hs_http_request req = {.socket_path = c->socket_path,
                           .method = "POST",
                           .target = target,
                           .content_type = "application/octet-stream",
                           .body = payload,
                           .body_len = len,
                           .timeout_ms = c->timeout_ms < 0 ? -1 : c->timeout_ms + wait,
                           .sink = q_feed,
                           .sink_ctx = &q,
                           .interrupt = c->interrupt};
    hs_client_response resp;
    rc = hsc_http_do(&req, &resp, ERRBUF(c));
    free(q.line);
    if (rc == HS_CLIENT_ESTOPPED && q.no_mem) {
        snprintf(ERRBUF(c), "out of memory");
        rc = HS_CLIENT_ENOMEM;
    } else if (rc == HS_CLIENT_ESTOPPED) {
        snprintf(ERRBUF(c), "stopped by the callback");
    }
    if (rc == HS_CLIENT_OK) {
        c->last_status = resp.status;
        if (resp.status < 200 || resp.status >= 300) {
            hs_client_response_message(&resp, ERRBUF(c));
            rc = resp.status == 403   ? HS_CLIENT_EDENIED
                 : resp.status == 413 ? HS_CLIENT_EPAYLOAD
                 : resp.status == 503 ? HS_CLIENT_EUNAVAIL
                                      : HS_CLIENT_EHTTP;
        } else if (q.err[0]) {
            snprintf(ERRBUF(c), "%s", q.err);
            rc = HS_CLIENT_EHTTP;
        } else if (!q.done) {
            snprintf(ERRBUF(c), "the agent ended the query stream without its summary");
            rc = HS_CLIENT_EBADANSWER;
        }
    }
    hs_client_response_free(&resp);
    if (rc == HS_CLIENT_OK && out) {
        rc = parse_query_done(q.done, out);
        q.done = NULL;
    }
    json_decref(q.done);
    return rc;
}
