/* options.c: parses the command line and the INI config file (inih) into hsd_options.
 * Every value is length-checked and validated; the file is read with inih's line limit. */
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
#include "log.h"

#define CONFIG_FILE_MAX (1024 * 1024)

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen) snprintf(err, errlen, fmt, a, b ? b : "");
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HS_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
    }
    return true;
}

static bool valid_tag_key(const char *s, size_t n)
{
    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':')) return false;
    }
    return true;
}

static bool valid_tag_value(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return strlen(s) <= 256;
}

static int parse_bool(const char *v, bool *out)
{
    if (!v || !*v || !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off")) {
        *out = false;
        return 0;
    }
    return -1;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap) return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

int hsd_tags_put(char *buf, size_t *len, size_t cap, const char *key, const char *value)
{
    size_t klen = strlen(key);
    /* remove any existing entry for key */
    size_t pos = 0;
    while (pos < *len) {
        size_t n = strnlen(buf + pos, *len - pos);
        if (n > klen && memcmp(buf + pos, key, klen) == 0 && buf[pos + klen] == '=') {
            size_t end = pos + n + 1 > *len ? *len : pos + n + 1;
            memmove(buf + pos, buf + end, *len - end);
            *len -= end - pos;
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

static int add_one(hsd_options *o, const char *key, const char *v, char *err, size_t errlen)
{
    if (!strcmp(key, "seed")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || (size_t)(eq - v) > HS_NAME_MAX) {
            set_err(err, errlen, "bad --seed '%s': expected NAME=HOST:PORT%s", v, NULL);
            return -1;
        }
        if (o->seed_count >= HSD_SEEDS_MAX) {
            set_err(err, errlen, "too many seeds (at most 16)%s%s", "", NULL);
            return -1;
        }
        hsd_seed *s = &o->seeds[o->seed_count];
        memcpy(s->name, v, (size_t)(eq - v));
        s->name[eq - v] = '\0';
        if (!valid_name(s->name) || hs_addr_parse(&s->addr, eq + 1, HSD_DEFAULT_PORT) != 0) {
            set_err(err, errlen, "bad --seed '%s': expected NAME=HOST:PORT%s", v, NULL);
            return -1;
        }
        o->seed_count++;
        return 0;
    }
    if (!strcmp(key, "join")) {
        if (o->join_count >= HSD_JOINS_MAX) {
            set_err(err, errlen, "too many --join addresses (at most 32)%s%s", "", NULL);
            return -1;
        }
        if (hs_addr_parse(&o->joins[o->join_count], v, HSD_DEFAULT_PORT) != 0) {
            set_err(err, errlen, "bad --join address '%s': expected HOST:PORT%s", v, NULL);
            return -1;
        }
        o->join_count++;
        return 0;
    }
    /* tag */
    const char *eq = strchr(v, '=');
    if (!eq || !valid_tag_key(v, (size_t)(eq - v)) || !valid_tag_value(eq + 1)) {
        set_err(err, errlen, "bad --tag '%s': expected KEY=VALUE%s", v, NULL);
        return -1;
    }
    char k[129];
    memcpy(k, v, (size_t)(eq - v));
    k[eq - v] = '\0';
    if (hsd_tags_put(o->tags, &o->tags_len, sizeof(o->tags), k, eq + 1) != 0) {
        set_err(err, errlen, "tags too large (at most %s bytes)%s", "512", NULL);
        return -1;
    }
    return 0;
}

/* seed, join and tag may hold several entries separated by commas or spaces. */
static int add_list(hsd_options *o, const char *key, const char *value, char *err, size_t errlen)
{
    char buf[1024];
    if (strlen(value) >= sizeof(buf)) {
        set_err(err, errlen, "value of %s too long%s", key, NULL);
        return -1;
    }
    strcpy(buf, value);
    int any = 0;
    char *save = NULL;
    /* tag values may contain spaces; only split tags on commas */
    const char *seps = strcmp(key, "tag") ? ", \t" : ",";
    for (char *t = strtok_r(buf, seps, &save); t; t = strtok_r(NULL, seps, &save)) {
        if (add_one(o, key, t, err, errlen) != 0) return -1;
        any = 1;
    }
    if (!any) {
        set_err(err, errlen, "empty value for %s%s", key, NULL);
        return -1;
    }
    return 0;
}

int hsd_options_set(hsd_options *o, const char *key_in, const char *value, bool from_cli, char *err,
                    size_t errlen)
{
    char key[32];
    size_t kl = strlen(key_in);
    if (kl == 0 || kl >= sizeof(key)) {
        set_err(err, errlen, "unknown option '%s'%s", key_in, NULL);
        return -1;
    }
    for (size_t i = 0; i <= kl; i++)
        key[i] = key_in[i] == '_' ? '-' : (char)tolower((unsigned char)key_in[i]);
    if (!value) value = "";

    if (!strcmp(key, "name")) {
        if (!valid_name(value)) {
            set_err(err, errlen, "bad --name '%s': 1-64 characters of A-Z a-z 0-9 . _ -%s", value,
                    NULL);
            return -1;
        }
        strcpy(o->name, value);
    } else if (!strcmp(key, "cluster")) {
        if (!valid_name(value)) {
            set_err(err, errlen, "bad --cluster '%s': 1-64 characters of A-Z a-z 0-9 . _ -%s",
                    value, NULL);
            return -1;
        }
        strcpy(o->cluster, value);
    } else if (!strcmp(key, "bind") || !strcmp(key, "advertise")) {
        hs_addr a;
        if (hs_addr_parse(&a, value, HSD_DEFAULT_PORT) != 0) {
            set_err(err, errlen, "bad --%s address '%s': expected HOST:PORT", key, value);
            return -1;
        }
        if (key[0] == 'b') {
            o->bind = a;
            o->have_bind = true;
        } else {
            o->advertise = a;
            o->have_advertise = true;
        }
    } else if (!strcmp(key, "socket")) {
        if (copy_str(o->socket_path, sizeof(o->socket_path), value) != 0) {
            set_err(err, errlen, "bad --socket '%s': empty or longer than 107 bytes%s", value,
                    NULL);
            return -1;
        }
    } else if (!strcmp(key, "data-dir")) {
        if (copy_str(o->data_dir, sizeof(o->data_dir), value) != 0) {
            set_err(err, errlen, "bad --data-dir '%s': empty or too long%s", value, NULL);
            return -1;
        }
    } else if (!strcmp(key, "socket-group") || !strcmp(key, "admin-group")) {
        char *dst = key[0] == 's' ? o->socket_group : o->admin_group;
        if (copy_str(dst, sizeof(o->socket_group), value) != 0) {
            set_err(err, errlen, "bad --%s '%s': empty or longer than 63 bytes", key, value);
            return -1;
        }
    } else if (!strcmp(key, "key-file")) {
        if (copy_str(o->key_file, sizeof(o->key_file), value) != 0) {
            set_err(err, errlen, "bad --key-file '%s': empty or too long%s", value, NULL);
            return -1;
        }
    } else if (!strcmp(key, "insecure") || !strcmp(key, "dev")) {
        bool b;
        if (parse_bool(value, &b) != 0) {
            set_err(err, errlen, "bad value '%s' for %s: expected true or false", value, key);
            return -1;
        }
        if (key[0] == 'i')
            o->insecure = b;
        else
            o->dev = b;
    } else if (!strcmp(key, "log-level")) {
        int l = hsd_log_parse_level(value);
        if (l < 0) {
            set_err(err, errlen, "bad --log-level '%s': expected error, warn, info or debug%s",
                    value, NULL);
            return -1;
        }
        o->log_level = l;
    } else if (!strcmp(key, "seed") || !strcmp(key, "join")) {
        bool *cleared = key[0] == 's' ? &o->cli_seeds : &o->cli_joins;
        if (from_cli && !*cleared) {
            *cleared = true;
            if (key[0] == 's')
                o->seed_count = 0;
            else
                o->join_count = 0;
        }
        return add_list(o, key, value, err, errlen);
    } else if (!strcmp(key, "tag")) {
        return add_list(o, key, value, err, errlen);
    } else if (!strcmp(key, "reap-failed") || !strcmp(key, "reap-left")) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-' || v == 0 || v > 10ULL * 365 * 86400) {
            set_err(err, errlen, "bad --%s '%s': expected seconds (1 to 10 years)", key, value);
            return -1;
        }
        if (key[5] == 'f')
            o->reap_failed_s = v;
        else
            o->reap_left_s = v;
    } else if (!strcmp(key, "max-api-connections")) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-' || v == 0 || v > HSD_MAX_API_CONNS) {
            set_err(err, errlen, "bad --max-api-connections '%s': expected 1 to 65536%s", value,
                    NULL);
            return -1;
        }
        o->max_api_connections = (unsigned)v;
    } else if (hsd_handler_key(key)) {
        return hsd_handler_option(o, key, value, err, errlen);
    } else {
        set_err(err, errlen, "unknown option '%s'%s", key_in, NULL);
        return -1;
    }
    return 0;
}

