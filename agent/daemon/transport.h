/* transport.h: the two transports on the agent's --bind address, UDP datagrams and TCP streams,
 * behind one narrow interface: bytes in (delivered payloads, through the secure channel) and
 * bytes out, with their counters. They call nothing above them but their callbacks. */
#ifndef HSD_TRANSPORT_H
#define HSD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/channel.h"
#include "hearsay/envelope.h"

struct event_base;

/* Why a transport dropped something (beyond the envelope's and the channel's reasons). */
enum hsd_drop {
    HSD_DROP_OVERSIZE,          /* datagram or frame larger than allowed */
    HSD_DROP_SEND_FAILED,       /* sendto/connect failed, or not connected in time */
    HSD_DROP_SEAL_FAILED,       /* could not seal (no room) */
    HSD_DROP_CONN_LIMIT,        /* TCP connection cap or queue limit reached */
    HSD_DROP_MALFORMED,         /* a stream that broke the framing rules */
    HSD_DROP_HANDSHAKE_TIMEOUT, /* inbound stream without a valid hello in time */
    HSD_DROP_PREAUTH_LIMIT,     /* unauthenticated inbound stream refused or closed at a cap */
    HSD_DROP_COUNT
};
const char *hsd_drop_name(int reason); /* the metric label */

typedef struct hsd_wire_stats {
    uint64_t udp_in, udp_out, udp_bytes_in, udp_bytes_out;
    uint64_t tcp_frames_in, tcp_frames_out, tcp_bytes_in, tcp_bytes_out;
    uint64_t tcp_accepted, tcp_connects;
    uint64_t env_drops[HS_ENV_RESULT_COUNT];
    uint64_t ch_drops[HS_CH_VERDICT_COUNT]; /* refused by the secure channel, by verdict */
    uint64_t drops[HSD_DROP_COUNT];
} hsd_wire_stats;

/* A payload the channel delivered: from is the datagram's source or the stream hello's
 * address; who its proven sender (NULL for an insecure envelope). */
typedef void (*hsd_deliver_fn)(void *arg, const hs_addr *from, const uint8_t *data, size_t len,
                               bool stream, const hs_ch_sender *who);
/* Who is at an address, for the outbound stream slots. */
enum { HSD_PEER_OTHER = 0, HSD_PEER_MEMBER = 1, HSD_PEER_SEED = 2 };
typedef int (*hsd_classify_fn)(void *arg, const hs_addr *a);
/* An authenticated stream to or from a kept peer (hsd_tcp_keep) ended, or a connection to one
 * was refused: its process is most likely gone. */
typedef void (*hsd_lost_fn)(void *arg, const hs_addr *peer);

typedef struct hsd_transport_cfg {
    struct event_base *base;
    hs_addr bind, advertise;
    hs_channel *ch;
    hsd_deliver_fn deliver;
    hsd_classify_fn classify; /* TCP only */
    hsd_lost_fn lost;         /* TCP only; may be NULL */
    void *arg;
    hsd_wire_stats *stats; /* shared by both transports */
} hsd_transport_cfg;

typedef struct hsd_udp hsd_udp;
hsd_udp *hsd_udp_open(const hsd_transport_cfg *c); /* NULL: logged */
void hsd_udp_close(hsd_udp *u);
void hsd_udp_send(hsd_udp *u, const hs_addr *to, const uint8_t *payload, size_t len);

typedef struct hsd_tcp hsd_tcp;
hsd_tcp *hsd_tcp_open(const hsd_transport_cfg *c); /* NULL: logged */
void hsd_tcp_close(hsd_tcp *t);
void hsd_tcp_send(hsd_tcp *t, const hs_addr *to, const uint8_t *payload, size_t len);
void hsd_tcp_conn_counts(const hsd_tcp *t, unsigned *in, unsigned *out);
/* The peers to hold a stream open to (at most HSD_KEEP_MAX; a seed's fellow seeds): an outbound
 * connection to each is opened now and reopened KEEP_RETRY_MS after it ends, and neither it nor
 * an authenticated inbound one from a kept peer idles out or makes room for another, so the
 * death of a kept peer's process shows at once (the lost callback). Cheap to call with the
 * same set again. */
#define HSD_KEEP_MAX 8
void hsd_tcp_keep(hsd_tcp *t, const hs_addr *peers, size_t n);

#endif
