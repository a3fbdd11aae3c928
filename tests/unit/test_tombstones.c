/* test_tombstones.c: a reaped member's tombstone (lib/member_tombs.c). Traffic recorded while a
 * member lived, replayed after it left or failed and was reaped everywhere, neither revives it,
 * nor puts it back in any table, nor makes any node publish an event about it; the real member
 * starting again (persisted or wiped incarnation) is alive everywhere at once; a member that
 * joins later refuses the ghost too; the table is bounded (oldest first out) and ages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/codec.h"
#include "hearsay/wire.h"
#include "minicluster.h"

#define REAP_MS   3000
#define VICTIM    4
#define REC_LIMIT 4000

static void start_cluster(mc_cluster *c, int n, int record_from)
{
    mc_init(c, n);
    c->cfg.reap_left_ms = REAP_MS;
    c->cfg.reap_failed_ms = REAP_MS;
    mc_start(c, 0, -1);
    mc_record(c, -1, REC_LIMIT); /* everything from the joins on, the victim's Meet included */
    for (int i = 1; i < n; i++)
        if (i != record_from) mc_start(c, i, 0);
}

static bool victim_gone(mc_cluster *c, void *arg)
{
    int v = *(int *)arg;
    for (int i = 0; i < c->count; i++) {
        if (i == v || c->n[i].crashed || !c->n[i].node) continue;
        if ((int)mc_status(c, i, v) != -1) return false;
    }
    return true;
}

static bool victim_alive(mc_cluster *c, void *arg)
{
    return mc_all_see(c, *(int *)arg, HS_ALIVE);
}

static bool victim_failed(mc_cluster *c, void *arg)
{
    return mc_all_see(c, *(int *)arg, HS_FAILED);
}

static uint32_t events_about(mc_cluster *c, int v, int type)
{
    uint32_t sum = 0;
    for (int i = 0; i < c->count; i++)
        if (i != v) sum += mc_events(c, i, v, type);
    return sum;
}

/* Replays every recorded packet `rounds` times, 200 ms apart, each to its own destination and
 * to every other node, and checks after every delivery that no live node holds the victim. */
static void replay_everything(mc_cluster *c, int v, int rounds)
{
    for (int k = 0; k < rounds; k++) {
        for (size_t i = 0; i < c->nrec; i++) {
            for (int to = 0; to < c->count; to++) {
                if (to == v) continue;
                mc_replay(c, &c->rec[i], to);
                assert_int_equal((int)mc_status(c, to, v), -1);
            }
        }
        mc_run(c, 200);
        assert_true(victim_gone(c, &v));
    }
}

/* Writes a Gossip message from `from` with one entry about `name`. */
static size_t gossip_entry(uint8_t *buf, size_t cap, const char *from, const char *name, hs_addr a,
                           uint32_t inc, uint8_t status)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, HS_MSG_GOSSIP);
    hs_put_str8(&w, from, strlen(from));
    hs_put_u8(&w, 1);
    hs_put_str8(&w, name, strlen(name));
    hs_put_u8(&w, 4);
    hs_put_bytes(&w, a.ip, 4);
    hs_put_u16(&w, a.port);
    hs_put_u32(&w, inc);
    hs_put_u8(&w, status);
    hs_put_u16(&w, 0); /* no tags */
    assert_true(w.ok);
    return w.len;
}

/* Gossip about the victim at every incarnation up to and including `top`, with every status,
 * from another member's address and from an unknown one. */
static void replay_forged_entries(mc_cluster *c, int v, uint32_t top)
{
    uint8_t buf[256];
    char name[16];
    snprintf(name, sizeof(name), "node%d", v);
    for (uint32_t inc = 0; inc <= top; inc++)
        for (uint8_t st = HS_ALIVE; st <= HS_LEFT; st++) {
            if (st == HS_SUSPECT) continue;
            size_t len = gossip_entry(buf, sizeof(buf), "node1", name, mc_addr(v), inc, st);
            for (int to = 0; to < c->count; to++) {
                if (to == v) continue;
                mc_inject_from(c, 1, to, buf, len);
                mc_inject(c, to, buf, len);
            }
        }
}

/* The victim lives 6 s (every packet recorded), then leaves (left = true) or crashes; once
 * it is reaped everywhere everything recorded is replayed. Returns the incarnation the
 * victim was last known at. */
