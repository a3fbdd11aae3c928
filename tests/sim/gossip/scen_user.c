/* scen_user.c: `hearsay-sim event` and `hearsay-sim query`: N whole agents (asim.c, 3 seeds,
 * real secure channels) boot and converge; then trials fire a user event (or a query) from a
 * random agent and time it until every running agent delivered it (the query: until the origin
 * holds every answer; each agent answers as soon as the query is delivered). Between trials
 * some agents exit and start again with the horizon they saved. Invariants: every agent
 * delivers each event at most once (also across its restarts), never one fired before its
 * current run started, and always the payload intact. Goals: event, every trial at 100 %
 * within 1 s without loss, 3 s with loss; query, 99 % of the answers within 2 s. One figure
 * line; exit 0 when every goal and invariant held. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asim.h"
#include "scen.h"
#include "simutil.h"

#define BOOT_MAX_S 90
#define TRIAL_MAX  5000000 /* us a trial may take before it counts as missed */
#define STEP_US    2000    /* answers are given this late at most (a handler's run) */
#define RESTARTS   3       /* agents restarted between trials */

typedef struct trial {
    uint32_t origin;
    uint64_t fired_us, all_us, p99_us;
    uint32_t got; /* agents that delivered it (event) or answers (query) */
    char id[HS_UE_ID_MAX];
    uint64_t op;
} trial;

typedef struct answer {
    uint32_t agent;
    uint64_t ref;
} answer;

typedef struct urun {
    as_sim *s;
    sim_rng rng;
    bool query;
    size_t payload;
    trial *t;
    size_t nt, cur;
    /* got[trial * n + agent]: deliveries, across the agent's restarts */
    uint8_t *got;
    answer *ans;
    size_t nans, capans;
    uint64_t violations, deliveries, old_refused_ok;
    char violation[240];
} urun;

static void violate(urun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violate(urun *r, const char *fmt, ...)
{
    if (!r->violations++) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->violation, sizeof r->violation, fmt, ap);
        va_end(ap);
    }
}

static void fill_payload(uint8_t *p, size_t n, size_t trial_no)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(trial_no * 131 + i * 7);
}

static void on_user_event(as_sim *s, uint32_t i, const hs_agent_event *e)
{
    urun *r = s->user_ctx;
    if (!r || r->cur >= r->nt) return;
    r->deliveries++;
    trial *cur = &r->t[r->cur];
    if (!cur->id[0] && i == cur->origin) /* the origin runs its own first, in the same call */
        snprintf(cur->id, sizeof cur->id, "%s", e->user_id);
    size_t k = r->cur + 1;
    while (k-- > 0 && strcmp(r->t[k].id, e->user_id) != 0) {
    }
    if (k == SIZE_MAX) {
        violate(r, "n%u delivered %s, which no trial fired", i, e->user_id);
        return;
    }
    trial *t = &r->t[k]; /* an earlier trial's may still arrive late: once, and not old */
    if (t->fired_us < s->ag[i].started_us)
        violate(r, "n%u delivered %s fired before its run started", i, e->user_id);
    if (r->got[k * s->n + i]++) violate(r, "n%u delivered %s twice", i, e->user_id);
    static uint8_t want[HS_UE_PAYLOAD_MAX];
    fill_payload(want, r->payload, k);
    if (e->payload_len != r->payload || memcmp(e->payload, want, r->payload) != 0)
        violate(r, "n%u got %s with a damaged payload (%zu bytes)", i, e->user_id, e->payload_len);
    if (e->kind == HS_EVK_QUERY) {
        r->ans = sim_grow(r->ans, r->nans, &r->capans, sizeof *r->ans, 256);
        r->ans[r->nans++] = (answer){i, e->query_ref};
        return;
    }
    if (k == r->cur) t->got++;
}

static void on_reply(as_sim *s, uint32_t i, const hs_agent_reply *rep)
{
    urun *r = s->user_ctx;
    if (!r || r->cur >= r->nt || !rep->response) return;
    trial *t = &r->t[r->cur];
    if (i != t->origin || rep->op != t->op) return;
    t->got++;
}

static void give_answers(urun *r)
{
    as_sim *s = r->s;
    for (size_t k = 0; k < r->nans; k++) {
        answer *a = &r->ans[k];
        if (!as_alive(s, (int)a->agent)) continue;
        char text[32];
        int n = snprintf(text, sizeof text, "n%u ok", a->agent);
        hs_agent_query_respond(s->ag[a->agent].a, as_now_ms(s), a->ref, (const uint8_t *)text,
                               (size_t)n, false);
        as_after_call(s, a->agent);
    }
    r->nans = 0;
}

