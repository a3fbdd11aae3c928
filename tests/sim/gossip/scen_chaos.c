/* scen_chaos.c: random fault injection with invariant checks. invariants is loss-free
 * churn (crashes, restarts, leaves, joins): no live node may ever be declared failed.
 * chaos adds loss, duplication, reordering, pauses, one-way node loss and partitions
 * (symmetric and one-way). Both then stop the faults and require every crashed node to be
 * failed everywhere and all live nodes to converge on one view. determinism runs chaos twice
 * in one process and compares the digests of the full event and packet traces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen.h"
#include "view.h"

enum { U_RESUME, U_CLEAR_LOSS, U_HEAL, U_STOP };

typedef struct undo {
    uint64_t at;
    uint8_t kind;
    uint32_t node;
} undo;

typedef struct chaos {
    sim *s;
    bool faults;     /* pauses, node loss, partitions, datagram loss */
    double min_down; /* seconds a node stays crashed before it may restart */
    undo u[256];
    size_t nu;
    bool split;
    uint64_t actions[16];
} chaos;

static void add_undo(chaos *c, double after_s, uint8_t kind, uint32_t node)
{
    if (c->nu == sizeof c->u / sizeof c->u[0]) return;
    c->u[c->nu++] = (undo){.at = c->s->now_us + sec_us(after_s), .kind = kind, .node = node};
}

static void apply_undo(chaos *c, const undo *u)
{
    sim *s = c->s;
    switch (u->kind) {
    case U_RESUME:
        sim_resume(s, u->node);
        break;
    case U_CLEAR_LOSS:
        s->nodes[u->node].in_loss = s->nodes[u->node].out_loss = 0;
        view_trace(s, TR_LOSS, u->node, 0, 0, 0);
        break;
    case U_HEAL:
        sim_heal(s);
        for (uint32_t i = 0; i < s->n; i++) s->nodes[i].group = 0;
        c->split = false;
        break;
    case U_STOP:
        sim_stop(s, u->node);
        break;
    }
}

/* Runs the earliest due undo actions in time order, advancing the clock to each. */
static void run_until_with_undo(chaos *c, uint64_t t)
{
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t k = 0; k < c->nu; k++)
            if (c->u[k].at <= t && (best == SIZE_MAX || c->u[k].at < c->u[best].at)) best = k;
        if (best == SIZE_MAX) break;
        undo u = c->u[best];
        c->u[best] = c->u[--c->nu];
        sim_run_until(c->s, u.at);
        apply_undo(c, &u);
    }
    sim_run_until(c->s, t);
}

static int pick_state(sim *s, sim_state st, uint64_t min_since_us)
{
    uint32_t cand = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->nodes[i].state == st && s->now_us - s->nodes[i].since_us >= min_since_us) cand++;
    if (!cand) return -1;
    uint32_t k = (uint32_t)sim_rng_below(&s->rng, cand);
    for (uint32_t i = 0; i < s->n; i++)
        if (s->nodes[i].state == st && s->now_us - s->nodes[i].since_us >= min_since_us && !k--)
            return (int)i;
    return -1;
}

static uint32_t count_down(const sim *s)
{
    uint32_t d = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->nodes[i].state == NS_CRASHED || s->nodes[i].state == NS_PAUSED) d++;
    return d;
}

static void action(chaos *c)
{
    sim *s = c->s;
    uint32_t r = (uint32_t)sim_rng_below(&s->rng, c->faults ? 100 : 55);
    int j;
    bool room = count_down(s) < s->n / 10 + 1;
    if (r < 20) { /* crash */
        if (room && (j = scen_pick(s, true)) >= 0) {
            sim_crash(s, (uint32_t)j);
            c->actions[0]++;
        }
    } else if (r < 35) { /* restart with the persisted incarnation */
        if ((j = pick_state(s, NS_CRASHED, sec_us(c->min_down))) >= 0) {
            sim_restart(s, (uint32_t)j);
            c->actions[1]++;
        }
    } else if (r < 45) { /* graceful leave, exit 3 s later */
        if ((j = scen_pick(s, true)) >= 0) {
            sim_leave(s, (uint32_t)j);
            add_undo(c, 3, U_STOP, (uint32_t)j);
            c->actions[2]++;
        }
    } else if (r < 55) { /* a new node joins, or one that left comes back */
        if ((j = pick_state(s, NS_IDLE, 0)) >= 0 ||
            (j = pick_state(s, NS_GONE, sec_us(c->min_down))) >= 0) {
            sim_start(s, (uint32_t)j);
            c->actions[3]++;
        }
    } else if (r < 70) { /* pause 1-10 s */
        if (room && (j = scen_pick(s, false)) >= 0) {
            sim_pause(s, (uint32_t)j);
            add_undo(c, 1 + 9 * sim_rng_unit(&s->rng), U_RESUME, (uint32_t)j);
            c->actions[4]++;
        }
    } else if (r < 85) { /* one-way loss on a node for 10-30 s */
        if ((j = scen_pick(s, false)) >= 0 && s->nodes[j].in_loss == 0 &&
            s->nodes[j].out_loss == 0) {
            double p = 0.5 + 0.4 * sim_rng_unit(&s->rng);
            bool in = sim_rng_below(&s->rng, 2);
            if (in)
                s->nodes[j].in_loss = p;
            else
                s->nodes[j].out_loss = p;
            view_trace(s, TR_LOSS, (uint32_t)j, (uint32_t)(p * 100), in, 0);
            add_undo(c, 10 + 20 * sim_rng_unit(&s->rng), U_CLEAR_LOSS, (uint32_t)j);
            c->actions[5]++;
        }
    } else { /* partition for 5-20 s: a half or a minority, symmetric or one-way */
        if (!c->split) {
            double frac = sim_rng_below(&s->rng, 2) ? 0.5 : 0.1;
            for (uint32_t i = 0; i < s->n; i++)
                s->nodes[i].group = sim_rng_chance(&s->rng, frac) ? 1 : 0;
            bool oneway = sim_rng_below(&s->rng, 2);
            sim_partition(s, 1, 0, oneway);
            c->split = true;
            add_undo(c, 5 + 15 * sim_rng_unit(&s->rng), U_HEAL, 0);
            c->actions[6]++;
        }
    }
}

