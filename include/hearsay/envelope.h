/* envelope.h: the AEAD envelope around every datagram and stream frame (pure, libsodium only).
 *
 * Sealed (the default):
 *   byte 0      version (HS_ENV_VERSION)
 *   byte 1      flags: bit 0 set (HS_ENV_FLAG_SEALED); bit 1 (HS_ENV_FLAG_PADDED) when the
 *               plaintext ends in padding: k zero bytes then the byte k, removed on opening
 *   bytes 2-5   key id: the first 4 bytes of BLAKE2b-256 of the key that sealed it
 *   bytes 6-29  24-byte nonce chosen by the caller: the secure channel (channel.h) puts the
 *               sender's instance and sequence number there, so numbering costs no byte
 *   then        XChaCha20-Poly1305-IETF ciphertext of the payload plus its 16-byte tag
 *   associated data = the 6 header bytes followed by the cluster name (so the nonce, the
 *   flags and the key id are all authenticated).
 * Insecure (explicitly configured):
 *   byte 0 version, byte 1 flags = 0, bytes 2-9 label = first 8 bytes of BLAKE2b-256 of the
 *   cluster name, then the payload in clear; so two clusters never merge even insecure.
 *
 * A key ring holds up to HS_ENV_KEYS_MAX keys; index 0 is the primary that seals, every key
 * is tried (by key id) when opening. Opening reports why a message was dropped so the
 * daemon can count drops by reason. */
#ifndef HEARSAY_ENVELOPE_H
#define HEARSAY_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_ENV_VERSION      2 /* 2: caller-chosen nonces (channel.h), padding flag */
#define HS_ENV_FLAG_SEALED  0x01
#define HS_ENV_FLAG_PADDED  0x02
#define HS_ENV_KEY_BYTES    32
#define HS_ENV_KEY_ID_BYTES 4
#define HS_ENV_KEYS_MAX     8
#define HS_ENV_NONCE_BYTES  24
#define HS_ENV_TAG_BYTES    16
#define HS_ENV_HEADER_BYTES 6 /* version, flags, key id */
#define HS_ENV_LABEL_BYTES  8
#define HS_ENV_CLUSTER_MAX  64 /* bytes in a cluster name */
#define HS_ENV_SEALED_OVERHEAD                                                                     \
    (HS_ENV_HEADER_BYTES + HS_ENV_NONCE_BYTES + HS_ENV_TAG_BYTES) /* 46 */
#define HS_ENV_PLAIN_OVERHEAD (2 + HS_ENV_LABEL_BYTES)            /* 10 */
#define HS_ENV_OVERHEAD_MAX   HS_ENV_SEALED_OVERHEAD
/* Base64 (original variant, padded) of a 32-byte key is 44 characters. */
#define HS_ENV_KEY_B64_LEN 44

typedef enum hs_env_result {
    HS_ENV_OK = 0,
    HS_ENV_TOO_SHORT,          /* shorter than the header for its mode */
    HS_ENV_BAD_VERSION,        /* unknown version byte or flag bits */
    HS_ENV_UNKNOWN_KEY,        /* sealed with a key id not in our ring */
    HS_ENV_AUTH_FAILED,        /* tag did not verify (tampered, or another cluster name) */
    HS_ENV_WRONG_CLUSTER,      /* insecure message labelled for another cluster */
    HS_ENV_PLAINTEXT_REJECTED, /* plaintext while we require sealed messages */
    HS_ENV_SEALED_REJECTED,    /* sealed while we run insecure (no keys) */
    HS_ENV_NO_ROOM,            /* the output buffer is too small */
    HS_ENV_RESULT_COUNT
} hs_env_result;

/* "ok", "too_short", "bad_version", "unknown_key", "auth_failed", "wrong_cluster",
 * "plaintext_rejected", "sealed_rejected", "no_room" (metric label values). */
const char *hs_env_result_name(hs_env_result r);

