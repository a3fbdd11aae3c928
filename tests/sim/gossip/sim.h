/* sim.h: the deterministic gossip simulator's shared state and its driving API.
 * One sim holds N unmodified hs_node cores, a virtual clock (microseconds; the cores see
 * milliseconds), a virtual network (net.c), the observed views and invariants (view.c).
 * Scenarios (scen_*.c) advance time with sim_run_until and inject faults in between. */
#ifndef HS_SIM_SIM_H
#define HS_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/membership.h"
#include "heap.h"
#include "rng.h"

#define SIM_GROUPS    8 /* partition groups */
#define SIM_NO_TIME   UINT64_MAX
#define SIM_PORT      7946
#define SIM_QUEUE_MAX 4096 /* datagrams a paused node's socket buffer holds */

typedef enum sim_state {
    NS_IDLE,    /* never started */
    NS_RUNNING, /* process running */
    NS_PAUSED,  /* process stopped (SIGSTOP): input queues, timers wait */
    NS_CRASHED, /* process dead; may be restarted with its persisted incarnation */
    NS_GONE,    /* left gracefully and exited */
} sim_state;

typedef struct sim_node {
    hs_node *core;
    sim_state state;
    bool left; /* hs_node_leave called: no longer an observer, expected "left" */
    bool ever_started;
    uint32_t gen;         /* bumped at every crash/restart: stale timer entries are skipped */
    uint32_t starts;      /* instances started so far (derives each instance's seed) */
    uint64_t timer_us;    /* time of the live timer entry, SIM_NO_TIME if none */
    uint32_t incarnation; /* last persisted (HS_EV_INCARNATION) */
    uint8_t group;        /* partition group */
    double in_loss, out_loss;
    uint32_t *queue; /* message slots held while paused */
    size_t qlen, qcap;
    uint64_t bytes_out, pkts_out, bytes_in, pkts_in;
    uint64_t since_us; /* time of the last state change */
    /* departed (left or crashed) and reaped by someone: no view may show it alive or
       suspect again before this time (its tombstones' lifetime; 0: not departed) */
    uint64_t ghost_guard_us;
} sim_node;

typedef struct sim_msg {
    uint32_t from, to, len, cap;
    uint32_t next_free;
    bool stream;
    uint8_t *data;
} sim_msg;

typedef struct sim_net {
    uint32_t lat_us, jitter_us;         /* one-way latency: uniform in lat +- jitter */
    double loss;                        /* uniform datagram loss */
    double dup;                         /* probability a datagram is delivered twice */
    double reorder;                     /* probability a datagram gets extra delay */
    uint32_t reorder_us;                /* extra delay: uniform in [0, reorder_us] */
    bool block[SIM_GROUPS][SIM_GROUPS]; /* block[a][b]: a cannot send to b */
    bool partitioned;                   /* any block set */
    uint64_t sent, dropped, delivered, duplicated, unroutable;
} sim_net;

/* One pending measurement: when did every observer first show subject with status. */
typedef struct sim_watch {
    uint32_t subject;
    hs_status status;
    uint64_t start_us, first_us, all_us; /* first/all: SIM_NO_TIME until reached */
    bool active;
} sim_watch;

#define SIM_MAX_WATCH  64
#define SIM_TRACE_RING 256
#define VIEW_UNKNOWN   4 /* status index for "not in the table" */

typedef struct sim_trace_rec {
    uint64_t t_us;
    uint32_t node, subject, inc;
    uint8_t what, status; /* what: hs_event_type or 100+ fault kind */
} sim_trace_rec;

typedef struct sim_view {
    uint8_t *m;         /* m[obs * n + subj]: status index 0..3 or VIEW_UNKNOWN */
    uint32_t (*cnt)[4]; /* per subject: observers holding it with each status */
    uint32_t observers; /* RUNNING or PAUSED and not left */
    int16_t *watch_of;  /* per subject: index in watches or -1 */
    sim_watch watches[SIM_MAX_WATCH];
    /* stability: per (observer, flagged subject) alive<->failed flips */
    uint32_t *flips;  /* flips[obs * nflag + k] */
    uint32_t *sflaps; /* suspect episodes per (obs, k) */
    int32_t *flag_of; /* per subject: flagged index or -1 */
    uint32_t nflag;
    /* pending "crashed node must be failed everywhere" checks, FIFO (deadlines ascend) */
    struct {
        uint32_t subject, gen;
        uint64_t deadline_us;
    } * crash_chk;
    size_t chk_head, chk_len, chk_cap;
    /* counters */
    uint64_t events, false_fails, false_suspects, majority_suspects, status_mismatch;
    uint64_t unknown_subject;
    uint64_t silent_learned; /* table members with no event (learned failed/left) */
    /* trace */
    sim_trace_rec ring[SIM_TRACE_RING];
    uint64_t ring_n;
    uint64_t digest;
} sim_view;

