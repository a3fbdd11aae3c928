/* calls.c: libhearsay's typed calls (members, self, health, raft, metrics, tags, join, leave,
 * config get/set, seed changes): each builds the request, maps an error answer to an
 * HS_CLIENT_* code with the agent's message, and turns the JSON answer into plain C structs
 * whose strings point into the parsed document kept alive by the result (hs_client_free). */
#include "internal.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hsc_bad(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return HS_CLIENT_EBADANSWER;
}

int hsc_nomem(char *err, size_t errlen)
{
    if (err && errlen) snprintf(err, errlen, "out of memory");
    return HS_CLIENT_ENOMEM;
}

int hsc_load_object(const char *body, size_t len, json_t **doc, char *err, size_t errlen)
{
    json_error_t e;
    *doc = json_loadb(body ? body : "", body ? len : 0, 0, &e);
    if (json_is_object(*doc)) return HS_CLIENT_OK;
    char msg[160];
    hs_client_safe_copy(msg, sizeof msg, *doc ? "not a JSON object" : e.text);
    json_decref(*doc);
    *doc = NULL;
    return hsc_bad(err, errlen, "bad answer from agent: %s", msg);
}

hs_client_status hsc_status_parse(const char *s)
{
    if (!s) return HS_CLIENT_STATUS_UNKNOWN;
    if (strcmp(s, "alive") == 0) return HS_CLIENT_ALIVE;
    if (strcmp(s, "suspect") == 0) return HS_CLIENT_SUSPECT;
    if (strcmp(s, "failed") == 0) return HS_CLIENT_FAILED;
    if (strcmp(s, "left") == 0) return HS_CLIENT_LEFT;
    return HS_CLIENT_STATUS_UNKNOWN;
}

HS_CLIENT_API const char *hs_client_status_name(hs_client_status s)
{
    switch (s) {
    case HS_CLIENT_ALIVE:
        return "alive";
    case HS_CLIENT_SUSPECT:
        return "suspect";
    case HS_CLIENT_FAILED:
        return "failed";
    case HS_CLIENT_LEFT:
        return "left";
    default:
        return "unknown";
    }
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const hs_client_tag *)a)->key, ((const hs_client_tag *)b)->key);
}

/* Number of string-valued entries of a tags object (others are skipped). */
static size_t count_tags(json_t *tags)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    if (!json_is_object(tags)) return 0;
    json_object_foreach(tags, k, v) n += json_is_string(v) ? 1 : 0;
    return n;
}

/* Fills out (room for count_tags(tags)) sorted by key; returns the number filled. */
static size_t fill_tags(json_t *tags, hs_client_tag *out)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    if (!json_is_object(tags)) return 0;
    json_object_foreach(tags, k, v)
    {
        if (!json_is_string(v)) continue;
        out[n].key = k;
        out[n].value = json_string_value(v);
        n++;
    }
    qsort(out, n, sizeof *out, cmp_tag);
    return n;
}

/* Fills m from a MEMBER object; its tags go to *tagp, which advances. */
static void fill_member(json_t *o, hs_client_member *m, hs_client_tag **tagp)
{
    m->name = hsc_jstr(o, "name", "");
    m->addr = hsc_jstr(o, "addr", "");
    m->status_name = hsc_jstr(o, "status", "");
    m->status = hsc_status_parse(m->status_name);
    m->incarnation = hsc_ju64(o, "incarnation");
    m->status_since_ms = hsc_ju64(o, "status_since_ms");
    m->config_version = hsc_ju64(o, "config_version");
    m->tags = *tagp;
    m->n_tags = fill_tags(json_object_get(o, "tags"), *tagp);
    *tagp += m->n_tags;
}

HS_CLIENT_API const char *hs_client_member_tag(const hs_client_member *m, const char *key)
{
    if (!m || !key) return NULL;
    for (size_t i = 0; i < m->n_tags; i++)
        if (strcmp(m->tags[i].key, key) == 0) return m->tags[i].value;
    return NULL;
}

