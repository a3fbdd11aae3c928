/* cmd_raft_seeds.c: "hearsay raft add-seed NAME HOST:PORT" and "hearsay raft remove-seed
 * NAME": one-at-a-time changes of the Raft seed set (POST /v1/raft/add-seed|remove-seed),
 * which return once the change is committed. Called from cmd_raft.c. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "hearsay/addr.h"

int hs_raft_seed_change(const char *op, const char *name, const char *addr, bool json)
{
    hs_addr parsed;
    if (addr && hs_addr_parse(&parsed, addr, 0) != 0)
        return hs_usage_error(&hs_cmd_raft, "bad address '%s' (want HOST:PORT)", addr);
    json_t *body = json_object();
    json_object_set_new(body, "name", json_string(name));
    if (addr) json_object_set_new(body, "addr", json_string(addr));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        hs_err("out of memory");
        return EXIT_ERROR;
    }
    char target[64];
    snprintf(target, sizeof target, "/v1/raft/%s", op);
    hs_client_response resp;
    int rc = hs_api("POST", target, "application/json", text, strlen(text),
                    hs_timeout(HS_TIMEOUT_COMMIT), &resp);
    free(text);
    if (rc) return rc;
    json_t *j = hs_parse_body(&resp);
    if (!j) {
        rc = EXIT_ERROR;
    } else if (json) {
        hs_print_raw(&resp);
    } else {
        printf("%s %s: committed, configuration version %lld\n", op, name,
               hs_jint(j, "version", 0));
    }
    json_decref(j);
    hs_client_response_free(&resp);
    return rc;
}
