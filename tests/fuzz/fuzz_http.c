/* fuzz_http.c: libFuzzer harness for the daemon's HTTP API (agent/daemon/http_*.c behind
 * libevent's evhttp): request line, headers, query strings, JSON bodies of POST /v1/join and
 * PUT /v1/tags and PUT /v1/config/KEY, and every endpoint's handler.
 *
 * LLVMFuzzerInitialize starts a daemon (daemon_fixture.h: as main.c does, minus the UDP/TCP
 * transports, so nothing a fuzzed /v1/join asks for leaves the process; the only seed of its
 * Raft group, so PUT /v1/config commits). Each input is written as raw bytes to a new connection on
 * the API socket, the write side is shut, and the event loop runs until the daemon closes the
 * connection (or a bounded number of rounds, for /v1/events streams). A leave started by an
 * input is undone by restarting the node, so every input meets the same daemon. */
#include "daemon_fixture.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

static void setup(void)
{
    fixture_setup(false);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

static int connect_api(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) abort();
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fixture_opt.socket_path);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) abort();
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size > 100000) return 0;
    int fd = connect_api();
    /* the socket buffer takes at least this much; feed the rest as the daemon reads */
    size_t off = 0;
    bool closed = false;
    char buf[65536];
    for (int round = 0; round < 400 && !closed; round++) {
        if (off < size) {
            ssize_t n = send(fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) off += (size_t)n;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) off = size; /* reset */
            if (off == size) shutdown(fd, SHUT_WR);
        }
        if (size == 0 && round == 0) shutdown(fd, SHUT_WR);
        fixture_pump(1);
        struct pollfd p = {fd, POLLIN, 0};
        while (poll(&p, 1, 0) > 0) {
            ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n <= 0) {
                closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
                break;
            }
        }
    }
    close(fd);
    fixture_pump(8); /* let the daemon see the close and free the connection */
    fixture_undo_leave();
    return 0;
}
