/* http_api.c: the HTTP/1.1 + JSON API of docs/api.md on the unix socket (libevent evhttp).
 * Creates the socket itself (stale socket removed, mode 0660), bounds header and body size
 * (connections, their deadlines and fair shares: http_conns.c) and routes requests to the
 * handlers in http_*.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "http_internal.h"
#include "json_util.h"
#include "log.h"

#define HTTP_MAX_HEADERS 8192

#define HTTP_TIMEOUT_S 10  /* idle: no byte read or written (absolute deadlines: http_conns.c) */
#define LISTEN_BACKLOG 512 /* connects queued: a burst waits; deeper, a flood delays more */

static struct {
    hsd_engine *e;
    struct evhttp *http;
    int fd;
} H = {NULL, NULL, -1};

static void api_raft(hsd_engine *e, struct evhttp_request *req)
{
    hsd_http_json(req, 200, hsd_json_raft(e));
}

static void api_events(struct evhttp_request *req, struct evkeyvalq *q)
{
    const char *s = evhttp_find_header(q, "since");
    uint64_t since = 0;
    if (s) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-') {
            hsd_http_error(req, 400, "since must be an event id");
            return;
        }
        since = v;
    }
    hsd_events_serve(req, since, s != NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    hsd_engine *d = arg;
    if (!hsd_http_conn_begin(req)) return;
    hsd_http_get_stats()->requests++;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (!path) {
        hsd_http_error(req, 400, "bad request URI");
        return;
    }
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD && !hsd_auth_may_change(req)) return;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (qs && evhttp_parse_query_str(qs, &q) != 0) {
        hsd_http_error(req, 400, "bad query string");
        return;
    }
    bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
    if (!strcmp(path, "/v1/members")) {
        if (get)
            hsd_api_members(d, req, &q);
        else
            hsd_http_error(req, 405, "use GET");
    } else if (!strncmp(path, "/v1/members/", 12) && strlen(path) > 20 &&
               !strcmp(path + strlen(path) - 8, "/history")) {
        hsd_api_history(d, req, path);
    } else if (!strcmp(path, "/v1/force-leave") || !strcmp(path, "/v1/readmit")) {
        hsd_api_removal(d, req, path[4] == 'r');
    } else if (!strcmp(path, "/v1/fd") || !strncmp(path, "/v1/fd/", 7)) {
        hsd_api_fd(d, req, path);
    } else if (!strcmp(path, "/v1/self")) {
        if (get)
            hsd_api_self(d, req);
        else
            hsd_http_error(req, 405, "use GET");
    } else if (!strcmp(path, "/v1/health")) {
        if (get)
            hsd_api_health(d, req);
        else
            hsd_http_error(req, 405, "use GET");
    } else if (!strcmp(path, "/v1/join")) {
        if (m == EVHTTP_REQ_POST)
            hsd_api_join(d, req);
        else
            hsd_http_error(req, 405, "use POST");
    } else if (!strcmp(path, "/v1/leave")) {
        if (m == EVHTTP_REQ_POST)
            hsd_api_leave(d, req);
        else
            hsd_http_error(req, 405, "use POST");
    } else if (!strcmp(path, "/v1/tags")) {
        if (m == EVHTTP_REQ_PUT)
            hsd_api_tags(d, req);
        else
            hsd_http_error(req, 405, "use PUT");
    } else if (!strcmp(path, "/v1/events")) {
        if (m == EVHTTP_REQ_GET)
            api_events(req, &q);
        else
            hsd_http_error(req, 405, "use GET");
    } else if (!strcmp(path, "/v1/monitor")) {
        if (m == EVHTTP_REQ_GET)
            hsd_monitor_serve(req, &q);
        else
            hsd_http_error(req, 405, "use GET");
    } else if (!strcmp(path, "/v1/reachability")) {
        if (m == EVHTTP_REQ_POST)
            hsd_api_reachability(d, req);
        else
            hsd_http_error(req, 405, "use POST");
    } else if (!strcmp(path, "/v1/raft")) {
        if (get)
            api_raft(d, req);
        else
            hsd_http_error(req, 405, "use GET");
    } else if (!strcmp(path, "/v1/raft/add-seed") || !strcmp(path, "/v1/raft/remove-seed")) {
        hsd_api_raft_seed(d, req, path[9] == 'a');
    } else if (!strcmp(path, "/v1/config") || !strncmp(path, "/v1/config/", 11)) {
        hsd_api_config(d, req, path, &q);
    } else if (!strcmp(path, "/v1/keys") || !strncmp(path, "/v1/keys/", 9)) {
        hsd_api_keys(d, req, path, &q);
    } else if (!strncmp(path, "/v1/event/", 10) || !strncmp(path, "/v1/query/", 10)) {
        hsd_api_user(d, req, path, &q);
    } else if (!strcmp(path, "/v1/metrics")) {
        if (get)
            hsd_api_metrics(d, req);
        else
            hsd_http_error(req, 405, "use GET");
    } else {
        hsd_http_error(req, 404, "no such endpoint");
    }
    evhttp_clear_headers(&q);
}

