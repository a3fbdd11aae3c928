/* test_cluster_config.c: the replicated cluster configuration: every command applies (or is
 * refused without changing anything), the version counts applied changes, commands and whole
 * configurations round-trip, and hostile bytes are rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/cluster_config.h"

static hs_cc_cmd cmd_kv(uint8_t op, const char *key, const char *value)
{
    hs_cc_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    snprintf(c.key, sizeof(c.key), "%s", key);
    if (value) snprintf(c.value, sizeof(c.value), "%s", value);
    return c;
}

static hs_cc_cmd cmd_key(uint8_t op, uint8_t fill)
{
    hs_cc_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    memset(c.key_bytes, fill, sizeof(c.key_bytes));
    return c;
}

static hs_cc_cmd cmd_seed(uint8_t op, uint64_t id, const char *name)
{
    hs_cc_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.seed.id = id;
    snprintf(c.seed.name, sizeof(c.seed.name), "%s", name);
    c.seed.addr = hs_addr_v4(10, 0, 0, (uint8_t)id, 7946);
    return c;
}

/* Applies through the byte encoding, as a Raft entry would. */
static int apply_encoded(hs_cluster_config *c, const hs_cc_cmd *cmd)
{
    uint8_t buf[HS_CC_CMD_MAX];
    size_t n = hs_cc_cmd_encode(cmd, buf, sizeof(buf));
    assert_true(n > 0);
    hs_cc_cmd d;
    assert_int_equal(hs_cc_cmd_decode(buf, n, &d), 0);
    for (size_t cut = 0; cut < n; cut++) assert_int_equal(hs_cc_cmd_decode(buf, cut, &d), -1);
    assert_int_equal(hs_cc_cmd_decode(buf, n, &d), 0);
    return hs_cc_apply(c, &d);
}

static hs_cluster_config *populated(void)
{
    hs_cluster_config *c = malloc(sizeof(*c));
    hs_cc_init(c);
    hs_cc_cmd m = cmd_kv(HS_CC_SET_NAME, "prod-eu", NULL);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    for (uint64_t i = 1; i <= 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "seed%d", (int)i);
        m = cmd_seed(HS_CC_ADD_SEED, i, name);
        assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    }
    m = cmd_key(HS_CC_KEY_INSTALL, 0xaa);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    m = cmd_key(HS_CC_KEY_INSTALL, 0xbb);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    m = cmd_kv(HS_CC_SET_FD, "probe_interval_ms", "1000");
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    m = cmd_kv(HS_CC_SET, "owner", "team-infra");
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    m = cmd_kv(HS_CC_REMOVE_NODE, "old-host-7", NULL);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    return c;
}

static void test_apply_and_version(void **state)
{
    (void)state;
    hs_cluster_config *c = populated();
    assert_int_equal(c->version, 9);
    assert_string_equal(c->cluster_name, "prod-eu");
    assert_int_equal(c->n_seeds, 3);
    assert_non_null(hs_cc_find_seed(c, "seed2"));
    assert_int_equal(c->n_keys, 2);
    assert_int_equal(c->primary_key, 0); /* the first installed key */
    assert_string_equal(hs_cc_get_fd(c, "probe_interval_ms"), "1000");
    assert_string_equal(hs_cc_get(c, "owner"), "team-infra");
    assert_true(hs_cc_is_removed(c, "old-host-7"));
    assert_null(hs_cc_get(c, "nope"));

    /* overwrite and delete settings */
    hs_cc_cmd m = cmd_kv(HS_CC_SET, "owner", "team-db");
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    assert_string_equal(hs_cc_get(c, "owner"), "team-db");
    m = cmd_kv(HS_CC_DELETE, "owner", NULL);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    assert_null(hs_cc_get(c, "owner"));
    m = cmd_kv(HS_CC_DELETE_FD, "probe_interval_ms", NULL);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    assert_int_equal(c->version, 12);

    /* key rotation: use the second, then the first can go, the primary never */
    m = cmd_key(HS_CC_KEY_USE, 0xbb);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    assert_int_equal(c->primary_key, 1);
    m = cmd_key(HS_CC_KEY_REMOVE, 0xbb);
    assert_int_equal(apply_encoded(c, &m), HS_CC_EPERM);
    m = cmd_key(HS_CC_KEY_REMOVE, 0xaa);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    assert_int_equal(c->n_keys, 1);
    assert_int_equal(c->primary_key, 0);
    assert_int_equal(c->keys[0][0], 0xbb);

    /* seeds */
    m = cmd_seed(HS_CC_REMOVE_SEED, 0, "seed3");
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    assert_null(hs_cc_find_seed(c, "seed3"));
    m = cmd_kv(HS_CC_READMIT_NODE, "old-host-7", NULL);
    assert_int_equal(apply_encoded(c, &m), HS_CC_OK);
    assert_false(hs_cc_is_removed(c, "old-host-7"));
    assert_int_equal(c->version, 16);
    free(c);
}

