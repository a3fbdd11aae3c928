/* test_replay_membership.c: replayed datagrams against the membership core (an on-path
 * attacker without the key can record sealed packets and send them again). Recorded traffic
 * of a member, replayed over and over after it crashed, must not keep it looking alive: only
 * a Pong that answers one of our own Pings, or a Ping numbered past the last one we heard
 * from that member, is proof of life. tests/integration/test_replay.py replays captured
 * traffic against real agents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hearsay/wire.h"
#include "minicluster.h"

#define REC_MAX 512

typedef struct rec {
    int from, to;
    uint8_t *data;
    size_t len;
} rec;

typedef struct recorder {
    int who; /* record datagrams sent by this node */
    rec r[REC_MAX];
    size_t n;
    size_t types[256];
} recorder;

static void tap(mc_cluster *c, int from, int to, const uint8_t *data, size_t len, bool stream)
{
    recorder *R = c->tap_arg;
    if (from != R->who || stream || len == 0 || R->n == REC_MAX) return;
    rec *x = &R->r[R->n++];
    x->from = from;
    x->to = to;
    x->data = malloc(len);
    memcpy(x->data, data, len);
    x->len = len;
    R->types[data[0]]++;
}

static bool subject_failed(mc_cluster *c, void *arg)
{
    return mc_all_see(c, *(int *)arg, HS_FAILED);
}

/* Replays everything recorded, then lets 50 ms pass; until the subject is failed everywhere
 * or `ms` pass. Returns the time taken or UINT64_MAX. */
static uint64_t replay_until_failed(mc_cluster *c, recorder *R, int subject, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 50) {
        if (subject_failed(c, &subject)) return t;
        for (size_t i = 0; i < R->n; i++)
            if (!c->n[R->r[i].to].crashed)
                mc_inject_from(c, R->r[i].from, R->r[i].to, R->r[i].data, R->r[i].len);
        mc_run(c, 50);
    }
    return subject_failed(c, &subject) ? ms : UINT64_MAX;
}

static void test_replay_cannot_keep_a_crashed_node_alive(void **state)
{
    (void)state;
    mc_cluster c;
    recorder *R = calloc(1, sizeof(*R));
    R->who = 4;
    mc_init(&c, 6);
    c.tap = tap;
    c.tap_arg = R;
    mc_start(&c, 0, -1);
    for (int i = 1; i < 6; i++) mc_start(&c, i, 0);
    mc_run(&c, 6000); /* node 4 probes, answers probes and checks: Pings and Pongs recorded */
    assert_true(R->types[HS_MSG_PING] > 0);
    assert_true(R->types[HS_MSG_PONG] > 0);
    c.tap = NULL;
    int victim = 4;
    mc_crash(&c, victim);
    /* every 50 ms the attacker sends all of node 4's recorded datagrams again */
    uint64_t t = replay_until_failed(&c, R, victim, 15000);
    assert_true(t < 10000);
    for (size_t i = 0; i < R->n; i++) free(R->r[i].data);
    free(R);
    mc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_cannot_keep_a_crashed_node_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
