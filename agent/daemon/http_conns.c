/* http_conns.c: the cap on open API socket connections (--max-api-connections, default 256).
 *
 * libevent 2.1's evhttp accepts every connection and has no limit of its own (2.2 adds
 * evhttp_set_max_connections), so a local client could open connections until the daemon runs
 * out of file descriptors. The cap is built from public 2.1 calls only:
 *   - evhttp_set_bevcb: evhttp asks us for the bufferevent of each connection it accepts. We
 *     make it (a socket bufferevent that closes its fd when freed), keep a reference to it and
 *     count it.
 *   - a connection is over when evhttp frees its bufferevent: bufferevent_free clears all
 *     three callbacks, which evhttp always keeps set on a live connection. Our reference keeps
 *     the object (and its fd) until a sweep sees that and drops it; sweeps run before every
 *     accept decision and every second, so a closed connection's fd lives at most ~1 s more.
 *   - at the cap, evhttp's listener is disabled and an event of ours on the same listening
 *     socket accepts each further connection and closes it at once (counted as
 *     hearsay_api_connections_refused_total); below the cap again, evhttp's listener is back.
 * One daemon per process: the state is static. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "daemon.h"
#include "log.h"

#define REJECT_BATCH  64 /* connections refused per wakeup */
#define WARN_EVERY_MS 60000

static struct {
    hsd *d;
    struct evconnlistener *lis; /* evhttp's listener on the API socket */
    struct event *reject_ev;    /* on the listening fd while at the cap */
    struct event *sweep_ev;
    struct bufferevent **bevs; /* one per open connection, each holding our reference */
    size_t n, alloc;
    unsigned max;
    bool at_cap;
    uint64_t last_warn_ms;
} C;

static bool bev_dead(struct bufferevent *bev)
{
    bufferevent_data_cb r = NULL, w = NULL;
    bufferevent_event_cb e = NULL;
    bufferevent_getcb(bev, &r, &w, &e, NULL);
    return !r && !w && !e;
}

static void set_at_cap(bool on)
{
    if (on == C.at_cap) return;
    C.at_cap = on;
    if (on) {
        evconnlistener_disable(C.lis);
        event_add(C.reject_ev, NULL);
    } else {
        event_del(C.reject_ev);
        evconnlistener_enable(C.lis);
    }
}

/* Drops our reference to every connection evhttp has freed. */
static void sweep(void)
{
    for (size_t i = 0; i < C.n;) {
        if (bev_dead(C.bevs[i])) {
            bufferevent_decref(C.bevs[i]);
            C.bevs[i] = C.bevs[--C.n];
        } else {
            i++;
        }
    }
    if (C.at_cap && C.n < C.max) set_at_cap(false);
}

static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    (void)arg;
    sweep();
    if (C.n == C.alloc) {
        size_t na = C.alloc ? C.alloc * 2 : 16;
        struct bufferevent **b = realloc(C.bevs, na * sizeof(*b));
        if (!b) return NULL; /* evhttp makes its own; uncounted */
        C.bevs = b;
        C.alloc = na;
    }
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) return NULL;
    bufferevent_incref(bev);
    C.bevs[C.n++] = bev;
    if (C.n >= C.max) set_at_cap(true); /* the next one goes to on_reject */
    return bev;
}

static void on_reject(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    sweep();
    if (!C.at_cap) return; /* room again: evhttp's listener takes it */
    unsigned refused = 0;
    for (int i = 0; i < REJECT_BATCH; i++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) break;
        close(c);
        refused++;
    }
    C.d->c.http_conns_refused += refused;
    uint64_t now = hsd_now_ms();
    if (refused && (!C.last_warn_ms || now - C.last_warn_ms >= WARN_EVERY_MS)) {
        C.last_warn_ms = now;
        log_warn("API socket: %u connections open, the most allowed (--max-api-connections); "
                 "closing new ones (%llu so far)",
                 C.max, (unsigned long long)C.d->c.http_conns_refused);
    }
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sweep();
}

int hsd_http_conns_init(hsd *d, struct evhttp_bound_socket *bound)
{
    memset(&C, 0, sizeof(C));
    C.d = d;
    C.max = d->opt.max_api_connections ? d->opt.max_api_connections : HSD_DEFAULT_API_CONNS;
    C.lis = evhttp_bound_socket_get_listener(bound);
    C.reject_ev = event_new(d->base, evhttp_bound_socket_get_fd(bound), EV_READ | EV_PERSIST,
                            on_reject, NULL);
    C.sweep_ev = event_new(d->base, -1, EV_PERSIST, on_sweep, NULL);
    struct timeval tv = {1, 0};
    if (!C.lis || !C.reject_ev || !C.sweep_ev || event_add(C.sweep_ev, &tv) != 0) {
        hsd_http_conns_free(d);
        return -1;
    }
    evhttp_set_bevcb(d->http, on_new_conn, NULL);
    return 0;
}

void hsd_http_conns_free(hsd *d)
{
    (void)d;
    if (C.reject_ev) event_free(C.reject_ev);
    if (C.sweep_ev) event_free(C.sweep_ev);
    for (size_t i = 0; i < C.n; i++) bufferevent_decref(C.bevs[i]);
    free(C.bevs);
    memset(&C, 0, sizeof(C));
}

unsigned hsd_http_conns_open(const hsd *d)
{
    (void)d;
    sweep();
    return (unsigned)C.n;
}
