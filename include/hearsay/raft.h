/* raft.h: the Raft consensus core run by the seed nodes (sans-I/O, etcd-io/raft shape).
 *
 * A hs_raft is one seed's Raft node. The caller feeds it the current time (ms on any monotonic
 * clock) and incoming messages (hs_raft_step), calls hs_raft_tick when hs_raft_next_deadline
 * has passed, and drains its output through a Ready:
 *
 *   while (hs_raft_has_ready(r)) {
 *       hs_raft_ready rd;
 *       hs_raft_get_ready(r, &rd);
 *       1. if rd.snapshot: persist it (replaces the log up to its index), restore the state
 *          machine from it;
 *       2. persist rd.entries: an entry at index i replaces every persisted entry >= i;
 *       3. if rd.has_hard_state: persist rd.hard_state (term, vote, commit);
 *          fsync 1-3 together, BEFORE step 4;
 *       4. send rd.msgs (only now: a vote or an ack must never outlive a crash);
 *       5. apply rd.committed (in order), serve rd.reads once applied >= their index;
 *       6. hs_raft_advance(r, &rd);
 *   }
 *
 * Between get_ready and advance the caller may keep stepping messages (an asynchronous fsync);
 * it may not ask for a second Ready. Everything in a Ready is owned by the node and freed by
 * hs_raft_advance. Messages passed to hs_raft_step are borrowed (copied where kept).
 *
 * Snapshots: after applying, the caller may serialize its state machine at the applied index,
 * persist it, and call hs_raft_compact; the node keeps a copy to send to lagging followers.
 * docs/raft.md has the whole design. */
#ifndef HEARSAY_RAFT_H
#define HEARSAY_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"

#define HS_RAFT_NAME_MAX      64         /* bytes of a seed name, not counting the NUL */
#define HS_RAFT_MAX_PEERS     9          /* seeds in one group (3 or 5 in practice) */
#define HS_RAFT_MAX_ENTRY     65536      /* bytes of one entry's data */
#define HS_RAFT_MAX_MSG_ENTS  256        /* entries in one Append message */
#define HS_RAFT_MAX_MSG_BYTES 262144     /* entry bytes a leader packs into one Append */
#define HS_RAFT_MAX_SNAPSHOT  (1 << 20)  /* bytes of snapshot data (sent as one chunk) */
#define HS_RAFT_RECOVER_CTX   UINT64_MAX /* ReadIndex ctx of a recovering node's probe */

/* Error codes (negative). */
enum {
    HS_RAFT_OK = 0,
    HS_RAFT_ENOTLEADER = -1, /* only the leader accepts proposals */
    HS_RAFT_EBUSY = -2,      /* a membership change is pending, or no current-term commit */
    HS_RAFT_EINVAL = -3,     /* bad argument (size, unknown peer, duplicate peer) */
    HS_RAFT_ENOMEM = -4,
};

typedef enum hs_raft_role {
    HS_RAFT_FOLLOWER = 0,
    HS_RAFT_PRECANDIDATE = 1,
    HS_RAFT_CANDIDATE = 2,
    HS_RAFT_LEADER = 3,
} hs_raft_role;

/* "follower", "candidate" (pre-candidates too: the API reports three states), "leader" */
const char *hs_raft_role_name(hs_raft_role role);

typedef enum hs_raft_entry_type {
    HS_RAFT_ENTRY_NORMAL = 0, /* caller data: a cluster_config command */
    HS_RAFT_ENTRY_NOOP = 1,   /* appended by every new leader */
    HS_RAFT_ENTRY_CONF = 2,   /* one-seed membership change, see hs_raft_conf_change */
} hs_raft_entry_type;

typedef struct hs_raft_entry {
    uint64_t term, index;
    uint8_t type; /* hs_raft_entry_type */
    uint32_t len;
    uint8_t *data;
} hs_raft_entry;

typedef struct hs_raft_peer {
    uint64_t id; /* non-zero, unique in the group */
    char name[HS_RAFT_NAME_MAX + 1];
    hs_addr addr;
} hs_raft_peer;

typedef struct hs_raft_conf {
    uint32_t n;
    hs_raft_peer peers[HS_RAFT_MAX_PEERS];
} hs_raft_conf;

typedef enum hs_raft_conf_op { HS_RAFT_ADD_SEED = 1, HS_RAFT_REMOVE_SEED = 2 } hs_raft_conf_op;

#define HS_RAFT_CONF_TAG_MAX 40 /* caller bytes carried in a seed change entry */

typedef struct hs_raft_conf_change {
    uint8_t op; /* hs_raft_conf_op */
    hs_raft_peer peer;
    /* Opaque caller bytes replicated with the change (the client session of
     * cluster_config.h); the core never reads them. 0 = none. */
    uint8_t tag_len;
    uint8_t tag[HS_RAFT_CONF_TAG_MAX];
} hs_raft_conf_change;

