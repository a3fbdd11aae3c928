/* fuzz_dispatch.c: libFuzzer harness for the daemon's handling of opened payloads (the engine's
 * delivery into the agent core, lib/agent.c): membership messages into the node, Raft messages
 * into the Raft core (decoder, step, the Ready loop and the durable storage of
 * agent/daemon/raft_storage.c) and configuration messages into the configuration client core
 * (lib/config_client.c: fetch, fetch reply with a serialized configuration, forwarded requests
 * with their session tags, duplicates and answers) and key-ring surveys into the key ring core
 * (lib/keyring.c, 0x64/0x65, datagram or stream), as they arrive after the channel opened them.
 * (This daemon is not a leader, so a forwarded change is answered NOTLEADER; the leader's side of
 * forwarded requests is fuzzed with random messages in tests/unit/test_config_client.c, its local
 * side by fuzz_http.)
 *
 * The daemon is started once (daemon_fixture.h) as one of three seeds. Each input is split
 * into records flags:u8 len:u16 bytes[len]; flags bit 0 = came over a stream (Raft and config
 * messages are only accepted from streams), bits 1-2 = sender (seed-b, seed-c or two others),
 * bit 3 = overwrite a Raft message's from/to ids with the sender's and our seed ids (so the
 * fuzzer need not guess the hashed ids). The event loop runs after each record. */
#include "daemon_fixture.h"

#include "hearsay/wire.h"

static uint64_t id_self, id_b, id_c;

static void setup(void)
{
    fixture_setup(true);
    id_self = hs_cc_seed_id("fuzz");
    id_b = hs_cc_seed_id("seed-b");
    id_c = hs_cc_seed_id("seed-c");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size > 1 << 20) return 0;
    size_t pos = 0;
    for (int k = 0; k < 32 && size - pos >= 3; k++) {
        uint8_t flags = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos) len = size - pos;
        int who = (flags >> 1) & 3;
        hs_addr from = hs_addr_v4(127, 0, 0, (uint8_t)(2 + who), 7946);
        uint8_t *msg = malloc(len ? len : 1);
        if (!msg) abort();
        if (len) memcpy(msg, data + pos, len);
        pos += len;
        if ((flags & 8) && len >= 17 && hs_msg_is_raft(msg[0])) {
            put_u64(msg + 1, who == 0 ? id_b : id_c);
            put_u64(msg + 9, id_self);
        }
        hsd_engine_deliver(E, &from, msg, len, flags & 1);
        free(msg);
        fixture_pump(2);
    }
    fixture_undo_leave();
    return 0;
}
