/* http.c: libhearsay's HTTP/1.1 client (also behind every hearsay subcommand). It connects
 * to the agent's unix socket with a deadline, writes one request with "Connection: close",
 * and parses the answer defensively: bounded status and header lines, bounded header count,
 * strict Content-Length and chunk-size parsing with overflow checks, a cap on the collected
 * body. */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
    int fd;
    char buf[HS_HTTP_MAX_HEADER_LINE + 2];
    size_t pos, len;
    int64_t deadline; /* monotonic ms, -1 for none */
    volatile sig_atomic_t *interrupt;
    char *err;
    size_t errlen;
    int send_errno; /* errno of a failed send, 0 if none */
} conn;

static bool interrupted(const conn *c)
{
    return c->interrupt && *c->interrupt;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Milliseconds left before the deadline for poll(): -1 for none, 0 when expired. */
static int remaining(int64_t deadline)
{
    if (deadline < 0) return -1;
    int64_t left = deadline - now_ms();
    if (left <= 0) return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Waits for events on fd; 1 ready, or an HS_HTTP_* error with c->err set. */
static int wait_fd(conn *c, short events)
{
    for (;;) {
        if (interrupted(c)) return HS_CLIENT_EINTR;
        struct pollfd p = {.fd = c->fd, .events = events};
        int left = remaining(c->deadline);
        if (left == 0) {
            seterr(c->err, c->errlen, "timed out waiting for the agent");
            return HS_CLIENT_ETIMEDOUT;
        }
        int r = poll(&p, 1, left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) {
            seterr(c->err, c->errlen, "poll: %s", strerror(errno));
            return HS_CLIENT_EPROTO;
        }
    }
}

static int do_connect(conn *c, const char *path)
{
    if (!path) path = "";
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sa.sun_path) {
        seterr(c->err, c->errlen, "%s", n == 0 ? "empty socket path" : "socket path too long");
        return HS_CLIENT_ECONNECT;
    }
    memcpy(sa.sun_path, path, n);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        seterr(c->err, c->errlen, "%s", strerror(errno));
        return HS_CLIENT_ECONNECT;
    }
    for (;;) {
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) return HS_CLIENT_OK;
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS) {
            int r = wait_fd(c, POLLOUT);
            if (r != 1) return r == HS_CLIENT_EINTR ? r : HS_CLIENT_ECONNECT;
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                return HS_CLIENT_OK;
            seterr(c->err, c->errlen, "%s", strerror(soerr ? soerr : errno));
            return HS_CLIENT_ECONNECT;
        }
        if (errno == EAGAIN) { /* listen backlog full: retry until the deadline */
            if (remaining(c->deadline) == 0 || interrupted(c)) {
                seterr(c->err, c->errlen, "%s", strerror(EAGAIN));
                return interrupted(c) ? HS_CLIENT_EINTR : HS_CLIENT_ECONNECT;
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        seterr(c->err, c->errlen, "%s", strerror(errno));
        return HS_CLIENT_ECONNECT;
    }
}

static int send_all(conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c, POLLOUT);
            if (r != 1) return r;
            continue;
        }
        c->send_errno = errno;
        seterr(c->err, c->errlen, "writing request: %s", strerror(errno));
        return HS_CLIENT_EPROTO;
    }
    return HS_CLIENT_OK;
}

/* Reads more bytes into the buffer (compacting it first). >0 bytes read, 0 EOF, <0 error. */
static int fill(conn *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len >= sizeof c->buf) {
        seterr(c->err, c->errlen, "response line too long");
        return HS_CLIENT_EPROTO;
    }
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r > 0) {
            c->len += (size_t)r;
            return (int)r;
        }
        if (r == 0) return 0;
        if (errno == EINTR) {
            if (interrupted(c)) return HS_CLIENT_EINTR;
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(c, POLLIN);
            if (w != 1) return w;
            continue;
        }
        seterr(c->err, c->errlen, "reading response: %s", strerror(errno));
        return HS_CLIENT_EPROTO;
    }
}

/* Reads one line (CRLF or LF terminated, terminator stripped) of at most
 * HS_HTTP_MAX_HEADER_LINE bytes into out (NUL-terminated). */
static int read_line(conn *c, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->pos));
            size_t adv = n + 1;
            if (n > 0 && c->buf[c->pos + n - 1] == '\r') n--;
            if (n >= cap) {
                seterr(c->err, c->errlen, "response line too long");
                return HS_CLIENT_EPROTO;
            }
            memcpy(out, c->buf + c->pos, n);
            out[n] = '\0';
            if (memchr(out, '\0', n)) {
                seterr(c->err, c->errlen, "NUL byte in response header");
                return HS_CLIENT_EPROTO;
            }
            c->pos += adv;
            return HS_CLIENT_OK;
        }
        if (c->len - c->pos > HS_HTTP_MAX_HEADER_LINE) {
            seterr(c->err, c->errlen, "response line too long");
            return HS_CLIENT_EPROTO;
        }
        int r = fill(c);
        if (r < 0) return r;
        if (r == 0) {
            seterr(c->err, c->errlen, "agent closed the connection mid-response");
            return HS_CLIENT_EPROTO;
        }
    }
}

