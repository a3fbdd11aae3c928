/* simutil.h: small helpers both simulators share (the gossip one in sim.c, the agent one in
 * asim.c): allocation that ends the run on no memory, growable arrays, node names "nI". */
#ifndef HS_SIM_SIMUTIL_H
#define HS_SIM_SIMUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline void *sim_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "hearsay-sim: out of memory\n");
        exit(2);
    }
    return p;
}

/* items with room for one more beyond n (capacity *cap, doubled from `first`). */
static inline void *sim_grow(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap) return items;
    *cap = *cap ? 2 * *cap : first;
    void *p = realloc(items, *cap * size);
    if (!p) {
        fprintf(stderr, "hearsay-sim: out of memory\n");
        exit(2);
    }
    return p;
}

/* The index of node name "nI" among n nodes, -1 if it is none. */
static inline int sim_node_number(const char *name, uint32_t n)
{
    if (name[0] != 'n' || name[1] < '0' || name[1] > '9') return -1;
    char *end;
    unsigned long v = strtoul(name + 1, &end, 10);
    if (*end || v >= n) return -1;
    return (int)v;
}

/* Records a run's first invariant failure in msg and prints it; false (and nothing recorded)
 * when the run had failed already. */
static inline bool sim_fail_first(bool *failed, char *msg, size_t cap, uint64_t now_us,
                                  uint64_t seed, const char *fmt, va_list ap)
{
    if (*failed) return false;
    *failed = true;
    vsnprintf(msg, cap, fmt, ap);
    fprintf(stderr, "hearsay-sim: INVARIANT FAILED at t=%.3fs seed=%llu: %s\n",
            (double)now_us / 1e6, (unsigned long long)seed, msg);
    return true;
}

#endif