struct ini_ctx {
    hsd_options *o;
    char *err;
    size_t errlen;
    bool failed;
};

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    if (c->failed) return 0;
    if (section && *section && strcasecmp(section, "hearsay") && strcasecmp(section, "agent")) {
        snprintf(c->err, c->errlen, "unknown section [%.64s]", section);
        c->failed = true;
        return 0;
    }
    if (!strcasecmp(name, "config") || !strcasecmp(name, "c")) {
        snprintf(c->err, c->errlen, "'config' cannot be set inside the config file");
        c->failed = true;
        return 0;
    }
    if (hsd_options_set(c->o, name, value, false, c->err, c->errlen) != 0) {
        c->failed = true;
        return 0;
    }
    return 1;
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
    char inner[200] = "";
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

static bool takes_value(const char *k)
{
    return strcmp(k, "insecure") && strcmp(k, "dev") && strcmp(k, "help") && strcmp(k, "version");
}

int hsd_options_parse(hsd_options *o, int argc, char **argv, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    strcpy(o->cluster, "hearsay");
    o->log_level = HSD_LOG_INFO;

    /* first pass: find -c/--config */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a file name", a);
                return -1;
            }
            if (copy_str(o->config_file, sizeof(o->config_file), argv[i + 1]) != 0) {
                snprintf(err, errlen, "bad config file name");
                return -1;
            }
            i++;
        } else if (!strncmp(a, "--config=", 9)) {
            if (copy_str(o->config_file, sizeof(o->config_file), a + 9) != 0) {
                snprintf(err, errlen, "bad config file name");
                return -1;
            }
        }
    }
    if (o->config_file[0] && load_file(o, o->config_file, err, errlen) != 0) return -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(a, "--config=", 9)) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            o->help = true;
            continue;
        }
        if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            o->version = true;
            continue;
        }
        if (!strcmp(a, "--raft-reset")) {
            o->raft_reset = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            snprintf(err, errlen, "unexpected argument '%.200s' (see --help)", a);
            return -1;
        }
        char key[32];
        const char *val = NULL;
        const char *eq = strchr(a + 2, '=');
        size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (kl >= sizeof(key)) {
            snprintf(err, errlen, "unknown option '%.200s' (see --help)", a);
            return -1;
        }
        memcpy(key, a + 2, kl);
        key[kl] = '\0';
        if (eq) {
            val = eq + 1;
        } else if (takes_value(key)) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value", key);
                return -1;
            }
            val = argv[++i];
        }
        if (hsd_options_set(o, key, val, true, err, errlen) != 0) return -1;
    }
    return 0;
}

