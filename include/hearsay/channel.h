/* channel.h: the secure channel between the transports and every core (sans-I/O): numbered
 * envelopes, an anti-replay window per proven sender, and a cookie challenge (datagrams) or a
 * challenge hello (streams) that makes a sender prove it is a live key holder at its address
 * before anything it sends reaches a core.
 *
 * Numbering. Every agent draws a random 64-bit instance id when it starts. The 24-byte nonce
 * of each envelope it seals (envelope.h) is instance (8 bytes, big-endian), sequence number
 * (8 bytes) and receiver tag (8 bytes): the sequence counts up from 1 per instance, in one
 * space for datagrams and another (top bit set) for stream frames; a datagram's receiver tag
 * is the instance of the channel it is for, as far as the sender knows it (0 when it does not
 * yet, and for stream frames). Nonces never repeat under a key, and the numbering costs no
 * byte on the wire.
 *
 * Datagrams. A receiver keeps, per sender instance it has proven, the address it was proven
 * at, the highest sequence number seen and a window of HS_CH_WINDOW numbers behind it. A
 * datagram is delivered only when its instance is proven at the address it came from, its
 * number is new and inside the window, and its receiver tag names this channel; a duplicate
 * or older one is dropped (HS_CH_REPLAY), and so is one a proven sender tagged for another
 * channel: recorded on its way to another agent and sent here, it would be new here (the
 * numbers of one sender are shared by all its receivers). A sender learns the instance at an
 * address from that channel's challenge, proof or delivered datagram and keeps it in a bounded
 * table (4-way sets, the least recently used goes; a forgotten one costs a challenge).
 * A datagram from an instance not proven at its address, or tagged 0 by a proven one (it does
 * not know us yet), is never delivered (HS_CH_UNPROVEN): the receiver answers it with a
 * CHALLENGE (HS_MSG_CH_CHALLENGE: a 16-byte cookie, a keyed BLAKE2b of the instance, the
 * address, a coarse time step and the eviction count of the instance's slot in the table
 * under a secret drawn at start, and the number of the datagram it refused), sealed with the key
 * that opened it and tagged for the instance it challenges, no larger than the datagram it answers
 * and rate-limited per source and in total; it keeps no state for it. The sender answers a
 * challenge only for a datagram it sent to that very address in the last HS_CH_RESEND datagrams: a
 * PROOF (HS_MSG_CH_PROOF: the cookie) and then that datagram again under a new number. A proof with
 * a valid, unexpired cookie proves the instance at that address; the window starts at the proof's
 * number (an instance the table evicted needs a new cookie: a recorded proof does not bring back
 * its window at an older number). So a recorded datagram replayed later is either a duplicate,
 * behind the window, from an instance that cannot answer a challenge any more (it has exited), from
 * an address it is not proven at, or numbered for another receiver. Senders pad datagrams up to
 * HS_CH_MIN_DGRAM bytes so that every datagram can be challenged.
 *
 * Streams. The accepting side sends a sealed STREAM_CHALLENGE frame with 16 random bytes and
 * an ephemeral X25519 public key first; the connecting side's first frame is a sealed
 * STREAM_HELLO echoing the bytes, with its own ephemeral public key and its advertised
 * HOST:PORT; every later frame on the connection must come from the hello's instance with a
 * strictly higher sequence number. A recorded stream replayed on a new connection fails at the
 * hello; a recorded frame inserted into a live one is a replay. Both sides derive a session key
 * from the two ephemeral keys (BLAKE2b keyed with the X25519 shared secret, over the challenge
 * and both public keys) and every frame's payload is encrypted under it inside the ring-key
 * envelope (XChaCha20-Poly1305, 16 bytes more per frame). Stream payloads are the only ones
 * that carry key material (Raft entries, configuration fetches, forwarded key requests), so a
 * party that holds a ring key but did not take part in the handshake, e.g. the holder of a key
 * that was rotated out who recorded the traffic, cannot read them.
 *
 * Insecure envelopes (explicitly configured) carry no numbers: the channel passes them
 * through and protects nothing. docs/security.md states the guarantee and names its tests. */
