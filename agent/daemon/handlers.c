/* handlers.c: event handlers. The config maps member-join, member-failed, member-leave,
 * member-update, config-change and user-event to shell commands, and user-event:NAME and
 * query:NAME (the user events and queries of one name) too. Each published event with a handler
 * runs `/bin/sh -c COMMAND` in its own process group, asynchronously: the event JSON (the same
 * object as GET /v1/events) plus a newline on stdin through a non-blocking pipe (a user event's
 * or query's payload instead), HEARSAY_EVENT, HEARSAY_MEMBER_NAME/_ADDR/_STATUS,
 * HEARSAY_TAG_<KEY> and HEARSAY_SELF_NAME in the environment (HEARSAY_USER_EVENT or
 * HEARSAY_QUERY_NAME, HEARSAY_LTIME, HEARSAY_SELF, HEARSAY_ORIGIN, HEARSAY_EVENT_ID for user
 * events and queries), stdout and stderr read by the loop and logged line by line (bounded). A
 * query handler's stdout is kept instead (up to HS_UE_PAYLOAD_MAX bytes) and is its answer when
 * it ends; a query without a handler is declined at once. At most max-handlers run at once;
 * later events wait in a bounded queue and beyond it are dropped and counted. A handler past
 * handler-timeout seconds (a query's: its timeout) is killed (SIGKILL to its group).
 * Children are reaped on SIGCHLD with waitpid(pid, WNOHANG); the loop never blocks. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "handlers.h"
#include "json_util.h"
#include "log.h"

#define QUEUE_MAX    256
#define LINE_MAX_LOG 512         /* longer output lines are split */
#define OUTPUT_MAX   (64 * 1024) /* bytes of output logged per run; the rest is discarded */
#define TIMEOUT_DEF  30
#define RUNNING_DEF  8

/* The kinds that may have handlers (HS_EVF_HANDLER in include/hearsay/events.h), in the order of
 * hsd_options.handlers (the option table's rows follow it). */
static const hs_event_kind HANDLED[HSD_HANDLER_EVENTS] = {
    HS_EVK_MEMBER_JOIN,   HS_EVK_MEMBER_FAILED, HS_EVK_MEMBER_LEAVE,
    HS_EVK_MEMBER_UPDATE, HS_EVK_CONFIG_CHANGE, HS_EVK_USER_EVENT};
#define EVENTS(i) hs_event_kind_name(HANDLED[i])

typedef struct job {
    char label[HSD_NAMED_KEY_MAX + 1]; /* the event, or user-event:NAME / query:NAME */
    bool query;                        /* its stdout is the answer of query ref */
    uint64_t ref;
    uint32_t timeout_ms; /* 0: handler-timeout */
    char *cmd;
    char **envp; /* NULL-terminated, owned */
    char *input; /* JSON line */
    size_t inlen;
    struct job *next;
} job;

typedef struct run {
    job *j;
    pid_t pid;
    int in_fd, out_fd, err_fd; /* err_fd: a query's stderr (others share out_fd) */
    hsd_watch *in_ev, *out_ev, *err_ev, *timer;
    uint8_t *answer; /* a query's stdout */
    size_t answer_len;
    size_t inoff;
    char line[LINE_MAX_LOG + 1];
    size_t linelen;
    size_t logged;
    bool cut, timed_out;
    uint64_t start_ms;
    struct run *prev, *next;
} run;

static struct {
    bool on;
    hsd_engine *e;
    hsd_options opt; /* the handler options and the agent's name, as of the last reload */
    hsd_handlers_stats st;
    hsd_watch *sigchld;
    job *qhead, *qtail;
    unsigned qlen;
    run *running;
    unsigned nrunning;
} H_, *const H = &H_;

static int kind_index(hs_event_kind k)
{
    for (int i = 0; i < HSD_HANDLER_EVENTS; i++)
        if (HANDLED[i] == k) return i;
    return -1;
}

