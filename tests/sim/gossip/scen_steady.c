/* scen_steady.c: steady-state scenarios: load (bytes sent per node per second), accuracy
 * (no live node marked failed under uniform loss), stability (Rapid's test: a few nodes with
 * heavy one-way ingress loss must not flap, healthy nodes must not be suspected by a
 * majority) and gray (a few nodes losing 90 % both ways: out once, never flapping). */
#include <stdio.h>
#include <stdlib.h>

#include "scen.h"
#include "view.h"

static sim *boot(const sim_opts *o, scen_out *out, const char *name, int *rc)
{
    sim *s = sim_new(o->nodes, o);
    out_init(out, name, o);
    return scen_boot(s, out, o->nodes, rc) ? s : NULL;
}

/* Runs for secs, printing progress on stderr every 10% when the run is long. */
static void run_for(sim *s, const sim_opts *o, double secs)
{
    uint64_t end = s->now_us + sec_us(secs);
    uint64_t step = secs >= 300 ? sec_us(secs / 10) : sec_us(secs);
    while (s->now_us < end && !s->failed) {
        uint64_t t = s->now_us + step;
        sim_run_until(s, t < end ? t : end);
        if (secs >= 300 && !o->quiet)
            fprintf(stderr, "hearsay-sim: t=%.0fs false_fails=%llu majority_suspects=%llu\n",
                    (double)s->now_us / 1e6, (unsigned long long)s->view.false_fails,
                    (unsigned long long)s->view.majority_suspects);
    }
}

int scen_load(const sim_opts *o)
{
    scen_out out;
    int rc;
    sim *s = boot(o, &out, "load", &rc);
    if (!s) return rc;
    double loss = opt_or(o->loss, 0), dur = opt_or(o->duration_s, 60);
    s->net.loss = loss;
    s->strict_no_false_fail = loss == 0;
    scen_advance(s, 25); /* let join gossip die down */
    phase_load l = phase_steady_load(s, dur);
    out_add(&out,
            "loss=%.3f measure_s=%.0f bytes_per_node_s=%.1f p99_node_bytes_s=%.1f "
            "max_node_bytes_s=%.1f pkts_per_node_s=%.2f goal_bytes_per_node_s=2048",
            loss, dur, l.bytes_per_node_s, l.p99_node_bytes_s, l.max_node_bytes_s,
            l.pkts_per_node_s);
    rc = out_finish(&out, s, l.bytes_per_node_s <= 2048);
    sim_free(s);
    return rc;
}

int scen_accuracy(const sim_opts *o)
{
    scen_out out;
    int rc;
    sim *s = boot(o, &out, "accuracy", &rc);
    if (!s) return rc;
    double loss = opt_or(o->loss, 0.10), dur = opt_or(o->duration_s, 3600);
    s->net.loss = loss;
    s->strict_no_false_fail = loss == 0;
    uint64_t ff0 = s->view.false_fails;
    run_for(s, o, dur);
    uint64_t ff = s->view.false_fails - ff0;
    out_add(&out, "loss=%.3f duration_s=%.0f failed_marks_of_live=%llu goal_failed_marks=0", loss,
            dur, (unsigned long long)ff);
    rc = out_finish(&out, s, ff == 0);
    sim_free(s);
    return rc;
}

/* Rapid's test, and the gray failure of issue 19: 1% of the nodes (at least one) get heavy
 * packet loss for the whole run. Every minute of simulated time a "series" line gives the
 * alive<->failed changes seen so far, for the plots (bench/plots.py). Goals: at most
 * max_changes alive<->failed changes of a flaky node in any one view, no healthy node ever
 * failed or suspected by a majority. */
static int flaky_run(const sim_opts *o, const char *name, double in_loss, double out_loss,
                     uint32_t max_changes)
{
    scen_out out;
    int rc;
    sim *s = boot(o, &out, name, &rc);
    if (!s) return rc;
    double dur = opt_or(o->duration_s, 3600);
    s->net.loss = opt_or(o->loss, 0);
    uint32_t nflaky = o->nodes / 100 ? o->nodes / 100 : 1;
    uint32_t *flaky = calloc(nflaky, sizeof *flaky);
    for (uint32_t k = 0; k < nflaky; k++) {
        int j;
        do j = scen_pick(s, true);
        while (j >= 0 && (s->nodes[j].in_loss > 0 || s->nodes[j].out_loss > 0));
        if (j < 0) break;
        flaky[k] = (uint32_t)j;
        s->nodes[j].in_loss = in_loss;
        s->nodes[j].out_loss = out_loss;
        view_flag(s, (uint32_t)j);
        view_trace(s, TR_LOSS, (uint32_t)j, (uint32_t)(in_loss * 100), 0, 0);
    }
    s->check_majority = true;
    uint64_t t0 = s->now_us, end = s->now_us + sec_us(dur);
    uint32_t max_flips;
    uint64_t flips, sus;
    while (s->now_us < end && !s->failed) {
        uint64_t t = s->now_us + sec_us(60);
        sim_run_until(s, t < end ? t : end);
        view_flip_stats(s, &max_flips, &flips, &sus);
        uint32_t down = 0;
        for (uint32_t k = 0; k < nflaky; k++) down += s->view.cnt[flaky[k]][HS_FAILED];
        printf("series scenario=%s t_s=%.0f max_status_changes=%u total_flips=%llu "
               "suspect_episodes=%llu failed_marks_now=%u false_fails=%llu\n",
               name, (double)(s->now_us - t0) / 1e6, max_flips, (unsigned long long)flips,
               (unsigned long long)sus, down, (unsigned long long)s->view.false_fails);
        if (dur >= 300 && !o->quiet)
            fprintf(stderr, "hearsay-sim: t=%.0fs max_status_changes=%u false_fails=%llu\n",
                    (double)s->now_us / 1e6, max_flips, (unsigned long long)s->view.false_fails);
    }
    view_flip_stats(s, &max_flips, &flips, &sus);
    uint32_t stably_failed = 0, stably_alive = 0;
    for (uint32_t k = 0; k < nflaky; k++) {
        const uint32_t *c = s->view.cnt[flaky[k]];
        if (c[HS_FAILED] * 2 > s->view.observers)
            stably_failed++;
        else if ((c[HS_ALIVE] + c[HS_SUSPECT]) * 2 > s->view.observers)
            stably_alive++;
    }
    out_add(&out,
            "flaky=%u ingress_loss=%.2f egress_loss=%.2f duration_s=%.0f max_status_changes=%u "
            "total_flips=%llu suspect_episodes=%llu flaky_failed=%u flaky_alive=%u "
            "healthy_majority_suspected=%llu goal_max_status_changes=%u",
            nflaky, in_loss, out_loss, dur, max_flips, (unsigned long long)flips,
            (unsigned long long)sus, stably_failed, stably_alive,
            (unsigned long long)s->view.majority_suspects, max_changes);
    int ok = max_flips <= max_changes && s->view.majority_suspects == 0 && s->view.false_fails == 0;
    rc = out_finish(&out, s, ok);
    free(flaky);
    sim_free(s);
    return rc;
}

int scen_stability(const sim_opts *o)
{
    return flaky_run(o, "stability", 0.8, 0, 1);
}

int scen_gray(const sim_opts *o)
{
    return flaky_run(o, "gray", 0.9, 0.9, 2);
}
