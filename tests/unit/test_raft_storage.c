/* test_raft_storage.c: the Raft storage loader (agent/daemon/raft_load.c) on buffers, one test
 * per rule of docs/raft.md "Storage" (the torn-tail rule, every kind of damage it refuses, the
 * checks of the files against each other), then the daemon's side on a temp dir
 * (raft_storage.c: a torn tail cut on disk, damage refused with HSD_EXIT_DATA, the commit index
 * kept) and hearsayd --raft-reset (raft_reset.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exit_status.h"
#include "log.h"
#include "raft_storage.h"

/* ---- buffers ---- */

typedef struct files {
    uint8_t hard[HSD_RSTORE_HARD_LEN + 64], commit[HSD_RSTORE_COMMIT_LEN + 8];
    uint8_t log[64 * 1024];
    size_t hard_len, commit_len, log_len;
    long rec_off[64]; /* offset of each record */
    size_t nrec;
    bool have_hard, have_commit;
} files;

static void add_entry(files *f, uint64_t index, uint64_t term, const char *data)
{
    if (f->log_len == 0) {
        hsd_rstore_encode_log_header(f->log);
        f->log_len = HSD_RSTORE_LOG_HDR;
    }
    hs_raft_entry e = {.index = index,
                       .term = term,
                       .type = HS_RAFT_ENTRY_NORMAL,
                       .len = (uint32_t)strlen(data),
                       .data = (uint8_t *)data};
    f->rec_off[f->nrec++] = (long)f->log_len;
    size_t n = hsd_rstore_encode_record(&e, f->log + f->log_len, sizeof(f->log) - f->log_len);
    assert_true(n > 0);
    f->log_len += n;
}

/* hard state (term, vote), entries 1..n of the given terms, commit at `commit` */
static void make(files *f, uint64_t term, const uint64_t *terms, size_t n, uint64_t commit)
{
    memset(f, 0, sizeof(*f));
    hs_raft_hard_state h = {.term = term, .vote = 7};
    hsd_rstore_encode_hard(&h, f->hard);
    f->hard_len = HSD_RSTORE_HARD_LEN;
    f->have_hard = true;
    char data[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(data, sizeof(data), "entry-%zu", i + 1);
        add_entry(f, i + 1, terms[i], data);
    }
    if (commit) {
        hsd_rstore_encode_commit(commit, terms[commit - 1], f->commit);
        f->commit_len = HSD_RSTORE_COMMIT_LEN;
        f->have_commit = true;
    }
}

static int parse(const files *f, hsd_rstore *s, hsd_rstore_damage *d)
{
    memset(s, 0, sizeof(*s));
    hsd_rstore_files in = {.hard = f->hard,
                           .hard_len = f->hard_len,
                           .have_hard = f->have_hard,
                           .commit = f->commit,
                           .commit_len = f->commit_len,
                           .have_commit = f->have_commit,
                           .log = f->log,
                           .log_len = f->log_len};
    return hsd_rstore_parse(s, &in, d);
}

static const uint64_t T5[] = {1, 1, 2, 2, 3};

static void expect_damage(const files *f, const char *file, long long offset, const char *what)
{
    hsd_rstore s;
    hsd_rstore_damage d;
    assert_int_equal(parse(f, &s, &d), -1);
    assert_string_equal(d.file, file);
    if (offset >= 0) assert_int_equal(d.offset, offset);
    if (!strstr(d.what, what)) fail_msg("damage '%s' does not say '%s'", d.what, what);
    assert_int_equal(s.n, 0); /* released */
}

static void test_roundtrip(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 4);
    hsd_rstore s;
    hsd_rstore_damage d;
    assert_int_equal(parse(&f, &s, &d), 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.hard.term, 3);
    assert_int_equal(s.hard.vote, 7);
    assert_int_equal(s.hard.commit, 4);
    assert_false(s.hard.recovering);
    assert_int_equal(s.log_end, (long)f.log_len);
    assert_int_equal(s.torn, 0);
    assert_int_equal(s.off[2], f.rec_off[2]);
    assert_memory_equal(s.log[4].data, "entry-5", 7);
    hsd_rstore_release(&s);
}

/* The one thing forgiven: the last record's header or body runs past the end of the file. */
static void test_torn_last_record_is_cut(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 4);
    size_t full = f.log_len;
    long last = f.rec_off[4];
    size_t cuts[] = {(size_t)last + 5, (size_t)last + HSD_RSTORE_REC_HDR + 3, full - 1};
    for (size_t i = 0; i < 3; i++) {
        f.log_len = cuts[i];
        hsd_rstore s;
        hsd_rstore_damage d;
        assert_int_equal(parse(&f, &s, &d), 0);
        assert_int_equal(s.n, 4);
        assert_int_equal(s.log_end, last);
        assert_int_equal(s.torn, (long)(cuts[i] - (size_t)last));
        hsd_rstore_release(&s);
    }
    f.log_len = 5; /* the file header itself was being written */
    f.have_commit = false;
    f.have_hard = false;
    hsd_rstore s;
    hsd_rstore_damage d;
    assert_int_equal(parse(&f, &s, &d), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.torn, 5);
}

