/* user_events.h: user events and queries (sans-I/O): named events with a payload that every
 * member's handlers run, and queries whose matching members answer the asker; docs/protocol.md,
 * "User events and queries", has the design.
 *
 * Identity and dedup. Every event or query (a *record*) is named by its origin's member name,
 * the origin core's epoch (random, drawn at every start) and a sequence number from 1, and
 * carries a Lamport time (ltime) from the cluster's clock: firing takes the clock and advances
 * it, receiving any user message witnesses the sender's clock. A core runs each record at most
 * once: per origin epoch it remembers every number in a window of HS_UE_WINDOW behind the
 * highest (older ones count as seen), and it never delivers a record below its *floor*, the
 * horizon (max delivered ltime + 1) its last run saved (hs_ue_horizon; the caller persists it
 * before it runs any handler for what was delivered). Each record also carries its age (ms since
 * it was fired, added up hop by hop): a core delivers nothing fired before it started (older
 * than its own uptime) or older than max_age_ms, so a member that restarts or joins runs no old
 * event (nothing is replayed to a member that comes back).
 *
 * Spreading. A new record is pushed at once to `fanout` random live members, then again in the
 * next `retransmits` ticks (batched, several records per datagram); payloads that do not fit a
 * datagram go over a stream. A core that has held records in the last repair window sends a
 * digest (what it has, per origin epoch) to a random live member every repair_ms; the receiver
 * sends back what the digest lacks (only records younger than the asker's uptime) and, when the
 * digest holds what it lacks, its own digest. Every byte of user traffic (pushes, repairs, resends,
 * responses, relays) is paced by a token bucket of budget_bps bytes per second; what does not fit
 * waits or is left to the repair, so user traffic cannot crowd out failure detection.
 *
 * Confirmed delivery. An event fired with a wait wants acknowledgements: each member acks it to
 * the origin (looked up by name in the member table) once delivered; the origin resends it
 * directly to the live members that have not acked every ack_retry_ms until the wait ends, and
 * reports how many of the members alive when it fired delivered it (hs_ue_next_done).
 *
 * Queries. A query names its filters (member names, tag key = POSIX extended regex, unanchored);
 * each member that matches acks and delivers it; its answer (hs_ue_respond, at most one) goes to
 * the origin directly and, when not acknowledged within ack_retry_ms, again directly and through a
 * random relay member, until acknowledged or the query's timeout. The origin reports each ack and
 * response as it arrives (hs_ue_next_reply) and ends the query as soon as every member it targeted
 * that is still live has answered or declined (no handler), or at the timeout.
 *
 * Coalescing. A coalescing event is held coalesce_ms; a newer one (higher ltime) of the same name
 * arriving meanwhile replaces it; an older one than the last delivered of its name is dropped.
 * The replaced ones count as delivered (superseded) for acknowledgements.
 *
 * The caller feeds time, payloads of types HS_MSG_UE_* (wire.h) and ticks, and after every call
 * drains packets, deliveries, replies, dones, and the horizon when hs_ue_take_save says so. */
#ifndef HEARSAY_USER_EVENTS_H
#define HEARSAY_USER_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/membership.h"

#define HS_UE_NAME_MAX    128  /* bytes of an event or query name: A-Z a-z 0-9 . _ - : */
#define HS_UE_PAYLOAD_MAX 8192 /* bytes of an event's, query's or response's payload */
#define HS_UE_FILTERS_MAX 16   /* member names plus tag filters of one query */
#define HS_UE_REGEX_MAX   255  /* bytes of one tag filter's expression */
#define HS_UE_WINDOW      1024 /* sequence numbers remembered per origin epoch */
#define HS_UE_ID_MAX      (HS_NAME_MAX + 32) /* "ORIGIN:EPOCH:SEQ" */

/* One member as the core sees it. */
typedef struct hs_ue_member {
    const char *name;
    hs_addr addr;
    hs_tags tags;
    bool live;    /* alive or suspect */
    bool is_self; /* this agent */
} hs_ue_member;

