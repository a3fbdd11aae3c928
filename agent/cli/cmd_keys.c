/* cmd_keys.c: "hearsay keys list|install|use|remove": the cluster key ring and its rotation
 * (GET /v1/keys?members=1, POST /v1/keys/install|use|remove). A change returns once it is
 * committed through the Raft group and every alive member holds the new ring; if some do not
 * by --wait, it names them and exits 1 (the change stays committed; run the step again to
 * wait more). Keys are shown by id (the first 4 bytes of their BLAKE2b-256 hash, hex), never
 * in full. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 1, OPT_FILE, OPT_WAIT, OPT_LOCAL };
static const hs_opt opts[] = {
    {"json", 0, false, OPT_JSON},   {"file", 'f', true, OPT_FILE}, {"wait", 'w', true, OPT_WAIT},
    {"local", 0, false, OPT_LOCAL}, {NULL, 0, false, 0},
};

#define KEY_TEXT_MAX 128

/* Reads the first key line (not blank, not a '#' comment) of a file, or of stdin for "-". */
static int read_key(const char *path, char *out, size_t cap)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        hs_err("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    int rc = -1;
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t\r\n");
        if (!*p || *p == '#') continue;
        p[strcspn(p, " \t\r\n")] = '\0';
        if (strlen(p) < cap) {
            strcpy(out, p);
            rc = 0;
        }
        break;
    }
    if (f != stdin) fclose(f);
    memset(line, 0, sizeof line);
    if (rc) hs_err("%s holds no key", path);
    return rc;
}

static int print_list(json_t *j)
{
    json_t *keys = json_object_get(j, "keys"), *by_key = json_object_get(j, "by_key");
    long long members = hs_jint(j, "members", 0), answered = hs_jint(j, "answered", 0);
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        printf("the cluster configuration holds no key ring%s\n",
               json_is_true(json_object_get(j, "insecure")) ? " (this agent runs insecure)" : "");
        return EXIT_OK;
    }
    printf("%-10s %-8s %s\n", "KEY", "PRIMARY", by_key ? "INSTALLED ON" : "");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *id = json_string_value(k);
        if (!id) continue;
        json_t *e = by_key ? json_object_get(by_key, id) : NULL;
        printf("%-10s %-8s", id, i == 0 ? "yes" : "");
        if (by_key) printf(" %lld/%lld", e ? hs_jint(e, "installed", 0) : 0, members);
        putchar('\n');
    }
    json_t *silent = json_object_get(j, "silent");
    if (by_key && answered < members && json_is_array(silent)) {
        printf("no answer from %lld member(s):", members - answered);
        json_array_foreach(silent, i, k)
        {
            putchar(' ');
            hs_put_json(stdout, k);
        }
        putchar('\n');
    }
    return EXIT_OK;
}

static int list(bool local, bool json)
{
    hs_client_response resp;
    int rc = hs_api("GET", local ? "/v1/keys" : "/v1/keys?members=1", NULL, NULL, 0,
                    hs_timeout(HS_TIMEOUT_DEFAULT), &resp);
    if (rc) return rc;
    if (json) {
        hs_print_raw(&resp);
    } else {
        json_t *j = hs_parse_body(&resp);
        rc = j ? print_list(j) : EXIT_ERROR;
        json_decref(j);
    }
    hs_client_response_free(&resp);
    return rc;
}

static int change(const char *action, const char *key, long wait_s, bool json)
{
    char target[64];
    snprintf(target, sizeof target, "/v1/keys/%s?wait_ms=%ld", action, wait_s * 1000);
    json_t *body = json_pack("{s:s}", "key", key);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return EXIT_ERROR;
    hs_client_response resp;
    int rc = hs_api("POST", target, "application/json", text, strlen(text),
                    hs_timeout(HS_TIMEOUT_COMMIT + (int)wait_s * 1000), &resp);
    memset(text, 0, strlen(text));
    free(text);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j) {
        rc = EXIT_ERROR;
    } else {
        json_t *pending = json_object_get(j, "pending");
        size_t npend = json_is_array(pending) ? json_array_size(pending) : 0;
        if (json) {
            hs_print_raw(&resp);
        } else {
            char id[32];
            hs_safe_copy(id, sizeof id, hs_jstr(j, "key", "?"));
            printf("%s key %s: committed (configuration version %lld), held by %lld/%lld "
                   "members\n",
                   action, id, hs_jint(j, "committed_version", 0), hs_jint(j, "acknowledged", 0),
                   hs_jint(j, "members", 0));
        }
        if (npend) {
            fprintf(stderr, "hearsay: not yet acknowledged by %zu member(s):", npend);
            size_t i;
            json_t *p;
            json_array_foreach(pending, i, p)
            {
                fputc(' ', stderr);
                hs_put_json(stderr, p);
            }
            fputc('\n', stderr);
            rc = EXIT_ERROR;
        }
    }
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}

