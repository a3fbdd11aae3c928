/* test_file_io.c: the daemon's file module (agent/daemon/file_io.c) and the key file loader on
 * top of it (keyfile.c): atomic replacement, and every refusal of the reading side (symbolic
 * link, FIFO, oversized file, key file of another uid or too open a mode, state directory that
 * group or others may write, a directory another agent holds). Ownership cases need root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "file_io.h"

#define KEY_LINE "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/hs-test-file-io-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void put(const char *p, const char *text, mode_t mode)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

static void test_replace_is_atomic_and_private(void **state)
{
    (void)state;
    char p[128], tmp[140], err[600];
    path(p, sizeof(p), "state");
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    put(tmp, "stale", 0644); /* a temp file left by a crash is replaced, not appended to */
    mode_t old = umask(0);
    assert_int_equal(hsd_file_replace(p, "new\n", 4, 0600, err, sizeof(err)), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 4);
    assert_int_not_equal(access(tmp, F_OK), 0);
    hsd_buf b;
    assert_int_equal(hsd_file_read(p, 100, &b, err, sizeof(err)), HSD_FILE_OK);
    assert_int_equal(b.len, 4);
    assert_string_equal((char *)b.data, "new\n");
    hsd_buf_free(&b);
}

static void test_replace_does_not_follow_a_planted_temp_link(void **state)
{
    (void)state;
    char p[128], tmp[140], victim[128], err[600];
    path(p, sizeof(p), "target");
    path(victim, sizeof(victim), "victim");
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    put(victim, "untouched", 0600);
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(hsd_file_replace(p, "x", 1, 0600, err, sizeof(err)), 0);
    hsd_buf b;
    assert_int_equal(hsd_file_read(victim, 100, &b, err, sizeof(err)), HSD_FILE_OK);
    assert_string_equal((char *)b.data, "untouched");
    hsd_buf_free(&b);
}

static void test_read_refusals(void **state)
{
    (void)state;
    char p[128], link[128], fifo[128], err[600];
    hsd_buf b;
    path(p, sizeof(p), "absent");
    assert_int_equal(hsd_file_read(p, 100, &b, err, sizeof(err)), HSD_FILE_ABSENT);
    path(p, sizeof(p), "real");
    put(p, "0123456789", 0600);
    assert_int_equal(hsd_file_read(p, 10, &b, err, sizeof(err)), HSD_FILE_OK);
    hsd_buf_free(&b);
    assert_int_equal(hsd_file_read(p, 9, &b, err, sizeof(err)), HSD_FILE_ERROR);
    assert_non_null(strstr(err, "is too large"));
    assert_non_null(strstr(err, p));
    path(link, sizeof(link), "link");
    assert_int_equal(symlink(p, link), 0);
    assert_int_equal(hsd_file_read(link, 100, &b, err, sizeof(err)), HSD_FILE_ERROR);
    assert_non_null(strstr(err, "is a symbolic link"));
    path(fifo, sizeof(fifo), "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(hsd_file_read(fifo, 100, &b, err, sizeof(err)), HSD_FILE_ERROR);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_key_file_owner_and_mode(void **state)
{
    (void)state;
    char p[128], err[600];
    path(p, sizeof(p), "cluster.key");
    hs_envelope env;
    put(p, KEY_LINE, 0600);
    assert_int_equal(hs_env_init(&env, "hearsay", false), 0);
    assert_int_equal(hsd_load_key_file(&env, p, err, sizeof(err)), 0);
    assert_int_equal(env.key_count, 1);
    hs_env_clear(&env);
    static const mode_t bad[] = {0640, 0604, 0620, 0700, 0660};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(p, bad[i]), 0);
        assert_int_equal(hs_env_init(&env, "hearsay", false), 0);
        assert_int_equal(hsd_load_key_file(&env, p, err, sizeof(err)), HSD_EXIT_CONFIG);
        assert_non_null(strstr(err, "chmod 600"));
        hs_env_clear(&env);
    }
    assert_int_equal(chmod(p, 0400), 0); /* stricter than 0600 is fine */
    assert_int_equal(hs_env_init(&env, "hearsay", false), 0);
    assert_int_equal(hsd_load_key_file(&env, p, err, sizeof(err)), 0);
    hs_env_clear(&env);
    if (geteuid() != 0) {
        skip();
        return;
    }
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(hs_env_init(&env, "hearsay", false), 0);
    assert_int_equal(hsd_load_key_file(&env, p, err, sizeof(err)), HSD_EXIT_CONFIG);
    assert_non_null(strstr(err, "belongs to uid 65534"));
    assert_non_null(strstr(err, "chown 0"));
    hs_env_clear(&env);
    char link[128];
    path(link, sizeof(link), "key-link");
    assert_int_equal(chown(p, 0, 0), 0);
    assert_int_equal(symlink(p, link), 0);
    assert_int_equal(hs_env_init(&env, "hearsay", false), 0);
    assert_int_equal(hsd_load_key_file(&env, link, err, sizeof(err)), HSD_EXIT_CONFIG);
    assert_non_null(strstr(err, "symbolic link"));
    hs_env_clear(&env);
}

static void test_state_dir_checks_and_lock(void **state)
{
    (void)state;
    char d[128], err[600];
    path(d, sizeof(d), "data");
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(hsd_dir_check(d, err, sizeof(err)), 0);
    static const mode_t bad[] = {0770, 0707, 0777, 0730};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(d, bad[i]), 0);
        assert_int_equal(hsd_dir_check(d, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "chmod go-w"));
        assert_non_null(strstr(err, d));
    }
    assert_int_equal(chmod(d, 0755), 0);
    assert_int_equal(hsd_dir_check(d, err, sizeof(err)), 0);
    int fd = hsd_dir_lock(d, err, sizeof(err));
    assert_true(fd >= 0);
    assert_int_equal(hsd_dir_lock(d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "in use by another hearsayd"));
    close(fd);
    fd = hsd_dir_lock(d, err, sizeof(err));
    assert_true(fd >= 0);
    close(fd);
    if (geteuid() != 0) {
        skip();
        return;
    }
    assert_int_equal(chown(d, 65534, 65534), 0);
    assert_int_equal(hsd_dir_check(d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "belongs to uid 65534"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_is_atomic_and_private),
        cmocka_unit_test(test_replace_does_not_follow_a_planted_temp_link),
        cmocka_unit_test(test_read_refusals),
        cmocka_unit_test(test_key_file_owner_and_mode),
        cmocka_unit_test(test_state_dir_checks_and_lock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
