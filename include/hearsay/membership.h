/* membership.h: the gossip membership and failure-detection core (sans-I/O).
 *
 * One hs_node is one agent's view of the cluster. The caller feeds it the current time
 * (milliseconds on any monotonic clock), incoming datagrams/stream messages and timer
 * expiries; it answers with packets to send, the next time it wants to be ticked, and
 * events describing membership changes. It never reads a clock, touches a socket or a file,
 * so the daemon (agent/) and the deterministic simulator (tests/sim/) run the same code.
 *
 * Protocol summary (docs/protocol.md has the full design):
 *   Meet/Sync  full-state exchange in one round trip (join and periodic anti-entropy)
 *   Ping/Pong  one probe per period on average, each of our K subjects every K periods at
 *              the time its last Pong asked for (so its K observers take turns), each
 *              carrying >= 2 gossip entries (newest changes first)
 *   PingReq    indirect probes through other members after a missed Pong
 *   Suspect    a prober that gets no answer asks the subject's vote group to check
 *   Vote       a vote-group member that cannot reach the subject either tells the rest
 *   Reach      before declaring, the decider checks that a majority of the live members
 *              answers it, so the cut-off side of a partition reaches no verdict
 *   Fail       declared by a vote-group member holding a majority of the group's votes
 *              (its own included) within the validity window; spread to everyone
 *   Gossip     pushed to a few random members as soon as something changes
 *   Tombs      the tombstones of reaped members (name, last incarnation, status, age): with
 *              every Meet, and in answer to a message that knows less about one of them
 *
 * Operator controls (docs/protocol.md "Removed members", "Name conflicts"): members removed
 * by force-leave (the replicated configuration's list, applied by the agent) are refused;
 * an address change of a live member is taken only once the old address stops answering for
 * the name, and two addresses answering for one name are reported as a conflict; the
 * failure-detection timings can change at run time (hs_node_set_timing); every member keeps
 * a bounded history of its status for `hearsay explain` (hs_node_history).
 */
#ifndef HEARSAY_MEMBERSHIP_H
#define HEARSAY_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"

#define HS_NAME_MAX   64   /* bytes in a node name, not counting the NUL */
#define HS_TAGS_MAX   512  /* bytes of encoded tags per member */
#define HS_PACKET_MAX 1400 /* payload budget of one datagram, before the envelope */

typedef enum hs_status { HS_ALIVE = 0, HS_SUSPECT = 1, HS_FAILED = 2, HS_LEFT = 3 } hs_status;

const char *hs_status_name(hs_status s);            /* "alive", "suspect", "failed", "left" */
int hs_status_parse(const char *s, hs_status *out); /* 0 on success */

typedef struct hs_config {
    char name[HS_NAME_MAX + 1];
    hs_addr addr;                 /* address other members reach us at (advertise) */
    uint32_t probe_interval_ms;   /* protocol period: one Ping per period (1000) */
    uint32_t probe_timeout_ms;    /* wait for a direct Pong before indirect probes */
    uint32_t indirect_timeout_ms; /* wait for indirect acks, counted from the Ping */
    uint32_t indirect_probes;     /* members asked to probe indirectly */
    uint32_t verify_probes;       /* members asked to relay each check of a suspect */
    uint32_t vote_group_size;     /* K observers per member (the vote group) */
    uint32_t verify_rounds;       /* failed checks an observer needs before it votes */
    uint32_t verify_interval_ms;  /* spacing of an observer's checks of a suspect */
    uint32_t vote_validity_ms;    /* a vote counts for this long */
    uint32_t quorum_fallback_ms;  /* decide without a reachable majority after this (0: never) */
    uint32_t readmit_ms;          /* declared failed while our own checks failed: come back only
                                     after every check of ours for this long succeeded */
    uint32_t gossip_interval_ms;  /* push pending gossip this often while there is any */
    uint32_t gossip_fanout;       /* members each push goes to */
    uint32_t retransmit_mult;     /* each update is sent mult * ceil(log2(N+1)) times */
    uint32_t sync_interval_ms;    /* anti-entropy base interval (scaled up with N) */
    uint32_t sync_ms_per_member;  /* anti-entropy interval is max(base, N * this) */
    uint32_t revive_interval_ms;  /* probe a random failed member this often */
    uint32_t join_retry_ms;       /* resend Meet to seeds until one answers */
    uint64_t reap_failed_ms;      /* forget failed members after this long (24 h) */
    uint64_t reap_left_ms;        /* forget left members after this long (24 h) */
    uint64_t tombstone_ms;        /* keep a reaped member's tombstone this long after the reap
                                     (0: 3 x the longer reap time, 72 h) */
    uint32_t max_tombstones;      /* bound on the tombstone table (0: max_members) */
    uint32_t max_members;         /* hard bound on the member table */
    uint32_t max_packet;          /* datagram budget (HS_PACKET_MAX) */
} hs_config;

