/* scen_operator.c: `hearsay-sim forceleave` and `hearsay-sim profile`: the operator's controls
 * on N whole agents (3 seeds with Raft) behind real secure channels (asim.c).
 *   forceleave: a member is killed, another is cut off from everyone, and a force-leave of the
 *     dead one goes through Raft from a random non-seed; figures: commit time, the time until
 *     it is gone (left) from every view but the cut-off one, and after the heal the time until
 *     the cut-off member applies it too. Goals: gone within 2 s of the commit, applied within
 *     1 s of the heal.
 *   profile: `config fd profile wan` then `config fd probe_interval_ms 2000` through Raft
 *     from a random non-seed; at every poll (5 ms) every agent must run the settings its own
 *     configuration version yields (fd_settings.h); figures: the time from each commit until
 *     every agent runs it. Goal: within 2 s.
 * The commit time is when the first seed applies the entry. One figure line each; exit 0 when
 * the goals and every invariant held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asim.h"
#include "hearsay/fd_settings.h"
#include "scen.h"
#include "simutil.h"

#define BOOT_MAX_S 120
#define POLL_US    5000
#define GOAL_US    2000000 /* within 2 s of the commit */
#define HEAL_US    1000000 /* within 1 s of the heal */

static as_sim *start(const sim_opts *o)
{
    as_opts ao = {.n = o->nodes,
                  .seed = o->seed,
                  .loss = opt_or(o->loss, 0.0),
                  .lat_us = (uint32_t)(o->lat_ms * 1000.0 + 0.5),
                  .jitter_us = (uint32_t)(o->jitter_ms * 1000.0 + 0.5),
                  .trace = o->trace};
    as_sim *s = as_new(&ao);
    for (uint32_t i = 0; i < s->n; i++) {
        as_run_until(s, i < AS_SEEDS ? 0 : 100000 + (uint64_t)(i - AS_SEEDS) * 2000000 / s->n);
        as_start(s, i);
    }
    return s;
}

/* One configuration everywhere, with the seeds and the ring, and everyone alive everywhere. */
static bool booted(const as_sim *s)
{
    int l = as_leader(s);
    if (l < 0) return false;
    uint64_t v = hs_agent_config(s->ag[l].a)->version;
    for (uint32_t i = 0; i < s->n; i++) {
        const hs_cluster_config *c = hs_agent_config(s->ag[i].a);
        size_t counts[4];
        hs_node_status_counts(hs_agent_node(s->ag[i].a), counts);
        if (c->version != v || c->n_keys < 1 || c->n_seeds != AS_SEEDS || counts[HS_ALIVE] != s->n)
            return false;
    }
    return true;
}

static bool boot(as_sim *s, double *boot_s)
{
    while (!s->failed && s->now_us < (uint64_t)BOOT_MAX_S * 1000000) {
        as_run_until(s, s->now_us + 100000);
        if (booted(s)) {
            *boot_s = (double)s->now_us / 1e6;
            as_run_until(s, s->now_us + 2000000); /* settle */
            return true;
        }
    }
    return false;
}

/* A running non-seed other than those excluded. */
static uint32_t pick_member(as_sim *s, sim_rng *r, int not1, int not2)
{
    for (;;) {
        uint32_t i = AS_SEEDS + (uint32_t)sim_rng_below(r, s->n - AS_SEEDS);
        if ((int)i != not1 && (int)i != not2 && s->ag[i].state == AS_RUNNING) return i;
    }
}

/* Starts a configuration change on agent i (its answer is recorded as a write). */
static void change(as_sim *s, uint32_t i, int kind, const char *key, const char *value)
{
    s->writes = sim_grow(s->writes, s->nwrites, &s->capwrites, sizeof *s->writes, 8);
    size_t w = s->nwrites++;
    s->writes[w] = (as_write){i, UINT32_MAX, s->now_us, UINT64_MAX, UINT64_MAX, -1};
    uint64_t op = hs_agent_config_op(s->ag[i].a, as_now_ms(s), kind, key, value, NULL);
    if (op) as_op_add(s, i, op, HS_AGENT_DONE_CONFIG, (uint32_t)w);
    as_after_call(s, i);
}

