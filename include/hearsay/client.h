/* client.h: libhearsay, the C client library for the hearsay agent's HTTP/JSON API on its
 * unix socket (docs/libhearsay.md, libhearsay(3)). Build with
 * `cc prog.c $(pkg-config --cflags --libs hearsay)`.
 *
 * Everything public is named hs_client_* / HS_CLIENT_*. Results are plain C structs (no
 * JSON library in this header); each result a call hands out is freed with one
 * hs_client_free(). A handle is not thread-safe: use one per thread. */
#ifndef HEARSAY_CLIENT_H
#define HEARSAY_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HS_CLIENT_API __attribute__((visibility("default")))
#else
#define HS_CLIENT_API
#endif

#define HS_CLIENT_VERSION                   "0.1.0"
#define HS_CLIENT_DEFAULT_SOCKET            "/run/hearsay/api.sock"
#define HS_CLIENT_DEFAULT_TIMEOUT_MS        10000 /* every call but config set */
#define HS_CLIENT_DEFAULT_COMMIT_TIMEOUT_MS 30000 /* config set waits for a Raft commit */

/* Return codes: HS_CLIENT_OK or a negative hs_client_error. hs_client_last_error() has a
 * one-line detail of the last failure on that handle. */
typedef enum hs_client_error {
    HS_CLIENT_OK = 0,
    HS_CLIENT_ECONNECT = -1,    /* the agent's socket cannot be reached (not running?) */
    HS_CLIENT_EPROTO = -2,      /* I/O error or malformed HTTP answer after connecting */
    HS_CLIENT_ETIMEDOUT = -3,   /* the agent did not answer within the timeout */
    HS_CLIENT_EINTR = -4,       /* the interrupt flag (hs_client_set_interrupt) was set */
    HS_CLIENT_ESTOPPED = -5,    /* the event callback returned nonzero */
    HS_CLIENT_ETOOBIG = -6,     /* the answer exceeds the library's size limits */
    HS_CLIENT_EHTTP = -7,       /* the agent answered an error status not listed below */
    HS_CLIENT_ENOTFOUND = -8,   /* 404: no such config key, seed or endpoint */
    HS_CLIENT_EDENIED = -9,     /* 403: changes need uid 0, the agent's uid or its admin group */
    HS_CLIENT_EBUSY = -10,      /* 409: a conflicting change is in progress; retry later */
    HS_CLIENT_EUNAVAIL = -11,   /* 503: no Raft leader, not committed in time, agent leaving */
    HS_CLIENT_EBADANSWER = -12, /* 2xx, but not the JSON document the call expects */
    HS_CLIENT_EINVAL = -13,     /* bad argument (NULL, empty key, path too long, ...) */
    HS_CLIENT_ENOMEM = -14,     /* out of memory */
    HS_CLIENT_EPAYLOAD = -15,   /* 413: a user event's or query's payload is over 8192 bytes */
} hs_client_error;

/* A static English description of an error code ("agent not reachable", ...). */
HS_CLIENT_API const char *hs_client_strerror(int err);
/* The library version, HS_CLIENT_VERSION of the build. */
HS_CLIENT_API const char *hs_client_version(void);

/* ---- the handle ------------------------------------------------------------------------ */

typedef struct hs_client hs_client;

/* Creates a handle; does not connect (every call makes its own connection, so a handle
 * survives agent restarts). socket_path NULL or "" means $HEARSAY_SOCKET if set and not
 * empty, else HS_CLIENT_DEFAULT_SOCKET. NULL only when out of memory. */
HS_CLIENT_API hs_client *hs_client_open(const char *socket_path);
HS_CLIENT_API void hs_client_close(hs_client *c);
HS_CLIENT_API const char *hs_client_socket_path(const hs_client *c);
/* Deadline of each whole call (connect, request, answer) in ms; -1 waits forever.
 * For hs_client_events it bounds the time until the stream starts. */