static uint32_t running(const as_sim *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n; i++) n += s->ag[i].state == AS_RUNNING;
    return n;
}

static bool converged(const as_sim *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->ag[i].state != AS_RUNNING) continue;
        size_t counts[4];
        hs_node_status_counts(hs_agent_node(s->ag[i].a), counts);
        if (counts[HS_ALIVE] != running(s)) return false;
    }
    return true;
}

static int boot(as_sim *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        uint64_t at = i < AS_SEEDS ? 0 : 100000 + (uint64_t)(i - AS_SEEDS) * 4000000 / s->n;
        as_run_until(s, at);
        as_start(s, i);
    }
    while (!s->failed && s->now_us < (uint64_t)BOOT_MAX_S * 1000000) {
        as_run_until(s, s->now_us + 200000);
        if (converged(s)) return 0;
    }
    return -1;
}

/* Runs one trial until done (or TRIAL_MAX); the figures go into t. */
static void run_trial(urun *r, trial *t, uint32_t need)
{
    as_sim *s = r->s;
    uint32_t p99 = need - need / 100;
    while (!s->failed && s->now_us - t->fired_us < TRIAL_MAX) {
        as_run_until(s, s->now_us + STEP_US);
        give_answers(r);
        if (!t->p99_us && t->got >= p99) t->p99_us = s->now_us;
        if (t->got >= need) {
            t->all_us = s->now_us;
            return;
        }
    }
}

static int pick_running(urun *r)
{
    for (int tries = 0; tries < 10000; tries++) {
        uint32_t i = (uint32_t)sim_rng_below(&r->rng, r->s->n);
        if (r->s->ag[i].state == AS_RUNNING) return (int)i;
    }
    return -1;
}

