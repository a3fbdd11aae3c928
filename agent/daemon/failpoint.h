/* failpoint.h: crash points for the storage tests. In a build with HS_FAILPOINTS (CMake option,
 * on by default in Debug builds only) HSD_FAILPOINT(file, step) kills the process with SIGKILL
 * when HEARSAY_FAILPOINT=FILE.STEP[:N] names it, at its N-th pass (default 1); elsewhere it is
 * nothing at all, so packaged binaries carry no failpoint. */
#ifndef HSD_FAILPOINT_H
#define HSD_FAILPOINT_H

#ifdef HS_FAILPOINTS
void hsd_failpoint(const char *file, const char *step);
#define HSD_FAILPOINT(file, step) hsd_failpoint((file), (step))
#else
#define HSD_FAILPOINT(file, step) ((void)0)
#endif

#endif
