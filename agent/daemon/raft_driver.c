/* raft_driver.c: runs the Raft core on a seed (a node whose --name is in its --seed list).
 * Seed ids are a hash of the seed name (hsd_seed_id), so every seed derives the same ids
 * from the same list and a seed added later has an id known from its name alone. Runs the
 * Ready loop per include/hearsay/raft.h: hard state, snapshot and entries are made durable
 * (raft_storage.c, fsync) before the Ready's messages leave over the TCP transport, and the
 * commit index is kept so that a restart applies the local log up to it before the API answers;
 * committed entries are applied to the cluster configuration, whose version then rides on
 * every Ping (hs_node_set_config_version). Compacts the log into a snapshot past
 * COMPACT_EVERY entries. A non-seed never creates a Raft node. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "daemon.h"
#include "hearsay/cluster_config.h"
#include "log.h"
#include "raft_storage.h"

#define COMPACT_EVERY 1024
#ifdef HS_FAILPOINTS
#define compact_every() hsd_test_compact_every()
/* test builds only: HEARSAY_COMPACT_EVERY=N compacts every N applied entries (crash tests) */
static uint64_t hsd_test_compact_every(void)
{
    static uint64_t n;
    if (!n) {
        const char *v = getenv("HEARSAY_COMPACT_EVERY");
        n = v && strtoull(v, NULL, 10) > 0 ? strtoull(v, NULL, 10) : COMPACT_EVERY;
    }
    return n;
}
#else
#define compact_every() COMPACT_EVERY
#endif
#define TIMER_MAX_MS 1000

struct hsd_raft {
    hs_raft *r;
    hsd_rstore st;
    struct event *timer;
    uint64_t applied;
    uint64_t bootstrap_term; /* term in which this leader proposed the initial configuration */
    uint64_t keys_term;      /* term in which this leader proposed the key ring */
    bool failed;             /* storage failed: stop acting rather than break the contract */
};

uint64_t hsd_seed_id(const char *name)
{
    return hs_cc_seed_id(name);
}

bool hsd_is_seed(const hsd *d)
{
    for (size_t i = 0; i < d->opt.seed_count; i++)
        if (!strcmp(d->opt.seeds[i].name, d->opt.name)) return true;
    return false;
}

static void rearm(hsd *d)
{
    struct hsd_raft *R = d->raft;
    uint64_t now = hsd_now_ms(), dl = hs_raft_next_deadline(R->r);
    uint64_t delay = dl > now ? dl - now : 0;
    if (delay > TIMER_MAX_MS) delay = TIMER_MAX_MS;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(R->timer, &tv);
}

static void send_msg(hsd *d, const hs_raft_msg *m)
{
    const hs_raft_peer *p = hs_raft_conf_find(hs_raft_get_conf(d->raft->r), m->to);
    if (!p && m->type == HS_RAFT_MSG_SNAPSHOT) p = hs_raft_conf_find(&m->snapshot.conf, m->to);
    if (!p) {
        d->c.drops[HSD_DROP_SEND_FAILED]++;
        return;
    }
    size_t n = hs_raft_msg_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return;
    size_t len = hs_raft_msg_encode(m, buf, n);
    if (len)
        hsd_tcp_send(d, &p->addr, buf, len);
    else
        d->c.drops[HSD_DROP_OVERSIZE]++;
    free(buf);
}

static void apply_entry(hsd *d, const hs_raft_entry *e)
{
    hs_cc_outcome o;
    hs_cc_apply_entry(d->cc, e, &o); /* with the client sessions' rules */
    if (e->index > d->raft->applied) d->raft->applied = e->index;
    hs_node_set_config_version(d->node, d->cc->version); /* rides on every Ping from now on */
    hsd_sync_on_applied(d, e->index, e->term, &o);
}

static void maybe_compact(hsd *d)
{
    struct hsd_raft *R = d->raft;
    if (R->applied < R->st.snap.index + compact_every()) return;
    uint8_t *buf = malloc(HS_CC_SNAPSHOT_MAX);
    if (!buf) return;
    size_t n = hs_cc_serialize_snapshot(d->cc, buf, HS_CC_SNAPSHOT_MAX); /* sessions too */
    if (n && hs_raft_compact(R->r, R->applied, buf, n) == HS_RAFT_OK) {
        const hs_raft_snapshot *s = hs_raft_get_snapshot(R->r);
        if (hsd_rstore_set_snapshot(&R->st, s) == 0)
            log_info("raft: compacted the log into a snapshot at %llu",
                     (unsigned long long)s->index);
    }
    free(buf);
}

static void propose_cmd(hs_raft *r, const hs_cc_cmd *cmd)
{
    uint8_t b[HS_CC_CMD_MAX];
    uint64_t index, term;
    size_t n = hs_cc_cmd_encode(cmd, b, sizeof(b));
    if (n) hs_raft_propose(r, b, n, &index, &term);
}

