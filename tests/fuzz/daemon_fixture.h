/* daemon_fixture.h: a hearsayd started in-process the way agent/daemon/main.c does, for the
 * daemon-level harnesses (fuzz_http, fuzz_dispatch): insecure, data dir and API socket in a
 * fresh /tmp directory (removed at exit), the membership node, config distribution and Raft.
 * The UDP and TCP transports are NOT opened, so nothing an input makes the daemon send leaves
 * the process. The agent is named "fuzz"; with three_seeds it is one of the seeds fuzz,
 * seed-b, seed-c (so Raft messages from b and c are from members), otherwise the only seed
 * (so it elects itself and commits configuration changes alone). */
#ifndef HS_FUZZ_DAEMON_FIXTURE_H
#define HS_FUZZ_DAEMON_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "hearsay/cluster_config.h"
#include "log.h"

static hsd D;
static char fixture_dir[64];

static int fixture_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void fixture_cleanup(void)
{
    hsd_http_close(&D);
    if (fixture_dir[0]) nftw(fixture_dir, fixture_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* Runs the event loop without blocking. */
static void fixture_pump(int rounds)
{
    for (int i = 0; i < rounds; i++) event_base_loop(D.base, EVLOOP_NONBLOCK);
}

static void fixture_start_node(void)
{
    if (hsd_driver_start(&D) != 0) abort();
    hs_node_set_config_version(D.node, D.cc->version);
}

/* After an input made the agent leave: a fresh node, so every input meets the same daemon. */
static void fixture_undo_leave(void)
{
    if (!D.leaving) return;
    hsd_driver_stop(&D);
    D.leaving = false;
    fixture_start_node();
    fixture_pump(2);
}

static void fixture_setup(bool three_seeds)
{
    if (D.base) return;
    hsd *d = &D;
    d->udp_fd = -1;
    d->http_fd = -1;
    d->start_mono_ms = hsd_now_ms();
    hsd_log_set_level(HSD_LOG_ERR);
    snprintf(fixture_dir, sizeof(fixture_dir), "/tmp/hearsay-fuzz-XXXXXX");
    if (!mkdtemp(fixture_dir)) abort();
    atexit(fixture_cleanup);
    char *argv[] = {"hearsayd",
                    "--name",
                    "fuzz",
                    "--bind",
                    "127.0.0.1:7946",
                    "--insecure",
                    "--seed",
                    "fuzz=127.0.0.1:7946",
                    "--seed",
                    "seed-b=127.0.0.2:7946",
                    "--seed",
                    "seed-c=127.0.0.3:7946",
                    NULL};
    int argc = three_seeds ? 12 : 8;
    char err[512];
    if (hsd_options_parse(&d->opt, argc, argv, err, sizeof(err)) != 0) abort();
    snprintf(d->opt.socket_path, sizeof(d->opt.socket_path), "%s/api.sock", fixture_dir);
    snprintf(d->opt.data_dir, sizeof(d->opt.data_dir), "%s/data", fixture_dir);
    static const char tags[] = "role=fuzz";
    memcpy(d->opt.tags, tags, sizeof(tags));
    d->opt.tags_len = sizeof(tags);
    d->advertise = d->opt.bind;
    if (hs_env_init(&d->env, d->opt.cluster, true) != 0) abort();
    hs_ch_cfg chc;
    hs_ch_cfg_default(&chc);
    chc.instance = 1;
    d->ch = hs_channel_new(&chc, &d->env, hsd_now_ms());
    if (!d->ch) abort();
    if (hsd_state_prepare(d) != 0) abort();
    d->base = event_base_new();
    if (!d->base) abort();
    if (hsd_events_init(d) != 0 || hsd_http_open(d) != 0) abort();
    d->cc = malloc(sizeof(*d->cc));
    if (!d->cc) abort();
    hs_cc_init(d->cc);
    fixture_start_node();
    if (hsd_sync_init(d) != 0 || hsd_keys_init(d) != 0 || hsd_raft_start(d) != 0) abort();
    /* alone in its group, the agent elects itself within an election timeout or two */
    uint64_t until = hsd_now_ms() + 3000;
    while (!three_seeds && hsd_now_ms() < until &&
           (!hsd_raft_node(d) || hs_raft_get_role(hsd_raft_node(d)) != HS_RAFT_LEADER)) {
        struct timeval tv = {0, 20000};
        event_base_loopexit(d->base, &tv);
        event_base_dispatch(d->base);
    }
}

#endif
