/* addr.c: parse and print hs_addr values ("1.2.3.4:5", "[::1]:5"). Pure string work:
 * inet_pton/inet_ntop convert text, nothing here touches the network. */
#include "hearsay/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
    if (!*s) return -1;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > 65535 || s[0] == '-' || s[0] == '+') return -1;
    *port = (uint16_t)v;
    return 0;
}

int hs_addr_parse(hs_addr *out, const char *text, uint16_t default_port)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port_s = NULL;
    size_t hlen;
    memset(out, 0, sizeof(*out));
    if (!text) return -1;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close) return -1;
        hlen = (size_t)(close - text - 1);
        if (close[1] == ':')
            port_s = close + 2;
        else if (close[1] != 0)
            return -1;
        text++;
    } else {
        const char *colon = strchr(text, ':');
        if (colon && strchr(colon + 1, ':')) return -1; /* bare IPv6 needs brackets */
        hlen = colon ? (size_t)(colon - text) : strlen(text);
        if (colon) port_s = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof(host)) return -1;
    memcpy(host, text, hlen);
    host[hlen] = 0;
    if (port_s) {
        if (parse_port(port_s, &out->port) != 0) return -1;
    } else if (default_port) {
        out->port = default_port;
    } else {
        return -1;
    }
    if (inet_pton(AF_INET, host, out->ip) == 1)
        out->family = 4;
    else if (inet_pton(AF_INET6, host, out->ip) == 1)
        out->family = 6;
    else
        return -1;
    return 0;
}

char *hs_addr_format(const hs_addr *a, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    if (a->family == 4 && inet_ntop(AF_INET, a->ip, host, sizeof(host)))
        snprintf(buf, len, "%s:%u", host, a->port);
    else if (a->family == 6 && inet_ntop(AF_INET6, a->ip, host, sizeof(host)))
        snprintf(buf, len, "[%s]:%u", host, a->port);
    else
        snprintf(buf, len, "-");
    return buf;
}

bool hs_addr_equal(const hs_addr *a, const hs_addr *b)
{
    size_t n = a->family == 4 ? 4 : 16;
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}

hs_addr hs_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    hs_addr x;
    memset(&x, 0, sizeof(x));
    x.family = 4;
    x.ip[0] = a;
    x.ip[1] = b;
    x.ip[2] = c;
    x.ip[3] = d;
    x.port = port;
    return x;
}
