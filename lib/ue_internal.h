/* ue_internal.h: the state of one hs_ue (include/hearsay/user_events.h) shared by its files:
 * user_events.c (life cycle, receiving, delivering, coalescing, outputs), ue_codec.c (wire
 * forms), ue_seen.c (the per-origin windows, floor and horizon), ue_spread.c (pushes,
 * retransmission, repair digests, the budget) and ue_query.c (acknowledgements, queries,
 * answers and relays). */
#ifndef HEARSAY_UE_INTERNAL_H
#define HEARSAY_UE_INTERNAL_H

#include "hearsay/codec.h"
#include "hearsay/user_events.h"
#include "hearsay/wire.h"
#include "prng.h"

#define UE_KIND_EVENT 0
#define UE_KIND_QUERY 1

/* record flags */
#define UE_RF_COALESCE 0x01
#define UE_RF_WANT_ACK 0x02
/* RECORDS message flags */
#define UE_MF_REPAIR 0x01
#define UE_MF_DIRECT 0x02 /* a resend by the origin itself: acknowledge again */
/* ACK flags */
#define UE_AF_SUPERSEDED 0x01 /* coalesced away by a newer event of its name */
#define UE_AF_REFUSED    0x02 /* will not deliver it: started after it, or no filter match */
/* RESPONSE flags */
#define UE_PF_RELAY      0x01 /* to a relay: forward to the origin */
#define UE_PF_NO_HANDLER 0x02
/* DIGEST flags */
#define UE_DF_REPLY 0x01 /* an answer to a digest: do not answer with another */

#define UE_WORDS          (HS_UE_WINDOW / 64)
#define UE_ORIGINS_MAX    4096 /* origin epochs remembered */
#define UE_COALESCE_NAMES 128
#define UE_PENDING_MAX    1024 /* delivered queries not yet answered or expired */
#define UE_OPS_MAX        64   /* our fired events with a wait and our queries in flight */
#define UE_DIGEST_MAX     512  /* entries of one digest */
#define UE_HDR_MAX        (2 + 1 + HS_NAME_MAX + 8 + 1) /* RECORDS header */

/* A decoded record (pointers into the message). */
typedef struct ue_record {
    uint8_t kind, flags;
    char origin[HS_NAME_MAX + 1];
    uint64_t epoch;
    uint32_t seq;
    uint64_t ltime;
    uint32_t age_ms;
    char name[HS_UE_NAME_MAX + 1];
    const uint8_t *payload;
    size_t len;
    /* queries */
    uint32_t timeout_ms;
    uint8_t n_nodes, n_tags;
    char nodes[HS_UE_FILTERS_MAX][HS_NAME_MAX + 1];
    char tag_keys[HS_UE_FILTERS_MAX][HS_UE_NAME_MAX + 1];
    char tag_res[HS_UE_FILTERS_MAX][HS_UE_REGEX_MAX + 1];
    /* where the record sits in the message */
    const uint8_t *wire;
    size_t wire_len, age_off; /* offset of age_ms inside wire */
} ue_record;

/* A record held for relaying and repair. */
typedef struct ue_held {
    uint8_t kind, flags;
    char origin[HS_NAME_MAX + 1];
    uint64_t epoch;
    uint32_t seq;
    uint64_t ltime;
    uint32_t age0;        /* its age when it arrived */
    uint64_t recv_ms;     /* when it arrived */
    uint64_t deadline_ms; /* queries: when the origin stops waiting (local time) */
    uint8_t *wire;        /* the encoded record */
    size_t wire_len, age_off;
    uint8_t hot; /* retransmission rounds left */
    bool for_us; /* delivered, held or superseded here (not: a query for others) */
} ue_held;

/* What we remember of one origin epoch: every seq <= base, and the window above it. */
typedef struct ue_origin {
    char name[HS_NAME_MAX + 1];
    uint64_t epoch;
    uint32_t base;
    uint64_t bits[UE_WORDS]; /* bit i: seq base + 1 + i */
    uint64_t max_ltime, last_ms;
    int32_t next; /* hash chain (-1: end) */
} ue_origin;

