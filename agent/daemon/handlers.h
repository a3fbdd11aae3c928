/* handlers.h: event handlers, a subscriber of the engine's events: a configured shell command
 * runs for each event of a kind that may have handlers (include/hearsay/events.h), never
 * blocking the loop. */
#ifndef HSD_HANDLERS_H
#define HSD_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "options.h"

int hsd_handlers_init(hsd_engine *e);           /* subscribes; 0 or -1 */
void hsd_handlers_reload(const hsd_options *o); /* SIGHUP: commands, timeout, max-handlers */
void hsd_handlers_free(void);

typedef struct hsd_handlers_stats {
    uint64_t run, failed, timeout, dropped;
} hsd_handlers_stats;
const hsd_handlers_stats *hsd_handlers_get_stats(void);

#endif
