/* cluster_config.c: the replicated cluster configuration (the Raft state machine): applying
 * commands, command encoding, and (de)serializing the whole configuration for snapshots and for
 * non-seed agents. The client sessions are in cc_session.c. Decoders treat input as hostile
 * (bounded tables, checked lengths, validated invariants). */
#include <string.h>

#include "cc_internal.h"
#include "hearsay/cluster_config.h"
#include "hearsay/codec.h"
#include "hearsay/fd_settings.h"

#define CC_MAGIC          0x48534343u /* "HSCC" */
#define CC_FORMAT         1           /* without sessions */
#define CC_FORMAT_SESSION 2           /* with sessions (snapshots) */
#define CMD_FORMAT        1           /* no session tag */
#define CMD_FORMAT_TAG    2           /* a session tag follows the format byte */

void hs_cc_init(hs_cluster_config *c)
{
    memset(c, 0, sizeof(*c));
}

const char *hs_cc_strerror(int rc)
{
    switch (rc) {
    case HS_CC_OK:
        return "ok";
    case HS_CC_EINVAL:
        return "invalid command";
    case HS_CC_EEXIST:
        return "already exists";
    case HS_CC_ENOENT:
        return "not found";
    case HS_CC_EFULL:
        return "table full";
    case HS_CC_EPERM:
        return "not permitted";
    case HS_CC_ESTALE:
        return "session expired";
    case HS_CC_ECONFLICT:
        return "request number reused";
    }
    return "unknown error";
}

/* ---- key/value tables ---- */

static hs_cc_kv *kv_find(hs_cc_kv *t, uint32_t n, const char *key)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(t[i].key, key) == 0) return &t[i];
    return NULL;
}

static int kv_set(hs_cc_kv *t, uint32_t *n, uint32_t max, const char *key, const char *value)
{
    hs_cc_kv *kv = kv_find(t, *n, key);
    if (!kv) {
        if (*n >= max) return HS_CC_EFULL;
        kv = &t[(*n)++];
        memcpy(kv->key, key, strlen(key) + 1);
    }
    memcpy(kv->value, value, strlen(value) + 1);
    return HS_CC_OK;
}

static int kv_delete(hs_cc_kv *t, uint32_t *n, const char *key)
{
    hs_cc_kv *kv = kv_find(t, *n, key);
    if (!kv) return HS_CC_ENOENT;
    size_t i = (size_t)(kv - t);
    memmove(&t[i], &t[i + 1], (*n - i - 1) * sizeof(*t));
    (*n)--;
    return HS_CC_OK;
}

const char *hs_cc_get(const hs_cluster_config *c, const char *key)
{
    for (uint32_t i = 0; i < c->n_settings; i++)
        if (strcmp(c->settings[i].key, key) == 0) return c->settings[i].value;
    return NULL;
}

const char *hs_cc_get_fd(const hs_cluster_config *c, const char *key)
{
    for (uint32_t i = 0; i < c->n_fd; i++)
        if (strcmp(c->fd[i].key, key) == 0) return c->fd[i].value;
    return NULL;
}

const hs_cc_seed *hs_cc_find_seed(const hs_cluster_config *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_seeds; i++)
        if (strcmp(c->seeds[i].name, name) == 0) return &c->seeds[i];
    return NULL;
}

int hs_cc_removed_flags(const hs_cluster_config *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_removed; i++)
        if (strcmp(c->removed[i], name) == 0) return c->removed_flags[i];
    return -1;
}

bool hs_cc_is_removed(const hs_cluster_config *c, const char *name)
{
    return hs_cc_removed_flags(c, name) >= 0;
}

static int find_key(const hs_cluster_config *c, const uint8_t *k)
{
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (memcmp(c->keys[i], k, HS_CC_KEY_BYTES) == 0) return (int)i;
    return -1;
}

static bool valid_name(const char *s, bool allow_empty)
{
    size_t n = strnlen(s, HS_CC_NAME_MAX + 1);
    return n <= HS_CC_NAME_MAX && (allow_empty || n > 0);
}

static bool valid_value(const char *s)
{
    return strnlen(s, HS_CC_VALUE_MAX + 1) <= HS_CC_VALUE_MAX;
}

/* ---- apply ---- */

