/* agent.c: the CLI's libhearsay handle on the agent (socket, --timeout, the interrupt flag)
 * and how a failed call is reported: one "hearsay: ..." line on stderr and the exit codes of
 * the contract (2 when the agent cannot be reached, 1 for an error answer). */
#include "cli.h"

volatile sig_atomic_t hcli_interrupted;

hs_client *hcli_open(int dflt_ms)
{
    hs_client *c = hs_client_open(g_cli.socket_path);
    if (!c) {
        hcli_err("out of memory");
        return NULL;
    }
    bool given = g_cli.timeout_ms >= 0;
    hs_client_set_timeout(c, given ? g_cli.timeout_ms : dflt_ms);
    hs_client_set_commit_timeout(c, given ? g_cli.timeout_ms : HS_CLIENT_DEFAULT_COMMIT_TIMEOUT_MS);
    hs_client_set_interrupt(c, &hcli_interrupted);
    return c;
}

int hcli_fail(const hs_client *c, int rc)
{
    const char *why =
        c && *hs_client_last_error(c) ? hs_client_last_error(c) : hs_client_strerror(rc);
    switch (rc) {
    case HS_CLIENT_ECONNECT:
        hcli_err("cannot reach agent at %s: %s", hs_client_socket_path(c), why);
        return EXIT_UNREACHABLE;
    case HS_CLIENT_EINTR:
        return 130;
    case HS_CLIENT_EINVAL: /* refused before anything was sent */
        hcli_err("%s", why);
        return EXIT_USAGE;
    case HS_CLIENT_EPROTO:
    case HS_CLIENT_ETIMEDOUT:
    case HS_CLIENT_ETOOBIG:
    case HS_CLIENT_ENOMEM:
        hcli_err("agent at %s: %s", hs_client_socket_path(c), why);
        return EXIT_ERROR;
    default: /* the agent's error answer, or an answer of the wrong shape */
        hcli_err("%s", why);
        return EXIT_ERROR;
    }
}
