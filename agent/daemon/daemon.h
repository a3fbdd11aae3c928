/* daemon.h: the one hsd structure every daemon module shares, and the modules' entry points. */
#ifndef HSD_DAEMON_H
#define HSD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "exit_status.h"
#include "hearsay/channel.h"
#include "hearsay/config_client.h"
#include "hearsay/envelope.h"
#include "hearsay/membership.h"
#include "options.h"

/* Why the transports dropped something (beyond the envelope's own reasons). */
enum hsd_drop {
    HSD_DROP_EMPTY,             /* empty payload */
    HSD_DROP_UNKNOWN_TYPE,      /* type byte outside every routed range */
    HSD_DROP_RAFT_DISABLED,     /* Raft message on a node that runs no Raft (a non-seed) */
    HSD_DROP_CONFIG_DISABLED,   /* config message type we do not know */
    HSD_DROP_OVERSIZE,          /* datagram or frame larger than allowed */
    HSD_DROP_SEND_FAILED,       /* sendto/connect failed */
    HSD_DROP_SEAL_FAILED,       /* could not seal (no room) */
    HSD_DROP_CONN_LIMIT,        /* TCP connection cap reached */
    HSD_DROP_LEAVING,           /* received after we finished leaving */
    HSD_DROP_MALFORMED,         /* Raft or config message that does not decode */
    HSD_DROP_RAFT_NOT_FOR_US,   /* Raft message the node refused (wrong id, unknown sender) */
    HSD_DROP_HANDSHAKE_TIMEOUT, /* inbound stream without a valid hello in time */
    HSD_DROP_PREAUTH_LIMIT,     /* unauthenticated inbound stream refused or closed at a cap */
    HSD_DROP_COUNT
};
const char *hsd_drop_name(int reason);

typedef struct hsd_counters {
    uint64_t udp_in, udp_out, udp_bytes_in, udp_bytes_out;
    uint64_t tcp_frames_in, tcp_frames_out, tcp_bytes_in, tcp_bytes_out;
    uint64_t tcp_accepted, tcp_connects;
    uint64_t env_drops[HS_ENV_RESULT_COUNT];
    uint64_t ch_drops[HS_CH_VERDICT_COUNT]; /* refused by the secure channel, by verdict */
    uint64_t drops[HSD_DROP_COUNT];
    uint64_t http_requests, http_errors;
    uint64_t api_deadline_closed[2]; /* API connections closed at a deadline: request, answer */
    uint64_t events_lagged;          /* event streams cut because their client fell behind */
    uint64_t events_total;
    uint64_t handlers_run, handlers_failed, handlers_timeout, handlers_dropped;
    uint64_t state_saves, state_save_errors;
} hsd_counters;

struct hsd_tcp;
struct hsd_events;
struct hsd_raft;
struct hsd_sync;
struct hsd_notify;
struct hsd_keys;
struct hs_cluster_config;

typedef struct hsd {
    struct event_base *base;
    hsd_options opt;
    char **argv;
    int argc;
    hs_envelope env;
    hs_channel *ch; /* numbering, anti-replay and challenges around env (channel.h) */
    hs_node *node;
    hs_addr advertise;
    struct event *timer;
    struct event *save_timer;
    struct event *rejoin_timer;
    struct event *exit_timer;
    struct event *sig_ev[3];
    int udp_fd;
    int lock_fd; /* DATA_DIR/lock, held (flock) while the agent runs */
    struct event *udp_ev;
    struct hsd_tcp *tcp;
    struct evhttp *http;
    int http_fd;
    struct hsd_events *events;
    struct hsd_handlers *handlers; /* handlers.c */
    hsd_counters c;
    bool leaving;
    bool members_dirty;
    uint32_t incarnation;
    uint64_t start_mono_ms;
    char dev_dir[HSD_PATH_MAX];
    struct hsd_raft *raft;        /* NULL on a non-seed */
    struct hsd_sync *sync;        /* config distribution and forwarded requests */
    struct hsd_notify *notify;    /* sd_notify state */
    struct hsd_keys *keys;        /* key-ring surveys (keys.c) */
    struct hs_cluster_config *cc; /* the configuration this agent holds (heap) */
    uint8_t *sealbuf;             /* scratch for sealing outgoing messages */
    size_t sealcap;
} hsd;

