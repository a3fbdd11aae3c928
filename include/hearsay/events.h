/* events.h: the one table of the event kinds an agent publishes (API stream, handlers,
 * metrics, log) and the event value every publisher fills. Adding a kind is one line here plus
 * its subscribers' formatting; docs/api.md lists the names scripts depend on. */
#ifndef HEARSAY_EVENTS_H
#define HEARSAY_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "hearsay/addr.h"
#include "hearsay/membership.h"
#include "hearsay/user_events.h"

/* Which fields an event of a kind carries (beyond id, event and time_ms). */
enum {
    HS_EVF_MEMBER = 1 << 0,  /* name, addr, status, prev_status, incarnation, tags */
    HS_EVF_CONFIG = 1 << 1,  /* config_version (name/addr: who it came from) */
    HS_EVF_HANDLER = 1 << 2, /* handlers may be configured for it */
    HS_EVF_USER = 1 << 3,    /* user_name, user_id, ltime, payload (name/addr: the origin) */
};

/* X(ENUM, "name", fields) */
#define HS_EVENT_KINDS(X)                                                                          \
    X(HS_EVK_MEMBER_JOIN, "member-join", HS_EVF_MEMBER | HS_EVF_HANDLER)                           \
    X(HS_EVK_MEMBER_UPDATE, "member-update", HS_EVF_MEMBER | HS_EVF_HANDLER)                       \
    X(HS_EVK_MEMBER_SUSPECT, "member-suspect", HS_EVF_MEMBER)                                      \
    X(HS_EVK_MEMBER_ALIVE, "member-alive", HS_EVF_MEMBER)                                          \
    X(HS_EVK_MEMBER_FAILED, "member-failed", HS_EVF_MEMBER | HS_EVF_HANDLER)                       \
    X(HS_EVK_MEMBER_LEAVE, "member-leave", HS_EVF_MEMBER | HS_EVF_HANDLER)                         \
    X(HS_EVK_MEMBER_REAP, "member-reap", HS_EVF_MEMBER)                                            \
    X(HS_EVK_MEMBER_CONFLICT, "member-conflict", HS_EVF_MEMBER)                                    \
    X(HS_EVK_CONFIG_CHANGE, "config-change", HS_EVF_CONFIG | HS_EVF_HANDLER)                       \
    X(HS_EVK_USER_EVENT, "user-event", HS_EVF_USER | HS_EVF_HANDLER)                               \
    X(HS_EVK_QUERY, "query", HS_EVF_USER | HS_EVF_HANDLER)

typedef enum hs_event_kind {
#define HS_EVK_ENUM(e, name, fields) e,
    HS_EVENT_KINDS(HS_EVK_ENUM)
#undef HS_EVK_ENUM
        HS_EVK_COUNT
} hs_event_kind;

/* The kind's name ("member-join", ...) and fields; NULL / 0 outside the table. */
const char *hs_event_kind_name(hs_event_kind k);
unsigned hs_event_kind_fields(hs_event_kind k);
/* The kind named name; -1 if none. */
int hs_event_kind_parse(const char *name);
/* The kind a membership core event becomes, or -1 when it is none (internal events). */
int hs_event_kind_of_member(hs_event_type t);

/* One published event. tags points into tags_data (or is empty). */
typedef struct hs_agent_event {
    hs_event_kind kind;
    char name[HS_NAME_MAX + 1];
    hs_addr addr;
    hs_status status, prev_status;
    uint32_t incarnation;
    hs_tags tags;
    uint64_t config_version;
    char tags_data[HS_TAGS_MAX];
    /* HS_EVF_USER: the event's or query's name, id and Lamport time; its payload is valid
     * until the next call into the agent; a query's ref answers it (hs_agent_query_respond)
     * within remaining_ms */
    char user_name[HS_UE_NAME_MAX + 1];
    char user_id[HS_UE_ID_MAX];
    uint64_t ltime;
    bool coalesce;
    const uint8_t *payload;
    size_t payload_len;
    uint64_t query_ref;
    uint32_t query_remaining_ms;
} hs_agent_event;

#endif
