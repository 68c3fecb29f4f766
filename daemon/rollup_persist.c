/*
 * What the rollups keep in LMDB (rollup.h): checkpoints (a snapshot of the dirty cells taken on
 * the loop, written by the writer thread; a large one staged whole, then merged a slice per
 * job), replay of the log after a start, rebuild, and retention. The cells in memory are
 * rollup.c's (rollup_int.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "grow.h"
#include "log.h"
#include "rollup_int.h"

#define KEY_STAGED "C"   /* meta: a checkpoint staged whole, being merged (see cp_fill) */
#define MERGE_CELLS 1000 /* cells written per job; a larger checkpoint is staged first */
#define REC_MAX (2 + CELL_KEYMAX + VAL_MAX) /* a cell's snapshot record (cprec.h) */
#define REPLAY_CHUNK 50000

/* ---- checkpoint, replay, rebuild ------------------------------------------------------------ */

void free_newlist(void *p)
{
    struct newlist *l = p;
    free(l->v);
    free(l);
}

#define SNAPSHOT_AHEAD 8 /* cells prefetched ahead of the one snapshotted */

/* The dirty list again from the dirty flags, after one could not be listed. */
static int relist_dirty(struct rollup *r)
{
    size_t n = 0;
    map_settle(&r->cells); /* every cell in one table */
    for (size_t i = 0; i < r->cells.cap; i++)
        n += r->cells.slots[i].c && r->cells.slots[i].c->dirty;
    if (!dirty_room(r, n))
        return -1;
    r->ndirty = 0;
    for (size_t i = 0; i < r->cells.cap; i++)
        if (r->cells.slots[i].c && r->cells.slots[i].c->dirty)
            r->dirty[r->ndirty++] = r->cells.slots[i].c;
    r->dirty_lost = false;
    return 0;
}

_Static_assert(CELL_KEYMAX <= 255 && 2 + CELL_MAXV * 8 + TAG_MAX <= 255,
               "a staged record's key and value lengths are one byte each");

/* Room for `more` bytes of snapshot records. */
static bool cp_room(struct rollup *r, size_t more)
{
    uint8_t *b = grow_array(r->cp.rec, &r->cp.rec_cap, r->cp.len + more, 1);
    if (b)
        r->cp.rec = b;
    return b != NULL;
}

/* Room for the staging job's sort of n records (sort_snapshot); what the buffers held is not
 * kept. */
static bool sort_room(struct rollup *r, size_t n)
{
    r->cp.out = grow_array_fresh(r->cp.out, &r->cp.out_cap, r->cp.len, 1);
    r->cp.ents = grow_array_fresh(r->cp.ents, &r->cp.ents_cap, 2 * n, sizeof *r->cp.ents);
    return r->cp.out && r->cp.ents;
}

/*
 * A large snapshot is taken a slice at a time (rollup_snapshot_step, on the loop between its
 * other work: 80,000 dirty cells took 7-19 ms in one step), into cp.rec. The cells stay dirty
 * and nothing else of the checkpoint begins until rollup_checkpoint_begin finishes it; applying
 * drops it (rollup_apply), since a cell changed after it was encoded would be checkpointed
 * stale and then marked clean.
 */
#define SNAPSHOT_CHUNK 256 /* cells encoded between clock readings */

static fw_err snapshot_start(struct rollup *r)
{
    end_reads(r);
    if (r->dirty_lost && relist_dirty(r) != 0)
        return FW_ENOMEM;
    r->cp.len = 0;
    if (!cp_room(r, CPREC_HDR))
        return FW_ENOMEM;
    be64_put(r->cp.rec, r->pos);
    r->cp.len = CPREC_HDR;
    r->snap.on = true;
    r->snap.next = 0;
    r->snap.t0 = fw_mono_ns();
    return FW_OK;
}

void rollup_snapshot_drop(struct rollup *r)
{
    r->snap.on = false;
    r->cp.len = 0;
}

bool rollup_snapshotting(const struct rollup *r)
{
    return r->snap.on;
}

/* Encodes the dirty cells from snap.next on until until_ns (read every SNAPSHOT_CHUNK cells;
 * UINT64_MAX: all of them). */
