/* file_io.c: atomic, durable replacement of the agent's files (temp file, fsync, rename, fsync
 * of the directory) and the checked way to read them (O_NOFOLLOW | O_CLOEXEC, a regular file,
 * a size cap), plus the ownership and mode checks of secret files and state directories.
 * Crash points (failpoint.h) after each step: FILE.written, FILE.synced, FILE.renamed,
 * FILE.dir-synced, FILE being the base name of the replaced file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failpoint.h"
#include "file_io.h"

static void say(char *err, size_t errlen, const char *fmt, const char *path, int e)
{
    if (err && errlen) snprintf(err, errlen, fmt, path, strerror(e));
}

int hsd_dir_sync(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

int hsd_file_begin(hsd_file_tx *tx, const char *path, mode_t mode, char *err, size_t errlen)
{
    tx->fd = -1;
    if ((size_t)snprintf(tx->path, sizeof(tx->path), "%s", path) >= sizeof(tx->path) ||
        (size_t)snprintf(tx->tmp, sizeof(tx->tmp), "%s.tmp", path) >= sizeof(tx->tmp)) {
        say(err, errlen, "cannot write %s: %s", path, ENAMETOOLONG);
        return -1;
    }
    if (unlink(tx->tmp) != 0 && errno != ENOENT) {
        say(err, errlen, "cannot remove the stale temporary file %s: %s", tx->tmp, errno);
        return -1;
    }
    tx->fd = open(tx->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (tx->fd < 0 || fchmod(tx->fd, mode) != 0) {
        say(err, errlen, "cannot create %s: %s", tx->tmp, errno);
        hsd_file_abort(tx);
        return -1;
    }
    return 0;
}

int hsd_file_write(hsd_file_tx *tx, const void *data, size_t len, char *err, size_t errlen)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(tx->fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            say(err, errlen, "cannot write %s: %s", tx->tmp, w < 0 ? errno : EIO);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int hsd_file_commit(hsd_file_tx *tx, char *err, size_t errlen)
{
    HSD_FAILPOINT(tx->path, "written");
    if (fsync(tx->fd) != 0) {
        say(err, errlen, "cannot fsync %s: %s", tx->tmp, errno);
        hsd_file_abort(tx);
        return -1;
    }
    HSD_FAILPOINT(tx->path, "synced");
    if (close(tx->fd) != 0) {
        tx->fd = -1;
        say(err, errlen, "cannot close %s: %s", tx->tmp, errno);
        hsd_file_abort(tx);
        return -1;
    }
    tx->fd = -1;
    if (rename(tx->tmp, tx->path) != 0) {
        say(err, errlen, "cannot rename the temporary file over %s: %s", tx->path, errno);
        hsd_file_abort(tx);
        return -1;
    }
    HSD_FAILPOINT(tx->path, "renamed");
    char dir[sizeof(tx->path)];
    dir_of(tx->path, dir, sizeof(dir));
    if (hsd_dir_sync(dir) != 0) {
        say(err, errlen, "cannot fsync the directory of %s: %s", tx->path, errno);
        return -1;
    }
    HSD_FAILPOINT(tx->path, "dir-synced");
    return 0;
}

void hsd_file_abort(hsd_file_tx *tx)
{
    if (tx->fd >= 0) close(tx->fd);
    tx->fd = -1;
    unlink(tx->tmp);
}

int hsd_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                     size_t errlen)
{
    hsd_file_tx tx;
    if (hsd_file_begin(&tx, path, mode, err, errlen) != 0) return -1;
    if (hsd_file_write(&tx, data, len, err, errlen) != 0) {
        hsd_file_abort(&tx);
        return -1;
    }
    return hsd_file_commit(&tx, err, errlen);
}

int hsd_file_open(const char *path, size_t max, int *fd, struct stat *st, char *err, size_t errlen)
{
    *fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0) {
        if (errno == ENOENT) return HSD_FILE_ABSENT;
        if (errno == ELOOP)
            say(err, errlen,
                "%s is a symbolic link: hearsayd opens its files without following links "
                "(O_NOFOLLOW); give the path of the file itself (%s)",
                path, ELOOP);
        else
            say(err, errlen, "cannot open %s: %s", path, errno);
        return HSD_FILE_ERROR;
    }
    int e = 0;
    const char *why = NULL;
    if (fstat(*fd, st) != 0)
        e = errno;
    else if (!S_ISREG(st->st_mode))
        why = "is not a regular file";
    else if (st->st_size < 0 || (uint64_t)st->st_size > max)
        why = "is too large";
    if (e || why) {
        if (e)
            say(err, errlen, "cannot stat %s: %s", path, e);
        else if (err && errlen)
            snprintf(err, errlen, "%s %s (%lld bytes; at most %zu)", path, why,
                     (long long)st->st_size, max);
        close(*fd);
        *fd = -1;
        return HSD_FILE_ERROR;
    }
    /* O_NONBLOCK only kept open() from hanging on a FIFO; a regular file ignores it */
    return HSD_FILE_OK;
}