static uint32_t depart_and_replay(mc_cluster *c, bool leave)
{
    int v = VICTIM;
    start_cluster(c, 6, v);
    mc_start(c, v, 0);
    mc_run(c, 6000);
    assert_true(victim_alive(c, &v));
    if (leave) {
        hs_node_leave(c->n[v].node, c->now);
        mc_run(c, 500);
        assert_true(mc_all_see(c, v, HS_LEFT));
        mc_crash(c, v); /* the process exits */
    } else {
        mc_crash(c, v);
        assert_true(mc_run_until(c, 8000, victim_failed, &v) != UINT64_MAX);
    }
    mc_record(c, -1, 0);
    hs_member_info info;
    assert_true(hs_node_find(c->n[0].node, "node4", &info));
    uint32_t inc = info.incarnation;
    assert_true(mc_run_until(c, REAP_MS + 3000, victim_gone, &v) != UINT64_MAX);
    uint32_t before = events_about(c, v, -1);
    assert_true(mc_events(c, 0, v, HS_EV_REAP) == 1);
    replay_everything(c, v, 3);
    replay_forged_entries(c, v, inc);
    mc_run(c, 2000);
    assert_true(victim_gone(c, &v));
    assert_int_equal(events_about(c, v, -1), before); /* no join, no leave, nothing */
    return inc;
}

static void test_left_member_replay_does_not_revive(void **state)
{
    (void)state;
    mc_cluster c;
    depart_and_replay(&c, true);
    printf("# %zu recorded packets, each replayed to all 5 live nodes in 3 rounds\n", c.nrec);
    mc_free(&c);
}

static void test_failed_member_replay_does_not_revive(void **state)
{
    (void)state;
    mc_cluster c;
    depart_and_replay(&c, false);
    mc_free(&c);
}

/* After the replays the real member starts again: with the incarnation it persisted and with
 * a wiped data dir (0). Either way it is alive everywhere within a few round trips, at an
 * incarnation above the tombstone's. */
static void restart_after_replay(bool leave, bool wiped)
{
    mc_cluster c;
    int v = VICTIM;
    uint32_t inc = depart_and_replay(&c, leave);
    if (wiped) c.n[v].last_inc = 0;
    mc_start(&c, v, 0);
    uint64_t t = mc_run_until(&c, 3000, victim_alive, &v);
    printf("# %s, %s: alive everywhere %llu ms after the restart\n", leave ? "left" : "failed",
           wiped ? "wiped" : "persisted incarnation", (unsigned long long)t);
    assert_true(t <= 100);
    hs_member_info info;
    assert_true(hs_node_find(c.n[0].node, "node4", &info));
    assert_true(info.incarnation > inc);
    assert_int_equal(events_about(&c, v, HS_EV_JOIN), (uint32_t)(c.count - 1) * 2);
    mc_run(&c, 5000); /* and it stays */
    assert_true(victim_alive(&c, &v));
    mc_free(&c);
}

static void test_restart_after_leave_persisted(void **state)
{
    (void)state;
    restart_after_replay(true, false);
}

static void test_restart_after_leave_wiped(void **state)
{
    (void)state;
    restart_after_replay(true, true);
}

static void test_restart_after_failure_persisted(void **state)
{
    (void)state;
    restart_after_replay(false, false);
}

static void test_restart_after_failure_wiped(void **state)
{
    (void)state;
    restart_after_replay(false, true);
}

/* Node 5 joins after node 4 was reaped everywhere: the Meet exchange gives it the tombstones,
 * so a replay to the newcomer does not revive node 4 either. */
static void test_later_joiner_refuses_the_ghost(void **state)
{
    (void)state;
    mc_cluster c;
    int v = VICTIM, late = 5;
    start_cluster(&c, 6, late);
    c.count = 5; /* node 5 not started yet */
    mc_run(&c, 6000);
    hs_node_leave(c.n[v].node, c.now);
    mc_run(&c, 500);
    mc_crash(&c, v);
    mc_record(&c, -1, 0);
    assert_true(mc_run_until(&c, REAP_MS + 3000, victim_gone, &v) != UINT64_MAX);
    c.count = 6;
    mc_start(&c, late, 2);
    mc_run(&c, 100);
    assert_true(mc_all_see(&c, late, HS_ALIVE));
    for (size_t i = 0; i < c.nrec; i++) {
        mc_replay(&c, &c.rec[i], late);
        assert_int_equal((int)mc_status(&c, late, v), -1);
    }
    mc_run(&c, 1000);
    assert_int_equal((int)mc_status(&c, late, v), -1);
    assert_int_equal(mc_events(&c, late, v, -1), 0);
    mc_free(&c);
}

