/* keyring.h: the key-ring core every agent runs (sans-I/O).
 *
 * - The ring follows the configuration: hs_kr_config makes the envelope's ring exactly the
 *   replicated ring (primary first) whenever the configuration holds keys; the caller then
 *   persists it (DATA_DIR/keyring) so a restarted agent speaks the current key.
 * - Following: an agent that was down while the cluster moved to another primary of its ring
 *   can open what it hears but nobody opens what it seals. The caller reports every delivered
 *   message (its proven, fresh sender instance and the key that opened it: channel.h); when
 *   over HS_KR_FOLLOW_WINDOW_MS more than twice as many instances sent under another key of
 *   our ring as under our primary (and at least HS_KR_FOLLOW_MIN messages or 3 instances),
 *   we seal with that key until the next configuration decides. Only keys of our ring that
 *   the configuration installed after its primary can be chosen (the way rotations move), so
 *   neither a removed key nor one a "use" demoted is taken back (members that have not applied
 *   the "use" yet still seal under the old primary for seconds), and a replayer, whose
 *   datagrams the channel never delivers, counts for nothing.
 * - Surveys: KEYS_QUERY (0x64: rid u64) to each member of a list every HS_KR_RESEND_MS until
 *   it answers KEYS_STATE (0x65: rid u64, config version u64, n u8, n key ids, primary first)
 *   with the ring we want, or the wait ends. Every agent answers queries with its own ring.
 *   A list survey wants any answer; a change survey wants the configuration's ring.
 * - Rotation (hs_kr_rotate): install the new key, use it, remove every other key, each step a
 *   configuration change (hs_kr_next_op: the caller starts it through the configuration
 *   client and reports its end with hs_kr_op_done) followed by a change survey of the members
 *   alive at that moment; a step no member may miss, so a step that some member does not
 *   acknowledge in time ends the rotation there (the steps done stay done; a rotation run again
 *   with the same key continues where it stopped, as the steps already in the ring are skipped).
 *
 * Inputs: time, configurations, delivered-message reports, received 0x64/0x65 payloads, ends of
 * configuration operations. Outputs: datagrams (hs_kr_next_packet), operations to start
 * (hs_kr_next_op), survey and rotation results. Never a clock, a socket or a file. */
#ifndef HEARSAY_KEYRING_H
#define HEARSAY_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/cluster_config.h"
#include "hearsay/envelope.h"
#include "hearsay/membership.h"

#define HS_KR_SURVEYS_MAX      16
#define HS_KR_ADMIN_SURVEYS    4 /* of them, kept for changes and rotations (not lists) */
#define HS_KR_MEMBERS_MAX      8192
#define HS_KR_RESEND_MS        500
#define HS_KR_FOLLOW_STEP_MS   2000
#define HS_KR_FOLLOW_STEPS     3
#define HS_KR_FOLLOW_WINDOW_MS (HS_KR_FOLLOW_STEP_MS * HS_KR_FOLLOW_STEPS)
#define HS_KR_FOLLOW_MIN       5
#define HS_KR_FOLLOW_SENDERS   16 /* distinct sender instances remembered per key and step */
#define HS_KR_ROTATIONS_MAX    2

typedef struct hs_kr_ring {
    uint8_t n;
    uint8_t ids[HS_ENV_KEYS_MAX][HS_ENV_KEY_ID_BYTES]; /* primary first */
} hs_kr_ring;

/* The ring of an envelope / of a configuration (empty when it holds no keys). */
void hs_kr_ring_of_env(const hs_envelope *e, hs_kr_ring *out);
void hs_kr_ring_of_config(const hs_cluster_config *c, hs_kr_ring *out);
/* Same primary and the same set of keys. */
bool hs_kr_ring_equal(const hs_kr_ring *a, const hs_kr_ring *b);

typedef struct hs_kr_member {
    char name[HS_NAME_MAX + 1];
    hs_addr addr;
} hs_kr_member;

typedef struct hs_keyring hs_keyring;

/* env: the envelope whose ring this core manages (the caller's; the core changes it). */
hs_keyring *hs_kr_new(hs_envelope *env, uint64_t now_ms, uint64_t rng_seed);
void hs_kr_free(hs_keyring *k);

/* ---- the ring follows the configuration ---- */

/* A configuration was installed or applied. true when the envelope's ring changed (persist
 * it). An insecure envelope or a configuration without keys changes nothing. */
bool hs_kr_config(hs_keyring *k, uint64_t now_ms, const hs_cluster_config *c);

/* ---- following ---- */