static bool view_gone(const as_sim *s, uint32_t i, const char *name)
{
    hs_member_info mi;
    return !hs_node_find(hs_agent_node(s->ag[i].a), name, &mi) || mi.status == HS_LEFT;
}

static int finish(const char *line, as_sim *s, bool goals, const sim_opts *o, double wall0)
{
    printf("%s dgrams=%llu frames=%llu stream_payloads_lost=%llu notices_err=%llu "
           "invariants=%s sim_s=%.1f wall_s=%.1f ok=%d\n",
           line, (unsigned long long)s->dgrams, (unsigned long long)s->frames,
           (unsigned long long)s->stream_payloads_lost, (unsigned long long)s->notices_err,
           s->failed ? "FAILED" : "ok", (double)s->now_us / 1e6, wall_seconds() - wall0,
           goals && !s->failed);
    fflush(stdout);
    if (s->failed)
        fprintf(stderr, "hearsay-sim: seed=%llu: %s\n", (unsigned long long)s->seed, s->fail_msg);
    int rc = (o->invariants_only ? !s->failed : goals && !s->failed) ? 0 : 1;
    as_free(s);
    return rc;
}

/* The start of both scenarios: the agents booted and settled, the figure line begun. */
typedef struct run {
    as_sim *s;
    sim_rng r;
    char line[1024];
    int len;
    double wall0, boot_s;
} run;

/* -1: go on; else the exit status (too few nodes, or the cluster did not boot). */
static int begin(run *x, const sim_opts *o, const char *name, uint32_t min_nodes)
{
    if (o->nodes < min_nodes) {
        fprintf(stderr, "hearsay-sim %s: needs --nodes >= %u\n", name, min_nodes);
        return 2;
    }
    x->wall0 = wall_seconds();
    x->boot_s = 0;
    x->s = start(o);
    sim_rng_seed(&x->r, sim_derive(o->seed, 11));
    x->len = snprintf(x->line, sizeof x->line, "scenario=%s n=%u seed=%llu", name, o->nodes,
                      (unsigned long long)o->seed);
    if (boot(x->s, &x->boot_s)) return -1;
    snprintf(x->line + x->len, sizeof x->line - (size_t)x->len, " error=not_booted");
    return finish(x->line, x->s, false, o, x->wall0);
}

int scen_forceleave(const sim_opts *o)
{
    run x;
    int rc = begin(&x, o, "forceleave", AS_SEEDS + 4);
    if (rc >= 0) return rc;
    as_sim *s = x.s;
    uint32_t dead = pick_member(s, &x.r, -1, -1), cut = pick_member(s, &x.r, (int)dead, -1);
    uint32_t issuer = pick_member(s, &x.r, (int)dead, (int)cut);
    as_exit(s, dead);
    as_run_until(s, s->now_us + 1000000);
    as_cut(s, cut, true);
    as_run_until(s, s->now_us + 200000);
    uint64_t t0 = s->now_us, commit = 0, gone = 0, heal = 0, applied = 0;
    change(s, issuer, HS_CFGC_REMOVE_NODE, s->ag[dead].name, "");
    while (!s->failed && s->now_us < t0 + 10000000 && !applied) {
        as_run_until(s, s->now_us + POLL_US);
        for (uint32_t k = 0; k < AS_SEEDS && !commit; k++)
            if (as_alive(s, (int)k) &&
                hs_cc_is_removed(hs_agent_config(s->ag[k].a), s->ag[dead].name))
                commit = s->now_us;
        if (commit && !gone) {
            bool all = true;
            for (uint32_t i = 0; i < s->n && all; i++)
                if (as_alive(s, (int)i) && i != cut) all = view_gone(s, i, s->ag[dead].name);
            if (all) {
                gone = s->now_us;
                as_run_until(s, s->now_us + 200000);
                as_cut(s, cut, false);
                heal = s->now_us;
            }
        }
        if (heal && view_gone(s, cut, s->ag[dead].name)) applied = s->now_us;
    }
    const as_write *w = &s->writes[0];
    double commit_ms = commit ? (double)(commit - t0) / 1e3 : -1;
    double gone_ms = gone ? (double)(gone - commit) / 1e3 : -1;
    double heal_ms = applied ? (double)(applied - heal) / 1e3 : -1;
    snprintf(x.line + x.len, sizeof x.line - (size_t)x.len,
             " boot_s=%.1f dead=n%u cut=n%u issuer=n%u commit_ms=%.1f answer_ms=%.1f "
             "gone_everywhere_ms=%.1f cutoff_after_heal_ms=%.1f",
             x.boot_s, dead, cut, issuer, commit_ms,
             w->answer_us != UINT64_MAX ? (double)(w->answer_us - t0) / 1e3 : -1, gone_ms, heal_ms);
    bool goals = commit && gone && applied && w->result == HS_CFGC_OK && gone - commit <= GOAL_US &&
                 applied - heal <= HEAL_US;
    return finish(x.line, s, goals, o, x.wall0);
}

