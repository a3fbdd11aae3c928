/* raft_codec.c: wire encoding of Raft messages and of membership-change entries.
 * Layout: type u8 (0x40-0x5f), from u64, to u64, term u64, then per-type fields, all
 * big-endian through codec.h. The decoder treats its input as hostile: every length is checked
 * against the bytes present and against the HS_RAFT_MAX_* limits, and trailing bytes are an
 * error. Decoded entry and snapshot data point into the input buffer (no large copies). */
#include <stdlib.h>
#include <string.h>

#include "hearsay/codec.h"
#include "hearsay/raft.h"

#define HDR_SIZE   (1 + 8 * 3)
#define ENT_HDR    (8 + 8 + 1 + 4)
#define PEER_FIXED (8 + 1 + 1 + 16 + 2)

static void put_peer(hs_writer *w, const hs_raft_peer *p)
{
    hs_put_u64(w, p->id);
    size_t n = strnlen(p->name, sizeof(p->name));
    if (n > HS_RAFT_NAME_MAX) w->ok = false;
    hs_put_str8(w, p->name, n);
    hs_put_u8(w, p->addr.family);
    hs_put_bytes(w, p->addr.ip, 16);
    hs_put_u16(w, p->addr.port);
}

static void get_peer(hs_reader *r, hs_raft_peer *p)
{
    memset(p, 0, sizeof(*p));
    p->id = hs_get_u64(r);
    hs_get_str8(r, p->name, sizeof(p->name), true);
    p->addr.family = hs_get_u8(r);
    const uint8_t *ip = hs_get_bytes(r, 16);
    if (ip) memcpy(p->addr.ip, ip, 16);
    p->addr.port = hs_get_u16(r);
    if (p->id == 0 || (p->addr.family != 0 && p->addr.family != 4 && p->addr.family != 6))
        r->ok = false;
}

static size_t peer_size(const hs_raft_peer *p)
{
    return PEER_FIXED + strnlen(p->name, sizeof(p->name));
}

size_t hs_raft_msg_size(const hs_raft_msg *m)
{
    size_t n = HDR_SIZE;
    switch (m->type) {
    case HS_RAFT_MSG_APPEND:
        n += 8 * 4 + 4;
        for (uint32_t i = 0; i < m->n_entries; i++) n += ENT_HDR + m->entries[i].len;
        break;
    case HS_RAFT_MSG_APPEND_RESP:
        n += 1 + 8 + 8;
        break;
    case HS_RAFT_MSG_VOTE:
    case HS_RAFT_MSG_PREVOTE:
        n += 8 + 8;
        break;
    case HS_RAFT_MSG_VOTE_RESP:
    case HS_RAFT_MSG_PREVOTE_RESP:
        n += 1;
        break;
    case HS_RAFT_MSG_SNAPSHOT:
        n += 8 * 3 + 1 + 4 + m->snapshot.len;
        for (uint32_t i = 0; i < m->snapshot.conf.n && i < HS_RAFT_MAX_PEERS; i++)
            n += peer_size(&m->snapshot.conf.peers[i]);
        break;
    case HS_RAFT_MSG_READINDEX:
        n += 8;
        break;
    case HS_RAFT_MSG_READINDEX_RESP:
        n += 1 + 8 + 8;
        break;
    default:
        return 0;
    }
    return n;
}

