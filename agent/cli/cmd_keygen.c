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
static const hcli_opt opts[] = {
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
            hcli_err("%s already exists (use --force to overwrite)", path);
        else
            hcli_err("cannot create %s: %s", path, strerror(errno));
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
    if (rc != EXIT_OK) hcli_err("cannot write %s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == EXIT_OK) {
        hcli_err("cannot write %s: %s", path, strerror(errno));
        rc = EXIT_ERROR;
    }
    return rc;
}

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_keygen, argc, argv);
    const char *out = NULL;
    bool force = false;
    int o;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == HCLI_POSITIONAL)
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
        else if (o == OPT_OUT)
            out = a.arg;
        else
            force = true;
    }
    if (a.exit >= 0) return a.exit;
    if (sodium_init() < 0) {
        hcli_err("libsodium failed to initialise");
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

const hcli_command hcli_keygen = {
    "keygen", "generate a new cluster key",
    "Usage: hearsay keygen [-o FILE [--force]]\n"
    "\n"
    "Prints a new cluster key: 32 random bytes (libsodium) as one line of standard base64.\n"
    "Does not talk to the agent.\n"
    "\n"
    "  -o, --output FILE     write the key to FILE with mode 0600 instead of printing it;\n"
    "                        refuses to overwrite an existing file\n"
    "  -f, --force           overwrite FILE if it exists\n",
    run, 0};
