/* fuzz_user_events.c: libFuzzer harness for the user-event core's input path (hs_ue_receive and
 * what a received message reaches: records and their filters, acknowledgements, answers and
 * relays, answer acknowledgements, digests and the repair, coalescing, the operations' ends).
 *
 * Each input runs twice:
 *   1. a fresh core (it knows five members) gets the whole input as one datagram, then as one
 *      stream message, and is ticked through 3 s;
 *   2. a core that fired an event with a wait and started a query gets the input split into
 *      records: len:u16 flags:u8 bytes[len]; flags bit 0 = stream, bits 1-2 = sender (one of
 *      four members), bits 3-5 = time advance in 100 ms steps, bit 6 = answer the last query
 *      delivered, bit 7 = fire an event (coalescing when bit 0 is set).
 * Between messages the core is ticked and its outputs drained. Checked invariants: no delivery
 * of an id twice, every delivery's name and payload within bounds, a datagram never over the
 * packet budget, every packet of a known type, the horizon never going back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/user_events.h"
#include "hearsay/wire.h"

#define SELF  "fuzz-self"
#define PEERS 5
#define SEEN  256

static const char *const names[PEERS + 1] = {SELF, "m1", "m2", "m3", "m4", "m5"};
static const char tags[] = "role=web";

static hs_addr addr_of(int i)
{
    return hs_addr_v4(10, 0, 0, (uint8_t)(1 + i), 7946);
}

static void fill(int i, hs_ue_member *out)
{
    *out = (hs_ue_member){names[i], addr_of(i), {tags, sizeof(tags)}, i != 5, i == 0};
}

static size_t v_count(const void *ctx)
{
    (void)ctx;
    return PEERS + 1;
}

static bool v_at(const void *ctx, size_t i, hs_ue_member *out)
{
    (void)ctx;
    if (i > PEERS) return false;
    fill((int)i, out);
    return true;
}

static bool v_find(const void *ctx, const char *name, hs_ue_member *out)
{
    (void)ctx;
    for (int i = 0; i <= PEERS; i++)
        if (!strcmp(names[i], name)) {
            fill(i, out);
            return true;
        }
    return false;
}

static char seen[SEEN][HS_UE_ID_MAX];
static size_t nseen;
static uint64_t last_ref, horizon;

static hs_ue *make(uint64_t now)
{
    hs_ue_cfg c;
    hs_ue_cfg_default(&c);
    strcpy(c.self, SELF);
    c.rng_seed = 7;
    c.floor = 3;
    c.coalesce_ms = 150;
    c.buffer_bytes = 64 * 1024; /* small, so inputs reach the eviction */
    hs_ue_view v = {NULL, v_count, v_at, v_find};
    hs_ue *u = hs_ue_new(&c, &v, now);
    if (!u) abort();
    nseen = 0;
    last_ref = 0;
    horizon = hs_ue_horizon(u);
    return u;
}

static void drain(hs_ue *u)
{
    hs_ue_packet p;
    while (hs_ue_next_packet(u, &p)) {
        if (!p.len || !p.data || !hs_msg_is_user(p.data[0])) abort();
        if (!p.stream && p.len > HS_PACKET_MAX) abort();
        volatile uint8_t sink = p.data[p.len - 1];
        (void)sink;
    }
    hs_ue_delivery d;
    while (hs_ue_next_delivery(u, &d)) {
        if (!hs_ue_name_valid(d.name) || d.len > HS_UE_PAYLOAD_MAX || (d.len && !d.payload))
            abort();
        if (d.len) {
            volatile uint8_t sink = d.payload[d.len - 1];
            (void)sink;
        }
        for (size_t i = 0; i < nseen; i++)
            if (!strcmp(seen[i], d.id)) abort(); /* delivered twice */
        if (nseen < SEEN) snprintf(seen[nseen++], HS_UE_ID_MAX, "%s", d.id);
        if (d.query) last_ref = d.ref;
    }
    hs_ue_reply r;
    while (hs_ue_next_reply(u, &r))
        if (r.len > HS_UE_PAYLOAD_MAX) abort();
    hs_ue_done dn;
    while (hs_ue_next_done(u, &dn))
        if (dn.n_pending > dn.members || dn.delivered > dn.members + PEERS) abort();
    if (hs_ue_horizon(u) < horizon) abort();
    horizon = hs_ue_horizon(u);
}

static uint64_t run_timers(hs_ue *u, uint64_t now, uint64_t end)
{
    for (int i = 0; i < 200 && now < end; i++) {
        uint64_t d = hs_ue_next_deadline(u);
        now = d > now && d < end ? d : end;
        hs_ue_tick(u, now);
        drain(u);
    }
    return now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 + 1024) return 0;
    hs_addr from0 = addr_of(1);

    /* 1: the whole input, a fresh core */
    uint64_t now = 60000;
    hs_ue *u = make(now - 50000);
    hs_ue_receive(u, now, &from0, data, size, false);
    drain(u);
    hs_ue_receive(u, now + 10, &from0, data, size, true);
    drain(u);
    run_timers(u, now, now + 3000);
    hs_ue_free(u);

    /* 2: records, a core with operations in flight */
    now = 60000;
    u = make(now - 50000);
    int err;
    hs_ue_fire(u, now, "deploy", (const uint8_t *)"v1", 2, false, 2000, &err);
    hs_ue_tag_filter tf = {"role", "^w"};
    hs_ue_query_spec q = {"disk", (const uint8_t *)"?", 1, NULL, 0, &tf, 1, 3000};
    hs_ue_query(u, now, &q, &err);
    drain(u);
    size_t pos = 0;
    for (int msgs = 0; size - pos >= 3 && msgs < 64; msgs++) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        uint8_t flags = data[pos + 2];
        pos += 3;
        if (len > size - pos) len = size - pos;
        hs_addr from = addr_of(1 + ((flags >> 1) & 3));
        now += (uint64_t)((flags >> 3) & 7) * 100;
        uint8_t *msg = malloc(len ? len : 1); /* exact size: reads past the end are caught */
        if (!msg) abort();
        if (len) memcpy(msg, data + pos, len);
        hs_ue_receive(u, now, &from, msg, len, flags & 1);
        free(msg);
        pos += len;
        drain(u);
        if ((flags & 0x40) && last_ref)
            hs_ue_respond(u, now, last_ref, data, len > 100 ? 100 : len, len & 1);
        if (flags & 0x80) hs_ue_fire(u, now, "reload", NULL, 0, flags & 1, 0, &err);
        if (hs_ue_next_deadline(u) && hs_ue_next_deadline(u) <= now) hs_ue_tick(u, now);
        drain(u);
    }
    run_timers(u, now, now + 12000);
    hs_ue_free(u);
    return 0;
}
