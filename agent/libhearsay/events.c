/* events.c: hs_client_events, the GET /v1/events stream, and hsc_stream (any stream of lines,
 * the monitor's too): the chunked body is split into lines (at most 1 MiB each; blank
 * keep-alive lines skipped), each line is parsed into an hs_client_event (or handed over as it
 * is) and given to the caller's callback. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const event_names[] = {
    "",
    "member-join",
    "member-update",
    "member-suspect",
    "member-alive",
    "member-failed",
    "member-leave",
    "member-reap",
    "config-change",
    "lagged",
    "user-event",
    "query",
};

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const hs_client_tag *)a)->key, ((const hs_client_tag *)b)->key);
}

int hsc_parse_event(const char *line, size_t len, hs_client_event *ev, hs_client_tag **tags,
                    json_t **doc)
{
    memset(ev, 0, sizeof *ev);
    *tags = NULL;
    ev->raw = line;
    ev->raw_len = len;
    ev->id = ev->resume_since = -1;
    ev->type_name = ev->name = ev->addr = ev->status_name = "";
    ev->user_name = ev->user_id = ev->payload = "";
    *doc = json_loadb(line ? line : "", line ? len : 0, 0, NULL);
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        ev->type = HS_CLIENT_EVENT_MALFORMED;
        return HS_CLIENT_OK;
    }
    json_t *o = *doc;
    ev->type_name = hsc_jstr(o, "event", "");
    ev->type = HS_CLIENT_EVENT_OTHER;
    for (size_t i = 1; i < sizeof event_names / sizeof *event_names; i++)
        if (strcmp(ev->type_name, event_names[i]) == 0) ev->type = (hs_client_event_type)i;
    ev->id = hsc_jint(o, "id", -1);
    ev->name = hsc_jstr(o, "name", "");
    ev->addr = hsc_jstr(o, "addr", "");
    ev->status_name = hsc_jstr(o, "status", "");
    ev->status = hsc_status_parse(ev->status_name);
    int64_t v = hsc_jint(o, "incarnation", 0);
    ev->incarnation = v < 0 ? 0 : (uint64_t)v;
    ev->time_ms = hsc_jint(o, "time_ms", 0);
    v = hsc_jint(o, "config_version", 0);
    ev->config_version = v < 0 ? 0 : (uint64_t)v;
    ev->missed = hsc_ju64(o, "missed");
    ev->user_name = hsc_jstr(o, ev->type == HS_CLIENT_QUERY ? "query" : "user_event", "");
    ev->user_id = hsc_jstr(o, "user_id", "");
    ev->ltime = hsc_ju64(o, "ltime");
    json_t *p = json_object_get(o, "payload");
    ev->payload = json_is_string(p) ? json_string_value(p) : p ? "" : NULL;
    ev->payload_len = json_is_string(p) ? json_string_length(p) : 0;
    ev->payload_base64 = hsc_jstr(o, "payload_base64", NULL);
    if (!p && !ev->payload_base64) ev->payload = "";
    ev->resume_since = hsc_jint(o, "resume_since", -1);
    json_t *t = json_object_get(o, "tags");
    size_t n = json_is_object(t) ? json_object_size(t) : 0;
    if (n) {
        *tags = calloc(n, sizeof **tags);
        if (!*tags) return HS_CLIENT_ENOMEM;
        const char *k;
        json_t *val;
        json_object_foreach(t, k, val)
        {
            if (!json_is_string(val) || ev->n_tags >= n) continue;
            (*tags)[ev->n_tags].key = k;
            (*tags)[ev->n_tags].value = json_string_value(val);
            ev->n_tags++;
        }
        qsort(*tags, ev->n_tags, sizeof **tags, cmp_tag);
        ev->tags = *tags;
    }
    return HS_CLIENT_OK;
}

/* One complete line: nonzero to stop. */
static int deliver(hsc_lines *s, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
    if (len == 0) return 0; /* keep-alive blank line */
    if (s->raw) return s->raw(line, len, s->ctx);
    hs_client_event ev;
    hs_client_tag *tags;
    json_t *doc;
    if (hsc_parse_event(line, len, &ev, &tags, &doc)) {
        s->no_mem = true;
        json_decref(doc);
        return 1;
    }
    int stop = s->cb(&ev, s->ctx);
    free(tags);
    json_decref(doc);
    return stop;
}

