/* agent.h: one whole agent as a pure core (sans-I/O): the membership node, the Raft node of a
 * seed with the replicated configuration it applies, the configuration client and the key
 * ring, wired together. The daemon's engine (agent/daemon/engine.c) and the simulator run the
 * same agent; only the clock, the network under the secure channel (channel.h), Raft's durable
 * storage and what is done with events differ.
 *
 * The caller feeds the current time (ms, any monotonic clock), the payloads the channel
 * delivered (with the proven sender), operations (joins, configuration changes, key surveys
 * and rotations), and calls hs_agent_tick once hs_agent_next_deadline has passed. After EVERY
 * call it drains the outputs: payloads to send (hs_agent_next_packet: datagram or stream),
 * events to publish (hs_agent_next_event), operations that ended (hs_agent_next_done), notices
 * to log (hs_agent_next_notice) and what to persist (hs_agent_take_persist).
 *
 * Routing by type byte (wire.h): membership to the node; Raft (streams only) to the Raft node;
 * configuration 0x60-0x63 (streams only) to the configuration client; key queries 0x64/0x65 to
 * the key ring; user events and queries 0x80-0x8f to the user-event core (user_events.h, which
 * reads the node's member table; its deliveries become user-event and query events, its horizon
 * a persist output that the caller writes before it runs their handlers). Wiring: a committed
 * entry is applied to the configuration with the session rules, then the configuration client
 * learns its outcome, the key ring the new ring, the node the new version (it rides on every
 * Ping); gossip of a newer version starts a fetch (non seeds); a rotation's steps are
 * configuration changes. On a seed, the storage callbacks make each Ready durable (hard state,
 * snapshot, entries, sync, then the commit index) BEFORE its messages are queued; a storage
 * failure stops this seed's Raft for good (a notice says so). Operator controls
 * (agent_operator.c): every configuration change sets the node's failure-detection timings
 * (fd_settings.h) and its removed members (force-leave, readmit); a new version is pushed to a
 * few live members behind it. A name conflict in which this agent is the newer claimant makes
 * hs_agent_stopped true: the caller stops the process. */
#ifndef HEARSAY_AGENT_H
#define HEARSAY_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/channel.h"
#include "hearsay/cluster_config.h"
#include "hearsay/config_client.h"
#include "hearsay/events.h"
#include "hearsay/keyring.h"
#include "hearsay/membership.h"
#include "hearsay/raft.h"
#include "hearsay/user_events.h"

#define HS_AGENT_SEEDS_MAX     HS_CFGC_SEEDS_MAX
#define HS_AGENT_COMPACT_EVERY 1024 /* applied entries between snapshots */
/* Raft's timers in the daemon (issue 19, quiet seeds): heartbeats every 250 ms, elections after
 * 750-1500 ms of silence. A leader whose process dies is replaced at once anyway: its streams
 * end and hs_agent_peer_lost starts the election. */
#define HS_AGENT_RAFT_HB_MS        300
#define HS_AGENT_RAFT_ELECTION_MIN 750
#define HS_AGENT_RAFT_ELECTION_MAX 1500

/* Raft's durable storage, called inside the Ready loop in this order; each returns 0 or -1.
 * set_commit may be lazy (no fsync): a lost one only makes a restart apply less at first. */
typedef struct hs_agent_storage {
    void *ctx;
    int (*set_hard)(void *ctx, const hs_raft_hard_state *h);
    int (*set_snapshot)(void *ctx, const hs_raft_snapshot *s);
    int (*append)(void *ctx, const hs_raft_entry *e, size_t n);
    int (*sync)(void *ctx);
    int (*set_commit)(void *ctx, uint64_t commit);
} hs_agent_storage;

