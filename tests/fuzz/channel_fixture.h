/* channel_fixture.h: what fuzz_channel.c and gen_corpus.c agree on for the channel harness: the
 * record format of an input (operations and their arguments), the instances' ids, secrets,
 * addresses and key ring, and the configuration the two header bytes of an input select.
 *
 * An input is c0 c1 (setup, fx_setup_decode) then records, each an operation byte (taken
 * modulo FX_OP_COUNT) and its arguments, all integers big-endian; `bytes` is len:u16 then
 * len bytes (cut at the end of the input). "Recent k" counts back from the newest entry of a
 * pool (0 is the newest). An address byte a names fx_addr(a % FX_ADDRS): the instances' own
 * addresses first, then forged ones.
 *   FX_TIME        ms:u16                           the clock moves on
 *   FX_SEND        src dst bytes                    instance src seals a core datagram to dst
 *   FX_DELIVER     k how                            recent datagram k again (see fuzz_channel.c)
 *   FX_RAW         dst from bytes                   hostile bytes as a datagram
 *   FX_FORGE       dst from key who seq:u64 bytes   a key holder seals anything, any numbers
 *   FX_FORGE_PROOF k how seq:u64                    a key holder answers recent challenge k
 *   FX_RING        who what                         key ring change (add / use / remove)
 *   FX_RESTART     who                              new instance id and secret, state lost
 *   FX_S_ACCEPT    slot a b                         b accepts a stream from a: challenge frame
 *   FX_S_CHAL      slot k                           recent frame k to slot's connecting side
 *   FX_S_SEND      slot bytes                       the connecting side seals a frame
 *   FX_S_RECV      slot k                           recent frame k to slot's accepting side
 *   FX_S_RAW       slot side bytes                  hostile bytes as a frame
 *   FX_S_FORGE     slot key who seq:u64 bytes       a key holder's frame to the accepting side
 *                                                   (who bit 5: under the stream's session key) */
#ifndef HEARSAY_FUZZ_CHANNEL_FIXTURE_H
#define HEARSAY_FUZZ_CHANNEL_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hearsay/addr.h"
#include "hearsay/channel.h"
#include "hearsay/envelope.h"

#define FX_CLUSTER  "fuzz-cluster"
#define FX_KEYS     4 /* the keys any ring may hold; every instance starts with 0 and 1 */
#define FX_INST_MAX 3
#define FX_SPOOFS   4
#define FX_ADDRS    (FX_INST_MAX + FX_SPOOFS)

enum fx_op {
    FX_TIME,
    FX_SEND,
    FX_DELIVER,
    FX_RAW,
    FX_FORGE,
    FX_FORGE_PROOF,
    FX_RING,
    FX_RESTART,
    FX_S_ACCEPT,
    FX_S_CHAL,
    FX_S_SEND,
    FX_S_RECV,
    FX_S_RAW,
    FX_S_FORGE,
    FX_OP_COUNT
};

typedef struct fx_setup {
    hs_ch_cfg cfg; /* instance and secret left zero */
    int ninst;
    uint64_t start_ms;
    bool insecure; /* every envelope insecure: the channel protects nothing, memory checks only */
} fx_setup;

/* c0: bits 0-2 peers_max, 3-4 cookie step, 5 three instances, 6 start at 10^6 ms, 7 insecure;
 * c1: bits 0-1 source burst, 2-3 per-source rate, 4-5 global rate. All zero: the defaults. */
static inline void fx_setup_decode(uint8_t c0, uint8_t c1, fx_setup *s)
{
    static const uint32_t peers[8] = {8192, 4, 5, 8, 16, 33, 64, 7};
    static const uint32_t steps[4] = {2000, 1, 100, 7};
    static const uint32_t burst[4] = {20, 1, 2, 5};
    static const uint32_t per_s[4] = {20, 1, 3, 1000};
    static const uint32_t global[4] = {2000, 1, 3, 50};
    hs_ch_cfg_default(&s->cfg);
    s->cfg.peers_max = peers[c0 & 7];
    s->cfg.cookie_step_ms = steps[(c0 >> 3) & 3];
    s->ninst = (c0 & 32) ? 3 : 2;
    s->start_ms = (c0 & 64) ? 1000000 : 0;
    s->insecure = (c0 & 128) != 0;
    s->cfg.source_burst = burst[c1 & 3];
    s->cfg.source_per_s = per_s[(c1 >> 2) & 3];
    s->cfg.challenges_per_s = global[(c1 >> 4) & 3];
}

static inline void fx_key(int k, uint8_t key[HS_ENV_KEY_BYTES])
{
    for (int i = 0; i < HS_ENV_KEY_BYTES; i++) key[i] = (uint8_t)(0xa0 + k * 16 + i);
}

/* An envelope with keys 0 .. nkeys-1 (key 0 primary), or insecure. */
static inline int fx_env_init(hs_envelope *e, bool insecure, int nkeys)
{
    if (hs_env_init(e, FX_CLUSTER, insecure) != 0) return -1;
    uint8_t key[HS_ENV_KEY_BYTES];
    for (int k = 0; !insecure && k < nkeys; k++) {
        fx_key(k, key);
        if (hs_env_add_key(e, key) != 0) return -1;
    }
    return 0;
}

/* Addresses: 0 .. FX_INST_MAX-1 the instances', then forged sources. */
static inline hs_addr fx_addr(int i)
{
    if (i < FX_INST_MAX) return hs_addr_v4(10, 0, 0, (uint8_t)(1 + i), 7946);
    return hs_addr_v4(10, 9, 9, (uint8_t)(i - FX_INST_MAX + 1), (uint16_t)(5000 + i));
}

static inline uint64_t fx_instance_id(int i, unsigned incarnation)
{
    return (uint64_t)(i + 1) << 32 | (uint64_t)(incarnation + 1);
}

/* The channel configuration of instance id under setup s. */
static inline void fx_channel_cfg(const fx_setup *s, uint64_t id, hs_ch_cfg *out)
{
    *out = s->cfg;
    out->instance = id;
    for (int j = 0; j < 32; j++)
        out->secret[j] = (uint8_t)(id * 131 + (id >> 32) + (uint64_t)j * 7);
}

/* The nonce layout of channel.h: instance, number, receiver tag (0 here: a forged datagram
 * that does not know its receiver is challenged; a forged stream frame carries 0 anyway). */
static inline void fx_nonce(uint64_t instance, uint64_t seq, uint8_t nonce[HS_ENV_NONCE_BYTES])
{
    memset(nonce, 0, HS_ENV_NONCE_BYTES);
    for (int i = 0; i < 8; i++) {
        nonce[7 - i] = (uint8_t)(instance >> (8 * i));
        nonce[15 - i] = (uint8_t)(seq >> (8 * i));
    }
}

#endif
