/* engine.c: the daemon's engine (engine.h): the loop's one timer at the agent's next deadline,
 * payloads from the transports into the agent, and after every input the agent's outputs
 * performed in one place: packets to the transports, events to the subscribers, finished
 * operations to whoever waits for them, notices to the log, state to the data dir. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "clock.h"
#include "engine.h"
#include "exit_status.h"
#include "hearsay/fd_settings.h"
#include "keyfile.h"
#include "log.h"
#include "net.h"
#include "raft_storage.h"
#include "resolver.h"
#include "state.h"
#include "targets.h"
#include "user_horizon.h"

#define TIMER_MAX_MS   60000
#define SUBSCRIBERS    8
#define SAVE_EVERY_S   2 /* the member list, when it changed */
#define REJOIN_AFTER_S 5 /* no live member yet: join the saved ones */
#define LEAVE_FLUSH_MS 500

typedef struct waiter {
    uint64_t op;
    hsd_done_fn fn;
    void *arg;
    hsd_reply_fn reply; /* queries: each acknowledgement and answer */
    struct waiter *next;
} waiter;

struct hsd_engine {
    hsd_options opt;
    struct event_base *base;
    hs_envelope env;
    hs_channel *ch;
    hsd_wire_stats wire;
    hsd_udp *udp;
    hsd_tcp *tcp;
    hsd_rstore st;
    bool have_st;
    hs_agent *agent;
    hs_addr advertise;
    hsd_resolver *resolver; /* host names (NULL offline) */
    hsd_targets *targets;   /* the join targets given by name, followed */
    uint64_t started_ms;
    struct event *timer, *save_timer, *rejoin_timer, *exit_timer;
    bool leaving, members_dirty, driving;
    int exit_status; /* what main returns once the loop ends (a name conflict: config) */
    waiter *waiters;
    struct {
        hsd_event_fn fn;
        void *arg;
    } subs[SUBSCRIBERS];
    size_t nsubs;
    uint64_t first_event_id, next_event_id, events_total;
    hsd_status_fn status_fn;
    void *status_arg;
    hsd_reach_fn reach_fn; /* waits for the running reachability test */
    void *reach_arg;
};

/* ---- performing the agent's outputs ---- */

static void publish(hsd_engine *e, const hs_agent_event *ev)
{
    uint64_t id = e->next_event_id++, at = hsd_unix_ms();
    e->events_total++;
    for (size_t i = 0; i < e->nsubs; i++) e->subs[i].fn(e->subs[i].arg, ev, id, at);
}

static void finish(hsd_engine *e, const hs_agent_done *d)
{
    for (waiter **pp = &e->waiters; *pp; pp = &(*pp)->next) {
        waiter *w = *pp;
        if (w->op != d->op) continue;
        *pp = w->next;
        w->fn(w->arg, d);
        free(w);
        return;
    }
}

static void reply(hsd_engine *e, const hs_agent_reply *r)
{
    for (waiter *w = e->waiters; w; w = w->next)
        if (w->op == r->op) {
            if (w->reply) w->reply(w->arg, r);
            return;
        }
}

static void persist(hsd_engine *e, unsigned what)
{
    const char *dir = e->opt.data_dir;
    if (what & HS_AGENT_SAVE_USER) hsd_user_horizon_save(dir, hs_agent_user_horizon(e->agent));
    if (what & HS_AGENT_SAVE_INCARNATION)
        hsd_state_save_incarnation(dir, hs_agent_incarnation(e->agent));
    if (what & HS_AGENT_SAVE_KEYRING) hsd_state_save_keyring(dir, &e->env);
    if (what & HS_AGENT_SAVE_CONFIG) hsd_state_save_config(dir, hs_agent_config(e->agent));
    if (what & HS_AGENT_SAVE_MEMBERS) e->members_dirty = true;
}

static void rearm(hsd_engine *e)
{
    uint64_t now = hsd_now_ms(), dl = hs_agent_next_deadline(e->agent);
    uint64_t delay = dl > now ? dl - now : 0;
    if (delay > TIMER_MAX_MS) delay = TIMER_MAX_MS;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(e->timer, &tv);
}

