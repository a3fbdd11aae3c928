/* asim_net.c: the agent simulator's network under the real secure channels. Datagrams are
 * sealed and numbered by the sender's channel, delayed (latency, jitter), lost at random, and
 * opened by the receiver's channel, whose challenges, proofs and resends go out as datagrams
 * too. Streams are connections: the acceptor's challenge frame first, the connector's hello,
 * then frames one way, each direction an ordered sequence (a frame never overtakes an earlier
 * one), closed by either side on any frame the channel refuses, by an exit, or when idle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asim.h"
#include "asim_attack.h"
#include "asim_check.h"
#include "hearsay/wire.h"
#include "simutil.h"

#define QUEUE_MAX 4096 /* payloads waiting for a stream's challenge */

/* ---- message slots ---- */

static uint32_t msg_alloc(as_sim *s, const uint8_t *data, size_t len)
{
    uint32_t slot;
    if (s->msg_free != UINT32_MAX) {
        slot = s->msg_free;
        s->msg_free = s->msgs[slot].next_free;
    } else {
        s->msgs = sim_grow(s->msgs, s->nmsgs, &s->capmsgs, sizeof *s->msgs, 1024);
        slot = s->nmsgs++;
        s->msgs[slot].data = NULL;
        s->msgs[slot].cap = 0;
    }
    as_msg *m = &s->msgs[slot];
    if (m->cap < len) {
        free(m->data);
        m->cap = len < 2048 ? 2048 : (uint32_t)len;
        m->data = malloc(m->cap);
        if (!m->data) exit(2);
    }
    memcpy(m->data, data, len);
    m->len = (uint32_t)len;
    m->origin = AS_O_CLUSTER;
    m->rec_to = -1;
    m->sealed_us = s->now_us;
    m->conn = m->serial = 0;
    m->dir = 0;
    return slot;
}

static void msg_free(as_sim *s, uint32_t slot)
{
    as_msg *m = &s->msgs[slot];
    if (m->cap > 65536) {
        free(m->data);
        m->data = NULL;
        m->cap = 0;
    }
    m->next_free = s->msg_free;
    s->msg_free = slot;
}

static uint64_t latency(as_sim *s)
{
    uint64_t d = s->lat_us - s->jitter_us;
    if (s->jitter_us) d += sim_rng_below(&s->net_rng, 2 * (uint64_t)s->jitter_us + 1);
    return d ? d : 1;
}

static uint8_t *seal_buffer(as_sim *s, size_t need)
{
    if (s->sealcap < need) {
        free(s->sealbuf);
        s->sealcap = need < 65536 ? 65536 : need;
        s->sealbuf = malloc(s->sealcap);
        if (!s->sealbuf) exit(2);
    }
    return s->sealbuf;
}

static void digest_wire(as_sim *s, const hs_addr *from, const hs_addr *to, const uint8_t *w,
                        size_t len, uint32_t tag)
{
    uint64_t hdr[2] = {s->now_us, (uint64_t)tag << 32 | (uint32_t)len};
    as_digest(s, hdr, sizeof hdr);
    as_digest(s, from->ip, 16);
    as_digest(s, to->ip, 16);
    as_digest(s, w, len);
}

/* ---- datagrams ---- */

static void route_dgram(as_sim *s, const hs_addr *from, const hs_addr *to, const uint8_t *wire,
                        size_t len, uint8_t origin, int32_t rec_to, uint64_t sealed_us)
{
    s->dgrams++;
    digest_wire(s, from, to, wire, len, origin);
    int j = as_index_of_addr(s, to);
    if (j < 0) {
        check_stranger_bytes(s, to, len, true);
        return;
    }
    int f = as_index_of_addr(s, from);
    if (origin == AS_O_CLUSTER &&
        (s->ag[j].cut || (f >= 0 && s->ag[f].cut) || sim_rng_chance(&s->net_rng, s->loss))) {
        s->dgrams_lost++;
        return;
    }
    uint32_t slot = msg_alloc(s, wire, len);
    as_msg *m = &s->msgs[slot];
    m->from = *from;
    m->to = *to;
    m->origin = origin;
    m->rec_to = rec_to;
    m->sealed_us = sealed_us;
    sim_heap_push(&s->heap, s->now_us + latency(s), AS_EV_DGRAM, slot, 0);
}

/* Agent i sends sealed bytes (a core payload of type `type`, or channel control: 0). */
static void put_dgram(as_sim *s, uint32_t i, const hs_addr *to, const uint8_t *wire, size_t len,
                      uint8_t type)
{
    atk_record_dgram(s, i, to, wire, len, type);
    route_dgram(s, &s->ag[i].addr, to, wire, len, AS_O_CLUSTER, -1, s->now_us);
}

