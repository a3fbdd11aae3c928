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
/* calloc(n, size) registered with result r (freed by hs_client_free); NULL when out of
 * memory or when r already has HSC_MAX_ALLOCS arrays. */
void *hsc_result_alloc(void *r, size_t n, size_t size);

/* Copies s into out with control characters (C0, DEL, UTF-8 C1) replaced by '?'. */
void hsc_safe_copy(char *out, size_t cap, const char *s);
/* Tolerant JSON field readers: dflt when the field is missing or of another type. */
const char *hsc_jstr(json_t *obj, const char *key, const char *dflt);
int64_t hsc_jint(json_t *obj, const char *key, int64_t dflt);
hs_client_status hsc_status_parse(const char *s);

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
/* Fills ev from one event line (tags in *tags, to be freed by the caller); the line must stay
 * valid while ev is used. A line that is not a JSON object gives type MALFORMED. *doc gets
 * the parsed object (json_decref it after use). */
int hsc_parse_event(const char *line, size_t len, hs_client_event *ev, hs_client_tag **tags,
                    json_t **doc);

/* The event stream's line splitter (events.c), exposed for the unit tests. */
typedef struct hsc_lines {
    hs_client_event_cb cb;
    void *ctx;
    char *line;
    size_t len, cap;
    bool skipping; /* dropping the rest of an over-long line */
    bool no_mem;
} hsc_lines;
int hsc_lines_feed(void *lines, const char *p, size_t n); /* an hs_http_sink */

#endif
