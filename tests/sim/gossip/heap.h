/* heap.h: the simulator's event queue, a binary min-heap keyed by (time, sequence number).
 * The sequence number breaks ties in insertion order, which keeps runs deterministic. */
#ifndef HS_SIM_HEAP_H
#define HS_SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

enum { SIM_EV_TIMER = 1, SIM_EV_MSG = 2 };

typedef struct sim_event {
    uint64_t t_us; /* virtual time, microseconds */
    uint64_t seq;  /* insertion order */
    uint32_t kind; /* SIM_EV_* */
    uint32_t a;    /* TIMER: node index; MSG: message slot */
    uint32_t b;    /* TIMER: node generation */
} sim_event;

typedef struct sim_heap {
    sim_event *v;
    size_t len, cap;
    uint64_t next_seq;
} sim_heap;

void sim_heap_init(sim_heap *h);
void sim_heap_free(sim_heap *h);
void sim_heap_push(sim_heap *h, uint64_t t_us, uint32_t kind, uint32_t a, uint32_t b);
/* Removes the earliest event into *out; 0 when empty. */
int sim_heap_pop(sim_heap *h, sim_event *out);
static inline const sim_event *sim_heap_top(const sim_heap *h)
{
    return h->len ? &h->v[0] : NULL;
}
/* Removes the earliest event into *out if it is due at or before t_us; 0 otherwise. */
static inline int sim_heap_pop_until(sim_heap *h, uint64_t t_us, sim_event *out)
{
    const sim_event *top = sim_heap_top(h);
    return top && top->t_us <= t_us ? sim_heap_pop(h, out) : 0;
}

#endif
