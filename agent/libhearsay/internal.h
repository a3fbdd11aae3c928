/* internal.h (private to libhearsay): the handle, result allocation behind hs_client_free,
 * and the JSON-to-struct parsers, declared here so the unit tests can feed them canned
 * answers. Nothing here is exported from libhearsay.so. */
#ifndef HS_LIBHEARSAY_INTERNAL_H
#define HS_LIBHEARSAY_INTERNAL_H

#include <hearsay/client.h>
#include <jansson.h>
#include <stdbool.h>

#include "http.h"

#define HSC_ERR_MAX    512
#define HSC_EVENT_LINE (1024 * 1024) /* longest event line delivered */
#define HSC_TARGET_MAX 4000          /* longest request target built by a typed call */
#define HSC_MAX_ALLOCS 4

struct hs_client {
    char *socket_path;
    int timeout_ms, commit_timeout_ms;
    volatile sig_atomic_t *interrupt;
    int last_status;
    char last_error[HSC_ERR_MAX];
    char *last_body; /* hs_client_last_body; NULL when there is none */
    size_t last_body_len;
};

/* Every result starts with this hidden header: the parsed JSON document its strings point
 * into and the arrays allocated for it. */
typedef struct hsc_result {
    uint32_t magic;
    json_t *doc;
    void *allocs[HSC_MAX_ALLOCS];
} hsc_result;

/* A zeroed result of payload size bytes (header hidden in front); NULL when out of memory. */
void *hsc_result_new(size_t size, json_t *doc);
/* The start of every answer parser: body parsed as a JSON object (*doc) and a zeroed result
 * of size bytes that owns it; NULL with *rc set (HS_CLIENT_EBADANSWER or HS_CLIENT_ENOMEM,
 * err set) when either fails. */
void *hsc_result_parse(const char *body, size_t len, size_t size, json_t **doc, int *rc, char *err,
                       size_t errlen);
/* The JSON document result r was parsed from (NULL if r is none of ours). */
json_t *hsc_result_doc(const void *r);
/* calloc(n, size) registered with result r (freed by hs_client_free); NULL when out of
 * memory or when r already has HSC_MAX_ALLOCS arrays. */
void *hsc_result_alloc(void *r, size_t n, size_t size);

/* Tolerant JSON field readers: dflt when the field is missing or of another type; ju64
 * reads a count (0 when missing or negative). */
const char *hsc_jstr(json_t *obj, const char *key, const char *dflt);
int64_t hsc_jint(json_t *obj, const char *key, int64_t dflt);
uint64_t hsc_ju64(json_t *obj, const char *key);
hs_client_status hsc_status_parse(const char *s);
/* The string elements of arr (others skipped) as an array registered with result res;
 * NULL when out of memory. */
const char **hsc_strings(void *res, json_t *arr, size_t *n);
/* Parses body as a JSON object into *doc: HS_CLIENT_OK or HS_CLIENT_EBADANSWER (err set). */
int hsc_load_object(const char *body, size_t len, json_t **doc, char *err, size_t errlen);
/* HS_CLIENT_EBADANSWER / HS_CLIENT_EINVAL / HS_CLIENT_ENOMEM with the message set. */
int hsc_bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int hsc_invalid(hs_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hsc_nomem(char *err, size_t errlen);
/* "IPv4:PORT" or "[IPv6]:PORT" with a port of 1..65535. */
bool hsc_addr_valid(const char *s);

/* One request whose answer must be 2xx within timeout_ms: an error answer's status becomes a
 * code and its message the last error. On HS_CLIENT_OK resp holds the answer; hand it to
 * hsc_keep_body once parsed. */
int hsc_call(hs_client *c, const char *method, const char *path, const char *ctype,
             const char *body, size_t body_len, int timeout_ms, hs_client_response *resp);
/* The error buffer of c, for the parsers' err and errlen. */
#define ERRBUF(c) (c)->last_error, sizeof(c)->last_error
/* Clears the last status, error and body before a call. */
void hsc_reset(hs_client *c);
/* Makes resp's body the handle's last body (hs_client_last_body) and returns rc. */
int hsc_keep_body(hs_client *c, hs_client_response *resp, int rc);

/* Parsers of answer bodies (HS_CLIENT_OK, HS_CLIENT_EBADANSWER with err set, or
 * HS_CLIENT_ENOMEM). */
int hsc_parse_members(const char *body, size_t len, hs_client_member_list **out, char *err,
                      size_t errlen);
int hsc_parse_self(const char *body, size_t len, hs_client_self_info **out, char *err,
                   size_t errlen);
int hsc_parse_health(const char *body, size_t len, hs_client_health_info **out, char *err,
                     size_t errlen);
int hsc_parse_raft(const char *body, size_t len, hs_client_raft_info **out, char *err,
                   size_t errlen);
int hsc_parse_tags(const char *body, size_t len, hs_client_tag_list **out, char *err,
                   size_t errlen);
int hsc_parse_config(const char *body, size_t len, hs_client_config_entry **out, char *err,
                     size_t errlen);
int hsc_parse_removal(const char *body, size_t len, hs_client_removal **out, char *err,
                      size_t errlen);
int hsc_parse_fd(const char *body, size_t len, hs_client_fd_info **out, char *err, size_t errlen);
int hsc_parse_history(const char *body, size_t len, hs_client_history **out, char *err,
                      size_t errlen);
int hsc_parse_keys(const char *body, size_t len, hs_client_keys_info **out, char *err,
                   size_t errlen);
int hsc_parse_key_change(const char *body, size_t len, hs_client_key_change **out, char *err,
                         size_t errlen);
int hsc_parse_reachability(const char *body, size_t len, hs_client_reach_info **out, char *err,
                           size_t errlen);
int hsc_parse_user_event(const char *body, size_t len, hs_client_user_event_result **out, char *err,
                         size_t errlen);
/* Fills ev from one event line (tags in *tags, to be freed by the caller); the line must stay
 * valid while ev is used. A line that is not a JSON object gives type MALFORMED. *doc gets
 * the parsed object (json_decref it after use). */
int hsc_parse_event(const char *line, size_t len, hs_client_event *ev, hs_client_tag **tags,
                    json_t **doc);

/* The event stream's line splitter (events.c), exposed for the unit tests; the monitor stream
 * uses it too. */
typedef struct hsc_lines {
    hs_client_event_cb cb;
    hs_client_line_cb raw; /* set: each line as it is, not parsed (the monitor stream) */
    void *ctx;
    char *line;
    size_t len, cap;
    bool skipping; /* dropping the rest of an over-long line */
    bool no_mem;
} hsc_lines;
int hsc_lines_feed(void *lines, const char *p, size_t n); /* an hs_http_sink */
/* GET target as a stream of lines into lines (its buffer freed): the stream's result code. */
int hsc_stream(hs_client *c, const char *target, hsc_lines *lines);

#endif
