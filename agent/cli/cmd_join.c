/* cmd_join.c: "hearsay join ADDR..." (POST /v1/join) and "hearsay leave" (POST /v1/leave,
 * after which the agent announces its departure and exits). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int post_join(json_t *addrs)
{
    json_t *body = json_pack("{s:O}", "addrs", addrs);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return EXIT_ERROR;
    hs_client_response resp;
    int rc = hs_api("POST", "/v1/join", "application/json", text, strlen(text),
                    hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    free(text);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    long long n = hs_jint(j, "contacted", -1);
    if (!j)
        rc = EXIT_ERROR;
    else if (n <= 0) {
        hs_err("join: no address could be contacted");
        rc = EXIT_ERROR;
    } else {
        size_t total = json_array_size(addrs);
        printf("Contacted %lld of %zu address%s\n", n, total, total == 1 ? "" : "es");
    }
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

static int run_join(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    json_t *addrs = json_array();
    int o, rc = -1;
    while (rc < 0 && (o = hs_args_next(&a, &hs_cmd_join, NULL)) != HS_OPT_END) {
        if (o == HS_OPT_ERROR)
            rc = EXIT_USAGE;
        else if (o == HS_OPT_HELP)
            rc = hs_usage(&hs_cmd_join);
        else if (!strchr(a.arg, ':'))
            rc = hs_usage_error(&hs_cmd_join, "'%s' is not HOST:PORT", a.arg);
        else if (json_array_append_new(addrs, json_string(a.arg)) != 0)
            rc = hs_usage_error(&hs_cmd_join, "'%s' is not valid UTF-8", a.arg);
    }
    if (rc < 0 && json_array_size(addrs) == 0)
        rc = hs_usage_error(&hs_cmd_join, "no address given");
    if (rc < 0) rc = post_join(addrs);
    json_decref(addrs);
    return rc;
}

static int run_leave(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    int o;
    while ((o = hs_args_next(&a, &hs_cmd_leave, NULL)) != HS_OPT_END) {
        if (o == HS_OPT_ERROR) return EXIT_USAGE;
        if (o == HS_OPT_HELP) return hs_usage(&hs_cmd_leave);
        return hs_usage_error(&hs_cmd_leave, "unexpected argument '%s'", a.arg);
    }
    hs_client_response resp;
    int rc = hs_api("POST", "/v1/leave", NULL, NULL, 0, hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j)
        rc = EXIT_ERROR;
    else
        puts("Left the cluster; the agent exits once the leave has been gossiped");
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

const hs_command hs_cmd_join = {
    "join", "ask the agent to join a cluster through the given members",
    "Usage: hearsay join HOST:PORT...\n"
    "\n"
    "Asks the agent to meet the members at the given gossip addresses (POST /v1/join).\n"
    "Fails (exit 1) when none of them could be contacted.\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run_join};

const hs_command hs_cmd_leave = {
    "leave", "leave the cluster gracefully and stop the agent",
    "Usage: hearsay leave\n"
    "\n"
    "Makes the agent announce a graceful leave (POST /v1/leave): the other members mark it\n"
    "'left' (not 'failed') and the agent exits once the leave has been gossiped.\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run_leave};
