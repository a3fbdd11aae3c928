/* view.c: per-observer views built from hs_node events, the counts and watches derived from
 * them, the invariants checked at every event, the trace ring and the run digest. */
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) {
        fprintf(stderr, "hearsay-sim: out of memory (views)\n");
        exit(2);
    }
    return p;
}

void view_init(sim *s)
{
    sim_view *v = &s->view;
    size_t n = s->n;
    v->m = malloc(n * n);
    if (!v->m) exit(2);
    memset(v->m, VIEW_UNKNOWN, n * n);
    v->cnt = xcalloc(n, sizeof *v->cnt);
    v->watch_of = malloc(n * sizeof *v->watch_of);
    v->flag_of = malloc(n * sizeof *v->flag_of);
    if (!v->watch_of || !v->flag_of) exit(2);
    for (size_t i = 0; i < n; i++) {
        v->watch_of[i] = -1;
        v->flag_of[i] = -1;
    }
    v->digest = 0xcbf29ce484222325ULL;
}

void view_free(sim *s)
{
    sim_view *v = &s->view;
    free(v->m);
    free(v->cnt);
    free(v->watch_of);
    free(v->flag_of);
    free(v->flips);
    free(v->sflaps);
    free(v->crash_chk);
}

void view_digest_bytes(sim *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = s->view.digest;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    s->view.digest = h;
}

static const char *what_name(uint8_t w)
{
    static const char *faults[] = {"start", "crash", "restart",   "pause", "resume",
                                   "leave", "stop",  "partition", "heal",  "loss"};
    if (w >= TR_START && w <= TR_LOSS) return faults[w - TR_START];
    return hs_event_name((hs_event_type)w);
}

static void print_rec(FILE *f, const sim_trace_rec *r)
{
    if (r->what >= TR_START)
        fprintf(f, "  %10.3f  %-10s node=n%u arg=%u inc=%u\n", (double)r->t_us / 1e6,
                what_name(r->what), r->node, r->subject, r->inc);
    else
        fprintf(f, "  %10.3f  n%-6u %-16s n%u status=%s inc=%u\n", (double)r->t_us / 1e6, r->node,
                what_name(r->what), r->subject,
                r->status < 4 ? hs_status_name((hs_status)r->status) : "?", r->inc);
}

void view_trace(sim *s, uint32_t what, uint32_t node, uint32_t subject, uint32_t inc,
                uint8_t status)
{
    sim_view *v = &s->view;
    sim_trace_rec r = {.t_us = s->now_us,
                       .node = node,
                       .subject = subject,
                       .inc = inc,
                       .what = (uint8_t)what,
                       .status = status};
    v->ring[v->ring_n++ % SIM_TRACE_RING] = r;
    uint8_t buf[22];
    memcpy(buf, &r.t_us, 8);
    memcpy(buf + 8, &r.node, 4);
    memcpy(buf + 12, &r.subject, 4);
    memcpy(buf + 16, &r.inc, 4);
    buf[20] = r.what;
    buf[21] = r.status;
    view_digest_bytes(s, buf, sizeof buf);
    if (s->trace) print_rec(stderr, &r);
}

void view_dump_trace(const sim *s, FILE *f)
{
    const sim_view *v = &s->view;
    uint64_t from = v->ring_n > SIM_TRACE_RING ? v->ring_n - SIM_TRACE_RING : 0;
    fprintf(f, "hearsay-sim: last %llu trace records (seed=%llu):\n",
            (unsigned long long)(v->ring_n - from), (unsigned long long)s->seed);
    for (uint64_t k = from; k < v->ring_n; k++) print_rec(f, &v->ring[k % SIM_TRACE_RING]);
}

/* Observers that should hold subject j: every observer but j itself. */
static uint32_t expected(const sim *s, uint32_t j)
{
    return s->view.observers - (sim_is_observer(&s->nodes[j]) ? 1 : 0);
}

