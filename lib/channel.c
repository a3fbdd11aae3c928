/* channel.c: the datagram half of the secure channel (include/hearsay/channel.h): numbering,
 * the table of proven sender instances with their anti-replay windows, cookie challenges and
 * proofs, and the resend of a challenged datagram. Pure: time comes in, datagrams go out. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "channel_internal.h"
#include "hearsay/codec.h"
#include "hearsay/wire.h"

static const char *const verdict_names[HS_CH_VERDICT_COUNT] = {
    [HS_CH_DELIVER] = "deliver",       [HS_CH_CONTROL] = "control",
    [HS_CH_UNPROVEN] = "unproven",     [HS_CH_REPLAY] = "replay",
    [HS_CH_BAD_COOKIE] = "bad_cookie", [HS_CH_ENVELOPE] = "envelope",
    [HS_CH_MALFORMED] = "malformed",
};

const char *hs_ch_verdict_name(hs_ch_verdict v)
{
    return (unsigned)v < HS_CH_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

void hs_ch_cfg_default(hs_ch_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->peers_max = 8192;
    c->challenges_per_s = 2000;
    c->source_burst = 20;
    c->source_per_s = 20;
    c->cookie_step_ms = 2000;
}

/* ---- numbers ---- */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

void ch_make_nonce(uint64_t instance, uint64_t seq, uint64_t receiver,
                   uint8_t nonce[HS_ENV_NONCE_BYTES])
{
    put64(nonce, instance);
    put64(nonce + 8, seq);
    put64(nonce + 16, receiver);
}

int ch_read_nonce(const uint8_t *in, size_t len, uint64_t *instance, uint64_t *seq,
                  uint64_t *receiver)
{
    if (len < HS_ENV_HEADER_BYTES + HS_ENV_NONCE_BYTES) return -1;
    const uint8_t *n = in + HS_ENV_HEADER_BYTES;
    *instance = get64(n);
    *seq = get64(n + 8);
    *receiver = get64(n + 16);
    return *instance && (*seq & ~HS_CH_STREAM_SEQ) ? 0 : -1;
}

/* ---- life cycle ---- */

hs_channel *hs_channel_new(const hs_ch_cfg *cfg, const hs_envelope *env, uint64_t now_ms)
{
    if (!cfg->instance || cfg->peers_max < CH_WAYS || !cfg->cookie_step_ms) return NULL;
    hs_channel *ch = calloc(1, sizeof(*ch));
    if (!ch) return NULL;
    ch->cfg = *cfg;
    ch->env = env;
    /* 4 sets to start with, fewer when peers_max is smaller: the table never outgrows it */
    ch->nsets = 4;
    while (ch->nsets > 1 && (size_t)ch->nsets * CH_WAYS > cfg->peers_max) ch->nsets /= 2;
    ch->peers = calloc((size_t)ch->nsets * CH_WAYS, sizeof(*ch->peers));
    ch->epochs = calloc(ch->nsets, sizeof(*ch->epochs));
    if (!ch->peers || !ch->epochs) {
        free(ch->peers);
        free(ch->epochs);
        free(ch);
        return NULL;
    }
    ch->global.milli = cfg->challenges_per_s * 1000u;
    ch->global.at_ms = now_ms;
    return ch;
}

static void outputs_free(hs_channel *ch)
{
    for (size_t i = 0; i < ch->nout; i++) free(ch->out[i].data);
    ch->nout = ch->out_read = 0;
}

void hs_channel_free(hs_channel *ch)
{
    if (!ch) return;
    outputs_free(ch);
    for (size_t i = 0; i < HS_CH_RESEND; i++) free(ch->sent[i].data);
    free(ch->peers);
    free(ch->epochs);
    sodium_memzero(ch->cfg.secret, sizeof(ch->cfg.secret));
    sodium_memzero(ch->eph_sk, sizeof(ch->eph_sk));
    free(ch);
}

uint64_t hs_channel_instance(const hs_channel *ch)
{
    return ch->cfg.instance;
}

const hs_ch_stats *hs_channel_stats(const hs_channel *ch)
{
    return &ch->st;
}

size_t hs_channel_bytes(const hs_channel *ch)
{
    size_t n = sizeof(*ch) + (size_t)ch->nsets * (CH_WAYS * sizeof(ch_peer) + sizeof(uint32_t));
    for (size_t i = 0; i < HS_CH_RESEND; i++) n += ch->sent[i].len;
    return n;
}

