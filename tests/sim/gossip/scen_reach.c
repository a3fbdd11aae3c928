/* scen_reach.c: the reachability test (lib/membership_reach.c) at scale: one node tests every
 * member while 1 % of them are cut off from it (both ways; the others reach them) and 1 % have
 * just crashed. Every result must be right: direct for the rest, relayed for the cut-off ones,
 * none for the crashed; figures: the test's duration and the datagrams the tester sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen.h"

enum { GROUP_TESTER = 2, GROUP_CUT = 3 };

int scen_reach(const sim_opts *o)
{
    uint32_t n = o->nodes;
    sim *s = sim_new(n, o);
    s->strict_no_false_fail = false; /* a cut is in place during the test */
    scen_out out;
    out_init(&out, "reach", o);
    int rc;
    if (!scen_boot(s, &out, n, &rc)) return rc;
    int t = scen_pick(s, true);
    uint32_t k = n / 100 ? n / 100 : 1, cut = 0, crashed = 0;
    if (t < 0 || n < 2 * k + 3) {
        out_add(&out, "error=too_few_nodes");
        rc = out_finish(&out, s, 0);
        sim_free(s);
        return rc;
    }
    uint8_t *want = calloc(n, 1); /* expected hs_reach_result per node */
    for (uint32_t i = 0; i < n; i++) want[i] = HS_REACH_DIRECT;
    s->nodes[t].group = GROUP_TESTER;
    while (cut < k) {
        int j = scen_pick(s, true);
        if (j < 0 || j == t || s->nodes[j].group) continue;
        s->nodes[j].group = GROUP_CUT;
        want[j] = HS_REACH_RELAYED;
        cut++;
    }
    sim_partition(s, GROUP_TESTER, GROUP_CUT, false);
    while (crashed < k) {
        int j = scen_pick(s, true);
        if (j < 0 || j == t || s->nodes[j].group) continue;
        sim_crash(s, (uint32_t)j);
        want[j] = HS_REACH_NONE;
        crashed++;
    }
    uint64_t pkts0 = s->nodes[t].pkts_out, start = s->now_us;
    long asked = sim_reachability(s, (uint32_t)t);
    const hs_node *core = s->nodes[t].core;
    while (hs_node_reachability_running(core) && s->now_us - start < sec_us(10) && !s->failed)
        sim_run_until(s, s->now_us + 1000);
    uint64_t took_ms = (s->now_us - start) / 1000, pkts = s->nodes[t].pkts_out - pkts0;
    const hs_reach_member *m;
    size_t nres = hs_node_reachability_results(core, &m);
    uint32_t counts[4] = {0, 0, 0, 0}, wrong = 0;
    uint32_t rtt_max[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < nres; i++) {
        int j = sim_index_of_name(s, m[i].name);
        counts[m[i].result & 3]++;
        if (m[i].rtt_ms > rtt_max[m[i].result & 3]) rtt_max[m[i].result & 3] = m[i].rtt_ms;
        if (j < 0 || m[i].result != want[j]) wrong++;
    }
    sim_heal(s);
    out_add(&out,
            "asked=%ld direct=%u relayed=%u none=%u wrong=%u took_ms=%llu tester_pkts=%llu "
            "direct_rtt_max_ms=%u relayed_rtt_max_ms=%u",
            asked, counts[HS_REACH_DIRECT], counts[HS_REACH_RELAYED], counts[HS_REACH_NONE], wrong,
            (unsigned long long)took_ms, (unsigned long long)pkts, rtt_max[HS_REACH_DIRECT],
            rtt_max[HS_REACH_RELAYED]);
    int ok = asked == (long)n - 1 && nres == n - 1 && wrong == 0 &&
             counts[HS_REACH_RELAYED] == cut && counts[HS_REACH_NONE] == crashed;
    free(want);
    rc = out_finish(&out, s, ok);
    sim_free(s);
    return rc;
}
