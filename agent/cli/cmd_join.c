/* cmd_join.c: "hearsay join ADDR..." (hs_client_join) and "hearsay leave" (hs_client_leave,
 * after which the agent announces its departure and exits). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int run_join(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_join, argc, argv);
    const char **addrs = calloc((size_t)argc, sizeof *addrs);
    size_t n = 0;
    if (!addrs) return EXIT_ERROR;
    while (hcli_args_next(&a, NULL) != HCLI_END) {
        if (!strchr(a.arg, ':'))
            hcli_args_fail(&a, "'%s' is not HOST:PORT", a.arg);
        else
            addrs[n++] = a.arg;
    }
    if (a.exit < 0 && n == 0) hcli_args_fail(&a, "no address given");
    hs_client *c = a.exit < 0 ? hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS) : NULL;
    size_t contacted = 0;
    int rc = c ? hs_client_join(c, addrs, n, &contacted) : 0;
    free(addrs);
    if (!c) return a.exit >= 0 ? a.exit : EXIT_ERROR;
    if (rc)
        rc = hcli_fail(c, rc);
    else if (contacted == 0) {
        hcli_err("join: no address could be contacted");
        rc = EXIT_ERROR;
    } else
        printf("Contacted %zu of %zu address%s\n", contacted, n, n == 1 ? "" : "es");
    hs_client_close(c);
    return rc;
}

static int run_leave(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_leave, argc, argv);
    while (hcli_args_next(&a, NULL) != HCLI_END)
        hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
    if (a.exit >= 0) return a.exit;
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    int rc = hs_client_leave(c);
    if (rc == HS_CLIENT_OK)
        puts("Left the cluster; the agent exits once the leave has been gossiped");
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_join = {
    "join", "ask the agent to join a cluster through the given members",
    "Usage: hearsay join HOST:PORT...\n"
    "\n"
    "Asks the agent to meet the members at the given gossip addresses (POST /v1/join).\n"
    "HOST is an IPv4 address, [IPv6] or a DNS name, which the agent looks up and follows.\n"
    "Fails (exit 1) when none of them could be contacted.\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run_join, 0};

const hcli_command hcli_leave = {
    "leave", "leave the cluster gracefully and stop the agent",
    "Usage: hearsay leave\n"
    "\n"
    "Makes the agent announce a graceful leave (POST /v1/leave): the other members mark it\n"
    "'left' (not 'failed') and the agent exits once the leave has been gossiped.\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run_leave, 0};