/* After every input into the agent. Outputs may call back into the engine (a subscriber
 * that answers, a waiter that starts the next step): those drain here too, in order. */
static void drive(hsd_engine *e)
{
    if (e->driving) return;
    e->driving = true;
    hs_agent_hold(e->agent, true); /* subscribers and waiters may call in while we drain */
    bool status = false;
    for (int round = 0; round < 64; round++) {
        bool any = false;
        hs_agent_packet p;
        while (hs_agent_next_packet(e->agent, &p)) {
            any = true;
            if (!e->udp)
                continue; /* offline */
            else if (p.stream)
                hsd_tcp_send(e->tcp, &p.to, p.data, p.len);
            else
                hsd_udp_send(e->udp, &p.to, p.data, p.len);
        }
        int level;
        const char *text;
        while (hs_agent_next_notice(e->agent, &level, &text)) {
            hsd_log(level == HS_AGENT_ERR    ? HSD_LOG_ERR
                    : level == HS_AGENT_WARN ? HSD_LOG_WARN
                                             : HSD_LOG_INFO,
                    "%s", text);
            status |= strncmp(text, "raft: ", 6) == 0;
        }
        unsigned what = hs_agent_take_persist(e->agent);
        if (what) persist(e, what);
        hs_agent_event ev;
        while (hs_agent_next_event(e->agent, &ev)) {
            any = true;
            publish(e, &ev);
            status |= ev.kind != HS_EVK_MEMBER_UPDATE;
        }
        hs_agent_reply r;
        while (hs_agent_next_reply(e->agent, &r)) {
            any = true;
            reply(e, &r);
        }
        hs_agent_done d;
        while (hs_agent_next_done(e->agent, &d)) {
            any = true;
            finish(e, &d);
        }
        if (e->reach_fn && !hs_node_reachability_running(hs_agent_node(e->agent))) {
            hsd_reach_fn fn = e->reach_fn;
            e->reach_fn = NULL;
            any = true;
            fn(e->reach_arg);
        }
        if (!any) break;
    }
    hs_agent_hold(e->agent, false);
    e->driving = false;
    if (e->tcp) { /* a seed holds streams open to its fellow seeds */
        hs_addr keep[HSD_KEEP_MAX];
        hsd_tcp_keep(e->tcp, keep, hs_agent_stream_peers(e->agent, keep, HSD_KEEP_MAX));
    }
    if (status && e->status_fn) e->status_fn(e->status_arg);
    if (!e->exit_status && hs_agent_stopped(e->agent, NULL)) {
        /* the newer claimant of a name: no leave (the name is the other agent's) */
        e->exit_status = HSD_EXIT_CONFIG;
        event_base_loopexit(e->base, NULL);
        return;
    }
    rearm(e);
}

/* ---- inputs ---- */

static void on_deliver(void *arg, const hs_addr *from, const uint8_t *data, size_t len, bool stream,
                       const hs_ch_sender *who)
{
    hsd_engine *e = arg;
    hs_agent_receive(e->agent, hsd_now_ms(), from, data, len, stream, who);
    drive(e);
}

static void on_lost(void *arg, const hs_addr *peer)
{
    hsd_engine *e = arg;
    hs_agent_peer_lost(e->agent, hsd_now_ms(), peer);
    drive(e);
}

static int on_classify(void *arg, const hs_addr *a)
{
    hsd_engine *e = arg;
    const hs_cluster_config *cc = hs_agent_config(e->agent);
    for (size_t i = 0; i < e->opt.seed_count; i++)
        if (hs_addr_equal(&e->opt.seeds[i].addr, a)) return HSD_PEER_SEED;
    for (uint32_t i = 0; i < cc->n_seeds; i++)
        if (hs_addr_equal(&cc->seeds[i].addr, a)) return HSD_PEER_SEED;
    const hs_node *n = hs_agent_node(e->agent);
    size_t total = hs_node_member_count(n);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(n, i, &mi) && hs_addr_equal(&mi.addr, a))
            return mi.status == HS_ALIVE || mi.status == HS_SUSPECT ? HSD_PEER_MEMBER
                                                                    : HSD_PEER_OTHER;
    return HSD_PEER_OTHER;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd_engine *e = arg;
    hs_agent_tick(e->agent, hsd_now_ms());
    drive(e);
}

