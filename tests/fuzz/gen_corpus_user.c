/* gen_corpus_user.c: the seed corpus of fuzz_user_events (tests/fuzz/corpus/user_events/) from
 * the real user-event core: fuzz-self and two members (m1, m2) with the harness's member table
 * fire events (one with a wait, one of 8 KiB over a stream, coalescing ones), query with a tag
 * filter and answer each other, with loss so retransmissions, relays and repair digests happen.
 * fuzz-self is made exactly as the harness makes it (its epoch, then its event with a wait and
 * its query, in that order), so acknowledgements and answers meant for it match its
 * operations. Saves up to 4 distinct messages of each type sent to fuzz-self, raw, and record
 * sequences (len:u16 flags:u8 bytes) of them as the harness's split mode reads them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearsay/user_events.h"
#include "hearsay/wire.h"

#define CORES 3
#define CAP   4096

void gen_user_events(const char *root);

static const char *const names[6] = {"fuzz-self", "m1", "m2", "m3", "m4", "m5"};
static const char tags[] = "role=web";
static hs_ue *cores[CORES];
static int self_of[CORES] = {0, 1, 2};

typedef struct umsg {
    uint8_t *data;
    size_t len;
    bool stream;
    int from, to;
    uint64_t at;
} umsg;
static umsg cap[CAP], net[CAP];
static size_t ncap, nnet;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static hs_addr addr_of(int i)
{
    return hs_addr_v4(10, 0, 0, (uint8_t)(1 + i), 7946);
}

static void fill(int i, int self, hs_ue_member *out)
{
    *out = (hs_ue_member){names[i], addr_of(i), {tags, sizeof(tags)}, i != 5, i == self};
}

static size_t v_count(const void *ctx)
{
    (void)ctx;
    return 6;
}

static bool v_at(const void *ctx, size_t i, hs_ue_member *out)
{
    if (i > 5) return false;
    fill((int)i, *(const int *)ctx, out);
    return true;
}

static bool v_find(const void *ctx, const char *name, hs_ue_member *out)
{
    for (int i = 0; i < 6; i++)
        if (!strcmp(names[i], name)) {
            fill(i, *(const int *)ctx, out);
            return true;
        }
    return false;
}

static void drain(int i, uint64_t now)
{
    for (bool more = true; more;) { /* answers given here queue more packets */
        more = false;
        hs_ue_packet p;
        while (hs_ue_next_packet(cores[i], &p)) {
            int to = p.to.ip[3] - 1;
            if (to < 0 || to >= CORES || nnet == CAP) continue;
            uint8_t *d = malloc(p.len);
            if (!d) abort();
            memcpy(d, p.data, p.len);
            net[nnet++] = (umsg){d, p.len, p.stream, i, to, now + 1};
        }
        hs_ue_delivery d;
        while (hs_ue_next_delivery(cores[i], &d))
            if (d.query)
                more |= hs_ue_respond(cores[i], now, d.ref, (const uint8_t *)"ok", 2, i == 2) ==
                        HS_UE_OK;
        hs_ue_reply r;
        while (hs_ue_next_reply(cores[i], &r)) {
        }
        hs_ue_done dn;
        while (hs_ue_next_done(cores[i], &dn)) {
        }
    }
}

static void run(uint64_t *now, uint64_t end, double loss)
{
    for (; *now < end; (*now)++) {
        for (size_t k = 0; k < nnet;) {
            if (net[k].at > *now) {
                k++;
                continue;
            }
            umsg m = net[k];
            net[k] = net[--nnet];
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if (!m.stream && (double)(rng >> 11) / 9007199254740992.0 < loss) {
                free(m.data);
                continue;
            }
            hs_addr from = addr_of(m.from);
            hs_ue_receive(cores[m.to], *now, &from, m.data, m.len, m.stream);
            drain(m.to, *now);
            if (m.to == 0 && ncap < CAP) {
                m.at = *now;
                cap[ncap++] = m;
            } else {
                free(m.data);
            }
        }
        for (int i = 0; i < CORES; i++) {
            uint64_t d = hs_ue_next_deadline(cores[i]);
            if (d && d <= *now) {
                hs_ue_tick(cores[i], *now);
                drain(i, *now);
            }
        }
    }
}

