/* cmd_removal.c: "hearsay force-leave NAME [--prune]" and "hearsay readmit NAME": a member
 * removed from, or readmitted to, the cluster through the Raft group (hs_client_force_leave,
 * hs_client_readmit), which return once the change is committed. */
#include "cli.h"

#include <string.h>

enum { OPT_PRUNE = 1 };
static const hcli_opt opts[] = {
    {"prune", 0, false, OPT_PRUNE},
    {"json", 0, false, HCLI_JSON},
    {NULL, 0, false, 0},
};

static int run_either(const hcli_command *cmd, int argc, char **argv, bool readmit)
{
    hcli_args a;
    hcli_args_init(&a, cmd, argc, argv);
    const char *name = NULL;
    bool prune = false;
    int o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == OPT_PRUNE && readmit)
            hcli_args_fail(&a, "--prune is an option of force-leave");
        else if (o == OPT_PRUNE)
            prune = true;
        else if (name)
            hcli_args_fail(&a, "one member name only");
        else
            name = a.arg;
    }
    if (a.exit >= 0) return a.exit;
    if (!name || !*name) return hcli_usage_error(cmd, "missing member NAME");
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_removal *r = NULL;
    int rc = readmit ? hs_client_readmit(c, name, &r)
                     : hs_client_force_leave(c, name, prune ? HS_CLIENT_PRUNE : 0, &r);
    if (rc == HS_CLIENT_OK) hcli_show_removal(c, r);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(r);
    hs_client_close(c);
    return rc;
}

static int run_force_leave(int argc, char **argv)
{
    return run_either(&hcli_force_leave, argc, argv, false);
}

static int run_readmit(int argc, char **argv)
{
    return run_either(&hcli_readmit, argc, argv, true);
}

const hcli_command hcli_force_leave = {
    "force-leave", "remove a member from the cluster (through Raft)",
    "Usage: hearsay force-leave NAME [--prune] [--json]\n"
    "\n"
    "Removes member NAME through the Raft group (POST /v1/force-leave) and returns once the\n"
    "change is committed: every agent shows it left and refuses its traffic, including\n"
    "agents cut off meanwhile as soon as they hold the new configuration. It stays out,\n"
    "even if it starts again, until `hearsay readmit NAME`. A seed leaves the Raft group\n"
    "first (hearsay raft remove-seed). Works from any agent.\n"
    "\n"
    "      --prune           forget the member instead of showing it left\n"
    "      --json            print the API's answer unchanged\n"
    "      --socket PATH     agent API socket\n",
    run_force_leave, 0};

const hcli_command hcli_readmit = {
    "readmit", "readmit a member removed by force-leave (through Raft)",
    "Usage: hearsay readmit NAME [--json]\n"
    "\n"
    "Undoes a force-leave through the Raft group (POST /v1/readmit) and returns once the\n"
    "change is committed. The member comes back as soon as it runs (a removed agent that is\n"
    "running takes a new incarnation and meets the cluster again by itself). Run it on the\n"
    "removed agent itself to rejoin it explicitly.\n"
    "\n"
    "      --json            print the API's answer unchanged\n"
    "      --socket PATH     agent API socket\n",
    run_readmit, 0};
