/* channel_stream.c: the stream half of the secure channel (include/hearsay/channel.h): the
 * challenge the accepting side sends first, the hello that must echo it, the ephemeral X25519
 * session key both derive, and the rule that every later frame comes from the hello's
 * instance under a strictly higher number. */
#include <string.h>

#include <sodium.h>

#include "channel_internal.h"
#include "hearsay/codec.h"
#include "hearsay/wire.h"

/* Seals payload as the next numbered frame (primary key); with a session key the payload is
 * first encrypted under it, with the same nonce (the keys differ). */
static hs_env_result seal_frame(hs_channel *ch, const uint8_t *session, const uint8_t *payload,
                                size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (ch->env->insecure) return hs_env_seal(ch->env, NULL, payload, len, out, cap, out_len);
    uint8_t nonce[HS_ENV_NONCE_BYTES];
    ch_make_nonce(ch->cfg.instance, HS_CH_STREAM_SEQ | ++ch->stream_seq, 0, nonce);
    if (!session) return hs_env_seal_with(ch->env, 0, nonce, payload, len, 0, out, cap, out_len);
    /* the inner ciphertext is built where the envelope's payload goes, then sealed in place */
    size_t at = HS_ENV_HEADER_BYTES + HS_ENV_NONCE_BYTES;
    if (cap < at || len + HS_CH_SESSION_TAG > cap - at) return HS_ENV_NO_ROOM;
    unsigned long long n = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + at, &n, payload, len, NULL, 0, NULL, nonce,
                                               session);
    return hs_env_seal_with(ch->env, 0, nonce, out + at, (size_t)n, 0, out, cap, out_len);
}

/* A 32-byte secret derived from the channel's secret and a counter: ephemeral keys and
 * challenges are unpredictable without the secret and repeat in a seeded simulation. */
static void derive(hs_channel *ch, uint8_t tag, uint8_t *out, size_t n)
{
    uint8_t m[9];
    uint64_t c = ++ch->nonce_ctr;
    m[0] = tag;
    for (int i = 8; i >= 1; i--, c >>= 8) m[i] = (uint8_t)c;
    crypto_generichash(out, n, m, sizeof(m), ch->cfg.secret, sizeof(ch->cfg.secret));
}

/* session = BLAKE2b keyed with X25519(mine, theirs) over the challenge and both public keys
 * (the accepting side's first). -1 for a public key of small order. */
static int make_session(const uint8_t mine[32], const uint8_t theirs[32],
                        const uint8_t nonce[HS_CH_NONCE_BYTES], const uint8_t pk_accept[32],
                        const uint8_t pk_connect[32], uint8_t session[32])
{
    uint8_t shared[32], m[HS_CH_NONCE_BYTES + 64];
    if (crypto_scalarmult(shared, mine, theirs) != 0) return -1;
    memcpy(m, nonce, HS_CH_NONCE_BYTES);
    memcpy(m + HS_CH_NONCE_BYTES, pk_accept, 32);
    memcpy(m + HS_CH_NONCE_BYTES + 32, pk_connect, 32);
    crypto_generichash(session, 32, m, sizeof(m), shared, sizeof(shared));
    sodium_memzero(shared, sizeof(shared));
    return 0;
}

void hs_ch_stream_clear(hs_ch_stream *s)
{
    sodium_memzero(s->eph, sizeof(s->eph));
    sodium_memzero(s->session, sizeof(s->session));
}

/* Opens one frame; for sealed envelopes also reads its numbers (a stream number, another
 * instance than ours). */
static hs_ch_verdict open_frame(hs_channel *ch, const uint8_t *in, size_t len, uint8_t *out,
                                size_t cap, size_t *out_len, hs_env_result *env, size_t *key,
                                uint64_t *instance, uint64_t *seq)
{
    *env = hs_env_open_key(ch->env, in, len, out, cap, out_len, key);
    if (*env != HS_ENV_OK) return HS_CH_ENVELOPE;
    *instance = *seq = 0;
    if (ch->env->insecure) return HS_CH_DELIVER;
    uint64_t receiver;
    if (ch_read_nonce(in, len, instance, seq, &receiver) != 0 || !(*seq & HS_CH_STREAM_SEQ) ||
        receiver)
        return HS_CH_MALFORMED;
    if (*instance == ch->cfg.instance) return HS_CH_REPLAY;
    return HS_CH_DELIVER;
}

int hs_ch_stream_accept(hs_channel *ch, hs_ch_stream *s, uint64_t now_ms, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    memset(s, 0, sizeof(*s));
    derive(ch, 'c', s->nonce, sizeof(s->nonce));
    uint8_t p[1 + HS_CH_NONCE_BYTES + 32];
    p[0] = HS_MSG_CH_STREAM_CHALLENGE;
    memcpy(p + 1, s->nonce, HS_CH_NONCE_BYTES);
    size_t n = 1 + HS_CH_NONCE_BYTES;
    if (!ch->env->insecure) {
        if (!ch->have_eph || now_ms >= ch->eph_at + HS_CH_EPH_MS || now_ms < ch->eph_at) {
            derive(ch, 'e', ch->eph_sk, sizeof(ch->eph_sk));
            crypto_scalarmult_base(ch->eph_pk, ch->eph_sk);
            ch->eph_at = now_ms;
            ch->have_eph = true;
        }
        memcpy(s->eph, ch->eph_sk, sizeof(s->eph));
        memcpy(s->eph_pub, ch->eph_pk, sizeof(s->eph_pub));
        memcpy(p + n, ch->eph_pk, 32);
        n += 32;
    }
    s->state = HS_CHS_CHALLENGED;
    return seal_frame(ch, NULL, p, n, out, cap, out_len) == HS_ENV_OK ? 0 : -1;
}

