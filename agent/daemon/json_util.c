/* json_util.c: builds the JSON objects of docs/api.md (MEMBER, tags, RAFT). */
#include "json_util.h"
#include "hearsay/cluster_config.h"
#include "hearsay/raft.h"

#include <stdlib.h>
#include <string.h>

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

json_t *hsd_json_raft(const hsd *d)
{
    json_t *o = json_object();
    hs_raft *r = hsd_raft_node(d);
    const char *leader = hsd_sync_leader(d);
    json_object_set_new(o, "state",
                        json_string(r ? hs_raft_role_name(hs_raft_get_role(r)) : "none"));
    json_object_set_new(o, "leader", leader ? hsd_json_str(leader) : json_null());
    json_object_set_new(o, "term", json_integer(r ? (json_int_t)hs_raft_term(r) : 0));
    json_object_set_new(o, "commit", json_integer(r ? (json_int_t)hs_raft_commit(r) : 0));
    json_object_set_new(o, "applied", json_integer((json_int_t)hsd_raft_applied(d)));
    json_object_set_new(o, "config_version", json_integer(d->cc ? (json_int_t)d->cc->version : 0));
    json_t *seeds = json_array();
    if (r) {
        const hs_raft_conf *c = hs_raft_get_conf(r);
        for (uint32_t i = 0; i < c->n; i++)
            json_array_append_new(seeds, hsd_json_str(c->peers[i].name));
    } else if (d->cc && d->cc->n_seeds) {
        for (uint32_t i = 0; i < d->cc->n_seeds; i++)
            json_array_append_new(seeds, hsd_json_str(d->cc->seeds[i].name));
    } else {
        for (size_t i = 0; i < d->opt.seed_count; i++)
            json_array_append_new(seeds, hsd_json_str(d->opt.seeds[i].name));
    }
    json_object_set_new(o, "seeds", seeds);
    if (r) {
        json_object_set_new(o, "last_index", json_integer((json_int_t)hs_raft_last_index(r)));
        json_object_set_new(o, "first_index", json_integer((json_int_t)hs_raft_first_index(r)));
        json_object_set_new(o, "recovering", json_boolean(hs_raft_recovering(r)));
    }
    return o;
}
