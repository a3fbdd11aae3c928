/* node_driver.c: owns the hs_node. Feeds it received messages and the monotonic time, then
 * after every input drains its outgoing packets (datagram -> UDP, stream -> TCP) and its
 * events, and re-arms the single libevent timer at hs_node_next_deadline. */
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "daemon.h"
#include "hearsay/cluster_config.h"
#include "hearsay/raft.h"
#include "hearsay/wire.h"
#include "log.h"

#define TIMER_MAX_MS 60000
#define DRAIN_MAX    4096 /* packets/events handled per drive, so the loop stays responsive */

static const char *const drop_names[HSD_DROP_COUNT] = {
    [HSD_DROP_EMPTY] = "empty",
    [HSD_DROP_UNKNOWN_TYPE] = "unknown_type",
    [HSD_DROP_RAFT_DISABLED] = "raft_disabled",
    [HSD_DROP_CONFIG_DISABLED] = "config_disabled",
    [HSD_DROP_OVERSIZE] = "oversize",
    [HSD_DROP_SEND_FAILED] = "send_failed",
    [HSD_DROP_SEAL_FAILED] = "seal_failed",
    [HSD_DROP_CONN_LIMIT] = "conn_limit",
    [HSD_DROP_LEAVING] = "leaving",
    [HSD_DROP_MALFORMED] = "malformed",
    [HSD_DROP_RAFT_NOT_FOR_US] = "raft_refused",
    [HSD_DROP_HANDSHAKE_TIMEOUT] = "handshake_timeout",
    [HSD_DROP_PREAUTH_LIMIT] = "preauth_limit",
};

const char *hsd_drop_name(int reason)
{
    if (reason < 0 || reason >= HSD_DROP_COUNT) return "unknown";
    return drop_names[reason];
}

uint64_t hsd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hsd_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void rearm(hsd *d)
{
    uint64_t now = hsd_now_ms();
    uint64_t deadline = hs_node_next_deadline(d->node);
    uint64_t delay = deadline > now ? deadline - now : 0;
    if (delay > TIMER_MAX_MS) delay = TIMER_MAX_MS;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(d->timer, &tv);
}

void hsd_drive(hsd *d)
{
    if (!d->node) return;
    hs_packet p;
    for (int i = 0; i < DRAIN_MAX && hs_node_next_packet(d->node, &p); i++) {
        if (p.stream)
            hsd_tcp_send(d, &p.to, p.data, p.len);
        else
            hsd_udp_send(d, &p.to, p.data, p.len);
    }
    hs_event ev;
    for (int i = 0; i < DRAIN_MAX && hs_node_next_event(d->node, &ev); i++) {
        if (ev.type == HS_EV_INCARNATION) {
            d->incarnation = ev.incarnation;
            hsd_state_save_incarnation(d, ev.incarnation);
            continue;
        }
        if (ev.type == HS_EV_CONFIG_SEEN) {
            /* the config-change event is published once the new version is installed */
            hsd_sync_config_seen(d, &ev);
            continue;
        }
        if (ev.type == HS_EV_JOIN || ev.type == HS_EV_UPDATE || ev.type == HS_EV_LEFT ||
            ev.type == HS_EV_REAP || ev.type == HS_EV_FAILED)
            d->members_dirty = true;
        hsd_events_publish(d, &ev);
        if (ev.type != HS_EV_UPDATE) hsd_notify_status(d);
    }
    rearm(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    hs_node_tick(d->node, hsd_now_ms());
    hsd_drive(d);
}

static void on_save_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    if (d->members_dirty) {
        d->members_dirty = false;
        hsd_state_save_members(d);
    }
}

static size_t count_peers(hsd *d, bool alive_only)
{
    size_t n = 0, total = hs_node_member_count(d->node);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(d->node, i, &mi) && !mi.is_self &&
            (!alive_only || mi.status == HS_ALIVE || mi.status == HS_SUSPECT))
            n++;
    return n;
}

/* Joins the members saved in the data dir (used when no --join/--seed answered). */
static void join_saved(hsd *d)
{
    hs_addr addrs[64];
    size_t n = hsd_state_load_members(d, addrs, 64);
    if (n == 0) return;
    log_info("rejoining %zu saved member(s)", n);
    hs_node_join(d->node, hsd_now_ms(), addrs, n);
    hsd_drive(d);
}

static void on_rejoin_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    if (count_peers(d, true) == 0) join_saved(d);
}

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    log_info("leave gossiped, exiting");
    event_base_loopexit(d->base, NULL);
}

void hsd_begin_leave(hsd *d)
{
    if (d->leaving) return;
    d->leaving = true;
    hsd_notify_stopping(d);
    log_info("leaving the cluster");
    hs_node_leave(d->node, hsd_now_ms());
    hsd_drive(d);
    struct timeval tv = {0, 500000};
    evtimer_add(d->exit_timer, &tv);
}

