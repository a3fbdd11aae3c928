/* addr.h: network addresses as plain values (IPv4 or IPv6 plus port), parsed and printed
 * without touching the network. Shared by the cores, the simulator and the agent. */
#ifndef HEARSAY_ADDR_H
#define HEARSAY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_ADDR_STRLEN 64 /* "[ipv6]:port" fits with room to spare */

typedef struct hs_addr {
    uint8_t family; /* 4 or 6; 0 means unset */
    uint8_t ip[16]; /* IPv4 uses the first 4 bytes */
    uint16_t port;  /* host byte order */
} hs_addr;

/* Parse "1.2.3.4:5", "[::1]:5" or, when default_port is non-zero, "1.2.3.4". 0 on success. */
int hs_addr_parse(hs_addr *out, const char *text, uint16_t default_port);
/* Write "1.2.3.4:5" or "[::1]:5" into buf (HS_ADDR_STRLEN bytes); returns buf. */
char *hs_addr_format(const hs_addr *a, char *buf, size_t len);
bool hs_addr_equal(const hs_addr *a, const hs_addr *b);
/* Convenience for IPv4: a.b.c.d:port. */
hs_addr hs_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);

#endif