/* One entry of a received digest. */
typedef struct ue_digest_entry {
    char origin[HS_NAME_MAX + 1];
    uint64_t epoch;
    uint32_t base;
    uint64_t bits; /* seq base + 1 + i */
} ue_digest_entry;

typedef struct ue_out_packet {
    hs_addr to;
    uint8_t *data;
    size_t len;
    bool stream;
} ue_out_packet;

typedef struct ue_out_delivery {
    hs_ue_delivery d;
    uint8_t *payload;
} ue_out_delivery;

typedef struct ue_out_reply {
    hs_ue_reply r;
    uint8_t *payload;
} ue_out_reply;

typedef struct ue_out_done {
    hs_ue_done d;
    char (*pending)[HS_NAME_MAX + 1];
} ue_out_done;

/* A held coalescing event of one name. */
typedef struct ue_coalesce {
    char name[HS_UE_NAME_MAX + 1];
    uint64_t newest;      /* highest ltime seen of the name */
    uint64_t deadline_ms; /* the window's end; 0: nothing held */
    uint64_t last_ms;
    bool used;
    hs_ue_delivery held;
    uint8_t *payload;
    char ack_origin[HS_NAME_MAX + 1]; /* the held one wants an ack ("": no) */
    uint64_t ack_epoch;
    uint32_t ack_seq;
} ue_coalesce;

/* A query delivered here and not yet answered (or answered, retransmitting). */
typedef struct ue_pending {
    uint64_t ref;
    char origin[HS_NAME_MAX + 1];
    uint64_t epoch;
    uint32_t seq;
    uint64_t deadline_ms, next_ms;
    bool answered;
    uint8_t *wire; /* the RESPONSE message once answered */
    size_t wire_len;
} ue_pending;

/* One member an operation of ours waits for. */
typedef struct ue_target {
    char name[HS_NAME_MAX + 1];
    bool acked, answered, delivered, refused;
    bool extra; /* not targeted at the start (it answered anyway): not waited for */
} ue_target;

typedef struct ue_op {
    uint64_t op;
    bool query;
    uint32_t seq;
    uint64_t ltime, t0, deadline_ms, next_ms;
    ue_target *t;
    size_t n, acks, responses, answered, delivered;
    uint8_t *wire; /* the record, for resends */
    size_t wire_len, age_off;
} ue_op;

typedef struct ue_queue {
    void *items;
    size_t n, read, cap, size;
} ue_queue;

struct hs_ue {
    hs_ue_cfg cfg;
    hs_ue_view view;
    hs_prng rng;
    uint64_t now, start_ms, epoch;
    uint32_t next_seq;
    uint64_t clock, floor, horizon;
    bool save;
    uint64_t next_op, next_ref;
    /* seen */
    ue_origin *origins;
    size_t norigins;
    int32_t *index; /* hash heads */
    size_t index_cap;
    /* held records */
    ue_held *held;
    size_t nheld, capheld, held_bytes;
    uint64_t last_new_ms, next_tick_ms, next_repair_ms;
    /* budget */
    double tokens;
    uint64_t tokens_ms;
    /* coalescing, answers, operations */
    ue_coalesce co[UE_COALESCE_NAMES];
    ue_pending *pend;
    size_t npend;
    ue_op ops[UE_OPS_MAX];
    /* outputs */
    ue_queue packets, deliveries, replies, dones;
    hs_ue_stats st;
    uint8_t scratch[HS_UE_PAYLOAD_MAX + 8192];
};

/* user_events.c */
void *ue_push(ue_queue *q);
void ue_send(hs_ue *u, const hs_addr *to, const uint8_t *data, size_t len, bool stream);
bool ue_find(hs_ue *u, const char *name, hs_ue_member *out);
/* Up to k distinct random live members other than us and the named ones; their addresses. */
size_t ue_pick(hs_ue *u, size_t k, const char *skip1, const char *skip2, hs_addr *out);
uint64_t ue_uptime(const hs_ue *u);
uint32_t ue_age_now(const hs_ue *u, const ue_held *h);
void ue_witness(hs_ue *u, uint64_t clock);
/* Delivers (or holds for coalescing) a record accepted here; false: not delivered (a query
 * whose filters do not match us). */
