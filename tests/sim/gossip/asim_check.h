/* asim_check.h: what the agent simulator knows to be true and the invariants it checks after
 * every step: the committed log and the configuration it yields (asim_truth.c), and what
 * every agent delivers, seals, shows and holds against it (asim_check.c). */
#ifndef HS_SIM_ASIM_CHECK_H
#define HS_SIM_ASIM_CHECK_H

#include "asim.h"

/* ---- asim_truth.c: the committed log and the reference configuration ---- */
as_truth *truth_new(void);
void truth_free(as_truth *t);
/* A seed holds entry e durably and committed (every index once per seed, in order; entries
 * a snapshot covered are passed as NULL). Checks it against what other seeds committed
 * (State Machine Safety); a new index is applied to the reference configuration. */
void truth_committed(as_sim *s, uint32_t seed, uint64_t index, const hs_raft_entry *e);
uint64_t truth_commit_index(const as_truth *t);
const hs_cluster_config *truth_config(const as_truth *t);
/* The write (index into s->writes) key k holds in c: -1 when absent, -2 for a value no write
 * made. */
int64_t truth_value_of(const as_sim *s, const hs_cluster_config *c, uint32_t k);
/* The write key k held at configuration version v of the committed log; -1: none. */
int64_t truth_value_at(const as_truth *t, uint32_t k, uint64_t version);
/* When the removal of the key with this id committed, and when the rotation that removed it
 * completed (*done_us; either UINT64_MAX: not yet / never). */
uint64_t truth_removed_at(const as_truth *t, const uint8_t id[HS_ENV_KEY_ID_BYTES],
                          uint64_t *done_us);
/* A rotation completed: every removal committed so far is confirmed everywhere. */
void truth_rotation_done(as_truth *t, uint64_t now_us);
size_t truth_removed_count(const as_truth *t);
uint64_t truth_duplicates(const as_truth *t); /* requests answered from a session */

/* ---- asim_check.c: the invariants ---- */
typedef struct as_check_stats {
    uint64_t deliveries;      /* delivered-at-most-once checks (one per delivery) */
    uint64_t key_checks;      /* seal and delivery checks against the removed keys */
    uint64_t config_checks;   /* configuration versions and values against the log */
    uint64_t view_checks;     /* member events and table entries against departures */
    uint64_t reply_checks;    /* replies to unproven sources against what they answer */
    uint64_t storage_checks;  /* storage callbacks checked for order */
    uint64_t log_checks;      /* committed entries compared across seeds */
    uint64_t control_removed; /* channel control sealed under a removed key (a lagging ring) */
    uint64_t lag_old_key;     /* delivered under a removed key, sealed before the removal, by an
                                 agent that had not applied it yet, before the rotation ended */
    uint64_t replay_delivered_first;    /* replays delivered before (or without) their original */
    uint64_t replay_delivered_redirect; /* replays delivered to another agent than the original */
} as_check_stats;

as_checks *checks_new(uint32_t n);
void checks_free(as_checks *c);
const as_check_stats *checks_stats(const as_checks *c);
uint64_t checks_total(const as_checks *c);
as_check_stats *checks_counters(as_checks *c);

/* Agent i put a sealed envelope on the wire; core: it carries a core payload. */
void check_seal(as_sim *s, uint32_t i, const uint8_t *wire, size_t len, bool core);
/* Agent j's channel delivered message m (from who) to its cores. */
void check_delivered(as_sim *s, uint32_t j, const as_msg *m, const hs_ch_sender *who, bool stream);
void check_event(as_sim *s, uint32_t i, const hs_agent_event *e);
void check_config(as_sim *s, uint32_t i);
/* Every running agent's member table against the departures it has seen. */
void check_views(as_sim *s);
/* What a channel sent back to an unproven source against the datagram it answered. */
void check_reply(as_sim *s, size_t in_len, size_t out_len);
/* Bytes to and from addresses that are no agent's (forged sources, the attacker). */
void check_stranger_bytes(as_sim *s, const hs_addr *a, size_t len, bool to_it);

#endif
