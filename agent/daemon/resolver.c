/* resolver.c: host names looked up with evdns_getaddrinfo on the engine's loop (resolver.h);
 * every answer reaches its caller through a zero timer, so never inside the call that asked. */
#include "resolver.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "net.h"

typedef struct lookup {
    hsd_resolver *r;
    struct evdns_getaddrinfo_request *req; /* NULL once answered */
    struct event *done;                    /* the zero timer that calls fn */
    hsd_resolved_fn fn;
    void *arg;
    uint16_t port;
    hs_addr addrs[HSD_RESOLVE_MAX];
    size_t n;
    char error[160];
    struct lookup *prev, *next;
} lookup;

struct hsd_resolver {
    struct event_base *base;
    struct evdns_base *dns;
    lookup *head;
    size_t pending;
};

hsd_resolver *hsd_resolver_new(struct event_base *base, char *err, size_t errlen)
{
    hsd_resolver *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->base = base;
    r->dns = evdns_base_new(base, 0);
    if (!r->dns) {
        snprintf(err, errlen, "cannot create the DNS resolver");
        free(r);
        return NULL;
    }
    const char *conf = getenv("HEARSAY_RESOLV_CONF");
    if (!conf || !*conf) conf = "/etc/resolv.conf";
    /* a missing file leaves the default: a name server on 127.0.0.1 */
    evdns_base_resolv_conf_parse(r->dns, DNS_OPTIONS_ALL | DNS_OPTION_HOSTSFILE, conf);
    /* answers within a few seconds: a join or a start waits for them */
    evdns_base_set_option(r->dns, "timeout:", "2");
    evdns_base_set_option(r->dns, "attempts:", "2");
    return r;
}

static void unlink_lookup(lookup *l)
{
    hsd_resolver *r = l->r;
    if (l->prev)
        l->prev->next = l->next;
    else
        r->head = l->next;
    if (l->next) l->next->prev = l->prev;
    r->pending--;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lookup *l = arg;
    unlink_lookup(l);
    event_free(l->done);
    l->fn(l->arg, l->addrs, l->n, l->n ? NULL : l->error);
    free(l);
}

static void on_answer(int result, struct evutil_addrinfo *res, void *arg)
{
    if (result == EVUTIL_EAI_CANCEL) { /* hsd_resolver_free, which freed arg */
        if (res) evutil_freeaddrinfo(res);
        return;
    }
    lookup *l = arg;
    l->req = NULL;
    if (result != 0) snprintf(l->error, sizeof(l->error), "%s", evutil_gai_strerror(result));
    for (struct evutil_addrinfo *ai = res; ai && l->n < HSD_RESOLVE_MAX; ai = ai->ai_next) {
        hs_addr a;
        if (hsd_from_sockaddr(ai->ai_addr, (socklen_t)ai->ai_addrlen, &a) != 0) continue;
        a.port = l->port;
        bool dup = false;
        for (size_t i = 0; i < l->n && !dup; i++) dup = hs_addr_equal(&l->addrs[i], &a);
        if (!dup) l->addrs[l->n++] = a;
    }
    if (res) evutil_freeaddrinfo(res);
    if (!l->n && !l->error[0]) snprintf(l->error, sizeof(l->error), "no address of that family");
    struct timeval zero = {0, 0};
    evtimer_add(l->done, &zero);
}

int hsd_resolve(hsd_resolver *r, const char *host, uint16_t port, int family, hsd_resolved_fn fn,
                void *arg)
{
    lookup *l = calloc(1, sizeof(*l));
    if (!l) return -1;
    l->done = evtimer_new(r->base, on_done, l);
    if (!l->done) {
        free(l);
        return -1;
    }
    *l = (lookup){.r = r, .done = l->done, .fn = fn, .arg = arg, .port = port, .next = r->head};
    if (r->head) r->head->prev = l;
    r->head = l;
    r->pending++;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family == 6 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    /* may answer at once (/etc/hosts): on_answer then only arms the timer */
    l->req = evdns_getaddrinfo(r->dns, host, NULL, &hints, on_answer, l); /* NULL if answered */
    return 0;
}

size_t hsd_resolver_pending(const hsd_resolver *r)
{
    return r->pending;
}

void hsd_resolver_free(hsd_resolver *r)
{
    if (!r) return;
    while (r->head) {
        lookup *l = r->head;
        if (l->req) evdns_getaddrinfo_cancel(l->req); /* on_answer: EVUTIL_EAI_CANCEL */
        unlink_lookup(l);
        event_free(l->done);
        free(l);
    }
    evdns_base_free(r->dns, 0);
    free(r);
}