static void job_free(job *j)
{
    if (!j) return;
    if (j->envp)
        for (char **e = j->envp; *e; e++) free(*e);
    free(j->envp);
    free(j->cmd);
    free(j->input);
    free(j);
}

static int timeout_s(void)
{
    return H->opt.handler_timeout > 0 ? H->opt.handler_timeout : TIMEOUT_DEF;
}

static unsigned max_running(void)
{
    return H->opt.max_handlers > 0 ? (unsigned)H->opt.max_handlers : RUNNING_DEF;
}

/* ---- output logging ---- */

static void flush_line(run *r)
{
    if (r->linelen == 0) return;
    r->line[r->linelen] = '\0';
    for (size_t i = 0; i < r->linelen; i++)
        if ((unsigned char)r->line[i] < 0x20 || r->line[i] == 0x7f) r->line[i] = '?';
    log_info("handler %s[%d]: %s", r->j->label, (int)r->pid, r->line);
    r->linelen = 0;
}

static void take_output(run *r, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (r->logged >= OUTPUT_MAX) {
            if (!r->cut) {
                flush_line(r);
                log_warn("handler %s[%d]: output beyond %d bytes not logged", r->j->label,
                         (int)r->pid, OUTPUT_MAX);
                r->cut = true;
            }
            return;
        }
        r->logged++;
        char c = buf[i];
        if (c == '\n') {
            flush_line(r);
            continue;
        }
        if (c == '\r') continue;
        r->line[r->linelen++] = c;
        if (r->linelen >= LINE_MAX_LOG) flush_line(r);
    }
}

/* A query's answer: its stdout up to HS_UE_PAYLOAD_MAX bytes. */
static void take_answer(run *r, const char *buf, size_t n)
{
    size_t room = HS_UE_PAYLOAD_MAX - r->answer_len;
    if (n > room) {
        if (!r->cut)
            log_warn("handler %s[%d]: answer cut at %d bytes", r->j->label, (int)r->pid,
                     HS_UE_PAYLOAD_MAX);
        r->cut = true;
        n = room;
    }
    memcpy(r->answer + r->answer_len, buf, n);
    r->answer_len += n;
}

static void close_fd(hsd_watch **w, int *fd)
{
    hsd_watch_free(*w);
    *w = NULL;
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void close_out(run *r)
{
    close_fd(&r->out_ev, &r->out_fd);
    close_fd(&r->err_ev, &r->err_fd);
    flush_line(r);
}

static void close_in(run *r)
{
    hsd_watch_free(r->in_ev);
    r->in_ev = NULL;
    if (r->in_fd >= 0) {
        close(r->in_fd);
        r->in_fd = -1;
    }
}

/* Reads what is there on fd (a query's stdout is its answer); returns true at EOF or on
 * error. */
static bool drain_fd(run *r, int fd, bool answer)
{
    char buf[4096];
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            if (answer)
                take_answer(r, buf, (size_t)n);
            else
                take_output(r, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
        return true;
    }
    return false;
}

static bool drain(run *r)
{
    bool eof = drain_fd(r, r->out_fd, r->j->query);
    if (r->err_fd >= 0 && drain_fd(r, r->err_fd, false)) close_fd(&r->err_ev, &r->err_fd);
    return eof;
}

static void on_out(void *arg)
{
    run *r = arg;
    if (drain_fd(r, r->out_fd, r->j->query)) close_fd(&r->out_ev, &r->out_fd);
}

static void on_err(void *arg)
{
    run *r = arg;
    if (drain_fd(r, r->err_fd, false)) close_fd(&r->err_ev, &r->err_fd);
}

static void on_in(void *arg);

static void write_input(run *r)
{
    while (r->inoff < r->j->inlen) {
        ssize_t n = write(r->in_fd, r->j->input + r->inoff, r->j->inlen - r->inoff);
        if (n > 0) {
            r->inoff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!r->in_ev) {
                r->in_ev = hsd_fd_watch_new(H->e, r->in_fd, true, on_in, r);
                hsd_watch_start(r->in_ev, 0);
            }
            if (r->in_ev) return;
            break;
        }
        break; /* EPIPE: the handler does not read its stdin */
    }
    close_in(r);
}

