/* transport_udp.c: the UDP socket on --bind. Reads datagrams (a bounded batch per wakeup),
 * passes each through the secure channel (numbering, anti-replay, challenges: channel.h),
 * counts drops by reason and delivers the payloads the channel lets through; sends what the
 * channel wants sent and the agent's datagrams, sealed and numbered by the channel. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "net.h"
#include "transport.h"

#define UDP_BUF    65536
#define UDP_BATCH  64 /* datagrams per wakeup */
#define UDP_RCVBUF (4 * 1024 * 1024)

struct hsd_udp {
    hsd_transport_cfg cfg;
    int fd;
    struct event *ev;
    uint8_t rx[UDP_BUF], plain[UDP_BUF], seal[UDP_BUF];
};

static void send_sealed(hsd_udp *u, const hs_addr *to, const uint8_t *data, size_t len)
{
    hsd_wire_stats *st = u->cfg.stats;
    struct sockaddr_storage ss;
    socklen_t sl = hsd_to_sockaddr(to, &ss);
    if (!sl || ss.ss_family != (u->cfg.bind.family == 6 ? AF_INET6 : AF_INET)) {
        st->drops[HSD_DROP_SEND_FAILED]++;
        return;
    }
    ssize_t n = sendto(u->fd, data, len, 0, (struct sockaddr *)&ss, sl);
    if (n < 0) {
        st->drops[HSD_DROP_SEND_FAILED]++;
        log_debug("udp sendto: %s", strerror(errno));
        return;
    }
    st->udp_out++;
    st->udp_bytes_out += (uint64_t)n;
}

/* Challenges, proofs and resends the channel asked for. */
static void send_channel_outputs(hsd_udp *u)
{
    hs_ch_output o;
    while (hs_ch_next_output(u->cfg.ch, &o)) send_sealed(u, &o.to, o.data, o.len);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    hsd_udp *u = arg;
    hsd_wire_stats *st = u->cfg.stats;
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, u->rx, sizeof(u->rx), MSG_TRUNC, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_debug("udp recvfrom: %s", strerror(errno));
            return;
        }
        st->udp_in++;
        st->udp_bytes_in += (uint64_t)n;
        if ((size_t)n > sizeof(u->rx)) {
            st->drops[HSD_DROP_OVERSIZE]++;
            continue;
        }
        hs_addr from;
        if (hsd_from_sockaddr((struct sockaddr *)&ss, sl, &from) != 0) continue;
        size_t plen = 0;
        hs_env_result env = HS_ENV_OK;
        hs_ch_sender who;
        hs_ch_verdict v = hs_ch_open_dgram(u->cfg.ch, hsd_now_ms(), &from, u->rx, (size_t)n,
                                           u->plain, sizeof(u->plain), &plen, &env, &who);
        send_channel_outputs(u);
        if (v == HS_CH_ENVELOPE) {
            st->env_drops[env]++;
            continue;
        }
        if (v != HS_CH_DELIVER) {
            st->ch_drops[v]++;
            continue;
        }
        u->cfg.deliver(u->cfg.arg, &from, u->plain, plen, false, who.instance ? &who : NULL);
    }
}

hsd_udp *hsd_udp_open(const hsd_transport_cfg *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = hsd_to_sockaddr(&c->bind, &ss);
    if (!sl) return NULL;
    hsd_udp *u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->cfg = *c;
    u->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) {
        log_err("udp socket: %s", strerror(errno));
        free(u);
        return NULL;
    }
    int sz = UDP_RCVBUF;
    setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (bind(u->fd, (struct sockaddr *)&ss, sl) != 0) {
        char b[HS_ADDR_STRLEN];
        log_err("cannot bind udp %s: %s", hs_addr_format(&c->bind, b, sizeof(b)), strerror(errno));
        close(u->fd);
        free(u);
        return NULL;
    }
    u->ev = event_new(c->base, u->fd, EV_READ | EV_PERSIST, on_readable, u);
    if (!u->ev || event_add(u->ev, NULL) != 0) {
        hsd_udp_close(u);
        return NULL;
    }
    return u;
}

void hsd_udp_close(hsd_udp *u)
{
    if (!u) return;
    if (u->ev) event_free(u->ev);
    if (u->fd >= 0) close(u->fd);
    free(u);
}

void hsd_udp_send(hsd_udp *u, const hs_addr *to, const uint8_t *payload, size_t len)
{
    size_t out_len = 0;
    if (hs_ch_seal_dgram(u->cfg.ch, hsd_now_ms(), to, payload, len, u->seal, sizeof(u->seal),
                         &out_len) != HS_ENV_OK) {
        u->cfg.stats->drops[HSD_DROP_SEAL_FAILED]++;
        return;
    }
    send_sealed(u, to, u->seal, out_len);
}
