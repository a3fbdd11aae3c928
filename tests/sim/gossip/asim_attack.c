/* asim_attack.c: see asim_attack.h. Recordings are kept twice: a uniform sample over the
 * whole run (so envelopes of removed keys and of departed members stay available) and the
 * latest ones; Meets are kept apart for the flood. Every choice uses the attacker's own
 * random stream, derived from the scenario seed. */
#include "asim_attack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/wire.h"
#include "simutil.h"

#define RES    2048 /* uniform sample of everything recorded */
#define RECENT 512  /* the latest */
#define MEETS  64

typedef struct atk_rec {
    uint8_t *data;
    uint32_t len, cap;
    int32_t sender, to; /* agents: sender, and where it went (-1: no agent) */
    uint64_t at_us;     /* when it was sent */
    uint32_t serial;    /* frames: the connection's serial */
    uint8_t type, dir;
} atk_rec;

typedef struct rec_set {
    atk_rec res[RES], recent[RECENT];
    uint64_t seen;
    uint32_t next;
} rec_set;

struct as_attacker {
    sim_rng rng;
    rec_set d, f; /* datagrams, frames */
    atk_rec meets[MEETS];
    uint32_t nmeets, meet_next;
    double rate[3]; /* datagram replays, new streams, injections per second */
    uint32_t gen;   /* bumped by atk_stop: pending attack events go stale */
    uint32_t flood_target, flood_gen;
    uint64_t flood_until_us, flood_gap_us;
    as_atk_stats st;
};

enum { ACT_DGRAM = 0, ACT_NEW_STREAM = 1, ACT_INJECT = 2 };

as_attacker *atk_new(as_sim *s, uint64_t seed)
{
    (void)s;
    as_attacker *a = sim_xcalloc(1, sizeof *a);
    sim_rng_seed(&a->rng, seed);
    return a;
}

static void rec_free(atk_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++) free(r[i].data);
}

void atk_free(as_attacker *a)
{
    if (!a) return;
    rec_free(a->d.res, RES);
    rec_free(a->d.recent, RECENT);
    rec_free(a->f.res, RES);
    rec_free(a->f.recent, RECENT);
    rec_free(a->meets, MEETS);
    free(a);
}

hs_addr atk_forged(uint32_t k)
{
    return hs_addr_v4(198, 18, (uint8_t)(k >> 8), (uint8_t)k, (uint16_t)(20000 + k));
}

static hs_addr own_addr(void)
{
    return hs_addr_v4(198, 19, 0, 1, AS_PORT);
}

int atk_stranger_index(const hs_addr *a)
{
    if (a->family != 4 || a->ip[0] != 198) return -1;
    if (a->ip[1] == 19 && a->ip[2] == 0 && a->ip[3] == 1) return AS_FORGED;
    if (a->ip[1] != 18) return -1;
    uint32_t k = (uint32_t)a->ip[2] << 8 | a->ip[3];
    return k < AS_FORGED ? (int)k : -1;
}

const as_atk_stats *atk_stats(const as_attacker *a)
{
    return &a->st;
}

/* ---- recording ---- */

/* Copies wire into r with the facts of meta. */
static void rec_copy(atk_rec *r, const uint8_t *wire, size_t len, const atk_rec *meta)
{
    uint8_t *data = r->data;
    uint32_t cap = r->cap;
    *r = *meta;
    if (cap < len) {
        free(data);
        data = malloc(len);
        if (!data) exit(2);
        cap = (uint32_t)len;
    }
    memcpy(data, wire, len);
    r->data = data;
    r->cap = cap;
    r->len = (uint32_t)len;
}

/* Keeps one recording in the latest ring and maybe in the uniform sample (algorithm R). */
static void rec_keep(as_attacker *a, rec_set *set, const uint8_t *wire, size_t len,
                     const atk_rec *meta)
{
    rec_copy(&set->recent[set->next], wire, len, meta);
    set->next = (set->next + 1) % RECENT;
    uint64_t k = set->seen++;
    if (k >= RES) k = sim_rng_below(&a->rng, k + 1);
    if (k < RES) rec_copy(&set->res[k], wire, len, meta);
}