static fw_err snapshot_encode(struct rollup *r, uint64_t until_ns)
{
    size_t n = r->ndirty;
    for (size_t i = r->snap.next; i < n; i++) {
        if (i > r->snap.next && i % SNAPSHOT_CHUNK == 0 && fw_mono_ns() >= until_ns) {
            r->snap.next = i;
            return FW_OK;
        }
        if (i + SNAPSHOT_AHEAD < n) { /* the cells lie all over the heap: ask for them early */
            const char *a = (const char *)r->dirty[i + SNAPSHOT_AHEAD];
            for (size_t off = 0; off < 192; off += 64) /* flags, counters, key, tag mostly */
                __builtin_prefetch(a + off);
        }
        const struct cell *c = r->dirty[i];
        if (!cp_room(r, REC_MAX)) {
            rollup_snapshot_drop(r);
            return FW_ENOMEM;
        }
        uint8_t v[VAL_MAX];
        uint8_t vlen = (uint8_t)encode_value(c, v);
        r->cp.len += cprec_put(r->cp.rec + r->cp.len, cell_key(c), c->klen, v, vlen);
    }
    r->snap.next = n;
    return FW_OK;
}

/* Whether there is a snapshot to take: none in flight, and cells dirty or one under way. */
static bool snapshot_due(const struct rollup *r)
{
    return !r->cp.on && (r->snap.on || r->ndirty || r->dirty_lost);
}

/* The snapshot begun if it is not, and taken on until until_ns. */
static fw_err snapshot_take(struct rollup *r, uint64_t until_ns)
{
    fw_err err = r->snap.on ? FW_OK : snapshot_start(r);
    return err == FW_OK ? snapshot_encode(r, until_ns) : err;
}

bool rollup_snapshot_step(struct rollup *r, uint64_t until_ns)
{
    if (!snapshot_due(r))
        return true;
    uint64_t t0 = fw_mono_ns();
    fw_err err = snapshot_take(r, until_ns);
    stats_hist_add(&r->stats.snapshot, fw_mono_ns() - t0);
    /* Out of memory: begin tries again, and fails the checkpoint if it must. */
    return err != FW_OK || r->snap.next == r->ndirty;
}

fw_err rollup_checkpoint_begin(struct rollup *r, bool *started)
{
    *started = false;
    if (!snapshot_due(r))
        return FW_OK;
    uint64_t t0 = fw_mono_ns();
    fw_err err = snapshot_take(r, UINT64_MAX); /* what the steps left, if any */
    size_t n = r->ndirty;
    struct htab *fresh = err == FW_OK ? htab_new() : NULL;
    if (err == FW_OK && (!fresh || (n > MERGE_CELLS && !sort_room(r, n))))
        err = FW_ENOMEM;
    if (err != FW_OK) {
        htab_destroy(&fresh, free_newlist);
        rollup_snapshot_drop(r);
        return err;
    }
    /* From here its cells count as written: a change makes them dirty for the next one, and
     * scans find the new ones in cp.idx until LMDB has them. The dirty list becomes its list. */
    struct cell **cells = r->cp.cells;
    size_t cap = r->cp.cap;
    r->cp.cells = r->dirty;
    r->cp.cap = r->dirty_cap;
    r->dirty = cells;
    r->dirty_cap = cap;
    if (++r->cp.mark == 0)
        r->cp.mark = 1; /* 0: a new cell's, never in one */
    for (size_t i = 0; i < n; i++) {
        struct cell *c = r->cp.cells[i];
        c->cp_new = !c->in_lmdb;
        c->in_lmdb = true;
        c->dirty = false;
        c->cp_mark = r->cp.mark;
    }
    r->cp.on = true;
    r->cp.n = n;
    r->cp.idx = r->newidx;
    r->cp.pos = r->pos;
    r->cp.t0 = r->snap.t0;
    r->cp.merged = r->cp.next = CPREC_HDR;
    r->cp.staged = false;
    r->snap.on = false;
    r->newidx = fresh;
    r->ndirty = 0;
    stats_hist_add(&r->stats.snapshot, fw_mono_ns() - t0);
    *started = true;
    return FW_OK;
}

/*
 * Writes the records of a snapshot from *off into the cells, max at most, and moves *off
 * past them; at the end, the position they include (and the staged copy goes).
 * Lengths are checked: a staged copy read back at start may be damaged (FW_ECORRUPT).
 */
