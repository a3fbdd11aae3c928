/* gen_corpus.c: writes the binary seed corpora of the fuzz harnesses (tests/fuzz/corpus/NAME/)
 * from the real encoders, so the seeds are valid messages of every type:
 *   membership/      every message a small simulated cluster sends to "fuzz-self" (joins, probes,
 *                    a crash with suspicion and votes, a leave, tag changes), raw and as the
 *                    harness's record sequences (len:u16 flags:u8 bytes); tombstones (TOMBS)
 *                    from a second small run where a member is reaped and starts again
 *   envelope/        some of those payloads sealed under each key of the harness's ring, and
 *                    insecure frames, plus key texts
 *   raft_codec/      every Raft message type and conf changes
 *   raft_step/       record sequences (ctl:u8 len:u16 message) that elect node 1 and make it
 *                    replicate, or make it follow, install a snapshot and vote
 *   cluster_config/  serialized configurations (with and without client sessions), every
 *                    command, command sequences in client sessions (duplicates, a conflict,
 *                    floors), tagged seed changes
 *   dispatch/        records (flags:u8 len:u16 payload) of membership, Raft and configuration
 *                    messages (fetch, fetch reply, forwarded requests with their session tags,
 *                    duplicates and answers) for the daemon
 *   raft_load/       a seed's storage files (hard state, commit, snapshot, log): a fresh seed,
 *                    a log with a seed change, a torn tail, a flipped byte, a snapshot with and
 *                    without the prefix it covers, a recovering hard state
 *   channel/         record sequences of fuzz_channel (channel_fixture.h): datagram and stream
 *                    handshakes as operations, and the real sealer's proofs, challenges,
 *                    numbered datagrams, stream challenges, hellos and frames as raw records
 *   user_events/     what three user-event cores send fuzz-self (gen_corpus_user.c)
 * The text corpora (options/, http/) are written by hand and committed as they are.
 * Usage: gen_corpus CORPUS_DIR (the NAME/ directories must exist). Deterministic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel_fixture.h"
#include "hearsay/channel.h"
#include "hearsay/cluster_config.h"
#include "hearsay/codec.h"
#include "hearsay/config_client.h"
#include "hearsay/envelope.h"
#include "hearsay/wire.h"
#include "hearsay/membership.h"
#include "hearsay/raft.h"
#ifdef HS_GEN_RAFT_LOAD
#include "raft_storage.h"
#endif

static const char *root;
void gen_user_events(const char *root); /* gen_corpus_user.c */

static void save(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
}

/* ---------------- membership: a simulated cluster ---------------- */

#define NODES    6
#define CAPTURED 16384

typedef struct captured {
    uint8_t *data;
    size_t len;
    bool stream;
    int from, to; /* node indexes */
    uint64_t at;
} captured;

static hs_node *nodes[NODES];
static bool down[NODES];
static bool cut[NODES][NODES]; /* one-way link failures */
static captured cap[CAPTURED];
static size_t ncap;
static const char *names[NODES] = {"fuzz-self", "node-b", "node-c", "node-d", "node-e", "node-f"};

static hs_addr node_addr(int i)
{
    return hs_addr_v4(10, 0, 0, (uint8_t)(1 + i), 7946);
}

static int node_by_addr(const hs_addr *a)
{
    for (int i = 0; i < NODES; i++) {
        hs_addr b = node_addr(i);
        if (hs_addr_equal(a, &b)) return i;
    }
    return -1;
}

typedef struct inflight {
    int from, to;
    uint8_t *data;
    size_t len;
    bool stream;
} inflight;

static void step(uint64_t now)
{
    for (int round = 0; round < 16; round++) {
        inflight q[1024];
        size_t nq = 0;
        for (int i = 0; i < NODES; i++) {
            if (down[i]) continue;
            if (hs_node_next_deadline(nodes[i]) <= now) hs_node_tick(nodes[i], now);
            hs_packet p;
            while (hs_node_next_packet(nodes[i], &p) && nq < 1024) {
                uint8_t *copy = malloc(p.len);
                if (!copy) abort();
                memcpy(copy, p.data, p.len);
                q[nq++] = (inflight){i, node_by_addr(&p.to), copy, p.len, p.stream};
            }
            hs_event ev;
            while (hs_node_next_event(nodes[i], &ev)) {
            }
        }
        if (!nq) return;
        for (size_t k = 0; k < nq; k++) {
            int to = q[k].to;
            if (to >= 0 && !down[to] && !cut[q[k].from][to]) {
                hs_addr from = node_addr(q[k].from);
                hs_node_receive(nodes[to], now, &from, q[k].data, q[k].len, q[k].stream);
            }
            if (ncap < CAPTURED) {
                cap[ncap++] = (captured){q[k].data, q[k].len, q[k].stream, q[k].from, to, now};
            } else {
                free(q[k].data);
            }
        }
    }
}

static void run_until(uint64_t *now, uint64_t end)
{
    for (; *now < end; *now += 10) step(*now);
}

static void gen_membership(void)
{
    uint64_t now = 1000;
    for (int i = 0; i < NODES; i++) {
        hs_config cfg;
        hs_config_default(&cfg);
        strcpy(cfg.name, names[i]);
        cfg.addr = node_addr(i);
        char tags[64];
        int tl = snprintf(tags, sizeof(tags), "role=r%d%czone=z%d", i, 0, i % 2) + 1;
        nodes[i] = hs_node_new(&cfg, (hs_tags){tags, (size_t)tl}, 0, now, 100 + (uint64_t)i);
        if (!nodes[i]) abort();
    }
    hs_addr seed = node_addr(1);
    for (int i = 0; i < NODES; i++)
        if (i != 1) hs_node_join(nodes[i], now, &seed, 1);
    run_until(&now, 20000);
    static const char t2[] = "role=db\0dc=x";
    hs_node_set_tags(nodes[2], now, (hs_tags){t2, sizeof(t2)});
    hs_node_set_config_version(nodes[3], 7);
    run_until(&now, 30000);
    down[4] = true; /* node-e crashes: suspicion, indirect probes, votes, fail */
    run_until(&now, 60000);
    hs_node_leave(nodes[5], now); /* node-f leaves */
    run_until(&now, 70000);
    down[4] = false; /* node-e comes back and refutes */
    run_until(&now, 90000);
    /* broken links: direct probes fail, indirect ones (PingReq, IndirectAck) succeed */
    for (int i = 0; i < NODES; i++)
        for (int j = 0; j < NODES; j++) cut[i][j] = i != j && (i + j) % 3 == 0;
    run_until(&now, 110000);
    memset(cut, 0, sizeof(cut));
    run_until(&now, 120000);

    /* raw messages: up to 4 distinct of each type, sent to anyone */
    int per_type[256] = {0};
    char name[64];
    for (size_t i = 0; i < ncap; i++) {
        uint8_t t = cap[i].data[0];
        if (per_type[t] >= 4) continue;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = cap[j].len == cap[i].len && !memcmp(cap[j].data, cap[i].data, cap[i].len);
        if (dup) continue;
        snprintf(name, sizeof(name), "msg-%02x-%d", t, per_type[t]++);
        save("membership", name, cap[i].data, cap[i].len);
    }
    /* record sequences: windows of 12 consecutive messages to fuzz-self, as the harness's
     * split mode reads them */
    static captured mine[CAPTURED];
    size_t nmine = 0;
    for (size_t i = 0; i < ncap; i++)
        if (cap[i].to == 0) mine[nmine++] = cap[i];
    int seqs = 0;
    for (size_t start = 0; start < nmine && seqs < 16; start += nmine / 16 + 1, seqs++) {
        const captured *c = mine;
        uint8_t buf[16384];
        size_t len = 0;
        uint64_t prev = c[start].at;
        for (size_t i = start; i < nmine && i < start + 12; i++) {
            if (len + 3 + c[i].len > sizeof(buf)) break;
            uint64_t steps = (c[i].at - prev) / 250;
            if (steps > 7) steps = 7;
            prev = c[i].at;
            int from = c[i].from >= 1 && c[i].from <= 4 ? c[i].from - 1 : 0;
            buf[len++] = (uint8_t)(c[i].len >> 8);
            buf[len++] = (uint8_t)c[i].len;
            buf[len++] = (uint8_t)((c[i].stream ? 1 : 0) | from << 1 | steps << 3);
            memcpy(buf + len, c[i].data, c[i].len);
            len += c[i].len;
        }
        snprintf(name, sizeof(name), "seq-%02d", seqs);
        save("membership", name, buf, len);
    }
}