static int add_seed(hs_cluster_config *c, const hs_cc_seed *s)
{
    if (!valid_name(s->name, false) || s->id == 0) return HS_CC_EINVAL;
    for (uint32_t i = 0; i < c->n_seeds; i++)
        if (c->seeds[i].id == s->id || strcmp(c->seeds[i].name, s->name) == 0) return HS_CC_EEXIST;
    if (c->n_seeds >= HS_CC_MAX_SEEDS) return HS_CC_EFULL;
    c->seeds[c->n_seeds++] = *s;
    return HS_CC_OK;
}

static int remove_seed_at(hs_cluster_config *c, uint32_t i)
{
    if (c->n_seeds <= 1) return HS_CC_EPERM;
    memmove(&c->seeds[i], &c->seeds[i + 1], (c->n_seeds - i - 1) * sizeof(c->seeds[0]));
    c->n_seeds--;
    return HS_CC_OK;
}

/* A removal: a seed must leave the Raft group first; removing again only adds the prune. */
static int remove_node(hs_cluster_config *c, const char *name, bool prune)
{
    if (!valid_name(name, false)) return HS_CC_EINVAL;
    if (hs_cc_find_seed(c, name)) return HS_CC_EPERM;
    for (uint32_t i = 0; i < c->n_removed; i++) {
        if (strcmp(c->removed[i], name) != 0) continue;
        if (!prune || (c->removed_flags[i] & HS_CC_REMOVED_PRUNE)) return HS_CC_EEXIST;
        c->removed_flags[i] |= HS_CC_REMOVED_PRUNE;
        return HS_CC_OK;
    }
    if (c->n_removed >= HS_CC_MAX_REMOVED) return HS_CC_EFULL;
    c->removed_flags[c->n_removed] = prune ? HS_CC_REMOVED_PRUNE : 0;
    memcpy(c->removed[c->n_removed++], name, strlen(name) + 1);
    return HS_CC_OK;
}

static int apply_cmd(hs_cluster_config *c, const hs_cc_cmd *m)
{
    switch (m->op) {
    case HS_CC_SET_NAME:
        if (!valid_name(m->key, false)) return HS_CC_EINVAL;
        if (c->cluster_name[0]) return HS_CC_EEXIST;
        memcpy(c->cluster_name, m->key, strlen(m->key) + 1);
        return HS_CC_OK;
    case HS_CC_SET:
    case HS_CC_SET_FD:
        if (!valid_name(m->key, false) || !valid_value(m->value)) return HS_CC_EINVAL;
        if (m->op == HS_CC_SET_FD && hs_fd_check(m->key, m->value)) return HS_CC_EINVAL;
        return m->op == HS_CC_SET
                   ? kv_set(c->settings, &c->n_settings, HS_CC_MAX_SETTINGS, m->key, m->value)
                   : kv_set(c->fd, &c->n_fd, HS_CC_MAX_FD, m->key, m->value);
    case HS_CC_DELETE:
        return kv_delete(c->settings, &c->n_settings, m->key);
    case HS_CC_DELETE_FD:
        return kv_delete(c->fd, &c->n_fd, m->key);
    case HS_CC_ADD_SEED:
        return add_seed(c, &m->seed);
    case HS_CC_REMOVE_SEED:
        for (uint32_t i = 0; i < c->n_seeds; i++)
            if (strcmp(c->seeds[i].name, m->seed.name) == 0) return remove_seed_at(c, i);
        return HS_CC_ENOENT;
    case HS_CC_KEY_INSTALL:
        if (find_key(c, m->key_bytes) >= 0) return HS_CC_EEXIST;
        if (c->n_keys >= HS_CC_MAX_KEYS) return HS_CC_EFULL;
        memcpy(c->keys[c->n_keys], m->key_bytes, HS_CC_KEY_BYTES);
        if (c->n_keys == 0) c->primary_key = 0;
        c->n_keys++;
        return HS_CC_OK;
    case HS_CC_KEY_USE: {
        int i = find_key(c, m->key_bytes);
        if (i < 0) return HS_CC_ENOENT;
        if ((uint32_t)i == c->primary_key) return HS_CC_EEXIST;
        c->primary_key = (uint32_t)i;
        return HS_CC_OK;
    }
    case HS_CC_KEY_REMOVE: {
        int i = find_key(c, m->key_bytes);
        if (i < 0) return HS_CC_ENOENT;
        if ((uint32_t)i == c->primary_key) return HS_CC_EPERM;
        memmove(c->keys[i], c->keys[i + 1], (c->n_keys - (uint32_t)i - 1) * HS_CC_KEY_BYTES);
        c->n_keys--;
        if (c->primary_key > (uint32_t)i) c->primary_key--;
        return HS_CC_OK;
    }
    case HS_CC_REMOVE_NODE:
        return remove_node(c, m->key, !strcmp(m->value, HS_CC_PRUNE));
    case HS_CC_READMIT_NODE:
        for (uint32_t i = 0; i < c->n_removed; i++) {
            if (strcmp(c->removed[i], m->key) != 0) continue;
            memmove(c->removed[i], c->removed[i + 1],
                    (c->n_removed - i - 1) * sizeof(c->removed[0]));
            memmove(&c->removed_flags[i], &c->removed_flags[i + 1], c->n_removed - i - 1);
            c->n_removed--;
            c->removed_flags[c->n_removed] = 0;
            return HS_CC_OK;
        }
        return HS_CC_ENOENT;
    }
    return HS_CC_EINVAL;
}

