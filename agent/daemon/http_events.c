/* http_events.c: GET /v1/events, a subscriber of the engine's events. Each event becomes an
 * EVENT JSON line (docs/api.md), kept in a ring of the last RING_SIZE for `?since=ID` and for the
 * open GET /v1/events streams: each stream is a cursor into the ring, and the agent queues at most
 * STREAM_BUFFER bytes for it, the next lines when the client has taken those. A stream whose
 * next event has left the ring (its client fell more than RING_SIZE events behind) ends with
 * a last line {"event":"lagged","missed":N,"resume_since":ID} and is closed LAG_GRACE_MS
 * later if the client has not read it by then. Streams take slots of http_slots.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <jansson.h>

#include "clock.h"
#include "http_internal.h"
#include "json_util.h"
#include "log.h"

#define RING_SIZE     1024
#define STREAM_BUFFER (64 * 1024) /* bytes queued in the agent for one stream, at most */
#define LAG_GRACE_MS  5000        /* for a lagged stream's client to read its last line */

typedef struct stream {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    hsd_peer peer;
    uint64_t next; /* id of the next event to queue */
    bool ending;   /* lagged: the last line is queued, the request ended */
    struct stream *prev, *next_s;
} stream;

static struct hsd_events {
    bool on;
    uint64_t lagged;
    char *ring[RING_SIZE]; /* JSON line including '\n' */
    size_t ring_len[RING_SIZE];
    uint64_t ring_id[RING_SIZE];
    uint64_t first_id; /* of this run: the start time in ms * 1000 + 1 */
    uint64_t next_id;  /* id of the next event */
    stream *streams;
    unsigned nstreams;
} E_;

static struct hsd_events *const E = &E_;

static void on_event(void *arg, const hs_agent_event *ev, uint64_t id, uint64_t unix_ms);

int hsd_events_init(hsd_engine *e)
{
    memset(E, 0, sizeof(*E));
    E->on = true;
    E->first_id = E->next_id = hsd_engine_first_event_id(e);
    return hsd_engine_subscribe(e, on_event, NULL);
}

static void stream_unlink(stream *s)
{
    if (s->prev)
        s->prev->next_s = s->next_s;
    else
        E->streams = s->next_s;
    if (s->next_s) s->next_s->prev = s->prev;
    E->nstreams--;
    hsd_slot_put(HSD_SLOT_STREAM, &s->peer);
    free(s);
}

void hsd_events_free(void)
{
    if (!E->on) return;
    while (E->streams) {
        stream *s = E->streams;
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
        if (!s->ending) evhttp_send_reply_end(s->req);
        stream_unlink(s);
    }
    for (size_t i = 0; i < RING_SIZE; i++) free(E->ring[i]);
    memset(E, 0, sizeof(*E));
}

unsigned hsd_events_streams(void)
{
    return E->nstreams;
}

uint64_t hsd_events_lagged(void)
{
    return E->lagged;
}

/* The oldest event id the ring still holds (or would hold, before it is full). */
static uint64_t oldest_id(void)
{
    return E->next_id - E->first_id > RING_SIZE ? E->next_id - RING_SIZE : E->first_id;
}

static void pump(stream *s);

/* evhttp: everything queued on a stream's connection has gone to the socket. */
static void on_drained(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    for (stream *s = E->streams; s; s = s->next_s)
        if (s->evcon == evcon) {
            pump(s);
            return;
        }
}

/* The client fell out of the ring: the last line, the end of the reply, and a deadline for
 * the client to read them (http_conns.c closes the connection then). s may be freed here. */
static void lag(stream *s, uint64_t oldest)
{
    E->lagged++;
    s->ending = true;
    log_warn("events: dropping a stream of uid %lu that is %llu events behind (%llu lost)",
             (unsigned long)s->peer.uid, (unsigned long long)(E->next_id - s->next),
             (unsigned long long)(oldest - s->next));
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add_printf(b,
                            "{\"event\":\"lagged\",\"missed\":%llu,\"resume_since\":%llu,"
                            "\"time_ms\":%llu}\n",
                            (unsigned long long)(oldest - s->next),
                            (unsigned long long)(s->next - 1), (unsigned long long)hsd_unix_ms());
        evhttp_send_reply_chunk(s->req, b);
        evbuffer_free(b);
    }
    struct evhttp_request *req = s->req;
    hsd_http_conn_deadline(req, LAG_GRACE_MS);
    evhttp_send_reply_end(req); /* "Connection: close": evhttp closes once it is written */
}