typedef struct hs_agent_cfg {
    hs_config node;       /* membership settings, name and advertised address */
    int profile;          /* the hs_fd_profile node's timings come from (0: lan); the
                             configuration's fd settings apply over them (fd_settings.h) */
    hs_tags tags;         /* borrowed for the call */
    uint32_t incarnation; /* the last one persisted */
    uint64_t rng_seed;    /* every random choice of the cores derives from it */
    hs_envelope *env;     /* the ring the key ring manages (the caller's; seeds install it) */
    size_t n_seeds;       /* the --seed list (Raft ids derive from the names) */
    hs_cc_seed seeds[HS_AGENT_SEEDS_MAX];
    /* a seed (its name is in seeds): its restored durable state and its storage */
    hs_raft_hard_state hard;
    const hs_raft_snapshot *snapshot; /* NULL: none */
    const hs_raft_entry *entries;     /* after the snapshot, in order */
    size_t n_entries;
    hs_agent_storage storage;
    uint32_t election_min_ms, election_max_ms, heartbeat_ms; /* 0: HS_AGENT_RAFT_* */
    uint32_t compact_every; /* applied entries between snapshots; 0: HS_AGENT_COMPACT_EVERY */
    /* a non-seed: the configuration it saved, or NULL */
    const hs_cluster_config *saved;
    /* user events: the horizon the last run saved (hs_agent_user_horizon), the traffic cap */
    uint64_t ue_floor;
    uint32_t ue_budget_bps; /* 0: 262144 */
} hs_agent_cfg;

typedef struct hs_agent hs_agent;

/* NULL on a bad configuration (the node's, a seed list without us as a seed while restored
 * Raft state is given, ...) or no memory; *why then says which. A seed applies its log up to
 * the restored commit index before this returns. */
hs_agent *hs_agent_new(const hs_agent_cfg *cfg, uint64_t now_ms, const char **why);
void hs_agent_free(hs_agent *a);

/* ---- inputs ---- */

/* A payload the channel delivered (who: its sender; NULL for an insecure envelope). */
void hs_agent_receive(hs_agent *a, uint64_t now_ms, const hs_addr *from, const uint8_t *data,
                      size_t len, bool stream, const hs_ch_sender *who);
void hs_agent_tick(hs_agent *a, uint64_t now_ms);
/* The transport saw an authenticated stream to or from addr end, or a connection to it refused:
 * when addr is this seed's Raft leader, the election starts now (hs_raft_leader_lost). */
void hs_agent_peer_lost(hs_agent *a, uint64_t now_ms, const hs_addr *addr);
uint64_t hs_agent_next_deadline(const hs_agent *a);

void hs_agent_join(hs_agent *a, uint64_t now_ms, const hs_addr *addrs, size_t n);
void hs_agent_leave(hs_agent *a, uint64_t now_ms);
int hs_agent_set_tags(hs_agent *a, uint64_t now_ms, hs_tags tags); /* -1: malformed/too big */
/* Starts the reachability test of the membership core (hs_node_reachability_start): members
 * asked, or -1 when one is running; its results: hs_node_reachability_results. */
long hs_agent_reachability(hs_agent *a, uint64_t now_ms);

/* Operations; each returns an id (never 0) whose end comes out of hs_agent_next_done, or 0 when
 * it cannot start (no slot). */
uint64_t hs_agent_config_op(hs_agent *a, uint64_t now_ms, int kind, const char *key,
                            const char *value, const char *idem); /* kind: hs_cfgc_kind */
/* Which ring does every alive or suspect member hold? change: want the configuration's ring
 * (after a key change); admin: the caller may change state (slots kept for it). */
uint64_t hs_agent_keys_survey(hs_agent *a, uint64_t now_ms, bool change, bool admin,
                              uint64_t wait_ms);
uint64_t hs_agent_keys_rotate(hs_agent *a, uint64_t now_ms, const uint8_t key[HS_ENV_KEY_BYTES],
                              uint64_t wait_ms);

/* User events and queries (user_events.h): the operation's end is a HS_AGENT_DONE_USER; a
 * query's acknowledgements and answers come out of hs_agent_next_reply as they arrive. 0 with
 * *err (hs_ue_error) when it cannot start. */
uint64_t hs_agent_fire(hs_agent *a, uint64_t now_ms, const char *name, const uint8_t *payload,
                       size_t len, bool coalesce, uint64_t wait_ms, int *err);
uint64_t hs_agent_query(hs_agent *a, uint64_t now_ms, const hs_ue_query_spec *q, int *err);
/* Answers (or declines) a delivered query; hs_ue_error. */
int hs_agent_query_respond(hs_agent *a, uint64_t now_ms, uint64_t ref, const uint8_t *payload,
                           size_t len, bool no_handler);

/* ---- outputs ---- */

