/* main.c: the hearsay command line tool. Parses the global options (--socket, --timeout),
 * picks the subcommand and runs it. Every subcommand calls libhearsay's typed calls and shows
 * the answer through output.c; usage is in docs/cli.md. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

hcli_globals g_cli = {.socket_path = HS_CLIENT_DEFAULT_SOCKET, .timeout_ms = -1};

static const hcli_command *const commands[] = {
    &hcli_members, &hcli_join,         &hcli_leave,   &hcli_tags,    &hcli_check,  &hcli_keygen,
    &hcli_raft,    &hcli_config,       &hcli_watch,   &hcli_self,    &hcli_health, &hcli_metrics,
    &hcli_keys,    &hcli_force_leave,  &hcli_readmit, &hcli_explain, &hcli_event,  &hcli_query,
    &hcli_monitor, &hcli_reachability, NULL,
};

const hcli_command *hcli_find_command(const char *name)
{
    for (size_t i = 0; commands[i]; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fputs("Usage: hearsay [--socket PATH] [--timeout SECONDS] COMMAND [ARGS...]\n"
          "\n"
          "Talks to the local hearsayd agent over its unix socket.\n"
          "\n"
          "Global options:\n"
          "  --socket PATH      agent API socket (default $HEARSAY_SOCKET "
          "or " HS_CLIENT_DEFAULT_SOCKET ")\n"
          "  --timeout SECONDS  give up on the agent after this long (default depends on the\n"
          "                     command: 10, 30 for config set, 1.5 for check)\n"
          "  -h, --help         show this help; 'hearsay COMMAND --help' for a command\n"
          "  --version          print the version\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; commands[i]; i++)
        fprintf(f, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\nExit codes: 0 success, 1 error answer from the agent, 2 agent unreachable or bad\n"
          "usage; check uses 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n",
          f);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const char *env = getenv("HEARSAY_SOCKET");
    if (env && *env) g_cli.socket_path = env;

    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--socket") == 0 || strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc) {
                hcli_err("%s needs a value", a);
                return EXIT_USAGE;
            }
            if (a[2] == 's')
                g_cli.socket_path = argv[++i];
            else if (hcli_parse_timeout(argv[++i]))
                return EXIT_USAGE;
        } else if (strncmp(a, "--socket=", 9) == 0) {
            g_cli.socket_path = a + 9;
        } else if (strncmp(a, "--timeout=", 10) == 0) {
            if (hcli_parse_timeout(a + 10)) return EXIT_USAGE;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            puts("hearsay " HCLI_VERSION);
            return EXIT_OK;
        } else if (a[0] == '-') {
            hcli_err("unknown option %s", a);
            usage(stderr);
            return EXIT_USAGE;
        } else
            break;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        if (i + 1 >= argc) {
            usage(stdout);
            return EXIT_OK;
        }
        const hcli_command *c = hcli_find_command(argv[i + 1]);
        if (!c) {
            hcli_err("unknown command '%s'", argv[i + 1]);
            return EXIT_USAGE;
        }
        fputs(c->usage, stdout);
        return EXIT_OK;
    }
    const hcli_command *cmd = hcli_find_command(argv[i]);
    if (!cmd) {
        hcli_err("unknown command '%s' (see hearsay --help)", argv[i]);
        return EXIT_USAGE;
    }
    int rc = cmd->run(argc - i, argv + i);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE) hcli_err("writing output: %s", strerror(errno));
        if (rc == 0) rc = EXIT_ERROR;
    }
    return rc;
}
