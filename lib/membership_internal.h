/* membership_internal.h: the data structures of one hs_node, shared by the membership_*.c
 * files that implement include/hearsay/membership.h. Nothing outside lib/ includes this.
 *
 * The member table is an array of heap-allocated members plus an open-addressing index by
 * name. The monitoring ring holds the live (alive or suspect) members sorted by the hash of
 * their names: a member's K predecessors on the ring are its observers (its vote group),
 * and a node probes each of its K successors (its subjects) once every K periods, at times
 * the subject asks for (membership_probe.c). */
#ifndef HEARSAY_MEMBERSHIP_INTERNAL_H
#define HEARSAY_MEMBERSHIP_INTERNAL_H

#include "hearsay/codec.h"
#include "hearsay/membership.h"
#include "prng.h"

#define HS_MAX_VOTE_GROUP 16
#define HS_MAX_CHECKS     64 /* outstanding probes of ours */
#define HS_MAX_RELAYS     64 /* indirect probes we run for others */
#define HS_MIN_PIGGYBACK  2  /* gossip entries on every Ping/Pong */
#define HS_SLAB_CLASSES   10 /* member sizes: 8-byte steps for names of 1..64 bytes */

/* One vote of an observer against a member at one incarnation. */
typedef struct hs_vote {
    uint64_t voter_hash; /* ring hash of the voter's name */
    uint64_t at_ms;
} hs_vote;

/* Exists while this node suspects a member or holds votes against it. */
typedef struct hs_suspicion {
    uint32_t inc;           /* incarnation the suspicion is about */
    uint32_t failed_rounds; /* our consecutive failed checks */
    uint32_t rounds_total;  /* checks run in this suspicion, to give up eventually */
    uint64_t next_round_ms; /* when our next check starts (0: none planned) */
    uint64_t my_vote_ms;    /* when we last voted (0: we have not) */
    uint64_t ready_ms;      /* since when our vote and a majority's stand (0: they do not) */
    uint32_t nvotes;
    hs_vote votes[HS_MAX_VOTE_GROUP];
} hs_suspicion;

/* One member. The fields a gossip entry is checked against come first and the name is kept
 * inline, so the common case (an entry that tells us nothing new) touches one allocation: a
 * 10,000-node simulation holds 10^8 of these. */
typedef struct hs_member {
    uint64_t ring_hash;
    uint32_t inc;
    uint8_t status;     /* hs_status */
    uint8_t bcast_left; /* retransmissions left for our update about it (< HS_BCAST_LEVELS) */
    uint16_t tags_len;
    int32_t bcast_pos;           /* index in its gossip queue level, or -1 */
    uint32_t index;              /* index in node->members */
    uint32_t ping_inc, ping_seq; /* newest Ping heard from it (0: none): replay filter */
    uint32_t reach_seq;          /* the Reach round it last answered, or the sample round
                                    that asks it (membership_quorum.c) */
    uint32_t reach_asked;        /* the last full Reach round that asked it */
    uint64_t status_since;
    uint64_t config_version;
    char *tags;
    hs_suspicion *susp;
    struct hs_history *hist; /* its status history (member_history.c); NULL until it has one */
    /* its address, 7 bytes (hs_member_addr): family 4 or 6, port, the IPv4 address or, for
     * IPv6, the slot of the address in node->v6 (member_table.c) */
    uint16_t port;
    uint8_t family;
    uint8_t ip4[4];
    char name[]; /* NUL-terminated, at most HS_NAME_MAX bytes */
} hs_member;

/* What a check is for: our periodic probe of a subject, a vote-group check of a suspect, or a
 * test of our own links while we hold back our return (membership_health.c). */
typedef enum hs_check_kind { HS_CHECK_PROBE, HS_CHECK_VERIFY, HS_CHECK_HEALTH } hs_check_kind;

/* An outstanding probe of ours: a direct Ping, followed or accompanied by PingReqs. */
typedef struct hs_check {
    uint32_t seq;
    uint64_t target_hash; /* the member, found again by name hash (members may be reaped) */
    char target[HS_NAME_MAX + 1];
    uint64_t indirect_at; /* send PingReqs then (0: already sent) */
    uint64_t end_at;      /* fails then without an ack */
    uint8_t kind;         /* hs_check_kind */
    bool used;
} hs_check;

/* Our own links, judged by our own checks (membership_health.c): whether a verdict against us
 * is a fault of ours that we must first see healed, or a mistake we refute at once. */
