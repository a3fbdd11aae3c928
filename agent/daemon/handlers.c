/* handlers.c: event handlers. The config maps member-join, member-failed, member-leave,
 * member-update and config-change to shell commands. Each published event with a handler runs
 * `/bin/sh -c COMMAND` in its own process group, asynchronously: the event JSON (the same
 * object as GET /v1/events) plus a newline on stdin through a non-blocking pipe, HEARSAY_EVENT,
 * HEARSAY_MEMBER_NAME/_ADDR/_STATUS, HEARSAY_TAG_<KEY> and HEARSAY_SELF_NAME in the
 * environment, stdout and stderr read by the loop and logged line by line (bounded). At most
 * max-handlers run at once; later events wait in a bounded queue and beyond it are dropped
 * and counted. A handler past handler-timeout seconds is killed (SIGKILL to its group).
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
static const hs_event_kind HANDLED[HSD_HANDLER_EVENTS] = {HS_EVK_MEMBER_JOIN, HS_EVK_MEMBER_FAILED,
                                                          HS_EVK_MEMBER_LEAVE, HS_EVK_MEMBER_UPDATE,
                                                          HS_EVK_CONFIG_CHANGE};
#define EVENTS(i) hs_event_kind_name(HANDLED[i])

typedef struct job {
    int ev;
    char *cmd;
    char **envp; /* NULL-terminated, owned */
    char *input; /* JSON line */
    size_t inlen;
    struct job *next;
} job;

typedef struct run {
    job *j;
    pid_t pid;
    int in_fd, out_fd;
    hsd_watch *in_ev, *out_ev, *timer;
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

static int event_index(const char *name)
{
    for (int i = 0; i < HSD_HANDLER_EVENTS; i++)
        if (!strcmp(name, EVENTS(i))) return i;
    return -1;
}

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
    log_info("handler %s[%d]: %s", EVENTS(r->j->ev), (int)r->pid, r->line);
    r->linelen = 0;
}

static void take_output(run *r, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (r->logged >= OUTPUT_MAX) {
            if (!r->cut) {
                flush_line(r);
                log_warn("handler %s[%d]: output beyond %d bytes not logged", EVENTS(r->j->ev),
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

static void close_out(run *r)
{
    hsd_watch_free(r->out_ev);
    r->out_ev = NULL;
    if (r->out_fd >= 0) {
        close(r->out_fd);
        r->out_fd = -1;
    }
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

/* Reads what is there; returns true at EOF or on error. */
static bool drain(run *r)
{
    char buf[4096];
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t n = read(r->out_fd, buf, sizeof(buf));
        if (n > 0) {
            take_output(r, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
        return true;
    }
    return false;
}

static void on_out(void *arg)
{
    run *r = arg;
    if (drain(r)) close_out(r);
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
    if (r->out_fd >= 0) {
        drain(r); /* what the handler wrote before exiting is still in the pipe */
        close_out(r);
    }
    close_in(r);
    hsd_watch_free(r->timer);
    uint64_t ms = hsd_now_ms() - r->start_ms;
    const char *ev = EVENTS(r->j->ev);
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
    free(r);
    start_next();
}

static void on_timeout(void *arg)
{
    run *r = arg;
    r->timed_out = true;
    H->st.timeout++;
    log_warn("handler %s[%d] still running after %d s: killed", EVENTS(r->j->ev), (int)r->pid,
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

static int spawn(job *j)
{
    int inp[2], outp[2];
    if (pipe2(inp, O_CLOEXEC) != 0) return -1;
    if (pipe2(outp, O_CLOEXEC) != 0) {
        close(inp[0]);
        close(inp[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(inp[0]);
        close(inp[1]);
        close(outp[0]);
        close(outp[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(inp[0], 0) < 0 || dup2(outp[1], 1) < 0 || dup2(outp[1], 2) < 0) _exit(127);
        close_from(3);
        char *argv[] = {"sh", "-c", j->cmd, NULL};
        execve("/bin/sh", argv, j->envp);
        _exit(127);
    }
    setpgid(pid, pid);
    close(inp[0]);
    close(outp[1]);
    fcntl(inp[1], F_SETFL, fcntl(inp[1], F_GETFL) | O_NONBLOCK);
    fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);

    run *r = calloc(1, sizeof(*r));
    if (!r) {
        close(inp[1]);
        close(outp[0]);
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0); /* just killed: returns at once */
        return -1;
    }
    r->j = j;
    r->pid = pid;
    r->in_fd = inp[1];
    r->out_fd = outp[0];
    r->start_ms = hsd_now_ms();
    r->next = H->running;
    if (r->next) r->next->prev = r;
    H->running = r;
    H->nrunning++;
    H->st.run++;
    log_info("handler %s[%d] started: %s", EVENTS(j->ev), (int)pid, j->cmd);

    r->out_ev = hsd_fd_watch_new(H->e, r->out_fd, false, on_out, r);
    hsd_watch_start(r->out_ev, 0);
    r->timer = hsd_timer_new(H->e, on_timeout, r);
    hsd_watch_start(r->timer, (uint64_t)timeout_s() * 1000);
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
            log_err("handler %s: cannot start: %s", EVENTS(j->ev), strerror(errno));
            H->st.failed++;
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

static char **build_env(const char *event, json_t *o)
{
    char **envp = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (char **e = environ; e && *e && rc == 0; e++)
        if (strncmp(*e, "HEARSAY_", 8) != 0) rc = env_add(&envp, &n, &cap, *e, NULL);
    if (rc == 0) rc = env_add(&envp, &n, &cap, "HEARSAY_EVENT", event);
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
        if (envp)
            for (char **e = envp; *e; e++) free(*e);
        free(envp);
        return NULL;
    }
    return envp;
}

/* ---- entry points ---- */

static void dispatch(const char *event, json_t *o, const char *text)
{
    int i = event_index(event);
    if (i < 0 || !H->opt.handlers[i][0]) return;
    if (H->qlen >= QUEUE_MAX) {
        H->st.dropped++;
        if (H->st.dropped == 1 || H->st.dropped % 100 == 0)
            log_warn("handler %s: %u handlers queued, event dropped (%" PRIu64 " so far)", event,
                     H->qlen, H->st.dropped);
        return;
    }
    job *j = calloc(1, sizeof(*j));
    if (!j) return;
    j->ev = i;
    j->cmd = strdup(H->opt.handlers[i]);
    j->envp = build_env(event, o);
    j->inlen = strlen(text) + 1;
    j->input = malloc(j->inlen + 1);
    if (!j->cmd || !j->envp || !j->input) {
        log_err("handler %s: out of memory", event);
        job_free(j);
        return;
    }
    memcpy(j->input, text, j->inlen - 1);
    j->input[j->inlen - 1] = '\n';
    j->input[j->inlen] = '\0';
    if (H->qtail)
        H->qtail->next = j;
    else
        H->qhead = j;
    H->qtail = j;
    H->qlen++;
    start_next();
}

/* A subscriber of the engine's events: only kinds that may have handlers. */
static void on_event(void *arg, const hs_agent_event *ev, uint64_t id, uint64_t unix_ms)
{
    (void)arg;
    int i = kind_index(ev->kind);
    if (i < 0 || !H->opt.handlers[i][0]) return;
    const char *name = EVENTS(i);
    json_t *o = hsd_json_event(ev, id, unix_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text) dispatch(name, o, text);
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
        log_warn("handler %s[%d] still running at exit: killed", EVENTS(r->j->ev), (int)r->pid);
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