typedef struct hs_envelope {
    char cluster[HS_ENV_CLUSTER_MAX + 1];
    size_t cluster_len;
    uint8_t label[HS_ENV_LABEL_BYTES];
    bool insecure;
    size_t key_count; /* keys[0] is the primary */
    uint8_t keys[HS_ENV_KEYS_MAX][HS_ENV_KEY_BYTES];
    uint8_t key_ids[HS_ENV_KEYS_MAX][HS_ENV_KEY_ID_BYTES];
} hs_envelope;

/* Sets the cluster name (1..HS_ENV_CLUSTER_MAX bytes) and the mode, with an empty key ring.
 * Returns 0, or -1 on a bad name or when sodium_init fails. */
int hs_env_init(hs_envelope *e, const char *cluster, bool insecure);
/* Wipes the keys. */
void hs_env_clear(hs_envelope *e);
/* The key id of a key. */
void hs_env_key_id(const uint8_t key[HS_ENV_KEY_BYTES], uint8_t id[HS_ENV_KEY_ID_BYTES]);
/* Adds a key at the end of the ring (the first one added becomes primary). -1 if the ring is
 * full or the key is already there. */
int hs_env_add_key(hs_envelope *e, const uint8_t key[HS_ENV_KEY_BYTES]);
/* Makes a key already in the ring the primary. -1 if it is not there. */
int hs_env_use_key(hs_envelope *e, const uint8_t key[HS_ENV_KEY_BYTES]);
/* Removes a key that is not the primary. -1 if absent or primary. */
int hs_env_remove_key(hs_envelope *e, const uint8_t key[HS_ENV_KEY_BYTES]);
/* Bytes the envelope adds in the current mode. */
size_t hs_env_overhead(const hs_envelope *e);

/* Seals payload into out (cap bytes). nonce may be NULL (a random one is drawn) or point to
 * HS_ENV_NONCE_BYTES bytes. A sealed envelope needs a key.
 * Returns HS_ENV_OK and sets *out_len, HS_ENV_NO_ROOM, or HS_ENV_UNKNOWN_KEY without keys. */
hs_env_result hs_env_seal(const hs_envelope *e, const uint8_t *nonce, const uint8_t *payload,
                          size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* The same, sealed with key `key` of the ring (0 is the primary) and, when the sealed result
 * would be shorter than min_len bytes, padded up to exactly min_len (at most 255 + 1 bytes of
 * padding; insecure envelopes are never padded). */
hs_env_result hs_env_seal_with(const hs_envelope *e, size_t key, const uint8_t *nonce,
                               const uint8_t *payload, size_t len, size_t min_len, uint8_t *out,
                               size_t cap, size_t *out_len);
/* Opens in into out (cap bytes; len bytes always suffice). On HS_ENV_OK *out_len is the
 * payload length; otherwise the reason the message must be dropped. out may not alias in. */
hs_env_result hs_env_open(const hs_envelope *e, const uint8_t *in, size_t len, uint8_t *out,
                          size_t cap, size_t *out_len);
/* The same; on HS_ENV_OK *key is the index in the ring of the key that opened it (0 for an
 * insecure envelope). */
hs_env_result hs_env_open_key(const hs_envelope *e, const uint8_t *in, size_t len, uint8_t *out,
                              size_t cap, size_t *out_len, size_t *key);

/* Key text: base64 (original variant) of 32 bytes; surrounding whitespace is ignored.
 * 0 on success, -1 if it is not exactly one valid key. */
int hs_env_key_decode(const char *text, size_t len, uint8_t key[HS_ENV_KEY_BYTES]);
/* Writes the base64 text of a key (NUL-terminated) into out (at least
 * HS_ENV_KEY_B64_LEN + 1 bytes). 0 on success. */
int hs_env_key_encode(const uint8_t key[HS_ENV_KEY_BYTES], char *out, size_t cap);

#endif
