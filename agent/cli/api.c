/* api.c: calling the agent's HTTP API from a subcommand through libhearsay's raw request:
 * error reporting with the exit codes of the contract (2 when the agent cannot be reached,
 * 1 for an error answer) and JSON parsing of answers. */
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

volatile sig_atomic_t hs_http_interrupted;

int hs_api_raw(const char *method, const char *target, const char *content_type, const char *body,
               size_t body_len, int timeout_ms, hs_client_response *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    hs_client *c = hs_client_open(g_cli.socket_path);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return HS_CLIENT_ENOMEM;
    }
    hs_client_set_timeout(c, timeout_ms);
    hs_client_set_interrupt(c, &hs_http_interrupted);
    int rc = hs_client_request_ex(c, method, target, content_type, body, body_len, resp);
    if (rc) snprintf(err, errlen, "%s", hs_client_last_error(c));
    hs_client_close(c);
    return rc;
}

int hs_api_quiet(const char *method, const char *target, int timeout_ms, hs_client_response *resp,
                 char *err, size_t errlen)
{
    int rc = hs_api_raw(method, target, NULL, NULL, 0, timeout_ms, resp, err, errlen);
    if (rc) return rc;
    if (resp->status >= 300 || resp->status < 200) {
        hs_client_response_message(resp, err, errlen);
        return 1;
    }
    return 0;
}

int hs_api(const char *method, const char *target, const char *content_type, const char *body,
           size_t body_len, int timeout_ms, hs_client_response *resp)
{
    char err[512];
    int rc =
        hs_api_raw(method, target, content_type, body, body_len, timeout_ms, resp, err, sizeof err);
    if (rc == HS_CLIENT_ECONNECT) {
        hs_err("cannot reach agent at %s: %s", g_cli.socket_path, err);
        return EXIT_UNREACHABLE;
    }
    if (rc == HS_CLIENT_EINTR) return 130;
    if (rc) {
        hs_err("agent at %s: %s", g_cli.socket_path, err);
        return EXIT_ERROR;
    }
    if (resp->status >= 300 || resp->status < 200) {
        hs_client_response_message(resp, err, sizeof err);
        hs_err("%s", err);
        hs_client_response_free(resp);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

json_t *hs_parse_body(const hs_client_response *resp)
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

void hs_print_raw(const hs_client_response *resp)
{
    if (resp->body_len) fwrite(resp->body, 1, resp->body_len, stdout);
    if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n') putchar('\n');
}
