/* fuzz_membership.c: libFuzzer harness for the membership core's input path (hs_node_receive
 * and everything a received message can reach: Ping/Pong/PingReq/IndirectAck, Suspect/Vote,
 * Gossip, Meet/MeetReply, Tombs, merging, tombstones, the ring, timers).
 *
 * Each input runs twice:
 *   1. a fresh node gets the whole input as one datagram, then as one stream message;
 *   2. a node that already knows five members (warmed up with a fixed Meet reply) gets the
 *      input split into records: len:u16 flags:u8 bytes[len]; flags bit 0 = stream,
 *      bits 1-2 = sender (one of four addresses), bits 3-5 = time advance in 250 ms steps.
 * Between messages the node is ticked and its packets and events drained; at the end it is
 * ticked through 20 s of timers (reaping is shortened to seconds, the table bounded to 24
 * members, so inputs reach both, and reaped members leave tombstones). Checked invariants:
 * a datagram never exceeds max_packet, every event and member has a valid name and status,
 * the status counts add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/codec.h"
#include "hearsay/membership.h"
#include "hearsay/wire.h"

#define SELF_NAME "fuzz-self"

static uint8_t warm_msg[1024];
static size_t warm_len;

static hs_addr peer_addr(int i)
{
    return hs_addr_v4(10, 0, 0, (uint8_t)(2 + i), 7946);
}

static void put_entry(hs_writer *w, const char *name, hs_addr a, uint32_t inc, uint8_t status,
                      const char *tags, size_t tags_len)
{
    hs_put_str8(w, name, strlen(name));
    hs_put_u8(w, a.family);
    hs_put_bytes(w, a.ip, 4);
    hs_put_u16(w, a.port);
    hs_put_u32(w, inc);
    hs_put_u8(w, status);
    hs_put_blob16(w, tags, tags_len);
}

/* A Meet reply from node-b holding b..f, so the node has a ring, observers and subjects. */
static void build_warm_msg(void)
{
    static const char tags[] = "role=db\0zone=a";
    hs_writer w;
    hs_writer_init(&w, warm_msg, sizeof(warm_msg));
    hs_put_u8(&w, HS_MSG_MEET_REPLY);
    hs_put_u8(&w, 0);
    hs_put_str8(&w, "node-b", 6);
    hs_put_u64(&w, 3);
    hs_put_u32(&w, 5);
    const char *names[5] = {"node-b", "node-c", "node-d", "node-e", "node-f"};
    for (int i = 0; i < 5; i++)
        put_entry(&w, names[i], peer_addr(i), (uint32_t)i, i == 4 ? HS_FAILED : HS_ALIVE, tags,
                  i == 0 ? sizeof(tags) : 0);
    if (!w.ok) abort();
    warm_len = w.len;
}

static hs_node *make_node(void)
{
    hs_config cfg;
    hs_config_default(&cfg);
    strcpy(cfg.name, SELF_NAME);
    cfg.addr = hs_addr_v4(10, 0, 0, 1, 7946);
    /* small bounds so inputs reach them: reaping, a full member table */
    cfg.reap_failed_ms = 8000;
    cfg.reap_left_ms = 6000;
    cfg.max_members = 24;
    static const char tags[] = "role=fuzz";
    hs_node *n = hs_node_new(&cfg, (hs_tags){tags, sizeof(tags)}, 1, 1000, 42);
    if (!n) abort();
    return n;
}

static void check_name(const char *s)
{
    size_t len = strnlen(s, HS_NAME_MAX + 1);
    if (len == 0 || len > HS_NAME_MAX) abort();
}

static void drain(hs_node *n)
{
    hs_packet p;
    while (hs_node_next_packet(n, &p)) {
        if (!p.stream && p.len > HS_PACKET_MAX) abort(); /* datagram over budget */
        if (p.len == 0 || !p.data) abort();
        volatile uint8_t sink = p.data[0] ^ p.data[p.len - 1];
        (void)sink;
    }
    hs_event ev;
    while (hs_node_next_event(n, &ev)) {
        check_name(ev.name);
        if ((unsigned)ev.status > HS_LEFT || (unsigned)ev.prev_status > HS_LEFT) abort();
        if (!hs_event_name(ev.type)) abort();
    }
}

static void inspect(hs_node *n)
{
    size_t counts[4], total = 0;
    hs_node_status_counts(n, counts);
    for (int i = 0; i < 4; i++) total += counts[i];
    if (total != hs_node_member_count(n)) abort();
    for (size_t i = 0; i < hs_node_member_count(n); i++) {
        hs_member_info mi;
        if (!hs_node_member_at(n, i, &mi)) abort();
        check_name(mi.name);
        if (hs_tags_validate(mi.tags) != 0) abort();
        hs_member_info again;
        if (!hs_node_find(n, mi.name, &again) || strcmp(again.name, mi.name) != 0) abort();
    }
    (void)hs_node_table_bytes(n);
}

/* Ticks through the next deadlines up to end, draining after each. */
static uint64_t run_timers(hs_node *n, uint64_t now, uint64_t end)
{
    for (int i = 0; i < 120 && now < end; i++) {
        uint64_t d = hs_node_next_deadline(n);
        now = d > now && d < end ? d : end;
        hs_node_tick(n, now);
        drain(n);
    }
    return now;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    build_warm_msg();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!warm_len) build_warm_msg();
    if (size > 65536 + 1024) return 0;
    const hs_addr from0 = peer_addr(0);

    /* 1: whole input, cold node */
    hs_node *n = make_node();
    uint64_t now = 1000;
    hs_node_receive(n, now, &from0, data, size, false);
    hs_node_tick(n, now);
    drain(n);
    now += 100;
    hs_node_receive(n, now, &from0, data, size, true);
    now = run_timers(n, now, now + 3000);
    inspect(n);
    hs_node_free(n);

    /* 2: records, warm node */
    n = make_node();
    now = 1000;
    hs_node_receive(n, now, &from0, warm_msg, warm_len, false);
    drain(n);
    size_t pos = 0;
    int msgs = 0;
    while (size - pos >= 3 && msgs < 64) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        uint8_t flags = data[pos + 2];
        pos += 3;
        if (len > size - pos) len = size - pos;
        hs_addr from = peer_addr((flags >> 1) & 3);
        now += (uint64_t)((flags >> 3) & 7) * 250;
        /* an exact-size copy so reads past the message end are caught */
        uint8_t *msg = malloc(len ? len : 1);
        if (!msg) abort();
        if (len) memcpy(msg, data + pos, len);
        hs_node_receive(n, now, &from, msg, len, flags & 1);
        free(msg);
        pos += len;
        msgs++;
        if (hs_node_next_deadline(n) <= now) hs_node_tick(n, now);
        drain(n);
    }
    now = run_timers(n, now, now + 20000);
    inspect(n);
    if (size & 1) {
        hs_node_leave(n, now);
        drain(n);
        run_timers(n, now, now + 3000);
    }
    hs_node_free(n);
    return 0;
}
