/* cmd_members.c: "hearsay members": the member list from GET /v1/members, filtered by the
 * agent (?status=, &tag=), printed as a table or as the API's JSON unchanged. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_STATUS = 1, OPT_TAG, OPT_JSON };
static const hs_opt opts[] = {
    {"status", 's', true, OPT_STATUS},
    {"tag", 't', true, OPT_TAG},
    {"json", 0, false, OPT_JSON},
    {NULL, 0, false, 0},
};

static bool valid_status(const char *s)
{
    return strcmp(s, "alive") == 0 || strcmp(s, "suspect") == 0 || strcmp(s, "failed") == 0 ||
           strcmp(s, "left") == 0;
}

typedef struct row {
    char name[80], addr[80], status[16], inc[24], tags[1024];
} row;

static int print_table(json_t *members)
{
    size_t n = json_array_size(members);
    row *rows = calloc(n + 1, sizeof *rows);
    if (!rows) return EXIT_ERROR;
    snprintf(rows[0].name, sizeof rows[0].name, "NAME");
    snprintf(rows[0].addr, sizeof rows[0].addr, "ADDR");
    snprintf(rows[0].status, sizeof rows[0].status, "STATUS");
    snprintf(rows[0].inc, sizeof rows[0].inc, "INCARNATION");
    snprintf(rows[0].tags, sizeof rows[0].tags, "TAGS");
    size_t w[4] = {4, 4, 6, 11};
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(members, i);
        row *r = &rows[i + 1];
        hs_safe_copy(r->name, sizeof r->name, hs_jstr(m, "name", "?"));
        hs_safe_copy(r->addr, sizeof r->addr, hs_jstr(m, "addr", "?"));
        hs_safe_copy(r->status, sizeof r->status, hs_jstr(m, "status", "?"));
        snprintf(r->inc, sizeof r->inc, "%lld", hs_jint(m, "incarnation", 0));
        hs_format_tags(json_object_get(m, "tags"), r->tags, sizeof r->tags);
        size_t l[4] = {strlen(r->name), strlen(r->addr), strlen(r->status), strlen(r->inc)};
        for (int k = 0; k < 4; k++)
            if (l[k] > w[k]) w[k] = l[k];
    }
    for (size_t i = 0; i <= n; i++) {
        row *r = &rows[i];
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], r->name, (int)w[1], r->addr, (int)w[2],
               r->status, (int)w[3], r->inc, r->tags);
    }
    free(rows);
    return EXIT_OK;
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    bool json = false;
    char target[4096] = "/v1/members";
    char sep = '?';
    int o;
    while ((o = hs_args_next(&a, &hs_cmd_members, opts)) != HS_OPT_END) {
        size_t len = strlen(target);
        switch (o) {
        case HS_OPT_ERROR:
            return EXIT_USAGE;
        case HS_OPT_HELP:
            return hs_usage(&hs_cmd_members);
        case HS_OPT_POSITIONAL:
            return hs_usage_error(&hs_cmd_members, "unexpected argument '%s'", a.arg);
        case OPT_JSON:
            json = true;
            break;
        case OPT_STATUS:
            if (!valid_status(a.arg))
                return hs_usage_error(&hs_cmd_members,
                                      "--status must be alive, suspect, failed or left");
            snprintf(target + len, sizeof target - len, "%cstatus=", sep);
            if (hs_client_url_encode(target, sizeof target, a.arg))
                return hs_usage_error(&hs_cmd_members, "too many filters");
            sep = '&';
            break;
        case OPT_TAG:
            if (!strchr(a.arg, '=') || a.arg[0] == '=')
                return hs_usage_error(&hs_cmd_members, "--tag needs KEY=VALUE, not '%s'", a.arg);
            snprintf(target + len, sizeof target - len, "%ctag=", sep);
            if (hs_client_url_encode(target, sizeof target, a.arg))
                return hs_usage_error(&hs_cmd_members, "too many filters");
            sep = '&';
            break;
        }
    }
    hs_client_response resp;
    int rc = hs_api("GET", target, NULL, NULL, 0, hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j)
        rc = EXIT_ERROR;
    else if (!json_is_array(json_object_get(j, "members"))) {
        hs_err("bad answer from agent: no \"members\" array");
        rc = EXIT_ERROR;
    } else if (json)
        hs_print_raw(&resp);
    else
        rc = print_table(json_object_get(j, "members"));
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

const hs_command hs_cmd_members = {
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
    run};
