/* cmd_raft.c: "hearsay raft [status] [--json]": the Raft state of this agent (hs_client_raft);
 * "raft add-seed NAME HOST:PORT" and "raft remove-seed NAME": one-at-a-time changes of the
 * seed set (hs_client_raft_add_seed / _remove_seed), which return once committed. */
#include "cli.h"

#include <string.h>

static const hcli_opt opts[] = {{"json", 0, false, HCLI_JSON}, {NULL, 0, false, 0}};

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_raft, argc, argv);
    const char *pos[3] = {"status", NULL, NULL};
    size_t npos = 0;
    while (hcli_args_next(&a, opts) != HCLI_END) {
        if (npos == 3)
            hcli_args_fail(&a, "too many arguments");
        else
            pos[npos++] = a.arg;
    }
    if (a.exit >= 0) return a.exit;
    bool add = strcmp(pos[0], "add-seed") == 0, remove = strcmp(pos[0], "remove-seed") == 0;
    if (add && npos != 3) return hcli_usage_error(&hcli_raft, "add-seed needs NAME HOST:PORT");
    if (remove && npos != 2) return hcli_usage_error(&hcli_raft, "remove-seed needs NAME");
    if (!add && !remove && (npos > 1 || strcmp(pos[0], "status") != 0))
        return hcli_usage_error(&hcli_raft, "unexpected argument '%s'", pos[npos - 1]);

    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_raft_info *r = NULL;
    uint64_t version;
    int rc = add      ? hs_client_raft_add_seed(c, pos[1], pos[2], &version)
             : remove ? hs_client_raft_remove_seed(c, pos[1], &version)
                      : hs_client_raft(c, &r);
    if (rc == HS_CLIENT_OK && r)
        hcli_show_raft(c, r);
    else if (rc == HS_CLIENT_OK)
        hcli_show_committed(c, pos[0], " ", pos[1], version);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(r);
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_raft = {
    "raft", "show the Raft state of this agent",
    "Usage: hearsay raft [status] [--json]\n"
    "       hearsay raft add-seed NAME HOST:PORT [--json]\n"
    "       hearsay raft remove-seed NAME [--json]\n"
    "\n"
    "Shows this agent's Raft state (GET /v1/raft): state (leader, follower, candidate, or\n"
    "none on an agent that is not a seed), leader, term, commit, applied, config_version\n"
    "and seeds.\n"
    "add-seed / remove-seed change the seed set by one seed (through the leader) and return\n"
    "once the change is committed; only one change can be pending at a time.\n"
    "\n"
    "      --json            print the API's JSON unchanged\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