int hs_cc__apply_cmd(hs_cluster_config *c, const hs_cc_cmd *cmd)
{
    int rc = apply_cmd(c, cmd);
    if (rc == HS_CC_OK) c->version++;
    return rc;
}

int hs_cc__apply_conf(hs_cluster_config *c, const hs_raft_conf_change *cc)
{
    int rc;
    if (cc->op == HS_RAFT_ADD_SEED) {
        hs_cc_seed s = {.id = cc->peer.id, .addr = cc->peer.addr};
        memcpy(s.name, cc->peer.name, sizeof(s.name));
        s.name[HS_CC_NAME_MAX] = 0;
        rc = add_seed(c, &s);
    } else if (cc->op == HS_RAFT_REMOVE_SEED) {
        rc = HS_CC_ENOENT;
        for (uint32_t i = 0; i < c->n_seeds; i++)
            if (c->seeds[i].id == cc->peer.id) {
                rc = remove_seed_at(c, i);
                break;
            }
    } else {
        rc = HS_CC_EINVAL;
    }
    if (rc == HS_CC_OK) c->version++;
    return rc;
}

/* ---- encoding helpers ---- */

static void put_name(hs_writer *w, const char *s)
{
    hs_put_str8(w, s, strnlen(s, HS_CC_VALUE_MAX + 1));
}

static void put_seed(hs_writer *w, const hs_cc_seed *s)
{
    hs_put_u64(w, s->id);
    put_name(w, s->name);
    hs_put_u8(w, s->addr.family);
    hs_put_bytes(w, s->addr.ip, 16);
    hs_put_u16(w, s->addr.port);
}

static void get_seed(hs_reader *r, hs_cc_seed *s)
{
    memset(s, 0, sizeof(*s));
    s->id = hs_get_u64(r);
    hs_get_str8(r, s->name, sizeof(s->name), true);
    s->addr.family = hs_get_u8(r);
    const uint8_t *ip = hs_get_bytes(r, 16);
    if (ip) memcpy(s->addr.ip, ip, 16);
    s->addr.port = hs_get_u16(r);
    if (s->id == 0 || (s->addr.family != 0 && s->addr.family != 4 && s->addr.family != 6))
        r->ok = false;
}

static void put_kv(hs_writer *w, const hs_cc_kv *kv)
{
    put_name(w, kv->key);
    put_name(w, kv->value);
}

static void get_kv(hs_reader *r, hs_cc_kv *kv)
{
    hs_get_str8(r, kv->key, sizeof(kv->key), true);
    hs_get_str8(r, kv->value, sizeof(kv->value), false);
}

/* ---- commands ---- */

size_t hs_cc_cmd_encode(const hs_cc_cmd *m, uint8_t *buf, size_t cap)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    if (m->tag.session) {
        if (!hs_cc__tag_valid(&m->tag)) return 0;
        hs_put_u8(&w, CMD_FORMAT_TAG);
        hs_cc__put_tag(&w, &m->tag);
    } else {
        hs_put_u8(&w, CMD_FORMAT);
    }
    hs_put_u8(&w, m->op);
    switch (m->op) {
    case HS_CC_SET_NAME:
    case HS_CC_DELETE:
    case HS_CC_DELETE_FD:
    case HS_CC_READMIT_NODE:
        if (!valid_name(m->key, false)) return 0;
        put_name(&w, m->key);
        break;
    case HS_CC_REMOVE_NODE: /* name, then flags: 1 = prune */
        if (!valid_name(m->key, false) || (m->value[0] && strcmp(m->value, HS_CC_PRUNE))) return 0;
        put_name(&w, m->key);
        hs_put_u8(&w, m->value[0] ? HS_CC_REMOVED_PRUNE : 0);
        break;
    case HS_CC_SET:
    case HS_CC_SET_FD:
        if (!valid_name(m->key, false) || !valid_value(m->value)) return 0;
        put_name(&w, m->key);
        put_name(&w, m->value);
        break;
    case HS_CC_ADD_SEED:
        if (!valid_name(m->seed.name, false)) return 0;
        put_seed(&w, &m->seed);
        break;
    case HS_CC_REMOVE_SEED:
        if (!valid_name(m->seed.name, false)) return 0;
        put_name(&w, m->seed.name);
        break;
    case HS_CC_KEY_INSTALL:
    case HS_CC_KEY_USE:
    case HS_CC_KEY_REMOVE:
        hs_put_bytes(&w, m->key_bytes, HS_CC_KEY_BYTES);
        break;
    default:
        return 0;
    }
    return w.ok ? w.len : 0;
}

