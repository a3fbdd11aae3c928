/* fd_settings.c: the runtime failure-detection settings (include/hearsay/fd_settings.h): one
 * table of keys with their bounds, the lan / wan / local presets, validation of a replicated
 * fd[key] = value, and the effective settings of a configuration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/cluster_config.h"
#include "hearsay/fd_settings.h"

typedef struct fd_row {
    const char *key;
    size_t off;        /* a uint32_t field of hs_config */
    uint32_t min, max; /* the values the configuration accepts */
} fd_row;

#define ROW(f, lo, hi)                                                                             \
    {                                                                                              \
#f, offsetof(hs_config, f), lo, hi                                                         \
    }
static const fd_row rows[] = {
    ROW(probe_interval_ms, 100, 30000),  ROW(probe_timeout_ms, 10, 30000),
    ROW(indirect_timeout_ms, 20, 60000), ROW(indirect_probes, 0, 16),
    ROW(verify_probes, 0, 16),           ROW(vote_group_size, 1, 16),
    ROW(verify_rounds, 1, 16),           ROW(verify_interval_ms, 10, 60000),
    ROW(vote_validity_ms, 100, 600000),  ROW(quorum_fallback_ms, 0, 3600000),
    ROW(gossip_interval_ms, 10, 10000),  ROW(gossip_fanout, 1, 16),
    ROW(retransmit_mult, 1, 16),         ROW(sync_interval_ms, 1000, 3600000),
    ROW(sync_ms_per_member, 0, 10000),   ROW(revive_interval_ms, 100, 600000),
    ROW(join_retry_ms, 100, 60000),
};
#undef ROW
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const char *const profile_names[] = {"lan", "wan", "local"};

int hs_fd_profile_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, profile_names[i])) return i;
    return -1;
}

const char *hs_fd_profile_name(int profile)
{
    return profile >= 0 && profile < 3 ? profile_names[profile] : NULL;
}

static uint32_t *field(hs_config *c, const fd_row *r)
{
    return (uint32_t *)((char *)c + r->off);
}

void hs_fd_copy(hs_config *dst, const hs_config *src)
{
    for (size_t i = 0; i < NROWS; i++) *field(dst, &rows[i]) = *field((hs_config *)src, &rows[i]);
}

int hs_fd_profile_apply(int profile, hs_config *c)
{
    if (!hs_fd_profile_name(profile)) return -1;
    hs_config p;
    hs_config_default(&p); /* lan: the core's defaults */
    if (profile == HS_FD_WAN) {
        /* links with 100+ ms round trips and loss bursts: probe less often, wait longer */
        p.probe_interval_ms = 5000;
        p.probe_timeout_ms = 3000;
        p.indirect_timeout_ms = 4500;
        p.verify_interval_ms = 3000;
        p.vote_validity_ms = 30000;
        p.quorum_fallback_ms = 120000;
        p.gossip_interval_ms = 500;
        p.retransmit_mult = 4;
        p.sync_interval_ms = 60000;
        p.revive_interval_ms = 10000;
        p.join_retry_ms = 2000;
    } else if (profile == HS_FD_LOCAL) {
        /* one host or one rack: sub-millisecond links, faster detection */
        p.probe_interval_ms = 500;
        p.probe_timeout_ms = 100;
        p.indirect_timeout_ms = 250;
        p.verify_interval_ms = 250;
        p.vote_validity_ms = 2500;
        p.quorum_fallback_ms = 15000;
        p.gossip_interval_ms = 50;
        p.sync_interval_ms = 15000;
        p.revive_interval_ms = 1000;
        p.join_retry_ms = 500;
    }
    hs_fd_copy(c, &p);
    return 0;
}

const char *hs_fd_key_at(size_t i)
{
    return i < NROWS ? rows[i].key : NULL;
}

static const fd_row *find(const char *key)
{
    for (size_t i = 0; key && i < NROWS; i++)
        if (!strcmp(rows[i].key, key)) return &rows[i];
    return NULL;
}

bool hs_fd_get(const hs_config *c, const char *key, uint64_t *out)
{
    const fd_row *r = find(key);
    if (!r) return false;
    *out = *field((hs_config *)c, r);
    return true;
}

/* A decimal number within the row's bounds, without sign, blanks or leading zeros. */
static bool parse(const fd_row *r, const char *v, uint32_t *out)
{
    size_t n = strspn(v, "0123456789");
    if (n == 0 || n > 10 || v[n] || (n > 1 && v[0] == '0')) return false;
    errno = 0;
    unsigned long long x = strtoull(v, NULL, 10);
    if (errno || x < r->min || x > r->max) return false;
    *out = (uint32_t)x;
    return true;
}

const char *hs_fd_check(const char *key, const char *value)
{
    if (key && !strcmp(key, HS_FD_PROFILE_KEY))
        return hs_fd_profile_parse(value) >= 0 ? NULL : "profile must be lan, wan or local";
    const fd_row *r = find(key);
    if (!r) return "unknown failure-detection setting";
    uint32_t v;
    return parse(r, value ? value : "", &v) ? NULL : "value out of the setting's bounds";
}

void hs_fd_effective(const hs_cluster_config *cc, const hs_config *base, int base_profile,
                     hs_config *out, int *profile)
{
    *out = *base;
    int p = base_profile;
    const char *named = cc ? hs_cc_get_fd(cc, HS_FD_PROFILE_KEY) : NULL;
    if (named && hs_fd_profile_parse(named) >= 0) {
        p = hs_fd_profile_parse(named);
        hs_fd_profile_apply(p, out);
    }
    for (uint32_t i = 0; cc && i < cc->n_fd; i++) {
        const fd_row *r = find(cc->fd[i].key);
        uint32_t v;
        if (r && parse(r, cc->fd[i].value, &v)) *field(out, r) = v;
    }
    /* the cross-field rule the core needs: indirect probes start before the check ends */
    if (out->indirect_timeout_ms <= out->probe_timeout_ms)
        out->indirect_timeout_ms = out->probe_timeout_ms * 2;
    if (profile) *profile = p;
}
