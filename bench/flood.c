/* flood.c: hearsay-flood, a UDP flooder for the unauthenticated-input benchmark (bench/flood.py).
 * Sends datagrams an attacker without the cluster key can make to one loopback target at a
 * fixed rate with sendmmsg(2), in equal shares:
 *   garbage    random bytes, 1..1400 long
 *   truncated  version 1, sealed flag, shorter than a sealed envelope (2..45 bytes)
 *   unknown    a well-formed sealed envelope (46..1400 bytes) under a random key id
 *   lookalike  the same under the cluster's real key id (--key-id, seen in clear on every
 *              packet), so the receiver runs the AEAD check, which fails
 * Usage: hearsay-flood --target 127.0.0.1:PORT [--pps 100000] [--seconds 30]
 *                      [--key-id HEX8] [--source 127.0.0.9]
 * Prints one line: sent=N seconds=S pps=P and the count per kind. Only 127.0.0.0/8 targets
 * are accepted. Not a ctest entry; built by the bench-only target hearsay-flood. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL     4096
#define MAXLEN   1400
#define BATCH    64
#define KINDS    4
#define SEALED   46 /* header 6 + nonce 24 + tag 16 */
#define KEYID_AT 2

static const char *const kind_names[KINDS] = {"garbage", "truncated", "unknown_key", "lookalike"};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)next_rand();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen(s);
    if (hl == 0 || hl >= sizeof(host)) return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127) return -1; /* loopback only */
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (port < 0 || port > 65535) return -1;
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: hearsay-flood --target 127.0.0.X:PORT [--pps N] [--seconds S] "
                    "[--key-id HEX8] [--source 127.0.0.Y]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct sockaddr_in target, source;
    int have_target = 0, have_source = 0;
    double pps = 100000, seconds = 30;
    uint8_t keyid[4] = {0, 0, 0, 0};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        if (!strcmp(a, "--target")) {
            if (parse_addr(v, &target) != 0 || !target.sin_port) usage();
            have_target = 1;
        } else if (!strcmp(a, "--source")) {
            if (parse_addr(v, &source) != 0) usage();
            have_source = 1;
        } else if (!strcmp(a, "--pps")) {
            pps = atof(v);
        } else if (!strcmp(a, "--seconds")) {
            seconds = atof(v);
        } else if (!strcmp(a, "--key-id")) {
            if (strlen(v) != 8) usage();
            for (int k = 0; k < 4; k++) {
                unsigned x;
                if (sscanf(v + 2 * k, "%2x", &x) != 1) usage();
                keyid[k] = (uint8_t)x;
            }
        } else {
            usage();
        }
    }
    if (!have_target || pps <= 0 || seconds <= 0) usage();
    rng ^= (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

    /* a pool of packets, KINDS in turn */
    static uint8_t pool[POOL][MAXLEN];
    static size_t plen[POOL];
    for (size_t i = 0; i < POOL; i++) {
        uint8_t *p = pool[i];
        switch (i % KINDS) {
        case 0:
            plen[i] = 1 + next_rand() % MAXLEN;
            fill_random(p, plen[i]);
            break;
        case 1:
            plen[i] = 2 + next_rand() % (SEALED - 2);
            fill_random(p, plen[i]);
            p[0] = 1;
            p[1] = 1;
            break;
        default:
            plen[i] = SEALED + next_rand() % (MAXLEN - SEALED + 1);
            fill_random(p, plen[i]);
            p[0] = 1;
            p[1] = 1;
            if (i % KINDS == 3) memcpy(p + KEYID_AT, keyid, 4);
            break;
        }
    }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (have_source && bind(fd, (struct sockaddr *)&source, sizeof(source)) != 0) {
        perror("bind");
        return 1;
    }
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    uint64_t sent = 0, per_kind[KINDS] = {0}, errors = 0;
    size_t next = 0;
    double t0 = now_s(), end = t0 + seconds;
    for (;;) {
        double t = now_s();
        if (t >= end) break;
        /* how many should have gone by now */
        uint64_t due = (uint64_t)((t - t0) * pps);
        if (sent >= due) {
            struct timespec ts = {0, 200000}; /* 0.2 ms */
            nanosleep(&ts, NULL);
            continue;
        }
        unsigned n = (unsigned)(due - sent < BATCH ? due - sent : BATCH);
        memset(msgs, 0, sizeof(msgs[0]) * n);
        for (unsigned k = 0; k < n; k++) {
            size_t j = (next + k) % POOL;
            iov[k].iov_base = pool[j];
            iov[k].iov_len = plen[j];
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
            msgs[k].msg_hdr.msg_name = &target;
            msgs[k].msg_hdr.msg_namelen = sizeof(target);
        }
        int r = sendmmsg(fd, msgs, n, 0);
        if (r < 0) {
            if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR && errno != ECONNREFUSED) {
                perror("sendmmsg");
                return 1;
            }
            errors++;
            continue;
        }
        for (int k = 0; k < r; k++) per_kind[(next + (size_t)k) % POOL % KINDS]++;
        next = (next + (size_t)r) % POOL;
        sent += (uint64_t)r;
    }
    double took = now_s() - t0;
    printf("sent=%llu seconds=%.3f pps=%.0f errors=%llu", (unsigned long long)sent, took,
           (double)sent / took, (unsigned long long)errors);
    for (int k = 0; k < KINDS; k++)
        printf(" %s=%llu", kind_names[k], (unsigned long long)per_kind[k]);
    printf("\n");
    close(fd);
    return 0;
}