static fw_err merge_records(struct rollup *r, struct store_txn *t, const uint8_t *rec, size_t len,
                            size_t *off, size_t max)
{
    size_t at = *off;
    struct cprec c;
    for (size_t n = 0; n < max && !t->err; n++) {
        int got = cprec_next(rec, len, &at, &c);
        if (got < 0)
            return FW_ECORRUPT;
        if (!got)
            break;
        store_txn_put_raw(t, r->db, c.key, c.klen, c.val, c.vlen, 0);
    }
    if (at == len) {
        MDB_dbi meta = store_db(r->st, STORE_META);
        store_txn_put_raw(t, meta, KEY_POSITION, 1, rec, CPREC_HDR, 0);
        store_txn_del_raw(t, meta, KEY_STAGED, 1);
    }
    *off = at;
    return t->err;
}

/* The snapshot's records in key order, on the writer thread. */
static void sort_snapshot(struct rollup *r)
{
    cprec_sort(r->cp.rec, r->cp.len, r->cp.n, r->cp.out, r->cp.ents);
    uint8_t *b = r->cp.rec;
    size_t cap = r->cp.rec_cap;
    r->cp.rec = r->cp.out;
    r->cp.rec_cap = r->cp.out_cap;
    r->cp.out = b;
    r->cp.out_cap = cap;
}

/*
 * The writer's part of the checkpoint in flight, in the job's transaction. A snapshot of up
 * to MERGE_CELLS cells is written whole. A larger one would hold the passes behind it for
 * 10 ms and more (~400 ns a put into the B-tree, then the pages it dirtied written and
 * fsynced), so its first job stores it whole as one value (a copy, the staged checkpoint:
 * from then on it counts as written, start-up merges what a crash left of it) and the jobs
 * after merge it into the cells, the last one writing the position and dropping the staged
 * copy. A job merges MERGE_CELLS cells, or as many as it commits events if more: at full load
 * its merging stays a share of its work, and the checkpoint (which holds the next one and the
 * cache's eviction back) ends in a few jobs. all: everything left (the caller's own
 * transaction).
 */
static fw_err cp_fill(struct rollup *r, struct store_txn *t, size_t events, bool all)
{
    if (!all && !r->cp.staged && r->cp.n > MERGE_CELLS) {
        sort_snapshot(r);
        store_txn_put_raw(t, store_db(r->st, STORE_META), KEY_STAGED, 1, r->cp.rec, r->cp.len, 0);
        r->cp.next = CPREC_HDR;
        return t->err;
    }
    r->cp.next = r->cp.merged;
    return merge_records(r, t, r->cp.rec, r->cp.len, &r->cp.next,
                         all                    ? SIZE_MAX
                         : events > MERGE_CELLS ? events
                                                : MERGE_CELLS);
}

fw_err rollup_checkpoint_fill(struct rollup *r, struct store_txn *t, size_t events)
{
    return cp_fill(r, t, events, false);
}

bool rollup_checkpoint_staged(const struct rollup *r)
{
    return r->cp.on && r->cp.staged;
}

void rollup_checkpoint_end(struct rollup *r, fw_err err)
{
    if (!r->cp.on)
        return;
    if (err != FW_OK && r->cp.staged) {
        /* Staged, so written: the slice is merged again by the next job. */
        log_err("merging the rollup checkpoint at log position %" PRIu64
                " failed: %s; the next write retries",
                r->cp.pos, fw_strerror(err));
        return;
    }
    if (err != FW_OK) {
        r->cp.on = false;
        /* Nothing of it reached LMDB: its cells are dirty again, its new cells new again. */
        log_err("rollup checkpoint at log position %" PRIu64 " failed: %s; the next one retries",
                r->cp.pos, fw_strerror(err));
        for (size_t i = 0; i < r->cp.n; i++) {
            struct cell *c = r->cp.cells[i];
            bool was_dirty = c->dirty;
            if (c->cp_new)
                c->in_lmdb = false;
            if (!was_dirty)
                cell_dirty(r, c);
            else if (c->cp_new)
                newidx_add(r->newidx, c); /* dirtied in flight: not indexed then */
        }
        htab_destroy(&r->cp.idx, free_newlist);
        return;
    }
    r->cp.merged = r->cp.next;
    if (r->cp.merged < r->cp.len) {
        r->cp.staged = true;
        return; /* more slices to merge (rollup_checkpoint_staged) */
    }
    r->cp.on = r->cp.staged = false; /* its cells out of it (cell_in_cp) */
    htab_destroy(&r->cp.idx, free_newlist);
    struct rollup_stats *st = &r->stats;
    uint64_t ns = fw_mono_ns() - r->cp.t0;
    st->checkpoints++;
    st->last_cells = r->cp.n;
    st->last_ns = ns;
    stats_hist_add(&st->checkpoint, ns);
    if (r->cp.n > st->max_cells)
        st->max_cells = r->cp.n;
    if (ns > st->max_ns)
        st->max_ns = ns;
}

