/* cc_internal.h: what cluster_config.c and cc_session.c share: applying without the session
 * rules, and the wire form of session tags and of the session table (snapshots). */
#ifndef HEARSAY_CC_INTERNAL_H
#define HEARSAY_CC_INTERNAL_H

#include "hearsay/cluster_config.h"
#include "hearsay/codec.h"

/* Apply one command / seed change as it is (version +1 on success). */
int hs_cc__apply_cmd(hs_cluster_config *c, const hs_cc_cmd *cmd);
int hs_cc__apply_conf(hs_cluster_config *c, const hs_raft_conf_change *cc);

/* A tag with a session: seq >= 1 and 1 <= floor <= seq. */
bool hs_cc__tag_valid(const hs_cc_tag *t);
void hs_cc__put_tag(hs_writer *w, const hs_cc_tag *t);
bool hs_cc__get_tag(hs_reader *r, hs_cc_tag *t); /* false (and r->ok false) unless valid */

/* The session block of a format-2 (snapshot) serialization; get validates it. */
void hs_cc__put_sessions(hs_writer *w, const hs_cluster_config *c);
bool hs_cc__get_sessions(hs_reader *r, hs_cluster_config *c);

#endif
