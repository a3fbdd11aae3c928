/* http_operator.c: the operator's endpoints of docs/api.md: POST /v1/force-leave and
 * /v1/readmit (a removal or readmission through the Raft group, answered once committed),
 * GET /v1/fd and PUT|DELETE /v1/fd/KEY (the run-time failure-detection settings), and
 * GET /v1/members/NAME/history (the member's status history, `hearsay explain`). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "clock.h"
#include "hearsay/cluster_config.h"
#include "hearsay/fd_settings.h"
#include "http_internal.h"
#include "json_util.h"

static hsd_engine *g_e; /* the one engine, for the answers (set by every request) */

/* A member name as the core takes it: 1 to 64 printable non-space ASCII bytes. */
static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > HS_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return false;
    return true;
}

static void on_removal(void *arg, const hs_agent_done *done)
{
    struct evhttp_request *req = arg;
    const hs_cfgc_done *d = &done->config;
    const hs_agent *a = hsd_engine_agent(g_e);
    const hs_cluster_config *cc = hs_agent_config(a);
    bool readmit = d->kind == HS_CFGC_READMIT_NODE, prune = !strcmp(d->value, HS_CC_PRUNE);
    bool already = false;
    if (d->result == HS_CFGC_INVALID && !readmit) {
        /* refused: a seed, or removed already (as asked: a success, nothing changed) */
        int flags = hs_cc_removed_flags(cc, d->key);
        if (flags < 0 || (prune && !(flags & HS_CC_REMOVED_PRUNE))) {
            hsd_http_error(req, 400,
                           hs_cc_find_seed(cc, d->key)
                               ? "a seed cannot be removed: take it out of the Raft group "
                                 "first (hearsay raft remove-seed)"
                               : "refused by the cluster configuration");
            return;
        }
        already = true;
    } else if (d->result == HS_CFGC_NOTFOUND && readmit) {
        hsd_http_error(req, 404, "not removed: nothing to readmit");
        return;
    } else if (d->result != HS_CFGC_OK) {
        hsd_config_fail(req, d->kind, d->result);
        return;
    }
    hs_member_info mi;
    json_t *o = json_object();
    json_object_set_new(o, "name", hsd_json_str(d->key));
    json_object_set_new(o, "removed", json_boolean(!readmit));
    if (!readmit) json_object_set_new(o, "prune", json_boolean(prune));
    if (already) json_object_set_new(o, "already", json_true());
    json_object_set_new(o, "known",
                        json_boolean(hs_node_find(hs_agent_node(a), d->key, &mi) ||
                                     hs_node_removed(hs_agent_node(a), d->key) > 0));
    json_object_set_new(o, "version",
                        json_integer((json_int_t)(already ? cc->version : d->version)));
    hsd_http_json(req, 200, o);
}

void hsd_api_removal(hsd_engine *e, struct evhttp_request *req, bool readmit)
{
    g_e = e;
    json_t *j = hsd_http_post_json(req);
    if (!j) return;
    const char *name = json_string_value(json_object_get(j, "name"));
    json_t *prune = json_object_get(j, "prune");
    if (!name_ok(name)) {
        hsd_http_error(req, 400, "\"name\" must be a member name (1 to 64 printable bytes)");
    } else if (prune && (readmit || !json_is_boolean(prune))) {
        hsd_http_error(req, 400, "\"prune\" is a boolean of force-leave");
    } else {
        hsd_config_start(e, req, readmit ? HS_CFGC_READMIT_NODE : HS_CFGC_REMOVE_NODE, name,
                         json_is_true(prune) ? HS_CC_PRUNE : "", on_removal);
    }
    json_decref(j);
}

/* ---- failure-detection settings ---- */

static json_t *fd_object(const hsd_engine *e)
{
    const hs_agent *a = hsd_engine_agent(e);
    const hs_cluster_config *cc = hs_agent_config(a);
    const hs_config *cfg = hs_node_config(hs_agent_node(a));
    json_t *o = json_object(), *set = json_object(), *over = json_object();
    json_object_set_new(o, "version", json_integer((json_int_t)cc->version));
    json_object_set_new(o, "profile", json_string(hs_fd_profile_name(hs_agent_fd_profile(a))));
    json_object_set_new(o, "agent_profile",
                        json_string(hs_fd_profile_name(hsd_engine_options(e)->profile)));
    for (size_t i = 0; hs_fd_key_at(i); i++) {
        uint64_t v = 0;
        hs_fd_get(cfg, hs_fd_key_at(i), &v);
        json_object_set_new(set, hs_fd_key_at(i), json_integer((json_int_t)v));
    }
    for (uint32_t i = 0; i < cc->n_fd; i++)
        json_object_set_new(over, cc->fd[i].key, hsd_json_str(cc->fd[i].value));
    json_object_set_new(o, "settings", set);
    json_object_set_new(o, "overrides", over);
    return o;
}