static void check_watch(sim *s, int w)
{
    sim_watch *x = &s->view.watches[w];
    if (!x->active || x->all_us != SIM_NO_TIME) return;
    uint32_t have = s->view.cnt[x->subject][x->status];
    if (have > 0 && x->first_us == SIM_NO_TIME) x->first_us = s->now_us;
    if (have >= expected(s, x->subject)) x->all_us = s->now_us;
}

int view_watch(sim *s, uint32_t subject, hs_status st)
{
    sim_view *v = &s->view;
    for (int w = 0; w < SIM_MAX_WATCH; w++) {
        if (v->watches[w].active) continue;
        v->watches[w] = (sim_watch){.subject = subject,
                                    .status = st,
                                    .start_us = s->now_us,
                                    .first_us = SIM_NO_TIME,
                                    .all_us = SIM_NO_TIME,
                                    .active = true};
        v->watch_of[subject] = (int16_t)w;
        return w;
    }
    fprintf(stderr, "hearsay-sim: too many watches\n");
    exit(2);
}

const sim_watch *view_watch_get(const sim *s, int w)
{
    return &s->view.watches[w];
}

void view_unwatch(sim *s, int w)
{
    sim_view *v = &s->view;
    if (v->watch_of[v->watches[w].subject] == w) v->watch_of[v->watches[w].subject] = -1;
    v->watches[w].active = false;
}

void view_flag(sim *s, uint32_t subject)
{
    sim_view *v = &s->view;
    if (v->flag_of[subject] >= 0) return;
    uint32_t k = v->nflag++;
    v->flag_of[subject] = (int32_t)k;
    /* Re-layout as [obs * nflag + k]: flags are set once, before the run, so copy is fine. */
    uint32_t *nf = xcalloc((size_t)s->n * v->nflag, sizeof *nf);
    uint32_t *ns = xcalloc((size_t)s->n * v->nflag, sizeof *ns);
    for (uint32_t i = 0; i < s->n && k; i++)
        for (uint32_t q = 0; q < k; q++) {
            nf[(size_t)i * v->nflag + q] = v->flips[(size_t)i * k + q];
            ns[(size_t)i * v->nflag + q] = v->sflaps[(size_t)i * k + q];
        }
    free(v->flips);
    free(v->sflaps);
    v->flips = nf;
    v->sflaps = ns;
}

void view_flip_stats(const sim *s, uint32_t *max_flips, uint64_t *total_flips,
                     uint64_t *suspect_episodes)
{
    const sim_view *v = &s->view;
    *max_flips = 0;
    *total_flips = 0;
    *suspect_episodes = 0;
    for (size_t i = 0; i < (size_t)s->n * v->nflag; i++) {
        if (v->flips[i] > *max_flips) *max_flips = v->flips[i];
        *total_flips += v->flips[i];
        *suspect_episodes += v->sflaps[i];
    }
}

static int status_of_event(const hs_event *ev)
{
    switch (ev->type) {
    case HS_EV_JOIN:
    case HS_EV_ALIVE:
        return HS_ALIVE;
    case HS_EV_SUSPECT:
        return HS_SUSPECT;
    case HS_EV_FAILED:
        return HS_FAILED;
    case HS_EV_LEFT:
        return HS_LEFT;
    case HS_EV_REAP:
        return VIEW_UNKNOWN;
    default:
        return -1;
    }
}

/* How long after the first reap of a departed member no view may show it alive again: the
 * cores' tombstone lifetime (their default: 3 x the longer reap time), less 2 s for the spread
 * of the reap times and the rounding of the ages passed on with the tombstones. */
static uint64_t tomb_guard_us(const sim *s)
{
    hs_config d;
    hs_config_default(&d);
    uint64_t reap = s->reap_ms ? s->reap_ms : d.reap_failed_ms;
    uint64_t life = s->tomb_ms ? s->tomb_ms : 3 * reap;
    return life > 2000 ? (life - 2000) * 1000 : 0;
}

/* Invariant: once a departed (left or crashed) member has been reaped by anyone, no observer
 * takes it from failed, left or unknown back to alive or suspect until it starts again, for
 * as long as its tombstones last. */
