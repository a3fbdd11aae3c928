/* raft_load.c: the Raft storage formats and their loader, on buffers (no I/O, so
 * tests/fuzz/fuzz_raft_load.c can drive it). The loader refuses every damage with the file, the
 * byte offset and what is wrong; the only thing it forgives is a torn last log record, one
 * whose header or body runs past the end of the file (an append that a crash cut before its
 * fdatasync returned, so nothing in it was acknowledged). docs/raft.md "Storage" has the rules.
 * All integers big-endian (codec.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/codec.h"
#include "raft_storage.h"

#define HARD_MAGIC        "HSH2"
#define HARD_LEGACY_MAGIC "HSHS" /* term, vote, commit: the first format, still read */
#define HARD_LEGACY_LEN   32
#define HARD_RECOVERING   1u
#define COMMIT_MAGIC      "HSCM"
#define SNAP_MAGIC        "HSSN"
#define LOG_MAGIC         "HSLG"
#define LOG_VERSION       2
#define BODY_MAX          (HSD_RSTORE_REC_MIN + HS_RAFT_MAX_ENTRY)

static uint32_t crc_table[256];

uint32_t hsd_rstore_crc32(const uint8_t *p, size_t n)
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

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_crc(hs_writer *w)
{
    hs_put_u32(w, hsd_rstore_crc32(w->buf, w->len));
}

/* ---- encoders ---- */

void hsd_rstore_encode_hard(const hs_raft_hard_state *h, uint8_t buf[HSD_RSTORE_HARD_LEN])
{
    hs_writer w;
    hs_writer_init(&w, buf, HSD_RSTORE_HARD_LEN);
    hs_put_bytes(&w, HARD_MAGIC, 4);
    hs_put_u64(&w, h->term);
    hs_put_u64(&w, h->vote);
    hs_put_u32(&w, h->recovering ? HARD_RECOVERING : 0);
    put_crc(&w);
}

void hsd_rstore_encode_commit(uint64_t index, uint64_t term, uint8_t buf[HSD_RSTORE_COMMIT_LEN])
{
    hs_writer w;
    hs_writer_init(&w, buf, HSD_RSTORE_COMMIT_LEN);
    hs_put_bytes(&w, COMMIT_MAGIC, 4);
    hs_put_u64(&w, index);
    hs_put_u64(&w, term);
    put_crc(&w);
}

void hsd_rstore_encode_log_header(uint8_t buf[HSD_RSTORE_LOG_HDR])
{
    memcpy(buf, LOG_MAGIC, 4);
    buf[4] = buf[5] = buf[6] = 0;
    buf[7] = LOG_VERSION;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* [body length u32][CRC32 of the body u32][CRC32 of those 8 bytes u32][body: term u64,
 * index u64, type u8, data]: the header's own CRC tells a damaged length from a torn body */
size_t hsd_rstore_encode_record(const hs_raft_entry *e, uint8_t *buf, size_t cap)
{
    if (e->len > HS_RAFT_MAX_ENTRY) return 0;
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u32(&w, (uint32_t)(HSD_RSTORE_REC_MIN + e->len));
    hs_put_u32(&w, 0);
    hs_put_u32(&w, 0);
    hs_put_u64(&w, e->term);
    hs_put_u64(&w, e->index);
    hs_put_u8(&w, e->type);
    hs_put_bytes(&w, e->data, e->len);
    if (!w.ok) return 0;
    put32(buf + 4, hsd_rstore_crc32(buf + HSD_RSTORE_REC_HDR, w.len - HSD_RSTORE_REC_HDR));
    put32(buf + 8, hsd_rstore_crc32(buf, 8));
    return w.len;
}

size_t hsd_rstore_encode_snapshot(const hs_raft_snapshot *sn, uint8_t *buf, size_t cap)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_bytes(&w, SNAP_MAGIC, 4);
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
    put_crc(&w);
    return w.ok ? w.len : 0;
}

/* ---- the loader ---- */

