/* keyfile.h: the key-file format (--key-file, DATA_DIR/keyring): one base64 key per line, the
 * first the primary; the file must be private to the agent. */
#ifndef HSD_KEYFILE_H
#define HSD_KEYFILE_H

#include <stddef.h>

#include "hearsay/envelope.h"

/* Adds the file's keys to env's ring. 0; HSD_EXIT_CONFIG for a missing, unsafe (owner, mode,
 * link) or malformed file; -1 on an I/O error; err says which. */
int hsd_load_key_file(hs_envelope *env, const char *path, char *err, size_t errlen);

#endif
