/* minicluster.c: see minicluster.h. */
#include "minicluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mc_msg {
    uint64_t at;
    int from, to;
    uint8_t *data;
    size_t len;
    bool stream;
} mc_msg;

hs_addr mc_addr(int i)
{
    return hs_addr_v4(127, 0, 0, (uint8_t)(i + 1), 7946);
}

static int addr_index(const hs_addr *a)
{
    return a->ip[3] - 1;
}

void mc_init(mc_cluster *c, int count)
{
    memset(c, 0, sizeof(*c));
    c->count = count;
    c->now = 1000;
    hs_config_default(&c->cfg);
}

void mc_free(mc_cluster *c)
{
    for (size_t i = 0; i < c->nrec; i++) free(c->rec[i].data);
    free(c->rec);
    for (int i = 0; i < c->count; i++) hs_node_free(c->n[i].node);
    for (size_t i = 0; i < c->nq; i++) free(c->q[i].data);
    free(c->q);
}

static void push(mc_cluster *c, int from, int to, const uint8_t *d, size_t len, bool stream)
{
    if (c->nq == c->capq) {
        c->capq = c->capq ? c->capq * 2 : 256;
        c->q = realloc(c->q, c->capq * sizeof(*c->q));
    }
    mc_msg *m = &c->q[c->nq++];
    m->at = c->now + 1;
    m->from = from;
    m->to = to;
    m->data = malloc(len ? len : 1);
    memcpy(m->data, d, len);
    m->len = len;
    m->stream = stream;
}

static void record(mc_cluster *c, int from, int to, const hs_packet *p)
{
    if (c->nrec >= c->rec_max || (c->rec_who >= 0 && from != c->rec_who)) return;
    if (c->nrec % 64 == 0) c->rec = realloc(c->rec, (c->nrec + 64) * sizeof(*c->rec));
    mc_rec *r = &c->rec[c->nrec++];
    r->from = from;
    r->to = to;
    r->data = malloc(p->len ? p->len : 1);
    memcpy(r->data, p->data, p->len);
    r->len = p->len;
    r->stream = p->stream;
}

/* The node index of "node<j>", or -1. */
static int name_index(const char *name)
{
    int j;
    char end;
    if (sscanf(name, "node%d%c", &j, &end) != 1 || j < 0 || j >= MC_MAX) return -1;
    return j;
}

static void drain(mc_cluster *c, int i)
{
    hs_packet p;
    hs_event e;
    while (hs_node_next_packet(c->n[i].node, &p)) {
        int to = addr_index(&p.to);
        if (to >= 0 && to < c->count) record(c, i, to, &p);
        if (c->tap && to >= 0 && to < c->count) c->tap(c, i, to, p.data, p.len, p.stream);
        if (to < 0 || to >= c->count || c->drop[i][to]) continue;
        push(c, i, to, p.data, p.len, p.stream);
    }
    while (hs_node_next_event(c->n[i].node, &e)) {
        if (e.type == HS_EV_INCARNATION) c->n[i].last_inc = e.incarnation;
        int j = name_index(e.name);
        if (j >= 0 && (unsigned)e.type <= HS_EV_CONFLICT) c->events[i][j][e.type]++;
        if (e.type == HS_EV_FAILED) {
            int j = addr_index(&e.addr);
            if (j >= 0 && j < MC_MAX) c->ever_failed[i][j] = true;
        }
    }
}

void mc_start(mc_cluster *c, int i, int via)
{
    char name[16];
    snprintf(name, sizeof(name), "node%d", i);
    mc_start_as(c, i, name, c->n[i].last_inc, via);
}

void mc_start_as(mc_cluster *c, int i, const char *name, uint32_t inc, int via)
{
    hs_config cfg = c->cfg;
    snprintf(cfg.name, sizeof(cfg.name), "%s", name);
    cfg.addr = mc_addr(i);
    hs_node_free(c->n[i].node);
    c->n[i].node = hs_node_new(&cfg, (hs_tags){NULL, 0}, inc, c->now, 1234 + i);
    c->n[i].crashed = false;
    c->n[i].paused = false;
    if (via >= 0) {
        hs_addr a = mc_addr(via);
        hs_node_join(c->n[i].node, c->now, &a, 1);
    }
    drain(c, i);
}

