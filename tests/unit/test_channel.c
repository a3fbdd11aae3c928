/* test_channel.c: the secure channel's rules (include/hearsay/channel.h), one test each:
 * proof before delivery, duplicates and old numbers dropped, spoofed sources and restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "hearsay/channel.h"
#include "hearsay/wire.h"

#define BUF 2048

typedef struct side {
    hs_envelope env;
    hs_channel *ch;
    hs_addr addr;
} side;

/* A recorded datagram. */
typedef struct dgram {
    hs_addr from, to;
    uint8_t b[BUF];
    size_t len;
} dgram;

static void side_init(side *s, uint8_t ip, uint64_t instance, uint8_t keyfill, uint64_t now)
{
    uint8_t k[HS_ENV_KEY_BYTES];
    memset(k, keyfill, sizeof(k));
    assert_int_equal(hs_env_init(&s->env, "test", false), 0);
    assert_int_equal(hs_env_add_key(&s->env, k), 0);
    hs_ch_cfg c;
    hs_ch_cfg_default(&c);
    c.instance = instance;
    memset(c.secret, (int)instance, sizeof(c.secret));
    s->ch = hs_channel_new(&c, &s->env, now);
    assert_non_null(s->ch);
    s->addr = hs_addr_v4(127, 0, 0, ip, 7946);
}

static void side_free(side *s)
{
    hs_channel_free(s->ch);
}

/* Instance 222 at 127.0.0.2 that remembers at most peers_max proven senders. */
static void small_receiver(side *b, uint32_t peers_max)
{
    side_init(b, 2, 222, 7, 0);
    hs_channel_free(b->ch);
    hs_ch_cfg c;
    hs_ch_cfg_default(&c);
    c.instance = 222;
    c.peers_max = peers_max;
    b->ch = hs_channel_new(&c, &b->env, 0);
    assert_non_null(b->ch);
}

static dgram seal(side *a, const hs_addr *to, const char *text, uint64_t now)
{
    dgram d;
    d.from = a->addr;
    d.to = *to;
    uint8_t p[600];
    size_t n = strlen(text);
    p[0] = HS_MSG_PING; /* any core type */
    memcpy(p + 1, text, n);
    assert_int_equal(hs_ch_seal_dgram(a->ch, now, to, p, n + 1, d.b, sizeof(d.b), &d.len),
                     HS_ENV_OK);
    return d;
}

/* Delivers d at b (from d.from); returns the verdict and, on delivery, checks the text. */
static hs_ch_verdict recv_at(side *b, const dgram *d, uint64_t now, char *text_out)
{
    uint8_t out[BUF];
    size_t n = 0;
    hs_env_result env;
    hs_ch_sender who;
    hs_ch_verdict v =
        hs_ch_open_dgram(b->ch, now, &d->from, d->b, d->len, out, sizeof(out), &n, &env, &who);
    if (v == HS_CH_DELIVER && text_out) {
        assert_true(n >= 1);
        memcpy(text_out, out + 1, n - 1);
        text_out[n - 1] = '\0';
    }
    return v;
}

/* Moves every output of s into outs (from s's address); returns how many. */
static size_t drain(side *s, dgram *outs, size_t cap)
{
    hs_ch_output o;
    size_t k = 0;
    while (hs_ch_next_output(s->ch, &o)) {
        assert_true(k < cap);
        outs[k].from = s->addr;
        outs[k].to = o.to;
        assert_true(o.len <= BUF);
        memcpy(outs[k].b, o.data, o.len);
        outs[k].len = o.len;
        k++;
    }
    return k;
}

