/* engine.h: the daemon's engine: it owns the event loop, the clock, the agent core
 * (include/hearsay/agent.h), the secure channel and the transports, feeds the agent time and
 * payloads and performs its outputs in one place. The front-end (http_*.c) and the other
 * edges (signals, sd_notify, handlers) use only these operations and read-only views. */
#ifndef HSD_ENGINE_H
#define HSD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/agent.h"
#include "options.h"
#include "transport.h"

struct event_base;
typedef struct hsd_engine hsd_engine;

/* Builds everything below the front-end from the options: the loop, the key ring (key file or
 * the saved ring), the channel, the transports, Raft storage (seeds), the agent. NULL with
 * *status the exit status main should return (and the reason logged). */
hsd_engine *hsd_engine_new(const hsd_options *o, int *status);
/* The same without transports (the fuzzers: nothing an input makes the agent send leaves the
 * process); payloads come in through hsd_engine_deliver. */
hsd_engine *hsd_engine_new_offline(const hsd_options *o, int *status);
void hsd_engine_deliver(hsd_engine *e, const hs_addr *from, const uint8_t *data, size_t len,
                        bool stream);
/* Publishes what the agent did at creation (a seed applies its log) and joins: call once the
 * subscribers are in place. */
void hsd_engine_start(hsd_engine *e);
/* Runs the loop until a leave has been gossiped (or hsd_engine_stop). 0 or -1. */
int hsd_engine_run(hsd_engine *e);
void hsd_engine_run_once(hsd_engine *e); /* what is ready now, without waiting (tests) */
void hsd_engine_stop(hsd_engine *e);
void hsd_engine_free(hsd_engine *e);

/* ---- operations (the front-end's) ---- */

/* An operation's end. d is valid during the call only. */
typedef void (*hsd_done_fn)(void *arg, const hs_agent_done *d);
/* Each returns false when the operation cannot start (no slot); fn then is never called. */
bool hsd_engine_config_op(hsd_engine *e, int kind, const char *key, const char *value,
                          const char *idem, hsd_done_fn fn, void *arg);
bool hsd_engine_keys_survey(hsd_engine *e, bool change, bool admin, uint64_t wait_ms,
                            hsd_done_fn fn, void *arg);
bool hsd_engine_keys_rotate(hsd_engine *e, const uint8_t key[HS_ENV_KEY_BYTES], uint64_t wait_ms,
                            hsd_done_fn fn, void *arg);
/* User events and queries (user_events.h): the operation id, or 0 with *err (hs_ue_error) when
 * it cannot start; fn gets its end (d->user), reply each acknowledgement and answer of a query
 * as it arrives (r valid during the call only). */
typedef void (*hsd_reply_fn)(void *arg, const hs_agent_reply *r);
uint64_t hsd_engine_fire_event(hsd_engine *e, const char *name, const uint8_t *payload, size_t len,
                               bool coalesce, uint64_t wait_ms, hsd_done_fn fn, void *arg,
                               int *err);
uint64_t hsd_engine_query(hsd_engine *e, const hs_ue_query_spec *q, hsd_reply_fn reply,
                          hsd_done_fn fn, void *arg, int *err);
/* The answer (or the decline) of a query delivered here (ref from its event). */
int hsd_engine_query_respond(hsd_engine *e, uint64_t ref, const uint8_t *payload, size_t len,
                             bool no_handler);
/* The reachability test (hs_agent_reachability): false when one is running; fn is called
 * once it has ended (results: hs_node_reachability_results of the agent's node). */
typedef void (*hsd_reach_fn)(void *arg);
bool hsd_engine_reachability(hsd_engine *e, hsd_reach_fn fn, void *arg);
void hsd_engine_join(hsd_engine *e, const hs_addr *addrs, size_t n);
/* Joins host names once looked up and follows them (targets.h): fn gets how many addresses
 * were joined and the first name that did not resolve ("cannot resolve HOST: why", else
 * NULL). false (fn never called) offline or when too many names are followed. */
typedef void (*hsd_join_names_fn)(void *arg, size_t joined, const char *error);
bool hsd_engine_join_names(hsd_engine *e, const hsd_target *names, size_t n, hsd_join_names_fn fn,
                           void *arg);
int hsd_engine_set_tags(hsd_engine *e, hs_tags tags); /* -1: malformed */
/* Starts a graceful leave; the loop ends ~500 ms later, once it has been gossiped. */
void hsd_engine_leave(hsd_engine *e);

/* ---- events: one publish point, subscribers register ---- */

/* id: increases by one per event and keeps growing across restarts (start time in ms x 1000);
 * unix_ms: when it was published. ev's tags are valid during the call only. */
typedef void (*hsd_event_fn)(void *arg, const hs_agent_event *ev, uint64_t id, uint64_t unix_ms);
int hsd_engine_subscribe(hsd_engine *e, hsd_event_fn fn, void *arg); /* -1: table full */
uint64_t hsd_engine_events_total(const hsd_engine *e);
uint64_t hsd_engine_first_event_id(const hsd_engine *e); /* the id of this run's first event */
/* A status line changed (role, members): for sd_notify. Called from the loop. */
typedef void (*hsd_status_fn)(void *arg);
void hsd_engine_on_status(hsd_engine *e, hsd_status_fn fn, void *arg);

/* ---- waiting, for the edges (engine_loop.c): timers, descriptors, signals ---- */

typedef struct hsd_watch hsd_watch;
typedef void (*hsd_watch_fn)(void *arg);
hsd_watch *hsd_timer_new(hsd_engine *e, hsd_watch_fn fn, void *arg); /* once per start */
hsd_watch *hsd_every_new(hsd_engine *e, hsd_watch_fn fn, void *arg); /* every ms of start */
hsd_watch *hsd_fd_watch_new(hsd_engine *e, int fd, bool writable, hsd_watch_fn fn, void *arg);
hsd_watch *hsd_signal_watch_new(hsd_engine *e, int sig, hsd_watch_fn fn, void *arg);
/* Arms w: a timer fires ms from now (an every-timer every ms); the others until stopped. */
int hsd_watch_start(hsd_watch *w, uint64_t ms);
void hsd_watch_stop(hsd_watch *w);
bool hsd_watch_pending(const hsd_watch *w);
void hsd_watch_free(hsd_watch *w); /* NULL is fine */

/* ---- read-only views ---- */

/* The loop itself, for the HTTP front-end (evhttp) and the transports only. */
struct event_base *hsd_engine_base(const hsd_engine *e);
const hsd_options *hsd_engine_options(const hsd_engine *e);
const hs_agent *hsd_engine_agent(const hsd_engine *e);
const hs_envelope *hsd_engine_envelope(const hsd_engine *e);
const hs_channel *hsd_engine_channel(const hsd_engine *e);
const hsd_wire_stats *hsd_engine_wire(const hsd_engine *e);
void hsd_engine_conns(const hsd_engine *e, unsigned *in, unsigned *out);
hs_addr hsd_engine_advertise(const hsd_engine *e);
uint64_t hsd_engine_started_ms(const hsd_engine *e); /* monotonic */
bool hsd_engine_leaving(const hsd_engine *e);
bool hsd_engine_ready(const hsd_engine *e); /* joined, or alone by design */
/* The exit status the loop ended with: 0, or HSD_EXIT_CONFIG once the agent found its name
 * held by another agent (hs_agent_stopped; the log says why). */
int hsd_engine_exit_status(const hsd_engine *e);

#endif
