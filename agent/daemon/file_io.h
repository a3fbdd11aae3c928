/* file_io.h: the one way hearsayd writes and reads its files. A file it writes is replaced
 * atomically and durably (temp file, fsync, rename, fsync of the directory); a file it reads is
 * opened with O_NOFOLLOW | O_CLOEXEC, must be a regular file and is read whole up to a size cap.
 * Every refusal is a message naming the path and, where there is one, the fix. */
#ifndef HSD_FILE_IO_H
#define HSD_FILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

enum { HSD_FILE_OK = 0, HSD_FILE_ABSENT = 1, HSD_FILE_ERROR = -1 };

/* A file read whole: data[len] is a NUL (text parsers may use it as a string). */
typedef struct hsd_buf {
    uint8_t *data;
    size_t len;
} hsd_buf;

/* A replacement in progress: hsd_file_begin opens PATH.tmp (a stale one is removed first;
 * O_EXCL | O_NOFOLLOW, the given mode whatever the umask), hsd_file_write appends to it,
 * hsd_file_commit fsyncs it, renames it over PATH and fsyncs the directory; hsd_file_abort
 * removes it. Each returns 0, or -1 with a message in err naming the path and the step. */
typedef struct hsd_file_tx {
    int fd;
    char path[512], tmp[520];
} hsd_file_tx;
int hsd_file_begin(hsd_file_tx *tx, const char *path, mode_t mode, char *err, size_t errlen);
int hsd_file_write(hsd_file_tx *tx, const void *data, size_t len, char *err, size_t errlen);
int hsd_file_commit(hsd_file_tx *tx, char *err, size_t errlen);
void hsd_file_abort(hsd_file_tx *tx);

/* The whole replacement in one call. */
int hsd_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                     size_t errlen);

/* Opens path for reading (O_RDONLY | O_NOFOLLOW | O_CLOEXEC): a regular file of at most max
 * bytes. HSD_FILE_OK with *fd and *st set, HSD_FILE_ABSENT (no such file; err untouched), or
 * HSD_FILE_ERROR with a message (a symbolic link, not a regular file, larger than max, ...). */
int hsd_file_open(const char *path, size_t max, int *fd, struct stat *st, char *err, size_t errlen);
/* Reads what hsd_file_open opened (st: its fstat) into out and closes fd; the file may not
 * grow past max meanwhile. HSD_FILE_OK or HSD_FILE_ERROR. */
int hsd_file_read_fd(int fd, const char *path, size_t max, hsd_buf *out, char *err, size_t errlen);
/* hsd_file_open + hsd_file_read_fd. */
int hsd_file_read(const char *path, size_t max, hsd_buf *out, char *err, size_t errlen);
/* Zeroes (it may have held a key) and frees. */
void hsd_buf_free(hsd_buf *b);

/* A file that holds secrets (st: its fstat): owned by the agent's uid or root, and mode 0600 or
 * stricter. 0, or -1 with a message saying how to fix it. */
int hsd_file_check_private(const char *path, const struct stat *st, char *err, size_t errlen);
/* A directory the agent keeps state in: a directory owned by the agent's uid or root that group
 * and others cannot write. 0, or -1 with a message saying how to fix it. */
int hsd_dir_check(const char *dir, char *err, size_t errlen);
/* Takes DIR/lock (created 0600) with an exclusive flock, so that one agent at a time (or one
 * --raft-reset) uses the directory. The fd (held until exit, O_CLOEXEC), or -1 with a message. */
int hsd_dir_lock(const char *dir, char *err, size_t errlen);
/* fsyncs a directory (after a rename or an unlink in it). 0 or -1 (errno set). */
int hsd_dir_sync(const char *dir);

#endif
