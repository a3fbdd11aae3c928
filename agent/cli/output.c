/* output.c: printing agent data for humans: control characters (C0, DEL and UTF-8-encoded C1)
 * are replaced so names and tags cannot drive the terminal, tags are shown sorted by key,
 * and JSON fields are read tolerantly. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Bytes of s at p to drop-and-replace, or 0 if the character is printable. */
static size_t control_len(const unsigned char *p)
{
    if (*p < 0x20 || *p == 0x7f) return 1;
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return 2;
    return 0;
}

void hs_safe_copy(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap == 0) return;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 1 < cap;) {
        size_t c = control_len(p);
        if (c) {
            out[n++] = '?';
            p += c;
        } else
            out[n++] = (char)*p++;
    }
    out[n] = '\0';
}

void hs_put_safe(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t c = control_len(p);
        if (c) {
            fputc('?', f);
            p += c;
        } else
            fputc(*p++, f);
    }
}

void hs_put_json(FILE *f, json_t *v)
{
    if (json_is_string(v)) {
        hs_put_safe(f, json_string_value(v));
        return;
    }
    char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (d) hs_put_safe(f, d);
    free(d);
}

const char *hs_jstr(json_t *obj, const char *key, const char *dflt)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : dflt;
}

long long hs_jint(json_t *obj, const char *key, long long dflt)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v)) return (long long)json_integer_value(v);
    if (json_is_real(v)) return (long long)json_real_value(v);
    return dflt;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void hs_format_tags(json_t *tags, char *out, size_t cap)
{
    out[0] = '\0';
    if (!json_is_object(tags) || cap == 0) return;
    size_t n = json_object_size(tags), k = 0, len = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys) return;
    const char *key;
    json_t *v;
    json_object_foreach(tags, key, v)
    {
        if (k < n) keys[k++] = key;
    }
    qsort(keys, k, sizeof *keys, cmp_str);
    for (size_t i = 0; i < k; i++) {
        json_t *val = json_object_get(tags, keys[i]);
        char *dumped = NULL;
        const char *sv = json_is_string(val) ? json_string_value(val) : NULL;
        if (!sv) sv = dumped = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
        char kbuf[256], vbuf[512];
        hs_safe_copy(kbuf, sizeof kbuf, keys[i]);
        hs_safe_copy(vbuf, sizeof vbuf, sv ? sv : "");
        int w = snprintf(out + len, cap - len, "%s%s=%s", i ? "," : "", kbuf, vbuf);
        free(dumped);
        if (w < 0 || (size_t)w >= cap - len) {
            if (cap > 4) memcpy(out + cap - 4, "...", 4);
            break;
        }
        len += (size_t)w;
    }
    free(keys);
}
