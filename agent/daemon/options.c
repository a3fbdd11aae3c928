/* options.c: the table of hearsayd's options (spelling, type, field, bounds, default, help,
 * reload) and the parsers of the INI file (inih, -c FILE) and the command line that use it. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "file_io.h"
#include "hearsay/fd_settings.h"
#include "hearsay/user_events.h"
#include "log.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define STR_(x)         #x
#define STR(x)          STR_(x)

typedef int set_fn(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen);
static set_fn set_name, set_str, set_addr, set_bool, set_uint, set_level, set_seeds, set_joins,
    set_tags, set_handler, set_event, set_profile;

/* ROW(name, short flag, value placeholder (NULL: a switch), type, field, min, max, default,
 *     flags, help) */
#define ROW(n, sf, arg, type, f, lo, hi, def, fl, help)                                            \
    {                                                                                              \
        n, sf, arg, type, offsetof(hsd_options, f), sizeof(((hsd_options *)0)->f), lo, hi, def,    \
            fl, help                                                                               \
    }
#define TEN_YEARS (10ULL * 365 * 86400)
static const hsd_optdef ROWS[] = {
    ROW("config", 'c', "FILE", set_str, config_file, 0, 0, NULL, HSD_OPT_CLI,
        "INI file; every other option can be set there (name = value), flags override it"),
    ROW("name", 0, "NAME", set_name, name, 0, 0, NULL, 0,
        "this member's name, unique in the cluster (required)"),
    ROW("cluster", 0, "NAME", set_name, cluster, 0, 0, "hearsay", 0,
        "cluster name bound into every packet"),
    ROW("bind", 0, "HOST:PORT", set_addr, bind, 0, 0, NULL, 0,
        "gossip address, UDP and TCP (port " STR(HSD_DEFAULT_PORT) " if left out; required)"),
    ROW("advertise", 0, "HOST:PORT", set_addr, advertise, 0, 0, NULL, 0,
        "address the other members reach us at (required when --bind is a wildcard)"),
    ROW("socket", 0, "PATH", set_str, socket_path, 0, 0, NULL, 0, "API unix socket (required)"),
    ROW("data-dir", 0, "DIR", set_str, data_dir, 0, 0, NULL, 0,
        "directory of durable state (required)"),
    ROW("seed", 0, "NAME=HOST:PORT", set_seeds, seeds, 0, 0, NULL, 0,
        "a seed node (the Raft group); HOST an address or a DNS name (resolved at start); "
        "repeatable, at most " STR(HSD_SEEDS_MAX)),
    ROW("join", 0, "HOST:PORT", set_joins, joins, 0, 0, NULL, 0,
        "a member to contact at start; HOST an address or a DNS name, looked up again while "
        "its member does not answer; repeatable, at most " STR(HSD_JOINS_MAX)),
    ROW("key-file", 0, "FILE", set_str, key_file, 0, 0, NULL, 0,
        "cluster key ring, one base64 key per line (required unless --insecure)"),
    ROW("insecure", 0, NULL, set_bool, insecure, 0, 0, "false", 0,
        "gossip in plaintext, for tests only"),
    ROW("tag", 0, "KEY=VALUE", set_tags, tags, 0, 0, NULL, HSD_OPT_RELOAD,
        "a tag of this member; repeatable, " STR(HS_TAGS_MAX) " bytes in all"),
    ROW("log-level", 0, "LEVEL", set_level, log_level, 0, 0, "info", HSD_OPT_RELOAD,
        "error, warn, notice, info or debug"),
    ROW("socket-group", 0, "GROUP", set_str, socket_group, 0, 0, NULL, 0,
        "group owning the API socket (default: the daemon's)"),
    ROW("admin-group", 0, "GROUP", set_str, admin_group, 0, 0, NULL, 0,
        "group that may change state through the API (default: none, only uid 0 and the "
        "daemon's uid)"),
    ROW("max-api-connections", 0, "N", set_uint, max_api_connections, 1, HSD_MAX_API_CONNS,
        STR(HSD_DEFAULT_API_CONNS), 0,
        "API socket connections open at once (a quarter kept for uid 0, the daemon's uid and "
        "--admin-group)"),
    ROW("reap-failed", 0, "SECONDS", set_uint, reap_failed_s, 1, TEN_YEARS, "86400", 0,
        "forget a failed member after SECONDS"),
    ROW("reap-left", 0, "SECONDS", set_uint, reap_left_s, 1, TEN_YEARS, "86400", 0,
        "forget a member that left after SECONDS"),
    ROW("profile", 0, "PROFILE", set_profile, profile, 0, 0, "lan", 0,
        "failure-detection timings: lan, wan or local; the cluster configuration's fd "
        "settings (hearsay config fd) apply over them"),
    ROW("handler", 0, "EVENT=CMD", set_handler, handlers, 0, 0, NULL, HSD_OPT_RELOAD,
        "run `sh -c CMD` on EVENT (one of the six below, user-event:NAME or query:NAME, whose "
        "output is the answer); repeatable"),
    /* the events in handlers.c's order (HSD_HANDLER_EVENTS) */
    ROW("member-join", 0, "CMD", set_event, handlers[0], 0, 0, NULL, HSD_OPT_RELOAD,
        "the same as --handler member-join=CMD"),
    ROW("member-failed", 0, "CMD", set_event, handlers[1], 0, 0, NULL, HSD_OPT_RELOAD,
        "the same as --handler member-failed=CMD"),
    ROW("member-leave", 0, "CMD", set_event, handlers[2], 0, 0, NULL, HSD_OPT_RELOAD,
        "the same as --handler member-leave=CMD"),
    ROW("member-update", 0, "CMD", set_event, handlers[3], 0, 0, NULL, HSD_OPT_RELOAD,
        "the same as --handler member-update=CMD"),
    ROW("config-change", 0, "CMD", set_event, handlers[4], 0, 0, NULL, HSD_OPT_RELOAD,
        "the same as --handler config-change=CMD"),
    ROW("user-event", 0, "CMD", set_event, handlers[5], 0, 0, NULL, HSD_OPT_RELOAD,
        "the same as --handler user-event=CMD (every user event; the payload on stdin)"),
    ROW("handler-timeout", 0, "SECONDS", set_uint, handler_timeout, 1, 86400, "30", HSD_OPT_RELOAD,
        "kill a handler after SECONDS"),
    ROW("max-handlers", 0, "N", set_uint, max_handlers, 1, 1024, "8", HSD_OPT_RELOAD,
        "handlers running at once (256 more events wait)"),
    ROW("user-event-budget", 0, "BYTES", set_uint, user_event_budget, 1024, 1073741824,
        STR(HSD_DEFAULT_UE_BUDGET), 0,
        "bytes per second this agent sends for user events and queries at most (pushes, "
        "repairs, answers); the rest waits, so they cannot crowd out failure detection"),
    ROW("dev", 0, NULL, set_bool, dev, 0, 0, "false", 0,
        "one-node development agent: insecure, data dir and socket under /tmp"),
    ROW("raft-reset", 0, NULL, set_bool, raft_reset, 0, 0, NULL, HSD_OPT_CLI,
        "repair a seed whose Raft data is damaged: move DATA_DIR/raft aside, mark the seed "
        "recovering, exit; started again it catches up from the other seeds"),
    ROW("help", 'h', NULL, set_bool, help, 0, 0, NULL, HSD_OPT_CLI, "print this help and exit"),
    ROW("version", 'V', NULL, set_bool, version, 0, 0, NULL, HSD_OPT_CLI,
        "print the version and exit"),
};
#define NROWS (sizeof(ROWS) / sizeof(ROWS[0]))