int hsc_parse_members(const char *body, size_t len, hs_client_member_list **out, char *err,
                      size_t errlen)
{
    json_t *doc, *arr, *m;
    int rc;
    *out = NULL;
    hs_client_member_list *l = hsc_result_parse(body, len, sizeof *l, &doc, &rc, err, errlen);
    if (!l) return rc;
    if (!json_is_array(arr = json_object_get(doc, "members")))
        rc = hsc_bad(err, errlen, "bad answer from agent: no \"members\" array");
    size_t ntags = 0, i;
    json_array_foreach(arr, i, m)
    {
        if (!rc && !json_is_object(m))
            rc = hsc_bad(err, errlen, "bad answer from agent: member %zu is not an object", i);
        ntags += count_tags(json_object_get(m, "tags"));
    }
    hs_client_member *members = hsc_result_alloc(l, json_array_size(arr), sizeof *members);
    hs_client_tag *tp = hsc_result_alloc(l, ntags, sizeof *tp);
    if (!rc && (!members || !tp)) rc = hsc_nomem(err, errlen);
    if (!rc) json_array_foreach(arr, i, m) fill_member(m, &members[i], &tp);
    l->members = members;
    l->count = rc ? 0 : json_array_size(arr);
    if (rc)
        hs_client_free(l);
    else
        *out = l;
    return rc;
}

HS_CLIENT_API const hs_client_member *hs_client_member_find(const hs_client_member_list *l,
                                                            const char *name)
{
    if (!l || !name) return NULL;
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->members[i].name, name) == 0) return &l->members[i];
    return NULL;
}

HS_CLIENT_API void hs_client_member_list_count(const hs_client_member_list *l,
                                               hs_client_counts *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; l && i < l->count; i++) {
        switch (l->members[i].status) {
        case HS_CLIENT_LEFT:
            out->left++;
            continue;
        case HS_CLIENT_ALIVE:
            out->alive++;
            break;
        case HS_CLIENT_SUSPECT:
            out->suspect++;
            break;
        default: /* failed, or a status this version does not know: not healthy */
            out->failed++;
            break;
        }
        out->total++;
    }
}

int hsc_parse_self(const char *body, size_t len, hs_client_self_info **out, char *err,
                   size_t errlen)
{
    json_t *doc, *v;
    int rc;
    *out = NULL;
    hs_client_self_info *s = hsc_result_parse(body, len, sizeof *s, &doc, &rc, err, errlen);
    if (!s) return rc;
    json_t *stats = json_object_get(doc, "stats");
    size_t nstats = 0;
    const char *k;
    json_object_foreach(stats, k, v) nstats += json_is_number(v);
    hs_client_tag *tags =
        hsc_result_alloc(s, count_tags(json_object_get(doc, "tags")), sizeof *tags);
    hs_client_stat *st = hsc_result_alloc(s, nstats, sizeof *st);
    if (!json_is_string(json_object_get(doc, "name")))
        rc = hsc_bad(err, errlen, "bad answer from agent: no \"name\"");
    else if (!tags || !st)
        rc = hsc_nomem(err, errlen);
    if (rc) {
        hs_client_free(s);
        return rc;
    }
    fill_member(doc, &s->member, &tags);
    json_object_foreach(stats, k, v)
    {
        if (!json_is_number(v)) continue;
        st[s->n_stats].name = k;
        st[s->n_stats].value = hsc_jint(stats, k, 0);
        s->n_stats++;
    }
    s->stats = st;
    s->uptime_ms = hsc_ju64(stats, "uptime_ms");
    *out = s;
    return HS_CLIENT_OK;
}

HS_CLIENT_API int64_t hs_client_self_stat(const hs_client_self_info *s, const char *name,
                                          int64_t dflt)
{
    if (!s || !name) return dflt;
    for (size_t i = 0; i < s->n_stats; i++)
        if (strcmp(s->stats[i].name, name) == 0) return s->stats[i].value;
    return dflt;
}

