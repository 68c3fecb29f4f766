/*
 * Unit tests for the rollup checkpoint (daemon/rollup_persist.c; the cell map is rollup.c's) on a
 * real LMDB environment in a temporary directory. A checkpoint of more cells than one job writes is
 * stored whole first (staged), then merged into the cells a slice per job; whatever a crash leaves
 * of it (staged only, merged in part) a start reads the same rollups at the checkpoint's position.
 * A first job that fails leaves the cells dirty; a slice that fails is merged by the next job; a
 * stop finishes a staged checkpoint and takes what changed since; a staged copy that does not
 * decode stops the start (rollup_replay) and a rebuild clears it.
 *
 * The expected rollups are what the rollup held in memory before the "crash" (every cell, by
 * a scan of each cell type), so the test says nothing about the figures themselves, only that
 * a checkpoint keeps them; test_rollups.py checks the figures.
 *
 * A snapshot taken a slice at a time makes the same checkpoint; events applied meanwhile drop
 * it. Also the cells in memory themselves: their map doubles a step at a time, and every cell is
 * found, once, while it grows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "floorwalker.pb-c.h"
#include "log.h"
#include "rollup.h"
#include "store.h"

#define NOW_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define LINES 4
#define SALES 700         /* 4 SKUs each, all different: several thousand cells, several slices */
#define KEY_STAGED "C"    /* rollup_persist.c's meta key of a staged checkpoint */
#define CELL_MAXV_TEST 16 /* counters read: more than the widest cell has */
#define CELL_KEYMAX_TEST 256 /* key bytes: more than the longest key has */

static struct config cfg;

/* The events: sales of SKUs no other sale has, one a second. */
struct sales {
    Floorwalker__Event ev[SALES];
    Floorwalker__Sale sale[SALES];
    Floorwalker__SaleLine line[SALES][LINES];
    Floorwalker__SaleLine *lines[SALES][LINES];
    char sku[SALES][LINES][16];
    const Floorwalker__Event *evp[SALES];
    uint64_t pos[SALES];
};

static struct sales *sales_new(uint64_t first_pos)
{
    struct sales *s = calloc(1, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < SALES; i++) {
        Floorwalker__Event ev = FLOORWALKER__EVENT__INIT;
        Floorwalker__Sale sale = FLOORWALKER__SALE__INIT;
        int64_t total = 0;
        for (size_t l = 0; l < LINES; l++) {
            Floorwalker__SaleLine ln = FLOORWALKER__SALE_LINE__INIT;
            snprintf(s->sku[i][l], sizeof s->sku[i][l], "SKU-%" PRIu64 "-%zu", first_pos + i, l);
            ln.sku = s->sku[i][l];
            ln.category = l % 2 ? "grocery" : "household";
            ln.qty_milli = 1000 * (int64_t)(l + 1);
            ln.unit_price_cents = 199 + (int64_t)i;
            total += (int64_t)(l + 1) * ln.unit_price_cents;
            s->line[i][l] = ln;
            s->lines[i][l] = &s->line[i][l];
        }
        sale.receipt_id = "R1";
        sale.cashier_id = i % 3 ? "C1" : "C2";
        sale.kind = FLOORWALKER__SALE__KIND__SALE;
        sale.n_lines = LINES;
        sale.lines = s->lines[i];
        sale.total_cents = total;
        s->sale[i] = sale;
        ev.store_id = "S1";
        ev.terminal_id = "T1";
        ev.epoch = 1;
        ev.seq = first_pos + i;
        ev.event_time_ms = NOW_MS + (int64_t)(first_pos + i) * 1000;
        ev.body_case = FLOORWALKER__EVENT__BODY_SALE;
        ev.sale = &s->sale[i];
        s->ev[i] = ev;
        s->evp[i] = &s->ev[i];
        s->pos[i] = first_pos + i;
    }
    return s;
}

