/* cmd_monitor.c: "hearsay monitor [--log-level L]": the agent's log as it is written
 * (hs_client_monitor, GET /v1/monitor), at a level of its own, until interrupted (exit 0) or
 * until the agent goes away (exit 1 with a message). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { OPT_LEVEL = 1 };
static const hcli_opt opts[] = {
    {"log-level", 'l', true, OPT_LEVEL},
    {NULL, 0, false, 0},
};

static const char *const levels[] = {"error", "warn", "warning", "notice", "info", "debug"};

static bool output_failed;

static int on_line(const char *line, size_t len, void *ctx)
{
    (void)ctx;
    char buf[2048];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    char safe[2048];
    hs_client_safe_copy(safe, sizeof safe, buf);
    puts(safe);
    output_failed = fflush(stdout) != 0;
    return output_failed;
}

static void on_signal(int sig)
{
    (void)sig;
    hcli_interrupted = 1;
}

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_monitor, argc, argv);
    const char *level = "info";
    int o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == HCLI_POSITIONAL) {
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
            continue;
        }
        bool known = false; /* OPT_LEVEL */
        for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
            known |= !strcasecmp(a.arg, levels[i]);
        if (!known) hcli_args_fail(&a, "--log-level must be error, warn, notice, info or debug");
        level = a.arg;
    }
    if (a.exit >= 0) return a.exit;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    int r = hs_client_monitor(c, level, on_line, NULL), rc = EXIT_OK;
    if (r == HS_CLIENT_EINTR || hcli_interrupted)
        rc = EXIT_OK;
    else if (output_failed)
        rc = EXIT_ERROR;
    else if (r == HS_CLIENT_OK || r == HS_CLIENT_EPROTO) {
        hcli_err("the agent at %s ended the log stream (it stopped or restarted)",
                 hs_client_socket_path(c));
        rc = EXIT_ERROR;
    } else
        rc = hcli_fail(c, r);
    hs_client_close(c);
    return rc;
}

const hcli_command hcli_monitor = {
    "monitor", "stream the agent's log",
    "Usage: hearsay monitor [--log-level LEVEL]\n"
    "\n"
    "Streams the agent's log lines as they are written (GET /v1/monitor) until interrupted\n"
    "(Ctrl-C, exit 0). LEVEL is error, warn, notice, info (the default) or debug, and is this\n"
    "stream's own: a debug monitor sees debug lines while the agent logs at info. If this\n"
    "command reads too slowly the agent drops lines and says how many (\"N lines dropped\").\n"
    "Exits 1 with a message when the agent stops, 2 when it cannot be reached.\n"
    "\n"
    "  -l, --log-level LEVEL the most detailed level to show (info)\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
