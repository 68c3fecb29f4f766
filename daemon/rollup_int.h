/*
 * The rollups' insides, shared by rollup.c (applying events to the cells, reading them,
 * evicting them) and rollup_persist.c (what goes to LMDB: checkpoints, replay, rebuild,
 * retention); the cells and their map are cellmap.h's. Nothing else includes this: other
 * modules see rollup.h.
 */
#ifndef FW_ROLLUP_INT_H
#define FW_ROLLUP_INT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellmap.h"
#include "cprec.h"
#include "htab.h"
#include "rollup.h"
#include "store.h"

#define CELL_MAXV 14 /* the widest cell (sales hour) */
#define CELL_KEYMAX 160
#define KEY_POSITION "P" /* meta: log position the checkpointed cells include */
#define VAL_MAX (2 + CELL_MAXV * 8 + TAG_MAX) /* a cell's value (encode_value) */

/*
 * The cache's eviction (rollup_evict_step), a slice at a time on the loop: when the map holds
 * more than [rollup] cache_cells, its clock hand (map_evict) frees the clean cells not looked up
 * since it last passed them until the map holds 3/4 of that. Done at once, 500,000 cells held
 * the loop for 70-130 ms.
 */
struct evict {
    bool on;
    struct map_clock clock;
    size_t target; /* cells to get down to */
};

/* Cells created since the last checkpoint (so not in LMDB yet), by scan prefix. */
struct newlist {
    struct cell **v;
    size_t n, cap;
};

struct rollup {
    const struct config *cfg;
    struct store *st;
    MDB_dbi db;
    uint64_t pos;
    struct cellmap cells;
    /* The dirty cells (their dirty flag says it too), listed so a checkpoint's snapshot walks
     * an array it can prefetch along; lost: one could not be listed (out of memory), the
     * next checkpoint finds them in the map. */
    struct cell **dirty;
    size_t ndirty, dirty_cap;
    bool dirty_lost;
    struct htab *newidx; /* hex(prefix) -> struct newlist */
    struct htab *stores; /* id -> struct store_info */
    struct htab *zones;  /* name -> struct tz */
    /* The on-hand cells of the event being applied, by sale line (a stock move's at 0), for
     * the hook (rollup_on_hand): the stock rules read them without a second lookup. */
    struct cell **on_hand;
    size_t on_hand_cap;
    struct cell *sales_day; /* a sale's day cell, for the hook (rollup_sales_day) */
    struct store_info **sorted;
    size_t nsorted;
    bool stores_changed;
    struct store_txn rtxn; /* read txn for cache misses during apply (rtxn.txn: open) */
    bool reading;
    /* The checkpoint in flight (rollup_checkpoint_begin .. _end): its cells, clean in memory,
     * are on their way to LMDB. Until all are written, scans merge its new cells (idx) and no
     * cached cell is evicted, since LMDB still has older values. */
    struct {
        bool on;
        struct cell **cells;
        size_t n, cap;
        struct htab *idx; /* hex(prefix) -> struct newlist: the snapshot's new cells */
        uint64_t pos, t0;
        /* The snapshot (cprec.h). Written by the writer thread (cp_fill) from merged on; next
         * is where the job in flight ends. The loop changes none of it while a job is in
         * flight. */
        uint8_t *rec;
        size_t len, rec_cap, merged, next;
        bool staged; /* the whole snapshot is in LMDB (KEY_STAGED): merged a slice per job */
        /* The staging job puts the records in key order (cprec_sort into out, then swapped
         * with rec; ents: twice cp.n): each slice then covers a range of keys, so a merge
         * rewrites each B-tree page about once, not once per slice (in the cells' order,
         * 1,000 of them touched ~900 pages). Sized by begin on the loop. */
        uint8_t *out;
        size_t out_cap;
        struct cprec_ent *ents;
        size_t ents_cap;
        /* Its cells carry this mark (cell_in_cp): a checkpoint's end walks none of them (at
         * 400,000 cells that walk was 4-9 ms on the loop). 1..255, a new one per checkpoint. */
        uint8_t mark;
    } cp;
    /* A snapshot being taken a slice at a time (rollup_snapshot_step): the first `next` dirty
     * cells are encoded in cp.rec, which has nothing else of a checkpoint yet. */
    struct {
        bool on;
        size_t next;
        uint64_t t0;
    } snap;
    bool staged_bad; /* the staged checkpoint a crash left does not decode (merge_staged) */
    struct evict evict;
    struct rollup_stats stats;
    rollup_hook_fn hook; /* the event rules, after each applied event */
    void *hook_arg;
};

/* Whether c is in the checkpoint in flight: clean in memory, but LMDB has its figures only
 * once that ends (a cell marked by a checkpoint 255 before looks in it: kept a while longer). */
static inline bool cell_in_cp(const struct rollup *r, const struct cell *c)
{
    return r->cp.on && c->cp_mark == r->cp.mark;
}

/* ---- rollup.c, for rollup_persist.c ---- */

/* The cell of key, from memory, else LMDB, else new and zero; NULL only when out of memory. */
struct cell *cell_get(struct rollup *r, const uint8_t *key, size_t klen);
/* A cell's counters and tag as LMDB holds them (VAL_MAX bytes at most); the bytes written. */
size_t encode_value(const struct cell *c, uint8_t *out);
bool decode_value(const MDB_val *val, int64_t *v, size_t maxv, char *tag, size_t taglen);
/* Cell c changed: dirty, listed for the next checkpoint. */
void cell_dirty(struct rollup *r, struct cell *c);
/* Room in the dirty list for need cells. */
bool dirty_room(struct rollup *r, size_t need);
/* Indexes a cell that LMDB does not have by its scan prefix (idx: hex(prefix) -> newlist). */
void newidx_add(struct htab *idx, struct cell *c);
void free_newlist(void *p);
/* The read transaction apply opened for cache misses, closed. */
void end_reads(struct rollup *r);

/* ---- rollup_persist.c, for rollup.c ---- */

/* Merges into the cells what a crash left staged (rollup_create, before the position is
 * read). */
fw_err rollup_merge_staged(struct rollup *r);

#endif