static void check_ghost(sim *s, uint32_t i, uint32_t j, uint8_t old, int st)
{
    sim_node *subj = &s->nodes[j];
    bool departed = subj->left || subj->state == NS_CRASHED || subj->state == NS_GONE;
    if (st == VIEW_UNKNOWN && departed && !subj->ghost_guard_us) /* reaped: tombstoned */
        subj->ghost_guard_us = s->now_us + tomb_guard_us(s);
    bool revives = (st == HS_ALIVE || st == HS_SUSPECT) && old != HS_ALIVE && old != HS_SUSPECT;
    if (!revives || !subj->ghost_guard_us) return;
    if (s->now_us < subj->ghost_guard_us)
        sim_fail(s, "departed n%u (reaped, tombstoned) shown %s again by n%u", j,
                 hs_status_name((hs_status)st), i);
    else
        s->revivals_late++;
}

static void set_view(sim *s, uint32_t i, uint32_t j, int st)
{
    sim_view *v = &s->view;
    uint8_t *cell = &v->m[(size_t)i * s->n + j];
    if (*cell != VIEW_UNKNOWN) v->cnt[j][*cell]--;
    *cell = (uint8_t)st;
    if (st != VIEW_UNKNOWN) v->cnt[j][st]++;
}

void view_on_event(sim *s, uint32_t i, const hs_event *ev)
{
    sim_view *v = &s->view;
    v->events++;
    int j = ev->type == HS_EV_INCARNATION ? (int)i : sim_index_of_name(s, ev->name);
    view_trace(s, ev->type, i, j < 0 ? UINT32_MAX : (uint32_t)j, ev->incarnation,
               (uint8_t)ev->status);
    if (ev->type == HS_EV_INCARNATION) {
        s->nodes[i].incarnation = ev->incarnation;
        return;
    }
    int st = status_of_event(ev);
    if (st < 0) return;
    if (j < 0) {
        v->unknown_subject++;
        return;
    }
    if (st != VIEW_UNKNOWN && (int)ev->status != st) v->status_mismatch++;
    if (!sim_is_observer(&s->nodes[i])) return;
    if ((uint32_t)j == i) return; /* events about ourselves are not a view */
    uint8_t old = v->m[(size_t)i * s->n + (uint32_t)j];
    check_ghost(s, i, (uint32_t)j, old, st);
    set_view(s, i, (uint32_t)j, st);

    bool healthy = sim_healthy(s, (uint32_t)j) && sim_reachable(s, i, (uint32_t)j);
    if (st == HS_FAILED && s->protect_group0) {
        if (s->nodes[j].group == 0 && sim_healthy(s, (uint32_t)j))
            sim_fail(s, "n%d on the majority side shown failed by n%u (group %u)", j, i,
                     s->nodes[i].group);
        if (s->nodes[j].group == 1) s->group1_failed++;
    }
    if (st == HS_FAILED && healthy) {
        v->false_fails++;
        if (s->strict_no_false_fail)
            sim_fail(s, "live reachable node n%d declared failed by n%u (loss-free run)", j, i);
    }
    if (st == HS_SUSPECT && healthy) {
        v->false_suspects++;
        if (v->cnt[j][HS_SUSPECT] * 2 > v->observers && sim_healthy(s, (uint32_t)j)) {
            v->majority_suspects++;
            if (s->check_majority)
                sim_fail(s, "healthy node n%d suspected by %u of %u live nodes", j,
                         v->cnt[j][HS_SUSPECT], v->observers);
        }
    }
    int32_t k = v->flag_of[j];
    if (k >= 0 && sim_healthy(s, i)) { /* what the healthy members see of a flaky one */
        bool was_down = old == HS_FAILED, is_down = st == HS_FAILED;
        bool was_up = old == HS_ALIVE || old == HS_SUSPECT;
        bool is_up = st == HS_ALIVE || st == HS_SUSPECT;
        if ((was_up && is_down) || (was_down && is_up))
            v->flips[(size_t)i * v->nflag + (uint32_t)k]++;
        if (st == HS_SUSPECT && old != HS_SUSPECT) v->sflaps[(size_t)i * v->nflag + (uint32_t)k]++;
    }
    int w = v->watch_of[j];
    if (w >= 0) check_watch(s, w);
}

