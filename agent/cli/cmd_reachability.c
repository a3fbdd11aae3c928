/* cmd_reachability.c: "hearsay reachability [--json]": the agent pings every live member
 * (through relays for the silent ones) and says who answered, how fast and how
 * (hs_client_reachability, POST /v1/reachability); exit 1 if any member did not answer. */
#include "cli.h"

static const hcli_opt opts[] = {{"json", 0, false, HCLI_JSON}, {NULL, 0, false, 0}};

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_reachability, argc, argv);
    while (hcli_args_next(&a, opts) != HCLI_END)
        hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
    if (a.exit >= 0) return a.exit;
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_reach_info *r = NULL;
    int rc = hs_client_reachability(c, &r);
    if (rc == HS_CLIENT_OK) {
        hcli_show_reachability(c, r);
        rc = r->no_answer ? EXIT_ERROR : EXIT_OK;
    } else {
        rc = hcli_fail(c, rc);
    }
    hs_client_free(r);
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_reachability = {
    "reachability", "ask every member for an acknowledgement",
    "Usage: hearsay reachability [--json]\n"
    "\n"
    "The agent pings every live member at once (POST /v1/reachability); a member silent after\n"
    "the probe timeout is asked for through relays (indirect pings). Shows each member's result\n"
    "(direct, relayed: only through relays, no answer), the round trip in ms, and a summary.\n"
    "One test at a time per agent, at most one a second. Needs the rights of a change.\n"
    "Exit status: 0 every member answered, 1 some member did not answer (or an error), 2 the\n"
    "agent cannot be reached.\n"
    "\n"
    "      --json            print the API's answer unchanged\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