static void on_fd(void *arg, const hs_agent_done *done)
{
    struct evhttp_request *req = arg;
    const hs_cfgc_done *d = &done->config;
    if (d->result != HS_CFGC_OK) {
        hsd_config_fail(req, d->kind, d->result);
        return;
    }
    json_t *o = fd_object(g_e);
    json_object_set_new(o, "key", hsd_json_str(d->key));
    if (d->kind == HS_CFGC_DELETE_FD)
        json_object_set_new(o, "deleted", json_true());
    else
        json_object_set_new(o, "value", hsd_json_str(d->value));
    json_object_set_new(o, "version", json_integer((json_int_t)d->version));
    hsd_http_json(req, 200, o);
}

/* A key of the fd table: the profile or a run-time setting. */
static bool fd_key(const char *k)
{
    hs_config c;
    uint64_t v;
    hs_config_default(&c);
    return k && (!strcmp(k, HS_FD_PROFILE_KEY) || hs_fd_get(&c, k, &v));
}

void hsd_api_fd(hsd_engine *e, struct evhttp_request *req, const char *path)
{
    g_e = e;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
    if (!strcmp(path, "/v1/fd") || !strcmp(path, "/v1/fd/")) {
        if (get)
            hsd_http_json(req, 200, fd_object(e));
        else
            hsd_http_error(req, 405, "use GET");
        return;
    }
    if (m != EVHTTP_REQ_PUT && m != EVHTTP_REQ_DELETE) {
        hsd_http_error(req, 405, "use PUT or DELETE (GET /v1/fd lists the settings)");
        return;
    }
    char *key = evhttp_uridecode(path + strlen("/v1/fd/"), 0, NULL);
    char value[HS_CC_VALUE_MAX + 1] = "";
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    const char *why = NULL;
    if (m == EVHTTP_REQ_PUT) {
        if (n > 16) {
            why = "the value must be a number (or a profile name)";
        } else {
            evbuffer_copyout(in, value, n);
            value[n] = '\0';
            while (n && (value[n - 1] == '\n' || value[n - 1] == '\r')) value[--n] = '\0';
            why = hs_fd_check(key, value);
        }
    } else if (!fd_key(key)) {
        why = "unknown failure-detection setting";
    }
    if (!key || why) {
        hsd_http_error(req, 400, why ? why : "bad key");
    } else {
        hsd_config_start(e, req, m == EVHTTP_REQ_PUT ? HS_CFGC_SET_FD : HS_CFGC_DELETE_FD, key,
                         value, on_fd);
    }
    free(key);
}

/* ---- a member's history ---- */

void hsd_api_history(hsd_engine *e, struct evhttp_request *req, const char *path)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        hsd_http_error(req, 405, "use GET");
        return;
    }
    const char *start = path + strlen("/v1/members/"), *end = strrchr(path, '/');
    char enc[3 * HS_NAME_MAX + 1];
    size_t len = (size_t)(end - start);
    if (end <= start || len >= sizeof(enc)) {
        hsd_http_error(req, 404, "no such endpoint");
        return;
    }
    memcpy(enc, start, len);
    enc[len] = '\0';
    char *name = evhttp_uridecode(enc, 0, NULL);
    const hs_node *node = hs_agent_node(hsd_engine_agent(e));
    static hs_history_entry h[HS_HISTORY_MAX];
    hs_member_info mi;
    size_t n = name ? hs_node_history(node, name, h, HS_HISTORY_MAX) : SIZE_MAX;
    if (n == SIZE_MAX || !hs_node_find(node, name, &mi)) {
        free(name);
        hsd_http_error(req, 404, "no such member (never known here, or reaped)");
        return;
    }
    uint64_t mono = hsd_now_ms(), unix_now = hsd_unix_ms();
    char b[HS_ADDR_STRLEN];
    json_t *o = hsd_json_member(&mi, mono), *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_object(), *votes = json_array();
        uint64_t ago = mono > h[i].at_ms ? mono - h[i].at_ms : 0;
        json_object_set_new(r, "time_ms", json_integer((json_int_t)(unix_now - ago)));
        json_object_set_new(r, "ago_ms", json_integer((json_int_t)ago));
        json_object_set_new(r, "event", json_string(hs_history_what_name(h[i].what)));
        json_object_set_new(r, "status", json_string(hs_status_name(h[i].status)));
        json_object_set_new(r, "incarnation", json_integer((json_int_t)h[i].inc));
        json_object_set_new(r, "by", hsd_json_str(h[i].by));
        json_object_set_new(r, "learnt", json_boolean(h[i].learnt));
        json_object_set_new(r, "addr", json_string(hs_addr_format(&h[i].addr, b, sizeof(b))));
        for (size_t k = 0; k < h[i].nvotes; k++) {
            uint64_t vago = mono > h[i].votes[k].at_ms ? mono - h[i].votes[k].at_ms : 0;
            json_t *v = json_object();
            json_object_set_new(v, "name", hsd_json_str(h[i].votes[k].name));
            json_object_set_new(v, "time_ms", json_integer((json_int_t)(unix_now - vago)));
            json_array_append_new(votes, v);
        }
        json_object_set_new(r, "votes", votes);
        json_array_append_new(arr, r);
    }
    json_object_set_new(o, "history", arr);
    free(name);
    hsd_http_json(req, 200, o);
}
