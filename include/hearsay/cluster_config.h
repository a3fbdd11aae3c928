/* cluster_config.h: the cluster configuration, i.e. the state machine the seeds replicate with
 * Raft: cluster name, seed set, key ring, failure-detector settings, removed nodes, free-form
 * settings and a version number bumped by every applied change.
 *
 * Changes are commands encoded as bytes (the data of Raft log entries); every seed applies the
 * same committed commands in the same order and so holds the same configuration. The whole
 * configuration serializes to bytes for Raft snapshots and for shipping to non-seed agents
 * (they compare versions carried by gossip and fetch newer ones). All decoders take hostile
 * input. Everything is bounded: the struct has fixed capacity and never allocates. */
#ifndef HEARSAY_CLUSTER_CONFIG_H
#define HEARSAY_CLUSTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/raft.h"

#define HS_CC_NAME_MAX     64  /* cluster name, seed names, node names, setting keys */
#define HS_CC_VALUE_MAX    255 /* setting values */
#define HS_CC_MAX_SEEDS    HS_RAFT_MAX_PEERS
#define HS_CC_MAX_KEYS     8
#define HS_CC_KEY_BYTES    32
#define HS_CC_MAX_FD       32  /* failure-detector settings */
#define HS_CC_MAX_SETTINGS 128 /* free-form settings */
#define HS_CC_MAX_REMOVED  256 /* removed node names */
/* Upper bound of hs_cc_serialize's output. */
#define HS_CC_SERIALIZED_MAX                                                                       \
    (128 + HS_CC_MAX_SEEDS * (8 + 1 + HS_CC_NAME_MAX + 19) + HS_CC_MAX_KEYS * HS_CC_KEY_BYTES +    \
     (HS_CC_MAX_FD + HS_CC_MAX_SETTINGS) * (2 + HS_CC_NAME_MAX + HS_CC_VALUE_MAX) +                \
     HS_CC_MAX_REMOVED * (1 + HS_CC_NAME_MAX))
#define HS_CC_CMD_MAX 512 /* upper bound of an encoded command */

typedef struct hs_cc_seed {
    uint64_t id; /* the seed's Raft id */
    char name[HS_CC_NAME_MAX + 1];
    hs_addr addr;
} hs_cc_seed;

typedef struct hs_cc_kv {
    char key[HS_CC_NAME_MAX + 1];
    char value[HS_CC_VALUE_MAX + 1];
} hs_cc_kv;

typedef struct hs_cluster_config {
    uint64_t version; /* 0 = empty; +1 per applied change */
    char cluster_name[HS_CC_NAME_MAX + 1];
    uint32_t n_seeds;
    hs_cc_seed seeds[HS_CC_MAX_SEEDS];
    uint32_t n_keys;
    uint32_t primary_key; /* index into keys; meaningful when n_keys > 0 */
    uint8_t keys[HS_CC_MAX_KEYS][HS_CC_KEY_BYTES];
    uint32_t n_fd;
    hs_cc_kv fd[HS_CC_MAX_FD]; /* e.g. probe_interval_ms=1000, vote_group_size=5 */
    uint32_t n_settings;
    hs_cc_kv settings[HS_CC_MAX_SETTINGS];
    uint32_t n_removed;
    char removed[HS_CC_MAX_REMOVED][HS_CC_NAME_MAX + 1];
} hs_cluster_config;

typedef enum hs_cc_op {
    HS_CC_SET_NAME = 1,      /* key = cluster name (allowed once: empty -> name) */
    HS_CC_SET = 2,           /* settings[key] = value */
    HS_CC_DELETE = 3,        /* delete settings[key] */
    HS_CC_SET_FD = 4,        /* fd[key] = value */
    HS_CC_DELETE_FD = 5,     /* delete fd[key] */
    HS_CC_ADD_SEED = 6,      /* seed */
    HS_CC_REMOVE_SEED = 7,   /* seed.name */
    HS_CC_KEY_INSTALL = 8,   /* key_bytes (the first key installed becomes primary) */
    HS_CC_KEY_USE = 9,       /* key_bytes becomes primary (must be installed) */
    HS_CC_KEY_REMOVE = 10,   /* key_bytes (never the primary) */
    HS_CC_REMOVE_NODE = 11,  /* key = node name: refused membership from now on */
    HS_CC_READMIT_NODE = 12, /* key = node name: undo a removal */
} hs_cc_op;

typedef struct hs_cc_cmd {
    uint8_t op; /* hs_cc_op */
    char key[HS_CC_NAME_MAX + 1];
    char value[HS_CC_VALUE_MAX + 1];
    uint8_t key_bytes[HS_CC_KEY_BYTES];
    hs_cc_seed seed;
} hs_cc_cmd;

/* Result codes of hs_cc_apply (a refused command changes nothing, version included). */
enum {
    HS_CC_OK = 0,
    HS_CC_EINVAL = -1, /* malformed command */
    HS_CC_EEXIST = -2, /* already there (seed, key, cluster name) */
    HS_CC_ENOENT = -3, /* not there */
    HS_CC_EFULL = -4,  /* a table is full */
    HS_CC_EPERM = -5,  /* not allowed: removing the primary key or the last seed */
};

void hs_cc_init(hs_cluster_config *c);
int hs_cc_apply(hs_cluster_config *c, const hs_cc_cmd *cmd);
/* Applies a committed Raft membership change to the seed set (seed ids = Raft ids). */
int hs_cc_apply_raft_conf(hs_cluster_config *c, const hs_raft_conf_change *cc);
const char *hs_cc_strerror(int rc);

/* Lookups: NULL / false when absent. */
const char *hs_cc_get(const hs_cluster_config *c, const char *key);
const char *hs_cc_get_fd(const hs_cluster_config *c, const char *key);
const hs_cc_seed *hs_cc_find_seed(const hs_cluster_config *c, const char *name);
bool hs_cc_is_removed(const hs_cluster_config *c, const char *name);

/* Command encoding (Raft entry data): returns length or 0. Decoding: 0 or -1. */
size_t hs_cc_cmd_encode(const hs_cc_cmd *cmd, uint8_t *buf, size_t cap);
int hs_cc_cmd_decode(const uint8_t *buf, size_t len, hs_cc_cmd *out);

/* Whole-configuration encoding (snapshots, shipping to non-seeds). Returns length or 0. */
size_t hs_cc_serialize(const hs_cluster_config *c, uint8_t *buf, size_t cap);
/* 0 on success; -1 on any malformation (out is left initialized-empty then). */
int hs_cc_deserialize(const uint8_t *buf, size_t len, hs_cluster_config *out);

#endif