static void apply_sales(struct rollup *r, uint64_t first_pos)
{
    struct sales *s = sales_new(first_pos);
    rollup_apply(r, s->evp, s->pos, SALES);
    free(s);
}

/* Every cell, as text: a line "hex(key) = counters | tag" per cell, sorted. */
struct dump {
    char **lines;
    size_t n, cap;
    const uint8_t *prefix;
    size_t plen;
};

static void dump_cell(void *arg, const uint8_t *suffix, size_t slen, const int64_t *v, size_t n,
                      const char *tag)
{
    struct dump *d = arg;
    char line[2048];
    size_t k = 0;
    for (size_t i = 0; i < d->plen + slen; i++)
        k += (size_t)snprintf(line + k, sizeof line - k, "%02x",
                              i < d->plen ? d->prefix[i] : suffix[i - d->plen]);
    k += (size_t)snprintf(line + k, sizeof line - k, " =");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(line + k, sizeof line - k, " %" PRId64, v[i]);
    snprintf(line + k, sizeof line - k, " | %s\n", tag ? tag : "");
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 4096;
        d->lines = realloc(d->lines, d->cap * sizeof *d->lines);
        assert_non_null(d->lines);
    }
    d->lines[d->n] = strdup(line);
    assert_non_null(d->lines[d->n++]);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A scan finds the cells in LMDB under its prefix, and those in memory only under their own
 * scan prefix: (type), (type, store) or (type, store, day) by type. The test's events are of
 * one store on one day, so every type is scanned by all three and the lines made unique. */
static char *dump_all(struct rollup *r, struct store *st, size_t *cells)
{
    struct dump d = {0};
    struct store_txn t;
    store_txn_begin(st, &t, true);
    assert_int_equal(t.err, FW_OK);
    uint32_t day = (uint32_t)(NOW_MS / 86400000) ^ 0x80000000u;
    for (unsigned type = 1; type < 256; type++) {
        uint8_t p[] = {
            (uint8_t)type,       'S',         '1', 0, (uint8_t)(day >> 24), (uint8_t)(day >> 16),
            (uint8_t)(day >> 8), (uint8_t)day};
        size_t lens[] = {1, 4, 8};
        for (size_t i = 0; i < 3; i++) {
            d.prefix = p;
            d.plen = lens[i];
            assert_int_equal(rollup_scan(r, &t, p, lens[i], dump_cell, &d), FW_OK);
        }
    }
    store_txn_abort(&t);
    qsort(d.lines, d.n, sizeof *d.lines, cmp_line);
    size_t len = 1;
    for (size_t i = 0; i < d.n; i++)
        len += strlen(d.lines[i]);
    char *out = malloc(len);
    assert_non_null(out);
    out[0] = 0;
    *cells = 0;
    for (size_t i = 0, at = 0; i < d.n; i++) {
        if (!i || strcmp(d.lines[i], d.lines[i - 1])) {
            size_t l = strlen(d.lines[i]);
            memcpy(out + at, d.lines[i], l + 1);
            at += l;
            ++*cells;
        }
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.lines[i]);
    free(d.lines);
    return out;
}

struct env {
    char dir[256];
    struct store *st;
    struct rollup *r;
};

static void env_open(struct env *e)
{
    assert_int_equal(store_open(&e->st, e->dir, 64u << 20, 64u << 20), FW_OK);
    assert_int_equal(rollup_create(&e->r, &cfg, e->st), FW_OK);
}

/* A crash: nothing more is written (rollup_destroy writes nothing). */
static void env_close(struct env *e)
{
    rollup_destroy(&e->r);
    store_destroy(&e->st);
}

static void env_new(struct env *e)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(e->dir, sizeof e->dir, "%s/fw-cp-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(e->dir));
    env_open(e);
}

/* A new environment whose rollup has applied the test's sales at positions 1..SALES: returns
 * every cell (dump_all), *cells of them. */
static char *env_with_sales(struct env *e, size_t *cells)
{
    env_new(e);
    apply_sales(e->r, 1);
    return dump_all(e->r, e->st, cells);
}

