/* agent_internal.h: the state of one hs_agent (include/hearsay/agent.h), shared by agent.c
 * (routing, wiring and outputs) and agent_raft.c (a seed's Ready loop and what it applies). */
#ifndef HEARSAY_AGENT_INTERNAL_H
#define HEARSAY_AGENT_INTERNAL_H

#include "hearsay/agent.h"

#define AG_ROT_OPS    4  /* configuration operations of rotations in flight */
#define AG_NOTICES    64 /* notices waiting to be taken */
#define AG_NOTICE_LEN 240

typedef struct ag_packet {
    hs_addr to;
    uint8_t *data;
    size_t len;
    bool stream;
} ag_packet;

typedef struct ag_done {
    hs_agent_done d;
    hs_kr_answer *answers; /* owned copies of a survey's members or a rotation's pending */
    char (*pending)[HS_NAME_MAX + 1]; /* owned copy of a user operation's pending */
} ag_done;

/* An event and the payload it owns (user events). */
typedef struct ag_event {
    hs_agent_event e;
    uint8_t *payload;
} ag_event;

typedef struct ag_reply {
    hs_agent_reply r;
    uint8_t *payload;
} ag_reply;

/* A growable queue of fixed-size items, read from the front. */
typedef struct ag_queue {
    void *items;
    size_t n, read, cap, size;
} ag_queue;

struct hs_agent {
    uint64_t now;
    bool held; /* hs_agent_hold: taken outputs are not freed */
    hs_node *node;
    char name[HS_NAME_MAX + 1];
    /* operator controls (agent_operator.c): this agent's own settings and profile, the
     * profile in effect, the last version spread, why the agent must stop ("": it need not) */
    hs_config base;
    int base_profile, profile;
    uint64_t spread_version, spread_rng, op_digest;
    bool node_dirty; /* the node has outputs the wiring has not drained */
    char stop_why[AG_NOTICE_LEN];
    uint32_t incarnation;
    hs_envelope *env;
    hs_keyring *kr;
    hs_cfgc *cfgc;
    hs_cluster_config *cc;
    size_t n_seeds;
    hs_cc_seed seeds[HS_AGENT_SEEDS_MAX];
    /* a seed's Raft */
    bool seed, raft_failed;
    hs_raft *raft;
    hs_agent_storage st;
    uint64_t applied, snap_index, bootstrap_term, keys_term;
    uint64_t compact_every;
    /* rotations: which configuration operation belongs to which */
    struct {
        uint64_t cfgc_op, rotation;
    } rot_ops[AG_ROT_OPS];
    /* user events and queries */
    hs_ue *ue;
    /* outputs */
    ag_queue packets, events, dones, replies; /* ag_packet, ag_event, ag_done, ag_reply */
    char notices[AG_NOTICES][AG_NOTICE_LEN];
    int notice_level[AG_NOTICES];
    size_t nnotices, notice_read;
    unsigned persist;
};

/* agent.c */
void ag_notice(hs_agent *a, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ag_queue_packet(hs_agent *a, const hs_addr *to, const uint8_t *data, size_t len, bool stream);
/* The configuration changed (src/addr: where it came from): ring, version, event. */
void ag_config_changed(hs_agent *a, const char *src, const hs_addr *addr);
/* The configuration client, told first which Raft node and applied index it works with. */
hs_cfgc *ag_cfgc(hs_agent *a);

/* agent_operator.c: the configuration's fd settings and removals into the node; spread: push
 * a new version to a few members behind it. */
void ag_operator_apply(hs_agent *a, bool spread);
/* agent_user.c */
hs_ue *ag_user_start(hs_agent *a, const hs_agent_cfg *cfg, uint64_t now_ms);
/* Moves the user-event core's outputs into the agent's. */
void ag_user_drain(hs_agent *a);
void *ag_push(ag_queue *q);
/* Frees the payloads of the items taken from queue q (ag_event or ag_reply) and compacts it. */
void ag_user_begin(ag_queue *q, bool events);

/* agent_raft.c */
int ag_raft_start(hs_agent *a, const hs_agent_cfg *cfg, const char **why);
/* Runs the Ready loop until the Raft node has nothing more. */
void ag_raft_drive(hs_agent *a);
void ag_raft_tick(hs_agent *a);

#endif
