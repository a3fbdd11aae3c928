/* args.c: the small option parser every subcommand uses (long and short options, "--opt=v",
 * "--" to end options, options and positionals in any order, --help, --socket, --timeout and
 * --json handled here), usage and error messages, and a payload read from standard input. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_HELP = -100, OPT_SOCKET = -101, OPT_TIMEOUT = -102 };
static const hcli_opt common_opts[] = {
    {"help", 'h', false, OPT_HELP},
    {"socket", 0, true, OPT_SOCKET},
    {"timeout", 0, true, OPT_TIMEOUT},
    {NULL, 0, false, 0},
};

void hcli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("hearsay: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int vusage_error(const hcli_command *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "hearsay %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fputs(cmd->usage, stderr);
    return cmd->usage_exit ? cmd->usage_exit : EXIT_USAGE;
}

int hcli_usage_error(const hcli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vusage_error(cmd, fmt, ap);
    va_end(ap);
    return rc;
}

int hcli_args_fail(hcli_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    a->exit = vusage_error(a->cmd, fmt, ap);
    va_end(ap);
    return HCLI_END;
}

void hcli_args_init(hcli_args *a, const hcli_command *cmd, int argc, char **argv)
{
    *a = (hcli_args){.cmd = cmd, .argc = argc, .argv = argv, .i = 1, .exit = -1};
}

static const hcli_opt *find(const hcli_opt *opts, const char *name, size_t n, char short_name)
{
    for (const hcli_opt *o = opts; o && o->name; o++)
        if (short_name ? o->short_name == short_name
                       : strlen(o->name) == n && strncmp(o->name, name, n) == 0)
            return o;
    return NULL;
}

int hcli_args_next(hcli_args *a, const hcli_opt *opts)
{
    while (a->exit < 0 && a->i < a->argc) {
        char *s = a->argv[a->i++];
        a->arg = NULL;
        if (a->no_more_opts || s[0] != '-' || s[1] == '\0') {
            a->arg = s;
            return HCLI_POSITIONAL;
        }
        if (strcmp(s, "--") == 0) {
            a->no_more_opts = true;
            continue;
        }
        const char *name = s + 1 + (s[1] == '-'), *inline_val = NULL;
        size_t n = strcspn(name, "=");
        char short_name = s[1] == '-' ? 0 : s[1];
        if (short_name && s[2]) inline_val = s + 2;
        if (!short_name && name[n]) inline_val = name + n + 1;
        const hcli_opt *o = find(opts, name, n, short_name);
        if (!o) o = find(common_opts, name, n, short_name);
        if (!o) return hcli_args_fail(a, "unknown option %s", s);
        if (o->has_arg && !inline_val && a->i >= a->argc)
            return hcli_args_fail(a, "option %s needs a value", s);
        if (!o->has_arg && inline_val) return hcli_args_fail(a, "option %s takes no value", s);
        if (o->has_arg) a->arg = inline_val ? inline_val : a->argv[a->i++];
        if (o->id == OPT_HELP) {
            fputs(a->cmd->usage, stdout);
            a->exit = EXIT_OK;
        } else if (o->id == OPT_SOCKET)
            g_cli.socket_path = a->arg;
        else if (o->id == OPT_TIMEOUT) {
            if (hcli_parse_timeout(a->arg))
                a->exit = a->cmd->usage_exit ? a->cmd->usage_exit : EXIT_USAGE;
        } else if (o->id == HCLI_JSON)
            g_cli.json = true;
        else
            return o->id;
    }
    return HCLI_END;
}

long hcli_count(hcli_args *a, const char *opt)
{
    char *end;
    errno = 0;
    long v = strtol(a->arg, &end, 10);
    if (errno || end == a->arg || *end != '\0' || v < 0 || v > INT_MAX) {
        hcli_args_fail(a, "%s needs a non-negative integer, not '%s'", opt, a->arg);
        return -1;
    }
    return v;
}

int hcli_parse_timeout(const char *v)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(s > 0) || s > 86400) {
        hcli_err("--timeout needs a number of seconds, not '%s'", v);
        return -1;
    }
    g_cli.timeout_ms = (int)(s * 1000);
    if (g_cli.timeout_ms < 1) g_cli.timeout_ms = 1;
    return 0;
}

int hcli_seconds(const char *v, double *out)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(s >= 0.001) || s > 300) return -1;
    *out = s;
    return 0;
}

static int read_payload(uint8_t **out, size_t *len)
{
    uint8_t *buf = malloc(HS_CLIENT_PAYLOAD_MAX + 1);
    size_t n = 0;
    if (!buf) {
        hcli_err("out of memory");
        return -1;
    }
    while (n <= HS_CLIENT_PAYLOAD_MAX) {
        size_t k = fread(buf + n, 1, HS_CLIENT_PAYLOAD_MAX + 1 - n, stdin);
        if (k == 0) break;
        n += k;
    }
    if (ferror(stdin) || n > HS_CLIENT_PAYLOAD_MAX) {
        if (n > HS_CLIENT_PAYLOAD_MAX)
            hcli_err("payload larger than %d bytes", HS_CLIENT_PAYLOAD_MAX);
        else
            hcli_err("reading the payload from standard input: %s", strerror(errno));
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

int hcli_payload(const char *arg, uint8_t **owned, const void **bytes, size_t *len)
{
    *owned = NULL;
    *bytes = arg;
    *len = 0;
    if (!arg) return 0;
    if (strcmp(arg, "-")) {
        *len = strlen(arg);
        return 0;
    }
    if (read_payload(owned, len) != 0) return -1;
    *bytes = *owned;
    return 0;
}
