/* asim.c: the agent simulator's life cycle and run loop: agents (envelope, channel, agent core,
 * a seed's storage) started, left and exited at the virtual time; timers with lazy deletion;
 * and after every call into an agent, its outputs drained, checked and sent. */
#include "asim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asim_attack.h"
#include "asim_check.h"
#include "simutil.h"

hs_addr as_addr(uint32_t i)
{
    uint32_t k = i + 1;
    return hs_addr_v4(10, 1, (uint8_t)(k >> 8), (uint8_t)k, AS_PORT);
}

int as_index_of_addr(const as_sim *s, const hs_addr *a)
{
    if (a->family != 4 || a->ip[0] != 10 || a->ip[1] != 1 || a->port != AS_PORT) return -1;
    uint32_t k = ((uint32_t)a->ip[2] << 8) | a->ip[3];
    if (k == 0 || k > s->n) return -1;
    return (int)(k - 1);
}

int as_index_of_name(const as_sim *s, const char *name)
{
    return sim_node_number(name, s->n);
}

void as_fail(as_sim *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_fail_first(&s->failed, s->fail_msg, sizeof s->fail_msg, s->now_us, s->seed, fmt, ap);
    va_end(ap);
}

void as_trace(const as_sim *s, const char *fmt, ...)
{
    if (!s->trace) return;
    fprintf(stderr, "[%10.3f] ", (double)s->now_us / 1e6);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* FNV-1a over everything that happens: same seed, same digest. */
void as_digest(as_sim *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = s->digest;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    s->digest = h;
}

as_sim *as_new(const as_opts *o)
{
    as_sim *s = sim_xcalloc(1, sizeof *s);
    s->n = o->n;
    s->seed = o->seed;
    s->loss = o->loss;
    s->lat_us = o->lat_us;
    s->jitter_us = o->jitter_us > o->lat_us ? o->lat_us : o->jitter_us;
    s->reap_ms = o->reap_ms;
    s->trace = o->trace;
    s->digest = 0xcbf29ce484222325ULL;
    s->ag = sim_xcalloc(o->n, sizeof *s->ag);
    s->msg_free = s->conn_free = UINT32_MAX;
    sim_heap_init(&s->heap);
    sim_rng_seed(&s->net_rng, sim_derive(o->seed, 1));
    s->truth = truth_new();
    s->chk = checks_new(o->n);
    s->atk = atk_new(s, sim_derive(o->seed, 3));
    return s;
}

void as_free(as_sim *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->n; i++) {
        as_agent *g = &s->ag[i];
        if (g->state == AS_RUNNING || g->state == AS_LEAVING) as_exit(s, i);
        free(g->ops);
        free(g->outs);
        free(g->saved_cfg);
        store_free(g->st);
    }
    for (uint32_t i = 0; i < s->nmsgs; i++) free(s->msgs[i].data);
    free(s->msgs);
    for (uint32_t i = 0; i < s->nconns; i++) {
        for (size_t k = 0; k < s->conns[i].nq; k++) free(s->conns[i].q[k].data);
        free(s->conns[i].q);
    }
    free(s->conns);
    free(s->sealbuf);
    free(s->ag);
    free(s->writes);
    free(s->rots);
    sim_heap_free(&s->heap);
    atk_free(s->atk);
    truth_free(s->truth);
    checks_free(s->chk);
    free(s);
}

/* The first key every agent starts with, and the keys rotations move to: from the seed. */
static void cluster_key(const as_sim *s, uint8_t key[HS_ENV_KEY_BYTES])
{
    for (int k = 0; k < HS_ENV_KEY_BYTES / 8; k++) {
        uint64_t v = sim_derive(s->seed, 7000 + (uint64_t)k);
        memcpy(key + 8 * k, &v, 8);
    }
}

