/* cmd_keygen.c: "hearsay keygen [-o FILE] [--force]": a new cluster key, 32 random bytes
 * from libsodium, printed as one line of standard base64 (or written to FILE, mode 0600). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BYTES 32

enum { OPT_OUT = 1, OPT_FORCE };
static const hs_opt opts[] = {
    {"output", 'o', true, OPT_OUT},
    {"force", 'f', false, OPT_FORCE},
    {NULL, 0, false, 0},
};

static int write_key(const char *path, const char *line, bool force)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            hs_err("%s already exists (use --force to overwrite)", path);
        else
            hs_err("cannot create %s: %s", path, strerror(errno));
        return EXIT_ERROR;
    }
    size_t n = strlen(line), off = 0;
    int rc = EXIT_OK;
    if (fchmod(fd, 0600) != 0) rc = EXIT_ERROR;
    while (rc == EXIT_OK && off < n) {
        ssize_t w = write(fd, line + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            rc = EXIT_ERROR;
        else
            off += (size_t)w;
    }
    if (rc == EXIT_OK && fsync(fd) != 0) rc = EXIT_ERROR;
    if (rc != EXIT_OK) hs_err("cannot write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == EXIT_OK) {
        hs_err("cannot write %s: %s", path, strerror(errno));
        rc = EXIT_ERROR;
    }
    return rc;
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    const char *out = NULL;
    bool force = false;
    int o;
    while ((o = hs_args_next(&a, &hs_cmd_keygen, opts)) != HS_OPT_END) {
        switch (o) {
        case HS_OPT_ERROR:
            return EXIT_USAGE;
        case HS_OPT_HELP:
            return hs_usage(&hs_cmd_keygen);
        case HS_OPT_POSITIONAL:
            return hs_usage_error(&hs_cmd_keygen, "unexpected argument '%s'", a.arg);
        case OPT_OUT:
            out = a.arg;
            break;
        case OPT_FORCE:
            force = true;
            break;
        }
    }
    if (sodium_init() < 0) {
        hs_err("libsodium failed to initialise");
        return EXIT_ERROR;
    }
    unsigned char key[KEY_BYTES];
    char line[sodium_base64_ENCODED_LEN(KEY_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1];
    randombytes_buf(key, sizeof key);
    sodium_bin2base64(line, sizeof line - 1, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(key, sizeof key);
    size_t n = strlen(line);
    line[n] = '\n';
    line[n + 1] = '\0';
    int rc = EXIT_OK;
    if (out)
        rc = write_key(out, line, force);
    else
        fputs(line, stdout);
    sodium_memzero(line, sizeof line);
    return rc;
}

const hs_command hs_cmd_keygen = {
    "keygen", "generate a new cluster key",
    "Usage: hearsay keygen [-o FILE [--force]]\n"
    "\n"
    "Prints a new cluster key: 32 random bytes (libsodium) as one line of standard base64.\n"
    "Does not talk to the agent.\n"
    "\n"
    "  -o, --output FILE     write the key to FILE with mode 0600 instead of printing it;\n"
    "                        refuses to overwrite an existing file\n"
    "  -f, --force           overwrite FILE if it exists\n",
    run};