/* clocks */
uint64_t hsd_now_ms(void);  /* CLOCK_MONOTONIC */
uint64_t hsd_unix_ms(void); /* CLOCK_REALTIME */

/* node_driver.c */
int hsd_driver_start(hsd *d);
void hsd_driver_stop(hsd *d);
/* Routes one opened payload by its type byte; stream is true for TCP frames. */
void hsd_dispatch(hsd *d, const hs_addr *from, const uint8_t *data, size_t len, bool stream);
/* Drains packets and events and re-arms the timer; call after every input into the node. */
void hsd_drive(hsd *d);
/* Starts a graceful leave and exits the loop ~500 ms later. */
void hsd_begin_leave(hsd *d);
/* Who is at an address, for the outbound stream slots: a seed, a live member, or neither. */
enum { HSD_PEER_OTHER = 0, HSD_PEER_MEMBER = 1, HSD_PEER_SEED = 2 };
int hsd_peer_class(const hsd *d, const hs_addr *a);

/* transport_udp.c */
int hsd_udp_open(hsd *d);
void hsd_udp_close(hsd *d);
void hsd_udp_send(hsd *d, const hs_addr *to, const uint8_t *payload, size_t len);

/* transport_tcp.c */
int hsd_tcp_open(hsd *d);
void hsd_tcp_close(hsd *d);
void hsd_tcp_send(hsd *d, const hs_addr *to, const uint8_t *payload, size_t len);
void hsd_tcp_conn_counts(const hsd *d, unsigned *in, unsigned *out);

/* keyfile.c: 0; HSD_EXIT_CONFIG for a missing, unsafe (owner, mode, link) or malformed key
 * file; -1 if reading it failed */
int hsd_load_key_file(hs_envelope *env, const char *path, char *err, size_t errlen);

/* state.c: creates, checks (HSD_EXIT_CONFIG if unsafe) and locks the data dir (-1 if another
 * agent holds it) */
int hsd_state_prepare(hsd *d);
void hsd_state_release(hsd *d);
uint32_t hsd_state_load_incarnation(hsd *d);
int hsd_state_save_incarnation(hsd *d, uint32_t inc);
/* Fills addrs with saved members (not ourselves); returns the count. */
size_t hsd_state_load_members(hsd *d, hs_addr *addrs, size_t cap);
int hsd_state_save_members(hsd *d);

/* events.c */
int hsd_events_init(hsd *d);
void hsd_events_free(hsd *d);
/* handlers.c: runs the configured handler of a published event (o: its /v1/events object,
 * text: that object as compact JSON); never blocks. */
struct json_t;
int hsd_handlers_init(hsd *d);
void hsd_handlers_free(hsd *d);
void hsd_handlers_dispatch(hsd *d, const char *event, struct json_t *o, const char *text);
void hsd_handlers_reload(hsd *d, const hsd_options *o); /* SIGHUP */
void hsd_events_publish(hsd *d, const hs_event *ev);
unsigned hsd_events_streams(const hsd *d); /* open GET /v1/events streams */
/* Serves GET /v1/events as a chunked stream. */
void hsd_events_serve(hsd *d, struct evhttp_request *req, uint64_t since, bool have_since);

/* http_api.c */
int hsd_http_open(hsd *d);
void hsd_http_close(hsd *d);

/* Who is at the other end of an API connection (SO_PEERCRED when it connected).
 * privileged: uid 0, the agent's uid or a member of --admin-group (may change state). */
typedef struct hsd_peer {
    uid_t uid;
    bool privileged;
} hsd_peer;

