/*
 * Rollups and live state (docs/ROLLUPS.md says what each figure means).
 *
 * A write-back cache: every figure lives in a "cell" (a key and a few int64 counters, plus a
 * short tag string for state that needs one), updated in memory as events are applied and
 * written to LMDB by a checkpoint together with the log position the cells include. At start the
 * daemon loads nothing eagerly: cells are read from LMDB on first use, and the events logged
 * after the checkpoint are applied again (replay). Applying is a pure function of the events in
 * log order and the configuration, so a crash between checkpoints, a replay and a full rebuild
 * all give the same cells, byte for byte.
 *
 * Cell keys sort as type byte, store id, NUL, then big-endian day (and hour), then a dimension
 * id and NUL: ids never contain NUL, so this orders exactly like fixed-width padded ids, with
 * keys a third as long, and "one store's days d1..d2" is one range scan.
 */
#ifndef FW_ROLLUP_H
#define FW_ROLLUP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "stats.h"
#include "floorwalker.pb-c.h"
#include "store.h"

struct rollup;
struct tz;
struct alerts;

/* Cell types (the key's first byte). */
enum {
    CELL_SALES_DAY = 'J',      /* store day: the sales figures of the whole day */
    CELL_SALES_HOUR = 'H',     /* store day hour */
    CELL_PRODUCT = 'P',        /* store day sku; tag = category */
    CELL_CATEGORY = 'C',       /* store day category */
    CELL_CASHIER = 'K',        /* store day cashier */
    CELL_TARGET = 'T',         /* store day */
    CELL_MOVES = 'M',          /* store day kind */
    CELL_SKU_MOVES = 'm',      /* store day sku kind: the moves of one SKU (query stock --sku) */
    CELL_ON_HAND = 'O',        /* store sku */
    CELL_COMPLAINTS = 'Q',     /* store day */
    CELL_COMPLAINT_BY = 'q',   /* store day dim(c/s/h) value: opened..escalated */
    CELL_RESPONSE = 'R',       /* store day complaint: first response ms */
    CELL_COMPLAINT = 'X',      /* store complaint (live); tag = category */
    CELL_DRAWER = 'D',         /* store drawer (live); tag = cashier */
    CELL_CASHIER_DRAWER = 'd', /* store cashier -> tag = drawer */
    CELL_SHIFT = 'S',          /* store shift_id -> its current version; tag = employee */
    CELL_DAY_SHIFT = 'F',      /* store day employee -> that day's shift; tag = shift_id */
    CELL_ATTENDANCE = 'A',     /* store day employee */
    CELL_WORKER = 'W',         /* store employee (live clock state) */
    CELL_ON_DUTY = 'U',        /* store day hour: on-duty milliseconds */
    CELL_STORE = 'Z',          /* store: seen */
    /* 'Y' held a copy of four of CELL_SALES_DAY's figures before 2026-12: databases may
     * still have such cells (nothing reads them); do not reuse the letter. */
    CELL_ON_DUTY_NOW = 'N', /* store: employees clocked in and not on break */
    CELL_SURGE = 'V',       /* store: times of the last complaints opened (a ring) */
};

/* Counter indexes of the cells the query side reads. */
enum {
    SH_TXNS,
    SH_ITEMS,
    SH_GROSS,
    SH_DISC,
    SH_RET_N,
    SH_RET_C,
    SH_VOID_N,
    SH_VOID_C,
    SH_NET,
    SH_TENDER0 /* + method - 1: cash, card, mobile, voucher, other */,
    SH_N = SH_TENDER0 + 5
};
enum { PR_QTY, PR_NET, PR_PROMO_QTY, PR_PROMO_NET, PR_N };
enum { CA_QTY, CA_NET, CA_N };
enum { KA_TXNS, KA_NET, KA_ITEMS, KA_RET_N, KA_VOID_N, KA_OVER_SHORT, KA_N };
/* Moves: qty and value are net (signed: COUNT records the variance counted - book); the gross
 * figures add up each COUNT's variance without its sign, so +3 and -3 do not cancel out. */
