/* http_internal.h: what the front-end's files (http_*.c) share: answer helpers, the endpoint
 * handlers, the event stream, connection admission and deadlines (http_conns.c), fair shares
 * of the limited slots (http_slots.c) and who the peer is (http_auth.c). */
#ifndef HSD_HTTP_INTERNAL_H
#define HSD_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "engine.h"

#define HSD_HTTP_MAX_BODY 65536 /* bytes of a request body (413 beyond) */

/* http_reply.c: sends obj (reference stolen) as a JSON body with the given status. */
void hsd_http_json(struct evhttp_request *req, int code, json_t *obj);
/* Sends {"error":msg}. */
void hsd_http_error(struct evhttp_request *req, int code, const char *msg);
/* Parses the request body as a JSON object; on failure answers 400 and returns NULL. */
json_t *hsd_http_body_json(struct evhttp_request *req);
/* The same for a request that must be a POST (else answers 405 and returns NULL). */
json_t *hsd_http_post_json(struct evhttp_request *req);

/* endpoint handlers; path is the decoded path, q the parsed query (may be empty) */
void hsd_api_members(hsd_engine *e, struct evhttp_request *req, struct evkeyvalq *q);
void hsd_api_self(hsd_engine *e, struct evhttp_request *req);
void hsd_api_health(hsd_engine *e, struct evhttp_request *req);
void hsd_api_join(hsd_engine *e, struct evhttp_request *req);
void hsd_api_leave(hsd_engine *e, struct evhttp_request *req);
void hsd_api_tags(hsd_engine *e, struct evhttp_request *req);
void hsd_api_metrics(hsd_engine *e, struct evhttp_request *req);
void hsd_api_config(hsd_engine *e, struct evhttp_request *req, const char *path,
                    struct evkeyvalq *q);
void hsd_api_raft_seed(hsd_engine *e, struct evhttp_request *req, bool add);
/* http_config.c: a configuration change for req (its Idempotency-Key carried), answered by fn
 * (arg: req); the error answer of an operation that ended with result. */
void hsd_config_start(hsd_engine *e, struct evhttp_request *req, int kind, const char *key,
                      const char *value, hsd_done_fn fn);
void hsd_config_fail(struct evhttp_request *req, int kind, int result);
/* http_operator.c: force-leave and readmit, the fd settings, a member's history */
void hsd_api_removal(hsd_engine *e, struct evhttp_request *req, bool readmit);
void hsd_api_fd(hsd_engine *e, struct evhttp_request *req, const char *path);
void hsd_api_history(hsd_engine *e, struct evhttp_request *req, const char *path);
void hsd_api_keys(hsd_engine *e, struct evhttp_request *req, const char *path, struct evkeyvalq *q);
/* http_user.c: POST /v1/event/NAME, POST /v1/query/NAME */
void hsd_api_user(hsd_engine *e, struct evhttp_request *req, const char *path, struct evkeyvalq *q);

/* http_events.c: GET /v1/events, a subscriber of the engine's events */
int hsd_events_init(hsd_engine *e);
void hsd_events_free(void);
void hsd_events_serve(struct evhttp_request *req, uint64_t since, bool have_since);
unsigned hsd_events_streams(void); /* open streams */
uint64_t hsd_events_lagged(void);  /* streams ended by the lag rule */

/* http_monitor.c: GET /v1/monitor, the log as a stream (a tap of log.c) */
void hsd_monitor_serve(struct evhttp_request *req, struct evkeyvalq *q);
void hsd_monitor_free(void);
unsigned hsd_monitor_streams(void); /* open monitor streams */
uint64_t hsd_monitor_dropped(void); /* lines dropped for slow monitor clients */

/* http_reach.c: POST /v1/reachability, one at a time */
void hsd_api_reachability(hsd_engine *e, struct evhttp_request *req);

/* Who is at the other end of an API connection (SO_PEERCRED when it connected).
 * privileged: uid 0, the agent's uid or a member of --admin-group (may change state). */
typedef struct hsd_peer {
    uid_t uid;
    bool privileged;
} hsd_peer;

/* http_slots.c: fair shares of the API's limited slots (docs/api.md, "Limits") */
enum hsd_slot { HSD_SLOT_CONN, HSD_SLOT_STREAM, HSD_SLOT_SURVEY, HSD_SLOTS };
enum hsd_slot_why { HSD_SLOT_OK, HSD_SLOT_FULL, HSD_SLOT_READERS, HSD_SLOT_UID, HSD_SLOT_WHYS };
void hsd_slots_init(unsigned max_conns); /* --max-api-connections (0: the default) */
void hsd_slots_free(void);
/* Takes a slot of kind for p: HSD_SLOT_OK, or why not (counted for /v1/metrics). */
int hsd_slot_take(int kind, const hsd_peer *p);
void hsd_slot_put(int kind, const hsd_peer *p); /* gives back a slot taken for p */
/* The refusal as a sentence for the client (why: not HSD_SLOT_OK). */
void hsd_slot_refusal(int kind, int why, const hsd_peer *p, char *buf, size_t len);
unsigned hsd_slots_used(int kind, bool privileged);
uint64_t hsd_slots_refused(int kind, int why);
const char *hsd_slot_name(int kind);    /* "connection", "stream", "survey" */
const char *hsd_slot_why_name(int why); /* "full", "readers", "uid" */

/* http_conns.c: admission, deadlines and peers of API socket connections */
struct evhttp_bound_socket;
typedef struct hsd_http_stats {
    uint64_t requests, conns_refused, deadline_closed[2]; /* [0] request, [1] answer */
} hsd_http_stats;
int hsd_http_conns_init(struct event_base *base, struct evhttp *http,
                        struct evhttp_bound_socket *bound);
void hsd_http_conns_free(void);
unsigned hsd_http_conns_open(void); /* API connections open now */
hsd_http_stats *hsd_http_get_stats(void);
/* A complete request arrived: its answer deadline starts. false: the connection was refused
 * (the request is gone; do not touch it). */
bool hsd_http_conn_begin(struct evhttp_request *req);
/* The answer of req must be written within ms from now; 0: no deadline (an event stream). */
void hsd_http_conn_deadline(struct evhttp_request *req, unsigned ms);
/* The peer of req's connection; false if req has no connection any more. */
bool hsd_http_peer(struct evhttp_request *req, hsd_peer *out);

/* http_auth.c: API socket access control (--socket-group, --admin-group) */
int hsd_auth_init(const hsd_options *o, char *err, size_t errlen); /* resolves the groups */
gid_t hsd_auth_socket_gid(void);          /* --socket-group's gid, or (gid_t)-1: leave as created */
int hsd_auth_peer(int fd, hsd_peer *out); /* reads the peer of a unix socket; -1 on error */
/* For a changing request: true if the peer may change state, else answers 403, false. */
bool hsd_auth_may_change(struct evhttp_request *req);

#endif