static int run(int argc, char **argv)
{
    hs_args a;
    hs_args_init(&a, argc, argv);
    int o, rc = -1;
    bool json = false, local = false;
    long wait_s = 10;
    const char *action = NULL, *key = NULL, *file = NULL;
    while (rc < 0 && (o = hs_args_next(&a, &hs_cmd_keys, opts)) != HS_OPT_END) {
        if (o == HS_OPT_ERROR)
            rc = EXIT_USAGE;
        else if (o == HS_OPT_HELP)
            rc = hs_usage(&hs_cmd_keys);
        else if (o == OPT_JSON)
            json = true;
        else if (o == OPT_LOCAL)
            local = true;
        else if (o == OPT_FILE)
            file = a.arg;
        else if (o == OPT_WAIT) {
            wait_s = hs_parse_count(&hs_cmd_keys, "--wait", a.arg);
            if (wait_s < 0) rc = EXIT_USAGE;
            if (wait_s > 25) rc = hs_usage_error(&hs_cmd_keys, "--wait is at most 25 seconds");
        } else if (!action) {
            action = a.arg;
        } else if (!key) {
            key = a.arg;
        } else {
            rc = hs_usage_error(&hs_cmd_keys, "unexpected argument '%s'", a.arg);
        }
    }
    if (rc >= 0) return rc;
    if (!action)
        return hs_usage_error(&hs_cmd_keys, "missing action: list, install, use or remove");
    if (!strcmp(action, "list")) {
        if (key || file) return hs_usage_error(&hs_cmd_keys, "list takes no key");
        return list(local, json);
    }
    if (strcmp(action, "install") && strcmp(action, "use") && strcmp(action, "remove"))
        return hs_usage_error(&hs_cmd_keys, "unknown action '%s'", action);
    if (!!key + !!file != 1)
        return hs_usage_error(&hs_cmd_keys, "give the key, or --file FILE (- for stdin)");
    char text[KEY_TEXT_MAX];
    if (file || !strcmp(key, "-")) {
        if (read_key(file ? file : "-", text, sizeof text) != 0) return EXIT_ERROR;
    } else if (strlen(key) < sizeof text) {
        strcpy(text, key);
    } else {
        return hs_usage_error(&hs_cmd_keys, "the key is too long");
    }
    rc = change(action, text, wait_s, json);
    memset(text, 0, sizeof text);
    return rc;
}

const hs_command hs_cmd_keys = {
    "keys", "list and rotate the cluster key ring",
    "Usage: hearsay keys list [--local] [--json]\n"
    "       hearsay keys install|use|remove (KEY | --file FILE | -) [--wait SECONDS] [--json]\n"
    "\n"
    "The key ring is part of the cluster configuration the seeds replicate with Raft; every\n"
    "agent seals with its primary key and opens with any key of it. Rotate in three steps,\n"
    "each committed and then acknowledged by every alive member before it returns:\n"
    "  hearsay keygen -o new.key\n"
    "  hearsay keys install --file new.key   # every member now accepts the new key\n"
    "  hearsay keys use --file new.key       # every member now seals with it\n"
    "  hearsay keys remove --file old.key    # the old key is refused from now on\n"
    "\n"
    "  list            the ring by key id, and on how many members each key is installed\n"
    "  install KEY     add a key to the ring (accepted when opening)\n"
    "  use KEY         make an installed key the primary (the one that seals)\n"
    "  remove KEY      remove a key that is not the primary\n"
    "\n"
    "  -f, --file FILE read the key from FILE ('-': standard input); a key given as an\n"
    "                  argument is visible to other local users in the process list\n"
    "  -w, --wait SECONDS\n"
    "                  how long to wait for every member to acknowledge (default 10, max 25);\n"
    "                  members that have not by then are named and the exit code is 1\n"
    "      --local     list: only this agent's view, without asking the members\n"
    "      --json      print the API's JSON answer\n"
    "      --socket PATH     agent API socket\n"
    "\n"
    "Exit codes: 0 done, 1 refused or not acknowledged by every member, 2 agent unreachable\n"
    "or usage error. Changing the ring needs uid 0 or the agent's admin group.\n",
    run};
