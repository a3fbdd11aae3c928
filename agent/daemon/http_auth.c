/* http_auth.c: access control on the API socket (docs/security.md, "Local API access").
 * The socket's group (--socket-group) decides who may connect and read; changing requests
 * (every method but GET/HEAD) need uid 0, the daemon's own uid, or membership of
 * --admin-group, checked on the peer credentials of the connection (SO_PEERCRED, plus
 * SO_PEERGROUPS or the peer's /proc/PID/status "Groups:" line for supplementary groups).
 * The same peers are the privileged ones of the API's fair shares (http_slots.c). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "http_internal.h"
#include "log.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define AUTH_GROUPS_MAX 256 /* supplementary groups considered per peer */

static gid_t g_socket_gid = (gid_t)-1; /* -1: leave the daemon's primary group */
static gid_t g_admin_gid = (gid_t)-1;  /* -1: no admin group */
static char g_admin_name[64];

static int resolve(const char *flag, const char *name, gid_t *out, char *err, size_t errlen)
{
    *out = (gid_t)-1;
    if (!name[0]) return 0;
    errno = 0;
    struct group *g = getgrnam(name);
    if (!g) {
        snprintf(err, errlen, "--%s: unknown group '%s'%s%s", flag, name, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    *out = g->gr_gid;
    return 0;
}

int hsd_auth_init(const hsd_options *o, char *err, size_t errlen)
{
    if (resolve("socket-group", o->socket_group, &g_socket_gid, err, errlen) != 0) return -1;
    if (resolve("admin-group", o->admin_group, &g_admin_gid, err, errlen) != 0) return -1;
    snprintf(g_admin_name, sizeof(g_admin_name), "%s", o->admin_group);
    return 0;
}

gid_t hsd_auth_socket_gid(void)
{
    return g_socket_gid; /* (gid_t)-1 keeps the group the kernel gave (our primary group) */
}

/* Reads the "Groups:" line of /proc/PID/status; 1 if gid is listed, 0 if not or unreadable. */
static int proc_has_group(pid_t pid, gid_t gid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    char line[4096];
    int found = 0;
    for (int n = 0; n < 128 && fgets(line, sizeof(line), f); n++) {
        if (strncmp(line, "Groups:", 7) != 0) continue;
        const char *p = line + 7;
        for (int k = 0; k < AUTH_GROUPS_MAX; k++) {
            while (*p == ' ' || *p == '\t') p++;
            if (*p < '0' || *p > '9') break;
            char *end = NULL;
            errno = 0;
            unsigned long v = strtoul(p, &end, 10);
            if (errno || end == p) break;
            if ((gid_t)v == gid && v == (unsigned long)(gid_t)v) {
                found = 1;
                break;
            }
            p = end;
        }
        break;
    }
    fclose(f);
    return found;
}

static int peer_has_group(int fd, const struct ucred *cr, gid_t gid)
{
    if (cr->gid == gid) return 1;
    gid_t groups[AUTH_GROUPS_MAX];
    socklen_t len = sizeof(groups);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
            if (groups[i] == gid) return 1;
        return 0;
    }
    if (errno == ERANGE) return 0; /* more groups than we look at: not admitted */
    return proc_has_group(cr->pid, gid);
}

int hsd_auth_peer(int fd, hsd_peer *out)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr))
        return -1;
    out->uid = cr.uid;
    out->privileged = cr.uid == 0 || cr.uid == geteuid() ||
                      (g_admin_gid != (gid_t)-1 && peer_has_group(fd, &cr, g_admin_gid));
    return 0;
}

bool hsd_auth_may_change(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    int fd = bev ? (int)bufferevent_getfd(bev) : -1;
    hsd_peer p;
    bool ok = false;
    if (hsd_auth_peer(fd, &p) == 0)
        ok = p.privileged;
    else
        log_warn("API: cannot read the peer credentials: %s", strerror(errno));
    if (ok) return true;
    char msg[160];
    if (g_admin_name[0])
        snprintf(msg, sizeof(msg), "permission denied: changing operations need uid 0 or group %s",
                 g_admin_name);
    else
        snprintf(msg, sizeof(msg),
                 "permission denied: changing operations need uid 0 or the agent's uid %lu "
                 "(no --admin-group configured)",
                 (unsigned long)geteuid());
    hsd_http_error(req, 403, msg);
    return false;
}
