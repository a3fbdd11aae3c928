/* libhearsay_probe.c: a small program built only against libhearsay's public header
 * <hearsay/client.h>, used by tests/integration/test_libhearsay.py (linked with the build's
 * libhearsay.so) and by tests/packaging/build_deb.sh (compiled with
 * `cc ... $(pkg-config --cflags --libs hearsay)` against the installed libhearsay-dev).
 * It doubles as an example of every typed call.
 *
 *   libhearsay_probe SOCKET members [STATUS [KEY=VALUE...]]   one "name status addr k=v,..."
 *   libhearsay_probe SOCKET counts | self | health | raft
 *   libhearsay_probe SOCKET tags-set KEY VALUE | tags-delete KEY
 *   libhearsay_probe SOCKET config-get KEY [consistent] | config-set KEY VALUE
 *   libhearsay_probe SOCKET events SINCE N           print N events (id type name), stop
 *   libhearsay_probe SOCKET raw METHOD PATH [BODY]   "status N" and the body
 *   libhearsay_probe SOCKET members-json             the members answer as the agent sent it
 *   libhearsay_probe SOCKET metrics                  "metrics BYTES" and the text
 *   libhearsay_probe SOCKET keys [survey] | keys-change install|use|remove KEY WAIT_MS
 *   libhearsay_probe SOCKET seed-add NAME ADDR | seed-remove NAME
 *
 * SOCKET "-" means the default ($HEARSAY_SOCKET or /run/hearsay/api.sock). Exit status 0,
 * or 1 after printing "error CODE: strerror: detail" (2 when the agent is unreachable). */
#include <hearsay/client.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(hs_client *c, int rc)
{
    printf("error %d: %s: %s (HTTP %d)\n", rc, hs_client_strerror(rc), hs_client_last_error(c),
           hs_client_last_status(c));
    return rc == HS_CLIENT_ECONNECT ? 2 : 1;
}

static void print_member(const hs_client_member *m)
{
    printf("%s %s %s ", m->name, hs_client_status_name(m->status), m->addr);
    for (size_t i = 0; i < m->n_tags; i++)
        printf("%s%s=%s", i ? "," : "", m->tags[i].key, m->tags[i].value);
    printf("\n");
}

typedef struct events_ctx {
    int want, got;
} events_ctx;