void atk_record_dgram(as_sim *s, uint32_t sender, const hs_addr *to, const uint8_t *wire,
                      size_t len, uint8_t type)
{
    as_attacker *a = s->atk;
    a->st.recorded_dgrams++;
    atk_rec meta = {
        .sender = (int32_t)sender, .to = as_index_of_addr(s, to), .at_us = s->now_us, .type = type};
    rec_keep(a, &a->d, wire, len, &meta);
    if (type == HS_MSG_MEET) {
        a->st.recorded_meets++;
        rec_copy(&a->meets[a->meet_next], wire, len, &meta);
        a->meet_next = (a->meet_next + 1) % MEETS;
        if (a->nmeets < MEETS) a->nmeets++;
    }
}

void atk_record_frame(as_sim *s, uint32_t sender, uint32_t c, uint8_t dir, const uint8_t *wire,
                      size_t len, uint8_t type)
{
    as_attacker *a = s->atk;
    a->st.recorded_frames++;
    const as_conn *k = &s->conns[c];
    atk_rec meta = {.sender = (int32_t)sender,
                    .to = dir ? k->from : k->to,
                    .at_us = s->now_us,
                    .serial = k->serial,
                    .type = type,
                    .dir = dir};
    rec_keep(a, &a->f, wire, len, &meta);
}

void atk_count(as_sim *s, uint8_t origin, hs_ch_verdict v, hs_env_result env)
{
    as_attacker *a = s->atk;
    a->st.verdict[origin][v]++;
    if (v == HS_CH_ENVELOPE) a->st.env[origin][env]++;
    if (origin == AS_O_STREAM_INJECT && v == HS_CH_CONTROL) a->st.stream_control_taken++;
}

/* ---- choices ---- */

static bool chance(as_attacker *a, double p)
{
    return sim_rng_unit(&a->rng) < p;
}

/* A recording: from the whole-run sample or the latest ones, half and half. */
static atk_rec *pick(as_attacker *a, rec_set *set)
{
    uint64_t held = set->seen < RES ? set->seen : RES;
    uint64_t recent = set->seen < RECENT ? set->seen : RECENT;
    if (!held) return NULL;
    if (chance(a, 0.5)) return &set->res[sim_rng_below(&a->rng, held)];
    return &set->recent[sim_rng_below(&a->rng, recent)];
}

static int random_alive(as_sim *s, as_attacker *a)
{
    for (int tries = 0; tries < 64; tries++) {
        int i = (int)sim_rng_below(&a->rng, s->n);
        if (as_alive(s, i)) return i;
    }
    return -1;
}

static hs_addr any_source(as_sim *s, as_attacker *a, const atk_rec *r)
{
    double u = sim_rng_unit(&a->rng);
    if (u < 0.5 && r->sender >= 0) return as_addr((uint32_t)r->sender);
    if (u < 0.7) return as_addr((uint32_t)sim_rng_below(&a->rng, s->n));
    if (u < 0.9) return atk_forged((uint32_t)sim_rng_below(&a->rng, AS_FORGED));
    return own_addr();
}

static void replay_dgram(as_sim *s, as_attacker *a)
{
    atk_rec *r = pick(a, &a->d);
    if (!r) return;
    int to = chance(a, 0.5) && as_alive(s, r->to) ? r->to : random_alive(s, a);
    if (to < 0) return;
    hs_addr src = any_source(s, a, r), dst = as_addr((uint32_t)to);
    a->st.sent[AS_O_DGRAM_REPLAY]++;
    net_inject_dgram(s, &src, &dst, r->data, r->len, AS_O_DGRAM_REPLAY, r->to, r->at_us);
}

