/* keyfile.c: loads the cluster key ring from --key-file. One base64 key (32 bytes, libsodium
 * original variant) per line; the first is the primary, later ones are accepted when opening
 * (rotation). Blank lines and '#' comments are skipped. The file must not be readable by
 * group or others. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon.h"

#define KEYFILE_MAX 4096

int hsd_load_key_file(hs_envelope *env, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "key file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & (S_IRGRP | S_IROTH)) {
        snprintf(err, errlen,
                 "key file %s is readable by group or others (mode %04o); refusing it: "
                 "run chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -1;
    }
    char buf[KEYFILE_MAX + 1];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
            close(fd);
            sodium_memzero(buf, sizeof(buf));
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n >= sizeof(buf) - 1) {
            snprintf(err, errlen, "key file %s is too large", path);
            close(fd);
            sodium_memzero(buf, sizeof(buf));
            return -1;
        }
    }
    close(fd);
    buf[n] = '\0';
    int rc = 0, lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (*p == '\0' || *p == '#') continue;
        uint8_t key[HS_ENV_KEY_BYTES];
        if (hs_env_key_decode(p, strlen(p), key) != 0) {
            snprintf(err, errlen,
                     "key file %s line %d: not a base64 key of 32 bytes (use `hearsay keygen`)",
                     path, lineno);
            rc = -1;
            break;
        }
        if (hs_env_add_key(env, key) != 0) {
            snprintf(err, errlen, "key file %s line %d: duplicate key or more than %d keys", path,
                     lineno, HS_ENV_KEYS_MAX);
            sodium_memzero(key, sizeof(key));
            rc = -1;
            break;
        }
        sodium_memzero(key, sizeof(key));
    }
    sodium_memzero(buf, sizeof(buf));
    if (rc == 0 && env->key_count == 0) {
        snprintf(err, errlen, "key file %s holds no key", path);
        rc = -1;
    }
    return rc;
}