static int on_event(const hs_client_event *ev, void *ctx)
{
    events_ctx *e = ctx;
    printf("event %" PRId64 " %s %s\n", ev->id, ev->type_name, ev->name);
    fflush(stdout);
    return ++e->got >= e->want;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: libhearsay_probe SOCKET COMMAND [ARGS...] (see the source)\n");
        return 2;
    }
    hs_client *c = hs_client_open(strcmp(argv[1], "-") == 0 ? NULL : argv[1]);
    if (!c) return 1;
    hs_client_set_timeout(c, 5000);
    const char *cmd = argv[2];
    int rc = HS_CLIENT_OK;
    if (strcmp(cmd, "members") == 0) {
        hs_client_member_list *l;
        const char *status = argc > 3 && *argv[3] ? argv[3] : NULL;
        rc = hs_client_members(c, status, argc > 4 ? (const char *const *)argv + 4 : NULL, &l);
        if (rc == HS_CLIENT_OK) {
            for (size_t i = 0; i < l->count; i++) print_member(&l->members[i]);
            printf("count %zu\n", l->count);
            hs_client_free(l);
        }
    } else if (strcmp(cmd, "counts") == 0) {
        hs_client_counts k;
        rc = hs_client_count_members(c, &k);
        if (rc == HS_CLIENT_OK)
            printf("total %zu alive %zu suspect %zu failed %zu left %zu\n", k.total, k.alive,
                   k.suspect, k.failed, k.left);
    } else if (strcmp(cmd, "self") == 0) {
        hs_client_self_info *s;
        rc = hs_client_self(c, &s);
        if (rc == HS_CLIENT_OK) {
            print_member(&s->member);
            printf("uptime_ms %" PRIu64 " msgs_in %" PRId64 " stats %zu\n", s->uptime_ms,
                   hs_client_self_stat(s, "msgs_in", -1), s->n_stats);
            hs_client_free(s);
        }
    } else if (strcmp(cmd, "health") == 0) {
        hs_client_health_info *h;
        rc = hs_client_health(c, &h);
        if (rc == HS_CLIENT_OK) {
            printf("status %s ok %d insecure %d members %" PRIu64 " alive %" PRIu64
                   " raft %s leader %s\n",
                   h->status, h->ok, h->insecure, h->members, h->alive, h->raft.state,
                   h->raft.leader ? h->raft.leader : "-");
            hs_client_free(h);
        }
    } else if (strcmp(cmd, "raft") == 0) {
        hs_client_raft_info *r;
        rc = hs_client_raft(c, &r);
        if (rc == HS_CLIENT_OK) {
            printf("state %s leader %s term %" PRIu64 " seeds", r->state,
                   r->leader ? r->leader : "-", r->term);
            for (size_t i = 0; i < r->n_seeds; i++) printf(" %s", r->seeds[i]);
            printf("\n");
            hs_client_free(r);
        }
    } else if (strcmp(cmd, "tags-set") == 0 && argc == 5) {
        rc = hs_client_tags_set(c, argv[3], argv[4]);
        if (rc == HS_CLIENT_OK) printf("tags set\n");
    } else if (strcmp(cmd, "tags-delete") == 0 && argc == 4) {
        hs_client_tag_list *t;
        const char *key = argv[3];
        rc = hs_client_tags_update(c, NULL, 0, &key, 1, &t);
        if (rc == HS_CLIENT_OK) {
            for (size_t i = 0; i < t->count; i++)
                printf("tag %s=%s\n", t->tags[i].key, t->tags[i].value);
            hs_client_free(t);
        }
    } else if (strcmp(cmd, "config-get") == 0 && argc >= 4) {
        hs_client_config_entry *e;
        int flags = argc > 4 && strcmp(argv[4], "consistent") == 0 ? HS_CLIENT_CONSISTENT : 0;
        rc = hs_client_config_get(c, argv[3], flags, &e);
        if (rc == HS_CLIENT_OK) {
            printf("config %s=%s version %" PRIu64 "\n", e->key, e->value, e->version);
            hs_client_free(e);
        }
    } else if (strcmp(cmd, "config-set") == 0 && argc == 5) {
        uint64_t version;
        rc = hs_client_config_set(c, argv[3], argv[4], &version);
        if (rc == HS_CLIENT_OK) printf("committed version %" PRIu64 "\n", version);
    } else if (strcmp(cmd, "events") == 0 && argc == 5) {
        events_ctx e = {atoi(argv[4]), 0};
        rc = hs_client_events(c, strtoll(argv[3], NULL, 10), on_event, &e);
        if (rc == HS_CLIENT_ESTOPPED) rc = HS_CLIENT_OK;
    } else if (strcmp(cmd, "members-json") == 0) {
        hs_client_member_list *l;
        rc = hs_client_members(c, NULL, NULL, &l);
        if (rc == HS_CLIENT_OK) {
            size_t len;
            const char *body = hs_client_last_body(c, &len);
            printf("%s\n", body);
            hs_client_free(l);
        }
    } else if (strcmp(cmd, "metrics") == 0) {
        const char *text;
        size_t len;
        rc = hs_client_metrics(c, &text, &len);
        if (rc == HS_CLIENT_OK) printf("metrics %zu\n%s", len, text);
    } else if (strcmp(cmd, "keys") == 0) {
        hs_client_keys_info *k;
        rc = hs_client_keys(c, argc > 3 ? HS_CLIENT_KEYS_SURVEY : 0, &k);
        if (rc == HS_CLIENT_OK) {
            printf("keys %zu primary %s local %zu surveyed %d members %" PRIu64 " answered %" PRIu64
                   "\n",
                   k->n_keys, k->primary ? k->primary : "-", k->n_local, k->surveyed, k->members,
                   k->answered);
            for (size_t i = 0; i < k->n_keys; i++)
                printf("key %s installed %" PRIu64 " primary %" PRIu64 "\n", k->keys[i].id,
                       k->keys[i].installed, k->keys[i].primary);
            hs_client_free(k);
        }
    } else if (strcmp(cmd, "keys-change") == 0 && argc == 6) {
        hs_client_key_change *k;
        hs_client_key_op op = strcmp(argv[3], "install") == 0 ? HS_CLIENT_KEY_INSTALL
                              : strcmp(argv[3], "use") == 0   ? HS_CLIENT_KEY_USE
                                                              : HS_CLIENT_KEY_REMOVE;
        rc = hs_client_keys_change(c, op, argv[4], atoi(argv[5]), &k);
        if (rc == HS_CLIENT_OK) {
            printf("change %s %s committed %" PRIu64 " acknowledged %" PRIu64 "/%" PRIu64
                   " pending %zu\n",
                   k->op, k->key, k->committed_version, k->acknowledged, k->members, k->n_pending);
            hs_client_free(k);
        }
    } else if ((strcmp(cmd, "seed-add") == 0 && argc == 5) ||
               (strcmp(cmd, "seed-remove") == 0 && argc == 4)) {
        uint64_t version;
        rc = argc == 5 ? hs_client_raft_add_seed(c, argv[3], argv[4], &version)
                       : hs_client_raft_remove_seed(c, argv[3], &version);
        if (rc == HS_CLIENT_OK) printf("committed version %" PRIu64 "\n", version);
    } else if (strcmp(cmd, "raw") == 0 && argc >= 5) {
        hs_client_response r;
        rc = hs_client_request(c, argv[3], argv[4], argc > 5 ? argv[5] : NULL, &r);
        if (rc == HS_CLIENT_OK) {
            printf("status %d\n%s\n", r.status, r.body);
            hs_client_response_free(&r);
        }
    } else {
        fprintf(stderr, "libhearsay_probe: unknown command or arguments\n");
        hs_client_close(c);
        return 2;
    }
    int code = rc == HS_CLIENT_OK ? 0 : fail(c, rc);
    hs_client_close(c);
    return code;
}
