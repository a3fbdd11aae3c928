/* asim.h: the agent simulator under `hearsay-sim replay`: N whole agents (hs_agent; the first
 * three are seeds with in-memory Raft storage) behind real secure channels (hs_channel) on a
 * virtual network of datagrams and ordered streams, an attacker that records and replays
 * (asim_attack.c), and the invariants checked after every step (asim_check.c, asim_truth.c).
 * It reuses the gossip simulator's event heap (heap.h) and random numbers (rng.h). */
#ifndef HS_SIM_ASIM_H
#define HS_SIM_ASIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/agent.h"
#include "hearsay/channel.h"
#include "heap.h"
#include "rng.h"

#define AS_SEEDS     3
#define AS_PORT      7946
#define AS_KEYS      16      /* configuration keys the workload writes: k0 .. k15 */
#define AS_IDLE_US   5000000 /* an outbound stream idle this long is closed (the daemon's) */
#define AS_DGRAM_MAX 2048

/* Heap event kinds (heap.h keeps them opaque). */
enum { AS_EV_TIMER = 1, AS_EV_DGRAM, AS_EV_SYN, AS_EV_FRAME, AS_EV_ATTACK, AS_EV_FLOOD };

/* Where a message on the wire came from: the cluster itself or one of the attacker's moves. */
enum {
    AS_O_CLUSTER = 0,
    AS_O_DGRAM_REPLAY,  /* a recorded datagram, again, from a chosen source */
    AS_O_MEET_FLOOD,    /* a recorded Meet from one of 1,000 forged sources */
    AS_O_STREAM_NEW,    /* a recorded frame as the first frame of the attacker's own stream */
    AS_O_STREAM_INJECT, /* a recorded frame inserted into a live stream (either way) */
    AS_O_COUNT
};

enum as_state { AS_IDLE = 0, AS_RUNNING, AS_LEAVING, AS_GONE };

typedef struct as_store as_store;
typedef struct as_attacker as_attacker;
typedef struct as_truth as_truth;
typedef struct as_checks as_checks;

/* An operation the scenario started on an agent: which write or rotation it is. */
typedef struct as_op {
    uint64_t op;
    int what; /* HS_AGENT_DONE_CONFIG (a write) or HS_AGENT_DONE_ROTATE */
    uint32_t index;
} as_op;

typedef struct as_agent {
    int state;
    hs_agent *a;
    hs_channel *ch;
    hs_envelope env;
    as_store *st; /* seeds only */
    hs_addr addr;
    char name[16];
    uint64_t timer_us;
    uint32_t gen;
    uint64_t left_us;     /* hs_agent_leave was called (0: never) */
    uint64_t gone_us;     /* the process exited */
    uint64_t cfg_version; /* the configuration version the last check saw */
    as_op *ops;           /* operations in flight */
    size_t nops, capops;
    uint32_t *outs; /* outbound connections (indices into conns) */
    size_t nouts, capouts;
    bool cut; /* partitioned from everyone: what it sends and what is sent to it is lost */
    /* what it saved, given back when it starts again (as_restart): the user-event horizon and
     * a non-seed's configuration (the key ring is not kept: restarts and rotations do not mix) */
    uint64_t ue_horizon;
    hs_cluster_config *saved_cfg;
    uint64_t started_us; /* its current run began */
} as_agent;

typedef struct as_msg {
    uint8_t *data;
    uint32_t len, cap;
    hs_addr from, to;
    uint32_t conn, serial; /* streams: the connection and its serial when the frame left */
    uint8_t dir;           /* streams: 0 connector -> acceptor, 1 acceptor -> connector */
    uint8_t origin;        /* AS_O_* */
    int32_t rec_to;        /* replays: the agent the recorded original went to (-1: none) */
    uint64_t sealed_us;    /* when it was sealed (replays: when the original was) */
    uint32_t next_free;
} as_msg;

typedef struct as_pending {
    uint8_t *data;
    size_t len;
} as_pending;

/* A stream: one TCP connection as ordered byte sequences of frames, each way. */
typedef struct as_conn {
    uint32_t serial; /* 0: free */
    int from;        /* connecting agent, -1 for the attacker */
    int to;          /* accepting agent */
    hs_addr src, dst;
    uint8_t origin;      /* AS_O_CLUSTER, or the attacker's move */
    bool accepted;       /* the acceptor sent its challenge */
    hs_ch_stream cs_out; /* the connector's channel state */
    hs_ch_stream cs_in;  /* the acceptor's */
    uint64_t last_at[2]; /* arrival time of the last frame sent each way (keeps the order) */
    uint64_t used_us;    /* last frame written by the connector */
    as_pending *q;       /* payloads waiting for the challenge */
    size_t nq, capq;
    int32_t replay_rec; /* attacker streams: the recording it will send (-1: none) */
    uint32_t next_free;
} as_conn;

typedef struct as_write {
    uint32_t agent;
    uint32_t key;
    uint64_t start_us, answer_us, commit_us; /* UINT64_MAX until it happens */
    int result;                              /* -1 until answered */
} as_write;

typedef struct as_rotation {
    uint32_t agent;
    uint32_t attempts; /* a failed rotation is run again with the same key, as an operator would */
    uint64_t start_us, end_us;
    bool ok;
    int step;
    char why[96];
    uint8_t key[HS_ENV_KEY_BYTES];
} as_rotation;