HS_CLIENT_API void hs_client_set_timeout(hs_client *c, int timeout_ms);
/* Deadline of the calls that answer once the Raft group committed: hs_client_config_set,
 * the seed changes, and (plus their wait) the key ring changes. */
HS_CLIENT_API void hs_client_set_commit_timeout(hs_client *c, int timeout_ms);
/* When *flag becomes nonzero (e.g. from a SIGINT handler installed without SA_RESTART), a
 * call blocked on the agent returns HS_CLIENT_EINTR. NULL removes it. */
HS_CLIENT_API void hs_client_set_interrupt(hs_client *c, volatile sig_atomic_t *flag);
/* One line describing the last failure on c ("" after a success); for HTTP errors the
 * agent's {"error":...} message. Control characters are replaced with '?'. */
HS_CLIENT_API const char *hs_client_last_error(const hs_client *c);
/* HTTP status of the last answer on c, 0 when none was read. */
HS_CLIENT_API int hs_client_last_status(const hs_client *c);
/* The body of the last answer a typed call read on c, byte for byte as the agent sent it
 * (NUL-terminated; *len, when len is not NULL, gets its length): "" when there is none.
 * For programs that pass the agent's JSON on unchanged (what `hearsay --json` prints).
 * Valid until the next call on c or hs_client_close; hs_client_events and the raw requests
 * (which hand the body to the caller) leave it empty. */
HS_CLIENT_API const char *hs_client_last_body(const hs_client *c, size_t *len);

/* Frees any result this library returned (member list, self, health, raft, tag list,
 * config entry, key ring, key change). NULL is fine. */
HS_CLIENT_API void hs_client_free(void *result);

/* Copies s into out (capacity cap, always NUL-terminated when cap > 0) with control
 * characters (C0, DEL and UTF-8-encoded C1) replaced by '?', so agent data printed on a
 * terminal cannot drive it. The copy is never longer than s. */
HS_CLIENT_API void hs_client_safe_copy(char *out, size_t cap, const char *s);

/* ---- shared result types --------------------------------------------------------------- */

typedef enum hs_client_status {
    HS_CLIENT_STATUS_UNKNOWN = 0, /* a status this library version does not know */
    HS_CLIENT_ALIVE,
    HS_CLIENT_SUSPECT,
    HS_CLIENT_FAILED,
    HS_CLIENT_LEFT,
} hs_client_status;

/* "alive", "suspect", "failed", "left" or "unknown". */
HS_CLIENT_API const char *hs_client_status_name(hs_client_status s);

typedef struct hs_client_tag {
    const char *key;
    const char *value;
} hs_client_tag;

typedef struct hs_client_member {
    const char *name;
    const char *addr; /* "HOST:PORT" */
    hs_client_status status;
    const char *status_name; /* as the agent sent it */
    uint64_t incarnation;
    const hs_client_tag *tags; /* sorted by key */
    size_t n_tags;
    uint64_t status_since_ms; /* ms since the status last changed, as this agent saw it */
    uint64_t config_version;  /* configuration version the member announced */
} hs_client_member;

/* The value of tag key of m, or NULL. */
HS_CLIENT_API const char *hs_client_member_tag(const hs_client_member *m, const char *key);

/* ---- members --------------------------------------------------------------------------- */

typedef struct hs_client_member_list {
    const hs_client_member *members; /* sorted by name */
    size_t count;
} hs_client_member_list;

/* GET /v1/members. status: NULL for all, else "alive", "suspect", "failed", "left" (or a
 * comma-separated list of them); tags: NULL or a NULL-terminated array of "KEY=VALUE" (or
 * "KEY": has the tag) that must all match. *out is freed with hs_client_free. */
HS_CLIENT_API int hs_client_members(hs_client *c, const char *status, const char *const *tags,
                                    hs_client_member_list **out);
HS_CLIENT_API const hs_client_member *hs_client_member_find(const hs_client_member_list *l,
                                                            const char *name);