typedef struct hs_health {
    uint8_t recent;      /* outcomes of the last 8 counted checks, newest in bit 0: 1 failed */
    uint8_t counted;     /* how many of those 8 hold an outcome */
    uint32_t ok_streak;  /* counted checks in a row that succeeded */
    uint64_t last_fail;  /* when the last counted check failed (0: never) */
    bool held;           /* told we were declared failed (or reaped): our return waits */
    bool strict;         /* ... and our links were bad: the full readmission test applies */
    uint32_t held_inc;   /* the incarnation we were declared failed (or reaped) at */
    uint32_t held_ok;    /* checks in a row that succeeded since we were told */
    uint64_t next_check; /* the next check of our links while held (0: one is running) */
    uint64_t proof_at;   /* the last proof of life sent to our observers (0: none) */
} hs_health;

/* One of our subjects and when we probe it next. */
typedef struct hs_subject {
    hs_member *m;
    uint64_t due;
} hs_subject;

/* An indirect probe we run for another member: our Ping to the target, their seq. */
typedef struct hs_relay {
    uint32_t our_seq, their_seq;
    hs_addr requester;
    uint64_t expires;
    bool used;
} hs_relay;

/* What we keep of a reaped member (member_tombs.c): its last incarnation and status, so no
 * entry at or below them brings it back. The table is a min-heap by expiry plus a name index. */
typedef struct hs_tomb {
    uint64_t hash;    /* hs_hash_str(name) */
    uint64_t expires; /* local time it is forgotten: made + lifetime (one learnt from a peer
                         is shortened by the age it had there) */
    uint32_t seq;     /* arrival order: breaks ties of expires, so the first in is the first out */
    uint32_t slot;    /* its place in the name index */
    uint32_t inc;
    uint8_t status; /* HS_FAILED or HS_LEFT */
    char name[HS_NAME_MAX + 1];
} hs_tomb;

#define HS_MAX_TOMB_ANSWERS 16 /* tombstones named in one answer to a stale message */

#define HS_BCAST_LEVELS 256 /* retransmission counts are capped below this */

/* A name removed by force-leave (member_removed.c): a sorted array by hash. */
typedef struct hs_removed {
    uint64_t hash;
    bool prune;
    char name[HS_NAME_MAX + 1];
} hs_removed;

/* A claim that a live member's name is at another address (member_conflict.c): both
 * addresses are asked to answer for the name (a Ping with it as the target). */
#define HS_MAX_NAME_CHECKS 8
#define HS_MAX_CONFLICTS   16
typedef struct hs_name_check {
    bool used;
    bool self_stop;  /* about our own name, from an entry: we are the newer claimant */
    bool have_entry; /* the claim's entry, applied if the held address goes silent */
    bool confirmed;  /* both answered in an earlier round (a conflict reported) */
    uint64_t hash;
    char name[HS_NAME_MAX + 1];
    hs_addr addr[2]; /* [0] the address we hold (ours, for our own name), [1] the claimed */
    uint32_t seq[2]; /* the Ping sequence numbers they must answer */
    bool answered[2];
    uint32_t tries, rounds;
    uint64_t next_at, end_at;
    struct hs_entry_copy *entry;
} hs_name_check;

/* A conflict being reported (hs_node_conflict). */
typedef struct hs_conflict {
    uint64_t hash, until;
    char name[HS_NAME_MAX + 1];
    hs_addr other;
} hs_conflict;

/* A recent check that found a held address silent: a claim for that name and address is
 * taken without asking again for a while. */
typedef struct hs_gone_addr {
    uint64_t hash, until;
    hs_addr addr;
} hs_gone_addr;

/* One level of the gossip queue: members whose update has the same number of sends left. */
typedef struct hs_gossip_level {
    struct hs_member **items;
    uint32_t n, cap;
} hs_gossip_level;

typedef struct hs_outbuf {
    hs_packet pkt;
    uint8_t *owned;
} hs_outbuf;