/* ---- one node fed by hand: the answers, the bound and the ageing of the table ---- */

/* A node alone, fed by hand; members that leave are reaped after REAP_MS. */
static hs_node *lone_node(uint32_t max_members, uint64_t reap_failed_ms)
{
    hs_config cfg;
    hs_config_default(&cfg);
    strcpy(cfg.name, "self");
    cfg.addr = hs_addr_v4(127, 0, 0, 1, 7946);
    cfg.max_members = max_members;
    cfg.reap_failed_ms = reap_failed_ms;
    cfg.reap_left_ms = REAP_MS;
    return hs_node_new(&cfg, (hs_tags){NULL, 0}, 0, 1000, 9);
}

static uint64_t now_ms = 1000;

/* What the node sent and published since the last feed(). */
typedef struct sent {
    uint8_t data[HS_PACKET_MAX];
    size_t len;
} sent;
static sent outs[16];
static size_t nouts, njoins, nevents;

static void drain_node(hs_node *n)
{
    hs_packet p;
    hs_event e;
    while (hs_node_next_packet(n, &p))
        if (nouts < 16 && p.len <= HS_PACKET_MAX) {
            memcpy(outs[nouts].data, p.data, p.len);
            outs[nouts++].len = p.len;
        }
    while (hs_node_next_event(n, &e)) {
        njoins += e.type == HS_EV_JOIN;
        nevents++;
    }
}

static void feed(hs_node *n, const uint8_t *buf, size_t len)
{
    hs_addr from = hs_addr_v4(127, 0, 0, 2, 7946);
    nouts = njoins = nevents = 0;
    hs_node_receive(n, now_ms, &from, buf, len, false);
    drain_node(n);
}

static void feed_entry(hs_node *n, const char *name, uint32_t inc, uint8_t status)
{
    uint8_t buf[256];
    feed(n, buf,
         gossip_entry(buf, sizeof(buf), "peer", name, hs_addr_v4(127, 0, 1, 1, 7946), inc, status));
}

/* A TOMBS message with one record. */
static size_t tombs_msg(uint8_t *buf, size_t cap, const char *name, uint32_t inc, uint8_t status,
                        uint32_t age_s)
{
    hs_writer w;
    hs_writer_init(&w, buf, cap);
    hs_put_u8(&w, HS_MSG_TOMBS);
    hs_put_u8(&w, 1);
    hs_put_str8(&w, name, strlen(name));
    hs_put_u32(&w, inc);
    hs_put_u8(&w, status);
    hs_put_u32(&w, age_s);
    assert_true(w.ok);
    return w.len;
}

static void advance(hs_node *n, uint64_t ms)
{
    for (uint64_t end = now_ms + ms; now_ms < end;) {
        now_ms += 100;
        hs_node_tick(n, now_ms);
        drain_node(n);
    }
}

/* Member m<i> joins at incarnation 1, leaves at 2 and is reaped REAP_MS later. */
static void join_leave_reap(hs_node *n, int first, int last)
{
    char name[16];
    for (int i = first; i <= last; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        feed_entry(n, name, 1, HS_ALIVE);
        feed_entry(n, name, 2, HS_LEFT);
        advance(n, 1000); /* reaped in this order, at different housekeeping rounds */
    }
    advance(n, REAP_MS + 1000);
    for (int i = first; i <= last; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        assert_false(hs_node_find(n, name, &(hs_member_info){0}));
    }
}

/* Replays "m<i> alive at 1"; true if it came back (a join event). */
static bool revived_by_replay(hs_node *n, int i)
{
    char name[16];
    snprintf(name, sizeof(name), "m%d", i);
    feed_entry(n, name, 1, HS_ALIVE);
    return njoins > 0 || hs_node_find(n, name, &(hs_member_info){0});
}

/* The one TOMBS message the node sent after the last feed (its length), checking that it
 * holds exactly one record: name at inc with status. 0 if it sent none. */
static size_t answer_about(const char *name, uint32_t inc, uint8_t status)
{
    size_t found = 0;
    for (size_t k = 0; k < nouts; k++) {
        if (outs[k].data[0] != HS_MSG_TOMBS) continue;
        assert_int_equal(found, 0);
        hs_reader r;
        hs_reader_init(&r, outs[k].data, outs[k].len);
        hs_get_u8(&r);
        assert_int_equal(hs_get_u8(&r), 1);
        char got[HS_NAME_MAX + 1];
        hs_get_str8(&r, got, sizeof(got), true);
        assert_string_equal(got, name);
        assert_int_equal(hs_get_u32(&r), inc);
        assert_int_equal(hs_get_u8(&r), status);
        hs_get_u32(&r); /* age */
        assert_true(r.ok && hs_reader_left(&r) == 0);
        found = outs[k].len;
    }
    return found;
}

