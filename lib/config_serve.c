/* config_serve.c: how the Raft leader serves an operation of the configuration client: a
 * read by ReadIndex; a change only once the leader has applied everything up to a commit of its
 * own term, then answered from its client session (a duplicate: the original answer, no entry),
 * joined to its entry if that is already in the log, refused without an entry when the
 * configuration would refuse it anyway, or proposed with its session tag. */
#include <string.h>

#include <sodium.h>

#include "config_client_internal.h"
#include "hearsay/envelope.h"
#include "hearsay/fd_settings.h"

static int result_of(int rc)
{
    switch (rc) {
    case HS_CC_OK:
        return HS_CFGC_OK;
    case HS_CC_ENOENT:
        return HS_CFGC_NOTFOUND;
    case HS_CC_ESTALE:
        return HS_CFGC_EXPIRED;
    case HS_CC_ECONFLICT:
        return HS_CFGC_CONFLICT;
    default:
        return HS_CFGC_INVALID;
    }
}

void cfgc__answer(hs_cfgc *c, cop *o, const hs_cc_outcome *out)
{
    int res = result_of(out->rc);
    if (res == HS_CFGC_EXPIRED)
        cfgc__stale(c, o);
    else
        cfgc__finish(c, o, res, o->value, res == HS_CFGC_OK, out->version);
}

/* Has this leader applied everything up to a commit of its own term? */
bool cfgc__caught_up(const hs_cfgc *c)
{
    uint64_t commit = hs_raft_commit(c->raft);
    return c->applied >= commit && hs_raft_term_at(c->raft, commit) == hs_raft_term(c->raft);
}

/* Is the request already in the log, not yet applied? */
static bool in_log(const hs_cfgc *c, const hs_cc_tag *t, uint64_t *index, uint64_t *term)
{
    uint64_t last = hs_raft_last_index(c->raft);
    for (uint64_t i = c->applied + 1; i <= last; i++) {
        const hs_raft_entry *e = hs_raft_entry_at(c->raft, i);
        hs_cc_tag et;
        if (e && hs_cc_entry_tag(e, &et) && et.session == t->session && et.seq == t->seq) {
            *index = i;
            *term = e->term;
            return true;
        }
    }
    return false;
}

/* What the leader proposes for a change: built from the request alone. */
typedef struct proposal {
    bool conf;
    hs_cc_cmd cmd;
    hs_raft_conf_change cc;
    uint64_t fp;
} proposal;

/* The command of a key/value kind. */
static uint8_t cmd_op(int kind)
{
    switch (kind) {
    case HS_CFGC_SET:
        return HS_CC_SET;
    case HS_CFGC_DELETE:
        return HS_CC_DELETE;
    case HS_CFGC_SET_FD:
        return HS_CC_SET_FD;
    case HS_CFGC_DELETE_FD:
        return HS_CC_DELETE_FD;
    case HS_CFGC_REMOVE_NODE:
        return HS_CC_REMOVE_NODE;
    default:
        return HS_CC_READMIT_NODE;
    }
}

static bool build(const cop *o, proposal *p)
{
    memset(p, 0, sizeof(*p));
    switch (o->kind) {
    case HS_CFGC_SET:
    case HS_CFGC_DELETE:
    case HS_CFGC_SET_FD:
    case HS_CFGC_DELETE_FD:
    case HS_CFGC_REMOVE_NODE:
    case HS_CFGC_READMIT_NODE:
        p->cmd.op = cmd_op(o->kind);
        cfgc__copy_str(p->cmd.key, sizeof(p->cmd.key), o->key);
        if (o->kind == HS_CFGC_SET || o->kind == HS_CFGC_SET_FD || o->kind == HS_CFGC_REMOVE_NODE)
            cfgc__copy_str(p->cmd.value, sizeof(p->cmd.value), o->value);
        break;
    case HS_CFGC_KEY_INSTALL:
    case HS_CFGC_KEY_USE:
    case HS_CFGC_KEY_REMOVE:
        p->cmd.op = o->kind == HS_CFGC_KEY_INSTALL ? HS_CC_KEY_INSTALL
                    : o->kind == HS_CFGC_KEY_USE   ? HS_CC_KEY_USE
                                                   : HS_CC_KEY_REMOVE;
        if (hs_env_key_decode(o->value, strlen(o->value), p->cmd.key_bytes) != 0) return false;
        break;
    case HS_CFGC_ADD_SEED:
    case HS_CFGC_REMOVE_SEED:
        p->conf = true;
        p->cc.op = o->kind == HS_CFGC_ADD_SEED ? HS_RAFT_ADD_SEED : HS_RAFT_REMOVE_SEED;
        p->cc.peer.id = hs_cc_seed_id(o->key);
        cfgc__copy_str(p->cc.peer.name, sizeof(p->cc.peer.name), o->key);
        if (o->kind == HS_CFGC_ADD_SEED && hs_addr_parse(&p->cc.peer.addr, o->value, 0) != 0)
            return false;
        p->fp = hs_cc_conf_fingerprint(&p->cc);
        return true;
    default:
        return false;
    }
    uint8_t b[HS_CC_CMD_MAX];
    if (!hs_cc_cmd_encode(&p->cmd, b, sizeof(b))) return false;
    p->fp = hs_cc_cmd_fingerprint(&p->cmd);
    return true;
}

