/* membership_health.c: stable verdicts under gray failure. A node judges its own links by its
 * own checks (periodic probes, checks of suspects): a member whose packets are mostly lost fails
 * most of them, a healthy one almost none.
 *   - Told it was declared failed (or reaped), a node holds its return: it suspects nobody and
 *     checks random members (direct Ping, then PingReqs), one at a time. A fresh process (no
 *     check of its own ended yet: a restart) refutes at once. If at most one of its last 8
 *     checks failed (a cut-off verdict, a pause), 3 successful checks in a row, 20 ms apart,
 *     let it refute (a few tens of ms). Otherwise, or once one of these checks fails, it
 *     checks every 100 ms and refutes only when 8 in a row succeeded and readmit_ms (2 s) has
 *     passed since its last failed one. So a member at heavy loss is declared failed once and
 *     stays out until it is healthy again: one member-failed and one member-join per episode.
 *   - A suspicion is refuted without a new incarnation: the suspect sends each of its observers
 *     a fresh Ping, which ends their checks and withdraws their votes. Incarnations rise only
 *     to refute a verdict, so every observer holds the same incarnation of a flaky member and
 *     a verdict about it is not undone by an older refutation still travelling. */
#include <stdlib.h>
#include <string.h>

#include "membership_internal.h"

#define HEALTH_WINDOW  8   /* checks the hold decision looks at */
#define HEALTH_LATE_MS 50  /* a check processed later than this after its end: we were stopped */
#define HOLD_GAP_MS    100 /* spacing of the checks of our links while held */
#define QUICK_GAP_MS   20  /* ... while we think the verdict a mistake */
#define QUICK_CHECKS   3   /* checks that must succeed before refuting a verdict we think wrong */

static unsigned failures_recent(const hs_health *h)
{
    unsigned c = 0;
    for (unsigned i = 0; i < h->counted; i++) c += (h->recent >> i) & 1u;
    return c;
}

static bool healed(const hs_node *n)
{
    const hs_health *h = &n->health;
    if (!h->strict) return h->held_ok >= QUICK_CHECKS;
    return h->held_ok >= HEALTH_WINDOW && n->now - h->last_fail >= n->cfg.readmit_ms;
}

static void release(hs_node *n)
{
    hs_health *h = &n->health;
    if (!h->held || !healed(n)) return;
    h->held = false;
    hs_refute(n, h->held_inc, true);
    hs_catch_up(n); /* what was said while we were out passed us by too */
}

void hs_health_note(hs_node *n, bool ok, uint64_t end_at)
{
    hs_health *h = &n->health;
    if (!ok && n->now > end_at + HEALTH_LATE_MS) return; /* not run in time: says nothing */
    h->recent = (uint8_t)((h->recent << 1) | (ok ? 0u : 1u));
    if (h->counted < HEALTH_WINDOW) h->counted++;
    if (ok) {
        h->held_ok++;
    } else {
        h->held_ok = 0;
        h->strict = true; /* a failed check while held: our links are in doubt */
        h->last_fail = n->now;
    }
    release(n);
}

void hs_health_declared_failed(hs_node *n, uint32_t inc)
{
    hs_health *h = &n->health;
    if (h->held) {
        if (inc > h->held_inc) h->held_inc = inc;
        return;
    }
    if (n->leaving) return;
    if (!h->counted) { /* a fresh start (no check of ours has ended): nothing to doubt */
        hs_refute(n, inc, true);
        return;
    }
    h->held = true;
    h->strict = failures_recent(h) > 1; /* more than one of our last 8 checks failed */
    h->held_ok = 0;
    h->held_inc = inc;
    h->next_check = n->now;
    n->stats.holds++;
}

void hs_prove_alive(hs_node *n, uint32_t inc)
{
    hs_health *h = &n->health;
    if (n->leaving) return;
    if (inc > n->self->inc) { /* they know a newer incarnation of ours than we do */
        hs_refute(n, inc, false);
        return;
    }
    if (h->proof_at && n->now < h->proof_at + n->cfg.probe_timeout_ms) return;
    h->proof_at = n->now;
    n->stats.refutations++;
    hs_member *obs[HS_MAX_VOTE_GROUP];
    size_t k = hs_observers(n, n->self, obs, HS_MAX_VOTE_GROUP);
    for (size_t i = 0; i < k; i++) {
        uint32_t seq = ++n->next_seq;
        if (!seq) seq = ++n->next_seq;
        hs_addr a = hs_member_addr(n, obs[i]);
        hs_send_ping(n, obs[i], &a, seq);
    }
}

static bool health_check_running(const hs_node *n)
{
    for (size_t i = 0; i < HS_MAX_CHECKS; i++)
        if (n->checks[i].used && n->checks[i].kind == HS_CHECK_HEALTH) return true;
    return false;
}

void hs_health_tick(hs_node *n)
{
    hs_health *h = &n->health;
    if (!h->held) return;
    release(n);
    if (!h->held || n->now < h->next_check || health_check_running(n)) return;
    h->next_check = n->now + (h->strict ? HOLD_GAP_MS : QUICK_GAP_MS);
    hs_member *m = hs_random_live(n, NULL, NULL);
    if (m) hs_start_health_check(n, m);
}

uint64_t hs_health_next_deadline(const hs_node *n)
{
    if (!n->health.held || health_check_running(n)) return 0; /* a check's end ticks us */
    return n->health.next_check > n->now ? n->health.next_check : n->now + 1;
}
