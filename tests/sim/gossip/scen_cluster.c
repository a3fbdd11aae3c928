/* scen_cluster.c: whole-cluster scenarios: partition (50/50 split, then heal: both halves
 * must converge to one all-alive view) and massstart (N nodes start within 10 s through 3
 * seeds: everyone must see everyone). */
#include <stdio.h>
#include <stdlib.h>

#include "scen.h"
#include "view.h"

int scen_partition(const sim_opts *o)
{
    uint32_t n = o->nodes;
    sim *s = sim_new(n, o);
    scen_out out;
    out_init(&out, "partition", o);
    if (scen_bootstrap(s, n, 120)) {
        out_add(&out, "error=bootstrap_not_converged");
        int rc = out_finish(&out, s, 0);
        sim_free(s);
        return rc;
    }
    scen_advance(s, 5);
    double dur = opt_or(o->duration_s, 60);
    s->net.loss = opt_or(o->loss, 0);
    /* a random half goes to group 1 */
    uint32_t *perm = malloc(n * sizeof *perm);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t k = (uint32_t)sim_rng_below(&s->rng, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[k];
        perm[k] = t;
    }
    for (uint32_t i = 0; i < n / 2; i++) s->nodes[perm[i]].group = 1;
    free(perm);
    sim_partition(s, 0, 1, false);
    scen_advance(s, dur);
    /* during the split each half should have declared the other failed */
    uint64_t other_failed = 0, pairs = 0;
    for (uint32_t j = 0; j < n; j++) other_failed += s->view.cnt[j][HS_FAILED];
    pairs = (uint64_t)(n / 2) * (n - n / 2) * 2;
    sim_heal(s);
    uint64_t heal = s->now_us, at = 0;
    int conv = scen_wait_converged(s, 120, &at);
    bool identical = false;
    char why[256] = "";
    int bad = conv == 0 ? view_table_check(s, &identical, why, sizeof why) : 1;
    double heal_s = conv == 0 ? (double)(at - heal) / 1e6 : -1;
    out_add(&out,
            "split_s=%.0f failed_across_split=%.3f converged=%d heal_to_converged_s=%.2f "
            "tables_identical=%d goal_s=10",
            dur, pairs ? (double)other_failed / (double)pairs : 0.0, conv == 0, heal_s,
            identical ? 1 : 0);
    if (bad && why[0]) fprintf(stderr, "hearsay-sim: partition: %s\n", why);
    int ok = conv == 0 && !bad && heal_s <= 10;
    int rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}

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

int scen_massstart(const sim_opts *o)
{
    uint32_t n = o->nodes;
    sim *s = sim_new(n, o);
    s->net.loss = opt_or(o->loss, 0);
    s->strict_no_false_fail = s->net.loss == 0;
    double window = opt_or(o->duration_s, 10);
    scen_out out;
    out_init(&out, "massstart", o);
    start_at *plan = malloc(n * sizeof *plan);
    for (uint32_t i = 0; i < n; i++) {
        plan[i].node = i;
        plan[i].t_us = i < s->nseeds ? 0 : sim_rng_below(&s->rng, sec_us(window) + 1);
    }
    qsort(plan, n, sizeof *plan, cmp_start);
    for (uint32_t k = 0; k < n; k++) {
        sim_run_until(s, plan[k].t_us);
        sim_start(s, plan[k].node);
    }
    uint64_t last = plan[n - 1].t_us, at = 0;
    free(plan);
    int conv = scen_wait_converged(s, 120, &at);
    bool identical = false;
    char why[256] = "";
    int bad = conv == 0 ? view_table_check(s, &identical, why, sizeof why) : 1;
    if (bad && why[0]) fprintf(stderr, "hearsay-sim: massstart: %s\n", why);
    double all_s = conv == 0 ? (double)at / 1e6 : -1;
    out_add(&out,
            "start_window_s=%.0f seeds=%u converged=%d all_see_all_s=%.2f "
            "after_last_start_s=%.2f goal_s=20",
            window, s->nseeds, conv == 0, all_s, conv == 0 ? (double)(at - last) / 1e6 : -1.0);
    int ok = conv == 0 && !bad && all_s <= 20;
    int rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}
