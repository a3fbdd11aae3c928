/* transport_tcp.c: TCP on the same address and port as UDP, for `stream` packets (full-state
 * exchanges too large for a datagram). Each frame is a 4-byte big-endian length followed by
 * one sealed envelope. Bounded: frame size, inbound and outbound connection caps, buffered
 * bytes, and read/write timeouts. Outbound connections carry frames one way and stay open for
 * the next frames to the same peer until idle for OUT_IDLE_S (shorter than the receiver's
 * IO_TIMEOUT_S, so the sender is the one that closes) or until the peer closes; at a cap the
 * least recently used idle connection makes room (inbound: the least recently active).
 * The first frame of every connection is a transport hello (payload byte 0x00, a type no core
 * uses, then a u8 length and the sender's advertised HOST:PORT), sealed like every frame, so
 * the receiver reports the sender's listening address as `from`, not its ephemeral port. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "daemon.h"
#include "log.h"
#include "net.h"

#define FRAME_MAX     (4u * 1024u * 1024u) /* sealed bytes in one frame */
#define CONNS_IN_MAX  64
#define CONNS_OUT_MAX 32
#define OUT_QUEUE_MAX (8u * 1024u * 1024u) /* bytes queued on one outbound connection */
#define IO_TIMEOUT_S  10
#define OUT_IDLE_S    5
#define HELLO_TYPE    0x00

typedef struct conn {
    hsd *d;
    struct bufferevent *bev;
    bool outbound;
    bool hello_seen; /* inbound: the first frame was handled */
    hs_addr peer;
    uint64_t used_ms; /* last frame written (outbound) or read (inbound) */
    struct conn *prev, *next;
} conn;

struct hsd_tcp {
    struct evconnlistener *lis;
    conn *head;
    unsigned n_in, n_out;
};

static void conn_free(conn *c)
{
    struct hsd_tcp *t = c->d->tcp;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->head = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->outbound)
        t->n_out--;
    else
        t->n_in--;
    bufferevent_free(c->bev);
    free(c);
}

static conn *conn_new(hsd *d, struct bufferevent *bev, bool outbound, const hs_addr *peer)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->d = d;
    c->bev = bev;
    c->outbound = outbound;
    c->peer = *peer;
    c->used_ms = hsd_now_ms();
    c->next = d->tcp->head;
    if (c->next) c->next->prev = c;
    d->tcp->head = c;
    if (outbound)
        d->tcp->n_out++;
    else
        d->tcp->n_in++;
    return c;
}

static void on_in_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    hsd *d = c->d;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4) return;
        uint8_t hdr[4];
        evbuffer_copyout(in, hdr, 4);
        uint32_t len =
            (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
        if (len == 0 || len > FRAME_MAX) {
            d->c.drops[HSD_DROP_OVERSIZE]++;
            conn_free(c);
            return;
        }
        if (avail < 4 + (size_t)len) {
            /* wait for the whole frame; never buffer more than one frame's worth */
            bufferevent_setwatermark(bev, EV_READ, 0, 4 + (size_t)len);
            return;
        }
        evbuffer_drain(in, 4);
        c->used_ms = hsd_now_ms();
        uint8_t *frame = malloc(len);
        uint8_t *plain = malloc(len);
        if (!frame || !plain) {
            free(frame);
            free(plain);
            conn_free(c);
            return;
        }
        evbuffer_remove(in, frame, len);
        d->c.tcp_frames_in++;
        d->c.tcp_bytes_in += 4 + (uint64_t)len;
        size_t plen = 0;
        hs_env_result r = hs_env_open(&d->env, frame, len, plain, len, &plen);
        if (r == HS_ENV_OK) hsd_keys_opened(d, NULL, frame, len); /* hosts: UDP only */
        free(frame);
        bool first = !c->hello_seen;
        c->hello_seen = true;
        if (r == HS_ENV_OK && plen > 0 && plain[0] == HELLO_TYPE) {
            /* only as the first frame; then it names the sender's listening address */
            hs_addr a;
            char text[HS_ADDR_STRLEN];
            size_t n = plen >= 2 ? plain[1] : 0;
            if (first && n > 0 && n < sizeof(text) && plen == 2 + n) {
                memcpy(text, plain + 2, n);
                text[n] = '\0';
                if (hs_addr_parse(&a, text, 0) == 0) c->peer = a;
            } else {
                d->c.drops[HSD_DROP_UNKNOWN_TYPE]++;
            }
        } else if (r == HS_ENV_OK) {
            hs_addr from = c->peer;
            hsd_dispatch(d, &from, plain, plen, true);
        } else {
            d->c.env_drops[r]++;
        }
        free(plain);
        if (r != HS_ENV_OK) {
            /* a peer that cannot seal for us gets no second chance on this connection */
            conn_free(c);
            return;
        }
        bufferevent_setwatermark(bev, EV_READ, 0, 4 + FRAME_MAX);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) return;
    if ((what & BEV_EVENT_ERROR) && c->outbound) {
        char b[HS_ADDR_STRLEN];
        log_debug("tcp to %s: %s", hs_addr_format(&c->peer, b, sizeof(b)),
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
            c->d->c.drops[HSD_DROP_SEND_FAILED]++;
    }
    conn_free(c);
}

