/* test_envelope.c: the AEAD envelope: round trips, tampering, wrong key and cluster,
 * truncation, mode mismatches, key ring rotation and key text encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "hearsay/envelope.h"

static const uint8_t msg[] = "\x01hello, cluster";

static void key_of(uint8_t k[HS_ENV_KEY_BYTES], uint8_t fill)
{
    memset(k, fill, HS_ENV_KEY_BYTES);
}

static void sealed(hs_envelope *e, const char *cluster, uint8_t fill)
{
    uint8_t k[HS_ENV_KEY_BYTES];
    key_of(k, fill);
    assert_int_equal(hs_env_init(e, cluster, false), 0);
    assert_int_equal(hs_env_add_key(e, k), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    hs_envelope e;
    sealed(&e, "prod", 1);
    uint8_t box[256], out[256];
    size_t n = 0, m = 0;
    assert_int_equal(hs_env_seal(&e, NULL, msg, sizeof(msg), box, sizeof(box), &n), HS_ENV_OK);
    assert_int_equal(n, sizeof(msg) + HS_ENV_SEALED_OVERHEAD);
    assert_int_equal(box[0], HS_ENV_VERSION);
    assert_int_equal(box[1], HS_ENV_FLAG_SEALED);
    assert_memory_not_equal(box + HS_ENV_HEADER_BYTES + HS_ENV_NONCE_BYTES, msg, sizeof(msg));
    assert_int_equal(hs_env_open(&e, box, n, out, sizeof(out), &m), HS_ENV_OK);
    assert_int_equal(m, sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));
    /* empty payload */
    assert_int_equal(hs_env_seal(&e, NULL, NULL, 0, box, sizeof(box), &n), HS_ENV_OK);
    assert_int_equal(hs_env_open(&e, box, n, out, sizeof(out), &m), HS_ENV_OK);
    assert_int_equal(m, 0);
    /* fixed nonce is deterministic */
    uint8_t nonce[HS_ENV_NONCE_BYTES], box2[256];
    size_t n2 = 0;
    memset(nonce, 7, sizeof(nonce));
    hs_env_seal(&e, nonce, msg, sizeof(msg), box, sizeof(box), &n);
    hs_env_seal(&e, nonce, msg, sizeof(msg), box2, sizeof(box2), &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(box, box2, n);
    /* no room */
    assert_int_equal(hs_env_seal(&e, NULL, msg, sizeof(msg), box, sizeof(msg), &n), HS_ENV_NO_ROOM);
    assert_int_equal(hs_env_seal(&e, NULL, msg, sizeof(msg), box, sizeof(box), &n), HS_ENV_OK);
    assert_int_equal(hs_env_open(&e, box, n, out, sizeof(msg) - 1, &m), HS_ENV_NO_ROOM);
}

static void test_tamper(void **state)
{
    (void)state;
    hs_envelope e;
    sealed(&e, "prod", 1);
    uint8_t box[256], out[256];
    size_t n = 0, m = 0;
    assert_int_equal(hs_env_seal(&e, NULL, msg, sizeof(msg), box, sizeof(box), &n), HS_ENV_OK);
    for (size_t i = 0; i < n; i++) {
        uint8_t t[256];
        memcpy(t, box, n);
        t[i] ^= 0x01;
        hs_env_result r = hs_env_open(&e, t, n, out, sizeof(out), &m);
        assert_int_not_equal(r, HS_ENV_OK);
        if (i == 0)
            assert_int_equal(r, HS_ENV_BAD_VERSION);
        else if (i == 1) /* the sealed flag cleared: looks like plaintext */
            assert_int_equal(r, HS_ENV_PLAINTEXT_REJECTED);
        else if (i < HS_ENV_HEADER_BYTES)
            assert_int_equal(r, HS_ENV_UNKNOWN_KEY);
        else
            assert_int_equal(r, HS_ENV_AUTH_FAILED);
    }
}