/* Encodes which recording an attacker stream sends: frames sample or latest, and index. */
static int32_t rec_ref(const as_attacker *a, const atk_rec *r)
{
    if (r >= a->f.res && r < a->f.res + RES) return (int32_t)(r - a->f.res);
    return RES + (int32_t)(r - a->f.recent);
}

static atk_rec *rec_deref(as_attacker *a, int32_t ref)
{
    if (ref < 0) return NULL;
    atk_rec *r = ref < RES ? &a->f.res[ref] : &a->f.recent[ref - RES];
    return r->data ? r : NULL;
}

static void new_stream(as_sim *s, as_attacker *a)
{
    atk_rec *r = pick(a, &a->f);
    if (!r) return;
    int to = chance(a, 0.5) && as_alive(s, r->to) ? r->to : random_alive(s, a);
    if (to < 0) return;
    hs_addr src =
        chance(a, 0.5) ? own_addr() : atk_forged((uint32_t)sim_rng_below(&a->rng, AS_FORGED));
    a->st.sent[AS_O_STREAM_NEW]++;
    net_attacker_connect(s, (uint32_t)to, &src, rec_ref(a, r));
}

void atk_stream_challenged(as_sim *s, uint32_t c)
{
    as_attacker *a = s->atk;
    atk_rec *r = rec_deref(a, s->conns[c].replay_rec);
    if (!r) {
        net_close(s, c);
        return;
    }
    uint32_t serial = r->serial;
    bool hello = r->type == HS_MSG_CH_STREAM_HELLO;
    net_inject_frame(s, c, 0, r->data, r->len, AS_O_STREAM_NEW);
    if (!hello) return;
    /* a recorded hello: the rest of its connection follows, in order */
    for (uint32_t k = 0; k < RECENT; k++) {
        atk_rec *x = &a->f.recent[(a->f.next + k) % RECENT];
        if (x->data && x->serial == serial && x->dir == 0 && x != r &&
            x->type != HS_MSG_CH_STREAM_HELLO)
            net_inject_frame(s, c, 0, x->data, x->len, AS_O_STREAM_NEW);
    }
}

/* A frame into a live connection of the cluster: mostly toward the acceptor (the connector's
 * own earlier frames, or anyone's), sometimes a recorded challenge toward a connector. */
static void inject(as_sim *s, as_attacker *a)
{
    uint32_t seen = 0, pick_c = UINT32_MAX;
    for (uint32_t c = 0; c < s->nconns; c++) {
        const as_conn *k = &s->conns[c];
        if (!k->serial || k->from < 0 || !k->accepted) continue;
        if (sim_rng_below(&a->rng, ++seen) == 0) pick_c = c;
    }
    if (pick_c == UINT32_MAX) return;
    const as_conn *k = &s->conns[pick_c];
    uint8_t dir = chance(a, 0.2) ? 1 : 0;
    atk_rec *r = NULL;
    for (int tries = 0; tries < 32 && !r; tries++) {
        atk_rec *x = pick(a, &a->f);
        if (!x || x->dir != dir) continue;
        if (dir == 0 && tries < 16 && x->sender != k->from) continue; /* its own first */
        r = x;
    }
    if (!r) return;
    a->st.sent[AS_O_STREAM_INJECT]++;
    net_inject_frame(s, pick_c, dir, r->data, r->len, AS_O_STREAM_INJECT);
}

/* The key id the cluster seals under now, as the attacker reads it off the wire. */
static const uint8_t *current_key_id(const as_attacker *a)
{
    const atk_rec *last = &a->d.recent[(a->d.next + RECENT - 1) % RECENT];
    return last->data && last->len >= HS_ENV_HEADER_BYTES ? last->data + 2 : NULL;
}

/* What the flood sends: a recorded Meet under the current key id if there is one (Meets are
 * sent at joins), else any recent datagram under it, else any Meet. */
