/* operator.c: libhearsay's calls for the operator's controls: hs_client_force_leave and
 * hs_client_readmit (removals through the Raft group), hs_client_fd and hs_client_fd_set (the
 * run-time failure-detection settings), hs_client_member_history (`hearsay explain`) and
 * hs_client_member_note (a member's extra fields), with the parsers of their answers. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

HS_CLIENT_API const char *hs_client_member_note(const hs_client_member_list *l,
                                                const hs_client_member *m, const char *field)
{
    if (!l || !m || !field || m < l->members || m >= l->members + l->count) return NULL;
    json_t *arr = json_object_get(hsc_result_doc(l), "members");
    json_t *v = json_object_get(json_array_get(arr, (size_t)(m - l->members)), field);
    return json_is_true(v) ? "true" : json_string_value(v);
}

/* ---- force-leave, readmit ---- */

int hsc_parse_removal(const char *body, size_t len, hs_client_removal **out, char *err,
                      size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_removal *r = hsc_result_parse(body, len, sizeof *r, &doc, &rc, err, errlen);
    if (!r) return rc;
    r->name = hsc_jstr(doc, "name", "");
    r->removed = json_is_true(json_object_get(doc, "removed"));
    r->prune = json_is_true(json_object_get(doc, "prune"));
    r->already = json_is_true(json_object_get(doc, "already"));
    r->known = json_is_true(json_object_get(doc, "known"));
    r->version = hsc_ju64(doc, "version");
    if (!json_is_boolean(json_object_get(doc, "removed"))) {
        hs_client_free(r);
        return hsc_bad(err, errlen, "bad answer from agent: no \"removed\"");
    }
    *out = r;
    return HS_CLIENT_OK;
}

static int removal(hs_client *c, const char *path, json_t *body, hs_client_removal **out)
{
    if (out) *out = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return hsc_invalid(c, "member names must be UTF-8");
    hs_client_response r;
    int rc =
        hsc_call(c, "POST", path, "application/json", text, strlen(text), c->commit_timeout_ms, &r);
    free(text);
    if (rc) return rc;
    hs_client_removal *res = NULL;
    rc = hsc_parse_removal(r.body, r.body_len, &res, ERRBUF(c));
    if (out)
        *out = res;
    else
        hs_client_free(res);
    return hsc_keep_body(c, &r, rc);
}

HS_CLIENT_API int hs_client_force_leave(hs_client *c, const char *name, int flags,
                                        hs_client_removal **out)
{
    if (out) *out = NULL;
    if (!c || !name || !*name) return hsc_invalid(c, "empty member name");
    return removal(c, "/v1/force-leave",
                   json_pack("{s:s,s:b}", "name", name, "prune", (flags & HS_CLIENT_PRUNE) != 0),
                   out);
}

HS_CLIENT_API int hs_client_readmit(hs_client *c, const char *name, hs_client_removal **out)
{
    if (out) *out = NULL;
    if (!c || !name || !*name) return hsc_invalid(c, "empty member name");
    return removal(c, "/v1/readmit", json_pack("{s:s}", "name", name), out);
}

/* ---- failure-detection settings ---- */

int hsc_parse_fd(const char *body, size_t len, hs_client_fd_info **out, char *err, size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_fd_info *f = hsc_result_parse(body, len, sizeof *f, &doc, &rc, err, errlen);
    if (!f) return rc;
    json_t *set = json_object_get(doc, "settings"), *over = json_object_get(doc, "overrides");
    if (!json_is_object(set)) {
        hs_client_free(f);
        return hsc_bad(err, errlen, "bad answer from agent: no \"settings\" object");
    }
    hs_client_fd_setting *s = hsc_result_alloc(f, json_object_size(set), sizeof *s);
    if (!s) {
        hs_client_free(f);
        return hsc_nomem(err, errlen);
    }
    const char *k;
    json_t *v;
    json_object_foreach(set, k, v)
    {
        s[f->n_settings].key = k;
        s[f->n_settings].value =
            json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
        s[f->n_settings++].override = json_string_value(json_object_get(over, k));
    }
    f->settings = s;
    f->version = hsc_ju64(doc, "version");
    f->profile = hsc_jstr(doc, "profile", "");
    f->agent_profile = hsc_jstr(doc, "agent_profile", "");
    f->cluster_profile = json_string_value(json_object_get(over, "profile"));
    *out = f;
    return HS_CLIENT_OK;
}