#ifndef HEARSAY_CHANNEL_H
#define HEARSAY_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/envelope.h"

#define HS_CH_WINDOW       1024 /* datagram numbers remembered behind the highest */
#define HS_CH_COOKIE_BYTES 16
#define HS_CH_NONCE_BYTES  16 /* stream challenge */
#define HS_CH_SESSION_TAG  16 /* inner tag of a stream frame's payload */
#define HS_CH_RESEND       64 /* datagrams kept for a resend after a challenge */
#define HS_CH_STREAM_SEQ   (1ULL << 63)
/* A challenge: envelope + type + cookie + refused number; datagrams are padded to this. */
#define HS_CH_MIN_DGRAM (HS_ENV_SEALED_OVERHEAD + 1 + HS_CH_COOKIE_BYTES + 8)
#define HS_CH_HELLO_MAX 512  /* bytes a stream's first frame may announce */
#define HS_CH_EPH_MS    1000 /* the accepting side's ephemeral key lives this long */

typedef struct hs_ch_cfg {
    uint64_t instance;         /* random, non-zero, drawn at every start */
    uint8_t secret[32];        /* cookie key, random, drawn at every start */
    uint32_t peers_max;        /* proven instances remembered (8192); the oldest go first */
    uint32_t challenges_per_s; /* challenges sent per second in total (2000) */
    uint32_t source_burst;     /* challenges one source address may draw in a burst (20) */
    uint32_t source_per_s;     /* ... and per second after it (20) */
    uint32_t cookie_step_ms;   /* a cookie is valid in its step and the next (2000) */
} hs_ch_cfg;

/* Fills defaults; instance and secret are left zero (the caller draws them). */
void hs_ch_cfg_default(hs_ch_cfg *c);

typedef enum hs_ch_verdict {
    HS_CH_DELIVER = 0, /* hand the payload to the cores */
    HS_CH_CONTROL,     /* a challenge, proof or stream hello, consumed by the channel */
    HS_CH_UNPROVEN,    /* sender instance not proven at this address: dropped (maybe challenged) */
    HS_CH_REPLAY,      /* number already seen or behind the window: dropped */
    HS_CH_BAD_COOKIE,  /* a proof whose cookie is wrong or expired, an unsolicited challenge */
    HS_CH_ENVELOPE,    /* did not open: *env says why */
    HS_CH_MALFORMED,   /* a control message or stream frame that breaks the rules */
    HS_CH_VERDICT_COUNT
} hs_ch_verdict;

/* "deliver", "control", "unproven", "replay", "bad_cookie", "envelope", "malformed" */
const char *hs_ch_verdict_name(hs_ch_verdict v);

/* Who sent a delivered message. */
typedef struct hs_ch_sender {
    uint64_t instance; /* 0 for insecure envelopes */
    uint64_t seq;
    size_t key; /* index in the ring of the key that opened it */
} hs_ch_sender;

typedef struct hs_ch_stats {
    uint64_t challenges_sent, challenges_limited, proofs_sent, proofs_accepted, resends;
    uint64_t peers, peers_evicted;
} hs_ch_stats;

typedef struct hs_channel hs_channel;

/* env is borrowed and may change between calls (key rotation changes the ring in place). */
hs_channel *hs_channel_new(const hs_ch_cfg *cfg, const hs_envelope *env, uint64_t now_ms);
void hs_channel_free(hs_channel *ch);
uint64_t hs_channel_instance(const hs_channel *ch);
const hs_ch_stats *hs_channel_stats(const hs_channel *ch);
/* Bytes the channel holds (proven-sender table, resend ring). */
size_t hs_channel_bytes(const hs_channel *ch);

/* ---- datagrams ---- */

/* Seals one datagram for `to` with the primary key, numbered and padded; remembers it for a
 * resend after a challenge. */
