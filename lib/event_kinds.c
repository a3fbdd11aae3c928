/* event_kinds.c: names and fields of the event kinds of include/hearsay/events.h, and which
 * kind each membership core event becomes. */
#include <string.h>

#include "hearsay/events.h"

static const struct {
    const char *name;
    unsigned fields;
} kinds[HS_EVK_COUNT] = {
#define HS_EVK_ROW(e, n, f) [e] = {n, f},
    HS_EVENT_KINDS(HS_EVK_ROW)
#undef HS_EVK_ROW
};

const char *hs_event_kind_name(hs_event_kind k)
{
    return (unsigned)k < HS_EVK_COUNT ? kinds[k].name : NULL;
}

unsigned hs_event_kind_fields(hs_event_kind k)
{
    return (unsigned)k < HS_EVK_COUNT ? kinds[k].fields : 0;
}

int hs_event_kind_parse(const char *name)
{
    for (int k = 0; k < HS_EVK_COUNT; k++)
        if (!strcmp(kinds[k].name, name)) return k;
    return -1;
}

int hs_event_kind_of_member(hs_event_type t)
{
    switch (t) {
    case HS_EV_JOIN:
        return HS_EVK_MEMBER_JOIN;
    case HS_EV_UPDATE:
        return HS_EVK_MEMBER_UPDATE;
    case HS_EV_SUSPECT:
        return HS_EVK_MEMBER_SUSPECT;
    case HS_EV_ALIVE:
        return HS_EVK_MEMBER_ALIVE;
    case HS_EV_FAILED:
        return HS_EVK_MEMBER_FAILED;
    case HS_EV_LEFT:
        return HS_EVK_MEMBER_LEAVE;
    case HS_EV_REAP:
        return HS_EVK_MEMBER_REAP;
    case HS_EV_CONFLICT: /* addr: the other address answering for the name */
        return HS_EVK_MEMBER_CONFLICT;
    default:
        return -1; /* config-seen and incarnation are the agent's business, not events */
    }
}
