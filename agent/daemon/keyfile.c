/* keyfile.c: loads the cluster key ring from --key-file. One base64 key (32 bytes, libsodium
 * original variant) per line; the first is the primary, later ones are accepted when opening
 * (rotation). Blank lines and '#' comments are skipped. The file must belong to the agent's uid
 * or root and have mode 0600 or stricter (file_io.c reads it). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon.h"
#include "file_io.h"

#define KEYFILE_MAX 4096

int hsd_load_key_file(hs_envelope *env, const char *path, char *err, size_t errlen)
{
    int fd;
    struct stat st;
    int rc = hsd_file_open(path, KEYFILE_MAX, &fd, &st, err, errlen);
    if (rc == HSD_FILE_ABSENT) snprintf(err, errlen, "key file %s does not exist", path);
    if (rc != HSD_FILE_OK) return HSD_EXIT_CONFIG;
    if (hsd_file_check_private(path, &st, err, errlen) != 0) {
        close(fd);
        return HSD_EXIT_CONFIG;
    }
    hsd_buf b;
    if (hsd_file_read_fd(fd, path, KEYFILE_MAX, &b, err, errlen) != HSD_FILE_OK) return -1;
    char *buf = (char *)b.data;
    int lineno = 0;
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
            rc = HSD_EXIT_CONFIG;
            break;
        }
        if (hs_env_add_key(env, key) != 0) {
            snprintf(err, errlen, "key file %s line %d: duplicate key or more than %d keys", path,
                     lineno, HS_ENV_KEYS_MAX);
            sodium_memzero(key, sizeof(key));
            rc = HSD_EXIT_CONFIG;
            break;
        }
        sodium_memzero(key, sizeof(key));
    }
    hsd_buf_free(&b);
    if (rc == 0 && env->key_count == 0) {
        snprintf(err, errlen, "key file %s holds no key", path);
        rc = HSD_EXIT_CONFIG;
    }
    return rc;
}
