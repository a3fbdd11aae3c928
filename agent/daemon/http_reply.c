/* http_reply.c: how the front-end answers: a JSON body with its status line, an error as
 * {"error":...}, and a request body read as a JSON object (docs/api.md). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http_internal.h"
#include "json_util.h"

void hsd_http_json(struct evhttp_request *req, int code, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (obj) json_decref(obj);
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        free(text);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    if (!text) {
        code = 500;
        evbuffer_add_printf(b, "{\"error\":\"cannot encode the answer\"}\n");
    } else {
        evbuffer_add(b, text, strlen(text));
        evbuffer_add(b, "\n", 1);
        free(text);
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    const char *reason = code == 200   ? "OK"
                         : code == 202 ? "Accepted"
                         : code == 400 ? "Bad Request"
                         : code == 403 ? "Forbidden"
                         : code == 404 ? "Not Found"
                         : code == 405 ? "Method Not Allowed"
                         : code == 409 ? "Conflict"
                         : code == 413 ? "Payload Too Large"
                         : code == 501 ? "Not Implemented"
                         : code == 503 ? "Service Unavailable"
                                       : "Error";
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

void hsd_http_error(struct evhttp_request *req, int code, const char *msg)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", hsd_json_str(msg));
    hsd_http_json(req, code, o);
}

json_t *hsd_http_body_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > HSD_HTTP_MAX_BODY) {
        hsd_http_error(req, 413, "body too large");
        return NULL;
    }
    unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
    json_error_t je;
    json_t *j = n ? json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(j)) {
        if (j) json_decref(j);
        hsd_http_error(req, 400, "body must be a JSON object");
        return NULL;
    }
    return j;
}

json_t *hsd_http_post_json(struct evhttp_request *req)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        hsd_http_error(req, 405, "use POST");
        return NULL;
    }
    return hsd_http_body_json(req);
}