static void on_in(void *arg)
{
    write_input(arg);
}

/* ---- lifecycle ---- */

static void start_next(void);

static void finish(run *r, int status)
{
    if (r->out_fd >= 0) drain(r); /* what the handler wrote before exiting is still in the pipe */
    close_out(r);
    close_in(r);
    hsd_watch_free(r->timer);
    uint64_t ms = hsd_now_ms() - r->start_ms;
    const char *ev = r->j->label;
    /* a query handler killed at the query's timeout gives no answer: the asker stopped waiting */
    if (r->j->query && !r->timed_out)
        hsd_engine_query_respond(H->e, r->j->ref, r->answer, r->answer_len, false);
    if (r->timed_out) {
        /* counted when killed */
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        log_info("handler %s[%d] exited 0 after %" PRIu64 " ms", ev, (int)r->pid, ms);
    } else {
        H->st.failed++;
        if (WIFEXITED(status))
            log_warn("handler %s[%d] failed: exit status %d after %" PRIu64 " ms", ev, (int)r->pid,
                     WEXITSTATUS(status), ms);
        else
            log_warn("handler %s[%d] failed: killed by signal %d after %" PRIu64 " ms", ev,
                     (int)r->pid, WIFSIGNALED(status) ? WTERMSIG(status) : 0, ms);
    }
    if (r->prev)
        r->prev->next = r->next;
    else
        H->running = r->next;
    if (r->next) r->next->prev = r->prev;
    H->nrunning--;
    job_free(r->j);
    free(r->answer);
    free(r);
    start_next();
}

static void on_timeout(void *arg)
{
    run *r = arg;
    r->timed_out = true;
    H->st.timeout++;
    if (r->j->timeout_ms)
        log_warn("handler %s[%d] still running at the query's timeout (%u ms): killed", r->j->label,
                 (int)r->pid, r->j->timeout_ms);
    else
        log_warn("handler %s[%d] still running after %d s: killed", r->j->label, (int)r->pid,
                 timeout_s());
    kill(-r->pid, SIGKILL);
    kill(r->pid, SIGKILL);
}

static void on_sigchld(void *arg)
{
    (void)arg;
    for (run *r = H->running, *next; r; r = next) {
        next = r->next;
        int status = 0;
        pid_t p = waitpid(r->pid, &status, WNOHANG);
        if (p == r->pid || (p < 0 && errno == ECHILD)) finish(r, status);
    }
}

static void close_from(int lo)
{
    if (close_range((unsigned)lo, ~0U, 0) == 0) return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = lo; fd < max; fd++) close(fd);
}

static void close_pipes(int p[3][2])
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++)
            if (p[i][k] >= 0) close(p[i][k]);
}