static void env_remove(struct env *e)
{
    env_close(e);
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", e->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", e->dir);
    unlink(path);
    rmdir(e->dir);
}

/* One writer job of the checkpoint in flight, as ingest.c runs it; fail: the job fails after
 * the checkpoint's part (another part of its transaction failed). */
static fw_err job_fill(struct store_txn *t, void *arg)
{
    return rollup_checkpoint_fill(arg, t, 0);
}

static fw_err failing_fill(struct store_txn *t, void *arg)
{
    fw_err err = rollup_checkpoint_fill(arg, t, 0);
    return err ? err : FW_EIO;
}

static void job(struct env *e, bool fail)
{
    fw_err err = store_write(e->st, fail ? failing_fill : job_fill, NULL, e->r, NULL);
    assert_int_equal(err, fail ? FW_EIO : FW_OK);
    rollup_checkpoint_end(e->r, err);
}

static bool staged_on_disk(struct env *e)
{
    struct store_txn t;
    MDB_val v;
    store_txn_begin(e->st, &t, true);
    fw_err err = store_txn_get_raw(&t, store_db(e->st, STORE_META), KEY_STAGED, 1, &v);
    store_txn_abort(&t);
    return err == FW_OK;
}

/* The rollups after a restart (replay included) equal want, at position pos. */
static void assert_restart_reads(struct env *e, const char *want, size_t want_cells, uint64_t pos)
{
    env_close(e);
    env_open(e);
    uint64_t replayed = 1;
    assert_int_equal(rollup_replay(e->r, &replayed), FW_OK);
    assert_int_equal(rollup_position(e->r), pos);
    assert_false(staged_on_disk(e));
    size_t cells;
    char *got = dump_all(e->r, e->st, &cells);
    assert_int_equal(cells, want_cells);
    assert_string_equal(got, want);
    free(got);
}

/* A crash after `slices` merge jobs (0: right after the staging job). */
static void crash_after(size_t slices)
{
    struct env e;
    size_t cells;
    char *want = env_with_sales(&e, &cells);
    assert_true(cells > 3 * 1000); /* more than three jobs' worth */
    bool started = false;
    assert_int_equal(rollup_checkpoint_begin(e.r, &started), FW_OK);
    assert_true(started);
    job(&e, false); /* staged */
    assert_true(rollup_checkpoint_staged(e.r));
    assert_true(staged_on_disk(&e));
    for (size_t i = 0; i < slices; i++) {
        job(&e, false);
        assert_true(rollup_checkpoint_staged(e.r)); /* more left */
    }
    assert_restart_reads(&e, want, cells, SALES);
    free(want);
    env_remove(&e);
}

static void test_crash_when_staged(void **state)
{
    crash_after(0);
}

static void test_crash_mid_merge(void **state)
{
    crash_after(2);
}

/* Job by job to the end: the staged copy goes with the last slice, a restart reads the same. */
static void test_merged_in_slices(void **state)
{
    struct env e;
    size_t cells;
    char *want = env_with_sales(&e, &cells);
    bool started = false;
    assert_int_equal(rollup_checkpoint_begin(e.r, &started), FW_OK);
    size_t jobs = 0;
    do {
        job(&e, false);
        jobs++;
        /* Rollups read the same while it is merged (scans merge the snapshot's new cells). */
        size_t now;
        char *mid = dump_all(e.r, e.st, &now);
        assert_string_equal(mid, want);
        free(mid);
    } while (rollup_checkpoint_staged(e.r));
    assert_int_equal(jobs, 1 + (cells + 999) / 1000);
    assert_false(rollup_checkpoint_busy(e.r));
    assert_false(staged_on_disk(&e));
    assert_restart_reads(&e, want, cells, SALES);
    free(want);
    env_remove(&e);
}

/* The staging job fails: nothing of it was written, its cells are dirty again. A slice fails:
 * the next job merges it. */
