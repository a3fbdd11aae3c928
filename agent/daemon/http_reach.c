/* http_reach.c: POST /v1/reachability, the membership core's reachability test (every live
 * member pinged, the silent ones through relays) answered once it ends. It sends traffic to
 * every member, so one runs at a time per agent and a new one starts MIN_GAP_MS after the last. */
#include <stdio.h>

#include "clock.h"
#include "http_internal.h"
#include "json_util.h"
#include "log.h"

#define MIN_GAP_MS 1000 /* from the start of one test to the start of the next */

static struct {
    uint64_t last_start; /* monotonic ms */
    bool have_last;
} R;

/* The request waiting for the running test. */
typedef struct waiting {
    struct evhttp_request *req;
    hsd_engine *e;
    uint64_t started;
} waiting;

static waiting W;

static void answer(void *arg)
{
    (void)arg;
    const hs_node *n = hs_agent_node(hsd_engine_agent(W.e));
    const hs_reach_member *m;
    size_t count = hs_node_reachability_results(n, &m), counts[4] = {0, 0, 0, 0};
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        char addr[64];
        hs_addr_format(&m[i].addr, addr, sizeof(addr));
        json_t *o = json_pack("{s:o,s:s,s:s,s:i}", "name", hsd_json_str(m[i].name), "addr", addr,
                              "result", hs_reach_result_name((hs_reach_result)m[i].result),
                              "relays", (int)m[i].relays);
        if (o && m[i].result != HS_REACH_NONE)
            json_object_set_new(o, "rtt_ms", json_integer((json_int_t)m[i].rtt_ms));
        if (o) json_array_append_new(arr, o);
        counts[m[i].result & 3]++;
    }
    const hs_config *cfg = hs_node_config(n);
    json_t *o =
        json_pack("{s:o,s:i,s:i,s:i,s:i,s:i,s:i}", "members", arr, "asked", (int)count, "direct",
                  (int)counts[HS_REACH_DIRECT], "relayed", (int)counts[HS_REACH_RELAYED],
                  "no_answer", (int)counts[HS_REACH_NONE], "elapsed_ms",
                  (int)(hsd_now_ms() - W.started), "timeout_ms", (int)cfg->indirect_timeout_ms);
    log_info("reachability: %zu members asked, %zu direct, %zu relayed, %zu did not answer", count,
             counts[HS_REACH_DIRECT], counts[HS_REACH_RELAYED], counts[HS_REACH_NONE]);
    struct evhttp_request *req = W.req;
    W.req = NULL;
    hsd_http_json(req, 200, o);
}

void hsd_api_reachability(hsd_engine *e, struct evhttp_request *req)
{
    uint64_t now = hsd_now_ms();
    if (W.req) {
        hsd_http_error(req, 429, "a reachability test is running; try again when it has ended");
        return;
    }
    if (R.have_last && now - R.last_start < MIN_GAP_MS) {
        char msg[120];
        snprintf(msg, sizeof(msg), "one reachability test per %u ms; try again in %llu ms",
                 MIN_GAP_MS, (unsigned long long)(MIN_GAP_MS - (now - R.last_start)));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        hsd_http_error(req, 429, msg);
        return;
    }
    W.req = req;
    W.e = e;
    W.started = now;
    if (!hsd_engine_reachability(e, answer, NULL)) {
        W.req = NULL;
        hsd_http_error(req, 503,
                       "cannot start a reachability test: this agent is leaving or removed (or out "
                       "of memory)");
        return;
    }
    R.last_start = now;
    R.have_last = true;
}