enum { MV_QTY, MV_VALUE, MV_GROSS_QTY, MV_GROSS_VALUE, MV_N };
enum { OH_QTY, OH_LAST_SOLD_MS, OH_N };
#define SURGE_MAX 13 /* complaint_surge_count above this is judged on the last 13 */
enum {
    CQ_OPENED,
    CQ_RESPONDED,
    CQ_RESOLVED,
    CQ_ESCALATED,
    CQ_REOPENED,
    CQ_FR_N,
    CQ_FR_SUM,
    CQ_FR_SLA,
    CQ_N
};
enum { CX_OPENED_MS, CX_RESPONDED_MS, CX_OPEN, CX_SEVERITY, CX_CHANNEL, CX_N };
enum { DR_OPEN, DR_EXPECTED, DR_N };
enum { SS_DAY, SS_START, SS_END, SS_LIVE, SS_N };
enum { FS_START, FS_END, FS_LIVE, FS_CLOCK_IN, FS_N };
/* A CELL_DAY_SHIFT record on the rota at now (live, started, not ended): understaffed's
 * measure and the attendance query's rota_now. */
static inline bool rollup_shift_running(const int64_t *v, int64_t now)
{
    return v[FS_LIVE] && v[FS_START] <= now && now < v[FS_END];
}
enum { AT_SCHED_MS, AT_WORKED_MS, AT_LATE, AT_EARLY, AT_N };
enum {
    WK_IN_MS,
    WK_BREAK_START,
    WK_BREAK_MS,
    WK_DUTY_SINCE,
    WK_SHIFT_DAY,
    WK_SHIFT_END,
    WK_HAS_SHIFT,
    WK_N
};

/* The rollup's own fixed definitions (docs/ROLLUPS.md): figures stored as events are applied
 * must not change with a config reload. The live lists use the stores' thresholds instead
 * (store_info). */
#define COMPLAINT_SLA_MS (48 * 3600 * 1000LL)
#define LATE_AFTER_MS (5 * 60 * 1000LL)
#define EARLY_LEAVE_MS (10 * 60 * 1000LL)

fw_err rollup_create(struct rollup **out, const struct config *cfg, struct store *st) FW_WUR;
void rollup_destroy(struct rollup **r);

/* What applying one event knew that its cells no longer show (they hold the state after it):
 * what the event rules (rules_event.c) judge besides the cells. */
struct rollup_applied {
    const Floorwalker__Event *e;
    const struct store_info *s;
    int32_t day;                    /* store-local day of the event time */
    int64_t before;                 /* COUNT: the book before it; drawer CLOSE: expected cash */
    char cashier[FW_ID_MAX + 1];    /* drawer CLOSE: the drawer's cashier */
    bool shift;                     /* CLOCK_IN matched a shift; CLOCK_OUT ended one */
    int32_t shift_day;              /* that shift's local day */
    int64_t shift_start, shift_end; /* (shift_start: CLOCK_IN only) */
    char shift_id[FW_ID_MAX + 1];   /* CLOCK_IN only */
    size_t n_on_hand;               /* on-hand cells kept for the hook (rollup_on_hand) */
    bool sales_day;                 /* a sale's day cell kept for the hook (rollup_sales_day) */
};
/* Called after each event is applied (after its commit, and in replay); not in a rebuild.
 * It may read cells with rollup_peek. */
typedef void (*rollup_hook_fn)(void *arg, const struct rollup_applied *ap);
void rollup_set_hook(struct rollup *r, rollup_hook_fn fn, void *arg);

/* The log position the cells include (every event up to it is applied). */
uint64_t rollup_position(const struct rollup *r);

/* Applies stored events in log order; pos[i] is the log position of evs[i]. Called after the
 * commit that stored them, so nothing is applied that is not durable. */
void rollup_apply(struct rollup *r, const Floorwalker__Event *const *evs, const uint64_t *pos,
                  size_t n);

/*
 * A checkpoint off the loop. begin snapshots the dirty cells and the position (cheap: values
 * are encoded, nothing is written) and marks them clean; *started says whether there was
 * anything to write. The caller then has fill run in a write transaction (the writer thread,
 * with a pass of events or alone) and calls end with its outcome, for as long as staged says
 * more is to be written: a snapshot of up to 1,000 cells is written in one job; a larger one is
 * stored whole as one value first (from then on it counts as written: a start merges what a
 * crash left of it), then merged into the cells a slice per job, so no job holds the passes
 * behind it for long. A first job that fails makes the cells dirty again; a later one's slice
 * is merged again. Until the last, rollups read as before (scans merge the snapshot's new
 * cells), no cached cell is evicted and no other checkpoint begins.
 */
