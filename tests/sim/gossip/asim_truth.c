/* asim_truth.c: the committed log as the seeds' storage reports it, checked for State Machine
 * Safety (every seed commits the same entry at each index), and the reference configuration
 * it yields, applied by the same rules (hs_cc_apply_entry): per workload key, the history of
 * committed values by configuration version (a value that comes back is a replay committed
 * twice), the time each write committed, and when each removed key's removal committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asim_check.h"
#include "simutil.h"

#define REMOVED_MAX 64

typedef struct g_entry {
    uint64_t term, hash;
    uint32_t len;
    uint8_t type;
    uint32_t seed; /* the first seed that committed it */
} g_entry;

typedef struct hist {
    uint64_t version;
    int64_t value; /* write index, -1: absent */
} hist;

struct as_truth {
    g_entry *g;
    size_t n, cap;
    hs_cluster_config *ref;
    hist *h[AS_KEYS];
    size_t nh[AS_KEYS], caph[AS_KEYS];
    struct {
        uint8_t id[HS_ENV_KEY_ID_BYTES];
        uint64_t at_us, done_us;
    } removed[REMOVED_MAX];
    size_t nremoved;
    uint64_t duplicates;
};

as_truth *truth_new(void)
{
    as_truth *t = sim_xcalloc(1, sizeof *t);
    t->ref = sim_xcalloc(1, sizeof *t->ref);
    hs_cc_init(t->ref);
    return t;
}

void truth_free(as_truth *t)
{
    if (!t) return;
    for (int k = 0; k < AS_KEYS; k++) free(t->h[k]);
    free(t->g);
    free(t->ref);
    free(t);
}

uint64_t truth_commit_index(const as_truth *t)
{
    return t->n;
}

const hs_cluster_config *truth_config(const as_truth *t)
{
    return t->ref;
}

uint64_t truth_duplicates(const as_truth *t)
{
    return t->duplicates;
}

size_t truth_removed_count(const as_truth *t)
{
    return t->nremoved;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

int64_t truth_value_of(const as_sim *s, const hs_cluster_config *c, uint32_t k)
{
    char name[8];
    snprintf(name, sizeof name, "k%u", k);
    const char *v = hs_cc_get(c, name);
    if (!v) return -1;
    char *end;
    if (v[0] != 'w') return -2;
    unsigned long long w = strtoull(v + 1, &end, 10);
    return *end || w >= s->nwrites ? -2 : (int64_t)w;
}

int64_t truth_value_at(const as_truth *t, uint32_t k, uint64_t version)
{
    size_t lo = 0, hi = t->nh[k]; /* the last entry with version <= v */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->h[k][mid].version <= version)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? t->h[k][lo - 1].value : -1;
}

uint64_t truth_removed_at(const as_truth *t, const uint8_t id[HS_ENV_KEY_ID_BYTES],
                          uint64_t *done_us)
{
    *done_us = UINT64_MAX;
    for (size_t i = 0; i < t->nremoved; i++)
        if (!memcmp(t->removed[i].id, id, HS_ENV_KEY_ID_BYTES)) {
            *done_us = t->removed[i].done_us;
            return t->removed[i].at_us;
        }
    return UINT64_MAX;
}

void truth_rotation_done(as_truth *t, uint64_t now_us)
{
    for (size_t i = 0; i < t->nremoved; i++)
        if (t->removed[i].done_us == UINT64_MAX) t->removed[i].done_us = now_us;
}

static void history_add(as_truth *t, uint32_t k, uint64_t version, int64_t value)
{
    t->h[k] = sim_grow(t->h[k], t->nh[k], &t->caph[k], sizeof *t->h[k], 64);
    t->h[k][t->nh[k]++] = (hist){version, value};
}

static bool ring_has(const hs_cluster_config *c, const uint8_t *key)
{
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (!memcmp(c->keys[i], key, HS_CC_KEY_BYTES)) return true;
    return false;
}

/* Applies a newly committed entry to the reference and records what it changed. */
static void apply(as_sim *s, as_truth *t, const hs_raft_entry *e)
{
    int64_t before[AS_KEYS];
    for (uint32_t k = 0; k < AS_KEYS; k++) before[k] = truth_value_of(s, t->ref, k);
    uint32_t nk = t->ref->n_keys;
    uint8_t keys[HS_CC_MAX_KEYS][HS_CC_KEY_BYTES];
    memcpy(keys, t->ref->keys, sizeof keys);
    hs_cc_outcome o;
    hs_cc_apply_entry(t->ref, e, &o);
    if (o.duplicate) t->duplicates++;
    for (uint32_t k = 0; k < AS_KEYS; k++) {
        int64_t v = truth_value_of(s, t->ref, k);
        if (v == before[k]) continue;
        history_add(t, k, t->ref->version, v);
        if (v == -2) {
            as_fail(s, "committed log: key k%u holds a value no write made", k);
        } else if (v >= 0) {
            as_write *w = &s->writes[v];
            if (w->key != k)
                as_fail(s, "committed log: key k%u holds w%lld, a write of k%u", k, (long long)v,
                        w->key);
            else if (w->commit_us != UINT64_MAX)
                as_fail(s,
                        "committed log: key k%u went back to w%lld, committed before (at "
                        "%.3f s): a change applied twice",
                        k, (long long)v, (double)w->commit_us / 1e6);
            else
                w->commit_us = s->now_us;
        }
    }
    for (uint32_t i = 0; i < nk; i++) {
        if (ring_has(t->ref, keys[i]) || t->nremoved == REMOVED_MAX) continue;
        hs_env_key_id(keys[i], t->removed[t->nremoved].id);
        t->removed[t->nremoved].at_us = s->now_us;
        t->removed[t->nremoved++].done_us = UINT64_MAX;
        as_trace(s, "committed: a key removed from the ring (version %llu)",
                 (unsigned long long)t->ref->version);
    }
}

void truth_committed(as_sim *s, uint32_t seed, uint64_t index, const hs_raft_entry *e)
{
    as_truth *t = s->truth;
    checks_counters(s->chk)->log_checks++;
    if (index <= t->n) {
        const g_entry *g = &t->g[index - 1];
        if (e && (e->term != g->term || e->type != g->type || e->len != g->len ||
                  hash_bytes(e->data, e->len) != g->hash))
            as_fail(s,
                    "State Machine Safety: seeds n%u and n%u committed different entries at "
                    "index %llu (terms %llu, %llu)",
                    g->seed, seed, (unsigned long long)index, (unsigned long long)g->term,
                    (unsigned long long)e->term);
        return;
    }
    if (index != t->n + 1 || !e) {
        as_fail(s, "seed n%u committed index %llu while the committed log ends at %llu%s", seed,
                (unsigned long long)index, (unsigned long long)t->n, e ? "" : " (in a snapshot)");
        return;
    }
    t->g = sim_grow(t->g, t->n, &t->cap, sizeof *t->g, 1024);
    t->g[t->n++] = (g_entry){e->term, hash_bytes(e->data, e->len), e->len, e->type, seed};
    apply(s, t, e);
}