int hs_cc_cmd_decode(const uint8_t *buf, size_t len, hs_cc_cmd *out)
{
    memset(out, 0, sizeof(*out));
    hs_reader r;
    hs_reader_init(&r, buf, len);
    uint8_t format = hs_get_u8(&r);
    if (format == CMD_FORMAT_TAG) {
        if (!hs_cc__get_tag(&r, &out->tag)) return -1;
    } else if (format != CMD_FORMAT) {
        return -1;
    }
    out->op = hs_get_u8(&r);
    switch (out->op) {
    case HS_CC_SET_NAME:
    case HS_CC_DELETE:
    case HS_CC_DELETE_FD:
    case HS_CC_READMIT_NODE:
        hs_get_str8(&r, out->key, sizeof(out->key), true);
        break;
    case HS_CC_REMOVE_NODE: {
        hs_get_str8(&r, out->key, sizeof(out->key), true);
        uint8_t flags = hs_get_u8(&r);
        if (flags > HS_CC_REMOVED_PRUNE) return -1;
        if (flags) memcpy(out->value, HS_CC_PRUNE, sizeof(HS_CC_PRUNE));
        break;
    }
    case HS_CC_SET:
    case HS_CC_SET_FD:
        hs_get_str8(&r, out->key, sizeof(out->key), true);
        hs_get_str8(&r, out->value, sizeof(out->value), false);
        break;
    case HS_CC_ADD_SEED:
        get_seed(&r, &out->seed);
        break;
    case HS_CC_REMOVE_SEED:
        hs_get_str8(&r, out->seed.name, sizeof(out->seed.name), true);
        break;
    case HS_CC_KEY_INSTALL:
    case HS_CC_KEY_USE:
    case HS_CC_KEY_REMOVE: {
        const uint8_t *k = hs_get_bytes(&r, HS_CC_KEY_BYTES);
        if (k) memcpy(out->key_bytes, k, HS_CC_KEY_BYTES);
        break;
    }
    default:
        return -1;
    }
    if (!r.ok || hs_reader_left(&r) != 0) return -1;
    return 0;
}

/* ---- whole configuration ---- */

static size_t serialize(const hs_cluster_config *c, uint8_t *buf, size_t cap, bool sessions)
{
    if (c->n_seeds > HS_CC_MAX_SEEDS || c->n_keys > HS_CC_MAX_KEYS || c->n_fd > HS_CC_MAX_FD ||
        c->n_settings > HS_CC_MAX_SETTINGS || c->n_removed > HS_CC_MAX_REMOVED ||
        c->n_sessions > HS_CC_MAX_SESSIONS)
        return 0;
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u32(&w, CC_MAGIC);
    hs_put_u8(&w, sessions ? CC_FORMAT_SESSION : CC_FORMAT);
    hs_put_u64(&w, c->version);
    put_name(&w, c->cluster_name);
    hs_put_u8(&w, (uint8_t)c->n_seeds);
    for (uint32_t i = 0; i < c->n_seeds; i++) put_seed(&w, &c->seeds[i]);
    hs_put_u8(&w, (uint8_t)c->n_keys);
    hs_put_u8(&w, (uint8_t)c->primary_key);
    for (uint32_t i = 0; i < c->n_keys; i++) hs_put_bytes(&w, c->keys[i], HS_CC_KEY_BYTES);
    hs_put_u8(&w, (uint8_t)c->n_fd);
    for (uint32_t i = 0; i < c->n_fd; i++) put_kv(&w, &c->fd[i]);
    hs_put_u16(&w, (uint16_t)c->n_settings);
    for (uint32_t i = 0; i < c->n_settings; i++) put_kv(&w, &c->settings[i]);
    hs_put_u16(&w, (uint16_t)c->n_removed);
    for (uint32_t i = 0; i < c->n_removed; i++) {
        put_name(&w, c->removed[i]);
        hs_put_u8(&w, c->removed_flags[i]);
    }
    if (sessions) hs_cc__put_sessions(&w, c);
    return w.ok ? w.len : 0;
}

