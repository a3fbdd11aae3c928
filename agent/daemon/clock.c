/* clock.c: the daemon's clocks (clock.h): CLOCK_MONOTONIC milliseconds for the cores' time,
 * CLOCK_REALTIME milliseconds for what the API shows as wall time. */
#include "clock.h"

#include <time.h>

static uint64_t ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hsd_now_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

uint64_t hsd_unix_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}
