/* test_raft_codec.c: the Raft wire codec: every message type round-trips, and hostile input
 * (truncation at every length, trailing bytes, bad types, broken limits, random bytes) is
 * rejected without crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/raft.h"
#include "hearsay/wire.h"

static hs_raft_msg base(uint8_t type)
{
    hs_raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = 3;
    m.to = 5;
    m.term = 0x1122334455667788ULL;
    return m;
}

static uint8_t ent_data[3][40];
static hs_raft_entry ents[3];

static hs_raft_msg sample(uint8_t type)
{
    hs_raft_msg m = base(type);
    switch (type) {
    case HS_RAFT_MSG_APPEND:
        m.log_index = 41;
        m.log_term = 7;
        m.commit = 40;
        m.ctx = 99;
        for (int i = 0; i < 3; i++) {
            memset(ent_data[i], 'a' + i, sizeof(ent_data[i]));
            ents[i] = (hs_raft_entry){.term = 8,
                                      .index = 42 + (uint64_t)i,
                                      .type = (uint8_t)i,
                                      .len = (uint32_t)(i * 20),
                                      .data = i ? ent_data[i] : NULL};
        }
        m.entries = ents;
        m.n_entries = 3;
        break;
    case HS_RAFT_MSG_APPEND_RESP:
        m.reject = true;
        m.index = 17;
        m.ctx = 4;
        break;
    case HS_RAFT_MSG_VOTE:
    case HS_RAFT_MSG_PREVOTE:
        m.log_index = 9;
        m.log_term = 2;
        break;
    case HS_RAFT_MSG_VOTE_RESP:
    case HS_RAFT_MSG_PREVOTE_RESP:
        m.reject = true;
        break;
    case HS_RAFT_MSG_SNAPSHOT:
        m.commit = 12;
        m.snapshot.index = 30;
        m.snapshot.term = 6;
        m.snapshot.conf.n = 3;
        for (uint32_t i = 0; i < 3; i++) {
            m.snapshot.conf.peers[i].id = i + 1;
            snprintf(m.snapshot.conf.peers[i].name, sizeof(m.snapshot.conf.peers[i].name),
                     "seed-%u", i);
            m.snapshot.conf.peers[i].addr = hs_addr_v4(10, 0, 0, (uint8_t)i, 7946);
        }
        m.snapshot.len = 6;
        m.snapshot.data = (uint8_t *)"config";
        break;
    case HS_RAFT_MSG_READINDEX:
        m.ctx = 77;
        break;
    case HS_RAFT_MSG_READINDEX_RESP:
        m.ctx = 77;
        m.index = 31;
        break;
    }
    return m;
}

static const uint8_t all_types[] = {
    HS_RAFT_MSG_APPEND,    HS_RAFT_MSG_APPEND_RESP, HS_RAFT_MSG_VOTE,
    HS_RAFT_MSG_VOTE_RESP, HS_RAFT_MSG_PREVOTE,     HS_RAFT_MSG_PREVOTE_RESP,
    HS_RAFT_MSG_SNAPSHOT,  HS_RAFT_MSG_READINDEX,   HS_RAFT_MSG_READINDEX_RESP,
};

static void test_round_trip_every_type(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(all_types); k++) {
        hs_raft_msg m = sample(all_types[k]);
        size_t n = hs_raft_msg_size(&m);
        uint8_t *buf = malloc(n);
        assert_int_equal(hs_raft_msg_encode(&m, buf, n), n);
        assert_true(hs_msg_is_raft(buf[0]));
        assert_int_equal(hs_raft_msg_encode(&m, buf, n - 1), 0); /* does not fit */
        hs_raft_msg d;
        assert_int_equal(hs_raft_msg_decode(buf, n, &d), 0);
        assert_int_equal(d.type, m.type);
        assert_int_equal(d.from, m.from);
        assert_int_equal(d.to, m.to);
        assert_int_equal(d.term, m.term);
        assert_int_equal(d.log_index, m.log_index);
        assert_int_equal(d.log_term, m.log_term);
        assert_int_equal(d.commit, m.commit);
        assert_int_equal(d.index, m.index);
        assert_int_equal(d.ctx, m.ctx);
        assert_int_equal(d.reject, m.reject);
        assert_int_equal(d.n_entries, m.n_entries);
        for (uint32_t i = 0; i < d.n_entries; i++) {
            assert_int_equal(d.entries[i].index, m.entries[i].index);
            assert_int_equal(d.entries[i].term, m.entries[i].term);
            assert_int_equal(d.entries[i].type, m.entries[i].type);
            assert_int_equal(d.entries[i].len, m.entries[i].len);
            if (d.entries[i].len)
                assert_memory_equal(d.entries[i].data, m.entries[i].data, d.entries[i].len);
        }
        if (m.type == HS_RAFT_MSG_SNAPSHOT) {
            assert_int_equal(d.snapshot.index, 30);
            assert_int_equal(d.snapshot.term, 6);
            assert_int_equal(d.snapshot.conf.n, 3);
            assert_string_equal(d.snapshot.conf.peers[2].name, "seed-2");
            assert_true(
                hs_addr_equal(&d.snapshot.conf.peers[1].addr, &m.snapshot.conf.peers[1].addr));
            assert_memory_equal(d.snapshot.data, "config", 6);
        }
        hs_raft_msg_release(&d);
        /* every truncation fails cleanly */
        for (size_t cut = 0; cut < n; cut++) {
            assert_int_equal(hs_raft_msg_decode(buf, cut, &d), -1);
        }
        /* a trailing byte fails */
        uint8_t *longer = malloc(n + 1);
        memcpy(longer, buf, n);
        longer[n] = 0;
        assert_int_equal(hs_raft_msg_decode(longer, n + 1, &d), -1);
        free(longer);
        free(buf);
    }
}