fw_err rollup_checkpoint_begin(struct rollup *r, bool *started) FW_WUR;
/* The snapshot of a large checkpoint taken a slice at a time first, on the loop between its
 * other work: dirty cells are encoded until until_ns (the clock read every 256 cells); true
 * once all are, and begin then only finishes it. Until begin, nothing may be applied
 * (rollup_snapshotting): applying drops the snapshot, whose cells would be stale. */
bool rollup_snapshot_step(struct rollup *r, uint64_t until_ns);
bool rollup_snapshotting(const struct rollup *r);
void rollup_snapshot_drop(struct rollup *r);
/* On the writer thread: reads only the snapshot, which the loop leaves alone until end.
 * events: how many the job commits (a merging job merges as many cells, 1,000 at least). */
fw_err rollup_checkpoint_fill(struct rollup *r, struct store_txn *t, size_t events) FW_WUR;
void rollup_checkpoint_end(struct rollup *r, fw_err err);
bool rollup_checkpoint_staged(const struct rollup *r);
/* Room for a snapshot of that many bytes (~150 a cell), its pages touched now (at start). */
bool rollup_checkpoint_reserve(struct rollup *r, size_t bytes);
/* A checkpoint is in flight, or its snapshot is being taken. */
bool rollup_checkpoint_busy(const struct rollup *r);
/* A whole checkpoint on the caller's thread, in one transaction (at start, at stop, before
 * retention), after finishing a staged one. FW_ESTATE while a first job is with the writer.
 * No-op when nothing changed. */
fw_err rollup_checkpoint(struct rollup *r) FW_WUR;
size_t rollup_dirty(const struct rollup *r);
/* Whether the cells held in memory are to be evicted, down to 3/4 of [rollup] cache_cells
 * (more than that are held; starts the eviction): then call rollup_evict_step until it returns
 * true. Only clean cells not in a checkpoint in flight go (LMDB has them as they are), the
 * least recently looked up first; safe at any time between applying events. */
bool rollup_evict_due(struct rollup *r);
/* One slice of the eviction, until the clock reaches until_ns (UINT64_MAX: all of it, as the
 * replay at start does). True when it is done (or none is under way). */
bool rollup_evict_step(struct rollup *r, uint64_t until_ns);

struct rollup_stats {
    uint64_t checkpoints;
    uint64_t last_cells, max_cells; /* cells written by a checkpoint */
    uint64_t last_ns, max_ns;       /* checkpoint duration */
    struct stats_hist checkpoint;   /* ... all of them, from snapshot to durable */
    struct stats_hist snapshot;     /* their part on the loop: taking the snapshot */
    uint64_t cached_cells;
    uint64_t evictions, evicted_cells; /* the cache's (rollup_evict_step) */
    uint64_t read_errors;              /* cells LMDB could not give back (logged) */
    uint64_t replayed, replay_ns;      /* at start */
    uint64_t pruned_events, pruned_cells;
};
void rollup_get_stats(const struct rollup *r, struct rollup_stats *out);

/* Applies the events logged after the checkpoint (at start). */
fw_err rollup_replay(struct rollup *r, uint64_t *replayed) FW_WUR;
/* Retention, one small step (call it often; it never holds a long transaction): deletes up to
 * max raw events from the front of the log that arrived before raw_before_ms and are included
 * in the last checkpoint, and up to max hourly cells of days before hour_before_day. 0 turns
 * either off. Returns what it deleted. */
struct retention_cut {
    int64_t raw_before_ms;
    int32_t hour_before_day;
    /* Events after keep_after_pos wait for an exporter, unless received before
     * force_before_ms. */
    uint64_t keep_after_pos;
    int64_t force_before_ms;
};
struct retention_step {
    uint64_t events, cells;
    uint64_t forced; /* events pruned that an exporter had not exported (past the hold) */
    bool held;       /* pruning stopped at an event an exporter still waits for */
};
fw_err rollup_retention(struct rollup *r, const struct retention_cut *cut, size_t max,
                        struct retention_step *done) FW_WUR;
