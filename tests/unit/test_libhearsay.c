/* test_libhearsay.c: libhearsay without a daemon: percent-encoding; the HTTP response parser
 * fed canned answers through a socketpair, including hostile ones (over-long and too many
 * headers, bad and huge chunk sizes, truncated bodies, conflicting lengths, NUL bytes,
 * endless interim answers); the JSON-to-struct parsers on good and malformed documents; the
 * event line splitter; and the typed calls against a one-shot fake agent on a unix socket
 * (error statuses mapped to codes, the request the library writes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

/* ---- percent-encoding ------------------------------------------------------------------ */

static void test_url_encode(void **state)
{
    (void)state;
    char buf[64] = "/v1/config/";
    assert_int_equal(hs_client_url_encode(buf, sizeof buf, "a-b_c.d~E9"), 0);
    assert_string_equal(buf, "/v1/config/a-b_c.d~E9");
    strcpy(buf, "?tag=");
    assert_int_equal(hs_client_url_encode(buf, sizeof buf, "role=db &/?#%\xc3\xa9"), 0);
    assert_string_equal(buf, "?tag=role%3Ddb%20%26%2F%3F%23%25%C3%A9");
    /* does not fit: -1 and the buffer as it was */
    char small[8] = "ab";
    assert_int_equal(hs_client_url_encode(small, sizeof small, "cdefgh"), -1);
    assert_string_equal(small, "ab");
    assert_int_equal(hs_client_url_encode(small, sizeof small, "c d e"), -1);
    assert_string_equal(small, "ab");
    assert_int_equal(hs_client_url_encode(small, sizeof small, "cdefg"), 0);
    assert_string_equal(small, "abcdefg");
    /* not NUL-terminated within cap */
    char full[4] = {'a', 'b', 'c', 'd'};
    assert_int_equal(hs_client_url_encode(full, sizeof full, "x"), -1);
    assert_int_equal(hs_client_url_encode(NULL, 4, "x"), -1);
}

/* ---- canned answers through a socketpair ----------------------------------------------- */

typedef struct canned {
    int rc, status;
    char *body;
    size_t body_len;
    char request[4096];
    char err[512];
} canned;

/* Writes answer (len bytes) into the peer of a socketpair, closes the peer's write side
 * unless keep_open, and runs the parser with max_body on it. */
static void run_canned(canned *out, const char *answer, size_t len, size_t max_body, bool keep_open,
                       int timeout_ms, volatile sig_atomic_t *intr)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int sz = 4 * 1024 * 1024;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(sv[1], answer + off, len - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    if (!keep_open) shutdown(sv[1], SHUT_WR);
    hs_http_request req = {.method = "PUT",
                           .target = "/v1/x",
                           .content_type = "application/json",
                           .body = "{}",
                           .body_len = 2,
                           .timeout_ms = timeout_ms,
                           .max_body = max_body,
                           .interrupt = intr};
    hs_client_response resp;
    memset(out, 0, sizeof *out);
    out->rc = hsc_http_do_fd(sv[0], &req, &resp, out->err, sizeof out->err);
    out->status = resp.status;
    out->body = resp.body;
    out->body_len = resp.body_len;
    ssize_t n = read(sv[1], out->request, sizeof out->request - 1);
    if (n > 0) out->request[n] = '\0';
    close(sv[0]);
    close(sv[1]);
}

static int canned_rc(const char *answer)
{
    canned c;
    run_canned(&c, answer, strlen(answer), 0, false, 2000, NULL);
    free(c.body);
    return c.rc;
}