static uint32_t addr_tag(const hs_addr *a)
{
    uint8_t m[1 + 16 + 2], h[4];
    m[0] = a->family;
    memcpy(m + 1, a->ip, 16);
    m[17] = (uint8_t)(a->port >> 8);
    m[18] = (uint8_t)a->port;
    crypto_generichash(h, sizeof(h), m, sizeof(m), NULL, 0);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* ---- receivers: the instance at each address we send to ---- */

static ch_dest *dest_set(hs_channel *ch, const hs_addr *a)
{
    return &ch->dests[(size_t)(addr_tag(a) % CH_DEST_SETS) * CH_WAYS];
}

/* The instance of the channel at `to` (the receiver tag of our datagrams for it), 0 if we do
 * not know it yet: that datagram is challenged, and the challenge teaches it. */
static uint64_t dest_get(hs_channel *ch, const hs_addr *to, uint64_t now)
{
    ch_dest *set = dest_set(ch, to);
    for (int w = 0; w < CH_WAYS; w++)
        if (set[w].instance && hs_addr_equal(&set[w].addr, to)) {
            set[w].used_ms = now;
            return set[w].instance;
        }
    return 0;
}

/* The channel at `at` proved it is `instance` (its challenge, proof or delivered datagram). */
static void dest_learn(hs_channel *ch, const hs_addr *at, uint64_t instance, uint64_t now)
{
    ch_dest *set = dest_set(ch, at), *d = NULL;
    for (int w = 0; w < CH_WAYS && !d; w++)
        if (set[w].instance && hs_addr_equal(&set[w].addr, at)) d = &set[w];
    for (int w = 0; w < CH_WAYS && !d; w++)
        if (!set[w].instance) d = &set[w];
    if (!d) {
        d = &set[0];
        for (int w = 1; w < CH_WAYS; w++)
            if (set[w].used_ms < d->used_ms) d = &set[w];
    }
    *d = (ch_dest){*at, instance, now};
}

/* ---- the proven-sender table ---- */

static uint32_t set_of(const hs_channel *ch, uint64_t instance)
{
    uint64_t z = instance * 0x9e3779b97f4a7c15ULL;
    z ^= z >> 31;
    return (uint32_t)(z & (ch->nsets - 1));
}

static ch_peer *peer_find(hs_channel *ch, uint64_t instance)
{
    ch_peer *set = &ch->peers[(size_t)set_of(ch, instance) * CH_WAYS];
    for (int w = 0; w < CH_WAYS; w++)
        if (set[w].instance == instance) return &set[w];
    return NULL;
}

/* A free slot of instance's set, or NULL. */
static ch_peer *peer_free_slot(hs_channel *ch, uint64_t instance)
{
    ch_peer *set = &ch->peers[(size_t)set_of(ch, instance) * CH_WAYS];
    for (int w = 0; w < CH_WAYS; w++)
        if (!set[w].instance) return &set[w];
    return NULL;
}

/* Doubles the table (up to peers_max entries); false if it cannot. */
static bool peers_grow(hs_channel *ch)
{
    size_t cap = (size_t)ch->nsets * CH_WAYS;
    if (cap * 2 > ch->cfg.peers_max) return false;
    ch_peer *np = calloc(cap * 2, sizeof(*np));
    uint32_t *ne = calloc((size_t)ch->nsets * 2, sizeof(*ne));
    if (!np || !ne) {
        free(np);
        free(ne);
        return false;
    }
    /* set s splits into s and s + nsets: both keep its epoch, so cookies stay valid */
    for (uint32_t i = 0; i < ch->nsets; i++) ne[i] = ne[i + ch->nsets] = ch->epochs[i];
    free(ch->epochs);
    ch->epochs = ne;
    ch_peer *old = ch->peers;
    ch->peers = np;
    ch->nsets *= 2;
    for (size_t i = 0; i < cap; i++) {
        if (!old[i].instance) continue;
        ch_peer *slot = peer_free_slot(ch, old[i].instance);
        if (slot) *slot = old[i]; /* a set of the doubled table holds at most the old one's */
    }
    free(old);
    return true;
}

/* A zeroed entry for a new instance: a free slot of its set (growing the table while it is
 * three quarters full, or the set is full), else the set's least recently used entry. */
static ch_peer *peer_insert(hs_channel *ch, uint64_t instance, uint64_t now)
{
    size_t cap = (size_t)ch->nsets * CH_WAYS;
    if ((ch->count + 1) * 4 > cap * 3) peers_grow(ch);
    ch_peer *p = peer_free_slot(ch, instance);
    if (!p && peers_grow(ch)) p = peer_free_slot(ch, instance);
    if (!p) {
        ch_peer *set = &ch->peers[(size_t)set_of(ch, instance) * CH_WAYS];
        p = &set[0];
        for (int w = 1; w < CH_WAYS; w++)
            if (set[w].used_ms < p->used_ms) p = &set[w];
        ch->count--;
        ch->st.peers_evicted++;
        ch->epochs[set_of(ch, instance)]++; /* no cookie issued before this proves again */
    }
    memset(p, 0, sizeof(*p));
    p->instance = instance;
    p->used_ms = now;
    ch->count++;
    ch->st.peers = ch->count;
    return p;
}

static bool bit_get(const ch_peer *p, uint64_t n)
{
    return (p->bits[(n % HS_CH_WINDOW) / 64] >> (n % 64)) & 1;
}

static void bit_set(ch_peer *p, uint64_t n)
{
    p->bits[(n % HS_CH_WINDOW) / 64] |= 1ULL << (n % 64);
}

/* Has number n been seen (or fallen behind the window)? */
static bool seen(const ch_peer *p, uint64_t n)
{
    if (n > p->top) return false;
    if (p->top - n >= HS_CH_WINDOW) return true;
    return bit_get(p, n);
}

/* Records n as seen (seen(p, n) must be false). */
static void mark(ch_peer *p, uint64_t n)
{
    if (n > p->top) {
        uint64_t gap = n - p->top;
        if (gap >= HS_CH_WINDOW) {
            memset(p->bits, 0, sizeof(p->bits));
        } else {
            for (uint64_t k = p->top + 1; k < n; k++)
                p->bits[(k % HS_CH_WINDOW) / 64] &= ~(1ULL << (k % 64));
        }
        p->top = n;
    }
    bit_set(p, n);
}

/* ---- outputs ---- */

static void begin(hs_channel *ch)
{
    outputs_free(ch);
}

/* Seals payload (numbered, tagged for receiver, key `key`, padded to min_len) into a new output
 * for `to`. */
static bool emit(hs_channel *ch, const hs_addr *to, uint64_t receiver, size_t key,
                 const uint8_t *payload, size_t len, size_t min_len, uint64_t *seq_out)
{
    if (ch->nout >= CH_OUT_MAX) return false;
    size_t cap = len + HS_ENV_OVERHEAD_MAX + 256 + HS_CH_MIN_DGRAM;
    uint8_t *buf = malloc(cap);
    if (!buf) return false;
    uint64_t seq = ++ch->dgram_seq;
    uint8_t nonce[HS_ENV_NONCE_BYTES];
    ch_make_nonce(ch->cfg.instance, seq, receiver, nonce);
    size_t n = 0;
    if (hs_env_seal_with(ch->env, key, nonce, payload, len, min_len, buf, cap, &n) != HS_ENV_OK) {
        free(buf);
        return false;
    }
    ch->out[ch->nout++] = (ch_out){*to, buf, n};
    if (seq_out) *seq_out = seq;
    return true;
}

bool hs_ch_next_output(hs_channel *ch, hs_ch_output *out)
{
    if (ch->out_read >= ch->nout) return false;
    ch_out *o = &ch->out[ch->out_read++];
    out->to = o->to;
    out->data = o->data;
    out->len = o->len;
    return true;
}

/* ---- sending ---- */

/* Remembers a sent datagram for a resend after a challenge. */
static void remember(hs_channel *ch, uint64_t seq, const hs_addr *to, const uint8_t *payload,
                     size_t len)
{
    ch_sent *e = &ch->sent[seq % HS_CH_RESEND];
    uint8_t *copy = len ? malloc(len) : NULL;
    if (len && !copy) return;
    if (len) memcpy(copy, payload, len);
    free(e->data);
    *e = (ch_sent){seq, *to, copy, len, false};
}

hs_env_result hs_ch_seal_dgram(hs_channel *ch, uint64_t now_ms, const hs_addr *to,
                               const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                               size_t *out_len)
{
    if (ch->env->insecure) return hs_env_seal(ch->env, NULL, payload, len, out, cap, out_len);
    uint64_t seq = ++ch->dgram_seq;
    uint8_t nonce[HS_ENV_NONCE_BYTES];
    ch_make_nonce(ch->cfg.instance, seq, dest_get(ch, to, now_ms), nonce);
    hs_env_result r =
        hs_env_seal_with(ch->env, 0, nonce, payload, len, HS_CH_MIN_DGRAM, out, cap, out_len);
    if (r == HS_ENV_OK) remember(ch, seq, to, payload, len);
    return r;
}

/* ---- challenges ---- */

/* Takes one token from b (refilled at per_s up to burst); false if there is none. */
static bool take(ch_bucket *b, uint64_t now, uint32_t per_s, uint32_t burst)
{
    if (now > b->at_ms) {
        uint64_t add = (now - b->at_ms) * per_s;
        uint64_t m = b->milli + add;
        b->milli = m > (uint64_t)burst * 1000u ? burst * 1000u : (uint32_t)m;
        b->at_ms = now;
    }
    if (b->milli < 1000) return false;
    b->milli -= 1000;
    return true;
}

void ch_cookie(const hs_channel *ch, uint64_t step, uint64_t instance, const hs_addr *a,
               uint8_t out[HS_CH_COOKIE_BYTES])
{
    uint8_t m[8 + 4 + 8 + 1 + 16 + 2];
    put64(m, step);
    uint32_t e = ch->epochs[set_of(ch, instance)];
    for (int i = 0; i < 4; i++) m[8 + i] = (uint8_t)(e >> (24 - 8 * i));
    put64(m + 12, instance);
    m[20] = a->family;
    memcpy(m + 21, a->ip, 16);
    m[37] = (uint8_t)(a->port >> 8);
    m[38] = (uint8_t)a->port;
    crypto_generichash(out, HS_CH_COOKIE_BYTES, m, sizeof(m), ch->cfg.secret,
                       sizeof(ch->cfg.secret));
}

/* Answers a datagram of an unproven instance with a challenge, within the budgets. */
static void challenge(hs_channel *ch, uint64_t now, const hs_addr *from, uint64_t instance,
                      uint64_t seq, size_t key, size_t wire_len)
{
    if (wire_len < HS_CH_MIN_DGRAM) return; /* never answer with more than was sent */
    uint32_t tag = addr_tag(from);
    ch_bucket *b = &ch->src[tag % CH_SRC_SLOTS];
    if (b->tag != tag) *b = (ch_bucket){tag, ch->cfg.source_burst * 1000u, now};
    if (!take(b, now, ch->cfg.source_per_s, ch->cfg.source_burst) ||
        !take(&ch->global, now, ch->cfg.challenges_per_s, ch->cfg.challenges_per_s)) {
        ch->st.challenges_limited++;
        return;
    }
    uint8_t p[1 + HS_CH_COOKIE_BYTES + 8];
    p[0] = HS_MSG_CH_CHALLENGE;
    ch_cookie(ch, now / ch->cfg.cookie_step_ms, instance, from, p + 1);
    put64(p + 1 + HS_CH_COOKIE_BYTES, seq);
    if (emit(ch, from, instance, key, p, sizeof(p), 0, NULL)) ch->st.challenges_sent++;
}

/* A challenge (from instance `by`) for one of our datagrams: prove ourselves and send it
 * again, tagged for `by` from now on. */
static hs_ch_verdict on_challenge(hs_channel *ch, uint64_t now, const hs_addr *from, uint64_t by,
                                  const uint8_t *p, size_t len, size_t key)
{
    if (len != 1 + HS_CH_COOKIE_BYTES + 8) return HS_CH_MALFORMED;
    uint64_t echo = get64(p + 1 + HS_CH_COOKIE_BYTES);
    ch_sent *e = &ch->sent[echo % HS_CH_RESEND];
    if (!echo || e->seq != echo || e->answered || !hs_addr_equal(&e->to, from))
        return HS_CH_BAD_COOKIE; /* not for a datagram we just sent there: answer nothing */
    e->answered = true;
    dest_learn(ch, from, by, now);
    uint8_t proof[1 + HS_CH_COOKIE_BYTES];
    proof[0] = HS_MSG_CH_PROOF;
    memcpy(proof + 1, p + 1, HS_CH_COOKIE_BYTES);
    if (!emit(ch, from, by, key, proof, sizeof(proof), 0, NULL)) return HS_CH_CONTROL;
    ch->st.proofs_sent++;
    /* the datagram again, under a number above the proof's */
    uint64_t seq = 0;
    uint8_t *data = e->data;
    size_t dlen = e->len;
    e->data = NULL;
    if (emit(ch, from, by, 0, data, dlen, HS_CH_MIN_DGRAM, &seq)) {
        ch->st.resends++;
        remember(ch, seq, from, data, dlen);
    }
    free(data);
    return HS_CH_CONTROL;
}

static hs_ch_verdict on_proof(hs_channel *ch, uint64_t now, const hs_addr *from, uint64_t instance,
                              uint64_t seq, const uint8_t *p, size_t len)
{
    if (len != 1 + HS_CH_COOKIE_BYTES) return HS_CH_MALFORMED;
    uint64_t step = now / ch->cfg.cookie_step_ms;
    uint8_t want[HS_CH_COOKIE_BYTES];
    bool ok = false;
    for (uint64_t back = 0; back < 2 && back <= step && !ok; back++) {
        ch_cookie(ch, step - back, instance, from, want);
        ok = sodium_memcmp(want, p + 1, HS_CH_COOKIE_BYTES) == 0;
    }
    if (!ok) return HS_CH_BAD_COOKIE;
    ch_peer *pe = peer_find(ch, instance);
    if (pe && seen(pe, seq)) return HS_CH_REPLAY;
    if (pe) {
        mark(pe, seq);
    } else {
        /* everything the instance numbered up to its proof counts as seen: the datagram that
         * was challenged comes again under a new number, and its old copy is a replay */
        pe = peer_insert(ch, instance, now);
        pe->top = seq;
        memset(pe->bits, 0xff, sizeof(pe->bits));
    }
    pe->addr = *from;
    pe->used_ms = now;
    dest_learn(ch, from, instance, now);
    ch->st.proofs_accepted++;
    return HS_CH_CONTROL;
}

/* ---- receiving ---- */

hs_ch_verdict hs_ch_open_dgram(hs_channel *ch, uint64_t now_ms, const hs_addr *from,
                               const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                               size_t *out_len, hs_env_result *env, hs_ch_sender *who)
{
    begin(ch);
    size_t key = 0;
    *env = hs_env_open_key(ch->env, in, len, out, cap, out_len, &key);
    if (*env != HS_ENV_OK) return HS_CH_ENVELOPE;
    if (ch->env->insecure) {
        *who = (hs_ch_sender){0, 0, 0};
        return HS_CH_DELIVER;
    }
    uint64_t instance, seq, receiver;
    if (ch_read_nonce(in, len, &instance, &seq, &receiver) != 0 || (seq & HS_CH_STREAM_SEQ))
        return HS_CH_MALFORMED;
    if (instance == ch->cfg.instance) return HS_CH_REPLAY; /* our own, sent back to us */
    uint8_t type = *out_len ? out[0] : 0;
    if (type == HS_MSG_CH_CHALLENGE)
        return on_challenge(ch, now_ms, from, instance, out, *out_len, key);
    if (type == HS_MSG_CH_PROOF) return on_proof(ch, now_ms, from, instance, seq, out, *out_len);
    if (hs_msg_is_channel(type)) return HS_CH_MALFORMED;
    ch_peer *p = peer_find(ch, instance);
    if (p && seen(p, seq)) return HS_CH_REPLAY; /* from anywhere: answered with nothing */
    bool proven = p && hs_addr_equal(&p->addr, from);
    /* numbered for another receiver (recorded on its way there): answered with nothing */
    if (proven && receiver && receiver != ch->cfg.instance) return HS_CH_REPLAY;
    if (!proven || receiver != ch->cfg.instance) {
        challenge(ch, now_ms, from, instance, seq, key, len);
        return HS_CH_UNPROVEN;
    }
    mark(p, seq);
    p->used_ms = now_ms;
    dest_learn(ch, from, instance, now_ms);
    *who = (hs_ch_sender){instance, seq, key};
    return HS_CH_DELIVER;
}