void as_start(as_sim *s, uint32_t i)
{
    as_agent *g = &s->ag[i];
    if (g->state != AS_IDLE) return;
    snprintf(g->name, sizeof g->name, "n%u", i);
    g->addr = as_addr(i);
    uint8_t key[HS_ENV_KEY_BYTES];
    cluster_key(s, key);
    if (hs_env_init(&g->env, "replaysim", false) != 0 || hs_env_add_key(&g->env, key) != 0) {
        fprintf(stderr, "hearsay-sim: envelope setup failed\n");
        exit(2);
    }
    hs_ch_cfg cc;
    hs_ch_cfg_default(&cc);
    cc.instance = sim_derive(s->seed, 5000 + i + 100000ULL * g->gen) | 1;
    for (int k = 0; k < 4; k++) {
        uint64_t v = sim_derive(s->seed, 6000 + 4 * (uint64_t)i + (uint64_t)k);
        memcpy(cc.secret + 8 * k, &v, 8);
    }
    g->ch = hs_channel_new(&cc, &g->env, as_now_ms(s));
    hs_agent_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    hs_config_default(&cfg.node);
    snprintf(cfg.node.name, sizeof cfg.node.name, "%s", g->name);
    cfg.node.addr = g->addr;
    if (s->reap_ms) cfg.node.reap_failed_ms = cfg.node.reap_left_ms = s->reap_ms;
    cfg.ue_floor = g->ue_horizon;
    cfg.saved = g->saved_cfg;
    cfg.rng_seed = sim_derive(s->seed, 1000 + i);
    cfg.env = &g->env;
    cfg.n_seeds = AS_SEEDS;
    for (uint32_t k = 0; k < AS_SEEDS; k++) {
        snprintf(cfg.seeds[k].name, sizeof cfg.seeds[k].name, "n%u", k);
        cfg.seeds[k].addr = as_addr(k);
        cfg.seeds[k].id = hs_cc_seed_id(cfg.seeds[k].name);
    }
    if (i < AS_SEEDS) {
        g->st = store_new(s, i);
        cfg.storage = store_callbacks(g->st);
    }
    const char *why = NULL;
    g->a = g->ch ? hs_agent_new(&cfg, as_now_ms(s), &why) : NULL;
    if (!g->a) {
        fprintf(stderr, "hearsay-sim: agent %u: %s\n", i, why ? why : "no channel");
        exit(2);
    }
    g->state = AS_RUNNING;
    g->timer_us = UINT64_MAX;
    g->started_us = s->now_us;
    as_trace(s, "start %s", g->name);
    hs_addr seeds[AS_SEEDS];
    size_t k = 0;
    for (uint32_t x = 0; x < AS_SEEDS && x < s->n; x++)
        if (x != i) seeds[k++] = as_addr(x);
    hs_agent_join(g->a, as_now_ms(s), seeds, k);
    as_after_call(s, i);
}

void as_leave(as_sim *s, uint32_t i)
{
    as_agent *g = &s->ag[i];
    if (g->state != AS_RUNNING) return;
    as_trace(s, "leave %s", g->name);
    g->state = AS_LEAVING;
    g->left_us = s->now_us;
    hs_agent_leave(g->a, as_now_ms(s));
    as_after_call(s, i);
}

void as_exit(as_sim *s, uint32_t i)
{
    as_agent *g = &s->ag[i];
    if (g->state != AS_RUNNING && g->state != AS_LEAVING) return;
    as_trace(s, "exit %s", g->name);
    net_close_agent(s, i);
    hs_agent_free(g->a);
    hs_channel_free(g->ch);
    hs_env_clear(&g->env);
    g->a = NULL;
    g->ch = NULL;
    g->state = AS_GONE;
    g->gone_us = s->now_us;
    g->gen++;
    g->timer_us = UINT64_MAX;
    g->nops = 0;
}

void as_cut(as_sim *s, uint32_t i, bool cut)
{
    as_trace(s, "%s %s", cut ? "cut" : "heal", s->ag[i].name);
    s->ag[i].cut = cut;
    net_close_agent(s, i);
}

void as_restart(as_sim *s, uint32_t i)
{
    if (s->ag[i].state != AS_GONE) return;
    s->ag[i].state = AS_IDLE;
    s->ag[i].left_us = s->ag[i].gone_us = 0;
    as_start(s, i);
}

void as_op_add(as_sim *s, uint32_t i, uint64_t op, int what, uint32_t index)
{
    as_agent *g = &s->ag[i];
    g->ops = sim_grow(g->ops, g->nops, &g->capops, sizeof *g->ops, 8);
    g->ops[g->nops++] = (as_op){op, what, index};
}

/* An operation the scenario started ended: record its answer. */
static void on_done(as_sim *s, uint32_t i, const hs_agent_done *d)
{
    as_agent *g = &s->ag[i];
    for (size_t k = 0; k < g->nops; k++) {
        if (g->ops[k].op != d->op || g->ops[k].what != d->what) continue;
        uint32_t idx = g->ops[k].index;
        g->ops[k] = g->ops[--g->nops];
        if (d->what == HS_AGENT_DONE_CONFIG) {
            as_write *w = &s->writes[idx];
            w->answer_us = s->now_us;
            w->result = d->config.result;
            as_trace(s, "write w%u on %s: result %d after %.1f ms", idx, g->name, w->result,
                     (double)(w->answer_us - w->start_us) / 1e3);
        } else {
            as_rotation *r = &s->rots[idx];
            r->end_us = s->now_us;
            r->ok = d->rotation.ok;
            if (r->ok) truth_rotation_done(s->truth, s->now_us);
            r->step = d->rotation.step;
            snprintf(r->why, sizeof r->why, "%s", d->rotation.ok ? "" : d->rotation.why);
            as_trace(s, "rotation %u on %s: ok=%d step=%d acked=%zu/%zu %s", idx, g->name, r->ok,
                     r->step, d->rotation.acked, d->rotation.members, r->why);
            for (size_t k = 0; k < d->rotation.n_pending; k++)
                as_trace(s, "  pending: %s answered=%d version=%llu", d->rotation.pending[k].name,
                         d->rotation.pending[k].answered,
                         (unsigned long long)d->rotation.pending[k].version);
        }
        return;
    }
}