void view_add_observer(sim *s, uint32_t i)
{
    (void)i;
    s->view.observers++;
}

void view_remove_observer(sim *s, uint32_t i)
{
    sim_view *v = &s->view;
    uint8_t *row = &v->m[(size_t)i * s->n];
    for (uint32_t j = 0; j < s->n; j++) {
        if (row[j] != VIEW_UNKNOWN) {
            v->cnt[j][row[j]]--;
            row[j] = VIEW_UNKNOWN;
        }
    }
    v->observers--;
}

void view_on_crash(sim *s, uint32_t i)
{
    sim_view *v = &s->view;
    if (!s->crash_bound_us) return;
    if (v->chk_head + v->chk_len == v->chk_cap) {
        if (v->chk_head) { /* slide the live part to the front */
            memmove(v->crash_chk, v->crash_chk + v->chk_head, v->chk_len * sizeof *v->crash_chk);
            v->chk_head = 0;
        } else {
            size_t cap = v->chk_cap ? v->chk_cap * 2 : 64;
            void *p = realloc(v->crash_chk, cap * sizeof *v->crash_chk);
            if (!p) exit(2);
            v->crash_chk = p;
            v->chk_cap = cap;
        }
    }
    size_t at = v->chk_head + v->chk_len++;
    v->crash_chk[at].subject = i;
    v->crash_chk[at].gen = s->nodes[i].gen;
    v->crash_chk[at].deadline_us = s->now_us + s->crash_bound_us;
}

void view_poll(sim *s)
{
    sim_view *v = &s->view;
    while (v->chk_len && v->crash_chk[v->chk_head].deadline_us <= s->now_us) {
        uint32_t j = v->crash_chk[v->chk_head].subject;
        uint32_t gen = v->crash_chk[v->chk_head].gen;
        v->chk_head++;
        v->chk_len--;
        if (s->nodes[j].gen != gen || s->nodes[j].state != NS_CRASHED) continue; /* restarted */
        uint32_t up = v->cnt[j][HS_ALIVE] + v->cnt[j][HS_SUSPECT];
        if (up) {
            int who = -1;
            for (uint32_t i = 0; i < s->n && who < 0; i++)
                if (sim_is_observer(&s->nodes[i]) && v->m[(size_t)i * s->n + j] <= HS_SUSPECT)
                    who = (int)i;
            sim_fail(s,
                     "n%u crashed %.1fs ago but %u of %u live nodes still hold it alive/suspect "
                     "(e.g. n%d)",
                     j, (double)s->crash_bound_us / 1e6, up, v->observers, who);
        }
    }
    for (int w = 0; w < SIM_MAX_WATCH; w++) check_watch(s, w);
}

bool view_converged(const sim *s)
{
    const sim_view *v = &s->view;
    for (uint32_t j = 0; j < s->n; j++) {
        const sim_node *nd = &s->nodes[j];
        if (!nd->ever_started) continue;
        const uint32_t *c = v->cnt[j];
        if (sim_is_observer(nd)) {
            if (c[HS_ALIVE] != expected(s, j)) return false;
        } else if (nd->left || nd->state == NS_GONE) {
            if (c[HS_ALIVE] || c[HS_SUSPECT] || c[HS_FAILED]) return false;
        } else { /* crashed */
            if (c[HS_ALIVE] || c[HS_SUSPECT]) return false;
        }
    }
    return true;
}

