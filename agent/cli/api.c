/* api.c: calling the agent's HTTP API from a subcommand: error reporting with the exit codes
 * of the contract (2 when the agent cannot be reached, 1 for an error answer), JSON parsing
 * of answers, and percent-encoding of path and query parts. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void hs_err(const char *fmt, ...)
{
    va_list ap;
    fputs("hearsay: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int hs_timeout(int dflt)
{
    return g_cli.timeout_ms >= 0 ? g_cli.timeout_ms : dflt;
}

void hs_http_error_message(const hs_http_response *resp, char *out, size_t cap)
{
    json_t *j = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *msg = j ? hs_jstr(j, "error", NULL) : NULL;
    if (msg && *msg)
        hs_safe_copy(out, cap, msg);
    else {
        char first[200] = "";
        if (resp->body && resp->body_len) {
            size_t n = strcspn(resp->body, "\r\n");
            if (n >= sizeof first) n = sizeof first - 1;
            char tmp[200];
            memcpy(tmp, resp->body, n);
            tmp[n] = '\0';
            hs_safe_copy(first, sizeof first, tmp);
        }
        snprintf(out, cap, "agent answered HTTP %d%s%s", resp->status, first[0] ? ": " : "", first);
    }
    json_decref(j);
}

int hs_api_quiet(const char *method, const char *target, int timeout_ms, hs_http_response *resp,
                 char *err, size_t errlen)
{
    hs_http_request req = {.socket_path = g_cli.socket_path,
                           .method = method,
                           .target = target,
                           .timeout_ms = timeout_ms};
    int rc = hs_http_do(&req, resp, err, errlen);
    if (rc) return rc;
    if (resp->status >= 300 || resp->status < 200) {
        hs_http_error_message(resp, err, errlen);
        return 1;
    }
    return 0;
}

int hs_api(const char *method, const char *target, const char *content_type, const char *body,
           size_t body_len, int timeout_ms, hs_http_response *resp)
{
    char err[512];
    hs_http_request req = {.socket_path = g_cli.socket_path,
                           .method = method,
                           .target = target,
                           .content_type = content_type,
                           .body = body,
                           .body_len = body_len,
                           .timeout_ms = timeout_ms};
    int rc = hs_http_do(&req, resp, err, sizeof err);
    if (rc == HS_HTTP_ECONNECT) {
        hs_err("cannot reach agent at %s: %s", g_cli.socket_path, err);
        return EXIT_UNREACHABLE;
    }
    if (rc == HS_HTTP_EINTERRUPT) return 130;
    if (rc) {
        hs_err("agent at %s: %s", g_cli.socket_path, err);
        return EXIT_ERROR;
    }
    if (resp->status >= 300 || resp->status < 200) {
        hs_http_error_message(resp, err, sizeof err);
        hs_err("%s", err);
        hs_http_response_free(resp);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

json_t *hs_parse_body(const hs_http_response *resp)
{
    json_error_t e;
    json_t *j = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &e);
    if (!j || !json_is_object(j)) {
        char msg[160];
        hs_safe_copy(msg, sizeof msg, j ? "not a JSON object" : e.text);
        hs_err("bad answer from agent: %s", msg);
        json_decref(j);
        return NULL;
    }
    return j;
}

void hs_print_raw(const hs_http_response *resp)
{
    if (resp->body_len) fwrite(resp->body, 1, resp->body_len, stdout);
    if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n') putchar('\n');
}

int hs_urlencode_append(char *buf, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(buf);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        size_t need = plain ? 1 : 3;
        if (n + need + 1 > cap) return -1;
        if (plain)
            buf[n++] = (char)*p;
        else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        }
    }
    buf[n] = '\0';
    return 0;
}
