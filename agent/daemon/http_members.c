/* http_members.c: the membership endpoints of docs/api.md: GET /v1/members, /v1/self,
 * /v1/health, POST /v1/join, /v1/leave, PUT /v1/tags. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_internal.h"
#include "json_util.h"
#include "log.h"

#define JOIN_ADDRS_MAX 64

static int by_name(const void *a, const void *b)
{
    const hs_member_info *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Does the member have every K=V tag asked for? */
static bool tags_match(const hs_member_info *mi, struct evkeyvalq *q)
{
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, q, next)
    {
        if (strcmp(kv->key, "tag")) continue;
        const char *eq = strchr(kv->value, '=');
        char key[HS_TAGS_MAX + 1];
        size_t kl = eq ? (size_t)(eq - kv->value) : strlen(kv->value);
        if (kl >= sizeof(key)) return false;
        memcpy(key, kv->value, kl);
        key[kl] = '\0';
        const char *have = hs_tags_get(mi->tags, key);
        if (!have) return false;
        if (eq && strcmp(have, eq + 1) != 0) return false;
    }
    return true;
}

void hsd_api_members(hsd_engine *e, struct evhttp_request *req, struct evkeyvalq *q)
{
    const hs_node *node = hs_agent_node(hsd_engine_agent(e));
    /* status filter: ?status=S, repeated or comma-separated */
    bool want[4] = {false, false, false, false}, any_status = false;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, q, next)
    {
        if (strcmp(kv->key, "status")) continue;
        char buf[128];
        if (strlen(kv->value) >= sizeof(buf)) {
            hsd_http_error(req, 400, "bad status filter");
            return;
        }
        strcpy(buf, kv->value);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            hs_status s;
            if (hs_status_parse(t, &s) != 0 || (unsigned)s > 3) {
                hsd_http_error(req, 400, "status must be alive, suspect, failed or left");
                return;
            }
            want[s] = true;
            any_status = true;
        }
    }
    size_t total = hs_node_member_count(node);
    hs_member_info *list = calloc(total ? total : 1, sizeof(*list));
    if (!list) {
        hsd_http_error(req, 500, "out of memory");
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < total; i++) {
        hs_member_info mi;
        if (!hs_node_member_at(node, i, &mi)) continue;
        if (any_status && ((unsigned)mi.status > 3 || !want[mi.status])) continue;
        if (!tags_match(&mi, q)) continue;
        list[n++] = mi;
    }
    qsort(list, n, sizeof(*list), by_name);
    uint64_t now = hsd_now_ms();
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *m = hsd_json_member(&list[i], now);
        hs_addr other;
        char b[HS_ADDR_STRLEN];
        /* the operator's markers: two addresses answer for the name; removed (force-leave) */
        if (hs_node_conflict(node, list[i].name, &other))
            json_object_set_new(m, "conflict", json_string(hs_addr_format(&other, b, sizeof(b))));
        if (hs_node_removed(node, list[i].name) >= 0)
            json_object_set_new(m, "removed", json_true());
        json_array_append_new(arr, m);
    }
    free(list);
    json_t *o = json_object();
    json_object_set_new(o, "members", arr);
    hsd_http_json(req, 200, o);
}

static json_t *stats_json(hsd_engine *e)
{
    const hs_node_stats *s = hs_node_stats_get(hs_agent_node(hsd_engine_agent(e)));
    json_t *o = json_object();
#define F(x) json_object_set_new(o, #x, json_integer((json_int_t)s->x))
    F(msgs_in);
    F(msgs_out);
    F(bytes_in);
    F(bytes_out);
    F(drop_malformed);
    F(drop_version);
    F(drop_unknown_type);
    F(drop_not_member);
    F(drop_self);
    F(probes_sent);
    F(probes_failed);
    F(indirect_sent);
    F(suspicions);
    F(refutations);
    F(votes_sent);
    F(failures_declared);
    F(gossip_pushes);
    F(syncs);
    F(removed_refused);
    F(name_checks);
    F(name_conflicts);
#undef F
    json_object_set_new(o, "uptime_ms",
                        json_integer((json_int_t)(hsd_now_ms() - hsd_engine_started_ms(e))));
    return o;
}

void hsd_api_self(hsd_engine *e, struct evhttp_request *req)
{
    hs_member_info mi;
    if (!hs_node_find(hs_agent_node(hsd_engine_agent(e)), hsd_engine_options(e)->name, &mi)) {
        hsd_http_error(req, 500, "this agent is missing from its own member table");
        return;
    }
    json_t *o = hsd_json_member(&mi, hsd_now_ms());
    const hs_node *node = hs_agent_node(hsd_engine_agent(e));
    json_object_set_new(o, "removed", json_boolean(hs_node_removed(node, mi.name) >= 0));
    json_object_set_new(o, "stats", stats_json(e));
    hsd_http_json(req, 200, o);
}

void hsd_api_health(hsd_engine *e, struct evhttp_request *req)
{
    const hs_node *node = hs_agent_node(hsd_engine_agent(e));
    size_t counts[4] = {0, 0, 0, 0};
    hs_node_status_counts(node, counts);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(hsd_engine_leaving(e) ? "leaving" : "ok"));
    json_object_set_new(o, "insecure", json_boolean(hsd_engine_envelope(e)->insecure));
    json_object_set_new(o, "members", json_integer((json_int_t)hs_node_member_count(node)));
    json_object_set_new(o, "alive", json_integer((json_int_t)counts[HS_ALIVE]));
    json_object_set_new(o, "suspect", json_integer((json_int_t)counts[HS_SUSPECT]));
    json_object_set_new(o, "failed", json_integer((json_int_t)counts[HS_FAILED]));
    json_object_set_new(o, "left", json_integer((json_int_t)counts[HS_LEFT]));
    json_object_set_new(o, "raft", hsd_json_raft(e));
    hsd_http_json(req, 200, o);
}