/* Fills r from a RAFT object; the seed names array is allocated with result res. */
static int fill_raft(void *res, json_t *o, hs_client_raft_info *r)
{
    r->state = hsc_jstr(o, "state", "none");
    r->leader = hsc_jstr(o, "leader", NULL);
    if (r->leader && !*r->leader) r->leader = NULL;
    r->term = hsc_ju64(o, "term");
    r->commit = hsc_ju64(o, "commit");
    r->applied = hsc_ju64(o, "applied");
    r->config_version = hsc_ju64(o, "config_version");
    r->first_index = hsc_ju64(o, "first_index");
    r->last_index = hsc_ju64(o, "last_index");
    json_t *seeds = json_object_get(o, "seeds"), *s;
    size_t n = 0, i;
    json_array_foreach(seeds, i, s) n += json_is_string(s) || json_is_object(s);
    const char **names = hsc_result_alloc(res, n, sizeof *names);
    if (!names) return HS_CLIENT_ENOMEM;
    json_array_foreach(seeds, i, s)
    {
        const char *name = json_is_string(s) ? json_string_value(s) : hsc_jstr(s, "name", "");
        if (json_is_string(s) || json_is_object(s)) names[r->n_seeds++] = name;
    }
    r->seeds = names;
    return HS_CLIENT_OK;
}

int hsc_parse_raft(const char *body, size_t len, hs_client_raft_info **out, char *err,
                   size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_raft_info *r = hsc_result_parse(body, len, sizeof *r, &doc, &rc, err, errlen);
    if (!r) return rc;
    if (!json_is_string(json_object_get(doc, "state")))
        rc = hsc_bad(err, errlen, "bad answer from agent: no raft \"state\"");
    else if (fill_raft(r, doc, r))
        rc = hsc_nomem(err, errlen);
    if (rc)
        hs_client_free(r);
    else
        *out = r;
    return rc;
}

int hsc_parse_health(const char *body, size_t len, hs_client_health_info **out, char *err,
                     size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_health_info *h = hsc_result_parse(body, len, sizeof *h, &doc, &rc, err, errlen);
    if (!h) return rc;
    h->status = hsc_jstr(doc, "status", NULL);
    h->ok = h->status && strcmp(h->status, "ok") == 0;
    h->insecure = json_is_true(json_object_get(doc, "insecure"));
    h->members = hsc_ju64(doc, "members");
    h->alive = hsc_ju64(doc, "alive");
    h->suspect = hsc_ju64(doc, "suspect");
    h->failed = hsc_ju64(doc, "failed");
    h->left = hsc_ju64(doc, "left");
    if (!h->status)
        rc = hsc_bad(err, errlen, "bad answer from agent: no health \"status\"");
    else if (fill_raft(h, json_object_get(doc, "raft"), &h->raft))
        rc = hsc_nomem(err, errlen);
    if (rc)
        hs_client_free(h);
    else
        *out = h;
    return rc;
}

int hsc_parse_tags(const char *body, size_t len, hs_client_tag_list **out, char *err, size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_tag_list *l = hsc_result_parse(body, len, sizeof *l, &doc, &rc, err, errlen);
    if (!l) return rc;
    json_t *tags = json_object_get(doc, "tags");
    hs_client_tag *t = hsc_result_alloc(l, count_tags(tags), sizeof *t);
    if (!json_is_object(tags))
        rc = hsc_bad(err, errlen, "bad answer from agent: no \"tags\" object");
    else if (!t)
        rc = hsc_nomem(err, errlen);
    l->count = rc ? 0 : fill_tags(tags, t);
    l->tags = t;
    if (rc)
        hs_client_free(l);
    else
        *out = l;
    return rc;
}

int hsc_parse_config(const char *body, size_t len, hs_client_config_entry **out, char *err,
                     size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_config_entry *e = hsc_result_parse(body, len, sizeof *e, &doc, &rc, err, errlen);
    if (!e) return rc;
    e->key = hsc_jstr(doc, "key", NULL);
    e->value = hsc_jstr(doc, "value", NULL);
    e->version = hsc_ju64(doc, "version");
    if (!e->key || !e->value)
        rc = hsc_bad(err, errlen, "bad answer from agent: no \"key\" and \"value\"");
    if (rc)
        hs_client_free(e);
    else
        *out = e;
    return rc;
}

/* ---- the calls ------------------------------------------------------------------------- */

int hsc_call(hs_client *c, const char *method, const char *path, const char *ctype,
             const char *body, size_t body_len, int timeout_ms, hs_client_response *resp)
{
    int saved = c->timeout_ms;
    c->timeout_ms = timeout_ms;
    int rc = hs_client_request_ex(c, method, path, ctype, body, body_len, resp);
    c->timeout_ms = saved;
    if (rc) return rc;
    if (resp->status >= 200 && resp->status < 300) return HS_CLIENT_OK;
    hs_client_response_message(resp, ERRBUF(c));
    hs_client_response_free(resp);
    switch (resp->status) {
    case 403:
        return HS_CLIENT_EDENIED;
    case 404:
        return HS_CLIENT_ENOTFOUND;
    case 409:
        return HS_CLIENT_EBUSY;
    case 413:
        return HS_CLIENT_EPAYLOAD;
    case 503:
        return HS_CLIENT_EUNAVAIL;
    default:
        return HS_CLIENT_EHTTP;
    }
}

