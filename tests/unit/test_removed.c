/* test_removed.c: members removed by force-leave (lib/member_removed.c), as the agent applies the
 * configuration's list to every node. A removed member is shown left everywhere and stays so
 * while it runs on and refutes; everything it sends is refused; with prune it is forgotten
 * behind a tombstone, and once readmitted its recorded traffic still does not bring it back
 * while the member itself, starting again, does; a node whose own name is removed goes quiet
 * and comes back when readmitted. The sender each message type claims is read correctly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/codec.h"
#include "hearsay/wire.h"
#include "membership_internal.h"
#include "minicluster.h"

#define N      5
#define VICTIM 3

static void boot(mc_cluster *c)
{
    mc_init(c, N);
    mc_start(c, 0, -1);
    mc_record(c, VICTIM, 2000);
    for (int i = 1; i < N; i++) mc_start(c, i, 0);
    mc_run(c, 8000);
    for (int i = 0; i < N; i++) assert_true(mc_all_see(c, i, HS_ALIVE));
}

/* The configuration reached every node but the victim (as after a force-leave of a member
 * that is down or cut off). */
static void remove_everywhere(mc_cluster *c, bool prune)
{
    for (int i = 0; i < N; i++)
        if (i != VICTIM) hs_node_remove_member(c->n[i].node, c->now, "node3", prune);
}

static void readmit_everywhere(mc_cluster *c)
{
    for (int i = 0; i < N; i++)
        if (i != VICTIM) hs_node_readmit_member(c->n[i].node, c->now, "node3");
}

static void test_removed_member_stays_left(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    remove_everywhere(&c, false);
    mc_run(&c, 10);
    uint32_t joins[N];
    for (int i = 0; i < N; i++) joins[i] = c.events[i][VICTIM][HS_EV_JOIN];
    for (int i = 0; i < N; i++)
        if (i != VICTIM) {
            assert_int_equal(mc_status(&c, i, VICTIM), HS_LEFT);
            assert_int_equal(c.events[i][VICTIM][HS_EV_LEFT], 1);
            assert_int_equal(hs_node_removed(c.n[i].node, "node3"), 0);
        }
    /* it runs on (it never learnt it was removed), probes, is told it left and refutes: none
     * of it counts anywhere */
    mc_run(&c, 15000);
    uint64_t refused = 0;
    for (int i = 0; i < N; i++) {
        if (i == VICTIM) continue;
        assert_int_equal(mc_status(&c, i, VICTIM), HS_LEFT);
        assert_int_equal(c.events[i][VICTIM][HS_EV_JOIN], joins[i]);
        refused += hs_node_stats_get(c.n[i].node)->removed_refused;
    }
    assert_true(refused > 0);
    mc_free(&c);
}

static bool victim_alive(mc_cluster *c, void *arg)
{
    (void)arg;
    return mc_all_see(c, VICTIM, HS_ALIVE);
}

static void test_prune_forgets_and_readmit_needs_the_member(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    mc_record(&c, VICTIM, 0);
    mc_crash(&c, VICTIM);
    remove_everywhere(&c, true);
    for (int i = 0; i < N; i++)
        if (i != VICTIM) {
            assert_int_equal((int)mc_status(&c, i, VICTIM), -1);
            assert_int_equal(hs_node_removed(c.n[i].node, "node3"), 1);
            assert_true(hs_node_tombstone_count(c.n[i].node) >= 1);
        }
    mc_run(&c, 2000);
    readmit_everywhere(&c);
    /* everything node3 ever sent, again, to everyone: no tombstone lets it through */
    for (size_t k = 0; k < c.nrec; k++)
        for (int to = 0; to < N; to++)
            if (to != VICTIM) {
                mc_replay(&c, &c.rec[k], to);
                assert_int_equal((int)mc_status(&c, to, VICTIM), -1);
            }
    mc_run(&c, 3000);
    for (int i = 0; i < N; i++)
        if (i != VICTIM) assert_int_equal((int)mc_status(&c, i, VICTIM), -1);
    /* the member itself starting again (its persisted incarnation) is back everywhere */
    mc_start(&c, VICTIM, 0);
    assert_true(mc_run_until(&c, 5000, victim_alive, NULL) != UINT64_MAX);
    mc_free(&c);
}

static void test_removed_self_goes_quiet_and_comes_back(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    for (int i = 0; i < N; i++) hs_node_remove_member(c.n[i].node, c.now, "node3", false);
    mc_run(&c, 100);
    uint64_t out = hs_node_stats_get(c.n[VICTIM].node)->msgs_out;
    mc_run(&c, 5000);
    assert_int_equal(hs_node_stats_get(c.n[VICTIM].node)->msgs_out, out); /* quiet */
    for (int i = 0; i < N; i++)
        if (i != VICTIM) assert_int_equal(mc_status(&c, i, VICTIM), HS_LEFT);
    uint32_t inc = c.n[VICTIM].last_inc;
    for (int i = 0; i < N; i++) hs_node_readmit_member(c.n[i].node, c.now, "node3");
    assert_true(mc_run_until(&c, 5000, victim_alive, NULL) != UINT64_MAX);
    assert_true(c.n[VICTIM].last_inc > inc);
    mc_free(&c);
}

