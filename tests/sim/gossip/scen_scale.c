/* scen_scale.c: the scale figures of issue 19. scale: all of them on one cluster, for sizes
 * where a boot is the expensive part (N = 10,000): mass start of all N through the 3 seeds
 * within 10 s, steady load, crash detection, then a 50/50 partition and its heal (goals: all
 * see all within 30 s, detection median <= 3 s, heal <= 10 s; load per node is compared with
 * N = 1000's). footprint: the memory of N cores that each hold all N members, without the
 * boot (each is handed one full-state Meet reply), read from /proc/self/status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/codec.h"
#include "hearsay/wire.h"

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

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

/* A MEET_REPLY from n0 holding every node alive at incarnation 0 (docs/protocol.md). */
static uint8_t *full_view(uint32_t n, size_t *len)
{
    size_t cap = 64 + (size_t)n * 40;
    uint8_t *buf = malloc(cap);
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, HS_MSG_MEET_REPLY);
    hs_put_u8(&w, 0);
    hs_put_str8(&w, "n0", 2);
    hs_put_u64(&w, 0);
    hs_put_u32(&w, n);
    for (uint32_t i = 0; i < n; i++) {
        char name[16];
        sim_name(i, name, sizeof name);
        hs_addr a = sim_addr(i);
        hs_put_str8(&w, name, strlen(name));
        hs_put_u8(&w, 4);
        hs_put_bytes(&w, a.ip, 4);
        hs_put_u16(&w, a.port);
        hs_put_u32(&w, 0);
        hs_put_u8(&w, HS_ALIVE);
        hs_put_blob16(&w, NULL, 0);
    }
    *len = w.ok ? w.len : 0;
    return buf;
}

int scen_footprint(const sim_opts *o)
{
    uint32_t n = o->nodes;
    scen_out out;
    out_init(&out, "footprint", o);
    long rss0 = rss_kb();
    double w0 = wall_seconds();
    size_t len;
    uint8_t *view = full_view(n, &len);
    hs_node **cores = calloc(n, sizeof *cores);
    hs_addr from = sim_addr(0);
    size_t held = 0;
    for (uint32_t i = 0; i < n && len; i++) {
        hs_config cfg;
        hs_config_default(&cfg);
        sim_name(i, cfg.name, sizeof cfg.name);
        cfg.addr = sim_addr(i);
        cores[i] = hs_node_new(&cfg, (hs_tags){NULL, 0}, 0, 1000, sim_derive(o->seed, i));
        hs_addr seed = sim_addr(i ? 0 : 1);
        hs_node_join(cores[i], 1000, &seed, 1);
        hs_node_receive(cores[i], 1000, &from, view, len, true);
        hs_packet p;
        hs_event ev;
        while (hs_node_next_packet(cores[i], &p)) {
        }
        while (hs_node_next_event(cores[i], &ev)) {
        }
        hs_node_receive(cores[i], 1000, &from, NULL, 0, false); /* frees the drained queues */
        held += hs_node_member_count(cores[i]);
    }
    free(view);
    long rss1 = rss_kb();
    double pairs = (double)n * n;
    out_add(&out,
            "members_held=%zu rss_mb=%.1f bytes_per_node_member=%.1f table_bytes_per_member=%.1f "
            "build_wall_s=%.1f goal_rss_mb=12288",
            held, (double)(rss1 - rss0) / 1024, (double)(rss1 - rss0) * 1024 / pairs,
            n ? (double)hs_node_table_bytes(cores[n - 1]) / n : 0.0, wall_seconds() - w0);
    printf("%s\n", out.buf);
    fflush(stdout);
    int ok = held == pairs && (rss1 - rss0) <= 12288L * 1024;
    for (uint32_t i = 0; i < n; i++) hs_node_free(cores[i]);
    free(cores);
    return ok ? 0 : 1;
}
