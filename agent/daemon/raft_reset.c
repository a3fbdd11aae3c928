/* raft_reset.c: hearsayd --raft-reset, the repair of a seed whose Raft data is damaged or lost
 * (docs/raft.md "Repairing a seed", docs/operations.md "A seed refuses to start"). Moves
 * DATA_DIR/raft aside to DATA_DIR/raft.reset-YYYYMMDDTHHMMSSZ and leaves a new DATA_DIR/raft
 * that holds only a hard state marked recovering, with the old term and vote when the old hard
 * state is still readable. The agent started afterwards rejoins as a learner until a leader has
 * brought it up to date (hs_raft_hard_state.recovering). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "exit_status.h"
#include "file_io.h"
#include "log.h"
#include "raft_storage.h"

/* The old term and vote, if the old hard state parses. */
static bool old_hard_state(const char *dir, hs_raft_hard_state *h)
{
    char path[400], err[600];
    snprintf(path, sizeof(path), "%s/hardstate", dir);
    hsd_buf b;
    if (hsd_file_read(path, 4096, &b, err, sizeof(err)) != HSD_FILE_OK) return false;
    hsd_rstore s;
    memset(&s, 0, sizeof(s));
    hsd_rstore_files f = {.hard = b.data, .hard_len = b.len, .have_hard = true};
    hsd_rstore_damage dmg;
    bool ok = hsd_rstore_parse(&s, &f, &dmg) == 0;
    if (ok) *h = s.hard;
    hsd_rstore_release(&s);
    hsd_buf_free(&b);
    return ok;
}

int hsd_raft_reset(const char *data_dir)
{
    char dir[300], aside[400], path[400], err[600];
    snprintf(dir, sizeof(dir), "%s/raft", data_dir);
    hs_raft_hard_state h = {0};
    bool kept = old_hard_state(dir, &h);
    h.commit = 0;
    h.recovering = true;
    struct stat st;
    if (lstat(dir, &st) == 0) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
        snprintf(aside, sizeof(aside), "%s.reset-%s", dir, stamp);
        for (int i = 2; lstat(aside, &st) == 0 && i < 100; i++)
            snprintf(aside, sizeof(aside), "%s.reset-%s-%d", dir, stamp, i);
        if (rename(dir, aside) != 0) {
            log_err("raft reset: cannot move %s aside: %s", dir, strerror(errno));
            return HSD_EXIT_ERROR;
        }
        log_info("raft reset: moved %s to %s (remove it once the seed has caught up)", dir, aside);
    }
    uint8_t buf[HSD_RSTORE_HARD_LEN];
    hsd_rstore_encode_hard(&h, buf);
    snprintf(path, sizeof(path), "%s/hardstate", dir);
    if (mkdir(dir, 0700) != 0) {
        log_err("raft reset: cannot create %s: %s", dir, strerror(errno));
        return HSD_EXIT_ERROR;
    }
    if (hsd_file_replace(path, buf, sizeof(buf), 0600, err, sizeof(err)) != 0) {
        log_err("raft reset: %s", err);
        return HSD_EXIT_ERROR;
    }
    if (hsd_dir_sync(data_dir) != 0) {
        log_err("raft reset: cannot fsync %s: %s", data_dir, strerror(errno));
        return HSD_EXIT_ERROR;
    }
    if (kept)
        log_info("raft reset: kept term %llu and vote %016llx from the old hard state",
                 (unsigned long long)h.term, (unsigned long long)h.vote);
    else
        log_info("raft reset: the old hard state is absent or unreadable: term and vote start "
                 "at 0");
    log_info("raft reset: done. Start hearsayd as usual: it rejoins as a learner, is sent what "
             "it lacks (or a snapshot) by the leader, and votes or campaigns again only once a "
             "quorum of the other seeds has confirmed that leader, then only in later terms");
    return HSD_EXIT_OK;
}