/* Fills every field with its default; name and addr are left empty. */
void hs_config_default(hs_config *cfg);

typedef struct hs_node hs_node;

/* Tags are "key=value" strings, each NUL-terminated, packed back to back (len bytes in all). */
typedef struct hs_tags {
    const char *data;
    size_t len;
} hs_tags;

/* Creates the node. incarnation is the last one this node used (0 if unknown);
 * seed drives its random choices (the simulator passes a fixed one). NULL on bad config. */
hs_node *hs_node_new(const hs_config *cfg, hs_tags tags, uint32_t incarnation, uint64_t now_ms,
                     uint64_t seed);
void hs_node_free(hs_node *n);

/* Starts a Meet with each address (retried until one answers). An address already given to an
 * earlier join is met again but kept once. */
void hs_node_join(hs_node *n, uint64_t now_ms, const hs_addr *addrs, size_t count);
/* Announces a graceful leave; the node then answers nothing but still flushes gossip. */
void hs_node_leave(hs_node *n, uint64_t now_ms);
/* Replaces our tags (bumps our incarnation and gossips them). -1 if too large or malformed. */
int hs_node_set_tags(hs_node *n, uint64_t now_ms, hs_tags tags);
/* The configuration version we hold; it rides on every Ping and Pong. */
void hs_node_set_config_version(hs_node *n, uint64_t version);

/* Feeds one received message (already opened from its envelope). stream is true when it
 * came over a stream transport rather than a datagram. */
void hs_node_receive(hs_node *n, uint64_t now_ms, const hs_addr *from, const uint8_t *data,
                     size_t len, bool stream);
/* Runs every timer due at now_ms. */
void hs_node_tick(hs_node *n, uint64_t now_ms);
/* Absolute time at which hs_node_tick wants to run next. */
uint64_t hs_node_next_deadline(const hs_node *n);

/* Outgoing messages. data stays valid until the next call into the node. stream is set when
 * the message is larger than a datagram (a full-state exchange): send it over a stream. */
typedef struct hs_packet {
    hs_addr to;
    const uint8_t *data;
    size_t len;
    bool stream;
} hs_packet;
bool hs_node_next_packet(hs_node *n, hs_packet *out);

typedef enum hs_event_type {
    HS_EV_JOIN,        /* a member we did not know, or that had left/failed, is alive */
    HS_EV_UPDATE,      /* tags or address of a member changed */
    HS_EV_SUSPECT,     /* alive -> suspect */
    HS_EV_ALIVE,       /* suspect -> alive (refuted) */
    HS_EV_FAILED,      /* declared failed by majority vote */
    HS_EV_LEFT,        /* left gracefully */
    HS_EV_REAP,        /* forgotten after the reap time (a tombstone is kept) */
    HS_EV_CONFIG_SEEN, /* a member holds a newer configuration version than ours */
    HS_EV_INCARNATION, /* our own incarnation changed: persist it */
    HS_EV_CONFLICT,    /* two addresses answer for the member's name; addr: the other one (for
                          ourselves with status left: we are the newer claimant and stopped) */
} hs_event_type;

