/* cluster_config.h: the cluster configuration, i.e. the state machine the seeds replicate with
 * Raft: cluster name, seed set, key ring, failure-detector settings, removed nodes, free-form
 * settings, a version number bumped by every applied change, and the client sessions that make
 * every change apply at most once (lib/cc_session.c; docs/raft.md "Client sessions").
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

#define HS_CC_NAME_MAX        64  /* cluster name, seed names, node names, setting keys */
#define HS_CC_VALUE_MAX       255 /* setting values */
#define HS_CC_MAX_SEEDS       HS_RAFT_MAX_PEERS
#define HS_CC_MAX_KEYS        8
#define HS_CC_KEY_BYTES       32
#define HS_CC_MAX_FD          32  /* failure-detector settings */
#define HS_CC_MAX_SETTINGS    128 /* free-form settings */
#define HS_CC_MAX_REMOVED     256 /* removed node names */
#define HS_CC_MAX_SESSIONS    256 /* client sessions remembered (least recently used goes) */
#define HS_CC_SESSION_ANSWERS 8   /* answers kept per session: a client's window */
/* Upper bound of hs_cc_serialize's output (the configuration without sessions). */
#define HS_CC_SERIALIZED_MAX                                                                       \
    (128 + HS_CC_MAX_SEEDS * (8 + 1 + HS_CC_NAME_MAX + 19) + HS_CC_MAX_KEYS * HS_CC_KEY_BYTES +    \
     (HS_CC_MAX_FD + HS_CC_MAX_SETTINGS) * (2 + HS_CC_NAME_MAX + HS_CC_VALUE_MAX) +                \
     HS_CC_MAX_REMOVED * (2 + HS_CC_NAME_MAX))
/* Upper bound of hs_cc_serialize_snapshot's output (with the sessions). */
#define HS_CC_SNAPSHOT_MAX                                                                         \
    (HS_CC_SERIALIZED_MAX + 32 + HS_CC_MAX_SESSIONS * (25 + HS_CC_SESSION_ANSWERS * 25))
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

/* A request's place in its client session (all zero: no session). */
typedef struct hs_cc_tag {
    uint64_t session; /* the client's session id, chosen by the client; 0 = none */
    uint64_t born;    /* the session clock the client knew when it began the session */
    uint64_t seq;     /* 1, 2, ... in the session */
    uint64_t floor;   /* the client holds the answer to every seq below (1 <= floor <= seq) */
} hs_cc_tag;

typedef struct hs_cc_answer {
    uint64_t seq;
    uint64_t version; /* configuration version right after the request applied */
    uint64_t fp;      /* fingerprint of the request (hs_cc_cmd_fingerprint) */
    int8_t rc;        /* its hs_cc_apply result */
} hs_cc_answer;

typedef struct hs_cc_session {
    uint64_t id;
    uint64_t last_use; /* sess_clock at its last applied request (unique): the LRU order */
    uint64_t floor;    /* every seq below was answered or forgotten: never applied again */
    uint32_t n;
    hs_cc_answer answers[HS_CC_SESSION_ANSWERS]; /* ascending seq, all >= floor */
} hs_cc_session;

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
    uint8_t removed_flags[HS_CC_MAX_REMOVED]; /* HS_CC_REMOVED_PRUNE */
    /* Client sessions (keep them last: tests compare the configuration up to sess_clock).
     * In Raft snapshots; never shipped to non-seeds (hs_cc_serialize leaves them out). */
    uint64_t sess_clock;   /* +1 per request applied in a session; never goes back */
    uint64_t sess_horizon; /* an unknown session is accepted only if born >= this */
    uint32_t n_sessions;
    hs_cc_session sessions[HS_CC_MAX_SESSIONS]; /* in creation order */
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
    HS_CC_REMOVE_NODE = 11,  /* key = node name (value "prune": forget it too): refused
                                membership from now on; never a seed (EPERM) */
    HS_CC_READMIT_NODE = 12, /* key = node name: undo a removal */
} hs_cc_op;

#define HS_CC_PRUNE         "prune" /* the value of a REMOVE_NODE that also forgets the member */
#define HS_CC_REMOVED_PRUNE 1       /* removed_flags: forgotten, not only shown left */

typedef struct hs_cc_cmd {
    uint8_t op; /* hs_cc_op */
    char key[HS_CC_NAME_MAX + 1];
    char value[HS_CC_VALUE_MAX + 1];
    uint8_t key_bytes[HS_CC_KEY_BYTES];
    hs_cc_seed seed;
    hs_cc_tag tag; /* its client session; all zero: none (bootstrap proposals) */
} hs_cc_cmd;

/* Result codes of hs_cc_apply (a refused command changes nothing, version included, beyond
 * the answer its session records). */