/* A new group holds an empty configuration: its first leader, once it has applied everything
 * committed, proposes the cluster name and the seed set (no manual bootstrap step). Proposing
 * twice is harmless: a repeated command is refused by the configuration and changes nothing. */
static void bootstrap(hsd *d)
{
    struct hsd_raft *R = d->raft;
    hs_raft *r = R->r;
    if (hs_raft_get_role(r) != HS_RAFT_LEADER || d->cc->n_seeds > 0 ||
        R->bootstrap_term == hs_raft_term(r) || R->applied < hs_raft_commit(r) ||
        hs_raft_term_at(r, hs_raft_commit(r)) != hs_raft_term(r))
        return;
    R->bootstrap_term = hs_raft_term(r);
    hs_cc_cmd cmd;
    if (!d->cc->cluster_name[0]) {
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = HS_CC_SET_NAME;
        snprintf(cmd.key, sizeof(cmd.key), "%s", d->opt.cluster);
        propose_cmd(r, &cmd);
    }
    const hs_raft_conf *c = hs_raft_get_conf(r);
    for (uint32_t i = 0; i < c->n; i++) {
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = HS_CC_ADD_SEED;
        cmd.seed.id = c->peers[i].id;
        snprintf(cmd.seed.name, sizeof(cmd.seed.name), "%s", c->peers[i].name);
        cmd.seed.addr = c->peers[i].addr;
        propose_cmd(r, &cmd);
    }
    log_info("raft: proposed the initial configuration (cluster name, %u seeds)", (unsigned)c->n);
}

/* A secure cluster's configuration holds the key ring from the start, so that rotation
 * (keys.c) changes one replicated ring: a leader that finds it empty installs its own ring,
 * primary first (the first key installed becomes the primary). Once per term. */
static void seed_key_ring(hsd *d)
{
    struct hsd_raft *R = d->raft;
    hs_raft *r = R->r;
    if (d->opt.insecure || d->cc->n_keys > 0 || d->env.key_count == 0 ||
        hs_raft_get_role(r) != HS_RAFT_LEADER || R->keys_term == hs_raft_term(r) ||
        R->applied < hs_raft_commit(r) || hs_raft_term_at(r, hs_raft_commit(r)) != hs_raft_term(r))
        return;
    R->keys_term = hs_raft_term(r);
    hs_cc_cmd cmd;
    for (size_t i = 0; i < d->env.key_count; i++) {
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = HS_CC_KEY_INSTALL;
        memcpy(cmd.key_bytes, d->env.keys[i], HS_CC_KEY_BYTES);
        propose_cmd(r, &cmd);
    }
    sodium_memzero(&cmd, sizeof(cmd));
    log_info("raft: proposed the cluster key ring (%zu key(s))", d->env.key_count);
}

void hsd_raft_drive(hsd *d)
{
    struct hsd_raft *R = d->raft;
    if (!R || R->failed) return;
    hs_raft_ready rd;
    while (hs_raft_get_ready(R->r, &rd)) {
        uint64_t v0 = d->cc->version;
        int rc = 0;
        /* raft_storage.c: hard state first (its term never below one in the log), snapshot,
         * entries, fdatasync, then the commit index (never past what is durable) */
        if (rd.has_hard_state) {
            if (R->st.hard.recovering && !rd.hard_state.recovering)
                log_info("raft: caught up after --raft-reset (commit %llu, term %llu): this "
                         "seed votes again from term %llu on",
                         (unsigned long long)rd.hard_state.commit,
                         (unsigned long long)rd.hard_state.term,
                         (unsigned long long)rd.hard_state.term + 1);
            rc |= hsd_rstore_set_hard(&R->st, &rd.hard_state);
        }
        if (rd.snapshot && rc == 0) {
            rc |= hsd_rstore_set_snapshot(&R->st, rd.snapshot);
            if (hs_cc_deserialize(rd.snapshot->data, rd.snapshot->len, d->cc) != 0)
                log_err("raft: snapshot %llu holds a bad configuration",
                        (unsigned long long)rd.snapshot->index);
            R->applied = rd.snapshot->index;
            hs_node_set_config_version(d->node, d->cc->version);
            hsd_sync_on_restored(d, R->applied);
        }
        if (rd.n_entries && rc == 0) rc |= hsd_rstore_append(&R->st, rd.entries, rd.n_entries);
        if ((rd.n_entries || rd.snapshot) && rc == 0) rc |= hsd_rstore_sync(&R->st);
        if (rd.has_hard_state && rc == 0) rc |= hsd_rstore_set_commit(&R->st, rd.hard_state.commit);
        if (rc != 0) {
            /* never send what we could not make durable: stop taking part */
            log_err("raft: storage failed; this seed stops taking part in Raft");
            R->failed = true;
            hs_raft_advance(R->r, &rd);
            return;
        }
        for (size_t i = 0; i < rd.n_msgs; i++) send_msg(d, &rd.msgs[i]);
        for (size_t i = 0; i < rd.n_committed; i++)
            if (rd.committed[i].index > R->applied) apply_entry(d, &rd.committed[i]);
        if (rd.role_changed) {
            const hs_raft_peer *lp = hs_raft_conf_find(hs_raft_get_conf(R->r), rd.leader);
            log_info("raft: %s, term %llu, leader %s", hs_raft_role_name(rd.role),
                     (unsigned long long)rd.term, lp ? lp->name : "(none)");
            hsd_sync_on_role(d);
            hsd_notify_status(d);
        }
        for (size_t i = 0; i < rd.n_reads; i++)
            hsd_sync_on_read(d, rd.reads[i].ctx, rd.reads[i].index);
        hs_raft_advance(R->r, &rd);
        if (d->cc->version != v0) hsd_sync_config_changed(d, d->opt.name, &d->advertise);
        maybe_compact(d);
        bootstrap(d);
        seed_key_ring(d);
    }
    rearm(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    if (!d->raft || d->raft->failed) return;
    hs_raft_tick(d->raft->r, hsd_now_ms());
    hsd_raft_drive(d);
}

void hsd_raft_receive(hsd *d, const hs_addr *from, const uint8_t *data, size_t len)
{
    (void)from;
    if (!d->raft || d->raft->failed) {
        d->c.drops[HSD_DROP_RAFT_DISABLED]++;
        return;
    }
    hs_raft_msg m;
    if (hs_raft_msg_decode(data, len, &m) != 0) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        return;
    }
    if (hs_raft_step(d->raft->r, hsd_now_ms(), &m) != HS_RAFT_OK)
        d->c.drops[HSD_DROP_RAFT_NOT_FOR_US]++;
    hs_raft_msg_release(&m);
    hsd_raft_drive(d);
}