int hsd_peer_class(const hsd *d, const hs_addr *a)
{
    for (size_t i = 0; i < d->opt.seed_count; i++)
        if (hs_addr_equal(&d->opt.seeds[i].addr, a)) return HSD_PEER_SEED;
    hs_raft *r = hsd_raft_node(d);
    const hs_raft_conf *conf = r ? hs_raft_get_conf(r) : NULL;
    for (uint32_t i = 0; conf && i < conf->n; i++)
        if (hs_addr_equal(&conf->peers[i].addr, a)) return HSD_PEER_SEED;
    for (uint32_t i = 0; d->cc && i < d->cc->n_seeds; i++)
        if (hs_addr_equal(&d->cc->seeds[i].addr, a)) return HSD_PEER_SEED;
    if (!d->node) return HSD_PEER_OTHER;
    size_t total = hs_node_member_count(d->node);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(d->node, i, &mi) && hs_addr_equal(&mi.addr, a))
            return mi.status == HS_ALIVE || mi.status == HS_SUSPECT ? HSD_PEER_MEMBER
                                                                    : HSD_PEER_OTHER;
    return HSD_PEER_OTHER;
}

void hsd_dispatch(hsd *d, const hs_addr *from, const uint8_t *data, size_t len, bool stream)
{
    if (len == 0) {
        d->c.drops[HSD_DROP_EMPTY]++;
        return;
    }
    uint8_t t = data[0];
    if (hs_msg_is_channel(t)) {
        d->c.drops[HSD_DROP_UNKNOWN_TYPE]++; /* the channel consumes these before dispatch */
    } else if (hs_msg_is_membership(t)) {
        hs_node_receive(d->node, hsd_now_ms(), from, data, len, stream);
        hsd_drive(d);
    } else if (hs_msg_is_raft(t)) {
        if (stream)
            hsd_raft_receive(d, from, data, len);
        else
            d->c.drops[HSD_DROP_UNKNOWN_TYPE]++; /* Raft and config travel over TCP only */
    } else if (t == HS_MSG_KEYS_QUERY || t == HS_MSG_KEYS_STATE) {
        hsd_keys_receive(d, from, data, len); /* small; datagram or stream */
    } else if (hs_msg_is_config(t)) {
        if (stream)
            hsd_sync_receive(d, from, data, len);
        else
            d->c.drops[HSD_DROP_UNKNOWN_TYPE]++;
    } else {
        d->c.drops[HSD_DROP_UNKNOWN_TYPE]++;
    }
}

int hsd_driver_start(hsd *d)
{
    hs_config cfg;
    hs_config_default(&cfg);
    strcpy(cfg.name, d->opt.name);
    if (d->opt.reap_failed_s) cfg.reap_failed_ms = d->opt.reap_failed_s * 1000;
    if (d->opt.reap_left_s) cfg.reap_left_ms = d->opt.reap_left_s * 1000;
    cfg.addr = d->advertise;
    d->incarnation = hsd_state_load_incarnation(d);
    uint64_t seed;
    randombytes_buf(&seed, sizeof(seed));
    hs_tags tags = {d->opt.tags, d->opt.tags_len};
    d->node = hs_node_new(&cfg, tags, d->incarnation, hsd_now_ms(), seed);
    if (!d->node) {
        log_err("cannot create the membership node (bad name, address or tags?)");
        return -1;
    }
    d->timer = evtimer_new(d->base, on_timer, d);
    d->save_timer = event_new(d->base, -1, EV_PERSIST, on_save_timer, d);
    d->rejoin_timer = evtimer_new(d->base, on_rejoin_timer, d);
    d->exit_timer = evtimer_new(d->base, on_exit_timer, d);
    if (!d->timer || !d->save_timer || !d->rejoin_timer || !d->exit_timer) return -1;
    struct timeval two = {2, 0};
    event_add(d->save_timer, &two);

    /* join --join addresses and the seeds (other than ourselves) */
    hs_addr addrs[HSD_JOINS_MAX + HSD_SEEDS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < d->opt.join_count; i++)
        if (!hs_addr_equal(&d->opt.joins[i], &d->advertise)) addrs[n++] = d->opt.joins[i];
    for (size_t i = 0; i < d->opt.seed_count; i++)
        if (strcmp(d->opt.seeds[i].name, d->opt.name) != 0 &&
            !hs_addr_equal(&d->opt.seeds[i].addr, &d->advertise))
            addrs[n++] = d->opt.seeds[i].addr;
    uint64_t now = hsd_now_ms();
    if (n > 0) {
        log_info("joining %zu address(es)", n);
        hs_node_join(d->node, now, addrs, n);
        struct timeval five = {5, 0};
        evtimer_add(d->rejoin_timer, &five);
    } else {
        join_saved(d);
    }
    hsd_drive(d);
    return 0;
}

void hsd_driver_stop(hsd *d)
{
    if (d->node && d->members_dirty) hsd_state_save_members(d);
    struct event **evs[] = {&d->timer, &d->save_timer, &d->rejoin_timer, &d->exit_timer};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (*evs[i]) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    if (d->node) hs_node_free(d->node);
    d->node = NULL;
}