int hsd_file_read_fd(int fd, const char *path, size_t max, hsd_buf *out, char *err, size_t errlen)
{
    out->data = NULL;
    out->len = 0;
    size_t cap = 4096 < max + 1 ? 4096 : max + 1, n = 0;
    uint8_t *buf = malloc(cap + 1);
    int rc = HSD_FILE_OK;
    while (buf) {
        if (n == cap) {
            if (cap > max) { /* grew past the cap while being read */
                if (err && errlen)
                    snprintf(err, errlen, "%s is too large (at most %zu)", path, max);
                rc = HSD_FILE_ERROR;
                break;
            }
            size_t nc = cap * 2 < max + 1 ? cap * 2 : max + 1;
            uint8_t *nb = malloc(nc + 1);
            if (!nb) break;
            memcpy(nb, buf, n);
            explicit_bzero(buf, cap);
            free(buf);
            buf = nb;
            cap = nc;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            say(err, errlen, "cannot read %s: %s", path, errno);
            rc = HSD_FILE_ERROR;
            break;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) {
        say(err, errlen, "cannot read %s: %s", path, ENOMEM);
        return HSD_FILE_ERROR;
    }
    if (rc != HSD_FILE_OK) {
        explicit_bzero(buf, cap);
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    out->data = buf;
    out->len = n;
    return HSD_FILE_OK;
}

int hsd_file_read(const char *path, size_t max, hsd_buf *out, char *err, size_t errlen)
{
    int fd;
    struct stat st;
    out->data = NULL;
    out->len = 0;
    int rc = hsd_file_open(path, max, &fd, &st, err, errlen);
    if (rc != HSD_FILE_OK) return rc;
    return hsd_file_read_fd(fd, path, max, out, err, errlen);
}

void hsd_buf_free(hsd_buf *b)
{
    if (b->data) {
        explicit_bzero(b->data, b->len);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
}

int hsd_file_check_private(const char *path, const struct stat *st, char *err, size_t errlen)
{
    uid_t me = geteuid();
    if (st->st_uid != me && st->st_uid != 0) {
        snprintf(err, errlen,
                 "%s belongs to uid %u, not to the agent's uid %u or root; refusing it: run "
                 "chown %u %s",
                 path, (unsigned)st->st_uid, (unsigned)me, (unsigned)me, path);
        return -1;
    }
    if (st->st_mode & 0177) {
        snprintf(err, errlen,
                 "%s has mode %04o: group or others may use it; refusing it: run chmod 600 %s",
                 path, (unsigned)(st->st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int hsd_dir_check(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        say(err, errlen, "cannot use the directory %s: %s", dir, errno);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    uid_t me = geteuid();
    if (st.st_uid != me && st.st_uid != 0) {
        snprintf(err, errlen,
                 "directory %s belongs to uid %u, not to the agent's uid %u or root; refusing "
                 "it: run chown %u %s",
                 dir, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, dir);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen,
                 "directory %s has mode %04o: group or others may write it; refusing it: run "
                 "chmod go-w %s",
                 dir, (unsigned)(st.st_mode & 07777), dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        say(err, errlen, "directory %s is not writable by the agent: %s", dir, errno);
        return -1;
    }
    return 0;
}

int hsd_dir_lock(const char *dir, char *err, size_t errlen)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        say(err, errlen, "cannot open %s: %s", path, errno);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            snprintf(err, errlen,
                     "%s is in use by another hearsayd (it holds %s); stop that one first", dir,
                     path);
        else
            say(err, errlen, "cannot lock %s: %s", path, e);
        return -1;
    }
    return fd;
}