static void test_failed_jobs(void **state)
{
    struct env e;
    size_t cells;
    char *want = env_with_sales(&e, &cells);
    size_t dirty = rollup_dirty(e.r);
    bool started = false;
    assert_int_equal(rollup_checkpoint_begin(e.r, &started), FW_OK);
    assert_int_equal(rollup_dirty(e.r), 0);
    job(&e, true);
    assert_false(rollup_checkpoint_busy(e.r));
    assert_false(staged_on_disk(&e));
    assert_int_equal(rollup_dirty(e.r), dirty);

    assert_int_equal(rollup_checkpoint_begin(e.r, &started), FW_OK);
    job(&e, false);
    job(&e, true); /* a slice */
    assert_true(rollup_checkpoint_staged(e.r));
    while (rollup_checkpoint_staged(e.r))
        job(&e, false);
    assert_restart_reads(&e, want, cells, SALES);
    free(want);
    env_remove(&e);
}

/* A stop with a checkpoint staged: rollup_checkpoint finishes it and takes what changed since,
 * in one transaction. */
static void test_stop_finishes_staged(void **state)
{
    struct env e;
    env_new(&e);
    apply_sales(e.r, 1);
    bool started = false;
    assert_int_equal(rollup_checkpoint_begin(e.r, &started), FW_OK);
    job(&e, false);
    job(&e, false);
    apply_sales(e.r, SALES + 1); /* while it is merged */
    size_t cells;
    char *want = dump_all(e.r, e.st, &cells);
    assert_int_equal(rollup_checkpoint(e.r), FW_OK);
    assert_false(rollup_checkpoint_busy(e.r));
    assert_int_equal(rollup_dirty(e.r), 0);
    assert_restart_reads(&e, want, cells, 2 * SALES);
    free(want);
    env_remove(&e);
}

static fw_err put_damaged(struct store_txn *t, void *arg)
{
    const uint8_t bad[] = {0, 0, 0, 0, 0, 0, 0, 9, 40, 200, 'x'}; /* lengths past its end */
    store_txn_put_raw(t, store_db(arg, STORE_META), KEY_STAGED, 1, bad, sizeof bad, 0);
    return t->err;
}

/* A staged copy that does not decode: the start stops at the replay (the rollups would not
 * be whole), a rebuild recomputes them from the log and clears it. */
static void test_damaged_staged_copy(void **state)
{
    struct env e;
    env_new(&e);
    assert_int_equal(store_write(e.st, put_damaged, NULL, e.st, NULL), FW_OK);
    env_close(&e);
    env_open(&e);
    uint64_t n = 0;
    assert_int_equal(rollup_replay(e.r, &n), FW_ECORRUPT);
    assert_true(staged_on_disk(&e));
    assert_int_equal(rollup_rebuild(e.r, &n), FW_OK);
    assert_false(staged_on_disk(&e));
    assert_int_equal(rollup_replay(e.r, &n), FW_OK);
    env_remove(&e);
}

/* A checkpoint begun (it must start) and written job by job to its last slice. */
static void write_checkpoint(struct env *e)
{
    bool started = false;
    assert_int_equal(rollup_checkpoint_begin(e->r, &started), FW_OK);
    assert_true(started);
    do
        job(e, false);
    while (rollup_checkpoint_staged(e->r));
}

/* A snapshot taken a slice at a time (one chunk of 256 cells per step here, as when a query
 * waits) makes the checkpoint the snapshot taken at once makes: a restart reads the same. */
static void test_snapshot_in_steps(void **state)
{
    struct env e;
    size_t cells;
    char *want = env_with_sales(&e, &cells);
    size_t steps = 1;
    while (!rollup_snapshot_step(e.r, 0)) {
        assert_true(rollup_snapshotting(e.r));
        assert_true(rollup_checkpoint_busy(e.r)); /* no retention meanwhile */
        steps++;
    }
    assert_true(steps >= cells / 256);
    write_checkpoint(&e);
    assert_false(rollup_snapshotting(e.r));
    assert_restart_reads(&e, want, cells, SALES);
    free(want);
    env_remove(&e);
}

