/* tags.c: member tags, packed as NUL-terminated "key=value" strings back to back.
 * Validation is strict because tags arrive from the network and end up in JSON and in
 * event-handler environments: printable keys without '=', values without NUL. */
#include <string.h>

#include "hearsay/membership.h"

int hs_tags_validate(hs_tags t)
{
    if (t.len == 0) return 0;
    if (!t.data || t.len > HS_TAGS_MAX || t.data[t.len - 1] != 0) return -1;
    size_t pos = 0;
    while (pos < t.len) {
        const char *s = t.data + pos;
        size_t n = strlen(s);
        const char *eq = memchr(s, '=', n);
        if (!eq || eq == s) return -1;
        for (const char *k = s; k < eq; k++)
            if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f) return -1;
        for (const char *v = eq + 1; v < s + n; v++)
            if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f) return -1;
        /* no duplicate keys */
        size_t klen = (size_t)(eq - s);
        size_t p2 = 0;
        while (p2 < pos) {
            const char *o = t.data + p2;
            if (strncmp(o, s, klen) == 0 && o[klen] == '=') return -1;
            p2 += strlen(o) + 1;
        }
        pos += n + 1;
    }
    return 0;
}

const char *hs_tags_next(hs_tags t, size_t *pos)
{
    if (*pos >= t.len) return NULL;
    const char *s = t.data + *pos;
    *pos += strlen(s) + 1;
    return s;
}

const char *hs_tags_get(hs_tags t, const char *key)
{
    size_t pos = 0, klen = strlen(key);
    const char *s;
    while ((s = hs_tags_next(t, &pos)))
        if (strncmp(s, key, klen) == 0 && s[klen] == '=') return s + klen + 1;
    return NULL;
}