const hsd_optdef *hsd_option_rows(size_t *n)
{
    *n = NROWS;
    return ROWS;
}

const hsd_optdef *hsd_option_find(const char *key)
{
    char k[32];
    size_t n = strlen(key);
    if (n >= sizeof(k)) return NULL;
    for (size_t i = 0; i <= n; i++)
        k[i] = key[i] == '_' ? '-' : (char)tolower((unsigned char)key[i]);
    for (size_t i = 0; i < NROWS; i++)
        if (!strcmp(ROWS[i].name, k)) return &ROWS[i];
    return NULL;
}

static void *field(hsd_options *o, const hsd_optdef *d)
{
    return (char *)o + d->off;
}

/* n bytes, 1 to max, each a letter, a digit or one of extra (names: "._-"). */
static bool valid_word(const char *s, size_t n, size_t max, const char *extra)
{
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (!s[i] || (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))) return false;
    return true;
}

static bool valid_tag_value(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return strlen(s) <= 256;
}

/* Strings are copied with their whole field zeroed first, so that equal settings are equal
 * bytes (hsd_options_restart_needed compares fields). */
static int copy_str(char *dst, size_t cap, const char *v, bool empty_ok)
{
    size_t n = strlen(v);
    if ((n == 0 && !empty_ok) || n >= cap) return -1;
    memset(dst, 0, cap);
    memcpy(dst, v, n);
    return 0;
}

