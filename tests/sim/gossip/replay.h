/* replay.h: the simulator's replayer: records the last packets every node sent (datagrams and
 * stream messages, exactly as the core emitted them) and delivers chosen ones again later,
 * from the original sender's address, as an on-path attacker without the key can. */
#ifndef HS_SIM_REPLAY_H
#define HS_SIM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

typedef struct sim_replayer sim_replayer;

/* Keeps the last per_node packets of each of n nodes. */
sim_replayer *replay_new(uint32_t n, uint32_t per_node, uint64_t seed);
void replay_free(sim_replayer *r);
/* net_send calls this for every packet a node sends. */
void replay_record(sim_replayer *r, uint32_t from, uint32_t to, const hs_packet *p);
/* Delivers `count` recorded packets again now: each one of a random sender's (a departed one's
 * with probability departed_bias, if any node is down or left), to its recorded destination
 * or to a random running node. Returns how many were delivered. */
size_t replay_some(sim *s, sim_replayer *r, size_t count, double departed_bias);
uint64_t replay_recorded(const sim_replayer *r);

#endif
