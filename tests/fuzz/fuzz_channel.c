/* fuzz_channel.c: libFuzzer harness for the secure channel (lib/channel.c, channel_stream.c):
 * two or three channel instances on one key ring exchange datagrams and streams through a
 * network the input controls (record format in channel_fixture.h): it sends, re-sends any
 * earlier datagram or frame from any address to anyone, injects hostile bytes, seals anything
 * under any numbers as a key holder would (without the receivers' cookie secrets), answers
 * challenges, moves the clock, changes key rings and restarts instances.
 *
 * Checked besides memory safety and leaks (every buffer the channel reads or writes is an
 * exact-size heap copy):
 *   - a receiver delivers each (instance, number) of a datagram at most once;
 *   - it delivers a datagram of an instance from an address only if its last accepted proof
 *     of that instance came from that address, and it accepts a proof only with the cookie
 *     of that instance at that address in the current or the previous cookie step
 *     (ch_cookie, with the instance and address read here);
 *   - a challenge goes to the datagram's source and is never larger than the datagram; a
 *     proof or resend goes only to an address the sender sealed a datagram to; at most two
 *     outputs per datagram; the challenges a receiver sends stay within its global budget;
 *     every sealed datagram is at least HS_CH_MIN_DGRAM bytes;
 *   - the proven-sender table holds at most peers_max instances, each once, and its count is
 *     right (white box: channel_internal.h);
 *   - a stream delivers nothing before its hello, which must echo the stream's own
 *     challenge; after it only frames of the hello's instance, numbered strictly higher than
 *     the last one delivered on that stream.
 * In an insecure setup (no numbers) only memory safety and "no outputs" are checked.
 * Build with -DFX_TRACE to have every verdict printed (for reading a reproducer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "channel_fixture.h"
#include "channel_internal.h"
#include "hearsay/wire.h"

#define POOL        128 /* datagrams on the wire, newest last */
#define FRAMES      64  /* stream frames on the wire */
#define SLOTS       4   /* streams */
#define RECORDS_MAX 1024
#define PAYLOAD_MAX 1400
#define TRACK_MAX   RECORDS_MAX /* per receiver: at most one delivery, proof, challenge a record */
#define STRANGER_ID 0x5151000000000001ULL

#ifdef FX_TRACE
#define TRACE(...) fprintf(stderr, __VA_ARGS__)
#else
#define TRACE(...) ((void)0)
#endif

typedef struct blob {
    hs_addr from, to; /* datagrams only */
    uint8_t *data;
    size_t len;
    bool honest; /* sealed by the instance whose id it carries (not forged, not raw) */
} blob;

typedef struct pool {
    blob e[POOL];
    size_t cap, n, head; /* a ring: e[(head + i) % cap], i < n */
} pool;

typedef struct numbered {
    uint64_t instance, seq;
} numbered;

typedef struct proven {
    uint64_t instance;
    hs_addr addr; /* of the last accepted proof */
} proven;

typedef struct issued {
    uint64_t instance, at_ms;
    hs_addr to;
    uint8_t cookie[HS_CH_COOKIE_BYTES];
} issued;

typedef struct inst {
    hs_envelope env;
    hs_channel *ch;
    uint64_t id, prev_id, born_ms;
    unsigned incarnation;
    uint32_t sent_to; /* bit a: this incarnation sealed a datagram to fx_addr(a) */
    uint64_t challenges;
    numbered delivered[TRACK_MAX];
    size_t ndelivered;
    proven proofs[TRACK_MAX];
    size_t nproofs;
    uint64_t tainted[TRACK_MAX]; /* ids a key holder forged a delivered message or proof of */
    size_t ntainted;
    issued iss[TRACK_MAX];
    size_t niss;
} inst;

typedef struct slot {
    bool used, a_closed, b_closed;
    int a, b; /* connecting, accepting instance */
    hs_ch_stream ta, rb;
    uint8_t nonce[HS_CH_NONCE_BYTES]; /* the accepting side's challenge */
    uint64_t last;                    /* last number delivered (or the hello's) */
} slot;

