/* http_conns.c: who gets an API socket connection, and for how long (docs/api.md, "Limits").
 *
 * Admission. libevent 2.1's evhttp accepts connections itself and, through evhttp_set_bevcb,
 * asks us for each one's bufferevent before it has set the socket on it. We make it, hold a
 * reference and queue it; an event made active there runs in the same loop turn, after the
 * accept batch and before any byte of the new connections is read, and admits each: the
 * peer's uid and groups (SO_PEERCRED, http_auth.c) and a connection slot of the peer's share
 * (http_slots.c). A refused connection gets a 503 naming the reason, written straight to its
 * socket, and is closed at once. evhttp's listener accepts until the queue is empty; we pause
 * it after ACCEPT_BATCH connections until they are admitted, so that other clients are served
 * between batches of a connect flood.
 *
 * Deadlines. evhttp's timeouts are bufferevent timeouts, which start again on every byte read:
 * a client that sends one byte a second keeps its connection for ever. Each connection has a
 * timer of ours instead: the whole request (request line, headers, body) must have arrived
 * REQUEST_MS after the connection opened or the previous answer ended; the answer must be
 * written ANSWER_MS after the request arrived (the longest operations wait ~35 s); an event
 * stream has no deadline. At a deadline the connection gets the event evhttp's own timeout
 * gives it, so evhttp closes it as it does then (a request that a handler still holds is
 * detached and freed when answered).
 *
 * End. A connection is over when evhttp has freed its bufferevent: bufferevent_free clears all
 * three callbacks, which evhttp keeps set on a live connection. Our reference keeps the object
 * (and its fd) until a sweep sees that and gives the slot back; sweeps run before every
 * admission batch and every second. One daemon per process: the state is static. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "clock.h"
#include "http_internal.h"
#include "log.h"

#define ACCEPT_BATCH  64    /* connections accepted before they are admitted */
#define REQUEST_MS    10000 /* the whole request, from the opening or the previous answer */
#define ANSWER_MS     60000 /* the answer, from the complete request */
#define READ_WM       16384 /* input buffered per connection (> the 8 KiB header limit) */
#define WARN_EVERY_MS 60000

enum { PHASE_REQUEST, PHASE_ANSWER, PHASE_STREAM };

typedef struct conn {
    struct bufferevent *bev; /* our reference */
    struct event *timer;     /* the deadline of the phase */
    hsd_peer peer;
    int fd;        /* -1 until it is admitted */
    bool admitted; /* holds a connection slot; else pending, or refused and closing */
    int phase;
} conn;

static struct {
    bool on;
    hsd_http_stats stats;
    struct evconnlistener *lis; /* evhttp's listener on the API socket */
    struct event *admit_ev, *sweep_ev;
    conn **pending; /* accepted, not yet admitted */
    size_t npending, apending;
    conn **byfd; /* admitted, by socket */
    size_t nbyfd;
    unsigned open;
    bool paused; /* evhttp's listener off until the pending ones are admitted */
    uint64_t last_refusal_log, last_deadline_log;
} C;

static bool bev_dead(struct bufferevent *bev)
{
    bufferevent_data_cb r = NULL, w = NULL;
    bufferevent_event_cb e = NULL;
    bufferevent_getcb(bev, &r, &w, &e, NULL);
    return !r && !w && !e;
}

static bool log_due(uint64_t *last)
{
    uint64_t now = hsd_now_ms();
    if (*last && now - *last < WARN_EVERY_MS) return false;
    *last = now;
    return true;
}

static void conn_free(conn *c)
{
    event_free(c->timer);
    bufferevent_decref(c->bev); /* the last reference closes the socket */
    free(c);
}

/* Forgets an ended connection and gives its slot back. */
static void drop(conn *c)
{
    if (c->fd >= 0 && (size_t)c->fd < C.nbyfd && C.byfd[c->fd] == c) C.byfd[c->fd] = NULL;
    if (c->admitted) {
        C.open--;
        hsd_slot_put(HSD_SLOT_CONN, &c->peer);
    }
    conn_free(c);
}

static void sweep(void)
{
    for (size_t fd = 0; fd < C.nbyfd; fd++)
        if (C.byfd[fd] && bev_dead(C.byfd[fd]->bev)) drop(C.byfd[fd]);
}