HS_CLIENT_API int hs_client_fd(hs_client *c, hs_client_fd_info **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "invalid argument");
    hs_client_response r;
    int rc = hsc_call(c, "GET", "/v1/fd", NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_fd(r.body, r.body_len, out, ERRBUF(c)));
}

HS_CLIENT_API int hs_client_fd_set(hs_client *c, const char *key, const char *value,
                                   hs_client_fd_info **out)
{
    if (out) *out = NULL;
    if (!c || !key || !*key) return hsc_invalid(c, "empty setting name");
    char target[HSC_TARGET_MAX] = "/v1/fd/";
    if (hs_client_url_encode(target, sizeof target, key)) return hsc_invalid(c, "key too long");
    hs_client_response r;
    int rc = hsc_call(c, value ? "PUT" : "DELETE", target, value ? "text/plain" : NULL, value,
                      value ? strlen(value) : 0, c->commit_timeout_ms, &r);
    if (rc) return rc;
    hs_client_fd_info *f = NULL;
    rc = hsc_parse_fd(r.body, r.body_len, &f, ERRBUF(c));
    if (out)
        *out = f;
    else
        hs_client_free(f);
    return hsc_keep_body(c, &r, rc);
}

/* ---- a member's history ---- */

int hsc_parse_history(const char *body, size_t len, hs_client_history **out, char *err,
                      size_t errlen)
{
    json_t *doc, *arr, *e;
    int rc;
    *out = NULL;
    hs_client_history *h = hsc_result_parse(body, len, sizeof *h, &doc, &rc, err, errlen);
    if (!h) return rc;
    if (!json_is_array(arr = json_object_get(doc, "history"))) {
        hs_client_free(h);
        return hsc_bad(err, errlen, "bad answer from agent: no \"history\" array");
    }
    size_t nvotes = 0, i;
    json_array_foreach(arr, i, e) nvotes += json_array_size(json_object_get(e, "votes"));
    hs_client_history_entry *en = hsc_result_alloc(h, json_array_size(arr), sizeof *en);
    hs_client_vote *vs = hsc_result_alloc(h, nvotes, sizeof *vs);
    if (!en || !vs) {
        hs_client_free(h);
        return hsc_nomem(err, errlen);
    }
    json_array_foreach(arr, i, e)
    {
        hs_client_history_entry *x = &en[i];
        x->time_ms = hsc_jint(e, "time_ms", 0);
        x->ago_ms = hsc_ju64(e, "ago_ms");
        x->event = hsc_jstr(e, "event", "");
        x->status_name = hsc_jstr(e, "status", "");
        x->status = hsc_status_parse(x->status_name);
        x->incarnation = hsc_ju64(e, "incarnation");
        x->by = hsc_jstr(e, "by", "");
        x->learnt = json_is_true(json_object_get(e, "learnt"));
        x->addr = hsc_jstr(e, "addr", "");
        x->votes = vs;
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(e, "votes"), k, v)
        {
            vs->name = hsc_jstr(v, "name", "");
            vs->time_ms = hsc_jint(v, "time_ms", 0);
            vs++;
            x->n_votes++;
        }
    }
    h->entries = en;
    h->count = json_array_size(arr);
    h->name = hsc_jstr(doc, "name", "");
    h->addr = hsc_jstr(doc, "addr", "");
    h->status_name = hsc_jstr(doc, "status", "");
    h->status = hsc_status_parse(h->status_name);
    h->incarnation = hsc_ju64(doc, "incarnation");
    *out = h;
    return HS_CLIENT_OK;
}

HS_CLIENT_API int hs_client_member_history(hs_client *c, const char *name, hs_client_history **out)
{
    if (out) *out = NULL;
    if (!c || !out || !name || !*name) return hsc_invalid(c, "empty member name");
    char target[HSC_TARGET_MAX] = "/v1/members/";
    if (hs_client_url_encode(target, sizeof target - 16, name))
        return hsc_invalid(c, "name too long");
    strcat(target, "/history");
    hs_client_response r;
    int rc = hsc_call(c, "GET", target, NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_history(r.body, r.body_len, out, ERRBUF(c)));
}