static const atk_rec *flood_pick(as_attacker *a)
{
    const uint8_t *id = current_key_id(a);
    for (int tries = 0; id && tries < 16; tries++) {
        const atk_rec *m = &a->meets[sim_rng_below(&a->rng, a->nmeets)];
        if (!memcmp(m->data + 2, id, HS_ENV_KEY_ID_BYTES)) return m;
    }
    for (int tries = 0; id && tries < 16; tries++) {
        const atk_rec *r = &a->d.recent[sim_rng_below(&a->rng, RECENT)];
        if (r->data && r->len >= HS_ENV_HEADER_BYTES &&
            !memcmp(r->data + 2, id, HS_ENV_KEY_ID_BYTES))
            return r;
    }
    return &a->meets[sim_rng_below(&a->rng, a->nmeets)];
}

/* One flood datagram from a forged source; one in four with a byte of its ciphertext changed
 * (what a forger without the key can do). */
static void flood_one(as_sim *s, as_attacker *a)
{
    if (!a->nmeets || !as_alive(s, (int)a->flood_target)) return;
    const atk_rec *m = flood_pick(a);
    hs_addr src = atk_forged((uint32_t)sim_rng_below(&a->rng, AS_FORGED));
    hs_addr dst = as_addr(a->flood_target);
    uint8_t buf[AS_DGRAM_MAX];
    size_t len = m->len < sizeof buf ? m->len : sizeof buf;
    memcpy(buf, m->data, len);
    if (chance(a, 0.25) && len > HS_ENV_SEALED_OVERHEAD)
        buf[HS_ENV_HEADER_BYTES + HS_ENV_NONCE_BYTES +
            sim_rng_below(&a->rng, len - HS_ENV_HEADER_BYTES - HS_ENV_NONCE_BYTES)] ^= 0x5a;
    a->st.sent[AS_O_MEET_FLOOD]++;
    net_inject_dgram(s, &src, &dst, buf, len, AS_O_MEET_FLOOD, m->to, m->at_us);
}

/* ---- schedule ---- */

static void schedule(as_sim *s, as_attacker *a, int act)
{
    if (a->rate[act] <= 0) return;
    double gap = -log(1.0 - sim_rng_unit(&a->rng)) / a->rate[act];
    uint64_t us = (uint64_t)(gap * 1e6) + 1;
    sim_heap_push(&s->heap, s->now_us + us, AS_EV_ATTACK, (uint32_t)act, a->gen);
}

void atk_start(as_sim *s, double dgrams_per_s, double new_streams_per_s, double injects_per_s)
{
    as_attacker *a = s->atk;
    a->gen++;
    a->rate[ACT_DGRAM] = dgrams_per_s;
    a->rate[ACT_NEW_STREAM] = new_streams_per_s;
    a->rate[ACT_INJECT] = injects_per_s;
    for (int act = 0; act < 3; act++) schedule(s, a, act);
}

void atk_stop(as_sim *s)
{
    s->atk->gen++;
    s->atk->flood_gen++;
}

void atk_flood(as_sim *s, uint32_t target, uint64_t from_us, uint64_t until_us, uint32_t per_s)
{
    as_attacker *a = s->atk;
    a->flood_target = target;
    a->flood_until_us = until_us;
    a->flood_gap_us = per_s ? 1000000 / per_s : 1000000;
    if (!a->flood_gap_us) a->flood_gap_us = 1;
    sim_heap_push(&s->heap, from_us, AS_EV_FLOOD, 0, ++a->flood_gen);
}

void atk_event(as_sim *s, const sim_event *e)
{
    as_attacker *a = s->atk;
    if (e->kind == AS_EV_FLOOD) {
        if (e->b != a->flood_gen || s->now_us >= a->flood_until_us) return;
        flood_one(s, a);
        sim_heap_push(&s->heap, s->now_us + a->flood_gap_us, AS_EV_FLOOD, 0, a->flood_gen);
        return;
    }
    if (e->b != a->gen) return;
    if (e->a == ACT_DGRAM)
        replay_dgram(s, a);
    else if (e->a == ACT_NEW_STREAM)
        new_stream(s, a);
    else
        inject(s, a);
    schedule(s, a, (int)e->a);
}