static int spawn(job *j)
{
    /* stdin, stdout, and a query's stderr (the others' goes to stdout's pipe) */
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    for (int i = 0; i < (j->query ? 3 : 2); i++)
        if (pipe2(p[i], O_CLOEXEC) != 0) {
            close_pipes(p);
            return -1;
        }
    int(*inp) = p[0], (*outp) = p[1], (*errp) = p[2];
    pid_t pid = fork();
    if (pid < 0) {
        close_pipes(p);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(inp[0], 0) < 0 || dup2(outp[1], 1) < 0 ||
            dup2(errp[1] >= 0 ? errp[1] : outp[1], 2) < 0)
            _exit(127);
        close_from(3);
        char *argv[] = {"sh", "-c", j->cmd, NULL};
        execve("/bin/sh", argv, j->envp);
        _exit(127);
    }
    setpgid(pid, pid);
    close(inp[0]);
    close(outp[1]);
    if (errp[1] >= 0) close(errp[1]);
    fcntl(inp[1], F_SETFL, fcntl(inp[1], F_GETFL) | O_NONBLOCK);
    fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);
    if (errp[0] >= 0) fcntl(errp[0], F_SETFL, fcntl(errp[0], F_GETFL) | O_NONBLOCK);

    run *r = calloc(1, sizeof(*r));
    if (r && j->query && !(r->answer = malloc(HS_UE_PAYLOAD_MAX))) {
        free(r);
        r = NULL;
    }
    if (!r) {
        close(inp[1]);
        close(outp[0]);
        if (errp[0] >= 0) close(errp[0]);
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0); /* just killed: returns at once */
        return -1;
    }
    r->j = j;
    r->pid = pid;
    r->in_fd = inp[1];
    r->out_fd = outp[0];
    r->err_fd = errp[0];
    r->start_ms = hsd_now_ms();
    r->next = H->running;
    if (r->next) r->next->prev = r;
    H->running = r;
    H->nrunning++;
    H->st.run++;
    log_info("handler %s[%d] started: %s", j->label, (int)pid, j->cmd);

    r->out_ev = hsd_fd_watch_new(H->e, r->out_fd, false, on_out, r);
    hsd_watch_start(r->out_ev, 0);
    if (r->err_fd >= 0) {
        r->err_ev = hsd_fd_watch_new(H->e, r->err_fd, false, on_err, r);
        hsd_watch_start(r->err_ev, 0);
    }
    r->timer = hsd_timer_new(H->e, on_timeout, r);
    hsd_watch_start(r->timer, j->timeout_ms ? j->timeout_ms : (uint64_t)timeout_s() * 1000);
    write_input(r);
    /* the child may have exited before we got here; SIGCHLD is delivered through the loop */
    return 0;
}

static void start_next(void)
{
    while (H->qhead && H->nrunning < max_running()) {
        job *j = H->qhead;
        H->qhead = j->next;
        if (!H->qhead) H->qtail = NULL;
        H->qlen--;
        j->next = NULL;
        if (spawn(j) != 0) {
            log_err("handler %s: cannot start: %s", j->label, strerror(errno));
            H->st.failed++;
            if (j->query) hsd_engine_query_respond(H->e, j->ref, NULL, 0, false);
            job_free(j);
        }
    }
}

/* ---- environment ---- */

static int env_add(char ***envp, size_t *n, size_t *cap, const char *k, const char *v)
{
    if (*n + 2 > *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **e = realloc(*envp, nc * sizeof(*e));
        if (!e) return -1;
        *envp = e;
        *cap = nc;
    }
    size_t len = strlen(k) + (v ? strlen(v) + 1 : 0) + 1;
    char *s = malloc(len);
    if (!s) return -1;
    if (v)
        snprintf(s, len, "%s=%s", k, v);
    else
        snprintf(s, len, "%s", k);
    (*envp)[(*n)++] = s;
    (*envp)[*n] = NULL;
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void env_free(char **envp)
{
    if (envp)
        for (char **e = envp; *e; e++) free(*e);
    free(envp);
}

/* The daemon's environment without its HEARSAY_* variables, and HEARSAY_EVENT. */
static int env_base(char ***envp, size_t *n, size_t *cap, const char *event)
{
    int rc = 0;
    for (char **e = environ; e && *e && rc == 0; e++)
        if (strncmp(*e, "HEARSAY_", 8) != 0) rc = env_add(envp, n, cap, *e, NULL);
    if (rc == 0) rc = env_add(envp, n, cap, "HEARSAY_EVENT", event);
    return rc;
}

/* A user event's or a query's environment. */
static char **build_user_env(const hs_agent_event *ev)
{
    char **envp = NULL;
    size_t n = 0, cap = 0;
    char ltime[24];
    snprintf(ltime, sizeof(ltime), "%llu", (unsigned long long)ev->ltime);
    bool q = ev->kind == HS_EVK_QUERY;
    int rc = env_base(&envp, &n, &cap, q ? "query" : "user-event");
    if (rc == 0)
        rc = env_add(&envp, &n, &cap, q ? "HEARSAY_QUERY_NAME" : "HEARSAY_USER_EVENT",
                     ev->user_name);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_LTIME", ltime);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_SELF", H->opt.name);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_SELF_NAME", H->opt.name);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_ORIGIN", ev->name);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_EVENT_ID", ev->user_id);
    if (rc == 0) return envp;
    env_free(envp);
    return NULL;
}

