/* transport_tcp.c: TCP on the same address and port as UDP, for `stream` packets (full-state
 * exchanges, Raft, configuration). Each frame is a 4-byte big-endian length and one sealed
 * envelope; the secure channel's stream rules (include/hearsay/channel.h) run on every
 * connection: the accepting side sends a challenge frame, the connecting side answers with a
 * hello echoing it (and naming its advertised HOST:PORT, reported as `from`), then frames flow
 * one way, each numbered higher than the last and encrypted under the stream's ephemeral
 * session key inside the ring-key envelope.
 *
 * Budgets. Before its hello a connection may announce at most HS_CH_HELLO_MAX bytes and must
 * finish within PREAUTH_S; at most PREAUTH_PER_IP such connections per source address and
 * PREAUTH_MAX in all (the oldest goes first), so memory before authentication stays below
 * PREAUTH_MAX x (HS_CH_HELLO_MAX + a bufferevent). The listener accepts at most ACCEPT_BATCH
 * connections per turn of the event loop (each costs an X25519 key for its challenge), so a
 * connect flood never holds up Raft's timers and streams. Authenticated inbound connections
 * are capped at CONNS_IN_MAX (the least recently active idle one makes room). Outbound
 * connections leave from the --bind address, carry frames one way, stay open until idle for
 * OUT_IDLE_S and must be connected and challenged within CONNECT_S of being opened (sends do
 * not extend it). Their CONNS_OUT_MAX slots are shared by class (seeds, members, others): a
 * connection may take the slot of a lower class, strangers may hold at most OUT_OTHERS_MAX.
 * Kept peers (hsd_tcp_keep: a seed's fellow seeds) are the exception: their streams, both
 * ways, never idle out nor make room, and the outbound one is reopened when it ends, so that
 * the end of a peer's process is seen at once (the lost callback) rather than after a timeout. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "clock.h"
#include "log.h"
#include "net.h"
#include "transport.h"

#define FRAME_MAX      (4u * 1024u * 1024u) /* sealed bytes in one authenticated frame */
#define CONNS_IN_MAX   64
#define CONNS_OUT_MAX  32
#define OUT_OTHERS_MAX 8
#define PREAUTH_MAX    256
#define PREAUTH_PER_IP 8
#define PREAUTH_S      3
#define CONNECT_S      3
#define OUT_QUEUE_MAX  (8u * 1024u * 1024u) /* bytes queued on one outbound connection */
#define IO_TIMEOUT_S   10
#define OUT_IDLE_S     5
#define LISTEN_BACKLOG 1024
#define ACCEPT_BATCH   16   /* connections accepted per turn of the event loop */
#define KEEP_RETRY_MS  1000 /* a kept peer without an outbound stream: connect again */

/* A payload waiting for the connection's challenge (sealed once the hello is out). */
typedef struct pending {
    struct pending *next;
    size_t len;
    uint8_t data[];
} pending;

typedef struct conn {
    hsd_tcp *t;
    struct bufferevent *bev;
    bool outbound;
    uint8_t klass;        /* outbound: HSD_PEER_* of the destination */
    bool kept;            /* to or (authenticated) from a kept peer */
    hs_ch_stream cs;      /* the channel's state of this stream */
    hs_addr peer;         /* outbound: destination; inbound: source, then the hello's address */
    uint64_t used_ms;     /* last frame written (outbound) or read (inbound) */
    uint64_t opened_ms;   /* for "the oldest unauthenticated goes first" */
    struct event *timer;  /* the hello / connect deadline, then nothing */
    pending *q, **q_tail; /* outbound, before the challenge */
    size_t q_bytes;
    struct conn *prev, *next;
} conn;

struct hsd_tcp {
    hsd_transport_cfg cfg;
    struct evconnlistener *lis;
    struct event *resume; /* re-enables the listener after a batch */
    unsigned batch;       /* accepted since the listener was last resumed */
    conn *head;
    unsigned n_in, n_out, n_preauth;
    hs_addr keep[HSD_KEEP_MAX];
    size_t n_keep;
    struct event *keep_timer; /* reopens kept outbound streams */
};