typedef struct chaos_result {
    int ok;
    uint64_t digest;
    double converge_s;
    bool identical;
} chaos_result;

/* One chaos or invariants run. Prints its figure line unless out is NULL. */
static chaos_result chaos_core(const sim_opts *o, bool faults, const char *name, bool print)
{
    uint32_t n = o->nodes, extra = n / 10 + 1;
    double dur = opt_or(o->duration_s, 120);
    sim *s = sim_new(n + extra, o);
    chaos c = {.s = s, .faults = faults, .min_down = opt_or(o->restart_after_s, faults ? 3 : 20)};
    chaos_result res = {0};
    scen_out out;
    out_init(&out, name, o);
    s->strict_no_false_fail = !faults;
    s->crash_bound_us = faults ? 0 : sec_us(30);
    int boot = scen_bootstrap(s, n, 120);
    if (boot == 0) {
        scen_advance(s, 2);
        if (faults) {
            s->net.loss = opt_or(o->loss, 0.05);
            s->net.dup = o->dup > 0 ? o->dup : 0.01;
            s->net.reorder = o->reorder > 0 ? o->reorder : 0.05;
        }
        uint64_t end = s->now_us + sec_us(dur);
        while (s->now_us < end && !s->failed) {
            uint64_t next = s->now_us + 500000 + sim_rng_below(&s->rng, 2500000);
            run_until_with_undo(&c, next < end ? next : end);
            if (s->now_us < end) action(&c);
        }
        /* faults stop */
        for (size_t k = 0; k < c.nu; k++) apply_undo(&c, &c.u[k]);
        c.nu = 0;
        for (uint32_t i = 0; i < s->n; i++) {
            sim_resume(s, i);
            s->nodes[i].in_loss = s->nodes[i].out_loss = 0;
            if (s->nodes[i].left) sim_stop(s, i);
        }
        sim_heal(s);
        for (uint32_t i = 0; i < s->n; i++) s->nodes[i].group = 0;
        s->net.loss = s->net.dup = s->net.reorder = 0;
        if (faults) { /* from now on every crashed node must be failed within 30 s */
            s->crash_bound_us = sec_us(30);
            for (uint32_t i = 0; i < s->n; i++)
                if (s->nodes[i].state == NS_CRASHED) view_on_crash(s, i);
        }
    }
    uint64_t quiet = s->now_us, at = 0;
    int conv = boot == 0 && !s->failed ? scen_wait_converged(s, 120, &at) : -1;
    sim_run_until(s, quiet + sec_us(31)); /* let the crash checks run */
    char why[256] = "";
    int bad = conv == 0 ? view_table_check(s, &res.identical, why, sizeof why) : 1;
    if (bad && why[0]) fprintf(stderr, "hearsay-sim: %s: %s\n", name, why);
    res.converge_s = conv == 0 ? (double)(at - quiet) / 1e6 : -1;
    res.digest = s->view.digest;
    out_add(&out,
            "duration_s=%.0f crashes=%llu restarts=%llu leaves=%llu joins=%llu pauses=%llu "
            "node_loss=%llu partitions=%llu converged=%d converge_s=%.2f tables_identical=%d "
            "digest=%016llx",
            dur, (unsigned long long)c.actions[0], (unsigned long long)c.actions[1],
            (unsigned long long)c.actions[2], (unsigned long long)c.actions[3],
            (unsigned long long)c.actions[4], (unsigned long long)c.actions[5],
            (unsigned long long)c.actions[6], conv == 0, res.converge_s, res.identical ? 1 : 0,
            (unsigned long long)res.digest);
    res.ok = boot == 0 && conv == 0 && !bad && !s->failed;
    if (print) res.ok = out_finish(&out, s, res.ok) == 0;
    sim_free(s);
    return res;
}

int scen_invariants(const sim_opts *o)
{
    return chaos_core(o, false, "invariants", true).ok ? 0 : 1;
}

int scen_chaos(const sim_opts *o)
{
    return chaos_core(o, true, "chaos", true).ok ? 0 : 1;
}

int scen_determinism(const sim_opts *o)
{
    sim_opts q = *o;
    q.hash_packets = true;
    if (q.duration_s < 0) q.duration_s = 60;
    double w0 = wall_seconds();
    chaos_result a = chaos_core(&q, true, "determinism", false);
    chaos_result b = chaos_core(&q, true, "determinism", false);
    int same = a.digest == b.digest;
    printf("scenario=determinism n=%u seed=%llu duration_s=%.0f digest=%016llx "
           "second_digest=%016llx same=%d run_ok=%d wall_s=%.1f ok=%d\n",
           o->nodes, (unsigned long long)o->seed, q.duration_s, (unsigned long long)a.digest,
           (unsigned long long)b.digest, same, a.ok && b.ok, wall_seconds() - w0,
           same && a.ok && b.ok);
    return same && a.ok && b.ok ? 0 : 1;
}
