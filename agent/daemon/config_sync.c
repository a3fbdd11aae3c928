/* config_sync.c: cluster configuration outside the Raft core, on every agent.
 * - Fetch (0x60 request: have_version u64; 0x61 reply: version u64, leader str8, u32 length and
 *   hs_cc_serialize bytes, empty when the requester is not behind). A non-seed fetches from the
 *   member named by HS_EV_CONFIG_SEEN, retries (other members, then seeds) once a second while
 *   it knows of a newer version, installs a newer configuration, persists it in
 *   DATA_DIR/config.bin and publishes a config-change event. Every agent answers fetches.
 * - Forwarded requests (0x62: rid u64, op u8, key str8, value str8; 0x63: rid u64, result u8,
 *   version u64, found u8, value str8, leader str8). Only the Raft leader serves them; anyone
 *   else answers NOTLEADER with its leader hint, and the origin retries there.
 * - Pending operations (config set/read, add/remove seed) for HTTP requests and for requests
 *   forwarded to us: proposed on the leader, ReadIndex on a seed, or forwarded; answered once
 *   committed AND applied locally (origin waits for its own configuration to reach the
 *   version), or with a timeout. All decoders take hostile input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>
#include <sodium.h>

#include "daemon.h"
#include "hearsay/cluster_config.h"
#include "hearsay/codec.h"
#include "hearsay/raft.h"
#include "log.h"

#define MSG_FETCH      0x60
#define MSG_FETCH_RESP 0x61
#define MSG_FWD        0x62
#define MSG_FWD_RESP   0x63

#define OP_DEADLINE_MS  8000 /* below the HTTP connection timeout */
#define OP_RESEND_MS    1000
#define OP_RETRY_MS     100
#define OPS_MAX         1024
#define TICK_MS         100
#define FETCH_RETRY_MS  1000
#define HINT_TTL_MS     10000
#define HINT_REFRESH_MS 5000

enum op_state { ST_START, ST_PROPOSED, ST_READING, ST_READ_WAIT, ST_REMOTE, ST_CATCHUP };

typedef struct op {
    uint64_t id;
    int kind, state;
    char key[HS_CC_NAME_MAX + 1];
    char value[HS_CC_VALUE_MAX + 1];
    struct evhttp_request *req; /* HTTP origin */
    bool remote;                /* origin is another agent */
    hs_addr origin;
    uint64_t origin_rid;
    uint64_t deadline, next_try;
    uint64_t index, term; /* ST_PROPOSED */
    uint64_t read_index;  /* ST_READ_WAIT */
    uint64_t want_version;
    hs_addr target; /* ST_REMOTE */
    struct op *next;
} op;

struct hsd_sync {
    struct event *tick;
    op *ops;
    unsigned n_ops;
    uint64_t next_id;
    char leader[HS_RAFT_NAME_MAX + 1]; /* hint for non-seeds */
    uint64_t leader_at;
    uint64_t want_version; /* highest version we know exists */
    hs_addr want_from;
    bool have_want_from;
    uint64_t last_fetch, last_hint;
    unsigned rr; /* round robin over seeds */
    uint8_t *buf;
};

/* ---- helpers ---- */

static bool name_addr(const hsd *d, const char *name, hs_addr *out)
{
    hs_raft *r = hsd_raft_node(d);
    if (r) {
        const hs_raft_peer *p = hs_raft_conf_find_name(hs_raft_get_conf(r), name);
        if (p) {
            *out = p->addr;
            return true;
        }
    }
    const hs_cc_seed *s = hs_cc_find_seed(d->cc, name);
    if (s) {
        *out = s->addr;
        return true;
    }
    for (size_t i = 0; i < d->opt.seed_count; i++)
        if (!strcmp(d->opt.seeds[i].name, name)) {
            *out = d->opt.seeds[i].addr;
            return true;
        }
    return false;
}

