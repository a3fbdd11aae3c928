/* cmd_query.c: "hearsay query NAME [PAYLOAD | -] [--node NAME]... [--tag K=REGEX]... [--timeout
 * SEC] [--json]": asks the matching members (hs_client_query), prints each answer as it arrives
 * (--json: one object at the end) and returns as soon as every targeted live member answered
 * or declined, or at the timeout. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_NODE = 1, OPT_TAG };
static const hcli_opt opts[] = {
    {"json", 0, false, HCLI_JSON},
    {"node", 0, true, OPT_NODE},
    {"tag", 0, true, OPT_TAG},
    {NULL, 0, false, 0},
};

typedef struct collect {
    hcli_answer *a;
    size_t n, cap;
    bool failed;
} collect;

static int on_reply(const hs_client_query_reply *r, void *ctx)
{
    collect *k = ctx;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        hcli_answer *a = realloc(k->a, cap * sizeof *a);
        if (!a) return 1;
        k->a = a;
        k->cap = cap;
    }
    hcli_answer *x = &k->a[k->n];
    x->from = strdup(r->from);
    x->payload = malloc(r->payload_len + 1);
    if (!x->from || !x->payload) {
        free(x->from);
        free(x->payload);
        return 1;
    }
    memcpy(x->payload, r->payload, r->payload_len);
    x->payload[r->payload_len] = '\0';
    x->len = r->payload_len;
    x->ms = r->elapsed_ms;
    x->response = r->response;
    k->n++;
    if (!g_cli.json && r->response) {
        hcli_show_answer(x);
        k->failed |= fflush(stdout) != 0;
    }
    return k->failed;
}

static int run(int argc, char **argv)
{
    hcli_args a;
    hcli_args_init(&a, &hcli_query, argc, argv);
    const char **nodes = calloc((size_t)argc, sizeof *nodes),
               **tags = calloc((size_t)argc, sizeof *tags);
    hs_client_query_params p = {nodes, 0, tags, 0, 0};
    const char *name = NULL, *payload = NULL;
    if (!nodes || !tags) a.exit = EXIT_ERROR;
    for (int id; (id = hcli_args_next(&a, opts)) != HCLI_END;) {
        if (id == OPT_NODE)
            nodes[p.n_nodes++] = a.arg;
        else if (id == OPT_TAG && !strchr(a.arg, '='))
            hcli_args_fail(&a, "--tag needs KEY=REGEX, not '%s'", a.arg);
        else if (id == OPT_TAG)
            tags[p.n_tags++] = a.arg;
        else if (!name)
            name = a.arg;
        else if (!payload)
            payload = a.arg;
        else
            hcli_args_fail(&a, "unexpected argument '%s'", a.arg);
    }
    if (a.exit < 0 && !name) hcli_args_fail(&a, "missing the query name");
    int rc = a.exit >= 0 ? a.exit : EXIT_OK;
    uint8_t *data = NULL;
    const void *bytes = NULL;
    size_t len = 0;
    if (a.exit < 0 && hcli_payload(payload, &data, &bytes, &len) != 0) rc = EXIT_ERROR;
    /* --timeout is the query's (the agent's default otherwise: 10 s) */
    if (g_cli.timeout_ms > 300000) g_cli.timeout_ms = 300000;
    p.timeout_ms = g_cli.timeout_ms > 0 ? g_cli.timeout_ms : 0;
    hs_client *c = a.exit < 0 && !rc ? hcli_open(HS_CLIENT_DEFAULT_TIMEOUT_MS) : NULL;
    if (a.exit < 0 && !rc && !c) rc = EXIT_ERROR;
    if (c) {
        hs_client_set_timeout(c, HS_CLIENT_DEFAULT_TIMEOUT_MS);
        collect k = {0};
        hs_client_query_result *r = NULL;
        rc = hs_client_query(c, name, bytes, len, &p, on_reply, &k, &r);
        if (rc == HS_CLIENT_OK)
            hcli_show_query(k.a, k.n, r);
        else
            rc = hcli_fail(c, rc);
        for (size_t i = 0; i < k.n; i++) {
            free(k.a[i].from);
            free(k.a[i].payload);
        }
        free(k.a);
        hs_client_free(r);
        hs_client_close(c);
    }
    free(data);
    free(nodes);
    free(tags);
    return rc;
}

const hcli_command hcli_query = {
    "query", "ask members a question and print their answers",
    "Usage: hearsay query NAME [PAYLOAD | -] [--node NAME]... [--tag KEY=REGEX]...\n"
    "                     [--timeout SEC] [--json]\n"
    "\n"
    "Asks every member that matches the filters (POST /v1/query/NAME): each runs its\n"
    "query:NAME handler once with PAYLOAD (the argument, or standard input with -; at most\n"
    "8192 bytes) on standard input, and its output is the answer. Prints each answer as it\n"
    "arrives (NAME: line) and returns as soon as every targeted live member answered (or\n"
    "declined: no handler), or at the timeout; a summary goes to standard error.\n"
    "\n"
    "      --node NAME       ask only this member (repeatable)\n"
    "      --tag KEY=REGEX   ask only members whose tag KEY matches the POSIX extended\n"
    "                        expression (unanchored; repeatable: all must match)\n"
    "      --timeout SEC     stop waiting after SEC seconds (default 10, at most 300)\n"
    "      --json            one object at the end: {\"acks\":[NAME...],\"responses\":\n"
    "                        {NAME:PAYLOAD...},\"elapsed_ms\":{NAME:MS...},...}\n"
    "      --socket PATH     agent API socket\n",
    run, 0};