static int set_str(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    if (copy_str(field(o, d), d->size, v, false) == 0) return 0;
    snprintf(err, errlen, "bad --%s '%.200s': empty or longer than %zu bytes", d->name, v,
             d->size - 1);
    return -1;
}

static int set_name(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    if (valid_word(v, strlen(v), d->size - 1, "._-"))
        return copy_str(field(o, d), d->size, v, false);
    snprintf(err, errlen, "bad --%s '%.200s': 1-%zu characters of A-Z a-z 0-9 . _ -", d->name, v,
             d->size - 1);
    return -1;
}

static int set_addr(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    if (hs_addr_parse(field(o, d), v, HSD_DEFAULT_PORT) == 0) {
        *(d->off == offsetof(hsd_options, bind) ? &o->have_bind : &o->have_advertise) = true;
        return 0;
    }
    snprintf(err, errlen, "bad --%s address '%.200s': expected HOST:PORT", d->name, v);
    return -1;
}

static int set_bool(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    static const char *const words[] = {"", "1", "true", "yes", "on", "0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcasecmp(v, words[i])) {
            *(bool *)field(o, d) = i < 5; /* a bare --switch (or "name =") means true */
            return 0;
        }
    snprintf(err, errlen, "bad --%s '%.200s': expected true or false", d->name, v);
    return -1;
}

static int set_uint(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    char *end = (char *)v;
    unsigned long long n = 0;
    errno = 0;
    if (isdigit((unsigned char)v[0])) n = strtoull(v, &end, 10); /* no sign, no blanks */
    if (end == v || *end || errno || n < d->min || n > d->max) {
        snprintf(err, errlen, "bad --%s '%.200s': expected %s from %llu to %llu", d->name, v,
                 d->arg, (unsigned long long)d->min, (unsigned long long)d->max);
        return -1;
    }
    if (d->size == sizeof(uint64_t)) {
        uint64_t x = n;
        memcpy(field(o, d), &x, sizeof(x));
    } else { /* int or unsigned: every bound fits both */
        _Static_assert(sizeof(int) == sizeof(uint32_t), "int fields are 32 bits");
        uint32_t x = (uint32_t)n;
        memcpy(field(o, d), &x, sizeof(x));
    }
    return 0;
}

static int set_level(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    int l = hsd_log_parse_level(v);
    if (l >= 0) {
        *(int *)field(o, d) = l;
        return 0;
    }
    snprintf(err, errlen, "bad --%s '%.200s': expected %s", d->name, v, d->help);
    return -1;
}

static int set_profile(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    int p = hs_fd_profile_parse(v);
    if (p >= 0) {
        *(int *)field(o, d) = p;
        return 0;
    }
    snprintf(err, errlen, "bad --%s '%.200s': expected lan, wan or local", d->name, v);
    return -1;
}

/* Lists (seed, join, tag) may hold several items separated by any of seps. */
typedef int item_fn(hsd_options *o, char *item, char *err, size_t errlen);

static int each_item(hsd_options *o, const hsd_optdef *d, const char *v, const char *seps,
                     item_fn *fn, char *err, size_t errlen)
{
    char buf[1024];
    if (strlen(v) >= sizeof(buf)) {
        snprintf(err, errlen, "value of --%s longer than %zu bytes", d->name, sizeof(buf) - 1);
        return -1;
    }
    strcpy(buf, v);
    char *save = NULL, *t = strtok_r(buf, seps, &save);
    if (!t) {
        snprintf(err, errlen, "empty value for --%s", d->name);
        return -1;
    }
    for (; t; t = strtok_r(NULL, seps, &save))
        if (fn(o, t, err, errlen) != 0) return -1;
    return 0;
}