/* Three nodes with 2 s reap times: node-c leaves and is reaped, then starts again with a
 * wiped incarnation and is told its tombstone (TOMBS answers, TOMBS after every Meet). Saves
 * the first TOMBS messages sent, and the last 12 messages to fuzz-self as a record
 * sequence. Runs last (it reuses the nodes' slots and adds to the captures). */
static void gen_tombs(void)
{
    uint64_t now = 200000;
    size_t first = ncap;
    for (int i = 0; i < NODES; i++) {
        hs_node_free(nodes[i]);
        nodes[i] = NULL;
        down[i] = i >= 3;
    }
    memset(cut, 0, sizeof(cut));
    for (int i = 0; i < 3; i++) {
        hs_config cfg;
        hs_config_default(&cfg);
        strcpy(cfg.name, names[i]);
        cfg.addr = node_addr(i);
        cfg.reap_failed_ms = cfg.reap_left_ms = 2000;
        nodes[i] = hs_node_new(&cfg, (hs_tags){NULL, 0}, i == 2 ? 0 : 5, now, 300 + (uint64_t)i);
        if (!nodes[i]) abort();
    }
    hs_addr seed = node_addr(0);
    for (int i = 1; i < 3; i++) hs_node_join(nodes[i], now, &seed, 1);
    run_until(&now, 205000);
    hs_node_leave(nodes[2], now);
    run_until(&now, 206000);
    down[2] = true;
    run_until(&now, 212000); /* reaped: tombstones */
    hs_config cfg;
    hs_config_default(&cfg);
    strcpy(cfg.name, names[2]);
    cfg.addr = node_addr(2);
    hs_node_free(nodes[2]);
    nodes[2] = hs_node_new(&cfg, (hs_tags){NULL, 0}, 0, now, 399);
    if (!nodes[2]) abort();
    down[2] = false;
    hs_node_join(nodes[2], now, &seed, 1);
    run_until(&now, 215000);
    int k = 0;
    char name[64];
    size_t last[12], nlast = 0;
    for (size_t i = first; i < ncap; i++) {
        if (cap[i].to == 0) last[nlast++ % 12] = i;
        if (cap[i].data[0] != HS_MSG_TOMBS || k >= 4) continue;
        snprintf(name, sizeof(name), "msg-%02x-%d", HS_MSG_TOMBS, k++);
        save("membership", name, cap[i].data, cap[i].len);
    }
    if (k == 0) {
        fprintf(stderr, "gen_corpus: no TOMBS message captured\n");
        exit(1);
    }
    uint8_t buf[16384];
    size_t len = 0;
    for (size_t j = nlast > 12 ? nlast - 12 : 0; j < nlast; j++) {
        const captured *c = &cap[last[j % 12]];
        if (len + 3 + c->len > sizeof(buf)) break;
        int from = c->from >= 1 && c->from <= 4 ? c->from - 1 : 0;
        buf[len++] = (uint8_t)(c->len >> 8);
        buf[len++] = (uint8_t)c->len;
        buf[len++] = (uint8_t)((c->stream ? 1 : 0) | from << 1);
        memcpy(buf + len, c->data, c->len);
        len += c->len;
    }
    save("membership", "seq-tombs", buf, len);
}

/* ---------------- envelope ---------------- */

static void gen_envelope(void)
{
    hs_envelope sealed, insecure;
    uint8_t key[HS_ENV_KEY_BYTES];
    if (hs_env_init(&sealed, "fuzz-cluster", false) != 0) abort();
    if (hs_env_init(&insecure, "fuzz-cluster", true) != 0) abort();
    char name[64];
    uint8_t frame[70000];
    size_t flen;
    int n = 0;
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < HS_ENV_KEY_BYTES; i++) key[i] = (uint8_t)(k * 64 + i);
        if (hs_env_add_key(&sealed, key) != 0) abort();
        char text[HS_ENV_KEY_B64_LEN + 2];
        hs_env_key_encode(key, text, sizeof(text));
        snprintf(name, sizeof(name), "keytext-%d", k);
        strcat(text, "\n");
        save("envelope", name, text, strlen(text));
    }
    for (size_t i = 0; i < ncap && n < 12; i += ncap / 12 + 1, n++) {
        /* seal with each key as primary in turn */
        for (int k = 0; k < HS_ENV_KEY_BYTES; k++) key[k] = (uint8_t)((n % 3) * 64 + k);
        hs_env_use_key(&sealed, key);
        uint8_t nonce[HS_ENV_NONCE_BYTES] = {(uint8_t)n};
        if (hs_env_seal(&sealed, nonce, cap[i].data, cap[i].len, frame, sizeof(frame), &flen) !=
            HS_ENV_OK)
            abort();
        snprintf(name, sizeof(name), "sealed-%02d", n);
        save("envelope", name, frame, flen);
        if (n % 3 == 0) {
            if (hs_env_seal(&insecure, NULL, cap[i].data, cap[i].len, frame, sizeof(frame),
                            &flen) != HS_ENV_OK)
                abort();
            snprintf(name, sizeof(name), "insecure-%02d", n);
            save("envelope", name, frame, flen);
        }
    }
    uint8_t nonce[HS_ENV_NONCE_BYTES] = {0};
    if (hs_env_seal(&sealed, nonce, (const uint8_t *)"", 0, frame, sizeof(frame), &flen) !=
        HS_ENV_OK)
        abort();
    save("envelope", "sealed-empty", frame, flen);
    if (hs_env_seal(&insecure, NULL, (const uint8_t *)"", 0, frame, sizeof(frame), &flen) !=
        HS_ENV_OK)
        abort();
    save("envelope", "insecure-empty", frame, flen);
}