/* Queues the stream's next events, up to STREAM_BUFFER bytes queued in all. */
static void pump(stream *s)
{
    if (s->ending) return;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
    if (!bev) return;
    /* bytes the client sends on a stream are of no use; keep reading them to see its EOF */
    evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    uint64_t oldest = oldest_id();
    if (s->next < oldest) {
        lag(s, oldest);
        return;
    }
    size_t queued = evbuffer_get_length(bufferevent_get_output(bev));
    if (s->next == E->next_id || queued >= STREAM_BUFFER) return;
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    for (; s->next < E->next_id && queued < STREAM_BUFFER; s->next++) {
        size_t slot = (size_t)(s->next % RING_SIZE);
        if (!E->ring[slot] || E->ring_id[slot] != s->next) continue; /* never stored (OOM) */
        evbuffer_add(b, E->ring[slot], E->ring_len[slot]);
        queued += E->ring_len[slot];
    }
    if (evbuffer_get_length(b)) evhttp_send_reply_chunk_with_cb(s->req, b, on_drained, NULL);
    evbuffer_free(b);
}

static void on_event(void *arg, const hs_agent_event *ev, uint64_t id, uint64_t unix_ms)
{
    (void)arg;
    json_t *o = hsd_json_event(ev, id, unix_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) return;
    size_t n = strlen(text);
    char *line = malloc(n + 2);
    if (!line) {
        free(text);
        return;
    }
    memcpy(line, text, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    free(text);
    if (id >= E->next_id) E->next_id = id + 1;
    size_t slot = (size_t)(id % RING_SIZE);
    free(E->ring[slot]);
    E->ring[slot] = line;
    E->ring_len[slot] = n + 1;
    E->ring_id[slot] = id;
    for (stream *s = E->streams, *next; s; s = next) {
        next = s->next_s;
        pump(s);
    }
}

static void on_stream_close(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    for (stream *s = E->streams; s; s = s->next_s)
        if (s->evcon == evcon) {
            /* when the client went away, evhttp has detached the unfinished request and
             * leaves freeing it to us; otherwise (and once the reply ended) the connection
             * frees it */
            struct evhttp_request *req = s->ending ? NULL : s->req;
            stream_unlink(s);
            if (req && evhttp_request_get_connection(req) == NULL) evhttp_send_reply_end(req);
            return;
        }
}

static void refuse(struct evhttp_request *req, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    json_t *o = json_pack("{s:s}", "error", msg);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    evbuffer_add_printf(b, "%s\n", text ? text : "{\"error\":\"too many event streams\"}");
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 503, "Service Unavailable", b);
    evbuffer_free(b);
}

void hsd_events_serve(struct evhttp_request *req, uint64_t since, bool have_since)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    hsd_peer peer;
    if (!evcon || !hsd_http_peer(req, &peer)) {
        refuse(req, "cannot tell who is connected");
        return;
    }
    int why = hsd_slot_take(HSD_SLOT_STREAM, &peer);
    if (why != HSD_SLOT_OK) {
        char msg[200];
        hsd_slot_refusal(HSD_SLOT_STREAM, why, &peer, msg, sizeof(msg));
        refuse(req, msg);
        return;
    }
    stream *s = calloc(1, sizeof(*s));
    if (!s) {
        hsd_slot_put(HSD_SLOT_STREAM, &peer);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    s->req = req;
    s->evcon = evcon;
    s->peer = peer;
    s->next_s = E->streams;
    if (s->next_s) s->next_s->prev = s;
    E->streams = s;
    E->nstreams++;
    /* the first event to send: the oldest buffered one after ?since=, else the next one */
    s->next = E->next_id;
    if (have_since) {
        uint64_t oldest = oldest_id();
        s->next = since < oldest ? oldest : since < E->next_id ? since + 1 : E->next_id;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/x-ndjson");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "Connection", "close"); /* a stream ends its connection */
    evhttp_send_reply_start(req, 200, "OK");
    /* a stream lives until the client goes away or lags: no idle timeout, no deadline */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev) bufferevent_set_timeouts(bev, NULL, NULL);
    hsd_http_conn_deadline(req, 0);
    evhttp_connection_set_closecb(evcon, on_stream_close, NULL);
    pump(s);
}