/* Runs the handshake for a first datagram a -> b: returns the text b delivered. */
static void first_contact(side *a, side *b, const char *text, uint64_t now)
{
    dgram d = seal(a, &b->addr, text, now), ch[4], pr[4];
    assert_int_equal(recv_at(b, &d, now, NULL), HS_CH_UNPROVEN);
    assert_int_equal(drain(b, ch, 4), 1);
    assert_true(hs_addr_equal(&ch[0].to, &a->addr));
    assert_true(ch[0].len <= d.len); /* never more than was sent */
    assert_int_equal(recv_at(a, &ch[0], now, NULL), HS_CH_CONTROL);
    assert_int_equal(drain(a, pr, 4), 2); /* the proof, then the datagram again */
    assert_int_equal(recv_at(b, &pr[0], now, NULL), HS_CH_CONTROL);
    char got[600];
    assert_int_equal(recv_at(b, &pr[1], now, got), HS_CH_DELIVER);
    assert_string_equal(got, text);
    /* the original, challenged copy is now a replay */
    assert_int_equal(recv_at(b, &d, now, NULL), HS_CH_REPLAY);
}

static void test_nothing_delivered_before_proof(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 1000);
    side_init(&b, 2, 222, 7, 1000);
    first_contact(&a, &b, "hello", 1000);
    /* once proven, datagrams flow without a challenge */
    dgram d = seal(&a, &b.addr, "second", 1001);
    char got[600];
    assert_int_equal(recv_at(&b, &d, 1001, got), HS_CH_DELIVER);
    assert_string_equal(got, "second");
    side_free(&a);
    side_free(&b);
}

static void test_duplicate_dropped(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    first_contact(&a, &b, "x", 0);
    dgram d = seal(&a, &b.addr, "once", 10);
    assert_int_equal(recv_at(&b, &d, 10, NULL), HS_CH_DELIVER);
    for (int i = 0; i < 5; i++) assert_int_equal(recv_at(&b, &d, 20 + i, NULL), HS_CH_REPLAY);
    /* a duplicate from another (spoofed) address is dropped without an answer */
    d.from = hs_addr_v4(10, 9, 9, 9, 1);
    assert_int_equal(recv_at(&b, &d, 30, NULL), HS_CH_REPLAY);
    dgram none[1];
    assert_int_equal(drain(&b, none, 1), 0);
    side_free(&a);
    side_free(&b);
}

static void test_window_reorder_and_age(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    first_contact(&a, &b, "x", 0);
    static dgram ds[HS_CH_WINDOW + 8];
    for (int i = 0; i < HS_CH_WINDOW + 8; i++) ds[i] = seal(&a, &b.addr, "n", 1);
    /* newest first, then two older ones inside the window, each once */
    assert_int_equal(recv_at(&b, &ds[HS_CH_WINDOW + 7], 2, NULL), HS_CH_DELIVER);
    assert_int_equal(recv_at(&b, &ds[HS_CH_WINDOW], 2, NULL), HS_CH_DELIVER);
    assert_int_equal(recv_at(&b, &ds[20], 2, NULL), HS_CH_DELIVER);
    assert_int_equal(recv_at(&b, &ds[20], 2, NULL), HS_CH_REPLAY);
    /* more than a window behind the newest: dropped even though never seen */
    assert_int_equal(recv_at(&b, &ds[2], 2, NULL), HS_CH_REPLAY);
    side_free(&a);
    side_free(&b);
}

static void test_spoofed_source_not_answered_by_sender(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    dgram d = seal(&a, &b.addr, "meet", 0), ch[2], none[2];
    d.from = hs_addr_v4(10, 0, 0, 66, 5000); /* the replayer chose this source */
    assert_int_equal(recv_at(&b, &d, 0, NULL), HS_CH_UNPROVEN);
    assert_int_equal(drain(&b, ch, 2), 1);
    assert_true(hs_addr_equal(&ch[0].to, &d.from));
    assert_true(ch[0].len <= d.len);
    /* the challenge reaches the real sender only if someone forwards it: it answers nothing,
     * it never sent that datagram to that address */
    ch[0].from = d.from;
    assert_int_equal(recv_at(&a, &ch[0], 0, NULL), HS_CH_BAD_COOKIE);
    assert_int_equal(drain(&a, none, 2), 0);
    side_free(&a);
    side_free(&b);
}

