/* cmd_info.c: the read-only views of this agent: "hearsay self" (GET /v1/self), "hearsay
 * health" (GET /v1/health; exit 1 unless the agent reports "ok") and "hearsay metrics"
 * (GET /v1/metrics, Prometheus text printed unchanged). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 1 };
static const hs_opt json_opts[] = {{"json", 0, false, OPT_JSON}, {NULL, 0, false, 0}};

/* Parses "[--json]" for cmd; returns -1 to go on, else the exit code. */
static int parse_json_flag(const hs_command *cmd, int argc, char **argv, bool *json)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    int o;
    while ((o = hs_args_next(&a, cmd, json ? json_opts : NULL)) != HS_OPT_END) {
        if (o == HS_OPT_ERROR) return EXIT_USAGE;
        if (o == HS_OPT_HELP) return hs_usage(cmd);
        if (o == OPT_JSON)
            *json = true;
        else
            return hs_usage_error(cmd, "unexpected argument '%s'", a.arg);
    }
    return -1;
}

static void print_kv(const char *label, json_t *v, int indent)
{
    printf("%*s%-*s ", indent, "", 22 - indent, label);
    if (!v || json_is_null(v))
        fputs("-", stdout);
    else
        hs_put_json(stdout, v);
    putchar('\n');
}

static int run_self(int argc, char **argv)
{
    bool json = false;
    int rc = parse_json_flag(&hs_cmd_self, argc, argv, &json);
    if (rc >= 0) return rc;
    hs_client_response resp;
    rc = hs_api("GET", "/v1/self", NULL, NULL, 0, hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j)
        rc = EXIT_ERROR;
    else if (json)
        hs_print_raw(&resp);
    else {
        char tags[4096];
        hs_format_tags(json_object_get(j, "tags"), tags, sizeof tags);
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v)
        {
            char k[64];
            hs_safe_copy(k, sizeof k, key);
            if (strcmp(key, "tags") == 0) {
                printf("%-22s %s\n", "tags", tags[0] ? tags : "-");
            } else if (json_is_object(v)) {
                printf("%s:\n", k);
                const char *k2;
                json_t *v2;
                json_object_foreach(v, k2, v2)
                {
                    char kk[64];
                    hs_safe_copy(kk, sizeof kk, k2);
                    print_kv(kk, v2, 2);
                }
            } else
                print_kv(k, v, 0);
        }
    }
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

static int run_health(int argc, char **argv)
{
    bool json = false;
    int rc = parse_json_flag(&hs_cmd_health, argc, argv, &json);
    if (rc >= 0) return rc;
    /* An unhealthy agent may answer 503 with the health document: show it, exit 1. */
    hs_client_response resp;
    char err[512];
    int r = hs_api_raw("GET", "/v1/health", NULL, NULL, 0, hs_timeout(HS_TIMEOUT_DEFAULT), &resp,
                       err, sizeof err);
    if (r == HS_CLIENT_ECONNECT) {
        hs_err("cannot reach agent at %s: %s", g_cli.socket_path, err);
        return EXIT_UNREACHABLE;
    }
    if (r) {
        hs_err("agent at %s: %s", g_cli.socket_path, err);
        return EXIT_ERROR;
    }
    json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *status = hs_jstr(j, "status", NULL);
    if (!status) {
        hs_client_response_message(&resp, err, sizeof err);
        hs_err("%s", err);
        rc = EXIT_ERROR;
    } else {
        if (json)
            hs_print_raw(&resp);
        else {
            json_t *raft = json_object_get(j, "raft");
            char st[64], rs[32], leader[80];
            hs_safe_copy(st, sizeof st, status);
            hs_safe_copy(rs, sizeof rs, hs_jstr(raft, "state", "-"));
            hs_safe_copy(leader, sizeof leader, hs_jstr(raft, "leader", "-"));
            printf("status:   %s%s\n", st,
                   json_is_true(json_object_get(j, "insecure")) ? " (insecure: no encryption)"
                                                                : "");
            printf("members:  %lld (alive %lld, suspect %lld, failed %lld, left %lld)\n",
                   hs_jint(j, "members", 0), hs_jint(j, "alive", 0), hs_jint(j, "suspect", 0),
                   hs_jint(j, "failed", 0), hs_jint(j, "left", 0));
            printf("raft:     %s, leader %s, term %lld\n", rs, leader, hs_jint(raft, "term", 0));
        }
        rc = (strcmp(status, "ok") == 0 && resp.status < 300) ? EXIT_OK : EXIT_ERROR;
    }
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

static int run_metrics(int argc, char **argv)
{
    int rc = parse_json_flag(&hs_cmd_metrics, argc, argv, NULL);
    if (rc >= 0) return rc;
    hs_client_response resp;
    rc = hs_api("GET", "/v1/metrics", NULL, NULL, 0, hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    if (rc) return rc;
    if (resp.body_len) fwrite(resp.body, 1, resp.body_len, stdout);
    hs_client_response_free(&resp);
    return EXIT_OK;
}

const hs_command hs_cmd_self = {
    "self", "show this agent's own member entry and statistics",
    "Usage: hearsay self [--json]\n"
    "\n"
    "Shows this agent as a member (name, addr, status, incarnation, tags) plus its\n"
    "statistics (GET /v1/self).\n"
    "\n"
    "      --json            print the API's JSON unchanged\n"
    "      --socket PATH     agent API socket\n",
    run_self};

const hs_command hs_cmd_health = {
    "health", "show the agent's health summary (exit 1 unless ok)",
    "Usage: hearsay health [--json]\n"
    "\n"
    "Shows the agent's health (GET /v1/health): status, member counts by status, Raft\n"
    "state. Exits 0 when the agent reports status \"ok\", 1 otherwise.\n"
    "\n"
    "      --json            print the API's JSON unchanged\n"
    "      --socket PATH     agent API socket\n",
    run_health};

const hs_command hs_cmd_metrics = {
    "metrics", "print the agent's Prometheus metrics",
    "Usage: hearsay metrics\n"
    "\n"
    "Prints the agent's metrics in the Prometheus text format (GET /v1/metrics).\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run_metrics};
