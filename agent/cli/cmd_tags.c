/* cmd_tags.c: "hearsay tags set K=V..." and "hearsay tags delete K...": change this agent's
 * tags (PUT /v1/tags) and print the resulting tag set, one KEY=VALUE per line. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int put_tags(json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) return EXIT_ERROR;
    hs_client_response resp;
    int rc = hs_api("PUT", "/v1/tags", "application/json", text, strlen(text),
                    hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    free(text);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j)
        rc = EXIT_ERROR;
    else {
        char buf[8192];
        hs_format_tags(json_object_get(j, "tags"), buf, sizeof buf);
        for (char *p = buf, *end; *p; p = end + (*end ? 1 : 0)) {
            end = p + strcspn(p, ",");
            printf("%.*s\n", (int)(end - p), p);
        }
    }
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    int o, rc = -1;
    const char *action = NULL;
    json_t *set = json_object(), *del = json_array();
    while (rc < 0 && (o = hs_args_next(&a, &hs_cmd_tags, NULL)) != HS_OPT_END) {
        if (o == HS_OPT_ERROR)
            rc = EXIT_USAGE;
        else if (o == HS_OPT_HELP)
            rc = hs_usage(&hs_cmd_tags);
        else if (!action) {
            action = a.arg;
            if (strcmp(action, "set") != 0 && strcmp(action, "delete") != 0)
                rc = hs_usage_error(&hs_cmd_tags, "unknown action '%s'", action);
        } else if (action[0] == 's') {
            const char *eq = strchr(a.arg, '=');
            if (!eq || eq == a.arg) {
                rc = hs_usage_error(&hs_cmd_tags, "'%s' is not KEY=VALUE", a.arg);
                break;
            }
            char key[256];
            size_t kl = (size_t)(eq - a.arg);
            if (kl >= sizeof key) {
                rc = hs_usage_error(&hs_cmd_tags, "tag key too long");
                break;
            }
            memcpy(key, a.arg, kl);
            key[kl] = '\0';
            json_t *v = json_string(eq + 1);
            if (!v || json_object_set_new(set, key, v))
                rc = hs_usage_error(&hs_cmd_tags, "'%s' is not valid UTF-8", a.arg);
        } else {
            json_t *v = json_string(a.arg);
            if (!v || strchr(a.arg, '=') || json_array_append_new(del, v))
                rc = hs_usage_error(&hs_cmd_tags, "'%s' is not a tag key", a.arg);
        }
    }
    if (rc < 0 && !action) rc = hs_usage_error(&hs_cmd_tags, "missing action: set or delete");
    if (rc < 0 && json_object_size(set) == 0 && json_array_size(del) == 0)
        rc = hs_usage_error(&hs_cmd_tags, "no tags given");
    if (rc < 0) {
        json_t *body =
            action[0] == 's' ? json_pack("{s:O}", "set", set) : json_pack("{s:O}", "delete", del);
        rc = body ? put_tags(body) : EXIT_ERROR;
        json_decref(body);
    }
    json_decref(set);
    json_decref(del);
    return rc;
}

const hs_command hs_cmd_tags = {
    "tags", "set or delete this agent's tags",
    "Usage: hearsay tags set KEY=VALUE...\n"
    "       hearsay tags delete KEY...\n"
    "\n"
    "Changes this agent's tags (PUT /v1/tags); the change is gossiped to every member.\n"
    "Prints the resulting tags, one KEY=VALUE per line.\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run};