/* The next seed address in round robin (configuration's seeds, else --seed). */
static bool any_seed(hsd *d, hs_addr *out)
{
    struct hsd_sync *S = d->sync;
    size_t n = d->cc->n_seeds ? d->cc->n_seeds : d->opt.seed_count;
    if (n == 0) return false;
    size_t i = S->rr++ % n;
    *out = d->cc->n_seeds ? d->cc->seeds[i].addr : d->opt.seeds[i].addr;
    return true;
}

const char *hsd_sync_leader(const hsd *d)
{
    if (hsd_raft_node(d)) return hsd_raft_leader_name(d);
    const struct hsd_sync *S = d->sync;
    if (!S || !S->leader[0] || hsd_now_ms() > S->leader_at + HINT_TTL_MS) return NULL;
    return S->leader;
}

static void set_hint(hsd *d, const char *leader)
{
    if (!leader[0]) return;
    snprintf(d->sync->leader, sizeof(d->sync->leader), "%s", leader);
    d->sync->leader_at = hsd_now_ms();
}

static void send_buf(hsd *d, const hs_addr *to, hs_writer *w)
{
    if (!w->ok) {
        d->c.drops[HSD_DROP_OVERSIZE]++;
        return;
    }
    hsd_tcp_send(d, to, w->buf, w->len);
}

/* ---- configuration install and persistence (non-seeds) ---- */

static void save_config(hsd *d)
{
    if (d->raft) return; /* seeds keep it in the Raft snapshot and log */
    size_t n = hs_cc_serialize(d->cc, d->sync->buf, HS_CC_SERIALIZED_MAX);
    if (!n) return;
    char path[HSD_PATH_MAX + 32], tmp[HSD_PATH_MAX + 40];
    snprintf(path, sizeof(path), "%s/config.bin", d->opt.data_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool ok = write(fd, d->sync->buf, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) log_warn("cannot save %s: %s", path, strerror(errno));
}

static void load_config(hsd *d)
{
    char path[HSD_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/config.bin", d->opt.data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, d->sync->buf, HS_CC_SERIALIZED_MAX);
    close(fd);
    if (n <= 0 || hs_cc_deserialize(d->sync->buf, (size_t)n, d->cc) != 0) {
        hs_cc_init(d->cc);
        log_warn("ignoring unreadable %s", path);
        return;
    }
    hs_node_set_config_version(d->node, d->cc->version);
    log_info("loaded cluster configuration version %llu", (unsigned long long)d->cc->version);
}

static void check_catchup(hsd *d);

void hsd_sync_config_changed(hsd *d, const char *src, const hs_addr *addr)
{
    hsd_keys_config_changed(d);
    hs_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = HS_EV_CONFIG_SEEN;
    snprintf(ev.name, sizeof(ev.name), "%s", src);
    ev.addr = *addr;
    ev.status = HS_ALIVE;
    ev.prev_status = HS_ALIVE;
    ev.config_version = d->cc->version;
    ev.at_ms = hsd_now_ms();
    hsd_events_publish(d, &ev);
    save_config(d);
    check_catchup(d);
}

/* ---- fetch ---- */

static void send_fetch(hsd *d, const hs_addr *to)
{
    uint8_t b[16];
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, MSG_FETCH);
    hs_put_u64(&w, d->cc->version);
    d->sync->last_fetch = hsd_now_ms();
    send_buf(d, to, &w);
}

void hsd_sync_config_seen(hsd *d, const hs_event *ev)
{
    struct hsd_sync *S = d->sync;
    if (!S || ev->config_version <= d->cc->version) return;
    if (ev->config_version > S->want_version) S->want_version = ev->config_version;
    if (d->raft) return; /* a seed catches up through Raft */
    S->want_from = ev->addr;
    S->have_want_from = true;
    send_fetch(d, &ev->addr);
}

static void on_fetch(hsd *d, const hs_addr *from, hs_reader *r)
{
    uint64_t have = hs_get_u64(r);
    if (!r->ok || hs_reader_left(r) != 0) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        return;
    }
    struct hsd_sync *S = d->sync;
    size_t cap = 64 + HS_CC_SERIALIZED_MAX;
    uint8_t *b = malloc(cap);
    if (!b) return;
    size_t n = 0;
    if (have < d->cc->version) n = hs_cc_serialize(d->cc, S->buf, HS_CC_SERIALIZED_MAX);
    const char *leader = hsd_sync_leader(d);
    hs_writer w;
    hs_writer_init(&w, b, cap);
    hs_put_u8(&w, MSG_FETCH_RESP);
    hs_put_u64(&w, d->cc->version);
    hs_put_str8(&w, leader ? leader : "", leader ? strlen(leader) : 0);
    hs_put_u32(&w, (uint32_t)n);
    hs_put_bytes(&w, S->buf, n);
    send_buf(d, from, &w);
    free(b);
}

