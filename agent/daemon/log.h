/* log.h: leveled logging to stderr with journald "<N>" priority prefixes (systemd reads the
 * level from them); the level is set from --log-level and on reload. */
#ifndef HSD_LOG_H
#define HSD_LOG_H

enum { HSD_LOG_ERR = 3, HSD_LOG_WARN = 4, HSD_LOG_NOTICE = 5, HSD_LOG_INFO = 6, HSD_LOG_DEBUG = 7 };

/* "error", "warn"/"warning", "notice", "info", "debug" -> level; -1 if unknown. */
int hsd_log_parse_level(const char *s);
void hsd_log_set_level(int level);
int hsd_log_get_level(void);
void hsd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   hsd_log(HSD_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  hsd_log(HSD_LOG_WARN, __VA_ARGS__)
#define log_info(...)  hsd_log(HSD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) hsd_log(HSD_LOG_DEBUG, __VA_ARGS__)

#endif