/* http_slots.c: fair shares of the API's limited slots (docs/api.md, "Limits") */
enum hsd_slot { HSD_SLOT_CONN, HSD_SLOT_STREAM, HSD_SLOT_SURVEY, HSD_SLOTS };
enum hsd_slot_why { HSD_SLOT_OK, HSD_SLOT_FULL, HSD_SLOT_READERS, HSD_SLOT_UID, HSD_SLOT_WHYS };
void hsd_slots_init(unsigned max_conns); /* --max-api-connections (0: the default) */
void hsd_slots_free(void);
/* Takes a slot of kind for p: HSD_SLOT_OK, or why not (counted for /v1/metrics). */
int hsd_slot_take(int kind, const hsd_peer *p);
void hsd_slot_put(int kind, const hsd_peer *p); /* gives back a slot taken for p */
/* The refusal as a sentence for the client (why: not HSD_SLOT_OK). */
void hsd_slot_refusal(int kind, int why, const hsd_peer *p, char *buf, size_t len);
unsigned hsd_slots_used(int kind, bool privileged);
uint64_t hsd_slots_refused(int kind, int why);
const char *hsd_slot_name(int kind);    /* "connection", "stream", "survey" */
const char *hsd_slot_why_name(int why); /* "full", "readers", "uid" */

/* http_conns.c: admission, deadlines and peers of API socket connections (http_api.c) */
int hsd_http_conns_init(hsd *d, struct evhttp_bound_socket *bound);
void hsd_http_conns_free(hsd *d);
unsigned hsd_http_conns_open(const hsd *d); /* API connections open now */
/* A complete request arrived: its answer deadline starts. false: the connection was refused
 * (the request is gone; do not touch it). */
bool hsd_http_conn_begin(struct evhttp_request *req);
/* The answer of req must be written within ms from now; 0: no deadline (an event stream). */
void hsd_http_conn_deadline(struct evhttp_request *req, unsigned ms);
/* The peer of req's connection; false if req has no connection any more. */
bool hsd_http_peer(struct evhttp_request *req, hsd_peer *out);

/* http_auth.c: API socket access control (--socket-group, --admin-group) */
int hsd_auth_init(const hsd_options *o, char *err, size_t errlen); /* resolves the groups */
gid_t hsd_auth_socket_gid(void);          /* --socket-group's gid, or (gid_t)-1: leave as created */
int hsd_auth_peer(int fd, hsd_peer *out); /* reads the peer of a unix socket; -1 on error */
/* For a changing request: true if the peer may change state, else answers 403, false. */
bool hsd_auth_may_change(hsd *d, struct evhttp_request *req);

/* raft_driver.c (seeds only) */
uint64_t hsd_seed_id(const char *name);
bool hsd_is_seed(const hsd *d);
/* no-op on a non-seed; HSD_EXIT_DATA if the Raft storage is damaged, -1 on other errors */
int hsd_raft_start(hsd *d);
void hsd_raft_stop(hsd *d);
void hsd_raft_receive(hsd *d, const hs_addr *from, const uint8_t *data, size_t len);
void hsd_raft_drive(hsd *d);                 /* the Ready loop; call after every input */
struct hs_raft *hsd_raft_node(const hsd *d); /* NULL on a non-seed */
uint64_t hsd_raft_applied(const hsd *d);
const char *hsd_raft_leader_name(const hsd *d); /* NULL if unknown or not a seed */

/* config_sync.c: drives the configuration client core (hearsay/config_client.h): config
 * fetch (0x60/0x61), forwarded requests (0x62/0x63), operations answered once committed */