static void on_save_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd_engine *e = arg;
    if (!e->members_dirty) return;
    e->members_dirty = false;
    hsd_state_save_members(e->opt.data_dir, hs_agent_node(e->agent));
}

static size_t live_peers(const hsd_engine *e)
{
    const hs_node *n = hs_agent_node(e->agent);
    size_t count = 0, total = hs_node_member_count(n);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(n, i, &mi) && !mi.is_self &&
            (mi.status == HS_ALIVE || mi.status == HS_SUSPECT))
            count++;
    return count;
}

/* Joins the members saved in the data dir (when no --join/--seed answered). */
static void join_saved(hsd_engine *e)
{
    hs_addr addrs[64];
    size_t n = hsd_state_load_members(e->opt.data_dir, e->opt.name, &e->advertise, addrs, 64);
    if (n == 0) return;
    log_info("rejoining %zu saved member(s)", n);
    hsd_engine_join(e, addrs, n);
}

static void on_rejoin_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd_engine *e = arg;
    if (live_peers(e) == 0) join_saved(e);
}

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd_engine *e = arg;
    log_info("leave gossiped, exiting");
    event_base_loopexit(e->base, NULL);
}

/* ---- operations ---- */

static bool wait_for(hsd_engine *e, uint64_t op, hsd_done_fn fn, void *arg)
{
    if (!op) return false;
    waiter *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (waiter){op, fn, arg, NULL, e->waiters};
    e->waiters = w;
    drive(e); /* an operation may have ended at once */
    return true;
}

bool hsd_engine_config_op(hsd_engine *e, int kind, const char *key, const char *value,
                          const char *idem, hsd_done_fn fn, void *arg)
{
    uint64_t op = hs_agent_config_op(e->agent, hsd_now_ms(), kind, key, value, idem);
    return wait_for(e, op, fn, arg);
}

bool hsd_engine_keys_survey(hsd_engine *e, bool change, bool admin, uint64_t wait_ms,
                            hsd_done_fn fn, void *arg)
{
    uint64_t op = hs_agent_keys_survey(e->agent, hsd_now_ms(), change, admin, wait_ms);
    return wait_for(e, op, fn, arg);
}

bool hsd_engine_keys_rotate(hsd_engine *e, const uint8_t key[HS_ENV_KEY_BYTES], uint64_t wait_ms,
                            hsd_done_fn fn, void *arg)
{
    uint64_t op = hs_agent_keys_rotate(e->agent, hsd_now_ms(), key, wait_ms);
    return wait_for(e, op, fn, arg);
}

uint64_t hsd_engine_fire_event(hsd_engine *e, const char *name, const uint8_t *payload, size_t len,
                               bool coalesce, uint64_t wait_ms, hsd_done_fn fn, void *arg, int *err)
{
    uint64_t op = hs_agent_fire(e->agent, hsd_now_ms(), name, payload, len, coalesce, wait_ms, err);
    return wait_for(e, op, fn, arg) ? op : 0;
}

uint64_t hsd_engine_query(hsd_engine *e, const hs_ue_query_spec *q, hsd_reply_fn reply_fn,
                          hsd_done_fn fn, void *arg, int *err)
{
    uint64_t op = hs_agent_query(e->agent, hsd_now_ms(), q, err);
    if (!op) return 0;
    waiter *w = calloc(1, sizeof(*w));
    if (!w) abort();
    *w = (waiter){op, fn, arg, reply_fn, e->waiters};
    e->waiters = w;
    drive(e);
    return op;
}

int hsd_engine_query_respond(hsd_engine *e, uint64_t ref, const uint8_t *payload, size_t len,
                             bool no_handler)
{
    int rc = hs_agent_query_respond(e->agent, hsd_now_ms(), ref, payload, len, no_handler);
    drive(e);
    return rc;
}