static int seed_item(hsd_options *o, char *v, char *err, size_t errlen)
{
    char *eq = strchr(v, '=');
    if (o->seed_count >= HSD_SEEDS_MAX) {
        snprintf(err, errlen, "too many seeds (at most %d)", HSD_SEEDS_MAX);
        return -1;
    }
    hsd_seed *s = &o->seeds[o->seed_count];
    hsd_target t;
    if (eq) *eq = '\0';
    if (!eq || !valid_word(v, strlen(v), HS_NAME_MAX, "._-") ||
        hsd_hostport_parse(&t, eq + 1, HSD_DEFAULT_PORT)) {
        if (eq) *eq = '=';
        snprintf(err, errlen,
                 "bad --seed '%.200s': expected NAME=HOST:PORT (HOST an IPv4 address, [IPv6] "
                 "or a DNS name)",
                 v);
        return -1;
    }
    memset(s, 0, sizeof(*s));
    strcpy(s->name, v);
    s->addr = t.addr;
    memcpy(s->host, t.host, sizeof(s->host));
    o->seed_count++;
    return 0;
}

static int set_seeds(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    return each_item(o, d, v, ", \t", seed_item, err, errlen);
}

static int join_item(hsd_options *o, char *v, char *err, size_t errlen)
{
    if (o->join_count >= HSD_JOINS_MAX) {
        snprintf(err, errlen, "too many --join addresses (at most %d)", HSD_JOINS_MAX);
        return -1;
    }
    if (hsd_hostport_parse(&o->joins[o->join_count], v, HSD_DEFAULT_PORT) == 0) {
        o->join_count++;
        return 0;
    }
    snprintf(err, errlen,
             "bad --join address '%.200s': expected HOST:PORT (HOST an IPv4 address, [IPv6] or a "
             "DNS name)",
             v);
    return -1;
}

static int set_joins(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    return each_item(o, d, v, ", \t", join_item, err, errlen);
}

int hsd_tags_put(char *buf, size_t *len, size_t cap, const char *key, const char *value)
{
    size_t klen = strlen(key);
    /* remove any existing entry for key */
    size_t pos = 0;
    while (pos < *len) {
        size_t n = strnlen(buf + pos, *len - pos);
        if (n > klen && memcmp(buf + pos, key, klen) == 0 && buf[pos + klen] == '=') {
            size_t end = pos + n + 1 > *len ? *len : pos + n + 1, cut = end - pos;
            memmove(buf + pos, buf + end, *len - end);
            *len -= cut;
            memset(buf + *len, 0, cut); /* equal tags, equal bytes */
            continue;
        }
        pos += n + 1;
    }
    if (!value) return 0;
    size_t vlen = strlen(value);
    if (*len + klen + 1 + vlen + 1 > cap) return -1;
    memcpy(buf + *len, key, klen);
    buf[*len + klen] = '=';
    memcpy(buf + *len + klen + 1, value, vlen);
    buf[*len + klen + 1 + vlen] = '\0';
    *len += klen + vlen + 2;
    return 0;
}

static int tag_item(hsd_options *o, char *v, char *err, size_t errlen)
{
    char *eq = strchr(v, '=');
    if (!eq || !valid_word(v, (size_t)(eq - v), 128, "._-/:") || !valid_tag_value(eq + 1)) {
        snprintf(err, errlen, "bad --tag '%.200s': expected KEY=VALUE", v);
        return -1;
    }
    *eq = '\0';
    if (hsd_tags_put(o->tags, &o->tags_len, sizeof(o->tags), v, eq + 1) == 0) return 0;
    snprintf(err, errlen, "tags too large (at most %zu bytes)", sizeof(o->tags));
    return -1;
}

/* Tag values may contain spaces: only commas separate tags. */
static int set_tags(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    return each_item(o, d, v, ",", tag_item, err, errlen);
}