/* ---------------- raft ---------------- */

static void save_raft(const char *name, const hs_raft_msg *m)
{
    uint8_t buf[4096];
    size_t n = hs_raft_msg_encode(m, buf, sizeof(buf));
    if (!n) abort();
    save("raft_codec", name, buf, n);
}

static hs_raft_peer peer(uint64_t id, const char *name, uint8_t last)
{
    hs_raft_peer p;
    memset(&p, 0, sizeof(p));
    p.id = id;
    strcpy(p.name, name);
    p.addr = hs_addr_v4(10, 0, 0, last, 7946);
    return p;
}

static void gen_raft(void)
{
    hs_raft_msg m;
    memset(&m, 0, sizeof(m));
    m.from = 1;
    m.to = 2;
    m.term = 5;
    m.type = HS_RAFT_MSG_APPEND;
    m.log_index = 10;
    m.log_term = 4;
    m.commit = 9;
    m.ctx = 3;
    save_raft("append-heartbeat", &m);
    hs_raft_entry ents[3];
    uint8_t cc_buf[128];
    hs_raft_conf_change cc = {.op = HS_RAFT_ADD_SEED, .peer = peer(4, "seed-4", 4)};
    size_t ccn = hs_raft_conf_change_encode(&cc, cc_buf, sizeof(cc_buf));
    if (!ccn) abort();
    save("raft_codec", "confchange-add", cc_buf, ccn);
    hs_raft_conf_change rc = {.op = HS_RAFT_REMOVE_SEED, .peer = peer(2, "seed-2", 2)};
    uint8_t rc_buf[128];
    size_t rcn = hs_raft_conf_change_encode(&rc, rc_buf, sizeof(rc_buf));
    if (!rcn) abort();
    save("raft_codec", "confchange-remove", rc_buf, rcn);
    static uint8_t data[] = "\x01\x02\x04key1\x03val";
    ents[0] = (hs_raft_entry){4, 11, HS_RAFT_ENTRY_NOOP, 0, NULL};
    ents[1] = (hs_raft_entry){5, 12, HS_RAFT_ENTRY_NORMAL, sizeof(data) - 1, data};
    ents[2] = (hs_raft_entry){5, 13, HS_RAFT_ENTRY_CONF, (uint32_t)ccn, cc_buf};
    m.entries = ents;
    m.n_entries = 3;
    save_raft("append-entries", &m);
    m.entries = NULL;
    m.n_entries = 0;
    m.type = HS_RAFT_MSG_APPEND_RESP;
    m.index = 13;
    save_raft("append-resp-ok", &m);
    m.reject = true;
    m.index = 7;
    save_raft("append-resp-reject", &m);
    m.reject = false;
    m.type = HS_RAFT_MSG_VOTE;
    save_raft("vote", &m);
    m.type = HS_RAFT_MSG_PREVOTE;
    save_raft("prevote", &m);
    m.type = HS_RAFT_MSG_VOTE_RESP;
    save_raft("vote-resp", &m);
    m.reject = true;
    m.type = HS_RAFT_MSG_PREVOTE_RESP;
    save_raft("prevote-resp-reject", &m);
    m.reject = false;
    m.type = HS_RAFT_MSG_READINDEX;
    m.ctx = 77;
    save_raft("readindex", &m);
    m.type = HS_RAFT_MSG_READINDEX_RESP;
    m.index = 12;
    save_raft("readindex-resp", &m);
    m.type = HS_RAFT_MSG_SNAPSHOT;
    m.snapshot.index = 12;
    m.snapshot.term = 5;
    m.snapshot.conf.n = 3;
    m.snapshot.conf.peers[0] = peer(1, "seed-1", 1);
    m.snapshot.conf.peers[1] = peer(2, "seed-2", 2);
    m.snapshot.conf.peers[2] = peer(3, "seed-3", 3);
    static uint8_t snap[] = "HSCC-snapshot-bytes";
    m.snapshot.len = sizeof(snap) - 1;
    m.snapshot.data = snap;
    save_raft("snapshot", &m);
}

/* ---------------- raft step sequences ---------------- */

static uint8_t seqbuf[16384];
static size_t seqlen;

static void rec(uint8_t ctl, const hs_raft_msg *m)
{
    size_t n = 0;
    if (m) {
        n = hs_raft_msg_encode(m, seqbuf + seqlen + 3, sizeof(seqbuf) - seqlen - 3);
        if (!n) abort();
    }
    seqbuf[seqlen] = ctl;
    seqbuf[seqlen + 1] = (uint8_t)(n >> 8);
    seqbuf[seqlen + 2] = (uint8_t)n;
    seqlen += 3 + n;
}

static hs_raft_msg rmsg(uint8_t type, uint64_t from, uint64_t term)
{
    hs_raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = from;
    m.to = 1;
    m.term = term;
    return m;
}

static void gen_raft_step(void)
{
    /* node 1 (term 2, log 1..3) times out, wins the pre-vote and the vote, replicates */
    seqlen = 0;
    rec(7, NULL);
    rec(7, NULL);
    hs_raft_msg m = rmsg(HS_RAFT_MSG_PREVOTE_RESP, 2, 3);
    rec(0, &m);
    m = rmsg(HS_RAFT_MSG_VOTE_RESP, 2, 3);
    rec(0, &m);
    m = rmsg(HS_RAFT_MSG_APPEND_RESP, 2, 3);
    m.index = 4;
    rec(1, &m);
    m.index = 5;
    rec(16 | 32 | 1, &m);
    m = rmsg(HS_RAFT_MSG_APPEND_RESP, 3, 3);
    m.index = 2;
    m.reject = true;
    rec(1, &m);
    m = rmsg(HS_RAFT_MSG_READINDEX, 3, 3);
    m.ctx = 9;
    rec(64 | 1, &m);
    m = rmsg(HS_RAFT_MSG_APPEND_RESP, 2, 3);
    m.index = 5;
    m.ctx = 1;
    rec(7, &m);
    rec(7, NULL);
    save("raft_step", "leader", seqbuf, seqlen);

    /* node 1 follows node 2, gets entries, a snapshot, a read index, then votes for 3 */
    seqlen = 0;
    static uint8_t d[] = "data";
    hs_raft_entry ents[2] = {{3, 4, HS_RAFT_ENTRY_NOOP, 0, NULL},
                             {3, 5, HS_RAFT_ENTRY_NORMAL, 4, d}};
    m = rmsg(HS_RAFT_MSG_APPEND, 2, 3);
    m.log_index = 3;
    m.log_term = 2;
    m.commit = 5;
    m.entries = ents;
    m.n_entries = 2;
    rec(1, &m);
    m = rmsg(HS_RAFT_MSG_APPEND, 2, 3);
    m.log_index = 5;
    m.log_term = 3;
    m.commit = 5;
    rec(1 | 32, &m);
    m = rmsg(HS_RAFT_MSG_READINDEX_RESP, 2, 3);
    m.ctx = 1;
    m.index = 5;
    rec(64, &m);
    m = rmsg(HS_RAFT_MSG_SNAPSHOT, 2, 4);
    m.commit = 10;
    m.snapshot.index = 10;
    m.snapshot.term = 4;
    m.snapshot.conf.n = 3;
    m.snapshot.conf.peers[0] = peer(1, "seed-1", 1);
    m.snapshot.conf.peers[1] = peer(2, "seed-2", 2);
    m.snapshot.conf.peers[2] = peer(3, "seed-3", 3);
    m.snapshot.len = 4;
    m.snapshot.data = d;
    rec(1, &m);
    m = rmsg(HS_RAFT_MSG_VOTE, 3, 5);
    m.log_index = 10;
    m.log_term = 4;
    rec(7, &m);
    m = rmsg(HS_RAFT_MSG_PREVOTE, 3, 6);
    m.log_index = 10;
    m.log_term = 4;
    rec(7, &m);
    save("raft_step", "follower", seqbuf, seqlen);

    /* a stale leader, a message for someone else, an Append that does not match */
    seqlen = 0;
    m = rmsg(HS_RAFT_MSG_APPEND, 3, 1);
    rec(0, &m);
    m = rmsg(HS_RAFT_MSG_VOTE, 3, 9);
    m.to = 2;
    rec(8, &m);
    m = rmsg(HS_RAFT_MSG_APPEND, 2, 2);
    m.log_index = 7;
    m.log_term = 2;
    rec(1, &m);
    save("raft_step", "odd", seqbuf, seqlen);
}