/* Counts as `hearsay check` makes them: total leaves out members that left. */
typedef struct hs_client_counts {
    size_t total, alive, suspect, failed, left;
} hs_client_counts;
HS_CLIENT_API void hs_client_member_list_count(const hs_client_member_list *l,
                                               hs_client_counts *out);
/* GET /v1/members and count it. */
HS_CLIENT_API int hs_client_count_members(hs_client *c, hs_client_counts *out);

/* ---- this agent ------------------------------------------------------------------------ */

typedef struct hs_client_stat {
    const char *name; /* "msgs_in", "probes_failed", ... (see docs/api.md) */
    int64_t value;
} hs_client_stat;

typedef struct hs_client_self_info {
    hs_client_member member; /* this agent's own entry */
    uint64_t uptime_ms;
    const hs_client_stat *stats; /* the "stats" object in the agent's order */
    size_t n_stats;
} hs_client_self_info;

/* GET /v1/self. */
HS_CLIENT_API int hs_client_self(hs_client *c, hs_client_self_info **out);
/* The named statistic of s, or dflt. */
HS_CLIENT_API int64_t hs_client_self_stat(const hs_client_self_info *s, const char *name,
                                          int64_t dflt);

typedef struct hs_client_raft_info {
    const char *state;  /* "leader", "follower", "candidate", "none" (not a seed), ... */
    const char *leader; /* NULL when no leader is known */
    uint64_t term, commit, applied, config_version;
    const char *const *seeds; /* seed names */
    size_t n_seeds;
    uint64_t first_index, last_index; /* the log held after the snapshot; 0 on a non-seed */
} hs_client_raft_info;

/* GET /v1/raft. */
HS_CLIENT_API int hs_client_raft(hs_client *c, hs_client_raft_info **out);

/* GET /v1/metrics: the agent's metrics in the Prometheus text format. *text (NUL-terminated,
 * *len bytes; len may be NULL) is hs_client_last_body: valid until the next call on c. */
HS_CLIENT_API int hs_client_metrics(hs_client *c, const char **text, size_t *len);

typedef struct hs_client_health_info {
    const char *status; /* "ok", "leaving", ... */
    int ok;             /* status is "ok" and the answer was 2xx */
    int insecure;       /* the agent runs without gossip encryption */
    uint64_t members, alive, suspect, failed, left;
    hs_client_raft_info raft;
} hs_client_health_info;

/* GET /v1/health. An unhealthy agent's answer is still returned (ok = 0), HS_CLIENT_OK. */
HS_CLIENT_API int hs_client_health(hs_client *c, hs_client_health_info **out);

/* ---- changing this agent (need uid 0, the agent's uid or its --admin-group) ----------- */

typedef struct hs_client_tag_list {
    const hs_client_tag *tags; /* sorted by key */
    size_t count;
} hs_client_tag_list;

/* PUT /v1/tags: deletes the n_del keys in del, then sets the n_set tags in set; *result
 * (NULL if not wanted) gets this agent's tags afterwards. */
HS_CLIENT_API int hs_client_tags_update(hs_client *c, const hs_client_tag *set, size_t n_set,
                                        const char *const *del, size_t n_del,
                                        hs_client_tag_list **result);
HS_CLIENT_API int hs_client_tags_set(hs_client *c, const char *key, const char *value);
HS_CLIENT_API int hs_client_tags_delete(hs_client *c, const char *key);

/* POST /v1/join: asks the agent to meet the members at these gossip addresses
 * ("HOST:PORT"); *contacted (may be NULL) gets how many were contacted. */
HS_CLIENT_API int hs_client_join(hs_client *c, const char *const *addrs, size_t n_addrs,
                                 size_t *contacted);
/* POST /v1/leave: graceful leave; the agent exits once the leave is gossiped. */
HS_CLIENT_API int hs_client_leave(hs_client *c);

/* ---- the replicated cluster configuration --------------------------------------------- */

