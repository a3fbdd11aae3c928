/* raft_storage.c: a seed's durable Raft state in DATA_DIR/raft/.
 * - hardstate: "HSHS", term, vote, commit, CRC32; replaced atomically (temp file, fsync, rename,
 *   fsync of the directory) whenever the term or the vote changes. The commit index is volatile
 *   in Raft (the node learns it again from the leader), so a Ready that only moves it costs no
 *   write at all, as etcd's MustSync; the file holds the commit index of the last term/vote
 *   change, and on load it is raised to the snapshot's index.
 * - log: records [u32 body length][u32 CRC32 of body][body = term u64, index u64, type u8,
 *   data], appended and fdatasync'd; an entry that replaces a suffix truncates the file at the
 *   offset of its index first. On load a torn or corrupt final record is cut off.
 * - snapshot: "HSSN", index, term, seed set, data (hs_cc_serialize output), CRC32; replaced
 *   atomically; the log is rewritten (atomically) to the entries that follow it.
 * All integers big-endian (codec.h). A mirror of the log stays in memory (compaction bounds it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hearsay/codec.h"
#include "log.h"
#include "raft_storage.h"

#define REC_HDR  8
#define BODY_MIN 17
#define BODY_MAX (BODY_MIN + HS_RAFT_MAX_ENTRY)
#define SNAP_MAX (HS_RAFT_MAX_SNAPSHOT + 4096)

static uint32_t crc_table[256];

static uint32_t crc32(const uint8_t *p, size_t n)
{
    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void path_of(const hsd_rstore *s, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", s->dir, name);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes name atomically: NAME.tmp, fsync, rename, fsync(dir) (the last one only if sync_dir). */
static int atomic_write_ex(hsd_rstore *s, const char *name, const uint8_t *p, size_t n,
                           bool sync_dir)
{
    char path[400], tmp[410];
    path_of(s, name, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) goto fail;
    if (write_all(fd, p, n) != 0 || fsync(fd) != 0) {
        close(fd);
        goto fail;
    }
    close(fd);
    if (rename(tmp, path) != 0 || (sync_dir && fsync_dir(s->dir) != 0)) goto fail;
    return 0;
fail:
    log_err("raft storage: cannot write %s: %s", path, strerror(errno));
    return -1;
}

static int atomic_write(hsd_rstore *s, const char *name, const uint8_t *p, size_t n)
{
    return atomic_write_ex(s, name, p, n, true);
}

/* Reads a whole small file (at most max bytes); NULL if absent or unreadable. */
static uint8_t *read_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (size_t)st.st_size > max) {
        close(fd);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (buf && got != (size_t)st.st_size) {
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

static void free_entries(hs_raft_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) free(e[i].data);
}

static int mirror_push(hsd_rstore *s, const hs_raft_entry *e, long off)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        hs_raft_entry *nl = realloc(s->log, nc * sizeof(*nl));
        if (!nl) return -1;
        s->log = nl;
        long *no = realloc(s->off, nc * sizeof(*no));
        if (!no) return -1;
        s->off = no;
        s->cap = nc;
    }
    hs_raft_entry *d = &s->log[s->n];
    *d = *e;
    d->data = malloc(e->len ? e->len : 1);
    if (!d->data) return -1;
    if (e->len) memcpy(d->data, e->data, e->len);
    s->off[s->n++] = off;
    return 0;
}

static size_t encode_record(const hs_raft_entry *e, uint8_t *buf, size_t cap)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u32(&w, (uint32_t)(BODY_MIN + e->len));
    hs_put_u32(&w, 0);
    hs_put_u64(&w, e->term);
    hs_put_u64(&w, e->index);
    hs_put_u8(&w, e->type);
    hs_put_bytes(&w, e->data, e->len);
    if (!w.ok) return 0;
    uint32_t c = crc32(buf + REC_HDR, w.len - REC_HDR);
    buf[4] = (uint8_t)(c >> 24);
    buf[5] = (uint8_t)(c >> 16);
    buf[6] = (uint8_t)(c >> 8);
    buf[7] = (uint8_t)c;
    return w.len;
}

/* ---- snapshot ---- */

static size_t encode_snapshot(const hs_raft_snapshot *sn, uint8_t *buf, size_t cap)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_bytes(&w, "HSSN", 4);
    hs_put_u64(&w, sn->index);
    hs_put_u64(&w, sn->term);
    hs_put_u8(&w, (uint8_t)sn->conf.n);
    for (uint32_t i = 0; i < sn->conf.n && i < HS_RAFT_MAX_PEERS; i++) {
        const hs_raft_peer *p = &sn->conf.peers[i];
        char a[HS_ADDR_STRLEN];
        hs_addr_format(&p->addr, a, sizeof(a));
        hs_put_u64(&w, p->id);
        hs_put_str8(&w, p->name, strlen(p->name));
        hs_put_str8(&w, a, strlen(a));
    }
    hs_put_u32(&w, sn->len);
    hs_put_bytes(&w, sn->data, sn->len);
    if (!w.ok || w.len + 4 > cap) return 0;
    uint32_t c = crc32(buf, w.len);
    hs_put_u32(&w, c);
    return w.ok ? w.len : 0;
}