/* ---------------- cluster config ---------------- */

static size_t put_cmd(uint8_t *buf, size_t cap, const hs_cc_cmd *cmd)
{
    size_t n = hs_cc_cmd_encode(cmd, buf, cap);
    if (!n) abort();
    return n;
}

static void gen_cluster_config(void)
{
    hs_cc_cmd cmds[12];
    memset(cmds, 0, sizeof(cmds));
    cmds[0].op = HS_CC_SET_NAME;
    strcpy(cmds[0].key, "prod");
    cmds[1].op = HS_CC_ADD_SEED;
    cmds[1].seed.id = 2;
    strcpy(cmds[1].seed.name, "seed-2");
    cmds[1].seed.addr = hs_addr_v4(10, 0, 0, 2, 7946);
    cmds[2].op = HS_CC_KEY_INSTALL;
    memset(cmds[2].key_bytes, 0x22, HS_CC_KEY_BYTES);
    cmds[3].op = HS_CC_KEY_USE;
    memset(cmds[3].key_bytes, 0x22, HS_CC_KEY_BYTES);
    cmds[4].op = HS_CC_KEY_REMOVE;
    memset(cmds[4].key_bytes, 0x11, HS_CC_KEY_BYTES);
    cmds[5].op = HS_CC_SET;
    strcpy(cmds[5].key, "log_level");
    strcpy(cmds[5].value, "debug");
    cmds[6].op = HS_CC_SET_FD;
    strcpy(cmds[6].key, "vote_group_size");
    strcpy(cmds[6].value, "5");
    cmds[7].op = HS_CC_DELETE;
    strcpy(cmds[7].key, "log_level");
    cmds[8].op = HS_CC_DELETE_FD;
    strcpy(cmds[8].key, "probe_interval_ms");
    cmds[9].op = HS_CC_REMOVE_NODE;
    strcpy(cmds[9].key, "bad-node");
    cmds[10].op = HS_CC_READMIT_NODE;
    strcpy(cmds[10].key, "bad-node");
    cmds[11].op = HS_CC_REMOVE_SEED;
    strcpy(cmds[11].seed.name, "seed-2");

    uint8_t buf[HS_CC_CMD_MAX];
    char name[64];
    uint8_t seq[8192];
    size_t slen = 0;
    for (int i = 0; i < 12; i++) {
        size_t n = put_cmd(buf, sizeof(buf), &cmds[i]);
        snprintf(name, sizeof(name), "cmd-%02d", cmds[i].op);
        save("cluster_config", name, buf, n);
        seq[slen++] = (uint8_t)(n >> 8);
        seq[slen++] = (uint8_t)n;
        memcpy(seq + slen, buf, n);
        slen += n;
        if (i == 6) save("cluster_config", "seq-first-half", seq, slen);
    }
    save("cluster_config", "seq-all", seq, slen);
    hs_raft_conf_change cc = {.op = HS_RAFT_ADD_SEED, .peer = peer(3, "seed-3", 3)};
    size_t n = hs_raft_conf_change_encode(&cc, buf, sizeof(buf));
    uint8_t rec[256] = {(uint8_t)(n >> 8), (uint8_t)n};
    memcpy(rec + 2, buf, n);
    save("cluster_config", "seq-raft-conf", rec, n + 2);

    /* client sessions: a change, its duplicate, the same seq for another request (conflict),
     * a later one raising the floor, then the first again (stale); a tagged seed change */
    slen = 0;
    hs_cc_cmd t = cmds[5];
    for (int i = 0; i < 5; i++) {
        uint64_t sq = i == 3 ? 3 : 1;
        t.tag = (hs_cc_tag){.session = 77, .born = 0, .seq = sq, .floor = i == 3 ? 3 : 1};
        snprintf(t.value, sizeof(t.value), i == 2 ? "other" : "debug");
        size_t tn = put_cmd(buf, sizeof(buf), &t);
        seq[slen++] = (uint8_t)(tn >> 8);
        seq[slen++] = (uint8_t)tn;
        memcpy(seq + slen, buf, tn);
        slen += tn;
    }
    hs_raft_conf_change tc = {.op = HS_RAFT_ADD_SEED, .peer = peer(4, "seed-4", 4)};
    hs_cc_conf_set_tag(&tc, &(hs_cc_tag){.session = 78, .seq = 1, .floor = 1});
    n = hs_raft_conf_change_encode(&tc, buf, sizeof(buf));
    seq[slen++] = (uint8_t)(n >> 8);
    seq[slen++] = (uint8_t)n;
    memcpy(seq + slen, buf, n);
    slen += n;
    save("cluster_config", "seq-sessions", seq, slen);

    static hs_cluster_config c, full;
    static uint8_t ser[HS_CC_SNAPSHOT_MAX];
    hs_cc_init(&c);
    n = hs_cc_serialize(&c, ser, sizeof(ser));
    save("cluster_config", "config-empty", ser, n);
    hs_cc_cmd base_seed;
    memset(&base_seed, 0, sizeof(base_seed));
    base_seed.op = HS_CC_ADD_SEED;
    base_seed.seed.id = 1;
    strcpy(base_seed.seed.name, "seed-1");
    base_seed.seed.addr = hs_addr_v4(10, 0, 0, 1, 7946);
    hs_cc_apply(&c, &cmds[0]);
    hs_cc_apply(&c, &base_seed);
    for (int i = 1; i < 7; i++) hs_cc_apply(&c, &cmds[i]);
    hs_cc_apply(&c, &cmds[9]);
    n = hs_cc_serialize(&c, ser, sizeof(ser));
    save("cluster_config", "config-typical", ser, n);
    /* full tables, for the bounds */
    full = c;
    for (int i = 0; i < 40; i++) {
        hs_cc_cmd s;
        memset(&s, 0, sizeof(s));
        s.op = i % 2 ? HS_CC_SET : HS_CC_REMOVE_NODE;
        snprintf(s.key, sizeof(s.key), "k%02d", i);
        snprintf(s.value, sizeof(s.value), "value-%d", i);
        hs_cc_apply(&full, &s);
    }
    n = hs_cc_serialize(&full, ser, sizeof(ser));
    save("cluster_config", "config-larger", ser, n);
    /* a snapshot with sessions (format 2) */
    for (uint64_t i = 1; i <= 12; i++) {
        hs_cc_cmd s = cmds[5];
        s.tag =
            (hs_cc_tag){.session = 100 + i % 3, .born = 0, .seq = i, .floor = i > 4 ? i - 4 : 1};
        hs_cc_apply(&full, &s);
    }
    n = hs_cc_serialize_snapshot(&full, ser, sizeof(ser));
    save("cluster_config", "snapshot-sessions", ser, n);
}