bool hsd_engine_reachability(hsd_engine *e, hsd_reach_fn fn, void *arg)
{
    if (e->reach_fn || hs_agent_reachability(e->agent, hsd_now_ms()) < 0) return false;
    e->reach_fn = fn;
    e->reach_arg = arg;
    drive(e);
    return true;
}

void hsd_engine_join(hsd_engine *e, const hs_addr *addrs, size_t n)
{
    hs_agent_join(e->agent, hsd_now_ms(), addrs, n);
    drive(e);
}

bool hsd_engine_join_names(hsd_engine *e, const hsd_target *names, size_t n, hsd_join_names_fn fn,
                           void *arg)
{
    return e->targets && hsd_targets_join(e->targets, names, n, fn, arg) == 0;
}

int hsd_engine_set_tags(hsd_engine *e, hs_tags tags)
{
    int rc = hs_agent_set_tags(e->agent, hsd_now_ms(), tags);
    drive(e);
    return rc;
}

void hsd_engine_leave(hsd_engine *e)
{
    if (e->leaving) return;
    log_info("leaving the cluster");
    hs_agent_leave(e->agent, hsd_now_ms());
    drive(e);
    e->leaving = true; /* after the drive: the leave's own gossip goes out */
    struct timeval tv = {0, LEAVE_FLUSH_MS * 1000};
    evtimer_add(e->exit_timer, &tv);
    if (e->status_fn) e->status_fn(e->status_arg);
}

int hsd_engine_subscribe(hsd_engine *e, hsd_event_fn fn, void *arg)
{
    if (e->nsubs >= SUBSCRIBERS) return -1;
    e->subs[e->nsubs].fn = fn;
    e->subs[e->nsubs++].arg = arg;
    return 0;
}

void hsd_engine_on_status(hsd_engine *e, hsd_status_fn fn, void *arg)
{
    e->status_fn = fn;
    e->status_arg = arg;
}

/* ---- start-up ---- */

/* The ring: the one saved in the data dir if any (the last replicated ring: a key of the key
 * file may have been removed since and must stay refused), else the key file's. */
static int setup_keys(hsd_engine *e)
{
    bool saved_ = false;
    if (hs_env_init(&e->env, e->opt.cluster, e->opt.insecure) != 0) {
        log_err("cannot initialise libsodium or bad cluster name");
        return HSD_EXIT_ERROR;
    }
    if (e->opt.insecure) {
        log_warn("running INSECURE: gossip is neither encrypted nor authenticated");
        return 0;
    }
    char err[512];
    int rc = hsd_load_key_file(&e->env, e->opt.key_file, err, sizeof(err));
    if (rc == 0)
        rc = hsd_state_load_keyring(e->opt.data_dir, e->opt.cluster, &e->env, &saved_, err,
                                    sizeof(err));
    if (rc != 0) {
        log_err("%s", err);
        return rc < 0 ? HSD_EXIT_ERROR : rc;
    }
    bool saved = saved_;
    if (saved)
        log_info("key ring loaded: %zu key(s) from %s/keyring (the last replicated ring; the "
                 "key file counts only when that file is absent)",
                 e->env.key_count, e->opt.data_dir);
    else
        log_info("key ring loaded: %zu key(s)", e->env.key_count);
    return 0;
}

/* The secure channel around the envelope: a new instance and cookie secret every start. */
static int setup_channel(hsd_engine *e)
{
    hs_ch_cfg c;
    hs_ch_cfg_default(&c);
    while (!c.instance) randombytes_buf(&c.instance, sizeof(c.instance));
    randombytes_buf(c.secret, sizeof(c.secret));
    e->ch = hs_channel_new(&c, &e->env, hsd_now_ms());
    sodium_memzero(c.secret, sizeof(c.secret));
    if (!e->ch) log_err("cannot create the secure channel");
    return e->ch ? 0 : -1;
}

