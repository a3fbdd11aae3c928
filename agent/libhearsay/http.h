/* http.h (private to libhearsay): a minimal HTTP/1.1 client over an AF_UNIX stream socket,
 * just enough for the agent's API: one request per connection, Content-Length, chunked and
 * read-until-close bodies, connect and read deadlines, and hard limits on everything it
 * reads. Return codes are the public HS_CLIENT_* codes of <hearsay/client.h>. */
#ifndef HS_LIBHEARSAY_HTTP_H
#define HS_LIBHEARSAY_HTTP_H

#include <hearsay/client.h>
#include <signal.h>
#include <stddef.h>

#define HS_HTTP_MAX_HEADER_LINE 8192
#define HS_HTTP_MAX_HEADERS     100
#define HS_HTTP_DEFAULT_MAX     (16u * 1024 * 1024)

/* Receives body bytes of a 2xx streamed response; return nonzero to stop. */
typedef int (*hs_http_sink)(void *ctx, const char *data, size_t len);

typedef struct hs_http_request {
    const char *socket_path;
    const char *method;       /* "GET", "POST", "PUT" */
    const char *target;       /* "/v1/members?status=alive", already percent-encoded */
    const char *content_type; /* NULL when there is no body */
    const char *body;
    size_t body_len;
    int timeout_ms;    /* whole request (-1: none); for streams only until the headers */
    size_t max_body;   /* 0: HS_HTTP_DEFAULT_MAX */
    hs_http_sink sink; /* when set, a 2xx body goes here instead of into the response */
    void *sink_ctx;
    volatile sig_atomic_t *interrupt; /* nonzero: give up with HS_CLIENT_EINTR */
} hs_http_request;

/* Performs the request (HS_CLIENT_OK: a complete answer of any status was read). On failure
 * err gets a one-line reason (no trailing newline). */
int hsc_http_do(const hs_http_request *req, hs_client_response *resp, char *err, size_t errlen);
/* The same on an already connected stream socket fd (left open): unit tests feed canned
 * answers through a socketpair. req->socket_path is not used. */
int hsc_http_do_fd(int fd, const hs_http_request *req, hs_client_response *resp, char *err,
                   size_t errlen);

#endif