/* ---------------- daemon dispatch ---------------- */

static void drec(uint8_t flags, const uint8_t *p, size_t n)
{
    if (seqlen + 3 + n > sizeof(seqbuf)) abort();
    seqbuf[seqlen] = flags;
    seqbuf[seqlen + 1] = (uint8_t)(n >> 8);
    seqbuf[seqlen + 2] = (uint8_t)n;
    memcpy(seqbuf + seqlen + 3, p, n);
    seqlen += 3 + n;
}

static void drec_raft(uint8_t flags, const hs_raft_msg *m)
{
    uint8_t buf[2048];
    size_t n = hs_raft_msg_encode(m, buf, sizeof(buf));
    if (!n) abort();
    drec(flags, buf, n);
}

static void gen_dispatch(void)
{
    char name[64];
    /* membership messages to the agent, as datagrams and streams */
    for (int k = 0; k < 4; k++) {
        seqlen = 0;
        int got = 0;
        for (size_t i = (size_t)k * 97; i < ncap && got < 6; i += 13, got++)
            drec(cap[i].stream ? 1 : 0, cap[i].data, cap[i].len);
        snprintf(name, sizeof(name), "membership-%d", k);
        save("dispatch", name, seqbuf, seqlen);
    }
    /* Raft: ids are rewritten by the harness (flag 8) */
    seqlen = 0;
    hs_raft_msg m = rmsg(HS_RAFT_MSG_VOTE, 2, 3);
    m.log_index = 5;
    m.log_term = 3;
    drec_raft(1 | 8, &m);
    m = rmsg(HS_RAFT_MSG_APPEND, 2, 3);
    static uint8_t d[] = "x";
    hs_raft_entry e = {3, 1, HS_RAFT_ENTRY_NOOP, 0, NULL};
    m.entries = &e;
    m.n_entries = 1;
    drec_raft(1 | 8, &m);
    m = rmsg(HS_RAFT_MSG_APPEND, 2, 3);
    m.log_index = 1;
    m.log_term = 3;
    m.commit = 1;
    drec_raft(1 | 8, &m);
    m = rmsg(HS_RAFT_MSG_PREVOTE, 4, 4);
    m.log_index = 1;
    m.log_term = 3;
    drec_raft(1 | 8 | 2, &m);
    m = rmsg(HS_RAFT_MSG_READINDEX_RESP, 2, 3);
    m.ctx = 1;
    m.index = 1;
    drec_raft(1 | 8, &m);
    save("dispatch", "raft", seqbuf, seqlen);

    /* a snapshot carrying a serialized configuration, then an append after it */
    static hs_cluster_config c;
    static uint8_t ser[HS_CC_SNAPSHOT_MAX], shipped[HS_CC_SERIALIZED_MAX];
    hs_cc_init(&c);
    hs_cc_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = HS_CC_SET_NAME;
    strcpy(cmd.key, "hearsay");
    hs_cc_apply(&c, &cmd);
    cmd.op = HS_CC_SET;
    strcpy(cmd.key, "log_level");
    strcpy(cmd.value, "debug");
    cmd.tag = (hs_cc_tag){.session = 77, .born = 0, .seq = 1, .floor = 1};
    hs_cc_apply(&c, &cmd);
    memset(&cmd.tag, 0, sizeof(cmd.tag));
    size_t sn = hs_cc_serialize_snapshot(&c, ser, sizeof(ser)); /* with the session */
    size_t shn = hs_cc_serialize(&c, shipped, sizeof(shipped));
    seqlen = 0;
    m = rmsg(HS_RAFT_MSG_SNAPSHOT, 2, 5);
    m.commit = 20;
    m.snapshot.index = 20;
    m.snapshot.term = 5;
    m.snapshot.conf.n = 3;
    m.snapshot.conf.peers[0] = peer(1, "fuzz", 1);
    m.snapshot.conf.peers[1] = peer(2, "seed-b", 2);
    m.snapshot.conf.peers[2] = peer(3, "seed-c", 3);
    m.snapshot.len = (uint32_t)sn;
    m.snapshot.data = ser;
    drec_raft(1 | 8, &m);
    uint8_t cmdbuf[HS_CC_CMD_MAX];
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = HS_CC_SET_FD;
    strcpy(cmd.key, "probe_interval_ms");
    strcpy(cmd.value, "500");
    cmd.tag = (hs_cc_tag){.session = 77, .born = 0, .seq = 2, .floor = 2};
    size_t cn = hs_cc_cmd_encode(&cmd, cmdbuf, sizeof(cmdbuf));
    hs_raft_entry e2[2] = {{5, 21, HS_RAFT_ENTRY_NORMAL, (uint32_t)cn, cmdbuf},
                           {5, 22, HS_RAFT_ENTRY_NORMAL, 1, d}};
    m = rmsg(HS_RAFT_MSG_APPEND, 2, 5);
    m.log_index = 20;
    m.log_term = 5;
    m.commit = 22;
    m.entries = e2;
    m.n_entries = 2;
    drec_raft(1 | 8, &m);
    save("dispatch", "raft-snapshot", seqbuf, seqlen);

    /* the configuration client: fetch, fetch reply with a configuration, forwarded changes in
     * a session (a duplicate, another request under the same seq), a read, a seed change, a
     * delete, and answers */
    uint8_t buf[HS_CC_SERIALIZED_MAX + 1024];
    hs_writer w;
    seqlen = 0;
    hs_cfgc_wire cw[9];
    memset(cw, 0, sizeof(cw));
    cw[0] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FETCH, .version = 0};
    cw[1] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FETCH_RESP,
                           .version = c.version,
                           .clock = 1,
                           .config = shipped,
                           .config_len = (uint32_t)shn};
    strcpy(cw[1].leader, "seed-b");
    for (int i = 2; i <= 4; i++) {
        cw[i] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FWD,
                               .rid = (uint64_t)i,
                               .op = HS_CFGC_SET,
                               .tag = {.session = 9, .born = 1, .seq = 1, .floor = 1}};
        strcpy(cw[i].key, "log_level");
        strcpy(cw[i].value, i == 4 ? "other" : "info");
    }
    cw[5] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FWD, .rid = 5, .op = HS_CFGC_READ};
    strcpy(cw[5].key, "log_level");
    cw[6] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FWD,
                           .rid = 6,
                           .op = HS_CFGC_ADD_SEED,
                           .tag = {.session = 9, .born = 1, .seq = 2, .floor = 2}};
    strcpy(cw[6].key, "seed-d");
    strcpy(cw[6].value, "127.0.0.5:7946");
    cw[7] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FWD,
                           .rid = 7,
                           .op = HS_CFGC_DELETE,
                           .tag = {.session = 9, .born = 1, .seq = 3, .floor = 2}};
    strcpy(cw[7].key, "log_level");
    cw[8] = (hs_cfgc_wire){.type = HS_MSG_CONFIG_FWD_RESP,
                           .rid = 1,
                           .result = HS_CFGC_OK,
                           .version = 3,
                           .clock = 2,
                           .found = true};
    strcpy(cw[8].value, "info");
    strcpy(cw[8].leader, "seed-b");
    for (int i = 0; i < 9; i++) {
        size_t cwn = hs_cfgc_wire_encode(&cw[i], buf, sizeof(buf));
        if (!cwn) abort();
        drec(i == 3 ? 1 | 2 : 1, buf, cwn);
    }
    save("dispatch", "config", seqbuf, seqlen);

    /* key-ring survey: a query (datagram and stream) and answers with 0, 1 and 2 key ids */
    seqlen = 0;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_KEYS_QUERY);
    hs_put_u64(&w, 7);
    drec(0, buf, w.len);
    drec(1 | 2, buf, w.len);
    for (uint8_t k = 0; k < 3; k++) {
        hs_writer_init(&w, buf, sizeof(buf));
        hs_put_u8(&w, HS_MSG_KEYS_STATE);
        hs_put_u64(&w, 7);
        hs_put_u64(&w, 9);
        hs_put_u8(&w, k);
        for (uint8_t j = 0; j < k; j++) hs_put_u32(&w, 0x1a2b3c4du + j);
        drec(k & 1, buf, w.len);
    }
    if (!w.ok) abort();
    save("dispatch", "keys", seqbuf, seqlen);
}