/* Reach rounds: does a majority of the live members answer us (membership_quorum.c)? */
typedef struct hs_quorum {
    uint32_t seq;           /* nonce of the current or last round */
    uint32_t full_seq;      /* nonce of the last full round (to all live members) */
    bool full;              /* the running round is full, not a sample (while cut off) */
    uint64_t started;       /* start of the running round (0: none running) */
    uint64_t sent_at;       /* its latest REACHes (resent probe_timeout later) */
    uint64_t decide_at;     /* a majority answered: verdicts stand then (0: not yet) */
    size_t answers, need;   /* answers so far (ourselves included), a majority of the ring;
                               in a sample round: answers and members asked */
    size_t known;           /* in a sample round: members still live that answered the last
                               full round, ourselves included */
    uint64_t ring_version;  /* the ring when the latest round or sample started */
    uint64_t last_start;    /* ... and when */
    uint64_t ok_start;      /* start of the newest round that reached a majority (0: none) */
    uint64_t lost_since;    /* start of the first failed round since then (0: not lost) */
    uint64_t next_round_at; /* the next round while lost (0: only on demand) */
    uint32_t backoff_ms;
} hs_quorum;

typedef struct hs_ring_block hs_ring_block;
/* A walk over the ring in order: start zeroed, call hs_ring_next until it returns NULL. */
typedef struct hs_ring_iter {
    size_t b, o;
} hs_ring_iter;

struct hs_node {
    hs_config cfg;
    hs_prng rng;
    hs_member *self;
    bool leaving, joined;
    uint64_t leave_again_at; /* leaving: when our Leave is gossiped again (until we exit) */
    bool has_view; /* we hold another member's full view (a Meet); false from a first join until
                      then: a table that gossip trickled into decides no failures */
    uint64_t now;
    uint64_t config_version, max_seen_version;

    /* IPv6 addresses of members (a member holds the slot): free slots chain through port */
    hs_addr *v6;
    uint32_t nv6, v6_cap, v6_free;

    /* member table */
    struct hs_slab_chunk *slab;       /* where members live (member_slab.c) */
    void *slab_free[HS_SLAB_CLASSES]; /* freed members by size class */
    hs_member **members;
    size_t nmembers, members_cap;
    uint32_t *index; /* open addressing by name hash: positions in members (member_table.c) */
    size_t index_cap, index_used;

    /* monitoring ring: live members sorted by ring_hash, in blocks (member_ring.c) */
    hs_ring_block **rb;
    size_t nrb, rb_cap;
    size_t nring;
    uint64_t ring_version;
    bool quiet_merge; /* merging our first view as a joiner: nothing in it is news to others */

    /* probing */
    hs_subject subj[HS_MAX_VOTE_GROUP]; /* our subjects in ring order, with due times */
    size_t nsubj;
    uint64_t subj_ring_version; /* the ring the list was made from */
    uint64_t probe_anchor;      /* when we want our first observer's probes (mod K periods) */
    uint32_t next_seq;
    hs_check checks[HS_MAX_CHECKS];
    hs_relay relays[HS_MAX_RELAYS];
    hs_member **suspects; /* members with a suspicion */
    size_t nsuspects, suspects_cap;
    hs_quorum quorum;
    hs_health health;
    struct hs_reach *reach; /* the reachability test, running or ended (NULL: none yet) */

    /* gossip */
    hs_gossip_level *bq; /* gossip queue: bq[k] holds members with k sends left */
    size_t nbcast;       /* members queued at any level */
    uint64_t gossip_at;  /* 0 when nothing is pending */
    uint64_t sync_at, revive_at, housekeeping_at;
    uint32_t catchup_syncs; /* quick anti-entropy rounds left after we were declared failed */

    /* tombstones of reaped members (member_tombs.c) */
    hs_tomb *tombs; /* min-heap by (expires, seq): the oldest on top */
    size_t ntombs, tombs_cap;
    uint32_t *tomb_index; /* open addressing by name hash: heap position + 1, 0 empty */
    size_t tomb_index_cap;
    uint32_t tomb_seq;
    uint64_t tomb_life_ms; /* cfg.tombstone_ms, or its default */
    uint32_t tomb_max;     /* cfg.max_tombstones, or its default */
    /* tombstones to tell the sender of the message being handled (it knows less) */
    char tomb_answer[HS_MAX_TOMB_ANSWERS][HS_NAME_MAX + 1];
    size_t ntomb_answer;

