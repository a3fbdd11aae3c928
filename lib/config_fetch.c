/* config_fetch.c: how a non-seed keeps its copy of the configuration current, and where the
 * configuration client sends things. A non-seed fetches (0x60) from the member gossip showed
 * holding a newer version, retries once a second while it knows a newer one exists
 * (alternately that member and a seed), installs only a strictly newer, well-formed
 * configuration, and asks a seed every 5 s anyway to keep its leader hint and session clock
 * fresh. Every agent answers fetches (0x61) with its version, the leader it knows, its session
 * clock, and its configuration (without sessions) when the asker is behind; and pushes it
 * unasked (hs_cfgc_push) when the agent spreads a new version. */
#include <string.h>

#include "config_client_internal.h"
#include "hearsay/wire.h"

bool cfgc__name_addr(const hs_cfgc *c, const char *name, hs_addr *out)
{
    if (c->raft) {
        const hs_raft_peer *p = hs_raft_conf_find_name(hs_raft_get_conf(c->raft), name);
        if (p) {
            *out = p->addr;
            return true;
        }
    }
    const hs_cc_seed *s = hs_cc_find_seed(c->cc, name);
    if (s) {
        *out = s->addr;
        return true;
    }
    for (size_t i = 0; i < c->cfg.n_seeds; i++)
        if (!strcmp(c->cfg.seeds[i].name, name)) {
            *out = c->cfg.seeds[i].addr;
            return true;
        }
    return false;
}

/* The next seed in round robin (the configuration's seeds, else the --seed list). */
bool cfgc__any_seed(hs_cfgc *c, hs_addr *out)
{
    size_t n = c->cc->n_seeds ? c->cc->n_seeds : c->cfg.n_seeds;
    if (n == 0) return false;
    size_t i = c->rr++ % n;
    *out = c->cc->n_seeds ? c->cc->seeds[i].addr : c->cfg.seeds[i].addr;
    return true;
}

const char *hs_cfgc_leader(const hs_cfgc *c, uint64_t now)
{
    if (c->cfg.seed) {
        if (!c->raft) return NULL;
        const hs_raft_peer *p =
            hs_raft_conf_find(hs_raft_get_conf(c->raft), hs_raft_leader(c->raft));
        return p ? p->name : NULL;
    }
    if (!c->leader[0] || now > c->leader_at + CFGC_HINT_TTL_MS) return NULL;
    return c->leader;
}

void cfgc__set_hint(hs_cfgc *c, const char *leader)
{
    if (c->cfg.seed || !leader[0]) return;
    memcpy(c->leader, leader, strlen(leader) + 1);
    c->leader_at = c->now;
}

void cfgc__send_fetch(hs_cfgc *c, const hs_addr *to)
{
    hs_cfgc_wire m = {.type = HS_MSG_CONFIG_FETCH, .version = c->cc->version};
    c->last_fetch = c->now;
    cfgc__send(c, to, &m);
}

void hs_cfgc_version_seen(hs_cfgc *c, uint64_t now, const hs_addr *from, uint64_t version)
{
    c->now = now;
    if (version <= c->cc->version) return;
    if (version > c->want_version) c->want_version = version;
    if (c->cfg.seed) return; /* a seed catches up through Raft */
    c->want_from = *from;
    c->have_want_from = true;
    cfgc__send_fetch(c, from);
}

/* Our version, leader hint and session clock, with the configuration if `have` is older. */
static void send_config(hs_cfgc *c, const hs_addr *to, uint64_t have)
{
    hs_cfgc_wire a = {
        .type = HS_MSG_CONFIG_FETCH_RESP, .version = c->cc->version, .clock = cfgc__clock(c)};
    const char *leader = hs_cfgc_leader(c, c->now);
    if (leader) memcpy(a.leader, leader, strlen(leader) + 1);
    if (have < c->cc->version) {
        a.config_len = (uint32_t)hs_cc_serialize(c->cc, c->ser, HS_CC_SERIALIZED_MAX);
        a.config = c->ser;
    }
    cfgc__send(c, to, &a);
}

void cfgc__on_fetch(hs_cfgc *c, const hs_addr *from, const hs_cfgc_wire *m)
{
    send_config(c, from, m->version);
}

void hs_cfgc_push(hs_cfgc *c, uint64_t now, const hs_addr *to)
{
    c->now = now;
    if (c->cc->version) send_config(c, to, 0);
}

int cfgc__on_fetch_resp(hs_cfgc *c, const hs_addr *from, const hs_cfgc_wire *m)
{
    cfgc__set_hint(c, m->leader);
    if (m->clock > c->clock_seen) c->clock_seen = m->clock;
    if (m->version > c->want_version) c->want_version = m->version;
    if (c->cfg.seed || m->config_len == 0 || m->version <= c->cc->version) return 0;
    if (hs_cc_deserialize(m->config, m->config_len, c->incoming) != 0 ||
        c->incoming->version != m->version)
        return -1;
    memcpy(c->cc, c->incoming, sizeof(*c->cc));
    c->installed = true;
    c->installed_from = *from;
    cfgc__check_catchup(c);
    return 0;
}

void cfgc__fetch_tick(hs_cfgc *c)
{
    if (c->cfg.seed) return;
    hs_addr a;
    if (c->want_version > c->cc->version && c->now >= c->last_fetch + CFGC_FETCH_MS) {
        /* a newer configuration exists and we missed it: fetch again */
        if (c->have_want_from && (c->rr & 1))
            cfgc__send_fetch(c, &c->want_from);
        else if (cfgc__any_seed(c, &a))
            cfgc__send_fetch(c, &a);
        else if (c->have_want_from)
            cfgc__send_fetch(c, &c->want_from);
        c->rr++;
        c->last_fetch = c->now; /* even when there was nobody to ask */
    } else if (c->now >= c->last_hint + CFGC_HINT_FRESH_MS) {
        c->last_hint = c->now;
        if (cfgc__any_seed(c, &a)) cfgc__send_fetch(c, &a);
    }
}

uint64_t cfgc__fetch_deadline(const hs_cfgc *c)
{
    if (c->cfg.seed) return UINT64_MAX;
    uint64_t hint = c->last_hint + CFGC_HINT_FRESH_MS;
    if (c->want_version > c->cc->version) {
        uint64_t f = c->last_fetch + CFGC_FETCH_MS;
        return f < hint ? f : hint;
    }
    return hint;
}