int hsd_http_open(hsd_engine *d)
{
    const hsd_options *o = hsd_engine_options(d);
    const char *path = o->socket_path;
    char aerr[200];
    H.e = d;
    if (hsd_auth_init(o, aerr, sizeof(aerr)) != 0) {
        log_err("%s", aerr);
        return -1;
    }
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        log_err("socket path %s is too long", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    /* create the socket's directory if missing (one level, like /run/hearsay) */
    char dir[sizeof(sun.sun_path)];
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0750) == 0) {
            /* a new directory: 0750, owned by us and the socket's group */
            if (chown(dir, (uid_t)-1, hsd_auth_socket_gid()) != 0 || chmod(dir, 0750) != 0)
                log_warn("cannot set owner/mode of %s: %s", dir, strerror(errno));
        } else if (errno != EEXIST) {
            log_warn("cannot create %s: %s", dir, strerror(errno));
        }
    }
    /* remove a stale socket, but never something that is not a socket */
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_err("%s exists and is not a socket; refusing to replace it", path);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
            close(probe);
            log_err("another agent is already serving %s", path);
            return -1;
        }
        if (probe >= 0) close(probe);
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_err("unix socket: %s", strerror(errno));
        return -1;
    }
    mode_t old = umask(0117);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc != 0) {
        log_err("cannot bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (chmod(path, 0660) != 0) log_warn("chmod %s: %s", path, strerror(errno));
    if (chown(path, (uid_t)-1, hsd_auth_socket_gid()) != 0) {
        log_err("cannot give %s to --socket-group %s: %s", path, o->socket_group, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    if (listen(fd, LISTEN_BACKLOG) != 0) {
        log_err("listen %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    H.http = evhttp_new(hsd_engine_base(d));
    if (!H.http) {
        close(fd);
        return -1;
    }
    evhttp_set_max_headers_size(H.http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(H.http, HSD_HTTP_MAX_BODY);
    evhttp_set_timeout(H.http, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(H.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_default_content_type(H.http, "application/json");
    evhttp_set_gencb(H.http, on_request, d);
    struct evhttp_bound_socket *bound = evhttp_accept_socket_with_handle(H.http, fd);
    if (!bound) {
        log_err("evhttp cannot accept on %s", path);
        close(fd);
        return -1;
    }
    hsd_slots_init(o->max_api_connections);
    /* admission and deadlines (http_conns.c) */
    if (hsd_http_conns_init(hsd_engine_base(d), H.http, bound) != 0) {
        log_err("cannot set up the connection limits of %s", path);
        return -1;
    }
    H.fd = fd;
    if (hsd_events_init(d) != 0) return -1;
    return 0;
}

void hsd_http_close(void)
{
    hsd_events_free();
    hsd_monitor_free();
    hsd_http_conns_free();
    hsd_slots_free();
    if (H.http) evhttp_free(H.http); /* closes the listening socket */
    H.http = NULL;
    if (H.fd >= 0 && H.e) unlink(hsd_engine_options(H.e)->socket_path);
    H.fd = -1;
    H.e = NULL;
}
