/* cmd_config.c: "hearsay config get KEY [--consistent] [--json]" and
 * "hearsay config set KEY VALUE": the replicated cluster configuration (hs_client_config_get,
 * hs_client_config_set, which returns once the change is committed by the Raft group). */
#include "cli.h"

#include <string.h>

enum { OPT_CONSISTENT = 1 };
static const hcli_opt opts[] = {
    {"consistent", 0, false, OPT_CONSISTENT},
    {"json", 0, false, HCLI_JSON},
    {NULL, 0, false, 0},
};

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_config, argc, argv);
    bool consistent = false;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0, o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == OPT_CONSISTENT)
            consistent = true;
        else if (npos == 3)
            hcli_args_fail(&a, "too many arguments");
        else
            pos[npos++] = a.arg;
    }
    if (a.exit >= 0) return a.exit;
    if (npos == 0) return hcli_usage_error(&hcli_config, "missing action: get or set");
    bool set = strcmp(pos[0], "set") == 0;
    if (!set && strcmp(pos[0], "get") != 0)
        return hcli_usage_error(&hcli_config, "unknown action '%s'", pos[0]);
    if (npos != (set ? 3 : 2))
        return hcli_usage_error(&hcli_config,
                                set ? "usage: config set KEY VALUE" : "usage: config get KEY");
    if (pos[1][0] == '\0') return hcli_usage_error(&hcli_config, "empty key");
    if (set && consistent) return hcli_usage_error(&hcli_config, "--consistent is for get");

    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_config_entry *e = NULL;
    uint64_t version;
    int rc = set ? hs_client_config_set(c, pos[1], pos[2], &version)
                 : hs_client_config_get(c, pos[1], consistent ? HS_CLIENT_CONSISTENT : 0, &e);
    if (rc == HS_CLIENT_OK && !set) hcli_show_config(c, e);
    if (rc == HS_CLIENT_OK && set) hcli_show_committed(c, pos[1], " = ", pos[2], version);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(e);
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_config = {
    "config", "read or change the replicated cluster configuration",
    "Usage: hearsay config get KEY [--consistent] [--json]\n"
    "       hearsay config set KEY VALUE [--json]\n"
    "\n"
    "get prints the value this agent holds (GET /v1/config/KEY); with --consistent the\n"
    "read goes through the Raft leader. set changes it through the Raft group (PUT\n"
    "/v1/config/KEY) and returns once the change is committed (times out after 30 s).\n"
    "\n"
    "      --consistent      linearizable read through the leader\n"
    "      --json            print {\"key\":K,\"value\":V,\"version\":N} as the API answers\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
