/* cli.h: what the hearsay subcommands share: global options, the API call helpers (on top of
 * libhearsay, <hearsay/client.h>) that turn transport and HTTP failures into messages and
 * exit codes, and small output helpers. */
#ifndef HS_CLI_H
#define HS_CLI_H

#include <hearsay/client.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HS_DEFAULT_SOCKET HS_CLIENT_DEFAULT_SOCKET
#define HS_CLI_VERSION    "0.1.0"

/* Exit codes of every subcommand except check (which uses the plugin codes). */
enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_UNREACHABLE = 2, EXIT_USAGE = 2 };

typedef struct hs_cli {
    const char *socket_path;
    int timeout_ms; /* -1: per-command default */
} hs_cli;
extern hs_cli g_cli;

typedef struct hs_command {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv);
} hs_command;

/* Prints "hearsay: ..." plus a newline on stderr. */
void hs_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the command's usage to stderr after an error message and returns EXIT_USAGE. */
int hs_usage_error(const hs_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the usage to stdout (for --help) and returns EXIT_OK. */
int hs_usage(const hs_command *cmd);
const hs_command *hs_find_command(const char *name);

/* Shared option parsing: handles -h/--help, --socket PATH and --timeout SECONDS inside a
 * subcommand; each command passes its own options table (see args.c). */
typedef struct hs_opt {
    const char *name; /* long name without dashes, e.g. "status" */
    char short_name;  /* 0 for none */
    bool has_arg;
    int id;
} hs_opt;
enum { HS_OPT_END = 0, HS_OPT_ERROR = -1, HS_OPT_POSITIONAL = -2, HS_OPT_HELP = -3 };
typedef struct hs_args {
    int argc;
    char **argv;
    int i;
    bool no_more_opts;
    const char *arg; /* value of the option or the positional argument */
} hs_args;
void hs_args_init(hs_args *a, int argc, char **argv); /* argv[0] is the command name */
/* Returns an option id, HS_OPT_POSITIONAL (a->arg set), HS_OPT_HELP, HS_OPT_END, or
 * HS_OPT_ERROR after printing the problem. --socket is consumed here. */
int hs_args_next(hs_args *a, const hs_command *cmd, const hs_opt *opts);
/* Sets g_cli.timeout_ms from "--timeout SECONDS"; -1 on error (message printed). */
int hs_parse_timeout(const char *v);
/* Parses a non-negative integer option value; -1 on error (message printed). */
long hs_parse_count(const hs_command *cmd, const char *opt, const char *value);

/* Set from a signal handler: a request blocked on the agent returns HS_CLIENT_EINTR. */
extern volatile sig_atomic_t hs_http_interrupted;

/* One API call. On a transport failure or an HTTP status >= 300 it prints the reason and
 * returns the exit code (EXIT_UNREACHABLE / EXIT_ERROR); 0 with resp filled on success. */
int hs_api(const char *method, const char *target, const char *content_type, const char *body,
           size_t body_len, int timeout_ms, hs_client_response *resp);
/* Like hs_api but quiet: returns the libhearsay code (or 1 for HTTP >= 300) and puts the
 * one-line reason into err. */
int hs_api_quiet(const char *method, const char *target, int timeout_ms, hs_client_response *resp,
                 char *err, size_t errlen);
/* The raw call: the libhearsay code (HS_CLIENT_OK for any complete answer, whatever its
 * status) with the reason of a failure in err. */
int hs_api_raw(const char *method, const char *target, const char *content_type, const char *body,
               size_t body_len, int timeout_ms, hs_client_response *resp, char *err, size_t errlen);
/* Parses a JSON object body; prints an error and returns NULL if it is not one. */
json_t *hs_parse_body(const hs_client_response *resp);
/* Writes the body as the API gave it, with a trailing newline if it lacks one. */
void hs_print_raw(const hs_client_response *resp);

/* Prints s with control characters replaced, so agent data cannot drive the terminal. */
void hs_put_safe(FILE *f, const char *s);
/* Prints a JSON value for people: a string as it is, anything else as compact JSON; both
 * through hs_put_safe. */
void hs_put_json(FILE *f, json_t *v);
/* Copies s into out with control characters replaced by '?'. */
void hs_safe_copy(char *out, size_t cap, const char *s);
/* Formats tags as "k=v,k2=v2" sorted by key (control characters replaced). */
void hs_format_tags(json_t *tags, char *out, size_t cap);
/* JSON helpers that tolerate missing or mistyped fields. */
const char *hs_jstr(json_t *obj, const char *key, const char *dflt);
long long hs_jint(json_t *obj, const char *key, long long dflt);

/* Timeouts (ms). */
#define HS_TIMEOUT_DEFAULT 10000
#define HS_TIMEOUT_COMMIT  30000
#define HS_TIMEOUT_CHECK   1500
int hs_timeout(int dflt);

/* cmd_raft_seeds.c: POST /v1/raft/add-seed|remove-seed; addr is NULL for remove-seed. */
int hs_raft_seed_change(const char *op, const char *name, const char *addr, bool json);

/* The subcommands. */
extern const hs_command hs_cmd_members, hs_cmd_join, hs_cmd_leave, hs_cmd_tags, hs_cmd_check,
    hs_cmd_keygen, hs_cmd_raft, hs_cmd_config, hs_cmd_watch, hs_cmd_self, hs_cmd_health,
    hs_cmd_metrics, hs_cmd_keys;

#endif