static void on_fetch_resp(hsd *d, const hs_addr *from, hs_reader *r)
{
    uint64_t version = hs_get_u64(r);
    char leader[HS_RAFT_NAME_MAX + 1];
    hs_get_str8(r, leader, sizeof(leader), false);
    uint32_t n = hs_get_u32(r);
    if (n > HS_CC_SERIALIZED_MAX) r->ok = false;
    const uint8_t *p = hs_get_bytes(r, n);
    if (!r->ok || hs_reader_left(r) != 0) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        return;
    }
    if (!d->raft) set_hint(d, leader);
    if (version > d->sync->want_version) d->sync->want_version = version;
    if (d->raft || n == 0 || version <= d->cc->version) return;
    hs_cluster_config *c = malloc(sizeof(*c));
    if (!c) return;
    if (hs_cc_deserialize(p, n, c) != 0 || c->version != version) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        free(c);
        return;
    }
    memcpy(d->cc, c, sizeof(*c));
    free(c);
    hs_node_set_config_version(d->node, d->cc->version);
    char b[HS_ADDR_STRLEN];
    log_info("installed cluster configuration version %llu from %s",
             (unsigned long long)d->cc->version, hs_addr_format(from, b, sizeof(b)));
    const char *src = "";
    hs_member_info mi;
    size_t total = hs_node_member_count(d->node);
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(d->node, i, &mi) && hs_addr_equal(&mi.addr, from)) src = mi.name;
    hsd_sync_config_changed(d, src, from);
}

/* ---- operations ---- */

static op *op_find(hsd *d, uint64_t id)
{
    for (op *o = d->sync->ops; o; o = o->next)
        if (o->id == id) return o;
    return NULL;
}

static void send_fwd_resp(hsd *d, const hs_addr *to, uint64_t rid, int result, uint64_t version,
                          bool found, const char *value)
{
    uint8_t b[600];
    const char *leader = hsd_sync_leader(d);
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, MSG_FWD_RESP);
    hs_put_u64(&w, rid);
    hs_put_u8(&w, (uint8_t)result);
    hs_put_u64(&w, version);
    hs_put_u8(&w, found ? 1 : 0);
    hs_put_str8(&w, value ? value : "", value ? strlen(value) : 0);
    hs_put_str8(&w, leader ? leader : "", leader ? strlen(leader) : 0);
    send_buf(d, to, &w);
}