hs_env_result hs_ch_seal_dgram(hs_channel *ch, uint64_t now_ms, const hs_addr *to,
                               const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                               size_t *out_len);
/* Opens one received datagram into out (cap >= len suffices). *env is set when the verdict
 * is HS_CH_ENVELOPE, *who when it is HS_CH_DELIVER. Challenges, proofs and resends the
 * channel wants to send come out of hs_ch_next_output. */
hs_ch_verdict hs_ch_open_dgram(hs_channel *ch, uint64_t now_ms, const hs_addr *from,
                               const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                               size_t *out_len, hs_env_result *env, hs_ch_sender *who);

/* A sealed datagram the channel wants sent. data stays valid until the next call. */
typedef struct hs_ch_output {
    hs_addr to;
    const uint8_t *data;
    size_t len;
} hs_ch_output;
bool hs_ch_next_output(hs_channel *ch, hs_ch_output *out);

/* ---- streams ---- */

typedef enum hs_ch_stream_state {
    HS_CHS_NEW = 0,    /* connecting side: waiting for the challenge */
    HS_CHS_CHALLENGED, /* accepting side: challenge sent, waiting for the hello */
    HS_CHS_OPEN,       /* frames flow */
} hs_ch_stream_state;

typedef struct hs_ch_stream {
    uint8_t state; /* hs_ch_stream_state */
    uint8_t nonce[HS_CH_NONCE_BYTES];
    uint64_t instance, last_seq; /* accepting side: the hello's sender and its last number */
    size_t key;                  /* the key the peer sealed its hello / challenge with */
    hs_addr peer;                /* accepting side: the address named in the hello */
    uint8_t eph[32];             /* accepting side: ephemeral secret until the hello */
    uint8_t eph_pub[32];         /* accepting side: its public key */
    uint8_t session[32];         /* the session key (secure envelopes, once open) */
} hs_ch_stream;

/* Wipes the keys a stream holds (call when the connection closes). */
void hs_ch_stream_clear(hs_ch_stream *s);

/* Accepting side: starts s and writes the sealed challenge frame (no length prefix) into out
 * (at least HS_CH_HELLO_MAX bytes). The ephemeral key it offers is drawn anew at most every
 * HS_CH_EPH_MS of now_ms (sessions differ anyway: the challenge and the connecting side's key
 * are new each time), so an accept flood costs no key generation per connection; the one X25519
 * a stream costs is paid for an authenticated hello. 0, or -1 if nothing can be sealed. */
int hs_ch_stream_accept(hs_channel *ch, hs_ch_stream *s, uint64_t now_ms, uint8_t *out, size_t cap,
                        size_t *out_len);
/* Accepting side: one received frame. The first must be the hello: HS_CH_CONTROL (s->peer
 * names the sender's address from now on), any other verdict closes the connection. After it,
 * HS_CH_DELIVER for each frame of the hello's instance with a higher number, HS_CH_REPLAY or
 * another verdict (close) otherwise. */
hs_ch_verdict hs_ch_stream_open(hs_channel *ch, hs_ch_stream *s, const uint8_t *in, size_t len,
                                uint8_t *out, size_t cap, size_t *out_len, hs_env_result *env,
                                hs_ch_sender *who);
/* Connecting side: the challenge frame arrived. Writes the sealed hello (advertise: our
 * HOST:PORT) into out (HS_CH_HELLO_MAX bytes) and returns HS_CH_CONTROL, or another verdict
 * (close). */
hs_ch_verdict hs_ch_stream_challenged(hs_channel *ch, hs_ch_stream *s, const uint8_t *in,
                                      size_t len, const hs_addr *advertise, uint8_t *out,
                                      size_t cap, size_t *out_len, hs_env_result *env);
/* Connecting side, once challenged: seals the next frame (session, then primary key); out
 * needs len + HS_ENV_OVERHEAD_MAX + HS_CH_SESSION_TAG bytes. */
hs_env_result hs_ch_seal_frame(hs_channel *ch, const hs_ch_stream *s, const uint8_t *payload,
                               size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
