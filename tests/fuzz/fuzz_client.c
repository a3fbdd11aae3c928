/* fuzz_client.c: libFuzzer harness for libhearsay's side of the API (agent/libhearsay), which
 * must survive a hostile or broken agent: the HTTP/1.1 response reader (status line, headers,
 * Content-Length, chunked and read-until-close bodies, limits) fed the input through a
 * socketpair, then every JSON answer parser (members, self, health, raft, tags, config, keys,
 * key changes, removals, fd settings, histories, member notes) and the event line parser on
 * the body it read, or on the raw input when the reader refused it. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

static void parse_all(const char *body, size_t len)
{
    char err[256];
    hs_client_member_list *m = NULL;
    if (hsc_parse_members(body, len, &m, err, sizeof err) == HS_CLIENT_OK) hs_client_free(m);
    hs_client_self_info *s = NULL;
    if (hsc_parse_self(body, len, &s, err, sizeof err) == HS_CLIENT_OK) hs_client_free(s);
    hs_client_health_info *h = NULL;
    if (hsc_parse_health(body, len, &h, err, sizeof err) == HS_CLIENT_OK) hs_client_free(h);
    hs_client_raft_info *r = NULL;
    if (hsc_parse_raft(body, len, &r, err, sizeof err) == HS_CLIENT_OK) hs_client_free(r);
    hs_client_tag_list *t = NULL;
    if (hsc_parse_tags(body, len, &t, err, sizeof err) == HS_CLIENT_OK) hs_client_free(t);
    hs_client_config_entry *c = NULL;
    if (hsc_parse_config(body, len, &c, err, sizeof err) == HS_CLIENT_OK) hs_client_free(c);
    hs_client_keys_info *k = NULL;
    if (hsc_parse_keys(body, len, &k, err, sizeof err) == HS_CLIENT_OK) hs_client_free(k);
    hs_client_key_change *kc = NULL;
    if (hsc_parse_key_change(body, len, &kc, err, sizeof err) == HS_CLIENT_OK) hs_client_free(kc);
    hs_client_removal *rm = NULL;
    if (hsc_parse_removal(body, len, &rm, err, sizeof err) == HS_CLIENT_OK) hs_client_free(rm);
    hs_client_fd_info *fd = NULL;
    if (hsc_parse_fd(body, len, &fd, err, sizeof err) == HS_CLIENT_OK) hs_client_free(fd);
    hs_client_history *hi = NULL;
    if (hsc_parse_history(body, len, &hi, err, sizeof err) == HS_CLIENT_OK) hs_client_free(hi);
    if (hsc_parse_members(body, len, &m, err, sizeof err) == HS_CLIENT_OK) {
        for (size_t i = 0; i < m->count; i++) hs_client_member_note(m, &m->members[i], "conflict");
        hs_client_free(m);
    }
    hs_client_event ev;
    hs_client_tag *tags = NULL;
    json_t *doc = NULL;
    hsc_parse_event(body, len, &ev, &tags, &doc);
    free(tags);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024 * 1024) return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
    int sz = 4 * 1024 * 1024;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    hs_http_request req = {.method = "GET", .target = "/v1/members", .timeout_ms = 1000};
    hs_client_response resp;
    memset(&resp, 0, sizeof resp);
    char err[256];
    int rc = hsc_http_do_fd(sv[0], &req, &resp, err, sizeof err);
    close(sv[0]);
    close(sv[1]);
    if (rc == HS_CLIENT_OK) {
        if (!resp.body || resp.body[resp.body_len] != '\0') abort(); /* promised NUL */
        parse_all(resp.body, resp.body_len);
    } else {
        char *copy = malloc(size + 1);
        if (!copy) abort();
        memcpy(copy, data, size);
        copy[size] = '\0';
        parse_all(copy, size);
        free(copy);
    }
    hs_client_response_free(&resp);
    return 0;
}
