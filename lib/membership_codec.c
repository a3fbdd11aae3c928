/* membership_codec.c: wire form of the pieces every membership message shares: names,
 * addresses and gossip entries. Message layouts (docs/protocol.md):
 *   entry   = name:str8 addr inc:u32 status:u8 tags:blob16
 *   addr    = family:u8 (4|6) ip:4|16 port:u16
 * Decoders reject anything out of range; the caller drops the whole message then. */
#include <string.h>

#include "membership_internal.h"

bool hs_name_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f) return false;
    return n > 0 && n <= HS_NAME_MAX;
}

void hs_put_addr(hs_writer *w, const hs_addr *a)
{
    hs_put_u8(w, a->family);
    hs_put_bytes(w, a->ip, a->family == 6 ? 16 : 4);
    hs_put_u16(w, a->port);
}

bool hs_get_addr(hs_reader *r, hs_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->family = hs_get_u8(r);
    if (a->family != 4 && a->family != 6) {
        r->ok = false;
        return false;
    }
    const uint8_t *ip = hs_get_bytes(r, a->family == 6 ? 16 : 4);
    if (ip) memcpy(a->ip, ip, a->family == 6 ? 16 : 4);
    a->port = hs_get_u16(r);
    if (a->port == 0) r->ok = false;
    return r->ok;
}

size_t hs_entry_size(const hs_member *m)
{
    return 1 + strlen(m->name) + 1 + (m->family == 6 ? 16 : 4) + 2 + 4 + 1 + 2 + m->tags_len;
}

void hs_put_entry(const hs_node *n, hs_writer *w, const hs_member *m)
{
    hs_addr a = hs_member_addr(n, m);
    hs_put_str8(w, m->name, strlen(m->name));
    hs_put_addr(w, &a);
    hs_put_u32(w, m->inc);
    /* suspicion is local: on the wire a suspect is alive */
    hs_put_u8(w, m->status == HS_SUSPECT ? HS_ALIVE : m->status);
    hs_put_blob16(w, m->tags, m->tags_len);
}

bool hs_get_entry(hs_reader *r, hs_entry *e)
{
    hs_get_str8(r, e->name, sizeof(e->name), true);
    hs_get_addr(r, &e->addr);
    e->inc = hs_get_u32(r);
    e->status = hs_get_u8(r);
    size_t tl = 0;
    e->tags = hs_get_blob16(r, HS_TAGS_MAX, &tl);
    e->tags_len = (uint16_t)tl;
    if (!r->ok) return false;
    if (!hs_name_valid(e->name) || e->status == HS_SUSPECT || e->status > HS_LEFT) {
        r->ok = false;
        return false;
    }
    if (tl && hs_tags_validate((hs_tags){(const char *)e->tags, tl}) != 0) {
        r->ok = false;
        return false;
    }
    return true;
}
