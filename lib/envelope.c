/* envelope.c: seals and opens the AEAD envelope of envelope.h (XChaCha20-Poly1305 under a key
 * of the ring, the cluster label checked and authenticated); libsodium only, no I/O. */
#include "hearsay/envelope.h"

#include <string.h>

#include <sodium.h>

static const char *const result_names[HS_ENV_RESULT_COUNT] = {
    [HS_ENV_OK] = "ok",
    [HS_ENV_TOO_SHORT] = "too_short",
    [HS_ENV_BAD_VERSION] = "bad_version",
    [HS_ENV_UNKNOWN_KEY] = "unknown_key",
    [HS_ENV_AUTH_FAILED] = "auth_failed",
    [HS_ENV_WRONG_CLUSTER] = "wrong_cluster",
    [HS_ENV_PLAINTEXT_REJECTED] = "plaintext_rejected",
    [HS_ENV_SEALED_REJECTED] = "sealed_rejected",
    [HS_ENV_NO_ROOM] = "no_room",
};

const char *hs_env_result_name(hs_env_result r)
{
    if ((unsigned)r >= HS_ENV_RESULT_COUNT) return "unknown";
    return result_names[r];
}

int hs_env_init(hs_envelope *e, const char *cluster, bool insecure)
{
    memset(e, 0, sizeof(*e));
    if (sodium_init() < 0) return -1;
    if (!cluster) return -1;
    size_t n = strnlen(cluster, HS_ENV_CLUSTER_MAX + 1);
    if (n == 0 || n > HS_ENV_CLUSTER_MAX) return -1;
    memcpy(e->cluster, cluster, n);
    e->cluster_len = n;
    e->insecure = insecure;
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), (const uint8_t *)cluster, n, NULL, 0);
    memcpy(e->label, h, HS_ENV_LABEL_BYTES);
    return 0;
}

void hs_env_clear(hs_envelope *e)
{
    sodium_memzero(e->keys, sizeof(e->keys));
    sodium_memzero(e->key_ids, sizeof(e->key_ids));
    e->key_count = 0;
}

void hs_env_key_id(const uint8_t key[HS_ENV_KEY_BYTES], uint8_t id[HS_ENV_KEY_ID_BYTES])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), key, HS_ENV_KEY_BYTES, NULL, 0);
    memcpy(id, h, HS_ENV_KEY_ID_BYTES);
}

static int find_key(const hs_envelope *e, const uint8_t key[HS_ENV_KEY_BYTES])
{
    for (size_t i = 0; i < e->key_count; i++)
        if (sodium_memcmp(e->keys[i], key, HS_ENV_KEY_BYTES) == 0) return (int)i;
    return -1;
}

int hs_env_add_key(hs_envelope *e, const uint8_t key[HS_ENV_KEY_BYTES])
{
    if (e->key_count >= HS_ENV_KEYS_MAX || find_key(e, key) >= 0) return -1;
    memcpy(e->keys[e->key_count], key, HS_ENV_KEY_BYTES);
    hs_env_key_id(key, e->key_ids[e->key_count]);
    e->key_count++;
    return 0;
}

int hs_env_use_key(hs_envelope *e, const uint8_t key[HS_ENV_KEY_BYTES])
{
    int i = find_key(e, key);
    if (i < 0) return -1;
    if (i == 0) return 0;
    uint8_t k[HS_ENV_KEY_BYTES], id[HS_ENV_KEY_ID_BYTES];
    memcpy(k, e->keys[0], sizeof(k));
    memcpy(id, e->key_ids[0], sizeof(id));
    memcpy(e->keys[0], e->keys[i], sizeof(k));
    memcpy(e->key_ids[0], e->key_ids[i], sizeof(id));
    memcpy(e->keys[i], k, sizeof(k));
    memcpy(e->key_ids[i], id, sizeof(id));
    sodium_memzero(k, sizeof(k));
    return 0;
}

int hs_env_remove_key(hs_envelope *e, const uint8_t key[HS_ENV_KEY_BYTES])
{
    int i = find_key(e, key);
    if (i <= 0) return -1;
    for (size_t j = (size_t)i; j + 1 < e->key_count; j++) {
        memcpy(e->keys[j], e->keys[j + 1], HS_ENV_KEY_BYTES);
        memcpy(e->key_ids[j], e->key_ids[j + 1], HS_ENV_KEY_ID_BYTES);
    }
    e->key_count--;
    sodium_memzero(e->keys[e->key_count], HS_ENV_KEY_BYTES);
    memset(e->key_ids[e->key_count], 0, HS_ENV_KEY_ID_BYTES);
    return 0;
}