/* Events applied while a snapshot is partly taken change cells it has encoded (every sale
 * changes the store's day and hour cells, the first it took): the snapshot goes, and the
 * checkpoint begun next holds them as they are after those events. */
static void test_apply_drops_snapshot(void **state)
{
    struct env e;
    size_t cells;
    free(env_with_sales(&e, &cells));
    assert_false(rollup_snapshot_step(e.r, 0)); /* one chunk taken, more to take */
    apply_sales(e.r, SALES + 1);
    assert_false(rollup_snapshotting(e.r));
    char *want = dump_all(e.r, e.st, &cells);
    write_checkpoint(&e);
    assert_restart_reads(&e, want, cells, 2 * SALES);
    free(want);
    env_remove(&e);
}

/* While the cell map grows (the old table's slots moved a few per lookup), every cell is found
 * with its figures, and counted once: sales applied one at a time, each sale's product cells
 * read back at once and every sale's product cells again every 64 sales, from 4,096 slots to
 * 65,536. */
static void test_cells_found_while_map_grows(void **state)
{
    struct env e;
    env_new(&e);
    enum { ROUNDS = 5 };
    struct sales *s[ROUNDS];
    int32_t day = (int32_t)(NOW_MS / 86400000);
    size_t checked = 0;
    for (size_t round = 0; round < ROUNDS; round++) {
        s[round] = sales_new(1 + round * SALES);
        for (size_t i = 0; i < SALES; i++) {
            rollup_apply(e.r, &s[round]->evp[i], &s[round]->pos[i], 1);
            bool all = i % 64 == 63 || i == SALES - 1;
            for (size_t r = all ? 0 : round; r <= round; r++) {
                for (size_t j = all ? 0 : i; j <= (r == round ? i : SALES - 1); j++) {
                    for (size_t l = 0; l < LINES; l++) {
                        uint8_t key[256];
                        int64_t v[PR_N] = {0};
                        size_t kl = rollup_key(key, CELL_PRODUCT, "S1", "ds", day, s[r]->sku[j][l]);
                        assert_true(rollup_peek(e.r, key, kl, v, PR_N, NULL, 0));
                        assert_int_equal(v[PR_QTY], 1000 * (int64_t)(l + 1));
                        checked++;
                    }
                }
            }
        }
    }
    size_t cells;
    char *all = dump_all(e.r, e.st, &cells);
    struct rollup_stats st;
    rollup_get_stats(e.r, &st);
    assert_true(cells > 32768 * 3 / 4);       /* grown to 65,536 slots (at most 3/4 full) */
    assert_int_equal(st.cached_cells, cells); /* none in LMDB: each cell in memory once */
    assert_true(checked > 100000);
    free(all);
    for (size_t round = 0; round < ROUNDS; round++)
        free(s[round]);
    env_remove(&e);
}

/* ---- the cache's eviction ------------------------------------------------------------------- */

#define CACHE 1000 /* [rollup] cache_cells for these tests: the sales make several thousand */
#define CACHE_DEFAULT 400000 /* config_defaults' own, put back after each */

/* Whether key's cell is in memory (rollup_get without a transaction reads memory only). */
static bool cached(struct rollup *r, const uint8_t *key, size_t kl)
{
    int64_t v[CELL_MAXV_TEST];
    return rollup_get(r, NULL, key, kl, v, CELL_MAXV_TEST, NULL, 0);
}

/* The product (0) or on-hand (1) key of line l of sale i of s. */
static size_t sale_key(uint8_t *key, const struct sales *s, size_t i, size_t l, int which)
{
    int32_t day = (int32_t)(NOW_MS / 86400000);
    return which ? rollup_key(key, CELL_ON_HAND, "S1", "s", s->sku[i][l])
                 : rollup_key(key, CELL_PRODUCT, "S1", "ds", day, s->sku[i][l]);
}

