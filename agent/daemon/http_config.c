/* http_config.c: the configuration endpoints of docs/api.md: GET /v1/config,
 * GET|PUT|DELETE /v1/config/KEY (consistent reads and changes go through the Raft leader and
 * answer once committed), POST /v1/raft/add-seed and /v1/raft/remove-seed. The work is done by
 * the engine's configuration operations; this file parses requests and renders answers. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "hearsay/cluster_config.h"
#include "http_internal.h"
#include "json_util.h"

static const char *result_msg(int result)
{
    switch (result) {
    case HS_CFGC_NOTLEADER:
        return "no Raft leader reachable";
    case HS_CFGC_BUSY:
        return "a seed change is already in progress";
    case HS_CFGC_INVALID:
        return "refused by the cluster configuration";
    case HS_CFGC_NOTFOUND:
        return "not found";
    case HS_CFGC_EXPIRED:
        return "outcome unknown: the request's session was forgotten (check, then retry)";
    case HS_CFGC_CONFLICT:
        return "the Idempotency-Key was used for a different request";
    default:
        return "not committed in time";
    }
}

void hsd_config_fail(struct evhttp_request *req, int kind, int result)
{
    int code = result == HS_CFGC_BUSY       ? 409
               : result == HS_CFGC_INVALID  ? 400
               : result == HS_CFGC_NOTFOUND ? 404
               : result == HS_CFGC_CONFLICT ? 422
                                            : 503;
    if ((kind == HS_CFGC_READ || kind == HS_CFGC_DELETE || kind == HS_CFGC_DELETE_FD) &&
        result == HS_CFGC_NOTFOUND) {
        hsd_http_error(req, 404, "no such key");
        return;
    }
    hsd_http_error(req, code, result_msg(result));
}

/* A configuration operation ended: the answer to the request waiting for it. */
static void on_done(void *arg, const hs_agent_done *done)
{
    struct evhttp_request *req = arg;
    const hs_cfgc_done *d = &done->config;
    int kind = d->kind, result = d->result;
    if (result != HS_CFGC_OK) {
        hsd_config_fail(req, kind, result);
        return;
    }
    json_t *o = json_object();
    if (kind == HS_CFGC_ADD_SEED || kind == HS_CFGC_REMOVE_SEED) {
        json_object_set_new(o, "name", hsd_json_str(d->key));
        json_object_set_new(o, "op", json_string(kind == HS_CFGC_ADD_SEED ? "add" : "remove"));
    } else {
        json_object_set_new(o, "key", hsd_json_str(d->key));
        if (kind == HS_CFGC_DELETE)
            json_object_set_new(o, "deleted", json_true());
        else
            json_object_set_new(o, "value", hsd_json_str(d->value));
    }
    json_object_set_new(o, "version", json_integer((json_int_t)d->version));
    hsd_http_json(req, 200, o);
}

void hsd_config_start(hsd_engine *e, struct evhttp_request *req, int kind, const char *key,
                      const char *value, hsd_done_fn fn)
{
    const char *idem = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
    if (!hsd_engine_config_op(e, kind, key, value, idem, fn, req))
        hsd_http_error(req, 503, "too many operations in progress");
}

/* Starts an operation for req; on_done answers it (if the client goes away meanwhile evhttp
 * detaches the request, and answering it then frees it). */
static void start(hsd_engine *e, struct evhttp_request *req, int kind, const char *key,
                  const char *value)
{
    hsd_config_start(e, req, kind, key, value, on_done);
}

static json_t *kv_object(const hs_cc_kv *kv, uint32_t n)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < n; i++) json_object_set_new(o, kv[i].key, hsd_json_str(kv[i].value));
    return o;
}