bool rollup_checkpoint_reserve(struct rollup *r, size_t bytes)
{
    if (r->cp.on || r->snap.on)
        return true; /* its snapshot is in use: no moving it now */
    r->cp.len = 0;
    if (!cp_room(r, bytes))
        return false;
    memset(r->cp.rec, 0, r->cp.rec_cap);
    return true;
}

bool rollup_checkpoint_busy(const struct rollup *r)
{
    return r->cp.on || r->snap.on;
}

/* What is left of the checkpoint in flight, in one transaction (store_write's fill). */
static fw_err cp_fill_all(struct store_txn *t, void *arg)
{
    return cp_fill(arg, t, 0, true);
}

fw_err rollup_checkpoint(struct rollup *r)
{
    if (r->cp.on && !r->cp.staged)
        return FW_ESTATE; /* the writer has it (rollup_checkpoint_end comes) */
    /* A staged one is finished first, then what changed since it was taken is taken. */
    fw_err err = FW_OK;
    for (int i = 0; i < 2 && err == FW_OK; i++) {
        bool started = r->cp.on;
        if (!started && (err = rollup_checkpoint_begin(r, &started)) != FW_OK)
            break;
        if (!started)
            break;
        err = store_write(r->st, cp_fill_all, NULL, r, NULL);
        rollup_checkpoint_end(r, err);
    }
    return err;
}

/* Applies the log from r->pos + 1 to its end, in chunks (no read txn stays open across a
 * checkpoint, so the map can grow). */
static fw_err replay_from_pos(struct rollup *r, uint64_t *replayed)
{
    struct arena a;
    arena_init(&a, 0);
    const Floorwalker__Event **evs = malloc(REPLAY_CHUNK * sizeof *evs);
    uint64_t *pos = malloc(REPLAY_CHUNK * sizeof *pos);
    fw_err err = FW_OK;
    *replayed = 0;
    if (!evs || !pos) {
        err = FW_ENOMEM;
        goto out;
    }
    for (;;) {
        struct store_txn t;
        struct store_cursor cur;
        size_t n = 0;
        store_txn_begin(r->st, &t, true);
        if (!store_cursor_open(&t, store_db(r->st, STORE_EVENTS), &cur)) {
            err = t.err;
            store_txn_abort(&t);
            break;
        }
        struct key k;
        key_init(&k, KEY_EVENT);
        key_u64(&k, r->pos + 1);
        MDB_val mk, mv;
        bool ok = store_cursor_seek(&cur, k.b, k.len, &mk, &mv);
        while (ok && n < REPLAY_CHUNK) {
            if (mk.mv_size != 9 || mv.mv_size < 8) {
                ok = store_cursor_get(&cur, STORE_NEXT, &mk, &mv);
                continue;
            }
            Floorwalker__Event *e =
                floorwalker__event__unpack(&a.pb, mv.mv_size - 8, (const uint8_t *)mv.mv_data + 8);
            if (e) {
                evs[n] = e;
                pos[n] = be64_get((uint8_t *)mk.mv_data + 1);
                n++;
            } else {
                log_err("event at log position %" PRIu64 " does not decode; skipped",
                        be64_get((uint8_t *)mk.mv_data + 1));
            }
            ok = store_cursor_get(&cur, STORE_NEXT, &mk, &mv);
        }
        store_cursor_close(&cur);
        /* The decoded events live in the arena, not in the txn's pages. */
        err = t.err;
        store_txn_abort(&t);
        if (err != FW_OK)
            break;
        rollup_apply(r, evs, pos, n);
        *replayed += n;
        arena_reset(&a);
        /* Checkpoint when the dirty set is large (bounding memory) and at the end: fewer,
         * larger checkpoints rewrite each page fewer times. */
        bool last = n < REPLAY_CHUNK;
        if ((last || (int64_t)r->ndirty > r->cfg->checkpoint_cells) &&
            (err = rollup_checkpoint(r)) != FW_OK)
            break;
        if (rollup_evict_due(r))
            rollup_evict_step(r, UINT64_MAX); /* before the loop runs: at once */
        if (last)
            break;
    }
out:
    free(evs);
    free(pos);
    arena_destroy(&a);
    return err;
}