int hsd_options_check(const hsd_options *o, char *err, size_t errlen)
{
    if (!o->name[0]) {
        snprintf(err, errlen, "--name is required");
        return -1;
    }
    if (!o->have_bind) {
        snprintf(err, errlen, "--bind HOST:PORT is required");
        return -1;
    }
    if (!o->socket_path[0]) {
        snprintf(err, errlen, "--socket PATH is required");
        return -1;
    }
    if (!o->data_dir[0]) {
        snprintf(err, errlen, "--data-dir DIR is required");
        return -1;
    }
    if (o->insecure && o->key_file[0]) {
        snprintf(err, errlen, "--key-file and --insecure exclude each other");
        return -1;
    }
    if (!o->insecure && !o->key_file[0]) {
        snprintf(err, errlen, "--key-file FILE is required (or --insecure for plaintext gossip)");
        return -1;
    }
    return 0;
}

void hsd_options_usage(FILE *f)
{
    fprintf(f, "usage: hearsayd --name NAME --bind HOST:PORT [--advertise HOST:PORT]\n"
               "                --socket PATH --data-dir DIR [--seed NAME=HOST:PORT]...\n"
               "                [--join HOST:PORT]... [--key-file FILE | --insecure] [-c FILE]\n"
               "                [--cluster NAME] [--tag K=V]... [--log-level LEVEL] [--dev]\n"
               "\n"
               "  -c, --config FILE   INI file; every flag can be set there (name = value),\n"
               "                      flags on the command line override it\n"
               "  --cluster NAME      cluster name bound into every packet (default hearsay)\n"
               "  --log-level LEVEL   error, warn, info (default) or debug\n"
               "  --socket-group G    group owning the API socket (default: the daemon's)\n"
               "  --admin-group G     group allowed to change state through the API (default\n"
               "                      none: only uid 0 and the daemon's uid)\n"
               "  --max-api-connections N\n"
               "                      API socket connections open at once (default 256; a\n"
               "                      quarter kept for root, our uid and --admin-group)\n"
               "  --reap-failed SECS  forget failed members after SECS (default 86400)\n"
               "  --reap-left SECS    forget members that left after SECS (default 86400)\n"
               "  --handler EVENT=CMD run `sh -c CMD` on EVENT (member-join, member-failed,\n"
               "                      member-leave, member-update, config-change); repeatable\n"
               "  --handler-timeout S kill a handler after S seconds (default 30)\n"
               "  --max-handlers N    handlers running at once (default 8; 256 more queue)\n"
               "  --dev               one-node development agent: insecure, temporary data dir\n"
               "                      and socket under /tmp (printed on start)\n"
               "  --raft-reset        repair a seed whose Raft data is damaged: move\n"
               "                      DATA_DIR/raft aside, mark the seed recovering, exit;\n"
               "                      started again it catches up from the other seeds\n");
}