typedef struct hs_client_config_entry {
    const char *key;
    const char *value;
    uint64_t version; /* configuration version */
} hs_client_config_entry;

#define HS_CLIENT_CONSISTENT 1 /* hs_client_config_get: linearizable read via the leader */

/* GET /v1/config/KEY[?consistent=1]; HS_CLIENT_ENOTFOUND for an unknown key. */
HS_CLIENT_API int hs_client_config_get(hs_client *c, const char *key, int flags,
                                       hs_client_config_entry **out);
/* PUT /v1/config/KEY: returns once committed by the Raft group and applied here (commit
 * timeout); *version (may be NULL) gets the new configuration version. HS_CLIENT_EUNAVAIL:
 * no leader or not committed in time (the write may still commit; retrying is harmless). */
HS_CLIENT_API int hs_client_config_set(hs_client *c, const char *key, const char *value,
                                       uint64_t *version);

/* POST /v1/raft/add-seed: adds seed name at addr ("IPv4:PORT" or "[IPv6]:PORT"; anything
 * else is HS_CLIENT_EINVAL and nothing is sent) to the Raft group through the leader, and
 * returns once committed (commit timeout); *version (may be NULL) gets the configuration
 * version. HS_CLIENT_EBUSY while another seed change is pending. */
HS_CLIENT_API int hs_client_raft_add_seed(hs_client *c, const char *name, const char *addr,
                                          uint64_t *version);
/* POST /v1/raft/remove-seed: the same for removing seed name; HS_CLIENT_ENOTFOUND when it
 * is not a seed. */
HS_CLIENT_API int hs_client_raft_remove_seed(hs_client *c, const char *name, uint64_t *version);

/* ---- the operator's controls (docs/operations.md) ------------------------------------ */

/* A field of member m's JSON object in list l that hs_client_member has no place for, as a
 * string (true reads "true"), or NULL: "conflict" (another address answering for its name,
 * "HOST:PORT"), "removed" (removed by force-leave). */
HS_CLIENT_API const char *hs_client_member_note(const hs_client_member_list *l,
                                                const hs_client_member *m, const char *field);

typedef struct hs_client_removal {
    const char *name;
    int removed;      /* 1: force-leave, 0: readmit */
    int prune;        /* force-leave --prune: forgotten, not only shown left */
    int already;      /* it was removed so already: nothing changed */
    int known;        /* the agent that answered knows (or knew) the member */
    uint64_t version; /* configuration version */
} hs_client_removal;

#define HS_CLIENT_PRUNE 1 /* hs_client_force_leave: forget the member too */

/* POST /v1/force-leave: removes member name from the cluster through the Raft group and
 * returns once committed (commit timeout): every agent shows it left (HS_CLIENT_PRUNE:
 * forgets it) and refuses its traffic until it is readmitted. A seed is refused
 * (HS_CLIENT_EHTTP: remove it from the Raft group first). *out may be NULL. */
HS_CLIENT_API int hs_client_force_leave(hs_client *c, const char *name, int flags,
                                        hs_client_removal **out);
/* POST /v1/readmit: undoes a removal (HS_CLIENT_ENOTFOUND: name is not removed). */
HS_CLIENT_API int hs_client_readmit(hs_client *c, const char *name, hs_client_removal **out);

typedef struct hs_client_fd_setting {
    const char *key;      /* "probe_interval_ms", ... */
    uint64_t value;       /* in effect on the agent that answered */
    const char *override; /* the configuration's fd value for it, NULL: the profile's */
} hs_client_fd_setting;

typedef struct hs_client_fd_info {
    uint64_t version;            /* configuration version */
    const char *profile;         /* the profile in effect: "lan", "wan" or "local" */
    const char *agent_profile;   /* the agent's own --profile */
    const char *cluster_profile; /* the configuration's fd profile, NULL when it names none */
    const hs_client_fd_setting *settings;
    size_t n_settings;
} hs_client_fd_info;

