/* heap.c: binary min-heap of simulator events ordered by (time, sequence number). */
#include "heap.h"

#include <stdio.h>
#include <stdlib.h>

static int before(const sim_event *x, const sim_event *y)
{
    return x->t_us < y->t_us || (x->t_us == y->t_us && x->seq < y->seq);
}

void sim_heap_init(sim_heap *h)
{
    h->v = NULL;
    h->len = h->cap = 0;
    h->next_seq = 0;
}

void sim_heap_free(sim_heap *h)
{
    free(h->v);
    sim_heap_init(h);
}

void sim_heap_push(sim_heap *h, uint64_t t_us, uint32_t kind, uint32_t a, uint32_t b)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4096;
        sim_event *v = realloc(h->v, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "hearsay-sim: out of memory (event queue)\n");
            exit(2);
        }
        h->v = v;
        h->cap = cap;
    }
    sim_event e = {.t_us = t_us, .seq = h->next_seq++, .kind = kind, .a = a, .b = b};
    size_t i = h->len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&e, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
}

int sim_heap_pop(sim_heap *h, sim_event *out)
{
    if (!h->len) return 0;
    *out = h->v[0];
    sim_event last = h->v[--h->len];
    size_t i = 0, n = h->len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n) h->v[i] = last;
    return 1;
}