typedef struct collect {
    char *data;
    size_t len, cap, max;
    bool no_mem;
} collect;

static int collect_sink(void *ctx, const char *p, size_t n)
{
    collect *b = ctx;
    if (n > b->max - b->len) return 1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->no_mem = true;
            return 1;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Passes n body bytes (n == SIZE_MAX: until EOF) to the sink. */
static int read_body(conn *c, uint64_t n, bool to_eof, hs_http_sink sink, void *ctx)
{
    while (to_eof || n > 0) {
        if (c->pos == c->len) {
            int r = fill(c);
            if (r < 0) return r;
            if (r == 0) {
                if (to_eof) return HS_CLIENT_OK;
                seterr(c->err, c->errlen, "agent closed the connection mid-body");
                return HS_CLIENT_EPROTO;
            }
        }
        size_t avail = c->len - c->pos;
        size_t take = (!to_eof && n < avail) ? (size_t)n : avail;
        if (sink(ctx, c->buf + c->pos, take)) return HS_CLIENT_ESTOPPED;
        c->pos += take;
        if (!to_eof) n -= take;
    }
    return HS_CLIENT_OK;
}

static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t digits = 0;
    for (; *s; s++, digits++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return -1;
        if (v > (max - (uint64_t)d) / (uint64_t)base) return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (digits == 0) return -1;
    *out = v;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

/* max bounds each chunk and, when total_limit is set, the whole body (a stream of events may
 * run for days, so only its chunks are bounded). */
static int read_chunked(conn *c, hs_http_sink sink, void *ctx, uint64_t max, bool total_limit)
{
    char line[HS_HTTP_MAX_HEADER_LINE + 1];
    uint64_t total = 0;
    for (;;) {
        int r = read_line(c, line, sizeof line);
        if (r) return r;
        char *semi = strchr(line, ';');
        if (semi) *semi = '\0';
        uint64_t size;
        if (parse_u64(trim(line), 16, max, &size)) {
            seterr(c->err, c->errlen, "bad chunk size in response");
            return HS_CLIENT_EPROTO;
        }
        if (size == 0) break;
        if (size > max - (total_limit ? total : 0)) {
            seterr(c->err, c->errlen, "response body too large");
            return HS_CLIENT_ETOOBIG;
        }
        total += size;
        r = read_body(c, size, false, sink, ctx);
        if (r) return r;
        r = read_line(c, line, sizeof line);
        if (r) return r;
        if (line[0] != '\0') {
            seterr(c->err, c->errlen, "missing CRLF after chunk");
            return HS_CLIENT_EPROTO;
        }
    }
    for (int i = 0;; i++) { /* trailers, ignored */
        int r = read_line(c, line, sizeof line);
        if (r) return r;
        if (line[0] == '\0') return HS_CLIENT_OK;
        if (i >= HS_HTTP_MAX_HEADERS) {
            seterr(c->err, c->errlen, "too many trailer lines");
            return HS_CLIENT_EPROTO;
        }
    }
}

typedef struct head {
    int status;
    bool chunked, has_length, other_te;
    uint64_t length;
} head;

static int read_head(conn *c, head *h)
{
    char line[HS_HTTP_MAX_HEADER_LINE + 1];
    for (int interim = 0;; interim++) {
        int r = read_line(c, line, sizeof line);
        if (r) return r;
        /* "HTTP/1.x SSS[ reason]" */
        if (strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
            line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
            !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
            (line[12] != ' ' && line[12] != '\0')) {
            seterr(c->err, c->errlen, "not an HTTP response");
            return HS_CLIENT_EPROTO;
        }
        memset(h, 0, sizeof *h);
        h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (h->status < 100) {
            seterr(c->err, c->errlen, "bad HTTP status");
            return HS_CLIENT_EPROTO;
        }
        for (int n = 0;; n++) {
            r = read_line(c, line, sizeof line);
            if (r) return r;
            if (line[0] == '\0') break;
            if (n >= HS_HTTP_MAX_HEADERS) {
                seterr(c->err, c->errlen, "too many response headers");
                return HS_CLIENT_EPROTO;
            }
            if (line[0] == ' ' || line[0] == '\t') continue; /* obsolete folding: ignore */
            char *colon = strchr(line, ':');
            if (!colon) {
                seterr(c->err, c->errlen, "malformed response header");
                return HS_CLIENT_EPROTO;
            }
            *colon = '\0';
            char *value = trim(colon + 1);
            if (strcasecmp(line, "Content-Length") == 0) {
                uint64_t v;
                if (parse_u64(value, 10, UINT64_MAX / 2, &v) || (h->has_length && v != h->length)) {
                    seterr(c->err, c->errlen, "bad Content-Length in response");
                    return HS_CLIENT_EPROTO;
                }
                h->has_length = true;
                h->length = v;
            } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
                /* chunked must be the last coding; anything else means read to EOF */
                char *last = strrchr(value, ',');
                last = trim(last ? last + 1 : value);
                if (strcasecmp(last, "chunked") == 0)
                    h->chunked = true;
                else
                    h->other_te = true;
            }
        }
        if (h->status >= 200) return HS_CLIENT_OK;
        if (interim >= 4) {
            seterr(c->err, c->errlen, "too many interim responses");
            return HS_CLIENT_EPROTO;
        }
    }
}

static int build_request(const hs_http_request *req, char *out, size_t cap)
{
    for (const char *p = req->target; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return -1;
    int n;
    if (req->content_type)
        n = snprintf(
            out, cap,
            "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: libhearsay/" HS_CLIENT_VERSION "\r\n"
            "Accept: */*\r\nConnection: close\r\nContent-Type: %s\r\n"
            "Content-Length: %zu\r\n\r\n",
            req->method, req->target, req->content_type, req->body_len);
    else
        n = snprintf(
            out, cap,
            "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: libhearsay/" HS_CLIENT_VERSION "\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n",
            req->method, req->target);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

/* Sends the request on c and reads the answer into resp (or the sink). */
static int exchange(conn *c, const hs_http_request *req, hs_client_response *resp)
{
    char *err = c->err;
    size_t errlen = c->errlen;
    uint64_t max = req->max_body ? req->max_body : HS_HTTP_DEFAULT_MAX;
    collect body = {.max = max};
    char reqhead[4096];
    int n = build_request(req, reqhead, sizeof reqhead);
    int rc;
    head h;
    if (n < 0) {
        seterr(err, errlen, "request target too long or malformed");
        return HS_CLIENT_EINVAL;
    }
    rc = send_all(c, reqhead, (size_t)n);
    if (!rc && req->body_len) rc = send_all(c, req->body, req->body_len);
    /* An agent that refuses the connection answers 503 with the reason and closes before it
     * reads the request: read that answer rather than report the broken pipe. */
    bool refused = rc && (c->send_errno == EPIPE || c->send_errno == ECONNRESET);
    if (rc && !refused) goto out;
    rc = read_head(c, &h);
    if (rc && refused) {
        seterr(err, errlen, "writing request: %s", strerror(c->send_errno));
        rc = HS_CLIENT_EPROTO;
    }
    if (rc) goto out;
    resp->status = h.status;

    hs_http_sink sink = collect_sink;
    void *ctx = &body;
    if (req->sink && h.status >= 200 && h.status < 300) {
        sink = req->sink;
        ctx = req->sink_ctx;
        c->deadline = -1; /* a stream may stay idle for as long as nothing happens */
    }
    bool no_body = h.status == 204 || h.status == 304 || strcmp(req->method, "HEAD") == 0;
    if (no_body)
        rc = HS_CLIENT_OK;
    else if (h.chunked)
        rc = read_chunked(c, sink, ctx, max, sink == collect_sink);
    else if (h.has_length && !h.other_te) {
        if (h.length > max) {
            seterr(err, errlen, "response body too large");
            rc = HS_CLIENT_ETOOBIG;
        } else
            rc = read_body(c, h.length, false, sink, ctx);
    } else
        rc = read_body(c, 0, true, sink, ctx);
    if (rc == HS_CLIENT_ESTOPPED && sink == collect_sink) {
        seterr(err, errlen, "%s", body.no_mem ? "out of memory" : "response body too large");
        rc = body.no_mem ? HS_CLIENT_ENOMEM : HS_CLIENT_ETOOBIG;
    }
    if (rc == HS_CLIENT_OK && sink == collect_sink) {
        if (!body.data && collect_sink(&body, "", 0) != 0) {
            seterr(err, errlen, "out of memory");
            rc = HS_CLIENT_ENOMEM;
        }
        resp->body = body.data;
        resp->body_len = body.len;
        body.data = NULL;
    }
out:
    if (rc == HS_CLIENT_EINTR) seterr(err, errlen, "interrupted");
    free(body.data);
    return rc;
}

static conn *conn_new(const hs_http_request *req, char *err, size_t errlen)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->err = err;
    c->errlen = errlen;
    c->interrupt = req->interrupt;
    c->deadline = req->timeout_ms >= 0 ? now_ms() + req->timeout_ms : -1;
    return c;
}

int hsc_http_do(const hs_http_request *req, hs_client_response *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    char check[4096];
    if (build_request(req, check, sizeof check) < 0) { /* refused before connecting */
        seterr(err, errlen, "request target too long or malformed");
        return HS_CLIENT_EINVAL;
    }
    conn *c = conn_new(req, err, errlen);
    if (!c) return HS_CLIENT_ENOMEM;
    int rc = do_connect(c, req->socket_path);
    if (rc == HS_CLIENT_EINTR) seterr(err, errlen, "interrupted");
    if (rc == HS_CLIENT_OK) rc = exchange(c, req, resp);
    if (c->fd >= 0) close(c->fd);
    free(c);
    return rc;
}

int hsc_http_do_fd(int fd, const hs_http_request *req, hs_client_response *resp, char *err,
                   size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    conn *c = conn_new(req, err, errlen);
    if (!c) return HS_CLIENT_ENOMEM;
    c->fd = fd;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = exchange(c, req, resp);
    free(c);
    return rc;
}