size_t hs_env_overhead(const hs_envelope *e)
{
    return e->insecure ? HS_ENV_PLAIN_OVERHEAD : HS_ENV_SEALED_OVERHEAD;
}

/* Associated data: the 6 header bytes then the cluster name. */
static size_t make_ad(const hs_envelope *e, const uint8_t hdr[HS_ENV_HEADER_BYTES],
                      uint8_t ad[HS_ENV_HEADER_BYTES + HS_ENV_CLUSTER_MAX])
{
    memcpy(ad, hdr, HS_ENV_HEADER_BYTES);
    memcpy(ad + HS_ENV_HEADER_BYTES, e->cluster, e->cluster_len);
    return HS_ENV_HEADER_BYTES + e->cluster_len;
}

hs_env_result hs_env_seal(const hs_envelope *e, const uint8_t *nonce, const uint8_t *payload,
                          size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    return hs_env_seal_with(e, 0, nonce, payload, len, 0, out, cap, out_len);
}

hs_env_result hs_env_seal_with(const hs_envelope *e, size_t key, const uint8_t *nonce,
                               const uint8_t *payload, size_t len, size_t min_len, uint8_t *out,
                               size_t cap, size_t *out_len)
{
    if (e->insecure) {
        if (cap < HS_ENV_PLAIN_OVERHEAD || len > cap - HS_ENV_PLAIN_OVERHEAD) return HS_ENV_NO_ROOM;
        out[0] = HS_ENV_VERSION;
        out[1] = 0;
        memcpy(out + 2, e->label, HS_ENV_LABEL_BYTES);
        if (len) memmove(out + HS_ENV_PLAIN_OVERHEAD, payload, len);
        *out_len = HS_ENV_PLAIN_OVERHEAD + len;
        return HS_ENV_OK;
    }
    if (e->key_count == 0 || key >= e->key_count) return HS_ENV_UNKNOWN_KEY;
    /* padding: k zero bytes and the byte k after the payload, so the total is min_len */
    size_t pad = 0;
    if (min_len > HS_ENV_SEALED_OVERHEAD + len) {
        pad = min_len - HS_ENV_SEALED_OVERHEAD - len;
        if (pad > 256) pad = 256;
    }
    if (cap < HS_ENV_SEALED_OVERHEAD || len + pad > cap - HS_ENV_SEALED_OVERHEAD)
        return HS_ENV_NO_ROOM;
    uint8_t *hdr = out;
    hdr[0] = HS_ENV_VERSION;
    hdr[1] = HS_ENV_FLAG_SEALED | (pad ? HS_ENV_FLAG_PADDED : 0);
    memcpy(hdr + 2, e->key_ids[key], HS_ENV_KEY_ID_BYTES);
    uint8_t *np = out + HS_ENV_HEADER_BYTES;
    if (nonce)
        memcpy(np, nonce, HS_ENV_NONCE_BYTES);
    else
        randombytes_buf(np, HS_ENV_NONCE_BYTES);
    uint8_t *c = np + HS_ENV_NONCE_BYTES;
    /* the plaintext is built in place (encryption may run in place) */
    if (len) memmove(c, payload, len);
    if (pad) {
        memset(c + len, 0, pad - 1);
        c[len + pad - 1] = (uint8_t)(pad - 1);
    }
    uint8_t ad[HS_ENV_HEADER_BYTES + HS_ENV_CLUSTER_MAX];
    size_t adlen = make_ad(e, hdr, ad);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(c, &clen, c, len + pad, ad, adlen, NULL, np,
                                               e->keys[key]);
    *out_len = HS_ENV_HEADER_BYTES + HS_ENV_NONCE_BYTES + (size_t)clen;
    return HS_ENV_OK;
}

hs_env_result hs_env_open(const hs_envelope *e, const uint8_t *in, size_t len, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    size_t key;
    return hs_env_open_key(e, in, len, out, cap, out_len, &key);
}