/* The receiver never writes on our outbound connection: anything it sends is a protocol
 * error, and EOF (it closed or exited) arrives through on_event. */
static void on_out_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn *c = arg;
    c->d->c.drops[HSD_DROP_MALFORMED]++;
    conn_free(c);
}

/* The least recently used connection of one direction that has nothing left to write. */
static conn *lru_idle(hsd *d, bool outbound)
{
    conn *best = NULL;
    for (conn *it = d->tcp->head; it; it = it->next)
        if (it->outbound == outbound && evbuffer_get_length(bufferevent_get_output(it->bev)) == 0 &&
            (!best || it->used_ms < best->used_ms))
            best = it;
    return best;
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int sl,
                      void *arg)
{
    (void)lis;
    hsd *d = arg;
    hs_addr peer;
    if (d->tcp->n_in >= CONNS_IN_MAX) {
        conn *old = lru_idle(d, false);
        if (old) conn_free(old); /* its sender reconnects when it has more to say */
    }
    if (d->tcp->n_in >= CONNS_IN_MAX || hsd_from_sockaddr(sa, (socklen_t)sl, &peer) != 0) {
        d->c.drops[HSD_DROP_CONN_LIMIT]++;
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    conn *c = conn_new(d, bev, false, &peer);
    if (!c) {
        bufferevent_free(bev);
        return;
    }
    d->c.tcp_accepted++;
    struct timeval tmo = {IO_TIMEOUT_S, 0};
    bufferevent_set_timeouts(bev, &tmo, &tmo);
    bufferevent_setwatermark(bev, EV_READ, 0, 4 + FRAME_MAX);
    bufferevent_setcb(bev, on_in_read, NULL, on_event, c);
    bufferevent_enable(bev, EV_READ);
}

static void on_listen_error(struct evconnlistener *lis, void *arg)
{
    (void)lis;
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    log_warn("tcp accept: %s", evutil_socket_error_to_string(err));
}

int hsd_tcp_open(hsd *d)
{
    d->tcp = calloc(1, sizeof(*d->tcp));
    if (!d->tcp) return -1;
    struct sockaddr_storage ss;
    socklen_t sl = hsd_to_sockaddr(&d->opt.bind, &ss);
    d->tcp->lis = evconnlistener_new_bind(
        d->base, on_accept, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
        64, (struct sockaddr *)&ss, (int)sl);
    if (!d->tcp->lis) {
        char b[HS_ADDR_STRLEN];
        log_err("cannot listen on tcp %s: %s", hs_addr_format(&d->opt.bind, b, sizeof(b)),
                strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(d->tcp->lis, on_listen_error);
    return 0;
}

void hsd_tcp_close(hsd *d)
{
    if (!d->tcp) return;
    while (d->tcp->head) conn_free(d->tcp->head);
    if (d->tcp->lis) evconnlistener_free(d->tcp->lis);
    free(d->tcp);
    d->tcp = NULL;
}

void hsd_tcp_conn_counts(const hsd *d, unsigned *in, unsigned *out)
{
    *in = d->tcp ? d->tcp->n_in : 0;
    *out = d->tcp ? d->tcp->n_out : 0;
}

/* Seals payload into one length-prefixed frame on c's output. */
static void write_frame(hsd *d, conn *c, const uint8_t *payload, size_t len)
{
    size_t cap = len + HS_ENV_OVERHEAD_MAX;
    uint8_t *buf = malloc(4 + cap);
    if (!buf) return;
    size_t out_len = 0;
    if (hs_env_seal(&d->env, NULL, payload, len, buf + 4, cap, &out_len) != HS_ENV_OK) {
        free(buf);
        d->c.drops[HSD_DROP_SEAL_FAILED]++;
        return;
    }
    buf[0] = (uint8_t)(out_len >> 24);
    buf[1] = (uint8_t)(out_len >> 16);
    buf[2] = (uint8_t)(out_len >> 8);
    buf[3] = (uint8_t)out_len;
    bufferevent_write(c->bev, buf, 4 + out_len);
    free(buf);
    if (c->outbound) {
        /* restart the idle clock: the read timeout closes a connection unused for OUT_IDLE_S */
        struct timeval idle = {OUT_IDLE_S, 0}, io = {IO_TIMEOUT_S, 0};
        bufferevent_set_timeouts(c->bev, &idle, &io);
        c->used_ms = hsd_now_ms();
    }
    d->c.tcp_frames_out++;
    d->c.tcp_bytes_out += 4 + out_len;
}

void hsd_tcp_send(hsd *d, const hs_addr *to, const uint8_t *payload, size_t len)
{
    if (!d->tcp) return;
    size_t cap = len + HS_ENV_OVERHEAD_MAX;
    if (cap > FRAME_MAX) {
        d->c.drops[HSD_DROP_OVERSIZE]++;
        return;
    }
    conn *c = NULL;
    for (conn *it = d->tcp->head; it; it = it->next)
        if (it->outbound && hs_addr_equal(&it->peer, to)) {
            c = it;
            break;
        }
    if (c && evbuffer_get_length(bufferevent_get_output(c->bev)) + cap > OUT_QUEUE_MAX) {
        d->c.drops[HSD_DROP_CONN_LIMIT]++;
        return;
    }
    if (!c) {
        if (d->tcp->n_out >= CONNS_OUT_MAX) {
            conn *old = lru_idle(d, true);
            if (old) conn_free(old);
        }
        if (d->tcp->n_out >= CONNS_OUT_MAX) {
            d->c.drops[HSD_DROP_CONN_LIMIT]++;
            return;
        }
        struct sockaddr_storage ss;
        socklen_t sl = hsd_to_sockaddr(to, &ss);
        struct bufferevent *bev =
            sl ? bufferevent_socket_new(d->base, -1, BEV_OPT_CLOSE_ON_FREE) : NULL;
        if (!bev) {
            d->c.drops[HSD_DROP_SEND_FAILED]++;
            return;
        }
        c = conn_new(d, bev, true, to);
        if (!c) {
            bufferevent_free(bev);
            d->c.drops[HSD_DROP_SEND_FAILED]++;
            return;
        }
        bufferevent_setcb(bev, on_out_read, NULL, on_event, c);
        bufferevent_enable(bev, EV_READ);
        if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)sl) != 0) {
            d->c.drops[HSD_DROP_SEND_FAILED]++;
            conn_free(c);
            return;
        }
        d->c.tcp_connects++;
        /* small frames (Raft, config requests) must not wait for a delayed ACK (Nagle) */
        int one = 1;
        evutil_socket_t sfd = bufferevent_getfd(bev);
        if (sfd >= 0) setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        uint8_t hello[2 + HS_ADDR_STRLEN];
        char text[HS_ADDR_STRLEN];
        hs_addr_format(&d->advertise, text, sizeof(text));
        size_t n = strlen(text);
        hello[0] = HELLO_TYPE;
        hello[1] = (uint8_t)n;
        memcpy(hello + 2, text, n);
        write_frame(d, c, hello, 2 + n);
    }
    write_frame(d, c, payload, len);
}
