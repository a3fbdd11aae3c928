/* monitor.c: the operator's log stream (hs_client_monitor, GET /v1/monitor) and reachability
 * test (hs_client_reachability, POST /v1/reachability) with the parser of its answer. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

HS_CLIENT_API int hs_client_monitor(hs_client *c, const char *level, hs_client_line_cb cb,
                                    void *ctx)
{
    if (!c || !cb) return HS_CLIENT_EINVAL;
    char target[HSC_TARGET_MAX] = "/v1/monitor";
    if (level) {
        strcat(target, "?level=");
        if (hs_client_url_encode(target + strlen(target), 64, level))
            return hsc_invalid(c, "log level too long");
    }
    hsc_lines lines = {.raw = cb, .ctx = ctx};
    return hsc_stream(c, target, &lines);
}

int hsc_parse_reachability(const char *body, size_t len, hs_client_reach_info **out, char *err,
                           size_t errlen)
{
    json_t *doc, *arr, *e;
    int rc;
    *out = NULL;
    hs_client_reach_info *r = hsc_result_parse(body, len, sizeof *r, &doc, &rc, err, errlen);
    if (!r) return rc;
    if (!json_is_array(arr = json_object_get(doc, "members"))) {
        hs_client_free(r);
        return hsc_bad(err, errlen, "bad answer from agent: no \"members\" array");
    }
    hs_client_reach_member *m = hsc_result_alloc(r, json_array_size(arr), sizeof *m);
    if (!m) {
        hs_client_free(r);
        return hsc_nomem(err, errlen);
    }
    size_t i;
    json_array_foreach(arr, i, e)
    {
        m[i].name = hsc_jstr(e, "name", "");
        m[i].addr = hsc_jstr(e, "addr", "");
        m[i].result = hsc_jstr(e, "result", "none");
        m[i].rtt_ms = hsc_jint(e, "rtt_ms", -1);
        m[i].relays = hsc_ju64(e, "relays");
    }
    r->members = m;
    r->count = json_array_size(arr);
    r->direct = hsc_ju64(doc, "direct");
    r->relayed = hsc_ju64(doc, "relayed");
    r->no_answer = hsc_ju64(doc, "no_answer");
    r->elapsed_ms = hsc_ju64(doc, "elapsed_ms");
    r->timeout_ms = hsc_ju64(doc, "timeout_ms");
    *out = r;
    return HS_CLIENT_OK;
}

HS_CLIENT_API int hs_client_reachability(hs_client *c, hs_client_reach_info **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "no result pointer");
    hs_client_response r;
    int rc =
        hsc_call(c, "POST", "/v1/reachability", "application/json", "{}", 2, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_reachability(r.body, r.body_len, out, ERRBUF(c)));
}