typedef struct join_req {
    struct evhttp_request *req;
    size_t contacted; /* the numeric addresses */
} join_req;

static void on_names_joined(void *arg, size_t joined, const char *error)
{
    join_req *j = arg;
    size_t contacted = j->contacted + joined;
    if (!contacted && error) {
        hsd_http_error(j->req, 400, error);
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "contacted", json_integer((json_int_t)contacted));
        if (error) json_object_set_new(o, "error", json_string(error));
        hsd_http_json(j->req, 200, o);
    }
    free(j);
}

void hsd_api_join(hsd_engine *e, struct evhttp_request *req)
{
    static const char usage[] =
        "addrs must be a list of 1 to 64 HOST:PORT strings (HOST an IPv4 address, [IPv6] or a "
        "DNS name)";
    json_t *body = hsd_http_body_json(req);
    if (!body) return;
    json_t *arr = json_object_get(body, "addrs");
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > JOIN_ADDRS_MAX) {
        json_decref(body);
        hsd_http_error(req, 400, usage);
        return;
    }
    hs_addr addrs[JOIN_ADDRS_MAX];
    hsd_target names[JOIN_ADDRS_MAX];
    size_t n = 0, k = 0, i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        hsd_target t;
        if (!s || hsd_hostport_parse(&t, s, HSD_DEFAULT_PORT) != 0) {
            json_decref(body);
            hsd_http_error(req, 400, usage);
            return;
        }
        if (t.host[0])
            names[k++] = t;
        else
            addrs[n++] = t.addr;
    }
    json_decref(body);
    if (hsd_engine_leaving(e)) {
        hsd_http_error(req, 503, "this agent is leaving");
        return;
    }
    if (n) hsd_engine_join(e, addrs, n);
    join_req *j = k ? malloc(sizeof(*j)) : NULL;
    if (j) *j = (join_req){req, n};
    if (k && (!j || !hsd_engine_join_names(e, names, k, on_names_joined, j))) {
        free(j);
        hsd_http_error(req, 503, "cannot look host names up now (too many followed)");
        return;
    }
    if (k) return; /* answered once the names have been looked up */
    json_t *o = json_object();
    json_object_set_new(o, "contacted", json_integer((json_int_t)n));
    hsd_http_json(req, 200, o);
}

void hsd_api_leave(hsd_engine *e, struct evhttp_request *req)
{
    json_t *o = json_object();
    json_object_set_new(o, "left", json_true());
    hsd_http_json(req, 200, o);
    hsd_engine_leave(e);
}

void hsd_api_tags(hsd_engine *e, struct evhttp_request *req)
{
    json_t *body = hsd_http_body_json(req);
    if (!body) return;
    hs_member_info mi;
    if (!hs_node_find(hs_agent_node(hsd_engine_agent(e)), hsd_engine_options(e)->name, &mi)) {
        json_decref(body);
        hsd_http_error(req, 500, "this agent is missing from its own member table");
        return;
    }
    char buf[HS_TAGS_MAX];
    size_t len = mi.tags.len <= sizeof(buf) ? mi.tags.len : 0;
    if (len) memcpy(buf, mi.tags.data, len);
    const char *err = NULL;
    hs_tags t = {buf, 0};
    json_t *set = json_object_get(body, "set"), *del = json_object_get(body, "delete");
    if ((set && !json_is_object(set)) || (del && !json_is_array(del))) {
        err = "body must be {\"set\":{\"K\":\"V\"},\"delete\":[\"K\"]}";
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(del, i, v)
    {
        const char *k = json_string_value(v);
        if (!k || !*k || strchr(k, '=')) {
            err = "delete must list tag names";
            goto out;
        }
        hsd_tags_put(buf, &len, sizeof(buf), k, NULL);
    }
    const char *k;
    json_object_foreach(set, k, v)
    {
        const char *val = json_string_value(v);
        if (!*k || strchr(k, '=') || !val) {
            err = "set must map tag names to string values";
            goto out;
        }
        if (strlen(k) + strlen(val) + 2 > HS_TAGS_MAX) {
            err = "tags too large (at most 512 bytes in all)";
            goto out;
        }
        for (const unsigned char *p = (const unsigned char *)val; *p; p++)
            if (*p < 0x20 || *p == 0x7f) {
                err = "tag values may not contain control characters";
                goto out;
            }
        if (hsd_tags_put(buf, &len, sizeof(buf), k, val) != 0) {
            err = "tags too large (at most 512 bytes in all)";
            goto out;
        }
    }
    t.len = len;
    if (hs_tags_validate(t) != 0 || hsd_engine_set_tags(e, t) != 0) {
        err = "tags rejected (malformed or too large)";
        goto out;
    }
out:
    json_decref(body);
    if (err) {
        hsd_http_error(req, 400, err);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "tags", hsd_json_tags(t));
    hsd_http_json(req, 200, o);
}