static int decode_snapshot(const uint8_t *buf, size_t len, hs_raft_snapshot *sn)
{
    memset(sn, 0, sizeof(*sn));
    if (len < 8) return -1;
    uint32_t c = (uint32_t)buf[len - 4] << 24 | (uint32_t)buf[len - 3] << 16 |
                 (uint32_t)buf[len - 2] << 8 | buf[len - 1];
    if (crc32(buf, len - 4) != c || memcmp(buf, "HSSN", 4) != 0) return -1;
    hs_reader r;
    hs_reader_init(&r, buf + 4, len - 8);
    sn->index = hs_get_u64(&r);
    sn->term = hs_get_u64(&r);
    uint8_t n = hs_get_u8(&r);
    if (n == 0 || n > HS_RAFT_MAX_PEERS) return -1;
    sn->conf.n = n;
    for (uint32_t i = 0; i < n; i++) {
        hs_raft_peer *p = &sn->conf.peers[i];
        char a[HS_ADDR_STRLEN];
        p->id = hs_get_u64(&r);
        hs_get_str8(&r, p->name, sizeof(p->name), true);
        hs_get_str8(&r, a, sizeof(a), true);
        if (!r.ok || hs_addr_parse(&p->addr, a, 0) != 0) return -1;
    }
    uint32_t dl = hs_get_u32(&r);
    if (dl > HS_RAFT_MAX_SNAPSHOT) return -1;
    const uint8_t *d = hs_get_bytes(&r, dl);
    if (!r.ok || hs_reader_left(&r) != 0) return -1;
    sn->len = dl;
    sn->data = malloc(dl ? dl : 1);
    if (!sn->data) return -1;
    if (dl) memcpy(sn->data, d, dl);
    return 0;
}

/* Rewrites the log file to hold exactly the mirror (atomically), and reopens it. */
static int rewrite_log(hsd_rstore *s)
{
    char path[400], tmp[410];
    path_of(s, "log", path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    uint8_t *buf = malloc(REC_HDR + BODY_MAX);
    long off = 0;
    int rc = buf ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        size_t n = encode_record(&s->log[i], buf, REC_HDR + BODY_MAX);
        if (n == 0 || write_all(fd, buf, n) != 0) rc = -1;
        s->off[i] = off;
        off += (long)n;
    }
    free(buf);
    if (rc == 0 && fsync(fd) != 0) rc = -1;
    close(fd);
    if (rc == 0 && (rename(tmp, path) != 0 || fsync_dir(s->dir) != 0)) rc = -1;
    if (rc != 0) {
        log_err("raft storage: cannot rewrite %s: %s", path, strerror(errno));
        return -1;
    }
    if (s->log_fd >= 0) close(s->log_fd);
    s->log_fd = open(path, O_WRONLY | O_CLOEXEC);
    s->log_end = off;
    return s->log_fd >= 0 ? 0 : -1;
}

int hsd_rstore_set_snapshot(hsd_rstore *s, const hs_raft_snapshot *sn)
{
    uint8_t *buf = malloc(SNAP_MAX);
    if (!buf) return -1;
    size_t n = encode_snapshot(sn, buf, SNAP_MAX);
    int rc = n ? atomic_write(s, "snapshot", buf, n) : -1;
    free(buf);
    if (rc != 0) return -1;
    /* keep the log suffix only if it continues the snapshot */
    size_t keep_from = s->n;
    for (size_t i = 0; i < s->n; i++)
        if (s->log[i].index == sn->index && s->log[i].term == sn->term) keep_from = i + 1;
    free_entries(s->log, keep_from);
    memmove(s->log, s->log + keep_from, (s->n - keep_from) * sizeof(*s->log));
    s->n -= keep_from;
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
    /* an entry at index i replaces every persisted entry >= i */
    size_t cut = s->n;
    while (cut > 0 && s->log[cut - 1].index >= e[0].index) cut--;
    if (cut < s->n) {
        long off = s->off[cut];
        free_entries(s->log + cut, s->n - cut);
        s->n = cut;
        if (ftruncate(s->log_fd, off) != 0) {
            log_err("raft storage: truncate log: %s", strerror(errno));
            return -1;
        }
        s->log_end = off;
    }
    uint8_t *buf = malloc(REC_HDR + BODY_MAX);
    if (!buf) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = encode_record(&e[i], buf, REC_HDR + BODY_MAX);
        if (len == 0 || pwrite(s->log_fd, buf, len, s->log_end) != (ssize_t)len ||
            mirror_push(s, &e[i], s->log_end) != 0)
            rc = -1;
        else
            s->log_end += (long)len;
    }
    free(buf);
    if (rc != 0) log_err("raft storage: append: %s", strerror(errno));
    return rc;
}