/* The member table, read through the caller (the agent's membership node). */
typedef struct hs_ue_view {
    const void *ctx;
    size_t (*count)(const void *ctx);
    bool (*at)(const void *ctx, size_t i, hs_ue_member *out);
    bool (*find)(const void *ctx, const char *name, hs_ue_member *out);
} hs_ue_view;

typedef struct hs_ue_cfg {
    char self[HS_NAME_MAX + 1];
    uint64_t floor;         /* the horizon the last run saved (0: none) */
    uint64_t rng_seed;      /* random choices and the epoch */
    uint32_t budget_bps;    /* user traffic sent, bytes per second (262144) */
    uint32_t fanout;        /* members each push goes to (4) */
    uint32_t retransmits;   /* ticks each new record is pushed again (2) */
    uint32_t tick_ms;       /* retransmission and coalescing tick (100) */
    uint32_t repair_ms;     /* digest exchange interval while active (500) */
    uint32_t repair_for_ms; /* active: this long after the last new record (10000) */
    uint32_t max_age_ms;    /* records older are neither delivered nor kept (30000) */
    uint32_t coalesce_ms;   /* window of a coalescing event (200) */
    uint32_t ack_retry_ms;  /* resend to the silent, response retransmission (400) */
    uint32_t max_packet;    /* datagram payload budget (HS_PACKET_MAX) */
    size_t buffer_bytes;    /* records kept for relaying and repair (4 MiB) */
} hs_ue_cfg;

/* Fills the defaults; self and floor are left empty, rng_seed 0. */
void hs_ue_cfg_default(hs_ue_cfg *c);

typedef struct hs_ue hs_ue;

/* NULL on a bad configuration (name) or no memory. view is borrowed for the core's life. */
hs_ue *hs_ue_new(const hs_ue_cfg *cfg, const hs_ue_view *view, uint64_t now_ms);
void hs_ue_free(hs_ue *u);

/* ---- inputs ---- */

/* A payload of type HS_MSG_UE_* (wire.h) from a proven member. */
void hs_ue_receive(hs_ue *u, uint64_t now_ms, const hs_addr *from, const uint8_t *data, size_t len,
                   bool stream);
void hs_ue_tick(hs_ue *u, uint64_t now_ms);
uint64_t hs_ue_next_deadline(const hs_ue *u); /* 0: none */

typedef enum hs_ue_error {
    HS_UE_OK = 0,
    HS_UE_BAD_NAME,   /* empty, longer than HS_UE_NAME_MAX or a character outside the set */
    HS_UE_TOO_BIG,    /* payload larger than HS_UE_PAYLOAD_MAX */
    HS_UE_BAD_FILTER, /* a bad member name, tag key or regular expression, or too many */
    HS_UE_BUSY,       /* too many operations in progress, or the budget's backlog is full */
    HS_UE_UNKNOWN,    /* respond: no such delivered query (answered already, or expired) */
} hs_ue_error;
const char *hs_ue_error_text(int err);
/* Names of events and queries: 1-HS_UE_NAME_MAX bytes of A-Z a-z 0-9 . _ - : */
bool hs_ue_name_valid(const char *name);

/* Fires an event. wait_ms > 0 asks every member for an acknowledgement and ends the operation
 * when every live member delivered it or wait_ms passed; 0 ends it at once. Returns the
 * operation id (never 0; its end comes out of hs_ue_next_done), or 0 with *err set. */
uint64_t hs_ue_fire(hs_ue *u, uint64_t now_ms, const char *name, const uint8_t *payload, size_t len,
                    bool coalesce, uint64_t wait_ms, int *err);

typedef struct hs_ue_tag_filter {
    const char *key;
    const char *regex; /* POSIX extended, unanchored (use ^...$ for a whole value) */
} hs_ue_tag_filter;

