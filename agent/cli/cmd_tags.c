/* cmd_tags.c: "hearsay tags set K=V..." and "hearsay tags delete K...": change this agent's
 * tags (hs_client_tags_update) and print the resulting tag set, one KEY=VALUE per line. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_tags, argc, argv);
    const char *action = NULL, **del = calloc((size_t)argc, sizeof *del);
    hs_client_tag *set = calloc((size_t)argc, sizeof *set);
    size_t n = 0;
    if (!del || !set) a.exit = EXIT_ERROR;
    while (hcli_args_next(&a, NULL) != HCLI_END) {
        char *eq = strchr(a.arg, '=');
        if (!action && strcmp(a.arg, "set") && strcmp(a.arg, "delete"))
            hcli_args_fail(&a, "unknown action '%s'", a.arg);
        else if (!action)
            action = a.arg;
        else if (action[0] == 'd' && eq)
            hcli_args_fail(&a, "'%s' is not a tag key", a.arg);
        else if (action[0] == 'd')
            del[n++] = a.arg;
        else if (!eq || eq == a.arg)
            hcli_args_fail(&a, "'%s' is not KEY=VALUE", a.arg);
        else {
            *eq = '\0'; /* argv is ours: KEY ends here */
            set[n++] = (hs_client_tag){a.arg, eq + 1};
        }
    }
    if (a.exit < 0 && !action) hcli_args_fail(&a, "missing action: set or delete");
    if (a.exit < 0 && n == 0) hcli_args_fail(&a, "no tags given");
    hs_client *c = a.exit < 0 ? hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS) : NULL;
    int rc = a.exit >= 0 ? a.exit : EXIT_ERROR;
    if (c) {
        hs_client_tag_list *t;
        bool setting = action[0] == 's';
        rc = hs_client_tags_update(c, set, setting ? n : 0, del, setting ? 0 : n, &t);
        if (rc == HS_CLIENT_OK) hcli_show_tags(c, t);
        rc = rc ? hcli_fail(c, rc) : EXIT_OK;
        hs_client_free(t);
        hs_client_close(c);
    }
    free(del);
    free(set);
    return rc;
}

const hcli_command hcli_tags = {
    "tags", "set or delete this agent's tags",
    "Usage: hearsay tags set KEY=VALUE...\n"
    "       hearsay tags delete KEY...\n"
    "\n"
    "Changes this agent's tags (PUT /v1/tags); the change is gossiped to every member.\n"
    "Prints the resulting tags, one KEY=VALUE per line.\n"
    "\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