size_t hs_cc_serialize(const hs_cluster_config *c, uint8_t *buf, size_t cap)
{
    return serialize(c, buf, cap, false);
}

size_t hs_cc_serialize_snapshot(const hs_cluster_config *c, uint8_t *buf, size_t cap)
{
    return serialize(c, buf, cap, true);
}

static bool kv_unique(const hs_cc_kv *t, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++)
            if (strcmp(t[i].key, t[j].key) == 0) return false;
    return true;
}

static bool validate(const hs_cluster_config *c)
{
    if (c->n_keys > 0 && c->primary_key >= c->n_keys) return false;
    if (c->n_keys == 0 && c->primary_key != 0) return false;
    for (uint32_t i = 0; i < c->n_seeds; i++)
        for (uint32_t j = i + 1; j < c->n_seeds; j++)
            if (c->seeds[i].id == c->seeds[j].id || strcmp(c->seeds[i].name, c->seeds[j].name) == 0)
                return false;
    for (uint32_t i = 0; i < c->n_keys; i++)
        for (uint32_t j = i + 1; j < c->n_keys; j++)
            if (memcmp(c->keys[i], c->keys[j], HS_CC_KEY_BYTES) == 0) return false;
    for (uint32_t i = 0; i < c->n_removed; i++)
        for (uint32_t j = i + 1; j < c->n_removed; j++)
            if (strcmp(c->removed[i], c->removed[j]) == 0) return false;
    return kv_unique(c->fd, c->n_fd) && kv_unique(c->settings, c->n_settings);
}

int hs_cc_deserialize(const uint8_t *buf, size_t len, hs_cluster_config *out)
{
    hs_cc_init(out);
    hs_reader r;
    hs_reader_init(&r, buf, len);
    if (hs_get_u32(&r) != CC_MAGIC) goto fail;
    uint8_t format = hs_get_u8(&r);
    if (format != CC_FORMAT && format != CC_FORMAT_SESSION) goto fail;
    out->version = hs_get_u64(&r);
    hs_get_str8(&r, out->cluster_name, sizeof(out->cluster_name), false);
    out->n_seeds = hs_get_u8(&r);
    if (out->n_seeds > HS_CC_MAX_SEEDS) goto fail;
    for (uint32_t i = 0; i < out->n_seeds && r.ok; i++) get_seed(&r, &out->seeds[i]);
    out->n_keys = hs_get_u8(&r);
    out->primary_key = hs_get_u8(&r);
    if (out->n_keys > HS_CC_MAX_KEYS) goto fail;
    for (uint32_t i = 0; i < out->n_keys && r.ok; i++) {
        const uint8_t *k = hs_get_bytes(&r, HS_CC_KEY_BYTES);
        if (k) memcpy(out->keys[i], k, HS_CC_KEY_BYTES);
    }
    out->n_fd = hs_get_u8(&r);
    if (out->n_fd > HS_CC_MAX_FD) goto fail;
    for (uint32_t i = 0; i < out->n_fd && r.ok; i++) get_kv(&r, &out->fd[i]);
    out->n_settings = hs_get_u16(&r);
    if (out->n_settings > HS_CC_MAX_SETTINGS) goto fail;
    for (uint32_t i = 0; i < out->n_settings && r.ok; i++) get_kv(&r, &out->settings[i]);
    out->n_removed = hs_get_u16(&r);
    if (out->n_removed > HS_CC_MAX_REMOVED) goto fail;
    for (uint32_t i = 0; i < out->n_removed && r.ok; i++) {
        hs_get_str8(&r, out->removed[i], sizeof(out->removed[i]), true);
        out->removed_flags[i] = hs_get_u8(&r);
        if (out->removed_flags[i] > HS_CC_REMOVED_PRUNE) r.ok = false;
    }
    if (format == CC_FORMAT_SESSION && !hs_cc__get_sessions(&r, out)) goto fail;
    if (!r.ok || hs_reader_left(&r) != 0 || !validate(out)) goto fail;
    return 0;
fail:
    hs_cc_init(out);
    return -1;
}