static int damage(hsd_rstore_damage *d, const char *file, long long off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int damage(hsd_rstore_damage *d, const char *file, long long off, const char *fmt, ...)
{
    d->file = file;
    d->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->what, sizeof(d->what), fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_snapshot(const uint8_t *buf, size_t len, hs_raft_snapshot *sn,
                          hsd_rstore_damage *d)
{
    memset(sn, 0, sizeof(*sn));
    if (len < 8 || memcmp(buf, SNAP_MAGIC, 4) != 0)
        return damage(d, "snapshot", 0, "not a snapshot file (%zu bytes, no HSSN header)", len);
    if (hsd_rstore_crc32(buf, len - 4) != be32(buf + len - 4))
        return damage(d, "snapshot", (long long)len - 4, "CRC32 mismatch");
    hs_reader r;
    hs_reader_init(&r, buf + 4, len - 8);
    sn->index = hs_get_u64(&r);
    sn->term = hs_get_u64(&r);
    uint8_t n = hs_get_u8(&r);
    if (!r.ok || sn->index == 0 || sn->term == 0 || n == 0 || n > HS_RAFT_MAX_PEERS)
        return damage(d, "snapshot", 4, "bad index, term or seed count");
    sn->conf.n = n;
    for (uint32_t i = 0; i < n; i++) {
        hs_raft_peer *p = &sn->conf.peers[i];
        char a[HS_ADDR_STRLEN];
        size_t at = len - 4 - hs_reader_left(&r);
        p->id = hs_get_u64(&r);
        hs_get_str8(&r, p->name, sizeof(p->name), true);
        hs_get_str8(&r, a, sizeof(a), true);
        if (!r.ok || p->id == 0 || hs_addr_parse(&p->addr, a, 0) != 0)
            return damage(d, "snapshot", (long long)at, "bad seed %u", (unsigned)i);
        for (uint32_t j = 0; j < i; j++)
            if (sn->conf.peers[j].id == p->id)
                return damage(d, "snapshot", (long long)at, "seed id listed twice");
    }
    size_t at = len - 4 - hs_reader_left(&r);
    uint32_t dl = hs_get_u32(&r);
    const uint8_t *data = dl <= HS_RAFT_MAX_SNAPSHOT ? hs_get_bytes(&r, dl) : NULL;
    if (!r.ok || !data || hs_reader_left(&r) != 0)
        return damage(d, "snapshot", (long long)at, "bad data length %u", (unsigned)dl);
    sn->len = dl;
    sn->data = malloc(dl ? dl : 1);
    if (!sn->data) return damage(d, "snapshot", 0, "out of memory");
    if (dl) memcpy(sn->data, data, dl);
    return 0;
}

static int parse_hard(const uint8_t *b, size_t len, hs_raft_hard_state *h, hsd_rstore_damage *d)
{
    memset(h, 0, sizeof(*h));
    bool legacy = len >= 4 && memcmp(b, HARD_LEGACY_MAGIC, 4) == 0;
    size_t want = legacy ? HARD_LEGACY_LEN : HSD_RSTORE_HARD_LEN;
    if (len < 4 || (!legacy && memcmp(b, HARD_MAGIC, 4) != 0))
        return damage(d, "hardstate", 0, "not a hard state file (%zu bytes, unknown header)", len);
    if (len != want)
        return damage(d, "hardstate", (long long)(len < want ? len : want),
                      "%zu bytes where the format has exactly %zu", len, want);
    if (hsd_rstore_crc32(b, want - 4) != be32(b + want - 4))
        return damage(d, "hardstate", (long long)want - 4, "CRC32 mismatch");
    h->term = be64(b + 4);
    h->vote = be64(b + 12);
    if (legacy) {
        h->commit = be64(b + 20);
        return 0;
    }
    uint32_t flags = be32(b + 20);
    if (flags & ~HARD_RECOVERING)
        return damage(d, "hardstate", 20, "unknown flags %08x", (unsigned)flags);
    h->recovering = flags & HARD_RECOVERING;
    return 0;
}

int hsd_rstore_push(hsd_rstore *s, const hs_raft_entry *e, long off)
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

/* The records, in order. Entries the snapshot covers come first only after a crash between
 * replacing the snapshot and rewriting the log; they are dropped, and so is what follows them
 * unless it continues the snapshot (what hsd_rstore_set_snapshot keeps). */
static int parse_log(hsd_rstore *s, const uint8_t *b, size_t size, hsd_rstore_damage *d)
{
    size_t off = HSD_RSTORE_LOG_HDR;
    if (size < HSD_RSTORE_LOG_HDR) { /* new, or its header was being written: empty */
        s->log_end = 0;
        s->torn = (long)size;
        return 0;
    }
    if (memcmp(b, LOG_MAGIC, 4) != 0)
        return damage(d, "log", 0,
                      "no HSLG header: not a log, or one written by an older "
                      "hearsayd (its format is not read)");
    if (be32(b + 4) != LOG_VERSION)
        return damage(d, "log", 4, "log format %u is not %u", (unsigned)be32(b + 4), LOG_VERSION);
    uint64_t prev_index = 0, prev_term = 0;
    bool continues = s->snap.index == 0; /* the entries so far lead to the snapshot's */
    while (off < size) {
        if (size - off < HSD_RSTORE_REC_HDR) break; /* torn: not even a header */
        uint32_t len = be32(b + off), crc = be32(b + off + 4);
        if (hsd_rstore_crc32(b + off, 8) != be32(b + off + 8))
            return damage(d, "log", (long long)off, "record header CRC32 mismatch");
        if (len < HSD_RSTORE_REC_MIN || len > BODY_MAX)
            return damage(d, "log", (long long)off, "record length %u out of range", len);
        if (size - off - HSD_RSTORE_REC_HDR < len) break; /* torn: the body runs past the end */
        const uint8_t *body = b + off + HSD_RSTORE_REC_HDR;
        if (hsd_rstore_crc32(body, len) != crc)
            return damage(d, "log", (long long)off, "record CRC32 mismatch");
        hs_raft_entry e = {.term = be64(body),
                           .index = be64(body + 8),
                           .type = body[16],
                           .len = len - HSD_RSTORE_REC_MIN,
                           .data = (uint8_t *)body + HSD_RSTORE_REC_MIN};
        if (e.type > HS_RAFT_ENTRY_CONF)
            return damage(d, "log", (long long)off, "unknown entry type %u", e.type);
        if (e.term == 0 || e.index == 0)
            return damage(d, "log", (long long)off, "entry with index or term 0");
        if (prev_index ? e.index != prev_index + 1 : (s->snap.index == 0 && e.index != 1))
            return damage(d, "log", (long long)off, "entry %llu follows entry %llu",
                          (unsigned long long)e.index, (unsigned long long)prev_index);
        if (prev_index == 0 && s->snap.index && e.index > s->snap.index + 1)
            return damage(d, "log", (long long)off,
                          "first entry %llu leaves a gap after the snapshot at %llu",
                          (unsigned long long)e.index, (unsigned long long)s->snap.index);
        if (e.term < prev_term)
            return damage(d, "log", (long long)off, "entry %llu has term %llu below %llu",
                          (unsigned long long)e.index, (unsigned long long)e.term,
                          (unsigned long long)prev_term);
        if (prev_index == 0 && e.index == s->snap.index + 1) continues = true;
        prev_index = e.index;
        prev_term = e.term;
        if (e.index <= s->snap.index) {
            s->rewrite = true;
            continues = e.index == s->snap.index && e.term == s->snap.term;
        } else if (!continues) {
            s->rewrite = true; /* the snapshot replaced this suffix */
        } else {
            if (e.index == s->snap.index + 1 && s->snap.index && e.term < s->snap.term)
                return damage(d, "log", (long long)off,
                              "entry %llu has term %llu below the snapshot's %llu",
                              (unsigned long long)e.index, (unsigned long long)e.term,
                              (unsigned long long)s->snap.term);
            if (hsd_rstore_push(s, &e, (long)off) != 0)
                return damage(d, "log", (long long)off, "out of memory");
        }
        off += HSD_RSTORE_REC_HDR + len;
    }
    s->log_end = (long)off;
    s->torn = (long)(size - off);
    return 0;
}

static int check_commit(hsd_rstore *s, const uint8_t *b, size_t len, hsd_rstore_damage *d)
{
    if (len != HSD_RSTORE_COMMIT_LEN || memcmp(b, COMMIT_MAGIC, 4) != 0)
        return damage(d, "commit", 0, "not a commit file (%zu bytes, %s)", len,
                      len == HSD_RSTORE_COMMIT_LEN ? "unknown header" : "expected 24");
    if (hsd_rstore_crc32(b, 20) != be32(b + 20)) return damage(d, "commit", 20, "CRC32 mismatch");
    uint64_t index = be64(b + 4), term = be64(b + 12);
    uint64_t last = s->n ? s->log[s->n - 1].index : s->snap.index;
    if (index > last)
        return damage(d, "commit", 4,
                      "commit index %llu is past the last entry %llu of the log: committed "
                      "entries are missing",
                      (unsigned long long)index, (unsigned long long)last);
    if (index >= s->snap.index && index > 0) {
        uint64_t have =
            index == s->snap.index ? s->snap.term : s->log[index - s->snap.index - 1].term;
        if (have != term)
            return damage(
                d, "commit", 12, "the committed entry %llu has term %llu in the log, %llu here",
                (unsigned long long)index, (unsigned long long)have, (unsigned long long)term);
    }
    if (index > s->hard.commit) s->hard.commit = index;
    return 0;
}

int hsd_rstore_parse(hsd_rstore *s, const hsd_rstore_files *f, hsd_rstore_damage *dmg)
{
    s->n = 0;
    s->log_end = s->torn = 0;
    s->rewrite = s->hard_written = false;
    memset(&s->hard, 0, sizeof(s->hard));
    memset(&s->snap, 0, sizeof(s->snap));
    memset(dmg, 0, sizeof(*dmg));
    if (f->have_snap && parse_snapshot(f->snap, f->snap_len, &s->snap, dmg) != 0) goto fail;
    if (f->have_hard) {
        if (parse_hard(f->hard, f->hard_len, &s->hard, dmg) != 0) goto fail;
        s->hard_written = true;
    }
    if (parse_log(s, f->log, f->log_len, dmg) != 0) goto fail;
    uint64_t last = s->n ? s->log[s->n - 1].index : s->snap.index;
    uint64_t last_term = s->n ? s->log[s->n - 1].term : s->snap.term;
    if (!f->have_hard && (last > 0 || (f->have_commit && f->commit_len > 0))) {
        damage(dmg, "hardstate", 0,
               "missing, while the log or the snapshot holds entries up to %llu",
               (unsigned long long)last);
        goto fail;
    }
    if (last_term > s->hard.term) {
        damage(dmg, "hardstate", 4,
               "term %llu is below the term %llu of the last entry: the hard state is older "
               "than the log",
               (unsigned long long)s->hard.term, (unsigned long long)last_term);
        goto fail;
    }
    if (s->hard.commit > last) s->hard.commit = last; /* the first format's commit: a hint */
    /* an empty commit file was created but never written: nothing recorded */
    if (f->have_commit && f->commit_len > 0 && check_commit(s, f->commit, f->commit_len, dmg) != 0)
        goto fail;
    if (s->hard.commit < s->snap.index) s->hard.commit = s->snap.index;
    return 0;
fail:
    hsd_rstore_release(s);
    return -1;
}

void hsd_rstore_release(hsd_rstore *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->log[i].data);
    free(s->log);
    free(s->off);
    free(s->snap.data);
    s->log = NULL;
    s->off = NULL;
    s->n = s->cap = 0;
    memset(&s->snap, 0, sizeof(s->snap));
}