int hsd_raft_start(hsd *d)
{
    if (!hsd_is_seed(d)) return 0;
    struct hsd_raft *R = calloc(1, sizeof(*R));
    if (!R) return -1;
    d->raft = R;
    R->st.log_fd = R->st.commit_fd = -1;
    int rc = hsd_rstore_open(&R->st, d->opt.data_dir);
    if (rc != 0) return rc;
    hs_raft_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.id = hsd_seed_id(d->opt.name);
    randombytes_buf(&cfg.rng_seed, sizeof(cfg.rng_seed));
    cfg.election_min_ms = 150;
    cfg.election_max_ms = 300;
    cfg.heartbeat_ms = 50;
    for (size_t i = 0; i < d->opt.seed_count && cfg.peers.n < HS_RAFT_MAX_PEERS; i++) {
        hs_raft_peer *p = &cfg.peers.peers[cfg.peers.n++];
        p->id = hsd_seed_id(d->opt.seeds[i].name);
        snprintf(p->name, sizeof(p->name), "%s", d->opt.seeds[i].name);
        p->addr = d->opt.seeds[i].addr;
        if (!strcmp(p->name, d->opt.name)) p->addr = d->advertise;
    }
    cfg.hard = R->st.hard;
    cfg.snapshot = R->st.snap.index ? &R->st.snap : NULL;
    cfg.entries = R->st.log;
    cfg.n_entries = R->st.n;
    if (R->st.snap.index) {
        if (hs_cc_deserialize(R->st.snap.data, R->st.snap.len, d->cc) != 0) {
            log_err("raft: the snapshot holds a bad configuration");
            return -1;
        }
        R->applied = R->st.snap.index;
        hs_node_set_config_version(d->node, d->cc->version);
    }
    R->r = hs_raft_new(&cfg, hsd_now_ms());
    if (!R->r) {
        log_err("raft: cannot create the Raft node from the seed list and durable state");
        return -1;
    }
    R->timer = evtimer_new(d->base, on_timer, d);
    if (!R->timer) return -1;
    log_info("raft: seed %s (id %016llx) in a group of %u", d->opt.name, (unsigned long long)cfg.id,
             (unsigned)hs_raft_get_conf(R->r)->n);
    hsd_raft_drive(d);
    return 0;
}

void hsd_raft_stop(hsd *d)
{
    struct hsd_raft *R = d->raft;
    if (!R) return;
    if (R->timer) event_free(R->timer);
    if (R->r) hs_raft_free(R->r);
    hsd_rstore_close(&R->st);
    free(R);
    d->raft = NULL;
}

hs_raft *hsd_raft_node(const hsd *d)
{
    return d->raft && !d->raft->failed ? d->raft->r : NULL;
}

uint64_t hsd_raft_applied(const hsd *d)
{
    return d->raft ? d->raft->applied : 0;
}

const char *hsd_raft_leader_name(const hsd *d)
{
    hs_raft *r = hsd_raft_node(d);
    if (!r) return NULL;
    const hs_raft_peer *p = hs_raft_conf_find(hs_raft_get_conf(r), hs_raft_leader(r));
    return p ? p->name : NULL;
}