static hs_ch_verdict on_hello(hs_channel *ch, hs_ch_stream *s, const uint8_t *p, size_t len)
{
    hs_reader r;
    hs_reader_init(&r, p, len);
    if (hs_get_u8(&r) != HS_MSG_CH_STREAM_HELLO) return HS_CH_MALFORMED;
    const uint8_t *nonce = hs_get_bytes(&r, HS_CH_NONCE_BYTES);
    const uint8_t *pk = ch->env->insecure ? NULL : hs_get_bytes(&r, 32);
    char text[HS_ADDR_STRLEN];
    hs_get_str8(&r, text, sizeof(text), true);
    if (!r.ok || hs_reader_left(&r) != 0) return HS_CH_MALFORMED;
    if (sodium_memcmp(nonce, s->nonce, HS_CH_NONCE_BYTES) != 0) return HS_CH_BAD_COOKIE;
    hs_addr a;
    if (hs_addr_parse(&a, text, 0) != 0) return HS_CH_MALFORMED;
    if (pk) {
        int rc = make_session(s->eph, pk, s->nonce, s->eph_pub, pk, s->session);
        sodium_memzero(s->eph, sizeof(s->eph));
        if (rc != 0) return HS_CH_MALFORMED;
    }
    s->peer = a;
    return HS_CH_CONTROL;
}

hs_ch_verdict hs_ch_stream_open(hs_channel *ch, hs_ch_stream *s, const uint8_t *in, size_t len,
                                uint8_t *out, size_t cap, size_t *out_len, hs_env_result *env,
                                hs_ch_sender *who)
{
    size_t key;
    uint64_t instance, seq;
    hs_ch_verdict v = open_frame(ch, in, len, out, cap, out_len, env, &key, &instance, &seq);
    if (v != HS_CH_DELIVER) return v;
    if (s->state == HS_CHS_CHALLENGED) {
        v = on_hello(ch, s, out, *out_len);
        if (v != HS_CH_CONTROL) return v;
        s->state = HS_CHS_OPEN;
        s->instance = instance;
        s->last_seq = seq;
        s->key = key;
        return HS_CH_CONTROL;
    }
    if (s->state != HS_CHS_OPEN) return HS_CH_MALFORMED;
    if (!ch->env->insecure) {
        if (instance != s->instance) return HS_CH_MALFORMED;
        if (seq <= s->last_seq) return HS_CH_REPLAY;
        /* the inner layer: decrypted in place under the session key, same nonce */
        unsigned long long n = 0;
        if (*out_len < HS_CH_SESSION_TAG ||
            crypto_aead_xchacha20poly1305_ietf_decrypt(out, &n, NULL, out, *out_len, NULL, 0,
                                                       in + HS_ENV_HEADER_BYTES, s->session) != 0)
            return HS_CH_MALFORMED;
        *out_len = (size_t)n;
        s->last_seq = seq;
    }
    if (*out_len && hs_msg_is_channel(out[0])) return HS_CH_MALFORMED;
    *who = (hs_ch_sender){instance, seq & ~HS_CH_STREAM_SEQ, key};
    return HS_CH_DELIVER;
}

hs_ch_verdict hs_ch_stream_challenged(hs_channel *ch, hs_ch_stream *s, const uint8_t *in,
                                      size_t len, const hs_addr *advertise, uint8_t *out,
                                      size_t cap, size_t *out_len, hs_env_result *env)
{
    uint8_t plain[HS_CH_HELLO_MAX];
    size_t plen = 0, key;
    uint64_t instance, seq;
    if (len > sizeof(plain)) return HS_CH_MALFORMED;
    hs_ch_verdict v =
        open_frame(ch, in, len, plain, sizeof(plain), &plen, env, &key, &instance, &seq);
    if (v != HS_CH_DELIVER) return v;
    size_t want = 1 + HS_CH_NONCE_BYTES + (ch->env->insecure ? 0 : 32);
    if (s->state != HS_CHS_NEW || plen != want || plain[0] != HS_MSG_CH_STREAM_CHALLENGE)
        return HS_CH_MALFORMED;
    memcpy(s->nonce, plain + 1, HS_CH_NONCE_BYTES);
    s->key = key;
    uint8_t mine[32], pk[32];
    if (!ch->env->insecure) {
        derive(ch, 'e', mine, sizeof(mine));
        crypto_scalarmult_base(pk, mine);
        const uint8_t *theirs = plain + 1 + HS_CH_NONCE_BYTES;
        int rc = make_session(mine, theirs, s->nonce, theirs, pk, s->session);
        sodium_memzero(mine, sizeof(mine));
        if (rc != 0) return HS_CH_MALFORMED;
    }
    char text[HS_ADDR_STRLEN];
    hs_addr_format(advertise, text, sizeof(text));
    uint8_t hello[1 + HS_CH_NONCE_BYTES + 32 + 1 + HS_ADDR_STRLEN];
    hs_writer w;
    hs_writer_init(&w, hello, sizeof(hello));
    hs_put_u8(&w, HS_MSG_CH_STREAM_HELLO);
    hs_put_bytes(&w, s->nonce, HS_CH_NONCE_BYTES);
    if (!ch->env->insecure) hs_put_bytes(&w, pk, 32);
    hs_put_str8(&w, text, strlen(text));
    if (!w.ok || seal_frame(ch, NULL, hello, w.len, out, cap, out_len) != HS_ENV_OK)
        return HS_CH_MALFORMED;
    s->state = HS_CHS_OPEN;
    return HS_CH_CONTROL;
}

hs_env_result hs_ch_seal_frame(hs_channel *ch, const hs_ch_stream *s, const uint8_t *payload,
                               size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    return seal_frame(ch, ch->env->insecure ? NULL : s->session, payload, len, out, cap, out_len);
}
