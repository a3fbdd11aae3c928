/* cmd_raft.c: "hearsay raft [status] [--json]": the Raft state of this agent (GET /v1/raft):
 * role, leader, term, commit and applied indexes, configuration version and seeds; and
 * "raft add-seed NAME HOST:PORT" / "raft remove-seed NAME" (cmd_raft_seeds.c). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 1 };
static const hs_opt opts[] = {{"json", 0, false, OPT_JSON}, {NULL, 0, false, 0}};

static void print_field(const char *label, json_t *v)
{
    printf("%-15s ", label);
    if (json_is_string(v))
        hs_put_safe(stdout, json_string_value(v));
    else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i) fputs(", ", stdout);
            if (json_is_object(e) && hs_jstr(e, "name", NULL))
                hs_put_safe(stdout, hs_jstr(e, "name", ""));
            else
                hs_put_json(stdout, e);
        }
    } else if (!v || json_is_null(v))
        fputs("-", stdout);
    else
        hs_put_json(stdout, v);
    putchar('\n');
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    bool json = false;
    const char *pos[3] = {NULL, NULL, NULL};
    size_t npos = 0;
    int o;
    while ((o = hs_args_next(&a, &hs_cmd_raft, opts)) != HS_OPT_END) {
        switch (o) {
        case HS_OPT_ERROR:
            return EXIT_USAGE;
        case HS_OPT_HELP:
            return hs_usage(&hs_cmd_raft);
        case OPT_JSON:
            json = true;
            break;
        case HS_OPT_POSITIONAL:
            if (npos == 3) return hs_usage_error(&hs_cmd_raft, "too many arguments");
            pos[npos++] = a.arg;
            break;
        }
    }
    if (npos && strcmp(pos[0], "add-seed") == 0) {
        if (npos != 3) return hs_usage_error(&hs_cmd_raft, "add-seed needs NAME HOST:PORT");
        return hs_raft_seed_change("add-seed", pos[1], pos[2], json);
    }
    if (npos && strcmp(pos[0], "remove-seed") == 0) {
        if (npos != 2) return hs_usage_error(&hs_cmd_raft, "remove-seed needs NAME");
        return hs_raft_seed_change("remove-seed", pos[1], NULL, json);
    }
    if (npos > 1 || (npos == 1 && strcmp(pos[0], "status") != 0))
        return hs_usage_error(&hs_cmd_raft, "unexpected argument '%s'", pos[npos - 1]);
    hs_client_response resp;
    int rc = hs_api("GET", "/v1/raft", NULL, NULL, 0, hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j)
        rc = EXIT_ERROR;
    else if (json)
        hs_print_raw(&resp);
    else {
        static const char *const known[] = {"state",   "leader",         "term", "commit",
                                            "applied", "config_version", "seeds"};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            print_field(known[i], json_object_get(j, known[i]));
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v)
        {
            bool seen = false;
            for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                seen |= strcmp(key, known[i]) == 0;
            if (seen) continue;
            char k[64];
            hs_safe_copy(k, sizeof k, key);
            print_field(k, v);
        }
    }
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

const hs_command hs_cmd_raft = {
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
    run};
