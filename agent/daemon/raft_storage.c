/* raft_storage.c: a seed's durable Raft state in DATA_DIR/raft/ (formats in raft_load.c, rules
 * in docs/raft.md "Storage"). Per Ready, in this order:
 * 1. hardstate (term, vote, recovering): replaced through file_io.c (temp file, fsync, rename,
 *    fsync of the directory) whenever one of them changes, before anything else, so the hard
 *    state's term is never below a term in the log;
 * 2. snapshot: replaced the same way, then the log is rewritten (atomically) to the entries
 *    that follow it;
 * 3. log: the Ready's records in one pwrite; an entry that replaces a suffix truncates the file
 *    at the offset of its index first;
 * 4. fdatasync of the log;
 * 5. commit (index, term of that entry): overwritten in place, no fsync, only after 4, so it
 *    never names an entry that is not durable.
 * Crash points (failpoint.h): log.truncated, log.appended, log.fdatasynced, commit.written, and
 * those of file_io.c for hardstate, snapshot and log (the rewrite). A mirror of the log stays in
 * memory (compaction bounds it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exit_status.h"
#include "failpoint.h"
#include "file_io.h"
#include "log.h"
#include "raft_storage.h"

static void path_of(const hsd_rstore *s, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", s->dir, name);
}

static void free_entries(hs_raft_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) free(e[i].data);
}

/* Rewrites the log file to hold exactly the mirror (atomically), and reopens it. */
static int rewrite_log(hsd_rstore *s)
{
    char path[400], err[600];
    path_of(s, "log", path, sizeof(path));
    hsd_file_tx tx;
    if (hsd_file_begin(&tx, path, 0600, err, sizeof(err)) != 0) goto fail;
    uint8_t *buf = malloc(HSD_RSTORE_REC_MAX);
    long off = HSD_RSTORE_LOG_HDR;
    int rc = buf ? 0 : -1;
    if (buf) {
        hsd_rstore_encode_log_header(buf);
        rc = hsd_file_write(&tx, buf, HSD_RSTORE_LOG_HDR, err, sizeof(err));
    }
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        size_t n = hsd_rstore_encode_record(&s->log[i], buf, HSD_RSTORE_REC_MAX);
        if (n == 0 || hsd_file_write(&tx, buf, n, err, sizeof(err)) != 0) rc = -1;
        s->off[i] = off;
        off += (long)n;
    }
    free(buf);
    if (rc != 0) {
        hsd_file_abort(&tx);
        goto fail;
    }
    if (hsd_file_commit(&tx, err, sizeof(err)) != 0) goto fail;
    if (s->log_fd >= 0) close(s->log_fd);
    s->log_fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    s->log_end = off;
    if (s->log_fd >= 0) return 0;
    snprintf(err, sizeof(err), "cannot reopen %s: %s", path, strerror(errno));
fail:
    log_err("raft storage: rewriting the log: %s", err);
    return -1;
}

int hsd_rstore_set_snapshot(hsd_rstore *s, const hs_raft_snapshot *sn)
{
    char path[400], err[600];
    path_of(s, "snapshot", path, sizeof(path));
    uint8_t *buf = malloc(HSD_RSTORE_SNAP_MAX);
    if (!buf) return -1;
    size_t n = hsd_rstore_encode_snapshot(sn, buf, HSD_RSTORE_SNAP_MAX);
    int rc = n ? hsd_file_replace(path, buf, n, 0600, err, sizeof(err)) : -1;
    free(buf);
    if (rc != 0) {
        log_err("raft storage: %s", n ? err : "snapshot too large");
        return -1;
    }
    /* keep the log suffix only if it continues the snapshot */
    size_t keep_from = s->n;
    for (size_t i = 0; i < s->n; i++)
        if (s->log[i].index == sn->index && s->log[i].term == sn->term) keep_from = i + 1;
    if (keep_from > 0) {
        free_entries(s->log, keep_from);
        if (s->n > keep_from)
            memmove(s->log, s->log + keep_from, (s->n - keep_from) * sizeof(*s->log));
        s->n -= keep_from;
    }
    free(s->snap.data);
    s->snap = *sn;
    s->snap.data = malloc(sn->len ? sn->len : 1);
    if (!s->snap.data) return -1;
    if (sn->len) memcpy(s->snap.data, sn->data, sn->len);
    return rewrite_log(s);
}

