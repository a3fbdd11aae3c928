/* view.h: what the simulated nodes believe, built from their events, checked against ground
 * truth: per-observer status of every subject, counts per subject, watches that time how
 * long a change takes to reach everyone, the invariants, the event trace and its digest. */
#ifndef HS_SIM_VIEW_H
#define HS_SIM_VIEW_H

#include <stdio.h>

#include "sim.h"

enum {
    TR_START = 100,
    TR_CRASH,
    TR_RESTART,
    TR_PAUSE,
    TR_RESUME,
    TR_LEAVE,
    TR_STOP,
    TR_PARTITION,
    TR_HEAL,
    TR_LOSS,
};

void view_init(sim *s);
void view_free(sim *s);

void view_on_event(sim *s, uint32_t obs, const hs_event *ev);
void view_add_observer(sim *s, uint32_t i);
void view_remove_observer(sim *s, uint32_t i); /* clears its row: O(N), only on faults */
void view_on_crash(sim *s, uint32_t i);
/* Re-evaluates watches after the observer set changed and runs due crash checks. */
void view_poll(sim *s);
static inline bool view_poll_due(const sim *s)
{
    const sim_view *v = &s->view;
    return v->chk_len && v->crash_chk[v->chk_head].deadline_us <= s->now_us;
}

/* Starts timing how long until every observer shows subject with status; returns a handle. */
int view_watch(sim *s, uint32_t subject, hs_status st);
const sim_watch *view_watch_get(const sim *s, int w);
void view_unwatch(sim *s, int w);

/* Marks a subject for flip counting (stability scenario). */
void view_flag(sim *s, uint32_t subject);
/* Largest alive<->failed flip count of flagged subjects over all observers, and totals. */
void view_flip_stats(const sim *s, uint32_t *max_flips, uint64_t *total_flips,
                     uint64_t *suspect_episodes);

/* Cheap check from the counts: every observer holds every running member alive, every
 * crashed member not alive/suspect, every left member left (or forgotten). */
bool view_converged(const sim *s);
/* Describes the first subject that keeps view_converged false (empty when converged). */
void view_explain(const sim *s, char *buf, size_t len);
/* Full check against the node tables (O(N^2)): event views agree with tables, and all
 * observers hold identical (name, status) sets. Returns 0 when converged; *identical is set
 * when the whole tables, failed and left members included, are the same everywhere. */
int view_table_check(sim *s, bool *identical, char *why, size_t whylen);

void view_trace(sim *s, uint32_t what, uint32_t node, uint32_t subject, uint32_t inc,
                uint8_t status);
void view_digest_bytes(sim *s, const void *p, size_t n);
void view_dump_trace(const sim *s, FILE *f);

#endif
