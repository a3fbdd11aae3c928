/* signals.h: SIGTERM/SIGINT start a graceful leave, a second one exits at once; SIGHUP re-reads
 * the configuration (log level, handlers, tags); SIGPIPE is ignored. */
#ifndef HSD_SIGNALS_H
#define HSD_SIGNALS_H

#include "engine.h"

int hsd_signals_init(hsd_engine *e, int argc, char **argv); /* argv: re-parsed on SIGHUP */
void hsd_signals_free(void);

#endif