/* Answers and frees o. */
static void op_finish(hsd *d, op *o, int result, const char *value, bool found, uint64_t version)
{
    struct hsd_sync *S = d->sync;
    for (op **pp = &S->ops; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    S->n_ops--;
    if (o->remote)
        send_fwd_resp(d, &o->origin, o->origin_rid, result, version, found, value);
    else if (o->req)
        hsd_http_op_done(d, o->req, o->kind, result, o->key, value, found, version);
    free(o);
}

static void op_complete_read(hsd *d, op *o)
{
    const char *v = hs_cc_get(d->cc, o->key);
    op_finish(d, o, v ? HSD_OP_OK : HSD_OP_NOTFOUND, v, v != NULL, d->cc->version);
}

static void send_fwd(hsd *d, op *o)
{
    uint8_t b[600];
    hs_writer w;
    hs_writer_init(&w, b, sizeof(b));
    hs_put_u8(&w, MSG_FWD);
    hs_put_u64(&w, o->id);
    hs_put_u8(&w, (uint8_t)o->kind);
    hs_put_str8(&w, o->key, strlen(o->key));
    hs_put_str8(&w, o->value, strlen(o->value));
    send_buf(d, &o->target, &w);
}

/* Runs o as far as it goes now: propose / read / forward. */
static void op_run(hsd *d, op *o)
{
    uint64_t now = hsd_now_ms();
    hs_raft *r = hsd_raft_node(d);
    o->next_try = now + OP_RETRY_MS;
    if (r && hs_raft_get_role(r) == HS_RAFT_LEADER) {
        int rc;
        if (o->kind == HSD_OP_SET) {
            /* refuse what the configuration would refuse, before it costs a log entry (the
             * state machine still decides: proposals in flight may fill the table) */
            if (!hs_cc_get(d->cc, o->key) && d->cc->n_settings >= HS_CC_MAX_SETTINGS) {
                op_finish(d, o, HSD_OP_INVALID, NULL, false, 0);
                return;
            }
            hs_cc_cmd cmd;
            memset(&cmd, 0, sizeof(cmd));
            cmd.op = HS_CC_SET;
            snprintf(cmd.key, sizeof(cmd.key), "%s", o->key);
            snprintf(cmd.value, sizeof(cmd.value), "%s", o->value);
            uint8_t b[HS_CC_CMD_MAX];
            size_t n = hs_cc_cmd_encode(&cmd, b, sizeof(b));
            if (!n) {
                op_finish(d, o, HSD_OP_INVALID, NULL, false, 0);
                return;
            }
            rc = hs_raft_propose(r, b, n, &o->index, &o->term);
        } else if (o->kind >= HSD_OP_KEY_INSTALL) {
            if (d->cc->n_keys == 0) return; /* the leader installs the seeds' ring first */
            hs_cc_cmd cmd;
            memset(&cmd, 0, sizeof(cmd));
            cmd.op = o->kind == HSD_OP_KEY_INSTALL ? HS_CC_KEY_INSTALL
                     : o->kind == HSD_OP_KEY_USE   ? HS_CC_KEY_USE
                                                   : HS_CC_KEY_REMOVE;
            uint8_t b[HS_CC_CMD_MAX];
            size_t n = 0;
            if (hs_env_key_decode(o->value, strlen(o->value), cmd.key_bytes) == 0)
                n = hs_cc_cmd_encode(&cmd, b, sizeof(b));
            sodium_memzero(cmd.key_bytes, sizeof(cmd.key_bytes));
            if (!n) {
                op_finish(d, o, HSD_OP_INVALID, NULL, false, 0);
                return;
            }
            rc = hs_raft_propose(r, b, n, &o->index, &o->term);
        } else if (o->kind == HSD_OP_READ) {
            rc = hs_raft_read_index(r, o->id);
            if (rc == HS_RAFT_OK) {
                o->state = ST_READING;
                o->next_try = now + OP_RESEND_MS;
                hsd_raft_drive(d);
            }
            return; /* EBUSY: no current-term commit yet, retry */
        } else {
            hs_raft_conf_change cc;
            memset(&cc, 0, sizeof(cc));
            cc.op = o->kind == HSD_OP_ADD_SEED ? HS_RAFT_ADD_SEED : HS_RAFT_REMOVE_SEED;
            const hs_raft_conf *conf = hs_raft_get_conf(r);
            if (o->kind == HSD_OP_ADD_SEED) {
                cc.peer.id = hsd_seed_id(o->key);
                snprintf(cc.peer.name, sizeof(cc.peer.name), "%s", o->key);
                if (hs_addr_parse(&cc.peer.addr, o->value, 0) != 0) {
                    op_finish(d, o, HSD_OP_INVALID, NULL, false, 0);
                    return;
                }
                if (hs_raft_conf_find_name(conf, o->key)) {
                    op_finish(d, o, HSD_OP_INVALID, NULL, false, 0);
                    return;
                }
            } else {
                const hs_raft_peer *p = hs_raft_conf_find_name(conf, o->key);
                if (!p) {
                    op_finish(d, o, HSD_OP_NOTFOUND, NULL, false, 0);
                    return;
                }
                cc.peer = *p;
            }
            rc = hs_raft_propose_conf(r, &cc, &o->index, &o->term);
            if (rc == HS_RAFT_EBUSY) {
                op_finish(d, o, HSD_OP_BUSY, NULL, false, 0);
                return;
            }
        }
        if (rc == HS_RAFT_OK) {
            o->state = ST_PROPOSED;
            hsd_raft_drive(d);
        } else if (rc == HS_RAFT_EINVAL) {
            op_finish(d, o, HSD_OP_INVALID, NULL, false, 0);
        }
        return;
    }
    if (o->remote) {
        /* forwarded requests are served by the leader only; tell the origin who leads */
        op_finish(d, o, HSD_OP_NOTLEADER, NULL, false, 0);
        return;
    }
    if (r && o->kind == HSD_OP_READ && hs_raft_leader(r)) {
        /* a follower seed: ReadIndex through the leader, served from our own state */
        if (hs_raft_read_index(r, o->id) == HS_RAFT_OK) {
            o->state = ST_READING;
            o->next_try = now + OP_RESEND_MS;
            hsd_raft_drive(d);
        }
        return;
    }
    const char *leader = hsd_sync_leader(d);
    if (leader && name_addr(d, leader, &o->target)) {
        /* forward to the leader */
    } else if (r || !any_seed(d, &o->target)) {
        return; /* a seed without a known leader waits for the election */
    }
    o->state = ST_REMOTE;
    o->next_try = now + OP_RESEND_MS;
    send_fwd(d, o);
}

static op *op_new(hsd *d, int kind, const char *key, const char *value)
{
    struct hsd_sync *S = d->sync;
    if (S->n_ops >= OPS_MAX) return NULL;
    op *o = calloc(1, sizeof(*o));
    if (!o) return NULL;
    o->id = ++S->next_id;
    o->kind = kind;
    snprintf(o->key, sizeof(o->key), "%s", key);
    snprintf(o->value, sizeof(o->value), "%s", value ? value : "");
    o->deadline = hsd_now_ms() + OP_DEADLINE_MS;
    o->state = ST_START;
    o->next = S->ops;
    S->ops = o;
    S->n_ops++;
    return o;
}

void hsd_op_start(hsd *d, int kind, const char *key, const char *value, struct evhttp_request *req)
{
    op *o = op_new(d, kind, key, value);
    if (!o) {
        hsd_http_op_done(d, req, kind, HSD_OP_TIMEOUT, key, NULL, false, 0);
        return;
    }
    /* if the client goes away meanwhile evhttp detaches the request, and answering it
     * later (always, by the deadline at the latest) frees it */
    o->req = req;
    op_run(d, o);
}

static void on_fwd(hsd *d, const hs_addr *from, hs_reader *r)
{
    uint64_t rid = hs_get_u64(r);
    uint8_t kind = hs_get_u8(r);
    char key[HS_CC_NAME_MAX + 1], value[HS_CC_VALUE_MAX + 1];
    hs_get_str8(r, key, sizeof(key), true);
    hs_get_str8(r, value, sizeof(value), false);
    if (!r->ok || hs_reader_left(r) != 0 || kind < HSD_OP_SET || kind > HSD_OP_KEY_REMOVE) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        return;
    }
    for (op *o = d->sync->ops; o; o = o->next)
        if (o->remote && o->origin_rid == rid && hs_addr_equal(&o->origin, from)) return;
    op *o = op_new(d, kind, key, value);
    if (!o) {
        send_fwd_resp(d, from, rid, HSD_OP_TIMEOUT, 0, false, NULL);
        return;
    }
    o->remote = true;
    o->origin = *from;
    o->origin_rid = rid;
    op_run(d, o);
}

