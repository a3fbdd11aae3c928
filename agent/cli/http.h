/* http.h: a minimal HTTP/1.1 client over an AF_UNIX stream socket, just enough for the agent's
 * API: one request per connection, Content-Length, chunked and read-until-close bodies,
 * connect and read deadlines, and hard limits on everything it reads. */
#ifndef HS_CLI_HTTP_H
#define HS_CLI_HTTP_H

#include <signal.h>
#include <stddef.h>

enum {
    HS_HTTP_OK = 0,          /* a complete response was read (any status) */
    HS_HTTP_ECONNECT = -1,   /* could not connect: the agent is not reachable */
    HS_HTTP_EPROTO = -2,     /* I/O error, timeout or malformed response after connecting */
    HS_HTTP_EINTERRUPT = -3, /* hs_http_interrupted was set (SIGINT) */
    HS_HTTP_ESINK = -4,      /* the body sink asked to stop */
};

#define HS_HTTP_MAX_HEADER_LINE 8192
#define HS_HTTP_MAX_HEADERS     100
#define HS_HTTP_DEFAULT_MAX     (16u * 1024 * 1024)

/* Set from a signal handler to make a blocked request return HS_HTTP_EINTERRUPT. */
extern volatile sig_atomic_t hs_http_interrupted;

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
} hs_http_request;

typedef struct hs_http_response {
    int status;
    char *body; /* NUL-terminated (malloc'd), NULL when the body was streamed */
    size_t body_len;
} hs_http_response;

/* Performs the request. On failure err gets a one-line reason (no trailing newline). */
int hs_http_do(const hs_http_request *req, hs_http_response *resp, char *err, size_t errlen);
void hs_http_response_free(hs_http_response *resp);

#endif
