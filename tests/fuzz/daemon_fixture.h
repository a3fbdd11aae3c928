/* daemon_fixture.h: a hearsayd engine started in-process the way agent/daemon/main.c does, for
 * the daemon-level harnesses (fuzz_http, fuzz_dispatch): insecure, data dir and API socket in a
 * fresh /tmp directory (removed at exit), the agent core with its Raft storage, the HTTP
 * front-end. The transports are NOT opened (hsd_engine_new_offline), so nothing an input makes
 * the daemon send leaves the process. The agent is named "fuzz"; with three_seeds it is one of
 * the seeds fuzz, seed-b, seed-c (so Raft messages from b and c are from members), otherwise the
 * only seed (so it elects itself and commits configuration changes alone). */
#ifndef HS_FUZZ_DAEMON_FIXTURE_H
#define HS_FUZZ_DAEMON_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "state.h"

static hsd_engine *E;
static hsd_options fixture_opt;
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
    hsd_http_close();
    if (fixture_dir[0]) nftw(fixture_dir, fixture_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* Runs the event loop without blocking. */
static void fixture_pump(int rounds)
{
    for (int i = 0; i < rounds; i++) hsd_engine_run_once(E);
}

static void fixture_start_engine(void)
{
    int st;
    E = hsd_engine_new_offline(&fixture_opt, &st);
    if (!E || hsd_http_open(E) != 0) abort();
    hsd_engine_start(E);
}

/* After an input made the agent leave: a fresh engine, so every input meets the same daemon. */
static void fixture_undo_leave(void)
{
    if (!hsd_engine_leaving(E)) return;
    hsd_http_close();
    hsd_engine_free(E);
    fixture_start_engine();
    fixture_pump(2);
}

static void fixture_setup(bool three_seeds)
{
    if (E) return;
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
    if (hsd_options_parse(&fixture_opt, argc, argv, err, sizeof(err)) != 0) abort();
    snprintf(fixture_opt.socket_path, sizeof(fixture_opt.socket_path), "%s/api.sock", fixture_dir);
    snprintf(fixture_opt.data_dir, sizeof(fixture_opt.data_dir), "%s/data", fixture_dir);
    static const char tags[] = "role=fuzz";
    memcpy(fixture_opt.tags, tags, sizeof(tags));
    fixture_opt.tags_len = sizeof(tags);
    if (hsd_state_prepare(fixture_opt.data_dir) != 0) abort();
    fixture_start_engine();
    /* alone in its group, the agent elects itself within an election timeout or two */
    uint64_t until = hsd_now_ms() + 3000;
    while (!three_seeds && hsd_now_ms() < until) {
        const hs_raft *r = hs_agent_raft(hsd_engine_agent(E));
        if (r && hs_raft_get_role(r) == HS_RAFT_LEADER) break;
        hsd_engine_run_once(E);
        usleep(2000);
    }
}

#endif
