/* main.c: hearsayd start-up and shutdown: options, the data dir, the engine (engine.c: key
 * ring, channel, transports, Raft storage, the agent core), the HTTP front-end, handlers,
 * signals and sd_notify; then the loop until a leave has been gossiped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "exit_status.h"
#include "failpoint.h"
#include "handlers.h"
#include "http.h"
#include "json_util.h"
#include "log.h"
#include "net.h"
#include "raft_storage.h"
#include "sd_notify.h"
#include "signals.h"
#include "state.h"

static char dev_dir[HSD_PATH_MAX];

/* --dev: an agent of its own in a fresh temporary directory, insecure unless a key is given. */
static int dev_defaults(hsd_options *o)
{
    char tmpl[] = "/tmp/hearsay-dev-XXXXXX";
    if (!mkdtemp(tmpl)) {
        log_err("cannot create a temporary directory: %s", strerror(errno));
        return -1;
    }
    snprintf(dev_dir, sizeof(dev_dir), "%s", tmpl);
    if (!o->name[0]) strcpy(o->name, "dev");
    if (!o->have_bind) {
        o->bind = hs_addr_v4(127, 0, 0, 1, HSD_DEFAULT_PORT);
        o->have_bind = true;
    }
    if (!o->data_dir[0]) snprintf(o->data_dir, sizeof(o->data_dir), "%s/data", tmpl);
    if (!o->socket_path[0]) snprintf(o->socket_path, sizeof(o->socket_path), "%s/api.sock", tmpl);
    if (!o->key_file[0]) o->insecure = true;
    return 0;
}

static void dev_cleanup(void)
{
    if (!dev_dir[0]) return;
    static const char *const files[] = {"data/incarnation",
                                        "data/members.json",
                                        "data/incarnation.tmp",
                                        "data/members.json.tmp",
                                        "data/config.bin",
                                        "data/config.bin.tmp",
                                        "data/raft/log",
                                        "data/raft/log.tmp",
                                        "data/raft/hardstate",
                                        "data/raft/hardstate.tmp",
                                        "data/raft/snapshot",
                                        "data/raft/snapshot.tmp",
                                        "data/raft/commit",
                                        "data/keyring",
                                        "data/keyring.tmp",
                                        "data/lock",
                                        "api.sock"};
    char p[HSD_PATH_MAX + 64];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dev_dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/data/raft", dev_dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/data", dev_dir);
    rmdir(p);
    rmdir(dev_dir);
}

/* The journal: every event as one log line (a subscriber like the others). */
static void log_event(void *arg, const hs_agent_event *ev, uint64_t id, uint64_t unix_ms)
{
    (void)arg;
    if (hs_event_kind_fields(ev->kind) & HS_EVF_USER) { /* may be hundreds a second */
        log_debug("%s %s from %s (%s, Lamport time %llu, %zu bytes)", hs_event_kind_name(ev->kind),
                  ev->user_name, ev->name, ev->user_id, (unsigned long long)ev->ltime,
                  ev->payload_len);
        return;
    }
    json_t *o = hsd_json_event(ev, id, unix_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text) log_info("event %s", text);
    free(text);
}

/* Options as the interface contract has them; an exit status, or -1 to go on. */
static int options(hsd_options *o, int argc, char **argv)
{
    char err[512];
    if (hsd_options_parse(o, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "hearsayd: %s\n", err);
        return HSD_EXIT_CONFIG;
    }
    HSD_FAILPOINT("hearsayd", "start"); /* lets a test see whether failpoints are compiled in */
    if (o->help) {
        hsd_options_usage(stdout);
        return 0;
    }
    if (o->version) {
        printf("hearsayd 0.1.0\n");
        return 0;
    }
    hsd_log_set_level(o->log_level);
    if (o->dev && dev_defaults(o) != 0) return HSD_EXIT_ERROR;
    if (hsd_options_check(o, err, sizeof(err)) != 0) {
        fprintf(stderr, "hearsayd: %s\n", err);
        hsd_options_usage(stderr);
        return HSD_EXIT_CONFIG;
    }
    if (o->have_advertise) {
        if (hsd_addr_is_wildcard(&o->advertise) || o->advertise.port == 0) {
            fprintf(stderr, "hearsayd: --advertise must be a concrete HOST:PORT\n");
            return HSD_EXIT_CONFIG;
        }
    } else if (hsd_addr_is_wildcard(&o->bind)) {
        fprintf(stderr, "hearsayd: --bind is a wildcard address; give --advertise HOST:PORT\n");
        return HSD_EXIT_CONFIG;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static hsd_options opt;
    int rc = options(&opt, argc, argv);
    if (rc >= 0) return rc;
    if (opt.raft_reset) { /* an offline repair: no sockets, no keys */
        int st = hsd_state_prepare(opt.data_dir);
        if (st == 0) st = hsd_raft_reset(opt.data_dir);
        hsd_state_release();
        return st < 0 ? HSD_EXIT_ERROR : st;
    }
    rc = HSD_EXIT_ERROR;
    hsd_engine *e = NULL;
    int st = hsd_state_prepare(opt.data_dir);
    if (st != 0) {
        rc = st;
        goto out;
    }
    e = hsd_engine_new(&opt, &st);
    if (!e) {
        rc = st ? st : HSD_EXIT_ERROR;
        goto out;
    }
    if (hsd_engine_subscribe(e, log_event, NULL) != 0 || hsd_handlers_init(e) != 0 ||
        hsd_http_open(e) != 0 || hsd_signals_init(e, argc, argv) != 0)
        goto out;
    hsd_notify_init(e);
    hsd_engine_start(e);

    char b1[HS_ADDR_STRLEN], b2[HS_ADDR_STRLEN];
    hs_addr adv = hsd_engine_advertise(e);
    log_info("hearsayd %s started: cluster %s, bind %s, advertise %s, socket %s", opt.name,
             opt.cluster, hs_addr_format(&opt.bind, b1, sizeof(b1)),
             hs_addr_format(&adv, b2, sizeof(b2)), opt.socket_path);
    if (opt.dev) {
        printf("hearsayd dev agent %s on %s\nsocket: %s\n"
               "try: curl --unix-socket %s http://localhost/v1/members\n",
               opt.name, b1, opt.socket_path, opt.socket_path);
        fflush(stdout);
    }
    hsd_notify_ready();
    if (hsd_engine_run(e) == 0) rc = hsd_engine_exit_status(e);
out:
    hsd_notify_stopping();
    hsd_notify_free();
    hsd_signals_free();
    hsd_handlers_free();
    hsd_http_close();
    hsd_engine_free(e);
    hsd_state_release();
    dev_cleanup();
    if (rc != 0) log_err("hearsayd exiting on error (exit status %d)", rc);
    return rc;
}