/* A torn record can only be the last one: cutting the committed entry 4 off is damage. */
static void test_torn_tail_below_commit_is_damage(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 5);
    f.log_len = (size_t)f.rec_off[4] + 20;
    expect_damage(&f, "commit", 4, "committed entries are missing");
}

static void test_flipped_byte_anywhere_is_damage(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 4);
    for (size_t r = 0; r < 5; r++) {
        long start = f.rec_off[r], end = r + 1 < 5 ? f.rec_off[r + 1] : (long)f.log_len;
        for (long at = start; at < end; at++) {
            files g = f;
            g.log[at] ^= 0x10;
            hsd_rstore s;
            hsd_rstore_damage d;
            if (parse(&g, &s, &d) == 0) fail_msg("flipped byte at %ld accepted", at);
            assert_string_equal(d.file, "log");
            assert_int_equal(d.offset, start);
        }
    }
    files g = f;
    g.log[1] ^= 1;
    expect_damage(&g, "log", 0, "no HSLG header");
}

/* A bad record followed by more data is damage, never a torn tail. */
static void test_bad_record_then_more_data(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 2);
    f.log[f.rec_off[3] + HSD_RSTORE_REC_HDR + 2] ^= 0xff; /* body of entry 4 */
    expect_damage(&f, "log", f.rec_off[3], "record CRC32 mismatch");
    make(&f, 3, T5, 5, 2);
    f.log[f.rec_off[3] + 1] ^= 0x01; /* its length: would run past the end of the file */
    expect_damage(&f, "log", f.rec_off[3], "record header CRC32 mismatch");
}

static void test_log_order_rules(void **state)
{
    (void)state;
    files f;
    uint64_t down[] = {1, 2, 1};
    make(&f, 3, down, 3, 0);
    expect_damage(&f, "log", f.rec_off[2], "below");
    make(&f, 3, T5, 2, 0);
    add_entry(&f, 4, 2, "gap");
    expect_damage(&f, "log", f.rec_off[2], "entry 4 follows entry 2");
    memset(&f, 0, sizeof(f));
    make(&f, 3, T5, 0, 0);
    add_entry(&f, 2, 1, "not the first");
    expect_damage(&f, "log", HSD_RSTORE_LOG_HDR, "follows");
}

static void test_hard_state_damage(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 4);
    files g = f;
    g.hard_len = HSD_RSTORE_HARD_LEN + 40; /* oversized: damage, not "missing" */
    expect_damage(&g, "hardstate", HSD_RSTORE_HARD_LEN, "exactly 28");
    g = f;
    g.hard_len = HSD_RSTORE_HARD_LEN - 1; /* short */
    expect_damage(&g, "hardstate", HSD_RSTORE_HARD_LEN - 1, "exactly 28");
    g = f;
    g.hard_len = 0;
    expect_damage(&g, "hardstate", 0, "not a hard state file");
    g = f;
    g.hard[9] ^= 4;
    expect_damage(&g, "hardstate", HSD_RSTORE_HARD_LEN - 4, "CRC32 mismatch");
    g = f;
    g.have_hard = false; /* entries but no hard state: its term and vote are lost */
    expect_damage(&g, "hardstate", 0, "missing");
    make(&g, 2, T5, 5, 4); /* the log holds term 3, the hard state says 2 */
    expect_damage(&g, "hardstate", 4, "older than the log");
}

static void test_commit_file(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 4);
    files g = f;
    hsd_rstore_encode_commit(4, 3, g.commit); /* entry 4 has term 2 */
    expect_damage(&g, "commit", 12, "has term 2 in the log");
    g = f;
    g.commit[7] ^= 1;
    expect_damage(&g, "commit", 20, "CRC32 mismatch");
    g = f;
    g.commit_len = 0; /* created, never written: nothing recorded */
    hsd_rstore s;
    hsd_rstore_damage d;
    assert_int_equal(parse(&g, &s, &d), 0);
    assert_int_equal(s.hard.commit, 0);
    hsd_rstore_release(&s);
}

static void test_recovering_flag_and_fresh_node(void **state)
{
    (void)state;
    files f;
    memset(&f, 0, sizeof(f));
    hsd_rstore s;
    hsd_rstore_damage d;
    assert_int_equal(parse(&f, &s, &d), 0); /* nothing at all: a new seed */
    assert_int_equal(s.hard.term, 0);
    hs_raft_hard_state h = {.term = 9, .vote = 4, .recovering = true};
    hsd_rstore_encode_hard(&h, f.hard);
    f.hard_len = HSD_RSTORE_HARD_LEN;
    f.have_hard = true;
    assert_int_equal(parse(&f, &s, &d), 0);
    assert_true(s.hard.recovering);
    assert_int_equal(s.hard.term, 9);
    assert_int_equal(s.hard.vote, 4);
}

