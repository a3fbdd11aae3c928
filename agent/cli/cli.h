/* cli.h: what the hearsay subcommands share (everything named hcli_*): the global options,
 * the option parser (args.c), the libhearsay handle and error reporting (agent.c), and the
 * output module that renders every answer as text or JSON (output.c). */
#ifndef HCLI_CLI_H
#define HCLI_CLI_H

#include <hearsay/client.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HCLI_VERSION "0.1.0"

/* Exit codes of every subcommand except check (which uses the plugin codes). */
enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_UNREACHABLE = 2, EXIT_USAGE = 2 };

typedef struct hcli_globals {
    const char *socket_path;
    int timeout_ms; /* -1: per-command default */
    bool json;      /* --json: answers as the agent sent them */
} hcli_globals;
extern hcli_globals g_cli;

typedef struct hcli_command {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv);
    int usage_exit; /* exit code of a usage error; 0 means EXIT_USAGE */
} hcli_command;

/* The subcommands. */
extern const hcli_command hcli_members, hcli_join, hcli_leave, hcli_tags, hcli_check, hcli_keygen,
    hcli_raft, hcli_config, hcli_watch, hcli_self, hcli_health, hcli_metrics, hcli_keys,
    hcli_force_leave, hcli_readmit, hcli_explain, hcli_event, hcli_query, hcli_monitor,
    hcli_reachability;
const hcli_command *hcli_find_command(const char *name);

/* ---- args.c ---------------------------------------------------------------------------- */

/* Prints "hearsay: ..." plus a newline on stderr. */
void hcli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "hearsay CMD: ..." and the command's usage on stderr; returns its usage exit code. */
int hcli_usage_error(const hcli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Long and short options, "--opt=v", "--" to end options, options and positionals in any
 * order. --help, --socket and --timeout are handled for every command, --json (HCLI_JSON)
 * for those that list it. */
typedef struct hcli_opt {
    const char *name; /* long name without dashes, e.g. "status" */
    char short_name;  /* 0 for none */
    bool has_arg;
    int id;
} hcli_opt;
enum { HCLI_END = 0, HCLI_POSITIONAL = -1, HCLI_JSON = -2 };
typedef struct hcli_args {
    const hcli_command *cmd;
    int argc, i;
    char **argv;
    bool no_more_opts;
    const char *arg; /* value of the option or the positional argument */
    int exit;        /* >= 0 once --help or an error ended the parse: the exit code */
} hcli_args;
void hcli_args_init(hcli_args *a, const hcli_command *cmd, int argc, char **argv);
/* Returns an option id or HCLI_POSITIONAL (a->arg set), or HCLI_END: then a->exit >= 0 when
 * --help was printed (0) or a usage error was (its code). */
int hcli_args_next(hcli_args *a, const hcli_opt *opts);
/* Ends the parse with a usage error (message and usage printed); returns HCLI_END. */
int hcli_args_fail(hcli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A non-negative integer option value, or -1 after a usage error. */
long hcli_count(hcli_args *a, const char *opt);
/* Sets g_cli.timeout_ms from "--timeout SECONDS"; -1 on error (message printed). */
int hcli_parse_timeout(const char *v);
/* Seconds from 0.001 to 300 (a wait); -1 if v is not that. */
int hcli_seconds(const char *v, double *out);
/* An event's or query's payload argument: none (NULL), "-" (standard input, at most
 * HS_CLIENT_PAYLOAD_MAX bytes, into *owned for the caller to free) or the argument itself;
 * *bytes and *len say what to send. 0, or -1 after a message on stderr. */
int hcli_payload(const char *arg, uint8_t **owned, const void **bytes, size_t *len);

/* ---- agent.c --------------------------------------------------------------------------- */

/* Default timeouts (ms) when --timeout is not given. */
#define HCLI_TIMEOUT_CHECK 1500

/* Set from a signal handler: a call blocked on the agent returns HS_CLIENT_EINTR. */
extern volatile sig_atomic_t hcli_interrupted;
/* A handle on the agent at --socket with --timeout (else dflt_ms; commits: 30 s) and the
 * interrupt flag; NULL (message printed) when out of memory. */
hs_client *hcli_open(int dflt_ms);
/* Prints why call rc failed and returns the exit code of the contract: 2 when the agent
 * cannot be reached or the arguments are refused, 130 when interrupted, else 1. */
int hcli_fail(const hs_client *c, int rc);

/* ---- output.c: how every answer is shown ----------------------------------------------- */

/* Each view prints c's last answer verbatim with --json, else its text rendering. */
void hcli_show_members(const hs_client *c, const hs_client_member_list *l);
void hcli_show_self(const hs_client *c, const hs_client_self_info *s);
void hcli_show_health(const hs_client *c, const hs_client_health_info *h);
void hcli_show_raft(const hs_client *c, const hs_client_raft_info *r);
void hcli_show_config(const hs_client *c, const hs_client_config_entry *e);
/* "A SEP B: committed, configuration version N" (config set, seed changes). */
void hcli_show_committed(const hs_client *c, const char *a, const char *sep, const char *b,
                         uint64_t version);
void hcli_show_tags(const hs_client *c, const hs_client_tag_list *t);
void hcli_show_keys(const hs_client *c, const hs_client_keys_info *k);
void hcli_show_key_change(const hs_client *c, const hs_client_key_change *k);
/* The operator's controls: a removal or readmission, the fd settings, a member's history. */
void hcli_show_removal(const hs_client *c, const hs_client_removal *r);
void hcli_show_fd(const hs_client *c, const hs_client_fd_info *f);
void hcli_show_history(const hs_client *c, const hs_client_history *h);
/* A reachability test: a table (name, address, result, rtt) and a summary line. */
void hcli_show_reachability(const hs_client *c, const hs_client_reach_info *r);
/* One event line as received (--json) or as a human line. */
void hcli_show_event(const hs_client_event *ev);
/* A fired user event: its id, and with a wait how many members delivered it. */
void hcli_show_user_event(const hs_client *c, const char *name,
                          const hs_client_user_event_result *r);
/* One acknowledgement or answer of a query, as hearsay query keeps them. */
typedef struct hcli_answer {
    char *from, *payload; /* payload: len bytes, NUL-terminated */
    size_t len;
    uint64_t ms;
    bool response;
} hcli_answer;
/* An answer as it arrives: "NAME: line" per line of it. */
void hcli_show_answer(const hcli_answer *a);
/* The end of a query: with --json one object of every acknowledgement and answer; else a
 * summary on standard error. */
void hcli_show_query(const hcli_answer *a, size_t n, const hs_client_query_result *r);
/* Names separated by spaces, for messages on f. */
void hcli_put_names(FILE *f, const char *const *names, size_t n);

#endif