    /* operator controls: removed names, name checks and conflicts, history scratch */
    hs_removed *removed; /* sorted by hash */
    size_t nremoved, removed_cap;
    bool removed_self;       /* our own name is removed: quiet until readmitted */
    bool stopped;            /* the newer claimant of our name: quiet for good */
    uint64_t stopping_until; /* ... after answering Pings until then, so the others can
                                confirm the conflict too (0: not stopping) */
    hs_addr stopped_by;
    bool merging;       /* inside hs_merge_entry: history records are learnt */
    bool claim_bypass;  /* applying a claim its check let through */
    bool from_claimant; /* the message being handled claims our own name as its sender */
    hs_name_check checks_name[HS_MAX_NAME_CHECKS];
    hs_conflict conflicts[HS_MAX_CONFLICTS];
    hs_gone_addr gone[HS_MAX_NAME_CHECKS];
    uint64_t name_check_at;    /* the earliest name-check deadline (0: none) */
    const hs_member *votes_of; /* the member whose last votes are stashed below */
    uint64_t stash_at;
    size_t nstash;
    hs_vote stash[HS_MAX_VOTE_GROUP];

    /* joining */
    hs_addr *join_addrs;
    size_t njoin;
    uint64_t join_retry_at;

    /* outputs */
    hs_outbuf *out;
    size_t nout, out_cap, out_read;
    hs_event *events;
    size_t nevents, events_cap, events_read;

    hs_node_stats stats;
};

/* member_slab.c */
hs_member *hs_slab_alloc(hs_node *n, size_t size); /* zeroed */
void hs_slab_release(hs_node *n, hs_member *m);
void hs_slab_free_all(hs_node *n);

/* member_table.c */
hs_member *hs_table_find(const hs_node *n, const char *name);
hs_member *hs_table_add(hs_node *n, const char *name, const hs_addr *addr);
void hs_table_remove(hs_node *n, hs_member *m);
/* A member's address, and setting it. */
hs_addr hs_member_addr(const hs_node *n, const hs_member *m);
/* true if m's address is a */
static inline bool hs_member_addr_is(const hs_node *n, const hs_member *m, const hs_addr *a)
{
    hs_addr have = hs_member_addr(n, m);
    return hs_addr_equal(&have, a);
}
void hs_member_set_addr(hs_node *n, hs_member *m, const hs_addr *a);
bool hs_is_live(const hs_member *m);

/* member_ring.c */
void hs_ring_insert(hs_node *n, hs_member *m);
void hs_ring_remove(hs_node *n, hs_member *m);
void hs_ring_free(hs_node *n);
size_t hs_ring_bytes(const hs_node *n);
/* The i-th live member in ring order (i < nring); costs a walk over the blocks. */
hs_member *hs_ring_at(const hs_node *n, size_t i);
hs_member *hs_ring_next(const hs_node *n, hs_ring_iter *it);
/* Our vote group size for the current ring (K, bounded by live members - 1). */
size_t hs_vote_group_size(const hs_node *n);
/* The observers of m (its K ring predecessors, m excluded). Returns how many. */
size_t hs_observers(const hs_node *n, const hs_member *m, hs_member **out, size_t max);
bool hs_is_observer(const hs_node *n, const hs_member *subject, uint64_t who_hash);
/* Our subjects: our K ring successors. Returns how many. */
size_t hs_subjects(const hs_node *n, hs_member **out, size_t max);
hs_member *hs_random_live(hs_node *n, const hs_member *exclude1, const hs_member *exclude2);

/* member_tombs.c */
void hs_tombs_init(hs_node *n);
void hs_tombs_free(hs_node *n);
/* Keeps a tombstone of m, which is about to be reaped. */
void hs_tomb_bury(hs_node *n, const hs_member *m);
/* An entry about a name not in the table: true if a tombstone refuses it (its incarnation is
 * at or below the tombstone's; the sender is told if it knows less). An entry above the
 * tombstone's incarnation (the member started again) forgets the tombstone. */
bool hs_tomb_refuses(hs_node *n, const char *name, uint32_t inc, uint8_t status);
/* A Ping or Pong whose sender is not in the table: tells it its tombstone if it claims to be
 * alive at or below the tombstone's incarnation (the member started again and must refute). */
void hs_tomb_check_sender(hs_node *n, const char *name, uint32_t inc);
/* Drops the tombstones older than their lifetime. */
void hs_tombs_expire(hs_node *n);
/* Sends `to` the tombstones that fit one datagram (all of them, or a window starting at a
 * random one), nothing if we hold none: part of the full-state exchange. */
void hs_send_tombs(hs_node *n, const hs_addr *to);
void hs_recv_tombs(hs_node *n, hs_reader *r);
/* Sends the sender of the message just handled the tombstones it did not know, in one
 * datagram no larger than that message (request_len); then forgets the list. */
void hs_tombs_answer(hs_node *n, const hs_addr *to, size_t request_len);

