/* fuzz_cluster_config.c: libFuzzer harness for the cluster-configuration decoders in
 * lib/cluster_config.c: hs_cc_deserialize (snapshots, configs shipped to non-seeds),
 * hs_cc_cmd_decode (Raft entry data) and the state machine they feed (hs_cc_apply,
 * hs_cc_apply_raft_conf).
 *
 * The whole input is deserialized and decoded as one command; then it is split into records
 * len:u16 bytes[len], each decoded as a command and as a Raft conf change and applied.
 * Checked: a deserialized config serializes back to exactly the input; a decoded command
 * that re-encodes does so to exactly the input; a refused command changes nothing (version
 * included), an applied one bumps the version by one; the state after any sequence of
 * applied commands still serializes and deserializes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/cluster_config.h"

static uint8_t ser[HS_CC_SERIALIZED_MAX];
static uint8_t ser2[HS_CC_SERIALIZED_MAX];
static hs_cluster_config base, cfg, before, back;

static void apply_checked(hs_cluster_config *c, const hs_cc_cmd *cmd)
{
    before = *c;
    int rc = hs_cc_apply(c, cmd);
    if (!hs_cc_strerror(rc)) abort();
    if (rc != HS_CC_OK) {
        if (memcmp(&before, c, sizeof(*c)) != 0) abort(); /* refused but changed */
    } else if (c->version != before.version + 1) {
        abort();
    }
}

static void check_state(const hs_cluster_config *c)
{
    size_t n = hs_cc_serialize(c, ser, sizeof(ser));
    if (n == 0 || n > HS_CC_SERIALIZED_MAX) abort();
    if (hs_cc_deserialize(ser, n, &back) != 0) abort();
    size_t n2 = hs_cc_serialize(&back, ser2, sizeof(ser2));
    if (n2 != n || memcmp(ser, ser2, n) != 0) abort();
    for (uint32_t i = 0; i < c->n_seeds; i++)
        if (hs_cc_find_seed(c, c->seeds[i].name) != &c->seeds[i]) abort();
    for (uint32_t i = 0; i < c->n_settings; i++)
        if (!hs_cc_get(c, c->settings[i].key)) abort();
    for (uint32_t i = 0; i < c->n_fd; i++)
        if (!hs_cc_get_fd(c, c->fd[i].key)) abort();
    for (uint32_t i = 0; i < c->n_removed; i++)
        if (!hs_cc_is_removed(c, c->removed[i])) abort();
}

static void make_base(void)
{
    hs_cc_init(&base);
    hs_cc_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = HS_CC_SET_NAME;
    strcpy(cmd.key, "fuzz");
    hs_cc_apply(&base, &cmd);
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = HS_CC_ADD_SEED;
    cmd.seed.id = 1;
    strcpy(cmd.seed.name, "seed-1");
    cmd.seed.addr = hs_addr_v4(10, 0, 0, 1, 7946);
    hs_cc_apply(&base, &cmd);
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = HS_CC_KEY_INSTALL;
    memset(cmd.key_bytes, 0x11, sizeof(cmd.key_bytes));
    hs_cc_apply(&base, &cmd);
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = HS_CC_SET_FD;
    strcpy(cmd.key, "probe_interval_ms");
    strcpy(cmd.value, "1000");
    hs_cc_apply(&base, &cmd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    make_base();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (base.version == 0) make_base();
    if (size > 2 * HS_CC_SERIALIZED_MAX) return 0;
    uint8_t *in = malloc(size ? size : 1);
    if (!in) abort();
    if (size) memcpy(in, data, size);

    /* whole input as a serialized configuration */
    bool have = hs_cc_deserialize(in, size, &cfg) == 0;
    if (have) {
        size_t n = hs_cc_serialize(&cfg, ser, sizeof(ser));
        if (n != size || memcmp(ser, in, size) != 0) abort();
    } else {
        hs_cluster_config empty;
        hs_cc_init(&empty);
        if (memcmp(&empty, &cfg, sizeof(cfg)) != 0) abort(); /* left initialized-empty */
        cfg = base;
    }

    /* whole input as one command */
    hs_cc_cmd cmd;
    if (hs_cc_cmd_decode(in, size, &cmd) == 0) {
        uint8_t enc[HS_CC_CMD_MAX];
        size_t n = hs_cc_cmd_encode(&cmd, enc, sizeof(enc));
        if (n && (n != size || memcmp(enc, in, size) != 0)) abort();
        apply_checked(&cfg, &cmd);
    }

    /* records: commands and Raft conf changes applied in sequence */
    size_t pos = 0;
    for (int k = 0; k < 64 && size - pos >= 2; k++) {
        size_t len = (size_t)in[pos] << 8 | in[pos + 1];
        pos += 2;
        if (len > size - pos) len = size - pos;
        uint8_t *rec = malloc(len ? len : 1);
        if (!rec) abort();
        if (len) memcpy(rec, in + pos, len);
        if (hs_cc_cmd_decode(rec, len, &cmd) == 0) apply_checked(&cfg, &cmd);
        hs_raft_conf_change cc;
        if (hs_raft_conf_change_decode(rec, len, &cc) == 0) {
            before = cfg;
            int rc = hs_cc_apply_raft_conf(&cfg, &cc);
            if (rc != HS_CC_OK && memcmp(&before, &cfg, sizeof(cfg)) != 0) abort();
        }
        free(rec);
        pos += len;
    }
    check_state(&cfg);
    free(in);
    return 0;
}
