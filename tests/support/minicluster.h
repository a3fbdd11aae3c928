/* minicluster.h: a tiny deterministic harness for unit tests of the membership core: up to
 * 32 nodes at 127.0.0.(i+1):7946, a fixed 1 ms network, per-link drops, crashes and pauses,
 * a recorder of sent packets that can replay them, and counts of the events each node saw.
 * The full simulator (tests/sim/gossip) does this at scale with realistic faults; this one
 * is small enough to read next to the tests that use it. */
#ifndef HEARSAY_MINICLUSTER_H
#define HEARSAY_MINICLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "hearsay/membership.h"

#define MC_MAX 32

typedef struct mc_node {
    hs_node *node;
    bool crashed, paused;
    uint32_t last_inc;
} mc_node;

/* One recorded packet (mc_record). */
typedef struct mc_rec {
    int from, to;
    uint8_t *data;
    size_t len;
    bool stream;
} mc_rec;

typedef struct mc_cluster {
    mc_node n[MC_MAX];
    int count;
    uint64_t now;
    bool drop[MC_MAX][MC_MAX]; /* drop[a][b]: packets from a to b are lost */
    /* failed[i][j]: node i has ever shown node j as failed */
    bool ever_failed[MC_MAX][MC_MAX];
    struct mc_msg *q;
    size_t nq, capq;
    hs_config cfg;
    /* events[i][j]: events node i published about node j ("node<j>"), by type */
    uint32_t events[MC_MAX][MC_MAX][HS_EV_CONFLICT + 1];
    /* packets recorded by mc_record: sent by rec_who (-1: by anyone), at most rec_max */
    mc_rec *rec;
    size_t nrec, rec_max;
    int rec_who;
    /* when set, sees every packet a node sends (before drops), e.g. to record for replay */
    void (*tap)(struct mc_cluster *c, int from, int to, const uint8_t *data, size_t len,
                bool stream);
    void *tap_arg;
} mc_cluster;

void mc_init(mc_cluster *c, int count);
void mc_free(mc_cluster *c);
hs_addr mc_addr(int i);
/* Creates node i (again, after a crash: with its last incarnation) and joins it via `via`
 * (-1: no join). */
void mc_start(mc_cluster *c, int i, int via);
/* The same under another name (events about it are counted under "node<j>" if it is one)
 * with a given starting incarnation. */
void mc_start_as(mc_cluster *c, int i, const char *name, uint32_t inc, int via);
void mc_crash(mc_cluster *c, int i);
/* Sends what node i has to send after a call into it from the test. */
void mc_drain(mc_cluster *c, int i);
void mc_run(mc_cluster *c, uint64_t ms);
/* Runs until pred holds or ms pass; returns the time it took or UINT64_MAX. */
uint64_t mc_run_until(mc_cluster *c, uint64_t ms, bool (*pred)(mc_cluster *, void *), void *arg);
hs_status mc_status(mc_cluster *c, int viewer, int subject); /* -1 cast if unknown */
bool mc_all_see(mc_cluster *c, int subject, hs_status s);    /* every live node except subject */
void mc_inject(mc_cluster *c, int to, const uint8_t *data, size_t len);
/* Delivers a datagram to `to` as if node `from` had sent it now (a replay). */
void mc_inject_from(mc_cluster *c, int from, int to, const uint8_t *data, size_t len);
/* Records the packets node `who` (-1: every node) sends from now on, up to max of them
 * (mc_free releases them); max 0 stops recording. */
void mc_record(mc_cluster *c, int who, size_t max);
/* Delivers recorded packet r again, now, from its sender's address to its destination (or to
 * `to` if >= 0), as a datagram or a stream message as it was sent; nothing if that node is
 * down. */
void mc_replay(mc_cluster *c, const mc_rec *r, int to);
/* Events node `viewer` published about `subject` of one type (all types: type < 0). */
uint32_t mc_events(const mc_cluster *c, int viewer, int subject, int type);

#endif