/* membership.c: outputs */
void hs_emit(hs_node *n, const hs_addr *to, uint8_t *data, size_t len);
void hs_event_push(hs_node *n, hs_event_type t, const hs_member *m, hs_status prev);
void hs_set_status(hs_node *n, hs_member *m, hs_status s);

/* membership_merge.c */
typedef struct hs_entry {
    char name[HS_NAME_MAX + 1];
    hs_addr addr;
    uint32_t inc;
    uint8_t status;
    uint16_t tags_len;
    const uint8_t *tags; /* points into the received message */
} hs_entry;
/* Applies one gossip entry; returns true if it changed our state (then it is rebroadcast). */
bool hs_merge_entry(hs_node *n, const hs_entry *e);
/* An entry with its tags copied (a claim held until its name check ends). */
typedef struct hs_entry_copy {
    hs_entry e;
    uint8_t tags[HS_TAGS_MAX];
} hs_entry_copy;

/* member_removed.c */
bool hs_removed_has(const hs_node *n, const char *name);
void hs_removed_free(hs_node *n);
/* The sender a message claims (Ping, Pong, Meet, Gossip: the sender; Suspect, Vote: who
 * raised or cast it); false for the other types or a malformed header. */
bool hs_msg_sender(const uint8_t *data, size_t len, char *name, uint32_t *seq);

/* member_conflict.c */
/* An entry about the live member m (or ourselves) names another address: true if a name
 * check took it (the entry must not be applied now). */
bool hs_claim_check(hs_node *n, hs_member *m, const hs_entry *e);
/* A message arrived (before its handler): Pongs answering a name check, Pings from our name. */
void hs_claims_note(hs_node *n, const hs_addr *from, uint8_t type, const char *sender,
                    uint32_t seq);
void hs_claims_tick(hs_node *n);
void hs_claims_free(hs_node *n);
/* The newer claimant's last window is over: quiet for good (an HS_EV_CONFLICT about us). */
void hs_claims_stopping(hs_node *n);

/* member_history.c */
/* Stashes m's standing votes before its suspicion is cleared (the next record of m takes
 * them). */
void hs_history_stash(hs_node *n, const hs_member *m);
/* Records what an event says about m (called by hs_event_push). */
void hs_history_event(hs_node *n, hs_member *m, hs_event_type t, hs_status prev);
void hs_history_note(hs_node *n, hs_member *m, hs_history_what what, const char *by,
                     const hs_addr *addr);
void hs_history_free(hs_member *m);
/* member_table.c: the member whose ring hash is h, or NULL. */
hs_member *hs_table_find_hash(const hs_node *n, uint64_t h);

/* gossip_queue.c */
void hs_bcast_queue(hs_node *n, hs_member *m);
void hs_bcast_queue_limited(hs_node *n, hs_member *m, uint32_t sends);
void hs_bcast_remove(hs_node *n, hs_member *m);
/* Counts one send of m's update; drops it from the queue after its last. */
void hs_bcast_sent(hs_node *n, hs_member *m);
void hs_bcast_free(hs_node *n);
/* Takes a higher incarnation; everyone: gossip it to all, else only to our vote group. */
void hs_refute(hs_node *n, uint32_t seen_inc, bool everyone);
uint32_t hs_retransmit_limit(const hs_node *n);
/* Declared failed: three quick anti-entropy exchanges pick up what others said meanwhile. */
void hs_catch_up(hs_node *n);

/* membership_codec.c */
size_t hs_entry_size(const hs_member *m);
void hs_put_entry(const hs_node *n, hs_writer *w, const hs_member *m);
bool hs_get_entry(hs_reader *r, hs_entry *e);
void hs_put_addr(hs_writer *w, const hs_addr *a);
bool hs_get_addr(hs_reader *r, hs_addr *a);
bool hs_name_valid(const char *s);

/* membership_gossip.c */
/* Appends piggybacked entries (count byte then entries) within the writer's capacity. */
void hs_put_piggyback(hs_node *n, hs_writer *w, const hs_member *peer);
/* Reads piggybacked entries and merges them; returns false if malformed. */
bool hs_read_piggyback(hs_node *n, hs_reader *r);
void hs_gossip_tick(hs_node *n);
void hs_gossip_soon(hs_node *n);
void hs_send_meet(hs_node *n, const hs_addr *to, uint8_t type, bool join);
void hs_recv_meet(hs_node *n, const hs_addr *from, hs_reader *r, uint8_t type);
void hs_sync_tick(hs_node *n);
void hs_revive_tick(hs_node *n);
void hs_send_gossip_to(hs_node *n, const hs_addr *to);
/* A Gossip message carrying m's entry alone. */
void hs_send_entry_to(hs_node *n, const hs_member *m, const hs_addr *to);