typedef struct hs_ue_query_spec {
    const char *name;
    const uint8_t *payload;
    size_t len;
    const char *const *nodes; /* members it asks (none: every member) */
    size_t n_nodes;
    const hs_ue_tag_filter *tags; /* every one must match */
    size_t n_tags;
    uint32_t timeout_ms; /* 1..300000 */
} hs_ue_query_spec;

/* Starts a query; the operation id (replies, then its end), or 0 with *err set. */
uint64_t hs_ue_query(hs_ue *u, uint64_t now_ms, const hs_ue_query_spec *q, int *err);

/* Answers a delivered query (ref from its delivery) with payload, or declines it (no_handler):
 * at most once per query. HS_UE_OK, HS_UE_UNKNOWN or HS_UE_TOO_BIG. */
int hs_ue_respond(hs_ue *u, uint64_t now_ms, uint64_t ref, const uint8_t *payload, size_t len,
                  bool no_handler);

/* ---- outputs ---- */

typedef struct hs_ue_packet {
    hs_addr to;
    const uint8_t *data; /* valid until the next call into the core */
    size_t len;
    bool stream;
} hs_ue_packet;
bool hs_ue_next_packet(hs_ue *u, hs_ue_packet *out);

/* An event or query to run here. The payload is valid until the next call into the core. */
typedef struct hs_ue_delivery {
    bool query;
    bool coalesce;
    char name[HS_UE_NAME_MAX + 1];
    char origin[HS_NAME_MAX + 1];
    char id[HS_UE_ID_MAX];
    uint64_t ltime;
    const uint8_t *payload;
    size_t len;
    uint64_t ref;          /* query: pass to hs_ue_respond */
    uint32_t remaining_ms; /* query: time left before the origin stops waiting */
} hs_ue_delivery;
bool hs_ue_next_delivery(hs_ue *u, hs_ue_delivery *out);

/* An acknowledgement or an answer to one of our queries, as it arrives. */
typedef struct hs_ue_reply {
    uint64_t op;
    bool response;   /* false: an acknowledgement */
    bool no_handler; /* response: the member declined (no handler for the name) */
    char from[HS_NAME_MAX + 1];
    const uint8_t *payload; /* response: valid until the next call */
    size_t len;
    uint64_t elapsed_ms; /* since the query started */
} hs_ue_reply;
bool hs_ue_next_reply(hs_ue *u, hs_ue_reply *out);

/* The end of a fired event or a query. */
typedef struct hs_ue_done {
    uint64_t op;
    bool query;
    char id[HS_UE_ID_MAX];
    uint64_t ltime;
    size_t members;         /* event: live members when fired (us included); query: targeted */
    size_t delivered;       /* event: those that delivered it (or superseded it by coalescing) */
    size_t acks, responses; /* query: acknowledgements, answers (declines not counted) */
    size_t answered;        /* query: targeted members that answered or declined */
    bool complete;          /* every member still live delivered / answered */
    uint64_t elapsed_ms;
    const char (*pending)[HS_NAME_MAX + 1]; /* live members that did not; valid until next call */
    size_t n_pending;
} hs_ue_done;
bool hs_ue_next_done(hs_ue *u, hs_ue_done *out);

/* The horizon to persist: no record below it is ever delivered again, in this run or the next
 * (cfg.floor). hs_ue_take_save: true once after the horizon grew. */
uint64_t hs_ue_horizon(const hs_ue *u);
bool hs_ue_take_save(hs_ue *u);
uint64_t hs_ue_clock(const hs_ue *u); /* the Lamport clock */

typedef struct hs_ue_stats {
    uint64_t fired, queries, delivered, queries_delivered, coalesced, responses_sent;
    uint64_t duplicates, refused_old, refused_floor, malformed;
    uint64_t bytes_out, packets_out, deferred, dropped_backlog, repairs_sent, relayed;
} hs_ue_stats;
const hs_ue_stats *hs_ue_get_stats(const hs_ue *u);
size_t hs_ue_buffered(const hs_ue *u); /* records held for relaying and repair */

#endif
