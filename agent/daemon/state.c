/* state.c: what the daemon keeps in --data-dir (state.h): our last incarnation
 * ("incarnation"), the member list ("members.json", names and addresses), a non-seed's
 * configuration ("config.bin") and the replicated key ring ("keyring"), each written atomically
 * (file_io.c) and loaded at start; the data dir itself must not be writable by group/others. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <sodium.h>

#include "exit_status.h"
#include "file_io.h"
#include "keyfile.h"
#include "log.h"
#include "options.h"
#include "state.h"

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

static int lock_fd = -1;
static hsd_state_stats stats;

const hsd_state_stats *hsd_state_get_stats(void)
{
    return &stats;
}

int hsd_state_prepare(const char *data_dir)
{
    if (mkdirs(data_dir, 0700) != 0) {
        log_err("cannot create data dir %s: %s", data_dir, strerror(errno));
        return HSD_EXIT_ERROR;
    }
    char err[600];
    if (hsd_dir_check(data_dir, err, sizeof(err)) != 0) {
        log_err("data dir: %s", err);
        return HSD_EXIT_CONFIG;
    }
    lock_fd = hsd_dir_lock(data_dir, err, sizeof(err));
    if (lock_fd < 0) {
        log_err("data dir: %s", err);
        return HSD_EXIT_ERROR;
    }
    return 0;
}

void hsd_state_release(void)
{
    if (lock_fd >= 0) close(lock_fd);
    lock_fd = -1;
}

static int path_of(const char *dir, const char *file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Writes data to data_dir/file atomically and durably (file_io.c). */
static int write_atomic(const char *dir, const char *file, const void *data, size_t len)
{
    char path[HSD_PATH_MAX + 64], err[600] = "path too long";
    if (path_of(dir, file, path, sizeof(path)) != 0 ||
        hsd_file_replace(path, data, len, 0600, err, sizeof(err)) != 0) {
        log_warn("cannot save %s in %s: %s", file, dir, err);
        stats.save_errors++;
        return -1;
    }
    stats.saves++;
    return 0;
}

/* Reads a small file; NULL if absent, or (with a warning) unsafe or too big. */
static char *read_small(const char *dir, const char *file, size_t *len)
{
    char path[HSD_PATH_MAX + 64], err[600];
    if (path_of(dir, file, path, sizeof(path)) != 0) return NULL;
    hsd_buf b;
    int rc = hsd_file_read(path, STATE_FILE_MAX, &b, err, sizeof(err));
    if (rc == HSD_FILE_ERROR) log_warn("ignoring %s", err);
    if (rc != HSD_FILE_OK) return NULL;
    *len = b.len;
    return (char *)b.data;
}

uint32_t hsd_state_load_incarnation(const char *data_dir)
{
    size_t len = 0;
    char *s = read_small(data_dir, "incarnation", &len);
    if (!s) return 0;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    uint32_t inc = 0;
    if (errno == 0 && end != s && v <= UINT32_MAX)
        inc = (uint32_t)v;
    else
        log_warn("ignoring malformed incarnation file in %s", data_dir);
    free(s);
    return inc;
}

int hsd_state_save_incarnation(const char *data_dir, uint32_t inc)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%u\n", inc);
    return write_atomic(data_dir, "incarnation", buf, (size_t)n);
}

size_t hsd_state_load_members(const char *data_dir, const char *self, const hs_addr *self_addr,
                              hs_addr *addrs, size_t cap)
{
    size_t len = 0;
    char *s = read_small(data_dir, "members.json", &len);
    if (!s) return 0;
    json_error_t je;
    json_t *root = json_loadb(s, len, 0, &je);
    free(s);
    size_t n = 0;
    json_t *arr = root ? json_object_get(root, "members") : NULL;
    if (!json_is_array(arr)) {
        if (root) json_decref(root);
        log_warn("ignoring malformed members.json in %s", data_dir);
        return 0;
    }
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (n >= cap) break;
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *addr = json_string_value(json_object_get(m, "addr"));
        if (!name || !addr || !strcmp(name, self)) continue;
        hs_addr a;
        if (hs_addr_parse(&a, addr, 0) != 0 || hs_addr_equal(&a, self_addr)) continue;
        addrs[n++] = a;
    }
    json_decref(root);
    return n;
}

int hsd_state_save_members(const char *data_dir, const hs_node *node)
{
    json_t *arr = json_array();
    size_t total = hs_node_member_count(node);
    for (size_t i = 0; i < total; i++) {
        hs_member_info mi;
        if (!hs_node_member_at(node, i, &mi) || mi.is_self) continue;
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
    int rc = write_atomic(data_dir, "members.json", text, strlen(text));
    free(text);
    return rc;
}

int hsd_state_load_config(const char *data_dir, hs_cluster_config *out)
{
    size_t len = 0;
    char *s = read_small(data_dir, "config.bin", &len);
    if (!s) return -1;
    int rc = hs_cc_deserialize((const uint8_t *)s, len, out);
    free(s);
    if (rc != 0) {
        log_warn("ignoring unreadable %s/config.bin", data_dir);
        return -1;
    }
    log_info("loaded cluster configuration version %llu", (unsigned long long)out->version);
    return 0;
}

int hsd_state_save_config(const char *data_dir, const hs_cluster_config *cc)
{
    uint8_t *buf = malloc(HS_CC_SERIALIZED_MAX);
    if (!buf) return -1;
    size_t n = hs_cc_serialize(cc, buf, HS_CC_SERIALIZED_MAX);
    int rc = n ? write_atomic(data_dir, "config.bin", buf, n) : -1;
    sodium_memzero(buf, HS_CC_SERIALIZED_MAX); /* it holds the key ring */
    free(buf);
    return rc;
}

int hsd_state_load_keyring(const char *data_dir, const char *cluster, hs_envelope *env,
                           bool *loaded, char *err, size_t errlen)
{
    *loaded = false;
    char path[HSD_PATH_MAX + 16];
    if (path_of(data_dir, "keyring", path, sizeof(path)) != 0 || access(path, F_OK) != 0) return 0;
    hs_envelope e;
    if (hs_env_init(&e, cluster, false) != 0) return HSD_EXIT_ERROR;
    int rc = hsd_load_key_file(&e, path, err, errlen);
    if (rc != 0) {
        hs_env_clear(&e);
        return rc;
    }
    /* the key file's keys are NOT merged in: one of them may have been removed from the
     * cluster ring since, and a removed key must stay refused */
    hs_env_clear(env);
    memcpy(env, &e, sizeof(e));
    sodium_memzero(&e, sizeof(e));
    *loaded = true;
    return 0;
}

int hsd_state_save_keyring(const char *data_dir, const hs_envelope *env)
{
    char text[HS_ENV_KEYS_MAX * (HS_ENV_KEY_B64_LEN + 1) + 128];
    size_t n = (size_t)snprintf(text, sizeof(text),
                                "# written by hearsayd: the replicated key ring, primary first\n");
    for (size_t i = 0; i < env->key_count; i++) {
        if (hs_env_key_encode(env->keys[i], text + n, sizeof(text) - n) != 0) return -1;
        n += strlen(text + n);
        text[n++] = '\n';
    }
    int rc = write_atomic(data_dir, "keyring", text, n);
    sodium_memzero(text, sizeof(text));
    return rc;
}
