/* replay.c: see replay.h. Each node has a ring of its last per_node packets; the replayer's
 * random choices use their own stream, so recording changes nothing in a run. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

typedef struct rp_pkt {
    uint32_t to, len, cap;
    bool stream;
    uint8_t *data;
} rp_pkt;

struct sim_replayer {
    uint32_t n, per;
    rp_pkt *ring;    /* ring[from * per + k] */
    uint32_t *next;  /* per sender: the slot written next */
    uint32_t *count; /* per sender: packets held (<= per) */
    sim_rng rng;
    uint64_t recorded;
};

sim_replayer *replay_new(uint32_t n, uint32_t per_node, uint64_t seed)
{
    sim_replayer *r = calloc(1, sizeof *r);
    if (!r) exit(2);
    r->n = n;
    r->per = per_node ? per_node : 1;
    r->ring = calloc((size_t)n * r->per, sizeof *r->ring);
    r->next = calloc(n, sizeof *r->next);
    r->count = calloc(n, sizeof *r->count);
    if (!r->ring || !r->next || !r->count) exit(2);
    sim_rng_seed(&r->rng, seed);
    return r;
}

void replay_free(sim_replayer *r)
{
    if (!r) return;
    for (size_t i = 0; i < (size_t)r->n * r->per; i++) free(r->ring[i].data);
    free(r->ring);
    free(r->next);
    free(r->count);
    free(r);
}

void replay_record(sim_replayer *r, uint32_t from, uint32_t to, const hs_packet *p)
{
    if (from >= r->n || !p->len) return;
    rp_pkt *k = &r->ring[(size_t)from * r->per + r->next[from]];
    r->next[from] = (r->next[from] + 1) % r->per;
    if (r->count[from] < r->per) r->count[from]++;
    if (k->cap < p->len) {
        free(k->data);
        k->data = malloc(p->len);
        if (!k->data) exit(2);
        k->cap = (uint32_t)p->len;
    }
    memcpy(k->data, p->data, p->len);
    k->len = (uint32_t)p->len;
    k->to = to;
    k->stream = p->stream;
    r->recorded++;
}

uint64_t replay_recorded(const sim_replayer *r)
{
    return r->recorded;
}

static bool down(const sim *s, uint32_t i)
{
    return s->nodes[i].left || s->nodes[i].state == NS_CRASHED || s->nodes[i].state == NS_GONE;
}

/* A random node with recordings (a down one if want_down and there is one); -1 if none. */
static int pick_sender(const sim *s, sim_replayer *r, bool want_down)
{
    uint32_t cand = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->count[i] && (!want_down || down(s, i))) cand++;
    if (!cand) return want_down ? pick_sender(s, r, false) : -1;
    uint32_t k = (uint32_t)sim_rng_below(&r->rng, cand);
    for (uint32_t i = 0; i < r->n; i++)
        if (r->count[i] && (!want_down || down(s, i)) && !k--) return (int)i;
    return -1;
}

size_t replay_some(sim *s, sim_replayer *r, size_t count, double departed_bias)
{
    size_t done = 0;
    for (size_t c = 0; c < count && !s->failed; c++) {
        int from = pick_sender(s, r, sim_rng_chance(&r->rng, departed_bias));
        if (from < 0) break;
        uint32_t k = (uint32_t)sim_rng_below(&r->rng, r->count[from]);
        const rp_pkt *p = &r->ring[(size_t)from * r->per + k];
        uint32_t to = p->to;
        if (sim_rng_below(&r->rng, 2)) to = (uint32_t)sim_rng_below(&r->rng, s->n);
        if (to == (uint32_t)from || s->nodes[to].state != NS_RUNNING) continue;
        /* the core may emit into the same ring slot while handling it: deliver a copy */
        uint8_t *copy = malloc(p->len);
        if (!copy) exit(2);
        memcpy(copy, p->data, p->len);
        bool stream = p->stream;
        size_t len = p->len;
        sim_inject(s, to, (uint32_t)from, copy, len, stream);
        free(copy);
        done++;
    }
    return done;
}