void net_inject_dgram(as_sim *s, const hs_addr *from, const hs_addr *to, const uint8_t *wire,
                      size_t len, uint8_t origin, int32_t rec_to, uint64_t sealed_us)
{
    route_dgram(s, from, to, wire, len, origin, rec_to, sealed_us);
}

static void deliver_dgram(as_sim *s, uint32_t slot)
{
    as_msg m = s->msgs[slot]; /* the slot stays ours until the end; the array may move */
    int j = as_index_of_addr(s, &m.to);
    if (!as_alive(s, j)) {
        msg_free(s, slot);
        return;
    }
    as_agent *g = &s->ag[j];
    if (as_index_of_addr(s, &m.from) < 0) check_stranger_bytes(s, &m.from, m.len, false);
    size_t n = 0;
    hs_env_result env = HS_ENV_OK;
    hs_ch_sender who;
    hs_ch_verdict v = hs_ch_open_dgram(g->ch, as_now_ms(s), &m.from, m.data, m.len, s->scratch,
                                       sizeof s->scratch, &n, &env, &who);
    if (m.origin == AS_O_CLUSTER)
        s->verdicts[0][v]++;
    else
        atk_count(s, m.origin, v, env);
    hs_ch_output o;
    while (hs_ch_next_output(g->ch, &o)) {
        if (v == HS_CH_UNPROVEN) check_reply(s, m.len, o.len);
        check_seal(s, (uint32_t)j, o.data, o.len, false);
        put_dgram(s, (uint32_t)j, &o.to, o.data, o.len, 0);
    }
    if (v == HS_CH_DELIVER) {
        if (m.origin != AS_O_CLUSTER) {
            char b[HS_ADDR_STRLEN];
            as_trace(s, "replayed datagram (type 0x%02x, recorded to n%d) delivered to %s from %s",
                     s->scratch[0], m.rec_to, g->name, hs_addr_format(&m.from, b, sizeof b));
        }
        check_delivered(s, (uint32_t)j, &m, &who, false);
        hs_agent_receive(g->a, as_now_ms(s), &m.from, s->scratch, n, false, &who);
        as_after_call(s, (uint32_t)j);
    }
    msg_free(s, slot);
}

/* ---- streams ---- */

static uint32_t conn_open(as_sim *s, int from, const hs_addr *src, const hs_addr *dst,
                          uint8_t origin)
{
    uint32_t c;
    if (s->conn_free != UINT32_MAX) {
        c = s->conn_free;
        s->conn_free = s->conns[c].next_free;
    } else {
        s->conns = sim_grow(s->conns, s->nconns, &s->capconns, sizeof *s->conns, 256);
        c = s->nconns++;
        memset(&s->conns[c], 0, sizeof s->conns[c]);
    }
    as_conn *k = &s->conns[c];
    as_pending *q = k->q;
    size_t capq = k->capq;
    memset(k, 0, sizeof *k);
    k->q = q;
    k->capq = capq;
    k->serial = ++s->next_serial;
    k->from = from;
    k->to = as_index_of_addr(s, dst);
    k->src = *src;
    k->dst = *dst;
    k->origin = origin;
    k->used_us = s->now_us;
    k->replay_rec = -1;
    if (from >= 0) {
        as_agent *g = &s->ag[from];
        g->outs = sim_grow(g->outs, g->nouts, &g->capouts, sizeof *g->outs, 8);
        g->outs[g->nouts++] = c;
    }
    s->conns_opened++;
    sim_heap_push(&s->heap, s->now_us + latency(s), AS_EV_SYN, c, k->serial);
    return c;
}

void net_close(as_sim *s, uint32_t c)
{
    as_conn *k = &s->conns[c];
    if (!k->serial) return;
    for (size_t i = 0; i < k->nq; i++) free(k->q[i].data);
    s->stream_payloads_lost += k->nq;
    k->nq = 0;
    hs_ch_stream_clear(&k->cs_out);
    hs_ch_stream_clear(&k->cs_in);
    if (k->from >= 0) {
        as_agent *g = &s->ag[k->from];
        for (size_t i = 0; i < g->nouts; i++)
            if (g->outs[i] == c) {
                g->outs[i] = g->outs[--g->nouts];
                break;
            }
    }
    k->serial = 0;
    k->next_free = s->conn_free;
    s->conn_free = c;
}

void net_close_agent(as_sim *s, uint32_t i)
{
    for (uint32_t c = 0; c < s->nconns; c++)
        if (s->conns[c].serial && (s->conns[c].from == (int)i || s->conns[c].to == (int)i))
            net_close(s, c);
}

