/* raft_internal.h: private to the Raft core (lib/raft*.c): the node's state and the few
 * helpers shared between the protocol (raft.c) and the Ready/lifecycle code (raft_ready.c). */
#ifndef HEARSAY_RAFT_INTERNAL_H
#define HEARSAY_RAFT_INTERNAL_H

#include "hearsay/raft.h"
#include "prng.h"
#include "raft_log.h"

typedef struct progress {
    uint64_t id, match, next;
    uint64_t read_ack; /* highest ReadIndex round this peer acknowledged in this term */
    bool active;       /* heard from since the last check-quorum */
} progress;

typedef struct pending_read {
    uint64_t ctx, from, index, round;
} pending_read;

struct hs_raft {
    uint64_t id;
    hs_prng rng; /* election timeouts */
    uint32_t emin, emax, hb;
    hs_raft_role role;
    uint64_t term, vote, lead, commit, applied;
    hs_raft_log log;
    uint64_t stable; /* last index known to be durable */
    hs_raft_snapshot snap;
    bool snap_unstable;
    hs_raft_conf conf;
    uint64_t conf_through; /* conf entries up to here are applied to conf */
    uint64_t pending_conf_index;

    progress prs[HS_RAFT_MAX_PEERS];
    uint32_t nprs;
    uint64_t vote_ids[HS_RAFT_MAX_PEERS];
    bool vote_granted[HS_RAFT_MAX_PEERS];
    uint32_t nvotes;

    uint64_t now;
    uint64_t election_deadline, heartbeat_deadline, checkq_deadline;
    uint32_t cur_timeout;
    uint64_t last_leader_contact;

    uint64_t read_round;
    pending_read *reads;
    size_t nreads, capreads;

    hs_raft_msg *msgs;
    size_t nmsgs, capmsgs;
    hs_raft_read_state *rstates;
    size_t nrstates, caprstates;

    /* recovering: see hs_raft_hard_state. recover_read is the read index a leader answered
     * this node's probe with in term recover_term (0: none yet); recover_lead that leader. */
    bool recovering;
    uint64_t recover_read, recover_term, recover_lead;
    uint64_t recover_probe_at; /* no probe before this time (one per election_min_ms) */

    hs_raft_hard_state prev_hs;
    hs_raft_role prev_role;
    uint64_t prev_lead, prev_term;
    bool ready_out;
};

/* Deep copy (data duplicated). 0 or HS_RAFT_ENOMEM. */
int hs_raft__snapshot_copy(hs_raft_snapshot *dst, const hs_raft_snapshot *src);
/* Frees a message's entries and snapshot data. */
void hs_raft__free_msg(hs_raft_msg *m);
/* Draws a new election timeout from [emin, emax) and restarts the election timer. */
void hs_raft__reset_election_timer(hs_raft *r);
/* Applies the membership changes among entries (those not applied yet), as they are handed to
 * the application; a leader that removed itself steps down. */
void hs_raft__apply_conf_entries(hs_raft *r, const hs_raft_entry *ents, size_t n);
/* Called once entries became durable: a leader may now count itself and commit. */
void hs_raft__after_persist(hs_raft *r);

#endif