/* GET /v1/fd: the failure-detection settings in effect and where they come from. */
HS_CLIENT_API int hs_client_fd(hs_client *c, hs_client_fd_info **out);
/* PUT /v1/fd/KEY (value NULL: DELETE, back to the profile's): through the Raft group,
 * returns once committed; key "profile" takes "lan", "wan" or "local". *out (may be NULL)
 * gets the settings afterwards on this agent. A value out of bounds is HS_CLIENT_EHTTP. */
HS_CLIENT_API int hs_client_fd_set(hs_client *c, const char *key, const char *value,
                                   hs_client_fd_info **out);

typedef struct hs_client_vote {
    const char *name;
    int64_t time_ms; /* UNIX ms */
} hs_client_vote;

typedef struct hs_client_history_entry {
    int64_t time_ms;   /* UNIX ms */
    uint64_t ago_ms;   /* how long before the answer */
    const char *event; /* "suspect", "failed", "refuted", "alive", "join", "left", "removed",
                          "readmitted", "conflict", "update" */
    const char *status_name;
    hs_client_status status; /* after it */
    uint64_t incarnation;
    const char *by;   /* who raised or decided it ("": the answering agent or nobody named) */
    int learnt;       /* heard from another member, not decided by the answering agent */
    const char *addr; /* the member's address then (conflict: the other one) */
    const hs_client_vote *votes; /* failed, alive, refuted: the votes that stood */
    size_t n_votes;
} hs_client_history_entry;

typedef struct hs_client_history {
    const char *name, *addr, *status_name;
    hs_client_status status;
    uint64_t incarnation;
    const hs_client_history_entry *entries; /* oldest first */
    size_t count;
} hs_client_history;

/* GET /v1/members/NAME/history: the member's status history as this agent saw it (at most
 * 16 records; HS_CLIENT_ENOTFOUND when it does not know the member). */
HS_CLIENT_API int hs_client_member_history(hs_client *c, const char *name, hs_client_history **out);

/* ---- the cluster key ring (docs/security.md, "Rotating keys") ------------------------ */

typedef struct hs_client_key {
    const char *id;     /* hex key id (first 4 bytes of BLAKE2b-256 of the key), never a key */
    uint64_t installed; /* survey: members holding it; else 0 */
    uint64_t primary;   /* survey: members sealing with it; else 0 */
} hs_client_key;

typedef struct hs_client_keys_info {
    uint64_t version;          /* configuration version */
    int insecure;              /* the agent runs without encryption */
    const hs_client_key *keys; /* the replicated ring, primary first */
    size_t n_keys;
    const char *primary;      /* NULL when there is no ring */
    const char *const *local; /* the ring this agent seals and opens with */
    size_t n_local;
    int surveyed;               /* asked with HS_CLIENT_KEYS_SURVEY and the agent surveyed */
    uint64_t members, answered; /* survey: members asked (this agent included), answers */
    const char *const *silent;  /* survey: members that did not answer */
    size_t n_silent;
} hs_client_keys_info;

#define HS_CLIENT_KEYS_SURVEY 1 /* hs_client_keys: also ask every member which ring it holds */

/* GET /v1/keys[?members=1]. */
HS_CLIENT_API int hs_client_keys(hs_client *c, int flags, hs_client_keys_info **out);

typedef enum hs_client_key_op {
    HS_CLIENT_KEY_INSTALL = 1, /* add a key to the ring (accepted when opening) */
    HS_CLIENT_KEY_USE,         /* make an installed key the primary (the one that seals) */
    HS_CLIENT_KEY_REMOVE,      /* remove a key that is not the primary */
    HS_CLIENT_KEY_ROTATE,      /* install, use, then remove every other key: one operation */
} hs_client_key_op;

