/* resolver.h: host names to addresses on the engine's loop (libevent's evdns, the way
 * getaddrinfo answers, never blocking), for the --join and --seed names and the API's join. */
#ifndef HSD_RESOLVER_H
#define HSD_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "hearsay/addr.h"

#define HSD_RESOLVE_MAX 8 /* addresses kept per name */

struct event_base;
typedef struct hsd_resolver hsd_resolver;

/* Reads $HEARSAY_RESOLV_CONF if set, else /etc/resolv.conf (name servers, search, options),
 * and /etc/hosts; nsswitch.conf is not consulted. NULL with a message in err. */
hsd_resolver *hsd_resolver_new(struct event_base *base, char *err, size_t errlen);
/* Cancels the lookups in flight (their callbacks are not called) and frees; the loop must not
 * run again before the base is freed. NULL is fine. */
void hsd_resolver_free(hsd_resolver *r);

/* The end of a lookup: n addresses (port set), or n = 0 and error the resolver's reason.
 * Called from the loop, never from inside hsd_resolve. */
typedef void (*hsd_resolved_fn)(void *arg, const hs_addr *addrs, size_t n, const char *error);
/* Looks host up: IPv4 (A) when family is 4, IPv6 (AAAA) when 6. -1 (no callback) when the
 * lookup cannot start. */
int hsd_resolve(hsd_resolver *r, const char *host, uint16_t port, int family, hsd_resolved_fn fn,
                void *arg);
/* Lookups not ended yet. */
size_t hsd_resolver_pending(const hsd_resolver *r);

#endif
