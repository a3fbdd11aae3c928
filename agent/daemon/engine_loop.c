/* engine_loop.c: the part of the engine (engine.h) the edges use to wait: timers, readable or
 * writable file descriptors and signals on the engine's one loop, so that no edge module needs
 * the loop's library itself. */
#include <stdlib.h>

#include <event2/event.h>

#include "engine.h"

struct hsd_watch {
    struct event *ev;
    hsd_watch_fn fn;
    void *arg;
    bool timer;
};

static void on_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd_watch *w = arg;
    w->fn(w->arg);
}

static hsd_watch *watch_new(hsd_engine *e, evutil_socket_t fd, short what, hsd_watch_fn fn,
                            void *arg, bool timer)
{
    hsd_watch *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->fn = fn;
    w->arg = arg;
    w->timer = timer;
    w->ev = event_new(hsd_engine_base(e), fd, what, on_fire, w);
    if (!w->ev) {
        free(w);
        return NULL;
    }
    return w;
}

hsd_watch *hsd_timer_new(hsd_engine *e, hsd_watch_fn fn, void *arg)
{
    return watch_new(e, -1, 0, fn, arg, true);
}

hsd_watch *hsd_every_new(hsd_engine *e, hsd_watch_fn fn, void *arg)
{
    return watch_new(e, -1, EV_PERSIST, fn, arg, true);
}

hsd_watch *hsd_fd_watch_new(hsd_engine *e, int fd, bool writable, hsd_watch_fn fn, void *arg)
{
    return watch_new(e, fd, (short)((writable ? EV_WRITE : EV_READ) | EV_PERSIST), fn, arg, false);
}

hsd_watch *hsd_signal_watch_new(hsd_engine *e, int sig, hsd_watch_fn fn, void *arg)
{
    return watch_new(e, sig, EV_SIGNAL | EV_PERSIST, fn, arg, false);
}

int hsd_watch_start(hsd_watch *w, uint64_t ms)
{
    if (!w) return -1;
    if (!w->timer) return event_add(w->ev, NULL);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return event_add(w->ev, &tv);
}

void hsd_watch_stop(hsd_watch *w)
{
    if (w) event_del(w->ev);
}

bool hsd_watch_pending(const hsd_watch *w)
{
    return w && event_pending(w->ev, EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL, NULL);
}

void hsd_watch_free(hsd_watch *w)
{
    if (!w) return;
    event_free(w->ev);
    free(w);
}

void hsd_engine_stop(hsd_engine *e)
{
    event_base_loopexit(hsd_engine_base(e), NULL);
}

void hsd_engine_run_once(hsd_engine *e)
{
    event_base_loop(hsd_engine_base(e), EVLOOP_NONBLOCK);
}
