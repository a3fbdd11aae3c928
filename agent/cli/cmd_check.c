/* cmd_check.c: "hearsay check": a Monitoring-Plugins / Nagios check of the cluster as this
 * agent sees it. One line "HEARSAY STATE - summary | perfdata" and the plugin exit codes:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also when the agent cannot be reached: the request
 * gives up after 1.5 s so the check answers within 2 s). */
#include "cli.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

enum { ST_OK = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN = 3 };
static const char *const state_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

enum { OPT_MIN_ALIVE = 1, OPT_MEMBER, OPT_QUORUM, OPT_WARN, OPT_CRIT };
static const hcli_opt opts[] = {
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
    printf("HEARSAY UNKNOWN - ");
    printf(fmt, detail);
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

/* Before a call: the time left of the deadline. */
static void time_left(hs_client *c)
{
    long long left = deadline_ms - mono_ms();
    hs_client_set_timeout(c, left > 1 ? (int)left : 1);
}

/* Prints the UNKNOWN line of failed call rc. */
static int failed(const hs_client *c, int rc)
{
    char msg[700];
    if (rc == HS_CLIENT_ECONNECT)
        snprintf(msg, sizeof msg, "cannot reach agent at %s: %s", hs_client_socket_path(c),
                 hs_client_last_error(c));
    else
        snprintf(msg, sizeof msg, "%s", hs_client_last_error(c));
    return unknown(
        rc == HS_CLIENT_ECONNECT || rc == HS_CLIENT_EBADANSWER ? "%s" : "agent error: %s", msg);
}

/* A seed (a name as /v1/raft gives it, or an address) is alive as a member. */
static bool seed_alive(const hs_client_member_list *l, const char *seed)
{
    const hs_client_member *m = hs_client_member_find(l, seed);
    for (size_t i = 0; !m && i < l->count; i++)
        if (strcmp(l->members[i].addr, seed) == 0) m = &l->members[i];
    return m && m->status == HS_CLIENT_ALIVE;
}

/* --quorum: CRITICAL without a leader or with at most half of the seeds alive. */
static int check_quorum(hs_client *c, check *k, const hs_client_member_list *l)
{
    hs_client_raft_info *r;
    time_left(c);
    int rc = hs_client_raft(c, &r);
    if (rc) return failed(c, rc);
    if (!r->leader) raise_state(k, ST_CRITICAL, "no raft leader");
    size_t up = 0;
    for (size_t i = 0; i < r->n_seeds; i++) up += seed_alive(l, r->seeds[i]);
    if (r->n_seeds && up * 2 <= r->n_seeds)
        raise_state(k, ST_CRITICAL, "raft quorum lost: %zu/%zu seeds alive", up, r->n_seeds);
    hs_client_free(r);
    return ST_OK;
}

static void check_member(check *k, const hs_client_member_list *l, const char *name)
{
    char safe[128], st[32];
    hs_client_safe_copy(safe, sizeof safe, name);
    const hs_client_member *m = hs_client_member_find(l, name);
    if (!m) {
        raise_state(k, ST_CRITICAL, "member %s unknown", safe);
        return;
    }
    hs_client_safe_copy(st, sizeof st, *m->status_name ? m->status_name : "?");
    raise_state(k,
                m->status == HS_CLIENT_ALIVE     ? ST_OK
                : m->status == HS_CLIENT_SUSPECT ? ST_WARNING
                                                 : ST_CRITICAL,
                "member %s %s", safe, st);
}

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_check, argc, argv);
    long min_alive = -1, warn = -1, crit = -1;
    const char *member = NULL;
    bool quorum = false;
    int o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == HCLI_POSITIONAL)
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
        else if (o == OPT_MIN_ALIVE)
            min_alive = hcli_count(&a, "--min-alive");
        else if (o == OPT_WARN)
            warn = hcli_count(&a, "-w");
        else if (o == OPT_CRIT)
            crit = hcli_count(&a, "-c");
        else if (o == OPT_MEMBER)
            member = a.arg;
        else if (o == OPT_QUORUM)
            quorum = true;
    }
    if (a.exit >= 0) return a.exit;
    deadline_ms = mono_ms() + (g_cli.timeout_ms >= 0 ? g_cli.timeout_ms : HCLI_TIMEOUT_CHECK);
    hs_client *c = hcli_open(HCLI_TIMEOUT_CHECK);
    if (!c) return ST_UNKNOWN;
    hs_client_member_list *l;
    time_left(c);
    int rc = hs_client_members(c, NULL, NULL, &l);
    if (rc) {
        rc = failed(c, rc);
        hs_client_close(c);
        return rc;
    }
    hs_client_counts n;
    hs_client_member_list_count(l, &n);
    check k = {ST_OK, ""};
    if (min_alive >= 0 && n.alive < (size_t)min_alive)
        raise_state(&k, ST_CRITICAL, "fewer than %ld alive", min_alive);
    if (crit >= 0 && n.failed > (size_t)crit)
        raise_state(&k, ST_CRITICAL, "%zu failed (more than %ld)", n.failed, crit);
    if (warn >= 0 && n.failed > (size_t)warn)
        raise_state(&k, ST_WARNING, "%zu failed (more than %ld)", n.failed, warn);
    if (warn < 0 && crit < 0 && min_alive < 0 && n.failed > 0)
        raise_state(&k, ST_WARNING, "%zu failed", n.failed);
    if (n.suspect > 0) raise_state(&k, ST_OK, "%zu suspect", n.suspect);
    if (member) check_member(&k, l, member);
    rc = quorum ? check_quorum(c, &k, l) : ST_OK;
    hs_client_free(l);
    hs_client_close(c);
    if (rc == ST_UNKNOWN) return rc; /* the raft query failed and printed its line */

    char thr_c[24] = "", fw[24] = "", fc[24] = "";
    if (min_alive >= 0) snprintf(thr_c, sizeof thr_c, "%ld", min_alive);
    if (warn >= 0) snprintf(fw, sizeof fw, "%ld", warn);
    if (crit >= 0) snprintf(fc, sizeof fc, "%ld", crit);
    printf("HEARSAY %s - %zu/%zu alive%s%s | alive=%zu;;%s;0;%zu failed=%zu", state_names[k.state],
           n.alive, n.total, k.why[0] ? ", " : "", k.why, n.alive, thr_c, n.total, n.failed);
    if (warn >= 0 || crit >= 0) printf(";%s;%s;0;%zu", fw, fc, n.total);
    putchar('\n');
    return k.state;
}

const hcli_command hcli_check = {
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
    run, ST_UNKNOWN};