typedef struct hs_client_key_change {
    const char *op;  /* "install", "use", "remove", "rotate" */
    const char *key; /* the key's id */
    uint64_t committed_version;
    uint64_t members, acknowledged; /* alive members, and how many hold the new ring */
    const char *const *pending;     /* members that did not acknowledge within wait_ms */
    size_t n_pending;
    /* rotate: */
    int done;           /* every step done: the ring is the new key alone */
    const char *step;   /* the last step reached: "install", "use", "remove" or "done" */
    const char *reason; /* why it stopped ("" when done) */
    uint64_t removed;   /* old keys removed */
} hs_client_key_change;

/* POST /v1/keys/install|use|remove?wait_ms=N with the key (base64, as `hearsay keygen`
 * prints it): commits the change through the Raft group, then waits up to wait_ms
 * (0..25000; -1: the agent's default of 10000) for every alive member to hold the new ring.
 * The deadline is the commit timeout plus wait_ms. HS_CLIENT_OK with n_pending > 0 when
 * some did not (the change stays committed; calling again waits again). HS_CLIENT_EBUSY:
 * refused (removing the primary, a duplicate, a full ring, an insecure agent);
 * HS_CLIENT_ENOTFOUND: `use` of a key not in the ring. The library's copy of the request
 * is wiped once sent. HS_CLIENT_KEY_ROTATE (POST /v1/keys/rotate) runs all three steps, each
 * acknowledged (wait_ms each) before the next: HS_CLIENT_OK with done set, or with done unset
 * and step/reason/pending saying where it stopped (the steps done stay done; rotating again with
 * the same key continues there). */
HS_CLIENT_API int hs_client_keys_change(hs_client *c, hs_client_key_op op, const char *key,
                                        int wait_ms, hs_client_key_change **out);

/* ---- events ---------------------------------------------------------------------------- */

typedef enum hs_client_event_type {
    HS_CLIENT_EVENT_MALFORMED = -1, /* a line that is not a JSON object, or over 1 MiB */
    HS_CLIENT_EVENT_OTHER = 0,      /* an event this library version does not know */
    HS_CLIENT_MEMBER_JOIN,
    HS_CLIENT_MEMBER_UPDATE,
    HS_CLIENT_MEMBER_SUSPECT,
    HS_CLIENT_MEMBER_ALIVE,
    HS_CLIENT_MEMBER_FAILED,
    HS_CLIENT_MEMBER_LEAVE,
    HS_CLIENT_MEMBER_REAP,
    HS_CLIENT_CONFIG_CHANGE,
    HS_CLIENT_EVENT_LAGGED, /* the stream's last line: this reader fell behind the buffer */
    HS_CLIENT_USER_EVENT,   /* a user event delivered here (name: the member that fired it) */
    HS_CLIENT_QUERY,        /* a query delivered here */
} hs_client_event_type;

typedef struct hs_client_event {
    hs_client_event_type type;
    const char *type_name;                 /* "member-join", ... ("" when malformed) */
    int64_t id;                            /* -1 when absent */
    const char *name, *addr, *status_name; /* "" when absent */
    hs_client_status status;
    uint64_t incarnation;
    const hs_client_tag *tags;
    size_t n_tags;
    int64_t time_ms;         /* UNIX ms */
    uint64_t config_version; /* config-change */
    const char *raw;         /* the line as received, no newline; NULL for an over-long one */
    size_t raw_len;
    uint64_t missed;      /* lagged: events lost */
    int64_t resume_since; /* lagged: call again with since = this id (-1 when absent) */
    /* user-event, query: its name, id, Lamport time and payload ("" when absent; NULL when
     * the payload is not UTF-8: then payload_base64 holds it) */
    const char *user_name, *user_id;
    uint64_t ltime;
    const char *payload, *payload_base64;
    size_t payload_len;
} hs_client_event;

/* Called for every event; the event and its strings are valid only during the call.
 * Return 0 to go on, nonzero to stop the stream. */
typedef int (*hs_client_event_cb)(const hs_client_event *ev, void *ctx);

