/* options.h: the daemon's settings (hsd_options) and the table of options that fills them, one
 * row per option for the INI file (-c FILE) and the command line (which overrides the file). */
#ifndef HSD_OPTIONS_H
#define HSD_OPTIONS_H

#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/envelope.h"
#include "hearsay/membership.h"
#include "hostport.h"

#define HSD_SEEDS_MAX         16
#define HSD_JOINS_MAX         32
#define HSD_PATH_MAX          256
#define HSD_SOCKET_MAX        107 /* sun_path minus the NUL */
#define HSD_DEFAULT_SOCKET    "/run/hearsay/api.sock"
#define HSD_DEFAULT_DATA      "/var/lib/hearsay"
#define HSD_DEFAULT_PORT      7946
#define HSD_DEFAULT_API_CONNS 256 /* --max-api-connections */
#define HSD_MAX_API_CONNS     65536

/* handlers.c: member-join, member-failed, member-leave, member-update, config-change,
 * user-event; and named ones: user-event:NAME, query:NAME */
#define HSD_HANDLER_EVENTS    6
#define HSD_HANDLER_CMD_MAX   1024
#define HSD_NAMED_HANDLERS    32
#define HSD_NAMED_KEY_MAX     (12 + 128) /* "user-event:" or "query:" and a user-event name */
#define HSD_DEFAULT_UE_BUDGET 262144     /* --user-event-budget, bytes per second */

typedef struct hsd_named_handler {
    char key[HSD_NAMED_KEY_MAX + 1]; /* "user-event:NAME" or "query:NAME" */
    char cmd[HSD_HANDLER_CMD_MAX];
} hsd_named_handler;

typedef struct hsd_seed {
    char name[HS_NAME_MAX + 1];
    hs_addr addr;                /* a name: family 0 until the engine resolves it at start */
    char host[HSD_HOST_MAX + 1]; /* the DNS name given, or "" */
} hsd_seed;

typedef struct hsd_options {
    char name[HS_NAME_MAX + 1];
    char cluster[HS_ENV_CLUSTER_MAX + 1];
    hs_addr bind;
    bool have_bind;
    hs_addr advertise;
    bool have_advertise;
    char socket_path[HSD_SOCKET_MAX + 1];
    char data_dir[HSD_PATH_MAX];
    hsd_seed seeds[HSD_SEEDS_MAX];
    size_t seed_count;
    hsd_target joins[HSD_JOINS_MAX]; /* addresses or DNS names (resolved by targets.c) */
    size_t join_count;
    char key_file[HSD_PATH_MAX];
    bool insecure;
    char config_file[HSD_PATH_MAX];
    char tags[HS_TAGS_MAX]; /* packed "k=v\0" strings (hs_tags form) */
    size_t tags_len;
    char socket_group[64]; /* group owning the API socket ("": the daemon's primary group) */
    char admin_group[64];  /* group allowed to change state via the API ("": none) */
    int log_level;
    uint64_t reap_failed_s, reap_left_s; /* the table's default: 86400 (the core's, 24 h) */
    int profile; /* hs_fd_profile: the failure-detection timings before the cluster's own */
    /* handlers.c: command per event ("": none); the table's defaults: 30 s, 8 */
    char handlers[HSD_HANDLER_EVENTS][HSD_HANDLER_CMD_MAX];
    hsd_named_handler named[HSD_NAMED_HANDLERS]; /* --handler user-event:NAME= / query:NAME= */
    size_t n_named;
    int handler_timeout, max_handlers;
    uint32_t user_event_budget;   /* bytes per second of user-event traffic (the table's default) */
    unsigned max_api_connections; /* open API socket connections at most (default 256) */
    bool dev;
    bool help, version;
    bool raft_reset; /* --raft-reset: repair DATA_DIR/raft and exit (command line only) */
    /* internal: which repeatable lists the command line has started to replace */
    bool cli_seeds, cli_joins;
} hsd_options;

enum {
    HSD_OPT_RELOAD = 1, /* SIGHUP applies a new value (signals.c, handlers.c) */
    HSD_OPT_CLI = 2,    /* command line only, refused in the file */
};

/* One option: its spelling, type (the set function), field, bounds, default and help. */
typedef struct hsd_optdef {
    const char *name; /* --NAME on the command line, NAME (or na_me) in the file */
    char short_flag;  /* -c, -h, -V; 0: none */
    const char *arg;  /* the value's placeholder; NULL: a switch (bare --NAME means true) */
    /* the type: parses v, checks it and sets the field; -1 with a message in err if bad */
    int (*set)(hsd_options *o, const struct hsd_optdef *d, const char *v, char *err, size_t errlen);
    size_t off, size;  /* the field it sets */
    uint64_t min, max; /* numbers: the allowed range */
    const char *def;   /* default value, applied before the file; NULL: none (empty) */
    unsigned flags;    /* HSD_OPT_* */
    const char *help;  /* one line for --help */
} hsd_optdef;

/* Every option, in --help order; *n gets the count. */
const hsd_optdef *hsd_option_rows(size_t *n);
/* The option named key (case and '_' or '-' do not matter), or NULL. */
const hsd_optdef *hsd_option_find(const char *key);

/* Parses argv (and the file named by -c/--config, if any) into o, after the table's defaults.
 * Flags override the file; --seed/--join on the command line replace the file's lists, --tag
 * merges by key. On error writes a message into err and returns -1. Does not check
 * completeness. */
int hsd_options_parse(hsd_options *o, int argc, char **argv, char *err, size_t errlen);
/* Checks that the settings are complete and consistent (after --dev defaults). */
int hsd_options_check(const hsd_options *o, char *err, size_t errlen);
/* Applies one setting by its long flag name (used for both the file and the flags). */
int hsd_options_set(hsd_options *o, const char *key, const char *value, bool from_cli, char *err,
                    size_t errlen);
/* Writes into buf the names (", "-separated) of the options without HSD_OPT_RELOAD whose value
 * differs between running and next, so a reload can say what needs a restart; returns how
 * many. */
size_t hsd_options_restart_needed(const hsd_options *running, const hsd_options *next, char *buf,
                                  size_t len);
/* The command of a named handler ("user-event:NAME", "query:NAME"), or NULL. */
const char *hsd_named_handler_cmd(const hsd_options *o, const char *key);
/* Sets or removes (value NULL) one tag in a packed tag buffer; -1 if it would not fit. */
int hsd_tags_put(char *buf, size_t *len, size_t cap, const char *key, const char *value);
/* The synopsis and one line per table row. */
void hsd_options_usage(FILE *f);

#endif
