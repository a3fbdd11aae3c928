/* test_fd_settings.c: the run-time failure-detection settings (lib/fd_settings.c) and their
 * replicated form: the three profiles and their documented values, the bounds every fd[key]
 * must keep (the state machine refuses the rest), the effective settings of a configuration
 * (its profile over the agent's own, then overrides, then the cross-field clamp: the same for
 * every agent at one version), and the membership core taking new timings while it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/cluster_config.h"
#include "hearsay/fd_settings.h"
#include "minicluster.h"

static void test_profiles(void **state)
{
    (void)state;
    assert_int_equal(hs_fd_profile_parse("lan"), HS_FD_LAN);
    assert_int_equal(hs_fd_profile_parse("wan"), HS_FD_WAN);
    assert_int_equal(hs_fd_profile_parse("local"), HS_FD_LOCAL);
    assert_int_equal(hs_fd_profile_parse("LAN"), -1);
    assert_int_equal(hs_fd_profile_parse(NULL), -1);
    assert_null(hs_fd_profile_name(3));
    hs_config d, c;
    hs_config_default(&d);
    c = d;
    assert_int_equal(hs_fd_profile_apply(HS_FD_LAN, &c), 0);
    assert_memory_equal(&c, &d, sizeof(c)); /* lan is the core's defaults */
    assert_int_equal(hs_fd_profile_apply(HS_FD_WAN, &c), 0);
    assert_int_equal(c.probe_interval_ms, 5000);
    assert_int_equal(c.probe_timeout_ms, 3000);
    assert_int_equal(c.gossip_interval_ms, 500);
    assert_int_equal(c.reap_failed_ms, d.reap_failed_ms); /* not a timing of the profile */
    assert_int_equal(hs_fd_profile_apply(HS_FD_LOCAL, &c), 0);
    assert_int_equal(c.probe_interval_ms, 500);
    assert_int_equal(hs_fd_profile_apply(7, &c), -1);
    /* every profile passes the core's own checks */
    for (int p = 0; p < 3; p++) {
        hs_config x;
        hs_config_default(&x);
        snprintf(x.name, sizeof(x.name), "n");
        x.addr = hs_addr_v4(127, 0, 0, 1, 7946);
        hs_fd_profile_apply(p, &x);
        hs_node *n = hs_node_new(&x, (hs_tags){NULL, 0}, 0, 0, 1);
        assert_non_null(n);
        hs_node_free(n);
    }
    for (size_t i = 0; hs_fd_key_at(i); i++) {
        uint64_t v;
        assert_true(hs_fd_get(&d, hs_fd_key_at(i), &v));
    }
}

static void test_bounds(void **state)
{
    (void)state;
    assert_null(hs_fd_check("probe_interval_ms", "2000"));
    assert_null(hs_fd_check("profile", "wan"));
    assert_null(hs_fd_check("quorum_fallback_ms", "0"));
    assert_non_null(hs_fd_check("profile", "fast"));
    assert_non_null(hs_fd_check("probe_interval_ms", "99"));    /* below */
    assert_non_null(hs_fd_check("probe_interval_ms", "30001")); /* above */
    assert_non_null(hs_fd_check("probe_interval_ms", "-5"));    /* no sign */
    assert_non_null(hs_fd_check("probe_interval_ms", " 500"));  /* no blanks */
    assert_non_null(hs_fd_check("probe_interval_ms", "0500"));  /* no leading zero */
    assert_non_null(hs_fd_check("probe_interval_ms", "1e3"));   /* decimal digits only */
    assert_non_null(hs_fd_check("vote_group_size", "17"));      /* the core's ceiling */
    assert_non_null(hs_fd_check("vote_group_size", "99999999999"));
    assert_non_null(hs_fd_check("reap_failed_ms", "1000")); /* not a run-time key */
    assert_non_null(hs_fd_check("name", "x"));
    assert_non_null(hs_fd_check(NULL, "1"));
    /* the state machine refuses what the check refuses, and changes nothing then */
    static hs_cluster_config c;
    hs_cc_init(&c);
    hs_cc_cmd m;
    memset(&m, 0, sizeof(m));
    m.op = HS_CC_SET_FD;
    strcpy(m.key, "probe_interval_ms");
    strcpy(m.value, "20");
    assert_int_equal(hs_cc_apply(&c, &m), HS_CC_EINVAL);
    assert_int_equal(c.version, 0);
    strcpy(m.key, "no_such_key");
    strcpy(m.value, "20");
    assert_int_equal(hs_cc_apply(&c, &m), HS_CC_EINVAL);
    strcpy(m.key, "probe_interval_ms");
    strcpy(m.value, "2000");
    assert_int_equal(hs_cc_apply(&c, &m), HS_CC_OK);
    assert_string_equal(hs_cc_get_fd(&c, "probe_interval_ms"), "2000");
}