/* One event's handler command; empty: none. */
static int set_event(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    if (copy_str(field(o, d), d->size, v, true) == 0) return 0;
    snprintf(err, errlen, "handler command for %s longer than %zu bytes", d->name, d->size - 1);
    return -1;
}

const char *hsd_named_handler_cmd(const hsd_options *o, const char *key)
{
    for (size_t i = 0; i < o->n_named; i++)
        if (!strcmp(o->named[i].key, key)) return o->named[i].cmd;
    return NULL;
}

/* user-event:NAME=CMD or query:NAME=CMD (eq: the '='); an empty CMD removes it. 1: not a named
 * handler, 0: set, -1: bad (err). */
static int set_named(hsd_options *o, const char *v, const char *eq, char *err, size_t errlen)
{
    size_t plen = !strncmp(v, "user-event:", 11) ? 11 : !strncmp(v, "query:", 6) ? 6 : 0;
    if (!plen) return 1;
    char key[HSD_NAMED_KEY_MAX + 1];
    size_t klen = (size_t)(eq - v);
    bool ok = klen < sizeof(key) && klen > plen;
    if (ok) {
        memcpy(key, v, klen);
        key[klen] = '\0';
        ok = hs_ue_name_valid(key + plen);
    }
    if (!ok) {
        snprintf(err, errlen,
                 "bad handler event '%.*s': the name after '%.*s' must be 1-128 of "
                 "A-Z a-z 0-9 . _ - :",
                 (int)(klen > 64 ? 64 : klen), v, (int)plen, v);
        return -1;
    }
    size_t i = 0;
    while (i < o->n_named && strcmp(o->named[i].key, key)) i++;
    if (!eq[1]) { /* removes it */
        if (i < o->n_named) {
            memmove(&o->named[i], &o->named[i + 1], (o->n_named - i - 1) * sizeof(o->named[0]));
            memset(&o->named[--o->n_named], 0, sizeof(o->named[0]));
        }
        return 0;
    }
    if (i == HSD_NAMED_HANDLERS) {
        snprintf(err, errlen, "too many user-event and query handlers (at most %d)",
                 HSD_NAMED_HANDLERS);
        return -1;
    }
    if (copy_str(o->named[i].cmd, sizeof(o->named[i].cmd), eq + 1, false) != 0) {
        snprintf(err, errlen, "handler command for %s longer than %zu bytes", key,
                 sizeof(o->named[i].cmd) - 1);
        return -1;
    }
    copy_str(o->named[i].key, sizeof(o->named[i].key), key, false);
    if (i == o->n_named) o->n_named++;
    return 0;
}

static int set_handler(hsd_options *o, const hsd_optdef *d, const char *v, char *err, size_t errlen)
{
    (void)d;
    const char *eq = strchr(v, '=');
    if (!eq) {
        snprintf(err, errlen, "bad --handler '%.64s': expected EVENT=COMMAND", v);
        return -1;
    }
    int named = set_named(o, v, eq, err, errlen);
    if (named <= 0) return named;
    char events[160] = "";
    for (size_t i = 0; i < NROWS; i++) {
        if (ROWS[i].set != set_event) continue;
        if (strlen(ROWS[i].name) == (size_t)(eq - v) && !strncmp(ROWS[i].name, v, eq - v))
            return set_event(o, &ROWS[i], eq + 1, err, errlen);
        snprintf(events + strlen(events), sizeof(events) - strlen(events), "%s%s",
                 events[0] ? ", " : "", ROWS[i].name);
    }
    snprintf(err, errlen, "bad handler event '%.*s': %s, user-event:NAME, query:NAME",
             (int)(eq - v > 32 ? 32 : eq - v), v, events);
    return -1;
}

/* The first --seed or --join on the command line replaces the file's list. */
static void cli_replaces(hsd_options *o, const hsd_optdef *d)
{
    bool seeds = d->set == set_seeds;
    bool *started = seeds ? &o->cli_seeds : &o->cli_joins;
    if ((!seeds && d->set != set_joins) || *started) return;
    *started = true;
    memset(field(o, d), 0, d->size);
    *(seeds ? &o->seed_count : &o->join_count) = 0;
}