static void test_proven_elsewhere_is_challenged(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    first_contact(&a, &b, "x", 0);
    /* a fresh number of a proven instance, from an address it is not proven at */
    dgram d = seal(&a, &b.addr, "y", 5), ch[2];
    d.from = hs_addr_v4(10, 0, 0, 66, 5000);
    assert_int_equal(recv_at(&b, &d, 5, NULL), HS_CH_UNPROVEN);
    assert_int_equal(drain(&b, ch, 2), 1);
    /* the same datagram from the proven address is still delivered (not marked meanwhile) */
    d.from = a.addr;
    assert_int_equal(recv_at(&b, &d, 5, NULL), HS_CH_DELIVER);
    side_free(&a);
    side_free(&b);
}

/* A datagram numbered for one receiver is no fresh datagram for another: recorded on its way
 * to c and sent to b from a's own address (where a is proven at b, with a number b has not
 * seen), it must not reach b's cores. hearsay-sim replay found the hole: such redirected
 * replays revived reaped members and delivered envelopes of a removed key. */
static void test_redirected_datagram_refused(void **state)
{
    (void)state;
    side a, b, c;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    side_init(&c, 3, 333, 7, 0);
    first_contact(&a, &b, "x", 0);
    first_contact(&a, &c, "y", 0);
    dgram d = seal(&a, &c.addr, "for c only", 1), none[2];
    assert_int_equal(recv_at(&b, &d, 1, NULL), HS_CH_REPLAY);
    assert_int_equal(drain(&b, none, 2), 0); /* and answered with nothing */
    char got[600];
    assert_int_equal(recv_at(&c, &d, 1, got), HS_CH_DELIVER);
    assert_string_equal(got, "for c only");
    /* b still takes what a numbers for b */
    dgram e = seal(&a, &b.addr, "for b", 2);
    assert_int_equal(recv_at(&b, &e, 2, got), HS_CH_DELIVER);
    side_free(&a);
    side_free(&b);
    side_free(&c);
}

static void test_small_datagrams_padded(void **state)
{
    (void)state;
    side a;
    side_init(&a, 1, 111, 7, 0);
    hs_addr to = hs_addr_v4(127, 0, 0, 2, 7946);
    uint8_t p[1] = {HS_MSG_KEYS_QUERY}, out[BUF];
    size_t n;
    assert_int_equal(hs_ch_seal_dgram(a.ch, 0, &to, p, 1, out, sizeof(out), &n), HS_ENV_OK);
    assert_int_equal(n, HS_CH_MIN_DGRAM);
    assert_true(out[1] & HS_ENV_FLAG_PADDED);
    /* and the padding is gone after opening */
    uint8_t plain[BUF];
    size_t m;
    assert_int_equal(hs_env_open(&a.env, out, n, plain, sizeof(plain), &m), HS_ENV_OK);
    assert_int_equal(m, 1);
    assert_int_equal(plain[0], HS_MSG_KEYS_QUERY);
    side_free(&a);
}

static void test_receiver_restart_refuses_recorded(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    first_contact(&a, &b, "x", 0);
    dgram rec[10];
    for (int i = 0; i < 10; i++) {
        rec[i] = seal(&a, &b.addr, "recorded", 1);
        assert_int_equal(recv_at(&b, &rec[i], 1, NULL), HS_CH_DELIVER);
    }
    /* the sender exits; the receiver restarts (new instance, new secret, empty table) */
    side_free(&a);
    side_free(&b);
    side_init(&b, 2, 333, 7, 5000);
    dgram ch[4];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 10; i++) {
            assert_int_equal(recv_at(&b, &rec[i], 5000 + (uint64_t)round, NULL), HS_CH_UNPROVEN);
            drain(&b, ch, 4); /* challenges to a sender that no longer exists */
        }
    side_free(&b);
}