static void set_fd(hs_cluster_config *c, const char *k, const char *v)
{
    hs_cc_cmd m;
    memset(&m, 0, sizeof(m));
    m.op = HS_CC_SET_FD;
    strcpy(m.key, k);
    strcpy(m.value, v);
    assert_int_equal(hs_cc_apply(c, &m), HS_CC_OK);
}

static void test_effective(void **state)
{
    (void)state;
    static hs_cluster_config c;
    hs_cc_init(&c);
    hs_config lan, wan, out;
    hs_config_default(&lan);
    wan = lan;
    hs_fd_profile_apply(HS_FD_WAN, &wan);
    int p;
    /* no configuration yet: the agent's own */
    hs_fd_effective(NULL, &wan, HS_FD_WAN, &out, &p);
    assert_int_equal(p, HS_FD_WAN);
    assert_int_equal(out.probe_interval_ms, 5000);
    /* an override over the agent's own profile */
    set_fd(&c, "gossip_fanout", "6");
    hs_fd_effective(&c, &lan, HS_FD_LAN, &out, &p);
    assert_int_equal(out.gossip_fanout, 6);
    assert_int_equal(out.probe_interval_ms, 1000);
    /* the configuration's profile replaces the agent's: agents started with different
     * --profile run the same settings at this version */
    set_fd(&c, "profile", "local");
    hs_config a, b;
    hs_fd_effective(&c, &lan, HS_FD_LAN, &a, &p);
    assert_int_equal(p, HS_FD_LOCAL);
    hs_fd_effective(&c, &wan, HS_FD_WAN, &b, &p);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(a.probe_interval_ms, 500);
    assert_int_equal(a.gossip_fanout, 6);
    /* a probe timeout at or above the indirect timeout is clamped: indirect probes first */
    set_fd(&c, "probe_timeout_ms", "400");
    hs_fd_effective(&c, &lan, HS_FD_LAN, &out, &p);
    assert_int_equal(out.probe_timeout_ms, 400);
    assert_int_equal(out.indirect_timeout_ms, 800);
    /* a value that slipped past the bounds (a configuration from elsewhere) is ignored */
    assert_string_equal(c.fd[0].key, "gossip_fanout");
    strcpy(c.fd[0].value, "0");
    hs_fd_effective(&c, &lan, HS_FD_LAN, &out, &p);
    assert_int_equal(out.gossip_fanout, lan.gossip_fanout); /* local keeps lan's fanout */
}

static uint64_t probes(mc_cluster *c, int i)
{
    return hs_node_stats_get(c->n[i].node)->probes_sent;
}

/* The nodes take a shorter probe interval while they run (as every agent does at one
 * configuration version): they probe about that much more often; a set that would not be
 * valid is refused whole. */
static void test_node_takes_timing(void **state)
{
    (void)state;
    mc_cluster c;
    mc_init(&c, 4);
    mc_start(&c, 0, -1);
    for (int i = 1; i < 4; i++) mc_start(&c, i, 0);
    mc_run(&c, 5000);
    uint64_t p0 = probes(&c, 0);
    mc_run(&c, 10000);
    uint64_t slow = probes(&c, 0) - p0;
    hs_config fast = *hs_node_config(c.n[0].node);
    fast.probe_interval_ms = 250;
    for (int i = 0; i < 4; i++) assert_int_equal(hs_node_set_timing(c.n[i].node, c.now, &fast), 0);
    assert_int_equal(hs_node_config(c.n[0].node)->probe_interval_ms, 250);
    mc_run(&c, 2000);
    p0 = probes(&c, 0);
    mc_run(&c, 10000);
    uint64_t quick = probes(&c, 0) - p0;
    print_message("probes in 10 s: %llu at 1000 ms, %llu at 250 ms\n", (unsigned long long)slow,
                  (unsigned long long)quick);
    assert_true(quick >= 3 * slow);
    hs_config bad = fast;
    bad.probe_timeout_ms = 0;
    assert_int_equal(hs_node_set_timing(c.n[0].node, c.now, &bad), -1);
    assert_int_equal(hs_node_config(c.n[0].node)->probe_timeout_ms, fast.probe_timeout_ms);
    /* the rest of the cluster keeps seeing node0 alive all along */
    assert_true(mc_all_see(&c, 0, HS_ALIVE));
    mc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_effective),
        cmocka_unit_test(test_node_takes_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
