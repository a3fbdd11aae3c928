/* user_horizon.c: DATA_DIR/user-events, one 32-byte record: "HSUE", version 1 (u32), the
 * horizon (u64, big-endian) and a 16-byte BLAKE2b of the first 16 bytes. It is rewritten in
 * place with one pwrite on a descriptor kept open, without fsync, before every batch of user
 * events is handed to the handlers (up to hundreds a second): the file_io.c replacement (temp
 * file, two fsyncs) would stall the loop that failure detection runs on. So the horizon survives
 * a crash or kill of the agent; a power loss may lose the last writes or leave a damaged record,
 * which is refused with a warning, and then only the age rule (nothing fired before this start
 * runs) keeps old events from running again (docs/security.md, "User events"). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "file_io.h"
#include "log.h"
#include "user_horizon.h"

#define RECORD  32
#define VERSION 1

static int fd = -1;

static int path_of(const char *dir, char *out, size_t cap)
{
    size_t n = strlen(dir);
    if (n + sizeof("/user-events") > cap) return -1;
    memcpy(out, dir, n);
    memcpy(out + n, "/user-events", sizeof("/user-events"));
    return 0;
}

static void encode(uint64_t h, uint8_t rec[RECORD])
{
    memcpy(rec, "HSUE", 4);
    for (int i = 0; i < 4; i++) rec[4 + i] = (uint8_t)(VERSION >> (24 - 8 * i));
    for (int i = 0; i < 8; i++) rec[8 + i] = (uint8_t)(h >> (56 - 8 * i));
    crypto_generichash(rec + 16, 16, rec, 16, NULL, 0);
}

uint64_t hsd_user_horizon_load(const char *data_dir)
{
    char path[512], err[600];
    if (path_of(data_dir, path, sizeof(path)) != 0) return 0;
    hsd_buf b;
    int rc = hsd_file_read(path, 4096, &b, err, sizeof(err));
    if (rc == HSD_FILE_ABSENT) return 0;
    if (rc != HSD_FILE_OK) {
        log_warn("ignoring the user-event horizon: %s", err);
        return 0;
    }
    uint64_t h = 0;
    for (int i = 0; i < 8 && b.len >= 16; i++) h = h << 8 | b.data[8 + i];
    uint8_t want[RECORD];
    encode(h, want);
    bool ok = b.len == RECORD && sodium_memcmp(want, b.data, RECORD) == 0;
    hsd_buf_free(&b);
    if (ok) return h;
    log_warn("ignoring %s: damaged (user events fired before this start still never run here; "
             "one fired while the agent stopped could run once more only if it arrives within "
             "its 30 s lifetime)",
             path);
    return 0;
}

int hsd_user_horizon_save(const char *data_dir, uint64_t horizon)
{
    char path[512];
    if (fd < 0) {
        if (path_of(data_dir, path, sizeof(path)) != 0) return -1;
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
            close(fd);
            fd = -1;
            errno = EINVAL;
        }
        if (fd < 0) {
            log_err("cannot open %s: %s: a restart could run recent user events again", path,
                    strerror(errno));
            return -1;
        }
    }
    uint8_t rec[RECORD];
    encode(horizon, rec);
    static uint64_t failures;
    if (pwrite(fd, rec, RECORD, 0) != RECORD) {
        if (failures++ % 1000 == 0)
            log_err("cannot save the user-event horizon in %s: %s (%llu failures): a restart "
                    "could run recent user events again",
                    data_dir, strerror(errno), (unsigned long long)failures);
        return -1;
    }
    return 0;
}

void hsd_user_horizon_close(void)
{
    if (fd >= 0) close(fd);
    fd = -1;
}
