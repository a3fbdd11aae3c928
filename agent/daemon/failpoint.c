/* failpoint.c: HEARSAY_FAILPOINT=FILE.STEP[:N] kills this process (SIGKILL, like kill -9) at
 * the N-th pass through HSD_FAILPOINT(FILE, STEP) (failpoint.h). Compiled only with
 * HS_FAILPOINTS; tests/integration/test_raft_crashpoints.py drives it. */
#ifdef HS_FAILPOINTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failpoint.h"

static char want[128];
static unsigned long want_n, seen;
static int parsed;

static void parse(void)
{
    parsed = 1;
    const char *v = getenv("HEARSAY_FAILPOINT");
    if (!v || !*v || strlen(v) >= sizeof(want)) return;
    snprintf(want, sizeof(want), "%s", v);
    want_n = 1;
    char *colon = strrchr(want, ':');
    if (colon) {
        *colon = '\0';
        want_n = strtoul(colon + 1, NULL, 10);
        if (want_n == 0) want_n = 1;
    }
}

void hsd_failpoint(const char *file, const char *step)
{
    if (!parsed) parse();
    if (!want[0]) return;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t bl = strlen(base);
    if (strncmp(want, base, bl) != 0 || want[bl] != '.' || strcmp(want + bl + 1, step) != 0) return;
    if (++seen < want_n) return;
    char line[200];
    int n = snprintf(line, sizeof(line), "<2>failpoint %s.%s reached (pass %lu): SIGKILL\n", base,
                     step, seen);
    if (n > 0) (void)!write(STDERR_FILENO, line, (size_t)n);
    raise(SIGKILL);
}
#endif