static bool is_kept(const hsd_tcp *t, const hs_addr *a)
{
    for (size_t i = 0; i < t->n_keep; i++)
        if (hs_addr_equal(&t->keep[i], a)) return true;
    return false;
}

static void keep_later(hsd_tcp *t, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    if (t->n_keep && !evtimer_pending(t->keep_timer, NULL)) evtimer_add(t->keep_timer, &tv);
}

/* The read (idle) timeout of an authenticated connection: none for a kept one. */
static void set_idle(conn *c, int idle_s)
{
    struct timeval idle = {idle_s, 0}, io = {IO_TIMEOUT_S, 0};
    bufferevent_set_timeouts(c->bev, c->kept ? NULL : &idle, &io);
}

static bool authenticated(const conn *c)
{
    return c->cs.state == HS_CHS_OPEN;
}

static void conn_free(conn *c)
{
    hsd_tcp *t = c->t;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->head = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->outbound)
        t->n_out--;
    else
        t->n_in--;
    if (!c->outbound && !authenticated(c)) t->n_preauth--;
    while (c->q) {
        pending *p = c->q;
        c->q = p->next;
        free(p);
    }
    if (c->timer) event_free(c->timer);
    if (c->outbound && c->kept) keep_later(t, KEEP_RETRY_MS);
    hs_ch_stream_clear(&c->cs);
    bufferevent_free(c->bev);
    free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    c->t->cfg.stats->drops[c->outbound ? HSD_DROP_SEND_FAILED : HSD_DROP_HANDSHAKE_TIMEOUT]++;
    if (c->outbound) {
        char b[HS_ADDR_STRLEN];
        log_debug("tcp to %s: not connected and challenged within %d s",
                  hs_addr_format(&c->peer, b, sizeof(b)), CONNECT_S);
    }
    conn_free(c);
}

static conn *conn_new(hsd_tcp *t, struct bufferevent *bev, bool outbound, const hs_addr *peer,
                      int deadline_s)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->t = t;
    c->bev = bev;
    c->outbound = outbound;
    c->peer = *peer;
    c->used_ms = c->opened_ms = hsd_now_ms();
    c->q_tail = &c->q;
    c->timer = evtimer_new(t->cfg.base, on_deadline, c);
    struct timeval tv = {deadline_s, 0};
    if (!c->timer || evtimer_add(c->timer, &tv) != 0) {
        if (c->timer) event_free(c->timer);
        free(c);
        return NULL;
    }
    c->next = t->head;
    if (c->next) c->next->prev = c;
    t->head = c;
    if (outbound)
        t->n_out++;
    else
        t->n_in++;
    return c;
}

/* The deadline is met: the connection lives on its idle timeouts from now on. */
static void handshake_done(conn *c)
{
    evtimer_del(c->timer);
    if (!c->outbound) c->t->n_preauth--;
}

/* Writes one length-prefixed frame of already sealed bytes. */
static void put_frame(conn *c, const uint8_t *sealed, size_t n)
{
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    bufferevent_write(c->bev, hdr, 4);
    bufferevent_write(c->bev, sealed, n);
    c->t->cfg.stats->tcp_frames_out++;
    c->t->cfg.stats->tcp_bytes_out += 4 + (uint64_t)n;
}

/* Reads the next whole frame of in into *frame (contiguous in the buffer): 1 when there is
 * one, 0 when more bytes are needed (the read watermark is set for it), -1 when its length is
 * out of bounds (max). */
static int next_frame(struct bufferevent *bev, size_t max, uint8_t **frame, uint32_t *len)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t avail = evbuffer_get_length(in);
    if (avail < 4) return 0;
    uint8_t hdr[4];
    evbuffer_copyout(in, hdr, 4);
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (n == 0 || n > max) return -1;
    if (avail < 4 + (size_t)n) {
        /* wait for the whole frame; never buffer more than one frame's worth */
        bufferevent_setwatermark(bev, EV_READ, 0, 4 + (size_t)n);
        return 0;
    }
    uint8_t *p = evbuffer_pullup(in, 4 + (ssize_t)n);
    if (!p) return -1;
    *frame = p + 4;
    *len = n;
    return 1;
}