/* GET /v1/events[?since=ID]: calls cb for every event until cb returns nonzero
 * (HS_CLIENT_ESTOPPED), the interrupt flag is set (HS_CLIENT_EINTR), or the agent ends the
 * stream (HS_CLIENT_OK, e.g. it stopped). since < 0: no ?since (the agent's default).
 * To resume after a break, call again with since = the last id seen: every buffered event
 * after it is delivered first. The timeout only bounds the start of the stream. */
HS_CLIENT_API int hs_client_events(hs_client *c, int64_t since, hs_client_event_cb cb, void *ctx);

/* ---- the operator's log stream and reachability test ----------------------------------- */

/* Called for every log line (no newline; valid during the call only). Return 0 to go on,
 * nonzero to stop the stream. */
typedef int (*hs_client_line_cb)(const char *line, size_t len, void *ctx);
/* GET /v1/monitor?level=LEVEL (NULL: the agent's default, info): the agent's log lines at or
 * above LEVEL ("error", "warn", "notice", "info", "debug"), whatever its own --log-level, until
 * cb returns nonzero (HS_CLIENT_ESTOPPED), the interrupt flag is set (HS_CLIENT_EINTR) or the
 * agent ends the stream (HS_CLIENT_OK: it stopped). A client that reads too slowly gets a
 * "N lines dropped" line in place of what did not fit. The timeout bounds the start only. */
HS_CLIENT_API int hs_client_monitor(hs_client *c, const char *level, hs_client_line_cb cb,
                                    void *ctx);

typedef struct hs_client_reach_member {
    const char *name, *addr;
    const char *result; /* "direct", "relayed" (only through relays) or "none" (no answer) */
    int64_t rtt_ms;     /* from the Ping to the first answer; -1 without an answer */
    uint64_t relays;    /* relays asked (0: it answered directly in time) */
} hs_client_reach_member;
typedef struct hs_client_reach_info {
    size_t count;
    const hs_client_reach_member *members; /* in the agent's ring order */
    uint64_t direct, relayed, no_answer, elapsed_ms, timeout_ms;
} hs_client_reach_info;
/* POST /v1/reachability (uid 0, the agent's uid or its --admin-group): the agent pings every
 * live member, through relays for the silent ones, and answers when every member answered or
 * the indirect timeout passed. One test at a time per agent, one a second (else HS_CLIENT_EHTTP,
 * status 429). *out is freed with hs_client_free. */
HS_CLIENT_API int hs_client_reachability(hs_client *c, hs_client_reach_info **out);

/* ---- user events and queries (need uid 0, the agent's uid or its --admin-group) -------- */

#define HS_CLIENT_PAYLOAD_MAX 8192 /* bytes of a user event's, query's or answer's payload */
#define HS_CLIENT_COALESCE    1    /* hs_client_user_event: members keep the newest of the name */

typedef struct hs_client_user_event_result {
    const char *id;             /* "ORIGIN:EPOCH:SEQ" */
    uint64_t ltime;             /* its Lamport time */
    uint64_t members;           /* live members when it was fired, this agent included */
    int waited;                 /* asked with a wait: the fields below are set */
    uint64_t delivered;         /* members that delivered it to their handlers */
    uint64_t ms;                /* how long the wait took */
    int complete;               /* every live member delivered it */
    const char *const *pending; /* live members that did not within the wait */
    size_t n_pending;
} hs_client_user_event_result;

/* POST /v1/event/NAME: fires user event name (1-128 of A-Z a-z 0-9 . _ - :) with payload (len
 * bytes, at most HS_CLIENT_PAYLOAD_MAX; NULL and 0 for none) on every member. flags:
 * HS_CLIENT_COALESCE. wait_ms 0 returns once the agent accepted it; 1..300000 waits until every
 * live member delivered it or wait_ms passed (HS_CLIENT_OK either way: see complete). Each
 * member runs its handlers for it at most once, also across its restarts. HS_CLIENT_EPAYLOAD:
 * the payload is too large; HS_CLIENT_EHTTP: a bad name. */
