/* net.c: hs_addr <-> struct sockaddr conversions shared by the transports, and the names of
 * the transports' drop reasons (metric labels). */
#include "net.h"
#include "transport.h"

#include <netinet/in.h>
#include <string.h>

socklen_t hsd_to_sockaddr(const hs_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == 4) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(a->port);
        memcpy(&s->sin_addr, a->ip, 4);
        return sizeof(*s);
    }
    if (a->family == 6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(a->port);
        memcpy(&s->sin6_addr, a->ip, 16);
        return sizeof(*s);
    }
    return 0;
}

int hsd_from_sockaddr(const struct sockaddr *sa, socklen_t len, hs_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        out->family = 4;
        memcpy(out->ip, &s->sin_addr, 4);
        out->port = ntohs(s->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
            out->family = 4;
            memcpy(out->ip, (const uint8_t *)&s->sin6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->ip, &s->sin6_addr, 16);
        }
        out->port = ntohs(s->sin6_port);
        return 0;
    }
    return -1;
}

int hsd_addr_is_wildcard(const hs_addr *a)
{
    static const uint8_t zero[16];
    if (a->family == 4) return memcmp(a->ip, zero, 4) == 0;
    if (a->family == 6) return memcmp(a->ip, zero, 16) == 0;
    return 1;
}

static const char *const drop_names[HSD_DROP_COUNT] = {
    [HSD_DROP_OVERSIZE] = "oversize",           [HSD_DROP_SEND_FAILED] = "send_failed",
    [HSD_DROP_SEAL_FAILED] = "seal_failed",     [HSD_DROP_CONN_LIMIT] = "conn_limit",
    [HSD_DROP_MALFORMED] = "malformed",         [HSD_DROP_HANDSHAKE_TIMEOUT] = "handshake_timeout",
    [HSD_DROP_PREAUTH_LIMIT] = "preauth_limit",
};

const char *hsd_drop_name(int reason)
{
    if (reason < 0 || reason >= HSD_DROP_COUNT) return "unknown";
    return drop_names[reason];
}
