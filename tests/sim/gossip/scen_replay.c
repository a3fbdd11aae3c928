/* scen_replay.c: `hearsay-sim replay`: N whole agents (3 seeds) behind real secure channels,
 * under an attacker that records every datagram and frame and replays them (asim_attack.c),
 * while the cluster runs configuration writes (through seeds and members), key rotations,
 * leaves and 3 s reaps, with a Meet flood from 1,000 forged sources at the Raft leader.
 * Invariants at every step (asim_check.c); goals: >= 95 % of writes answered committed
 * within 2 s, at least one key removal committed, and after a quiet phase one configuration
 * and ring everywhere, no departed member alive in any table. One figure line; exit 0 when
 * everything held. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asim.h"
#include "asim_attack.h"
#include "asim_check.h"
#include "scen.h"
#include "simutil.h"

#define BOOT_MAX_S   30
#define QUIET_S      10
#define WRITES_PS    10.0 /* configuration writes per second */
#define SEED_SHARE   0.3  /* of them through a seed */
#define FLOOD_PS     10000
#define ROTATE_WAIT  4000 /* ms each rotation step may wait for the members */
#define ROTATE_TRIES 4    /* a failed rotation is run again (same key) 1 s later */

typedef struct run {
    as_sim *s;
    sim_rng rng;
    uint64_t load_start, load_end;
    uint64_t next_write, next_view;
    uint64_t *rot_at;
    size_t nrot, rot_next;
    uint64_t *leave_at;
    size_t nleave, leave_next;
    struct {
        uint32_t node;
        uint64_t at;
    } exits[64];
    size_t nexits;
    uint32_t leaves_done, writes_unstarted, rotations_unstarted;
} run;

static uint64_t exp_gap_us(sim_rng *r, double per_s)
{
    return (uint64_t)(-log(1.0 - sim_rng_unit(r)) / per_s * 1e6) + 1;
}

/* A running agent that is not leaving: a seed with probability seed_p (when possible). */
static int pick_agent(run *r, double seed_p, bool idle_member)
{
    as_sim *s = r->s;
    bool want_seed = !idle_member && sim_rng_unit(&r->rng) < seed_p;
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t i = want_seed ? (uint32_t)sim_rng_below(&r->rng, AS_SEEDS)
                               : (uint32_t)sim_rng_below(&r->rng, s->n);
        if (s->ag[i].state != AS_RUNNING) continue;
        if (idle_member && (i < AS_SEEDS || s->ag[i].nops)) continue;
        return (int)i;
    }
    return -1;
}

static bool booted(const as_sim *s)
{
    if (as_leader(s) < 0) return false;
    uint64_t v = truth_config(s->truth)->version;
    for (uint32_t i = 0; i < s->n; i++) {
        const hs_cluster_config *c = hs_agent_config(s->ag[i].a);
        if (c->version != v || c->n_keys < 1 || c->n_seeds != AS_SEEDS) return false;
        size_t counts[4];
        hs_node_status_counts(hs_agent_node(s->ag[i].a), counts);
        if (counts[HS_ALIVE] != s->n) return false;
    }
    return true;
}

static int boot(run *r)
{
    as_sim *s = r->s;
    for (uint32_t i = 0; i < s->n; i++) {
        uint64_t at = i < AS_SEEDS ? 0 : 100000 + (uint64_t)(i - AS_SEEDS) * 2000000 / s->n;
        as_run_until(s, at);
        as_start(s, i);
    }
    atk_start(s, 2.0 * s->n, 10, 10); /* the attacker is there from the start */
    while (!s->failed && s->now_us < (uint64_t)BOOT_MAX_S * 1000000) {
        as_run_until(s, s->now_us + 100000);
        if (booted(s)) return 0;
    }
    return -1;
}

static void new_key(const as_sim *s, size_t r, uint8_t key[HS_ENV_KEY_BYTES])
{
    for (int k = 0; k < HS_ENV_KEY_BYTES / 8; k++) {
        uint64_t v = sim_derive(s->seed, 7100 + 8 * (uint64_t)r + (uint64_t)k);
        memcpy(key + 8 * k, &v, 8);
    }
}