size_t hs_raft_msg_encode(const hs_raft_msg *m, uint8_t *buf, size_t cap)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, m->type);
    hs_put_u64(&w, m->from);
    hs_put_u64(&w, m->to);
    hs_put_u64(&w, m->term);
    switch (m->type) {
    case HS_RAFT_MSG_APPEND:
        if (m->n_entries > HS_RAFT_MAX_MSG_ENTS) return 0;
        hs_put_u64(&w, m->log_index);
        hs_put_u64(&w, m->log_term);
        hs_put_u64(&w, m->commit);
        hs_put_u64(&w, m->ctx);
        hs_put_u32(&w, m->n_entries);
        for (uint32_t i = 0; i < m->n_entries; i++) {
            const hs_raft_entry *e = &m->entries[i];
            if (e->len > HS_RAFT_MAX_ENTRY) return 0;
            hs_put_u64(&w, e->term);
            hs_put_u64(&w, e->index);
            hs_put_u8(&w, e->type);
            hs_put_u32(&w, e->len);
            hs_put_bytes(&w, e->data, e->len);
        }
        break;
    case HS_RAFT_MSG_APPEND_RESP:
        hs_put_u8(&w, m->reject);
        hs_put_u64(&w, m->index);
        hs_put_u64(&w, m->ctx);
        break;
    case HS_RAFT_MSG_VOTE:
    case HS_RAFT_MSG_PREVOTE:
        hs_put_u64(&w, m->log_index);
        hs_put_u64(&w, m->log_term);
        break;
    case HS_RAFT_MSG_VOTE_RESP:
    case HS_RAFT_MSG_PREVOTE_RESP:
        hs_put_u8(&w, m->reject);
        break;
    case HS_RAFT_MSG_SNAPSHOT: {
        const hs_raft_snapshot *s = &m->snapshot;
        if (s->len > HS_RAFT_MAX_SNAPSHOT || s->conf.n == 0 || s->conf.n > HS_RAFT_MAX_PEERS)
            return 0;
        hs_put_u64(&w, m->commit);
        hs_put_u64(&w, s->index);
        hs_put_u64(&w, s->term);
        hs_put_u8(&w, (uint8_t)s->conf.n);
        for (uint32_t i = 0; i < s->conf.n; i++) put_peer(&w, &s->conf.peers[i]);
        hs_put_u32(&w, s->len);
        hs_put_bytes(&w, s->data, s->len);
        break;
    }
    case HS_RAFT_MSG_READINDEX:
        hs_put_u64(&w, m->ctx);
        break;
    case HS_RAFT_MSG_READINDEX_RESP:
        hs_put_u8(&w, m->reject);
        hs_put_u64(&w, m->ctx);
        hs_put_u64(&w, m->index);
        break;
    default:
        return 0;
    }
    return w.ok ? w.len : 0;
}

static bool get_bool(hs_reader *r)
{
    uint8_t v = hs_get_u8(r);
    if (v > 1) r->ok = false;
    return v == 1;
}