static void on_fwd_resp(hsd *d, const hs_addr *from, hs_reader *r)
{
    uint64_t rid = hs_get_u64(r);
    uint8_t result = hs_get_u8(r);
    uint64_t version = hs_get_u64(r);
    uint8_t found = hs_get_u8(r);
    char value[HS_CC_VALUE_MAX + 1], leader[HS_RAFT_NAME_MAX + 1];
    hs_get_str8(r, value, sizeof(value), false);
    hs_get_str8(r, leader, sizeof(leader), false);
    if (!r->ok || hs_reader_left(r) != 0 || result > HSD_OP_TIMEOUT || found > 1) {
        d->c.drops[HSD_DROP_MALFORMED]++;
        return;
    }
    if (!d->raft) set_hint(d, leader);
    op *o = op_find(d, rid);
    if (!o || o->remote || o->state != ST_REMOTE || !hs_addr_equal(&o->target, from)) return;
    if (result == HSD_OP_NOTLEADER || result == HSD_OP_TIMEOUT) {
        hs_addr a;
        o->state = ST_START;
        if (leader[0] && name_addr(d, leader, &a) && !hs_addr_equal(&a, from))
            op_run(d, o); /* straight to the leader it named */
        else
            o->next_try = hsd_now_ms() + OP_RETRY_MS;
        return;
    }
    if (result != HSD_OP_OK || o->kind == HSD_OP_READ) {
        op_finish(d, o, result, value, found, version);
        return;
    }
    /* committed: answer once our own configuration has it */
    o->state = ST_CATCHUP;
    o->want_version = version;
    if (version > d->sync->want_version) d->sync->want_version = version;
    if (d->cc->version >= version) {
        op_finish(d, o, HSD_OP_OK, o->value, true, version);
        return;
    }
    if (!d->raft) send_fetch(d, from);
}