static void test_cookie_checks(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    dgram d = seal(&a, &b.addr, "m", 0), ch[2], pr[4];
    assert_int_equal(recv_at(&b, &d, 0, NULL), HS_CH_UNPROVEN);
    drain(&b, ch, 2);
    assert_int_equal(recv_at(&a, &ch[0], 0, NULL), HS_CH_CONTROL);
    assert_int_equal(drain(&a, pr, 4), 2);
    /* a proof that arrives after two cookie steps is refused: the instance must try again */
    hs_ch_cfg c;
    hs_ch_cfg_default(&c);
    uint64_t late = 2 * (uint64_t)c.cookie_step_ms + 1;
    assert_int_equal(recv_at(&b, &pr[0], late, NULL), HS_CH_BAD_COOKIE);
    assert_int_equal(recv_at(&b, &pr[1], late, NULL), HS_CH_UNPROVEN);
    /* a challenge answered twice? the sender answers once */
    assert_int_equal(recv_at(&a, &ch[0], 1, NULL), HS_CH_BAD_COOKIE);
    /* a proof with a flipped cookie byte does not open (authenticated); forge a wrong cookie
     * by proving from another address: the cookie is bound to the address */
    dgram e = seal(&a, &b.addr, "m2", late), ch2[2], pr2[4];
    assert_int_equal(recv_at(&b, &e, late, NULL), HS_CH_UNPROVEN);
    drain(&b, ch2, 2);
    assert_int_equal(recv_at(&a, &ch2[0], late, NULL), HS_CH_CONTROL);
    drain(&a, pr2, 4);
    pr2[0].from = hs_addr_v4(10, 0, 0, 66, 5000);
    assert_int_equal(recv_at(&b, &pr2[0], late, NULL), HS_CH_BAD_COOKIE);
    pr2[0].from = a.addr;
    assert_int_equal(recv_at(&b, &pr2[0], late, NULL), HS_CH_CONTROL);
    assert_int_equal(recv_at(&b, &pr2[0], late, NULL), HS_CH_REPLAY); /* proof replayed */
    side_free(&a);
    side_free(&b);
}

static void test_challenge_budgets(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    hs_ch_cfg c;
    hs_ch_cfg_default(&c);
    /* one source: at most its burst at once */
    dgram out[8];
    size_t sent = 0;
    for (uint32_t i = 0; i < 3 * c.source_burst; i++) {
        dgram d = seal(&a, &b.addr, "flood", 0);
        assert_int_equal(recv_at(&b, &d, 0, NULL), HS_CH_UNPROVEN);
        sent += drain(&b, out, 8);
    }
    assert_int_equal(sent, c.source_burst);
    /* many sources: at most the global budget per second */
    sent = 0;
    for (uint32_t i = 0; i < 2 * c.challenges_per_s; i++) {
        dgram d = seal(&a, &b.addr, "flood", 10);
        d.from = hs_addr_v4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 9);
        assert_int_equal(recv_at(&b, &d, 10, NULL), HS_CH_UNPROVEN);
        sent += drain(&b, out, 8);
    }
    assert_true(sent <= c.challenges_per_s);
    assert_true(sent >= c.challenges_per_s - c.source_burst);
    side_free(&a);
    side_free(&b);
}

static void test_eviction_needs_new_proof(void **state)
{
    (void)state;
    side b;
    small_receiver(&b, 8); /* a receiver that remembers few senders */
    side s[20];
    dgram rec[20];
    for (int i = 0; i < 20; i++) {
        side_init(&s[i], (uint8_t)(10 + i), 1000 + (uint64_t)i, 7, (uint64_t)i);
        first_contact(&s[i], &b, "x", (uint64_t)i);
        rec[i] = seal(&s[i], &b.addr, "later", (uint64_t)i);
    }
    assert_true(hs_channel_stats(b.ch)->peers <= 8);
    assert_true(hs_channel_stats(b.ch)->peers_evicted >= 12);
    /* the first senders were forgotten: their datagrams need a proof again, and once it is
     * given, what they numbered before it counts as seen */
    assert_int_equal(recv_at(&b, &rec[0], 100, NULL), HS_CH_UNPROVEN);
    first_contact(&s[0], &b, "again", 100);
    assert_int_equal(recv_at(&b, &rec[0], 101, NULL), HS_CH_REPLAY);
    for (int i = 0; i < 20; i++) side_free(&s[i]);
    side_free(&b);
}

