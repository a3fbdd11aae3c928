/* channel_internal.h: the state of one hs_channel (include/hearsay/channel.h), shared by
 * channel.c (datagrams: numbering, proven senders, windows, challenges) and channel_stream.c. */
#ifndef HEARSAY_CHANNEL_INTERNAL_H
#define HEARSAY_CHANNEL_INTERNAL_H

#include "hearsay/channel.h"

#define CH_WAYS      4    /* proven-sender table: set-associative, 4 entries per set */
#define CH_SRC_SLOTS 4096 /* per-source challenge budgets (hashed, collisions share) */
#define CH_OUT_MAX   256  /* control datagrams waiting to be sent */
#define CH_DEST_SETS 1024 /* receiver instances by address: 4-way sets (the oldest goes) */

/* A sender instance proven at an address, with its anti-replay window. */
typedef struct ch_peer {
    uint64_t instance; /* 0: free */
    hs_addr addr;
    uint64_t top; /* highest number seen */
    uint64_t used_ms;
    uint64_t bits[HS_CH_WINDOW / 64]; /* bit n % WINDOW set: n seen, for n in (top-WINDOW, top] */
} ch_peer;

/* A datagram we sent, kept so a challenge for it can be answered with a resend. */
typedef struct ch_sent {
    uint64_t seq; /* 0: free */
    hs_addr to;
    uint8_t *data;
    size_t len;
    bool answered;
} ch_sent;

/* A token bucket in thousandths of a challenge. */
typedef struct ch_bucket {
    uint32_t tag; /* per-source buckets: hash of the address owning the slot */
    uint32_t milli;
    uint64_t at_ms;
} ch_bucket;

/* The instance of the channel at an address we send to, as it proved itself to us (the
 * receiver tag of our datagrams for it). */
typedef struct ch_dest {
    hs_addr addr;
    uint64_t instance; /* 0: free */
    uint64_t used_ms;
} ch_dest;

typedef struct ch_out {
    hs_addr to;
    uint8_t *data;
    size_t len;
} ch_out;

struct hs_channel {
    hs_ch_cfg cfg;
    const hs_envelope *env;
    uint64_t dgram_seq, stream_seq, nonce_ctr;
    /* the accepting side's ephemeral X25519 key, reused for HS_CH_EPH_MS (engine time) so that
     * a burst of connects costs no key generation each */
    uint8_t eph_sk[32], eph_pk[32];
    uint64_t eph_at;
    bool have_eph;
    ch_peer *peers;
    uint32_t *epochs; /* per set: its evictions so far, part of every cookie of its instances */
    uint32_t nsets, count;
    ch_sent sent[HS_CH_RESEND];
    ch_bucket src[CH_SRC_SLOTS];
    ch_bucket global;
    ch_dest dests[CH_DEST_SETS * CH_WAYS];
    ch_out out[CH_OUT_MAX];
    size_t nout, out_read;
    hs_ch_stats st;
};

/* The nonce of a numbered envelope: instance, number, receiver tag (0 for stream frames). */
void ch_make_nonce(uint64_t instance, uint64_t seq, uint64_t receiver,
                   uint8_t nonce[HS_ENV_NONCE_BYTES]);
/* The cookie of a challenge for instance at address a in cookie step `step`: a keyed BLAKE2b
 * of the step, the epoch of the instance's set, the instance and the address. The epoch
 * moves when the set evicts an instance, so a recorded proof of an evicted instance cannot
 * prove it again while its cookie would otherwise still be valid. */
void ch_cookie(const hs_channel *ch, uint64_t step, uint64_t instance, const hs_addr *a,
               uint8_t out[HS_CH_COOKIE_BYTES]);
/* Reads the numbers of a sealed envelope (in: its wire bytes); -1 if the nonce is not one of
 * ours (instance or number zero). */
int ch_read_nonce(const uint8_t *in, size_t len, uint64_t *instance, uint64_t *seq,
                  uint64_t *receiver);

#endif