bool ue_deliver(hs_ue *u, const ue_record *r);
void ue_coalesce_tick(hs_ue *u);
/* The core's own record just fired: encoded, accepted, delivered, pushed. NULL: no memory. */
ue_held *ue_accept_own(hs_ue *u, const ue_record *r);
void ue_make_id(char *out, const char *origin, uint64_t epoch, uint32_t seq);

/* ue_codec.c */
/* Encodes r (its payload and filters) into w. */
void ue_put_record(hs_writer *w, const ue_record *r, size_t *age_off);
/* Decodes one record at r's position; false on anything out of range. */
bool ue_get_record(hs_reader *rd, ue_record *out);
void ue_put_records_header(hs_writer *w, uint8_t flags, const char *sender, uint64_t clock,
                           uint8_t count);
bool ue_member_name_ok(const char *s);
bool ue_tag_key_ok(const char *s);
/* A query's filters, compiled once and matched against many members. */
typedef struct ue_filter {
    const ue_record *r;
    size_t n; /* compiled expressions */
    void *re; /* regex_t[n_tags] */
} ue_filter;
/* false: an expression does not compile (or no memory) */
bool ue_filter_compile(ue_filter *f, const ue_record *r);
bool ue_filter_match(const ue_filter *f, const hs_ue_member *m);
void ue_filter_free(ue_filter *f);

/* ue_seen.c */
void ue_seen_init(hs_ue *u);
void ue_seen_free(hs_ue *u);
bool ue_seen(const hs_ue *u, const char *origin, uint64_t epoch, uint32_t seq);
void ue_seen_mark(hs_ue *u, const char *origin, uint64_t epoch, uint32_t seq, uint64_t ltime);
/* A delivered record's ltime: the horizon grows past it. */
void ue_seen_delivered(hs_ue *u, uint64_t ltime);
/* Fills entries with what we hold (recently active origins); returns how many. */
size_t ue_seen_digest(const hs_ue *u, ue_digest_entry *out, size_t cap);
/* Does the digest entry hold a seq we have not seen? */
bool ue_seen_lacks(const hs_ue *u, const ue_digest_entry *e);
/* Does the digest (of n entries) hold record h? */
bool ue_digest_has(const ue_digest_entry *d, size_t n, const ue_held *h);

/* ue_spread.c */
bool ue_spend(hs_ue *u, size_t bytes);
void ue_push_new(hs_ue *u, ue_held *h, const char *from_name);
void ue_send_held_to(hs_ue *u, const hs_addr *to, ue_held *const *hs, size_t n, uint8_t flags);
ue_held *ue_hold(hs_ue *u, const ue_record *r);
void ue_spread_tick(hs_ue *u);
void ue_on_digest(hs_ue *u, const uint8_t *data, size_t len);
void ue_drop_held(hs_ue *u, size_t i);

/* ue_query.c */
void ue_ack(hs_ue *u, const char *origin, uint64_t epoch, uint32_t seq, uint8_t flags);
void ue_on_ack(hs_ue *u, const uint8_t *data, size_t len);
void ue_on_response(hs_ue *u, const hs_addr *from, const uint8_t *data, size_t len);
void ue_on_resp_ack(hs_ue *u, const uint8_t *data, size_t len);
/* A query delivered here: remember it for its answer; the ref. */
uint64_t ue_pending_add(hs_ue *u, const ue_record *r);
ue_op *ue_op_new(hs_ue *u, bool query, uint32_t seq, uint64_t ltime, uint64_t wait_ms);
void ue_op_targets(hs_ue *u, ue_op *o, const ue_record *r);
void ue_query_tick(hs_ue *u);
void ue_ops_free(hs_ue *u);
/* Our own acknowledgement of our own record (we are its origin). */
void ue_local_ack(hs_ue *u, uint32_t seq, const char *from, uint8_t flags);

#endif
