/* client.c: the libhearsay handle (socket path, timeouts, interrupt flag, last error and
 * body), error codes and their messages, raw requests, percent-encoding, the terminal-safe
 * copy, and the hidden result header that lets one hs_client_free() release any result. */
#include "internal.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESULT_MAGIC 0x68736372u /* "hscr" */

/* The header rounded up so the payload after it is aligned for any type. */
typedef union result_slot {
    hsc_result h;
    max_align_t align;
} result_slot;

HS_CLIENT_API const char *hs_client_version(void)
{
    return HS_CLIENT_VERSION;
}

HS_CLIENT_API const char *hs_client_strerror(int err)
{
    switch (err) {
    case HS_CLIENT_OK:
        return "success";
    case HS_CLIENT_ECONNECT:
        return "agent not reachable";
    case HS_CLIENT_EPROTO:
        return "I/O error or malformed answer from the agent";
    case HS_CLIENT_ETIMEDOUT:
        return "timed out waiting for the agent";
    case HS_CLIENT_EINTR:
        return "interrupted";
    case HS_CLIENT_ESTOPPED:
        return "stopped by the callback";
    case HS_CLIENT_ETOOBIG:
        return "answer too large";
    case HS_CLIENT_EHTTP:
        return "error answer from the agent";
    case HS_CLIENT_ENOTFOUND:
        return "not found";
    case HS_CLIENT_EDENIED:
        return "permission denied";
    case HS_CLIENT_EBUSY:
        return "busy: a conflicting change is in progress";
    case HS_CLIENT_EUNAVAIL:
        return "unavailable: no leader, not committed in time, or agent leaving";
    case HS_CLIENT_EBADANSWER:
        return "unexpected answer from the agent";
    case HS_CLIENT_EINVAL:
        return "invalid argument";
    case HS_CLIENT_ENOMEM:
        return "out of memory";
    case HS_CLIENT_EPAYLOAD:
        return "payload larger than 8192 bytes";
    default:
        return "unknown error";
    }
}

HS_CLIENT_API hs_client *hs_client_open(const char *socket_path)
{
    if (!socket_path || !*socket_path) {
        const char *env = getenv("HEARSAY_SOCKET");
        socket_path = env && *env ? env : HS_CLIENT_DEFAULT_SOCKET;
    }
    hs_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->socket_path = strdup(socket_path);
    if (!c->socket_path) {
        free(c);
        return NULL;
    }
    c->timeout_ms = HS_CLIENT_DEFAULT_TIMEOUT_MS;
    c->commit_timeout_ms = HS_CLIENT_DEFAULT_COMMIT_TIMEOUT_MS;
    return c;
}

HS_CLIENT_API void hs_client_close(hs_client *c)
{
    if (!c) return;
    free(c->last_body);
    free(c->socket_path);
    free(c);
}

HS_CLIENT_API const char *hs_client_socket_path(const hs_client *c)
{
    return c ? c->socket_path : NULL;
}

HS_CLIENT_API void hs_client_set_timeout(hs_client *c, int timeout_ms)
{
    if (c) c->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

HS_CLIENT_API void hs_client_set_commit_timeout(hs_client *c, int timeout_ms)
{
    if (c) c->commit_timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

HS_CLIENT_API void hs_client_set_interrupt(hs_client *c, volatile sig_atomic_t *flag)
{
    if (c) c->interrupt = flag;
}

HS_CLIENT_API const char *hs_client_last_error(const hs_client *c)
{
    return c ? c->last_error : "no handle";
}

HS_CLIENT_API int hs_client_last_status(const hs_client *c)
{
    return c ? c->last_status : 0;
}

HS_CLIENT_API const char *hs_client_last_body(const hs_client *c, size_t *len)
{
    bool have = c && c->last_body;
    if (len) *len = have ? c->last_body_len : 0;
    return have ? c->last_body : "";
}

void hsc_reset(hs_client *c)
{
    c->last_status = 0;
    c->last_error[0] = '\0';
    free(c->last_body);
    c->last_body = NULL;
    c->last_body_len = 0;
}

int hsc_keep_body(hs_client *c, hs_client_response *resp, int rc)
{
    free(c->last_body);
    c->last_body = resp->body;
    c->last_body_len = resp->body_len;
    resp->body = NULL;
    resp->body_len = 0;
    return rc;
}

/* ---- results --------------------------------------------------------------------------- */

void *hsc_result_new(size_t size, json_t *doc)
{
    result_slot *s = calloc(1, sizeof *s + size);
    if (!s) return NULL;
    s->h.magic = RESULT_MAGIC;
    s->h.doc = doc;
    return s + 1;
}

void *hsc_result_parse(const char *body, size_t len, size_t size, json_t **doc, int *rc, char *err,
                       size_t errlen)
{
    *rc = hsc_load_object(body, len, doc, err, errlen);
    if (*rc) return NULL;
    void *r = hsc_result_new(size, *doc);
    if (!r) {
        json_decref(*doc);
        *rc = hsc_nomem(err, errlen);
    }
    return r;
}

static hsc_result *header_of(void *r)
{
    result_slot *s = (result_slot *)r - 1;
    return s->h.magic == RESULT_MAGIC ? &s->h : NULL;
}

json_t *hsc_result_doc(const void *r)
{
    const hsc_result *h = r ? header_of((void *)r) : NULL;
    return h ? h->doc : NULL;
}

void *hsc_result_alloc(void *r, size_t n, size_t size)
{
    hsc_result *h = header_of(r);
    if (!h) return NULL;
    for (int i = 0; i < HSC_MAX_ALLOCS; i++) {
        if (h->allocs[i]) continue;
        h->allocs[i] = calloc(n ? n : 1, size);
        return h->allocs[i];
    }
    return NULL;
}

const char **hsc_strings(void *res, json_t *arr, size_t *n)
{
    size_t i, k = 0;
    json_t *v;
    json_array_foreach(arr, i, v) k += json_is_string(v);
    const char **out = hsc_result_alloc(res, k, sizeof *out);
    *n = 0;
    if (!out) return NULL;
    json_array_foreach(arr, i, v) if (json_is_string(v)) out[(*n)++] = json_string_value(v);
    return out;
}

HS_CLIENT_API void hs_client_free(void *result)
{
    if (!result) return;
    hsc_result *h = header_of(result);
    if (!h) return; /* not one of ours: leak rather than corrupt the heap */
    for (int i = 0; i < HSC_MAX_ALLOCS; i++) free(h->allocs[i]);
    json_decref(h->doc);
    h->magic = 0;
    free((result_slot *)result - 1);
}

/* ---- text helpers ---------------------------------------------------------------------- */

/* Bytes at p to drop-and-replace, or 0 if the character is printable. */
static size_t control_len(const unsigned char *p)
{
    if (*p < 0x20 || *p == 0x7f) return 1;
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return 2;
    return 0;
}

HS_CLIENT_API void hs_client_safe_copy(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (!out || cap == 0) return;
    if (!s) s = "";
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 1 < cap;) {
        size_t c = control_len(p);
        if (c) {
            out[n++] = '?';
            p += c;
        } else
            out[n++] = (char)*p++;
    }
    out[n] = '\0';
}

const char *hsc_jstr(json_t *obj, const char *key, const char *dflt)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int64_t hsc_jint(json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v)) return (int64_t)json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -9.2e18 && d <= 9.2e18) return (int64_t)d;
    }
    return dflt;
}

