/* codec.c: bounds-checked big-endian writer and reader (see include/hearsay/codec.h).
 * Every wire encoder and decoder in lib/ goes through these, so a malformed or truncated
 * message can only fail the reader, never read or write out of bounds. */
#include "hearsay/codec.h"

#include <string.h>

void hs_writer_init(hs_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->ok = true;
}

static uint8_t *reserve(hs_writer *w, size_t n)
{
    if (!w->ok || n > w->cap - w->len) {
        w->ok = false;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put_be(hs_writer *w, uint64_t v, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (!p) return;
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void hs_put_u8(hs_writer *w, uint8_t v)
{
    put_be(w, v, 1);
}
void hs_put_u16(hs_writer *w, uint16_t v)
{
    put_be(w, v, 2);
}
void hs_put_u32(hs_writer *w, uint32_t v)
{
    put_be(w, v, 4);
}
void hs_put_u64(hs_writer *w, uint64_t v)
{
    put_be(w, v, 8);
}

void hs_put_bytes(hs_writer *w, const void *p, size_t n)
{
    uint8_t *d = reserve(w, n);
    if (d && n) memcpy(d, p, n);
}

void hs_put_str8(hs_writer *w, const char *s, size_t n)
{
    if (n > 255) {
        w->ok = false;
        return;
    }
    hs_put_u8(w, (uint8_t)n);
    hs_put_bytes(w, s, n);
}

void hs_put_blob16(hs_writer *w, const void *p, size_t n)
{
    if (n > 65535) {
        w->ok = false;
        return;
    }
    hs_put_u16(w, (uint16_t)n);
    hs_put_bytes(w, p, n);
}

void hs_reader_init(hs_reader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = buf ? len : 0;
    r->pos = 0;
    r->ok = true;
}

const uint8_t *hs_get_bytes(hs_reader *r, size_t n)
{
    if (!r->ok || n > r->len - r->pos) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

static uint64_t get_be(hs_reader *r, size_t n)
{
    const uint8_t *p = hs_get_bytes(r, n);
    uint64_t v = 0;
    if (!p) return 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

uint8_t hs_get_u8(hs_reader *r)
{
    return (uint8_t)get_be(r, 1);
}
uint16_t hs_get_u16(hs_reader *r)
{
    return (uint16_t)get_be(r, 2);
}
uint32_t hs_get_u32(hs_reader *r)
{
    return (uint32_t)get_be(r, 4);
}
uint64_t hs_get_u64(hs_reader *r)
{
    return get_be(r, 8);
}

size_t hs_get_str8(hs_reader *r, char *out, size_t cap, bool nonempty)
{
    size_t n = hs_get_u8(r);
    const uint8_t *p = hs_get_bytes(r, n);
    if (!p || n + 1 > cap || (nonempty && n == 0) || memchr(p, 0, n)) {
        r->ok = false;
        if (cap) out[0] = 0;
        return 0;
    }
    memcpy(out, p, n);
    out[n] = 0;
    return n;
}

const uint8_t *hs_get_blob16(hs_reader *r, size_t max, size_t *n)
{
    size_t len = hs_get_u16(r);
    if (len > max) {
        r->ok = false;
        *n = 0;
        return NULL;
    }
    const uint8_t *p = hs_get_bytes(r, len);
    *n = p ? len : 0;
    return p;
}
