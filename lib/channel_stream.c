/* channel_stream.c: the stream half of the secure channel (include/hearsay/channel.h): the
 * challenge the accepting side sends first, the hello that must echo it, and the rule that
 * every later frame comes from the hello's instance under a strictly higher number. */
#include <string.h>

#include <sodium.h>

#include "channel_internal.h"
#include "hearsay/codec.h"
#include "hearsay/wire.h"

/* Seals payload as the next numbered frame (primary key). */
static hs_env_result seal_frame(hs_channel *ch, const uint8_t *payload, size_t len, uint8_t *out,
                                size_t cap, size_t *out_len)
{
    if (ch->env->insecure) return hs_env_seal(ch->env, NULL, payload, len, out, cap, out_len);
    uint8_t nonce[HS_ENV_NONCE_BYTES];
    ch_make_nonce(ch->cfg.instance, HS_CH_STREAM_SEQ | ++ch->stream_seq, nonce);
    return hs_env_seal_with(ch->env, 0, nonce, payload, len, 0, out, cap, out_len);
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
    if (ch_read_nonce(in, len, instance, seq) != 0 || !(*seq & HS_CH_STREAM_SEQ))
        return HS_CH_MALFORMED;
    if (*instance == ch->cfg.instance) return HS_CH_REPLAY;
    return HS_CH_DELIVER;
}

int hs_ch_stream_accept(hs_channel *ch, hs_ch_stream *s, uint8_t *out, size_t cap, size_t *out_len)
{
    memset(s, 0, sizeof(*s));
    /* the challenge: a keyed hash of a counter, unpredictable without the secret */
    uint8_t ctr[8];
    uint64_t c = ++ch->nonce_ctr;
    for (int i = 7; i >= 0; i--, c >>= 8) ctr[i] = (uint8_t)c;
    crypto_generichash(s->nonce, sizeof(s->nonce), ctr, sizeof(ctr), ch->cfg.secret,
                       sizeof(ch->cfg.secret));
    uint8_t p[1 + HS_CH_NONCE_BYTES];
    p[0] = HS_MSG_CH_STREAM_CHALLENGE;
    memcpy(p + 1, s->nonce, HS_CH_NONCE_BYTES);
    s->state = HS_CHS_CHALLENGED;
    return seal_frame(ch, p, sizeof(p), out, cap, out_len) == HS_ENV_OK ? 0 : -1;
}

static hs_ch_verdict on_hello(hs_ch_stream *s, const uint8_t *p, size_t len)
{
    hs_reader r;
    hs_reader_init(&r, p, len);
    if (hs_get_u8(&r) != HS_MSG_CH_STREAM_HELLO) return HS_CH_MALFORMED;
    const uint8_t *nonce = hs_get_bytes(&r, HS_CH_NONCE_BYTES);
    char text[HS_ADDR_STRLEN];
    hs_get_str8(&r, text, sizeof(text), true);
    if (!r.ok || hs_reader_left(&r) != 0) return HS_CH_MALFORMED;
    if (sodium_memcmp(nonce, s->nonce, HS_CH_NONCE_BYTES) != 0) return HS_CH_BAD_COOKIE;
    hs_addr a;
    if (hs_addr_parse(&a, text, 0) != 0) return HS_CH_MALFORMED;
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
        v = on_hello(s, out, *out_len);
        if (v != HS_CH_CONTROL) return v;
        s->state = HS_CHS_OPEN;
        s->instance = instance;
        s->last_seq = seq;
        s->key = key;
        return HS_CH_CONTROL;
    }
    if (s->state != HS_CHS_OPEN) return HS_CH_MALFORMED;
    if (*out_len && hs_msg_is_channel(out[0])) return HS_CH_MALFORMED;
    if (!ch->env->insecure) {
        if (instance != s->instance) return HS_CH_MALFORMED;
        if (seq <= s->last_seq) return HS_CH_REPLAY;
        s->last_seq = seq;
    }
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
    if (s->state != HS_CHS_NEW || plen != 1 + HS_CH_NONCE_BYTES ||
        plain[0] != HS_MSG_CH_STREAM_CHALLENGE)
        return HS_CH_MALFORMED;
    memcpy(s->nonce, plain + 1, HS_CH_NONCE_BYTES);
    s->key = key;
    char text[HS_ADDR_STRLEN];
    hs_addr_format(advertise, text, sizeof(text));
    uint8_t hello[1 + HS_CH_NONCE_BYTES + 1 + HS_ADDR_STRLEN];
    hs_writer w;
    hs_writer_init(&w, hello, sizeof(hello));
    hs_put_u8(&w, HS_MSG_CH_STREAM_HELLO);
    hs_put_bytes(&w, s->nonce, HS_CH_NONCE_BYTES);
    hs_put_str8(&w, text, strlen(text));
    if (!w.ok || seal_frame(ch, hello, w.len, out, cap, out_len) != HS_ENV_OK)
        return HS_CH_MALFORMED;
    s->state = HS_CHS_OPEN;
    return HS_CH_CONTROL;
}

hs_env_result hs_ch_seal_frame(hs_channel *ch, const uint8_t *payload, size_t len, uint8_t *out,
                               size_t cap, size_t *out_len)
{
    return seal_frame(ch, payload, len, out, cap, out_len);
}
