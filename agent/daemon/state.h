/* state.h: what the daemon keeps in --data-dir besides Raft's storage (raft_storage.h): our
 * last incarnation, the member list (to rejoin after a restart), a non-seed's copy of the
 * configuration and the replicated key ring; all written through file_io.h. */
#ifndef HSD_STATE_H
#define HSD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearsay/cluster_config.h"
#include "hearsay/envelope.h"
#include "hearsay/membership.h"

/* Creates, checks (HSD_EXIT_CONFIG if unsafe) and locks the data dir: 0, or an exit status. */
int hsd_state_prepare(const char *data_dir);
void hsd_state_release(void);

uint32_t hsd_state_load_incarnation(const char *data_dir); /* 0 if none */
int hsd_state_save_incarnation(const char *data_dir, uint32_t inc);
/* The saved members' addresses, not ours (self: our name and address). */
size_t hsd_state_load_members(const char *data_dir, const char *self, const hs_addr *self_addr,
                              hs_addr *addrs, size_t cap);
int hsd_state_save_members(const char *data_dir, const hs_node *node);
/* A non-seed's configuration (config.bin): 0 loaded, -1 absent or unreadable (logged). */
int hsd_state_load_config(const char *data_dir, hs_cluster_config *out);
int hsd_state_save_config(const char *data_dir, const hs_cluster_config *cc);
/* The replicated ring (keyring, the key-file format): loaded into env (replacing its ring)
 * when the file exists; 0, or an exit status with err set. */
int hsd_state_load_keyring(const char *data_dir, const char *cluster, hs_envelope *env,
                           bool *loaded, char *err, size_t errlen);
int hsd_state_save_keyring(const char *data_dir, const hs_envelope *env);

typedef struct hsd_state_stats {
    uint64_t saves, save_errors;
} hsd_state_stats;
const hsd_state_stats *hsd_state_get_stats(void);

#endif
