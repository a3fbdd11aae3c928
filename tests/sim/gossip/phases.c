/* phases.c: the measurements the scenarios share, each run on a sim that is already up:
 * a mass start, steady-state load, crash detection and a 50/50 partition with its heal.
 * detect, load, massstart and partition run one each; scale runs them all on one cluster
 * (at N = 10,000 a boot is the expensive part). */
#include <stdio.h>
#include <stdlib.h>

#include "scen.h"
#include "view.h"

typedef struct start_at {
    uint64_t t_us;
    uint32_t node;
} start_at;

static int cmp_start(const void *a, const void *b)
{
    const start_at *x = a, *y = b;
    if (x->t_us != y->t_us) return x->t_us < y->t_us ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

phase_massstart phase_mass_start(sim *s, double window_s)
{
    phase_massstart r = {0};
    uint32_t n = s->n;
    uint64_t t0 = s->now_us;
    double w0 = wall_seconds();
    start_at *plan = malloc(n * sizeof *plan);
    for (uint32_t i = 0; i < n; i++) {
        plan[i].node = i;
        plan[i].t_us = t0 + (i < s->nseeds ? 0 : sim_rng_below(&s->rng, sec_us(window_s) + 1));
    }
    qsort(plan, n, sizeof *plan, cmp_start);
    for (uint32_t k = 0; k < n; k++) {
        sim_run_until(s, plan[k].t_us);
        sim_start(s, plan[k].node);
    }
    uint64_t last = plan[n - 1].t_us, at = 0;
    free(plan);
    r.converged = scen_wait_converged(s, 120, &at) == 0;
    s->boot_wall_s = wall_seconds() - w0;
    s->boot_sim_us = s->now_us - t0;
    r.all_see_all_s = r.converged ? (double)(at - t0) / 1e6 : -1;
    r.after_last_s = r.converged ? (double)(at - last) / 1e6 : -1;
    return r;
}

phase_load phase_steady_load(sim *s, double dur_s)
{
    phase_load r = {0};
    uint64_t b0 = sum_bytes_out(s), p0 = s->net.sent;
    uint64_t *per = calloc(s->n, sizeof *per);
    for (uint32_t i = 0; i < s->n; i++) per[i] = s->nodes[i].bytes_out;
    scen_advance(s, dur_s);
    r.bytes_per_node_s = (double)(sum_bytes_out(s) - b0) / (s->n * dur_s);
    r.pkts_per_node_s = (double)(s->net.sent - p0) / (s->n * dur_s);
    uint64_t mx = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        per[i] = s->nodes[i].bytes_out - per[i];
        if (per[i] > mx) mx = per[i];
    }
    r.p99_node_bytes_s = (double)pct(per, s->n, 99) / dur_s;
    r.max_node_bytes_s = (double)mx / dur_s;
    free(per);
    return r;
}

phase_detect phase_crashes(sim *s, uint32_t trials, const char *scenario, uint64_t seed)
{
    phase_detect r = {.trials = trials};
    uint64_t *det = calloc(trials, sizeof *det), *first = calloc(trials, sizeof *first);
    for (uint32_t t = 0; t < trials && !s->failed; t++) {
        int j = scen_pick(s, true);
        if (j < 0) break;
        sim_crash(s, (uint32_t)j);
        int w = view_watch(s, (uint32_t)j, HS_FAILED);
        if (scen_wait_watch(s, w, 30) == 0) {
            const sim_watch *x = view_watch_get(s, w);
            det[r.done] = (x->all_us - x->start_us) / 1000;
            first[r.done] = (x->first_us - x->start_us) / 1000;
            /* one line per crash, for the detection-time CDF (bench/plots.py) */
            printf("trial scenario=%s n=%u seed=%llu i=%u victim=n%d all_ms=%llu first_ms=%llu\n",
                   scenario, s->n, (unsigned long long)seed, t, j, (unsigned long long)det[r.done],
                   (unsigned long long)first[r.done]);
            r.done++;
        } else {
            r.missed++;
        }
        view_unwatch(s, w);
        scen_advance(s, 2);
    }
    r.median_ms = pct(det, r.done, 50);
    r.p99_ms = pct(det, r.done, 99);
    r.max_ms = pct(det, r.done, 100);
    r.first_median_ms = pct(first, r.done, 50);
    free(det);
    free(first);
    return r;
}

phase_partition phase_split_heal(sim *s, double dur_s)
{
    phase_partition r = {0};
    uint32_t n = s->n;
    /* a random half of the running nodes goes to group 1 */
    uint32_t *perm = malloc(n * sizeof *perm), m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (sim_is_process(&s->nodes[i])) perm[m++] = i;
    for (uint32_t i = m ? m - 1 : 0; i > 0; i--) {
        uint32_t k = (uint32_t)sim_rng_below(&s->rng, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[k];
        perm[k] = t;
    }
    for (uint32_t i = 0; i < m / 2; i++) s->nodes[perm[i]].group = 1;
    free(perm);
    sim_partition(s, 0, 1, false);
    scen_advance(s, dur_s);
    /* during the split each half should have declared the other failed */
    uint64_t other_failed = 0;
    for (uint32_t j = 0; j < n; j++) other_failed += s->view.cnt[j][HS_FAILED];
    uint64_t pairs = (uint64_t)(m / 2) * (m - m / 2) * 2;
    r.failed_across_split = pairs ? (double)other_failed / (double)pairs : 0.0;
    sim_heal(s);
    for (uint32_t i = 0; i < n; i++) s->nodes[i].group = 0;
    uint64_t heal = s->now_us, at = 0;
    r.converged = scen_wait_converged(s, 120, &at) == 0;
    char why[256] = "";
    r.bad = r.converged ? view_table_check(s, &r.identical, why, sizeof why) : 1;
    if (r.bad && why[0]) fprintf(stderr, "hearsay-sim: partition: %s\n", why);
    r.heal_s = r.converged ? (double)(at - heal) / 1e6 : -1;
    return r;
}
