/* cmd_event.c: "hearsay event [--coalesce] [--wait [SEC]] [--json] NAME [PAYLOAD | -]": fires a
 * user event on every member (hs_client_user_event); with --wait, waits until every live member
 * delivered it to its handlers and says how many did (exit 1 when some did not in time). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_COALESCE = 1, OPT_WAIT };
static const hcli_opt opts[] = {
    {"json", 0, false, HCLI_JSON},
    {"coalesce", 0, false, OPT_COALESCE},
    {"wait", 0, false, OPT_WAIT},
    {NULL, 0, false, 0},
};

#define WAIT_DEFAULT_S 10

static int run(int argc, char **argv)
{
    /* --wait takes an optional value: --wait=SEC, or a number right after it */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int nargs = 0;
    double wait_s = 0;
    bool bad_wait = false;
    for (int i = 0; args && i < argc; i++) {
        if (!strncmp(argv[i], "--wait=", 7)) {
            if (hcli_seconds(argv[i] + 7, &wait_s) != 0) bad_wait = true;
            args[nargs++] = "--wait";
            continue;
        }
        args[nargs++] = argv[i];
        double s;
        if (!strcmp(argv[i], "--wait") && i + 1 < argc && hcli_seconds(argv[i + 1], &s) == 0) {
            wait_s = s;
            i++;
        }
    }
    hcli_args a;
    hcli_args_init(&a, &hcli_event, nargs, args);
    if (!args) a.exit = EXIT_ERROR;
    if (bad_wait) hcli_args_fail(&a, "--wait needs a number of seconds (0.001 to 300)");
    const char *name = NULL, *payload = NULL;
    bool coalesce = false, wait = false;
    for (int id; (id = hcli_args_next(&a, opts)) != HCLI_END;) {
        if (id == OPT_COALESCE)
            coalesce = true;
        else if (id == OPT_WAIT)
            wait = true;
        else if (!name)
            name = a.arg;
        else if (!payload)
            payload = a.arg;
        else
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
    }
    if (a.exit < 0 && !name) hcli_args_fail(&a, "missing the event name");
    int rc = a.exit >= 0 ? a.exit : EXIT_OK;
    uint8_t *data = NULL;
    const void *bytes = NULL;
    size_t len = 0;
    if (a.exit < 0 && hcli_payload(payload, &data, &bytes, &len) != 0) rc = EXIT_ERROR;
    hs_client *c = a.exit < 0 && !rc ? hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS) : NULL;
    if (a.exit < 0 && !rc && !c) rc = EXIT_ERROR;
    if (c) {
        if (wait && !wait_s) wait_s = WAIT_DEFAULT_S;
        hs_client_user_event_result *r = NULL;
        rc = hs_client_user_event(c, name, bytes, len, coalesce ? HS_CLIENT_COALESCE : 0,
                                  (int)(wait_s * 1000), &r);
        if (rc == HS_CLIENT_OK) {
            hcli_show_user_event(c, name, r);
            rc = r->waited && !r->complete ? EXIT_ERROR : EXIT_OK;
        } else {
            rc = hcli_fail(c, rc);
        }
        hs_client_free(r);
        hs_client_close(c);
    }
    free(data);
    free(args);
    return rc;
}

const hcli_command hcli_event = {
    "event", "fire a user event on every member",
    "Usage: hearsay event [--coalesce] [--wait [SEC]] [--json] NAME [PAYLOAD | -]\n"
    "\n"
    "Fires the user event NAME (1-128 of A-Z a-z 0-9 . _ - :) with PAYLOAD (the argument, or\n"
    "standard input with -; at most 8192 bytes) on every member (POST /v1/event/NAME): each\n"
    "runs its user-event and user-event:NAME handlers once, also across its restarts, and no\n"
    "member that starts later runs it. Exits 0 once the agent accepted it.\n"
    "\n"
    "      --coalesce        members keep only the newest event of NAME within 200 ms\n"
    "      --wait [SEC]      wait (10 s, or SEC) until every live member delivered it; print\n"
    "                        how many did; exit 1 if some did not in time\n"
    "      --json            the agent's answer: "
    "{\"id\",\"ltime\",\"members\"[,\"delivered\",\"ms\",\n"
    "                        \"complete\",\"pending\"]}\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
