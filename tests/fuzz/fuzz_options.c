/* fuzz_options.c: libFuzzer harness for the daemon's settings parsers (agent/daemon/options.c):
 * the INI config file (-c FILE, through inih) and the command-line flags, both of which end in
 * hsd_options_set, then hsd_options_check.
 *
 * The input is (1) written to a scratch file and parsed as the config file, and (2) split at NUL
 * bytes into argv. Arguments naming another config file (-c, --config) are skipped so the fuzzer
 * never opens files of its choosing. Checked: every parsed string is NUL-terminated within
 * its buffer, the list counts stay within their capacities, every number within its table
 * row's bounds, and parsing the same flags twice gives the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "options.h"

static int memfd = -1;
static char path[64];

static void remove_file(void)
{
    unlink(path);
}

/* A real file (not /proc/self/fd/N of a memfd: the daemon opens its config file with
 * O_NOFOLLOW, and that path is a link), removed at exit. */
static void setup(void)
{
    if (memfd >= 0) return;
    snprintf(path, sizeof(path), "/tmp/hearsay-fuzz-options-XXXXXX");
    memfd = mkstemp(path);
    if (memfd < 0) abort();
    atexit(remove_file);
    hsd_log_set_level(HSD_LOG_ERR);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

static void check(const hsd_options *o)
{
    if (!memchr(o->name, 0, sizeof(o->name)) || !memchr(o->cluster, 0, sizeof(o->cluster)) ||
        !memchr(o->socket_path, 0, sizeof(o->socket_path)) ||
        !memchr(o->data_dir, 0, sizeof(o->data_dir)) ||
        !memchr(o->key_file, 0, sizeof(o->key_file)) ||
        !memchr(o->config_file, 0, sizeof(o->config_file)) ||
        !memchr(o->socket_group, 0, sizeof(o->socket_group)) ||
        !memchr(o->admin_group, 0, sizeof(o->admin_group)))
        abort();
    for (int i = 0; i < HSD_HANDLER_EVENTS; i++)
        if (!memchr(o->handlers[i], 0, sizeof(o->handlers[i]))) abort();
    /* every number within its row's bounds (or the default) */
    size_t n;
    const hsd_optdef *rows = hsd_option_rows(&n);
    for (size_t r = 0; r < n; r++) {
        if (!rows[r].max) continue;
        const char *f = (const char *)o + rows[r].off;
        uint64_t v = rows[r].size == 8 ? *(const uint64_t *)(const void *)f
                                       : *(const uint32_t *)(const void *)f;
        if (v < rows[r].min || v > rows[r].max) abort();
    }
    if (o->log_level < HSD_LOG_ERR || o->log_level > HSD_LOG_DEBUG) abort();
    if (o->seed_count > HSD_SEEDS_MAX || o->join_count > HSD_JOINS_MAX ||
        o->tags_len > sizeof(o->tags))
        abort();
    for (size_t i = 0; i < o->seed_count; i++)
        if (!memchr(o->seeds[i].name, 0, sizeof(o->seeds[i].name))) abort();
    if (hs_tags_validate((hs_tags){o->tags, o->tags_len}) != 0) abort();
    char err[256];
    (void)hsd_options_check(o, err, sizeof(err));
}

static hsd_options opt, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size > 65536) return 0;
    char err[512];

    /* 1: the config file */
    if (ftruncate(memfd, 0) != 0) abort();
    if (size && pwrite(memfd, data, size, 0) != (ssize_t)size) abort();
    char *argv1[] = {"hearsayd", "-c", path, NULL};
    if (hsd_options_parse(&opt, 3, argv1, err, sizeof(err)) == 0) check(&opt);
    if (!memchr(err, 0, sizeof(err))) abort();

    /* 2: the flags, one per NUL-separated piece */
    char *copy = malloc(size + 1);
    if (!copy) abort();
    if (size) memcpy(copy, data, size);
    copy[size] = 0;
    char *argv2[66];
    int argc = 0;
    argv2[argc++] = "hearsayd";
    for (size_t pos = 0; pos <= size && argc < 65;) {
        char *a = copy + pos;
        size_t n = strlen(a);
        if (strcmp(a, "-c") != 0 && strncmp(a, "--config", 8) != 0) argv2[argc++] = a;
        pos += n + 1;
    }
    argv2[argc] = NULL;
    if (hsd_options_parse(&opt, argc, argv2, err, sizeof(err)) == 0) {
        check(&opt);
        /* the same input, the same bytes: a reload compares fields (restart_needed) */
        if (hsd_options_parse(&again, argc, argv2, err, sizeof(err)) != 0) abort();
        if (memcmp(&opt, &again, sizeof(opt)) != 0) abort();
        char names[256];
        if (hsd_options_restart_needed(&opt, &again, names, sizeof(names)) != 0) abort();
    }
    free(copy);
    return 0;
}
