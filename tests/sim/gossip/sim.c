/* sim.c: drives the hs_node cores: node lifecycle (start, crash, pause, resume, restart,
 * leave), the run loop over the event queue, timers with lazy deletion, and draining each
 * core's packets and events after every call into it. */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "simutil.h"
#include "view.h"

hs_addr sim_addr(uint32_t i)
{
    uint32_t k = i + 1;
    return hs_addr_v4(127, (uint8_t)(k >> 16), (uint8_t)(k >> 8), (uint8_t)k, SIM_PORT);
}

int sim_index_of_addr(const sim *s, const hs_addr *a)
{
    if (a->family != 4 || a->ip[0] != 127 || a->port != SIM_PORT) return -1;
    uint32_t k = ((uint32_t)a->ip[1] << 16) | ((uint32_t)a->ip[2] << 8) | a->ip[3];
    if (k == 0 || k > s->n) return -1;
    return (int)(k - 1);
}

void sim_name(uint32_t i, char *buf, size_t len)
{
    snprintf(buf, len, "n%u", i);
}

int sim_index_of_name(const sim *s, const char *name)
{
    return sim_node_number(name, s->n);
}

sim *sim_new(uint32_t n, const sim_opts *o)
{
    sim *s = sim_xcalloc(1, sizeof *s);
    s->n = n;
    s->seed = o->seed;
    s->nodes = sim_xcalloc(n, sizeof *s->nodes);
    for (uint32_t i = 0; i < n; i++) s->nodes[i].timer_us = SIM_NO_TIME;
    s->msg_free = UINT32_MAX;
    sim_heap_init(&s->heap);
    s->net.lat_us = (uint32_t)(o->lat_ms * 1000.0 + 0.5);
    s->net.jitter_us = (uint32_t)(o->jitter_ms * 1000.0 + 0.5);
    if (s->net.jitter_us > s->net.lat_us) s->net.jitter_us = s->net.lat_us;
    s->net.loss = 0;
    s->net.dup = o->dup;
    s->net.reorder = o->reorder;
    s->net.reorder_us = 10 * s->net.lat_us + 1000;
    sim_rng_seed(&s->net_rng, sim_derive(o->seed, 1));
    sim_rng_seed(&s->rng, sim_derive(o->seed, 2));
    s->nseeds = n < 3 ? n : 3;
    for (uint32_t i = 0; i < s->nseeds; i++) s->seeds[i] = i;
    s->trace = o->trace;
    s->hash_packets = o->hash_packets;
    s->invariants_only = o->invariants_only;
    s->boot_wall_s = -1;
    view_init(s);
    return s;
}

void sim_free(sim *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->n; i++) {
        hs_node_free(s->nodes[i].core);
        free(s->nodes[i].queue);
    }
    for (uint32_t i = 0; i < s->nmsgs; i++) free(s->msgs[i].data);
    free(s->msgs);
    free(s->nodes);
    sim_heap_free(&s->heap);
    replay_free(s->replayer);
    view_free(s);
    free(s);
}

void sim_fail(sim *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool first =
        sim_fail_first(&s->failed, s->fail_msg, sizeof s->fail_msg, s->now_us, s->seed, fmt, ap);
    va_end(ap);
    if (first) view_dump_trace(s, stderr);
}

bool sim_healthy(const sim *s, uint32_t j)
{
    const sim_node *nd = &s->nodes[j];
    return nd->state == NS_RUNNING && !nd->left && nd->in_loss == 0 && nd->out_loss == 0;
}

bool sim_reachable(const sim *s, uint32_t i, uint32_t j)
{
    uint8_t a = s->nodes[i].group, b = s->nodes[j].group;
    return !s->net.block[a][b] && !s->net.block[b][a];
}

/* Drains packets and events, then (re)schedules the node's timer. */
static void after_call(sim *s, uint32_t i, bool was_tick)
{
    sim_node *nd = &s->nodes[i];
    s->core_calls++;
    hs_packet p;
    while (nd->core && hs_node_next_packet(nd->core, &p)) net_send(s, i, &p);
    hs_event ev;
    while (nd->core && hs_node_next_event(nd->core, &ev)) view_on_event(s, i, &ev);
    if (!nd->core) return;
    uint64_t d = hs_node_next_deadline(nd->core);
    if (d == UINT64_MAX) return;
    uint64_t now_ms = sim_now_ms(s);
    uint64_t t;
    if (d > now_ms) {
        t = d * 1000;
    } else if (was_tick) {
        s->timer_stuck++; /* the core asked for a tick it just had: move on by 1 ms */
        t = (now_ms + 1) * 1000;
    } else {
        t = s->now_us;
    }
    if (t != nd->timer_us) {
        nd->timer_us = t;
        sim_heap_push(&s->heap, t, SIM_EV_TIMER, i, nd->gen);
    }
}