HS_CLIENT_API int hs_client_user_event(hs_client *c, const char *name, const void *payload,
                                       size_t len, int flags, int wait_ms,
                                       hs_client_user_event_result **out);

typedef struct hs_client_query_params {
    const char *const *nodes; /* ask only these members (none: all) */
    size_t n_nodes;
    const char *const *tags; /* "KEY=REGEX" (POSIX extended, unanchored): every one must match */
    size_t n_tags;
    int timeout_ms; /* 1..300000; 0: the agent's default (10000) */
} hs_client_query_params;

typedef struct hs_client_query_reply {
    int response;        /* 1: an answer; 0: an acknowledgement (the query reached it) */
    const char *from;    /* the member */
    const char *payload; /* an answer: payload_len bytes (NUL-terminated; may hold NULs) */
    size_t payload_len;
    uint64_t elapsed_ms; /* since the query started */
} hs_client_query_reply;
/* Called for each acknowledgement and answer as it arrives; valid during the call only.
 * Return 0 to go on, nonzero to stop (HS_CLIENT_ESTOPPED). */
typedef int (*hs_client_query_cb)(const hs_client_query_reply *r, void *ctx);

typedef struct hs_client_query_result {
    const char *id;
    uint64_t ltime;
    uint64_t targeted;   /* live members that matched the filters when it started */
    uint64_t acks;       /* members the query reached */
    uint64_t responses;  /* answers */
    uint64_t answered;   /* targeted members that answered or declined (no handler) */
    uint64_t elapsed_ms; /* until it ended */
    int complete;        /* every targeted member still live answered or declined */
    const char *const *pending;
    size_t n_pending;
} hs_client_query_result;

/* POST /v1/query/NAME: asks the members that match p (NULL: all) and calls cb (may be NULL) for
 * each acknowledgement and answer until the agent ends the query: as soon as every targeted
 * live member answered or declined, or at the timeout. *out (may be NULL) gets the summary.
 * The call's deadline is the query's timeout plus the handle's timeout. */
HS_CLIENT_API int hs_client_query(hs_client *c, const char *name, const void *payload, size_t len,
                                  const hs_client_query_params *p, hs_client_query_cb cb, void *ctx,
                                  hs_client_query_result **out);

/* ---- raw requests ---------------------------------------------------------------------- */

typedef struct hs_client_response {
    int status; /* HTTP status */
    char *body; /* NUL-terminated (malloc'd; hs_client_response_free) */
    size_t body_len;
} hs_client_response;

/* Any request to the API. path is the percent-encoded target ("/v1/members?status=alive");
 * body (NUL-terminated, or NULL) is sent as application/json. Returns HS_CLIENT_OK when a
 * complete answer was read, whatever its HTTP status. */
HS_CLIENT_API int hs_client_request(hs_client *c, const char *method, const char *path,
                                    const char *body, hs_client_response *resp);
/* The same with an explicit content type (NULL when there is no body) and body length. */
HS_CLIENT_API int hs_client_request_ex(hs_client *c, const char *method, const char *path,
                                       const char *content_type, const void *body, size_t body_len,
                                       hs_client_response *resp);
HS_CLIENT_API void hs_client_response_free(hs_client_response *resp);
/* The agent's message for an error answer: its {"error":...} text, else
 * "agent answered HTTP N: first line of the body" (control characters replaced). */
HS_CLIENT_API void hs_client_response_message(const hs_client_response *resp, char *out,
                                              size_t cap);

/* Appends s percent-encoded (RFC 3986 unreserved characters kept) to the NUL-terminated
 * string in buf of capacity cap; -1 (buf unchanged) if it does not fit. */
HS_CLIENT_API int hs_client_url_encode(char *buf, size_t cap, const char *s);

#ifdef __cplusplus
}
#endif

#endif