int hsc_invalid(hs_client *c, const char *fmt, ...)
{
    if (c) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ERRBUF(c), fmt, ap);
        va_end(ap);
    }
    return HS_CLIENT_EINVAL;
}

HS_CLIENT_API int hs_client_members(hs_client *c, const char *status, const char *const *tags,
                                    hs_client_member_list **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "invalid argument");
    char target[HSC_TARGET_MAX] = "/v1/members";
    char sep = '?';
    if (status && *status) {
        strcat(target, "?status=");
        if (hs_client_url_encode(target, sizeof target, status))
            return hsc_invalid(c, "filters too long");
        sep = '&';
    }
    for (size_t i = 0; tags && tags[i]; i++) {
        size_t len = strlen(target);
        if (len + 6 >= sizeof target) return hsc_invalid(c, "filters too long");
        snprintf(target + len, sizeof target - len, "%ctag=", sep);
        if (!tags[i][0] || tags[i][0] == '=') return hsc_invalid(c, "a tag filter needs a KEY");
        if (hs_client_url_encode(target, sizeof target, tags[i]))
            return hsc_invalid(c, "filters too long");
        sep = '&';
    }
    hs_client_response r;
    int rc = hsc_call(c, "GET", target, NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_members(r.body, r.body_len, out, ERRBUF(c)));
}

HS_CLIENT_API int hs_client_count_members(hs_client *c, hs_client_counts *out)
{
    hs_client_member_list *l;
    if (!out) return hsc_invalid(c, "invalid argument");
    memset(out, 0, sizeof *out);
    int rc = hs_client_members(c, NULL, NULL, &l);
    if (rc) return rc;
    hs_client_member_list_count(l, out);
    hs_client_free(l);
    return HS_CLIENT_OK;
}

HS_CLIENT_API int hs_client_self(hs_client *c, hs_client_self_info **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "invalid argument");
    hs_client_response r;
    int rc = hsc_call(c, "GET", "/v1/self", NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_self(r.body, r.body_len, out, ERRBUF(c)));
}

HS_CLIENT_API int hs_client_raft(hs_client *c, hs_client_raft_info **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "invalid argument");
    hs_client_response r;
    int rc = hsc_call(c, "GET", "/v1/raft", NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_raft(r.body, r.body_len, out, ERRBUF(c)));
}

HS_CLIENT_API int hs_client_health(hs_client *c, hs_client_health_info **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "invalid argument");
    /* An unhealthy agent may answer 503 with the health document: that is an answer. */
    hs_client_response r;
    int rc = hs_client_request_ex(c, "GET", "/v1/health", NULL, NULL, 0, &r);
    if (rc) return rc;
    rc = hsc_parse_health(r.body, r.body_len, out, ERRBUF(c));
    if (rc == HS_CLIENT_EBADANSWER && (r.status < 200 || r.status >= 300)) {
        hs_client_response_message(&r, ERRBUF(c));
        rc = r.status == 503 ? HS_CLIENT_EUNAVAIL : HS_CLIENT_EHTTP;
    }
    if (rc == HS_CLIENT_OK && (r.status < 200 || r.status >= 300)) (*out)->ok = 0;
    return hsc_keep_body(c, &r, rc);
}