/* A message was delivered: sender instance, index of the key that opened it. */
void hs_kr_opened(hs_keyring *k, uint64_t instance, size_t key);
/* true once after following switched our primary (then *from / *to name the key ids). */
bool hs_kr_take_followed(hs_keyring *k, uint8_t from[HS_ENV_KEY_ID_BYTES],
                         uint8_t to[HS_ENV_KEY_ID_BYTES]);

/* ---- surveys ---- */

/* Starts a survey of members (not ourselves); change: want the configuration's ring, else
 * any answer; admin: may use the slots kept for administrators. Returns its id, or 0 when
 * no slot is free. */
uint64_t hs_kr_survey(hs_keyring *k, uint64_t now_ms, const hs_kr_member *m, size_t n, bool change,
                      bool admin, uint64_t wait_ms);
/* A KEYS_QUERY or KEYS_STATE payload from a datagram or stream; -1 if it does not decode. */
int hs_kr_receive(hs_keyring *k, uint64_t now_ms, const hs_addr *from, const uint8_t *data,
                  size_t len);
void hs_kr_tick(hs_keyring *k, uint64_t now_ms);
uint64_t hs_kr_next_deadline(const hs_keyring *k);

typedef struct hs_kr_answer {
    char name[HS_NAME_MAX + 1];
    bool answered;
    bool has_wanted; /* change surveys: holds the configuration's ring */
    uint64_t version;
    hs_kr_ring ring;
} hs_kr_answer;

typedef struct hs_kr_survey_done {
    uint64_t id;
    bool change;
    uint64_t elapsed_ms;
    size_t n;
    const hs_kr_answer *members; /* valid until the next call into the core */
    bool self_has_wanted;        /* change surveys: our own ring is the configuration's */
} hs_kr_survey_done;
bool hs_kr_next_survey_done(hs_keyring *k, hs_kr_survey_done *out);

/* A datagram to send (queries, answers). data is valid until the next call into the core. */
typedef struct hs_kr_packet {
    hs_addr to;
    const uint8_t *data;
    size_t len;
} hs_kr_packet;
bool hs_kr_next_packet(hs_keyring *k, hs_kr_packet *out);

/* ---- rotation ---- */

enum hs_kr_step { HS_KR_INSTALL = 1, HS_KR_USE = 2, HS_KR_REMOVE = 3, HS_KR_DONE = 4 };
const char *hs_kr_step_name(int step); /* "install", "use", "remove", "done" */

/* Starts a rotation to new_key: first a survey that the members m (alive now, not ourselves)
 * hold the current ring, then the steps, each surveyed up to wait_ms. Returns its id, or 0 if
 * HS_KR_ROTATIONS_MAX are running, no survey slot is free, the envelope is insecure or the
 * configuration holds no ring yet. */
uint64_t hs_kr_rotate(hs_keyring *k, uint64_t now_ms, const uint8_t new_key[HS_ENV_KEY_BYTES],
                      uint64_t wait_ms, const hs_kr_member *m, size_t n);

typedef struct hs_kr_op {
    uint64_t rotation;
    int step; /* HS_KR_INSTALL, _USE or _REMOVE */
    uint8_t key[HS_ENV_KEY_BYTES];
} hs_kr_op;
bool hs_kr_next_op(hs_keyring *k, hs_kr_op *out);
/* A rotation's operation ended: ok (committed and applied here, the configuration passed to
 * hs_kr_config already), with the configuration version, and the members alive now (the
 * step's survey asks them). !ok ends the rotation (why: a short text). */
void hs_kr_op_done(hs_keyring *k, uint64_t now_ms, uint64_t rotation, bool ok, const char *why,
                   uint64_t version, const hs_kr_member *m, size_t n);

typedef struct hs_kr_rotation_done {
    uint64_t id;
    bool ok;
    int step;                    /* the last step reached (HS_KR_DONE when ok) */
    char why[96];                /* !ok: what stopped it */
    uint64_t version;            /* configuration version of the last committed step */
    size_t members;              /* of the last survey, ourselves included */
    size_t acked;                /* ... that held the wanted ring */
    size_t n_pending;            /* ... members that did not (names below) */
    const hs_kr_answer *pending; /* valid until the next call into the core */
    bool self_pending;           /* ... and this agent did not either */
    uint64_t elapsed_ms;
    uint8_t new_id[HS_ENV_KEY_ID_BYTES];
    uint32_t removed; /* old keys removed */
} hs_kr_rotation_done;
bool hs_kr_next_rotation_done(hs_keyring *k, hs_kr_rotation_done *out);

#endif
