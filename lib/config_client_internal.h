/* config_client_internal.h: the configuration client's state, shared by config_client.c (the
 * operations: sessions, forwarding, notifications), config_serve.c (serving as leader) and
 * config_fetch.c (the configuration fetch, the leader hint, where to send). */
#ifndef HEARSAY_CONFIG_CLIENT_INTERNAL_H
#define HEARSAY_CONFIG_CLIENT_INTERNAL_H

#include "hearsay/config_client.h"
#include "prng.h"

#define CFGC_DEADLINE_MS   8000 /* an operation's life (below the HTTP connection timeout) */
#define CFGC_RESEND_MS     1000 /* a forwarded request unanswered: ask again */
#define CFGC_RETRY_MS      100  /* waiting for a leader, a commit of its term, the window */
#define CFGC_CATCHUP_MS    300  /* committed elsewhere: fetch it again */
#define CFGC_FETCH_MS      1000 /* a newer configuration exists: fetch again */
#define CFGC_HINT_TTL_MS   10000
#define CFGC_HINT_FRESH_MS 5000 /* non-seeds ask a seed this often (leader hint, clock) */

enum cop_state {
    ST_START,     /* to run: propose, read or forward */
    ST_PROPOSED,  /* in the leader's log at (index, term), or joined to an entry there */
    ST_READING,   /* ReadIndex asked */
    ST_READ_WAIT, /* read index known, waiting to apply up to it */
    ST_REMOTE,    /* forwarded to target */
    ST_CATCHUP,   /* committed; waiting for our own configuration to reach want_version */
};

typedef struct cop {
    uint64_t id; /* also the request id of its forwarded copies, and the ReadIndex ctx */
    int kind, state;
    bool remote; /* forwarded to us by origin (origin_rid): answered with a FWD_RESP */
    hs_addr origin;
    uint64_t origin_rid;
    hs_cc_tag tag;   /* changes: the request's place in a session (0: not placed yet) */
    bool own;        /* tag is in this agent's session (it counts in the window) */
    bool keyed;      /* tag is the idempotency key's session */
    bool joined;     /* ST_PROPOSED on an entry someone else proposed */
    bool renewed;    /* placed anew once after a stale refusal */
    unsigned copies; /* copies sent out that may still apply (see stale()) */
    char key[HS_CC_NAME_MAX + 1];
    char value[HS_CC_VALUE_MAX + 1];
    uint64_t deadline, next_try;
    uint64_t index, term;  /* ST_PROPOSED */
    uint64_t read_index;   /* ST_READ_WAIT */
    uint64_t want_version; /* ST_CATCHUP */
    hs_addr target;        /* ST_REMOTE */
    struct cop *next;
} cop;

typedef struct outmsg {
    hs_addr to;
    size_t len;
    bool datagram_ok;
    struct outmsg *next;
    uint8_t data[];
} outmsg;

typedef struct donenode {
    hs_cfgc_done d;
    struct donenode *next;
} donenode;

struct hs_cfgc {
    hs_cfgc_cfg cfg;
    hs_cluster_config *cc;
    hs_raft *raft;
    uint64_t applied; /* index applied to cc (seeds) */
    hs_prng rng;
    uint64_t now;
    cop *ops;
    unsigned n_ops;
    uint64_t next_id;
    /* this agent's client session (0: none yet) */
    uint64_t sess_id, sess_born, sess_next;
    uint64_t clock_seen; /* highest session clock an answer carried */
    /* leader hint (non-seeds) and fetch state */
    char leader[HS_RAFT_NAME_MAX + 1];
    uint64_t leader_at;
    uint64_t want_version; /* highest version we know exists */
    hs_addr want_from;
    bool have_want_from;
    uint64_t last_fetch, last_hint;
    uint32_t rr;
    bool installed, raft_work;
    hs_addr installed_from;
    /* outputs */
    outmsg *out_head, *out_tail, *out_cur;
    donenode *done_head, *done_tail;
    uint8_t *ser;                /* HS_CC_SERIALIZED_MAX scratch */
    hs_cluster_config *incoming; /* a fetched configuration being checked */
    hs_cfgc_stats stats;
};

/* config_client.c */
void cfgc__send(hs_cfgc *c, const hs_addr *to, const hs_cfgc_wire *m);
uint64_t cfgc__clock(const hs_cfgc *c); /* the session clock this agent knows */
void cfgc__check_catchup(hs_cfgc *c);
void cfgc__copy_str(char *dst, size_t cap, const char *src); /* truncating, NULL as "" */
/* Answers o (its origin, or the local caller) and frees it. */
void cfgc__finish(hs_cfgc *c, cop *o, int result, const char *value, bool found, uint64_t version);
bool cfgc__place(hs_cfgc *c, cop *o);                    /* false while the window is full */
hs_cc_tag cfgc__tag_now(const hs_cfgc *c, const cop *o); /* its tag, floor as of now */
void cfgc__stale(hs_cfgc *c, cop *o);                    /* refused as stale */

/* config_serve.c */
void cfgc__serve(hs_cfgc *c, cop *o);   /* on the leader */
bool cfgc__caught_up(const hs_cfgc *c); /* leader: applied up to a commit of its term */
void cfgc__answer(hs_cfgc *c, cop *o, const hs_cc_outcome *out); /* its entry applied */

/* config_fetch.c */
void cfgc__on_fetch(hs_cfgc *c, const hs_addr *from, const hs_cfgc_wire *m);
int cfgc__on_fetch_resp(hs_cfgc *c, const hs_addr *from, const hs_cfgc_wire *m);
void cfgc__send_fetch(hs_cfgc *c, const hs_addr *to);
void cfgc__fetch_tick(hs_cfgc *c);
uint64_t cfgc__fetch_deadline(const hs_cfgc *c);
void cfgc__set_hint(hs_cfgc *c, const char *leader);
bool cfgc__name_addr(const hs_cfgc *c, const char *name, hs_addr *out);
bool cfgc__any_seed(hs_cfgc *c, hs_addr *out);

#endif