/* Of the cells a dump lists (dump_all), how many are in memory: each key looked up. */
static size_t count_cached_dump(struct rollup *r, const char *dump)
{
    size_t n = 0;
    for (const char *p = dump; *p;) {
        uint8_t key[CELL_KEYMAX_TEST];
        size_t kl = 0;
        unsigned byte;
        while (*p != ' ' && sscanf(p, "%2x", &byte) == 1) {
            assert_true(kl < sizeof key);
            key[kl++] = (uint8_t)byte;
            p += 2;
        }
        n += cached(r, key, kl);
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    return n;
}

/* An eviction run to its end one clock reading at a time (until_ns 0: one chunk per step);
 * returns the steps. */
static size_t evict_all(struct rollup *r)
{
    size_t steps = 1;
    while (!rollup_evict_step(r, 0))
        steps++;
    return steps;
}

/* More cells than cache_cells, all checkpointed: an eviction in steps leaves 3/4 of
 * cache_cells, every one of them still found in the map (a freed slot's followers shifted back
 * right), and every figure read back the same, from memory or LMDB; then the cells looked up
 * since it (the last 25 sales' product cells) outlive the next eviction, which frees others. */
static void test_evict_in_steps(void **state)
{
    struct env e;
    size_t cells;
    cfg.cache_cells = CACHE;
    char *want = env_with_sales(&e, &cells);
    assert_true(cells > 3 * CACHE);
    assert_false(rollup_evict_due(e.r)); /* the sales' cells are dirty: none can go */
    write_checkpoint(&e);
    assert_true(rollup_evict_due(e.r));
    assert_true(evict_all(e.r) > 2); /* in slices */
    struct rollup_stats st;
    rollup_get_stats(e.r, &st);
    assert_int_equal(st.cached_cells, CACHE / 4 * 3);
    assert_int_equal(st.evictions, 1);
    struct sales *s = sales_new(1);
    /* Counted by lookups of every cell's key: a cell the shifting lost would not be found. */
    assert_int_equal(count_cached_dump(e.r, want), CACHE / 4 * 3);
    size_t got_cells;
    char *got = dump_all(e.r, e.st, &got_cells);
    assert_int_equal(got_cells, cells);
    assert_string_equal(got, want);
    free(got);

    /* The last 25 sales' product cells looked up (read back from LMDB if evicted). */
    int64_t v[PR_N];
    for (size_t i = SALES - 25; i < SALES; i++)
        for (size_t l = 0; l < LINES; l++) {
            uint8_t key[256];
            size_t kl = sale_key(key, s, i, l, 0);
            assert_true(rollup_peek(e.r, key, kl, v, PR_N, NULL, 0));
            assert_int_equal(v[PR_QTY], 1000 * (int64_t)(l + 1));
        }
    /* New cells past cache_cells again (a few sales of new SKUs), checkpointed, evicted. */
    struct sales *more = sales_new(SALES + 1);
    rollup_apply(e.r, more->evp, more->pos, 40);
    write_checkpoint(&e);
    rollup_get_stats(e.r, &st);
    assert_true(st.cached_cells > CACHE);
    assert_true(rollup_evict_due(e.r));
    evict_all(e.r);
    rollup_get_stats(e.r, &st);
    assert_int_equal(st.cached_cells, CACHE / 4 * 3);
    for (size_t i = SALES - 25; i < SALES; i++)
        for (size_t l = 0; l < LINES; l++) {
            uint8_t key[256];
            assert_true(cached(e.r, key, sale_key(key, s, i, l, 0)));
        }
    free(more);
    free(s);
    free(want);
    env_remove(&e);
    cfg.cache_cells = CACHE_DEFAULT;
}

/* Sells every SKU of the test's sales once more, at positions after round - 1 rounds. */
static void sell_again(struct env *e, struct sales *s, size_t round)
{
    for (size_t i = 0; i < SALES; i++)
        s->pos[i] = round * SALES + 1 + i;
    rollup_apply(e->r, s->evp, s->pos, SALES);
}

/* Every SKU of the test's sales sold three times, the first two checkpointed, and an eviction
 * begun (one slice taken) before the third: returns the sales, for their keys. */
static struct sales *sold_thrice_while_evicting(struct env *e)
{
    size_t cells;
    free(env_with_sales(e, &cells));
    write_checkpoint(e);
    struct sales *s = sales_new(1);
    sell_again(e, s, 1);
    write_checkpoint(e);
    assert_true(rollup_evict_due(e->r));
    assert_false(rollup_evict_step(e->r, 0));
    sell_again(e, s, 2);
    return s;
}

/* Every product cell of the sales reads three sales (and is in memory, if in_memory). */
static void assert_sold_thrice(struct env *e, const struct sales *s, bool in_memory)
{
    for (size_t i = 0; i < SALES; i++)
        for (size_t l = 0; l < LINES; l++) {
            uint8_t key[256];
            size_t kl = sale_key(key, s, i, l, 0);
            if (in_memory)
                assert_true(cached(e->r, key, kl));
            int64_t v[PR_N];
            assert_true(rollup_peek(e->r, key, kl, v, PR_N, NULL, 0));
            assert_int_equal(v[PR_QTY], 3 * 1000 * (int64_t)(l + 1));
        }
}

/* The cells of a checkpoint begun while an eviction is under way stay (clean in memory, but
 * LMDB has their figures only once it ends): a cell read back from LMDB then would be stale,
 * and stay so. */
static void test_evict_keeps_unwritten(void **state)
{
    struct env e;
    size_t cells;
    cfg.cache_cells = CACHE;
    struct sales *s = sold_thrice_while_evicting(&e);
    char *want = dump_all(e.r, e.st, &cells);
    bool started = false;
    assert_int_equal(rollup_checkpoint_begin(e.r, &started), FW_OK);
    assert_true(started);
    evict_all(e.r);
    /* Before the checkpoint's job is written. */
    assert_sold_thrice(&e, s, false);
    do
        job(&e, false);
    while (rollup_checkpoint_staged(e.r));
    assert_restart_reads(&e, want, cells, 3 * SALES);
    free(want);
    free(s);
    env_remove(&e);
    cfg.cache_cells = CACHE_DEFAULT;
}

/* An eviction under way when every cell changes again: the dirty cells stay in memory (LMDB
 * does not have their figures), each read with three sales. */
static void test_evict_keeps_dirty(void **state)
{
    struct env e;
    cfg.cache_cells = CACHE;
    struct sales *s = sold_thrice_while_evicting(&e);
    evict_all(e.r);
    assert_sold_thrice(&e, s, true);
    free(s);
    env_remove(&e);
    cfg.cache_cells = CACHE_DEFAULT;
}

/* The test's sales written into the event log at their positions, as ingest writes them. */
static fw_err log_fill(struct store_txn *t, void *arg)
{
    const struct sales *s = arg;
    for (size_t i = 0; i < SALES; i++) {
        uint8_t buf[1024];
        size_t len = floorwalker__event__get_packed_size(&s->ev[i]);
        assert_true(len <= sizeof buf - 8);
        memset(buf, 0, 8); /* the arrival time */
        floorwalker__event__pack(&s->ev[i], buf + 8);
        struct key k;
        key_init(&k, KEY_EVENT);
        key_u64(&k, s->pos[i]);
        store_txn_put(t, store_db(t->st, STORE_EVENTS), &k, buf, 8 + len, MDB_APPEND);
    }
    return t->err;
}

/* A start replays a log of more cells than cache_cells (its map grown to 65,536 slots on the
 * way): the replay evicts at once, before the loop runs, down to 3/4 of cache_cells, every
 * figure the same. */
static void test_replay_evicts(void **state)
{
    enum { ROUNDS = 5 };
    struct env e;
    env_new(&e);
    for (size_t round = 0; round < ROUNDS; round++) {
        struct sales *s = sales_new(1 + round * SALES);
        assert_int_equal(store_write(e.st, log_fill, NULL, s, NULL), FW_OK);
        rollup_apply(e.r, s->evp, s->pos, SALES); /* what the rollups read, for the dump */
        free(s);
    }
    size_t cells;
    char *want = dump_all(e.r, e.st, &cells);
    assert_true(cells > 32768 * 3 / 4);
    cfg.cache_cells = CACHE;
    env_close(&e); /* nothing was checkpointed: the start replays it all */
    env_open(&e);
    uint64_t replayed = 0;
    assert_int_equal(rollup_replay(e.r, &replayed), FW_OK);
    assert_int_equal(replayed, ROUNDS * SALES);
    struct rollup_stats st;
    rollup_get_stats(e.r, &st);
    assert_int_equal(st.cached_cells, CACHE / 4 * 3);
    assert_true(st.evictions >= 1);
    size_t got_cells;
    char *got = dump_all(e.r, e.st, &got_cells);
    assert_int_equal(got_cells, cells);
    assert_string_equal(got, want);
    free(got);
    free(want);
    env_remove(&e);
    cfg.cache_cells = CACHE_DEFAULT;
}

struct raw_put {
    MDB_dbi db;
    const uint8_t *key;
    size_t kl;
};

static fw_err put_garbage(struct store_txn *t, void *arg)
{
    const struct raw_put *p = arg;
    store_txn_put_raw(t, p->db, p->key, p->kl, "\x07", 1, 0); /* 7 counters promised, none */
    return t->err;
}

/* A cell LMDB holds but that does not decode is not taken for a new, zero one (whose
 * checkpoint would overwrite it): the lookup fails, is counted, and nothing is written over
 * it. */
static void test_unreadable_cell(void **state)
{
    struct env e;
    env_new(&e);
    MDB_dbi db;
    assert_int_equal(store_db_open(e.st, "rollups", &db), FW_OK);
    uint8_t key[256];
    int32_t day = (int32_t)(NOW_MS / 86400000);
    size_t kl = rollup_key(key, CELL_PRODUCT, "S1", "ds", day, "SKU-X");
    struct raw_put rp = {db, key, kl};
    assert_int_equal(store_write(e.st, put_garbage, NULL, &rp, NULL), FW_OK);
    int64_t v[PR_N];
    assert_false(rollup_peek(e.r, key, kl, v, PR_N, NULL, 0));
    struct rollup_stats st;
    rollup_get_stats(e.r, &st);
    assert_int_equal(st.read_errors, 1);
    assert_false(cached(e.r, key, kl));
    apply_sales(e.r, 1);
    write_checkpoint(&e);
    struct store_txn t;
    MDB_val mv;
    store_txn_begin(e.st, &t, true);
    assert_int_equal(store_txn_get_raw(&t, db, key, kl, &mv), FW_OK);
    assert_int_equal(mv.mv_size, 1); /* still the bytes it had */
    store_txn_abort(&t);
    env_remove(&e);
}

int main(void)
{
    log_setup((enum log_level)(LOG_LVL_ERR - 1), false); /* the failures it causes: quiet */
    config_defaults(&cfg);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_when_staged),
        cmocka_unit_test(test_crash_mid_merge),
        cmocka_unit_test(test_merged_in_slices),
        cmocka_unit_test(test_failed_jobs),
        cmocka_unit_test(test_stop_finishes_staged),
        cmocka_unit_test(test_damaged_staged_copy),
        cmocka_unit_test(test_snapshot_in_steps),
        cmocka_unit_test(test_apply_drops_snapshot),
        cmocka_unit_test(test_cells_found_while_map_grows),
        cmocka_unit_test(test_evict_in_steps),
        cmocka_unit_test(test_evict_keeps_unwritten),
        cmocka_unit_test(test_evict_keeps_dirty),
        cmocka_unit_test(test_replay_evicts),
        cmocka_unit_test(test_unreadable_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
