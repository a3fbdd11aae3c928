/* targets.c: join targets by DNS name (targets.h). Every retry period (the core's join retry,
 * which the profile and the fd settings set) each name whose addresses hold no alive member is
 * looked up again; new addresses, or any address while this agent is alone, are joined. */
#include "targets.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

typedef struct tgt {
    char host[HSD_HOST_MAX + 1];
    uint16_t port;
    hs_addr addrs[HSD_RESOLVE_MAX]; /* the last answer */
    size_t n;
    unsigned inflight;
    char error[200]; /* the last failure logged ("": the last lookup answered) */
} tgt;

typedef struct group { /* one hsd_targets_join waiting for its first lookups */
    hsd_targets_fn fn;
    void *arg;
    size_t pending, joined;
    char error[HSD_HOST_MAX + 220];
} group;

typedef struct ctx {
    hsd_targets *t;
    size_t idx;
    group *g; /* NULL: a retry */
} ctx;

struct hsd_targets {
    hsd_engine *e;
    hsd_resolver *r;
    int family;
    tgt *v;
    size_t n, cap;
    hsd_watch *timer;
};

static const hs_node *node(const hsd_targets *t)
{
    return hs_agent_node(hsd_engine_agent(t->e));
}

/* The member at a (not ourselves): its status, or -1. */
static int status_at(const hsd_targets *t, const hs_addr *a)
{
    const hs_node *nd = node(t);
    size_t total = hs_node_member_count(nd);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(nd, i, &mi) && !mi.is_self && hs_addr_equal(&mi.addr, a))
            return (int)mi.status;
    return -1;
}

static bool alone(const hsd_targets *t)
{
    const hs_node *nd = node(t);
    size_t total = hs_node_member_count(nd);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(nd, i, &mi) && !mi.is_self &&
            (mi.status == HS_ALIVE || mi.status == HS_SUSPECT))
            return false;
    return true;
}

static bool is_self(const hsd_targets *t, const hs_addr *a)
{
    hs_addr adv = hsd_engine_advertise(t->e);
    return hs_addr_equal(&adv, a);
}

/* Some address of the name is an alive member, or ourselves. */
static bool answering(const hsd_targets *t, const tgt *x)
{
    for (size_t i = 0; i < x->n; i++)
        if (is_self(t, &x->addrs[i]) || status_at(t, &x->addrs[i]) == HS_ALIVE) return true;
    return false;
}

static bool in(const hs_addr *a, const hs_addr *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hs_addr_equal(&v[i], a)) return true;
    return false;
}

static void group_done(group *g)
{
    if (--g->pending) return;
    if (g->fn) g->fn(g->arg, g->joined, g->error[0] ? g->error : NULL);
    free(g);
}

static void on_lookup(void *arg, const hs_addr *addrs, size_t n, const char *error)
{
    ctx *c = arg;
    hsd_targets *t = c->t;
    tgt *x = &t->v[c->idx];
    group *g = c->g;
    free(c);
    x->inflight--;
    char was[HS_ADDR_STRLEN] = "-", now[HS_ADDR_STRLEN];
    if (!n) {
        if (strcmp(x->error, error)) /* each new failure once, not every period */
            log_warn("cannot resolve %s (port %u): %s; trying again every retry period", x->host,
                     x->port, error);
        snprintf(x->error, sizeof(x->error), "%s", error);
        if (g && !g->error[0])
            snprintf(g->error, sizeof(g->error), "cannot resolve %s: %s", x->host, error);
        if (g) group_done(g);
        return;
    }
    if (x->error[0]) log_info("%s resolves again", x->host);
    x->error[0] = '\0';
    bool changed = false, lonely = alone(t);
    for (size_t i = 0; i < n; i++) changed |= !in(&addrs[i], x->addrs, x->n);
    if (x->n) hs_addr_format(&x->addrs[0], was, sizeof(was));
    hs_addr join[HSD_RESOLVE_MAX];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_self(t, &addrs[i]) && (g || status_at(t, &addrs[i]) != HS_ALIVE))
            join[k++] = addrs[i];
    memcpy(x->addrs, addrs, n * sizeof(*addrs));
    x->n = n;
    if (k && (g || changed || lonely)) {
        if (!g && changed)
            log_info("%s now resolves to %s (was %s): joining", x->host,
                     hs_addr_format(&addrs[0], now, sizeof(now)), was);
        hsd_engine_join(t->e, join, k);
    } else {
        k = 0;
    }
    if (g) {
        g->joined += k;
        group_done(g);
    }
}

static int look_up(hsd_targets *t, size_t idx, group *g)
{
    ctx *c = malloc(sizeof(*c));
    if (!c) return -1;
    *c = (ctx){t, idx, g};
    tgt *x = &t->v[idx];
    if (hsd_resolve(t->r, x->host, x->port, t->family, on_lookup, c) != 0) {
        free(c);
        return -1;
    }
    x->inflight++;
    return 0;
}

static void rearm(hsd_targets *t)
{
    const hs_config *cfg = hs_node_config(node(t));
    hsd_watch_start(t->timer, cfg->join_retry_ms ? cfg->join_retry_ms : 1000);
}

static void on_retry(void *arg)
{
    hsd_targets *t = arg;
    if (!hsd_engine_leaving(t->e))
        for (size_t i = 0; i < t->n; i++)
            if (!t->v[i].inflight && !answering(t, &t->v[i])) look_up(t, i, NULL);
    rearm(t);
}

hsd_targets *hsd_targets_new(hsd_engine *e, hsd_resolver *r, int family)
{
    hsd_targets *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    *t = (hsd_targets){.e = e, .r = r, .family = family};
    t->timer = hsd_timer_new(e, on_retry, t);
    if (!t->timer) {
        free(t);
        return NULL;
    }
    return t;
}

void hsd_targets_free(hsd_targets *t)
{
    if (!t) return;
    hsd_watch_free(t->timer);
    free(t->v);
    free(t);
}

static long find_or_add(hsd_targets *t, const hsd_target *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].port == name->addr.port && !strcasecmp(t->v[i].host, name->host))
            return (long)i;
    if (t->n == HSD_TARGETS_MAX) return -1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        tgt *v = realloc(t->v, cap * sizeof(*v));
        if (!v) return -1;
        t->v = v;
        t->cap = cap;
    }
    tgt *x = &t->v[t->n];
    memset(x, 0, sizeof(*x));
    memcpy(x->host, name->host, sizeof(x->host));
    x->port = name->addr.port;
    return (long)t->n++;
}

int hsd_targets_join(hsd_targets *t, const hsd_target *names, size_t n, hsd_targets_fn fn,
                     void *arg)
{
    long idx[HSD_TARGETS_MAX];
    if (n > HSD_TARGETS_MAX) return -1;
    for (size_t i = 0; i < n; i++)
        if ((idx[i] = find_or_add(t, &names[i])) < 0) return -1;
    group *g = calloc(1, sizeof(*g));
    if (!g) return -1;
    *g = (group){.fn = fn, .arg = arg, .pending = 1};
    for (size_t i = 0; i < n; i++)
        if (look_up(t, (size_t)idx[i], g) == 0)
            g->pending++;
        else if (!g->error[0])
            snprintf(g->error, sizeof(g->error), "cannot look %s up: out of memory", names[i].host);
    if (!hsd_watch_pending(t->timer)) rearm(t);
    group_done(g); /* the hold of the loop above; fn runs later, from the loop (now if none
                    * started) */
    return 0;
}
