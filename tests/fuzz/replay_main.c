/* replay_main.c: the main() of a fuzz harness built without libFuzzer (the default, gcc or
 * clang). It runs LLVMFuzzerTestOneInput once on every regular file under the directory given
 * as argv[1] (recursively), so ctest replays the committed seed corpora and every reproducer
 * on each build. It fails when the directory is missing, unreadable or holds no file.
 * Given a file instead of a directory it runs just that one (to replay a reproducer). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_FILE_MAX (16u << 20) /* no corpus file is anywhere near this */

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > REPLAY_FILE_MAX) {
        fprintf(stderr, "replay: %s: not a readable file of at most 16 MiB\n", path);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    /* an exact-size heap copy, so ASan sees reads past the input's end */
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

/* Runs every file under dir (sorted, so runs are reproducible); returns how many, -1 on error. */
static long run_dir(const char *dir)
{
    struct dirent **list = NULL;
    int k = scandir(dir, &list, NULL, alphasort);
    if (k < 0) {
        fprintf(stderr, "replay: cannot read directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    long count = 0;
    for (int i = 0; i < k; i++) {
        const char *name = list[i]->d_name;
        if (count >= 0 && name[0] != '.') {
            size_t len = strlen(dir) + 1 + strlen(name) + 1;
            char *path = malloc(len);
            if (!path) {
                count = -1;
            } else {
                snprintf(path, len, "%s/%s", dir, name);
                struct stat st;
                if (stat(path, &st) != 0) {
                    fprintf(stderr, "replay: cannot stat %s\n", path);
                    count = -1;
                } else if (S_ISDIR(st.st_mode)) {
                    long sub = run_dir(path);
                    count = sub < 0 ? -1 : count + sub;
                } else if (S_ISREG(st.st_mode)) {
                    count = run_file(path) == 0 ? count + 1 : -1;
                }
                free(path);
            }
        }
        free(list[i]);
    }
    free(list);
    return count;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    struct stat st;
    if (stat(argv[1], &st) == 0 && S_ISREG(st.st_mode)) { /* one reproducer */
        if (run_file(argv[1]) != 0) return 1;
        printf("replay: %s, no crash\n", argv[1]);
        return 0;
    }
    long n = run_dir(argv[1]);
    if (n < 0) return 1;
    if (n == 0) {
        fprintf(stderr, "replay: %s holds no input\n", argv[1]);
        return 1;
    }
    printf("replay: %ld inputs from %s, no crash\n", n, argv[1]);
    return 0;
}