typedef struct sim_opts {
    uint32_t nodes;
    uint64_t seed;
    double duration_s; /* scenario-specific meaning; <0 means the scenario default */
    double loss;       /* <0: scenario default */
    double dup, reorder;
    double lat_ms, jitter_ms;
    uint32_t trials;
    double restart_after_s; /* invariants/chaos: min seconds down before a restart (<0: default) */
    const char *kind;       /* disseminate: join|leave|fail */
    bool trace;             /* print every observed event to stderr */
    bool hash_packets;
    bool quiet;
    bool invariants_only; /* exit status reflects invariants only; goals are advisory */
} sim_opts;

typedef struct sim {
    uint32_t n; /* node slots */
    sim_node *nodes;
    sim_msg *msgs;
    uint32_t nmsgs, msg_free;
    sim_heap heap;
    sim_net net;
    sim_view view;
    sim_rng net_rng;
    sim_rng rng; /* scenario choices */
    uint64_t seed;
    uint64_t now_us;
    uint32_t seeds[3];
    uint32_t nseeds;
    /* invariant switches (set by scenarios) */
    bool strict_no_false_fail;     /* loss-free run: a live reachable node must never fail */
    bool check_majority;           /* no healthy node suspected by a majority */
    bool protect_group0;           /* partitions: no healthy node of group 0 (the majority side)
                                      may ever be shown failed, by either side */
    uint64_t group1_failed;        /* failed marks of group-1 nodes (the minority side) */
    uint64_t crash_bound_us;       /* crashed node failed everywhere within this (0: off) */
    uint64_t reap_ms;              /* cores' reap times, failed and left (0: the defaults) */
    uint64_t tomb_ms;              /* cores' tombstone lifetime (0: the default) */
    struct sim_replayer *replayer; /* records what nodes send, for replays (replay.c) */
    uint64_t revivals_late;        /* departed members shown alive after their guard ended */
    bool failed;                   /* an invariant broke */
    char fail_msg[256];
    bool trace;
    bool hash_packets;
    bool invariants_only;
    uint64_t timer_stuck; /* next_deadline <= now right after a tick */
    uint64_t core_calls;
    double boot_wall_s; /* wall seconds the bootstrap took (-1: none) */
    uint64_t boot_sim_us;
} sim;

/* Lifecycle. n node slots; nothing is started. */
sim *sim_new(uint32_t n, const sim_opts *o);
void sim_free(sim *s);

/* Address <-> index: node i is 127.(i>>16).(i>>8).(i) : 7946 offset so 0 is not used. */
hs_addr sim_addr(uint32_t i);
int sim_index_of_addr(const sim *s, const hs_addr *a); /* -1 if none */
int sim_index_of_name(const sim *s, const char *name); /* -1 if none */
void sim_name(uint32_t i, char *buf, size_t len);

/* Runs every event up to and including t_us; stops early if an invariant fails. */
void sim_run_until(sim *s, uint64_t t_us);
static inline uint64_t sim_now_ms(const sim *s)
{
    return s->now_us / 1000;
}

/* Faults and lifecycle, applied at the current virtual time. */
void sim_start(sim *s, uint32_t i); /* new instance joining through the seeds */
void sim_crash(sim *s, uint32_t i);
void sim_restart(sim *s, uint32_t i); /* crashed -> running with its persisted incarnation */
void sim_pause(sim *s, uint32_t i);
void sim_resume(sim *s, uint32_t i);
void sim_leave(sim *s, uint32_t i); /* graceful leave; keeps running to flush */
void sim_stop(sim *s, uint32_t i);  /* a left node exits */
void sim_partition(sim *s, uint8_t from, uint8_t to, bool oneway);
/* Starts the reachability test on running node i (hs_node_reachability_start): members
 * asked, or -1. */
long sim_reachability(sim *s, uint32_t i);
void sim_heal(sim *s);

/* Delivers a packet to running node `to` now, as if node `from` had sent it (a replay). */
void sim_inject(sim *s, uint32_t to, uint32_t from, const uint8_t *data, size_t len, bool stream);

/* Network send (net.c): routes one packet from node i through the network model. */
void net_send(sim *s, uint32_t from, const hs_packet *p);
/* Releases a message slot (net.c). */
void net_msg_free(sim *s, uint32_t slot);

/* Ground truth helpers. */
static inline bool sim_is_process(const sim_node *nd)
{
    return nd->state == NS_RUNNING || nd->state == NS_PAUSED;
}
static inline bool sim_is_observer(const sim_node *nd)
{
    return sim_is_process(nd) && !nd->left;
}
bool sim_healthy(const sim *s, uint32_t j); /* running, no per-node loss */
bool sim_reachable(const sim *s, uint32_t i, uint32_t j);

/* Marks the run failed with a message and prints the trace (once). */
void sim_fail(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
