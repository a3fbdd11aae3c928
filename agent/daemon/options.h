/* options.h: the daemon's settings, from the INI file (-c FILE) overridden by flags. */
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

#define HSD_SEEDS_MAX         16
#define HSD_JOINS_MAX         32
#define HSD_PATH_MAX          256
#define HSD_SOCKET_MAX        107 /* sun_path minus the NUL */
#define HSD_DEFAULT_SOCKET    "/run/hearsay/api.sock"
#define HSD_DEFAULT_DATA      "/var/lib/hearsay"
#define HSD_DEFAULT_PORT      7946
#define HSD_DEFAULT_API_CONNS 256 /* --max-api-connections */
#define HSD_MAX_API_CONNS     65536

/* handlers.c: member-join, member-failed, member-leave, member-update, config-change */
#define HSD_HANDLER_EVENTS  5
#define HSD_HANDLER_CMD_MAX 1024

typedef struct hsd_seed {
    char name[HS_NAME_MAX + 1];
    hs_addr addr;
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
    hs_addr joins[HSD_JOINS_MAX];
    size_t join_count;
    char key_file[HSD_PATH_MAX];
    bool insecure;
    char config_file[HSD_PATH_MAX];
    char tags[HS_TAGS_MAX]; /* packed "k=v\0" strings (hs_tags form) */
    size_t tags_len;
    char socket_group[64]; /* group owning the API socket ("": the daemon's primary group) */
    char admin_group[64];  /* group allowed to change state via the API ("": none) */
    int log_level;
    uint64_t reap_failed_s, reap_left_s; /* 0: the core's default (24 h) */
    /* handlers.c: command per event ("": none); 0 below: the defaults (30 s, 8) */
    char handlers[HSD_HANDLER_EVENTS][HSD_HANDLER_CMD_MAX];
    int handler_timeout, max_handlers;
    unsigned max_api_connections; /* open API socket connections at most; 0: the default */
    bool dev;
    bool help, version;
    bool raft_reset; /* --raft-reset: repair DATA_DIR/raft and exit (command line only) */
    /* internal: which repeatable lists the command line has started to replace */
    bool cli_seeds, cli_joins;
} hsd_options;

/* Parses argv (and the file named by -c/--config, if any) into o. Flags override the file;
 * --seed/--join on the command line replace the file's lists, --tag merges by key.
 * On error writes a message into err and returns -1. Does not check completeness. */
int hsd_options_parse(hsd_options *o, int argc, char **argv, char *err, size_t errlen);
/* Checks that the settings are complete and consistent (after --dev defaults). */
int hsd_options_check(const hsd_options *o, char *err, size_t errlen);
/* Applies one setting by its long flag name (used for both the file and the flags). */
int hsd_options_set(hsd_options *o, const char *key, const char *value, bool from_cli, char *err,
                    size_t errlen);
/* Sets or removes (value NULL) one tag in a packed tag buffer; -1 if it would not fit. */
int hsd_tags_put(char *buf, size_t *len, size_t cap, const char *key, const char *value);
void hsd_options_usage(FILE *f);
/* handlers.c: handler, handler-timeout, max-handlers and the event names as keys. */
bool hsd_handler_key(const char *key);
int hsd_handler_option(hsd_options *o, const char *key, const char *value, char *err,
                       size_t errlen);

#endif