/* Entries about a removed name, whatever their incarnation, and votes it casts, are refused. */
static void test_entries_and_votes_of_removed_refused(void **state)
{
    (void)state;
    mc_cluster c;
    boot(&c);
    mc_crash(&c, VICTIM);
    remove_everywhere(&c, true);
    uint8_t buf[256];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_GOSSIP);
    hs_put_str8(&w, "node1", 5);
    hs_put_u8(&w, 1);
    hs_put_str8(&w, "node3", 5);
    hs_addr a = mc_addr(VICTIM);
    hs_put_u8(&w, 4);
    hs_put_bytes(&w, a.ip, 4);
    hs_put_u16(&w, a.port);
    hs_put_u32(&w, 999999);
    hs_put_u8(&w, HS_ALIVE);
    hs_put_u16(&w, 0);
    mc_inject_from(&c, 1, 0, buf, w.len);
    assert_int_equal((int)mc_status(&c, 0, VICTIM), -1);
    /* a vote by node3 against node1 */
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_VOTE);
    hs_put_str8(&w, "node1", 5);
    hs_put_u32(&w, 0);
    hs_put_str8(&w, "node3", 5);
    hs_put_u8(&w, 0);
    uint64_t before = hs_node_stats_get(c.n[0].node)->removed_refused;
    mc_inject_from(&c, VICTIM, 0, buf, w.len);
    assert_int_equal(hs_node_stats_get(c.n[0].node)->removed_refused, before + 1);
    assert_int_equal(mc_status(&c, 0, 1), HS_ALIVE);
    mc_free(&c);
}

static void expect_sender(const uint8_t *b, size_t n, const char *want, uint32_t want_seq)
{
    char name[HS_NAME_MAX + 1];
    uint32_t seq;
    assert_true(hs_msg_sender(b, n, name, &seq));
    assert_string_equal(name, want);
    assert_int_equal(seq, want_seq);
}

/* The sender each message type claims, read from the layouts of docs/protocol.md; a change of
 * a layout breaks this test instead of quietly letting a removed member's messages through. */
static void test_message_senders(void **state)
{
    (void)state;
    mc_cluster c;
    mc_init(&c, 2);
    mc_record(&c, -1, 1000);
    mc_start(&c, 0, -1);
    mc_start(&c, 1, 0);
    mc_run(&c, 6000);
    bool seen[16] = {false};
    for (size_t k = 0; k < c.nrec; k++) {
        const mc_rec *r = &c.rec[k];
        char want[16];
        snprintf(want, sizeof(want), "node%d", r->from);
        uint8_t t = r->data[0];
        if (t == HS_MSG_PING || t == HS_MSG_PONG || t == HS_MSG_MEET || t == HS_MSG_MEET_REPLY ||
            t == HS_MSG_GOSSIP) {
            hs_reader rd;
            hs_reader_init(&rd, r->data + 1, r->len - 1);
            uint32_t seq = t == HS_MSG_PING || t == HS_MSG_PONG ? hs_get_u32(&rd) : 0;
            expect_sender(r->data, r->len, want, seq);
            seen[t] = true;
        }
    }
    assert_true(seen[HS_MSG_PING] && seen[HS_MSG_PONG] && seen[HS_MSG_MEET] &&
                seen[HS_MSG_MEET_REPLY]);
    uint8_t buf[64];
    hs_writer w;
    hs_writer_init(&w, buf, sizeof(buf));
    hs_put_u8(&w, HS_MSG_SUSPECT);
    hs_put_str8(&w, "subj", 4);
    hs_put_u32(&w, 3);
    hs_put_str8(&w, "raiser", 6);
    expect_sender(buf, w.len, "raiser", 0);
    char name[HS_NAME_MAX + 1];
    uint32_t seq;
    uint8_t reach[] = {HS_MSG_REACH, 0, 0, 0, 1};
    assert_false(hs_msg_sender(reach, sizeof(reach), name, &seq));
    uint8_t cut[] = {HS_MSG_PING, 0, 0};
    assert_false(hs_msg_sender(cut, sizeof(cut), name, &seq));
    mc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removed_member_stays_left),
        cmocka_unit_test(test_prune_forgets_and_readmit_needs_the_member),
        cmocka_unit_test(test_removed_self_goes_quiet_and_comes_back),
        cmocka_unit_test(test_entries_and_votes_of_removed_refused),
        cmocka_unit_test(test_message_senders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
