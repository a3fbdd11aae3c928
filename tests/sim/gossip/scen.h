/* scen.h: the named scenarios of hearsay-sim and the helpers they share. Each scenario
 * builds a sim from the options, runs, prints one parseable line of figures
 * ("scenario=NAME n=... key=value ... ok=0|1") and returns 0 when its goals and every
 * invariant held, 1 otherwise. */
#ifndef HS_SIM_SCEN_H
#define HS_SIM_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/* --- the scenarios --- */
int scen_detect(const sim_opts *o);
int scen_disseminate(const sim_opts *o);
int scen_load(const sim_opts *o);
int scen_accuracy(const sim_opts *o);
int scen_stability(const sim_opts *o);
int scen_gray(const sim_opts *o);
int scen_partition(const sim_opts *o);
int scen_cutoff(const sim_opts *o);
int scen_massstart(const sim_opts *o);
int scen_invariants(const sim_opts *o);
int scen_chaos(const sim_opts *o);
int scen_determinism(const sim_opts *o);
int scen_ghosts(const sim_opts *o);
int scen_replay(const sim_opts *o);
int scen_forceleave(const sim_opts *o);
int scen_profile(const sim_opts *o);
int scen_event(const sim_opts *o);
int scen_query(const sim_opts *o);
int scen_reach(const sim_opts *o);

int scen_scale(const sim_opts *o);
int scen_footprint(const sim_opts *o);

/* --- measurements on a running sim (phases.c) --- */
typedef struct phase_massstart {
    bool converged;
    double all_see_all_s, after_last_s; /* from the first start, from the last */
} phase_massstart;
typedef struct phase_load {
    double bytes_per_node_s, pkts_per_node_s, p99_node_bytes_s, max_node_bytes_s;
} phase_load;
typedef struct phase_detect {
    uint32_t trials, done, missed;
    uint64_t median_ms, p99_ms, max_ms, first_median_ms;
} phase_detect;
typedef struct phase_partition {
    bool converged, identical;
    int bad; /* tables disagree with the events or with each other after the heal */
    double failed_across_split, heal_s;
} phase_partition;

/* Starts every node of s at a random time within window_s (the seeds at once) through the
 * seeds and waits until all see all (sets the boot figures). */
phase_massstart phase_mass_start(sim *s, double window_s);
/* Bytes and packets sent per node per second over dur_s. */
phase_load phase_steady_load(sim *s, double dur_s);
/* Crashes a random non-seed node per trial and times until every live node shows it failed
 * (30 s at most), 2 s apart; prints a "trial" line per crash. */
phase_detect phase_crashes(sim *s, uint32_t trials, const char *scenario, uint64_t seed);
/* Splits the running nodes 50/50 for dur_s, heals and waits for one all-alive view. */
phase_partition phase_split_heal(sim *s, double dur_s);

/* --- helpers (scen_util.c) --- */
typedef struct scen_out {
    char buf[4096];
    size_t len;
    double wall0;
} scen_out;

void out_init(scen_out *out, const char *scenario, const sim_opts *o);
void out_add(scen_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends the common figures (memory, traffic, invariants, wall time) and ok, prints the
 * line on stdout and returns the exit status. */
int out_finish(scen_out *out, sim *s, int ok);

double wall_seconds(void); /* monotonic wall clock, for the wall-time figure only */
static inline uint64_t sec_us(double s)
{
    return (uint64_t)(s * 1e6 + 0.5);
}
double opt_or(double v, double dflt); /* v if v >= 0 else dflt */

/* Starts nodes [0, count) over spread_s seconds (seeds first) and waits until every node
 * holds every other alive; returns 0 on success. */
int scen_bootstrap(sim *s, uint32_t count, double timeout_s);
/* The start of most scenarios: scen_bootstrap (120 s at most), then 5 s to settle. If the
 * cluster did not converge, writes the error line, frees s, sets *rc and returns false. */
bool scen_boot(sim *s, scen_out *out, uint32_t count, int *rc);
/* Polls every 100 ms of virtual time until view_converged; at_us gets the time. */
int scen_wait_converged(sim *s, double timeout_s, uint64_t *at_us);
/* Runs until watch w has reached everyone or timeout; 0 when reached. */
int scen_wait_watch(sim *s, int w, double timeout_s);
void scen_advance(sim *s, double secs);
/* A random running, non-left node; seeds excluded when asked. -1 if none. */
int scen_pick(sim *s, bool exclude_seeds);
/* Nearest-rank percentile (sorts v). */
uint64_t pct(uint64_t *v, size_t n, double p);
uint64_t sum_bytes_out(const sim *s);

#endif