typedef struct world {
    fx_setup s;
    hs_envelope all; /* every key: what a key holder (and the checks) open with */
    inst in[FX_INST_MAX];
    pool dg, fr;
    slot sl[SLOTS];
    uint64_t now;
} world;

static world W;

/* ---- input ---- */

typedef struct rd {
    const uint8_t *p;
    size_t n, pos;
} rd;

static uint8_t u8(rd *r)
{
    return r->pos < r->n ? r->p[r->pos++] : 0;
}

static uint16_t u16(rd *r)
{
    uint16_t v = (uint16_t)(u8(r) << 8);
    return (uint16_t)(v | u8(r));
}

static uint64_t u64(rd *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | u8(r);
    return v;
}

static const uint8_t *bytes(rd *r, size_t *len)
{
    size_t want = u16(r);
    if (want > r->n - r->pos) want = r->n - r->pos;
    const uint8_t *p = r->p + r->pos;
    r->pos += want;
    *len = want;
    return p;
}

/* ---- helpers ---- */

static uint8_t *copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (!c) abort();
    if (n)
        memcpy(c, p, n);
    else
        c[0] = 0;
    return c;
}

static void pool_add(pool *p, const hs_addr *from, const hs_addr *to, const uint8_t *d, size_t n,
                     bool honest)
{
    blob *b;
    if (p->n < p->cap) {
        b = &p->e[(p->head + p->n++) % p->cap];
    } else {
        b = &p->e[p->head];
        free(b->data);
        p->head = (p->head + 1) % p->cap;
    }
    b->data = copy(d, n);
    b->len = n;
    b->honest = honest;
    if (from) b->from = *from;
    if (to) b->to = *to;
}

static blob *pool_recent(pool *p, uint8_t k)
{
    if (!p->n) return NULL;
    return &p->e[(p->head + p->n - 1 - k % p->n) % p->cap];
}

static void pool_free(pool *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->e[(p->head + i) % p->cap].data);
    p->n = p->head = 0;
}

static int addr_index(const hs_addr *a)
{
    for (int i = 0; i < FX_ADDRS; i++) {
        hs_addr b = fx_addr(i);
        if (hs_addr_equal(a, &b)) return i;
    }
    return -1;
}

static int pick(uint8_t b)
{
    return b % W.s.ninst;
}

static bool read_nonce(const uint8_t *in, size_t len, uint64_t *instance, uint64_t *seq)
{
    uint64_t receiver;
    return ch_read_nonce(in, len, instance, seq, &receiver) == 0;
}

/* Opens what the channel sealed, with every key; the plaintext's length (0 if none). */
static size_t open_all(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (hs_env_open(&W.all, in, len, out, cap, &n) != HS_ENV_OK) abort(); /* ours must open */
    return n;
}

static uint64_t step_of(uint64_t ms)
{
    return ms / W.s.cfg.cookie_step_ms;
}

/* ---- instances ---- */

static void inst_start(int i)
{
    inst *x = &W.in[i];
    hs_ch_cfg c;
    x->prev_id = x->id;
    x->id = fx_instance_id(i, x->incarnation);
    fx_channel_cfg(&W.s, x->id, &c);
    x->ch = hs_channel_new(&c, &x->env, W.now);
    if (!x->ch) abort();
    x->born_ms = W.now;
    x->sent_to = 0;
    x->challenges = 0;
    x->ndelivered = x->nproofs = x->niss = x->ntainted = 0;
}

/* A connection closes: both ends wipe their stream keys. */
static void slot_close(slot *s)
{
    hs_ch_stream_clear(&s->ta);
    hs_ch_stream_clear(&s->rb);
    memset(s, 0, sizeof(*s));
}

