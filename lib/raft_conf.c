/* raft_conf.c: the Raft seed set (hs_raft_conf): lookups and applying one add-seed or
 * remove-seed change, plus role names for status output. */
#include <string.h>

#include "hearsay/raft.h"

const char *hs_raft_role_name(hs_raft_role role)
{
    switch (role) {
    case HS_RAFT_FOLLOWER:
        return "follower";
    case HS_RAFT_PRECANDIDATE: /* the API reports three states */
        return "candidate";
    case HS_RAFT_CANDIDATE:
        return "candidate";
    case HS_RAFT_LEADER:
        return "leader";
    }
    return "unknown";
}

const hs_raft_peer *hs_raft_conf_find(const hs_raft_conf *c, uint64_t id)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->peers[i].id == id) return &c->peers[i];
    return NULL;
}

int hs_raft_conf_apply(hs_raft_conf *c, const hs_raft_conf_change *cc)
{
    if (cc->op == HS_RAFT_ADD_SEED) {
        if (cc->peer.id == 0 || c->n >= HS_RAFT_MAX_PEERS) return HS_RAFT_EINVAL;
        for (uint32_t i = 0; i < c->n; i++)
            if (c->peers[i].id == cc->peer.id || strcmp(c->peers[i].name, cc->peer.name) == 0)
                return HS_RAFT_EINVAL;
        c->peers[c->n++] = cc->peer;
        return HS_RAFT_OK;
    }
    if (cc->op == HS_RAFT_REMOVE_SEED) {
        for (uint32_t i = 0; i < c->n; i++) {
            if (c->peers[i].id != cc->peer.id) continue;
            if (c->n == 1) return HS_RAFT_EINVAL; /* never remove the last seed */
            memmove(&c->peers[i], &c->peers[i + 1], (c->n - i - 1) * sizeof(c->peers[0]));
            c->n--;
            return HS_RAFT_OK;
        }
    }
    return HS_RAFT_EINVAL;
}

const hs_raft_peer *hs_raft_conf_find_name(const hs_raft_conf *c, const char *name)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (strcmp(c->peers[i].name, name) == 0) return &c->peers[i];
    return NULL;
}