static void test_table_never_above_peers_max(void **state)
{
    (void)state;
    /* small limits too: the table must never remember more instances than peers_max, also
     * below the size it starts at (found by fuzz_channel) */
    static const uint32_t limits[] = {4, 5, 8, 15, 16, 17};
    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        side b;
        small_receiver(&b, limits[l]);
        for (int i = 0; i < 40; i++) {
            side s;
            side_init(&s, (uint8_t)(10 + i), 5000 + (uint64_t)i, 7, (uint64_t)i);
            first_contact(&s, &b, "x", (uint64_t)i);
            assert_true(hs_channel_stats(b.ch)->peers <= limits[l]);
            side_free(&s);
        }
        side_free(&b);
    }
}

static void test_recorded_proof_after_eviction(void **state)
{
    (void)state;
    /* a proven sender is evicted while its proof's cookie is still valid: a recorded copy of
     * that proof must not prove it again, or everything it numbered after the proof would be
     * new once more (found by fuzz_channel) */
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    small_receiver(&b, 4);
    dgram d = seal(&a, &b.addr, "first", 0), ch[2], pr[2];
    assert_int_equal(recv_at(&b, &d, 0, NULL), HS_CH_UNPROVEN);
    drain(&b, ch, 2);
    assert_int_equal(recv_at(&a, &ch[0], 0, NULL), HS_CH_CONTROL);
    assert_int_equal(drain(&a, pr, 2), 2);
    assert_int_equal(recv_at(&b, &pr[0], 0, NULL), HS_CH_CONTROL); /* recorded: pr[0] */
    assert_int_equal(recv_at(&b, &pr[1], 0, NULL), HS_CH_DELIVER);
    dgram later = seal(&a, &b.addr, "later", 1);
    assert_int_equal(recv_at(&b, &later, 1, NULL), HS_CH_DELIVER);
    for (int i = 0; i < 4; i++) { /* four newer senders push a out */
        side s;
        side_init(&s, (uint8_t)(10 + i), 900 + (uint64_t)i, 7, 10 + (uint64_t)i);
        first_contact(&s, &b, "x", 10 + (uint64_t)i);
        side_free(&s);
    }
    assert_true(hs_channel_stats(b.ch)->peers_evicted >= 1);
    assert_int_equal(recv_at(&b, &later, 20, NULL), HS_CH_UNPROVEN); /* a is forgotten */
    drain(&b, ch, 2);
    assert_int_equal(recv_at(&b, &pr[0], 21, NULL), HS_CH_BAD_COOKIE);
    assert_int_equal(recv_at(&b, &later, 22, NULL), HS_CH_UNPROVEN);
    drain(&b, ch, 2);
    /* a itself proves again as usual, and `later` stays a replay */
    first_contact(&a, &b, "again", 30);
    assert_int_equal(recv_at(&b, &later, 31, NULL), HS_CH_REPLAY);
    side_free(&a);
    side_free(&b);
}

static void test_window_survives_key_change(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    first_contact(&a, &b, "x", 0);
    dgram old = seal(&a, &b.addr, "under k7", 1);
    assert_int_equal(recv_at(&b, &old, 1, NULL), HS_CH_DELIVER);
    /* both move to a new primary, keeping the old key as secondary */
    uint8_t k2[HS_ENV_KEY_BYTES];
    memset(k2, 9, sizeof(k2));
    hs_env_add_key(&a.env, k2);
    hs_env_use_key(&a.env, k2);
    hs_env_add_key(&b.env, k2);
    hs_env_use_key(&b.env, k2);
    dgram d = seal(&a, &b.addr, "under k9", 2);
    char got[600];
    assert_int_equal(recv_at(&b, &d, 2, got), HS_CH_DELIVER); /* no new proof needed */
    assert_int_equal(recv_at(&b, &old, 3, NULL), HS_CH_REPLAY);
    side_free(&a);
    side_free(&b);
}