static void check_catchup(hsd *d)
{
    for (op *o = d->sync->ops, *next; o; o = next) {
        next = o->next;
        if (o->state == ST_CATCHUP && d->cc->version >= o->want_version)
            op_finish(d, o, HSD_OP_OK, o->value, true, o->want_version);
        else if (o->state == ST_READ_WAIT && hsd_raft_applied(d) >= o->read_index)
            op_complete_read(d, o);
    }
}

void hsd_sync_on_applied(hsd *d, uint64_t index, uint64_t term, int cc_rc)
{
    if (!d->sync) return;
    for (op *o = d->sync->ops, *next; o; o = next) {
        next = o->next;
        if (o->state != ST_PROPOSED || o->index != index) continue;
        if (o->term != term) {
            o->state = ST_START; /* lost with a leader: try again */
            o->next_try = hsd_now_ms() + OP_RETRY_MS;
            continue;
        }
        int res = cc_rc == HS_CC_OK       ? HSD_OP_OK
                  : cc_rc == HS_CC_ENOENT ? HSD_OP_NOTFOUND
                                          : HSD_OP_INVALID;
        /* the entry is applied here; its version is the configuration's now */
        op_finish(d, o, res, o->value, res == HSD_OP_OK, d->cc->version);
    }
    check_catchup(d);
}

void hsd_sync_on_read(hsd *d, uint64_t ctx, uint64_t index)
{
    op *o = op_find(d, ctx);
    if (!o || o->state != ST_READING) return;
    o->state = ST_READ_WAIT;
    o->read_index = index;
    if (hsd_raft_applied(d) >= index) op_complete_read(d, o);
}