static void put_frame(as_sim *s, uint32_t c, uint8_t dir, const uint8_t *wire, size_t len,
                      uint8_t origin, uint8_t type)
{
    as_conn *k = &s->conns[c];
    s->frames++;
    const hs_addr *from = dir ? &k->dst : &k->src, *to = dir ? &k->src : &k->dst;
    digest_wire(s, from, to, wire, len, 0x100u | origin);
    if (origin == AS_O_CLUSTER) {
        int sender = dir ? k->to : k->from;
        if (sender >= 0) atk_record_frame(s, (uint32_t)sender, c, dir, wire, len, type);
        if ((k->from >= 0 && s->ag[k->from].cut) || s->ag[k->to].cut) {
            s->stream_payloads_lost++; /* partitioned: the connection is closed at the heal */
            return;
        }
    }
    uint64_t at = s->now_us + latency(s);
    if (at < k->last_at[dir]) at = k->last_at[dir]; /* ordered: never before the last one */
    k->last_at[dir] = at;
    uint32_t slot = msg_alloc(s, wire, len);
    as_msg *m = &s->msgs[slot];
    m->from = *from;
    m->to = *to;
    m->conn = c;
    m->serial = k->serial;
    m->dir = dir;
    m->origin = origin;
    sim_heap_push(&s->heap, at, AS_EV_FRAME, slot, 0);
}

void net_inject_frame(as_sim *s, uint32_t c, uint8_t dir, const uint8_t *wire, size_t len,
                      uint8_t origin)
{
    put_frame(s, c, dir, wire, len, origin, 0);
}

/* Seals a payload as the connector's next frame of open connection c. */
static void write_frame(as_sim *s, uint32_t c, const uint8_t *data, size_t len)
{
    as_conn *k = &s->conns[c];
    as_agent *g = &s->ag[k->from];
    size_t cap = len + HS_ENV_OVERHEAD_MAX + HS_CH_SESSION_TAG;
    uint8_t *buf = seal_buffer(s, cap);
    size_t n = 0;
    if (hs_ch_seal_frame(g->ch, &k->cs_out, data, len, buf, cap, &n) != HS_ENV_OK) {
        s->stream_payloads_lost++;
        return;
    }
    check_seal(s, (uint32_t)k->from, buf, n, true);
    put_frame(s, c, 0, buf, n, AS_O_CLUSTER, len ? data[0] : 0);
    k->used_us = s->now_us;
}

static void stream_send(as_sim *s, uint32_t i, const hs_addr *to, const uint8_t *data, size_t len)
{
    as_agent *g = &s->ag[i];
    int c = -1;
    for (size_t k = 0; k < g->nouts && c < 0; k++)
        if (hs_addr_equal(&s->conns[g->outs[k]].dst, to)) c = (int)g->outs[k];
    if (c >= 0 && s->now_us - s->conns[c].used_us > AS_IDLE_US) {
        net_close(s, (uint32_t)c); /* idle: the daemon's read timeout closed it */
        c = -1;
    }
    if (c < 0) c = (int)conn_open(s, (int)i, &g->addr, to, AS_O_CLUSTER);
    as_conn *k = &s->conns[c];
    if (k->cs_out.state == HS_CHS_OPEN) {
        write_frame(s, (uint32_t)c, data, len);
        return;
    }
    if (k->nq >= QUEUE_MAX) {
        s->stream_payloads_lost++;
        return;
    }
    k->q = sim_grow(k->q, k->nq, &k->capq, sizeof *k->q, 8);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) exit(2);
    memcpy(copy, data, len);
    k->q[k->nq++] = (as_pending){copy, len};
}

void net_send_payload(as_sim *s, uint32_t i, const hs_agent_packet *p)
{
    if (p->stream) {
        stream_send(s, i, &p->to, p->data, p->len);
        return;
    }
    as_agent *g = &s->ag[i];
    size_t cap = p->len + HS_ENV_OVERHEAD_MAX + HS_CH_MIN_DGRAM + 256;
    uint8_t *buf = seal_buffer(s, cap);
    size_t n = 0;
    if (hs_ch_seal_dgram(g->ch, as_now_ms(s), &p->to, p->data, p->len, buf, cap, &n) != HS_ENV_OK)
        return;
    check_seal(s, i, buf, n, true);
    put_dgram(s, i, &p->to, buf, n, p->len ? p->data[0] : 0);
}

void net_attacker_connect(as_sim *s, uint32_t to, const hs_addr *src, int32_t rec)
{
    hs_addr dst = as_addr(to);
    uint32_t c = conn_open(s, -1, src, &dst, AS_O_STREAM_NEW);
    s->conns[c].replay_rec = rec;
}