/* ---------------- raft_load: storage files ---------------- */
#ifdef HS_GEN_RAFT_LOAD

static uint8_t lbuf[8192];
static size_t llen;

static void lput(const void *p, size_t n)
{
    if (llen + n > sizeof(lbuf)) abort();
    memcpy(lbuf + llen, p, n);
    llen += n;
}

/* header hard_len:u16 commit_len:u16 snap_len:u32 flags:u8, then the parts and the log */
static void save_load(const char *name, const uint8_t *hard, size_t hl, const uint8_t *commit,
                      size_t cl, const uint8_t *snap, size_t sl, uint8_t flags, const uint8_t *log,
                      size_t ll)
{
    llen = 0;
    uint8_t h[9] = {(uint8_t)(hl >> 8), (uint8_t)hl,         (uint8_t)(cl >> 8),
                    (uint8_t)cl,        (uint8_t)(sl >> 24), (uint8_t)(sl >> 16),
                    (uint8_t)(sl >> 8), (uint8_t)sl,         flags};
    lput(h, 9);
    lput(hard, hl);
    lput(commit, cl);
    lput(snap, sl);
    lput(log, ll);
    save("raft_load", name, lbuf, llen);
}

static void gen_raft_load(void)
{
    uint8_t hard[HSD_RSTORE_HARD_LEN], commit[HSD_RSTORE_COMMIT_LEN], log[4096], snap[1024];
    hs_raft_hard_state hs = {.term = 3, .vote = 2};
    hsd_rstore_encode_hard(&hs, hard);
    save_load("fresh", NULL, 0, NULL, 0, NULL, 0, 0, NULL, 0);
    /* entries 1..6 of terms 1,1,2,2,3,3, one a seed change; commit 5 */
    size_t ll = HSD_RSTORE_LOG_HDR, offs[7];
    hsd_rstore_encode_log_header(log);
    static const uint64_t terms[] = {1, 1, 2, 2, 3, 3};
    uint8_t cc[128];
    hs_raft_conf_change ch = {.op = HS_RAFT_ADD_SEED, .peer = peer(4, "s4", 4)};
    size_t ccn = hs_raft_conf_change_encode(&ch, cc, sizeof(cc));
    for (int i = 0; i < 6; i++) {
        hs_raft_entry e = {
            .term = terms[i], .index = (uint64_t)i + 1, .type = HS_RAFT_ENTRY_NORMAL};
        if (i == 0) e.type = HS_RAFT_ENTRY_NOOP;
        if (i == 3) {
            e.type = HS_RAFT_ENTRY_CONF;
            e.data = cc;
            e.len = (uint32_t)ccn;
        } else if (i) {
            e.data = (uint8_t *)"set k v";
            e.len = 7;
        }
        offs[i] = ll;
        ll += hsd_rstore_encode_record(&e, log + ll, sizeof(log) - ll);
    }
    offs[6] = ll;
    hsd_rstore_encode_commit(5, 3, commit);
    save_load("log6-commit5", hard, sizeof(hard), commit, sizeof(commit), NULL, 0, 3, log, ll);
    save_load("torn-tail", hard, sizeof(hard), commit, sizeof(commit), NULL, 0, 3, log,
              offs[5] + 15);
    save_load("no-commit-file", hard, sizeof(hard), NULL, 0, NULL, 0, 1, log, ll);
    uint8_t bad[4096];
    memcpy(bad, log, ll);
    bad[offs[2] + 20] ^= 0x40;
    save_load("flipped-byte", hard, sizeof(hard), commit, sizeof(commit), NULL, 0, 3, bad, ll);
    /* a snapshot at 2 (term 1) and the old log: the prefix it covers is dropped */
    hs_raft_snapshot sn = {.index = 2, .term = 1, .len = 4, .data = (uint8_t *)"HSCC"};
    sn.conf.n = 3;
    for (uint8_t i = 0; i < 3; i++) sn.conf.peers[i] = peer(i + 1, i == 0 ? "s1" : "s2", i + 1);
    snprintf(sn.conf.peers[2].name, sizeof(sn.conf.peers[2].name), "s3");
    size_t sl = hsd_rstore_encode_snapshot(&sn, snap, sizeof(snap));
    if (!sl) abort();
    save_load("snapshot-covered-prefix", hard, sizeof(hard), commit, sizeof(commit), snap, sl, 7,
              log, ll);
    /* the log rewritten after the snapshot: entries 3..6 only */
    uint8_t after[4096];
    hsd_rstore_encode_log_header(after);
    memcpy(after + HSD_RSTORE_LOG_HDR, log + offs[2], ll - offs[2]);
    save_load("snapshot-then-log", hard, sizeof(hard), commit, sizeof(commit), snap, sl, 7, after,
              HSD_RSTORE_LOG_HDR + ll - offs[2]);
    /* after hearsayd --raft-reset: a recovering hard state alone */
    hs_raft_hard_state rec = {.term = 3, .vote = 2, .recovering = true};
    hsd_rstore_encode_hard(&rec, hard);
    save_load("recovering", hard, sizeof(hard), NULL, 0, NULL, 0, 1, NULL, 0);
}
#else
static void gen_raft_load(void) {}
#endif
/* ---------------- channel (fuzz_channel.c; records in channel_fixture.h) ---------------- */