HS_CLIENT_API int hs_client_metrics(hs_client *c, const char **text, size_t *len)
{
    if (text) *text = "";
    if (len) *len = 0;
    if (!c || !text) return hsc_invalid(c, "invalid argument");
    hs_client_response r;
    int rc = hsc_call(c, "GET", "/v1/metrics", NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    hsc_keep_body(c, &r, rc);
    *text = hs_client_last_body(c, len);
    return HS_CLIENT_OK;
}

/* Sends a JSON body built by the caller (consumed) and parses a tags answer if wanted. */
static int put_tags(hs_client *c, json_t *body, hs_client_tag_list **result)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return hsc_invalid(c, "tag keys and values must be UTF-8");
    hs_client_response r;
    int rc =
        hsc_call(c, "PUT", "/v1/tags", "application/json", text, strlen(text), c->timeout_ms, &r);
    free(text);
    if (rc) return rc;
    hs_client_tag_list *l = NULL;
    rc = hsc_parse_tags(r.body, r.body_len, &l, ERRBUF(c));
    if (result)
        *result = l;
    else
        hs_client_free(l);
    return hsc_keep_body(c, &r, rc);
}
HS_CLIENT_API int hs_client_tags_update(hs_client *c, const hs_client_tag *set, size_t n_set,
                                        const char *const *del, size_t n_del,
                                        hs_client_tag_list **result)
{
    if (result) *result = NULL;
    if (!c || (n_set && !set) || (n_del && !del)) return hsc_invalid(c, "invalid argument");
    json_t *body = json_object(), *s = json_object(), *d = json_array();
    int ok = body && s && d;
    for (size_t i = 0; ok && i < n_set; i++) {
        if (!set[i].key || !*set[i].key || strchr(set[i].key, '=') || !set[i].value) {
            json_decref(body);
            json_decref(s);
            json_decref(d);
            return hsc_invalid(c, "a tag key must be non-empty, without '=', with a value");
        }
        ok = json_object_set_new(s, set[i].key, json_string(set[i].value)) == 0;
    }
    for (size_t i = 0; ok && i < n_del; i++) {
        if (!del[i] || !*del[i] || strchr(del[i], '=')) {
            json_decref(body);
            json_decref(s);
            json_decref(d);
            return hsc_invalid(c, "a tag key must be non-empty, without '='");
        }
        ok = json_array_append_new(d, json_string(del[i])) == 0;
    }
    if (ok && n_set) ok = json_object_set(body, "set", s) == 0;
    if (ok && n_del) ok = json_object_set(body, "delete", d) == 0;
    json_decref(s);
    json_decref(d);
    if (!ok) {
        json_decref(body);
        return hsc_invalid(c, "tag keys and values must be UTF-8");
    }
    return put_tags(c, body, result);
}

HS_CLIENT_API int hs_client_tags_set(hs_client *c, const char *key, const char *value)
{
    hs_client_tag t = {key, value};
    return hs_client_tags_update(c, &t, 1, NULL, 0, NULL);
}

HS_CLIENT_API int hs_client_tags_delete(hs_client *c, const char *key)
{
    return hs_client_tags_update(c, NULL, 0, &key, 1, NULL);
}

HS_CLIENT_API int hs_client_join(hs_client *c, const char *const *addrs, size_t n_addrs,
                                 size_t *contacted)
{
    if (contacted) *contacted = 0;
    if (!c || !addrs || n_addrs == 0) return hsc_invalid(c, "no address given");
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_addrs; i++) {
        if (!addrs[i] || json_array_append_new(arr, json_string(addrs[i])) != 0) {
            json_decref(arr);
            return hsc_invalid(c, "addresses must be HOST:PORT strings");
        }
    }
    json_t *body = arr ? json_pack("{s:o}", "addrs", arr) : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return hsc_invalid(c, "out of memory");
    hs_client_response r;
    int rc =
        hsc_call(c, "POST", "/v1/join", "application/json", text, strlen(text), c->timeout_ms, &r);
    free(text);
    if (rc) return rc;
    json_t *doc;
    rc = hsc_load_object(r.body, r.body_len, &doc, ERRBUF(c));
    int64_t n = hsc_jint(doc, "contacted", -1);
    json_decref(doc);
    if (!rc && n < 0) rc = hsc_bad(ERRBUF(c), "bad answer from agent: no \"contacted\"");
    if (!rc && contacted) *contacted = (size_t)n;
    return hsc_keep_body(c, &r, rc);
}

HS_CLIENT_API int hs_client_leave(hs_client *c)
{
    if (!c) return HS_CLIENT_EINVAL;
    hs_client_response r;
    int rc = hsc_call(c, "POST", "/v1/leave", NULL, NULL, 0, c->timeout_ms, &r);
    return rc ? rc : hsc_keep_body(c, &r, rc);
}

