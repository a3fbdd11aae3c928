/* log.c: one line per message on stderr, prefixed "<N>" so journald keeps the priority;
 * control characters in messages are escaped so remote input cannot forge log lines. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int log_level = HSD_LOG_INFO;
static int tap_level;
static hsd_log_tap_fn tap_fn;
static bool in_tap;

int hsd_log_parse_level(const char *s)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {{"error", HSD_LOG_ERR},    {"err", HSD_LOG_ERR},       {"warn", HSD_LOG_WARN},
                 {"warning", HSD_LOG_WARN}, {"notice", HSD_LOG_NOTICE}, {"info", HSD_LOG_INFO},
                 {"debug", HSD_LOG_DEBUG}};
    if (!s) return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0) return names[i].level;
    return -1;
}

void hsd_log_set_level(int level)
{
    log_level = level;
}

int hsd_log_get_level(void)
{
    return log_level;
}

void hsd_log_set_tap(int level, hsd_log_tap_fn fn)
{
    tap_level = fn ? level : 0;
    tap_fn = fn;
}

void hsd_log(int level, const char *fmt, ...)
{
    bool to_tap = tap_fn && !in_tap && level <= tap_level;
    if (level > log_level && !to_tap) return;
    char msg[1024], line[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t o = (size_t)snprintf(line, sizeof(line), "<%d>", level), prefix = o;
    for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < sizeof(line); p++) {
        if (*p < 0x20 || *p == 0x7f)
            o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x", *p);
        else
            line[o++] = (char)*p;
    }
    if (to_tap) {
        in_tap = true;
        tap_fn(level, line + prefix, o - prefix);
        in_tap = false;
    }
    if (level > log_level) return;
    line[o++] = '\n';
    fwrite(line, 1, o, stderr);
}