/* Every agent runs the settings its own configuration version yields (the invariant), and
 * whether every agent runs probe interval ms with profile p. */
static bool settings_everywhere(as_sim *s, uint32_t ms, int p)
{
    bool all = true;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!as_alive(s, (int)i)) continue;
        hs_config base, want;
        hs_config_default(&base);
        hs_fd_effective(hs_agent_config(s->ag[i].a), &base, HS_FD_LAN, &want, NULL);
        const hs_config *have = hs_node_config(hs_agent_node(s->ag[i].a));
        if (have->probe_interval_ms != want.probe_interval_ms ||
            have->gossip_interval_ms != want.gossip_interval_ms)
            as_fail(s,
                    "n%u runs a probe interval of %u ms where its configuration version "
                    "%llu says %u ms",
                    i, (unsigned)have->probe_interval_ms,
                    (unsigned long long)hs_agent_config(s->ag[i].a)->version,
                    (unsigned)want.probe_interval_ms);
        all = all && have->probe_interval_ms == ms && hs_agent_fd_profile(s->ag[i].a) == p;
    }
    return all;
}

/* One change from a random non-seed: the ms from its commit until every agent runs it. */
static double measure(as_sim *s, sim_rng *r, const char *key, const char *value, uint32_t ms)
{
    uint64_t t0 = s->now_us, commit = 0;
    change(s, pick_member(s, r, -1, -1), HS_CFGC_SET_FD, key, value);
    while (!s->failed && s->now_us < t0 + 10000000) {
        as_run_until(s, s->now_us + POLL_US);
        for (uint32_t k = 0; k < AS_SEEDS && !commit; k++) {
            const char *v = hs_cc_get_fd(hs_agent_config(s->ag[k].a), key);
            if (v && !strcmp(v, value)) commit = s->now_us;
        }
        if (settings_everywhere(s, ms, HS_FD_WAN) && commit)
            return (double)(s->now_us - commit) / 1e3;
    }
    return -1;
}

int scen_profile(const sim_opts *o)
{
    run x;
    int rc = begin(&x, o, "profile", AS_SEEDS + 2);
    if (rc >= 0) return rc;
    as_sim *s = x.s;
    double wan = measure(s, &x.r, "profile", "wan", 5000);
    as_run_until(s, s->now_us + 1000000);
    double interval = measure(s, &x.r, "probe_interval_ms", "2000", 2000);
    as_run_until(s, s->now_us + 3000000);
    size_t counts[4];
    hs_node_status_counts(hs_agent_node(s->ag[0].a), counts);
    snprintf(x.line + x.len, sizeof x.line - (size_t)x.len,
             " boot_s=%.1f profile_wan_everywhere_ms=%.1f probe_interval_everywhere_ms=%.1f "
             "alive_after=%zu",
             x.boot_s, wan, interval, counts[HS_ALIVE]);
    bool goals = wan >= 0 && wan <= GOAL_US / 1e3 && interval >= 0 && interval <= GOAL_US / 1e3 &&
                 counts[HS_ALIVE] == s->n;
    return finish(x.line, s, goals, o, x.wall0);
}
