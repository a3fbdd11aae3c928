/* http_slots.c: fair shares of the API's limited slots: open connections (the limit is
 * --max-api-connections), GET /v1/events streams (64) and key surveys of GET /v1/keys (16).
 *
 * Of every limit L a quarter (rounded up) is kept for privileged peers (uid 0, the agent's uid,
 * --admin-group: those who may change state, and so could stop the agent anyway): they may take
 * every slot, readers together at most L - ceil(L/4), and one reader uid at most half of the
 * readers' share (at least 1). So no number of connections, streams or surveys of unprivileged
 * users keeps an administrator out, and one reader uid does not keep the other readers out.
 * Refusals are counted by kind and reason for /v1/metrics. One daemon per process: static. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

#define STREAMS_MAX 64
#define SURVEYS_MAX 16

typedef struct uidcount {
    uid_t uid;
    unsigned n[HSD_SLOTS];
} uidcount;

static struct {
    unsigned limit[HSD_SLOTS];
    unsigned used[HSD_SLOTS][2]; /* [kind][privileged] */
    uint64_t refused[HSD_SLOTS][HSD_SLOT_WHYS];
    uidcount *uids; /* readers holding any slot */
    size_t nuids, auids;
} S;

void hsd_slots_init(unsigned max_conns)
{
    hsd_slots_free();
    S.limit[HSD_SLOT_CONN] = max_conns ? max_conns : HSD_DEFAULT_API_CONNS;
    S.limit[HSD_SLOT_STREAM] = STREAMS_MAX;
    S.limit[HSD_SLOT_SURVEY] = SURVEYS_MAX;
}

void hsd_slots_free(void)
{
    free(S.uids);
    memset(&S, 0, sizeof(S));
}

static unsigned readers_share(int kind)
{
    unsigned l = S.limit[kind];
    return l - (l + 3) / 4;
}

static unsigned uid_share(int kind)
{
    unsigned r = readers_share(kind);
    return r == 0 ? 0 : r / 2 ? r / 2 : 1;
}

static uidcount *find_uid(uid_t uid)
{
    for (size_t i = 0; i < S.nuids; i++)
        if (S.uids[i].uid == uid) return &S.uids[i];
    return NULL;
}

static uidcount *add_uid(uid_t uid)
{
    if (S.nuids == S.auids) {
        size_t na = S.auids ? S.auids * 2 : 8;
        uidcount *u = realloc(S.uids, na * sizeof(*u));
        if (!u) return NULL;
        S.uids = u;
        S.auids = na;
    }
    uidcount *u = &S.uids[S.nuids++];
    memset(u, 0, sizeof(*u));
    u->uid = uid;
    return u;
}

int hsd_slot_take(int kind, const hsd_peer *p)
{
    int why = HSD_SLOT_OK;
    uidcount *u = NULL;
    if (S.used[kind][0] + S.used[kind][1] >= S.limit[kind]) {
        why = HSD_SLOT_FULL;
    } else if (!p->privileged) {
        u = find_uid(p->uid);
        if (u && u->n[kind] >= uid_share(kind))
            why = HSD_SLOT_UID;
        else if (S.used[kind][0] >= readers_share(kind))
            why = HSD_SLOT_READERS;
        else if (!u && !(u = add_uid(p->uid)))
            why = HSD_SLOT_FULL; /* out of memory */
    }
    if (why != HSD_SLOT_OK) {
        S.refused[kind][why]++;
        return why;
    }
    if (u) u->n[kind]++;
    S.used[kind][p->privileged]++;
    return HSD_SLOT_OK;
}

void hsd_slot_put(int kind, const hsd_peer *p)
{
    if (S.used[kind][p->privileged]) S.used[kind][p->privileged]--;
    if (p->privileged) return;
    uidcount *u = find_uid(p->uid);
    if (!u) return;
    if (u->n[kind]) u->n[kind]--;
    for (int k = 0; k < HSD_SLOTS; k++)
        if (u->n[k]) return;
    *u = S.uids[--S.nuids]; /* holds nothing any more */
}

static const char *what(int kind)
{
    return kind == HSD_SLOT_CONN     ? "API connections"
           : kind == HSD_SLOT_STREAM ? "event streams"
                                     : "key surveys";
}

void hsd_slot_refusal(int kind, int why, const hsd_peer *p, char *buf, size_t len)
{
    unsigned keep = S.limit[kind] - readers_share(kind);
    if (why == HSD_SLOT_UID)
        snprintf(buf, len, "uid %lu holds %u %s, the most one unprivileged uid may hold",
                 (unsigned long)p->uid, uid_share(kind), what(kind));
    else if (why == HSD_SLOT_READERS)
        snprintf(buf, len,
                 "the %u %s unprivileged users may hold are taken (%u more are kept for uid 0, "
                 "the agent's uid and --admin-group)",
                 readers_share(kind), what(kind), keep);
    else
        snprintf(buf, len, "the agent serves at most %u %s at once%s", S.limit[kind], what(kind),
                 kind == HSD_SLOT_CONN ? " (--max-api-connections)" : "");
}

unsigned hsd_slots_used(int kind, bool privileged)
{
    return S.used[kind][privileged];
}

uint64_t hsd_slots_refused(int kind, int why)
{
    return S.refused[kind][why];
}

const char *hsd_slot_name(int kind)
{
    return kind == HSD_SLOT_CONN ? "connection" : kind == HSD_SLOT_STREAM ? "stream" : "survey";
}

const char *hsd_slot_why_name(int why)
{
    return why == HSD_SLOT_FULL ? "full" : why == HSD_SLOT_READERS ? "readers" : "uid";
}
