/* args.c: the small option parser every subcommand uses (long and short options, "--opt=v",
 * "--" to end options, options and positionals in any order), plus usage printing. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void hs_args_init(hs_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    a->i = 1;
}

int hs_usage(const hs_command *cmd)
{
    fputs(cmd->usage, stdout);
    return EXIT_OK;
}

int hs_usage_error(const hs_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "hearsay %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(cmd->usage, stderr);
    return EXIT_USAGE;
}

static const hs_opt common_opts[] = {
    {"help", 'h', false, HS_OPT_HELP},
    {"socket", 0, true, -100},
    {"timeout", 0, true, -101},
    {NULL, 0, false, 0},
};

static const hs_opt *find_long(const hs_opt *opts, const char *name, size_t n)
{
    for (const hs_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == n && strncmp(o->name, name, n) == 0) return o;
    return NULL;
}

static const hs_opt *find_short(const hs_opt *opts, char c)
{
    for (const hs_opt *o = opts; o && o->name; o++)
        if (o->short_name && o->short_name == c) return o;
    return NULL;
}

int hs_args_next(hs_args *a, const hs_command *cmd, const hs_opt *opts)
{
    for (;;) {
        if (a->i >= a->argc) return HS_OPT_END;
        char *s = a->argv[a->i++];
        a->arg = NULL;
        if (a->no_more_opts || s[0] != '-' || s[1] == '\0') {
            a->arg = s;
            return HS_OPT_POSITIONAL;
        }
        if (strcmp(s, "--") == 0) {
            a->no_more_opts = true;
            continue;
        }
        const hs_opt *o;
        const char *inline_val = NULL;
        if (s[1] == '-') {
            const char *name = s + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(opts, name, n);
            if (!o) o = find_long(common_opts, name, n);
            if (eq) inline_val = eq + 1;
        } else {
            o = find_short(opts, s[1]);
            if (!o) o = find_short(common_opts, s[1]);
            if (s[2] != '\0') inline_val = s + 2;
        }
        if (!o) {
            hs_usage_error(cmd, "unknown option %s", s);
            return HS_OPT_ERROR;
        }
        if (o->has_arg) {
            if (inline_val)
                a->arg = inline_val;
            else if (a->i < a->argc)
                a->arg = a->argv[a->i++];
            else {
                hs_usage_error(cmd, "option %s needs a value", s);
                return HS_OPT_ERROR;
            }
        } else if (inline_val) {
            hs_usage_error(cmd, "option %s takes no value", s);
            return HS_OPT_ERROR;
        }
        if (o->id == -100) { /* --socket inside a subcommand */
            g_cli.socket_path = a->arg;
            continue;
        }
        if (o->id == -101) { /* --timeout inside a subcommand */
            if (hs_parse_timeout(a->arg)) return HS_OPT_ERROR;
            continue;
        }
        return o->id;
    }
}

long hs_parse_count(const hs_command *cmd, const char *opt, const char *value)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < 0 || v > INT_MAX) {
        hs_usage_error(cmd, "%s needs a non-negative integer, not '%s'", opt, value);
        return -1;
    }
    return v;
}

int hs_parse_timeout(const char *v)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(s > 0) || s > 86400) {
        hs_err("--timeout needs a number of seconds, not '%s'", v);
        return -1;
    }
    g_cli.timeout_ms = (int)(s * 1000);
    if (g_cli.timeout_ms < 1) g_cli.timeout_ms = 1;
    return 0;
}