int hsd_rstore_append(hsd_rstore *s, const hs_raft_entry *e, size_t n)
{
    if (n == 0) return 0;
    char path[400];
    path_of(s, "log", path, sizeof(path));
    /* an entry at index i replaces every persisted entry >= i */
    size_t cut = s->n;
    while (cut > 0 && s->log[cut - 1].index >= e[0].index) cut--;
    if (cut < s->n) {
        long off = s->off[cut];
        free_entries(s->log + cut, s->n - cut);
        s->n = cut;
        if (ftruncate(s->log_fd, off) != 0) {
            log_err("raft storage: truncate %s: %s", path, strerror(errno));
            return -1;
        }
        s->log_end = off;
        HSD_FAILPOINT(path, "truncated");
    }
    size_t total = HSD_RSTORE_LOG_HDR;
    for (size_t i = 0; i < n; i++) total += HSD_RSTORE_REC_HDR + HSD_RSTORE_REC_MIN + e[i].len;
    uint8_t *buf = malloc(total);
    if (!buf) return -1;
    size_t len = 0;
    int rc = 0;
    if (s->log_end == 0) { /* a new log file: its header goes with the first records */
        hsd_rstore_encode_log_header(buf);
        len = HSD_RSTORE_LOG_HDR;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t k = hsd_rstore_encode_record(&e[i], buf + len, total - len);
        if (k == 0 || hsd_rstore_push(s, &e[i], s->log_end + (long)len) != 0) rc = -1;
        len += k;
    }
    /* one write per Ready: a crash leaves at most a prefix of it, whose torn last record the
     * loader cuts (nothing in it was acknowledged: that waits for the fdatasync) */
    if (rc == 0 && pwrite(s->log_fd, buf, len, s->log_end) != (ssize_t)len) rc = -1;
    free(buf);
    if (rc != 0) {
        log_err("raft storage: append to %s: %s", path, strerror(errno));
        return -1;
    }
    s->log_end += (long)len;
    HSD_FAILPOINT(path, "appended");
    return 0;
}

int hsd_rstore_sync(hsd_rstore *s)
{
    char path[400];
    path_of(s, "log", path, sizeof(path));
    if (fdatasync(s->log_fd) != 0) {
        log_err("raft storage: fdatasync %s: %s", path, strerror(errno));
        return -1;
    }
    HSD_FAILPOINT(path, "fdatasynced");
    return 0;
}

int hsd_rstore_set_hard(hsd_rstore *s, const hs_raft_hard_state *h)
{
    if (s->hard_written && h->term == s->hard.term && h->vote == s->hard.vote &&
        h->recovering == s->hard.recovering)
        return 0;
    char path[400], err[600];
    path_of(s, "hardstate", path, sizeof(path));
    uint8_t buf[HSD_RSTORE_HARD_LEN];
    hsd_rstore_encode_hard(h, buf);
    if (hsd_file_replace(path, buf, sizeof(buf), 0600, err, sizeof(err)) != 0) {
        log_err("raft storage: %s", err);
        return -1;
    }
    s->hard.term = h->term;
    s->hard.vote = h->vote;
    s->hard.recovering = h->recovering;
    s->hard_written = true;
    return 0;
}

int hsd_rstore_set_commit(hsd_rstore *s, uint64_t commit)
{
    uint64_t last = s->n ? s->log[s->n - 1].index : s->snap.index;
    if (commit > last) commit = last; /* never name an entry that is not durable */
    if (commit <= s->hard.commit || commit < s->snap.index) return 0;
    uint64_t term =
        commit == s->snap.index ? s->snap.term : s->log[commit - s->snap.index - 1].term;
    uint8_t buf[HSD_RSTORE_COMMIT_LEN];
    hsd_rstore_encode_commit(commit, term, buf);
    char path[400];
    path_of(s, "commit", path, sizeof(path));
    if (pwrite(s->commit_fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
        log_err("raft storage: write %s: %s", path, strerror(errno));
        return -1;
    }
    s->hard.commit = commit;
    HSD_FAILPOINT(path, "written");
    return 0;
}

/* ---- loading ---- */

static void refuse(const char *path, long long offset, const char *what)
{
    char at[64] = "";
    if (offset >= 0) snprintf(at, sizeof(at), " at byte offset %lld", offset);
    log_err("raft storage: %s is damaged%s: %s. Refusing to start (exit status %d) rather than "
            "run with less than this seed acknowledged. To rejoin with the other seeds' data: "
            "stop it, run `hearsayd --raft-reset` with the same options, start it again "
            "(docs/operations.md \"A seed refuses to start\")",
            path, at, what, HSD_EXIT_DATA);
}

static int read_part(const char *path, size_t max, hsd_buf *b, bool *have)
{
    char err[600];
    int rc = hsd_file_read(path, max, b, err, sizeof(err));
    *have = rc == HSD_FILE_OK;
    if (rc == HSD_FILE_ERROR) {
        refuse(path, -1, err);
        return -1;
    }
    return 0;
}

static int open_rw(const char *path, int *fd)
{
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd >= 0) return 0;
    log_err("raft storage: open %s: %s", path, strerror(errno));
    return -1;
}

