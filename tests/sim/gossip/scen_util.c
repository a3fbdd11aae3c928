/* scen_util.c: helpers shared by the scenarios: output line, bootstrap, waits, random
 * picks, percentiles and the common figures (memory per member, traffic, invariants). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scen.h"
#include "view.h"

double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double opt_or(double v, double dflt)
{
    return v >= 0 ? v : dflt;
}

void out_init(scen_out *out, const char *scenario, const sim_opts *o)
{
    out->len = 0;
    out->buf[0] = 0;
    out->wall0 = wall_seconds();
    out_add(out, "scenario=%s n=%u seed=%llu", scenario, o->nodes, (unsigned long long)o->seed);
}

void out_add(scen_out *out, const char *fmt, ...)
{
    if (out->len >= sizeof out->buf - 1) return;
    if (out->len) out->buf[out->len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out->buf + out->len, sizeof out->buf - out->len, fmt, ap);
    va_end(ap);
    if (k > 0) out->len += (size_t)k;
    if (out->len > sizeof out->buf - 1) out->len = sizeof out->buf - 1;
}

uint64_t sum_bytes_out(const sim *s)
{
    uint64_t b = 0;
    for (uint32_t i = 0; i < s->n; i++) b += s->nodes[i].bytes_out;
    return b;
}

int out_finish(scen_out *out, sim *s, int ok)
{
    /* memory: the member table of the node with the largest table */
    size_t best = 0, bytes = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!s->nodes[i].core) continue;
        size_t c = hs_node_member_count(s->nodes[i].core);
        if (c > best) {
            best = c;
            bytes = hs_node_table_bytes(s->nodes[i].core);
        }
    }
    out_add(out, "members=%zu table_bytes=%zu bytes_per_member=%.1f", best, bytes,
            best ? (double)bytes / (double)best : 0.0);
    out_add(out, "false_fails=%llu false_suspects=%llu majority_suspects=%llu",
            (unsigned long long)s->view.false_fails, (unsigned long long)s->view.false_suspects,
            (unsigned long long)s->view.majority_suspects);
    out_add(out, "pkts=%llu dropped=%llu unroutable=%llu events=%llu timer_stuck=%llu",
            (unsigned long long)s->net.sent, (unsigned long long)s->net.dropped,
            (unsigned long long)s->net.unroutable, (unsigned long long)s->view.events,
            (unsigned long long)s->timer_stuck);
    if (s->view.status_mismatch || s->view.unknown_subject)
        out_add(out, "event_status_mismatch=%llu unknown_subjects=%llu",
                (unsigned long long)s->view.status_mismatch,
                (unsigned long long)s->view.unknown_subject);
    out_add(out, "sim_s=%.1f invariants=%s", (double)s->now_us / 1e6, s->failed ? "FAILED" : "ok");
    if (s->failed) ok = 0;
    if (s->boot_wall_s >= 0)
        out_add(out, "boot_sim_s=%.1f boot_wall_s=%.1f", (double)s->boot_sim_us / 1e6,
                s->boot_wall_s);
    out_add(out, "wall_s=%.1f ok=%d", wall_seconds() - out->wall0, ok ? 1 : 0);
    printf("%s\n", out->buf);
    fflush(stdout);
    if (s->failed)
        fprintf(stderr, "hearsay-sim: seed=%llu: %s\n", (unsigned long long)s->seed, s->fail_msg);
    if (s->invariants_only) return s->failed ? 1 : 0;
    return ok ? 0 : 1;
}

void scen_advance(sim *s, double secs)
{
    sim_run_until(s, s->now_us + sec_us(secs));
}

int scen_wait_converged(sim *s, double timeout_s, uint64_t *at_us)
{
    uint64_t end = s->now_us + sec_us(timeout_s);
    for (;;) {
        if (view_converged(s)) {
            if (at_us) *at_us = s->now_us;
            return 0;
        }
        if (s->failed) return -1;
        if (s->now_us >= end) {
            char why[512];
            view_explain(s, why, sizeof why);
            fprintf(stderr, "hearsay-sim: not converged after %.0f s (seed=%llu): %s\n", timeout_s,
                    (unsigned long long)s->seed, why);
            return -1;
        }
        sim_run_until(s, s->now_us + 100000);
    }
}

int scen_wait_watch(sim *s, int w, double timeout_s)
{
    uint64_t end = s->now_us + sec_us(timeout_s);
    while (view_watch_get(s, w)->all_us == SIM_NO_TIME) {
        if (s->failed || s->now_us >= end) return -1;
        uint64_t step = s->now_us + 10000; /* 10 ms: the watch records its own time */
        sim_run_until(s, step < end ? step : end);
    }
    return 0;
}

int scen_bootstrap(sim *s, uint32_t count, double timeout_s)
{
    double spread = count * 0.005;
    if (spread > 10) spread = 10;
    uint64_t t0 = s->now_us;
    double w0 = wall_seconds();
    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = t0 + (uint64_t)((double)i / (double)count * spread * 1e6);
        sim_run_until(s, at);
        sim_start(s, i);
    }
    int rc = scen_wait_converged(s, timeout_s, NULL);
    s->boot_wall_s = wall_seconds() - w0;
    s->boot_sim_us = s->now_us - t0;
    return rc;
}

bool scen_boot(sim *s, scen_out *out, uint32_t count, int *rc)
{
    if (scen_bootstrap(s, count, 120) == 0) {
        scen_advance(s, 5);
        return true;
    }
    out_add(out, "error=bootstrap_not_converged");
    *rc = out_finish(out, s, 0);
    sim_free(s);
    return false;
}

int scen_pick(sim *s, bool exclude_seeds)
{
    for (int tries = 0; tries < 100000; tries++) {
        uint32_t i = (uint32_t)sim_rng_below(&s->rng, s->n);
        if (exclude_seeds && i < s->nseeds) continue;
        if (s->nodes[i].state == NS_RUNNING && !s->nodes[i].left) return (int)i;
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t pct(uint64_t *v, size_t n, double p)
{
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}