static void c8(uint8_t v)
{
    if (seqlen + 1 > sizeof(seqbuf)) abort();
    seqbuf[seqlen++] = v;
}

static void c16(size_t v)
{
    c8((uint8_t)(v >> 8));
    c8((uint8_t)v);
}

static void c64(uint64_t v)
{
    for (int i = 7; i >= 0; i--) c8((uint8_t)(v >> (8 * i)));
}

static void cbytes(const void *p, size_t n)
{
    c16(n);
    if (seqlen + n > sizeof(seqbuf)) abort();
    memcpy(seqbuf + seqlen, p, n);
    seqlen += n;
}

static void cstart(uint8_t c0, uint8_t c1)
{
    seqlen = 0;
    c8(c0);
    c8(c1);
}

static void csend(int src, int dst, const char *text)
{
    c8(FX_SEND);
    c8((uint8_t)src);
    c8((uint8_t)dst);
    cbytes(text, strlen(text));
}

static void cdeliver(uint8_t k, uint8_t how)
{
    c8(FX_DELIVER);
    c8(k);
    c8(how);
}

/* The handshake of a first datagram src -> dst as operations: the datagram (challenged), the
 * challenge back (a proof and the datagram again), the proof, the resend, then the original
 * and the resend once more (replays). */
static void chandshake(int src, int dst, const char *text)
{
    csend(src, dst, text); /* pool: d */
    cdeliver(0, 0);        /* d, c */
    cdeliver(0, 0);        /* d, c, p, r */
    cdeliver(1, 0);        /* the proof */
    cdeliver(0, 0);        /* the resend: delivered */
    cdeliver(3, 0);        /* the original: a replay */
    cdeliver(0, 0);        /* the resend again: a replay */
}

/* A channel as the harness makes instance i (first incarnation) under setup s. */
typedef struct gch {
    hs_envelope env;
    hs_channel *ch;
} gch;

static void gch_init(gch *g, const fx_setup *s, int i)
{
    hs_ch_cfg c;
    if (fx_env_init(&g->env, false, 2) != 0) abort();
    fx_channel_cfg(s, fx_instance_id(i, 0), &c);
    g->ch = hs_channel_new(&c, &g->env, s->start_ms);
    if (!g->ch) abort();
}

typedef struct gdg {
    uint8_t b[2048];
    size_t len;
} gdg;

static gdg gseal(gch *g, int to, const char *text)
{
    gdg d;
    hs_addr a = fx_addr(to);
    if (hs_ch_seal_dgram(g->ch, 0, &a, (const uint8_t *)text, strlen(text), d.b, sizeof(d.b),
                         &d.len) != HS_ENV_OK)
        abort();
    return d;
}

/* Datagram d reaches g from address `from`; up to 2 outputs into outs. */
static size_t gopen(gch *g, int from, const gdg *d, uint64_t now, gdg *outs)
{
    uint8_t plain[2048];
    size_t plen, k = 0;
    hs_env_result env;
    hs_ch_sender who;
    hs_addr a = fx_addr(from);
    (void)hs_ch_open_dgram(g->ch, now, &a, d->b, d->len, plain, sizeof(plain), &plen, &env, &who);
    hs_ch_output o;
    while (hs_ch_next_output(g->ch, &o)) {
        if (k == 2 || o.len > sizeof(outs[k].b)) abort();
        memcpy(outs[k].b, o.data, o.len);
        outs[k++].len = o.len;
    }
    return k;
}

static void craw(int dst, int from, const gdg *d)
{
    c8(FX_RAW);
    c8((uint8_t)dst);
    c8((uint8_t)from);
    cbytes(d->b, d->len);
}

static void cs_raw(uint8_t slot, uint8_t side, const gdg *f)
{
    c8(FX_S_RAW);
    c8(slot);
    c8(side);
    cbytes(f->b, f->len);
}