int hsc_lines_feed(void *ctx, const char *p, size_t n)
{
    hsc_lines *s = ctx;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!s->skipping) {
            if (s->len + take > HSC_EVENT_LINE && s->raw) {
                s->skipping = true; /* a log line is never this long: not the agent's */
                s->len = 0;
            } else if (s->len + take > HSC_EVENT_LINE) {
                hs_client_event ev;
                memset(&ev, 0, sizeof ev);
                ev.type = HS_CLIENT_EVENT_MALFORMED;
                ev.id = ev.resume_since = -1;
                ev.type_name = ev.name = ev.addr = ev.status_name = "";
                ev.user_name = ev.user_id = ev.payload = "";
                ev.raw_len = s->len + take;
                s->skipping = true;
                s->len = 0;
                if (s->cb(&ev, s->ctx)) return 1;
            } else {
                if (s->len + take + 1 > s->cap) {
                    size_t cap = s->cap ? s->cap : 4096;
                    while (cap < s->len + take + 1) cap *= 2;
                    char *l = realloc(s->line, cap);
                    if (!l) {
                        s->no_mem = true;
                        return 1;
                    }
                    s->line = l;
                    s->cap = cap;
                }
                memcpy(s->line + s->len, p, take);
                s->len += take;
            }
        }
        p += take;
        n -= take;
        if (nl) {
            p++;
            n--;
            if (!s->skipping && deliver(s, s->line ? s->line : "", s->len)) return 1;
            s->skipping = false;
            s->len = 0;
        }
    }
    return 0;
}

int hsc_stream(hs_client *c, const char *target, hsc_lines *lines)
{
    hsc_reset(c);
    hs_http_request req = {.socket_path = c->socket_path,
                           .method = "GET",
                           .target = target,
                           .timeout_ms = c->timeout_ms,
                           .sink = hsc_lines_feed,
                           .sink_ctx = lines,
                           .interrupt = c->interrupt};
    hs_client_response resp;
    int rc = hsc_http_do(&req, &resp, c->last_error, sizeof c->last_error);
    free(lines->line);
    if (rc == HS_CLIENT_ESTOPPED && lines->no_mem) {
        snprintf(c->last_error, sizeof c->last_error, "out of memory");
        rc = HS_CLIENT_ENOMEM;
    } else if (rc == HS_CLIENT_ESTOPPED)
        snprintf(c->last_error, sizeof c->last_error, "stopped by the callback");
    if (rc == HS_CLIENT_OK) {
        c->last_status = resp.status;
        if (resp.status < 200 || resp.status >= 300) {
            hs_client_response_message(&resp, c->last_error, sizeof c->last_error);
            rc = resp.status == 404   ? HS_CLIENT_ENOTFOUND
                 : resp.status == 403 ? HS_CLIENT_EDENIED
                 : resp.status == 503 ? HS_CLIENT_EUNAVAIL
                                      : HS_CLIENT_EHTTP;
        }
    }
    hs_client_response_free(&resp);
    return rc;
}

HS_CLIENT_API int hs_client_events(hs_client *c, int64_t since, hs_client_event_cb cb, void *ctx)
{
    if (!c || !cb) return HS_CLIENT_EINVAL;
    char target[64];
    if (since >= 0)
        snprintf(target, sizeof target, "/v1/events?since=%lld", (long long)since);
    else
        snprintf(target, sizeof target, "/v1/events");
    hsc_lines lines = {.cb = cb, .ctx = ctx};
    return hsc_stream(c, target, &lines);
}
