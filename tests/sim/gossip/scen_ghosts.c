/* scen_ghosts.c: departed members must stay departed. Loss-free churn with reap times of 3 s:
 * members leave (and exit 1 s later) or crash, are reaped within seconds, and start again
 * later, half of them with their persisted incarnation and half with a wiped one (0); all the
 * while the replayer (replay.c) sends recorded packets again, every 100 ms, mostly the
 * departed members' own, to their recorded destinations or to anyone. Invariant at every
 * event (view.c, check_ghost): once someone reaped a departed member, nobody shows it alive
 * or suspect again until it starts again (the tombstones outlive the run). Goals: every
 * restarted member is alive everywhere within 2 s; after the churn one converged view, and no
 * table holds a departed member alive. */
#include <stdio.h>
#include <stdlib.h>

#include "replay.h"
#include "scen.h"
#include "view.h"

#define MAX_PENDING 64

typedef struct ghosts {
    sim *s;
    struct {
        uint32_t node;
        uint64_t at_us;
    } stop[MAX_PENDING];
    size_t nstop;
    struct {
        int w;
        uint64_t start_us;
    } back[SIM_MAX_WATCH / 2];
    size_t nback;
    uint64_t rejoin_us[256];
    size_t nrejoin;
    uint64_t leaves, crashes, restarts, wiped, late_rejoins, replayed;
} ghosts;

static uint32_t count_down(const sim *s)
{
    uint32_t d = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->nodes[i].left || s->nodes[i].state != NS_RUNNING) d++;
    return d;
}

/* A departed member down for at least min_s seconds, or -1. */
static int pick_departed(sim *s, double min_s)
{
    uint32_t cand = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        const sim_node *nd = &s->nodes[i];
        if ((nd->state == NS_GONE || nd->state == NS_CRASHED) &&
            s->now_us - nd->since_us >= sec_us(min_s))
            cand++;
    }
    if (!cand) return -1;
    uint32_t k = (uint32_t)sim_rng_below(&s->rng, cand);
    for (uint32_t i = 0; i < s->n; i++) {
        const sim_node *nd = &s->nodes[i];
        if ((nd->state == NS_GONE || nd->state == NS_CRASHED) &&
            s->now_us - nd->since_us >= sec_us(min_s) && !k--)
            return (int)i;
    }
    return -1;
}

static void restart(ghosts *g, uint32_t j)
{
    sim *s = g->s;
    if (g->nback == sizeof g->back / sizeof g->back[0]) return;
    if (sim_rng_below(&s->rng, 2)) { /* a wiped data dir */
        s->nodes[j].incarnation = 0;
        g->wiped++;
    }
    if (s->nodes[j].state == NS_GONE)
        sim_start(s, j);
    else
        sim_restart(s, j);
    g->back[g->nback].w = view_watch(s, j, HS_ALIVE);
    g->back[g->nback++].start_us = s->now_us;
    g->restarts++;
}

static void action(ghosts *g)
{
    sim *s = g->s;
    uint32_t r = (uint32_t)sim_rng_below(&s->rng, 100);
    bool room = count_down(s) < s->n / 5 + 1;
    int j;
    if (r < 40) {
        if (room && g->nstop < MAX_PENDING && (j = scen_pick(s, true)) >= 0) {
            sim_leave(s, (uint32_t)j);
            g->stop[g->nstop].node = (uint32_t)j;
            g->stop[g->nstop++].at_us = s->now_us + sec_us(1);
            g->leaves++;
        }
    } else if (r < 55) {
        if (room && (j = scen_pick(s, true)) >= 0) {
            sim_crash(s, (uint32_t)j);
            g->crashes++;
        }
    } else if ((j = pick_departed(s, 8)) >= 0) { /* reaped 3 s after its leave or failure */
        restart(g, (uint32_t)j);
    }
}