static char **build_env(const char *event, json_t *o)
{
    char **envp = NULL;
    size_t n = 0, cap = 0;
    int rc = env_base(&envp, &n, &cap, event);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_SELF_NAME", H->opt.name);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_MEMBER_NAME", jstr(o, "name"));
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_MEMBER_ADDR", jstr(o, "addr"));
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_MEMBER_STATUS", jstr(o, "status"));
    json_t *cv = json_object_get(o, "config_version");
    if (rc == 0 && json_is_integer(cv)) {
        char b[32];
        snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(cv));
        rc = env_add(&envp, &n, &cap, "HEARSAY_CONFIG_VERSION", b);
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(o, "tags"), k, v)
    {
        if (rc != 0 || !json_is_string(v)) continue;
        char key[160];
        int off = snprintf(key, sizeof(key), "HEARSAY_TAG_");
        for (const char *p = k; *p && (size_t)off < sizeof(key) - 1; p++)
            key[off++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
        key[off] = '\0';
        rc = env_add(&envp, &n, &cap, key, json_string_value(v));
    }
    if (rc != 0) {
        env_free(envp);
        return NULL;
    }
    return envp;
}

/* ---- entry points ---- */

/* Queues a job for cmd (label names it in the log): its input (copied) and environment
 * (taken). false when it was dropped (queue full, no memory). */
static bool dispatch(const char *label, const char *cmd, char **envp, const void *input,
                     size_t inlen, const hs_agent_event *query)
{
    if (H->qlen >= QUEUE_MAX) {
        H->st.dropped++;
        if (H->st.dropped == 1 || H->st.dropped % 100 == 0)
            log_warn("handler %s: %u handlers queued, event dropped (%" PRIu64 " so far)", label,
                     H->qlen, H->st.dropped);
        env_free(envp);
        return false;
    }
    job *j = calloc(1, sizeof(*j));
    if (!j) {
        env_free(envp);
        return false;
    }
    snprintf(j->label, sizeof(j->label), "%s", label);
    j->cmd = strdup(cmd);
    j->envp = envp;
    j->inlen = inlen;
    j->input = malloc(inlen + 1);
    if (!j->cmd || !j->envp || !j->input) {
        log_err("handler %s: out of memory", label);
        job_free(j);
        return false;
    }
    if (inlen) memcpy(j->input, input, inlen);
    j->input[inlen] = '\0';
    if (query) {
        j->query = true;
        j->ref = query->query_ref;
        uint32_t limit = (uint32_t)timeout_s() * 1000;
        j->timeout_ms = query->query_remaining_ms < limit ? query->query_remaining_ms : limit;
        if (!j->timeout_ms) j->timeout_ms = 1;
    }
    if (H->qtail)
        H->qtail->next = j;
    else
        H->qhead = j;
    H->qtail = j;
    H->qlen++;
    start_next();
    return true;
}

/* A user event runs the user-event handler and its name's; a query its name's, or is declined. */
static void on_user(const hs_agent_event *ev)
{
    bool q = ev->kind == HS_EVK_QUERY;
    char key[HSD_NAMED_KEY_MAX + 1];
    snprintf(key, sizeof(key), "%s:%s", q ? "query" : "user-event", ev->user_name);
    const char *named = hsd_named_handler_cmd(&H->opt, key);
    const char *all = q ? NULL : H->opt.handlers[kind_index(HS_EVK_USER_EVENT)];
    if (all && all[0])
        dispatch("user-event", all, build_user_env(ev), ev->payload, ev->payload_len, NULL);
    if (named && named[0]) {
        if (dispatch(key, named, build_user_env(ev), ev->payload, ev->payload_len, q ? ev : NULL) ||
            !q)
            return;
    } else if (!q) {
        return;
    }
    hsd_engine_query_respond(H->e, ev->query_ref, NULL, 0, true); /* no handler (or dropped) */
}

