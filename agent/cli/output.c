/* output.c: the one place that knows how each answer is shown. With --json every view prints
 * the agent's answer byte for byte (the contract scripts rely on, docs/cli.md); otherwise it
 * renders libhearsay's structs as tables and lines, agent text with control characters
 * replaced (hs_client_safe_copy) so names and tags cannot drive the terminal. */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* Prints s sanitized; returns the number of bytes printed. */
static size_t put(FILE *f, const char *s)
{
    char buf[512], *d = buf;
    size_t n = strlen(s) + 1;
    if (n > sizeof buf && !(d = malloc(n))) n = sizeof buf, d = buf; /* no memory: cut */
    hs_client_safe_copy(d, n, s);
    fputs(d, f);
    n = strlen(d);
    if (d != buf) free(d);
    return n;
}

/* Prints s sanitized and padded to width. */
static void padded(const char *s, size_t width)
{
    size_t n = put(stdout, s);
    printf("%*s", n < width ? (int)(width - n) : 0, "");
}

void hcli_put_names(FILE *f, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fputc(' ', f);
        put(f, names[i]);
    }
}

/* With --json: prints c's last answer as the agent sent it (plus a newline if it lacks one)
 * and returns true. */
static bool as_json(const hs_client *c)
{
    if (!g_cli.json) return false;
    size_t n;
    const char *body = hs_client_last_body(c, &n);
    fwrite(body, 1, n, stdout);
    if (n == 0 || body[n - 1] != '\n') putchar('\n');
    return true;
}

static const char *text_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

/* "k=v,k2=v2" (sorted by key, as libhearsay gives them), or dflt when there are none. */
static void put_tags(const hs_client_tag *t, size_t n, const char *sep, const char *dflt)
{
    if (n == 0 && dflt) fputs(dflt, stdout);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(sep, stdout);
        put(stdout, t[i].key);
        putchar('=');
        put(stdout, t[i].value);
    }
}

/* One "LABEL VALUE" line, the label padded to width. */
static void field(int indent, int width, const char *label, const char *value)
{
    printf("%*s", indent, "");
    padded(label, (size_t)(width - indent + 1));
    put(stdout, text_or(value, "-"));
    putchar('\n');
}

static void field_u64(int indent, int width, const char *label, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v);
    field(indent, width, label, text);
}

/* ---- members --------------------------------------------------------------------------- */

