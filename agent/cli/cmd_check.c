/* cmd_check.c: "hearsay check": a Monitoring-Plugins / Nagios check of the cluster as this
 * agent sees it. One line "HEARSAY STATE - summary | perfdata" and the plugin exit codes:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also when the agent cannot be reached: the request
 * gives up after 1.5 s so the check answers within 2 s). */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ST_OK = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN = 3 };
static const char *const state_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

enum { OPT_MIN_ALIVE = 1, OPT_MEMBER, OPT_QUORUM, OPT_WARN, OPT_CRIT };
static const hs_opt opts[] = {
    {"min-alive", 0, true, OPT_MIN_ALIVE}, {"member", 'm', true, OPT_MEMBER},
    {"quorum", 'q', false, OPT_QUORUM},    {"warning", 'w', true, OPT_WARN},
    {"critical", 'c', true, OPT_CRIT},     {NULL, 0, false, 0},
};

typedef struct check {
    int state;
    char why[1024];
} check;

static void raise_state(check *c, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void raise_state(check *c, int state, const char *fmt, ...)
{
    if (state > c->state) c->state = state;
    size_t len = strlen(c->why);
    if (len + 3 >= sizeof c->why) return;
    if (len) {
        memcpy(c->why + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why + len, sizeof c->why - len, fmt, ap);
    va_end(ap);
}

static int unknown(const char *fmt, const char *detail)
{
    char safe[600];
    hs_safe_copy(safe, sizeof safe, detail);
    printf("HEARSAY UNKNOWN - ");
    printf(fmt, safe);
    putchar('\n');
    return ST_UNKNOWN;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Both requests of a check share one deadline, so the whole check answers within 2 s. */
static long long deadline_ms;

static json_t *fetch(const char *target, int *rc)
{
    char err[512];
    hs_client_response resp;
    long long left = deadline_ms - mono_ms();
    int r = hs_api_quiet("GET", target, left > 1 ? (int)left : 1, &resp, err, sizeof err);
    if (r == HS_CLIENT_ECONNECT) {
        char msg[700];
        snprintf(msg, sizeof msg, "cannot reach agent at %s: %s", g_cli.socket_path, err);
        *rc = unknown("%s", msg);
        return NULL;
    }
    if (r) {
        *rc = unknown("agent error: %s", err);
        hs_client_response_free(&resp);
        return NULL;
    }
    json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
    hs_client_response_free(&resp);
    if (!json_is_object(j)) {
        json_decref(j);
        *rc = unknown("%s", "bad answer from agent");
        return NULL;
    }
    return j;
}

static json_t *find_member(json_t *members, const char *name, const char *addr)
{
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        if (name && strcmp(hs_jstr(m, "name", ""), name) == 0) return m;
        if (addr && strcmp(hs_jstr(m, "addr", ""), addr) == 0) return m;
    }
    return NULL;
}

/* A seed in RAFT.seeds may be "name", "name=host:port", "host:port" or {"name":..}. */
static bool seed_alive(json_t *members, json_t *seed)
{
    json_t *m = NULL;
    if (json_is_object(seed)) {
        m = find_member(members, hs_jstr(seed, "name", NULL), NULL);
        if (!m) m = find_member(members, NULL, hs_jstr(seed, "addr", NULL));
    } else if (json_is_string(seed)) {
        const char *s = json_string_value(seed);
        m = find_member(members, s, s);
        const char *eq = strchr(s, '=');
        if (!m && eq) {
            char name[256];
            size_t n = (size_t)(eq - s) < sizeof name ? (size_t)(eq - s) : sizeof name - 1;
            memcpy(name, s, n);
            name[n] = '\0';
            m = find_member(members, name, eq + 1);
        }
    }
    return m && strcmp(hs_jstr(m, "status", ""), "alive") == 0;
}

static void check_quorum(check *c, json_t *members, int *rc)
{
    json_t *raft = fetch("/v1/raft", rc);
    if (!raft) return;
    json_t *leader = json_object_get(raft, "leader");
    json_t *seeds = json_object_get(raft, "seeds");
    if (!json_is_string(leader) || json_string_length(leader) == 0)
        raise_state(c, ST_CRITICAL, "no raft leader");
    if (json_is_array(seeds) && json_array_size(seeds) > 0) {
        size_t n = json_array_size(seeds), up = 0, i;
        json_t *s;
        json_array_foreach(seeds, i, s) up += seed_alive(members, s);
        if (up * 2 <= n)
            raise_state(c, ST_CRITICAL, "raft quorum lost: %zu/%zu seeds alive", up, n);
    }
    json_decref(raft);
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    long min_alive = -1, warn = -1, crit = -1;
    const char *member = NULL;
    bool quorum = false;
    int o;
    while ((o = hs_args_next(&a, &hs_cmd_check, opts)) != HS_OPT_END) {
        switch (o) {
        case HS_OPT_ERROR:
            return ST_UNKNOWN;
        case HS_OPT_HELP:
            return hs_usage(&hs_cmd_check);
        case HS_OPT_POSITIONAL:
            hs_usage_error(&hs_cmd_check, "unexpected argument '%s'", a.arg);
            return ST_UNKNOWN;
        case OPT_MIN_ALIVE:
            if ((min_alive = hs_parse_count(&hs_cmd_check, "--min-alive", a.arg)) < 0)
                return ST_UNKNOWN;
            break;
        case OPT_WARN:
            if ((warn = hs_parse_count(&hs_cmd_check, "-w", a.arg)) < 0) return ST_UNKNOWN;
            break;
        case OPT_CRIT:
            if ((crit = hs_parse_count(&hs_cmd_check, "-c", a.arg)) < 0) return ST_UNKNOWN;
            break;
        case OPT_MEMBER:
            member = a.arg;
            break;
        case OPT_QUORUM:
            quorum = true;
            break;
        }
    }
    int rc = ST_UNKNOWN;
    deadline_ms = mono_ms() + hs_timeout(HS_TIMEOUT_CHECK);
    json_t *j = fetch("/v1/members", &rc);
    if (!j) return rc;
    json_t *members = json_object_get(j, "members");
    if (!json_is_array(members)) {
        json_decref(j);
        return unknown("%s", "bad answer from agent: no members");
    }
    size_t alive = 0, suspect = 0, failed = 0, total = 0, i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        const char *st = hs_jstr(m, "status", "");
        if (strcmp(st, "left") == 0) continue;
        total++;
        if (strcmp(st, "alive") == 0)
            alive++;
        else if (strcmp(st, "suspect") == 0)
            suspect++;
        else
            failed++;
    }

    check c = {ST_OK, ""};
    rc = ST_OK;
    if (min_alive >= 0 && alive < (size_t)min_alive)
        raise_state(&c, ST_CRITICAL, "fewer than %ld alive", min_alive);
    if (crit >= 0 && failed > (size_t)crit)
        raise_state(&c, ST_CRITICAL, "%zu failed (more than %ld)", failed, crit);
    if (warn >= 0 && failed > (size_t)warn)
        raise_state(&c, ST_WARNING, "%zu failed (more than %ld)", failed, warn);
    if (warn < 0 && crit < 0 && min_alive < 0 && failed > 0)
        raise_state(&c, ST_WARNING, "%zu failed", failed);
    if (suspect > 0) raise_state(&c, ST_OK, "%zu suspect", suspect);
    if (member) {
        char safe[128];
        hs_safe_copy(safe, sizeof safe, member);
        json_t *mm = find_member(members, member, NULL);
        const char *st = mm ? hs_jstr(mm, "status", "?") : NULL;
        if (!mm)
            raise_state(&c, ST_CRITICAL, "member %s unknown", safe);
        else if (strcmp(st, "alive") == 0)
            raise_state(&c, ST_OK, "member %s alive", safe);
        else if (strcmp(st, "suspect") == 0)
            raise_state(&c, ST_WARNING, "member %s suspect", safe);
        else {
            char sst[32];
            hs_safe_copy(sst, sizeof sst, st);
            raise_state(&c, ST_CRITICAL, "member %s %s", safe, sst);
        }
    }
    if (quorum) check_quorum(&c, members, &rc);
    if (rc == ST_UNKNOWN) { /* the raft query failed and printed its line */
        json_decref(j);
        return rc;
    }

    char thr_w[24] = "", thr_c[24] = "", fw[24] = "", fc[24] = "";
    if (min_alive >= 0) snprintf(thr_c, sizeof thr_c, "%ld", min_alive);
    if (warn >= 0) snprintf(fw, sizeof fw, "%ld", warn);
    if (crit >= 0) snprintf(fc, sizeof fc, "%ld", crit);
    printf("HEARSAY %s - %zu/%zu alive%s%s | alive=%zu;%s;%s;0;%zu failed=%zu",
           state_names[c.state], alive, total, c.why[0] ? ", " : "", c.why, alive, thr_w, thr_c,
           total, failed);
    if (warn >= 0 || crit >= 0) printf(";%s;%s;0;%zu", fw, fc, total);
    putchar('\n');
    json_decref(j);
    return c.state;
}

const hs_command hs_cmd_check = {
    "check", "Nagios/Monitoring-Plugins health check of the cluster",
    "Usage: hearsay check [--min-alive N] [--member NAME] [--quorum] [-w N] [-c N]\n"
    "\n"
    "Checks the cluster as this agent sees it and prints one plugin line, e.g.\n"
    "  HEARSAY OK - 5/5 alive | alive=5;;3;0;5 failed=0\n"
    "Members that left gracefully are not counted.\n"
    "\n"
    "      --min-alive N     CRITICAL when fewer than N members are alive\n"
    "  -m, --member NAME     CRITICAL when NAME is failed, left or unknown; WARNING when\n"
    "                        it is suspect\n"
    "  -q, --quorum          CRITICAL when there is no raft leader or at most half of the\n"
    "                        seeds are alive\n"
    "  -w, --warning N       WARNING when more than N members are failed\n"
    "  -c, --critical N      CRITICAL when more than N members are failed\n"
    "                        (with none of --min-alive, -w, -c: WARNING on any failed member)\n"
    "      --socket PATH     agent API socket\n"
    "\n"
    "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (agent unreachable within 1.5 s,\n"
    "error answer, bad usage).\n",
    run};