enum hsd_op_kind {
    HSD_OP_SET = HS_CFGC_SET,
    HSD_OP_READ = HS_CFGC_READ,
    HSD_OP_ADD_SEED = HS_CFGC_ADD_SEED,
    HSD_OP_REMOVE_SEED = HS_CFGC_REMOVE_SEED,
    HSD_OP_KEY_INSTALL = HS_CFGC_KEY_INSTALL, /* value: the key, base64 */
    HSD_OP_KEY_USE = HS_CFGC_KEY_USE,
    HSD_OP_KEY_REMOVE = HS_CFGC_KEY_REMOVE,
    HSD_OP_DELETE = HS_CFGC_DELETE,
};
enum hsd_op_result {
    HSD_OP_OK = HS_CFGC_OK,
    HSD_OP_NOTLEADER = HS_CFGC_NOTLEADER, /* no leader known (answered 503) */
    HSD_OP_BUSY = HS_CFGC_BUSY,           /* a seed change is pending (409) */
    HSD_OP_INVALID = HS_CFGC_INVALID,     /* refused by the configuration (400) */
    HSD_OP_NOTFOUND = HS_CFGC_NOTFOUND,   /* no such key / seed (404) */
    HSD_OP_TIMEOUT = HS_CFGC_TIMEOUT,     /* not committed in time (503) */
    HSD_OP_EXPIRED = HS_CFGC_EXPIRED,     /* its session was forgotten: outcome unknown (503) */
    HSD_OP_CONFLICT = HS_CFGC_CONFLICT,   /* Idempotency-Key reused for another request (422) */
};
int hsd_sync_init(hsd *d);
void hsd_sync_free(hsd *d);
void hsd_sync_receive(hsd *d, const hs_addr *from, const uint8_t *data, size_t len);
void hsd_sync_config_seen(hsd *d, const hs_event *ev); /* HS_EV_CONFIG_SEEN */
void hsd_sync_on_applied(hsd *d, uint64_t index, uint64_t term, const hs_cc_outcome *o);
void hsd_sync_on_restored(hsd *d, uint64_t index); /* the configuration came from a snapshot */
void hsd_sync_on_read(hsd *d, uint64_t ctx, uint64_t index);
void hsd_sync_on_role(hsd *d);
/* The local configuration changed (src: who we got it from): version, event, waiters. */
void hsd_sync_config_changed(hsd *d, const char *src, const hs_addr *addr);
/* Starts an operation for an HTTP request (its Idempotency-Key header, if any, goes with a
 * change); the answer goes through hsd_http_op_done. */
void hsd_op_start(hsd *d, int kind, const char *key, const char *value, struct evhttp_request *req);
/* Leader name as far as this agent knows (seeds: Raft; others: last answer), or NULL. */
const char *hsd_sync_leader(const hsd *d);

/* http_config.c */
void hsd_http_op_done(hsd *d, struct evhttp_request *req, int kind, int result, const char *key,
                      const char *value, bool found, uint64_t version);

/* keys.c: the key ring follows the configuration; rotation with acknowledgements */
int hsd_keys_init(hsd *d);
void hsd_keys_free(hsd *d);
/* Loads DATA_DIR/keyring (the last replicated ring) into d->env if it exists. */
int hsd_keys_load_saved(hsd *d, bool *loaded, char *err, size_t errlen);
void hsd_keys_config_changed(hsd *d); /* makes d->env the configuration's ring */
/* A message was delivered by the secure channel: counts the key that sealed it and the
 * (proven, fresh) sender instance it came from. */
void hsd_keys_opened(hsd *d, const hs_ch_sender *who);
void hsd_keys_receive(hsd *d, const hs_addr *from, const uint8_t *data, size_t len);
/* A key operation ended (committed or not): answers req, after the acknowledgement wait. */
void hsd_keys_op_done(hsd *d, struct evhttp_request *req, int kind, int result, const char *b64,
                      uint64_t version);

/* sd_notify.c */
void hsd_notify_init(hsd *d);
void hsd_notify_ready(hsd *d);
void hsd_notify_status(hsd *d); /* rate-limited STATUS= */
void hsd_notify_stopping(hsd *d);
void hsd_notify_free(hsd *d);

/* signals.c */
int hsd_signals_init(hsd *d);
void hsd_signals_free(hsd *d);

#endif