static void test_wrong_key(void **state)
{
    (void)state;
    hs_envelope a, b;
    sealed(&a, "prod", 1);
    sealed(&b, "prod", 2);
    uint8_t box[256], out[256];
    size_t n = 0, m = 0;
    hs_env_seal(&a, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    assert_int_equal(hs_env_open(&b, box, n, out, sizeof(out), &m), HS_ENV_UNKNOWN_KEY);
    /* same key id forged onto another key's message */
    uint8_t t[256];
    hs_env_seal(&b, NULL, msg, sizeof(msg), t, sizeof(t), &n);
    memcpy(t + 2, a.key_ids[0], HS_ENV_KEY_ID_BYTES);
    assert_int_equal(hs_env_open(&a, t, n, out, sizeof(out), &m), HS_ENV_AUTH_FAILED);
}

static void test_wrong_cluster(void **state)
{
    (void)state;
    hs_envelope a, b;
    sealed(&a, "prod", 1);
    sealed(&b, "staging", 1);
    uint8_t box[256], out[256];
    size_t n = 0, m = 0;
    hs_env_seal(&a, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    assert_int_equal(hs_env_open(&b, box, n, out, sizeof(out), &m), HS_ENV_AUTH_FAILED);
    /* insecure: label check */
    hs_envelope ia, ib;
    assert_int_equal(hs_env_init(&ia, "prod", true), 0);
    assert_int_equal(hs_env_init(&ib, "staging", true), 0);
    assert_int_equal(hs_env_seal(&ia, NULL, msg, sizeof(msg), box, sizeof(box), &n), HS_ENV_OK);
    assert_int_equal(n, sizeof(msg) + HS_ENV_PLAIN_OVERHEAD);
    assert_int_equal(hs_env_open(&ia, box, n, out, sizeof(out), &m), HS_ENV_OK);
    assert_memory_equal(out, msg, sizeof(msg));
    assert_int_equal(hs_env_open(&ib, box, n, out, sizeof(out), &m), HS_ENV_WRONG_CLUSTER);
    /* modes do not mix */
    assert_int_equal(hs_env_open(&a, box, n, out, sizeof(out), &m), HS_ENV_PLAINTEXT_REJECTED);
    hs_env_seal(&a, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    assert_int_equal(hs_env_open(&ia, box, n, out, sizeof(out), &m), HS_ENV_SEALED_REJECTED);
    /* bad cluster names */
    hs_envelope x;
    assert_int_equal(hs_env_init(&x, "", false), -1);
    char longname[HS_ENV_CLUSTER_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(hs_env_init(&x, longname, false), -1);
}

static void test_truncated(void **state)
{
    (void)state;
    hs_envelope e, ie;
    sealed(&e, "prod", 1);
    assert_int_equal(hs_env_init(&ie, "prod", true), 0);
    uint8_t box[256], out[256];
    size_t n = 0, m = 0;
    hs_env_seal(&e, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    for (size_t len = 0; len < n; len++) {
        hs_env_result r = hs_env_open(&e, box, len, out, sizeof(out), &m);
        assert_int_not_equal(r, HS_ENV_OK);
        if (len < HS_ENV_SEALED_OVERHEAD) assert_int_equal(r, HS_ENV_TOO_SHORT);
    }
    hs_env_seal(&ie, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    for (size_t len = 0; len < HS_ENV_PLAIN_OVERHEAD; len++)
        assert_int_equal(hs_env_open(&ie, box, len, out, sizeof(out), &m), HS_ENV_TOO_SHORT);
    assert_int_equal(hs_env_open(&ie, box, HS_ENV_PLAIN_OVERHEAD, out, sizeof(out), &m), HS_ENV_OK);
    assert_int_equal(m, 0);
    uint8_t bad[4] = {HS_ENV_VERSION + 1, 1, 0, 0};
    assert_int_equal(hs_env_open(&e, bad, sizeof(bad), out, sizeof(out), &m), HS_ENV_BAD_VERSION);
    bad[0] = 1; /* version 1 (random nonces, no channel numbers) is refused */
    assert_int_equal(hs_env_open(&e, bad, sizeof(bad), out, sizeof(out), &m), HS_ENV_BAD_VERSION);
    bad[0] = HS_ENV_VERSION;
    bad[1] = 0x80;
    assert_int_equal(hs_env_open(&e, bad, sizeof(bad), out, sizeof(out), &m), HS_ENV_BAD_VERSION);
}

static void test_key_ring_rotation(void **state)
{
    (void)state;
    uint8_t k1[HS_ENV_KEY_BYTES], k2[HS_ENV_KEY_BYTES], k3[HS_ENV_KEY_BYTES];
    key_of(k1, 1);
    key_of(k2, 2);
    key_of(k3, 3);
    hs_envelope old, mid, fresh;
    sealed(&old, "prod", 1); /* k1 only */
    sealed(&mid, "prod", 1); /* k1 primary, k2 accepted */
    assert_int_equal(hs_env_add_key(&mid, k2), 0);
    assert_int_equal(hs_env_add_key(&mid, k2), -1); /* duplicate */
    sealed(&fresh, "prod", 2);                      /* k2 only */
    uint8_t box[256], out[256];
    size_t n = 0, m = 0;
    /* mid seals with k1: old and mid open it, fresh does not */
    hs_env_seal(&mid, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    assert_int_equal(hs_env_open(&old, box, n, out, sizeof(out), &m), HS_ENV_OK);
    assert_int_equal(hs_env_open(&fresh, box, n, out, sizeof(out), &m), HS_ENV_UNKNOWN_KEY);
    /* fresh's k2 messages open on mid */
    hs_env_seal(&fresh, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    assert_int_equal(hs_env_open(&mid, box, n, out, sizeof(out), &m), HS_ENV_OK);
    /* rotate: use k2, then remove k1 */
    assert_int_equal(hs_env_use_key(&mid, k3), -1);
    assert_int_equal(hs_env_use_key(&mid, k2), 0);
    hs_env_seal(&mid, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    assert_int_equal(hs_env_open(&fresh, box, n, out, sizeof(out), &m), HS_ENV_OK);
    assert_int_equal(hs_env_remove_key(&mid, k2), -1); /* primary cannot be removed */
    assert_int_equal(hs_env_remove_key(&mid, k1), 0);
    assert_int_equal(mid.key_count, 1);
    hs_env_seal(&old, NULL, msg, sizeof(msg), box, sizeof(box), &n);
    assert_int_equal(hs_env_open(&mid, box, n, out, sizeof(out), &m), HS_ENV_UNKNOWN_KEY);
    /* ring bound */
    hs_envelope full;
    assert_int_equal(hs_env_init(&full, "prod", false), 0);
    for (int i = 0; i < HS_ENV_KEYS_MAX; i++) {
        uint8_t k[HS_ENV_KEY_BYTES];
        key_of(k, (uint8_t)(10 + i));
        assert_int_equal(hs_env_add_key(&full, k), 0);
    }
    assert_int_equal(hs_env_add_key(&full, k1), -1);
    /* sealing without keys */
    hs_envelope none;
    assert_int_equal(hs_env_init(&none, "prod", false), 0);
    assert_int_equal(hs_env_seal(&none, NULL, msg, sizeof(msg), box, sizeof(box), &n),
                     HS_ENV_UNKNOWN_KEY);
}

static void test_key_text(void **state)
{
    (void)state;
    uint8_t k[HS_ENV_KEY_BYTES], back[HS_ENV_KEY_BYTES];
    randombytes_buf(k, sizeof(k));
    char text[HS_ENV_KEY_B64_LEN + 1];
    assert_int_equal(hs_env_key_encode(k, text, sizeof(text)), 0);
    assert_int_equal(strlen(text), HS_ENV_KEY_B64_LEN);
    assert_int_equal(hs_env_key_decode(text, strlen(text), back), 0);
    assert_memory_equal(k, back, sizeof(k));
    char padded[64];
    snprintf(padded, sizeof(padded), "  %s\r\n", text);
    assert_int_equal(hs_env_key_decode(padded, strlen(padded), back), 0);
    assert_memory_equal(k, back, sizeof(k));
    assert_int_equal(hs_env_key_decode("", 0, back), -1);
    assert_int_equal(hs_env_key_decode("abc", 3, back), -1);
    text[5] = '!';
    assert_int_equal(hs_env_key_decode(text, strlen(text), back), -1);
    assert_int_equal(hs_env_key_encode(k, text, 10), -1);
    assert_string_equal(hs_env_result_name(HS_ENV_AUTH_FAILED), "auth_failed");
    assert_string_equal(hs_env_result_name((hs_env_result)99), "unknown");
}

static void test_padding(void **state)
{
    (void)state;
    hs_envelope e;
    sealed(&e, "prod", 1);
    uint8_t box[512], out[512];
    size_t n = 0, m = 0, key = 9;
    /* padded up to exactly min_len, flag set, payload intact after opening */
    assert_int_equal(hs_env_seal_with(&e, 0, NULL, msg, 3, 100, box, sizeof(box), &n), HS_ENV_OK);
    assert_int_equal(n, 100);
    assert_true(box[1] & HS_ENV_FLAG_PADDED);
    assert_int_equal(hs_env_open_key(&e, box, n, out, sizeof(out), &m, &key), HS_ENV_OK);
    assert_int_equal(m, 3);
    assert_int_equal(key, 0);
    assert_memory_equal(out, msg, 3);
    /* already long enough: no padding */
    assert_int_equal(hs_env_seal_with(&e, 0, NULL, msg, sizeof(msg), 10, box, sizeof(box), &n),
                     HS_ENV_OK);
    assert_false(box[1] & HS_ENV_FLAG_PADDED);
    /* the padded flag is authenticated: clearing it breaks the tag */
    assert_int_equal(hs_env_seal_with(&e, 0, NULL, msg, 3, 100, box, sizeof(box), &n), HS_ENV_OK);
    box[1] &= (uint8_t)~HS_ENV_FLAG_PADDED;
    assert_int_equal(hs_env_open(&e, box, n, out, sizeof(out), &m), HS_ENV_AUTH_FAILED);
    /* sealing with the second key of the ring, and opening reports it */
    uint8_t k2[HS_ENV_KEY_BYTES];
    key_of(k2, 2);
    assert_int_equal(hs_env_add_key(&e, k2), 0);
    assert_int_equal(hs_env_seal_with(&e, 1, NULL, msg, 3, 0, box, sizeof(box), &n), HS_ENV_OK);
    assert_int_equal(hs_env_open_key(&e, box, n, out, sizeof(out), &m, &key), HS_ENV_OK);
    assert_int_equal(key, 1);
    assert_int_equal(hs_env_seal_with(&e, 2, NULL, msg, 3, 0, box, sizeof(box), &n),
                     HS_ENV_UNKNOWN_KEY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_wrong_key),         cmocka_unit_test(test_wrong_cluster),
        cmocka_unit_test(test_truncated),         cmocka_unit_test(test_padding),
        cmocka_unit_test(test_key_ring_rotation), cmocka_unit_test(test_key_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
