/* agent_operator.c: what the agent core does with the operator's parts of the replicated
 * configuration each time it changes (and once at start): the failure-detection settings
 * (fd_settings.h: the configuration's profile and overrides over this agent's own) go to the
 * membership node; removals and readmissions (force-leave) are applied to it, ours included;
 * and a version that changes these is pushed to a few live members that announced an older
 * one, so it spreads in a few stream round trips instead of one probe period per ring
 * neighbour. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "hearsay/fd_settings.h"

#define SPREAD_FANOUT 6 /* members each agent pushes a new version to */

static void apply_fd(hs_agent *a)
{
    hs_config eff;
    int profile;
    hs_fd_effective(a->cc, &a->base, a->base_profile, &eff, &profile);
    const hs_config *cur = hs_node_config(a->node);
    hs_config now = *cur;
    hs_fd_copy(&now, &eff);
    if (!memcmp(&now, cur, sizeof(now)) && profile == a->profile) return;
    if (hs_node_set_timing(a->node, a->now, &eff) != 0) {
        ag_notice(a, HS_AGENT_WARN,
                  "configuration version %llu: its failure-detection settings do not make a "
                  "valid set; keeping the current ones",
                  (unsigned long long)a->cc->version);
        return;
    }
    a->profile = profile;
    ag_notice(a, HS_AGENT_INFO,
              "failure detection: profile %s, probe every %u ms (timeout %u ms), vote group %u "
              "(configuration version %llu)",
              hs_fd_profile_name(profile), (unsigned)eff.probe_interval_ms,
              (unsigned)eff.probe_timeout_ms, (unsigned)eff.vote_group_size,
              (unsigned long long)a->cc->version);
}

static void apply_removed(hs_agent *a)
{
    const char *self = a->name;
    bool was_out = hs_node_removed(a->node, self) >= 0;
    /* readmissions first (names the node holds that the configuration no longer lists) */
    for (size_t i = hs_node_removed_count(a->node); i-- > 0;) {
        const char *name = hs_node_removed_at(a->node, i);
        if (name && !hs_cc_is_removed(a->cc, name)) {
            char copy[HS_NAME_MAX + 1];
            snprintf(copy, sizeof(copy), "%s", name);
            hs_node_readmit_member(a->node, a->now, copy);
        }
    }
    for (uint32_t i = 0; i < a->cc->n_removed; i++) {
        bool prune = a->cc->removed_flags[i] & HS_CC_REMOVED_PRUNE;
        int have = hs_node_removed(a->node, a->cc->removed[i]);
        if (have < 0 || (prune && !have))
            hs_node_remove_member(a->node, a->now, a->cc->removed[i], prune);
    }
    bool out = hs_node_removed(a->node, self) >= 0;
    if (out && !was_out)
        ag_notice(a, HS_AGENT_ERR,
                  "this agent (%s) was removed from the cluster by force-leave (configuration "
                  "version %llu): it takes no part in gossip until `hearsay readmit %s` runs on "
                  "any member, this one included",
                  self, (unsigned long long)a->cc->version, self);
    else if (was_out && !out)
        ag_notice(a, HS_AGENT_INFO, "this agent (%s) was readmitted (configuration version %llu)",
                  self, (unsigned long long)a->cc->version);
}

/* Pushes our configuration to up to SPREAD_FANOUT random live members behind it. */
static void spread(hs_agent *a)
{
    size_t total = hs_node_member_count(a->node), n = 0;
    if (!a->cc->version || total < 2) return;
    hs_addr *cand = malloc(total * sizeof(*cand));
    if (!cand) abort();
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(a->node, i, &mi) && !mi.is_self &&
            (mi.status == HS_ALIVE || mi.status == HS_SUSPECT) &&
            mi.config_version < a->cc->version)
            cand[n++] = mi.addr;
    for (size_t k = 0; k < SPREAD_FANOUT && n; k++) {
        size_t pick = (size_t)(a->spread_rng % n);
        a->spread_rng = a->spread_rng * 6364136223846793005ULL + 1442695040888963407ULL;
        hs_cfgc_push(a->cfgc, a->now, &cand[pick]);
        cand[pick] = cand[--n];
    }
    free(cand);
}

/* FNV-1a over the operator's parts of the configuration: the fd table and the removals. */
static uint64_t operator_digest(const hs_cluster_config *c)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const uint8_t *parts[2] = {(const uint8_t *)c->fd, (const uint8_t *)c->removed};
    size_t lens[2] = {c->n_fd * sizeof(c->fd[0]), c->n_removed * sizeof(c->removed[0])};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < lens[k]; i++) h = (h ^ parts[k][i]) * 0x100000001b3ULL;
    for (uint32_t i = 0; i < c->n_removed; i++) h = (h ^ c->removed_flags[i]) * 0x100000001b3ULL;
    return h ^ c->n_fd ^ ((uint64_t)c->n_removed << 32);
}

void ag_operator_apply(hs_agent *a, bool spread_it)
{
    apply_fd(a);
    apply_removed(a);
    /* only a change of the fd settings or the removals is pushed: the others (free-form
     * settings, key ring steps) travel as before, by the version on every Ping */
    uint64_t d = operator_digest(a->cc);
    if (spread_it && a->cc->version > a->spread_version && d != a->op_digest) {
        a->spread_version = a->cc->version;
        spread(a);
    }
    a->op_digest = d;
}

int hs_agent_fd_profile(const hs_agent *a)
{
    return a->profile;
}

bool hs_agent_stopped(const hs_agent *a, const char **why)
{
    if (why) *why = a->stop_why;
    return a->stop_why[0] != '\0';
}