typedef struct hs_raft_hard_state {
    uint64_t term, vote, commit;
    /* The node lost its log (and maybe its term and vote: a reset seed). Until a leader has
     * brought it up to date through a read round a quorum of the others answered, it neither
     * votes nor campaigns and acknowledges nothing past the leader's commit index; it then
     * takes the leader's term with a vote for that leader, and this flag clears. Persist it
     * with term and vote. docs/raft.md "Repairing a seed" has the safety argument. */
    bool recovering;
} hs_raft_hard_state;

typedef struct hs_raft_snapshot {
    uint64_t index, term; /* last entry the snapshot covers; 0/0 = no snapshot */
    hs_raft_conf conf;    /* the seed set as of index */
    uint32_t len;
    uint8_t *data; /* the serialized state machine */
} hs_raft_snapshot;

/* Message types: the first byte of an encoded Raft message (0x40-0x5f, see wire.h). */
typedef enum hs_raft_msg_type {
    HS_RAFT_MSG_APPEND = 0x40,      /* AppendEntries (also the heartbeat) */
    HS_RAFT_MSG_APPEND_RESP = 0x41, /* ack / reject of Append and of Snapshot */
    HS_RAFT_MSG_VOTE = 0x42,        /* RequestVote */
    HS_RAFT_MSG_VOTE_RESP = 0x43,
    HS_RAFT_MSG_PREVOTE = 0x44, /* "would you vote for me at term+1?" - changes no term */
    HS_RAFT_MSG_PREVOTE_RESP = 0x45,
    HS_RAFT_MSG_SNAPSHOT = 0x46,       /* InstallSnapshot, whole snapshot in one chunk */
    HS_RAFT_MSG_READINDEX = 0x47,      /* follower forwards a ReadIndex request to the leader */
    HS_RAFT_MSG_READINDEX_RESP = 0x48, /* leader's answer: reject, or the read index */
} hs_raft_msg_type;

typedef struct hs_raft_msg {
    uint8_t type;
    uint64_t from, to, term;
    uint64_t log_index, log_term; /* Append: prev entry; (Pre)Vote: candidate's last entry */
    uint64_t commit;              /* Append: leader's commit */
    uint64_t index;               /* AppendResp: match index on success, hint on reject;
                                     ReadIndexResp: the read index */
    uint64_t ctx;                 /* Append/AppendResp: ReadIndex round; ReadIndex*: caller ctx */
    bool reject;                  /* *_RESP */
    uint32_t n_entries;
    hs_raft_entry *entries;
    hs_raft_snapshot snapshot; /* SNAPSHOT only */
} hs_raft_msg;

typedef struct hs_raft_read_state {
    uint64_t ctx;   /* what the caller passed to hs_raft_read_index */
    uint64_t index; /* serve the read once the applied index reaches this */
} hs_raft_read_state;

typedef struct hs_raft_ready {
    bool has_hard_state;
    hs_raft_hard_state hard_state;
    hs_raft_snapshot *snapshot; /* NULL or a snapshot to persist and restore */
    size_t n_entries;
    hs_raft_entry *entries; /* to append durably */
    size_t n_msgs;
    hs_raft_msg *msgs; /* to send after persisting */
    size_t n_committed;
    hs_raft_entry *committed; /* to apply, in order */
    size_t n_reads;
    hs_raft_read_state *reads;
    bool role_changed; /* role, leader or term differ from the previous Ready */
    hs_raft_role role;
    uint64_t leader, term;
    /* internal bookkeeping for hs_raft_advance */
    uint64_t last_index_, last_term_, applied_to_;
} hs_raft_ready;

typedef struct hs_raft_cfg {
    uint64_t id; /* this node's id */
    uint64_t rng_seed;
    uint32_t election_min_ms;         /* 150: timeouts are drawn uniformly from [min, max) */
    uint32_t election_max_ms;         /* 300 */
    uint32_t heartbeat_ms;            /* 50 */
    hs_raft_conf peers;               /* the initial seed set (used when there is no snapshot) */
    hs_raft_hard_state hard;          /* restored hard state (zeros on first boot) */
    const hs_raft_snapshot *snapshot; /* restored snapshot or NULL */
    const hs_raft_entry *entries;     /* restored log after the snapshot, in order */
    size_t n_entries;
} hs_raft_cfg;

typedef struct hs_raft hs_raft;

/* Creates a node from restored durable state. NULL on bad configuration or no memory. */
hs_raft *hs_raft_new(const hs_raft_cfg *cfg, uint64_t now_ms);
void hs_raft_free(hs_raft *r);

/* Feeds one incoming message. Returns 0, or HS_RAFT_EINVAL for a message not for us. */
int hs_raft_step(hs_raft *r, uint64_t now_ms, const hs_raft_msg *m);
/* Runs timers due at now_ms (elections, heartbeats, check-quorum). */
void hs_raft_tick(hs_raft *r, uint64_t now_ms);
/* The earliest time hs_raft_tick has work to do. */
uint64_t hs_raft_next_deadline(const hs_raft *r);
/* The caller saw the stream to or from seed `id` end (its process died: the kernel closed its
 * sockets). A follower of that leader forgets it and campaigns (pre-vote first) within
 * [HS_RAFT_LOST_MIN_MS, HS_RAFT_LOST_MAX_MS) instead of waiting out its election timeout. Safe
 * when wrong: the others, still in their leader's lease, refuse the pre-vote, no term moves,
 * and the live leader's next heartbeat restores it. Nothing happens in any other case. */
