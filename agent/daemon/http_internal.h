/* http_internal.h: helpers shared by the HTTP API handlers (http_*.c). */
#ifndef HSD_HTTP_INTERNAL_H
#define HSD_HTTP_INTERNAL_H

#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "daemon.h"

/* Sends obj (reference stolen) as a JSON body with the given status. */
void hsd_http_json(struct evhttp_request *req, int code, json_t *obj);
/* Sends {"error":msg}. */
void hsd_http_error(struct evhttp_request *req, int code, const char *msg);
/* Parses the request body as a JSON object; on failure answers 400 and returns NULL. */
json_t *hsd_http_body_json(struct evhttp_request *req);

/* endpoint handlers; path is the decoded path, query the parsed query (may be empty) */
void hsd_api_members(hsd *d, struct evhttp_request *req, struct evkeyvalq *query);
void hsd_api_self(hsd *d, struct evhttp_request *req);
void hsd_api_health(hsd *d, struct evhttp_request *req);
void hsd_api_join(hsd *d, struct evhttp_request *req);
void hsd_api_leave(hsd *d, struct evhttp_request *req);
void hsd_api_tags(hsd *d, struct evhttp_request *req);
void hsd_api_metrics(hsd *d, struct evhttp_request *req);
/* http_config.c: /v1/config[/KEY] and /v1/raft/add-seed|remove-seed */
void hsd_api_config(hsd *d, struct evhttp_request *req, const char *path, struct evkeyvalq *q);
void hsd_api_raft_seed(hsd *d, struct evhttp_request *req, bool add);
/* keys.c: /v1/keys and /v1/keys/install|use|remove */
void hsd_api_keys(hsd *d, struct evhttp_request *req, const char *path, struct evkeyvalq *q);

#endif
