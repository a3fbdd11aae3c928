/* cmd_explain.c: "hearsay explain NAME": why a member has its status, as this agent saw it:
 * the member's status history (hs_client_member_history: suspicions and who raised them,
 * votes and voters, verdicts, refutations, incarnations, removals, conflicts, with times). */
#include "cli.h"

static const hcli_opt opts[] = {{"json", 0, false, HCLI_JSON}, {NULL, 0, false, 0}};

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_explain, argc, argv);
    const char *name = NULL;
    while (hcli_args_next(&a, opts) != HCLI_END) {
        if (name)
            hcli_args_fail(&a, "one member name only");
        else
            name = a.arg;
    }
    if (a.exit >= 0) return a.exit;
    if (!name || !*name) return hcli_usage_error(&hcli_explain, "missing member NAME");
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_history *h = NULL;
    int rc = hs_client_member_history(c, name, &h);
    if (rc == HS_CLIENT_OK) hcli_show_history(c, h);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(h);
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_explain = {
    "explain", "why a member has its status: its history as this agent saw it",
    "Usage: hearsay explain NAME [--json]\n"
    "\n"
    "Shows member NAME's status history as this agent saw it (GET\n"
    "/v1/members/NAME/history), oldest first, at most 16 records: each suspicion and who\n"
    "raised it, each verdict with the votes that stood (voter and time) and whether this\n"
    "agent decided it or heard it, refutations and incarnations, leaves, removals by\n"
    "force-leave, readmissions and name conflicts. A member that never left alive has no\n"
    "record; one this agent never knew (or reaped) is an error.\n"
    "\n"
    "      --json            print the API's answer unchanged\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