void sim_inject(sim *s, uint32_t to, uint32_t from, const uint8_t *data, size_t len, bool stream)
{
    sim_node *nd = &s->nodes[to];
    if (nd->state != NS_RUNNING) return;
    hs_addr a = sim_addr(from);
    hs_node_receive(nd->core, sim_now_ms(s), &a, data, len, stream);
    after_call(s, to, false);
}

static void deliver(sim *s, uint32_t slot)
{
    sim_msg *m = &s->msgs[slot];
    uint32_t to = m->to;
    sim_node *nd = &s->nodes[to];
    if (nd->state == NS_PAUSED) {
        if (nd->qlen >= SIM_QUEUE_MAX) {
            s->net.dropped++;
            net_msg_free(s, slot);
            return;
        }
        if (nd->qlen == nd->qcap) {
            nd->qcap = nd->qcap ? nd->qcap * 2 : 64;
            nd->queue = realloc(nd->queue, nd->qcap * sizeof *nd->queue);
            if (!nd->queue) exit(2);
        }
        nd->queue[nd->qlen++] = slot;
        return;
    }
    if (nd->state != NS_RUNNING) {
        s->net.dropped++;
        net_msg_free(s, slot);
        return;
    }
    hs_addr from = sim_addr(m->from);
    nd->pkts_in++;
    nd->bytes_in += m->len;
    s->net.delivered++;
    hs_node_receive(nd->core, sim_now_ms(s), &from, m->data, m->len, m->stream);
    net_msg_free(s, slot);
    after_call(s, to, false);
}

void sim_run_until(sim *s, uint64_t t_us)
{
    sim_event e;
    while (!s->failed && sim_heap_pop_until(&s->heap, t_us, &e)) {
        s->now_us = e.t_us;
        if (view_poll_due(s)) view_poll(s);
        if (e.kind == SIM_EV_TIMER) {
            sim_node *nd = &s->nodes[e.a];
            if (e.b != nd->gen || e.t_us != nd->timer_us) continue; /* stale */
            nd->timer_us = SIM_NO_TIME;
            if (nd->state != NS_RUNNING) continue; /* paused: ticked on resume */
            hs_node_tick(nd->core, sim_now_ms(s));
            after_call(s, e.a, true);
        } else {
            deliver(s, e.a);
        }
    }
    if (!s->failed && s->now_us < t_us) s->now_us = t_us;
    view_poll(s);
}

static void set_state(sim *s, uint32_t i, sim_state st)
{
    s->nodes[i].state = st;
    s->nodes[i].since_us = s->now_us;
}

static void instantiate(sim *s, uint32_t i)
{
    sim_node *nd = &s->nodes[i];
    hs_config cfg;
    hs_config_default(&cfg);
    sim_name(i, cfg.name, sizeof cfg.name);
    cfg.addr = sim_addr(i);
    if (s->reap_ms) cfg.reap_failed_ms = cfg.reap_left_ms = s->reap_ms;
    cfg.tombstone_ms = s->tomb_ms;
    hs_tags tags = {.data = NULL, .len = 0};
    uint64_t seed = sim_derive(s->seed, 1000 + (uint64_t)i * 1024 + nd->starts);
    nd->starts++;
    nd->gen++;
    nd->timer_us = SIM_NO_TIME;
    nd->core = hs_node_new(&cfg, tags, nd->incarnation, sim_now_ms(s), seed);
    if (!nd->core) {
        fprintf(stderr, "hearsay-sim: hs_node_new failed for node %u\n", i);
        exit(2);
    }
    nd->left = false;
    nd->ghost_guard_us = 0; /* a new instance: it may be alive again */
    nd->ever_started = true;
    set_state(s, i, NS_RUNNING);
    view_add_observer(s, i);
    hs_addr seeds[3];
    size_t k = 0;
    for (uint32_t x = 0; x < s->nseeds; x++)
        if (s->seeds[x] != i) seeds[k++] = sim_addr(s->seeds[x]);
    if (k) hs_node_join(nd->core, sim_now_ms(s), seeds, k);
    after_call(s, i, false);
}