int hsd_options_set(hsd_options *o, const char *key, const char *value, bool from_cli, char *err,
                    size_t errlen)
{
    const hsd_optdef *d = hsd_option_find(key);
    if (!d) {
        snprintf(err, errlen, "unknown option '%.64s'", key);
        return -1;
    }
    if (from_cli) cli_replaces(o, d);
    return d->set(o, d, value ? value : "", err, errlen);
}

struct ini_ctx {
    hsd_options *o;
    char *err;
    size_t errlen;
    bool failed;
};

/* inih splits a line at its first ':' or '=', so "user-event:deploy = CMD" arrives as
 * user-event = "deploy = CMD" (and "query:NAME = CMD" as query): true for a user-event value
 * that starts NAME=, which is refused rather than run for every user event. */
static bool colon_key(const char *name, const char *value)
{
    if (!strcmp(name, "query")) return true;
    if (strcmp(name, "user-event") || !value) return false;
    size_t n = strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:");
    while (value[n] == ' ' || value[n] == '\t') n++;
    return n > 0 && value[n] == '=';
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    if (c->failed) return 0;
    const hsd_optdef *d = hsd_option_find(name);
    c->failed = true;
    if (section && *section && strcasecmp(section, "hearsay") && strcasecmp(section, "agent"))
        snprintf(c->err, c->errlen, "unknown section [%.64s]", section);
    else if (colon_key(name, value))
        snprintf(c->err, c->errlen,
                 "'%s = %.64s': a handler of one name is written handler = %s:NAME=CMD (the "
                 "file's parser splits at ':'); a command that starts VAR=VALUE: env VAR=VALUE CMD",
                 name, value ? value : "", name);
    else if (!d)
        snprintf(c->err, c->errlen, "unknown option '%.64s'", name);
    else if (d->flags & HSD_OPT_CLI)
        snprintf(c->err, c->errlen, "'%s' cannot be set inside the config file", d->name);
    else
        c->failed = d->set(c->o, d, value ? value : "", c->err, c->errlen) != 0;
    return !c->failed;
}

static int load_file(hsd_options *o, const char *path, char *err, size_t errlen)
{
    int fd;
    struct stat st;
    char why[600];
    int rc0 = hsd_file_open(path, CONFIG_FILE_MAX, &fd, &st, why, sizeof(why));
    if (rc0 == HSD_FILE_ABSENT) snprintf(why, sizeof(why), "%s: %s", path, strerror(ENOENT));
    FILE *f = rc0 == HSD_FILE_OK ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (rc0 == HSD_FILE_OK) close(fd);
        snprintf(err, errlen, "config file: %s", why);
        return -1;
    }
    char inner[300] = "";
    struct ini_ctx c = {o, inner, sizeof(inner), false};
    int rc = ini_parse_file(f, on_ini_entry, &c);
    fclose(f);
    if (c.failed) {
        snprintf(err, errlen, "config file %s: %s", path, inner);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "config file %s: syntax error on line %d", path, rc);
        return -1;
    }
    return 0;
}

/* The option argv[*i] names and its value (after '=' or the next argument; NULL for a bare
 * switch); advances *i past what it used. NULL with a message in err if there is none. */
static const hsd_optdef *next_flag(int argc, char **argv, int *i, const char **val, char *err,
                                   size_t errlen)
{
    const char *a = argv[*i];
    const hsd_optdef *d = NULL;
    *val = NULL;
    if (a[0] == '-' && a[1] && a[1] != '-' && !a[2]) {
        for (size_t r = 0; r < NROWS && !d; r++)
            if (ROWS[r].short_flag == a[1]) d = &ROWS[r];
    } else if (a[0] == '-' && a[1] == '-' && a[2]) {
        char key[32];
        const char *eq = strchr(a, '=');
        size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (kl < sizeof(key)) {
            memcpy(key, a + 2, kl);
            key[kl] = '\0';
            d = hsd_option_find(key);
        }
        if (eq) *val = eq + 1;
    } else {
        snprintf(err, errlen, "unexpected argument '%.200s' (see --help)", a);
        return NULL;
    }
    if (!d) {
        snprintf(err, errlen, "unknown option '%.200s' (see --help)", a);
    } else if (!*val && d->arg) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "%.64s needs a value (%s)", a, d->arg);
            return NULL;
        }
        *val = argv[++*i];
    }
    return d;
}

