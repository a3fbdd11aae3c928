/* cmd_members.c: "hearsay members": the member list (hs_client_members), filtered by the
 * agent by status and tags, shown as a table or as the agent's JSON. */
#include "cli.h"

#include <string.h>

#define MAX_TAG_FILTERS 64

enum { OPT_STATUS = 1, OPT_TAG };
static const hcli_opt opts[] = {
    {"status", 's', true, OPT_STATUS},
    {"tag", 't', true, OPT_TAG},
    {"json", 0, false, HCLI_JSON},
    {NULL, 0, false, 0},
};

static bool valid_status(const char *s)
{
    for (int i = HS_CLIENT_ALIVE; i <= HS_CLIENT_LEFT; i++)
        if (strcmp(s, hs_client_status_name((hs_client_status)i)) == 0) return true;
    return false;
}

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_members, argc, argv);
    const char *status = NULL, *tags[MAX_TAG_FILTERS + 1] = {NULL};
    size_t ntags = 0;
    int o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == HCLI_POSITIONAL)
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
        else if (o == OPT_STATUS && valid_status(a.arg))
            status = a.arg;
        else if (o == OPT_STATUS)
            hcli_args_fail(&a, "--status must be alive, suspect, failed or left");
        else if (!strchr(a.arg, '=') || a.arg[0] == '=')
            hcli_args_fail(&a, "--tag needs KEY=VALUE, not '%s'", a.arg);
        else if (ntags == MAX_TAG_FILTERS)
            hcli_args_fail(&a, "too many filters");
        else
            tags[ntags++] = a.arg;
    }
    if (a.exit >= 0) return a.exit;
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_member_list *l;
    int rc = hs_client_members(c, status, tags, &l);
    if (rc == HS_CLIENT_OK) hcli_show_members(c, l);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(l);
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_members = {
    "members", "list cluster members and their status",
    "Usage: hearsay members [--status S] [--tag KEY=VALUE]... [--json]\n"
    "\n"
    "Lists the members this agent knows (GET /v1/members), sorted by name.\n"
    "\n"
    "  -s, --status S        only members with status S: alive, suspect, failed, left\n"
    "  -t, --tag KEY=VALUE   only members with this tag (repeat: all must match)\n"
    "      --json            print {\"members\":[...]} exactly as the API answers\n"
    "      --socket PATH     agent API socket\n"
    "\n"
    "The table has the columns NAME ADDR STATUS INCARNATION TAGS.\n",
    run, 0};
