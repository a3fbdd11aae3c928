/* transport_udp.c: the UDP socket on --bind. Reads datagrams (a bounded batch per wakeup),
 * passes each through the secure channel (numbering, anti-replay, challenges: channel.h),
 * counts drops by reason and hands delivered payloads to the dispatcher; sends what the
 * channel wants sent and the cores' datagrams, sealed and numbered by the channel. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "hearsay/channel.h"
#include "log.h"
#include "net.h"

#define UDP_BUF    65536
#define UDP_BATCH  64 /* datagrams per wakeup */
#define UDP_RCVBUF (4 * 1024 * 1024)

static uint8_t rxbuf[UDP_BUF];
static uint8_t plainbuf[UDP_BUF];

static void send_sealed(hsd *d, const hs_addr *to, const uint8_t *data, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = hsd_to_sockaddr(to, &ss);
    if (!sl || ss.ss_family != (d->opt.bind.family == 6 ? AF_INET6 : AF_INET)) {
        d->c.drops[HSD_DROP_SEND_FAILED]++;
        return;
    }
    ssize_t n = sendto(d->udp_fd, data, len, 0, (struct sockaddr *)&ss, sl);
    if (n < 0) {
        d->c.drops[HSD_DROP_SEND_FAILED]++;
        log_debug("udp sendto: %s", strerror(errno));
        return;
    }
    d->c.udp_out++;
    d->c.udp_bytes_out += (uint64_t)n;
}

/* Challenges, proofs and resends the channel asked for. */
static void send_channel_outputs(hsd *d)
{
    hs_ch_output o;
    while (hs_ch_next_output(d->ch, &o)) send_sealed(d, &o.to, o.data, o.len);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    hsd *d = arg;
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, rxbuf, sizeof(rxbuf), MSG_TRUNC, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_debug("udp recvfrom: %s", strerror(errno));
            return;
        }
        d->c.udp_in++;
        d->c.udp_bytes_in += (uint64_t)n;
        if ((size_t)n > sizeof(rxbuf)) {
            d->c.drops[HSD_DROP_OVERSIZE]++;
            continue;
        }
        hs_addr from;
        if (hsd_from_sockaddr((struct sockaddr *)&ss, sl, &from) != 0) continue;
        size_t plen = 0;
        hs_env_result env = HS_ENV_OK;
        hs_ch_sender who;
        hs_ch_verdict v = hs_ch_open_dgram(d->ch, hsd_now_ms(), &from, rxbuf, (size_t)n, plainbuf,
                                           sizeof(plainbuf), &plen, &env, &who);
        send_channel_outputs(d);
        if (v == HS_CH_ENVELOPE) {
            d->c.env_drops[env]++;
            continue;
        }
        if (v != HS_CH_DELIVER) {
            d->c.ch_drops[v]++;
            continue;
        }
        hsd_keys_opened(d, &who);
        hsd_dispatch(d, &from, plainbuf, plen, false);
        if (!d->udp_ev) return; /* closed while dispatching */
    }
}

int hsd_udp_open(hsd *d)
{
    struct sockaddr_storage ss;
    socklen_t sl = hsd_to_sockaddr(&d->opt.bind, &ss);
    if (!sl) return -1;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_err("udp socket: %s", strerror(errno));
        return -1;
    }
    int sz = UDP_RCVBUF;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        char b[HS_ADDR_STRLEN];
        log_err("cannot bind udp %s: %s", hs_addr_format(&d->opt.bind, b, sizeof(b)),
                strerror(errno));
        close(fd);
        return -1;
    }
    d->udp_fd = fd;
    d->udp_ev = event_new(d->base, fd, EV_READ | EV_PERSIST, on_readable, d);
    if (!d->udp_ev || event_add(d->udp_ev, NULL) != 0) return -1;
    d->sealcap = UDP_BUF;
    d->sealbuf = malloc(d->sealcap);
    return d->sealbuf ? 0 : -1;
}

void hsd_udp_close(hsd *d)
{
    if (d->udp_ev) event_free(d->udp_ev);
    d->udp_ev = NULL;
    if (d->udp_fd >= 0) close(d->udp_fd);
    d->udp_fd = -1;
    free(d->sealbuf);
    d->sealbuf = NULL;
}

void hsd_udp_send(hsd *d, const hs_addr *to, const uint8_t *payload, size_t len)
{
    if (d->udp_fd < 0) return;
    size_t out_len = 0;
    if (hs_ch_seal_dgram(d->ch, hsd_now_ms(), to, payload, len, d->sealbuf, d->sealcap, &out_len) !=
        HS_ENV_OK) {
        d->c.drops[HSD_DROP_SEAL_FAILED]++;
        return;
    }
    send_sealed(d, to, d->sealbuf, out_len);
}