/* Removes the padding of a padded plaintext: 0, or -1 if it is not well formed. */
static int unpad(const uint8_t *p, size_t *len)
{
    if (*len == 0) return -1;
    size_t k = p[*len - 1];
    if (k + 1 > *len) return -1;
    for (size_t i = *len - 1 - k; i < *len - 1; i++)
        if (p[i]) return -1;
    *len -= k + 1;
    return 0;
}

hs_env_result hs_env_open_key(const hs_envelope *e, const uint8_t *in, size_t len, uint8_t *out,
                              size_t cap, size_t *out_len, size_t *key)
{
    *out_len = 0;
    *key = 0;
    if (len < 2) return HS_ENV_TOO_SHORT;
    if (in[0] != HS_ENV_VERSION) return HS_ENV_BAD_VERSION;
    if (in[1] & ~(HS_ENV_FLAG_SEALED | HS_ENV_FLAG_PADDED)) return HS_ENV_BAD_VERSION;
    bool sealed = (in[1] & HS_ENV_FLAG_SEALED) != 0;
    if (!sealed) {
        if (in[1] & HS_ENV_FLAG_PADDED) return HS_ENV_BAD_VERSION;
        if (!e->insecure) return HS_ENV_PLAINTEXT_REJECTED;
        if (len < HS_ENV_PLAIN_OVERHEAD) return HS_ENV_TOO_SHORT;
        if (sodium_memcmp(in + 2, e->label, HS_ENV_LABEL_BYTES) != 0) return HS_ENV_WRONG_CLUSTER;
        size_t n = len - HS_ENV_PLAIN_OVERHEAD;
        if (n > cap) return HS_ENV_NO_ROOM;
        if (n) memcpy(out, in + HS_ENV_PLAIN_OVERHEAD, n);
        *out_len = n;
        return HS_ENV_OK;
    }
    if (e->insecure) return HS_ENV_SEALED_REJECTED;
    if (len < HS_ENV_SEALED_OVERHEAD) return HS_ENV_TOO_SHORT;
    size_t n = len - HS_ENV_SEALED_OVERHEAD;
    if (n > cap) return HS_ENV_NO_ROOM;
    uint8_t ad[HS_ENV_HEADER_BYTES + HS_ENV_CLUSTER_MAX];
    size_t adlen = make_ad(e, in, ad);
    const uint8_t *nonce = in + HS_ENV_HEADER_BYTES;
    const uint8_t *c = nonce + HS_ENV_NONCE_BYTES;
    size_t clen = len - HS_ENV_HEADER_BYTES - HS_ENV_NONCE_BYTES;
    bool known = false;
    for (size_t i = 0; i < e->key_count; i++) {
        if (memcmp(e->key_ids[i], in + 2, HS_ENV_KEY_ID_BYTES) != 0) continue;
        known = true;
        unsigned long long mlen = 0;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, c, clen, ad, adlen, nonce,
                                                       e->keys[i]) == 0) {
            size_t n = (size_t)mlen;
            /* authenticated, so a bad padding is the sender's bug, not tampering */
            if ((in[1] & HS_ENV_FLAG_PADDED) && unpad(out, &n) != 0) return HS_ENV_BAD_VERSION;
            *out_len = n;
            *key = i;
            return HS_ENV_OK;
        }
    }
    return known ? HS_ENV_AUTH_FAILED : HS_ENV_UNKNOWN_KEY;
}

int hs_env_key_decode(const char *text, size_t len, uint8_t key[HS_ENV_KEY_BYTES])
{
    while (len > 0 && (text[0] == ' ' || text[0] == '\t' || text[0] == '\r' || text[0] == '\n')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                       text[len - 1] == '\n'))
        len--;
    if (len != HS_ENV_KEY_B64_LEN) return -1;
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_base642bin(key, HS_ENV_KEY_BYTES, text, len, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    if (bin_len != HS_ENV_KEY_BYTES || end != text + len) {
        sodium_memzero(key, HS_ENV_KEY_BYTES);
        return -1;
    }
    return 0;
}

int hs_env_key_encode(const uint8_t key[HS_ENV_KEY_BYTES], char *out, size_t cap)
{
    if (cap < sodium_base64_ENCODED_LEN(HS_ENV_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL))
        return -1;
    sodium_bin2base64(out, cap, key, HS_ENV_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}