static bool is_seed(const hsd_options *o)
{
    for (size_t i = 0; i < o->seed_count; i++)
        if (!strcmp(o->seeds[i].name, o->name)) return true;
    return false;
}

static int setup_agent(hsd_engine *e, int *status)
{
    const hsd_options *o = &e->opt;
    hs_agent_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    hs_config_default(&cfg.node);
    hs_fd_profile_apply(o->profile, &cfg.node);
    cfg.profile = o->profile;
    snprintf(cfg.node.name, sizeof(cfg.node.name), "%s", o->name);
    if (o->reap_failed_s) cfg.node.reap_failed_ms = o->reap_failed_s * 1000;
    if (o->reap_left_s) cfg.node.reap_left_ms = o->reap_left_s * 1000;
    cfg.node.addr = e->advertise;
    cfg.tags = (hs_tags){o->tags, o->tags_len};
    cfg.incarnation = hsd_state_load_incarnation(o->data_dir);
    cfg.ue_floor = hsd_user_horizon_load(o->data_dir);
    cfg.ue_budget_bps = o->user_event_budget;
    randombytes_buf(&cfg.rng_seed, sizeof(cfg.rng_seed));
    cfg.env = &e->env;
    for (size_t i = 0; i < o->seed_count && cfg.n_seeds < HS_AGENT_SEEDS_MAX; i++) {
        hs_cc_seed *s = &cfg.seeds[cfg.n_seeds++];
        snprintf(s->name, sizeof(s->name), "%s", o->seeds[i].name);
        s->addr = o->seeds[i].addr;
        s->id = hs_cc_seed_id(s->name);
    }
    hs_cluster_config *saved = NULL;
    if (is_seed(o)) {
        int rc = hsd_rstore_open(&e->st, o->data_dir);
        if (rc != 0) {
            *status = rc > 0 ? rc : HSD_EXIT_ERROR;
            return -1;
        }
        e->have_st = true;
        cfg.hard = e->st.hard;
        cfg.snapshot = e->st.snap.index ? &e->st.snap : NULL;
        cfg.entries = e->st.log;
        cfg.n_entries = e->st.n;
        cfg.storage = hsd_rstore_callbacks(&e->st);
#ifdef HS_FAILPOINTS /* test builds only: the crash tests compact every few entries */
        const char *every = getenv("HEARSAY_COMPACT_EVERY");
        if (every) cfg.compact_every = (uint32_t)strtoul(every, NULL, 10);
#endif
    } else {
        saved = malloc(sizeof(*saved));
        if (!saved) return -1;
        if (hsd_state_load_config(o->data_dir, saved) != 0) {
            free(saved);
            saved = NULL;
        }
        cfg.saved = saved;
    }
    const char *why = NULL;
    e->agent = hs_agent_new(&cfg, hsd_now_ms(), &why);
    free(saved);
    if (!e->agent) {
        log_err("%s", why ? why : "cannot create the agent");
        return -1;
    }
    return 0;
}

/* --join addresses and the seeds other than ourselves; the saved members when there are none. */
static void initial_join(hsd_engine *e)
{
    const hsd_options *o = &e->opt;
    hs_addr addrs[HSD_JOINS_MAX + HSD_SEEDS_MAX];
    hsd_target names[HSD_JOINS_MAX + HSD_SEEDS_MAX];
    size_t n = 0, k = 0;
    for (size_t i = 0; i < o->join_count; i++)
        if (o->joins[i].host[0])
            names[k++] = o->joins[i];
        else if (!hs_addr_equal(&o->joins[i].addr, &e->advertise))
            addrs[n++] = o->joins[i].addr;
    for (size_t i = 0; i < o->seed_count; i++) {
        const hsd_seed *s = &o->seeds[i];
        if (!strcmp(s->name, o->name)) continue;
        if (s->host[0]) { /* resolved at start for the Raft group; followed from now on */
            names[k].addr = (hs_addr){.port = s->addr.port};
            memcpy(names[k++].host, s->host, sizeof(s->host));
        } else if (!hs_addr_equal(&s->addr, &e->advertise)) {
            addrs[n++] = s->addr;
        }
    }
    if (k > 0) {
        log_info("joining %zu host name(s) once resolved", k);
        if (!hsd_engine_join_names(e, names, k, NULL, NULL))
            log_err("cannot follow the --join and --seed host names");
    }
    if (n > 0) {
        log_info("joining %zu address(es)", n);
        hsd_engine_join(e, addrs, n);
    }
    if (n > 0 || k > 0) {
        struct timeval five = {REJOIN_AFTER_S, 0};
        evtimer_add(e->rejoin_timer, &five);
    } else {
        join_saved(e);
    }
}