void mc_drain(mc_cluster *c, int i)
{
    drain(c, i);
}

void mc_crash(mc_cluster *c, int i)
{
    c->n[i].crashed = true;
}

void mc_inject(mc_cluster *c, int to, const uint8_t *data, size_t len)
{
    hs_addr from = hs_addr_v4(127, 0, 0, 200, 7946);
    hs_node_receive(c->n[to].node, c->now, &from, data, len, false);
    drain(c, to);
}

void mc_inject_from(mc_cluster *c, int from, int to, const uint8_t *data, size_t len)
{
    hs_addr a = mc_addr(from);
    hs_node_receive(c->n[to].node, c->now, &a, data, len, false);
    drain(c, to);
}

void mc_record(mc_cluster *c, int who, size_t max)
{
    c->rec_who = who;
    c->rec_max = max;
}

void mc_replay(mc_cluster *c, const mc_rec *r, int to)
{
    if (to < 0) to = r->to;
    if (!c->n[to].node || c->n[to].crashed) return;
    hs_addr a = mc_addr(r->from);
    hs_node_receive(c->n[to].node, c->now, &a, r->data, r->len, r->stream);
    drain(c, to);
}

uint32_t mc_events(const mc_cluster *c, int viewer, int subject, int type)
{
    uint32_t sum = 0;
    for (int t = 0; t <= HS_EV_CONFLICT; t++)
        if (type < 0 || t == type) sum += c->events[viewer][subject][t];
    return sum;
}

static void step(mc_cluster *c, uint64_t until)
{
    /* next time anything happens */
    uint64_t next = until;
    for (size_t k = 0; k < c->nq; k++)
        if (c->q[k].at < next && !c->n[c->q[k].to].paused) next = c->q[k].at;
    for (int i = 0; i < c->count; i++) {
        mc_node *n = &c->n[i];
        if (!n->node || n->crashed || n->paused) continue;
        uint64_t d = hs_node_next_deadline(n->node);
        if (d < next) next = d;
    }
    if (next < c->now) next = c->now;
    c->now = next;
    for (size_t k = 0; k < c->nq;) {
        mc_msg m = c->q[k];
        if (m.at > c->now || c->n[m.to].paused) {
            k++;
            continue;
        }
        c->q[k] = c->q[--c->nq];
        if (c->n[m.to].node && !c->n[m.to].crashed) {
            hs_addr from = mc_addr(m.from);
            hs_node_receive(c->n[m.to].node, c->now, &from, m.data, m.len, m.stream);
            drain(c, m.to);
        }
        free(m.data);
    }
    for (int i = 0; i < c->count; i++) {
        mc_node *n = &c->n[i];
        if (!n->node || n->crashed || n->paused) continue;
        if (hs_node_next_deadline(n->node) <= c->now) {
            hs_node_tick(n->node, c->now);
            drain(c, i);
        }
    }
}

void mc_run(mc_cluster *c, uint64_t ms)
{
    uint64_t end = c->now + ms;
    while (c->now < end) step(c, end);
}

uint64_t mc_run_until(mc_cluster *c, uint64_t ms, bool (*pred)(mc_cluster *, void *), void *arg)
{
    uint64_t start = c->now, end = c->now + ms;
    while (c->now < end) {
        if (pred(c, arg)) return c->now - start;
        step(c, end);
    }
    return pred(c, arg) ? c->now - start : UINT64_MAX;
}

hs_status mc_status(mc_cluster *c, int viewer, int subject)
{
    char name[32];
    snprintf(name, sizeof(name), "node%d", subject);
    hs_member_info info;
    if (!hs_node_find(c->n[viewer].node, name, &info)) return (hs_status)-1;
    return info.status;
}

bool mc_all_see(mc_cluster *c, int subject, hs_status s)
{
    for (int i = 0; i < c->count; i++) {
        if (i == subject || !c->n[i].node || c->n[i].crashed) continue;
        if (mc_status(c, i, subject) != s) return false;
    }
    return true;
}
