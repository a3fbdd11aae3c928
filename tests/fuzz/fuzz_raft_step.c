/* fuzz_raft_step.c: libFuzzer harness for the Raft core (lib/raft.c) fed hostile messages: every
 * input is split into records ctl:u8 len:u16 bytes[len]; each record's bytes go through
 * hs_raft_msg_decode and, when they decode, into hs_raft_step of node 1 of a three-seed group.
 * ctl bits 0-2 advance the clock in 50 ms steps (so elections and heartbeats fire), bit 3
 * keeps the decoded `to` instead of forcing it to node 1, bit 4 proposes an entry (when
 * leader), bit 5 asks for a ReadIndex, bit 6 compacts the log at the applied index.
 *
 * After every record the node is ticked when due and every Ready is handled as the daemon
 * does it. Checked (Raft safety that no input may break): the term never goes back, the vote
 * never changes within a term, the commit index never goes back, committed entries come out
 * in index order without gaps, and every message the node sends encodes and decodes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/raft.h"

typedef struct watch {
    uint64_t term, vote, commit, applied;
} watch;

static hs_raft_peer peer(uint64_t id, const char *name, uint8_t last)
{
    hs_raft_peer p;
    memset(&p, 0, sizeof(p));
    p.id = id;
    strcpy(p.name, name);
    p.addr = hs_addr_v4(10, 0, 0, last, 7946);
    return p;
}

static hs_raft *make_node(uint64_t now)
{
    static uint8_t d1[] = "x", d2[] = "y";
    static hs_raft_entry ents[3] = {
        {1, 1, HS_RAFT_ENTRY_NOOP, 0, NULL},
        {2, 2, HS_RAFT_ENTRY_NORMAL, 1, d1},
        {2, 3, HS_RAFT_ENTRY_NORMAL, 1, d2},
    };
    hs_raft_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.id = 1;
    cfg.rng_seed = 7;
    cfg.election_min_ms = 150;
    cfg.election_max_ms = 300;
    cfg.heartbeat_ms = 50;
    cfg.peers.n = 3;
    cfg.peers.peers[0] = peer(1, "seed-1", 1);
    cfg.peers.peers[1] = peer(2, "seed-2", 2);
    cfg.peers.peers[2] = peer(3, "seed-3", 3);
    cfg.hard = (hs_raft_hard_state){.term = 2, .vote = 0, .commit = 2};
    cfg.entries = ents;
    cfg.n_entries = 3;
    hs_raft *r = hs_raft_new(&cfg, now);
    if (!r) abort();
    return r;
}

static void check_msg(const hs_raft_msg *m)
{
    size_t need = hs_raft_msg_size(m);
    if (need == 0) abort();
    uint8_t *buf = malloc(need);
    if (!buf) abort();
    size_t n = hs_raft_msg_encode(m, buf, need);
    /* only an oversized snapshot or append may fail to encode */
    if (n == 0 && m->type != HS_RAFT_MSG_SNAPSHOT && m->type != HS_RAFT_MSG_APPEND) abort();
    if (n) {
        hs_raft_msg back;
        if (hs_raft_msg_decode(buf, n, &back) != 0) abort();
        if (back.type != m->type || back.term != m->term || back.from != m->from ||
            back.to != m->to)
            abort();
        hs_raft_msg_release(&back);
    }
    free(buf);
}

static void handle_ready(hs_raft *r, watch *w)
{
    for (int k = 0; k < 16 && hs_raft_has_ready(r); k++) {
        hs_raft_ready rd;
        if (!hs_raft_get_ready(r, &rd)) break;
        if (rd.has_hard_state) {
            const hs_raft_hard_state *h = &rd.hard_state;
            if (h->term < w->term) abort();                                   /* term went back */
            if (h->term == w->term && w->vote && h->vote != w->vote) abort(); /* second vote */
            if (h->commit < w->commit) abort();                               /* commit went back */
            w->term = h->term;
            w->vote = h->vote;
            w->commit = h->commit;
        }
        if (rd.snapshot) w->applied = rd.snapshot->index;
        for (size_t i = 1; i < rd.n_entries; i++)
            if (rd.entries[i].index != rd.entries[i - 1].index + 1) abort();
        for (size_t i = 0; i < rd.n_committed; i++) {
            if (rd.committed[i].index != w->applied + 1) abort(); /* gap or reorder */
            w->applied = rd.committed[i].index;
        }
        for (size_t i = 0; i < rd.n_msgs; i++) check_msg(&rd.msgs[i]);
        if (rd.role == HS_RAFT_LEADER && rd.leader != 1) abort();
        hs_raft_advance(r, &rd);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20) return 0;
    uint64_t now = 1000;
    hs_raft *r = make_node(now);
    watch w = {2, 0, 2, 0};
    handle_ready(r, &w);
    w.applied = hs_raft_applied(r);
    size_t pos = 0;
    for (int k = 0; k < 128 && size - pos >= 3; k++) {
        uint8_t ctl = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos) len = size - pos;
        now += (uint64_t)(ctl & 7) * 50;
        uint8_t *rec = malloc(len ? len : 1);
        if (!rec) abort();
        if (len) memcpy(rec, data + pos, len);
        pos += len;
        hs_raft_msg m;
        if (hs_raft_msg_decode(rec, len, &m) == 0) {
            if (!(ctl & 8)) m.to = 1;
            (void)hs_raft_step(r, now, &m);
            hs_raft_msg_release(&m);
        }
        free(rec);
        if (hs_raft_next_deadline(r) <= now) hs_raft_tick(r, now);
        if ((ctl & 16) && hs_raft_get_role(r) == HS_RAFT_LEADER) {
            uint64_t idx, term;
            (void)hs_raft_propose(r, "fuzz", 4, &idx, &term);
        }
        if (ctl & 32) (void)hs_raft_read_index(r, (uint64_t)k + 1);
        handle_ready(r, &w);
        if (ctl & 64) (void)hs_raft_compact(r, hs_raft_applied(r), "snap", 4);
        if (hs_raft_commit(r) > hs_raft_last_index(r) && hs_raft_last_index(r) != 0) abort();
    }
    hs_raft_free(r);
    return 0;
}