/* Whoever knows less than a tombstone is told it, in one datagram no larger than what it
 * sent; whoever knows as much is told nothing (so two tombstone holders never ping-pong). */
static void test_stale_sender_is_told_the_tombstone(void **state)
{
    (void)state;
    now_ms = 1000;
    hs_node *n = lone_node(64, 60000);
    join_leave_reap(n, 0, 0); /* m0's tombstone: incarnation 2, left */
    uint8_t buf[256];
    /* a Ping from m0 claiming incarnation 1 or 2 (a replay, or m0 started again): the Pong,
     * and m0's tombstone, so a live m0 refutes */
    for (uint32_t inc = 1; inc <= 2; inc++) {
        hs_writer w;
        hs_writer_init(&w, buf, sizeof(buf));
        hs_put_u8(&w, HS_MSG_PING);
        hs_put_u32(&w, 77);
        hs_put_str8(&w, "m0", 2);
        hs_put_u32(&w, inc);
        hs_put_u64(&w, 0);
        hs_put_str8(&w, "self", 4);
        hs_put_u32(&w, 0);
        hs_put_u8(&w, 0);
        hs_put_u8(&w, 0); /* no piggyback */
        feed(n, buf, w.len);
        size_t len = answer_about("m0", 2, HS_LEFT);
        assert_true(len > 0 && len <= w.len);
        assert_int_equal(nevents, 0);
    }
    /* gossip about m0 below the tombstone: answered; at it: silence */
    size_t glen =
        gossip_entry(buf, sizeof(buf), "peer", "m0", hs_addr_v4(127, 0, 1, 1, 7946), 2, HS_ALIVE);
    feed(n, buf, glen);
    assert_true(answer_about("m0", 2, HS_LEFT) <= glen);
    assert_int_not_equal(answer_about("m0", 2, HS_LEFT), 0);
    feed_entry(n, "m0", 2, HS_LEFT);
    assert_int_equal(nouts, 0);
    feed_entry(n, "m0", 2, HS_FAILED); /* at the incarnation: refused, even as "more" news */
    assert_false(hs_node_find(n, "m0", &(hs_member_info){0}));
    /* tombstones the same way: equal, silence; lower, answered; higher, taken */
    feed(n, buf, tombs_msg(buf, sizeof(buf), "m0", 2, HS_LEFT, 1));
    assert_int_equal(nouts, 0);
    feed(n, buf, tombs_msg(buf, sizeof(buf), "m0", 1, HS_LEFT, 1));
    assert_int_not_equal(answer_about("m0", 2, HS_LEFT), 0);
    feed(n, buf, tombs_msg(buf, sizeof(buf), "m0", 5, HS_LEFT, 1));
    assert_int_equal(nouts, 0);
    feed_entry(n, "m0", 5, HS_ALIVE);
    assert_int_equal(njoins, 0);
    assert_int_not_equal(answer_about("m0", 5, HS_LEFT), 0);
    assert_int_equal(hs_node_tombstone_count(n), 1);
    assert_true(hs_node_stats_get(n)->tombstone_refused >= 4);
    /* the member itself at a new incarnation: back, and the tombstone is gone */
    feed_entry(n, "m0", 6, HS_ALIVE);
    assert_int_equal(njoins, 1);
    assert_int_equal(hs_node_tombstone_count(n), 0);
    hs_node_free(n);
}

/* A tombstone learnt from a peer keeps the age it had there (it ends when the peer's does,
 * however often it is passed on); one past its lifetime there is not taken. */
static void test_learnt_tombstone_keeps_its_age(void **state)
{
    (void)state;
    now_ms = 1000;
    hs_node *n = lone_node(64, REAP_MS); /* lifetime 3 x REAP_MS = 9 s */
    uint8_t buf[128];
    feed(n, buf, tombs_msg(buf, sizeof(buf), "x", 4, HS_FAILED, 9));
    assert_int_equal(hs_node_tombstone_count(n), 0); /* expired where it came from */
    feed(n, buf, tombs_msg(buf, sizeof(buf), "x", 4, HS_FAILED, 6));
    assert_int_equal(hs_node_tombstone_count(n), 1);
    feed_entry(n, "x", 3, HS_ALIVE);
    assert_false(hs_node_find(n, "x", &(hs_member_info){0}));
    /* passed on again with a young age: ours stands (no refreshing) */
    feed(n, buf, tombs_msg(buf, sizeof(buf), "x", 4, HS_FAILED, 0));
    advance(n, 2000);
    assert_int_equal(hs_node_tombstone_count(n), 1);
    advance(n, 2000); /* 6 + 4 s > 9 s */
    assert_int_equal(hs_node_tombstone_count(n), 0);
    hs_node_free(n);
}

