/* sd_notify.h: the systemd notification protocol (READY, STATUS, WATCHDOG, STOPPING); every
 * call is a no-op when the daemon was not started with $NOTIFY_SOCKET. */
#ifndef HSD_SD_NOTIFY_H
#define HSD_SD_NOTIFY_H

#include "engine.h"

void hsd_notify_init(hsd_engine *e); /* also hooks the engine's status changes */
void hsd_notify_ready(void);
void hsd_notify_stopping(void);
void hsd_notify_free(void);

#endif
