/* fuzz_envelope.c: libFuzzer harness for the frame opener (hs_env_open in lib/envelope.c) and
 * the key-text decoder (hs_env_key_decode).
 *
 * The input is opened, as received, by a sealed envelope (cluster "fuzz-cluster", a ring of
 * three keys) and by an insecure one, into an output buffer of exactly the input's size (what
 * the daemon gives it) and into a smaller one. Checked: a successful open never reports more
 * bytes than fit; whatever opens re-seals (fixed nonce) and opens back to the same payload;
 * a wrong-cluster envelope never opens what the right one sealed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/envelope.h"

static hs_envelope sealed, insecure, other;
static int ready;

static void setup(void)
{
    if (ready) return;
    uint8_t key[HS_ENV_KEY_BYTES];
    if (hs_env_init(&sealed, "fuzz-cluster", false) != 0) abort();
    if (hs_env_init(&other, "other-cluster", false) != 0) abort();
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < HS_ENV_KEY_BYTES; i++) key[i] = (uint8_t)(k * 64 + i);
        if (hs_env_add_key(&sealed, key) != 0) abort();
        if (hs_env_add_key(&other, key) != 0) abort();
    }
    if (hs_env_init(&insecure, "fuzz-cluster", true) != 0) abort();
    ready = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

static void roundtrip(const hs_envelope *e, const uint8_t *payload, size_t len)
{
    static const uint8_t nonce[HS_ENV_NONCE_BYTES] = {7};
    size_t cap = len + HS_ENV_OVERHEAD_MAX;
    uint8_t *frame = malloc(cap);
    uint8_t *back = malloc(cap);
    if (!frame || !back) abort();
    size_t flen = 0, blen = 0;
    if (hs_env_seal(e, nonce, payload, len, frame, cap, &flen) != HS_ENV_OK) abort();
    if (flen != len + hs_env_overhead(e)) abort();
    if (hs_env_open(e, frame, flen, back, cap, &blen) != HS_ENV_OK) abort();
    if (blen != len || (len && memcmp(back, payload, len) != 0)) abort();
    /* another cluster with the same keys must not accept it */
    if (!e->insecure && hs_env_open(&other, frame, flen, back, cap, &blen) == HS_ENV_OK) abort();
    free(frame);
    free(back);
}

static void open_with(const hs_envelope *e, const uint8_t *data, size_t size)
{
    uint8_t *out = malloc(size ? size : 1);
    if (!out) abort();
    size_t out_len = 12345;
    hs_env_result r = hs_env_open(e, data, size, out, size, &out_len);
    if ((unsigned)r >= HS_ENV_RESULT_COUNT) abort();
    if (!hs_env_result_name(r)) abort();
    if (r == HS_ENV_OK) {
        if (out_len > size) abort();
        roundtrip(e, out, out_len);
    } else if (out_len != 0) {
        abort();
    }
    /* a buffer too small for the payload must be refused, not overrun */
    if (size > HS_ENV_OVERHEAD_MAX + 1) {
        size_t small = size - HS_ENV_OVERHEAD_MAX - 1;
        uint8_t *tiny = malloc(small);
        if (!tiny) abort();
        r = hs_env_open(e, data, size, tiny, small, &out_len);
        if (r == HS_ENV_OK && out_len > small) abort();
        free(tiny);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size > 70000) return 0;
    /* exact-size copy: ASan then sees any read past the frame */
    uint8_t *in = malloc(size ? size : 1);
    if (!in) abort();
    if (size) memcpy(in, data, size);
    open_with(&sealed, in, size);
    open_with(&insecure, in, size);

    uint8_t key[HS_ENV_KEY_BYTES];
    if (hs_env_key_decode((const char *)in, size, key) == 0) {
        char text[HS_ENV_KEY_B64_LEN + 1];
        uint8_t again[HS_ENV_KEY_BYTES];
        if (hs_env_key_encode(key, text, sizeof(text)) != 0) abort();
        if (hs_env_key_decode(text, strlen(text), again) != 0) abort();
        if (memcmp(key, again, sizeof(key)) != 0) abort();
    }
    free(in);
    return 0;
}
