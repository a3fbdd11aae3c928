/* cmd_info.c: the read-only views of this agent: "hearsay self" (hs_client_self), "hearsay
 * health" (hs_client_health; exit 1 unless the agent reports "ok") and "hearsay metrics"
 * (hs_client_metrics, the Prometheus text printed unchanged). */
#include "cli.h"

static const hcli_opt json_opts[] = {{"json", 0, false, HCLI_JSON}, {NULL, 0, false, 0}};

/* Parses "[--json]" (or nothing, when json is false) and opens the handle; NULL with *rc set
 * when the command ends here. */
static hs_client *start(const hcli_command *cmd, int argc, char **argv, bool json, int *rc)
{
    hcli_args a;
    hcli_args_init(&a, cmd, argc, argv);
    while (hcli_args_next(&a, json ? json_opts : NULL) != HCLI_END)
        hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
    *rc = a.exit >= 0 ? a.exit : EXIT_ERROR;
    return a.exit >= 0 ? NULL : hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
}

static int run_self(int argc, char **argv)
{
    int rc;
    hs_client *c = start(&hcli_self, argc, argv, true, &rc);
    if (!c) return rc;
    hs_client_self_info *s;
    rc = hs_client_self(c, &s);
    if (rc == HS_CLIENT_OK) hcli_show_self(c, s);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(s);
    hs_client_close(c);
    return rc;
}

static int run_health(int argc, char **argv)
{
    int rc;
    hs_client *c = start(&hcli_health, argc, argv, true, &rc);
    if (!c) return rc;
    hs_client_health_info *h; /* an unhealthy agent's document is an answer too */
    rc = hs_client_health(c, &h);
    if (rc == HS_CLIENT_OK) hcli_show_health(c, h);
    rc = rc ? hcli_fail(c, rc) : h->ok ? EXIT_OK : EXIT_ERROR;
    hs_client_free(h);
    hs_client_close(c);
    return rc;
}

static int run_metrics(int argc, char **argv)
{
    int rc;
    hs_client *c = start(&hcli_metrics, argc, argv, false, &rc);
    if (!c) return rc;
    const char *text;
    size_t len;
    rc = hs_client_metrics(c, &text, &len);
    if (rc == HS_CLIENT_OK) fwrite(text, 1, len, stdout);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_self = {
    "self", "show this agent's own member entry and statistics",
    "Usage: hearsay self [--json]\n"
    "\n"
    "Shows this agent as a member (name, addr, status, incarnation, tags) plus its\n"
    "statistics (GET /v1/self).\n"
    "\n"
    "      --json            print the API's JSON unchanged\n"
    "      --socket PATH     agent API socket\n",
    run_self, 0};

const hcli_command hcli_health = {
    "health", "show the agent's health summary (exit 1 unless ok)",
    "Usage: hearsay health [--json]\n"
    "\n"
    "Shows the agent's health (GET /v1/health): status, member counts by status, Raft\n"
    "state. Exits 0 when the agent reports status \"ok\", 1 otherwise.\n"
    "\n"
    "      --json            print the API's JSON unchanged\n"
    "      --socket PATH     agent API socket\n",
    run_health, 0};

const hcli_command hcli_metrics = {
    "metrics", "print the agent's Prometheus metrics",
    "Usage: hearsay metrics\n"
    "\n"
    "Prints the agent's metrics in the Prometheus text format (GET /v1/metrics).\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run_metrics, 0};
