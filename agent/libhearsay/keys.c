/* keys.c: libhearsay's calls for the cluster key ring: hs_client_keys (GET /v1/keys, with
 * the members' survey) and hs_client_keys_change (install, use, remove through Raft, then
 * wait for every member), and the parsers of their answers. Keys are shown only by id. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hsc_parse_keys(const char *body, size_t len, hs_client_keys_info **out, char *err,
                   size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_keys_info *k = hsc_result_parse(body, len, sizeof *k, &doc, &rc, err, errlen);
    if (!k) return rc;
    json_t *by_key = json_object_get(doc, "by_key");
    const char **ids = hsc_strings(k, json_object_get(doc, "keys"), &k->n_keys);
    hs_client_key *keys = hsc_result_alloc(k, k->n_keys, sizeof *keys);
    k->local = hsc_strings(k, json_object_get(doc, "local"), &k->n_local);
    k->silent = hsc_strings(k, json_object_get(doc, "silent"), &k->n_silent);
    if (!ids || !keys || !k->local || !k->silent) {
        hs_client_free(k);
        return hsc_nomem(err, errlen);
    }
    for (size_t i = 0; i < k->n_keys; i++) {
        json_t *e = json_object_get(by_key, ids[i]);
        keys[i] = (hs_client_key){ids[i], hsc_ju64(e, "installed"), hsc_ju64(e, "primary")};
    }
    k->keys = keys;
    k->version = hsc_ju64(doc, "version");
    k->insecure = json_is_true(json_object_get(doc, "insecure"));
    k->primary = hsc_jstr(doc, "primary", NULL);
    k->surveyed = json_is_object(by_key);
    k->members = hsc_ju64(doc, "members");
    k->answered = hsc_ju64(doc, "answered");
    *out = k;
    return HS_CLIENT_OK;
}

int hsc_parse_key_change(const char *body, size_t len, hs_client_key_change **out, char *err,
                         size_t errlen)
{
    json_t *doc;
    int rc;
    *out = NULL;
    hs_client_key_change *k = hsc_result_parse(body, len, sizeof *k, &doc, &rc, err, errlen);
    if (!k) return rc;
    k->pending = hsc_strings(k, json_object_get(doc, "pending"), &k->n_pending);
    if (!k->pending) {
        hs_client_free(k);
        return hsc_nomem(err, errlen);
    }
    k->op = hsc_jstr(doc, "op", "");
    k->key = hsc_jstr(doc, "key", "");
    k->committed_version = hsc_ju64(doc, "committed_version");
    k->members = hsc_ju64(doc, "members");
    k->acknowledged = hsc_ju64(doc, "acknowledged");
    json_t *ok = json_object_get(doc, "ok");
    k->done = ok ? json_is_true(ok) : k->n_pending == 0;
    k->step = hsc_jstr(doc, "step", "done");
    k->reason = hsc_jstr(doc, "reason", "");
    k->removed = hsc_ju64(doc, "removed");
    *out = k;
    return HS_CLIENT_OK;
}

HS_CLIENT_API int hs_client_keys(hs_client *c, int flags, hs_client_keys_info **out)
{
    if (out) *out = NULL;
    if (!c || !out) return hsc_invalid(c, "invalid argument");
    const char *target = flags & HS_CLIENT_KEYS_SURVEY ? "/v1/keys?members=1" : "/v1/keys";
    hs_client_response r;
    int rc = hsc_call(c, "GET", target, NULL, NULL, 0, c->timeout_ms, &r);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_keys(r.body, r.body_len, out, ERRBUF(c)));
}

/* memset that the compiler may not drop. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--) *v++ = 0;
}

HS_CLIENT_API int hs_client_keys_change(hs_client *c, hs_client_key_op op, const char *key,
                                        int wait_ms, hs_client_key_change **out)
{
    static const char *const ops[] = {NULL, "install", "use", "remove", "rotate"};
    if (out) *out = NULL;
    if (!c || !out || op < HS_CLIENT_KEY_INSTALL || op > HS_CLIENT_KEY_ROTATE)
        return hsc_invalid(c, "invalid argument");
    if (wait_ms < -1 || wait_ms > 25000) return hsc_invalid(c, "wait_ms is -1 or 0..25000");
    /* The body is written here, not by jansson, so that no unwiped copy of the key is left
     * on the heap; a key is base64, so it needs no JSON escapes. */
    size_t klen = key ? strlen(key) : 0;
    for (size_t i = 0; i < klen; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e || key[i] == '"' ||
            key[i] == '\\')
            klen = 0;
    if (klen == 0 || klen > 256) return hsc_invalid(c, "a key is base64 text");
    char body[300], target[64];
    int n = snprintf(body, sizeof body, "{\"key\":\"%s\"}", key);
    snprintf(target, sizeof target, "/v1/keys/%s", ops[op]);
    if (wait_ms >= 0) snprintf(target + strlen(target), 32, "?wait_ms=%d", wait_ms);
    /* a rotation waits for four acknowledgements (the ring first, then each step) */
    int waits = op == HS_CLIENT_KEY_ROTATE ? 4 : 1;
    int timeout = c->commit_timeout_ms < 0
                      ? -1
                      : c->commit_timeout_ms * waits + waits * (wait_ms < 0 ? 10000 : wait_ms);
    hs_client_response r;
    int rc = hsc_call(c, "POST", target, "application/json", body, (size_t)n, timeout, &r);
    wipe(body, sizeof body);
    if (rc) return rc;
    return hsc_keep_body(c, &r, hsc_parse_key_change(r.body, r.body_len, out, ERRBUF(c)));
}
