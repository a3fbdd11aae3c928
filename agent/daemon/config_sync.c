/* config_sync.c: drives the configuration client core (lib/config_client.c) on every agent:
 * feeds it time (a libevent timer at its next deadline), config messages from streams, Raft
 * notifications and gossip; sends its messages over TCP; answers the HTTP request waiting for
 * each operation it ends (the core knows operations by id, this file maps ids to requests);
 * and persists a non-seed's configuration in DATA_DIR/config.bin, loaded again at start. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>
#include <sodium.h>

#include "daemon.h"
#include "hearsay/cluster_config.h"
#include "hearsay/config_client.h"
#include "hearsay/wire.h"
#include "log.h"

#define TIMER_MAX_MS 1000

typedef struct waiter {
    uint64_t op;
    struct evhttp_request *req;
    struct waiter *next;
} waiter;

struct hsd_sync {
    hs_cfgc *core;
    struct event *timer;
    waiter *waiters;
    uint8_t *buf;      /* config.bin */
    uint64_t oversize; /* the core's oversize count already added to the drops */
};

/* ---- configuration install and persistence (non-seeds) ---- */

static void save_config(hsd *d)
{
    if (d->raft) return; /* seeds keep it in the Raft snapshot and log */
    size_t n = hs_cc_serialize(d->cc, d->sync->buf, HS_CC_SERIALIZED_MAX);
    if (!n) return;
    char path[HSD_PATH_MAX + 32], tmp[HSD_PATH_MAX + 40];
    snprintf(path, sizeof(path), "%s/config.bin", d->opt.data_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool ok = write(fd, d->sync->buf, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) log_warn("cannot save %s: %s", path, strerror(errno));
}

static void load_config(hsd *d)
{
    char path[HSD_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/config.bin", d->opt.data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, d->sync->buf, HS_CC_SERIALIZED_MAX);
    close(fd);
    if (n <= 0 || hs_cc_deserialize(d->sync->buf, (size_t)n, d->cc) != 0) {
        hs_cc_init(d->cc);
        log_warn("ignoring unreadable %s", path);
        return;
    }
    hs_node_set_config_version(d->node, d->cc->version);
    log_info("loaded cluster configuration version %llu", (unsigned long long)d->cc->version);
}

void hsd_sync_config_changed(hsd *d, const char *src, const hs_addr *addr)
{
    hsd_keys_config_changed(d);
    hs_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = HS_EV_CONFIG_SEEN;
    snprintf(ev.name, sizeof(ev.name), "%s", src);
    ev.addr = *addr;
    ev.status = HS_ALIVE;
    ev.prev_status = HS_ALIVE;
    ev.config_version = d->cc->version;
    ev.at_ms = hsd_now_ms();
    hsd_events_publish(d, &ev);
    save_config(d);
}

/* The core installed a fetched configuration (non-seeds). */
static void installed(hsd *d, const hs_addr *from)
{
    hs_node_set_config_version(d->node, d->cc->version);
    char b[HS_ADDR_STRLEN];
    log_info("installed cluster configuration version %llu from %s",
             (unsigned long long)d->cc->version, hs_addr_format(from, b, sizeof(b)));
    const char *src = "";
    hs_member_info mi;
    size_t total = hs_node_member_count(d->node);
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(d->node, i, &mi) && hs_addr_equal(&mi.addr, from)) src = mi.name;
    hsd_sync_config_changed(d, src, from);
}

/* ---- driving the core ---- */

/* Before every input: the Raft node may have appeared or failed meanwhile. */
static hs_cfgc *core(hsd *d)
{
    hs_cfgc_attach_raft(d->sync->core, hsd_raft_node(d), hsd_raft_applied(d));
    return d->sync->core;
}

static struct evhttp_request *take_waiter(hsd *d, uint64_t op)
{
    for (waiter **pp = &d->sync->waiters; *pp; pp = &(*pp)->next)
        if ((*pp)->op == op) {
            waiter *w = *pp;
            struct evhttp_request *req = w->req;
            *pp = w->next;
            free(w);
            return req;
        }
    return NULL;
}

/* Performs the core's outputs; call after every input. */
static void flush(hsd *d)
{
    struct hsd_sync *S = d->sync;
    hs_cfgc_msg m;
    while (hs_cfgc_next_msg(S->core, &m)) hsd_tcp_send(d, &m.to, m.data, m.len);
    uint64_t oversize = hs_cfgc_get_stats(S->core)->oversize;
    d->c.drops[HSD_DROP_OVERSIZE] += oversize - S->oversize;
    S->oversize = oversize;
    hs_cfgc_done done;
    while (hs_cfgc_next_done(S->core, &done)) {
        struct evhttp_request *req = take_waiter(d, done.op);
        /* if the client went away meanwhile evhttp detached the request, and answering it
         * now frees it */
        if (req)
            hsd_http_op_done(d, req, done.kind, done.result, done.key, done.value, done.found,
                             done.version);
        sodium_memzero(done.value, sizeof(done.value));
    }
    hs_addr from;
    if (hs_cfgc_take_installed(S->core, &from)) installed(d, &from);
    if (hs_cfgc_take_raft_work(S->core)) hsd_raft_drive(d);
    uint64_t now = hsd_now_ms(), dl = hs_cfgc_next_deadline(S->core);
    uint64_t delay = dl > now ? dl - now : 0;
    if (delay > TIMER_MAX_MS) delay = TIMER_MAX_MS;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(S->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    hs_cfgc_tick(core(d), hsd_now_ms());
    flush(d);
}

void hsd_op_start(hsd *d, int kind, const char *key, const char *value, struct evhttp_request *req)
{
    waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        hsd_http_op_done(d, req, kind, HSD_OP_TIMEOUT, key, NULL, false, 0);
        return;
    }
    const char *idem = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
    w->op = hs_cfgc_start(core(d), hsd_now_ms(), kind, key, value, idem);
    w->req = req;
    w->next = d->sync->waiters;
    d->sync->waiters = w;
    flush(d);
}

void hsd_sync_receive(hsd *d, const hs_addr *from, const uint8_t *data, size_t len)
{
    if (data[0] < HS_MSG_CONFIG_FETCH || data[0] > HS_MSG_CONFIG_FWD_RESP) {
        d->c.drops[HSD_DROP_CONFIG_DISABLED]++;
        return;
    }
    if (hs_cfgc_receive(core(d), hsd_now_ms(), from, data, len) != 0)
        d->c.drops[HSD_DROP_MALFORMED]++;
    flush(d);
}

void hsd_sync_config_seen(hsd *d, const hs_event *ev)
{
    if (!d->sync) return;
    hs_cfgc_version_seen(core(d), hsd_now_ms(), &ev->addr, ev->config_version);
    flush(d);
}

void hsd_sync_on_applied(hsd *d, uint64_t index, uint64_t term, const hs_cc_outcome *o)
{
    if (!d->sync) return;
    hs_cfgc_applied(core(d), hsd_now_ms(), index, term, o);
    flush(d);
}

void hsd_sync_on_restored(hsd *d, uint64_t index)
{
    if (!d->sync) return;
    hs_cfgc_restored(core(d), hsd_now_ms(), index);
    flush(d);
}

void hsd_sync_on_read(hsd *d, uint64_t ctx, uint64_t index)
{
    hs_cfgc_read_state(core(d), hsd_now_ms(), ctx, index);
    flush(d);
}

void hsd_sync_on_role(hsd *d)
{
    hs_cfgc_role_changed(core(d), hsd_now_ms());
    flush(d);
}

const char *hsd_sync_leader(const hsd *d)
{
    if (!d->sync) return NULL;
    hs_cfgc_attach_raft(d->sync->core, hsd_raft_node(d), hsd_raft_applied(d));
    return hs_cfgc_leader(d->sync->core, hsd_now_ms());
}

int hsd_sync_init(hsd *d)
{
    d->sync = calloc(1, sizeof(*d->sync));
    if (!d->sync) return -1;
    struct hsd_sync *S = d->sync;
    hs_cfgc_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    randombytes_buf(&cfg.rng_seed, sizeof(cfg.rng_seed));
    cfg.seed = hsd_is_seed(d);
    for (size_t i = 0; i < d->opt.seed_count && i < HS_CFGC_SEEDS_MAX; i++) {
        snprintf(cfg.seeds[i].name, sizeof(cfg.seeds[i].name), "%s", d->opt.seeds[i].name);
        cfg.seeds[i].addr = d->opt.seeds[i].addr;
        cfg.n_seeds++;
    }
    S->buf = malloc(HS_CC_SERIALIZED_MAX);
    S->timer = evtimer_new(d->base, on_timer, d);
    if (!S->buf || !S->timer) return -1;
    if (!cfg.seed) load_config(d);
    S->core = hs_cfgc_new(&cfg, d->cc, hsd_now_ms());
    if (!S->core) return -1;
    flush(d);
    return 0;
}

void hsd_sync_free(hsd *d)
{
    struct hsd_sync *S = d->sync;
    if (!S) return;
    while (S->waiters) {
        waiter *w = S->waiters;
        S->waiters = w->next;
        free(w);
    }
    hs_cfgc_free(S->core);
    if (S->timer) event_free(S->timer);
    free(S->buf);
    free(S);
    d->sync = NULL;
}
