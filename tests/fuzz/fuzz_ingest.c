/*
 * libFuzzer target: an ingest frame as the daemon sees it. Splits it as an EventBatch, decodes
 * every event into a bounded arena, validates it, and decodes the frame as a Query too.
 * Build: cmake -DFW_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: tests/fuzz/fuzz_ingest
 * -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "floorwalker.pb-c.h"
#include "fwcommon.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena a;
    static int init;
    if (!init) {
        arena_init(&a, 64 << 20);
        init = 1;
    }
    struct fw_slice sl[64];
    long n = fw_batch_split(data, size, sl, 64);
    struct validate_limits lim = {
        .now_ms = 1795000000000LL,
        .max_future_ms = 600000,
        .retention_ms = 400LL * 86400000,
        .max_qty_milli = 100000000,
        .max_amount_cents = 1000000000,
        .max_lines = 1000,
    };
    char reason[512];
    for (long i = 0; i < n && i < 64; i++) {
        Floorwalker__Event *e = floorwalker__event__unpack(&a.pb, sl[i].len, sl[i].p);
        if (e)
            (void)validate_event(e, &lim, reason, sizeof reason);
    }
    Floorwalker__Query *q = floorwalker__query__unpack(&a.pb, size, data);
    (void)q;
    arena_reset(&a);
    return 0;
}
