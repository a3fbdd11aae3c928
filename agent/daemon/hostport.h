/* hostport.h: "HOST:PORT" text split into a host (an IP address or a DNS name) and a port, for
 * the options and the API's join; pure string work, names are resolved by resolver.c. */
#ifndef HSD_HOSTPORT_H
#define HSD_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"

#define HSD_HOST_MAX 253 /* a DNS name's longest text form */

typedef struct hsd_target {
    hs_addr addr;                /* numeric: the address; a name: family 0, the port set */
    char host[HSD_HOST_MAX + 1]; /* "" when numeric, else the name to resolve */
} hsd_target;

/* Parses "1.2.3.4:5", "[::1]:5", "name.example:5" or, with default_port non-zero, any of
 * them without the port. Names: dot-separated labels of letters, digits, '-' and '_', each 1-63
 * bytes, 253 in all, at least one letter (so "1.2.3" is refused rather than looked up). 0 or
 * -1. */
int hsd_hostport_parse(hsd_target *out, const char *text, uint16_t default_port);
/* "name:port" or the address's form, into buf. */
char *hsd_target_format(const hsd_target *t, char *buf, size_t len);

#endif
