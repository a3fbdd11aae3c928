/* raft_storage.h: durable Raft state of a seed in DATA_DIR/raft/: hard state, commit index, log,
 * snapshot (formats and the rules for damage in docs/raft.md "Storage"). */
#ifndef HSD_RAFT_STORAGE_H
#define HSD_RAFT_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay/raft.h"

#define HSD_RSTORE_LOG_MAX (512L * 1024 * 1024) /* bytes of log file the loader accepts */

typedef struct hsd_rstore {
    char dir[300];
    int log_fd, commit_fd;
    hs_raft_hard_state hard; /* term, vote, recovering as written; commit as loaded/written */
    bool hard_written;       /* the hardstate file exists (with this term, vote and flag) */
    hs_raft_snapshot snap;   /* index 0: none */
    hs_raft_entry *log;      /* durable entries after the snapshot, in order (a mirror) */
    long *off;               /* file offset of each entry's record */
    size_t n, cap;
    long log_end; /* end of the last valid record */
    long torn;    /* parse: bytes of a torn last record past log_end (to cut) */
    bool rewrite; /* parse: the log holds entries the snapshot replaced (to rewrite) */
} hsd_rstore;

/* ---- loading (raft_load.c) ---- */

/* The bytes of the four files; have_*: the file exists (a missing log is an empty one). */
typedef struct hsd_rstore_files {
    const uint8_t *hard, *commit, *snap, *log;
    size_t hard_len, commit_len, snap_len, log_len;
    bool have_hard, have_commit, have_snap;
} hsd_rstore_files;

/* Where the damage is: file (its name in DATA_DIR/raft), byte offset, what is wrong. */
typedef struct hsd_rstore_damage {
    const char *file;
    long long offset;
    char what[256];
} hsd_rstore_damage;

/* Parses the files into s (snapshot, log mirror with record offsets, hard state with the
 * commit index) and checks them against each other. 0; or -1 with *dmg filled and s released.
 * Only a torn last log record (its header or body runs past the end of the file) is not
 * damage: s->torn counts its bytes past s->log_end. Never allocates more than the input's
 * size plus the mirror. */
int hsd_rstore_parse(hsd_rstore *s, const hsd_rstore_files *f, hsd_rstore_damage *dmg);
/* Appends a copy of e (recorded at file offset off) to the mirror. 0 or -1 (no memory). */
int hsd_rstore_push(hsd_rstore *s, const hs_raft_entry *e, long off);
/* Frees the mirror and the snapshot data (s->dir and the fds stay). */
void hsd_rstore_release(hsd_rstore *s);
/* The hard state file's contents for h: HSD_RSTORE_HARD_LEN bytes into buf. */
#define HSD_RSTORE_HARD_LEN 28
void hsd_rstore_encode_hard(const hs_raft_hard_state *h, uint8_t buf[HSD_RSTORE_HARD_LEN]);
/* The commit file's contents: index and the term of the entry there. */
#define HSD_RSTORE_COMMIT_LEN 24
void hsd_rstore_encode_commit(uint64_t index, uint64_t term, uint8_t buf[HSD_RSTORE_COMMIT_LEN]);
/* The log file starts with HSD_RSTORE_LOG_HDR bytes ("HSLG", version 2), then records. */
#define HSD_RSTORE_LOG_HDR 8
void hsd_rstore_encode_log_header(uint8_t buf[HSD_RSTORE_LOG_HDR]);
/* One log record for e into buf (at least HSD_RSTORE_REC_MAX bytes); its length, 0 if e is
 * too large. */
#define HSD_RSTORE_REC_HDR 12
#define HSD_RSTORE_REC_MIN 17
#define HSD_RSTORE_REC_MAX (HSD_RSTORE_REC_HDR + HSD_RSTORE_REC_MIN + HS_RAFT_MAX_ENTRY)
size_t hsd_rstore_encode_record(const hs_raft_entry *e, uint8_t *buf, size_t cap);
/* The snapshot file's contents; its length, 0 if it does not fit cap. */
#define HSD_RSTORE_SNAP_MAX (HS_RAFT_MAX_SNAPSHOT + 4096)
size_t hsd_rstore_encode_snapshot(const hs_raft_snapshot *sn, uint8_t *buf, size_t cap);
uint32_t hsd_rstore_crc32(const uint8_t *p, size_t n);

/* ---- the daemon's side (raft_storage.c) ---- */

/* Opens (creating) DATA_DIR/raft and loads it. 0; -1 on an I/O error; HSD_EXIT_DATA when the
 * files are damaged (logged: the file, the byte offset, what to do). A torn last log record
 * is cut off with a warning. */
int hsd_rstore_open(hsd_rstore *s, const char *data_dir);
void hsd_rstore_close(hsd_rstore *s);
/* Ready step 1: term, vote or the recovering flag changed: the hard state file is replaced
 * (temp file, fsync, rename, fsync of the directory) before anything else of the Ready.
 * A change of the commit index alone writes nothing here (hsd_rstore_set_commit). */
int hsd_rstore_set_hard(hsd_rstore *s, const hs_raft_hard_state *h);
/* Step 2: the snapshot replaces the log up to its index. */
int hsd_rstore_set_snapshot(hsd_rstore *s, const hs_raft_snapshot *snap);
/* Step 3: appends entries; the first one replaces every persisted entry at or after its index. */
int hsd_rstore_append(hsd_rstore *s, const hs_raft_entry *e, size_t n);
/* Step 4: fdatasyncs the log file (before any message of the same Ready is sent). */
int hsd_rstore_sync(hsd_rstore *s);
/* Step 5, after the sync: overwrites the commit file in place, without fsync (a process crash
 * keeps it, a power loss may bring back an older one; both are safe). */
int hsd_rstore_set_commit(hsd_rstore *s, uint64_t commit);

/* ---- repair (raft_reset.c) ---- */

/* hearsayd --raft-reset: moves DATA_DIR/raft aside and leaves a hard state that keeps the old
 * term and vote when they are readable and marks the node recovering. Exit status for main. */
int hsd_raft_reset(const char *data_dir);

#endif
