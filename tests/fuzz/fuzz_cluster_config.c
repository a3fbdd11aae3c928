/* fuzz_cluster_config.c: libFuzzer harness for the cluster-configuration decoders in
 * lib/cluster_config.c and lib/cc_session.c: hs_cc_deserialize (snapshots with client
 * sessions, configs shipped to non-seeds without), hs_cc_cmd_decode (Raft entry data, with or
 * without a session tag) and the state machine they feed (hs_cc_apply_entry: commands and
 * tagged seed changes under the session rules).
 *
 * The whole input is deserialized and decoded as one command; then it is split into records
 * len:u16 bytes[len], each applied as a command entry and as a seed-change entry.
 * Checked: a deserialized config serializes back (in its own format) to exactly the input; a
 * decoded command or seed change that re-encodes does so to exactly the input; a duplicate
 * changes nothing at all; a refused request changes nothing but its session (version
 * included); an applied one bumps the version by one; a request the session rules answered
 * is answered the same by the leader's check; the state after any sequence still serializes
 * and deserializes, with and without its sessions. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/cluster_config.h"

static uint8_t ser[HS_CC_SNAPSHOT_MAX];
static uint8_t ser2[HS_CC_SNAPSHOT_MAX];
static hs_cluster_config base, cfg, before, back;

#define CONFIG_PART offsetof(hs_cluster_config, sess_clock) /* everything but the sessions */

/* Applies one entry (type, data) and checks what the rules promise. */
static void apply_checked(hs_cluster_config *c, uint8_t type, const uint8_t *data, size_t len)
{
    hs_raft_entry e = {
        .index = 1, .term = 1, .type = type, .len = (uint32_t)len, .data = (uint8_t *)data};
    hs_cc_tag tag;
    bool tagged = hs_cc_entry_tag(&e, &tag);
    uint64_t fp = 0;
    hs_cc_cmd cmd;
    hs_raft_conf_change cc;
    if (type == HS_RAFT_ENTRY_NORMAL && hs_cc_cmd_decode(data, len, &cmd) == 0)
        fp = hs_cc_cmd_fingerprint(&cmd);
    else if (type == HS_RAFT_ENTRY_CONF && hs_raft_conf_change_decode(data, len, &cc) == 0)
        fp = hs_cc_conf_fingerprint(&cc);
    hs_cc_outcome chk;
    bool fresh = tagged ? hs_cc_session_check(c, &tag, fp, &chk) : true;
    before = *c;
    hs_cc_outcome o;
    int rc = hs_cc_apply_entry(c, &e, &o);
    if (!hs_cc_strerror(rc) || rc != o.rc) abort();
    if (!fresh && type == HS_RAFT_ENTRY_NORMAL) {
        /* the leader's check and the state machine agree, and nothing changed at all */
        if (chk.rc != o.rc || chk.version != o.version || chk.duplicate != o.duplicate) abort();
        if (memcmp(&before, c, sizeof(*c)) != 0) abort();
        return;
    }
    if (o.duplicate && type == HS_RAFT_ENTRY_NORMAL) abort();
    if (type == HS_RAFT_ENTRY_CONF && !fresh) return; /* the seed set follows Raft regardless */
    if (rc != HS_CC_OK) {
        if (memcmp(&before, c, CONFIG_PART) != 0) abort(); /* refused but changed */
        if (!tagged && memcmp(&before, c, sizeof(*c)) != 0) abort();
    } else if (c->version != before.version + 1 || o.version != c->version) {
        abort();
    }
    if (tagged && c->sess_clock != before.sess_clock + 1) abort(); /* recorded */
}

static void round_trip(const hs_cluster_config *c, bool sessions)
{
    size_t n = sessions ? hs_cc_serialize_snapshot(c, ser, sizeof(ser))
                        : hs_cc_serialize(c, ser, sizeof(ser));
    if (n == 0 || n > (sessions ? HS_CC_SNAPSHOT_MAX : HS_CC_SERIALIZED_MAX)) abort();
    if (hs_cc_deserialize(ser, n, &back) != 0) abort();
    size_t n2 = sessions ? hs_cc_serialize_snapshot(&back, ser2, sizeof(ser2))
                         : hs_cc_serialize(&back, ser2, sizeof(ser2));
    if (n2 != n || memcmp(ser, ser2, n) != 0) abort();
    if (back.version != c->version || (!sessions && back.n_sessions != 0)) abort();
}

static void check_state(const hs_cluster_config *c)
{
    round_trip(c, false);
    round_trip(c, true);
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

    /* whole input as a serialized configuration (byte 4 is its format) */
    bool have = hs_cc_deserialize(in, size, &cfg) == 0;
    if (have) {
        size_t n = in[4] == 2 ? hs_cc_serialize_snapshot(&cfg, ser, sizeof(ser))
                              : hs_cc_serialize(&cfg, ser, sizeof(ser));
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
        apply_checked(&cfg, HS_RAFT_ENTRY_NORMAL, in, size);
    }

    /* records: command entries and seed-change entries applied in sequence */
    size_t pos = 0;
    for (int k = 0; k < 64 && size - pos >= 2; k++) {
        size_t len = (size_t)in[pos] << 8 | in[pos + 1];
        pos += 2;
        if (len > size - pos) len = size - pos;
        uint8_t *rec = malloc(len ? len : 1);
        if (!rec) abort();
        if (len) memcpy(rec, in + pos, len);
        apply_checked(&cfg, HS_RAFT_ENTRY_NORMAL, rec, len);
        hs_raft_conf_change cc;
        if (hs_raft_conf_change_decode(rec, len, &cc) == 0) {
            uint8_t enc[256];
            size_t n = hs_raft_conf_change_encode(&cc, enc, sizeof(enc));
            if (n != len || memcmp(enc, rec, len) != 0) abort();
            apply_checked(&cfg, HS_RAFT_ENTRY_CONF, rec, len);
        }
        free(rec);
        pos += len;
    }
    check_state(&cfg);
    free(in);
    return 0;
}