static void test_refused_commands_change_nothing(void **state)
{
    (void)state;
    hs_cluster_config *c = populated();
    hs_cluster_config before = *c;
    struct {
        hs_cc_cmd cmd;
        int rc;
    } cases[] = {
        {cmd_kv(HS_CC_SET_NAME, "other", NULL), HS_CC_EEXIST},
        {cmd_kv(HS_CC_DELETE, "missing", NULL), HS_CC_ENOENT},
        {cmd_kv(HS_CC_DELETE_FD, "missing", NULL), HS_CC_ENOENT},
        {cmd_seed(HS_CC_ADD_SEED, 2, "dup-id"), HS_CC_EEXIST},
        {cmd_seed(HS_CC_ADD_SEED, 9, "seed1"), HS_CC_EEXIST},
        {cmd_seed(HS_CC_REMOVE_SEED, 0, "ghost"), HS_CC_ENOENT},
        {cmd_key(HS_CC_KEY_INSTALL, 0xaa), HS_CC_EEXIST},
        {cmd_key(HS_CC_KEY_USE, 0xcc), HS_CC_ENOENT},
        {cmd_key(HS_CC_KEY_REMOVE, 0xaa), HS_CC_EPERM},
        {cmd_kv(HS_CC_REMOVE_NODE, "old-host-7", NULL), HS_CC_EEXIST},
        {cmd_kv(HS_CC_READMIT_NODE, "never-removed", NULL), HS_CC_ENOENT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(apply_encoded(c, &cases[i].cmd), cases[i].rc);
        assert_memory_equal(c, &before, sizeof(before));
    }
    hs_cc_cmd bad;
    memset(&bad, 0, sizeof(bad));
    bad.op = 99;
    assert_int_equal(hs_cc_apply(c, &bad), HS_CC_EINVAL);
    assert_string_equal(hs_cc_strerror(HS_CC_EPERM), "not permitted");
    free(c);
}

static void test_table_limits(void **state)
{
    (void)state;
    hs_cluster_config *c = malloc(sizeof(*c));
    hs_cc_init(c);
    for (int i = 0; i < HS_CC_MAX_SETTINGS; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        hs_cc_cmd m = cmd_kv(HS_CC_SET, k, "v");
        assert_int_equal(hs_cc_apply(c, &m), HS_CC_OK);
    }
    hs_cc_cmd m = cmd_kv(HS_CC_SET, "one-more", "v");
    assert_int_equal(hs_cc_apply(c, &m), HS_CC_EFULL);
    for (int i = 0; i < HS_CC_MAX_KEYS; i++) {
        m = cmd_key(HS_CC_KEY_INSTALL, (uint8_t)(i + 1));
        assert_int_equal(hs_cc_apply(c, &m), HS_CC_OK);
    }
    m = cmd_key(HS_CC_KEY_INSTALL, 0xee);
    assert_int_equal(hs_cc_apply(c, &m), HS_CC_EFULL);
    /* the last seed cannot be removed */
    m = cmd_seed(HS_CC_ADD_SEED, 1, "only");
    assert_int_equal(hs_cc_apply(c, &m), HS_CC_OK);
    m = cmd_seed(HS_CC_REMOVE_SEED, 0, "only");
    assert_int_equal(hs_cc_apply(c, &m), HS_CC_EPERM);
    /* a value of the maximum length is fine */
    char big[HS_CC_VALUE_MAX + 1];
    memset(big, 'v', HS_CC_VALUE_MAX);
    big[HS_CC_VALUE_MAX] = 0;
    m = cmd_kv(HS_CC_SET, "k0", big);
    uint8_t buf[HS_CC_CMD_MAX];
    assert_true(hs_cc_cmd_encode(&m, buf, sizeof(buf)) > 0);
    free(c);
}

static void test_raft_conf_bridge(void **state)
{
    (void)state;
    hs_cluster_config *c = populated();
    uint64_t v = c->version;
    hs_raft_conf_change cc = {.op = HS_RAFT_ADD_SEED};
    cc.peer.id = 4;
    strcpy(cc.peer.name, "seed4");
    assert_int_equal(hs_cc_apply_raft_conf(c, &cc), HS_CC_OK);
    assert_non_null(hs_cc_find_seed(c, "seed4"));
    assert_int_equal(hs_cc_apply_raft_conf(c, &cc), HS_CC_EEXIST);
    cc.op = HS_RAFT_REMOVE_SEED;
    assert_int_equal(hs_cc_apply_raft_conf(c, &cc), HS_CC_OK);
    assert_null(hs_cc_find_seed(c, "seed4"));
    assert_int_equal(c->version, v + 2);
    free(c);
}

static void test_serialize_round_trip_and_truncation(void **state)
{
    (void)state;
    hs_cluster_config *c = populated();
    uint8_t *buf = malloc(HS_CC_SERIALIZED_MAX);
    size_t n = hs_cc_serialize(c, buf, HS_CC_SERIALIZED_MAX);
    assert_true(n > 0);
    hs_cluster_config *d = malloc(sizeof(*d));
    assert_int_equal(hs_cc_deserialize(buf, n, d), 0);
    assert_memory_equal(c, d, sizeof(*c));
    for (size_t cut = 0; cut < n; cut++) assert_int_equal(hs_cc_deserialize(buf, cut, d), -1);
    assert_int_equal(d->version, 0); /* left empty on failure */
    assert_int_equal(hs_cc_serialize(c, buf, n - 1), 0);
    /* a full configuration fits in HS_CC_SERIALIZED_MAX */
    hs_cc_init(c);
    memset(c->cluster_name, 'n', HS_CC_NAME_MAX);
    c->n_seeds = HS_CC_MAX_SEEDS;
    for (uint32_t i = 0; i < HS_CC_MAX_SEEDS; i++) {
        c->seeds[i].id = i + 1;
        memset(c->seeds[i].name, 'a', HS_CC_NAME_MAX);
        c->seeds[i].name[0] = (char)('A' + i);
    }
    c->n_keys = HS_CC_MAX_KEYS;
    for (uint32_t i = 0; i < HS_CC_MAX_KEYS; i++) c->keys[i][0] = (uint8_t)i;
    c->n_fd = HS_CC_MAX_FD;
    for (uint32_t i = 0; i < HS_CC_MAX_FD; i++) {
        memset(c->fd[i].key, 'k', HS_CC_NAME_MAX);
        snprintf(c->fd[i].key, 8, "f%u", i);
        c->fd[i].key[strlen(c->fd[i].key)] = 'k';
        memset(c->fd[i].value, 'v', HS_CC_VALUE_MAX);
    }
    c->n_settings = HS_CC_MAX_SETTINGS;
    for (uint32_t i = 0; i < HS_CC_MAX_SETTINGS; i++) {
        memset(c->settings[i].key, 'k', HS_CC_NAME_MAX);
        snprintf(c->settings[i].key, 8, "s%u", i);
        c->settings[i].key[strlen(c->settings[i].key)] = 'k';
        memset(c->settings[i].value, 'v', HS_CC_VALUE_MAX);
    }
    c->n_removed = HS_CC_MAX_REMOVED;
    for (uint32_t i = 0; i < HS_CC_MAX_REMOVED; i++) {
        memset(c->removed[i], 'r', HS_CC_NAME_MAX);
        snprintf(c->removed[i], 8, "r%u", i);
        c->removed[i][strlen(c->removed[i])] = 'r';
    }
    n = hs_cc_serialize(c, buf, HS_CC_SERIALIZED_MAX);
    assert_true(n > 0);
    assert_int_equal(hs_cc_deserialize(buf, n, d), 0);
    assert_memory_equal(c, d, sizeof(*c));
    free(d);
    free(buf);
    free(c);
}

static void test_deserialize_rejects_inconsistent(void **state)
{
    (void)state;
    hs_cluster_config *c = populated();
    uint8_t buf[4096];
    hs_cluster_config *d = malloc(sizeof(*d));
    /* duplicate seed names */
    hs_cluster_config bad = *c;
    bad.seeds[1] = bad.seeds[0];
    size_t n = hs_cc_serialize(&bad, buf, sizeof(buf));
    assert_int_equal(hs_cc_deserialize(buf, n, d), -1);
    /* primary key out of range */
    bad = *c;
    bad.primary_key = 5;
    n = hs_cc_serialize(&bad, buf, sizeof(buf));
    assert_int_equal(hs_cc_deserialize(buf, n, d), -1);
    /* bad magic */
    n = hs_cc_serialize(c, buf, sizeof(buf));
    buf[0] ^= 1;
    assert_int_equal(hs_cc_deserialize(buf, n, d), -1);
    /* random mutations and random bytes: never crash */
    n = hs_cc_serialize(c, buf, sizeof(buf));
    uint8_t copy[4096];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(copy, buf, n);
        copy[x % n] ^= (uint8_t)(x >> 16);
        if (hs_cc_deserialize(copy, n - (x >> 40) % 3, d) == 0) {
            uint8_t again[4096];
            size_t m = hs_cc_serialize(d, again, sizeof(again));
            assert_true(m > 0); /* whatever is accepted is consistent enough to re-encode */
        }
        hs_cc_cmd cmd;
        if (hs_cc_cmd_decode(copy + (x % 16), (size_t)(x >> 50) % 80, &cmd) == 0)
            (void)hs_cc_apply(d, &cmd);
    }
    free(d);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_and_version),
        cmocka_unit_test(test_refused_commands_change_nothing),
        cmocka_unit_test(test_table_limits),
        cmocka_unit_test(test_raft_conf_bridge),
        cmocka_unit_test(test_serialize_round_trip_and_truncation),
        cmocka_unit_test(test_deserialize_rejects_inconsistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