int hs_raft_msg_decode(const uint8_t *buf, size_t len, hs_raft_msg *out)
{
    memset(out, 0, sizeof(*out));
    hs_reader r;
    hs_reader_init(&r, buf, len);
    out->type = hs_get_u8(&r);
    out->from = hs_get_u64(&r);
    out->to = hs_get_u64(&r);
    out->term = hs_get_u64(&r);
    if (!r.ok || out->from == 0 || out->to == 0) return -1;
    switch (out->type) {
    case HS_RAFT_MSG_APPEND: {
        out->log_index = hs_get_u64(&r);
        out->log_term = hs_get_u64(&r);
        out->commit = hs_get_u64(&r);
        out->ctx = hs_get_u64(&r);
        uint32_t n = hs_get_u32(&r);
        if (!r.ok || n > HS_RAFT_MAX_MSG_ENTS || n > hs_reader_left(&r) / ENT_HDR) return -1;
        if (out->log_index > UINT64_MAX - HS_RAFT_MAX_MSG_ENTS - 1) return -1;
        if (n) {
            out->entries = calloc(n, sizeof(*out->entries));
            if (!out->entries) return -1;
        }
        out->n_entries = n;
        for (uint32_t i = 0; i < n; i++) {
            hs_raft_entry *e = &out->entries[i];
            e->term = hs_get_u64(&r);
            e->index = hs_get_u64(&r);
            e->type = hs_get_u8(&r);
            e->len = hs_get_u32(&r);
            if (!r.ok || e->len > HS_RAFT_MAX_ENTRY || e->type > HS_RAFT_ENTRY_CONF ||
                e->index != out->log_index + 1 + i || e->term == 0 || e->term > out->term)
                goto fail;
            e->data = (uint8_t *)hs_get_bytes(&r, e->len);
            if (!r.ok) goto fail;
            if (e->len == 0) e->data = NULL;
        }
        break;
    }
    case HS_RAFT_MSG_APPEND_RESP:
        out->reject = get_bool(&r);
        out->index = hs_get_u64(&r);
        out->ctx = hs_get_u64(&r);
        break;
    case HS_RAFT_MSG_VOTE:
    case HS_RAFT_MSG_PREVOTE:
        out->log_index = hs_get_u64(&r);
        out->log_term = hs_get_u64(&r);
        break;
    case HS_RAFT_MSG_VOTE_RESP:
    case HS_RAFT_MSG_PREVOTE_RESP:
        out->reject = get_bool(&r);
        break;
    case HS_RAFT_MSG_SNAPSHOT: {
        hs_raft_snapshot *s = &out->snapshot;
        out->commit = hs_get_u64(&r);
        s->index = hs_get_u64(&r);
        s->term = hs_get_u64(&r);
        uint8_t np = hs_get_u8(&r);
        if (!r.ok || np == 0 || np > HS_RAFT_MAX_PEERS || s->index == 0 || s->term == 0) return -1;
        s->conf.n = np;
        for (uint32_t i = 0; i < np; i++) get_peer(&r, &s->conf.peers[i]);
        s->len = hs_get_u32(&r);
        if (!r.ok || s->len > HS_RAFT_MAX_SNAPSHOT) return -1;
        s->data = (uint8_t *)hs_get_bytes(&r, s->len);
        if (s->len == 0) s->data = NULL;
        break;
    }
    case HS_RAFT_MSG_READINDEX:
        out->ctx = hs_get_u64(&r);
        break;
    case HS_RAFT_MSG_READINDEX_RESP:
        out->reject = get_bool(&r);
        out->ctx = hs_get_u64(&r);
        out->index = hs_get_u64(&r);
        break;
    default:
        return -1;
    }
    if (!r.ok || hs_reader_left(&r) != 0) goto fail;
    return 0;
fail:
    hs_raft_msg_release(out);
    return -1;
}

void hs_raft_msg_release(hs_raft_msg *m)
{
    free(m->entries);
    m->entries = NULL;
    m->n_entries = 0;
}

size_t hs_raft_conf_change_encode(const hs_raft_conf_change *cc, uint8_t *buf, size_t cap)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    if (cc->op != HS_RAFT_ADD_SEED && cc->op != HS_RAFT_REMOVE_SEED) return 0;
    if (cc->tag_len > HS_RAFT_CONF_TAG_MAX) return 0;
    hs_put_u8(&w, cc->op);
    put_peer(&w, &cc->peer);
    if (cc->tag_len) { /* optional: absent when empty, so the encoding stays canonical */
        hs_put_u8(&w, cc->tag_len);
        hs_put_bytes(&w, cc->tag, cc->tag_len);
    }
    return w.ok ? w.len : 0;
}

int hs_raft_conf_change_decode(const uint8_t *buf, size_t len, hs_raft_conf_change *out)
{
    memset(out, 0, sizeof(*out));
    hs_reader r;
    hs_reader_init(&r, buf, len);
    out->op = hs_get_u8(&r);
    get_peer(&r, &out->peer);
    if (r.ok && hs_reader_left(&r) > 0) {
        out->tag_len = hs_get_u8(&r);
        const uint8_t *t = hs_get_bytes(&r, out->tag_len);
        if (out->tag_len == 0 || out->tag_len > HS_RAFT_CONF_TAG_MAX) r.ok = false;
        if (r.ok && t) memcpy(out->tag, t, out->tag_len);
    }
    if (!r.ok || hs_reader_left(&r) != 0) return -1;
    if (out->op != HS_RAFT_ADD_SEED && out->op != HS_RAFT_REMOVE_SEED) return -1;
    return 0;
}