int hsd_rstore_open(hsd_rstore *s, const char *data_dir)
{
    memset(s, 0, sizeof(*s));
    s->log_fd = s->commit_fd = -1;
    snprintf(s->dir, sizeof(s->dir), "%s/raft", data_dir);
    char err[600];
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        log_err("raft storage: mkdir %s: %s", s->dir, strerror(errno));
        return -1;
    }
    if (hsd_dir_check(s->dir, err, sizeof(err)) != 0) {
        log_err("raft storage: %s", err);
        return HSD_EXIT_CONFIG;
    }
    static const char *const names[4] = {"hardstate", "commit", "snapshot", "log"};
    static const size_t caps[4] = {4096, 4096, HSD_RSTORE_SNAP_MAX, HSD_RSTORE_LOG_MAX};
    hsd_buf b[4] = {{0}};
    bool have[4] = {false};
    char path[400];
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        path_of(s, names[i], path, sizeof(path));
        if (read_part(path, caps[i], &b[i], &have[i]) != 0) rc = HSD_EXIT_DATA;
    }
    hsd_rstore_files f = {.hard = b[0].data,
                          .hard_len = b[0].len,
                          .have_hard = have[0],
                          .commit = b[1].data,
                          .commit_len = b[1].len,
                          .have_commit = have[1],
                          .snap = b[2].data,
                          .snap_len = b[2].len,
                          .have_snap = have[2],
                          .log = b[3].data,
                          .log_len = b[3].len};
    hsd_rstore_damage dmg;
    if (rc == 0 && hsd_rstore_parse(s, &f, &dmg) != 0) {
        path_of(s, dmg.file, path, sizeof(path));
        refuse(path, dmg.offset, dmg.what);
        rc = HSD_EXIT_DATA;
    }
    for (int i = 0; i < 4; i++) hsd_buf_free(&b[i]);
    if (rc != 0) return rc;
    path_of(s, "log", path, sizeof(path));
    if (open_rw(path, &s->log_fd) != 0) return -1;
    if (s->torn > 0) {
        log_warn("raft storage: %s ends in a torn record at byte offset %ld (%ld byte(s)): an "
                 "append cut by a crash before its fdatasync returned, never acknowledged; cut",
                 path, s->log_end, s->torn);
        if (ftruncate(s->log_fd, s->log_end) != 0 || fdatasync(s->log_fd) != 0) {
            log_err("raft storage: truncate %s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (s->rewrite && rewrite_log(s) != 0) return -1;
    path_of(s, "commit", path, sizeof(path));
    if (open_rw(path, &s->commit_fd) != 0) return -1;
    log_info("raft storage: snapshot %llu/%llu, %zu log entries, term %llu, commit %llu%s",
             (unsigned long long)s->snap.index, (unsigned long long)s->snap.term, s->n,
             (unsigned long long)s->hard.term, (unsigned long long)s->hard.commit,
             s->hard.recovering ? ", recovering after --raft-reset" : "");
    return 0;
}

void hsd_rstore_close(hsd_rstore *s)
{
    if (s->log_fd >= 0) close(s->log_fd);
    if (s->commit_fd >= 0) close(s->commit_fd);
    hsd_rstore_release(s);
    memset(s, 0, sizeof(*s));
    s->log_fd = s->commit_fd = -1;
}
