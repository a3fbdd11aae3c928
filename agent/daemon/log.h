/* log.h: leveled logging to stderr with journald "<N>" priority prefixes (systemd reads the
 * level from them); the level is set from --log-level and on reload. A tap (the monitor
 * streams) may ask for more detail than --log-level writes. */
#ifndef HSD_LOG_H
#define HSD_LOG_H

#include <stddef.h>

enum { HSD_LOG_ERR = 3, HSD_LOG_WARN = 4, HSD_LOG_NOTICE = 5, HSD_LOG_INFO = 6, HSD_LOG_DEBUG = 7 };

/* "error", "warn"/"warning", "notice", "info", "debug" -> level; -1 if unknown. */
int hsd_log_parse_level(const char *s);
void hsd_log_set_level(int level);
int hsd_log_get_level(void);
void hsd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A tap sees every line at or above its level (line: the escaped message, no prefix or
 * newline), whatever --log-level is: GET /v1/monitor (http_monitor.c). One tap; level 0
 * turns it off. A line logged from inside the tap is not shown to it again. */
typedef void (*hsd_log_tap_fn)(int level, const char *line, size_t len);
void hsd_log_set_tap(int level, hsd_log_tap_fn fn);

#define log_err(...)   hsd_log(HSD_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  hsd_log(HSD_LOG_WARN, __VA_ARGS__)
#define log_info(...)  hsd_log(HSD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) hsd_log(HSD_LOG_DEBUG, __VA_ARGS__)

#endif
