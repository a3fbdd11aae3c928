/* http_monitor.c: GET /v1/monitor?level=L, the agent's log as a stream of text lines, each
 * client at its own level whatever --log-level is (the log's tap asks for the most detailed
 * level any stream wants). At most STREAM_BUFFER bytes wait in the agent for one client;
 * lines that do not fit are dropped and counted, and a "N lines dropped" line takes their
 * place once the client has read what was queued. Streams take slots of http_slots.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "clock.h"
#include "http_internal.h"
#include "log.h"

#define STREAM_BUFFER (64 * 1024) /* bytes queued in the agent for one client, at most */
#define MON_LINE_MAX  1200        /* one formatted line: time, level, message (log.c: < 1100) */

typedef struct mstream {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    hsd_peer peer;
    int level;
    uint64_t dropped; /* lines dropped since the last marker */
    struct mstream *next;
} mstream;

static struct {
    mstream *streams;
    unsigned n;
    uint64_t lines_dropped; /* for /v1/metrics */
} M;

static const char *level_name(int level)
{
    switch (level) {
    case HSD_LOG_ERR:
        return "ERROR";
    case HSD_LOG_WARN:
        return "WARN";
    case HSD_LOG_NOTICE:
        return "NOTICE";
    case HSD_LOG_INFO:
        return "INFO";
    default:
        return "DEBUG";
    }
}

static void on_line(int level, const char *line, size_t len);

/* The tap's level: the most detailed one any stream asks for (none: no tap). */
static void retap(void)
{
    int want = 0;
    for (mstream *s = M.streams; s; s = s->next)
        if (s->level > want) want = s->level;
    hsd_log_set_tap(want, want ? on_line : NULL);
}

/* Bytes waiting in the agent for s's client. What the client sends after its request is of
 * no use: it is thrown away here, so it cannot pile up either. */
static size_t queued(const mstream *s)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
    if (!bev) return STREAM_BUFFER;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    return evbuffer_get_length(bufferevent_get_output(bev));
}

static void on_drained(struct evhttp_connection *evcon, void *arg);

static void send_text(mstream *s, const char *text, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    evbuffer_add(b, text, len);
    evhttp_send_reply_chunk_with_cb(s->req, b, on_drained, NULL);
    evbuffer_free(b);
}

/* "2026-12-04T17:50:23.123Z [INFO] text\n" into buf; its length. */
static size_t format_line(char *buf, size_t cap, int level, const char *text, size_t len)
{
    uint64_t ms = hsd_unix_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int o = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ [%s] ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned)(ms % 1000), level_name(level));
    if (o < 0) return 0;
    size_t n = (size_t)o;
    if (len > cap - n - 1) len = cap - n - 1;
    memcpy(buf + n, text, len);
    buf[n + len] = '\n';
    return n + len + 1;
}

/* The marker for lines dropped, if there is room for it now. */
static void flush_marker(mstream *s)
{
    if (!s->dropped) return;
    char text[100], line[200];
    int n = snprintf(text, sizeof(text), "monitor: %llu lines dropped (the client read too slowly)",
                     (unsigned long long)s->dropped);
    size_t len = format_line(line, sizeof(line), HSD_LOG_WARN, text, (size_t)n);
    if (queued(s) + len > STREAM_BUFFER) return;
    s->dropped = 0;
    send_text(s, line, len);
}

static void on_drained(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    for (mstream *s = M.streams; s; s = s->next)
        if (s->evcon == evcon) {
            flush_marker(s);
            return;
        }
}

/* The log's tap: one line to every stream that wants its level. */
static void on_line(int level, const char *text, size_t len)
{
    char line[MON_LINE_MAX];
    size_t n = 0;
    for (mstream *s = M.streams; s; s = s->next) {
        if (level > s->level) continue;
        if (!n) n = format_line(line, sizeof(line), level, text, len);
        flush_marker(s);
        if (s->dropped || queued(s) + n > STREAM_BUFFER) {
            s->dropped++;
            M.lines_dropped++;
            continue;
        }
        send_text(s, line, n);
    }
}

static void unlink_stream(mstream *s)
{
    for (mstream **pp = &M.streams; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    M.n--;
    hsd_slot_put(HSD_SLOT_STREAM, &s->peer);
    free(s);
    retap();
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    for (mstream *s = M.streams; s; s = s->next)
        if (s->evcon == evcon) {
            /* the client went away: evhttp detached the unfinished request for us to free */
            struct evhttp_request *req = s->req;
            unlink_stream(s);
            if (evhttp_request_get_connection(req) == NULL) evhttp_send_reply_end(req);
            return;
        }
}

void hsd_monitor_free(void)
{
    while (M.streams) {
        mstream *s = M.streams;
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
        evhttp_send_reply_end(s->req);
        unlink_stream(s);
    }
    hsd_log_set_tap(0, NULL);
}

unsigned hsd_monitor_streams(void)
{
    return M.n;
}

uint64_t hsd_monitor_dropped(void)
{
    return M.lines_dropped;
}

void hsd_monitor_serve(struct evhttp_request *req, struct evkeyvalq *q)
{
    const char *lv = evhttp_find_header(q, "level");
    int level = lv ? hsd_log_parse_level(lv) : HSD_LOG_INFO;
    if (level < 0) {
        hsd_http_error(req, 400, "level must be one of error, warn, notice, info, debug");
        return;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    hsd_peer peer;
    if (!evcon || !hsd_http_peer(req, &peer)) {
        hsd_http_error(req, 503, "cannot tell who is connected");
        return;
    }
    int why = hsd_slot_take(HSD_SLOT_STREAM, &peer);
    if (why != HSD_SLOT_OK) {
        char msg[200];
        hsd_slot_refusal(HSD_SLOT_STREAM, why, &peer, msg, sizeof(msg));
        hsd_http_error(req, 503, msg);
        return;
    }
    mstream *s = calloc(1, sizeof(*s));
    if (!s) {
        hsd_slot_put(HSD_SLOT_STREAM, &peer);
        hsd_http_error(req, 500, "out of memory");
        return;
    }
    s->req = req;
    s->evcon = evcon;
    s->peer = peer;
    s->level = level;
    s->next = M.streams;
    M.streams = s;
    M.n++;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "Connection", "close");
    evhttp_send_reply_start(req, 200, "OK");
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev) bufferevent_set_timeouts(bev, NULL, NULL);
    hsd_http_conn_deadline(req, 0);
    evhttp_connection_set_closecb(evcon, on_close, NULL);
    retap();
    log_info("monitor: a stream at level %s for uid %lu", level_name(level),
             (unsigned long)peer.uid);
}
