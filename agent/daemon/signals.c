/* signals.c: SIGTERM/SIGINT start a graceful leave (the loop runs ~500 ms more to gossip it,
 * then the daemon exits 0; a second signal exits at once); SIGHUP re-reads the config file,
 * applies the options marked reloadable (options.c) and warns about the others. SIGPIPE is
 * ignored. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static void reload(hsd *d)
{
    hsd_options o;
    char err[512];
    if (hsd_options_parse(&o, d->argc, d->argv, err, sizeof(err)) != 0) {
        log_err("reload failed, keeping the current settings: %s", err);
        return;
    }
    char fixed[256];
    if (!d->opt.dev && hsd_options_restart_needed(&d->opt, &o, fixed, sizeof(fixed)))
        log_warn("reload: %s changed; that needs a restart, the old value stays", fixed);
    hsd_log_set_level(o.log_level);
    hsd_handlers_reload(d, &o);
    hs_member_info mi;
    bool same = hs_node_find(d->node, d->opt.name, &mi) && mi.tags.len == o.tags_len &&
                (o.tags_len == 0 || memcmp(mi.tags.data, o.tags, o.tags_len) == 0);
    if (!same) {
        hs_tags t = {o.tags, o.tags_len};
        if (hs_node_set_tags(d->node, hsd_now_ms(), t) != 0) {
            log_err("reload: tags rejected (malformed or too large)");
        } else {
            memcpy(d->opt.tags, o.tags, sizeof(o.tags));
            d->opt.tags_len = o.tags_len;
            hsd_drive(d);
        }
    }
    d->opt.log_level = o.log_level;
    log_info("configuration reloaded");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    hsd *d = arg;
    if (sig == SIGHUP) {
        reload(d);
        return;
    }
    if (d->leaving) {
        log_info("second signal, exiting now");
        event_base_loopexit(d->base, NULL);
        return;
    }
    log_info("got %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    hsd_begin_leave(d);
}

int hsd_signals_init(hsd *d)
{
    signal(SIGPIPE, SIG_IGN);
    int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        d->sig_ev[i] = evsignal_new(d->base, sigs[i], on_signal, d);
        if (!d->sig_ev[i] || event_add(d->sig_ev[i], NULL) != 0) return -1;
    }
    return 0;
}

void hsd_signals_free(hsd *d)
{
    for (int i = 0; i < 3; i++)
        if (d->sig_ev[i]) {
            event_free(d->sig_ev[i]);
            d->sig_ev[i] = NULL;
        }
}
