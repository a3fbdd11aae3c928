/* ue_codec.c: wire form of user-event records and the checks on their names and filters
 * (docs/protocol.md, "User events and queries"):
 *   record = kind:u8 flags:u8 origin:str8 epoch:u64 seq:u32 ltime:u64 age_ms:u32 name:str8
 *            payload:blob16 [query: timeout_ms:u32 n_nodes:u8 node:str8... n_tags:u8
 *            (key:str8 regex:str8)...]
 * Decoders take hostile input: every length, count, name and flag is checked, and a record
 * that breaks any rule fails the whole message. Query filters are compiled (POSIX extended
 * expressions) once and matched against members. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "ue_internal.h"

bool hs_ue_name_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':'))
            return false;
    }
    return n > 0 && n <= HS_UE_NAME_MAX;
}

/* A member name: 1-64 printable bytes without blanks (the membership core's rule). */
bool ue_member_name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f) return false;
    return n > 0 && n <= HS_NAME_MAX;
}

/* A tag key: 1-128 printable bytes without blanks or '='. */
bool ue_tag_key_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f || s[n] == '=') return false;
    return n > 0 && n <= HS_UE_NAME_MAX;
}

void ue_put_records_header(hs_writer *w, uint8_t flags, const char *sender, uint64_t clock,
                           uint8_t count)
{
    hs_put_u8(w, HS_MSG_UE_RECORDS);
    hs_put_u8(w, flags);
    hs_put_str8(w, sender, strlen(sender));
    hs_put_u64(w, clock);
    hs_put_u8(w, count);
}

void ue_put_record(hs_writer *w, const ue_record *r, size_t *age_off)
{
    size_t start = w->len;
    hs_put_u8(w, r->kind);
    hs_put_u8(w, r->flags);
    hs_put_str8(w, r->origin, strlen(r->origin));
    hs_put_u64(w, r->epoch);
    hs_put_u32(w, r->seq);
    hs_put_u64(w, r->ltime);
    if (age_off) *age_off = w->len - start;
    hs_put_u32(w, r->age_ms);
    hs_put_str8(w, r->name, strlen(r->name));
    hs_put_blob16(w, r->payload, r->len);
    if (r->kind != UE_KIND_QUERY) return;
    hs_put_u32(w, r->timeout_ms);
    hs_put_u8(w, r->n_nodes);
    for (uint8_t i = 0; i < r->n_nodes; i++) hs_put_str8(w, r->nodes[i], strlen(r->nodes[i]));
    hs_put_u8(w, r->n_tags);
    for (uint8_t i = 0; i < r->n_tags; i++) {
        hs_put_str8(w, r->tag_keys[i], strlen(r->tag_keys[i]));
        hs_put_str8(w, r->tag_res[i], strlen(r->tag_res[i]));
    }
}

bool ue_get_record(hs_reader *rd, ue_record *r)
{
    memset(r, 0, offsetof(ue_record, nodes));
    size_t start = rd->pos;
    r->kind = hs_get_u8(rd);
    r->flags = hs_get_u8(rd);
    hs_get_str8(rd, r->origin, sizeof(r->origin), true);
    r->epoch = hs_get_u64(rd);
    r->seq = hs_get_u32(rd);
    r->ltime = hs_get_u64(rd);
    r->age_off = rd->pos - start;
    r->age_ms = hs_get_u32(rd);
    hs_get_str8(rd, r->name, sizeof(r->name), true);
    r->payload = hs_get_blob16(rd, HS_UE_PAYLOAD_MAX, &r->len);
    if (!rd->ok || r->kind > UE_KIND_QUERY || (r->flags & ~(UE_RF_COALESCE | UE_RF_WANT_ACK)) ||
        !ue_member_name_ok(r->origin) || !r->epoch || !r->seq || !hs_ue_name_valid(r->name))
        return rd->ok = false;
    if (r->kind == UE_KIND_QUERY) {
        r->timeout_ms = hs_get_u32(rd);
        r->n_nodes = hs_get_u8(rd);
        if (r->n_nodes > HS_UE_FILTERS_MAX) return rd->ok = false;
        for (uint8_t i = 0; i < r->n_nodes && rd->ok; i++)
            if (hs_get_str8(rd, r->nodes[i], sizeof(r->nodes[i]), true) &&
                !ue_member_name_ok(r->nodes[i]))
                rd->ok = false;
        r->n_tags = hs_get_u8(rd);
        if (r->n_nodes + r->n_tags > HS_UE_FILTERS_MAX) return rd->ok = false;
        for (uint8_t i = 0; i < r->n_tags && rd->ok; i++) {
            if (hs_get_str8(rd, r->tag_keys[i], sizeof(r->tag_keys[i]), true) &&
                !ue_tag_key_ok(r->tag_keys[i]))
                rd->ok = false;
            hs_get_str8(rd, r->tag_res[i], sizeof(r->tag_res[i]), false);
        }
        if (!rd->ok || r->timeout_ms == 0 || r->timeout_ms > 300000 || (r->flags & UE_RF_COALESCE))
            return rd->ok = false;
    }
    r->wire = rd->buf + start;
    r->wire_len = rd->pos - start;
    return rd->ok;
}

bool ue_filter_compile(ue_filter *f, const ue_record *r)
{
    f->r = r;
    f->n = 0;
    f->re = NULL;
    if (!r->n_tags) return true;
    regex_t *re = calloc(r->n_tags, sizeof(*re));
    if (!re) return false;
    f->re = re;
    for (; f->n < r->n_tags; f->n++)
        if (regcomp(&re[f->n], r->tag_res[f->n], REG_EXTENDED | REG_NOSUB) != 0) {
            ue_filter_free(f);
            return false;
        }
    return true;
}

bool ue_filter_match(const ue_filter *f, const hs_ue_member *m)
{
    const ue_record *r = f->r;
    if (r->n_nodes) {
        bool named = false;
        for (uint8_t i = 0; i < r->n_nodes && !named; i++) named = !strcmp(r->nodes[i], m->name);
        if (!named) return false;
    }
    regex_t *re = f->re;
    for (uint8_t i = 0; i < r->n_tags; i++) {
        const char *v = hs_tags_get(m->tags, r->tag_keys[i]);
        if (!v || (size_t)i >= f->n || regexec(&re[i], v, 0, NULL, 0) != 0) return false;
    }
    return true;
}

void ue_filter_free(ue_filter *f)
{
    regex_t *re = f->re;
    for (size_t i = 0; i < f->n; i++) regfree(&re[i]);
    free(re);
    f->re = NULL;
    f->n = 0;
}