static void start_write(run *r)
{
    as_sim *s = r->s;
    int i = pick_agent(r, SEED_SHARE, false);
    if (i < 0) return;
    s->writes = sim_grow(s->writes, s->nwrites, &s->capwrites, sizeof *s->writes, 256);
    size_t w = s->nwrites++;
    uint32_t k = (uint32_t)sim_rng_below(&r->rng, AS_KEYS);
    s->writes[w] = (as_write){(uint32_t)i, k, s->now_us, UINT64_MAX, UINT64_MAX, -1};
    char key[8], val[24];
    snprintf(key, sizeof key, "k%u", k);
    snprintf(val, sizeof val, "w%zu", w);
    uint64_t op = hs_agent_config_op(s->ag[i].a, as_now_ms(s), HS_CFGC_SET, key, val, NULL);
    if (op)
        as_op_add(s, (uint32_t)i, op, HS_AGENT_DONE_CONFIG, (uint32_t)w);
    else
        r->writes_unstarted++;
    as_after_call(s, (uint32_t)i);
}

/* Runs rotation k (again, after a failure: the steps done stay done) from a random agent. */
static void run_rotation(run *r, size_t k)
{
    as_sim *s = r->s;
    int i = pick_agent(r, SEED_SHARE, false);
    if (i < 0) return;
    as_rotation *ro = &s->rots[k];
    ro->agent = (uint32_t)i;
    ro->attempts++;
    ro->end_us = UINT64_MAX;
    as_trace(s, "rotation %zu (attempt %u) from n%d", k, ro->attempts, i);
    uint64_t op = hs_agent_keys_rotate(s->ag[i].a, as_now_ms(s), ro->key, ROTATE_WAIT);
    if (op) {
        as_op_add(s, (uint32_t)i, op, HS_AGENT_DONE_ROTATE, (uint32_t)k);
    } else {
        r->rotations_unstarted++;
        ro->end_us = s->now_us;
        snprintf(ro->why, sizeof ro->why, "could not start");
    }
    as_after_call(s, (uint32_t)i);
}

static void start_rotation(run *r)
{
    as_sim *s = r->s;
    s->rots = sim_grow(s->rots, s->nrots, &s->caprots, sizeof *s->rots, 8);
    size_t k = s->nrots++;
    as_rotation *ro = &s->rots[k];
    memset(ro, 0, sizeof *ro);
    ro->start_us = s->now_us;
    new_key(s, k, ro->key);
    run_rotation(r, k);
}

/* Is a rotation running, or failed and due to run again? */
static bool rotation_busy(const run *r)
{
    for (size_t x = 0; x < r->s->nrots; x++) {
        const as_rotation *ro = &r->s->rots[x];
        if (ro->end_us == UINT64_MAX || (!ro->ok && ro->attempts < ROTATE_TRIES)) return true;
    }
    return false;
}

/* When the next failed rotation is due to run again (UINT64_MAX: none); *k: which. */
static uint64_t rotation_retry(const run *r, size_t *k)
{
    uint64_t best = UINT64_MAX;
    for (size_t x = 0; x < r->s->nrots; x++) {
        const as_rotation *ro = &r->s->rots[x];
        if (ro->ok || ro->end_us == UINT64_MAX || ro->attempts >= ROTATE_TRIES) continue;
        if (ro->end_us + 1000000 < best) {
            best = ro->end_us + 1000000;
            *k = x;
        }
    }
    return best;
}

static void start_leave(run *r)
{
    as_sim *s = r->s;
    int i = pick_agent(r, 0, true);
    if (i < 0 || r->nexits == sizeof r->exits / sizeof r->exits[0]) return;
    as_leave(s, (uint32_t)i);
    r->exits[r->nexits].node = (uint32_t)i;
    r->exits[r->nexits++].at = s->now_us + 1000000; /* flushes for 1 s, then exits */
    r->leaves_done++;
}

