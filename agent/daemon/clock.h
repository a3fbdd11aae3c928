/* clock.h: the daemon's two clocks, read in one place: monotonic milliseconds for the cores and
 * timers, Unix milliseconds for what people read (event times). */
#ifndef HSD_CLOCK_H
#define HSD_CLOCK_H

#include <stdint.h>

uint64_t hsd_now_ms(void);  /* CLOCK_MONOTONIC */
uint64_t hsd_unix_ms(void); /* CLOCK_REALTIME */

#endif
