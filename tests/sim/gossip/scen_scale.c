/* scen_scale.c: every scale figure of issue 19 on one cluster, for sizes where a boot is the
 * expensive part (N = 10,000): mass start of all N through the 3 seeds within 10 s, steady
 * load, crash detection, then a 50/50 partition and its heal. Goals: all see all within
 * 30 s, detection median <= 3 s, heal <= 10 s (load per node is compared with N = 1000's). */
#include <stdio.h>

#include "scen.h"
#include "view.h"

int scen_scale(const sim_opts *o)
{
    uint32_t trials = o->trials ? o->trials : 10;
    double split = opt_or(o->duration_s, 60);
    sim *s = sim_new(o->nodes, o);
    s->strict_no_false_fail = true; /* loss-free until the partition */
    s->crash_bound_us = sec_us(30);
    scen_out out;
    out_init(&out, "scale", o);
    phase_massstart m = phase_mass_start(s, 10);
    out_add(&out, "all_see_all_s=%.2f after_last_start_s=%.2f", m.all_see_all_s, m.after_last_s);
    if (!m.converged) {
        out_add(&out, "error=mass_start_not_converged");
        int rc = out_finish(&out, s, 0);
        sim_free(s);
        return rc;
    }
    if (!o->quiet) fprintf(stderr, "hearsay-sim: scale: all see all at %.2f s\n", m.all_see_all_s);
    scen_advance(s, 30); /* let the join gossip die down */
    phase_load l = phase_steady_load(s, 60);
    out_add(&out, "bytes_per_node_s=%.1f pkts_per_node_s=%.2f p99_node_bytes_s=%.1f",
            l.bytes_per_node_s, l.pkts_per_node_s, l.p99_node_bytes_s);
    if (!o->quiet) fprintf(stderr, "hearsay-sim: scale: load %.1f B/s\n", l.bytes_per_node_s);
    phase_detect d = phase_crashes(s, trials, "scale", o->seed);
    out_add(&out, "trials=%u detected=%u median_ms=%llu p99_ms=%llu max_ms=%llu", trials, d.done,
            (unsigned long long)d.median_ms, (unsigned long long)d.p99_ms,
            (unsigned long long)d.max_ms);
    s->strict_no_false_fail = false; /* each half declares the other */
    phase_partition p = phase_split_heal(s, split);
    out_add(&out, "split_s=%.0f failed_across_split=%.3f heal_to_converged_s=%.2f", split,
            p.failed_across_split, p.heal_s);
    out_add(&out, "goal_all_see_all_s=30 goal_median_ms=3000 goal_heal_s=10");
    int ok = d.missed == 0 && d.done > 0 && d.median_ms <= 3000 && m.all_see_all_s <= 30 &&
             p.converged && !p.bad && p.heal_s <= 10;
    int rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}