static size_t encode_sample(uint8_t type, uint8_t *buf, size_t cap)
{
    hs_raft_msg m = sample(type);
    return hs_raft_msg_encode(&m, buf, cap);
}

static void test_rejects_bad_type_and_ids(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = encode_sample(HS_RAFT_MSG_VOTE, buf, sizeof(buf));
    hs_raft_msg d;
    buf[0] = 0x5f; /* in the Raft range but unassigned */
    assert_int_equal(hs_raft_msg_decode(buf, n, &d), -1);
    buf[0] = 0x01; /* a membership type */
    assert_int_equal(hs_raft_msg_decode(buf, n, &d), -1);
    buf[0] = HS_RAFT_MSG_VOTE;
    memset(buf + 1, 0, 8); /* from = 0 */
    assert_int_equal(hs_raft_msg_decode(buf, n, &d), -1);
    /* a boolean that is neither 0 nor 1 */
    n = encode_sample(HS_RAFT_MSG_VOTE_RESP, buf, sizeof(buf));
    buf[n - 1] = 2;
    assert_int_equal(hs_raft_msg_decode(buf, n, &d), -1);
}

/* Offsets inside an encoded Append with the sample's entries. */
#define APPEND_HDR (1 + 24 + 32)

static void test_rejects_broken_append_limits(void **state)
{
    (void)state;
    uint8_t buf[1024];
    size_t n = encode_sample(HS_RAFT_MSG_APPEND, buf, sizeof(buf));
    hs_raft_msg d;
    uint8_t copy[1024];
    /* entry count larger than the limit / than the bytes present */
    memcpy(copy, buf, n);
    copy[APPEND_HDR] = 0x7f;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    memcpy(copy, buf, n);
    copy[APPEND_HDR + 3] = 200;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    /* first entry's index does not follow log_index */
    memcpy(copy, buf, n);
    copy[APPEND_HDR + 4 + 8 + 7] ^= 1;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    /* entry length beyond HS_RAFT_MAX_ENTRY */
    memcpy(copy, buf, n);
    copy[APPEND_HDR + 4 + 17] = 0x7f;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    /* entry type unknown */
    memcpy(copy, buf, n);
    copy[APPEND_HDR + 4 + 16] = 9;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    /* entry term above the message term */
    hs_raft_msg m = sample(HS_RAFT_MSG_APPEND);
    m.term = 7;
    n = hs_raft_msg_encode(&m, copy, sizeof(copy));
    assert_true(n > 0);
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    /* the encoder refuses what the decoder would refuse */
    m = sample(HS_RAFT_MSG_APPEND);
    m.n_entries = HS_RAFT_MAX_MSG_ENTS + 1;
    assert_int_equal(hs_raft_msg_encode(&m, buf, sizeof(buf)), 0);
}

