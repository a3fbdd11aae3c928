/* signals.c: SIGTERM/SIGINT start a graceful leave (the loop runs ~500 ms more to gossip it,
 * then the daemon exits 0; a second signal exits at once); SIGHUP re-reads the config file,
 * applies the options marked reloadable (options.c) and warns about the others. SIGPIPE is
 * ignored. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "signals.h"

static struct {
    hsd_engine *e;
    int argc;
    char **argv;
    hsd_watch *w[3];
} S;

static void reload(void)
{
    hsd_options o;
    char err[512];
    if (hsd_options_parse(&o, S.argc, S.argv, err, sizeof(err)) != 0) {
        log_err("reload failed, keeping the current settings: %s", err);
        return;
    }
    char fixed[256];
    const hsd_options *running = hsd_engine_options(S.e);
    if (!running->dev && hsd_options_restart_needed(running, &o, fixed, sizeof(fixed)))
        log_warn("reload: %s changed; that needs a restart, the old value stays", fixed);
    hsd_log_set_level(o.log_level);
    hsd_handlers_reload(&o);
    hs_member_info mi;
    const hs_node *node = hs_agent_node(hsd_engine_agent(S.e));
    bool same = hs_node_find(node, hsd_engine_options(S.e)->name, &mi) &&
                mi.tags.len == o.tags_len &&
                (o.tags_len == 0 || memcmp(mi.tags.data, o.tags, o.tags_len) == 0);
    if (!same && hsd_engine_set_tags(S.e, (hs_tags){o.tags, o.tags_len}) != 0)
        log_err("reload: tags rejected (malformed or too large)");
    log_info("configuration reloaded");
}

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload();
        return;
    }
    if (hsd_engine_leaving(S.e)) {
        log_info("second signal, exiting now");
        hsd_engine_stop(S.e);
        return;
    }
    log_info("got %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    hsd_engine_leave(S.e);
}

static void on_term(void *arg)
{
    (void)arg;
    on_signal(SIGTERM);
}

static void on_int(void *arg)
{
    (void)arg;
    on_signal(SIGINT);
}

static void on_hup(void *arg)
{
    (void)arg;
    on_signal(SIGHUP);
}

int hsd_signals_init(hsd_engine *e, int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    S.e = e;
    S.argc = argc;
    S.argv = argv;
    const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    const hsd_watch_fn fns[3] = {on_term, on_int, on_hup};
    for (int i = 0; i < 3; i++) {
        S.w[i] = hsd_signal_watch_new(e, sigs[i], fns[i], NULL);
        if (hsd_watch_start(S.w[i], 0) != 0) return -1;
    }
    return 0;
}

void hsd_signals_free(void)
{
    for (int i = 0; i < 3; i++) {
        hsd_watch_free(S.w[i]);
        S.w[i] = NULL;
    }
}
