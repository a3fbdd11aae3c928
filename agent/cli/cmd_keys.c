/* cmd_keys.c: "hearsay keys list|install|use|remove|rotate": the cluster key ring and its
 * rotation (hs_client_keys with the members' survey, hs_client_keys_change). A change returns
 * once it is committed through the Raft group and every alive member holds the new ring; if
 * some do not by --wait, it names them and exits 1 (the change stays committed; run the step
 * again to wait more). rotate runs the three steps as one operation. Keys are shown by id (the
 * first 4 bytes of their BLAKE2b-256 hash, hex), never in full. */
#include "cli.h"

#include <errno.h>
#include <string.h>

enum { OPT_FILE = 1, OPT_WAIT, OPT_LOCAL };
static const hcli_opt opts[] = {
    {"json", 0, false, HCLI_JSON},  {"file", 'f', true, OPT_FILE}, {"wait", 'w', true, OPT_WAIT},
    {"local", 0, false, OPT_LOCAL}, {NULL, 0, false, 0},
};

#define KEY_TEXT_MAX 128

/* Reads the first key line (not blank, not a '#' comment) of a file, or of stdin for "-". */
static int read_key(const char *path, char *out, size_t cap)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        hcli_err("cannot open %s: %s", path, strerror(errno));
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
    if (rc) hcli_err("%s holds no key", path);
    return rc;
}

static int list(bool local)
{
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_keys_info *k;
    int rc = hs_client_keys(c, local ? 0 : HS_CLIENT_KEYS_SURVEY, &k);
    if (rc == HS_CLIENT_OK) hcli_show_keys(c, k);
    rc = rc ? hcli_fail(c, rc) : EXIT_OK;
    hs_client_free(k);
    hs_client_close(c);
    return rc;
}

static int change(hs_client_key_op op, const char *key, long wait_s)
{
    hs_client *c = hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS);
    if (!c) return EXIT_ERROR;
    hs_client_key_change *k;
    int rc = hs_client_keys_change(c, op, key, (int)wait_s * 1000, &k);
    if (rc == HS_CLIENT_OK) hcli_show_key_change(c, k);
    if (rc == HS_CLIENT_OK && k->n_pending) {
        fprintf(stderr, "hearsay: not yet acknowledged by %zu member(s):", k->n_pending);
        hcli_put_names(stderr, k->pending, k->n_pending);
        fputc('\n', stderr);
    }
    rc = rc ? hcli_fail(c, rc) : k->n_pending || !k->done ? EXIT_ERROR : EXIT_OK;
    hs_client_free(k);
    hs_client_close(c);
    return rc;
}

static int run(int argc, char **argv)
{
    static const char *const ops[] = {NULL, "install", "use", "remove", "rotate"};
    hcli_args a;
    hcli_args_init(&a, &hcli_keys, argc, argv);
    int o, op = 0;
    bool local = false;
    long wait_s = 10;
    const char *action = NULL, *key = NULL, *file = NULL;
    while ((o = hcli_args_next(&a, opts)) != HCLI_END) {
        if (o == OPT_LOCAL)
            local = true;
        else if (o == OPT_FILE)
            file = a.arg;
        else if (o == OPT_WAIT && (wait_s = hcli_count(&a, "--wait")) > 25)
            hcli_args_fail(&a, "--wait is at most 25 seconds");
        else if (o == HCLI_POSITIONAL && !action)
            action = a.arg;
        else if (o == HCLI_POSITIONAL && !key)
            key = a.arg;
        else if (o == HCLI_POSITIONAL)
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
    }
    if (a.exit >= 0) return a.exit;
    if (!action)
        return hcli_usage_error(&hcli_keys, "missing action: list, install, use, remove or rotate");
    if (!strcmp(action, "list")) {
        if (key || file) return hcli_usage_error(&hcli_keys, "list takes no key");
        return list(local);
    }
    for (int i = HS_CLIENT_KEY_INSTALL; i <= HS_CLIENT_KEY_ROTATE; i++)
        if (!strcmp(action, ops[i])) op = i;
    if (!op) return hcli_usage_error(&hcli_keys, "unknown action '%s'", action);
    if (!!key + !!file != 1)
        return hcli_usage_error(&hcli_keys, "give the key, or --file FILE (- for stdin)");
    char text[KEY_TEXT_MAX];
    if (file || !strcmp(key, "-")) {
        if (read_key(file ? file : "-", text, sizeof text) != 0) return EXIT_ERROR;
    } else if (strlen(key) < sizeof text) {
        strcpy(text, key);
    } else {
        return hcli_usage_error(&hcli_keys, "the key is too long");
    }
    int rc = change((hs_client_key_op)op, text, wait_s);
    memset(text, 0, sizeof text);
    return rc;
}

const hcli_command hcli_keys = {
    "keys", "list and rotate the cluster key ring",
    "Usage: hearsay keys list [--local] [--json]\n"
    "       hearsay keys install|use|remove|rotate (KEY | --file FILE | -) [--wait SECONDS]\n"
    "                 [--json]\n"
    "\n"
    "The key ring is part of the cluster configuration the seeds replicate with Raft; every\n"
    "agent seals with its primary key and opens with any key of it. Rotate in three steps,\n"
    "each committed and then acknowledged by every alive member before it returns:\n"
    "  hearsay keygen -o new.key\n"
    "  hearsay keys install --file new.key   # every member now accepts the new key\n"
    "  hearsay keys use --file new.key       # every member now seals with it\n"
    "  hearsay keys remove --file old.key    # the old key is refused from now on\n"
    "or in one: hearsay keys rotate --file new.key (each step acknowledged before the next;\n"
    "every other key of the ring is removed at the end).\n"
    "\n"
    "  list            the ring by key id, and on how many members each key is installed\n"
    "  install KEY     add a key to the ring (accepted when opening)\n"
    "  use KEY         make an installed key the primary (the one that seals)\n"
    "  remove KEY      remove a key that is not the primary\n"
    "  rotate KEY      install, use, then remove every other key (each step acknowledged)\n"
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
    run, 0};