typedef struct seed_lookup {
    hsd_engine *e;
    hsd_seed *seed;
    bool failed;
} seed_lookup;

static void on_seed_resolved(void *arg, const hs_addr *addrs, size_t n, const char *error)
{
    seed_lookup *l = arg;
    hsd_seed *s = l->seed;
    if (n) {
        s->addr = addrs[0]; /* the Raft group's address of this seed until a restart */
        return;
    }
    if (!strcmp(s->name, l->e->opt.name)) { /* ourselves: our advertised address */
        log_warn("cannot resolve --seed %s=%s: %s; using our address", s->name, s->host, error);
        s->addr = l->e->advertise;
        return;
    }
    log_err("cannot resolve --seed %s=%s:%u: %s", s->name, s->host, s->addr.port, error);
    l->failed = true;
}

/* The seeds given by name, looked up before anything else is on the loop (the Raft group
 * needs their addresses to start). -1 when one does not resolve. */
static int resolve_seeds(hsd_engine *e)
{
    seed_lookup ls[HSD_SEEDS_MAX];
    size_t k = 0;
    for (size_t i = 0; i < e->opt.seed_count; i++) {
        hsd_seed *s = &e->opt.seeds[i];
        if (!s->host[0]) continue;
        ls[k] = (seed_lookup){e, s, false};
        if (hsd_resolve(e->resolver, s->host, s->addr.port, e->opt.bind.family, on_seed_resolved,
                        &ls[k]) != 0)
            return -1;
        k++;
    }
    while (hsd_resolver_pending(e->resolver) > 0)
        if (event_base_loop(e->base, EVLOOP_ONCE) < 0) return -1;
    for (size_t i = 0; i < k; i++)
        if (ls[i].failed) return -1;
    return 0;
}

static hsd_engine *engine_new(const hsd_options *o, int *status, bool network)
{
    *status = HSD_EXIT_ERROR;
    hsd_engine *e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->opt = *o;
    e->base = event_base_new();
    if (!e->base) {
        free(e);
        return NULL;
    }
    struct event_base *base = e->base;
    e->started_ms = hsd_now_ms();
    /* ids go on growing across restarts (the start time in ms, times 1000), so a watcher that
     * reconnects to a restarted agent with ?since=ID misses nothing the new agent has */
    e->first_event_id = e->next_event_id = hsd_unix_ms() * 1000 + 1;
    e->advertise = o->have_advertise ? o->advertise : o->bind;
    int st = setup_keys(e);
    if (st != 0) {
        *status = st;
        goto fail;
    }
    if (setup_channel(e) != 0) goto fail;
    if (network) {
        char why[128];
        e->resolver = hsd_resolver_new(base, why, sizeof(why));
        if (!e->resolver) {
            log_err("%s", why);
            goto fail;
        }
        if (resolve_seeds(e) != 0) {
            *status = HSD_EXIT_CONFIG;
            goto fail;
        }
    }
    hsd_transport_cfg tc = {.base = base,
                            .bind = o->bind,
                            .advertise = e->advertise,
                            .ch = e->ch,
                            .deliver = on_deliver,
                            .classify = on_classify,
                            .lost = on_lost,
                            .arg = e,
                            .stats = &e->wire};
    if (network) {
        e->udp = hsd_udp_open(&tc);
        e->tcp = e->udp ? hsd_tcp_open(&tc) : NULL;
        if (!e->tcp) goto fail;
    }
    if (setup_agent(e, status) != 0) goto fail;
    if (e->resolver) {
        e->targets = hsd_targets_new(e, e->resolver, o->bind.family);
        if (!e->targets) goto fail;
    }
    e->timer = evtimer_new(base, on_timer, e);
    e->save_timer = event_new(base, -1, EV_PERSIST, on_save_timer, e);
    e->rejoin_timer = evtimer_new(base, on_rejoin_timer, e);
    e->exit_timer = evtimer_new(base, on_exit_timer, e);
    if (!e->timer || !e->save_timer || !e->rejoin_timer || !e->exit_timer) goto fail;
    struct timeval every = {SAVE_EVERY_S, 0};
    event_add(e->save_timer, &every);
    *status = 0;
    return e;
fail:
    hsd_engine_free(e);
    return NULL;
}

