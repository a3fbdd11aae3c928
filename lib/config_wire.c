/* config_wire.c: encoding and decoding of the configuration client's messages (0x60-0x63, the
 * layouts are in config_client.h). The decoder takes hostile input: every length is checked
 * against its limit, flags are 0 or 1, trailing bytes are an error. */
#include <string.h>

#include "hearsay/codec.h"
#include "hearsay/config_client.h"
#include "hearsay/wire.h"

static void put_str(hs_writer *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max) w->ok = false;
    hs_put_str8(w, s, n);
}

size_t hs_cfgc_wire_size(const hs_cfgc_wire *m)
{
    return m->type == HS_MSG_CONFIG_FETCH_RESP ? HS_CFGC_WIRE_SMALL + m->config_len
                                               : HS_CFGC_WIRE_SMALL;
}

size_t hs_cfgc_wire_encode(const hs_cfgc_wire *m, uint8_t *buf, size_t cap)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, m->type);
    switch (m->type) {
    case HS_MSG_CONFIG_FETCH:
        hs_put_u64(&w, m->version);
        break;
    case HS_MSG_CONFIG_FETCH_RESP:
        if (m->config_len > HS_CC_SERIALIZED_MAX) return 0;
        hs_put_u64(&w, m->version);
        hs_put_u64(&w, m->clock);
        put_str(&w, m->leader, HS_RAFT_NAME_MAX);
        hs_put_u32(&w, m->config_len);
        hs_put_bytes(&w, m->config, m->config_len);
        break;
    case HS_MSG_CONFIG_FWD:
        if (m->op < 1 || m->op > HS_CFGC_KIND_MAX) return 0;
        hs_put_u64(&w, m->rid);
        hs_put_u8(&w, m->op);
        hs_put_u64(&w, m->tag.session);
        hs_put_u64(&w, m->tag.born);
        hs_put_u64(&w, m->tag.seq);
        hs_put_u64(&w, m->tag.floor);
        put_str(&w, m->key, HS_CC_NAME_MAX);
        put_str(&w, m->value, HS_CC_VALUE_MAX);
        break;
    case HS_MSG_CONFIG_FWD_RESP:
        if (m->result > HS_CFGC_RESULT_MAX) return 0;
        hs_put_u64(&w, m->rid);
        hs_put_u8(&w, m->result);
        hs_put_u64(&w, m->version);
        hs_put_u64(&w, m->clock);
        hs_put_u8(&w, m->found ? 1 : 0);
        put_str(&w, m->value, HS_CC_VALUE_MAX);
        put_str(&w, m->leader, HS_RAFT_NAME_MAX);
        break;
    default:
        return 0;
    }
    return w.ok ? w.len : 0;
}

/* A read carries no session; a change carries a valid one. */
static bool tag_fits(uint8_t op, const hs_cc_tag *t)
{
    if (op == HS_CFGC_READ) return !t->session && !t->born && !t->seq && !t->floor;
    return t->session != 0 && t->seq >= 1 && t->floor >= 1 && t->floor <= t->seq;
}

int hs_cfgc_wire_decode(const uint8_t *buf, size_t len, hs_cfgc_wire *out)
{
    memset(out, 0, sizeof(*out));
    hs_reader r;
    hs_reader_init(&r, buf, len);
    out->type = hs_get_u8(&r);
    switch (out->type) {
    case HS_MSG_CONFIG_FETCH:
        out->version = hs_get_u64(&r);
        break;
    case HS_MSG_CONFIG_FETCH_RESP:
        out->version = hs_get_u64(&r);
        out->clock = hs_get_u64(&r);
        hs_get_str8(&r, out->leader, sizeof(out->leader), false);
        out->config_len = hs_get_u32(&r);
        if (out->config_len > HS_CC_SERIALIZED_MAX) return -1;
        out->config = hs_get_bytes(&r, out->config_len);
        break;
    case HS_MSG_CONFIG_FWD:
        out->rid = hs_get_u64(&r);
        out->op = hs_get_u8(&r);
        out->tag.session = hs_get_u64(&r);
        out->tag.born = hs_get_u64(&r);
        out->tag.seq = hs_get_u64(&r);
        out->tag.floor = hs_get_u64(&r);
        hs_get_str8(&r, out->key, sizeof(out->key), true);
        hs_get_str8(&r, out->value, sizeof(out->value), false);
        if (r.ok && (out->op < 1 || out->op > HS_CFGC_KIND_MAX || !tag_fits(out->op, &out->tag)))
            return -1;
        break;
    case HS_MSG_CONFIG_FWD_RESP: {
        out->rid = hs_get_u64(&r);
        out->result = hs_get_u8(&r);
        out->version = hs_get_u64(&r);
        out->clock = hs_get_u64(&r);
        uint8_t found = hs_get_u8(&r);
        out->found = found == 1;
        hs_get_str8(&r, out->value, sizeof(out->value), false);
        hs_get_str8(&r, out->leader, sizeof(out->leader), false);
        if (r.ok && (out->result > HS_CFGC_RESULT_MAX || found > 1)) return -1;
        break;
    }
    default:
        return -1;
    }
    if (!r.ok || hs_reader_left(&r) != 0) return -1;
    return 0;
}
