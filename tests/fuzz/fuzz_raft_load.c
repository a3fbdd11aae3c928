/* fuzz_raft_load.c: libFuzzer harness for the Raft storage loader (agent/daemon/raft_load.c),
 * the code that reads a seed's hardstate, commit, snapshot and log files at start.
 *
 * Input: hard_len:u16 commit_len:u16 snap_len:u32 flags:u8 (bit 0: a hardstate file exists,
 * bit 1: a commit file, bit 2: a snapshot file), then the hardstate, commit and snapshot bytes
 * and the rest as the log (lengths past the input are cut to it).
 * Checked when the load succeeds (a failed load must release everything): the log follows the
 * snapshot without a gap, indexes are consecutive, terms never go down, no entry (and no
 * snapshot) has a term above the hard state's, the commit index lies between the snapshot and
 * the last entry, the valid records and the torn tail add up to the log file, record offsets
 * grow; and the Raft core accepts the loaded state (hs_raft_new), ending at that commit index.
 * A load that "succeeds" with a log inconsistent with the hard state aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/raft.h"
#include "raft_storage.h"

static uint32_t be(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static void check(const hsd_rstore *s, size_t log_len)
{
    uint64_t prev = s->snap.index, prev_term = s->snap.term;
    for (size_t i = 0; i < s->n; i++) {
        const hs_raft_entry *e = &s->log[i];
        if (e->index != prev + 1 || e->term < prev_term || e->term == 0) abort();
        if (e->len > HS_RAFT_MAX_ENTRY || (e->len && !e->data)) abort();
        if (i > 0 && s->off[i] <= s->off[i - 1]) abort();
        if (s->off[i] < HSD_RSTORE_LOG_HDR || s->off[i] >= s->log_end) abort();
        prev = e->index;
        prev_term = e->term;
    }
    if (prev_term > s->hard.term) abort();
    if (s->hard.commit < s->snap.index || s->hard.commit > prev) abort();
    if (s->log_end < 0 || s->torn < 0 || (size_t)(s->log_end + s->torn) != log_len) abort();
    if (s->snap.index && (s->snap.conf.n == 0 || s->snap.conf.n > HS_RAFT_MAX_PEERS)) abort();

    hs_raft_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.id = 1;
    cfg.peers.n = 1;
    cfg.peers.peers[0].id = 1;
    cfg.hard = s->hard;
    cfg.snapshot = s->snap.index ? &s->snap : NULL;
    cfg.entries = s->log;
    cfg.n_entries = s->n;
    hs_raft *r = hs_raft_new(&cfg, 0);
    if (!r) abort();
    if (hs_raft_commit(r) != s->hard.commit || hs_raft_last_index(r) != prev) abort();
    hs_raft_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9) return 0;
    size_t lens[3] = {be(data, 2), be(data + 2, 2), be(data + 4, 4)};
    uint8_t flags = data[8];
    const uint8_t *p = data + 9;
    size_t left = size - 9;
    const uint8_t *part[3];
    for (int i = 0; i < 3; i++) {
        if (lens[i] > left) lens[i] = left;
        part[i] = p;
        p += lens[i];
        left -= lens[i];
    }
    hsd_rstore_files f = {.hard = part[0],
                          .hard_len = lens[0],
                          .have_hard = flags & 1,
                          .commit = part[1],
                          .commit_len = lens[1],
                          .have_commit = flags & 2,
                          .snap = part[2],
                          .snap_len = lens[2],
                          .have_snap = flags & 4,
                          .log = p,
                          .log_len = left};
    hsd_rstore s;
    memset(&s, 0, sizeof(s));
    hsd_rstore_damage dmg;
    if (hsd_rstore_parse(&s, &f, &dmg) != 0) {
        if (s.n || s.log || s.snap.data || !dmg.file || !memchr(dmg.what, 0, sizeof(dmg.what)))
            abort();
        return 0;
    }
    check(&s, left);
    hsd_rstore_release(&s);
    return 0;
}