hsd_engine *hsd_engine_new(const hsd_options *o, int *status)
{
    return engine_new(o, status, true);
}

hsd_engine *hsd_engine_new_offline(const hsd_options *o, int *status)
{
    return engine_new(o, status, false);
}

void hsd_engine_deliver(hsd_engine *e, const hs_addr *from, const uint8_t *data, size_t len,
                        bool stream)
{
    on_deliver(e, from, data, len, stream, NULL);
}

void hsd_engine_start(hsd_engine *e)
{
    drive(e); /* what the agent did when it was created (a seed applied its log) */
    initial_join(e);
}

int hsd_engine_run(hsd_engine *e)
{
    return event_base_dispatch(e->base) < 0 ? -1 : 0;
}

void hsd_engine_free(hsd_engine *e)
{
    if (!e) return;
    if (e->agent && e->members_dirty)
        hsd_state_save_members(e->opt.data_dir, hs_agent_node(e->agent));
    struct event **evs[] = {&e->timer, &e->save_timer, &e->rejoin_timer, &e->exit_timer};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (*evs[i]) event_free(*evs[i]);
    hsd_targets_free(e->targets);
    hsd_resolver_free(e->resolver);
    while (e->waiters) {
        waiter *w = e->waiters;
        e->waiters = w->next;
        free(w);
    }
    hs_agent_free(e->agent);
    hsd_user_horizon_close();
    if (e->have_st) hsd_rstore_close(&e->st);
    hsd_tcp_close(e->tcp);
    hsd_udp_close(e->udp);
    hs_channel_free(e->ch);
    hs_env_clear(&e->env);
    if (e->base) event_base_free(e->base);
    free(e);
}

/* ---- views ---- */

struct event_base *hsd_engine_base(const hsd_engine *e)
{
    return e->base;
}

const hsd_options *hsd_engine_options(const hsd_engine *e)
{
    return &e->opt;
}

const hs_agent *hsd_engine_agent(const hsd_engine *e)
{
    return e->agent;
}

const hs_envelope *hsd_engine_envelope(const hsd_engine *e)
{
    return &e->env;
}

const hs_channel *hsd_engine_channel(const hsd_engine *e)
{
    return e->ch;
}

const hsd_wire_stats *hsd_engine_wire(const hsd_engine *e)
{
    return &e->wire;
}

void hsd_engine_conns(const hsd_engine *e, unsigned *in, unsigned *out)
{
    hsd_tcp_conn_counts(e->tcp, in, out);
}

hs_addr hsd_engine_advertise(const hsd_engine *e)
{
    return e->advertise;
}

uint64_t hsd_engine_started_ms(const hsd_engine *e)
{
    return e->started_ms;
}

bool hsd_engine_leaving(const hsd_engine *e)
{
    return e->leaving;
}

uint64_t hsd_engine_first_event_id(const hsd_engine *e)
{
    return e->first_event_id;
}

uint64_t hsd_engine_events_total(const hsd_engine *e)
{
    return e->events_total;
}

int hsd_engine_exit_status(const hsd_engine *e)
{
    return e->exit_status;
}

bool hsd_engine_ready(const hsd_engine *e)
{
    return live_peers(e) > 0 || (e->opt.join_count == 0 && e->opt.seed_count <= 1);
}
