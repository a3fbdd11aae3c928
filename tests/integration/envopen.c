/* envopen.c: a test helper for test_rotation_exclusion.py: what a holder of one key can read of
 * recorded traffic. Reads "KEY CLUSTER" (base64 key, cluster name) from argv and then records
 * "u32 length, bytes" of sealed envelopes (datagrams or stream frames without their length
 * prefix) on stdin; prints one line per record: "ok HEX" with the opened payload, or the
 * envelope's reason ("unknown_key", "auth_failed", ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hearsay/envelope.h"

int main(int argc, char **argv)
{
    if (argc != 3 || sodium_init() < 0) {
        fprintf(stderr, "usage: envopen KEY CLUSTER < records\n");
        return 2;
    }
    hs_envelope e;
    uint8_t key[HS_ENV_KEY_BYTES];
    if (hs_env_init(&e, argv[2], false) != 0 || hs_env_key_decode(argv[1], strlen(argv[1]), key) ||
        hs_env_add_key(&e, key) != 0) {
        fprintf(stderr, "envopen: bad key or cluster name\n");
        return 2;
    }
    static uint8_t in[1 << 22], out[1 << 22];
    static char hex[(1 << 23) + 1];
    for (;;) {
        uint8_t h[4];
        if (fread(h, 1, 4, stdin) != 4) break;
        size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (n > sizeof(in) || fread(in, 1, n, stdin) != n) return 1;
        size_t m = 0;
        hs_env_result r = hs_env_open(&e, in, n, out, sizeof(out), &m);
        if (r != HS_ENV_OK) {
            printf("%s\n", hs_env_result_name(r));
            continue;
        }
        sodium_bin2hex(hex, sizeof(hex), out, m);
        printf("ok %s\n", hex);
    }
    return 0;
}
