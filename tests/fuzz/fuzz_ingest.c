/*
 * libFuzzer target: an ingest frame as the daemon sees it. Splits it as an EventBatch, decodes
 * every event into a bounded arena and validates it, applies the events that validate to the
 * rollups and live state with the event-time alert rules on (rollup.c, as ingest.c does after
 * a commit), and decodes the frame as a Query too.
 *
 * Each input starts from empty rollups, so a finding replays on its own: the rollups read
 * through a throwaway LMDB environment that is opened once, unlinked at once (nothing is left
 * behind, even after a crash), and never written (no checkpoint). Stores S001..S004 are
 * configured in zones with DST, half-hour DST and a 45-minute offset; an event of any other
 * store goes to a second, zero-config rollup (every store in UTC), as a daemon with no stores
 * configured would take it.
 *
 * Build: cmake -DFW_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: tests/fuzz_ingest -max_total_time=60
 * CORPUS_COPY tests/fuzz/corpus (scripts/test.sh). tests/fuzz/replay.c runs the same function
 * over the corpus and the regressions in every build (ctest unit.fuzz_replay).
 * tests/fuzz/make_corpus.py writes the corpus with event times around FUZZ_NOW_MS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "arena.h"
#include "config.h"
#include "floorwalker.pb-c.h"
#include "fwcommon.h"
#include "log.h"
#include "rollup.h"
#include "rules_timer.h"
#include "store.h"
#include "validate.h"

#define FUZZ_NOW_MS 1795000000000LL /* 2026-11-18 08:26:40 UTC; make_corpus.py agrees */
#define FUZZ_MAX_EVENTS 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    struct config cfg, zero; /* stores configured; zero-config */
    struct store *st;
    struct arena a;
    struct validate_limits lim;
    uint64_t pos[FUZZ_MAX_EVENTS]; /* log positions 1, 2, 3, ... */
} fz;

static const struct {
    const char *id, *region, *tz;
} fuzz_stores[] = {
    {"S001", "east", "Europe/London"},
    {"S002", "west", "America/New_York"},
    {"S003", "south", "Australia/Lord_Howe"},
    {"S004", "north", "Asia/Kathmandu"},
};

static void fuzz_init(void)
{
    log_setup(LOG_LVL_ERR, false);
    config_defaults(&fz.cfg);
    config_defaults(&fz.zero);
    size_t n = sizeof fuzz_stores / sizeof fuzz_stores[0];
    fz.cfg.stores = calloc(n, sizeof *fz.cfg.stores);
    if (!fz.cfg.stores)
        abort();
    for (size_t i = 0; i < n; i++) {
        struct config_store *s = &fz.cfg.stores[i];
        snprintf(s->id, sizeof s->id, "%s", fuzz_stores[i].id);
        snprintf(s->region, sizeof s->region, "%s", fuzz_stores[i].region);
        snprintf(s->timezone, sizeof s->timezone, "%s", fuzz_stores[i].tz);
        snprintf(s->hours, sizeof s->hours, "08:00-22:00");
    }
    fz.cfg.nstores = n;

    const char *tmp = getenv("TMPDIR");
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/fw-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir) || store_open(&fz.st, dir, 64 << 20, 64 << 20) != FW_OK) {
        fprintf(stderr, "fuzz_ingest: cannot open a throwaway LMDB environment in %s\n", dir);
        abort();
    }
    /* The mapping and the lock stay valid after the names are gone. */
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);

    for (size_t i = 0; i < FUZZ_MAX_EVENTS; i++)
        fz.pos[i] = i + 1;
    arena_init(&fz.a, 64 << 20);
    fz.lim = (struct validate_limits){
        .cfg = &fz.cfg,
        .now_ms = FUZZ_NOW_MS,
        .max_future_ms = fz.cfg.max_future_ms,
        .retention_ms = fz.cfg.retention_days * 86400000LL,
        .max_qty_milli = fz.cfg.max_qty_milli,
        .max_amount_cents = fz.cfg.max_amount_cents,
        .max_lines = (size_t)fz.cfg.max_lines,
    };
}

/* One rollup with its alerts (rebuild mode: nothing stored or published) and rules. */
struct fuzz_state {
    struct rollup *r;
    struct alerts *al;
    struct rules *ru;
};

static void state_open(struct fuzz_state *s, const struct config *cfg)
{
    if (rollup_create(&s->r, cfg, fz.st) != FW_OK || alerts_create(&s->al, fz.st, NULL) != FW_OK)
        abort();
    alerts_set_clock(s->al, FUZZ_NOW_MS);
    if (rules_create(&s->ru, cfg, fz.st, s->r, s->al) != FW_OK)
        abort();
    /* rules_create hooked the event rules into the rollup (rules_event.c). */
}

static void state_apply(struct fuzz_state *s, const struct config *cfg,
                        const Floorwalker__Event **evs, size_t n)
{
    if (!n)
        return;
    if (!s->r)
        state_open(s, cfg);
    rollup_apply(s->r, evs, fz.pos, n);
    for (size_t i = 0; i < n; i++)
        rules_seen(s->ru, evs[i]);
    alerts_flush(s->al);
}

static void state_close(struct fuzz_state *s)
{
    rules_destroy(&s->ru);
    rollup_destroy(&s->r);
    alerts_destroy(&s->al);
}

/* A reason goes back to the terminal in a proto3 string, which must be UTF-8 (stock protobuf
 * refuses the whole Ack otherwise): what a peer sent is quoted escaped, so it is plain ASCII. */
static void reason_check(const char *reason)
{
    if (!reason[0])
        abort(); /* a reject always says why */
    for (const unsigned char *p = (const unsigned char *)reason; *p; p++)
        if (*p < 0x20 || *p > 0x7e) {
            fprintf(stderr, "reason with byte 0x%02x: %s\n", *p, reason);
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz.st)
        fuzz_init();
    static struct fw_slice sl[FUZZ_MAX_EVENTS];
    const Floorwalker__Event *known[FUZZ_MAX_EVENTS], *other[FUZZ_MAX_EVENTS];
    size_t nknown = 0, nother = 0;
    char reason[512];
    long n = fw_batch_split(data, size, sl, FUZZ_MAX_EVENTS);
    for (long i = 0; i < n && i < FUZZ_MAX_EVENTS; i++) {
        Floorwalker__Event *e = floorwalker__event__unpack(&fz.a.pb, sl[i].len, sl[i].p);
        if (!e)
            continue;
        if (validate_event(e, &fz.lim, reason, sizeof reason) !=
            FLOORWALKER__REJECT_CODE__REJECT_NONE) {
            reason_check(reason);
            continue;
        }
        if (config_find_store(&fz.cfg, e->store_id))
            known[nknown++] = e;
        else
            other[nother++] = e;
    }
    struct fuzz_state s1 = {0}, s2 = {0};
    state_apply(&s1, &fz.cfg, known, nknown);
    state_apply(&s2, &fz.zero, other, nother);
    state_close(&s1);
    state_close(&s2);

    Floorwalker__Query *q = floorwalker__query__unpack(&fz.a.pb, size, data);
    (void)q;
    arena_reset(&fz.a);
    return 0;
}