static void gen_channel(void)
{
    const char *dir = "channel";
    fx_setup s;

    /* datagrams as operations: handshakes both ways, replays from forged sources, a proven
     * instance heard from another address (challenged there), a key holder answering it */
    cstart(0, 0);
    chandshake(0, 1, "\x01ping");
    cdeliver(0, 5); /* the resend from a forged source: a replay, no answer */
    csend(0, 1, "\x07gossip");
    cdeliver(0, 0);
    csend(0, 1, "\x08meet");
    cdeliver(0, 4); /* from a forged source: challenged there */
    c8(FX_FORGE_PROOF);
    c8(0);
    c8(0);
    c64(100);
    c8(FX_TIME);
    c16(3000);
    chandshake(1, 0, "\x02pong");
    save(dir, "dgram-handshake", seqbuf, seqlen);

    /* three instances, a small table, key rotation and restarts (evictions) */
    cstart(1 | 32, 0); /* peers_max 4, three instances */
    chandshake(0, 1, "\x01a");
    chandshake(2, 1, "\x01b");
    for (uint8_t who = 0; who < 3; who++) {
        c8(FX_RING);
        c8(who);
        c8(2); /* add key 2 */
        c8(FX_RING);
        c8(who);
        c8(2 | 1 << 2); /* use key 2 */
    }
    csend(0, 1, "\x07under key 2");
    cdeliver(0, 0);
    c8(FX_RING);
    c8(1);
    c8(0 | 2 << 2); /* instance 1 removes key 0 */
    for (int i = 0; i < 6; i++) {
        c8(FX_RESTART);
        c8(2);
        chandshake(2, 1, "\x01again");
        c8(FX_TIME);
        c16(700);
    }
    cdeliver(40, 0); /* an old datagram of a dead instance */
    save(dir, "dgram-ring-restart", seqbuf, seqlen);

    /* a key holder claiming a stranger instance from a forged address, numbers near the
     * real counter, a challenge nobody asked for */
    cstart(32, 0);
    c8(FX_FORGE);
    c8(1);
    c8(FX_INST_MAX); /* from the first forged address */
    c8(0);
    c8(2 << 2 | 32); /* a stranger, padded so that it can be challenged */
    c64(1);
    cbytes("\x08meet", 5);
    c8(FX_FORGE_PROOF);
    c8(0);
    c8(0);
    c64(2);
    c8(FX_FORGE);
    c8(1);
    c8(FX_INST_MAX);
    c8(1);
    c8(2 << 2 | 32);
    c64(3);
    cbytes("\x08meet", 5);
    chandshake(0, 1, "\x01x");
    c8(FX_FORGE);
    c8(1);
    c8(0);
    c8(0);
    c8(16); /* instance 0, near its counter */
    c64(1);
    cbytes("\x01near", 5);
    static const uint8_t chal[1 + HS_CH_COOKIE_BYTES + 8] = {HS_MSG_CH_CHALLENGE};
    c8(FX_FORGE);
    c8(0);
    c8(1);
    c8(0);
    c8(1); /* instance 1 */
    c64(9);
    cbytes(chal, sizeof(chal));
    save(dir, "dgram-forge", seqbuf, seqlen);

    /* streams as operations: handshake, frames in and out of order, the recorded hello on a
     * new connection, a data frame first */
    cstart(0, 0);
    c8(FX_S_ACCEPT);
    c8(0);
    c8(0);
    c8(1); /* frames: ch */
    c8(FX_S_CHAL);
    c8(0);
    c8(0); /* ch, hello */
    c8(FX_S_RECV);
    c8(0);
    c8(0); /* the hello */
    for (int i = 0; i < 3; i++) {
        c8(FX_S_SEND);
        c8(0);
        cbytes("\x08meet", 5);
    } /* ch, hello, f1, f2, f3 */
    c8(FX_S_RECV);
    c8(0);
    c8(2); /* f1 */
    c8(FX_S_RECV);
    c8(0);
    c8(0); /* f3 */
    c8(FX_S_RECV);
    c8(0);
    c8(1); /* f2: older, the stream closes */
    c8(FX_S_ACCEPT);
    c8(1);
    c8(0);
    c8(1); /* ..., ch2 */
    c8(FX_S_RECV);
    c8(1);
    c8(4); /* the old hello */
    c8(FX_S_ACCEPT);
    c8(2);
    c8(0);
    c8(1);
    c8(FX_S_RECV);
    c8(2);
    c8(2); /* a data frame first */
    c8(FX_S_ACCEPT);
    c8(3);
    c8(0);
    c8(1);
    c8(FX_S_CHAL);
    c8(3);
    c8(0);
    c8(FX_S_RECV);
    c8(3);
    c8(0);
    c8(FX_S_FORGE); /* the connecting side's own frame numbered near its counter */
    c8(3);
    c8(0);
    c8(16 | 32);
    c64(1);
    cbytes("\x08x", 2);
    save(dir, "stream-handshake", seqbuf, seqlen);

    /* the real sealer's datagrams as raw records: the first datagram, the proof and the resend
     * of its handshake (made by channels configured like the harness's), more numbers, the
     * challenge back to an instance that never sent the datagram it refers to */
    fx_setup_decode(0, 0, &s);
    gch g0, g1;
    gch_init(&g0, &s, 0);
    gch_init(&g1, &s, 1);
    gdg d = gseal(&g0, 1, "\x01ping"), c[2], pr[2], none[2];
    if (gopen(&g1, 0, &d, 0, c) != 1 || gopen(&g0, 1, &c[0], 0, pr) != 2) abort();
    cstart(0, 0);
    craw(1, 0, &d);
    craw(1, 0, &pr[0]);
    craw(1, 0, &pr[1]);
    craw(1, 0, &d);
    craw(1, 0, &pr[1]);
    craw(0, 1, &c[0]);
    gopen(&g1, 0, &pr[0], 0, none);
    gopen(&g1, 0, &pr[1], 0, none);
    for (int i = 0; i < 4; i++) {
        gdg more = gseal(&g0, 1, "\x07more");
        craw(1, 0, &more);
        craw(1, FX_INST_MAX, &more);
    }
    save(dir, "dgram-raw", seqbuf, seqlen);

    /* the real sealer's stream frames as raw records: harness instance 1's first challenge is
     * the one g1 makes, so g0's hello for it opens the stream there */
    hs_ch_stream acc, con;
    memset(&con, 0, sizeof(con));
    gdg ch, hello;
    hs_env_result env;
    hs_addr a0 = fx_addr(0);
    if (hs_ch_stream_accept(g1.ch, &acc, 0, ch.b, sizeof(ch.b), &ch.len) != 0) abort();
    if (hs_ch_stream_challenged(g0.ch, &con, ch.b, ch.len, &a0, hello.b, sizeof(hello.b),
                                &hello.len, &env) != HS_CH_CONTROL)
        abort();
    gdg f[3];
    for (int i = 0; i < 3; i++)
        if (hs_ch_seal_frame(g0.ch, &con, (const uint8_t *)"\x08meet", 5, f[i].b, sizeof(f[i].b),
                             &f[i].len) != HS_ENV_OK)
            abort();
    cstart(0, 0);
    c8(FX_S_ACCEPT);
    c8(0);
    c8(0);
    c8(1);
    cs_raw(0, 0, &hello);
    cs_raw(0, 0, &f[0]);
    cs_raw(0, 0, &f[2]);
    cs_raw(0, 0, &f[1]);
    c8(FX_S_ACCEPT);
    c8(1);
    c8(1);
    c8(0);
    cs_raw(1, 1, &ch); /* instance 1's own challenge, to its connecting side */
    c8(FX_S_ACCEPT);
    c8(2);
    c8(0);
    c8(1);
    cs_raw(2, 0, &hello); /* a recorded hello on a new connection */
    save(dir, "stream-raw", seqbuf, seqlen);
    hs_channel_free(g0.ch);
    hs_channel_free(g1.ch);

    /* insecure envelopes and garbage: the channel passes them through, nothing to check but
     * memory */
    cstart(128, 0);
    chandshake(0, 1, "\x01plain");
    c8(FX_RAW);
    c8(1);
    c8(2);
    cbytes("\x02\x00garbage", 9);
    c8(FX_S_ACCEPT);
    c8(0);
    c8(0);
    c8(1);
    c8(FX_S_CHAL);
    c8(0);
    c8(0);
    c8(FX_S_RECV);
    c8(0);
    c8(0);
    c8(FX_S_SEND);
    c8(0);
    cbytes("\x08m", 2);
    c8(FX_S_RECV);
    c8(0);
    c8(0);
    save(dir, "insecure", seqbuf, seqlen);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    gen_membership();
    gen_envelope();
    gen_raft();
    gen_raft_step();
    gen_cluster_config();
    gen_dispatch();
    gen_raft_load();
    gen_tombs(); /* last: the others pick from the captures by their count */
    gen_channel();
    gen_user_events(root);
    printf("gen_corpus: %zu membership messages captured\n", ncap);
    for (size_t i = 0; i < ncap; i++) free(cap[i].data);
    return 0;
}
