/* raft_storage.h: durable Raft state of a seed in DATA_DIR/raft/: hard state, log, snapshot. */
#ifndef HSD_RAFT_STORAGE_H
#define HSD_RAFT_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay/raft.h"

typedef struct hsd_rstore {
    char dir[300];
    int log_fd;
    hs_raft_hard_state hard;
    bool hard_written;     /* the hardstate file exists (with this term and vote) */
    hs_raft_snapshot snap; /* index 0: none */
    hs_raft_entry *log;    /* durable entries after the snapshot, in order (a mirror) */
    long *off;             /* file offset of each entry's record */
    size_t n, cap;
    long log_end;
} hsd_rstore;

/* Opens (creating) DIR and loads snapshot, log (a torn or corrupt tail is cut) and hard state.
 * 0, or -1 with a logged reason. */
int hsd_rstore_open(hsd_rstore *s, const char *data_dir);
void hsd_rstore_close(hsd_rstore *s);
/* Step 1 of a Ready: the snapshot replaces the log up to its index. */
int hsd_rstore_set_snapshot(hsd_rstore *s, const hs_raft_snapshot *snap);
/* Step 2: appends entries; the first one replaces every persisted entry at or after its index. */
int hsd_rstore_append(hsd_rstore *s, const hs_raft_entry *e, size_t n);
/* Step 3: makes a new term or vote durable (temp file + fsync + rename + fsync of the directory);
 * a change of the commit index alone is kept in memory only (Raft treats it as volatile). */
int hsd_rstore_set_hard(hsd_rstore *s, const hs_raft_hard_state *h);
/* fsyncs the log file (after append, before any message of the same Ready is sent). */
int hsd_rstore_sync(hsd_rstore *s);

#endif