/* The SYN reached the acceptor: it accepts and sends its challenge, or refuses. */
static void on_syn(as_sim *s, uint32_t c, uint32_t serial)
{
    as_conn *k = &s->conns[c];
    if (k->serial != serial) return;
    if (!as_alive(s, k->to)) {
        s->conns_refused++;
        net_close(s, c);
        return;
    }
    as_agent *g = &s->ag[k->to];
    uint8_t chal[HS_CH_HELLO_MAX];
    size_t n = 0;
    if (hs_ch_stream_accept(g->ch, &k->cs_in, as_now_ms(s), chal, sizeof chal, &n) != 0) {
        net_close(s, c);
        return;
    }
    k->accepted = true;
    check_seal(s, (uint32_t)k->to, chal, n, false);
    put_frame(s, c, 1, chal, n, AS_O_CLUSTER, HS_MSG_CH_STREAM_CHALLENGE);
}

/* A frame reached the connector: its challenge (then the hello and what waited for it), or
 * anything else, which breaks the rules (the acceptor writes nothing after its challenge). */
static void frame_to_connector(as_sim *s, uint32_t c, const as_msg *m)
{
    as_conn *k = &s->conns[c];
    if (k->from < 0) {
        atk_stream_challenged(s, c);
        return;
    }
    as_agent *g = &s->ag[k->from];
    if (!g->a) return;
    hs_ch_verdict v = HS_CH_MALFORMED;
    hs_env_result env = HS_ENV_OK;
    uint8_t hello[HS_CH_HELLO_MAX];
    size_t hl = 0;
    if (k->cs_out.state == HS_CHS_NEW)
        v = hs_ch_stream_challenged(g->ch, &k->cs_out, m->data, m->len, &g->addr, hello,
                                    sizeof hello, &hl, &env);
    if (m->origin == AS_O_CLUSTER)
        s->verdicts[1][v]++;
    else
        atk_count(s, m->origin, v, env);
    if (v != HS_CH_CONTROL) {
        if (m->origin == AS_O_CLUSTER) s->conns_killed++;
        net_close(s, c);
        return;
    }
    check_seal(s, (uint32_t)k->from, hello, hl, false);
    put_frame(s, c, 0, hello, hl, AS_O_CLUSTER, HS_MSG_CH_STREAM_HELLO);
    for (size_t i = 0; i < k->nq; i++) {
        write_frame(s, c, k->q[i].data, k->q[i].len);
        free(k->q[i].data);
    }
    k->nq = 0;
}

/* A frame reached the acceptor: the hello, then frames delivered to its cores; anything the
 * channel refuses closes the connection. */
static void frame_to_acceptor(as_sim *s, uint32_t c, const as_msg *m)
{
    as_conn *k = &s->conns[c];
    int j = k->to;
    if (!as_alive(s, j)) return;
    as_agent *g = &s->ag[j];
    size_t n = 0;
    hs_env_result env = HS_ENV_OK;
    hs_ch_sender who;
    hs_ch_verdict v = hs_ch_stream_open(g->ch, &k->cs_in, m->data, m->len, s->scratch,
                                        sizeof s->scratch, &n, &env, &who);
    if (m->origin == AS_O_CLUSTER)
        s->verdicts[1][v]++;
    else
        atk_count(s, m->origin, v, env);
    if (v == HS_CH_CONTROL) return;
    if (v != HS_CH_DELIVER) {
        if (m->origin == AS_O_CLUSTER) s->conns_killed++;
        net_close(s, c);
        return;
    }
    check_delivered(s, (uint32_t)j, m, &who, true);
    hs_addr from = k->cs_in.peer;
    hs_agent_receive(g->a, as_now_ms(s), &from, s->scratch, n, true, &who);
    as_after_call(s, (uint32_t)j); /* may open connections: k is not used after this */
}

void net_event(as_sim *s, const sim_event *e)
{
    if (e->kind == AS_EV_DGRAM) {
        deliver_dgram(s, e->a);
    } else if (e->kind == AS_EV_SYN) {
        on_syn(s, e->a, e->b);
    } else if (e->kind == AS_EV_FRAME) {
        as_msg m = s->msgs[e->a];
        if (s->conns[m.conn].serial != m.serial) {
            if (m.origin == AS_O_CLUSTER && m.dir == 0) s->stream_payloads_lost++;
        } else if (m.dir) {
            frame_to_connector(s, m.conn, &m);
        } else {
            frame_to_acceptor(s, m.conn, &m);
        }
        msg_free(s, e->a);
    }
}
