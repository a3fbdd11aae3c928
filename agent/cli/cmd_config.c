/* cmd_config.c: "hearsay config get KEY [--consistent] [--json]",
 * "hearsay config set KEY VALUE" and "hearsay config fd [KEY VALUE | KEY --reset]": the
 * replicated cluster configuration (hs_client_config_get, hs_client_config_set) and its
 * failure-detection settings (hs_client_fd, hs_client_fd_set); changes return once committed
 * by the Raft group. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

enum { OPT_CONSISTENT = 1, OPT_RESET };
static const hcli_opt opts[] = {
    {"consistent", 0, false, OPT_CONSISTENT},
    {"reset", 0, false, OPT_RESET},
    {"json", 0, false, HCLI_JSON},
    {NULL, 0, false, 0},
};

/* config fd: list (key NULL), set (value), or back to the profile's (reset). */
static int run_fd(const char *key, const char *value, bool reset)
{
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_fd_info *f = NULL;
    int rc = key ? hs_client_fd_set(c, key, reset ? NULL : value, &f) : hs_client_fd(c, &f);
    char label[96];
    snprintf(label, sizeof label, "fd %s", key ? key : "");
    if (rc == HS_CLIENT_OK && key)
        hcli_show_committed(c, label, reset ? " " : " = ", reset ? "reset to the profile's" : value,
                            f->version);
    if (rc == HS_CLIENT_OK && !key) hcli_show_fd(c, f);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(f);
    hs_client_close(c);
    return rc;
}

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_config, argc, argv);
    bool consistent = false, reset = false;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0, o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == OPT_CONSISTENT)
            consistent = true;
        else if (o == OPT_RESET)
            reset = true;
        else if (npos == 3)
            hcli_args_fail(&a, "too many arguments");
        else
            pos[npos++] = a.arg;
    }
    if (a.exit >= 0) return a.exit;
    if (npos == 0) return hcli_usage_error(&hcli_config, "missing action: get, set or fd");
    if (!strcmp(pos[0], "fd")) {
        if (consistent) return hcli_usage_error(&hcli_config, "--consistent is for get");
        if (npos != (reset ? 2 : 1) && !(npos == 3 && !reset))
            return hcli_usage_error(&hcli_config, "usage: config fd [KEY VALUE | KEY --reset]");
        return run_fd(npos > 1 ? pos[1] : NULL, npos > 2 ? pos[2] : NULL, reset);
    }
    if (reset) return hcli_usage_error(&hcli_config, "--reset is for config fd");
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
    "       hearsay config fd [KEY VALUE | KEY --reset] [--json]\n"
    "\n"
    "get prints the value this agent holds (GET /v1/config/KEY); with --consistent the\n"
    "read goes through the Raft leader. set changes it through the Raft group (PUT\n"
    "/v1/config/KEY) and returns once the change is committed (times out after 30 s).\n"
    "fd lists the failure-detection settings in effect (GET /v1/fd); fd KEY VALUE sets one\n"
    "for the whole cluster through the Raft group (PUT /v1/fd/KEY; KEY profile takes lan,\n"
    "wan or local), every agent applying it at the configuration version that carries it;\n"
    "fd KEY --reset goes back to the profile's value (DELETE /v1/fd/KEY).\n"
    "\n"
    "      --consistent      linearizable read through the leader\n"
    "      --reset           config fd KEY: back to the profile's value\n"
    "      --json            print {\"key\":K,\"value\":V,\"version\":N} as the API answers\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