static size_t max(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Prints the first four columns padded to w (widths of the unsanitized text, which is never
 * shorter than what is printed), the tags, and the operator's markers: another address
 * answering for the name, a removal by force-leave. */
static void member_row(const char *const col[4], const size_t w[4], const hs_client_member_list *l,
                       const hs_client_member *m)
{
    for (int k = 0; k < 4; k++) padded(col[k], w[k] + 2);
    if (!m) {
        puts("TAGS");
        return;
    }
    put_tags(m->tags, m->n_tags, ",", NULL);
    const char *conflict = hs_client_member_note(l, m, "conflict");
    if (conflict) {
        fputs(m->n_tags ? "  [conflict: also at " : "[conflict: also at ", stdout);
        put(stdout, conflict);
        putchar(']');
    }
    if (hs_client_member_note(l, m, "removed"))
        fputs(m->n_tags || conflict ? "  [removed]" : "[removed]", stdout);
    putchar('\n');
}

void hcli_show_members(const hs_client *c, const hs_client_member_list *l)
{
    if (as_json(c)) return;
    static const char *const head[4] = {"NAME", "ADDR", "STATUS", "INCARNATION"};
    size_t w[4] = {4, 4, 6, 11};
    char inc[24];
    for (size_t i = 0; i < l->count; i++) {
        const hs_client_member *m = &l->members[i];
        w[0] = max(w[0], strlen(m->name));
        w[1] = max(w[1], strlen(m->addr));
        w[2] = max(w[2], strlen(m->status_name));
        w[3] = max(w[3], (size_t)snprintf(inc, sizeof inc, "%" PRIu64, m->incarnation));
    }
    member_row(head, w, l, NULL);
    for (size_t i = 0; i < l->count; i++) {
        const hs_client_member *m = &l->members[i];
        snprintf(inc, sizeof inc, "%" PRIu64, m->incarnation);
        const char *col[4] = {text_or(m->name, "?"), text_or(m->addr, "?"),
                              text_or(m->status_name, "?"), inc};
        member_row(col, w, l, m);
    }
}

/* ---- this agent ------------------------------------------------------------------------ */

void hcli_show_self(const hs_client *c, const hs_client_self_info *s)
{
    if (as_json(c)) return;
    const hs_client_member *m = &s->member;
    field(0, 22, "name", m->name);
    field(0, 22, "addr", m->addr);
    field(0, 22, "status", m->status_name);
    field_u64(0, 22, "incarnation", m->incarnation);
    padded("tags", 23);
    put_tags(m->tags, m->n_tags, ",", "-");
    putchar('\n');
    field_u64(0, 22, "status_since_ms", m->status_since_ms);
    field_u64(0, 22, "config_version", m->config_version);
    puts("stats:");
    for (size_t i = 0; i < s->n_stats; i++) {
        char text[24];
        snprintf(text, sizeof text, "%" PRId64, s->stats[i].value);
        field(2, 22, s->stats[i].name, text);
    }
}

void hcli_show_health(const hs_client *c, const hs_client_health_info *h)
{
    if (as_json(c)) return;
    fputs("status:   ", stdout);
    put(stdout, h->status);
    puts(h->insecure ? " (insecure: no encryption)" : "");
    printf("members:  %" PRIu64 " (alive %" PRIu64 ", suspect %" PRIu64 ", failed %" PRIu64
           ", left %" PRIu64 ")\n",
           h->members, h->alive, h->suspect, h->failed, h->left);
    fputs("raft:     ", stdout);
    put(stdout, h->raft.state);
    fputs(", leader ", stdout);
    put(stdout, text_or(h->raft.leader, "-"));
    printf(", term %" PRIu64 "\n", h->raft.term);
}

void hcli_show_raft(const hs_client *c, const hs_client_raft_info *r)
{
    if (as_json(c)) return;
    field(0, 15, "state", r->state);
    field(0, 15, "leader", r->leader);
    field_u64(0, 15, "term", r->term);
    field_u64(0, 15, "commit", r->commit);
    field_u64(0, 15, "applied", r->applied);
    field_u64(0, 15, "config_version", r->config_version);
    padded("seeds", 16);
    for (size_t i = 0; i < r->n_seeds; i++) {
        if (i) fputs(", ", stdout);
        put(stdout, r->seeds[i]);
    }
    puts(r->n_seeds ? "" : "-");
    if (r->last_index) { /* a seed: the log it holds */
        field_u64(0, 15, "last_index", r->last_index);
        field_u64(0, 15, "first_index", r->first_index);
    }
}

/* ---- changes --------------------------------------------------------------------------- */

void hcli_show_config(const hs_client *c, const hs_client_config_entry *e)
{
    if (as_json(c)) return;
    put(stdout, e->value);
    putchar('\n');
}

void hcli_show_committed(const hs_client *c, const char *a, const char *sep, const char *b,
                         uint64_t version)
{
    if (as_json(c)) return;
    put(stdout, a);
    fputs(sep, stdout);
    put(stdout, b);
    printf(": committed, configuration version %" PRIu64 "\n", version);
}

void hcli_show_tags(const hs_client *c, const hs_client_tag_list *t)
{
    if (as_json(c)) return;
    put_tags(t->tags, t->count, "\n", NULL);
    if (t->count) putchar('\n');
}

/* ---- the key ring ---------------------------------------------------------------------- */

void hcli_show_keys(const hs_client *c, const hs_client_keys_info *k)
{
    if (as_json(c)) return;
    if (k->n_keys == 0) {
        printf("the cluster configuration holds no key ring%s\n",
               k->insecure ? " (this agent runs insecure)" : "");
        return;
    }
    printf("%-10s %-8s %s\n", "KEY", "PRIMARY", k->surveyed ? "INSTALLED ON" : "");
    for (size_t i = 0; i < k->n_keys; i++) {
        padded(k->keys[i].id, 11);
        printf("%-8s", i == 0 ? "yes" : "");
        if (k->surveyed) printf(" %" PRIu64 "/%" PRIu64, k->keys[i].installed, k->members);
        putchar('\n');
    }
    if (k->surveyed && k->answered < k->members) {
        printf("no answer from %" PRIu64 " member(s):", k->members - k->answered);
        hcli_put_names(stdout, k->silent, k->n_silent);
        putchar('\n');
    }
}

void hcli_show_key_change(const hs_client *c, const hs_client_key_change *k)
{
    if (as_json(c)) return;
    if (!strcmp(text_or(k->op, ""), "rotate")) {
        fputs("rotate to key ", stdout);
        put(stdout, text_or(k->key, "?"));
        if (k->done)
            printf(": done (configuration version %" PRIu64 "), %" PRIu64
                   " old key(s) removed, held by %" PRIu64 "/%" PRIu64 " members\n",
                   k->committed_version, k->removed, k->acknowledged, k->members);
        else {
            fputs(": stopped at ", stdout);
            put(stdout, text_or(k->step, "?"));
            fputs(": ", stdout);
            put(stdout, text_or(k->reason, "?"));
            fputc('\n', stdout);
        }
        return;
    }
    put(stdout, text_or(k->op, "?"));
    fputs(" key ", stdout);
    put(stdout, text_or(k->key, "?"));
    printf(": committed (configuration version %" PRIu64 "), held by %" PRIu64 "/%" PRIu64
           " members\n",
           k->committed_version, k->acknowledged, k->members);
}

/* "2024-05-01T12:00:00.123Z" for UNIX ms, "-" for none. */
static const char *iso_time(int64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    snprintf(buf, cap, "-");
    if (ms > 0 && gmtime_r(&secs, &tm))
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}

/* ---- the operator's controls ----------------------------------------------------------- */

void hcli_show_removal(const hs_client *c, const hs_client_removal *r)
{
    if (as_json(c)) return;
    put(stdout, text_or(r->name, "?"));
    printf(": %s%s, configuration version %" PRIu64 "\n",
           !r->removed ? "readmitted"
           : r->prune  ? "removed and forgotten everywhere"
                       : "removed (shown left everywhere)",
           r->already ? " already" : "", r->version);
    if (r->removed && !r->known) {
        fputs("hearsay: note: this agent knows no member named ", stderr);
        put(stderr, text_or(r->name, "?"));
        fputs(" (removed anyway: it is refused if it ever comes)\n", stderr);
    }
}

void hcli_show_fd(const hs_client *c, const hs_client_fd_info *f)
{
    if (as_json(c)) return;
    fputs("profile ", stdout);
    put(stdout, text_or(f->profile, "?"));
    fputs(f->cluster_profile ? " (the cluster's)" : " (this agent's --profile)", stdout);
    printf(", configuration version %" PRIu64 "\n", f->version);
    for (size_t i = 0; i < f->n_settings; i++) {
        padded(f->settings[i].key, 24);
        printf("%-8" PRIu64, f->settings[i].value);
        if (f->settings[i].override) {
            fputs("  (cluster: ", stdout);
            put(stdout, f->settings[i].override);
            putchar(')');
        }
        putchar('\n');
    }
}

void hcli_show_history(const hs_client *c, const hs_client_history *h)
{
    if (as_json(c)) return;
    put(stdout, text_or(h->name, "?"));
    fputs("  ", stdout);
    put(stdout, text_or(h->addr, "?"));
    fputs("  ", stdout);
    put(stdout, text_or(h->status_name, "?"));
    printf("  incarnation %" PRIu64 "\n", h->incarnation);
    if (h->count == 0) puts("no status change recorded: it has been alive since this agent met it");
    char when[80];
    for (size_t i = 0; i < h->count; i++) {
        const hs_client_history_entry *e = &h->entries[i];
        printf("%s  ", iso_time(e->time_ms, when, sizeof when));
        padded(text_or(e->event, "?"), 11);
        printf("inc %-6" PRIu64, e->incarnation);
        if (!strcmp(e->event, "conflict")) {
            fputs(" also answered for at ", stdout);
            put(stdout, e->addr);
        } else if (!strcmp(e->event, "removed") || !strcmp(e->event, "readmitted")) {
            fputs(" by the cluster configuration", stdout);
        } else if (e->by[0]) {
            fputs(e->learnt ? " from " : " by ", stdout);
            put(stdout, e->by);
        } else if (e->learnt) {
            fputs(" heard from the cluster", stdout);
        }
        if (e->n_votes) {
            fputs("; votes:", stdout);
            for (size_t k = 0; k < e->n_votes; k++) {
                fputs(k ? ", " : " ", stdout);
                put(stdout, e->votes[k].name);
                if (e->votes[k].time_ms > 0 && e->time_ms >= e->votes[k].time_ms)
                    printf(" (%.1f s before)", (double)(e->time_ms - e->votes[k].time_ms) / 1e3);
            }
        }
        putchar('\n');
    }
}

/* ---- reachability ---------------------------------------------------------------------- */

static const char *reach_label(const char *result)
{
    return !strcmp(result, "direct")    ? "direct"
           : !strcmp(result, "relayed") ? "relayed"
                                        : "no answer";
}

void hcli_show_reachability(const hs_client *c, const hs_client_reach_info *r)
{
    if (as_json(c)) return;
    size_t w[2] = {4, 4};
    for (size_t i = 0; i < r->count; i++) {
        w[0] = max(w[0], strlen(r->members[i].name));
        w[1] = max(w[1], strlen(r->members[i].addr));
    }
    printf("%-*s  %-*s  %-9s  %s\n", (int)w[0], "NAME", (int)w[1], "ADDR", "RESULT", "RTT_MS");
    for (size_t i = 0; i < r->count; i++) {
        const hs_client_reach_member *m = &r->members[i];
        padded(text_or(m->name, "?"), w[0] + 2);
        padded(text_or(m->addr, "?"), w[1] + 2);
        printf("%-9s  ", reach_label(m->result));
        if (m->rtt_ms >= 0)
            printf("%" PRId64 "\n", m->rtt_ms);
        else
            puts("-");
    }
    printf("%zu members asked: %" PRIu64 " direct, %" PRIu64 " through relays, %" PRIu64
           " no answer within %" PRIu64 " ms\n",
           r->count, r->direct, r->relayed, r->no_answer, r->timeout_ms);
}

/* ---- events ---------------------------------------------------------------------------- */

void hcli_show_event(const hs_client_event *ev)
{
    if (g_cli.json) {
        fwrite(ev->raw, 1, ev->raw_len, stdout);
        putchar('\n');
        return;
    }
    char when[80];
    printf("%s  ", iso_time(ev->time_ms, when, sizeof when));
    padded(text_or(ev->type_name, "?"), 16);
    padded(text_or(ev->name, "-"), 18);
    if (ev->type == HS_CLIENT_USER_EVENT || ev->type == HS_CLIENT_QUERY) {
        padded(text_or(ev->user_name, "?"), 23);
        printf("ltime=%" PRIu64 "  ", ev->ltime);
        put(stdout, ev->payload ? ev->payload : "(binary payload)");
        putchar('\n');
        return;
    }
    padded(text_or(ev->addr, "-"), 23);
    padded(text_or(ev->status_name, "-"), 9);
    printf("inc=%" PRIu64 "%s", ev->incarnation, ev->n_tags ? "  " : "");
    put_tags(ev->tags, ev->n_tags, ",", NULL);
    putchar('\n');
}

/* ---- user events and queries ----------------------------------------------------------- */

void hcli_show_user_event(const hs_client *c, const char *name,
                          const hs_client_user_event_result *r)
{
    if (as_json(c)) {
        if (r->waited && !r->complete) {
            fputs("hearsay: not delivered by:", stderr);
            hcli_put_names(stderr, r->pending, r->n_pending);
            fputc('\n', stderr);
        }
        return;
    }
    fputs("event ", stdout);
    put(stdout, name);
    if (!r->waited) {
        fputs(" fired: id ", stdout);
        put(stdout, r->id);
        printf(", Lamport time %" PRIu64 ", %" PRIu64 " members\n", r->ltime, r->members);
        return;
    }
    printf(": delivered by %" PRIu64 "/%" PRIu64 " members in %" PRIu64 " ms (id ", r->delivered,
           r->members, r->ms);
    put(stdout, r->id);
    fputs(")\n", stdout);
    if (!r->complete) {
        fputs("hearsay: not delivered by:", stderr);
        hcli_put_names(stderr, r->pending, r->n_pending);
        fputc('\n', stderr);
    }
}

void hcli_show_answer(const hcli_answer *a)
{
    const char *p = a->payload, *end = a->payload + a->len;
    do {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(n + 1);
        if (!line) return;
        memcpy(line, p, n);
        line[n] = '\0';
        put(stdout, a->from);
        fputs(": ", stdout);
        put(stdout, line);
        putchar('\n');
        free(line);
        p = nl ? nl + 1 : end;
    } while (p < end);
}

/* A JSON string of arbitrary bytes: bytes that are not UTF-8 become '?'. */
static json_t *bytes_string(const char *p, size_t n)
{
    json_t *s = json_stringn(p, n);
    if (s) return s;
    char *t = malloc(n + 1);
    if (!t) return json_string("");
    for (size_t i = 0; i < n; i++) t[i] = (unsigned char)p[i] >= 0x80 ? '?' : p[i];
    s = json_stringn(t, n);
    free(t);
    return s ? s : json_string("");
}

void hcli_show_query(const hcli_answer *a, size_t n, const hs_client_query_result *r)
{
    if (!g_cli.json) {
        fprintf(stderr,
                "%" PRIu64 " answers, %" PRIu64 " acks of %" PRIu64 " targeted members in %" PRIu64
                " ms%s",
                r->responses, r->acks, r->targeted, r->elapsed_ms,
                r->complete ? "\n" : "; no answer from:");
        if (!r->complete) {
            hcli_put_names(stderr, r->pending, r->n_pending);
            fputc('\n', stderr);
        }
        return;
    }
    json_t *o = json_object(), *acks = json_array(), *resp = json_object(), *ms = json_object();
    for (size_t i = 0; i < n; i++) {
        if (!a[i].response) {
            json_array_append_new(acks, json_string(a[i].from));
            continue;
        }
        json_object_set_new(resp, a[i].from, bytes_string(a[i].payload, a[i].len));
        json_object_set_new(ms, a[i].from, json_integer((json_int_t)a[i].ms));
    }
    json_object_set_new(o, "acks", acks);
    json_object_set_new(o, "responses", resp);
    json_object_set_new(o, "elapsed_ms", ms);
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "targeted", json_integer((json_int_t)r->targeted));
    json_object_set_new(o, "complete", json_boolean(r->complete));
    json_t *pending = json_array();
    for (size_t i = 0; i < r->n_pending; i++)
        json_array_append_new(pending, json_string(r->pending[i]));
    json_object_set_new(o, "pending", pending);
    json_object_set_new(o, "total_ms", json_integer((json_int_t)r->elapsed_ms));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text) puts(text);
    free(text);
}