/* Runs the workload until `end`; writes only before load_end. */
static void drive(run *r, uint64_t end, bool load)
{
    as_sim *s = r->s;
    while (!s->failed && s->now_us < end) {
        uint64_t t = end;
        if (load && r->next_write < t) t = r->next_write;
        if (load && r->rot_next < r->nrot && r->rot_at[r->rot_next] < t) t = r->rot_at[r->rot_next];
        if (load && r->leave_next < r->nleave && r->leave_at[r->leave_next] < t)
            t = r->leave_at[r->leave_next];
        for (size_t k = 0; k < r->nexits; k++)
            if (r->exits[k].at < t) t = r->exits[k].at;
        if (r->next_view < t) t = r->next_view;
        size_t retry = 0;
        uint64_t retry_at = rotation_retry(r, &retry);
        if (retry_at < t) t = retry_at;
        as_run_until(s, t);
        if (s->failed) return;
        if (s->now_us >= r->next_view) {
            check_views(s);
            r->next_view += 1000000;
        }
        for (size_t k = 0; k < r->nexits;) {
            if (r->exits[k].at <= s->now_us) {
                as_exit(s, r->exits[k].node);
                r->exits[k] = r->exits[--r->nexits];
            } else {
                k++;
            }
        }
        if (s->now_us >= retry_at) run_rotation(r, retry);
        if (!load) continue;
        if (s->now_us >= r->next_write) {
            start_write(r);
            r->next_write = s->now_us + exp_gap_us(&r->rng, WRITES_PS);
        }
        if (r->rot_next < r->nrot && s->now_us >= r->rot_at[r->rot_next]) {
            if (rotation_busy(r)) { /* one at a time, as an operator runs them */
                r->rot_at[r->rot_next] = s->now_us + 500000;
            } else {
                r->rot_next++;
                start_rotation(r);
            }
        }
        if (r->leave_next < r->nleave && s->now_us >= r->leave_at[r->leave_next]) {
            r->leave_next++;
            start_leave(r);
        }
    }
}

/* ---- figures ---- */

static void add_verdicts(scen_out *out, const char *name, const uint64_t *v, uint64_t sent)
{
    out_add(out,
            "%s=%llu:deliver=%llu,control=%llu,unproven=%llu,replay=%llu,bad_cookie=%llu,"
            "envelope=%llu,malformed=%llu",
            name, (unsigned long long)sent, (unsigned long long)v[HS_CH_DELIVER],
            (unsigned long long)v[HS_CH_CONTROL], (unsigned long long)v[HS_CH_UNPROVEN],
            (unsigned long long)v[HS_CH_REPLAY], (unsigned long long)v[HS_CH_BAD_COOKIE],
            (unsigned long long)v[HS_CH_ENVELOPE], (unsigned long long)v[HS_CH_MALFORMED]);
}

typedef struct write_figs {
    size_t total, answered, ok, within;
    uint64_t p50, p99, c50, c99;
} write_figs;

static write_figs writes_of(const as_sim *s, uint64_t from_us)
{
    write_figs f = {0};
    uint64_t *lat = sim_xcalloc(s->nwrites, sizeof *lat), *com = sim_xcalloc(s->nwrites, 8);
    size_t nc = 0;
    for (size_t w = 0; w < s->nwrites; w++) {
        const as_write *x = &s->writes[w];
        if (x->start_us < from_us) continue;
        f.total++;
        if (x->result >= 0) f.answered++;
        if (x->commit_us != UINT64_MAX) com[nc++] = x->commit_us - x->start_us;
        if (x->result != HS_CFGC_OK) continue;
        uint64_t l = x->answer_us - x->start_us;
        lat[f.ok++] = l;
        if (l <= 2000000) f.within++;
    }
    f.p50 = pct(lat, f.ok, 50);
    f.p99 = pct(lat, f.ok, 99);
    f.c50 = pct(com, nc, 50);
    f.c99 = pct(com, nc, 99);
    free(lat);
    free(com);
    return f;
}

/* After the quiet phase: one configuration and one ring everywhere, nobody departed alive. */
static int final_state(as_sim *s, char *why, size_t len)
{
    const hs_cluster_config *t = truth_config(s->truth);
    hs_kr_ring want, have;
    hs_kr_ring_of_config(t, &want);
    for (uint32_t i = 0; i < s->n; i++) {
        if (!as_alive(s, (int)i)) continue;
        const hs_cluster_config *c = hs_agent_config(s->ag[i].a);
        hs_kr_ring_of_env(&s->ag[i].env, &have);
        if (c->version != t->version) {
            snprintf(why, len, "n%u_config_version_%llu_of_%llu", i, (unsigned long long)c->version,
                     (unsigned long long)t->version);
            return -1;
        }
        if (!hs_kr_ring_equal(&have, &want)) {
            snprintf(why, len, "n%u_ring_differs", i);
            return -1;
        }
        for (uint32_t d = 0; d < s->n; d++) {
            hs_member_info mi;
            if (!s->ag[d].left_us || !hs_node_find(hs_agent_node(s->ag[i].a), s->ag[d].name, &mi))
                continue;
            if (mi.status == HS_ALIVE || mi.status == HS_SUSPECT) {
                snprintf(why, len, "n%u_shows_departed_n%u_%s", i, d, hs_status_name(mi.status));
                return -1;
            }
        }
    }
    return 0;
}

