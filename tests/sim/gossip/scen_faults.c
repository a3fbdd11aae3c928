/* scen_faults.c: the detection and dissemination scenarios. detect crashes one node at a
 * time and times until every live node shows it failed; disseminate times how long a join,
 * a leave or a fail takes to reach every live node (with or without loss). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen.h"
#include "view.h"

static uint32_t trials_for(const sim_opts *o, uint32_t dflt)
{
    uint32_t t = o->trials ? o->trials : dflt;
    uint32_t cap = o->nodes / 5 ? o->nodes / 5 : 1;
    return t < cap ? t : cap;
}

int scen_detect(const sim_opts *o)
{
    uint32_t n = o->nodes, trials = trials_for(o, 20);
    double loss = opt_or(o->loss, 0);
    sim *s = sim_new(n, o);
    s->strict_no_false_fail = loss == 0;
    s->crash_bound_us = sec_us(30);
    scen_out out;
    out_init(&out, "detect", o);
    int rc;
    if (!scen_boot(s, &out, n, &rc)) return rc;
    s->net.loss = loss;
    phase_detect d = phase_crashes(s, trials, "detect", o->seed);
    out_add(&out,
            "loss=%.3f trials=%u detected=%u missed=%u median_ms=%llu p99_ms=%llu max_ms=%llu "
            "first_median_ms=%llu",
            loss, trials, d.done, d.missed, (unsigned long long)d.median_ms,
            (unsigned long long)d.p99_ms, (unsigned long long)d.max_ms,
            (unsigned long long)d.first_median_ms);
    int ok = d.missed == 0 && d.done > 0 && d.median_ms <= 3000 && d.p99_ms <= 5000;
    out_add(&out, "goal_median_ms=3000 goal_p99_ms=5000");
    rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}

int scen_disseminate(const sim_opts *o)
{
    const char *kind = o->kind ? o->kind : "join";
    uint32_t n = o->nodes, trials = trials_for(o, 10);
    double loss = opt_or(o->loss, 0);
    bool is_join = !strcmp(kind, "join"), is_leave = !strcmp(kind, "leave");
    if (!is_join && !is_leave && strcmp(kind, "fail")) {
        fprintf(stderr, "hearsay-sim: --kind must be join, leave or fail\n");
        return 2;
    }
    sim *s = sim_new(n + (is_join ? trials : 0), o);
    s->strict_no_false_fail = loss == 0;
    scen_out out;
    out_init(&out, "disseminate", o);
    out_add(&out, "kind=%s loss=%.3f", kind, loss);
    int rc;
    if (!scen_boot(s, &out, n, &rc)) return rc;
    s->net.loss = loss;
    uint64_t *spread = calloc(trials, sizeof *spread);
    uint32_t done = 0, missed = 0;
    for (uint32_t t = 0; t < trials && !s->failed; t++) {
        uint32_t j;
        int w;
        if (is_join) {
            j = n + t;
            w = view_watch(s, j, HS_ALIVE);
            sim_start(s, j);
        } else {
            int p = scen_pick(s, true);
            if (p < 0) break;
            j = (uint32_t)p;
            w = view_watch(s, j, is_leave ? HS_LEFT : HS_FAILED);
            if (is_leave)
                sim_leave(s, j);
            else
                sim_crash(s, j);
        }
        if (scen_wait_watch(s, w, 30) == 0) {
            const sim_watch *x = view_watch_get(s, w);
            /* a fail spreads from its first declaration; a join or leave from its start */
            uint64_t from = is_join || is_leave ? x->start_us : x->first_us;
            spread[done++] = (x->all_us - from) / 1000;
        } else {
            missed++;
        }
        view_unwatch(s, w);
        scen_advance(s, 2);
        if (is_leave) sim_stop(s, j);
    }
    uint64_t med = pct(spread, done, 50), p99 = pct(spread, done, 99), mx = pct(spread, done, 100);
    uint64_t goal = loss == 0 ? 1000 : loss <= 0.10 + 1e-9 ? 3000 : 0;
    out_add(&out, "trials=%u reached=%u missed=%u median_ms=%llu p99_ms=%llu max_ms=%llu", trials,
            done, missed, (unsigned long long)med, (unsigned long long)p99, (unsigned long long)mx);
    int ok = missed == 0 && done > 0;
    if (goal) {
        out_add(&out, "goal_max_ms=%llu", (unsigned long long)goal);
        ok = ok && mx <= goal;
    }
    rc = out_finish(&out, s, ok);
    free(spread);
    sim_free(s);
    return rc;
}