static void test_http_good_answers(void **state)
{
    (void)state;
    canned c;
    const char *a = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    "11\r\n\r\n{\"a\":true}\nEXTRA";
    run_canned(&c, a, strlen(a), 0, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_OK);
    assert_int_equal(c.status, 200);
    assert_int_equal(c.body_len, 11);
    assert_string_equal(c.body, "{\"a\":true}\n");
    assert_non_null(strstr(c.request, "PUT /v1/x HTTP/1.1\r\n"));
    assert_non_null(strstr(c.request, "Host: localhost\r\n"));
    assert_non_null(strstr(c.request, "Connection: close\r\n"));
    assert_non_null(strstr(c.request, "Content-Length: 2\r\n\r\n{}"));
    free(c.body);

    /* chunked with an extension, LF-only lines, trailers; a 404 is an answer too */
    a = "HTTP/1.1 404 Not Found\nTransfer-Encoding: gzip, chunked\n\n"
        "5;ext=1\nhello\n0006\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
    run_canned(&c, a, strlen(a), 0, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_OK);
    assert_int_equal(c.status, 404);
    assert_string_equal(c.body, "hello world");
    free(c.body);

    /* no length: until the agent closes; interim 100 first */
    a = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 201 Created\r\n\r\nrest of it";
    run_canned(&c, a, strlen(a), 0, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_OK);
    assert_int_equal(c.status, 201);
    assert_string_equal(c.body, "rest of it");
    free(c.body);

    /* 204: no body even though bytes follow; the body is "" not NULL */
    a = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
    run_canned(&c, a, strlen(a), 0, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_OK);
    assert_non_null(c.body);
    assert_int_equal(c.body_len, 0);
    free(c.body);

    /* a status line without a reason phrase */
    assert_int_equal(canned_rc("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), HS_CLIENT_OK);
}

static void test_http_hostile_answers(void **state)
{
    (void)state;
    /* not HTTP, bad status lines */
    assert_int_equal(canned_rc("SSH-2.0-OpenSSH_9.2\r\n"), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc("HTTP/1.1 99 Low\r\n\r\n"), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc("HTTP/1.1 2000 Long\r\n\r\n"), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc("HTTP/2 200 OK\r\n\r\n"), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc("HTTP/1.1 2x0 OK\r\n\r\n"), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(""), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc("HTTP/1.1 200 OK\r\nContent-Len"), HS_CLIENT_EPROTO);
    /* malformed headers */
    assert_int_equal(canned_rc("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nab"),
                     HS_CLIENT_EPROTO);
    assert_int_equal(
        canned_rc("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        HS_CLIENT_EPROTO);
    assert_int_equal(
        canned_rc("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
        HS_CLIENT_EPROTO);
    /* a NUL byte inside a header line */
    static const char nul[] = "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n";
    canned c;
    run_canned(&c, nul, sizeof nul - 1, 0, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_EPROTO);
    assert_null(c.body);

    /* an oversize header line, and too many headers */
    size_t big = HS_HTTP_MAX_HEADER_LINE + 100;
    char *a = malloc(big + 64);
    int n = snprintf(a, 64, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(a + n, 'x', big);
    memcpy(a + n + big, "\r\n\r\n", 5);
    run_canned(&c, a, strlen(a), 0, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_EPROTO);
    assert_non_null(strstr(c.err, "too long"));
    free(a);
    a = malloc(64 + 20 * (HS_HTTP_MAX_HEADERS + 5));
    strcpy(a, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < HS_HTTP_MAX_HEADERS + 5; i++) sprintf(a + strlen(a), "X-H%d: v\r\n", i);
    strcat(a, "\r\n");
    run_canned(&c, a, strlen(a), 0, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_EPROTO);
    assert_non_null(strstr(c.err, "too many"));
    free(a);

    /* endless interim answers */
    assert_int_equal(
        canned_rc("HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"
                  "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
        HS_CLIENT_EPROTO);
}

static void test_http_bad_bodies(void **state)
{
    (void)state;
    const char *te = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    char a[512];
#define CHUNKED(rest) (snprintf(a, sizeof a, "%s%s", te, rest), a)
    /* bad chunk sizes */
    assert_int_equal(canned_rc(CHUNKED("zz\r\nab\r\n0\r\n\r\n")), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(CHUNKED("-1\r\nab\r\n0\r\n\r\n")), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(CHUNKED("\r\nab\r\n0\r\n\r\n")), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(CHUNKED("0x2\r\nab\r\n0\r\n\r\n")), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(CHUNKED("ffffffffffffffffffff\r\nab\r\n0\r\n\r\n")),
                     HS_CLIENT_EPROTO);
    /* chunk data not followed by CRLF, truncated chunk, no last chunk */
    assert_int_equal(canned_rc(CHUNKED("2\r\nabc\r\n0\r\n\r\n")), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(CHUNKED("10\r\nabc")), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(CHUNKED("2\r\nab\r\n")), HS_CLIENT_EPROTO);
    assert_int_equal(canned_rc(CHUNKED("2\r\nab\r\n0\r\n")), HS_CLIENT_EPROTO);
    /* truncated Content-Length body */
    assert_int_equal(canned_rc("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"),
                     HS_CLIENT_EPROTO);

    /* size limits: Content-Length, one chunk, chunks in total, read-to-EOF */
    canned c;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789\n";
    run_canned(&c, s, strlen(s), 10, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_ETOOBIG);
    assert_null(c.body);
    run_canned(&c, CHUNKED("b\r\n0123456789\n\r\n0\r\n\r\n"), strlen(a), 10, false, 2000, NULL);
    assert_int_not_equal(c.rc, HS_CLIENT_OK);
    run_canned(&c, CHUNKED("6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n"), strlen(a), 10, false, 2000,
               NULL);
    assert_int_equal(c.rc, HS_CLIENT_ETOOBIG);
    s = "HTTP/1.1 200 OK\r\n\r\n0123456789ABC";
    run_canned(&c, s, strlen(s), 10, false, 2000, NULL);
    assert_int_equal(c.rc, HS_CLIENT_ETOOBIG);
#undef CHUNKED
}

static void test_http_timeout_and_interrupt(void **state)
{
    (void)state;
    canned c;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab";
    run_canned(&c, s, strlen(s), 0, true, 50, NULL);
    assert_int_equal(c.rc, HS_CLIENT_ETIMEDOUT);
    assert_string_equal(c.err, "timed out waiting for the agent");
    volatile sig_atomic_t flag = 1;
    run_canned(&c, s, strlen(s), 0, true, 2000, &flag);
    assert_int_equal(c.rc, HS_CLIENT_EINTR);
    assert_string_equal(c.err, "interrupted");

    /* request targets with spaces or control characters are refused before sending */
    hs_http_request req = {.method = "GET", .target = "/v1/a b", .timeout_ms = 100};
    hs_client_response resp;
    char err[128];
    assert_int_equal(hsc_http_do(&req, &resp, err, sizeof err), HS_CLIENT_EINVAL);
}

/* ---- JSON answers to structs ----------------------------------------------------------- */

static const char MEMBERS[] =
    "{\"members\":["
    "{\"name\":\"n1\",\"addr\":\"127.0.0.1:7946\",\"status\":\"alive\",\"incarnation\":3,"
    "\"tags\":{\"role\":\"db\",\"az\":\"a\"},\"status_since_ms\":1200,\"config_version\":7},"
    "{\"name\":\"n2\",\"addr\":\"127.0.0.2:7946\",\"status\":\"suspect\",\"incarnation\":1,"
    "\"tags\":{}},"
    "{\"name\":\"n3\",\"addr\":\"127.0.0.3:7946\",\"status\":\"failed\",\"tags\":{\"x\":\"1\"}},"
    "{\"name\":\"n4\",\"status\":\"left\"},"
    "{\"name\":\"n5\",\"status\":\"zombie\",\"incarnation\":-4,\"tags\":[1,2]},"
    "{\"name\":7,\"addr\":null,\"status\":1,\"tags\":{\"k\":5,\"ok\":\"yes\"}}"
    "]}";

static void test_parse_members(void **state)
{
    (void)state;
    hs_client_member_list *l;
    char err[256];
    assert_int_equal(hsc_parse_members(MEMBERS, strlen(MEMBERS), &l, err, sizeof err), 0);
    assert_int_equal(l->count, 6);
    const hs_client_member *m = &l->members[0];
    assert_string_equal(m->name, "n1");
    assert_string_equal(m->addr, "127.0.0.1:7946");
    assert_int_equal(m->status, HS_CLIENT_ALIVE);
    assert_int_equal(m->incarnation, 3);
    assert_int_equal(m->status_since_ms, 1200);
    assert_int_equal(m->config_version, 7);
    assert_int_equal(m->n_tags, 2);
    assert_string_equal(m->tags[0].key, "az"); /* sorted */
    assert_string_equal(m->tags[1].value, "db");
    assert_string_equal(hs_client_member_tag(m, "role"), "db");
    assert_null(hs_client_member_tag(m, "nope"));
    assert_int_equal(l->members[1].status, HS_CLIENT_SUSPECT);
    assert_int_equal(l->members[1].n_tags, 0);
    assert_int_equal(l->members[2].status, HS_CLIENT_FAILED);
    assert_string_equal(l->members[2].tags[0].key, "x");
    assert_int_equal(l->members[3].status, HS_CLIENT_LEFT);
    assert_string_equal(l->members[3].addr, "");
    /* hostile fields: defaults instead of crashes */
    m = &l->members[4];
    assert_int_equal(m->status, HS_CLIENT_STATUS_UNKNOWN);
    assert_string_equal(m->status_name, "zombie");
    assert_int_equal(m->incarnation, 0);
    assert_int_equal(m->n_tags, 0);
    m = &l->members[5];
    assert_string_equal(m->name, "");
    assert_string_equal(m->status_name, "");
    assert_int_equal(m->n_tags, 1);
    assert_string_equal(m->tags[0].key, "ok");
    assert_ptr_equal(hs_client_member_find(l, "n3"), &l->members[2]);
    assert_null(hs_client_member_find(l, "n9"));

    hs_client_counts k;
    hs_client_member_list_count(l, &k);
    assert_int_equal(k.total, 5);
    assert_int_equal(k.alive, 1);
    assert_int_equal(k.suspect, 1);
    assert_int_equal(k.failed, 3); /* failed + two of unknown status */
    assert_int_equal(k.left, 1);
    hs_client_free(l);

    /* bad documents */
    const char *bad[] = {"",
                         "not json",
                         "[]",
                         "{}",
                         "{\"members\":{}}",
                         "{\"members\":[1]}",
                         "{\"members\":[{\"name\":\"a\"},\"b\"]}",
                         "{\"members\":[]",
                         "{\"members\":[]}trailing"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        l = (void *)1;
        assert_int_equal(hsc_parse_members(bad[i], strlen(bad[i]), &l, err, sizeof err),
                         HS_CLIENT_EBADANSWER);
        assert_null(l);
        assert_non_null(strstr(err, "bad answer"));
    }
    /* control characters in the parser's message are replaced */
    const char ctl[] = "{\"members\":[]\x1b[31m";
    assert_int_equal(hsc_parse_members(ctl, strlen(ctl), &l, err, sizeof err),
                     HS_CLIENT_EBADANSWER);
    assert_null(strchr(err, '\x1b'));
    /* an empty list */
    assert_int_equal(hsc_parse_members("{\"members\":[]}", 14, &l, err, sizeof err), 0);
    assert_int_equal(l->count, 0);
    hs_client_free(l);
    hs_client_free(NULL);
}

static void test_parse_self_health_raft(void **state)
{
    (void)state;
    char err[256];
    const char *self = "{\"name\":\"n1\",\"addr\":\"127.0.0.1:1\",\"status\":\"alive\","
                       "\"incarnation\":2,\"tags\":{\"r\":\"w\"},\"stats\":{\"msgs_in\":10,"
                       "\"bogus\":\"x\",\"probes_failed\":1,\"uptime_ms\":5000}}";
    hs_client_self_info *s;
    assert_int_equal(hsc_parse_self(self, strlen(self), &s, err, sizeof err), 0);
    assert_string_equal(s->member.name, "n1");
    assert_string_equal(s->member.tags[0].value, "w");
    assert_int_equal(s->uptime_ms, 5000);
    assert_int_equal(s->n_stats, 3);
    assert_int_equal(hs_client_self_stat(s, "msgs_in", -1), 10);
    assert_int_equal(hs_client_self_stat(s, "bogus", -1), -1);
    hs_client_free(s);
    assert_int_equal(hsc_parse_self("{\"stats\":{}}", 12, &s, err, sizeof err),
                     HS_CLIENT_EBADANSWER);

    const char *health = "{\"status\":\"ok\",\"insecure\":true,\"members\":5,\"alive\":4,"
                         "\"suspect\":0,\"failed\":1,\"left\":0,\"raft\":{\"state\":\"leader\","
                         "\"leader\":\"n1\",\"term\":3,\"commit\":9,\"applied\":9,"
                         "\"config_version\":2,\"seeds\":[\"n1\",{\"name\":\"n2\"},5,\"n3\"]}}";
    hs_client_health_info *h;
    assert_int_equal(hsc_parse_health(health, strlen(health), &h, err, sizeof err), 0);
    assert_true(h->ok);
    assert_true(h->insecure);
    assert_int_equal(h->members, 5);
    assert_int_equal(h->failed, 1);
    assert_string_equal(h->raft.state, "leader");
    assert_string_equal(h->raft.leader, "n1");
    assert_int_equal(h->raft.term, 3);
    assert_int_equal(h->raft.n_seeds, 3);
    assert_string_equal(h->raft.seeds[1], "n2");
    hs_client_free(h);
    const char *leaving = "{\"status\":\"leaving\",\"raft\":7}";
    assert_int_equal(hsc_parse_health(leaving, strlen(leaving), &h, err, sizeof err), 0);
    assert_false(h->ok);
    assert_string_equal(h->raft.state, "none");
    assert_null(h->raft.leader);
    assert_int_equal(h->raft.n_seeds, 0);
    hs_client_free(h);
    assert_int_equal(hsc_parse_health("{\"error\":\"x\"}", 13, &h, err, sizeof err),
                     HS_CLIENT_EBADANSWER);

    hs_client_raft_info *r;
    const char *raft = "{\"state\":\"none\",\"leader\":null,\"term\":0,\"seeds\":[]}";
    assert_int_equal(hsc_parse_raft(raft, strlen(raft), &r, err, sizeof err), 0);
    assert_string_equal(r->state, "none");
    assert_null(r->leader);
    assert_int_equal(r->last_index, 0);
    hs_client_free(r);
    raft = "{\"state\":\"leader\",\"leader\":\"n1\",\"last_index\":9,\"first_index\":4}";
    assert_int_equal(hsc_parse_raft(raft, strlen(raft), &r, err, sizeof err), 0);
    assert_int_equal(r->last_index, 9);
    assert_int_equal(r->first_index, 4);
    hs_client_free(r);
    assert_int_equal(hsc_parse_raft("{\"state\":3}", 11, &r, err, sizeof err),
                     HS_CLIENT_EBADANSWER);
}

/* The operator's answers: a removal, the fd settings, a history, a member's notes; answers of
 * the wrong shape are refused, odd fields read as empty. */
static void test_parse_operator(void **state)
{
    (void)state;
    char err[256];
    hs_client_removal *rm;
    const char *r = "{\"name\":\"n7\",\"removed\":true,\"prune\":true,\"known\":false,"
                    "\"version\":12}";
    assert_int_equal(hsc_parse_removal(r, strlen(r), &rm, err, sizeof err), 0);
    assert_string_equal(rm->name, "n7");
    assert_true(rm->removed && rm->prune && !rm->known && !rm->already);
    assert_int_equal(rm->version, 12);
    hs_client_free(rm);
    assert_int_equal(hsc_parse_removal("{\"name\":\"n7\"}", 13, &rm, err, sizeof err),
                     HS_CLIENT_EBADANSWER);

    hs_client_fd_info *f;
    const char *fd = "{\"version\":3,\"profile\":\"wan\",\"agent_profile\":\"lan\","
                     "\"settings\":{\"probe_interval_ms\":5000,\"gossip_fanout\":-1,\"x\":\"y\"},"
                     "\"overrides\":{\"profile\":\"wan\",\"probe_interval_ms\":7}}";
    assert_int_equal(hsc_parse_fd(fd, strlen(fd), &f, err, sizeof err), 0);
    assert_string_equal(f->profile, "wan");
    assert_string_equal(f->cluster_profile, "wan");
    assert_int_equal(f->n_settings, 3);
    assert_string_equal(f->settings[0].key, "probe_interval_ms");
    assert_int_equal(f->settings[0].value, 5000);
    assert_null(f->settings[0].override); /* not a string */
    assert_int_equal(f->settings[1].value, 0);
    hs_client_free(f);
    assert_int_equal(hsc_parse_fd("{\"settings\":[]}", 15, &f, err, sizeof err),
                     HS_CLIENT_EBADANSWER);

    hs_client_history *h;
    const char *hist = "{\"name\":\"n3\",\"status\":\"failed\",\"incarnation\":2,\"history\":["
                       "{\"event\":\"suspect\",\"by\":\"n2\",\"learnt\":true,\"votes\":7},"
                       "3,"
                       "{\"event\":\"failed\",\"status\":\"failed\",\"votes\":[{\"name\":\"n1\","
                       "\"time_ms\":5},{\"name\":4},9]}]}";
    assert_int_equal(hsc_parse_history(hist, strlen(hist), &h, err, sizeof err), 0);
    assert_int_equal(h->count, 3);
    assert_int_equal(h->status, HS_CLIENT_FAILED);
    assert_true(h->entries[0].learnt);
    assert_int_equal(h->entries[0].n_votes, 0);
    assert_string_equal(h->entries[1].event, "");
    assert_int_equal(h->entries[2].n_votes, 3);
    assert_string_equal(h->entries[2].votes[0].name, "n1");
    assert_string_equal(h->entries[2].votes[1].name, "");
    hs_client_free(h);
    assert_int_equal(hsc_parse_history("{\"history\":{}}", 14, &h, err, sizeof err),
                     HS_CLIENT_EBADANSWER);

    hs_client_member_list *l;
    const char *ms = "{\"members\":[{\"name\":\"a\",\"conflict\":\"10.0.0.9:7946\"},"
                     "{\"name\":\"b\",\"removed\":true}]}";
    assert_int_equal(hsc_parse_members(ms, strlen(ms), &l, err, sizeof err), 0);
    const hs_client_member *a = hs_client_member_find(l, "a"), *b = hs_client_member_find(l, "b");
    assert_string_equal(hs_client_member_note(l, a, "conflict"), "10.0.0.9:7946");
    assert_null(hs_client_member_note(l, a, "removed"));
    assert_string_equal(hs_client_member_note(l, b, "removed"), "true");
    hs_client_member other = *a;
    assert_null(hs_client_member_note(l, &other, "conflict")); /* not one of the list's */
    assert_null(hs_client_member_note(NULL, a, "conflict"));
    hs_client_free(l);
}

static void test_parse_tags_config(void **state)
{
    (void)state;
    char err[256];
    hs_client_tag_list *t;
    const char *tags = "{\"tags\":{\"z\":\"1\",\"a\":\"2\",\"n\":null}}";
    assert_int_equal(hsc_parse_tags(tags, strlen(tags), &t, err, sizeof err), 0);
    assert_int_equal(t->count, 2);
    assert_string_equal(t->tags[0].key, "a");
    assert_string_equal(t->tags[1].value, "1");
    hs_client_free(t);
    assert_int_equal(hsc_parse_tags("{\"tags\":[]}", 11, &t, err, sizeof err),
                     HS_CLIENT_EBADANSWER);

    hs_client_config_entry *e;
    const char *cfg = "{\"key\":\"k\",\"value\":\"v w\",\"version\":12}";
    assert_int_equal(hsc_parse_config(cfg, strlen(cfg), &e, err, sizeof err), 0);
    assert_string_equal(e->key, "k");
    assert_string_equal(e->value, "v w");
    assert_int_equal(e->version, 12);
    hs_client_free(e);
    assert_int_equal(hsc_parse_config("{\"key\":\"k\",\"value\":1}", 21, &e, err, sizeof err),
                     HS_CLIENT_EBADANSWER);
}

static void test_parse_keys(void **state)
{
    (void)state;
    char err[256];
    hs_client_keys_info *k;
    /* a survey answer: the ring with per-key counts, the silent members */
    const char *survey =
        "{\"version\":7,\"insecure\":false,\"keys\":[\"aa11\",\"bb22\",3],\"primary\":\"aa11\","
        "\"local\":[\"aa11\",\"bb22\"],\"members\":5,\"answered\":4,\"by_key\":{\"aa11\":"
        "{\"installed\":4,\"primary\":4},\"bb22\":{\"installed\":2,\"primary\":0},\"cc33\":"
        "{\"installed\":1}},\"by_member\":{\"n1\":[\"aa11\"]},\"silent\":[\"n5\"]}";
    assert_int_equal(hsc_parse_keys(survey, strlen(survey), &k, err, sizeof err), 0);
    assert_int_equal(k->version, 7);
    assert_false(k->insecure);
    assert_int_equal(k->n_keys, 2); /* the number 3 is skipped */
    assert_string_equal(k->keys[0].id, "aa11");
    assert_int_equal(k->keys[0].installed, 4);
    assert_int_equal(k->keys[0].primary, 4);
    assert_string_equal(k->keys[1].id, "bb22");
    assert_int_equal(k->keys[1].installed, 2);
    assert_string_equal(k->primary, "aa11");
    assert_int_equal(k->n_local, 2);
    assert_true(k->surveyed);
    assert_int_equal(k->members, 5);
    assert_int_equal(k->answered, 4);
    assert_int_equal(k->n_silent, 1);
    assert_string_equal(k->silent[0], "n5");
    hs_client_free(k);
    /* this agent only; an insecure agent without a ring */
    const char *local = "{\"version\":1,\"insecure\":true,\"keys\":[],\"primary\":null}";
    assert_int_equal(hsc_parse_keys(local, strlen(local), &k, err, sizeof err), 0);
    assert_true(k->insecure);
    assert_int_equal(k->n_keys, 0);
    assert_null(k->primary);
    assert_false(k->surveyed);
    assert_int_equal(k->n_local + k->n_silent, 0);
    hs_client_free(k);
    assert_int_equal(hsc_parse_keys("[]", 2, &k, err, sizeof err), HS_CLIENT_EBADANSWER);
    assert_null(k);

    hs_client_key_change *c;
    const char *change = "{\"op\":\"install\",\"key\":\"bb22\",\"committed_version\":8,"
                         "\"members\":5,\"acknowledged\":4,\"pending\":[\"n5\",{},\"n4\"],"
                         "\"wait_ms\":2000,\"keys\":[\"aa11\",\"bb22\"]}";
    assert_int_equal(hsc_parse_key_change(change, strlen(change), &c, err, sizeof err), 0);
    assert_string_equal(c->op, "install");
    assert_string_equal(c->key, "bb22");
    assert_int_equal(c->committed_version, 8);
    assert_int_equal(c->members, 5);
    assert_int_equal(c->acknowledged, 4);
    assert_int_equal(c->n_pending, 2);
    assert_string_equal(c->pending[1], "n4");
    hs_client_free(c);
    assert_int_equal(hsc_parse_key_change("{\"op\":1}", 8, &c, err, sizeof err), 0);
    assert_string_equal(c->op, ""); /* mistyped: the default */
    assert_int_equal(c->n_pending, 0);
    hs_client_free(c);
    assert_int_equal(hsc_parse_key_change("nope", 4, &c, err, sizeof err), HS_CLIENT_EBADANSWER);
}

static void test_safe_copy_and_addr(void **state)
{
    (void)state;
    char out[32];
    hs_client_safe_copy(out, sizeof out,
                        "a\x1b[31mb\x07\x7f\xc2\x9b"
                        "c\xc3\xa9");
    assert_string_equal(out, "a?[31mb???c\xc3\xa9"); /* C0, DEL, C1 replaced; UTF-8 kept */
    hs_client_safe_copy(out, 4, "abcdef");
    assert_string_equal(out, "abc");
    hs_client_safe_copy(out, sizeof out, NULL);
    assert_string_equal(out, "");
    hs_client_safe_copy(NULL, 4, "x");
    out[0] = 'z';
    hs_client_safe_copy(out, 0, "x");
    assert_int_equal(out[0], 'z');

    const char *good[] = {"127.0.0.1:7946", "[::1]:1", "[fe80::1]:65535", "10.0.0.1:00080"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_true(hsc_addr_valid(good[i]));
    const char *bad[] = {"",
                         "127.0.0.1",
                         "127.0.0.1:",
                         "127.0.0.1:0",
                         "1.2.3.4:65536",
                         "1.2.3.4:+80",
                         "1.2.3.4:80x",
                         "::1:80",
                         "[::1]",
                         "[::1]80",
                         "[::1:80",
                         "host:80",
                         "1.2.3.4:1:2",
                         "[1.2.3.4]:80",
                         "1.2.3.4:123456",
                         ":80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(hsc_addr_valid(bad[i]));
}

/* ---- events ---------------------------------------------------------------------------- */

typedef struct seen {
    int n, malformed, oversize;
    int64_t ids[8];
    hs_client_event_type types[8];
    char tags[8][64];
    int stop_after;
} seen;

static int on_event(const hs_client_event *ev, void *ctx)
{
    seen *s = ctx;
    if (ev->type == HS_CLIENT_EVENT_MALFORMED) {
        if (ev->raw)
            s->malformed++;
        else
            s->oversize++;
        return 0;
    }
    if (s->n < 8) {
        s->ids[s->n] = ev->id;
        s->types[s->n] = ev->type;
        s->tags[s->n][0] = '\0';
        for (size_t i = 0; i < ev->n_tags; i++)
            snprintf(s->tags[s->n] + strlen(s->tags[s->n]), 64 - strlen(s->tags[s->n]), "%s=%s;",
                     ev->tags[i].key, ev->tags[i].value);
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

/* The monitor stream: raw lines, blank ones skipped, no JSON parsing. */
static int on_raw(const char *line, size_t len, void *ctx)
{
    char *out = ctx;
    snprintf(out + strlen(out), 200 - strlen(out), "%.*s|", (int)len, line);
    return 0;
}

static void test_monitor_lines_and_reach(void **state)
{
    (void)state;
    char got[200] = "";
    hsc_lines l = {.raw = on_raw, .ctx = got};
    const char *in = "2026 [INFO] a\r\n\n2026 [DEBUG] {not json\n2026 [WA";
    for (const char *p = in; *p; p++) assert_int_equal(hsc_lines_feed(&l, p, 1), 0);
    assert_string_equal(got, "2026 [INFO] a|2026 [DEBUG] {not json|");
    assert_int_equal(hsc_lines_feed(&l, "RN] b\n", 7), 0);
    assert_string_equal(got, "2026 [INFO] a|2026 [DEBUG] {not json|2026 [WARN] b|");
    free(l.line);

    char err[256];
    hs_client_reach_info *r;
    const char *body = "{\"members\":[{\"name\":\"n2\",\"addr\":\"127.0.0.2:1\","
                       "\"result\":\"direct\",\"relays\":0,\"rtt_ms\":1},"
                       "{\"name\":\"n3\",\"result\":\"none\",\"relays\":2}],"
                       "\"direct\":1,\"relayed\":0,\"no_answer\":1,\"timeout_ms\":250}";
    assert_int_equal(hsc_parse_reachability(body, strlen(body), &r, err, sizeof err), 0);
    assert_int_equal(r->count, 2);
    assert_string_equal(r->members[0].result, "direct");
    assert_int_equal(r->members[0].rtt_ms, 1);
    assert_int_equal(r->members[1].rtt_ms, -1); /* no answer: no rtt */
    assert_int_equal(r->members[1].relays, 2);
    assert_int_equal(r->no_answer, 1);
    assert_int_equal(r->timeout_ms, 250);
    hs_client_free(r);
    assert_int_equal(hsc_parse_reachability("{}", 2, &r, err, sizeof err), HS_CLIENT_EBADANSWER);
}

static void test_event_lines(void **state)
{
    (void)state;
    seen s = {0};
    hsc_lines l = {.cb = on_event, .ctx = &s};
    const char *in = "{\"id\":1,\"event\":\"member-join\",\"name\":\"n2\",\"status\":\"alive\","
                     "\"tags\":{\"b\":\"2\",\"a\":\"1\"}}\n\r\n   \n"
                     "{\"id\":2,\"event\":\"config-change\",\"config_version\":3}\r\n"
                     "garbage line\n"
                     "{\"id\":3,\"event\":\"member-teleport\"}\n{\"id\":4,\"ev";
    /* fed one byte at a time: lines across chunk boundaries */
    for (const char *p = in; *p; p++) assert_int_equal(hsc_lines_feed(&l, p, 1), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.malformed, 1);
    assert_int_equal(s.ids[0], 1);
    assert_int_equal(s.types[0], HS_CLIENT_MEMBER_JOIN);
    assert_string_equal(s.tags[0], "a=1;b=2;");
    assert_int_equal(s.types[1], HS_CLIENT_CONFIG_CHANGE);
    assert_int_equal(s.types[2], HS_CLIENT_EVENT_OTHER);
    const char *rest = "ent\":\"member-failed\"}\n";
    assert_int_equal(hsc_lines_feed(&l, rest, strlen(rest)), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.types[3], HS_CLIENT_MEMBER_FAILED);

    /* an over-long line is reported once, dropped, and the next line is fine */
    size_t big = HSC_EVENT_LINE + 10;
    char *b = malloc(big);
    memset(b, 'x', big);
    assert_int_equal(hsc_lines_feed(&l, b, big), 0);
    assert_int_equal(hsc_lines_feed(&l, b, big), 0);
    free(b);
    const char *after = "\n{\"id\":9,\"event\":\"member-leave\"}\n";
    assert_int_equal(hsc_lines_feed(&l, after, strlen(after)), 0);
    assert_int_equal(s.oversize, 1);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.ids[4], 9);

    /* the lagged line: how many were lost and where to resume */
    hs_client_event ev;
    hs_client_tag *tags;
    json_t *doc;
    const char *lag = "{\"event\":\"lagged\",\"missed\":1500,\"resume_since\":77,\"time_ms\":5}";
    assert_int_equal(hsc_parse_event(lag, strlen(lag), &ev, &tags, &doc), 0);
    assert_int_equal(ev.type, HS_CLIENT_EVENT_LAGGED);
    assert_int_equal(ev.missed, 1500);
    assert_int_equal(ev.resume_since, 77);
    assert_int_equal(ev.id, -1);
    json_decref(doc);
    free(tags);
    assert_int_equal(hsc_parse_event("{\"id\":3}", 8, &ev, &tags, &doc), 0);
    assert_int_equal(ev.resume_since, -1);
    assert_int_equal(ev.missed, 0);
    json_decref(doc);
    free(tags);

    /* the callback stops the stream */
    s.stop_after = 6;
    const char *two = "{\"id\":10}\n{\"id\":11}\n";
    assert_int_equal(hsc_lines_feed(&l, two, strlen(two)), 1);
    assert_int_equal(s.n, 6);
    free(l.line);
}

/* ---- the typed calls against a one-shot fake agent ------------------------------------- */

typedef struct fake {
    int lfd;
    char path[108];
    char dir[64];
    const char *answer;
    char request[8192];
    pthread_t th;
} fake;

static void *fake_serve(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    size_t n = 0;
    for (;;) { /* the head, then the body by Content-Length */
        ssize_t r = read(fd, f->request + n, sizeof f->request - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        f->request[n] = '\0';
        char *end = strstr(f->request, "\r\n\r\n");
        if (!end) continue;
        const char *cl = strstr(f->request, "Content-Length: ");
        size_t want = cl ? (size_t)atoi(cl + 16) : 0;
        if (n >= (size_t)(end + 4 - f->request) + want) break;
    }
    if (write(fd, f->answer, strlen(f->answer)) < 0) perror("write");
    close(fd);
    return NULL;
}

static void fake_start(fake *f, const char *answer)
{
    memset(f, 0, sizeof *f);
    strcpy(f->dir, "/tmp/hs-libtest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/api.sock", f->dir);
    f->answer = answer;
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, f->path);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake_serve, f), 0);
}

static void fake_stop(fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->th, NULL);
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
}

/* Starts the fake agent answering status ("200 OK") with body (composed in buf) and points
 * *c at it. */
static void fake_answer(fake *f, hs_client **c, char *buf, size_t cap, const char *status,
                        const char *body)
{
    snprintf(buf, cap, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n\r\n%s", status, strlen(body), body);
    fake_start(f, buf);
    hs_client_close(*c);
    *c = hs_client_open(f->path);
}

static void test_calls_against_fake_agent(void **state)
{
    (void)state;
    fake f;
    char answer[512];
    const char *body = "{\"members\":[{\"name\":\"n1\",\"status\":\"alive\"}]}";
    snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    fake_start(&f, answer);
    hs_client *c = hs_client_open(f.path);
    assert_string_equal(hs_client_socket_path(c), f.path);
    hs_client_member_list *l;
    const char *tags[] = {"role=db b", "az", NULL};
    assert_int_equal(hs_client_members(c, "alive,suspect", tags, &l), 0);
    fake_stop(&f);
    assert_int_equal(l->count, 1);
    assert_int_equal(hs_client_last_status(c), 200);
    assert_string_equal(hs_client_last_error(c), "");
    assert_non_null(
        strstr(f.request, "GET /v1/members?status=alive%2Csuspect&tag=role%3Ddb%20b&tag=az "));
    hs_client_free(l);

    /* error answers: code, status and the agent's message */
    struct {
        const char *answer;
        int rc, status;
        const char *msg;
    } cases[] = {
        {"HTTP/1.1 404 Not Found\r\nContent-Length: 24\r\n\r\n{\"error\":\"no such key\"}\n",
         HS_CLIENT_ENOTFOUND, 404, "no such key"},
        {"HTTP/1.1 403 Forbidden\r\nContent-Length: 24\r\n\r\n{\"error\":\"denied\\u001b\"}",
         HS_CLIENT_EDENIED, 403, "denied?"},
        {"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n", HS_CLIENT_EUNAVAIL, 503,
         "agent answered HTTP 503"},
        {"HTTP/1.1 500 Oops\r\nContent-Length: 9\r\n\r\nboom\nmore", HS_CLIENT_EHTTP, 500,
         "agent answered HTTP 500: boom"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", HS_CLIENT_EBADANSWER, 200,
         "bad answer from agent: not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fake_start(&f, cases[i].answer);
        hs_client_config_entry *e = (void *)1;
        hs_client_close(c);
        c = hs_client_open(f.path);
        int rc = hs_client_config_get(c, "a key/é", HS_CLIENT_CONSISTENT, &e);
        fake_stop(&f);
        assert_int_equal(rc, cases[i].rc);
        assert_null(e);
        assert_int_equal(hs_client_last_status(c), cases[i].status);
        assert_string_equal(hs_client_last_error(c), cases[i].msg);
        assert_non_null(strstr(f.request, "GET /v1/config/a%20key%2F%C3%A9?consistent=1 "));
    }

    /* config set: PUT with the raw value, version back */
    fake_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n"
                   "{\"key\":\"k\",\"value\":\"v 1\",\"version\":42}");
    hs_client_close(c);
    c = hs_client_open(f.path);
    uint64_t version = 0;
    assert_int_equal(hs_client_config_set(c, "k", "v 1", &version), 0);
    fake_stop(&f);
    assert_int_equal(version, 42);
    assert_non_null(strstr(f.request, "PUT /v1/config/k HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "Content-Length: 3\r\n\r\nv 1"));

    /* tags: one request with set and delete */
    fake_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n{\"tags\":{\"role\":\"db\"}}");
    hs_client_close(c);
    c = hs_client_open(f.path);
    hs_client_tag set[] = {{"role", "db"}};
    const char *del[] = {"az"};
    hs_client_tag_list *tl;
    assert_int_equal(hs_client_tags_update(c, set, 1, del, 1, &tl), 0);
    fake_stop(&f);
    assert_int_equal(tl->count, 1);
    hs_client_free(tl);
    assert_non_null(strstr(f.request, "PUT /v1/tags HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "{\"set\":{\"role\":\"db\"},\"delete\":[\"az\"]}"));

    /* the answer a typed call parsed is kept verbatim; a raw request clears it */
    size_t blen = 0;
    assert_string_equal(hs_client_last_body(c, &blen), "{\"tags\":{\"role\":\"db\"}}");
    assert_int_equal(blen, 22);
    assert_string_equal(hs_client_last_body(NULL, &blen), "");
    assert_int_equal(blen, 0);

    /* seeds: the body, the version; 404 and 409 mapped; a bad address is never sent */
    fake_answer(&f, &c, answer, sizeof answer, "200 OK",
                "{\"name\":\"n4\",\"op\":\"add\",\"version\":43}\n");
    version = 0;
    assert_int_equal(hs_client_raft_add_seed(c, "n4", "127.0.0.4:7946", &version), 0);
    fake_stop(&f);
    assert_int_equal(version, 43);
    assert_non_null(strstr(f.request, "POST /v1/raft/add-seed HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\n\r\n{\"name\":\"n4\",\"addr\":\"127.0.0.4:7946\"}"));
    assert_string_equal(hs_client_last_body(c, NULL),
                        "{\"name\":\"n4\",\"op\":\"add\",\"version\":43}\n");
    fake_answer(&f, &c, answer, sizeof answer, "404 Not Found", "{\"error\":\"no such seed\"}");
    assert_int_equal(hs_client_raft_remove_seed(c, "n9", &version), HS_CLIENT_ENOTFOUND);
    fake_stop(&f);
    assert_int_equal(version, 0);
    assert_string_equal(hs_client_last_error(c), "no such seed");
    assert_string_equal(hs_client_last_body(c, NULL), ""); /* not kept from an error answer */
    assert_non_null(strstr(f.request, "POST /v1/raft/remove-seed HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\n\r\n{\"name\":\"n9\"}"));
    assert_int_equal(hs_client_raft_add_seed(c, "n4", "127.0.0.4", NULL), HS_CLIENT_EINVAL);
    assert_string_equal(hs_client_last_error(c), "bad address '127.0.0.4' (want HOST:PORT)");
    assert_int_equal(hs_client_raft_add_seed(c, "", "127.0.0.4:1", NULL), HS_CLIENT_EINVAL);

    /* keys: the survey target; a change with wait_ms, the key in the body, 202 + pending */
    fake_answer(&f, &c, answer, sizeof answer, "200 OK",
                "{\"keys\":[\"aa11\"],\"primary\":\"aa11\",\"local\":[]}");
    hs_client_keys_info *ki;
    assert_int_equal(hs_client_keys(c, HS_CLIENT_KEYS_SURVEY, &ki), 0);
    fake_stop(&f);
    assert_non_null(strstr(f.request, "GET /v1/keys?members=1 HTTP/1.1\r\n"));
    assert_string_equal(ki->primary, "aa11");
    hs_client_free(ki);
    const char *kc = "{\"op\":\"use\",\"key\":\"bb22\",\"members\":3,\"acknowledged\":2,"
                     "\"pending\":[\"n3\"]}";
    fake_answer(&f, &c, answer, sizeof answer, "202 Accepted", kc);
    hs_client_key_change *kch;
    assert_int_equal(hs_client_keys_change(c, HS_CLIENT_KEY_USE, "QUJD+/=", 2000, &kch), 0);
    fake_stop(&f);
    assert_non_null(strstr(f.request, "POST /v1/keys/use?wait_ms=2000 HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\n\r\n{\"key\":\"QUJD+/=\"}"));
    assert_int_equal(kch->n_pending, 1);
    assert_string_equal(kch->pending[0], "n3");
    hs_client_free(kch);
    fake_answer(&f, &c, answer, sizeof answer, "409 Conflict",
                "{\"error\":\"cannot remove the primary\"}");
    assert_int_equal(hs_client_keys_change(c, HS_CLIENT_KEY_REMOVE, "QUJD", -1, &kch),
                     HS_CLIENT_EBUSY);
    fake_stop(&f);
    assert_null(kch);
    assert_non_null(strstr(f.request, "POST /v1/keys/remove HTTP/1.1\r\n"));
    assert_string_equal(hs_client_last_error(c), "cannot remove the primary");
    assert_int_equal(hs_client_keys_change(c, HS_CLIENT_KEY_USE, "a\"b", 0, &kch),
                     HS_CLIENT_EINVAL);
    assert_int_equal(hs_client_keys_change(c, HS_CLIENT_KEY_USE, "", 0, &kch), HS_CLIENT_EINVAL);
    assert_int_equal(hs_client_keys_change(c, HS_CLIENT_KEY_USE, "QUJD", 25001, &kch),
                     HS_CLIENT_EINVAL);
    assert_int_equal(hs_client_keys_change(c, (hs_client_key_op)9, "QUJD", 0, &kch),
                     HS_CLIENT_EINVAL);

    /* metrics: the text as it came */
    fake_answer(&f, &c, answer, sizeof answer, "200 OK", "# x\nm{a} 1\n\n");
    const char *text;
    size_t tlen;
    assert_int_equal(hs_client_metrics(c, &text, &tlen), 0);
    fake_stop(&f);
    assert_int_equal(tlen, 12);
    assert_string_equal(text, "# x\nm{a} 1\n\n");
    assert_non_null(strstr(f.request, "GET /v1/metrics HTTP/1.1\r\n"));

    /* bad arguments never reach the agent */
    assert_int_equal(hs_client_tags_set(c, "a=b", "v"), HS_CLIENT_EINVAL);
    assert_int_equal(hs_client_tags_delete(c, ""), HS_CLIENT_EINVAL);
    assert_int_equal(hs_client_config_set(c, "", "v", NULL), HS_CLIENT_EINVAL);
    assert_int_equal(hs_client_join(c, NULL, 0, NULL), HS_CLIENT_EINVAL);
    assert_int_equal(hs_client_members(c, NULL, (const char *[]){"=x", NULL}, &l),
                     HS_CLIENT_EINVAL);
    char longkey[5000];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(hs_client_config_set(c, longkey, "v", NULL), HS_CLIENT_EINVAL);
    hs_client_response resp;
    assert_int_equal(hs_client_request(c, "GET", "no-slash", NULL, &resp), HS_CLIENT_EINVAL);
    assert_string_equal(hs_client_last_body(c, NULL), "");
    hs_client_close(c);
}

static void test_open_and_unreachable(void **state)
{
    (void)state;
    unsetenv("HEARSAY_SOCKET");
    hs_client *c = hs_client_open(NULL);
    assert_string_equal(hs_client_socket_path(c), HS_CLIENT_DEFAULT_SOCKET);
    hs_client_close(c);
    setenv("HEARSAY_SOCKET", "/nonexistent/hs-test/api.sock", 1);
    c = hs_client_open("");
    assert_string_equal(hs_client_socket_path(c), "/nonexistent/hs-test/api.sock");
    hs_client_set_timeout(c, 500);
    hs_client_counts k;
    assert_int_equal(hs_client_count_members(c, &k), HS_CLIENT_ECONNECT);
    assert_int_equal(hs_client_last_status(c), 0);
    assert_string_equal(hs_client_last_error(c), "No such file or directory");
    hs_client_close(c);
    unsetenv("HEARSAY_SOCKET");
    char longpath[300];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    c = hs_client_open(longpath);
    hs_client_health_info *h;
    assert_int_equal(hs_client_health(c, &h), HS_CLIENT_ECONNECT);
    assert_string_equal(hs_client_last_error(c), "socket path too long");
    hs_client_close(c);
    hs_client_close(NULL);

    for (int e = HS_CLIENT_ENOMEM; e <= 0; e++)
        assert_string_not_equal(hs_client_strerror(e), "unknown error");
    assert_string_equal(hs_client_strerror(-999), "unknown error");
    assert_string_equal(hs_client_status_name(HS_CLIENT_SUSPECT), "suspect");
    assert_string_equal(hs_client_version(), HS_CLIENT_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_encode),
        cmocka_unit_test(test_http_good_answers),
        cmocka_unit_test(test_http_hostile_answers),
        cmocka_unit_test(test_http_bad_bodies),
        cmocka_unit_test(test_http_timeout_and_interrupt),
        cmocka_unit_test(test_parse_members),
        cmocka_unit_test(test_parse_self_health_raft),
        cmocka_unit_test(test_parse_tags_config),
        cmocka_unit_test(test_parse_keys),
        cmocka_unit_test(test_safe_copy_and_addr),
        cmocka_unit_test(test_event_lines),
        cmocka_unit_test(test_parse_operator),
        cmocka_unit_test(test_monitor_lines_and_reach),
        cmocka_unit_test(test_calls_against_fake_agent),
        cmocka_unit_test(test_open_and_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
