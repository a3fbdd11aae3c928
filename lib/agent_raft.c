/* agent_raft.c: a seed's Raft inside the agent core: the Ready loop exactly per raft.h (each
 * Ready made durable through the storage callbacks before its messages are queued), the
 * committed entries applied to the configuration with the session rules, compaction into
 * snapshots, and the first leader's bootstrap of the cluster name, seed set and key ring. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent_internal.h"

int ag_raft_start(hs_agent *a, const hs_agent_cfg *cfg, const char **why)
{
    hs_raft_cfg rc;
    memset(&rc, 0, sizeof(rc));
    rc.id = hs_cc_seed_id(cfg->node.name);
    rc.rng_seed = cfg->rng_seed ^ 0x72616674ULL;
    rc.election_min_ms = cfg->election_min_ms ? cfg->election_min_ms : HS_AGENT_RAFT_ELECTION_MIN;
    rc.election_max_ms = cfg->election_max_ms ? cfg->election_max_ms : HS_AGENT_RAFT_ELECTION_MAX;
    rc.heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : HS_AGENT_RAFT_HB_MS;
    for (size_t i = 0; i < a->n_seeds && rc.peers.n < HS_RAFT_MAX_PEERS; i++) {
        hs_raft_peer *p = &rc.peers.peers[rc.peers.n++];
        p->id = hs_cc_seed_id(a->seeds[i].name);
        snprintf(p->name, sizeof(p->name), "%s", a->seeds[i].name);
        p->addr = strcmp(p->name, cfg->node.name) ? a->seeds[i].addr : cfg->node.addr;
    }
    rc.hard = cfg->hard;
    rc.snapshot = cfg->snapshot && cfg->snapshot->index ? cfg->snapshot : NULL;
    rc.entries = cfg->entries;
    rc.n_entries = cfg->n_entries;
    a->st = cfg->storage;
    if (rc.snapshot) {
        if (hs_cc_deserialize(rc.snapshot->data, rc.snapshot->len, a->cc) != 0) {
            *why = "the Raft snapshot holds a bad configuration";
            return -1;
        }
        a->applied = a->snap_index = rc.snapshot->index;
    }
    a->raft = hs_raft_new(&rc, a->now);
    if (!a->raft) {
        *why = "cannot create the Raft node from the seed list and durable state";
        return -1;
    }
    ag_notice(a, HS_AGENT_INFO, "raft: seed %s (id %016llx) in a group of %u", cfg->node.name,
              (unsigned long long)rc.id, (unsigned)hs_raft_get_conf(a->raft)->n);
    return 0;
}

void ag_raft_tick(hs_agent *a)
{
    hs_raft_tick(a->raft, a->now);
}

/* Messages without entries or a snapshot (heartbeats, acknowledgements, votes) travel as
 * datagrams when the ring is keyed: the channel authenticates and numbers them, and Raft
 * tolerates their loss and reordering. Entries, snapshots and every message of an unkeyed
 * cluster (whose datagrams anyone could forge) take the streams. */
static bool as_datagram(const hs_agent *a, const hs_raft_msg *m, size_t len)
{
    return a->env->key_count > 0 && m->n_entries == 0 && m->type != HS_RAFT_MSG_SNAPSHOT &&
           len <= HS_PACKET_MAX;
}

static void queue_msg(hs_agent *a, const hs_raft_msg *m)
{
    const hs_raft_peer *p = hs_raft_conf_find(hs_raft_get_conf(a->raft), m->to);
    if (!p && m->type == HS_RAFT_MSG_SNAPSHOT) p = hs_raft_conf_find(&m->snapshot.conf, m->to);
    if (!p) return;
    size_t n = hs_raft_msg_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) abort();
    size_t len = hs_raft_msg_encode(m, buf, n);
    if (len) ag_queue_packet(a, &p->addr, buf, len, !as_datagram(a, m, len));
    free(buf);
}

static void apply_entry(hs_agent *a, const hs_raft_entry *e)
{
    hs_cc_outcome o;
    hs_cc_apply_entry(a->cc, e, &o); /* with the client sessions' rules */
    if (e->index > a->applied) a->applied = e->index;
    hs_cfgc_applied(ag_cfgc(a), a->now, e->index, e->term, &o);
}

static void maybe_compact(hs_agent *a)
{
    if (a->applied < a->snap_index + a->compact_every) return;
    uint8_t *buf = malloc(HS_CC_SNAPSHOT_MAX);
    if (!buf) abort();
    size_t n = hs_cc_serialize_snapshot(a->cc, buf, HS_CC_SNAPSHOT_MAX); /* sessions too */
    if (n && hs_raft_compact(a->raft, a->applied, buf, n) == HS_RAFT_OK) {
        const hs_raft_snapshot *s = hs_raft_get_snapshot(a->raft);
        if (a->st.set_snapshot(a->st.ctx, s) == 0) {
            a->snap_index = s->index;
            ag_notice(a, HS_AGENT_INFO, "raft: compacted the log into a snapshot at %llu",
                      (unsigned long long)s->index);
        }
    }
    free(buf);
}

static void propose_cmd(hs_raft *r, const hs_cc_cmd *cmd)
{
    uint8_t b[HS_CC_CMD_MAX];
    uint64_t index, term;
    size_t n = hs_cc_cmd_encode(cmd, b, sizeof(b));
    if (n) hs_raft_propose(r, b, n, &index, &term);
    sodium_memzero(b, sizeof(b));
}