static void arm(conn *c, int phase, unsigned ms)
{
    c->phase = phase;
    if (!ms) {
        evtimer_del(c->timer);
        return;
    }
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* Closes the connection as evhttp's own timeout does; forgets it if evhttp let it go. */
static bool byfd_room(int fd);

static void close_now(conn *c)
{
    bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
    if (bev_dead(c->bev)) {
        drop(c);
        return;
    }
    /* not expected: make the socket fail for evhttp, and let a sweep collect it */
    shutdown(c->fd, SHUT_RDWR);
    if (byfd_room(c->fd)) C.byfd[c->fd] = c;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    if (bev_dead(c->bev)) {
        drop(c);
        return;
    }
    bool req = c->phase == PHASE_REQUEST;
    uint64_t *n = &C.stats.deadline_closed[req ? 0 : 1];
    (*n)++;
    if (log_due(&C.last_deadline_log))
        log_info("API socket: closed a connection of uid %lu: its %s was not %s within %u s "
                 "(%llu so far)",
                 (unsigned long)c->peer.uid, req ? "request" : "answer",
                 req ? "complete" : "written", (req ? REQUEST_MS : ANSWER_MS) / 1000,
                 (unsigned long long)*n);
    close_now(c);
}

static void refuse(conn *c, int fd, int why)
{
    char msg[200], resp[400];
    hsd_slot_refusal(HSD_SLOT_CONN, why, &c->peer, msg, sizeof(msg));
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n\r\n{\"error\":\"%s\"}\n",
                     strlen(msg) + 13, msg);
    if (n > 0 && (size_t)n < sizeof(resp))
        (void)send(fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (log_due(&C.last_refusal_log)) {
        uint64_t total = 0;
        for (int w = HSD_SLOT_FULL; w < HSD_SLOT_WHYS; w++)
            total += hsd_slots_refused(HSD_SLOT_CONN, w);
        log_warn("API socket: refused a connection of uid %lu: %s (%llu refused so far)",
                 (unsigned long)c->peer.uid, msg, (unsigned long long)total);
    }
    close_now(c);
}

static bool byfd_room(int fd)
{
    if ((size_t)fd < C.nbyfd) return true;
    size_t n = C.nbyfd ? C.nbyfd : 64;
    while (n <= (size_t)fd) n *= 2;
    conn **b = realloc(C.byfd, n * sizeof(*b));
    if (!b) return false;
    memset(b + C.nbyfd, 0, (n - C.nbyfd) * sizeof(*b));
    C.byfd = b;
    C.nbyfd = n;
    return true;
}

/* Admits an accepted connection or refuses it; true if admitted. */
static bool admit(conn *c)
{
    int fd = (int)bufferevent_getfd(c->bev);
    if (fd < 0 || bev_dead(c->bev)) { /* evhttp gave up on it */
        conn_free(c);
        return false;
    }
    c->fd = fd;
    if (hsd_auth_peer(fd, &c->peer) != 0) {
        log_warn("API socket: cannot read the peer credentials: %s", strerror(errno));
        c->peer.uid = (uid_t)-1;
        c->peer.privileged = false;
    }
    int why = hsd_slot_take(HSD_SLOT_CONN, &c->peer);
    if (why == HSD_SLOT_OK && !byfd_room(fd)) {
        hsd_slot_put(HSD_SLOT_CONN, &c->peer);
        why = HSD_SLOT_FULL;
    }
    if (why != HSD_SLOT_OK) {
        refuse(c, fd, why);
        return false;
    }
    c->admitted = true;
    C.byfd[fd] = c;
    C.open++;
    arm(c, PHASE_REQUEST, REQUEST_MS);
    return true;
}

static void on_admit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sweep(); /* ended connections give their slots back first */
    for (size_t i = 0; i < C.npending; i++) admit(C.pending[i]);
    C.npending = 0;
    if (C.paused) {
        C.paused = false;
        evconnlistener_enable(C.lis);
    }
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    (void)arg;
    if (!C.on) return NULL;
    if (C.npending == C.apending) {
        size_t na = C.apending ? C.apending * 2 : ACCEPT_BATCH;
        conn **p = realloc(C.pending, na * sizeof(*p));
        if (!p) return NULL; /* evhttp makes its own: served without a slot or deadline */
        C.pending = p;
        C.apending = na;
    }
    conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->fd = -1;
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    c->timer = c->bev ? evtimer_new(base, on_timer, c) : NULL;
    if (!c->timer) {
        if (c->bev) bufferevent_free(c->bev);
        free(c);
        return NULL;
    }
    bufferevent_setwatermark(c->bev, EV_READ, 0, READ_WM);
    bufferevent_incref(c->bev);
    C.pending[C.npending++] = c;
    event_active(C.admit_ev, EV_TIMEOUT, 1);
    if (C.npending >= ACCEPT_BATCH && !C.paused) {
        C.paused = true;
        evconnlistener_disable(C.lis);
    }
    return c->bev;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sweep();
}

/* Our record of req's connection (admitted or still pending), or NULL. */
static conn *lookup(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (!bev) return NULL;
    int fd = (int)bufferevent_getfd(bev);
    if (fd >= 0 && (size_t)fd < C.nbyfd && C.byfd[fd] && C.byfd[fd]->bev == bev) return C.byfd[fd];
    for (size_t i = 0; i < C.npending; i++)
        if (C.pending[i]->bev == bev) return C.pending[i];
    return NULL;
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    (void)req;
    arm(arg, PHASE_REQUEST, REQUEST_MS); /* the next request on this connection */
}

bool hsd_http_conn_begin(struct evhttp_request *req)
{
    conn *c = lookup(req);
    if (!c) return true; /* one evhttp made itself (we were out of memory) */
    if (!c->admitted) {  /* pending (the admission event has not run yet), or refused */
        bool pending = c->fd < 0;
        for (size_t i = 0; pending && i < C.npending; i++)
            if (C.pending[i] == c) {
                C.pending[i] = C.pending[--C.npending];
                break;
            }
        if (!pending || !admit(c)) {
            if (evhttp_request_get_connection(req))
                evhttp_send_error(req, 503, NULL);
            else
                evhttp_send_reply_end(req); /* detached from its closed connection: frees it */
            return false;
        }
    }
    arm(c, PHASE_ANSWER, ANSWER_MS);
    evhttp_request_set_on_complete_cb(req, on_complete, c);
    return true;
}

void hsd_http_conn_deadline(struct evhttp_request *req, unsigned ms)
{
    conn *c = lookup(req);
    if (c && c->admitted) arm(c, ms ? PHASE_ANSWER : PHASE_STREAM, ms);
}

bool hsd_http_peer(struct evhttp_request *req, hsd_peer *out)
{
    conn *c = lookup(req);
    if (c && c->admitted) {
        *out = c->peer;
        return true;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    return bev && hsd_auth_peer((int)bufferevent_getfd(bev), out) == 0;
}

int hsd_http_conns_init(struct event_base *base, struct evhttp *http,
                        struct evhttp_bound_socket *bound)
{
    memset(&C, 0, sizeof(C));
    C.on = true;
    C.lis = evhttp_bound_socket_get_listener(bound);
    C.admit_ev = event_new(base, -1, 0, on_admit, NULL);
    C.sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
    struct timeval tv = {1, 0};
    if (!C.lis || !C.admit_ev || !C.sweep_ev || event_add(C.sweep_ev, &tv) != 0) {
        hsd_http_conns_free();
        return -1;
    }
    evhttp_set_bevcb(http, on_new_conn, NULL);
    return 0;
}

hsd_http_stats *hsd_http_get_stats(void)
{
    return &C.stats;
}

void hsd_http_conns_free(void)
{
    if (C.admit_ev) event_free(C.admit_ev);
    if (C.sweep_ev) event_free(C.sweep_ev);
    for (size_t i = 0; i < C.npending; i++) conn_free(C.pending[i]);
    for (size_t fd = 0; fd < C.nbyfd; fd++)
        if (C.byfd[fd]) conn_free(C.byfd[fd]);
    free(C.pending);
    free(C.byfd);
    memset(&C, 0, sizeof(C));
}

unsigned hsd_http_conns_open(void)
{
    sweep();
    return C.open;
}