typedef struct as_opts {
    uint32_t n;
    uint64_t seed;
    double loss;
    uint32_t lat_us, jitter_us;
    uint64_t reap_ms;
    bool trace;
} as_opts;

typedef struct as_sim as_sim;
struct as_sim {
    uint32_t n;
    as_agent *ag;
    sim_heap heap;
    sim_rng net_rng;
    uint64_t seed, now_us;
    double loss;
    uint32_t lat_us, jitter_us;
    uint64_t reap_ms;
    bool trace;
    as_msg *msgs;
    uint32_t nmsgs, msg_free;
    size_t capmsgs;
    as_conn *conns;
    uint32_t nconns, conn_free, next_serial;
    size_t capconns;
    as_attacker *atk;
    as_truth *truth;
    as_checks *chk;
    as_write *writes;
    size_t nwrites, capwrites;
    as_rotation *rots;
    size_t nrots, caprots;
    uint64_t digest;
    bool failed;
    char fail_msg[320];
    /* traffic */
    uint64_t dgrams, frames, dgrams_lost, conns_opened, conns_refused, conns_killed;
    uint64_t stream_payloads_lost, notices_err, notices_warn, core_calls, timer_stuck;
    uint64_t verdicts[2][HS_CH_VERDICT_COUNT]; /* cluster traffic: [stream][verdict] */
    /* user events and queries (scen_user.c): called for every user-event or query event, query
     * reply and user operation's end an agent outputs */
    void (*on_user_event)(struct as_sim *s, uint32_t i, const hs_agent_event *e);
    void (*on_reply)(struct as_sim *s, uint32_t i, const hs_agent_reply *r);
    void (*on_user_done)(struct as_sim *s, uint32_t i, const hs_agent_done *d);
    void *user_ctx;
    uint8_t *sealbuf; /* sealed frames (grows) */
    size_t sealcap;
    uint8_t scratch[1 << 21]; /* opened payloads */
};

/* ---- asim.c: life cycle and run loop ---- */
as_sim *as_new(const as_opts *o);
void as_free(as_sim *s);
hs_addr as_addr(uint32_t i);
int as_index_of_addr(const as_sim *s, const hs_addr *a); /* -1: not an agent */
int as_index_of_name(const as_sim *s, const char *name);
static inline uint64_t as_now_ms(const as_sim *s)
{
    return s->now_us / 1000;
}
void as_start(as_sim *s, uint32_t i);
void as_leave(as_sim *s, uint32_t i);
void as_exit(as_sim *s, uint32_t i);
/* Cuts agent i off from every other agent (cut) or heals it; its connections are closed
 * both times (after a heal new ones are opened, as TCP reconnects). */
void as_cut(as_sim *s, uint32_t i, bool cut);
/* Starts an agent that exited again: a new channel instance, its saved user-event horizon. */
void as_restart(as_sim *s, uint32_t i);
/* Runs every event up to t_us; stops early once an invariant failed. */
void as_run_until(as_sim *s, uint64_t t_us);
/* Drains an agent's outputs after a call into it, checks it and re-arms its timer. */
void as_after_call(as_sim *s, uint32_t i);
void as_op_add(as_sim *s, uint32_t i, uint64_t op, int what, uint32_t index);
void as_fail(as_sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void as_digest(as_sim *s, const void *p, size_t n);
void as_trace(const as_sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The Raft leader among the running seeds, or -1. */
int as_leader(const as_sim *s);
static inline bool as_alive(const as_sim *s, int i)
{
    return i >= 0 && (uint32_t)i < s->n &&
           (s->ag[i].state == AS_RUNNING || s->ag[i].state == AS_LEAVING);
}

/* ---- asim_net.c: the network and the channels ---- */
/* A core payload from agent i, sealed by its channel and sent. */
void net_send_payload(as_sim *s, uint32_t i, const hs_agent_packet *p);
/* The attacker's datagram onto the wire, from any address it chooses (rec_to: where the
 * recorded original went, -1 if none; sealed_us: when the original was sealed). */
void net_inject_dgram(as_sim *s, const hs_addr *from, const hs_addr *to, const uint8_t *wire,
                      size_t len, uint8_t origin, int32_t rec_to, uint64_t sealed_us);
/* The attacker's frame onto connection c, direction dir (0: to the acceptor). */
void net_inject_frame(as_sim *s, uint32_t c, uint8_t dir, const uint8_t *wire, size_t len,
                      uint8_t origin);
/* Opens a stream from the attacker to agent `to`; it will send recording rec once challenged. */
void net_attacker_connect(as_sim *s, uint32_t to, const hs_addr *src, int32_t rec);
void net_close(as_sim *s, uint32_t c);
void net_close_agent(as_sim *s, uint32_t i);
/* Handles one heap event of kind AS_EV_DGRAM, AS_EV_SYN or AS_EV_FRAME. */
void net_event(as_sim *s, const sim_event *e);

/* ---- asim_store.c: a seed's Raft storage, in memory, with its order checked ---- */
as_store *store_new(as_sim *s, uint32_t owner);
void store_free(as_store *st);
hs_agent_storage store_callbacks(as_store *st);
uint64_t store_violations(const as_store *st);
size_t store_unsynced(const as_store *st); /* entries appended but not yet synced */

#endif
