/* net.h: conversions between hs_addr and socket addresses for the transports, and whether an
 * address is the wildcard (a --bind of 0.0.0.0 or ::). */
#ifndef HSD_NET_H
#define HSD_NET_H

#include <sys/socket.h>

#include "hearsay/addr.h"

socklen_t hsd_to_sockaddr(const hs_addr *a, struct sockaddr_storage *ss);
int hsd_from_sockaddr(const struct sockaddr *sa, socklen_t len, hs_addr *out);
/* True for 0.0.0.0 and :: */
int hsd_addr_is_wildcard(const hs_addr *a);

#endif
