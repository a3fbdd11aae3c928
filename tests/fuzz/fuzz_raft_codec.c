/* fuzz_raft_codec.c: libFuzzer harness for the Raft wire decoders in lib/raft_codec.c
 * (hs_raft_msg_decode and hs_raft_conf_change_decode).
 *
 * Checked: whatever decodes re-encodes to exactly the input (the format has one encoding per
 * message), hs_raft_msg_size agrees with the encoder, and decoded entry and snapshot data
 * lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/raft.h"

static int inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
    if (n == 0) return 1;
    return p && p >= buf && n <= len && p - buf <= (ptrdiff_t)(len - n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > HS_RAFT_MAX_SNAPSHOT + 4096) return 0;
    uint8_t *in = malloc(size ? size : 1);
    if (!in) abort();
    if (size) memcpy(in, data, size);

    hs_raft_msg m;
    if (hs_raft_msg_decode(in, size, &m) == 0) {
        if (m.n_entries > HS_RAFT_MAX_MSG_ENTS) abort();
        for (uint32_t i = 0; i < m.n_entries; i++)
            if (!inside(m.entries[i].data, m.entries[i].len, in, size)) abort();
        if (m.type == HS_RAFT_MSG_SNAPSHOT &&
            (!inside(m.snapshot.data, m.snapshot.len, in, size) || m.snapshot.conf.n == 0 ||
             m.snapshot.conf.n > HS_RAFT_MAX_PEERS))
            abort();
        size_t need = hs_raft_msg_size(&m);
        if (need != size) abort();
        uint8_t *out = malloc(need ? need : 1);
        if (!out) abort();
        size_t n = hs_raft_msg_encode(&m, out, need);
        if (n != size || memcmp(out, in, size) != 0) abort();
        /* one byte short must fail cleanly */
        if (need > 0 && hs_raft_msg_encode(&m, out, need - 1) != 0) abort();
        free(out);
        hs_raft_msg_release(&m);
        if (m.entries || m.n_entries) abort();
    }

    hs_raft_conf_change cc;
    if (hs_raft_conf_change_decode(in, size, &cc) == 0) {
        uint8_t out[256];
        size_t n = hs_raft_conf_change_encode(&cc, out, sizeof(out));
        if (n != size || memcmp(out, in, size) != 0) abort();
        hs_raft_conf conf = {0};
        (void)hs_raft_conf_apply(&conf, &cc);
    }
    free(in);
    return 0;
}