int hsd_rstore_sync(hsd_rstore *s)
{
    if (fdatasync(s->log_fd) != 0) {
        log_err("raft storage: fdatasync log: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int hsd_rstore_set_hard(hsd_rstore *s, const hs_raft_hard_state *h)
{
    uint8_t buf[4 + 24 + 4];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_bytes(&w, "HSHS", 4);
    hs_put_u64(&w, h->term);
    hs_put_u64(&w, h->vote);
    hs_put_u64(&w, h->commit);
    hs_put_u32(&w, crc32(buf, 28));
    /* A change of term or vote is durable (file and directory fsync'd) before anything else
     * happens. A change of the commit index alone is not written: see the top of the file. */
    bool same = h->term == s->hard.term && h->vote == s->hard.vote && s->hard_written;
    if (!same && atomic_write_ex(s, "hardstate", buf, sizeof(buf), true) != 0) return -1;
    s->hard = *h;
    s->hard_written = true;
    return 0;
}

/* Loads the log records; cuts a torn/corrupt tail and anything not following on. */
static int load_log(hsd_rstore *s)
{
    char path[400];
    path_of(s, "log", path, sizeof(path));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_err("raft storage: open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    uint8_t *buf = malloc(REC_HDR + BODY_MAX);
    long off = 0, size = (long)st.st_size;
    bool dropped_prefix = false;
    while (buf && off + REC_HDR <= size) {
        if (pread(fd, buf, REC_HDR, off) != REC_HDR) break;
        uint32_t len =
            (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
        uint32_t c =
            (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
        if (len < BODY_MIN || len > BODY_MAX || off + REC_HDR + (long)len > size) break;
        if (pread(fd, buf + REC_HDR, len, off + REC_HDR) != (ssize_t)len) break;
        if (crc32(buf + REC_HDR, len) != c) break;
        hs_reader r;
        hs_reader_init(&r, buf + REC_HDR, len);
        hs_raft_entry e;
        e.term = hs_get_u64(&r);
        e.index = hs_get_u64(&r);
        e.type = hs_get_u8(&r);
        e.len = len - BODY_MIN;
        e.data = (uint8_t *)hs_get_bytes(&r, e.len);
        if (!r.ok || e.type > HS_RAFT_ENTRY_CONF) break;
        uint64_t last = s->n ? s->log[s->n - 1].index : s->snap.index;
        if (e.index <= s->snap.index) {
            dropped_prefix = true; /* compacted already: the rewrite below drops it */
        } else if (e.index != last + 1) {
            break;
        } else if (mirror_push(s, &e, off) != 0) {
            break;
        }
        off += REC_HDR + (long)len;
    }
    free(buf);
    s->log_fd = fd;
    s->log_end = off;
    if (off < size) {
        log_warn("raft storage: cut %ld byte(s) of torn or corrupt log tail", size - off);
        if (ftruncate(fd, off) != 0 || fsync(fd) != 0) return -1;
    }
    if (dropped_prefix) return rewrite_log(s);
    return 0;
}

int hsd_rstore_open(hsd_rstore *s, const char *data_dir)
{
    memset(s, 0, sizeof(*s));
    s->log_fd = -1;
    snprintf(s->dir, sizeof(s->dir), "%s/raft", data_dir);
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        log_err("raft storage: mkdir %s: %s", s->dir, strerror(errno));
        return -1;
    }
    char path[400];
    size_t len = 0;
    path_of(s, "snapshot", path, sizeof(path));
    uint8_t *b = read_file(path, SNAP_MAX, &len);
    if (b) {
        int rc = decode_snapshot(b, len, &s->snap);
        free(b);
        if (rc != 0) {
            log_err("raft storage: %s is corrupt; refusing to start", path);
            return -1;
        }
    }
    path_of(s, "hardstate", path, sizeof(path));
    b = read_file(path, 64, &len);
    if (b) {
        hs_reader r;
        hs_reader_init(&r, b, len);
        const uint8_t *magic = hs_get_bytes(&r, 4);
        s->hard.term = hs_get_u64(&r);
        s->hard.vote = hs_get_u64(&r);
        s->hard.commit = hs_get_u64(&r);
        uint32_t c = hs_get_u32(&r);
        bool ok = r.ok && len == 32 && !memcmp(magic, "HSHS", 4) && crc32(b, 28) == c;
        free(b);
        if (!ok) {
            log_err("raft storage: %s is corrupt; refusing to start", path);
            return -1;
        }
        s->hard_written = true;
    }
    if (s->hard.commit < s->snap.index) s->hard.commit = s->snap.index;
    if (load_log(s) != 0) return -1;
    log_info("raft storage: snapshot %llu/%llu, %zu log entries, term %llu, commit %llu",
             (unsigned long long)s->snap.index, (unsigned long long)s->snap.term, s->n,
             (unsigned long long)s->hard.term, (unsigned long long)s->hard.commit);
    return 0;
}

void hsd_rstore_close(hsd_rstore *s)
{
    if (s->log_fd >= 0) close(s->log_fd);
    s->log_fd = -1;
    free_entries(s->log, s->n);
    free(s->log);
    free(s->off);
    free(s->snap.data);
    memset(s, 0, sizeof(*s));
    s->log_fd = -1;
}