static int run_user(const sim_opts *o, bool query)
{
    as_opts ao = {.n = o->nodes,
                  .seed = o->seed,
                  .loss = opt_or(o->loss, 0),
                  .lat_us = (uint32_t)(o->lat_ms * 1000),
                  .jitter_us = (uint32_t)(o->jitter_ms * 1000),
                  .trace = o->trace};
    urun r = {0};
    r.query = query;
    r.payload = o->duration_s > 0 ? (size_t)o->duration_s : 64; /* --duration: payload bytes */
    if (r.payload > HS_UE_PAYLOAD_MAX) r.payload = HS_UE_PAYLOAD_MAX;
    r.nt = o->trials ? o->trials : 5;
    r.t = sim_xcalloc(r.nt, sizeof *r.t);
    sim_rng_seed(&r.rng, sim_derive(o->seed, 77));
    scen_out out;
    out_init(&out, query ? "query" : "event", o);
    out_add(&out, "loss=%.2f payload=%zu", ao.loss, r.payload);
    as_sim *s = as_new(&ao);
    r.s = s;
    r.got = sim_xcalloc(r.nt * s->n, 1);
    s->on_user_event = on_user_event;
    s->on_reply = on_reply;
    s->user_ctx = &r;
    if (boot(s) != 0) {
        out_add(&out, "error=boot_not_converged boot_s=%.1f ok=0", (double)s->now_us / 1e6);
        printf("%s\n", out.buf);
        as_free(s);
        free(r.t);
        free(r.got);
        return 1;
    }
    double boot_s = (double)s->now_us / 1e6;
    as_run_until(s, s->now_us + 2000000);
    static uint8_t payload[HS_UE_PAYLOAD_MAX];
    uint64_t bytes0 = 0, restarted = 0;
    for (uint32_t i = 0; i < s->n; i++) bytes0 += hs_agent_ue_stats(s->ag[i].a)->bytes_out;
    uint64_t t_load0 = s->now_us;
    for (r.cur = 0; r.cur < r.nt && !s->failed; r.cur++) {
        trial *t = &r.t[r.cur];
        int origin = pick_running(&r);
        if (origin < 0) break;
        t->origin = (uint32_t)origin;
        fill_payload(payload, r.payload, r.cur);
        int err = 0;
        hs_agent *a = s->ag[origin].a;
        t->fired_us = s->now_us;
        uint32_t need = running(s);
        if (query) {
            hs_ue_query_spec q = {"sim", payload, r.payload, NULL, 0, NULL, 0, 10000};
            t->op = hs_agent_query(a, as_now_ms(s), &q, &err);
        } else {
            t->op = hs_agent_fire(a, as_now_ms(s), "sim", payload, r.payload, false, 0, &err);
        }
        as_after_call(s, (uint32_t)origin); /* its own delivery names the trial's id */
        if (!t->op) {
            violate(&r, "trial %zu: could not start (%s)", r.cur, hs_ue_error_text(err));
            break;
        }
        run_trial(&r, t, need);
        /* restart a few agents that ran it: they must not run it again */
        for (int k = 0; k < RESTARTS && r.cur + 1 < r.nt; k++) {
            int v = pick_running(&r);
            if (v < AS_SEEDS || (uint32_t)v == t->origin) continue;
            as_exit(s, (uint32_t)v);
            as_run_until(s, s->now_us + 50000);
            as_restart(s, (uint32_t)v);
            restarted++;
        }
        as_run_until(s, s->now_us + 1000000);
        give_answers(&r);
    }
    uint64_t load_us = s->now_us - t_load0, bytes = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->ag[i].a) bytes += hs_agent_ue_stats(s->ag[i].a)->bytes_out;
    /* figures */
    uint64_t *all = sim_xcalloc(r.nt, sizeof *all), *p99 = sim_xcalloc(r.nt, sizeof *p99);
    size_t reached = 0, within = 0, within99 = 0;
    double goal_s = query ? 2.0 : ao.loss > 0 ? 3.0 : 1.0;
    uint64_t worst = 0;
    for (size_t k = 0; k < r.nt; k++) {
        trial *t = &r.t[k];
        uint64_t a = t->all_us ? t->all_us - t->fired_us : UINT64_MAX;
        uint64_t b = t->p99_us ? t->p99_us - t->fired_us : UINT64_MAX;
        all[k] = a;
        p99[k] = b;
        if (t->all_us) reached++;
        if (a <= sec_us(goal_s)) within++;
        if (b <= sec_us(goal_s)) within99++;
        if (a > worst) worst = a;
    }
    out_add(&out, "boot_s=%.1f trials=%zu reached_all=%zu", boot_s, r.nt, reached);
    out_add(&out, "all_p50_ms=%.1f all_max_ms=%.1f p99_p50_ms=%.1f",
            (double)pct(all, r.nt, 50) / 1e3, worst == UINT64_MAX ? -1.0 : (double)worst / 1e3,
            (double)pct(p99, r.nt, 50) / 1e3);
    out_add(&out, "goal_s=%.1f within_goal=%zu within_goal_99pct=%zu restarts=%llu", goal_s, within,
            within99, (unsigned long long)restarted);
    out_add(&out, "deliveries=%llu violations=%llu user_bytes_per_node_s=%.0f",
            (unsigned long long)r.deliveries, (unsigned long long)r.violations,
            load_us ? (double)(bytes - bytes0) / s->n / ((double)load_us / 1e6) : 0.0);
    if (r.violations) out_add(&out, "first_violation=\"%s\"", r.violation);
    out_add(&out, "dgrams=%llu dgrams_lost=%llu frames=%llu conns=%llu notices_err=%llu",
            (unsigned long long)s->dgrams, (unsigned long long)s->dgrams_lost,
            (unsigned long long)s->frames, (unsigned long long)s->conns_opened,
            (unsigned long long)s->notices_err);
    bool goals = query ? within99 == r.nt : within == r.nt;
    bool ok = !r.violations && !s->failed && (goals || o->invariants_only);
    out_add(&out, "sim_s=%.1f invariants=%s wall_s=%.1f ok=%d", (double)s->now_us / 1e6,
            s->failed || r.violations ? "FAILED" : "ok", wall_seconds() - out.wall0, ok);
    printf("%s\n", out.buf);
    fflush(stdout);
    if (s->failed)
        fprintf(stderr, "hearsay-sim: seed=%llu: %s\n", (unsigned long long)s->seed, s->fail_msg);
    free(all);
    free(p99);
    free(r.t);
    free(r.got);
    free(r.ans);
    as_free(s);
    return ok ? 0 : 1;
}

int scen_event(const sim_opts *o)
{
    return run_user(o, false);
}

int scen_query(const sim_opts *o)
{
    return run_user(o, true);
}
