/* json_util.c: builds the JSON objects of docs/api.md that several endpoints share (MEMBER,
 * tags, RAFT), so each renderer in http_*.c writes them the same way. */
#include "json_util.h"
#include "clock.h"
#include "hearsay/cluster_config.h"
#include "hearsay/raft.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

json_t *hsd_json_str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j) return j;
    /* not UTF-8: replace every byte >= 0x80 so the output stays valid JSON */
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (!t) return json_string("");
    for (size_t i = 0; i <= n; i++) t[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
    j = json_string(t);
    free(t);
    return j ? j : json_string("");
}

json_t *hsd_json_tags(hs_tags tags)
{
    json_t *o = json_object();
    size_t pos = 0;
    const char *kv;
    while ((kv = hs_tags_next(tags, &pos)) != NULL) {
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) continue;
        char key[HS_TAGS_MAX + 1];
        size_t kl = (size_t)(eq - kv);
        if (kl >= sizeof(key)) continue;
        memcpy(key, kv, kl);
        key[kl] = '\0';
        json_t *v = hsd_json_str(eq + 1);
        if (json_object_set_new(o, key, v) != 0) {
            /* key not UTF-8 */
            for (size_t i = 0; i < kl; i++)
                if ((unsigned char)key[i] >= 0x80) key[i] = '?';
            json_object_set_new(o, key, hsd_json_str(eq + 1));
        }
    }
    return o;
}

json_t *hsd_json_member(const hs_member_info *mi, uint64_t now_ms)
{
    char b[HS_ADDR_STRLEN];
    json_t *o = json_object();
    json_object_set_new(o, "name", hsd_json_str(mi->name));
    json_object_set_new(o, "addr", json_string(hs_addr_format(&mi->addr, b, sizeof(b))));
    json_object_set_new(o, "status", json_string(hs_status_name(mi->status)));
    json_object_set_new(o, "incarnation", json_integer((json_int_t)mi->incarnation));
    json_object_set_new(o, "tags", hsd_json_tags(mi->tags));
    uint64_t since = now_ms > mi->status_since_ms ? now_ms - mi->status_since_ms : 0;
    json_object_set_new(o, "status_since_ms", json_integer((json_int_t)since));
    json_object_set_new(o, "config_version", json_integer((json_int_t)mi->config_version));
    return o;
}

json_t *hsd_json_raft(const hsd_engine *e)
{
    const hs_agent *a = hsd_engine_agent(e);
    const hsd_options *opt = hsd_engine_options(e);
    const hs_cluster_config *cc = hs_agent_config(a);
    json_t *o = json_object();
    const hs_raft *r = hs_agent_raft(a);
    const char *leader = hs_agent_leader(a, hsd_now_ms());
    json_object_set_new(o, "state",
                        json_string(r ? hs_raft_role_name(hs_raft_get_role(r)) : "none"));
    json_object_set_new(o, "leader", leader ? hsd_json_str(leader) : json_null());
    json_object_set_new(o, "term", json_integer(r ? (json_int_t)hs_raft_term(r) : 0));
    json_object_set_new(o, "commit", json_integer(r ? (json_int_t)hs_raft_commit(r) : 0));
    json_object_set_new(o, "applied", json_integer((json_int_t)hs_agent_applied(a)));
    json_object_set_new(o, "config_version", json_integer((json_int_t)cc->version));
    json_t *seeds = json_array();
    if (r) {
        const hs_raft_conf *c = hs_raft_get_conf(r);
        for (uint32_t i = 0; i < c->n; i++)
            json_array_append_new(seeds, hsd_json_str(c->peers[i].name));
    } else if (cc->n_seeds) {
        for (uint32_t i = 0; i < cc->n_seeds; i++)
            json_array_append_new(seeds, hsd_json_str(cc->seeds[i].name));
    } else {
        for (size_t i = 0; i < opt->seed_count; i++)
            json_array_append_new(seeds, hsd_json_str(opt->seeds[i].name));
    }
    json_object_set_new(o, "seeds", seeds);
    if (r) {
        json_object_set_new(o, "last_index", json_integer((json_int_t)hs_raft_last_index(r)));
        json_object_set_new(o, "first_index", json_integer((json_int_t)hs_raft_first_index(r)));
        json_object_set_new(o, "recovering", json_boolean(hs_raft_recovering(r)));
    }
    return o;
}

void hsd_json_set_payload(json_t *o, const uint8_t *p, size_t len)
{
    json_t *s = json_stringn((const char *)(len ? p : (const uint8_t *)""), len);
    if (s) {
        json_object_set_new(o, "payload", s);
        return;
    }
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    if (!b64) return;
    sodium_bin2base64(b64, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
    json_object_set_new(o, "payload_base64", json_string(b64));
    free(b64);
}

/* A user event or query: who fired it, its name, id, Lamport time and payload. */
static json_t *user_event(const hs_agent_event *ev, json_t *o)
{
    char b[HS_ADDR_STRLEN];
    json_object_set_new(o, "name", hsd_json_str(ev->name));
    json_object_set_new(o, "addr", json_string(hs_addr_format(&ev->addr, b, sizeof(b))));
    json_object_set_new(o, ev->kind == HS_EVK_QUERY ? "query" : "user_event",
                        json_string(ev->user_name));
    json_object_set_new(o, "user_id", hsd_json_str(ev->user_id));
    json_object_set_new(o, "ltime", json_integer((json_int_t)ev->ltime));
    if (ev->kind == HS_EVK_USER_EVENT)
        json_object_set_new(o, "coalesce", json_boolean(ev->coalesce));
    hsd_json_set_payload(o, ev->payload, ev->payload_len);
    return o;
}

json_t *hsd_json_event(const hs_agent_event *ev, uint64_t id, uint64_t unix_ms)
{
    char b[HS_ADDR_STRLEN];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)id));
    json_object_set_new(o, "event", json_string(hs_event_kind_name(ev->kind)));
    if (hs_event_kind_fields(ev->kind) & HS_EVF_USER) {
        user_event(ev, o);
        json_object_set_new(o, "time_ms", json_integer((json_int_t)unix_ms));
        return o;
    }
    json_object_set_new(o, "name", hsd_json_str(ev->name));
    json_object_set_new(o, "addr", json_string(hs_addr_format(&ev->addr, b, sizeof(b))));
    json_object_set_new(o, "status", json_string(hs_status_name(ev->status)));
    json_object_set_new(o, "prev_status", json_string(hs_status_name(ev->prev_status)));
    json_object_set_new(o, "incarnation", json_integer((json_int_t)ev->incarnation));
    json_object_set_new(o, "tags", hsd_json_tags(ev->tags));
    if (hs_event_kind_fields(ev->kind) & HS_EVF_CONFIG)
        json_object_set_new(o, "config_version", json_integer((json_int_t)ev->config_version));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)unix_ms));
    return o;
}
