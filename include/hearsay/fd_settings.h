/* fd_settings.h: the failure-detection settings an operator may change while the cluster runs
 * (the "fd" table of the replicated configuration, cluster_config.h): their names, bounds and
 * the three profiles (lan, wan, local), and the effective settings of a configuration.
 *
 * The effective settings are a pure function of the configuration and the agent's base (its
 * hs_config, filled from --profile at start): the configuration's fd "profile" (if any)
 * replaces the base's timings with that preset, then every fd KEY=VALUE overrides one field,
 * then cross-field rules are enforced by clamping (indirect_timeout_ms above probe_timeout_ms).
 * So every agent that holds configuration version V and the same base runs with the same
 * settings. The state machine refuses unknown keys and values out of bounds (hs_fd_check),
 * and the membership core takes the result at run time (hs_node_set_timing).
 * docs/operations.md "Failure-detection settings" lists the keys and the profiles' values. */
#ifndef HEARSAY_FD_SETTINGS_H
#define HEARSAY_FD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/membership.h"

struct hs_cluster_config;

typedef enum hs_fd_profile { HS_FD_LAN = 0, HS_FD_WAN = 1, HS_FD_LOCAL = 2 } hs_fd_profile;

#define HS_FD_PROFILE_KEY "profile" /* the fd key naming the preset */

/* "lan", "wan", "local"; -1 / NULL for anything else. */
int hs_fd_profile_parse(const char *name);
const char *hs_fd_profile_name(int profile);
/* Sets the runtime fields of c to the profile's values (name, address, reap times and table
 * bounds are left alone). 0, or -1 for an unknown profile. */
int hs_fd_profile_apply(int profile, hs_config *c);

/* The runtime keys, in a fixed order ("profile" is not one of them): i from 0 while non-NULL. */
const char *hs_fd_key_at(size_t i);
/* The value of key in c (false if key is not a runtime key). */
bool hs_fd_get(const hs_config *c, const char *key, uint64_t *out);

/* NULL if fd[key] = value may go into the configuration, else why not (a static sentence). */
const char *hs_fd_check(const char *key, const char *value);

/* The effective settings of configuration cc (NULL: none yet) for an agent whose own
 * settings are base; *profile (may be NULL) gets the profile they come from (the base's own
 * when the configuration names none: base_profile). */
void hs_fd_effective(const struct hs_cluster_config *cc, const hs_config *base, int base_profile,
                     hs_config *out, int *profile);
/* Copies the runtime fields from src into dst (the rest of dst stays). */
void hs_fd_copy(hs_config *dst, const hs_config *src);

#endif