/* ---- streams ---- */

static void stream_pair(side *a, side *b, hs_ch_stream *ta, hs_ch_stream *rb, uint8_t *chal,
                        size_t *chal_len, uint8_t *hello, size_t *hello_len)
{
    memset(ta, 0, sizeof(*ta));
    assert_int_equal(hs_ch_stream_accept(b->ch, rb, 0, chal, HS_CH_HELLO_MAX, chal_len), 0);
    hs_env_result env;
    assert_int_equal(hs_ch_stream_challenged(a->ch, ta, chal, *chal_len, &a->addr, hello,
                                             HS_CH_HELLO_MAX, hello_len, &env),
                     HS_CH_CONTROL);
    uint8_t out[BUF];
    size_t n;
    hs_ch_sender who;
    assert_int_equal(
        hs_ch_stream_open(b->ch, rb, hello, *hello_len, out, sizeof(out), &n, &env, &who),
        HS_CH_CONTROL);
    assert_true(hs_addr_equal(&rb->peer, &a->addr));
}

static void test_stream_rules(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    hs_ch_stream ta, rb;
    uint8_t chal[HS_CH_HELLO_MAX], hello[HS_CH_HELLO_MAX];
    size_t cl, hl;
    stream_pair(&a, &b, &ta, &rb, chal, &cl, hello, &hl);
    uint8_t f1[BUF], f2[BUF], out[BUF];
    size_t n1, n2, n;
    uint8_t p[] = {HS_MSG_MEET, 1, 2, 3};
    assert_int_equal(hs_ch_seal_frame(a.ch, &ta, p, sizeof(p), f1, sizeof(f1), &n1), HS_ENV_OK);
    assert_int_equal(hs_ch_seal_frame(a.ch, &ta, p, sizeof(p), f2, sizeof(f2), &n2), HS_ENV_OK);
    hs_env_result env;
    hs_ch_sender who;
    assert_int_equal(hs_ch_stream_open(b.ch, &rb, f1, n1, out, sizeof(out), &n, &env, &who),
                     HS_CH_DELIVER);
    assert_int_equal(n, sizeof(p));
    assert_int_equal(who.instance, 111);
    /* a frame inserted again into the live stream */
    assert_int_equal(hs_ch_stream_open(b.ch, &rb, f1, n1, out, sizeof(out), &n, &env, &who),
                     HS_CH_REPLAY);
    assert_int_equal(hs_ch_stream_open(b.ch, &rb, f2, n2, out, sizeof(out), &n, &env, &who),
                     HS_CH_DELIVER);
    /* the whole recorded stream on a new connection: the hello echoes the old challenge */
    hs_ch_stream rb2;
    uint8_t chal2[HS_CH_HELLO_MAX];
    size_t cl2;
    assert_int_equal(hs_ch_stream_accept(b.ch, &rb2, 0, chal2, sizeof(chal2), &cl2), 0);
    assert_memory_not_equal(rb2.nonce, rb.nonce, HS_CH_NONCE_BYTES);
    assert_int_equal(hs_ch_stream_open(b.ch, &rb2, hello, hl, out, sizeof(out), &n, &env, &who),
                     HS_CH_BAD_COOKIE);
    /* and a data frame first is refused too */
    hs_ch_stream rb3;
    assert_int_equal(hs_ch_stream_accept(b.ch, &rb3, 0, chal2, sizeof(chal2), &cl2), 0);
    assert_int_equal(hs_ch_stream_open(b.ch, &rb3, f2, n2, out, sizeof(out), &n, &env, &who),
                     HS_CH_MALFORMED);
    side_free(&a);
    side_free(&b);
}