/* Every 100 ms: due exits, replays, and the restarted members now alive everywhere. */
static void tick(ghosts *g, uint64_t until_us, bool replay)
{
    sim *s = g->s;
    while (s->now_us < until_us && !s->failed) {
        uint64_t next = s->now_us + 100000;
        sim_run_until(s, next < until_us ? next : until_us);
        for (size_t k = 0; k < g->nstop;) {
            if (g->stop[k].at_us > s->now_us) {
                k++;
                continue;
            }
            sim_stop(s, g->stop[k].node);
            g->stop[k] = g->stop[--g->nstop];
        }
        if (replay) g->replayed += replay_some(s, s->replayer, 20, 0.7);
        for (size_t k = 0; k < g->nback;) {
            const sim_watch *w = view_watch_get(s, g->back[k].w);
            const sim_node *nd = &s->nodes[w->subject];
            bool done = w->all_us != SIM_NO_TIME;
            if (!done && (nd->left || nd->state != NS_RUNNING)) { /* gone again meanwhile */
                view_unwatch(s, g->back[k].w);
                g->back[k] = g->back[--g->nback];
                continue;
            }
            if (!done && s->now_us - g->back[k].start_us < sec_us(5)) {
                k++;
                continue;
            }
            uint64_t took = done ? w->all_us - g->back[k].start_us : SIM_NO_TIME;
            if (!done || took > sec_us(2)) g->late_rejoins++;
            if (g->nrejoin < 256) g->rejoin_us[g->nrejoin++] = took;
            view_unwatch(s, g->back[k].w);
            g->back[k] = g->back[--g->nback];
        }
    }
}

/* No running observer's table holds a departed, reaped member alive or suspect. */
static int ghosts_in_tables(sim *s)
{
    int found = 0;
    for (uint32_t j = 0; j < s->n; j++) {
        if (!s->nodes[j].ghost_guard_us) continue;
        char name[16];
        sim_name(j, name, sizeof name);
        for (uint32_t i = 0; i < s->n; i++) {
            hs_member_info mi;
            if (!sim_is_observer(&s->nodes[i]) || !hs_node_find(s->nodes[i].core, name, &mi))
                continue;
            if (mi.status == HS_ALIVE || mi.status == HS_SUSPECT) found++;
        }
    }
    return found;
}

int scen_ghosts(const sim_opts *o)
{
    uint32_t n = o->nodes;
    double dur = opt_or(o->duration_s, 40);
    sim *s = sim_new(n, o);
    s->reap_ms = 3000;
    s->tomb_ms = 600000; /* longer than the run: the invariant covers all of it */
    s->replayer = replay_new(n, 64, sim_derive(o->seed, 3));
    scen_out out;
    out_init(&out, "ghosts", o);
    int rc;
    if (!scen_boot(s, &out, n, &rc)) return rc;
    ghosts g = {.s = s};
    uint64_t end = s->now_us + sec_us(dur);
    while (s->now_us < end && !s->failed) {
        uint64_t next = s->now_us + 500000 + sim_rng_below(&s->rng, 1000000);
        tick(&g, next < end ? next : end, true);
        if (s->now_us < end) action(&g);
    }
    /* the churn and the replays stop; the last exits happen, the last restarts are timed */
    tick(&g, s->now_us + sec_us(6), false);
    uint64_t quiet = s->now_us, at = 0;
    int conv = s->failed ? -1 : scen_wait_converged(s, 60, &at);
    bool identical = false;
    char why[256] = "";
    int bad = conv == 0 ? view_table_check(s, &identical, why, sizeof why) : 1;
    if (bad && why[0]) fprintf(stderr, "hearsay-sim: ghosts: %s\n", why);
    int in_tables = ghosts_in_tables(s);
    uint64_t refused = 0, tombs = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!s->nodes[i].core) continue;
        refused += hs_node_stats_get(s->nodes[i].core)->tombstone_refused;
        tombs += hs_node_tombstone_count(s->nodes[i].core);
    }
    uint64_t p50 = pct(g.rejoin_us, g.nrejoin, 50), pmax = pct(g.rejoin_us, g.nrejoin, 100);
    out_add(&out,
            "duration_s=%.0f leaves=%llu crashes=%llu restarts=%llu wiped=%llu recorded=%llu "
            "replayed=%llu refused=%llu tombstones_held=%llu ghosts_in_tables=%d "
            "revivals_after_guard=%llu "
            "rejoin_p50_ms=%.1f rejoin_max_ms=%.1f late_rejoins=%llu converged=%d "
            "converge_s=%.2f goal_rejoin_ms=2000",
            dur, (unsigned long long)g.leaves, (unsigned long long)g.crashes,
            (unsigned long long)g.restarts, (unsigned long long)g.wiped,
            (unsigned long long)replay_recorded(s->replayer), (unsigned long long)g.replayed,
            (unsigned long long)refused, (unsigned long long)tombs, in_tables,
            (unsigned long long)s->revivals_late, g.nrejoin ? (double)p50 / 1e3 : -1,
            g.nrejoin ? (double)pmax / 1e3 : -1, (unsigned long long)g.late_rejoins, conv == 0,
            conv == 0 ? (double)(at - quiet) / 1e6 : -1);
    int ok = conv == 0 && !bad && !in_tables && !g.late_rejoins && g.restarts > 0 && refused > 0;
    rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}