enum { PRE_GO = 0, PRE_WAIT = -1 };

/* What the configuration would refuse now, refused before it costs a log entry (the state
 * machine still decides: proposals in flight may change the answer). */
static int precheck(const hs_cfgc *c, const cop *o, proposal *p)
{
    const hs_raft_conf *conf = hs_raft_get_conf(c->raft);
    switch (o->kind) {
    case HS_CFGC_SET:
        return !hs_cc_get(c->cc, o->key) && c->cc->n_settings >= HS_CC_MAX_SETTINGS
                   ? HS_CFGC_INVALID
                   : PRE_GO;
    case HS_CFGC_KEY_INSTALL:
    case HS_CFGC_KEY_USE:
    case HS_CFGC_KEY_REMOVE:
        return c->cc->n_keys == 0 ? PRE_WAIT : PRE_GO; /* the seeds' ring goes in first */
    case HS_CFGC_SET_FD:
        return hs_fd_check(o->key, o->value) ? HS_CFGC_INVALID : PRE_GO;
    case HS_CFGC_REMOVE_NODE: /* a seed leaves the Raft group first */
        return hs_raft_conf_find_name(conf, o->key) ? HS_CFGC_INVALID : PRE_GO;
    case HS_CFGC_ADD_SEED: /* a removed member is readmitted first */
        return hs_raft_conf_find_name(conf, o->key) || hs_cc_is_removed(c->cc, o->key)
                   ? HS_CFGC_INVALID
                   : PRE_GO;
    case HS_CFGC_REMOVE_SEED: {
        const hs_raft_peer *peer = hs_raft_conf_find_name(conf, o->key);
        if (!peer) return HS_CFGC_NOTFOUND;
        p->cc.peer = *peer;
        return PRE_GO;
    }
    }
    return PRE_GO;
}

static void propose(hs_cfgc *c, cop *o, proposal *p)
{
    int rc;
    hs_cc_tag t = cfgc__tag_now(c, o);
    if (p->conf) {
        hs_cc_conf_set_tag(&p->cc, &t);
        rc = hs_raft_propose_conf(c->raft, &p->cc, &o->index, &o->term);
    } else {
        uint8_t b[HS_CC_CMD_MAX];
        p->cmd.tag = t;
        size_t n = hs_cc_cmd_encode(&p->cmd, b, sizeof(b));
        rc = n ? hs_raft_propose(c->raft, b, n, &o->index, &o->term) : HS_RAFT_EINVAL;
        sodium_memzero(b, sizeof(b));
    }
    if (rc == HS_RAFT_OK) {
        o->state = ST_PROPOSED;
        o->joined = false;
        o->copies++;
        c->stats.proposed++;
        c->raft_work = true;
    } else if (rc == HS_RAFT_EBUSY) {
        cfgc__finish(c, o, HS_CFGC_BUSY, NULL, false, 0);
    } else if (rc == HS_RAFT_EINVAL) {
        cfgc__finish(c, o, HS_CFGC_INVALID, NULL, false, 0);
    } /* ENOMEM: again at the next try */
}

void cfgc__serve(hs_cfgc *c, cop *o)
{
    if (o->kind == HS_CFGC_READ) {
        if (hs_raft_read_index(c->raft, o->id) == HS_RAFT_OK) {
            o->state = ST_READING;
            o->next_try = c->now + CFGC_RESEND_MS;
            c->raft_work = true;
        }
        return; /* EBUSY: no commit of this term yet; again at the next try */
    }
    if (!cfgc__caught_up(c)) return; /* an entry an earlier leader committed may answer it */
    if (!o->remote && !cfgc__place(c, o)) return;
    proposal p;
    bool ok = build(o, &p);
    if (!ok) {
        cfgc__finish(c, o, HS_CFGC_INVALID, NULL, false, 0);
    } else {
        hs_cc_tag t = cfgc__tag_now(c, o);
        hs_cc_outcome out;
        if (!hs_cc_session_check(c->cc, &t, p.fp, &out)) {
            if (out.duplicate) c->stats.duplicates++;
            cfgc__answer(c, o, &out);
        } else if (in_log(c, &t, &o->index, &o->term)) {
            o->state = ST_PROPOSED;
            o->joined = true;
            c->stats.joined++;
        } else {
            int pre = precheck(c, o, &p);
            if (pre > 0)
                cfgc__finish(c, o, pre, NULL, false, 0);
            else if (pre == PRE_GO)
                propose(c, o, &p);
        }
    }
    sodium_memzero(&p, sizeof(p));
}