/* A leader that has applied everything committed, with a commit of its own term. */
static bool settled_leader(const hs_agent *a)
{
    hs_raft *r = a->raft;
    return hs_raft_get_role(r) == HS_RAFT_LEADER && a->applied >= hs_raft_commit(r) &&
           hs_raft_term_at(r, hs_raft_commit(r)) == hs_raft_term(r);
}

/* A new group holds an empty configuration: its first leader proposes the cluster name and the
 * seed set (no manual bootstrap step). Proposing twice is harmless: a repeated command is
 * refused by the configuration and changes nothing. */
static void bootstrap(hs_agent *a)
{
    hs_raft *r = a->raft;
    if (a->cc->n_seeds > 0 || a->bootstrap_term == hs_raft_term(r) || !settled_leader(a)) return;
    a->bootstrap_term = hs_raft_term(r);
    hs_cc_cmd cmd;
    if (!a->cc->cluster_name[0]) {
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = HS_CC_SET_NAME;
        snprintf(cmd.key, sizeof(cmd.key), "%s", a->env->cluster);
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
    ag_notice(a, HS_AGENT_INFO, "raft: proposed the initial configuration (cluster name, %u seeds)",
              (unsigned)c->n);
}

/* A secure cluster's configuration holds the key ring from the start, so that rotation changes
 * one replicated ring: a leader that finds it empty installs its own ring, primary first (the
 * first key installed becomes the primary). Once per term. */
static void seed_key_ring(hs_agent *a)
{
    hs_raft *r = a->raft;
    if (a->env->insecure || a->cc->n_keys > 0 || a->env->key_count == 0 ||
        a->keys_term == hs_raft_term(r) || !settled_leader(a))
        return;
    a->keys_term = hs_raft_term(r);
    hs_cc_cmd cmd;
    for (size_t i = 0; i < a->env->key_count; i++) {
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = HS_CC_KEY_INSTALL;
        memcpy(cmd.key_bytes, a->env->keys[i], HS_CC_KEY_BYTES);
        propose_cmd(r, &cmd);
    }
    sodium_memzero(&cmd, sizeof(cmd));
    ag_notice(a, HS_AGENT_INFO, "raft: proposed the cluster key ring (%zu key(s))",
              a->env->key_count);
}

/* Makes one Ready durable, in the order raft.h and docs/raft.md require: hard state, snapshot,
 * entries, sync, then the commit index (never past what is durable). */
static int persist(hs_agent *a, const hs_raft_ready *rd)
{
    const hs_agent_storage *s = &a->st;
    if (rd->has_hard_state && s->set_hard(s->ctx, &rd->hard_state) != 0) return -1;
    if (rd->snapshot && s->set_snapshot(s->ctx, rd->snapshot) != 0) return -1;
    if (rd->n_entries && s->append(s->ctx, rd->entries, rd->n_entries) != 0) return -1;
    if ((rd->n_entries || rd->snapshot) && s->sync(s->ctx) != 0) return -1;
    if (rd->has_hard_state && s->set_commit(s->ctx, rd->hard_state.commit) != 0) return -1;
    return 0;
}

void ag_raft_drive(hs_agent *a)
{
    hs_raft_ready rd;
    while (!a->raft_failed && hs_raft_get_ready(a->raft, &rd)) {
        uint64_t v0 = a->cc->version;
        if (persist(a, &rd) != 0) {
            /* never send what we could not make durable: stop taking part */
            ag_notice(a, HS_AGENT_ERR, "raft: storage failed; this seed stops taking part in Raft");
            a->raft_failed = true;
            hs_raft_advance(a->raft, &rd);
            return;
        }
        if (rd.snapshot) {
            if (hs_cc_deserialize(rd.snapshot->data, rd.snapshot->len, a->cc) != 0)
                ag_notice(a, HS_AGENT_ERR, "raft: snapshot %llu holds a bad configuration",
                          (unsigned long long)rd.snapshot->index);
            a->applied = a->snap_index = rd.snapshot->index;
            hs_cfgc_restored(ag_cfgc(a), a->now, a->applied);
        }
        for (size_t i = 0; i < rd.n_msgs; i++) queue_msg(a, &rd.msgs[i]);
        for (size_t i = 0; i < rd.n_committed; i++)
            if (rd.committed[i].index > a->applied) apply_entry(a, &rd.committed[i]);
        if (rd.role_changed) {
            const hs_raft_peer *lp = hs_raft_conf_find(hs_raft_get_conf(a->raft), rd.leader);
            ag_notice(a, HS_AGENT_INFO, "raft: %s, term %llu, leader %s",
                      hs_raft_role_name(rd.role), (unsigned long long)rd.term,
                      lp ? lp->name : "(none)");
            hs_cfgc_role_changed(ag_cfgc(a), a->now);
        }
        for (size_t i = 0; i < rd.n_reads; i++)
            hs_cfgc_read_state(ag_cfgc(a), a->now, rd.reads[i].ctx, rd.reads[i].index);
        hs_raft_advance(a->raft, &rd);
        if (a->cc->version != v0) {
            hs_member_info self;
            hs_addr addr = {0};
            const char *name = "";
            for (size_t i = 0; i < hs_node_member_count(a->node); i++)
                if (hs_node_member_at(a->node, i, &self) && self.is_self) {
                    name = self.name;
                    addr = self.addr;
                }
            ag_config_changed(a, name, &addr);
        }
        maybe_compact(a);
        bootstrap(a);
        seed_key_ring(a);
    }
}