typedef struct hs_agent_packet {
    hs_addr to;
    const uint8_t *data; /* valid until the next call into the agent */
    size_t len;
    bool stream;
} hs_agent_packet;
bool hs_agent_next_packet(hs_agent *a, hs_agent_packet *out);

/* Tags in the event point into the agent: valid until the next call into it. */
bool hs_agent_next_event(hs_agent *a, hs_agent_event *out);

/* Outputs taken (packets, events, replies, dones, notices) stay valid until the next call into
 * the agent, unless it is held: a caller whose handling of one output may call into the agent
 * again (a subscriber that answers a query at once) holds it around its whole drain, and what
 * it took is freed at the first call after the release. */
void hs_agent_hold(hs_agent *a, bool hold);

enum hs_agent_done_what {
    HS_AGENT_DONE_CONFIG = 1,
    HS_AGENT_DONE_SURVEY,
    HS_AGENT_DONE_ROTATE,
    HS_AGENT_DONE_USER, /* a fired event or a query */
};
typedef struct hs_agent_done {
    uint64_t op;
    int what;
    hs_cfgc_done config;          /* CONFIG */
    hs_kr_survey_done survey;     /* SURVEY (its members valid until the next call) */
    hs_kr_rotation_done rotation; /* ROTATE (its pending valid until the next call) */
    hs_ue_done user;              /* USER (its pending valid until the next call) */
} hs_agent_done;
bool hs_agent_next_done(hs_agent *a, hs_agent_done *out);

/* An acknowledgement or answer to one of our queries (its payload valid until the next call). */
typedef hs_ue_reply hs_agent_reply;
bool hs_agent_next_reply(hs_agent *a, hs_agent_reply *out);

enum hs_agent_level { HS_AGENT_INFO = 1, HS_AGENT_WARN, HS_AGENT_ERR };
bool hs_agent_next_notice(hs_agent *a, int *level, const char **text);

/* What changed and should be persisted (taken once): */
enum {
    HS_AGENT_SAVE_INCARNATION = 1 << 0, /* hs_agent_incarnation */
    HS_AGENT_SAVE_KEYRING = 1 << 1,     /* the envelope's ring (DATA_DIR/keyring) */
    HS_AGENT_SAVE_CONFIG = 1 << 2,      /* a non-seed's configuration (DATA_DIR/config.bin) */
    HS_AGENT_SAVE_MEMBERS = 1 << 3,     /* the member list changed (rejoin after a restart) */
    HS_AGENT_SAVE_USER = 1 << 4,        /* hs_agent_user_horizon: before running the handlers */
};
unsigned hs_agent_take_persist(hs_agent *a);

/* ---- state, for rendering and tests ---- */

const hs_node *hs_agent_node(const hs_agent *a);
const hs_raft *hs_agent_raft(const hs_agent *a); /* NULL on a non-seed or after a failure */
const hs_cluster_config *hs_agent_config(const hs_agent *a);
uint32_t hs_agent_incarnation(const hs_agent *a);
uint64_t hs_agent_applied(const hs_agent *a); /* Raft index applied (seeds) */
/* The peers this agent wants a stream held open to (a seed's fellow seeds; none for a member),
 * so that hs_agent_peer_lost hears of their end at once. */
size_t hs_agent_stream_peers(const hs_agent *a, hs_addr *out, size_t max);
bool hs_agent_is_seed(const hs_agent *a);
bool hs_agent_raft_failed(const hs_agent *a);
const char *hs_agent_leader(const hs_agent *a, uint64_t now_ms); /* name, or NULL */
const hs_cfgc_stats *hs_agent_cfgc_stats(const hs_agent *a);
/* The profile the failure-detection settings in effect come from (hs_node_config has them). */
int hs_agent_fd_profile(const hs_agent *a);
/* true once the agent found its name held at another address that answers for it: it takes
 * no part any more and the caller should stop; *why (may be NULL) says so for the log. */
bool hs_agent_stopped(const hs_agent *a, const char **why);
uint64_t hs_agent_user_horizon(const hs_agent *a); /* no user event below it runs again */
uint64_t hs_agent_user_clock(const hs_agent *a);   /* the Lamport clock */
const hs_ue_stats *hs_agent_ue_stats(const hs_agent *a);

#endif