static void test_malformed_tombs_dropped(void **state)
{
    (void)state;
    now_ms = 1000;
    hs_node *n = lone_node(64, REAP_MS);
    uint8_t buf[128];
    const hs_node_stats *st = hs_node_stats_get(n);
    uint64_t before = st->drop_malformed;
    size_t good = tombs_msg(buf, sizeof(buf), "x", 4, HS_LEFT, 1), len;
    for (size_t cut = 1; cut < good; cut++) feed(n, buf, cut); /* truncated */
    buf[good] = 0;
    feed(n, buf, good + 1); /* a byte too many */
    len = tombs_msg(buf, sizeof(buf), "x", 4, HS_ALIVE, 1);
    feed(n, buf, len); /* not a tombstone's status */
    len = tombs_msg(buf, sizeof(buf), "bad name", 4, HS_LEFT, 1);
    feed(n, buf, len);
    buf[1] = 0;
    feed(n, buf, 2); /* no record */
    assert_int_equal(st->drop_malformed - before, (good - 1) + 4);
    assert_int_equal(hs_node_tombstone_count(n), 0);
    hs_node_free(n);
}

/* The table holds at most max_members tombstones: with 8 members reaped one after the other
 * into a table of 6, the 2 reaped first are forgotten and the 6 newest still refuse (a long
 * reap time for failed members makes the tombstones' lifetime 3 minutes). A tombstone learnt
 * older than all of a full table's is not taken. */
static void test_table_bound_drops_oldest(void **state)
{
    (void)state;
    now_ms = 1000;
    hs_node *n = lone_node(6, 60000);
    join_leave_reap(n, 0, 4); /* 5 members (with ourselves, the table's 6) */
    join_leave_reap(n, 5, 7);
    assert_int_equal(hs_node_tombstone_count(n), 6);
    uint8_t buf[128];
    feed(n, buf, tombs_msg(buf, sizeof(buf), "old", 1, HS_LEFT, 100));
    assert_int_equal(hs_node_tombstone_count(n), 6);
    for (int i = 2; i <= 7; i++) assert_false(revived_by_replay(n, i));
    for (int i = 0; i <= 1; i++) assert_true(revived_by_replay(n, i));
    hs_node_free(n);
}

/* A tombstone is kept three times the longer reap time, then forgotten. */
static void test_tombstones_age_out(void **state)
{
    (void)state;
    now_ms = 1000;
    hs_node *n = lone_node(64, REAP_MS);
    assert_int_equal(hs_node_tombstone_count(n), 0);
    join_leave_reap(n, 0, 0); /* reaped at about 2000 + REAP_MS */
    assert_int_equal(hs_node_tombstone_count(n), 1);
    uint64_t reaped_at = 2000 + REAP_MS, life = 3 * REAP_MS;
    advance(n, reaped_at + life - 1500 - now_ms);
    assert_false(revived_by_replay(n, 0)); /* still there 0.5-1.5 s before its end */
    advance(n, 2000 + 1000);
    assert_int_equal(hs_node_tombstone_count(n), 0);
    assert_true(revived_by_replay(n, 0)); /* forgotten */
    hs_node_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_left_member_replay_does_not_revive),
        cmocka_unit_test(test_failed_member_replay_does_not_revive),
        cmocka_unit_test(test_restart_after_leave_persisted),
        cmocka_unit_test(test_restart_after_leave_wiped),
        cmocka_unit_test(test_restart_after_failure_persisted),
        cmocka_unit_test(test_restart_after_failure_wiped),
        cmocka_unit_test(test_later_joiner_refuses_the_ghost),
        cmocka_unit_test(test_stale_sender_is_told_the_tombstone),
        cmocka_unit_test(test_learnt_tombstone_keeps_its_age),
        cmocka_unit_test(test_malformed_tombs_dropped),
        cmocka_unit_test(test_table_bound_drops_oldest),
        cmocka_unit_test(test_tombstones_age_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
