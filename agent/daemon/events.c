/* events.c: the event feed. Membership events become EVENT JSON lines (docs/api.md) with
 * increasing ids, kept in a bounded in-memory ring for `?since=ID`, and pushed as chunks to
 * every open GET /v1/events stream (bounded number of streams; a stream whose client does
 * not read is dropped rather than buffered without limit). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <jansson.h>

#include "daemon.h"
#include "json_util.h"
#include "log.h"

#define RING_SIZE      1024
#define STREAMS_MAX    64
#define STREAM_BACKLOG (1024 * 1024) /* bytes queued to a slow stream before it is cut */

typedef struct stream {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct stream *prev, *next;
} stream;

struct hsd_events {
    char *ring[RING_SIZE]; /* JSON line including '\n' */
    uint64_t ring_id[RING_SIZE];
    uint64_t next_id; /* id of the next event; the first is start time in ms * 1000 + 1 */
    stream *streams;
    unsigned nstreams;
};

static const char *event_name(hs_event_type t)
{
    switch (t) {
    case HS_EV_JOIN:
        return "member-join";
    case HS_EV_UPDATE:
        return "member-update";
    case HS_EV_SUSPECT:
        return "member-suspect";
    case HS_EV_ALIVE:
        return "member-alive";
    case HS_EV_FAILED:
        return "member-failed";
    case HS_EV_LEFT:
        return "member-leave";
    case HS_EV_REAP:
        return "member-reap";
    case HS_EV_CONFIG_SEEN:
        return "config-change";
    default:
        return NULL;
    }
}

int hsd_events_init(hsd *d)
{
    d->events = calloc(1, sizeof(*d->events));
    if (!d->events) return -1;
    /* Ids go on growing across restarts (the start time in ms, times 1000), so a watcher
     * that reconnects to a restarted agent with ?since=ID misses nothing the new agent has. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    d->events->next_id = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000000 * 1000 + 1;
    return 0;
}

static void stream_unlink(hsd *d, stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        d->events->streams = s->next;
    if (s->next) s->next->prev = s->prev;
    d->events->nstreams--;
    free(s);
}

void hsd_events_free(hsd *d)
{
    if (!d->events) return;
    while (d->events->streams) {
        stream *s = d->events->streams;
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
        evhttp_send_reply_end(s->req);
        stream_unlink(d, s);
    }
    for (size_t i = 0; i < RING_SIZE; i++) free(d->events->ring[i]);
    free(d->events);
    d->events = NULL;
}

static void send_line(stream *s, const char *line)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    evbuffer_add(b, line, strlen(line));
    evhttp_send_reply_chunk(s->req, b);
    evbuffer_free(b);
}

static size_t backlog(stream *s)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

unsigned hsd_events_streams(const hsd *d)
{
    return d->events ? d->events->nstreams : 0;
}

void hsd_events_publish(hsd *d, const hs_event *ev)
{
    const char *name = event_name(ev->type);
    if (!name) return;
    struct hsd_events *E = d->events;
    char b[HS_ADDR_STRLEN];
    json_t *o = json_object();
    uint64_t id = E->next_id++;
    json_object_set_new(o, "id", json_integer((json_int_t)id));
    json_object_set_new(o, "event", json_string(name));
    json_object_set_new(o, "name", hsd_json_str(ev->name));
    json_object_set_new(o, "addr", json_string(hs_addr_format(&ev->addr, b, sizeof(b))));
    json_object_set_new(o, "status", json_string(hs_status_name(ev->status)));
    json_object_set_new(o, "prev_status", json_string(hs_status_name(ev->prev_status)));
    json_object_set_new(o, "incarnation", json_integer((json_int_t)ev->incarnation));
    hs_member_info mi;
    if (ev->type != HS_EV_CONFIG_SEEN && hs_node_find(d->node, ev->name, &mi))
        json_object_set_new(o, "tags", hsd_json_tags(mi.tags));
    else
        json_object_set_new(o, "tags", json_object());
    if (ev->type == HS_EV_CONFIG_SEEN)
        json_object_set_new(o, "config_version", json_integer((json_int_t)ev->config_version));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)hsd_unix_ms()));
    char *text = json_dumps(o, JSON_COMPACT);
    if (text) hsd_handlers_dispatch(d, name, o, text);
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
    d->c.events_total++;
    log_info("event %s", text);
    free(text);

    size_t slot = (size_t)(id % RING_SIZE);
    free(E->ring[slot]);
    E->ring[slot] = line;
    E->ring_id[slot] = id;

    for (stream *s = E->streams, *next; s; s = next) {
        next = s->next;
        if (backlog(s) > STREAM_BACKLOG) {
            log_warn("dropping an events stream that does not read");
            struct evhttp_connection *evcon = s->evcon;
            evhttp_connection_set_closecb(evcon, NULL, NULL);
            stream_unlink(d, s);
            evhttp_connection_free(evcon);
            continue;
        }
        send_line(s, line);
    }
}

static void on_stream_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    hsd *d = arg;
    for (stream *s = d->events->streams; s; s = s->next)
        if (s->evcon == evcon) {
            /* when the client went away, evhttp has detached the unfinished request and
             * leaves freeing it to us; otherwise the connection frees it */
            struct evhttp_request *req = s->req;
            stream_unlink(d, s);
            if (evhttp_request_get_connection(req) == NULL) evhttp_send_reply_end(req);
            return;
        }
}

void hsd_events_serve(hsd *d, struct evhttp_request *req, uint64_t since, bool have_since)
{
    struct hsd_events *E = d->events;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (E->nstreams >= STREAMS_MAX || !evcon) {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{\"error\":\"too many event streams\"}\n");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, 503, "Service Unavailable", b);
        evbuffer_free(b);
        return;
    }
    stream *s = calloc(1, sizeof(*s));
    if (!s) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    s->req = req;
    s->evcon = evcon;
    s->next = E->streams;
    if (s->next) s->next->prev = s;
    E->streams = s;
    E->nstreams++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/x-ndjson");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
    /* a stream lives until the client goes away: no idle timeouts on it */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev) bufferevent_set_timeouts(bev, NULL, NULL);
    evhttp_connection_set_closecb(evcon, on_stream_close, d);
    if (have_since) {
        uint64_t first = E->next_id > RING_SIZE ? E->next_id - RING_SIZE : 1;
        if (since + 1 > first) first = since + 1;
        for (uint64_t id = first; id < E->next_id; id++) {
            size_t slot = (size_t)(id % RING_SIZE);
            if (E->ring[slot] && E->ring_id[slot] == id) send_line(s, E->ring[slot]);
        }
    }
}
