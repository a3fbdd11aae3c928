/* cmd_watch.c: "hearsay watch [--json] [--since ID]": streams GET /v1/events (one JSON event
 * per line) until interrupted. When the stream breaks it reconnects with ?since=LAST_ID so no
 * buffered event is lost or repeated. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EVENT_LINE (1024 * 1024)

enum { OPT_JSON = 1, OPT_SINCE };
static const hs_opt opts[] = {
    {"json", 0, false, OPT_JSON},
    {"since", 0, true, OPT_SINCE},
    {NULL, 0, false, 0},
};

typedef struct stream {
    bool json;
    long long last_id; /* -1: none seen */
    bool output_failed;
} stream;

static void print_event(stream *s, json_t *e)
{
    long long t = hs_jint(e, "time_ms", 0);
    time_t secs = (time_t)(t / 1000);
    struct tm tm;
    char when[80] = "-";
    if (t > 0 && gmtime_r(&secs, &tm))
        snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t % 1000));
    char ev[48], name[80], addr[80], status[16], tags[1024];
    hs_safe_copy(ev, sizeof ev, hs_jstr(e, "event", "?"));
    hs_safe_copy(name, sizeof name, hs_jstr(e, "name", "-"));
    hs_safe_copy(addr, sizeof addr, hs_jstr(e, "addr", "-"));
    hs_safe_copy(status, sizeof status, hs_jstr(e, "status", "-"));
    hs_format_tags(json_object_get(e, "tags"), tags, sizeof tags);
    printf("%s  %-14s  %-16s  %-21s  %-7s  inc=%lld%s%s\n", when, ev, name, addr, status,
           hs_jint(e, "incarnation", 0), tags[0] ? "  " : "", tags);
    (void)s;
}

static int handle_line(stream *s, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
    if (len == 0) return 0; /* keep-alive blank line */
    json_t *e = json_loadb(line, len, 0, NULL);
    if (!json_is_object(e)) {
        hs_err("ignoring a malformed event line from the agent");
        json_decref(e);
        return 0;
    }
    /* The agent's last line to a watcher that fell behind its event buffer (docs/api.md). */
    if (!strcmp(hs_jstr(e, "event", ""), "lagged")) {
        long long resume = hs_jint(e, "resume_since", -1);
        hs_err("fell behind the agent's event buffer: %lld events lost after event %lld",
               hs_jint(e, "missed", 0), resume);
        if (resume >= 0) s->last_id = resume;
        json_decref(e);
        return 0;
    }
    /* The agent only sends ids above ?since=, so a smaller one means it restarted and
     * numbers its events from 1 again: show it and follow the new numbering. */
    long long id = hs_jint(e, "id", -1);
    if (id >= 0 && s->last_id >= 0 && id <= s->last_id)
        hs_err("event ids went back from %lld to %lld: the agent restarted", s->last_id, id);
    if (id >= 0) s->last_id = id;
    if (s->json) {
        fwrite(line, 1, len, stdout);
        putchar('\n');
    } else
        print_event(s, e);
    json_decref(e);
    if (fflush(stdout) != 0) {
        s->output_failed = true;
        return 1;
    }
    return 0;
}

static int on_event(const hs_client_event *ev, void *ctx)
{
    stream *s = ctx;
    if (ev->type == HS_CLIENT_EVENT_MALFORMED && !ev->raw) {
        hs_err("dropping an event line longer than %d bytes", MAX_EVENT_LINE);
        return 0;
    }
    return handle_line(s, ev->raw, ev->raw_len);
}

/* Wall-clock ms at which the agent started (now - stats.uptime_ms from GET /v1/self), or -1.
 * Event ids restart at 1 with the agent, so a changed start time means ?since= must go back
 * to 0 to get the new agent's buffered events. */
static long long agent_started_ms(void)
{
    hs_client_response resp;
    char err[256];
    if (hs_api_quiet("GET", "/v1/self", 1000, &resp, err, sizeof err) != 0) {
        hs_client_response_free(&resp);
        return -1;
    }
    json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
    long long up = hs_jint(json_object_get(j, "stats"), "uptime_ms", -1);
    json_decref(j);
    hs_client_response_free(&resp);
    if (up < 0) return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - up;
}

static void on_signal(int sig)
{
    (void)sig;
    hs_http_interrupted = 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    stream s = {.last_id = -1};
    int o;
    while ((o = hs_args_next(&a, &hs_cmd_watch, opts)) != HS_OPT_END) {
        switch (o) {
        case HS_OPT_ERROR:
            return EXIT_USAGE;
        case HS_OPT_HELP:
            return hs_usage(&hs_cmd_watch);
        case HS_OPT_POSITIONAL:
            return hs_usage_error(&hs_cmd_watch, "unexpected argument '%s'", a.arg);
        case OPT_JSON:
            s.json = true;
            break;
        case OPT_SINCE: {
            char *end;
            errno = 0;
            long long v = strtoll(a.arg, &end, 10);
            if (errno || end == a.arg || *end || v < 0)
                return hs_usage_error(&hs_cmd_watch, "--since needs an event id");
            s.last_id = v;
            break;
        }
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: blocked reads return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    bool connected_once = false;
    int backoff = 100, rc = EXIT_OK;
    long long started = -1;
    while (!hs_http_interrupted) {
        long long now_started = agent_started_ms();
        if (started >= 0 && now_started >= 0 && llabs(now_started - started) > 2000 &&
            s.last_id > 0) {
            hs_err("the agent restarted; replaying its buffered events");
            s.last_id = 0;
        }
        if (now_started >= 0) started = now_started;
        char err[512];
        int r = HS_CLIENT_ENOMEM;
        hs_client *c = hs_client_open(g_cli.socket_path);
        if (c) {
            hs_client_set_timeout(c, hs_timeout(HS_TIMEOUT_DEFAULT));
            hs_client_set_interrupt(c, &hs_http_interrupted);
            r = hs_client_events(c, s.last_id, on_event, &s);
            snprintf(err, sizeof err, "%s", hs_client_last_error(c));
        } else
            snprintf(err, sizeof err, "out of memory");
        bool http_error = c && hs_client_last_status(c) >= 300;
        hs_client_close(c);
        if (r == HS_CLIENT_EINTR || hs_http_interrupted) break;
        if (s.output_failed) {
            rc = EXIT_ERROR;
            break;
        }
        if (http_error) {
            hs_err("%s", err);
            rc = EXIT_ERROR;
            break;
        }
        if (r == HS_CLIENT_ECONNECT && !connected_once) {
            hs_err("cannot reach agent at %s: %s", g_cli.socket_path, err);
            rc = EXIT_UNREACHABLE;
            break;
        }
        if (r != HS_CLIENT_ECONNECT) {
            if (!connected_once) backoff = 100;
            connected_once = true;
        }
        hs_err("event stream ended (%s); reconnecting",
               r == HS_CLIENT_OK ? "closed by agent" : err);
        sleep_ms(backoff);
        backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
        if (r == HS_CLIENT_OK) backoff = 100;
    }
    return rc;
}

const hs_command hs_cmd_watch = {
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
    run};
