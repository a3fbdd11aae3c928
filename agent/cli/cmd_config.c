/* cmd_config.c: "hearsay config get KEY [--consistent] [--json]" and
 * "hearsay config set KEY VALUE": the replicated cluster configuration (GET|PUT
 * /v1/config/KEY; a PUT answers once the change is committed by the Raft group). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_CONSISTENT = 1, OPT_JSON };
static const hs_opt opts[] = {
    {"consistent", 0, false, OPT_CONSISTENT},
    {"json", 0, false, OPT_JSON},
    {NULL, 0, false, 0},
};

static void print_value(json_t *v)
{
    if (v) hs_put_json(stdout, v);
    putchar('\n');
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    bool consistent = false, json = false;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0, o;
    while ((o = hs_args_next(&a, &hs_cmd_config, opts)) != HS_OPT_END) {
        switch (o) {
        case HS_OPT_ERROR:
            return EXIT_USAGE;
        case HS_OPT_HELP:
            return hs_usage(&hs_cmd_config);
        case OPT_CONSISTENT:
            consistent = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        case HS_OPT_POSITIONAL:
            if (npos == 3) return hs_usage_error(&hs_cmd_config, "too many arguments");
            pos[npos++] = a.arg;
            break;
        }
    }
    if (npos == 0) return hs_usage_error(&hs_cmd_config, "missing action: get or set");
    bool set = strcmp(pos[0], "set") == 0;
    if (!set && strcmp(pos[0], "get") != 0)
        return hs_usage_error(&hs_cmd_config, "unknown action '%s'", pos[0]);
    if (npos != (set ? 3 : 2))
        return hs_usage_error(&hs_cmd_config,
                              set ? "usage: config set KEY VALUE" : "usage: config get KEY");
    if (pos[1][0] == '\0') return hs_usage_error(&hs_cmd_config, "empty key");
    if (set && consistent) return hs_usage_error(&hs_cmd_config, "--consistent is for get");

    char target[2048] = "/v1/config/";
    if (hs_client_url_encode(target, sizeof target, pos[1]) ||
        (consistent && strlen(target) + 14 > sizeof target))
        return hs_usage_error(&hs_cmd_config, "key too long");
    if (consistent) strcat(target, "?consistent=1");

    hs_client_response resp;
    int rc = set ? hs_api("PUT", target, "text/plain; charset=utf-8", pos[2], strlen(pos[2]),
                          hs_timeout(HS_TIMEOUT_COMMIT), &resp)
                 : hs_api("GET", target, NULL, NULL, 0, hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j)
        rc = EXIT_ERROR;
    else if (json)
        hs_print_raw(&resp);
    else if (set) {
        char k[256];
        hs_safe_copy(k, sizeof k, hs_jstr(j, "key", pos[1]));
        printf("%s = ", k);
        print_value(json_object_get(j, "value"));
        printf("committed at configuration version %lld\n", hs_jint(j, "version", 0));
    } else
        print_value(json_object_get(j, "value"));
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

const hs_command hs_cmd_config = {
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
    run};
