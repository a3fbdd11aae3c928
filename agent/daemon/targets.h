/* targets.h: the join targets given by DNS name (--join, --seed, the API's join): looked up
 * through resolver.c, joined, and looked up again every retry period while no member at their
 * addresses answers, so that an agent follows a name whose address changes. */
#ifndef HSD_TARGETS_H
#define HSD_TARGETS_H

#include <stddef.h>

#include "engine.h"
#include "hostport.h"
#include "resolver.h"

#define HSD_TARGETS_MAX 256 /* names followed at once */

typedef struct hsd_targets hsd_targets;

/* family: the transports' (4 or 6), the only one looked up. NULL when out of memory. */
hsd_targets *hsd_targets_new(hsd_engine *e, hsd_resolver *r, int family);
void hsd_targets_free(hsd_targets *t); /* NULL is fine */

/* The end of the first lookup of every name of one hsd_targets_join: how many addresses were
 * joined, and the first name that did not resolve ("cannot resolve HOST: why"), or NULL. */
typedef void (*hsd_targets_fn)(void *arg, size_t joined, const char *error);
/* Looks each name up and joins its addresses; follows the names from then on. fn (may be
 * NULL) is called from the loop once every name has answered. -1 (fn never called) when too
 * many names are followed already. */
int hsd_targets_join(hsd_targets *t, const hsd_target *names, size_t n, hsd_targets_fn fn,
                     void *arg);

#endif