int hsd_options_parse(hsd_options *o, int argc, char **argv, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    for (size_t r = 0; r < NROWS; r++)
        if (ROWS[r].def && ROWS[r].set(o, &ROWS[r], ROWS[r].def, err, errlen) != 0) return -1;
    /* first -c/--config (and every flag's syntax), then the file, then the other flags */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 1; i < argc; i++) {
            const char *val;
            const hsd_optdef *d = next_flag(argc, argv, &i, &val, err, errlen);
            if (!d) return -1;
            if ((d->off == offsetof(hsd_options, config_file)) != (pass == 0)) continue;
            cli_replaces(o, d);
            if (d->set(o, d, val ? val : "", err, errlen) != 0) return -1;
        }
        if (pass == 0 && o->config_file[0] && load_file(o, o->config_file, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int hsd_options_check(const hsd_options *o, char *err, size_t errlen)
{
    const struct {
        bool bad;
        const char *msg;
    } rules[] = {
        {!o->name[0], "--name is required"},
        {!o->have_bind, "--bind HOST:PORT is required"},
        {!o->socket_path[0], "--socket PATH is required"},
        {!o->data_dir[0], "--data-dir DIR is required"},
        {o->insecure && o->key_file[0], "--key-file and --insecure exclude each other"},
        {!o->insecure && !o->key_file[0],
         "--key-file FILE is required (or --insecure for plaintext gossip)"},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].bad) {
            snprintf(err, errlen, "%s", rules[i].msg);
            return -1;
        }
    return 0;
}

size_t hsd_options_restart_needed(const hsd_options *running, const hsd_options *next, char *buf,
                                  size_t len)
{
    size_t n = 0, used = 0;
    if (len) buf[0] = '\0';
    for (size_t r = 0; r < NROWS; r++) {
        const hsd_optdef *d = &ROWS[r];
        if ((d->flags & (HSD_OPT_RELOAD | HSD_OPT_CLI)) ||
            !memcmp((const char *)running + d->off, (const char *)next + d->off, d->size))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", n ? ", " : "", d->name);
        if (w > 0 && (size_t)w < len - used)
            used += (size_t)w;
        else if (len)
            buf[used] = '\0'; /* whole names only */
        n++;
    }
    return n;
}

/* "  --name ARG" and the help text wrapped at 79 columns, indented by 24. */
static void usage_row(FILE *f, const hsd_optdef *d)
{
    char text[512], sf[8] = "";
    if (d->short_flag) snprintf(sf, sizeof(sf), "-%c, ", d->short_flag);
    int col = fprintf(f, "  %s--%s%s%s", sf, d->name, d->arg ? " " : "", d->arg ? d->arg : "");
    snprintf(text, sizeof(text), "%s%s%s%s", d->help, d->def && d->arg ? "; default " : "",
             d->def && d->arg ? d->def : "", d->flags & HSD_OPT_RELOAD ? "; reread on SIGHUP" : "");
    if (col > 23) {
        fputc('\n', f);
        col = 0;
    }
    col += fprintf(f, "%*s", 24 - col, "");
    for (const char *p = text; *p;) {
        int w = (int)strcspn(p, " ");
        if (col > 24 && col + 1 + w > 79)
            col = fprintf(f, "\n%24s", "") - 1;
        else if (col > 24)
            col += fprintf(f, " ");
        col += fprintf(f, "%.*s", w, p);
        p += w + strspn(p + w, " ");
    }
    fputc('\n', f);
}

void hsd_options_usage(FILE *f)
{
    fprintf(f, "usage: hearsayd --name NAME --bind HOST:PORT [--advertise HOST:PORT]\n"
               "                --socket PATH --data-dir DIR [--seed NAME=HOST:PORT]...\n"
               "                [--join HOST:PORT]... [--key-file FILE | --insecure] [-c FILE]\n"
               "                [--cluster NAME] [--tag K=V]... [--log-level LEVEL] [--dev]\n"
               "\n");
    for (size_t r = 0; r < NROWS; r++) usage_row(f, &ROWS[r]);
}