/* ---- on disk ---- */

static char dir[64];

static void write_file(const char *name, const void *data, size_t len)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/raft/%s", dir, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static long file_size(const char *name)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/raft/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static int setup(void **state)
{
    (void)state;
    hsd_log_set_level(HSD_LOG_ERR - 1); /* quiet: the refusals are expected */
    snprintf(dir, sizeof(dir), "/tmp/hs-test-rstore-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char p[128];
    snprintf(p, sizeof(p), "%s/raft", dir);
    return mkdir(p, 0700);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void test_open_cuts_torn_tail_and_keeps_commit(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 4);
    write_file("hardstate", f.hard, f.hard_len);
    write_file("commit", f.commit, f.commit_len);
    write_file("log", f.log, f.log_len - 7);
    hsd_rstore s;
    assert_int_equal(hsd_rstore_open(&s, dir), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.hard.commit, 4);
    assert_int_equal(file_size("log"), f.rec_off[4]);
    /* appending again after the cut, then the commit moves */
    hs_raft_entry e = {.index = 5, .term = 3, .type = HS_RAFT_ENTRY_NOOP};
    assert_int_equal(hsd_rstore_append(&s, &e, 1), 0);
    assert_int_equal(hsd_rstore_sync(&s), 0);
    assert_int_equal(hsd_rstore_set_commit(&s, 5), 0);
    hsd_rstore_close(&s);
    assert_int_equal(hsd_rstore_open(&s, dir), 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.hard.commit, 5);
    hsd_rstore_close(&s);
}

static void test_open_refuses_damage(void **state)
{
    (void)state;
    files f;
    make(&f, 3, T5, 5, 4);
    f.log[f.rec_off[2] + 20] ^= 1;
    write_file("hardstate", f.hard, f.hard_len);
    write_file("commit", f.commit, f.commit_len);
    write_file("log", f.log, f.log_len);
    hsd_rstore s;
    assert_int_equal(hsd_rstore_open(&s, dir), HSD_EXIT_DATA);
    assert_int_equal(file_size("log"), (long)f.log_len); /* nothing cut */
    uint8_t big[5000] = {0};
    write_file("hardstate", big, sizeof(big)); /* past the reader's cap */
    assert_int_equal(hsd_rstore_open(&s, dir), HSD_EXIT_DATA);
}

static void test_raft_reset(void **state)
{
    (void)state;
    files f;
    make(&f, 6, T5, 5, 4);
    f.log[f.rec_off[1] + 14] ^= 1; /* damaged log, readable hard state (term 6, vote 7) */
    write_file("hardstate", f.hard, f.hard_len);
    write_file("log", f.log, f.log_len);
    assert_int_equal(hsd_raft_reset(dir), HSD_EXIT_OK);
    hsd_rstore s;
    assert_int_equal(hsd_rstore_open(&s, dir), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.hard.term, 6);
    assert_int_equal(s.hard.vote, 7);
    assert_true(s.hard.recovering);
    hsd_rstore_close(&s);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -d %s/raft.reset-* | wc -l)\" = 1", dir);
    assert_int_equal(system(cmd), 0);
    /* an unreadable hard state: term and vote start at 0, still recovering */
    write_file("hardstate", "junk", 4);
    assert_int_equal(hsd_raft_reset(dir), HSD_EXIT_OK);
    assert_int_equal(hsd_rstore_open(&s, dir), 0);
    assert_int_equal(s.hard.term, 0);
    assert_true(s.hard.recovering);
    hsd_rstore_close(&s);
}

int main(void)
{
    const struct CMUnitTest buffers[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_torn_last_record_is_cut),
        cmocka_unit_test(test_torn_tail_below_commit_is_damage),
        cmocka_unit_test(test_flipped_byte_anywhere_is_damage),
        cmocka_unit_test(test_bad_record_then_more_data),
        cmocka_unit_test(test_log_order_rules),
        cmocka_unit_test(test_hard_state_damage),
        cmocka_unit_test(test_commit_file),
        cmocka_unit_test(test_recovering_flag_and_fresh_node),
    };
    const struct CMUnitTest disk[] = {
        cmocka_unit_test(test_open_cuts_torn_tail_and_keeps_commit),
        cmocka_unit_test(test_open_refuses_damage),
        cmocka_unit_test(test_raft_reset),
    };
    return cmocka_run_group_tests(buffers, NULL, NULL) |
           cmocka_run_group_tests(disk, setup, teardown);
}