void hsd_sync_on_role(hsd *d)
{
    /* waiting ops retry at once against the new leader (from the loop, not inside a Ready) */
    bool any = false;
    for (op *o = d->sync->ops; o; o = o->next)
        if (o->state == ST_START || o->state == ST_READING || o->state == ST_REMOTE) {
            if (o->state == ST_REMOTE) o->state = ST_START;
            o->next_try = 0;
            any = true;
        }
    if (any) event_active(d->sync->tick, EV_TIMEOUT, 0);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd *d = arg;
    struct hsd_sync *S = d->sync;
    uint64_t now = hsd_now_ms();
    for (op *o = S->ops, *next; o; o = next) {
        next = o->next;
        if (now >= o->deadline) {
            op_finish(d, o,
                      o->state == ST_START && !hsd_sync_leader(d) ? HSD_OP_NOTLEADER
                                                                  : HSD_OP_TIMEOUT,
                      NULL, false, 0);
            continue;
        }
        if (now < o->next_try) continue;
        if (o->state == ST_START || o->state == ST_READING) {
            op_run(d, o);
        } else if (o->state == ST_REMOTE) {
            /* no answer: the hinted leader may be gone; ask again, elsewhere if we guessed */
            if (!d->raft) S->leader[0] = '\0';
            o->state = ST_START;
            op_run(d, o);
        } else if (o->state == ST_CATCHUP && !d->raft) {
            hs_addr a;
            if (any_seed(d, &a)) send_fetch(d, &a);
            o->next_try = now + OP_RETRY_MS * 3;
        }
    }
    if (!d->raft) {
        /* a newer configuration exists and we missed it: fetch again */
        if (S->want_version > d->cc->version && now >= S->last_fetch + FETCH_RETRY_MS) {
            hs_addr a;
            if (S->have_want_from && (S->rr & 1))
                send_fetch(d, &S->want_from);
            else if (any_seed(d, &a))
                send_fetch(d, &a);
            else if (S->have_want_from)
                send_fetch(d, &S->want_from);
            S->rr++;
        } else if (now >= S->last_hint + HINT_REFRESH_MS) {
            /* keep the leader hint fresh (one small request per 5 s) */
            hs_addr a;
            S->last_hint = now;
            if (any_seed(d, &a)) send_fetch(d, &a);
        }
    }
}

void hsd_sync_receive(hsd *d, const hs_addr *from, const uint8_t *data, size_t len)
{
    hs_reader r;
    hs_reader_init(&r, data + 1, len - 1);
    switch (data[0]) {
    case MSG_FETCH:
        on_fetch(d, from, &r);
        break;
    case MSG_FETCH_RESP:
        on_fetch_resp(d, from, &r);
        break;
    case MSG_FWD:
        on_fwd(d, from, &r);
        break;
    case MSG_FWD_RESP:
        on_fwd_resp(d, from, &r);
        break;
    default:
        d->c.drops[HSD_DROP_CONFIG_DISABLED]++;
    }
}

int hsd_sync_init(hsd *d)
{
    d->sync = calloc(1, sizeof(*d->sync));
    if (!d->sync) return -1;
    d->sync->buf = malloc(HS_CC_SERIALIZED_MAX);
    d->sync->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
    if (!d->sync->buf || !d->sync->tick) return -1;
    randombytes_buf(&d->sync->rr, sizeof(d->sync->rr));
    d->sync->rr %= 1024;
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(d->sync->tick, &tv);
    if (!hsd_is_seed(d)) load_config(d);
    return 0;
}

void hsd_sync_free(hsd *d)
{
    struct hsd_sync *S = d->sync;
    if (!S) return;
    while (S->ops) {
        op *o = S->ops;
        S->ops = o->next;
        free(o);
    }
    if (S->tick) event_free(S->tick);
    free(S->buf);
    free(S);
    d->sync = NULL;
}