fw_err rollup_replay(struct rollup *r, uint64_t *replayed)
{
    *replayed = 0;
    if (r->staged_bad) {
        log_err("the rollup checkpoint a crash left staged in %s does not decode, so the "
                "rollups are not whole: run floorwalkerd --rebuild once to recompute them from "
                "the event log",
                r->cfg->data_dir);
        return FW_ECORRUPT;
    }
    uint64_t t0 = fw_mono_ns();
    fw_err err = replay_from_pos(r, replayed);
    r->stats.replayed = *replayed;
    r->stats.replay_ns = fw_mono_ns() - t0;
    return err;
}

uint64_t rollup_log_start(struct rollup *r)
{
    /* An empty log starts where the next event goes. */
    uint64_t start = store_next_event_pos(r->st);
    struct store_txn t;
    struct store_cursor cur;
    store_txn_begin(r->st, &t, true);
    if (store_cursor_open(&t, store_db(r->st, STORE_EVENTS), &cur)) {
        MDB_val k, v;
        if (store_cursor_get(&cur, STORE_FIRST, &k, &v) && k.mv_size == 9)
            start = be64_get((uint8_t *)k.mv_data + 1);
        store_cursor_close(&cur);
    }
    store_txn_abort(&t);
    return start;
}

fw_err rollup_retention(struct rollup *r, const struct retention_cut *cut, size_t max,
                        struct retention_step *done)
{
    int64_t raw_before_ms = cut->raw_before_ms;
    int32_t hour_before_day = cut->hour_before_day;
    done->events = done->cells = done->forced = 0;
    done->held = false;
    /* Checkpoint first: then no cell is dirty, and the cache can be dropped below. */
    fw_err cerr = rollup_checkpoint(r);
    if (cerr != FW_OK)
        return cerr;
    /* Only what the last checkpoint includes may go: replay needs the rest. */
    uint64_t checkpointed = 0;
    struct store_txn t;
    store_txn_begin(r->st, &t, false);
    if (t.err)
        return t.err;
    MDB_val pv;
    if (store_txn_get_raw(&t, store_db(r->st, STORE_META), KEY_POSITION, 1, &pv) == FW_OK &&
        pv.mv_size == 8)
        checkpointed = be64_get(pv.mv_data);
    struct store_cursor cur;
    if (raw_before_ms && store_cursor_open(&t, store_db(r->st, STORE_EVENTS), &cur)) {
        MDB_val k, v;
        while (done->events < max && store_cursor_get(&cur, STORE_FIRST, &k, &v)) {
            if (k.mv_size != 9 || v.mv_size < 8)
                break;
            uint64_t pos = be64_get((uint8_t *)k.mv_data + 1);
            int64_t at = (int64_t)be64_get(v.mv_data);
            if (pos > checkpointed || at >= raw_before_ms)
                break;
            if (pos > cut->keep_after_pos) {
                if (at >= cut->force_before_ms) {
                    done->held = true; /* an exporter has not exported it yet */
                    break;
                }
                done->forced++;
            }
            store_cursor_del(&cur);
            if (t.err)
                break;
            done->events++;
        }
        store_cursor_close(&cur);
    }
    /* Hourly cells (sales and on-duty time) of days before the cut, store by store. */
    size_t ns;
    const struct store_info *const *all = rollup_stores(r, &ns);
    static const uint8_t hourly[] = {CELL_SALES_HOUR, CELL_ON_DUTY};
    for (size_t i = 0; !t.err && hour_before_day && i < ns && done->cells < max; i++) {
        for (size_t h = 0; !t.err && h < sizeof hourly && done->cells < max; h++) {
            uint8_t key[CELL_KEYMAX];
            size_t plen = rollup_key(key, hourly[h], all[i]->id, "");
            if (!store_cursor_open(&t, r->db, &cur))
                break;
            MDB_val k, v;
            bool ok = store_cursor_seek(&cur, key, plen, &k, &v);
            while (ok && done->cells < max && k.mv_size >= plen + 4 &&
                   !memcmp(k.mv_data, key, plen)) {
                const uint8_t *d = (const uint8_t *)k.mv_data + plen;
                int32_t day = (int32_t)(((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
                                         (uint32_t)d[2] << 8 | d[3]) ^
                                        0x80000000u);
                if (day >= hour_before_day)
                    break;
                store_cursor_del(&cur);
                if (t.err)
                    break;
                done->cells++;
                ok = store_cursor_get(&cur, STORE_CURRENT, &k, &v);
            }
            store_cursor_close(&cur);
        }
    }
    fw_err err = store_txn_commit(&t);
    if (err == FW_OK && done->cells)
        map_clear(&r->cells); /* cached copies of deleted cells must not come back */
    if (err == FW_OK) {
        r->stats.pruned_events += done->events;
        r->stats.pruned_cells += done->cells;
    }
    return err;
}

/* The rollups emptied, their position gone (store_write's fill). */
static fw_err drop_fill(struct store_txn *t, void *arg)
{
    struct rollup *r = arg;
    store_txn_drop(t, r->db);
    store_txn_del_raw(t, store_db(r->st, STORE_META), KEY_POSITION, 1);
    store_txn_del_raw(t, store_db(r->st, STORE_META), KEY_STAGED, 1);
    return t->err;
}

fw_err rollup_rebuild(struct rollup *r, uint64_t *replayed)
{
    fw_err err = FW_OK;
    uint64_t start = rollup_log_start(r);
    if (start > 1) {
        log_err("the event log was pruned up to position %" PRIu64
                " ([storage] raw_retention_days): a rebuild would lose the rollups of the "
                "pruned events; restore a backup taken before, or keep the current rollups",
                start - 1);
        return FW_ESTATE;
    }
    err = store_write(r->st, drop_fill, NULL, r, NULL);
    if (err != FW_OK) {
        log_err("dropping the old rollups: %s", fw_strerror(err));
        return err;
    }
    map_clear(&r->cells);
    r->ndirty = 0;
    r->dirty_lost = false;
    r->staged_bad = false;
    htab_destroy(&r->newidx, free_newlist);
    r->newidx = htab_new();
    r->pos = 0;
    return replay_from_pos(r, replayed);
}

struct staged {
    struct rollup *r;
    uint8_t *rec;
    size_t len;
};

static fw_err staged_fill(struct store_txn *t, void *arg)
{
    struct staged *s = arg;
    size_t off = CPREC_HDR;
    return merge_records(s->r, t, s->rec, s->len, &off, SIZE_MAX);
}

/* A crash left a staged checkpoint: it is merged into the cells now, then the log after its
 * position is replayed as after any checkpoint. */
fw_err rollup_merge_staged(struct rollup *r)
{
    struct store_txn t;
    store_txn_begin(r->st, &t, true);
    MDB_val v = {0};
    fw_err err = store_txn_get_raw(&t, store_db(r->st, STORE_META), KEY_STAGED, 1, &v);
    struct staged s = {r, NULL, v.mv_size};
    if (err == FW_OK && (v.mv_size < CPREC_HDR || !(s.rec = malloc(v.mv_size))))
        err = v.mv_size < CPREC_HDR ? FW_ECORRUPT : FW_ENOMEM;
    if (s.rec)
        memcpy(s.rec, v.mv_data, v.mv_size);
    store_txn_abort(&t);
    if (err == FW_OK)
        err = store_write(r->st, staged_fill, NULL, &s, NULL);
    if (err == FW_OK)
        log_info("merged the rollup checkpoint a crash left staged (log position %" PRIu64 ")",
                 be64_get(s.rec));
    free(s.rec);
    if (err == FW_ECORRUPT) {
        r->staged_bad = true; /* a rebuild drops it; rollup_replay refuses to start on it */
        return FW_OK;
    }
    return err == FW_ENOTFOUND ? FW_OK : err;
}