enum {
    HS_CC_OK = 0,
    HS_CC_EINVAL = -1,    /* malformed command */
    HS_CC_EEXIST = -2,    /* already there (seed, key, cluster name) */
    HS_CC_ENOENT = -3,    /* not there */
    HS_CC_EFULL = -4,     /* a table is full */
    HS_CC_EPERM = -5,     /* not allowed: removing the primary key or the last seed */
    HS_CC_ESTALE = -6,    /* session forgotten or request older than its floor: not applied */
    HS_CC_ECONFLICT = -7, /* the session answered this seq for a different request */
};

/* What applying a request did: its result and the version after it; for a duplicate (the
 * session had answered it) the ORIGINAL result and version, and nothing changed now. */
typedef struct hs_cc_outcome {
    int rc;
    uint64_t version;
    bool duplicate;
} hs_cc_outcome;

void hs_cc_init(hs_cluster_config *c);
/* Applies a command (with the session rules when cmd->tag.session is set). */
int hs_cc_apply(hs_cluster_config *c, const hs_cc_cmd *cmd);
/* Applies a committed Raft membership change to the seed set (seed ids = Raft ids), with the
 * session rules when it carries a tag (hs_cc_conf_set_tag). */
int hs_cc_apply_raft_conf(hs_cluster_config *c, const hs_raft_conf_change *cc);
/* Applies one committed Raft entry: NORMAL (a command), CONF (a seed change), NOOP (nothing;
 * rc 0). A malformed entry is HS_CC_EINVAL. Returns out->rc. */
int hs_cc_apply_entry(hs_cluster_config *c, const hs_raft_entry *e, hs_cc_outcome *out);
const char *hs_cc_strerror(int rc);

/* ---- cc_session.c: client sessions (docs/raft.md "Client sessions") ----
 * The rules every seed applies identically, and the leader checks before it proposes:
 * - a known session answers a seq it holds from its answers (same fingerprint; a different
 *   one is ECONFLICT), refuses a seq below its floor (ESTALE), and applies any other;
 * - an unknown session is accepted only if sess_horizon <= born <= sess_clock, else ESTALE;
 * - applying records the answer (at most HS_CC_SESSION_ANSWERS per session: the oldest goes
 *   and the floor passes it), raises the floor to the request's, and sets last_use to the new
 *   sess_clock; a new session in a full table evicts the least recently used one and the
 *   horizon moves past its last_use, so none of its requests can ever apply again. */
/* true: new, apply it. false: answered; out holds the duplicate's original answer, or
 * ESTALE / ECONFLICT (with the current version). t->session must be non-zero. */
bool hs_cc_session_check(const hs_cluster_config *c, const hs_cc_tag *t, uint64_t fp,
                         hs_cc_outcome *out);
/* Fingerprints of a request, without its tag (equal requests, equal fingerprints). */
uint64_t hs_cc_cmd_fingerprint(const hs_cc_cmd *cmd);
uint64_t hs_cc_conf_fingerprint(const hs_raft_conf_change *cc);
/* The tag of a seed change (carried in its opaque tag bytes). get: false if none/malformed. */
void hs_cc_conf_set_tag(hs_raft_conf_change *cc, const hs_cc_tag *t);
bool hs_cc_conf_get_tag(const hs_raft_conf_change *cc, hs_cc_tag *out);
/* The tag of a NORMAL or CONF entry; false if it carries none (or does not decode). */
bool hs_cc_entry_tag(const hs_raft_entry *e, hs_cc_tag *out);
/* A seed's Raft id: a hash of its name (BLAKE2b, first 8 bytes, top bit cleared, never 0). */
uint64_t hs_cc_seed_id(const char *name);

/* Lookups: NULL / false when absent. */
const char *hs_cc_get(const hs_cluster_config *c, const char *key);
const char *hs_cc_get_fd(const hs_cluster_config *c, const char *key);
const hs_cc_seed *hs_cc_find_seed(const hs_cluster_config *c, const char *name);
bool hs_cc_is_removed(const hs_cluster_config *c, const char *name);
/* The removal's flags (HS_CC_REMOVED_PRUNE), or -1 when name is not removed. */
int hs_cc_removed_flags(const hs_cluster_config *c, const char *name);

/* Command encoding (Raft entry data): returns length or 0. Decoding: 0 or -1. */
size_t hs_cc_cmd_encode(const hs_cc_cmd *cmd, uint8_t *buf, size_t cap);
int hs_cc_cmd_decode(const uint8_t *buf, size_t len, hs_cc_cmd *out);

/* Whole-configuration encoding. hs_cc_serialize: without the sessions (format 1, shipped to
 * non-seeds, who get empty sessions); hs_cc_serialize_snapshot: with them (format 2, Raft
 * snapshots). Returns length or 0. */
size_t hs_cc_serialize(const hs_cluster_config *c, uint8_t *buf, size_t cap);
size_t hs_cc_serialize_snapshot(const hs_cluster_config *c, uint8_t *buf, size_t cap);
/* Either format. 0 on success; -1 on any malformation (out is left initialized-empty then). */
int hs_cc_deserialize(const uint8_t *buf, size_t len, hs_cluster_config *out);

#endif