/* A subscriber of the engine's events: only kinds that may have handlers. */
static void on_event(void *arg, const hs_agent_event *ev, uint64_t id, uint64_t unix_ms)
{
    (void)arg;
    if (hs_event_kind_fields(ev->kind) & HS_EVF_USER) {
        on_user(ev);
        return;
    }
    int i = kind_index(ev->kind);
    if (i < 0 || !H->opt.handlers[i][0]) return;
    json_t *o = hsd_json_event(ev, id, unix_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text) {
        size_t n = strlen(text);
        text[n] = '\n'; /* the JSON line: dispatch copies n + 1 bytes */
        dispatch(EVENTS(i), H->opt.handlers[i], build_env(EVENTS(i), o), text, n + 1, NULL);
    }
    free(text);
    json_decref(o);
}

const hsd_handlers_stats *hsd_handlers_get_stats(void)
{
    return &H->st;
}

int hsd_handlers_init(hsd_engine *e)
{
    memset(H, 0, sizeof(*H));
    H->on = true;
    H->e = e;
    H->opt = *hsd_engine_options(e);
    H->sigchld = hsd_signal_watch_new(e, SIGCHLD, on_sigchld, NULL);
    if (hsd_watch_start(H->sigchld, 0) != 0) return -1;
    for (int i = 0; i < HSD_HANDLER_EVENTS; i++)
        if (H->opt.handlers[i][0]) log_info("handler for %s: %s", EVENTS(i), H->opt.handlers[i]);
    for (size_t i = 0; i < H->opt.n_named; i++)
        log_info("handler for %s: %s", H->opt.named[i].key, H->opt.named[i].cmd);
    return hsd_engine_subscribe(e, on_event, NULL);
}

void hsd_handlers_reload(const hsd_options *o)
{
    for (int i = 0; i < HSD_HANDLER_EVENTS; i++) {
        if (strcmp(H->opt.handlers[i], o->handlers[i]))
            log_info("handler for %s: %s", EVENTS(i),
                     o->handlers[i][0] ? o->handlers[i] : "(none)");
        memcpy(H->opt.handlers[i], o->handlers[i], sizeof(o->handlers[i]));
    }
    for (size_t i = 0; i < o->n_named; i++) {
        const char *was = hsd_named_handler_cmd(&H->opt, o->named[i].key);
        if (!was || strcmp(was, o->named[i].cmd))
            log_info("handler for %s: %s", o->named[i].key, o->named[i].cmd);
    }
    for (size_t i = 0; i < H->opt.n_named; i++)
        if (!hsd_named_handler_cmd(o, H->opt.named[i].key))
            log_info("handler for %s: (none)", H->opt.named[i].key);
    memcpy(H->opt.named, o->named, sizeof(o->named));
    H->opt.n_named = o->n_named;
    H->opt.handler_timeout = o->handler_timeout;
    H->opt.max_handlers = o->max_handlers;
    if (H->on) start_next();
}

void hsd_handlers_free(void)
{
    if (!H->on) return;
    while (H->qhead) {
        job *j = H->qhead;
        H->qhead = j->next;
        job_free(j);
    }
    H->qtail = NULL;
    H->qlen = 0;
    while (H->running) {
        run *r = H->running;
        log_warn("handler %s[%d] still running at exit: killed", r->j->label, (int)r->pid);
        r->timed_out = true;
        kill(-r->pid, SIGKILL);
        kill(r->pid, SIGKILL);
        int status = 0;
        waitpid(r->pid, &status, 0); /* SIGKILLed: returns at once */
        finish(r, status);
    }
    hsd_watch_free(H->sigchld);
    H->sigchld = NULL;
    H->on = false;
}