typedef struct hs_event {
    hs_event_type type;
    char name[HS_NAME_MAX + 1];
    hs_addr addr;
    hs_status status, prev_status;
    uint32_t incarnation;
    uint64_t config_version; /* HS_EV_CONFIG_SEEN: the version seen */
    uint64_t at_ms;
} hs_event;
bool hs_node_next_event(hs_node *n, hs_event *out);
const char *hs_event_name(hs_event_type t); /* "member-join", "member-failed", ... */

typedef struct hs_member_info {
    const char *name;
    hs_addr addr;
    hs_status status;
    uint32_t incarnation;
    hs_tags tags;
    uint64_t status_since_ms; /* local time of the last status change */
    uint64_t config_version;  /* last configuration version it told us it holds */
    bool is_self;
} hs_member_info;

/* Every member we know, ourselves included; index order is stable between changes only. */
size_t hs_node_member_count(const hs_node *n);
bool hs_node_member_at(const hs_node *n, size_t i, hs_member_info *out);
bool hs_node_find(const hs_node *n, const char *name, hs_member_info *out);
/* Counts by status. */
void hs_node_status_counts(const hs_node *n, size_t counts[4]);
/* Bytes the member table uses per member (for the memory figure). */
size_t hs_node_table_bytes(const hs_node *n);
/* Tombstones held: reaped members whose last incarnation we keep, so that no replay or stale
 * entry at or below it brings them back (docs/protocol.md, "Tombstones"). */
size_t hs_node_tombstone_count(const hs_node *n);

typedef struct hs_node_stats {
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
    uint64_t drop_malformed, drop_version, drop_unknown_type, drop_not_member, drop_self;
    uint64_t probes_sent, probes_failed, indirect_sent, suspicions, refutations;
    uint64_t votes_sent, failures_declared, gossip_pushes, syncs;
    uint64_t quorum_rounds, quorum_lost;  /* Reach rounds before verdicts, and those that failed */
    uint64_t tombstone_refused;           /* entries about reaped members a tombstone refused */
    uint64_t removed_refused;             /* messages from and entries about removed members */
    uint64_t name_checks, name_conflicts; /* address claims checked, and found held twice */
    uint64_t holds; /* verdicts against us we did not refute at once: our own links were bad */
} hs_node_stats;
const hs_node_stats *hs_node_stats_get(const hs_node *n);

/* ---- run-time settings (fd_settings.h computes them from the configuration) ---- */

/* Takes the failure-detection timings of cfg (the fields fd_settings.h lists; identity, reap
 * times and table bounds stay). -1 (nothing changed) if the result is not a valid config. */
int hs_node_set_timing(hs_node *n, uint64_t now_ms, const hs_config *cfg);
const hs_config *hs_node_config(const hs_node *n);

/* ---- removed members (force-leave through the configuration) ---- */

/* From now on name's messages are dropped and entries about it refused; a member we hold is
 * shown left (prune: forgotten, a tombstone kept at its incarnation so no replay brings it
 * back after a readmit). Our own name: we go quiet (send and answer nothing) until readmitted.
 * Calling it again with prune only adds the prune. */
void hs_node_remove_member(hs_node *n, uint64_t now_ms, const char *name, bool prune);
/* Undoes a removal. Our own name: we take a new incarnation and meet the members we know
 * and the join addresses again. */
void hs_node_readmit_member(hs_node *n, uint64_t now_ms, const char *name);
/* -1: not removed; else 0 or 1 (pruned). */
int hs_node_removed(const hs_node *n, const char *name);
size_t hs_node_removed_count(const hs_node *n);
const char *hs_node_removed_at(const hs_node *n, size_t i); /* NULL past the end */

/* ---- name conflicts ---- */

/* Quiet for good: we found our name held at another address that answers for it (the newer
 * claimant stops); *other gets that address. */
bool hs_node_stopped(const hs_node *n, hs_addr *other);
/* true while name is answered for at two addresses; *other: the one we do not hold. */
bool hs_node_conflict(const hs_node *n, const char *name, hs_addr *other);

/* ---- status history (hearsay explain) ---- */

#define HS_HISTORY_MAX   16 /* records kept per member (the oldest goes) */
#define HS_HISTORY_VOTES 8  /* voters kept per record */