static void test_stream_session_secret_from_ring_key_holders(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    hs_ch_stream ta, rb;
    uint8_t chal[HS_CH_HELLO_MAX], hello[HS_CH_HELLO_MAX];
    size_t cl, hl;
    stream_pair(&a, &b, &ta, &rb, chal, &cl, hello, &hl);
    static const uint8_t secret_payload[] = "\x62key material: NEWKEY-NEWKEY-NEWKEY";
    uint8_t f[BUF], out[BUF];
    size_t n, m;
    assert_int_equal(
        hs_ch_seal_frame(a.ch, &ta, secret_payload, sizeof(secret_payload), f, sizeof(f), &n),
        HS_ENV_OK);
    /* whoever holds the ring key (and recorded the handshake) opens the envelope, but finds
     * only the session ciphertext */
    assert_int_equal(hs_env_open(&a.env, f, n, out, sizeof(out), &m), HS_ENV_OK);
    assert_int_equal(m, sizeof(secret_payload) + HS_CH_SESSION_TAG);
    assert_null(memmem(out, m, "NEWKEY", 6));
    assert_null(memmem(chal, cl, "NEWKEY", 6));
    /* the receiver of the handshake reads it */
    hs_env_result env;
    hs_ch_sender who;
    assert_int_equal(hs_ch_stream_open(b.ch, &rb, f, n, out, sizeof(out), &m, &env, &who),
                     HS_CH_DELIVER);
    assert_memory_equal(out, secret_payload, sizeof(secret_payload));
    /* a frame of another session, same ring key, same sender: refused */
    hs_ch_stream ta2, rb2;
    uint8_t chal2[HS_CH_HELLO_MAX], hello2[HS_CH_HELLO_MAX];
    size_t cl2, hl2;
    stream_pair(&a, &b, &ta2, &rb2, chal2, &cl2, hello2, &hl2);
    assert_int_equal(
        hs_ch_seal_frame(a.ch, &ta2, secret_payload, sizeof(secret_payload), f, sizeof(f), &n),
        HS_ENV_OK);
    assert_int_equal(hs_ch_stream_open(b.ch, &rb, f, n, out, sizeof(out), &m, &env, &who),
                     HS_CH_MALFORMED);
    assert_memory_not_equal(ta.session, ta2.session, 32);
    hs_ch_stream_clear(&ta);
    hs_ch_stream_clear(&rb);
    side_free(&a);
    side_free(&b);
}

static void test_accept_key_reused_for_a_second(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 7, 0);
    hs_ch_stream s1, s2, s3;
    uint8_t c1[HS_CH_HELLO_MAX], c2[HS_CH_HELLO_MAX], c3[HS_CH_HELLO_MAX];
    size_t n1, n2, n3;
    assert_int_equal(hs_ch_stream_accept(b.ch, &s1, 5000, c1, sizeof(c1), &n1), 0);
    assert_int_equal(hs_ch_stream_accept(b.ch, &s2, 5999, c2, sizeof(c2), &n2), 0);
    assert_int_equal(hs_ch_stream_accept(b.ch, &s3, 6000, c3, sizeof(c3), &n3), 0);
    /* one key within HS_CH_EPH_MS, a new one after it; the challenges always differ */
    assert_memory_equal(s1.eph_pub, s2.eph_pub, 32);
    assert_memory_not_equal(s2.eph_pub, s3.eph_pub, 32);
    assert_memory_not_equal(s1.nonce, s2.nonce, HS_CH_NONCE_BYTES);
    /* and two streams on the same accepting key still get different sessions */
    hs_ch_stream t1, t2;
    memset(&t1, 0, sizeof(t1));
    memset(&t2, 0, sizeof(t2));
    uint8_t h1[HS_CH_HELLO_MAX], h2[HS_CH_HELLO_MAX], out[BUF];
    size_t hl1, hl2, m;
    hs_env_result env;
    hs_ch_sender who;
    assert_int_equal(
        hs_ch_stream_challenged(a.ch, &t1, c1, n1, &a.addr, h1, sizeof(h1), &hl1, &env),
        HS_CH_CONTROL);
    assert_int_equal(
        hs_ch_stream_challenged(a.ch, &t2, c2, n2, &a.addr, h2, sizeof(h2), &hl2, &env),
        HS_CH_CONTROL);
    assert_int_equal(hs_ch_stream_open(b.ch, &s1, h1, hl1, out, sizeof(out), &m, &env, &who),
                     HS_CH_CONTROL);
    assert_int_equal(hs_ch_stream_open(b.ch, &s2, h2, hl2, out, sizeof(out), &m, &env, &who),
                     HS_CH_CONTROL);
    assert_memory_equal(s1.session, t1.session, 32);
    assert_memory_equal(s2.session, t2.session, 32);
    assert_memory_not_equal(s1.session, s2.session, 32);
    side_free(&a);
    side_free(&b);
}

