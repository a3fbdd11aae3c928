/* codec.h: bounds-checked big-endian writer and reader used by every wire encoder and decoder.
 * A reader that runs past its end stays failed (ok == false) and returns zeros, so decoders
 * check once at the end instead of after every field. */
#ifndef HEARSAY_CODEC_H
#define HEARSAY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_writer {
    uint8_t *buf;
    size_t cap, len;
    bool ok; /* false once a write did not fit */
} hs_writer;

typedef struct hs_reader {
    const uint8_t *buf;
    size_t len, pos;
    bool ok; /* false once a read ran past the end or a limit was broken */
} hs_reader;

void hs_writer_init(hs_writer *w, uint8_t *buf, size_t cap);
void hs_put_u8(hs_writer *w, uint8_t v);
void hs_put_u16(hs_writer *w, uint16_t v);
void hs_put_u32(hs_writer *w, uint32_t v);
void hs_put_u64(hs_writer *w, uint64_t v);
void hs_put_bytes(hs_writer *w, const void *p, size_t n);
/* u8 length then bytes; fails the writer if n > 255 */
void hs_put_str8(hs_writer *w, const char *s, size_t n);
/* u16 length then bytes */
void hs_put_blob16(hs_writer *w, const void *p, size_t n);

void hs_reader_init(hs_reader *r, const uint8_t *buf, size_t len);
uint8_t hs_get_u8(hs_reader *r);
uint16_t hs_get_u16(hs_reader *r);
uint32_t hs_get_u32(hs_reader *r);
uint64_t hs_get_u64(hs_reader *r);
/* Returns a pointer into the buffer, or NULL (and fails the reader) if n bytes are not there. */
const uint8_t *hs_get_bytes(hs_reader *r, size_t n);
/* Reads a u8-length string into out (NUL-terminated, out has cap bytes); fails if it does
 * not fit, is empty when nonempty is set, or contains a NUL byte. Returns its length. */
size_t hs_get_str8(hs_reader *r, char *out, size_t cap, bool nonempty);
/* Reads a u16-length blob of at most max bytes; returns a pointer into the buffer. */
const uint8_t *hs_get_blob16(hs_reader *r, size_t max, size_t *n);
static inline size_t hs_reader_left(const hs_reader *r)
{
    return r->ok ? r->len - r->pos : 0;
}

#endif