typedef enum hs_history_what {
    HS_H_JOIN = 1,   /* alive (again) at inc */
    HS_H_UPDATE,     /* tags or address changed */
    HS_H_SUSPECT,    /* suspected: by = who raised it (a voter, or "" = our own probe) */
    HS_H_ALIVE,      /* the suspicion ended without a new incarnation (a probe answered) */
    HS_H_REFUTED,    /* refuted with a higher incarnation */
    HS_H_FAILED,     /* declared failed: by "" = by us, else learnt; votes: who voted, when */
    HS_H_LEFT,       /* left gracefully (or marked left by a removal) */
    HS_H_REMOVED,    /* removed by force-leave (the configuration) */
    HS_H_READMITTED, /* readmitted */
    HS_H_CONFLICT,   /* another address answered for its name: addr */
} hs_history_what;

typedef struct hs_history_entry {
    uint64_t at_ms; /* the node's clock */
    hs_history_what what;
    hs_status status; /* after the record */
    uint32_t inc;
    bool learnt;              /* heard from another member, not decided here */
    char by[HS_NAME_MAX + 1]; /* who raised or decided it ("": this node) */
    hs_addr addr;             /* CONFLICT: the other address; else the member's */
    size_t nvotes;            /* FAILED, ALIVE, REFUTED: the votes that stood */
    struct {
        char name[HS_NAME_MAX + 1]; /* "?" + hex when the voter is no longer known */
        uint64_t at_ms;
    } votes[HS_HISTORY_VOTES];
} hs_history_entry;

/* The records of name's history, oldest first (at most max); SIZE_MAX if name is not in the
 * table. A member that never left alive has none. */
size_t hs_node_history(const hs_node *n, const char *name, hs_history_entry *out, size_t max);
const char *hs_history_what_name(hs_history_what w); /* "suspect", "failed", ... */

/* ---- the operator's reachability test (membership_reach.c, `hearsay reachability`) ----
 * Pings every live member at once (the probes' own Ping); a member that has not answered
 * within probe_timeout is asked for through up to indirect_probes relays (PingReq), chosen
 * among the members that did answer the test directly, and one with no
 * answer either way by indirect_timeout (counted from the Ping) has none. A Pong that comes
 * after the relays were asked still counts as direct. No new message: the answers are the
 * probes' Pong and IndirectAck, matched by the Ping's sequence number. */
typedef enum hs_reach_result {
    HS_REACH_PENDING = 0,
    HS_REACH_DIRECT,  /* its Pong came back to us */
    HS_REACH_RELAYED, /* only a relay's IndirectAck did */
    HS_REACH_NONE,    /* no answer by indirect_timeout */
} hs_reach_result;

typedef struct hs_reach_member {
    char name[HS_NAME_MAX + 1];
    hs_addr addr;
    uint8_t result;  /* hs_reach_result */
    uint8_t relays;  /* relays asked (0: it answered directly in time) */
    uint32_t rtt_ms; /* from our Ping to the first answer (0 without one) */
} hs_reach_member;

/* Starts a test of every live member but us: how many are asked (0: none, the test has
 * ended at once), or -1 when a test is running, the node is quiet (removed, stopped as the
 * newer claimant of its name, leaving) or memory is short. */
long hs_node_reachability_start(hs_node *n, uint64_t now_ms);
bool hs_node_reachability_running(const hs_node *n);
/* The members of the running or last test in ring order, results so far; 0 before any. */
size_t hs_node_reachability_results(const hs_node *n, const hs_reach_member **out);
const char *hs_reach_result_name(hs_reach_result r); /* "direct", "relayed", "none", "pending" */

/* Encodes/decodes the tag form above from/to "k=v" strings; helpers for the agent. */
int hs_tags_validate(hs_tags tags);                     /* 0 if well formed and small enough */
const char *hs_tags_get(hs_tags tags, const char *key); /* value or NULL */
/* Iterates: *pos starts at 0; returns the next "k=v" string or NULL at the end. */
const char *hs_tags_next(hs_tags tags, size_t *pos);

#endif