/* membership_probe.c */
void hs_probe_tick(hs_node *n);
/* Drops a member about to be freed from our subject list. */
void hs_probe_forget(hs_node *n, const hs_member *m);
void hs_checks_tick(hs_node *n);
void hs_recv_ping(hs_node *n, const hs_addr *from, hs_reader *r);
void hs_recv_pong(hs_node *n, const hs_addr *from, hs_reader *r);
void hs_recv_pingreq(hs_node *n, const hs_addr *from, hs_reader *r);
void hs_recv_indirect_ack(hs_node *n, hs_reader *r);
void hs_note_alive_evidence(hs_node *n, hs_member *m, uint32_t inc);
uint64_t hs_probe_next_deadline(const hs_node *n);
void hs_start_verify(hs_node *n, hs_member *m);
/* A test of our own links: a check of m whose failure suspects nobody. */
void hs_start_health_check(hs_node *n, hs_member *m);
void hs_send_ping(hs_node *n, hs_member *target, const hs_addr *to, uint32_t seq);
/* Asks via to Ping target for us; its INDIRECT_ACK carries seq. */
void hs_send_pingreq(hs_node *n, hs_member *target, hs_member *via, uint32_t seq);
void hs_note_config_version(hs_node *n, hs_member *m, uint64_t v);

/* membership_reach.c: the operator's reachability test (hs_node_reachability_start) */
/* A Pong (relayed false; sender: who sent it) or an INDIRECT_ACK (relayed true, sender NULL)
 * with seq: true if it answers the test (then the Pong is proof of life). */
bool hs_reach_ack(hs_node *n, uint32_t seq, const hs_member *sender, bool relayed);
void hs_reach_tick(hs_node *n);
uint64_t hs_reach_next_deadline(const hs_node *n);
void hs_reach_free(hs_node *n);

/* membership_vote.c */
void hs_recv_suspect(hs_node *n, hs_reader *r);
void hs_recv_vote(hs_node *n, hs_reader *r);
void hs_suspect_start(hs_node *n, hs_member *m, bool from_own_probe);
void hs_suspicion_clear(hs_node *n, hs_member *m);
void hs_check_failed(hs_node *n, hs_member *m);
void hs_check_succeeded(hs_node *n, hs_member *m);
void hs_votes_tick(hs_node *n);
uint64_t hs_votes_next_deadline(const hs_node *n);
/* Declares every suspect whose verdict waited for a Reach round that has now succeeded. */
void hs_votes_decide_waiting(hs_node *n);
/* A Reach round failed (we are cut off): our own votes and failed-check streaks start over. */
void hs_votes_restart_own(hs_node *n);
/* The first Reach round to succeed after a cut: our votes start over and every suspect we
 * may still check gets a fresh check (one that can see it, now that we are in touch). */
void hs_votes_recheck_own(hs_node *n);

/* membership_health.c */
/* Counts the outcome of one of our checks that ended at end_at (ignored when we were not running
 * then: a stopped process learns nothing about its links). */
void hs_health_note(hs_node *n, bool ok, uint64_t end_at);
/* We were told we are failed (or reaped) at inc: refute after a few quick checks of our links
 * if they were fine, else once they have been fine for readmit_ms. */
void hs_health_declared_failed(hs_node *n, uint32_t inc);
/* Someone suspects us at inc: prove we are alive to our vote group (a fresh Ping each), without
 * a new incarnation, unless they know an incarnation of ours newer than our own. */
void hs_prove_alive(hs_node *n, uint32_t inc);
void hs_health_tick(hs_node *n);
uint64_t hs_health_next_deadline(const hs_node *n);

/* membership_quorum.c */
/* True if a Reach round that started at or after `since` found a majority while the suspects
 * still in our table stayed silent (or the cluster is too small to ask, or the fallback delay
 * has passed); otherwise asks for such a round. */
bool hs_quorum_confirms(hs_node *n, uint64_t since);
void hs_quorum_tick(hs_node *n);
uint64_t hs_quorum_next_deadline(const hs_node *n);
void hs_recv_reach(hs_node *n, const hs_addr *from, hs_reader *r, uint8_t type);

#endif
