/* json_util.h: JSON forms of members, tags, Raft status and events shared by the API, the
 * event stream and the handlers. */
#ifndef HSD_JSON_UTIL_H
#define HSD_JSON_UTIL_H

#include <jansson.h>

#include "engine.h"

/* A JSON string of arbitrary bytes (invalid UTF-8 bytes become '?'). Never NULL. */
json_t *hsd_json_str(const char *s);
json_t *hsd_json_tags(hs_tags tags);
/* MEMBER of docs/api.md. */
json_t *hsd_json_member(const hs_member_info *mi, uint64_t now_ms);
/* RAFT of docs/api.md (no Raft yet: state "none"). */
json_t *hsd_json_raft(const hsd_engine *e);
/* EVENT of docs/api.md. */
json_t *hsd_json_event(const hs_agent_event *ev, uint64_t id, uint64_t unix_ms);
/* Sets "payload" (a string when the bytes are UTF-8) or else "payload_base64" on o. */
void hsd_json_set_payload(json_t *o, const uint8_t *p, size_t len);

#endif