void view_explain(const sim *s, char *buf, size_t len)
{
    const sim_view *v = &s->view;
    buf[0] = 0;
    uint32_t bad = 0;
    for (uint32_t j = 0; j < s->n; j++) {
        const sim_node *nd = &s->nodes[j];
        if (!nd->ever_started) continue;
        const uint32_t *c = v->cnt[j];
        bool ok;
        const char *want;
        if (sim_is_observer(nd)) {
            ok = c[HS_ALIVE] == expected(s, j);
            want = "alive";
        } else if (nd->left || nd->state == NS_GONE) {
            ok = !c[HS_ALIVE] && !c[HS_SUSPECT] && !c[HS_FAILED];
            want = "left";
        } else {
            ok = !c[HS_ALIVE] && !c[HS_SUSPECT];
            want = "failed";
        }
        if (ok) continue;
        if (!bad++) {
            /* name one observer that disagrees */
            int who = -1;
            for (uint32_t i = 0; i < s->n && who < 0; i++) {
                if (!sim_is_observer(&s->nodes[i]) || i == j) continue;
                uint8_t st = v->m[(size_t)i * s->n + j];
                bool agrees = !strcmp(want, "alive")  ? st == HS_ALIVE
                              : !strcmp(want, "left") ? st == HS_LEFT || st == VIEW_UNKNOWN
                                                      : st == HS_FAILED || st == VIEW_UNKNOWN;
                if (!agrees) who = (int)i;
            }
            uint8_t st = who >= 0 ? v->m[(size_t)who * s->n + j] : VIEW_UNKNOWN;
            snprintf(buf, len,
                     "n%u should be %s everywhere: alive=%u suspect=%u failed=%u left=%u of %u "
                     "observers; e.g. n%d holds %s",
                     j, want, c[0], c[1], c[2], c[3], v->observers, who,
                     st < 4 ? hs_status_name((hs_status)st) : "nothing");
        }
    }
    if (bad) {
        size_t k = strlen(buf);
        snprintf(buf + k, len - k, " (%u subjects not converged)", bad);
    }
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

int view_table_check(sim *s, bool *identical, char *why, size_t whylen)
{
    sim_view *v = &s->view;
    uint64_t ref_live = 0, ref_all = 0;
    bool have_ref = false;
    *identical = true;
    why[0] = 0;
    int bad = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        if (!sim_is_observer(nd)) continue;
        uint64_t h_live = 0, h_all = 0;
        size_t cnt = hs_node_member_count(nd->core);
        size_t seen = 0;
        for (size_t k = 0; k < cnt; k++) {
            hs_member_info mi;
            if (!hs_node_member_at(nd->core, k, &mi)) continue;
            int j = sim_index_of_name(s, mi.name);
            if (j < 0) continue;
            uint64_t h = mix(((uint64_t)(uint32_t)j << 8) | mi.status);
            h_all += h;
            if (mi.status == HS_ALIVE) h_live += h;
            if (mi.is_self) continue;
            uint8_t ev = v->m[(size_t)i * s->n + (uint32_t)j];
            /* a member first learned already failed or left gets no event (JOIN is only
             * for alive members), so the view may lack it */
            if (ev == VIEW_UNKNOWN && (mi.status == HS_FAILED || mi.status == HS_LEFT)) {
                v->silent_learned++;
                continue;
            }
            seen++;
            if (ev != (uint8_t)mi.status && !bad++)
                snprintf(why, whylen, "n%u: table holds n%d %s, its events said %s", i, j,
                         hs_status_name(mi.status),
                         ev < 4 ? hs_status_name((hs_status)ev) : "nothing");
        }
        /* every subject the events say we hold must be in the table */
        uint32_t in_view = 0;
        for (uint32_t j = 0; j < s->n; j++)
            if (v->m[(size_t)i * s->n + j] != VIEW_UNKNOWN) in_view++;
        if (in_view != seen && !bad++)
            snprintf(why, whylen, "n%u: events describe %u members, table has %zu", i, in_view,
                     seen);
        if (!have_ref) {
            ref_live = h_live;
            ref_all = h_all;
            have_ref = true;
        } else {
            if (h_live != ref_live && !bad++)
                snprintf(why, whylen, "n%u: its set of alive members differs from others", i);
            if (h_all != ref_all) *identical = false;
        }
    }
    if (!bad && !view_converged(s)) {
        bad++;
        snprintf(why, whylen, "views do not match ground truth");
    }
    return bad;
}