static void save(const char *root, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/user_events/%s", root, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
}

void gen_user_events(const char *root)
{
    uint64_t now = 10000;
    for (int i = 0; i < CORES; i++) {
        hs_ue_cfg c;
        hs_ue_cfg_default(&c);
        snprintf(c.self, sizeof(c.self), "%s", names[i]);
        c.rng_seed = i == 0 ? 7 : 100 + (uint64_t)i;
        c.floor = i == 0 ? 3 : 0;
        c.coalesce_ms = 150;
        c.buffer_bytes = 64 * 1024;
        hs_ue_view v = {&self_of[i], v_count, v_at, v_find};
        cores[i] = hs_ue_new(&c, &v, i == 0 ? now - 9000 : now - 5000);
        if (!cores[i]) abort();
    }
    int err;
    hs_ue_fire(cores[0], now, "deploy", (const uint8_t *)"v1", 2, false, 2000, &err);
    hs_ue_tag_filter tf = {"role", "^w"};
    hs_ue_query_spec q = {"disk", (const uint8_t *)"?", 1, NULL, 0, &tf, 1, 3000};
    hs_ue_query(cores[0], now, &q, &err);
    drain(0, now);
    run(&now, now + 500, 0.3);
    static uint8_t big[HS_UE_PAYLOAD_MAX];
    for (size_t i = 0; i < sizeof(big); i++) big[i] = (uint8_t)(i * 31);
    hs_ue_fire(cores[1], now, "blob", big, sizeof(big), false, 1000, &err);
    hs_ue_fire(cores[2], now, "reload", (const uint8_t *)"a", 1, true, 0, &err);
    hs_ue_fire(cores[1], now, "reload", (const uint8_t *)"b", 1, true, 0, &err);
    hs_ue_query(cores[1], now, &q, &err);
    for (int i = 1; i < CORES; i++) drain(i, now);
    run(&now, now + 3000, 0.3);
    for (int k = 0; k < 8; k++) hs_ue_fire(cores[2], now, "tick", NULL, 0, false, 0, &err);
    drain(2, now);
    run(&now, now + 2000, 0.5);

    int per_type[256] = {0};
    char name[64];
    for (size_t i = 0; i < ncap; i++) {
        uint8_t t = cap[i].data[0];
        if (per_type[t] >= 4) continue;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = cap[j].len == cap[i].len && !memcmp(cap[j].data, cap[i].data, cap[i].len);
        if (dup) continue;
        snprintf(name, sizeof(name), "msg-%02x-%d", t, per_type[t]++);
        save(root, name, cap[i].data, cap[i].len);
    }
    static uint8_t buf[1 << 16];
    int seqs = 0;
    for (size_t start = 0; start < ncap && seqs < 12; start += ncap / 12 + 1, seqs++) {
        size_t len = 0;
        uint64_t prev = cap[start].at;
        for (size_t i = start; i < ncap && i < start + 16; i++) {
            if (len + 3 + cap[i].len > sizeof(buf)) break;
            uint64_t steps = (cap[i].at - prev) / 100;
            if (steps > 7) steps = 7;
            prev = cap[i].at;
            buf[len++] = (uint8_t)(cap[i].len >> 8);
            buf[len++] = (uint8_t)cap[i].len;
            buf[len++] = (uint8_t)((cap[i].stream ? 1 : 0) | (cap[i].from - 1) << 1 | steps << 3 |
                                   (i % 5 == 0 ? 0x40 : 0) | (i % 7 == 0 ? 0x80 : 0));
            memcpy(buf + len, cap[i].data, cap[i].len);
            len += cap[i].len;
        }
        snprintf(name, sizeof(name), "seq-%02d", seqs);
        save(root, name, buf, len);
    }
    printf("gen_corpus: %zu user-event messages to fuzz-self captured\n", ncap);
    for (size_t i = 0; i < ncap; i++) free(cap[i].data);
    for (size_t i = 0; i < nnet; i++) free(net[i].data);
    for (int i = 0; i < CORES; i++) hs_ue_free(cores[i]);
}
