/* main.c: hearsayd startup and shutdown: options, key ring, data dir, sockets, the node, config
 * distribution, Raft (on a seed), the HTTP API, signals and sd_notify, then the libevent loop
 * until a leave completes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon.h"
#include "failpoint.h"
#include "hearsay/cluster_config.h"
#include "raft_storage.h"
#include "log.h"
#include "net.h"

static int dev_defaults(hsd *d)
{
    hsd_options *o = &d->opt;
    char tmpl[] = "/tmp/hearsay-dev-XXXXXX";
    if (!mkdtemp(tmpl)) {
        log_err("cannot create a temporary directory: %s", strerror(errno));
        return -1;
    }
    snprintf(d->dev_dir, sizeof(d->dev_dir), "%s", tmpl);
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

static void dev_cleanup(hsd *d)
{
    if (!d->dev_dir[0]) return;
    static const char *const files[] = {
        "data/incarnation",        "data/members.json",  "data/incarnation.tmp",
        "data/members.json.tmp",   "data/config.bin",    "data/config.bin.tmp",
        "data/raft/log",           "data/raft/log.tmp",  "data/raft/hardstate",
        "data/raft/hardstate.tmp", "data/raft/snapshot", "data/raft/snapshot.tmp",
        "data/raft/commit",        "data/lock",          "api.sock"};
    char p[HSD_PATH_MAX + 64];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", d->dev_dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/data/raft", d->dev_dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/data", d->dev_dir);
    rmdir(p);
    rmdir(d->dev_dir);
}

static int setup_keys(hsd *d)
{
    if (hs_env_init(&d->env, d->opt.cluster, d->opt.insecure) != 0) {
        log_err("cannot initialise libsodium or bad cluster name");
        return -1;
    }
    if (d->opt.insecure) {
        log_warn("running INSECURE: gossip is neither encrypted nor authenticated");
        return 0;
    }
    char err[512];
    int rc = hsd_load_key_file(&d->env, d->opt.key_file, err, sizeof(err));
    if (rc != 0) {
        log_err("%s", err);
        return rc;
    }
    bool saved = false;
    rc = hsd_keys_load_saved(d, &saved, err, sizeof(err));
    if (rc != 0) {
        log_err("%s", err);
        return rc;
    }
    if (saved)
        log_info("key ring loaded: %zu key(s) from %s/keyring (the last replicated ring; the "
                 "key file counts only when that file is absent)",
                 d->env.key_count, d->opt.data_dir);
    else
        log_info("key ring loaded: %zu key(s)", d->env.key_count);
    return 0;
}

/* The secure channel around the envelope: a new instance and cookie secret every start. */
static int setup_channel(hsd *d)
{
    hs_ch_cfg c;
    hs_ch_cfg_default(&c);
    while (!c.instance) randombytes_buf(&c.instance, sizeof(c.instance));
    randombytes_buf(c.secret, sizeof(c.secret));
    d->ch = hs_channel_new(&c, &d->env, hsd_now_ms());
    sodium_memzero(c.secret, sizeof(c.secret));
    if (!d->ch) {
        log_err("cannot create the secure channel");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static hsd D;
    hsd *d = &D;
    d->udp_fd = -1;
    d->http_fd = -1;
    d->lock_fd = -1;
    d->argc = argc;
    d->argv = argv;
    d->start_mono_ms = hsd_now_ms();
    char err[512];
    if (hsd_options_parse(&d->opt, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "hearsayd: %s\n", err);
        return HSD_EXIT_CONFIG;
    }
    HSD_FAILPOINT("hearsayd", "start"); /* lets a test see whether failpoints are compiled in */
    if (d->opt.help) {
        hsd_options_usage(stdout);
        return 0;
    }
    if (d->opt.version) {
        printf("hearsayd 0.1.0\n");
        return 0;
    }
    hsd_log_set_level(d->opt.log_level);
    if (d->opt.dev && dev_defaults(d) != 0) return HSD_EXIT_ERROR;
    if (hsd_options_check(&d->opt, err, sizeof(err)) != 0) {
        fprintf(stderr, "hearsayd: %s\n", err);
        hsd_options_usage(stderr);
        return HSD_EXIT_CONFIG;
    }
    if (d->opt.have_advertise) {
        d->advertise = d->opt.advertise;
        if (hsd_addr_is_wildcard(&d->advertise) || d->advertise.port == 0) {
            fprintf(stderr, "hearsayd: --advertise must be a concrete HOST:PORT\n");
            return HSD_EXIT_CONFIG;
        }
    } else if (hsd_addr_is_wildcard(&d->opt.bind)) {
        fprintf(stderr, "hearsayd: --bind is a wildcard address; give --advertise HOST:PORT\n");
        return HSD_EXIT_CONFIG;
    }

    if (d->opt.raft_reset) { /* an offline repair: no sockets, no keys */
        int st = hsd_state_prepare(d);
        if (st == 0) st = hsd_raft_reset(d->opt.data_dir);
        hsd_state_release(d);
        return st < 0 ? HSD_EXIT_ERROR : st;
    }

    int rc = HSD_EXIT_ERROR, st;
    if ((st = setup_keys(d)) != 0 || (st = setup_channel(d)) != 0 ||
        (st = hsd_state_prepare(d)) != 0) {
        if (st > 0) rc = st;
        goto out;
    }
    d->base = event_base_new();
    if (!d->base) goto out;
    if (hsd_udp_open(d) != 0 || hsd_tcp_open(d) != 0) goto out;
    if (!d->opt.have_advertise) d->advertise = d->opt.bind;
    if (hsd_events_init(d) != 0) goto out;
    if (hsd_handlers_init(d) != 0) goto out;
    if (hsd_http_open(d) != 0) goto out;
    d->cc = malloc(sizeof(*d->cc));
    if (!d->cc) goto out;
    hs_cc_init(d->cc);
    if (hsd_driver_start(d) != 0) goto out;
    if (hsd_sync_init(d) != 0) goto out;
    if (hsd_keys_init(d) != 0) goto out;
    if ((st = hsd_raft_start(d)) != 0) {
        if (st > 0) rc = st;
        goto out;
    }
    if (hsd_signals_init(d) != 0) goto out;
    hsd_notify_init(d);

    char b1[HS_ADDR_STRLEN], b2[HS_ADDR_STRLEN];
    log_info("hearsayd %s started: cluster %s, bind %s, advertise %s, socket %s", d->opt.name,
             d->opt.cluster, hs_addr_format(&d->opt.bind, b1, sizeof(b1)),
             hs_addr_format(&d->advertise, b2, sizeof(b2)), d->opt.socket_path);
    if (d->opt.dev) {
        printf("hearsayd dev agent %s on %s\nsocket: %s\n"
               "try: curl --unix-socket %s http://localhost/v1/members\n",
               d->opt.name, b1, d->opt.socket_path, d->opt.socket_path);
        fflush(stdout);
    }
    hsd_notify_ready(d);
    if (event_base_dispatch(d->base) < 0) goto out;
    rc = 0;
out:
    hsd_notify_stopping(d);
    hsd_notify_free(d);
    hsd_signals_free(d);
    hsd_handlers_free(d);
    hsd_events_free(d);
    hsd_http_close(d);
    hsd_keys_free(d);
    hsd_sync_free(d);
    hsd_raft_stop(d);
    hsd_driver_stop(d);
    free(d->cc);
    hsd_tcp_close(d);
    hsd_udp_close(d);
    hs_channel_free(d->ch);
    hs_env_clear(&d->env);
    if (d->base) event_base_free(d->base);
    hsd_state_release(d);
    dev_cleanup(d);
    if (rc != 0) log_err("hearsayd exiting on error (exit status %d)", rc);
    return rc;
}
