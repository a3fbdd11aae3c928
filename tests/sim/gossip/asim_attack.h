/* asim_attack.h: the attacker of `hearsay-sim replay`, an outsider without any key: it records
 * every datagram and stream frame on the wire and sends recorded ones again at random times:
 * datagrams from random (spoofed) sources, frames as the first frame of its own streams or
 * inserted into live ones (either way), and a flood from 1,000 forged sources at one seed of
 * recorded Meets (or, once no Meet under the current key id is left, other recent datagrams
 * under it; a quarter of them altered). It counts how the channels classified what it sent. */
#ifndef HS_SIM_ASIM_ATTACK_H
#define HS_SIM_ASIM_ATTACK_H

#include "asim.h"

#define AS_FORGED 1000 /* forged source addresses */

typedef struct as_atk_stats {
    uint64_t recorded_dgrams, recorded_frames, recorded_meets;
    uint64_t sent[AS_O_COUNT];
    uint64_t verdict[AS_O_COUNT][HS_CH_VERDICT_COUNT];
    uint64_t env[AS_O_COUNT][HS_ENV_RESULT_COUNT]; /* HS_CH_ENVELOPE: why it did not open */
    uint64_t stream_control_taken; /* recorded challenges a connector took (its hello fails) */
} as_atk_stats;

as_attacker *atk_new(as_sim *s, uint64_t seed);
void atk_free(as_attacker *a);

/* The wire: everything the cluster sends (sender: agent index; type: the payload's first
 * byte, which the attacker cannot read but could guess from size and timing). */
void atk_record_dgram(as_sim *s, uint32_t sender, const hs_addr *to, const uint8_t *wire,
                      size_t len, uint8_t type);
void atk_record_frame(as_sim *s, uint32_t sender, uint32_t c, uint8_t dir, const uint8_t *wire,
                      size_t len, uint8_t type);
/* How a channel classified something the attacker sent. */
void atk_count(as_sim *s, uint8_t origin, hs_ch_verdict v, hs_env_result env);
/* The attacker's own stream c got its challenge: send the recording it opened it for. */
void atk_stream_challenged(as_sim *s, uint32_t c);
void atk_event(as_sim *s, const sim_event *e);

/* Replays at these rates (per second of virtual time, exponential gaps) from now on. */
void atk_start(as_sim *s, double dgrams_per_s, double new_streams_per_s, double injects_per_s);
void atk_stop(as_sim *s);
/* A Meet flood at agent target over [from_us, until_us), per_s datagrams per second. */
void atk_flood(as_sim *s, uint32_t target, uint64_t from_us, uint64_t until_us, uint32_t per_s);

hs_addr atk_forged(uint32_t k);
/* The forged source's index, AS_FORGED for the attacker's own address, -1 for others. */
int atk_stranger_index(const hs_addr *a);
const as_atk_stats *atk_stats(const as_attacker *a);

#endif
