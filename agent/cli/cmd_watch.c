/* cmd_watch.c: "hearsay watch [--json] [--since ID]": streams the agent's events
 * (hs_client_events) until interrupted. When the stream breaks it reconnects with the last id
 * seen, so no buffered event is lost or repeated, and notices when the agent restarted. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPT_SINCE = 1 };
static const hcli_opt opts[] = {
    {"json", 0, false, HCLI_JSON},
    {"since", 0, true, OPT_SINCE},
    {NULL, 0, false, 0},
};

typedef struct stream {
    long long last_id; /* -1: none seen */
    bool output_failed;
} stream;

static int on_event(const hs_client_event *ev, void *ctx)
{
    stream *s = ctx;
    if (ev->type == HS_CLIENT_EVENT_MALFORMED) {
        hcli_err(ev->raw ? "ignoring a malformed event line from the agent"
                         : "dropping an event line longer than 1 MiB");
        return 0;
    }
    /* The agent's last line to a watcher that fell behind its event buffer (docs/api.md). */
    if (ev->type == HS_CLIENT_EVENT_LAGGED) {
        hcli_err("fell behind the agent's event buffer: %llu events lost after event %lld",
                 (unsigned long long)ev->missed, (long long)ev->resume_since);
        if (ev->resume_since >= 0) s->last_id = ev->resume_since;
        return 0;
    }
    /* The agent only sends ids above ?since=, so a smaller one means it restarted and
     * numbers its events anew: show it and follow the new numbering. */
    if (ev->id >= 0 && s->last_id >= 0 && ev->id <= s->last_id)
        hcli_err("event ids went back from %lld to %lld: the agent restarted", s->last_id,
                 (long long)ev->id);
    if (ev->id >= 0) s->last_id = ev->id;
    hcli_show_event(ev);
    s->output_failed = fflush(stdout) != 0;
    return s->output_failed;
}

/* Wall-clock ms at which the agent started (now - its uptime), or -1. Event ids restart with
 * the agent, so a changed start time means the new agent's buffer is replayed from 0. */
static long long agent_started_ms(hs_client *c)
{
    hs_client_self_info *self;
    hs_client_set_timeout(c, 1000);
    if (hs_client_self(c, &self) != HS_CLIENT_OK) return -1;
    uint64_t up = self->uptime_ms;
    hs_client_free(self);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (long long)up;
}

static void on_signal(int sig)
{
    (void)sig;
    hcli_interrupted = 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_watch, argc, argv);
    stream s = {.last_id = -1};
    int o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == HCLI_POSITIONAL) {
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
            continue;
        }
        char *end; /* OPT_SINCE */
        errno = 0;
        s.last_id = strtoll(a.arg, &end, 10);
        if (errno || end == a.arg || *end || s.last_id < 0)
            hcli_args_fail(&a, "--since needs an event id");
    }
    if (a.exit >= 0) return a.exit;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: blocked reads return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    int timeout = g_cli.timeout_ms >= 0 ? g_cli.timeout_ms : HS_CLIENT_DEFAULT_TIMEOUT_MS;
    bool connected_once = false;
    int backoff = 100, rc = EXIT_OK;
    long long started = -1;
    while (!hcli_interrupted) {
        long long now_started = agent_started_ms(c);
        if (started >= 0 && now_started >= 0 && llabs(now_started - started) > 2000 &&
            s.last_id > 0) {
            hcli_err("the agent restarted; replaying its buffered events");
            s.last_id = 0;
        }
        if (now_started >= 0) started = now_started;
        hs_client_set_timeout(c, timeout);
        int r = hs_client_events(c, s.last_id, on_event, &s);
        if (r == HS_CLIENT_EINTR || hcli_interrupted) break;
        if (s.output_failed) {
            rc = EXIT_ERROR;
            break;
        }
        if (hs_client_last_status(c) >= 300 || (r == HS_CLIENT_ECONNECT && !connected_once)) {
            rc = hcli_fail(c, r);
            break;
        }
        if (r != HS_CLIENT_ECONNECT) {
            if (!connected_once) backoff = 100;
            connected_once = true;
        }
        hcli_err("event stream ended (%s); reconnecting",
                 r == HS_CLIENT_OK ? "closed by agent" : hs_client_last_error(c));
        sleep_ms(backoff);
        backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
        if (r == HS_CLIENT_OK) backoff = 100;
    }
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_watch = {
    "watch", "stream membership and configuration events",
    "Usage: hearsay watch [--json] [--since ID]\n"
    "\n"
    "Streams events from the agent (GET /v1/events) until interrupted (Ctrl-C): member-join,\n"
    "member-update, member-suspect, member-alive, member-failed, member-leave, member-reap,\n"
    "config-change. If the stream breaks, reconnects with the last event id seen, so no\n"
    "buffered event is missed or shown twice (events of a restarted agent are numbered anew).\n"
    "\n"
    "      --json            one event JSON object per line, as the API sends it\n"
    "      --since ID        start with the buffered events after event ID\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
