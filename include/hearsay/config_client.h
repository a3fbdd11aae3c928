/* config_client.h: the configuration client every agent runs (sans-I/O, the shape of raft.h):
 * configuration changes, consistent reads and seed changes started on this agent (an HTTP
 * request) or forwarded to it by another agent, carried to the Raft leader, and answered once
 * committed AND applied here; and the configuration fetch that keeps a non-seed's copy
 * current. Every change applies at most once: it carries a place in a client session
 * (cluster_config.h, hs_cc_tag), which the leader checks before proposing and every seed
 * checks when applying, so a retried or replayed request gets its original answer and writes
 * no new log entry.
 *
 * The caller feeds time (ms, any monotonic clock), received config messages, Raft
 * notifications (an entry applied with its outcome, a ReadIndex state, a role change) and
 * gossip (a member holds a newer version); calls hs_cfgc_tick once hs_cfgc_next_deadline has
 * passed; and drains the outputs after every call: messages to send over a stream
 * (hs_cfgc_next_msg), operations that ended (hs_cfgc_next_done), a configuration installed
 * from a fetch (hs_cfgc_take_installed) and whether Raft has work (hs_cfgc_take_raft_work:
 * run its Ready loop). On a seed the core proposes to and asks the Raft node directly and
 * reads the configuration the caller applies entries to; it never calls a clock, a socket or
 * a file. Wire messages 0x60-0x63 (wire.h): docs/raft.md "Configuration distribution". */
#ifndef HEARSAY_CONFIG_CLIENT_H
#define HEARSAY_CONFIG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/cluster_config.h"
#include "hearsay/raft.h"

#define HS_CFGC_SEEDS_MAX 16   /* the --seed list the core may fall back to */
#define HS_CFGC_OPS_MAX   1024 /* operations in progress (local and forwarded to us) */
#define HS_CFGC_WINDOW    HS_CC_SESSION_ANSWERS /* changes in flight in this agent's session */

/* Operation kinds (also the op byte of a forwarded request). */
enum hs_cfgc_kind {
    HS_CFGC_SET = 1,
    HS_CFGC_READ = 2, /* linearizable read (ReadIndex) */
    HS_CFGC_ADD_SEED = 3,
    HS_CFGC_REMOVE_SEED = 4,
    HS_CFGC_KEY_INSTALL = 5, /* value: the key, base64 */
    HS_CFGC_KEY_USE = 6,
    HS_CFGC_KEY_REMOVE = 7,
    HS_CFGC_DELETE = 8,
    HS_CFGC_SET_FD = 9,        /* key: an fd setting (fd_settings.h), value: its value */
    HS_CFGC_DELETE_FD = 10,    /* back to the profile's value */
    HS_CFGC_REMOVE_NODE = 11,  /* key: the member (force-leave); value: "" or "prune" */
    HS_CFGC_READMIT_NODE = 12, /* key: the member */
    HS_CFGC_KIND_MAX = 12,
};

/* Results (also the result byte of a forwarded answer). */
enum hs_cfgc_result {
    HS_CFGC_OK = 0,
    HS_CFGC_NOTLEADER = 1, /* no leader known */
    HS_CFGC_BUSY = 2,      /* a seed change is pending */
    HS_CFGC_INVALID = 3,   /* refused by the configuration */
    HS_CFGC_NOTFOUND = 4,  /* no such key / seed */
    HS_CFGC_TIMEOUT = 5,   /* not committed in time (it may still commit) */
    HS_CFGC_EXPIRED = 6,   /* its session was forgotten: whether it applied is unknown */
    HS_CFGC_CONFLICT = 7,  /* the idempotency key answered a different request */
    HS_CFGC_RESULT_MAX = 7,
};

/* Does kind change the configuration (and so carry a session)? */
static inline bool hs_cfgc_changes(int kind)
{
    return kind >= HS_CFGC_SET && kind <= HS_CFGC_KIND_MAX && kind != HS_CFGC_READ;
}

typedef struct hs_cfgc_cfg {
    uint64_t rng_seed; /* request ids, session ids, the seed round robin (random per boot) */
    bool seed;         /* this agent runs Raft: it never installs fetched configurations */
    size_t n_seeds;    /* the --seed list, used until the configuration names the seeds */
    hs_cc_seed seeds[HS_CFGC_SEEDS_MAX];
} hs_cfgc_cfg;

typedef struct hs_cfgc hs_cfgc;

/* cc: the configuration this agent holds; the core reads it, and on a non-seed replaces it
 * with newer fetched ones. NULL on no memory. */
hs_cfgc *hs_cfgc_new(const hs_cfgc_cfg *cfg, hs_cluster_config *cc, uint64_t now);
void hs_cfgc_free(hs_cfgc *c);
/* A seed's Raft node and the index applied to cc so far; NULL when there is none (a
 * non-seed) or no longer one (storage failed). */
void hs_cfgc_attach_raft(hs_cfgc *c, hs_raft *r, uint64_t applied);

/* ---- inputs ---- */

/* Starts an operation and returns its id (never 0); its end comes out of hs_cfgc_next_done
 * (possibly at once). key: the setting key or seed name; value: the value, the seed's
 * HOST:PORT or the base64 key; idem: NULL, or an idempotency key (any bytes, NUL-terminated)
 * that makes the change apply once whichever agent takes it and however often it is retried
 * while its session is remembered. */
uint64_t hs_cfgc_start(hs_cfgc *c, uint64_t now, int kind, const char *key, const char *value,
                       const char *idem);