void sim_start(sim *s, uint32_t i)
{
    if (s->nodes[i].state != NS_IDLE && s->nodes[i].state != NS_GONE) return;
    view_trace(s, TR_START, i, i, s->nodes[i].incarnation, 0);
    instantiate(s, i);
}

static void drop_queue(sim *s, sim_node *nd)
{
    for (size_t k = 0; k < nd->qlen; k++) {
        s->net.dropped++;
        net_msg_free(s, nd->queue[k]);
    }
    nd->qlen = 0;
}

static void destroy(sim *s, uint32_t i, sim_state st)
{
    sim_node *nd = &s->nodes[i];
    bool was_observer = sim_is_observer(nd);
    hs_node_free(nd->core);
    nd->core = NULL;
    nd->gen++;
    nd->timer_us = SIM_NO_TIME;
    drop_queue(s, nd);
    set_state(s, i, st);
    if (was_observer) view_remove_observer(s, i);
}

void sim_crash(sim *s, uint32_t i)
{
    if (!sim_is_process(&s->nodes[i])) return;
    view_trace(s, TR_CRASH, i, i, s->nodes[i].incarnation, 0);
    bool was_left = s->nodes[i].left;
    destroy(s, i, was_left ? NS_GONE : NS_CRASHED);
    if (!was_left) view_on_crash(s, i);
    view_poll(s);
}

void sim_restart(sim *s, uint32_t i)
{
    if (s->nodes[i].state != NS_CRASHED) return;
    view_trace(s, TR_RESTART, i, i, s->nodes[i].incarnation, 0);
    instantiate(s, i);
}

void sim_pause(sim *s, uint32_t i)
{
    if (s->nodes[i].state != NS_RUNNING) return;
    view_trace(s, TR_PAUSE, i, i, 0, 0);
    set_state(s, i, NS_PAUSED);
}

void sim_resume(sim *s, uint32_t i)
{
    sim_node *nd = &s->nodes[i];
    if (nd->state != NS_PAUSED) return;
    view_trace(s, TR_RESUME, i, i, 0, 0);
    set_state(s, i, NS_RUNNING);
    /* The socket buffer first, then the overdue timers, as a resumed event loop would. */
    size_t n = nd->qlen;
    uint32_t *q = nd->queue;
    nd->queue = NULL;
    nd->qlen = nd->qcap = 0;
    for (size_t k = 0; k < n; k++) {
        if (nd->state == NS_RUNNING)
            deliver(s, q[k]);
        else
            net_msg_free(s, q[k]);
    }
    free(q);
    if (nd->state == NS_RUNNING) {
        hs_node_tick(nd->core, sim_now_ms(s));
        after_call(s, i, true);
    }
}

void sim_leave(sim *s, uint32_t i)
{
    sim_node *nd = &s->nodes[i];
    if (nd->state != NS_RUNNING || nd->left) return;
    view_trace(s, TR_LEAVE, i, i, 0, 0);
    hs_node_leave(nd->core, sim_now_ms(s));
    nd->left = true;
    view_remove_observer(s, i);
    after_call(s, i, false);
}

long sim_reachability(sim *s, uint32_t i)
{
    sim_node *nd = &s->nodes[i];
    if (nd->state != NS_RUNNING) return -1;
    long asked = hs_node_reachability_start(nd->core, sim_now_ms(s));
    after_call(s, i, false);
    return asked;
}

void sim_stop(sim *s, uint32_t i)
{
    sim_node *nd = &s->nodes[i];
    if (!sim_is_process(nd)) return;
    view_trace(s, TR_STOP, i, i, 0, 0);
    destroy(s, i, NS_GONE);
}

void sim_partition(sim *s, uint8_t from, uint8_t to, bool oneway)
{
    view_trace(s, TR_PARTITION, from, to, oneway, 0);
    s->net.block[from][to] = true;
    if (!oneway) s->net.block[to][from] = true;
    s->net.partitioned = true;
}

void sim_heal(sim *s)
{
    view_trace(s, TR_HEAL, 0, 0, 0, 0);
    memset(s->net.block, 0, sizeof s->net.block);
    s->net.partitioned = false;
}