static void test_rejects_broken_snapshot(void **state)
{
    (void)state;
    uint8_t buf[1024], copy[1024];
    size_t n = encode_sample(HS_RAFT_MSG_SNAPSHOT, buf, sizeof(buf));
    hs_raft_msg d;
    size_t npeers_at = 1 + 24 + 24;
    memcpy(copy, buf, n);
    copy[npeers_at] = HS_RAFT_MAX_PEERS + 1;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    memcpy(copy, buf, n);
    copy[npeers_at] = 0;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    /* snapshot length over the limit */
    memcpy(copy, buf, n);
    copy[n - 6 - 4] = 0x10;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    /* peer address family garbage */
    memcpy(copy, buf, n);
    size_t fam_at = npeers_at + 1 + 8 + 1 + strlen("seed-0");
    assert_int_equal(copy[fam_at], 4);
    copy[fam_at] = 5;
    assert_int_equal(hs_raft_msg_decode(copy, n, &d), -1);
    hs_raft_msg m = sample(HS_RAFT_MSG_SNAPSHOT);
    m.snapshot.len = HS_RAFT_MAX_SNAPSHOT + 1;
    assert_int_equal(hs_raft_msg_encode(&m, buf, sizeof(buf)), 0);
}

static void test_random_bytes_never_crash(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    uint8_t buf[600];
    int accepted = 0;
    for (int iter = 0; iter < 200000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = (size_t)(x % sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        if (n) buf[0] = (uint8_t)(HS_RAFT_MSG_APPEND + (buf[0] % 9));
        /* mutate a valid message half of the time */
        if (iter & 1) {
            size_t m = encode_sample(all_types[(iter / 2) % 9], buf, sizeof(buf));
            buf[x % m] ^= (uint8_t)(x >> 8);
            n = m - (x >> 20) % 2;
        }
        hs_raft_msg d;
        if (hs_raft_msg_decode(buf, n, &d) == 0) {
            accepted++;
            hs_raft_msg_release(&d);
        }
    }
    assert_true(accepted > 0);
}

static void test_conf_change_codec(void **state)
{
    (void)state;
    hs_raft_conf_change cc = {.op = HS_RAFT_ADD_SEED};
    cc.peer.id = 7;
    strcpy(cc.peer.name, "seed-seven");
    cc.peer.addr = hs_addr_v4(192, 168, 1, 7, 7946);
    uint8_t buf[128];
    size_t n = hs_raft_conf_change_encode(&cc, buf, sizeof(buf));
    assert_true(n > 0);
    hs_raft_conf_change d;
    assert_int_equal(hs_raft_conf_change_decode(buf, n, &d), 0);
    assert_int_equal(d.op, HS_RAFT_ADD_SEED);
    assert_int_equal(d.peer.id, 7);
    assert_string_equal(d.peer.name, "seed-seven");
    assert_true(hs_addr_equal(&d.peer.addr, &cc.peer.addr));
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(hs_raft_conf_change_decode(buf, cut, &d), -1);
    buf[0] = 3;
    assert_int_equal(hs_raft_conf_change_decode(buf, n, &d), -1);
    cc.op = 9;
    assert_int_equal(hs_raft_conf_change_encode(&cc, buf, sizeof(buf)), 0);
    /* names longer than HS_RAFT_NAME_MAX cannot be encoded */
    cc.op = HS_RAFT_REMOVE_SEED;
    memset(cc.peer.name, 'x', HS_RAFT_NAME_MAX);
    cc.peer.name[HS_RAFT_NAME_MAX] = 0;
    assert_true(hs_raft_conf_change_encode(&cc, buf, sizeof(buf)) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_rejects_bad_type_and_ids),
        cmocka_unit_test(test_rejects_broken_append_limits),
        cmocka_unit_test(test_rejects_broken_snapshot),
        cmocka_unit_test(test_random_bytes_never_crash),
        cmocka_unit_test(test_conf_change_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