/* A config message (type 0x60-0x63) from a stream. 0, or -1 if it does not decode (hostile
 * input: count it and drop it). */
int hs_cfgc_receive(hs_cfgc *c, uint64_t now, const hs_addr *from, const uint8_t *data, size_t len);
void hs_cfgc_tick(hs_cfgc *c, uint64_t now);
uint64_t hs_cfgc_next_deadline(const hs_cfgc *c);
/* A committed entry was applied to cc (every entry, in order; o: hs_cc_apply_entry's). */
void hs_cfgc_applied(hs_cfgc *c, uint64_t now, uint64_t index, uint64_t term,
                     const hs_cc_outcome *o);
/* cc was restored from a snapshot at index. */
void hs_cfgc_restored(hs_cfgc *c, uint64_t now, uint64_t index);
void hs_cfgc_read_state(hs_cfgc *c, uint64_t now, uint64_t ctx, uint64_t index);
void hs_cfgc_role_changed(hs_cfgc *c, uint64_t now);
/* Gossip: the member at from holds configuration version. */
void hs_cfgc_version_seen(hs_cfgc *c, uint64_t now, const hs_addr *from, uint64_t version);
/* Sends our configuration to `to` unasked (a FETCH_RESP with it): the agent spreads every new
 * version this way to a few members that announced an older one; a receiver installs it
 * only if strictly newer, as any fetched configuration. */
void hs_cfgc_push(hs_cfgc *c, uint64_t now, const hs_addr *to);

/* ---- outputs ---- */

typedef struct hs_cfgc_msg {
    hs_addr to;
    const uint8_t *data; /* valid until the next hs_cfgc_next_msg or hs_cfgc_free */
    size_t len;
    /* a fetch, or an answer without a configuration: idempotent, retried and holding no key,
     * so it may travel as a datagram (whatever carries the configuration, and with it the key
     * ring, must take a stream: only a stream's session key keeps it from a recorder that
     * holds an older ring key) */
    bool datagram_ok;
} hs_cfgc_msg;
bool hs_cfgc_next_msg(hs_cfgc *c, hs_cfgc_msg *out);

typedef struct hs_cfgc_done {
    uint64_t op;
    int kind, result;
    bool found; /* READ: the key exists */
    uint64_t version;
    char key[HS_CC_NAME_MAX + 1];
    char value[HS_CC_VALUE_MAX + 1]; /* READ: the value; changes: the request's value */
} hs_cfgc_done;
bool hs_cfgc_next_done(hs_cfgc *c, hs_cfgc_done *out);

/* true once after the core installed a newer configuration into cc (non-seeds); *from: the
 * member it came from. The caller persists it and tells whoever follows the version. */
bool hs_cfgc_take_installed(hs_cfgc *c, hs_addr *from);
/* true once after the core proposed or asked for a read: run the Raft Ready loop. */
bool hs_cfgc_take_raft_work(hs_cfgc *c);

/* The leader's name as far as this agent knows (seeds: Raft; others: the last answer, for
 * 10 s), or NULL. */
const char *hs_cfgc_leader(const hs_cfgc *c, uint64_t now);

typedef struct hs_cfgc_stats {
    uint64_t proposed;   /* log entries this core proposed */
    uint64_t duplicates; /* changes answered from a session, without a new entry */
    uint64_t joined;     /* changes that found their entry already in the log */
    uint64_t stale;      /* changes refused as too old (EXPIRED) */
    uint64_t oversize;   /* messages that did not fit and were not sent */
} hs_cfgc_stats;
const hs_cfgc_stats *hs_cfgc_get_stats(const hs_cfgc *c);

/* ---- config_wire.c: the messages (hostile input; first byte = type) ----
 * 0x60 FETCH      have_version u64
 * 0x61 FETCH_RESP version u64, clock u64, leader str8, config u32-length + hs_cc_serialize
 *                 bytes (empty when the asker is not behind)
 * 0x62 FWD        rid u64, op u8, tag (session, born, seq, floor: u64 each; zero for a read),
 *                 key str8 (non-empty), value str8
 * 0x63 FWD_RESP   rid u64, result u8, version u64, clock u64, found u8, value str8, leader str8
 * clock: the sender's session clock (hs_cluster_config.sess_clock, or the highest it saw),
 * which a new session takes as its born. */
typedef struct hs_cfgc_wire {
    uint8_t type;
    uint64_t rid;
    uint64_t version; /* FETCH: the asker's version */
    uint64_t clock;
    uint8_t op, result;
    bool found;
    hs_cc_tag tag;
    char key[HS_CC_NAME_MAX + 1];
    char value[HS_CC_VALUE_MAX + 1];
    char leader[HS_RAFT_NAME_MAX + 1];
    const uint8_t *config; /* FETCH_RESP: points into the decoded buffer */
    uint32_t config_len;
} hs_cfgc_wire;
#define HS_CFGC_WIRE_SMALL 640 /* every message but a FETCH_RESP with a configuration fits */
size_t hs_cfgc_wire_size(const hs_cfgc_wire *m);
/* Returns the length, or 0 if it does not fit or breaks a limit. */
size_t hs_cfgc_wire_encode(const hs_cfgc_wire *m, uint8_t *buf, size_t cap);
/* 0, or -1 on any malformation (unknown type, bad lengths, limits, trailing bytes). */
int hs_cfgc_wire_decode(const uint8_t *buf, size_t len, hs_cfgc_wire *out);

#endif