static int finish(scen_out *out, run *r, const sim_opts *o, bool booted_ok)
{
    as_sim *s = r->s;
    write_figs f = writes_of(s, r->load_start);
    double pct_ok = f.total ? 100.0 * (double)f.within / (double)f.total : 0;
    size_t rot_ok = 0;
    for (size_t k = 0; k < s->nrots; k++) rot_ok += s->rots[k].ok;
    char why[128] = "";
    int fin = booted_ok && !s->failed ? final_state(s, why, sizeof why) : -1;
    size_t removed = truth_removed_count(s->truth);
    out_add(out,
            "load_s=%.0f writes=%zu answered=%zu committed_ok=%zu within_2s=%zu "
            "within_2s_pct=%.1f answer_p50_ms=%.1f answer_p99_ms=%.1f commit_p50_ms=%.1f "
            "commit_p99_ms=%.1f duplicates_answered=%llu",
            (double)(r->load_end - r->load_start) / 1e6, f.total, f.answered, f.ok, f.within,
            pct_ok, (double)f.p50 / 1e3, (double)f.p99 / 1e3, (double)f.c50 / 1e3,
            (double)f.c99 / 1e3, (unsigned long long)truth_duplicates(s->truth));
    out_add(out,
            "rotations=%zu rotations_ok=%zu keys_removed=%zu leaves=%u log_entries=%llu "
            "config_version=%llu",
            s->nrots, rot_ok, removed, r->leaves_done,
            (unsigned long long)truth_commit_index(s->truth),
            (unsigned long long)truth_config(s->truth)->version);
    const as_atk_stats *a = atk_stats(s->atk);
    out_add(out, "recorded_dgrams=%llu recorded_frames=%llu",
            (unsigned long long)a->recorded_dgrams, (unsigned long long)a->recorded_frames);
    add_verdicts(out, "dgram_replays", a->verdict[AS_O_DGRAM_REPLAY], a->sent[AS_O_DGRAM_REPLAY]);
    add_verdicts(out, "meet_flood", a->verdict[AS_O_MEET_FLOOD], a->sent[AS_O_MEET_FLOOD]);
    add_verdicts(out, "stream_new", a->verdict[AS_O_STREAM_NEW], a->sent[AS_O_STREAM_NEW]);
    add_verdicts(out, "stream_inject", a->verdict[AS_O_STREAM_INJECT], a->sent[AS_O_STREAM_INJECT]);
    const as_check_stats *c = checks_stats(s->chk);
    uint64_t unknown_key = 0, auth_failed = 0;
    for (int k = 1; k < AS_O_COUNT; k++) {
        unknown_key += a->env[k][HS_ENV_UNKNOWN_KEY];
        auth_failed += a->env[k][HS_ENV_AUTH_FAILED];
    }
    out_add(out,
            "replays_delivered_first=%llu replays_delivered_redirected=%llu "
            "envelope_unknown_key=%llu envelope_auth_failed=%llu "
            "control_under_removed_key=%llu old_key_lag_deliveries=%llu",
            (unsigned long long)c->replay_delivered_first,
            (unsigned long long)c->replay_delivered_redirect, (unsigned long long)unknown_key,
            (unsigned long long)auth_failed, (unsigned long long)c->control_removed,
            (unsigned long long)c->lag_old_key);
    out_add(out,
            "checks=%llu:deliveries=%llu,keys=%llu,config=%llu,views=%llu,replies=%llu,"
            "storage=%llu,log=%llu",
            (unsigned long long)checks_total(s->chk), (unsigned long long)c->deliveries,
            (unsigned long long)c->key_checks, (unsigned long long)c->config_checks,
            (unsigned long long)c->view_checks, (unsigned long long)c->reply_checks,
            (unsigned long long)c->storage_checks, (unsigned long long)c->log_checks);
    out_add(out,
            "dgrams=%llu dgrams_lost=%llu frames=%llu conns=%llu conns_killed=%llu "
            "stream_payloads_lost=%llu cluster_refused_frames=%llu notices_err=%llu",
            (unsigned long long)s->dgrams, (unsigned long long)s->dgrams_lost,
            (unsigned long long)s->frames, (unsigned long long)s->conns_opened,
            (unsigned long long)s->conns_killed, (unsigned long long)s->stream_payloads_lost,
            (unsigned long long)(s->verdicts[1][HS_CH_REPLAY] + s->verdicts[1][HS_CH_MALFORMED] +
                                 s->verdicts[1][HS_CH_BAD_COOKIE]),
            (unsigned long long)s->notices_err);
    bool goals = booted_ok && pct_ok >= 95.0 && removed >= 1 && f.answered == f.total && fin == 0;
    if (!booted_ok) out_add(out, "error=not_booted");
    if (fin != 0 && why[0]) out_add(out, "error=%s", why);
    out_add(out, "digest=%016llx sim_s=%.1f invariants=%s wall_s=%.1f ok=%d",
            (unsigned long long)s->digest, (double)s->now_us / 1e6, s->failed ? "FAILED" : "ok",
            wall_seconds() - out->wall0, goals && !s->failed);
    printf("%s\n", out->buf);
    fflush(stdout);
    if (s->failed)
        fprintf(stderr, "hearsay-sim: seed=%llu: %s\n", (unsigned long long)s->seed, s->fail_msg);
    if (o->invariants_only) return s->failed ? 1 : 0;
    return goals && !s->failed ? 0 : 1;
}