/* Re-arms the agent's timer entry (an older entry becomes stale and is skipped). */
static void arm_timer(as_sim *s, uint32_t i, bool was_tick)
{
    as_agent *g = &s->ag[i];
    uint64_t d = hs_agent_next_deadline(g->a);
    if (!d || d == UINT64_MAX) return;
    uint64_t now_ms = as_now_ms(s), t;
    if (d > now_ms) {
        t = d * 1000;
    } else if (was_tick) {
        s->timer_stuck++; /* asked for a tick it just had: move on by 1 ms */
        t = (now_ms + 1) * 1000;
    } else {
        t = s->now_us;
    }
    if (t != g->timer_us) {
        g->timer_us = t;
        sim_heap_push(&s->heap, t, AS_EV_TIMER, i, g->gen);
    }
}

static void after(as_sim *s, uint32_t i, bool was_tick);

void as_after_call(as_sim *s, uint32_t i)
{
    after(s, i, false);
}

static void after(as_sim *s, uint32_t i, bool was_tick)
{
    as_agent *g = &s->ag[i];
    if (!g->a) return;
    s->core_calls++;
    hs_agent_packet p;
    while (hs_agent_next_packet(g->a, &p)) net_send_payload(s, i, &p);
    hs_agent_event e;
    unsigned saved = hs_agent_take_persist(g->a);
    if (saved & HS_AGENT_SAVE_USER) g->ue_horizon = hs_agent_user_horizon(g->a);
    if ((saved & HS_AGENT_SAVE_CONFIG) && !hs_agent_is_seed(g->a)) {
        if (!g->saved_cfg) g->saved_cfg = sim_xcalloc(1, sizeof *g->saved_cfg);
        *g->saved_cfg = *hs_agent_config(g->a);
    }
    while (hs_agent_next_event(g->a, &e)) {
        uint32_t rec[3] = {i, (uint32_t)e.kind, e.incarnation};
        as_digest(s, rec, sizeof rec);
        as_digest(s, e.name, strlen(e.name));
        if (hs_event_kind_fields(e.kind) & HS_EVF_USER) {
            if (s->on_user_event) s->on_user_event(s, i, &e);
            if (!g->a) return; /* the scenario stopped it */
            continue;
        }
        check_event(s, i, &e);
    }
    hs_agent_reply r;
    while (hs_agent_next_reply(g->a, &r))
        if (s->on_reply) s->on_reply(s, i, &r);
    hs_agent_done d;
    while (hs_agent_next_done(g->a, &d))
        if (d.what == HS_AGENT_DONE_USER) {
            if (s->on_user_done) s->on_user_done(s, i, &d);
        } else {
            on_done(s, i, &d);
        }
    int level;
    const char *text;
    while (hs_agent_next_notice(g->a, &level, &text)) {
        if (level == HS_AGENT_ERR) s->notices_err++;
        if (level == HS_AGENT_WARN) s->notices_warn++;
        if (level >= HS_AGENT_WARN || s->trace)
            as_trace(s, "%s %s: %s", level == HS_AGENT_ERR ? "ERR" : "note", g->name, text);
    }
    check_config(s, i);
    arm_timer(s, i, was_tick);
}

int as_leader(const as_sim *s)
{
    for (uint32_t i = 0; i < AS_SEEDS && i < s->n; i++) {
        if (!as_alive(s, (int)i)) continue;
        const hs_raft *r = hs_agent_raft(s->ag[i].a);
        if (r && hs_raft_get_role(r) == HS_RAFT_LEADER) return (int)i;
    }
    return -1;
}

void as_run_until(as_sim *s, uint64_t t_us)
{
    sim_event e;
    while (!s->failed && sim_heap_pop_until(&s->heap, t_us, &e)) {
        s->now_us = e.t_us;
        switch (e.kind) {
        case AS_EV_TIMER: {
            as_agent *g = &s->ag[e.a];
            if (e.b != g->gen || e.t_us != g->timer_us || !g->a) break; /* stale */
            g->timer_us = UINT64_MAX;
            hs_agent_tick(g->a, as_now_ms(s));
            after(s, e.a, true);
            break;
        }
        case AS_EV_ATTACK:
        case AS_EV_FLOOD:
            atk_event(s, &e);
            break;
        default:
            net_event(s, &e);
        }
    }
    if (!s->failed && s->now_us < t_us) s->now_us = t_us;
}
