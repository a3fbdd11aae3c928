/* main.c: hearsay-sim, the command line front of the deterministic gossip simulator.
 * hearsay-sim SCENARIO [--nodes N] [--seed S] [--duration SECONDS] [--loss P] ...
 * Prints one parseable line of figures per run; exits 0 when the goals and invariants held,
 * 1 when they did not, 2 on a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen.h"

typedef struct scenario {
    const char *name;
    int (*run)(const sim_opts *o);
    uint32_t default_nodes;
    const char *what;
} scenario;

static const scenario scenarios[] = {
    {"detect", scen_detect, 1000,
     "crash nodes one at a time: time until every live node shows it failed"},
    {"disseminate", scen_disseminate, 1000, "--kind join|leave|fail: time until all nodes know"},
    {"load", scen_load, 1000, "bytes sent per node per second in steady state"},
    {"accuracy", scen_accuracy, 1000, "failed marks of live nodes under uniform loss (10%)"},
    {"stability", scen_stability, 1000,
     "1% of nodes with 80% ingress loss: flapping, majority suspicion"},
    {"gray", scen_gray, 1000, "1% of nodes with 90% loss both ways: out once, no flapping"},
    {"partition", scen_partition, 1000, "50/50 split for --duration, then heal: time to converge"},
    {"cutoff", scen_cutoff, 200,
     "minority partitions (symmetric, one-way): the majority side is never shown failed"},
    {"massstart", scen_massstart, 1000,
     "N nodes start within 10 s through 3 seeds: time to all-see-all"},
    {"invariants", scen_invariants, 200, "loss-free churn: no live node ever failed, convergence"},
    {"chaos", scen_chaos, 200, "every fault at once, then quiet: detection and convergence"},
    {"determinism", scen_determinism, 100, "chaos twice with packet hashing: digests must match"},
    {"scale", scen_scale, 10000,
     "mass start through 3 seeds, load, detection, 50/50 partition: one cluster, all figures"},
    {"footprint", scen_footprint, 10000,
     "memory of N cores each holding all N members (one full-state Meet each, no boot)"},
    {"ghosts", scen_ghosts, 50,
     "leaves, crashes, 3 s reaps, replays of recorded packets: no reaped member comes back"},
    {"replay", scen_replay, 50,
     "whole agents behind secure channels under an attacker that replays everything it "
     "records, and a Meet flood: config writes, rotations, leaves; nothing goes back"},
    {"forceleave", scen_forceleave, 1000,
     "whole agents: force-leave of a dead member through Raft while another is cut off: "
     "time until gone everywhere, and until the cut-off one applies it after the heal"},
    {"profile", scen_profile, 1000,
     "whole agents: fd profile wan, then a probe interval, through Raft: time until every "
     "agent runs them (each at the configuration version that carries it)"},
    {"event", scen_event, 1000,
     "whole agents: user events from random agents (--trials K, --duration = payload bytes), "
     "restarts between them: time to 100 %, at most once, no old event after a restart"},
    {"query", scen_query, 1000,
     "whole agents: queries from random agents, every agent answers: time to 99 % and 100 %"},
    {"reach", scen_reach, 1000,
     "the reachability test from one node with 1 % of the others cut off from it and 1 % "
     "crashed: every result right (direct, relayed, none), the time it takes, its datagrams"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: hearsay-sim SCENARIO [options]\n\nscenarios:\n");
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        fprintf(f, "  %-12s %s (default N=%u)\n", scenarios[i].name, scenarios[i].what,
                scenarios[i].default_nodes);
    fprintf(f, "\noptions:\n"
               "  --nodes N          cluster size\n"
               "  --seed S           scenario seed (default 1); same seed, same output\n"
               "  --duration SEC     scenario length (meaning depends on the scenario)\n"
               "  --loss P           uniform datagram loss, 0..1\n"
               "  --dup P            datagram duplication probability\n"
               "  --reorder P        probability a datagram is delayed extra (reordering)\n"
               "  --latency MS       mean one-way latency (default 1.0)\n"
               "  --jitter MS        latency spread, uniform +-MS (default 0.5)\n"
               "  --trials K         measurements (detect, disseminate)\n"
               "  --kind K           disseminate: join, leave or fail\n"
               "  --restart-after S  invariants, chaos: seconds a crashed node stays down (20, 3)\n"
               "  --trace            print every event and fault on stderr\n"
               "  --quiet            no progress lines\n"
               "  --invariants-only  exit status reflects the invariants only (goals advisory)\n");
}

static int num(const char *opt, const char *v, double *out)
{
    char *end;
    if (!v) {
        fprintf(stderr, "hearsay-sim: %s needs a value\n", opt);
        return -1;
    }
    *out = strtod(v, &end);
    if (*end || end == v) {
        fprintf(stderr, "hearsay-sim: %s: not a number: %s\n", opt, v);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const scenario *sc = NULL;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (!strcmp(argv[1], scenarios[i].name)) sc = &scenarios[i];
    if (!sc) {
        fprintf(stderr, "hearsay-sim: unknown scenario '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    sim_opts o = {.nodes = sc->default_nodes,
                  .seed = 1,
                  .duration_s = -1,
                  .loss = -1,
                  .restart_after_s = -1,
                  .lat_ms = 1.0,
                  .jitter_ms = 0.5};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        if (!strcmp(a, "--trace")) {
            o.trace = true;
            continue;
        }
        if (!strcmp(a, "--invariants-only")) {
            o.invariants_only = true;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            o.quiet = true;
            continue;
        }
        if (!strcmp(a, "--kind")) {
            if (!v) return usage(stderr), 2;
            o.kind = v;
            i++;
            continue;
        }
        if (num(a, v, &x)) return 2;
        i++;
        if (!strcmp(a, "--nodes") && x >= 1 && x <= 60000)
            o.nodes = (uint32_t)x;
        else if (!strcmp(a, "--seed") && x >= 0)
            o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--duration") && x > 0)
            o.duration_s = x;
        else if (!strcmp(a, "--loss") && x >= 0 && x <= 1)
            o.loss = x;
        else if (!strcmp(a, "--dup") && x >= 0 && x <= 1)
            o.dup = x;
        else if (!strcmp(a, "--reorder") && x >= 0 && x <= 1)
            o.reorder = x;
        else if (!strcmp(a, "--latency") && x > 0)
            o.lat_ms = x;
        else if (!strcmp(a, "--jitter") && x >= 0)
            o.jitter_ms = x;
        else if (!strcmp(a, "--restart-after") && x >= 0)
            o.restart_after_s = x;
        else if (!strcmp(a, "--trials") && x >= 1)
            o.trials = (uint32_t)x;
        else {
            fprintf(stderr, "hearsay-sim: bad option or value: %s %s\n", a, v);
            return 2;
        }
    }
    return sc->run(&o);
}