static int config_target(hs_client *c, const char *key, char *target, size_t cap)
{
    if (!key || !*key) return hsc_invalid(c, "empty key");
    snprintf(target, cap, "/v1/config/");
    if (hs_client_url_encode(target, cap, key)) return hsc_invalid(c, "key too long");
    return HS_CLIENT_OK;
}

HS_CLIENT_API int hs_client_config_get(hs_client *c, const char *key, int flags,
                                       hs_client_config_entry **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "invalid argument");
    char target[HSC_TARGET_MAX];
    int rc = config_target(c, key, target, sizeof target - 16);
    if (rc) return rc;
    if (flags & HS_CLIENT_CONSISTENT) strcat(target, "?consistent=1");
    hs_client_response r;
    rc = hsc_call(c, "GET", target, NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_config(r.body, r.body_len, out, ERRBUF(c)));
}

HS_CLIENT_API int hs_client_config_set(hs_client *c, const char *key, const char *value,
                                       uint64_t *version)
{
    if (version) *version = 0;
    if (!c || !value) return hsc_invalid(c, "invalid argument");
    char target[HSC_TARGET_MAX];
    int rc = config_target(c, key, target, sizeof target);
    if (rc) return rc;
    hs_client_response r;
    rc = hsc_call(c, "PUT", target, "text/plain; charset=utf-8", value, strlen(value),
                  c->commit_timeout_ms, &r);
    if (rc) return rc;
    hs_client_config_entry *e;
    rc = hsc_parse_config(r.body, r.body_len, &e, ERRBUF(c));
    if (!rc && version) *version = e->version;
    if (!rc) hs_client_free(e);
    return hsc_keep_body(c, &r, rc);
}

bool hsc_addr_valid(const char *s)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port, *end = s[0] == '[' ? strchr(s, ']') : strchr(s, ':');
    if (!end || (s[0] != '[' && strchr(end + 1, ':'))) return false; /* bare IPv6 */
    size_t hlen = (size_t)(end - s) - (s[0] == '[');
    port = end + 1 + (s[0] == '[');
    if (hlen == 0 || hlen >= sizeof host || (s[0] == '[' && end[1] != ':')) return false;
    memcpy(host, s + (s[0] == '['), hlen);
    host[hlen] = '\0';
    unsigned char ip[16];
    if (inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, host, ip) != 1) return false;
    size_t digits = strspn(port, "0123456789");
    long v = digits && digits <= 5 && !port[digits] ? strtol(port, NULL, 10) : 0;
    return v >= 1 && v <= 65535;
}

/* POST /v1/raft/OP with body (consumed; NULL: the arguments were not UTF-8), answered
 * {"name","op","version"} once committed. */
static int seed_change(hs_client *c, const char *op, json_t *body, uint64_t *version)
{
    char path[32], *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return hsc_invalid(c, "seed names and addresses must be UTF-8");
    snprintf(path, sizeof path, "/v1/raft/%s", op);
    hs_client_response r;
    int rc =
        hsc_call(c, "POST", path, "application/json", text, strlen(text), c->commit_timeout_ms, &r);
    free(text);
    if (rc) return rc;
    json_t *doc;
    rc = hsc_load_object(r.body, r.body_len, &doc, ERRBUF(c));
    if (!rc && version) *version = hsc_ju64(doc, "version");
    json_decref(doc);
    return hsc_keep_body(c, &r, rc);
}

HS_CLIENT_API int hs_client_raft_add_seed(hs_client *c, const char *name, const char *addr,
                                          uint64_t *version)
{
    if (version) *version = 0;
    if (!c || !name || !*name) return hsc_invalid(c, "empty seed name");
    if (!addr || !hsc_addr_valid(addr)) {
        char safe[80];
        hs_client_safe_copy(safe, sizeof safe, addr);
        return hsc_invalid(c, "bad address '%s' (want HOST:PORT)", safe);
    }
    return seed_change(c, "add-seed", json_pack("{s:s,s:s}", "name", name, "addr", addr), version);
}

HS_CLIENT_API int hs_client_raft_remove_seed(hs_client *c, const char *name, uint64_t *version)
{
    if (version) *version = 0;
    if (!c || !name || !*name) return hsc_invalid(c, "empty seed name");
    return seed_change(c, "remove-seed", json_pack("{s:s}", "name", name), version);
}