static void get_all(hsd_engine *e, struct evhttp_request *req)
{
    const hs_cluster_config *c = hs_agent_config(hsd_engine_agent(e));
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer((json_int_t)c->version));
    json_object_set_new(o, "cluster", hsd_json_str(c->cluster_name));
    json_object_set_new(o, "settings", kv_object(c->settings, c->n_settings));
    json_object_set_new(o, "fd", kv_object(c->fd, c->n_fd));
    json_t *seeds = json_array();
    for (uint32_t i = 0; i < c->n_seeds; i++) {
        char b[HS_ADDR_STRLEN];
        json_t *s = json_object();
        json_object_set_new(s, "name", hsd_json_str(c->seeds[i].name));
        json_object_set_new(s, "addr",
                            json_string(hs_addr_format(&c->seeds[i].addr, b, sizeof(b))));
        json_array_append_new(seeds, s);
    }
    json_object_set_new(o, "seeds", seeds);
    json_t *removed = json_array();
    for (uint32_t i = 0; i < c->n_removed; i++)
        json_array_append_new(removed, hsd_json_str(c->removed[i]));
    json_object_set_new(o, "removed", removed);
    json_object_set_new(o, "keys", json_integer((json_int_t)c->n_keys));
    hsd_http_json(req, 200, o);
}

/* Decoded key from the path, validated; NULL (and an answer sent) if bad. */
static char *path_key(struct evhttp_request *req, const char *path)
{
    char *key = evhttp_uridecode(path + strlen("/v1/config/"), 0, NULL);
    size_t n = key ? strlen(key) : 0;
    if (!key || n == 0 || n > HS_CC_NAME_MAX) {
        free(key);
        hsd_http_error(req, 400, "the key must be 1 to 64 bytes");
        return NULL;
    }
    return key;
}

void hsd_api_config(hsd_engine *e, struct evhttp_request *req, const char *path,
                    struct evkeyvalq *q)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
    if (!strcmp(path, "/v1/config") || !strcmp(path, "/v1/config/")) {
        if (get)
            get_all(e, req);
        else
            hsd_http_error(req, 405, "use GET");
        return;
    }
    if (!get && m != EVHTTP_REQ_PUT && m != EVHTTP_REQ_DELETE) {
        hsd_http_error(req, 405, "use GET, PUT or DELETE");
        return;
    }
    char *key = path_key(req, path);
    if (!key) return;
    if (m == EVHTTP_REQ_DELETE) {
        start(e, req, HS_CFGC_DELETE, key, NULL);
        free(key);
        return;
    }
    if (get) {
        const char *c = evhttp_find_header(q, "consistent");
        if (c && strcmp(c, "0") != 0 && strcmp(c, "false") != 0) {
            start(e, req, HS_CFGC_READ, key, NULL);
        } else {
            const hs_cluster_config *cc = hs_agent_config(hsd_engine_agent(e));
            const char *v = hs_cc_get(cc, key);
            if (!v) {
                hsd_http_error(req, 404, "no such key");
            } else {
                json_t *o = json_object();
                json_object_set_new(o, "key", hsd_json_str(key));
                json_object_set_new(o, "value", hsd_json_str(v));
                json_object_set_new(o, "version", json_integer((json_int_t)cc->version));
                hsd_http_json(req, 200, o);
            }
        }
        free(key);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    char value[HS_CC_VALUE_MAX + 1];
    if (n > HS_CC_VALUE_MAX) {
        free(key);
        hsd_http_error(req, 413, "the value must be at most 255 bytes");
        return;
    }
    evbuffer_copyout(in, value, n);
    value[n] = '\0';
    if (memchr(value, '\0', n)) {
        free(key);
        hsd_http_error(req, 400, "the value must not contain NUL bytes");
        return;
    }
    start(e, req, HS_CFGC_SET, key, value);
    free(key);
}

void hsd_api_raft_seed(hsd_engine *e, struct evhttp_request *req, bool add)
{
    json_t *j = hsd_http_post_json(req);
    if (!j) return;
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *addr = json_string_value(json_object_get(j, "addr"));
    hs_addr a;
    if (!name || !name[0] || strlen(name) > HS_RAFT_NAME_MAX) {
        hsd_http_error(req, 400, "\"name\" must be a seed name (1 to 64 bytes)");
    } else if (add && (!addr || strlen(addr) >= HS_ADDR_STRLEN || hs_addr_parse(&a, addr, 0))) {
        hsd_http_error(req, 400, "\"addr\" must be HOST:PORT");
    } else {
        start(e, req, add ? HS_CFGC_ADD_SEED : HS_CFGC_REMOVE_SEED, name, add ? addr : NULL);
    }
    json_decref(j);
}