static void test_stream_wrong_key(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, 1, 111, 7, 0);
    side_init(&b, 2, 222, 8, 0); /* another key */
    hs_ch_stream ta, rb;
    memset(&ta, 0, sizeof(ta));
    uint8_t chal[HS_CH_HELLO_MAX], hello[HS_CH_HELLO_MAX];
    size_t cl, hl;
    hs_env_result env;
    assert_int_equal(hs_ch_stream_accept(b.ch, &rb, 0, chal, sizeof(chal), &cl), 0);
    assert_int_equal(
        hs_ch_stream_challenged(a.ch, &ta, chal, cl, &a.addr, hello, sizeof(hello), &hl, &env),
        HS_CH_ENVELOPE);
    assert_int_equal(env, HS_ENV_UNKNOWN_KEY);
    side_free(&a);
    side_free(&b);
}

static void test_insecure_passes_through(void **state)
{
    (void)state;
    hs_envelope e;
    assert_int_equal(hs_env_init(&e, "test", true), 0);
    hs_ch_cfg c;
    hs_ch_cfg_default(&c);
    c.instance = 5;
    hs_channel *ch = hs_channel_new(&c, &e, 0);
    hs_addr to = hs_addr_v4(127, 0, 0, 2, 1);
    uint8_t p[] = {HS_MSG_PING, 9}, box[BUF], out[BUF];
    size_t n, m;
    assert_int_equal(hs_ch_seal_dgram(ch, 0, &to, p, sizeof(p), box, sizeof(box), &n), HS_ENV_OK);
    hs_env_result env;
    hs_ch_sender who;
    for (int i = 0; i < 2; i++)
        assert_int_equal(hs_ch_open_dgram(ch, 0, &to, box, n, out, sizeof(out), &m, &env, &who),
                         HS_CH_DELIVER);
    hs_channel_free(ch);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_delivered_before_proof),
        cmocka_unit_test(test_duplicate_dropped),
        cmocka_unit_test(test_window_reorder_and_age),
        cmocka_unit_test(test_spoofed_source_not_answered_by_sender),
        cmocka_unit_test(test_proven_elsewhere_is_challenged),
        cmocka_unit_test(test_redirected_datagram_refused),
        cmocka_unit_test(test_small_datagrams_padded),
        cmocka_unit_test(test_receiver_restart_refuses_recorded),
        cmocka_unit_test(test_cookie_checks),
        cmocka_unit_test(test_challenge_budgets),
        cmocka_unit_test(test_eviction_needs_new_proof),
        cmocka_unit_test(test_table_never_above_peers_max),
        cmocka_unit_test(test_recorded_proof_after_eviction),
        cmocka_unit_test(test_window_survives_key_change),
        cmocka_unit_test(test_stream_rules),
        cmocka_unit_test(test_stream_session_secret_from_ring_key_holders),
        cmocka_unit_test(test_accept_key_reused_for_a_second),
        cmocka_unit_test(test_stream_wrong_key),
        cmocka_unit_test(test_insecure_passes_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