uint64_t hsc_ju64(json_t *obj, const char *key)
{
    int64_t v = hsc_jint(obj, key, 0);
    return v < 0 ? 0 : (uint64_t)v;
}

HS_CLIENT_API int hs_client_url_encode(char *buf, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!buf || !s) return -1;
    size_t start = strnlen(buf, cap), n = start;
    if (n >= cap) return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        size_t need = plain ? 1 : 3;
        if (n + need + 1 > cap) {
            buf[start] = '\0';
            return -1;
        }
        if (plain)
            buf[n++] = (char)*p;
        else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        }
    }
    buf[n] = '\0';
    return 0;
}

/* ---- raw requests ---------------------------------------------------------------------- */

HS_CLIENT_API void hs_client_response_free(hs_client_response *resp)
{
    if (!resp) return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

HS_CLIENT_API void hs_client_response_message(const hs_client_response *resp, char *out, size_t cap)
{
    if (!out || cap == 0) return;
    json_t *j = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *msg = j ? hsc_jstr(j, "error", NULL) : NULL;
    if (msg && *msg)
        hs_client_safe_copy(out, cap, msg);
    else {
        char first[200] = "";
        if (resp->body && resp->body_len) {
            size_t n = strcspn(resp->body, "\r\n");
            if (n >= sizeof first) n = sizeof first - 1;
            char tmp[200];
            memcpy(tmp, resp->body, n);
            tmp[n] = '\0';
            hs_client_safe_copy(first, sizeof first, tmp);
        }
        snprintf(out, cap, "agent answered HTTP %d%s%s", resp->status, first[0] ? ": " : "", first);
    }
    json_decref(j);
}

HS_CLIENT_API int hs_client_request_ex(hs_client *c, const char *method, const char *path,
                                       const char *content_type, const void *body, size_t body_len,
                                       hs_client_response *resp)
{
    if (resp) memset(resp, 0, sizeof *resp);
    if (!c) return HS_CLIENT_EINVAL;
    hsc_reset(c);
    if (!method || !*method || !path || path[0] != '/' || !resp || (body_len && !body)) {
        snprintf(c->last_error, sizeof c->last_error, "invalid argument");
        return HS_CLIENT_EINVAL;
    }
    hs_http_request req = {.socket_path = c->socket_path,
                           .method = method,
                           .target = path,
                           .content_type = body_len || content_type ? content_type : NULL,
                           .body = body,
                           .body_len = body_len,
                           .timeout_ms = c->timeout_ms,
                           .interrupt = c->interrupt};
    if (body_len && !req.content_type) req.content_type = "application/octet-stream";
    int rc = hsc_http_do(&req, resp, c->last_error, sizeof c->last_error);
    if (rc == HS_CLIENT_OK) c->last_status = resp->status;
    return rc;
}

HS_CLIENT_API int hs_client_request(hs_client *c, const char *method, const char *path,
                                    const char *body, hs_client_response *resp)
{
    return hs_client_request_ex(c, method, path, body ? "application/json" : NULL, body,
                                body ? strlen(body) : 0, resp);
}