int scen_replay(const sim_opts *o)
{
    if (o->nodes < AS_SEEDS + 4) {
        fprintf(stderr, "hearsay-sim replay: needs --nodes >= %d\n", AS_SEEDS + 4);
        return 2;
    }
    as_opts ao = {.n = o->nodes,
                  .seed = o->seed,
                  .loss = opt_or(o->loss, 0.01),
                  .lat_us = (uint32_t)(o->lat_ms * 1000.0 + 0.5),
                  .jitter_us = (uint32_t)(o->jitter_ms * 1000.0 + 0.5),
                  .reap_ms = 3000,
                  .trace = o->trace};
    double load_s = opt_or(o->duration_s, 20);
    scen_out out;
    out_init(&out, "replay", o);
    run r;
    memset(&r, 0, sizeof r);
    r.s = as_new(&ao);
    sim_rng_seed(&r.rng, sim_derive(o->seed, 2));
    as_sim *s = r.s;
    bool ok_boot = boot(&r) == 0;
    out_add(&out, "boot_s=%.1f", (double)s->now_us / 1e6);
    r.load_start = s->now_us;
    r.load_end = r.load_start + sec_us(load_s);
    if (ok_boot) {
        r.nrot = load_s >= 20 ? (size_t)(load_s / 10) : 2;
        r.nleave = o->nodes / 10 > 3 ? o->nodes / 10 : 3;
        r.rot_at = sim_xcalloc(r.nrot, sizeof *r.rot_at);
        r.leave_at = sim_xcalloc(r.nleave, sizeof *r.leave_at);
        for (size_t k = 0; k < r.nrot; k++)
            r.rot_at[k] =
                r.load_start + (uint64_t)(load_s * 1e6 * (double)(k + 1) / (double)(r.nrot + 1));
        for (size_t k = 0; k < r.nleave; k++)
            r.leave_at[k] =
                r.load_start + (uint64_t)(load_s * 1e6 * ((double)k + 0.5) / (double)r.nleave);
        r.next_write = r.load_start;
        r.next_view = r.load_start;
        double flood_s = load_s / 4 < 30 ? load_s / 4 : 30;
        uint64_t flood_at = r.load_start + sec_us(load_s / 3);
        drive(&r, flood_at, true);
        int l = as_leader(s);
        if (!s->failed) {
            uint32_t target = l >= 0 ? (uint32_t)l : 0;
            atk_flood(s, target, s->now_us, s->now_us + sec_us(flood_s), FLOOD_PS);
            out_add(&out, "flood_target=n%u flood_s=%.0f flood_per_s=%d", target, flood_s,
                    FLOOD_PS);
        }
        uint64_t term0 = l >= 0 ? hs_raft_term(hs_agent_raft(s->ag[l].a)) : 0;
        drive(&r, s->now_us + sec_us(flood_s), true);
        l = as_leader(s);
        uint64_t term1 = l >= 0 ? hs_raft_term(hs_agent_raft(s->ag[l].a)) : 0;
        out_add(&out, "flood_term_changes=%llu", (unsigned long long)(term1 - term0));
        drive(&r, r.load_end, true);
        drive(&r, r.load_end + sec_us(QUIET_S), false);
        if (!s->failed) check_views(s);
    }
    int rc = finish(&out, &r, o, ok_boot);
    free(r.rot_at);
    free(r.leave_at);
    as_free(s);
    return rc;
}
