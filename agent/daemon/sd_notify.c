/* sd_notify.c: the systemd notification protocol, hand-written (no libsystemd): datagrams to
 * $NOTIFY_SOCKET (a path, or '@' for an abstract name). READY=1 once sockets are bound and Raft
 * state is loaded; STATUS=alive=N suspect=N failed=N raft=ROLE when it changes (at most one per
 * second; a change inside that second is sent when it ends); WATCHDOG=1 every WATCHDOG_USEC/2
 * from the event loop when WATCHDOG_USEC is set and WATCHDOG_PID is unset or ours;
 * STOPPING=1 on graceful shutdown. Without NOTIFY_SOCKET every call is a no-op. The engine
 * tells it when the status may have changed (hsd_engine_on_status). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "hearsay/raft.h"
#include "log.h"
#include "sd_notify.h"

#define STATUS_MIN_MS 1000

static struct hsd_notify {
    hsd_engine *e;
    int fd;
    struct sockaddr_un sun;
    socklen_t sl;
    hsd_watch *watchdog;
    hsd_watch *status_timer;
    char last_status[128];
    uint64_t last_status_at;
    bool status_pending;
    bool stopping_sent;
} * N_;

static void send_msg(struct hsd_notify *N, const char *msg)
{
    if (sendto(N->fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&N->sun, N->sl) < 0)
        log_debug("sd_notify %s failed", msg);
}

static void on_watchdog(void *arg)
{
    send_msg(arg, "WATCHDOG=1");
}

static void status_now(struct hsd_notify *N)
{
    const hs_agent *a = hsd_engine_agent(N->e);
    const hs_node *node = hs_agent_node(a);
    unsigned alive = 0, suspect = 0, failed = 0;
    size_t total = hs_node_member_count(node);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++) {
        if (!hs_node_member_at(node, i, &mi)) continue;
        alive += mi.status == HS_ALIVE;
        suspect += mi.status == HS_SUSPECT;
        failed += mi.status == HS_FAILED;
    }
    const hs_raft *r = hs_agent_raft(a);
    char msg[128];
    snprintf(msg, sizeof(msg), "STATUS=alive=%u suspect=%u failed=%u raft=%s", alive, suspect,
             failed, r ? hs_raft_role_name(hs_raft_get_role(r)) : "none");
    N->status_pending = false;
    if (!strcmp(msg, N->last_status)) return;
    snprintf(N->last_status, sizeof(N->last_status), "%s", msg);
    N->last_status_at = hsd_now_ms();
    send_msg(N, msg);
}

static void on_status_timer(void *arg)
{
    status_now(arg);
}

void hsd_notify_stopping(void)
{
    struct hsd_notify *N = N_;
    if (!N || N->stopping_sent) return;
    N->stopping_sent = true;
    send_msg(N, "STOPPING=1");
}

/* The engine's status hook: a member or Raft change, or the start of a leave. */
static void on_status(void *arg)
{
    struct hsd_notify *N = arg;
    if (hsd_engine_leaving(N->e)) hsd_notify_stopping();
    if (N->status_pending) return;
    uint64_t now = hsd_now_ms();
    if (now >= N->last_status_at + STATUS_MIN_MS) {
        status_now(N);
        return;
    }
    N->status_pending = true;
    hsd_watch_start(N->status_timer, N->last_status_at + STATUS_MIN_MS - now);
}

void hsd_notify_init(hsd_engine *e)
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
    N->e = e;
    N->status_timer = hsd_timer_new(e, on_status_timer, N);
    N_ = N;
    hsd_engine_on_status(e, on_status, N);
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (usec && (!pid || strtol(pid, NULL, 10) == (long)getpid())) {
        char *end = NULL;
        unsigned long long us = strtoull(usec, &end, 10);
        if (end && !*end && us > 0) {
            N->watchdog = hsd_every_new(e, on_watchdog, N);
            hsd_watch_start(N->watchdog, us / 2000 ? us / 2000 : 1);
        }
    }
}

void hsd_notify_ready(void)
{
    if (!N_) return;
    send_msg(N_, "READY=1");
    status_now(N_);
}

void hsd_notify_free(void)
{
    struct hsd_notify *N = N_;
    if (!N) return;
    hsd_watch_free(N->watchdog);
    hsd_watch_free(N->status_timer);
    close(N->fd);
    free(N);
    N_ = NULL;
}