static void restart(int i)
{
    hs_channel_free(W.in[i].ch);
    W.in[i].incarnation++;
    inst_start(i);
    for (int k = 0; k < SLOTS; k++) /* its connections died with it */
        if (W.sl[k].used && (W.sl[k].a == i || W.sl[k].b == i)) slot_close(&W.sl[k]);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void check_table(const inst *x)
{
    static uint64_t ids[8192];
    const hs_channel *ch = x->ch;
    if (ch->count > ch->cfg.peers_max) abort();
    if (hs_channel_stats(ch)->peers != ch->count) abort();
    size_t cap = (size_t)ch->nsets * CH_WAYS, used = 0;
    for (size_t i = 0; i < cap; i++)
        if (ch->peers[i].instance) {
            if (used == sizeof(ids) / sizeof(ids[0])) abort();
            ids[used++] = ch->peers[i].instance;
        }
    if (used != ch->count) abort();
    qsort(ids, used, sizeof(ids[0]), cmp_u64);
    for (size_t i = 1; i < used; i++)
        if (ids[i] == ids[i - 1]) abort(); /* one instance twice */
}

/* ---- datagrams ---- */

static proven *proof_of(inst *r, uint64_t instance)
{
    for (size_t i = 0; i < r->nproofs; i++)
        if (r->proofs[i].instance == instance) return &r->proofs[i];
    return NULL;
}

/* A receiver forgets an instance it evicts; a key holder that forges that instance's numbers
 * (its datagrams or a proof under an old number) can then have a number delivered again.
 * Instances it did that for are left out of the once-only check at that receiver: what is
 * checked there is what recorded copies of honest traffic can do. */
static bool tainted(const inst *r, uint64_t instance)
{
    for (size_t i = 0; i < r->ntainted; i++)
        if (r->tainted[i] == instance) return true;
    return false;
}

static void taint(inst *r, uint64_t instance)
{
    if (!tainted(r, instance) && r->ntainted < TRACK_MAX) r->tainted[r->ntainted++] = instance;
}

static void on_delivered(inst *r, const hs_addr *from, const hs_ch_sender *who, uint64_t instance,
                         uint64_t seq)
{
    if (who->instance != instance || who->seq != seq) abort();
    for (size_t i = 0; i < r->ndelivered && !tainted(r, instance); i++)
        if (r->delivered[i].instance == instance && r->delivered[i].seq == seq)
            abort(); /* delivered twice */
    const proven *p = proof_of(r, instance);
    if (!p || !hs_addr_equal(&p->addr, from)) abort(); /* not proven there */
    if (r->ndelivered < TRACK_MAX) r->delivered[r->ndelivered++] = (numbered){instance, seq};
}

/* The cookies a proof of instance from `from` may carry now: this step's and the previous
 * one's (ch_cookie; taken before the datagram is read, as accepting it may evict and so move
 * the set's epoch). Cookies are stateless: a key holder without the secret has one only from
 * a challenge; the seed corpus has some from channels configured like these. */
static int valid_cookies(const inst *r, uint64_t instance, const hs_addr *from,
                         uint8_t want[2][HS_CH_COOKIE_BYTES])
{
    uint64_t step = step_of(W.now);
    int n = 0;
    for (uint64_t back = 0; back < 2 && back <= step; back++)
        ch_cookie(r->ch, step - back, instance, from, want[n++]);
    return n;
}

static void on_proof_accepted(inst *r, const hs_addr *from, uint64_t instance, const uint8_t *plain,
                              size_t plen, uint8_t want[2][HS_CH_COOKIE_BYTES], int nwant)
{
    if (plen != 1 + HS_CH_COOKIE_BYTES || plain[0] != HS_MSG_CH_PROOF) abort();
    bool valid = false;
    for (int i = 0; i < nwant; i++) valid |= !memcmp(want[i], plain + 1, HS_CH_COOKIE_BYTES);
    if (!valid) abort(); /* wrong instance, address or step */
    proven *p = proof_of(r, instance);
    if (!p && r->nproofs < TRACK_MAX) p = &r->proofs[r->nproofs++];
    if (p) *p = (proven){instance, *from};
}

/* What the channel of r wants sent after it read a datagram of len bytes from `from`. */
static void collect_outputs(inst *r, const hs_addr *from, size_t len, hs_ch_verdict v,
                            uint64_t instance)
{
    hs_ch_output o;
    int n = 0;
    hs_addr self = fx_addr((int)(r - W.in));
    while (hs_ch_next_output(r->ch, &o)) {
        if (++n > 2 || W.s.insecure) abort();
        if (!hs_addr_equal(&o.to, from)) abort(); /* only ever back to the source */
        uint8_t *plain = malloc(o.len);
        if (!plain) abort();
        size_t plen = open_all(o.data, o.len, plain, o.len);
        uint8_t type = plen ? plain[0] : 0;
        int a = addr_index(&o.to);
        if (type == HS_MSG_CH_CHALLENGE) {
            if (v != HS_CH_UNPROVEN || o.len > len || plen != 1 + HS_CH_COOKIE_BYTES + 8) abort();
            uint64_t allowed =
                W.s.cfg.challenges_per_s + W.s.cfg.challenges_per_s * (W.now - r->born_ms) / 1000;
            if (++r->challenges > allowed) abort();
            if (r->niss < TRACK_MAX) {
                issued *c = &r->iss[r->niss++];
                *c = (issued){instance, W.now, *from, {0}};
                memcpy(c->cookie, plain + 1, HS_CH_COOKIE_BYTES);
            }
        } else {
            /* a proof and the challenged datagram again: only where we sent that datagram */
            if (v != HS_CH_CONTROL || a < 0 || !(r->sent_to & (1u << a))) abort();
            if (type != HS_MSG_CH_PROOF && o.len < HS_CH_MIN_DGRAM) abort();
        }
        free(plain);
        pool_add(&W.dg, &self, &o.to, o.data, o.len, true);
    }
}

/* Datagram d (len bytes) arrives at instance ri from `from`; honest: see blob. */
static void dgram_in(int ri, const hs_addr *from, const uint8_t *d, size_t len, bool honest)
{
    inst *r = &W.in[ri];
    uint8_t *in = copy(d, len), *out = malloc(len ? len : 1);
    if (!out) abort();
    size_t olen = 0;
    hs_env_result env = HS_ENV_OK;
    hs_ch_sender who;
    uint64_t accepted = hs_channel_stats(r->ch)->proofs_accepted;
    uint64_t instance = 0, seq = 0;
    bool numbered = read_nonce(in, len, &instance, &seq);
    uint8_t want[2][HS_CH_COOKIE_BYTES];
    int nwant = numbered ? valid_cookies(r, instance, from, want) : 0;
    hs_ch_verdict v = hs_ch_open_dgram(r->ch, W.now, from, in, len, out, len, &olen, &env, &who);
    if ((unsigned)v >= HS_CH_VERDICT_COUNT || !hs_ch_verdict_name(v)) abort();
    if ((v == HS_CH_DELIVER || v == HS_CH_CONTROL) && olen > len) abort();
    if (v == HS_CH_ENVELOPE && (env == HS_ENV_OK || (unsigned)env >= HS_ENV_RESULT_COUNT)) abort();
    TRACE("t=%llu datagram at %d from %d, %zu bytes, instance %llx number %llu: %s\n",
          (unsigned long long)W.now, ri, addr_index(from), len, (unsigned long long)instance,
          (unsigned long long)seq, hs_ch_verdict_name(v));
    bool proved = hs_channel_stats(r->ch)->proofs_accepted != accepted;
    if (!honest && numbered && (v == HS_CH_DELIVER || proved)) taint(r, instance);
    if (!W.s.insecure) {
        if (v == HS_CH_DELIVER) {
            if (!numbered) abort();
            if (olen && hs_msg_is_channel(out[0])) abort();
            on_delivered(r, from, &who, instance, seq);
        }
        if (proved) {
            if (v != HS_CH_CONTROL || !numbered) abort();
            on_proof_accepted(r, from, instance, out, olen, want, nwant);
        }
    }
    collect_outputs(r, from, len, v, instance);
    free(in);
    free(out);
}

/* A payload as the cores make one: at least a byte, never a channel type. */
static uint8_t *core_payload(const uint8_t *p, size_t *len, uint8_t type)
{
    if (*len > PAYLOAD_MAX) *len = PAYLOAD_MAX;
    uint8_t *c = copy(p, *len);
    if (!*len) *len = 1;
    if (!c[0] || hs_msg_is_channel(c[0])) c[0] = type;
    return c;
}

static void send_dgram(int si, int to_addr, const uint8_t *p, size_t len)
{
    inst *s = &W.in[si];
    uint8_t *payload = core_payload(p, &len, HS_MSG_PING);
    hs_addr to = fx_addr(to_addr), self = fx_addr(si);
    size_t cap = len + HS_ENV_OVERHEAD_MAX + 256 + HS_CH_MIN_DGRAM, n = 0;
    uint8_t *out = malloc(cap);
    if (!out) abort();
    if (hs_ch_seal_dgram(s->ch, W.now, &to, payload, len, out, cap, &n) != HS_ENV_OK) abort();
    if (n > cap || (!W.s.insecure && n < HS_CH_MIN_DGRAM)) abort();
    s->sent_to |= 1u << to_addr;
    pool_add(&W.dg, &self, &to, out, n, true);
    free(out);
    free(payload);
}

/* The instance a datagram for `to` reaches (dest 0), or the one dest names. */
static int receiver(const hs_addr *to, uint8_t how)
{
    int dest = (how >> 3) & 3;
    if (dest) return pick((uint8_t)(dest - 1));
    int a = addr_index(to);
    return a >= 0 && a < W.s.ninst ? a : pick((uint8_t)(how >> 5));
}

/* An instance id a key holder claims: who bits 0-1 an instance, bits 2-3 its current id, its
 * previous one, a stranger, or the receiver's own. */
static uint64_t claimed_id(uint8_t who, int receiver_index)
{
    const inst *x = &W.in[pick(who & 3)];
    switch ((who >> 2) & 3) {
    case 0:
        return x->id;
    case 1:
        return x->prev_id ? x->prev_id : x->id;
    case 2:
        return STRANGER_ID;
    default:
        return W.in[receiver_index].id;
    }
}

/* seq, or (who bit 4) a number near the claimed instance's own counter. */
static uint64_t claimed_seq(uint8_t who, uint64_t id, uint64_t seq, bool stream)
{
    if (!(who & 16)) return seq;
    for (int i = 0; i < W.s.ninst; i++)
        if (W.in[i].id == id) {
            uint64_t base = stream ? W.in[i].ch->stream_seq : W.in[i].ch->dgram_seq;
            uint64_t n = base + (uint64_t)(int64_t)(int8_t)(seq & 0xff);
            return stream ? (n | HS_CH_STREAM_SEQ) : n;
        }
    return seq;
}

/* Seals payload as a key holder would: any key, any numbers; NULL if it does not seal. */
/* Seals payload as a key holder would: any key, any numbers, for a stream frame (session
 * not NULL) first under that session key; NULL if it does not seal. */
static uint8_t *forge(uint8_t key, uint64_t id, uint64_t seq, const uint8_t *p, size_t len,
                      size_t min_len, const uint8_t *session, size_t *n)
{
    uint8_t nonce[HS_ENV_NONCE_BYTES];
    fx_nonce(id, seq, nonce);
    uint8_t *inner = NULL;
    if (session) {
        unsigned long long il = 0;
        inner = malloc(len + HS_CH_SESSION_TAG);
        if (!inner) abort();
        crypto_aead_xchacha20poly1305_ietf_encrypt(inner, &il, p, len, NULL, 0, NULL, nonce,
                                                   session);
        p = inner;
        len = (size_t)il;
    }
    size_t cap = len + HS_ENV_OVERHEAD_MAX + 256 + HS_CH_MIN_DGRAM;
    uint8_t *out = malloc(cap);
    if (!out) abort();
    hs_env_result r = hs_env_seal_with(&W.all, key % FX_KEYS, nonce, p, len, min_len, out, cap, n);
    free(inner);
    if (r != HS_ENV_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void op_forge_proof(uint8_t k, uint8_t how, uint64_t seq)
{
    blob *b = pool_recent(&W.dg, k);
    if (!b || W.s.insecure) return;
    uint8_t plain[64];
    size_t plen = 0;
    if (b->len > sizeof(plain) + HS_ENV_OVERHEAD_MAX ||
        hs_env_open(&W.all, b->data, b->len, plain, sizeof(plain), &plen) != HS_ENV_OK ||
        plen != 1 + HS_CH_COOKIE_BYTES + 8 || plain[0] != HS_MSG_CH_CHALLENGE)
        return;
    int ri = addr_index(&b->from);
    if (ri < 0 || ri >= W.s.ninst) return;
    uint64_t id = W.in[0].id;
    const inst *r = &W.in[ri];
    for (size_t i = 0; i < r->niss; i++)
        if (!memcmp(r->iss[i].cookie, plain + 1, HS_CH_COOKIE_BYTES)) id = r->iss[i].instance;
    if (how & 8) id = W.in[pick((uint8_t)(how >> 4))].id; /* claims another instance */
    seq = claimed_seq((uint8_t)(how & 0x80 ? 16 : 0), id, seq, false);
    uint8_t proof[1 + HS_CH_COOKIE_BYTES];
    proof[0] = HS_MSG_CH_PROOF;
    memcpy(proof + 1, plain + 1, HS_CH_COOKIE_BYTES);
    size_t n = 0;
    uint8_t *d = forge(how, id, seq, proof, sizeof(proof), 0, NULL, &n);
    if (!d) return;
    hs_addr from = (how & 7) ? fx_addr((how & 7) - 1) : b->to, to = b->from;
    pool_add(&W.dg, &from, &to, d, n, false); /* b may be overwritten here */
    dgram_in(ri, &from, d, n, false);
    free(d);
}

static void op_ring(int i, uint8_t what)
{
    uint8_t key[HS_ENV_KEY_BYTES];
    fx_key(what & 3, key);
    hs_envelope *e = &W.in[i].env;
    if (W.s.insecure) return;
    switch ((what >> 2) % 3) {
    case 0:
        (void)hs_env_add_key(e, key);
        break;
    case 1:
        (void)hs_env_use_key(e, key);
        break;
    default:
        (void)hs_env_remove_key(e, key);
        break;
    }
}

/* ---- streams ---- */

static void stream_accept(uint8_t k, int a, int b)
{
    slot *s = &W.sl[k % SLOTS];
    slot_close(s);
    s->used = true;
    s->a = a;
    s->b = b;
    uint8_t chal[HS_CH_HELLO_MAX];
    size_t n = 0;
    if (hs_ch_stream_accept(W.in[b].ch, &s->rb, W.now, chal, sizeof(chal), &n) != 0) abort();
    if (s->rb.state != HS_CHS_CHALLENGED || n > sizeof(chal)) abort();
    memcpy(s->nonce, s->rb.nonce, HS_CH_NONCE_BYTES);
    if (!W.s.insecure) {
        uint8_t plain[HS_CH_HELLO_MAX];
        size_t plen = open_all(chal, n, plain, sizeof(plain));
        if (plen != 1 + HS_CH_NONCE_BYTES + 32 || plain[0] != HS_MSG_CH_STREAM_CHALLENGE ||
            memcmp(plain + 1, s->nonce, HS_CH_NONCE_BYTES))
            abort();
    }
    pool_add(&W.fr, NULL, NULL, chal, n, true);
}

/* A frame reaches the connecting side of slot k, which waits for its challenge. */
static void stream_challenged(uint8_t k, const uint8_t *f, size_t len)
{
    slot *s = &W.sl[k % SLOTS];
    if (!s->used || s->a_closed) return;
    uint8_t *in = copy(f, len), hello[HS_CH_HELLO_MAX];
    size_t n = 0;
    hs_env_result env = HS_ENV_OK;
    hs_addr adv = fx_addr(s->a);
    bool was_new = s->ta.state == HS_CHS_NEW;
    hs_ch_verdict v = hs_ch_stream_challenged(W.in[s->a].ch, &s->ta, in, len, &adv, hello,
                                              sizeof(hello), &n, &env);
    if (v == HS_CH_CONTROL) {
        if (!was_new || s->ta.state != HS_CHS_OPEN || n > sizeof(hello)) abort();
        pool_add(&W.fr, NULL, NULL, hello, n, true);
    } else {
        s->a_closed = true; /* the daemon closes the connection */
    }
    free(in);
}

static void stream_send(uint8_t k, const uint8_t *p, size_t len)
{
    slot *s = &W.sl[k % SLOTS];
    if (!s->used || s->a_closed || s->ta.state != HS_CHS_OPEN) return;
    uint8_t *payload = core_payload(p, &len, HS_MSG_MEET);
    size_t cap = len + HS_ENV_OVERHEAD_MAX + HS_CH_SESSION_TAG, n = 0;
    uint8_t *out = malloc(cap);
    if (!out) abort();
    if (hs_ch_seal_frame(W.in[s->a].ch, &s->ta, payload, len, out, cap, &n) != HS_ENV_OK || n > cap)
        abort();
    pool_add(&W.fr, NULL, NULL, out, n, true);
    free(out);
    free(payload);
}

/* A frame reaches the accepting side of slot k. */
static void stream_in(uint8_t k, const uint8_t *f, size_t len)
{
    slot *s = &W.sl[k % SLOTS];
    if (!s->used || s->b_closed) return;
    uint8_t *in = copy(f, len), *out = malloc(len ? len : 1);
    if (!out) abort();
    size_t olen = 0;
    hs_env_result env = HS_ENV_OK;
    hs_ch_sender who;
    uint8_t before = s->rb.state;
    hs_ch_verdict v =
        hs_ch_stream_open(W.in[s->b].ch, &s->rb, in, len, out, len, &olen, &env, &who);
    if ((v == HS_CH_DELIVER || v == HS_CH_CONTROL) && olen > len) abort();
    uint64_t instance = 0, seq = 0;
    bool numbered = read_nonce(in, len, &instance, &seq);
    TRACE("t=%llu frame on stream %d at %d, %zu bytes, instance %llx number %llu: %s\n",
          (unsigned long long)W.now, k % SLOTS, s->b, len, (unsigned long long)instance,
          (unsigned long long)(seq & ~HS_CH_STREAM_SEQ), hs_ch_verdict_name(v));
    if (v == HS_CH_CONTROL) {
        /* the hello: only once, echoing this stream's own challenge */
        if (before != HS_CHS_CHALLENGED || s->rb.state != HS_CHS_OPEN) abort();
        if (olen < 1 + HS_CH_NONCE_BYTES || out[0] != HS_MSG_CH_STREAM_HELLO ||
            memcmp(out + 1, s->nonce, HS_CH_NONCE_BYTES))
            abort();
        if (!W.s.insecure) {
            if (!numbered || instance != s->rb.instance || instance == W.in[s->b].id) abort();
            s->last = seq & ~HS_CH_STREAM_SEQ;
        }
    } else if (v == HS_CH_DELIVER) {
        if (before != HS_CHS_OPEN) abort(); /* nothing before the hello */
        if (olen && hs_msg_is_channel(out[0])) abort();
        if (!W.s.insecure) {
            if (!numbered || who.instance != s->rb.instance || who.instance != instance) abort();
            if (who.seq <= s->last) abort(); /* not strictly rising */
            s->last = who.seq;
        }
    } else {
        s->b_closed = true; /* any other verdict closes the connection */
    }
    free(in);
    free(out);
}

/* ---- the run ---- */

static void setup(const uint8_t *data, size_t size)
{
    memset(&W, 0, sizeof(W));
    fx_setup_decode(size > 0 ? data[0] : 0, size > 1 ? data[1] : 0, &W.s);
    W.now = W.s.start_ms;
    W.dg.cap = POOL;
    W.fr.cap = FRAMES;
    if (fx_env_init(&W.all, W.s.insecure, FX_KEYS) != 0) abort();
    for (int i = 0; i < W.s.ninst; i++) {
        if (fx_env_init(&W.in[i].env, W.s.insecure, 2) != 0) abort();
        inst_start(i);
    }
}

static void teardown(void)
{
    for (int k = 0; k < SLOTS; k++) slot_close(&W.sl[k]);
    for (int i = 0; i < W.s.ninst; i++) hs_channel_free(W.in[i].ch);
    pool_free(&W.dg);
    pool_free(&W.fr);
}

static void step(rd *r)
{
    uint8_t op = u8(r) % FX_OP_COUNT;
    size_t len = 0;
    switch (op) {
    case FX_TIME:
        W.now += u16(r);
        break;
    case FX_SEND: {
        int src = pick(u8(r));
        int dst = u8(r) % FX_ADDRS;
        const uint8_t *p = bytes(r, &len);
        send_dgram(src, dst, p, len);
        break;
    }
    case FX_DELIVER: {
        uint8_t k = u8(r), how = u8(r);
        blob *b = pool_recent(&W.dg, k);
        if (!b) break;
        hs_addr from = (how & 7) ? fx_addr((how & 7) - 1) : b->from;
        /* b may leave the pool while it is delivered: deliver a copy */
        uint8_t *d = copy(b->data, b->len);
        size_t n = b->len;
        dgram_in(receiver(&b->to, how), &from, d, n, b->honest);
        free(d);
        break;
    }
    case FX_RAW: {
        int dst = pick(u8(r));
        hs_addr from = fx_addr(u8(r) % FX_ADDRS);
        const uint8_t *p = bytes(r, &len);
        dgram_in(dst, &from, p, len, false);
        break;
    }
    case FX_FORGE: {
        int dst = pick(u8(r));
        hs_addr from = fx_addr(u8(r) % FX_ADDRS), to = fx_addr(dst);
        uint8_t key = u8(r), who = u8(r);
        uint64_t id = claimed_id(who, dst);
        uint64_t seq = claimed_seq(who, id, u64(r), false);
        const uint8_t *p = bytes(r, &len);
        size_t n = 0;
        size_t pad = (who & 32) ? HS_CH_MIN_DGRAM : 0;
        uint8_t *d = W.s.insecure ? NULL : forge(key, id, seq, p, len, pad, NULL, &n);
        if (!d) break;
        pool_add(&W.dg, &from, &to, d, n, false);
        dgram_in(dst, &from, d, n, false);
        free(d);
        break;
    }
    case FX_FORGE_PROOF: {
        uint8_t k = u8(r), how = u8(r);
        op_forge_proof(k, how, u64(r));
        break;
    }
    case FX_RING: {
        int who = pick(u8(r));
        op_ring(who, u8(r));
        break;
    }
    case FX_RESTART: {
        int who = pick(u8(r));
        TRACE("t=%llu restart %d\n", (unsigned long long)W.now, who);
        restart(who);
        break;
    }
    case FX_S_ACCEPT: {
        uint8_t k = u8(r);
        int a = pick(u8(r));
        int b = pick(u8(r));
        stream_accept(k, a, b);
        break;
    }
    case FX_S_CHAL:
    case FX_S_RECV: {
        uint8_t k = u8(r);
        blob *b = pool_recent(&W.fr, u8(r));
        if (!b) break;
        uint8_t *f = copy(b->data, b->len);
        size_t n = b->len;
        if (op == FX_S_CHAL)
            stream_challenged(k, f, n);
        else
            stream_in(k, f, n);
        free(f);
        break;
    }
    case FX_S_SEND: {
        uint8_t k = u8(r);
        const uint8_t *p = bytes(r, &len);
        stream_send(k, p, len);
        break;
    }
    case FX_S_RAW: {
        uint8_t k = u8(r), side = u8(r);
        const uint8_t *p = bytes(r, &len);
        if (side & 1)
            stream_challenged(k, p, len);
        else
            stream_in(k, p, len);
        break;
    }
    case FX_S_FORGE: {
        uint8_t k = u8(r), key = u8(r), who = u8(r);
        slot *s = &W.sl[k % SLOTS];
        uint64_t id = claimed_id(who, s->used ? s->b : 0);
        uint64_t seq = claimed_seq(who, id, u64(r), true);
        const uint8_t *p = bytes(r, &len);
        size_t n = 0;
        /* who bit 5: under the stream's session key, as its connecting side could */
        const uint8_t *session = (who & 32) ? s->ta.session : NULL;
        uint8_t *f = W.s.insecure ? NULL : forge(key, id, seq, p, len, 0, session, &n);
        if (!f) break;
        pool_add(&W.fr, NULL, NULL, f, n, false);
        stream_in(k, f, n);
        free(f);
        break;
    }
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16) return 0;
    setup(data, size);
    rd r = {data, size, size > 2 ? 2 : size};
    for (int k = 0; k < RECORDS_MAX && r.pos < r.n; k++) {
        step(&r);
        for (int i = 0; i < W.s.ninst; i++) check_table(&W.in[i]);
    }
    teardown();
    return 0;
}
