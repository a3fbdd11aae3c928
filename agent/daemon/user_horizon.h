/* user_horizon.h: DATA_DIR/user-events, the user-event horizon (user_events.h): no user event or
 * query below it runs again after a restart. Saved before the handlers of what raised it run. */
#ifndef HSD_USER_HORIZON_H
#define HSD_USER_HORIZON_H

#include <stdint.h>

/* The saved horizon; 0 when there is none, or (with a warning) when the file is damaged. */
uint64_t hsd_user_horizon_load(const char *data_dir);
/* Writes it in place; 0, or -1 (logged). */
int hsd_user_horizon_save(const char *data_dir, uint64_t horizon);
void hsd_user_horizon_close(void);

#endif