/* Counts a refused frame by the channel's verdict or the envelope's reason. */
static void count_refusal(hsd_wire_stats *st, hs_ch_verdict v, hs_env_result env)
{
    if (v == HS_CH_ENVELOPE)
        st->env_drops[env]++;
    else
        st->ch_drops[v]++;
}

static void on_in_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    hsd_tcp *t = c->t;
    hsd_wire_stats *st = t->cfg.stats;
    for (;;) {
        uint8_t *frame;
        uint32_t len;
        int k = next_frame(bev, authenticated(c) ? FRAME_MAX : HS_CH_HELLO_MAX, &frame, &len);
        if (k == 0) return;
        if (k < 0) {
            st->drops[HSD_DROP_OVERSIZE]++;
            conn_free(c);
            return;
        }
        st->tcp_frames_in++;
        st->tcp_bytes_in += 4 + (uint64_t)len;
        uint8_t *plain = malloc(len);
        if (!plain) {
            conn_free(c);
            return;
        }
        size_t plen = 0;
        hs_env_result env = HS_ENV_OK;
        hs_ch_sender who;
        bool was_open = authenticated(c);
        hs_ch_verdict v =
            hs_ch_stream_open(t->cfg.ch, &c->cs, frame, len, plain, len, &plen, &env, &who);
        evbuffer_drain(bufferevent_get_input(bev), 4 + (size_t)len);
        if (v == HS_CH_CONTROL && !was_open) {
            handshake_done(c);
            c->peer = c->cs.peer;
            c->kept = is_kept(t, &c->peer);
            set_idle(c, IO_TIMEOUT_S);
        } else if (v == HS_CH_DELIVER) {
            c->used_ms = hsd_now_ms();
            hs_addr from = c->peer;
            t->cfg.deliver(t->cfg.arg, &from, plain, plen, true, who.instance ? &who : NULL);
        } else {
            /* a peer that breaks the stream rules gets no second chance on this connection */
            count_refusal(st, v, env);
            free(plain);
            conn_free(c);
            return;
        }
        free(plain);
        bufferevent_setwatermark(bev, EV_READ, 0, 4 + FRAME_MAX);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) return;
    bool ended = (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && !(what & BEV_EVENT_TIMEOUT);
    if (c->kept && ended && (authenticated(c) || (what & BEV_EVENT_ERROR)) && c->t->cfg.lost) {
        hs_addr peer = c->peer;
        hsd_tcp *t = c->t;
        conn_free(c);
        t->cfg.lost(t->cfg.arg, &peer);
        return;
    }
    if ((what & BEV_EVENT_ERROR) && c->outbound) {
        char b[HS_ADDR_STRLEN];
        log_debug("tcp to %s: %s", hs_addr_format(&c->peer, b, sizeof(b)),
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        if (c->q || evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
            c->t->cfg.stats->drops[HSD_DROP_SEND_FAILED]++;
    }
    conn_free(c);
}

/* Seals payload as the next frame of an open outbound connection. */
static void write_frame(conn *c, const uint8_t *payload, size_t len)
{
    size_t cap = len + HS_ENV_OVERHEAD_MAX + HS_CH_SESSION_TAG;
    uint8_t *buf = malloc(cap);
    if (!buf) return;
    size_t out_len = 0;
    if (hs_ch_seal_frame(c->t->cfg.ch, &c->cs, payload, len, buf, cap, &out_len) != HS_ENV_OK) {
        free(buf);
        c->t->cfg.stats->drops[HSD_DROP_SEAL_FAILED]++;
        return;
    }
    put_frame(c, buf, out_len);
    free(buf);
    set_idle(c, OUT_IDLE_S); /* restart the idle clock: closes a connection unused that long */
    c->used_ms = hsd_now_ms();
}

/* Outbound: the first frame is the listener's challenge; answer with the hello and flush what
 * waited for it. Anything after that is a protocol error (the receiver never writes again),
 * and EOF arrives through on_event. */
static void on_out_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    hsd_tcp *t = c->t;
    if (authenticated(c)) {
        t->cfg.stats->drops[HSD_DROP_MALFORMED]++;
        conn_free(c);
        return;
    }
    uint8_t *frame;
    uint32_t len;
    int k = next_frame(bev, HS_CH_HELLO_MAX, &frame, &len);
    if (k == 0) return;
    uint8_t hello[HS_CH_HELLO_MAX];
    size_t hlen = 0;
    hs_env_result env = HS_ENV_OK;
    hs_ch_verdict v =
        k < 0 ? HS_CH_MALFORMED
              : hs_ch_stream_challenged(t->cfg.ch, &c->cs, frame, len, &t->cfg.advertise, hello,
                                        sizeof(hello), &hlen, &env);
    if (v != HS_CH_CONTROL) {
        count_refusal(t->cfg.stats, v, env);
        conn_free(c);
        return;
    }
    evbuffer_drain(bufferevent_get_input(bev), 4 + (size_t)len);
    t->cfg.stats->tcp_frames_in++;
    handshake_done(c);
    put_frame(c, hello, hlen);
    while (c->q) {
        pending *p = c->q;
        c->q = p->next;
        write_frame(c, p->data, p->len);
        free(p);
    }
    c->q_tail = &c->q;
    c->q_bytes = 0;
    set_idle(c, OUT_IDLE_S);
}

/* The least recently used connection that may make room: inbound, an authenticated idle
 * one; outbound, one of a lower class than klass, else an idle one of the same class. */
static conn *victim(hsd_tcp *t, bool outbound, uint8_t klass)
{
    conn *best = NULL;
    for (conn *it = t->head; it; it = it->next) {
        if (it->outbound != outbound || it->kept) continue;
        bool idle = !it->q && evbuffer_get_length(bufferevent_get_output(it->bev)) == 0;
        if (!outbound) {
            if (!authenticated(it) || !idle) continue;
        } else if (!(it->klass < klass || (it->klass == klass && idle && authenticated(it)))) {
            continue;
        }
        if (!best || it->klass < best->klass ||
            (it->klass == best->klass && it->used_ms < best->used_ms))
            best = it;
    }
    return best;
}

/* Makes room for an unauthenticated inbound connection from peer: false if it may not have
 * one (its source holds PREAUTH_PER_IP already). The oldest unauthenticated one goes first. */
static bool preauth_room(hsd_tcp *t, const hs_addr *peer)
{
    unsigned same = 0;
    conn *oldest = NULL;
    for (conn *it = t->head; it; it = it->next) {
        if (it->outbound || authenticated(it)) continue;
        if (it->peer.family == peer->family && !memcmp(it->peer.ip, peer->ip, 16)) same++;
        if (!oldest || it->opened_ms < oldest->opened_ms) oldest = it;
    }
    if (same >= PREAUTH_PER_IP) return false;
    if (t->n_preauth >= PREAUTH_MAX && oldest) {
        t->cfg.stats->drops[HSD_DROP_PREAUTH_LIMIT]++;
        conn_free(oldest);
    }
    return true;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hsd_tcp *t = arg;
    t->batch = 0;
    evconnlistener_enable(t->lis);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int sl,
                      void *arg)
{
    hsd_tcp *t = arg;
    hsd_wire_stats *st = t->cfg.stats;
    if (++t->batch >= ACCEPT_BATCH) {
        /* enough for this turn: timers and other sockets first, the rest on the next one */
        struct timeval now = {0, 0};
        evconnlistener_disable(lis);
        evtimer_add(t->resume, &now);
    }
    hs_addr peer;
    if (hsd_from_sockaddr(sa, (socklen_t)sl, &peer) != 0 || !preauth_room(t, &peer)) {
        st->drops[HSD_DROP_PREAUTH_LIMIT]++;
        evutil_closesocket(fd);
        return;
    }
    if (t->n_in - t->n_preauth >= CONNS_IN_MAX) {
        conn *old = victim(t, false, 0);
        if (old) conn_free(old); /* its sender reconnects when it has more to say */
    }
    if (t->n_in - t->n_preauth >= CONNS_IN_MAX) {
        st->drops[HSD_DROP_CONN_LIMIT]++;
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = bufferevent_socket_new(t->cfg.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    conn *c = conn_new(t, bev, false, &peer, PREAUTH_S);
    if (!c) {
        bufferevent_free(bev);
        return;
    }
    t->n_preauth++;
    st->tcp_accepted++;
    uint8_t chal[HS_CH_HELLO_MAX];
    size_t n = 0;
    if (hs_ch_stream_accept(t->cfg.ch, &c->cs, hsd_now_ms(), chal, sizeof(chal), &n) != 0) {
        conn_free(c);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    put_frame(c, chal, n);
    bufferevent_setwatermark(bev, EV_READ, 0, 4 + HS_CH_HELLO_MAX);
    bufferevent_setcb(bev, on_in_read, NULL, on_event, c);
    bufferevent_enable(bev, EV_READ);
}

static conn *connect_to(hsd_tcp *t, const hs_addr *to, uint8_t klass);

/* Opens an outbound stream to every kept peer that has none (it authenticates with no frame:
 * challenge and hello). A failed attempt is retried KEEP_RETRY_MS later. */
static void on_keep_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hsd_tcp *t = arg;
    for (size_t i = 0; i < t->n_keep; i++) {
        bool have = false;
        for (conn *it = t->head; it && !have; it = it->next)
            have = it->outbound && hs_addr_equal(&it->peer, &t->keep[i]);
        if (!have && !connect_to(t, &t->keep[i], HSD_PEER_SEED)) keep_later(t, KEEP_RETRY_MS);
    }
}

static void on_listen_error(struct evconnlistener *lis, void *arg)
{
    (void)lis;
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    log_warn("tcp accept: %s", evutil_socket_error_to_string(err));
}

hsd_tcp *hsd_tcp_open(const hsd_transport_cfg *cfg)
{
    hsd_tcp *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->cfg = *cfg;
    t->resume = evtimer_new(cfg->base, on_resume, t);
    t->keep_timer = evtimer_new(cfg->base, on_keep_timer, t);
    if (!t->resume || !t->keep_timer) {
        if (t->resume) event_free(t->resume);
        if (t->keep_timer) event_free(t->keep_timer);
        free(t);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = hsd_to_sockaddr(&cfg->bind, &ss);
    t->lis = evconnlistener_new_bind(
        cfg->base, on_accept, t, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
        LISTEN_BACKLOG, (struct sockaddr *)&ss, (int)sl);
    if (!t->lis) {
        char b[HS_ADDR_STRLEN];
        log_err("cannot listen on tcp %s: %s", hs_addr_format(&cfg->bind, b, sizeof(b)),
                strerror(errno));
        event_free(t->resume);
        event_free(t->keep_timer);
        free(t);
        return NULL;
    }
    evconnlistener_set_error_cb(t->lis, on_listen_error);
    return t;
}

void hsd_tcp_close(hsd_tcp *t)
{
    if (!t) return;
    t->n_keep = 0; /* nothing reopens from here on */
    while (t->head) conn_free(t->head);
    if (t->resume) event_free(t->resume);
    if (t->keep_timer) event_free(t->keep_timer);
    if (t->lis) evconnlistener_free(t->lis);
    free(t);
}

void hsd_tcp_conn_counts(const hsd_tcp *t, unsigned *in, unsigned *out)
{
    *in = t ? t->n_in : 0;
    *out = t ? t->n_out : 0;
}

/* A non-blocking stream socket for `to`, bound to the --bind address (port chosen at connect)
 * so that connections leave from the agent's own address on a multi-homed host. */
static int out_socket(const hsd_tcp *t, const struct sockaddr_storage *to)
{
    int fd = socket(to->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (!hsd_addr_is_wildcard(&t->cfg.bind)) {
        hs_addr local = t->cfg.bind;
        local.port = 0;
        struct sockaddr_storage ls;
        socklen_t ll = hsd_to_sockaddr(&local, &ls);
#ifdef IP_BIND_ADDRESS_NO_PORT
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
        if (ls.ss_family != to->ss_family || bind(fd, (struct sockaddr *)&ls, ll) != 0) {
            log_debug("tcp: cannot bind an outgoing socket to the --bind address: %s",
                      strerror(errno));
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Opens a connection to `to` (class klass) or returns NULL. */
static conn *connect_to(hsd_tcp *t, const hs_addr *to, uint8_t klass)
{
    unsigned others = 0;
    for (conn *it = t->head; it; it = it->next) others += it->outbound && !it->klass;
    if (klass == HSD_PEER_OTHER && others >= OUT_OTHERS_MAX) {
        conn *old = victim(t, true, klass);
        if (!old) return NULL;
        conn_free(old);
    }
    if (t->n_out >= CONNS_OUT_MAX) {
        conn *old = victim(t, true, klass);
        if (old) conn_free(old);
    }
    if (t->n_out >= CONNS_OUT_MAX) return NULL;
    struct sockaddr_storage ss;
    socklen_t sl = hsd_to_sockaddr(to, &ss);
    int fd = sl ? out_socket(t, &ss) : -1;
    if (fd < 0) return NULL;
    struct bufferevent *bev = bufferevent_socket_new(t->cfg.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        return NULL;
    }
    conn *c = conn_new(t, bev, true, to, CONNECT_S);
    if (!c) {
        bufferevent_free(bev);
        return NULL;
    }
    c->klass = klass;
    c->kept = is_kept(t, to);
    bufferevent_setwatermark(bev, EV_READ, 0, 4 + HS_CH_HELLO_MAX);
    bufferevent_setcb(bev, on_out_read, NULL, on_event, c);
    bufferevent_enable(bev, EV_READ);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)sl) != 0) {
        conn_free(c);
        return NULL;
    }
    t->cfg.stats->tcp_connects++;
    return c;
}

void hsd_tcp_send(hsd_tcp *t, const hs_addr *to, const uint8_t *payload, size_t len)
{
    if (!t) return;
    if (len + HS_ENV_OVERHEAD_MAX + HS_CH_SESSION_TAG > FRAME_MAX) {
        t->cfg.stats->drops[HSD_DROP_OVERSIZE]++;
        return;
    }
    conn *c = NULL;
    for (conn *it = t->head; it; it = it->next)
        if (it->outbound && hs_addr_equal(&it->peer, to)) {
            c = it;
            break;
        }
    if (!c) {
        int klass = t->cfg.classify ? t->cfg.classify(t->cfg.arg, to) : HSD_PEER_OTHER;
        c = connect_to(t, to, (uint8_t)klass);
    }
    if (!c) {
        t->cfg.stats->drops[HSD_DROP_CONN_LIMIT]++;
        return;
    }
    size_t queued = c->q_bytes + evbuffer_get_length(bufferevent_get_output(c->bev));
    if (queued + len + HS_ENV_OVERHEAD_MAX > OUT_QUEUE_MAX) {
        t->cfg.stats->drops[HSD_DROP_CONN_LIMIT]++;
        return;
    }
    if (authenticated(c)) {
        write_frame(c, payload, len);
        return;
    }
    pending *p = malloc(sizeof(*p) + len);
    if (!p) return;
    p->next = NULL;
    p->len = len;
    memcpy(p->data, payload, len);
    *c->q_tail = p;
    c->q_tail = &p->next;
    c->q_bytes += len;
}

void hsd_tcp_keep(hsd_tcp *t, const hs_addr *peers, size_t n)
{
    if (!t) return;
    if (n > HSD_KEEP_MAX) n = HSD_KEEP_MAX;
    bool same = n == t->n_keep;
    for (size_t i = 0; same && i < n; i++) same = hs_addr_equal(&t->keep[i], &peers[i]);
    if (same) return;
    for (size_t i = 0; i < n; i++) t->keep[i] = peers[i];
    t->n_keep = n;
    for (conn *it = t->head; it; it = it->next) {
        bool was = it->kept;
        it->kept = (it->outbound || authenticated(it)) && is_kept(t, &it->peer);
        if (was != it->kept && authenticated(it))
            set_idle(it, it->outbound ? OUT_IDLE_S : IO_TIMEOUT_S);
    }
    if (n) {
        evtimer_del(t->keep_timer);
        keep_later(t, 0);
    }
}
