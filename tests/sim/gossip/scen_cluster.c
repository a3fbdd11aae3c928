/* scen_cluster.c: whole-cluster scenarios: partition (50/50 split, then heal: both halves
 * must converge to one all-alive view), cutoff (minority partitions: the cut-off side must
 * reach no verdict about the majority side) and massstart (N nodes start within 10 s through
 * 3 seeds: everyone must see everyone). */
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
    int rc;
    if (!scen_boot(s, &out, n, &rc)) return rc;
    double dur = opt_or(o->duration_s, 60);
    s->net.loss = opt_or(o->loss, 0);
    phase_partition p = phase_split_heal(s, dur);
    out_add(&out,
            "split_s=%.0f failed_across_split=%.3f converged=%d heal_to_converged_s=%.2f "
            "tables_identical=%d goal_s=10",
            dur, p.failed_across_split, p.converged, p.heal_s, p.identical ? 1 : 0);
    int ok = p.converged && !p.bad && p.heal_s <= 10;
    rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}

/* Repeated partitions that cut off a random minority (one node to 45 %), symmetric or one-way
 * in either direction, 3-15 s each, loss-free. Invariant at every event: no healthy node of
 * the majority side is shown failed by anyone, during the cut or after the heal (a vote group
 * with three observers on the cut-off side must not declare its member, and no such verdict
 * may reach the majority). Goals: after each heal one all-alive view within 10 s; during
 * symmetric cuts the majority declares the minority failed (the check still works). */
int scen_cutoff(const sim_opts *o)
{
    uint32_t n = o->nodes, rounds = o->trials ? o->trials : 12;
    sim *s = sim_new(n, o);
    scen_out out;
    out_init(&out, "cutoff", o);
    int rc;
    if (!scen_boot(s, &out, n, &rc)) return rc;
    s->protect_group0 = true;
    uint32_t done = 0, kinds[3] = {0}, slow = 0;
    double heal_max = 0;
    for (uint32_t r = 0; r < rounds && !s->failed; r++) {
        double frac = 0.45 * sim_rng_unit(&s->rng);
        uint32_t in1 = 0;
        for (uint32_t i = 0; i < n; i++) {
            s->nodes[i].group = sim_rng_chance(&s->rng, frac) ? 1 : 0;
            in1 += s->nodes[i].group;
        }
        if (in1 == 0) {
            s->nodes[sim_rng_below(&s->rng, n)].group = 1;
            in1 = 1;
        }
        for (uint32_t i = 0; i < n && in1 * 2 >= n; i++) /* keep it a minority */
            if (s->nodes[i].group == 1) {
                s->nodes[i].group = 0;
                in1--;
            }
        uint32_t kind = (uint32_t)sim_rng_below(&s->rng, 3); /* both, 1->0 cut, 0->1 cut */
        kinds[kind]++;
        if (kind == 0)
            sim_partition(s, 0, 1, false);
        else if (kind == 1)
            sim_partition(s, 1, 0, true);
        else
            sim_partition(s, 0, 1, true);
        scen_advance(s, 3 + 12 * sim_rng_unit(&s->rng));
        sim_heal(s);
        uint64_t heal = s->now_us, at = 0;
        if (scen_wait_converged(s, 30, &at) != 0) break;
        double h = (double)(at - heal) / 1e6;
        if (!o->quiet)
            fprintf(stderr,
                    "hearsay-sim: cut %u: %s, minority of %u, healed at t=%.1f s, %.2f s "
                    "to one all-alive view\n",
                    r,
                    kind == 0   ? "symmetric"
                    : kind == 1 ? "minority mute"
                                : "minority deaf",
                    in1, (double)heal / 1e6, h);
        if (h > heal_max) heal_max = h;
        if (h > 10) slow++;
        done++;
        scen_advance(s, 5);
    }
    out_add(&out,
            "cuts=%u done=%u symmetric=%u minority_mute=%u minority_deaf=%u "
            "minority_failed_marks=%llu heal_max_s=%.2f heals_over_10s=%u goal_s=10",
            rounds, done, kinds[0], kinds[1], kinds[2], (unsigned long long)s->group1_failed,
            heal_max, slow);
    int ok = done == rounds && slow == 0 && s->group1_failed > 0;
    rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
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
    phase_massstart m = phase_mass_start(s, window);
    bool identical = false;
    char why[256] = "";
    int bad = m.converged ? view_table_check(s, &identical, why, sizeof why) : 1;
    if (bad && why[0]) fprintf(stderr, "hearsay-sim: massstart: %s\n", why);
    out_add(&out,
            "start_window_s=%.0f seeds=%u converged=%d all_see_all_s=%.2f "
            "after_last_start_s=%.2f goal_s=20",
            window, s->nseeds, m.converged, m.all_see_all_s, m.after_last_s);
    int ok = m.converged && !bad && m.all_see_all_s <= 20;
    int rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}