#define HS_RAFT_LOST_MIN_MS 10
#define HS_RAFT_LOST_MAX_MS 60
void hs_raft_leader_lost(hs_raft *r, uint64_t now_ms, uint64_t id);

/* Leader only: appends data as a new entry. On success *index and *term name the entry; the write
 * is done when an entry with that index AND term is committed (another term's entry at the same
 * index means it was lost with the leader and must be retried). */
int hs_raft_propose(hs_raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term);
/* Leader only: proposes adding or removing one seed. Refused (EBUSY) while an earlier change is
 * not yet applied, or before the leader has committed an entry of its own term. */
int hs_raft_propose_conf(hs_raft *r, const hs_raft_conf_change *cc, uint64_t *index,
                         uint64_t *term);
/* Linearizable read: on the leader, or forwarded to it by a follower. A matching read state
 * (same ctx) comes out of a later Ready; nothing comes out if leadership was lost meanwhile
 * (retry after a timeout). EBUSY if the leader has no current-term commit yet, ENOTLEADER if
 * there is no known leader. ctx HS_RAFT_RECOVER_CTX is reserved (EINVAL). */
int hs_raft_read_index(hs_raft *r, uint64_t ctx);
/* Compacts the log up to index, which must equal the applied index. data is the state machine
 * at that index, already persisted by the caller; the node keeps a copy. */
int hs_raft_compact(hs_raft *r, uint64_t index, const void *data, size_t len);

bool hs_raft_has_ready(const hs_raft *r);
/* Fills rd; returns false if there is nothing to do or a Ready is still outstanding. */
bool hs_raft_get_ready(hs_raft *r, hs_raft_ready *rd);
void hs_raft_advance(hs_raft *r, hs_raft_ready *rd);

/* Introspection (status output, tests, the simulator). */
uint64_t hs_raft_id(const hs_raft *r);
hs_raft_role hs_raft_get_role(const hs_raft *r);
uint64_t hs_raft_leader(const hs_raft *r);
uint64_t hs_raft_term(const hs_raft *r);
uint64_t hs_raft_vote(const hs_raft *r);
uint64_t hs_raft_commit(const hs_raft *r);
uint64_t hs_raft_applied(const hs_raft *r);
bool hs_raft_recovering(const hs_raft *r);      /* see hs_raft_hard_state.recovering */
uint64_t hs_raft_first_index(const hs_raft *r); /* first entry in memory (snapshot index+1) */
uint64_t hs_raft_last_index(const hs_raft *r);
/* Term of the entry at index (snapshot term at the snapshot index); 0 if unknown/compacted. */
uint64_t hs_raft_term_at(const hs_raft *r, uint64_t index);
const hs_raft_entry *hs_raft_entry_at(const hs_raft *r, uint64_t index); /* NULL if absent */
const hs_raft_conf *hs_raft_get_conf(const hs_raft *r);
const hs_raft_snapshot *hs_raft_get_snapshot(const hs_raft *r);
/* Timeout drawn for the current election period (for tests). */
uint32_t hs_raft_election_timeout(const hs_raft *r);

/* Conf helpers. */
const hs_raft_peer *hs_raft_conf_find(const hs_raft_conf *c, uint64_t id);
const hs_raft_peer *hs_raft_conf_find_name(const hs_raft_conf *c, const char *name);
/* Applies a change to a conf: 0, or HS_RAFT_EINVAL (duplicate id/name, unknown id, full). */
int hs_raft_conf_apply(hs_raft_conf *c, const hs_raft_conf_change *cc);

/* ---- raft_codec.c: wire format (first byte = message type, big-endian fields) ---- */

/* Bytes needed to encode m. */
size_t hs_raft_msg_size(const hs_raft_msg *m);
/* Encodes m into buf; returns the length, or 0 if it does not fit or breaks a limit. */
size_t hs_raft_msg_encode(const hs_raft_msg *m, uint8_t *buf, size_t cap);
/* Decodes hostile input. On success (0) out's entry and snapshot data point INTO buf, and
 * out->entries is heap memory released with hs_raft_msg_release. -1 on any malformation. */
int hs_raft_msg_decode(const uint8_t *buf, size_t len, hs_raft_msg *out);
void hs_raft_msg_release(hs_raft_msg *m);

/* Conf change entry data (HS_RAFT_ENTRY_CONF). */
size_t hs_raft_conf_change_encode(const hs_raft_conf_change *cc, uint8_t *buf, size_t cap);
int hs_raft_conf_change_decode(const uint8_t *buf, size_t len, hs_raft_conf_change *out);

#endif