/* Log positions before this were pruned (1 if none). */
uint64_t rollup_log_start(struct rollup *r);

/* Drops every cell and recomputes them all from the event log. */
fw_err rollup_rebuild(struct rollup *r, uint64_t *replayed) FW_WUR;

/* ---- read side (query.c) ------------------------------------------------------------------ */

struct store_info {
    char id[FW_ID_MAX + 1];
    char region[FW_ID_MAX + 1];
    const struct tz *tz;
    int open_min, close_min; /* opening hours, minutes after local midnight (config_hours) */
    /* The live lists' judgements, as the rules make them: complaint_sla_hours (a complaint's
     * sla_state) and no_show_minutes (attendance's no_show), in ms. */
    int64_t complaint_sla_ms, no_show_ms;
};

/* After a configuration reload: stores take their new region and zone (figures already
 * rolled up stay in the buckets they were put in), and newly listed stores are added. */
void rollup_config_changed(struct rollup *r);

/* The store's zone and region (config, or UTC/"default" in zero-config). NULL if unknown and
 * the config lists stores. */
const struct store_info *rollup_store(struct rollup *r, const char *store);
/* Every store with data or in the config, sorted by id; *n set. The array is the rollup's. */
const struct store_info *const *rollup_stores(struct rollup *r, size_t *n);

/* Builds a key: type, store, then fields by fmt: 'd' day (int32), 'h' hour (int), 's' id,
 * 'b' one byte. Returns its length. */
size_t rollup_key(uint8_t *out, uint8_t type, const char *store, const char *fmt, ...);

/* Reads one cell (memory first, then LMDB through txn). Counters are zero and *tag "" when the
 * cell does not exist; returns whether it exists. counters must hold at least n. */
bool rollup_get(struct rollup *r, struct store_txn *txn, const uint8_t *key, size_t klen,
                int64_t *counters, size_t n, char *tag, size_t taglen);

/* During the hook: reads a cell as the apply left it (memory, else LMDB). Like rollup_get. */
bool rollup_peek(struct rollup *r, const uint8_t *key, size_t klen, int64_t *counters, size_t n,
                 char *tag, size_t taglen);

/* The rules' memo on a cell: what they keep there to skip work they have done. It lives in
 * memory only and is zeroed whenever the cell is read anew (at start, after a replay, after an
 * eviction), so a memo must never say more than a zeroed one does. On-hand cells have one. */
struct rollup_memo {
    void *hint[2]; /* the stock rules' alert records (alert_hint) */
    uint8_t flags;
};

/* Like rollup_peek, and *memo points at the cell's memo: NULL when its type has none or the
 * cell could not be had (out of memory). Valid until the hook returns. */
bool rollup_peek_memo(struct rollup *r, const uint8_t *key, size_t klen, int64_t *counters,
                      size_t n, struct rollup_memo **memo);

/* During the hook: the on-hand cell of line i of the sale just applied (a stock move's: i = 0)
 * as rollup_peek_memo reads it, without looking it up again. False when it was not kept (out
 * of memory): look it up. */
bool rollup_on_hand(struct rollup *r, const struct rollup_applied *ap, size_t i, int64_t *counters,
                    size_t n, struct rollup_memo **memo);

/* During the hook: a sale's CELL_SALES_DAY counters, without looking the cell up again. False
 * when it was not kept (out of memory): look it up. */
bool rollup_sales_day(struct rollup *r, const struct rollup_applied *ap, int64_t *counters,
                      size_t n);

/* Copies the id at the start of a key suffix (NUL-terminated, or the whole suffix) into out.
 * False, and nothing copied, if it is longer than FW_ID_MAX. */
bool rollup_suffix_id(const uint8_t *suf, size_t n, char out[FW_ID_MAX + 1]);

/* Visits every cell whose key starts with prefix, in key order, merging memory over LMDB.
 * The callback gets the key suffix after the prefix. */
typedef void (*rollup_visit_fn)(void *arg, const uint8_t *suffix, size_t slen,
                                const int64_t *counters, size_t n, const char *tag);
fw_err rollup_scan(struct rollup *r, struct store_txn *txn, const uint8_t *prefix, size_t plen,
                   rollup_visit_fn fn, void *arg) FW_WUR;

#endif
