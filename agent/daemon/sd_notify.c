/* sd_notify.c: the systemd notification protocol, hand-written (no libsystemd): datagrams to
 * $NOTIFY_SOCKET (a path, or '@' for an abstract name). READY=1 once sockets are bound and Raft
 * state is loaded; STATUS=alive=N suspect=N failed=N raft=ROLE when it changes (at most one per
 * second; a change inside that second is sent when it ends); WATCHDOG=1 every WATCHDOG_USEC/2
 * from the event loop when WATCHDOG_USEC is set and WATCHDOG_PID is unset or ours;
 * STOPPING=1 on graceful shutdown. Without NOTIFY_SOCKET every call is a no-op. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "hearsay/raft.h"
#include "log.h"

#define STATUS_MIN_MS 1000

struct hsd_notify {
    int fd;
    struct sockaddr_un sun;
    socklen_t sl;
    struct event *watchdog;
    struct event *status_timer;
    char last_status[128];
    uint64_t last_status_at;
    bool status_pending;
    bool stopping_sent;
};

static void send_msg(struct hsd_notify *N, const char *msg)
{
    if (sendto(N->fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&N->sun, N->sl) < 0)
        log_debug("sd_notify %s failed", msg);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    send_msg(d->notify, "WATCHDOG=1");
}

static void status_now(hsd *d)
{
    struct hsd_notify *N = d->notify;
    unsigned alive = 0, suspect = 0, failed = 0;
    size_t total = hs_node_member_count(d->node);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++) {
        if (!hs_node_member_at(d->node, i, &mi)) continue;
        alive += mi.status == HS_ALIVE;
        suspect += mi.status == HS_SUSPECT;
        failed += mi.status == HS_FAILED;
    }
    hs_raft *r = hsd_raft_node(d);
    char msg[128];
    snprintf(msg, sizeof(msg), "STATUS=alive=%u suspect=%u failed=%u raft=%s", alive, suspect,
             failed, r ? hs_raft_role_name(hs_raft_get_role(r)) : "none");
    N->status_pending = false;
    if (!strcmp(msg, N->last_status)) return;
    snprintf(N->last_status, sizeof(N->last_status), "%s", msg);
    N->last_status_at = hsd_now_ms();
    send_msg(N, msg);
}

static void on_status_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    status_now(arg);
}

void hsd_notify_status(hsd *d)
{
    struct hsd_notify *N = d->notify;
    if (!N || !d->node || N->status_pending) return;
    uint64_t now = hsd_now_ms();
    if (now >= N->last_status_at + STATUS_MIN_MS) {
        status_now(d);
        return;
    }
    uint64_t wait = N->last_status_at + STATUS_MIN_MS - now;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    N->status_pending = true;
    evtimer_add(N->status_timer, &tv);
}

void hsd_notify_init(hsd *d)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@')) return;
    size_t n = strlen(path);
    struct hsd_notify *N = calloc(1, sizeof(*N));
    if (!N) return;
    N->sun.sun_family = AF_UNIX;
    if (n < 2 || n >= sizeof(N->sun.sun_path)) {
        log_warn("NOTIFY_SOCKET is too long; not notifying systemd");
        free(N);
        return;
    }
    memcpy(N->sun.sun_path, path, n);
    if (path[0] == '@') N->sun.sun_path[0] = '\0';
    N->sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    N->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (N->fd < 0) {
        free(N);
        return;
    }
    N->status_timer = evtimer_new(d->base, on_status_timer, d);
    d->notify = N;
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (usec && (!pid || strtol(pid, NULL, 10) == (long)getpid())) {
        char *end = NULL;
        unsigned long long us = strtoull(usec, &end, 10);
        if (end && !*end && us > 0) {
            us /= 2;
            struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
            N->watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
            if (N->watchdog) event_add(N->watchdog, &tv);
        }
    }
}

void hsd_notify_ready(hsd *d)
{
    if (!d->notify) return;
    send_msg(d->notify, "READY=1");
    status_now(d);
}

void hsd_notify_stopping(hsd *d)
{
    if (!d->notify || d->notify->stopping_sent) return;
    d->notify->stopping_sent = true;
    send_msg(d->notify, "STOPPING=1");
}

void hsd_notify_free(hsd *d)
{
    struct hsd_notify *N = d->notify;
    if (!N) return;
    if (N->watchdog) event_free(N->watchdog);
    if (N->status_timer) event_free(N->status_timer);
    close(N->fd);
    free(N);
    d->notify = NULL;
}
