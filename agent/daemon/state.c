/* state.c: what the daemon keeps in --data-dir: our last incarnation ("incarnation") and a
 * snapshot of the member list ("members.json", names and addresses), each written atomically
 * (file_io.c) and loaded at start; the data dir itself must not be writable by group/others. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "file_io.h"
#include "log.h"

#define STATE_FILE_MAX (4 * 1024 * 1024)

static int mkdirs(const char *path, mode_t mode)
{
    char tmp[HSD_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp)) return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
    return 0;
}

int hsd_state_prepare(hsd *d)
{
    if (mkdirs(d->opt.data_dir, 0700) != 0) {
        log_err("cannot create data dir %s: %s", d->opt.data_dir, strerror(errno));
        return -1;
    }
    char err[600];
    if (hsd_dir_check(d->opt.data_dir, err, sizeof(err)) != 0) {
        log_err("data dir: %s", err);
        return HSD_EXIT_CONFIG;
    }
    d->lock_fd = hsd_dir_lock(d->opt.data_dir, err, sizeof(err));
    if (d->lock_fd < 0) {
        log_err("data dir: %s", err);
        return -1;
    }
    return 0;
}

void hsd_state_release(hsd *d)
{
    if (d->lock_fd >= 0) close(d->lock_fd);
    d->lock_fd = -1;
}

static int path_of(const hsd *d, const char *file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", d->opt.data_dir, file);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Writes data to data_dir/file atomically and durably (file_io.c). */
static int write_atomic(hsd *d, const char *file, const char *data, size_t len)
{
    char path[HSD_PATH_MAX + 64], err[600];
    if (path_of(d, file, path, sizeof(path)) != 0 ||
        hsd_file_replace(path, data, len, 0600, err, sizeof(err)) != 0) {
        log_warn("cannot save %s in %s: %s", file, d->opt.data_dir, err);
        d->c.state_save_errors++;
        return -1;
    }
    d->c.state_saves++;
    return 0;
}

/* Reads a small file; NULL if absent, or (with a warning) unsafe or too big. */
static char *read_small(hsd *d, const char *file, size_t *len)
{
    char path[HSD_PATH_MAX + 64], err[600];
    if (path_of(d, file, path, sizeof(path)) != 0) return NULL;
    hsd_buf b;
    int rc = hsd_file_read(path, STATE_FILE_MAX, &b, err, sizeof(err));
    if (rc == HSD_FILE_ERROR) log_warn("ignoring %s", err);
    if (rc != HSD_FILE_OK) return NULL;
    *len = b.len;
    return (char *)b.data;
}

uint32_t hsd_state_load_incarnation(hsd *d)
{
    size_t len = 0;
    char *s = read_small(d, "incarnation", &len);
    if (!s) return 0;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    uint32_t inc = 0;
    if (errno == 0 && end != s && v <= UINT32_MAX)
        inc = (uint32_t)v;
    else
        log_warn("ignoring malformed incarnation file in %s", d->opt.data_dir);
    free(s);
    return inc;
}

int hsd_state_save_incarnation(hsd *d, uint32_t inc)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%u\n", inc);
    return write_atomic(d, "incarnation", buf, (size_t)n);
}

size_t hsd_state_load_members(hsd *d, hs_addr *addrs, size_t cap)
{
    size_t len = 0;
    char *s = read_small(d, "members.json", &len);
    if (!s) return 0;
    json_error_t je;
    json_t *root = json_loadb(s, len, 0, &je);
    free(s);
    size_t n = 0;
    json_t *arr = root ? json_object_get(root, "members") : NULL;
    if (!json_is_array(arr)) {
        if (root) json_decref(root);
        log_warn("ignoring malformed members.json in %s", d->opt.data_dir);
        return 0;
    }
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (n >= cap) break;
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *addr = json_string_value(json_object_get(m, "addr"));
        if (!name || !addr || !strcmp(name, d->opt.name)) continue;
        hs_addr a;
        if (hs_addr_parse(&a, addr, 0) != 0 || hs_addr_equal(&a, &d->advertise)) continue;
        addrs[n++] = a;
    }
    json_decref(root);
    return n;
}

int hsd_state_save_members(hsd *d)
{
    json_t *arr = json_array();
    size_t total = hs_node_member_count(d->node);
    for (size_t i = 0; i < total; i++) {
        hs_member_info mi;
        if (!hs_node_member_at(d->node, i, &mi) || mi.is_self) continue;
        if (mi.status == HS_LEFT) continue;
        char b[HS_ADDR_STRLEN];
        json_t *name = json_string(mi.name);
        if (!name) continue;
        json_t *o = json_object();
        json_object_set_new(o, "name", name);
        json_object_set_new(o, "addr", json_string(hs_addr_format(&mi.addr, b, sizeof(b))));
        json_array_append_new(arr, o);
    }
    json_t *root = json_object();
    json_object_set_new(root, "members", arr);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) return -1;
    int rc = write_atomic(d, "members.json", text, strlen(text));
    free(text);
    return rc;
}
