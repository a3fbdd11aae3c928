/* hostport.c: HOST:PORT text into a numeric address or a host name and a port (hostport.h);
 * no lookup happens here. */
#include "hostport.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid_name(const char *h, size_t n)
{
    size_t label = 0;
    bool letter = false;
    if (n == 0 || n > HSD_HOST_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0) return false; /* empty label: "a..b", ".a" */
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_') return false;
        if (++label > 63) return false;
        letter |= isalpha(c) || c == '-' || c == '_';
    }
    return letter; /* a trailing '.' (fully qualified) is fine */
}

int hsd_hostport_parse(hsd_target *out, const char *text, uint16_t default_port)
{
    memset(out, 0, sizeof(*out));
    if (!text || !*text) return -1;
    if (hs_addr_parse(&out->addr, text, default_port) == 0) return 0;
    memset(&out->addr, 0, sizeof(out->addr));
    if (text[0] == '[') return -1; /* brackets hold an IPv6 address, never a name */
    const char *colon = strrchr(text, ':');
    size_t hlen = colon ? (size_t)(colon - text) : strlen(text);
    if (!valid_name(text, hlen)) return -1;
    if (colon) {
        char *end;
        const char *p = colon + 1;
        unsigned long v = isdigit((unsigned char)*p) ? strtoul(p, &end, 10) : 0;
        if (!v || *end || v > 65535) return -1;
        out->addr.port = (uint16_t)v;
    } else if (default_port) {
        out->addr.port = default_port;
    } else {
        return -1;
    }
    memcpy(out->host, text, hlen);
    out->host[hlen] = '\0';
    return 0;
}

char *hsd_target_format(const hsd_target *t, char *buf, size_t len)
{
    if (!t->host[0]) return hs_addr_format(&t->addr, buf, len);
    snprintf(buf, len, "%s:%u", t->host, t->addr.port);
    return buf;
}
