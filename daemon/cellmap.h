/*
 * The rollups' cells in memory and the map that finds them by key (rollup.c applies events to
 * them; rollup_persist.c writes them to LMDB): an open-addressing table that grows a step at a
 * time, and frees cells with a clock hand (map_evict) without tombstones. Loop thread only.
 */
#ifndef FW_CELLMAP_H
#define FW_CELLMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwcommon.h"
#include "rollup.h"

#define TAG_MAX FW_ID_MAX

/* A cell in memory, in one allocation sized to it: the flags, its nv counters (nv_of its type),
 * the rules' memo if its type has one (memo_of), its key and its tag (cell_key, cell_tag), so
 * the counters and the key a lookup compares share a cache line or two. */
struct cell {
    uint8_t klen, nv, taglen;
    bool dirty, in_lmdb;
    bool cp_new;     /* new in the checkpoint it was last in: in LMDB only once that ends */
    bool has_memo;   /* a struct rollup_memo follows the counters */
    uint8_t cp_mark; /* the mark of the checkpoint it was last in (cell_in_cp) */
    int64_t v[];     /* nv counters, [memo,] klen key bytes, TAG_MAX + 1 for the tag */
};

static inline struct rollup_memo *cell_memo(const struct cell *c)
{
    return c->has_memo ? (struct rollup_memo *)(void *)(c->v + c->nv) : NULL;
}

static inline uint8_t *cell_key(const struct cell *c)
{
    return (uint8_t *)(c->v + c->nv) + (c->has_memo ? sizeof(struct rollup_memo) : 0);
}

static inline char *cell_tag(const struct cell *c)
{
    return (char *)cell_key(c) + c->klen;
}

/* Open-addressing table of cells by key bytes. A slot holds its cell's hash, so a probe past
 * other cells reads only the slot array, not each cell (a cache miss apiece). The hash's top
 * bit is not compared: it is SLOT_USED, set when the cell is looked up and cleared when the
 * eviction's hand passes (kept in the slot, so that the hand reads no cell but the ones it may
 * free). */
struct mslot {
    uint64_t hash;
    struct cell *c;
};
#define SLOT_USED (1ull << 63)

#define CELL_CLASSES 48 /* cells are allocated in 16-byte classes, up to 768 bytes */

/* It doubles a step at a time: while it grows, the table before (`old`) is still looked in,
 * and each lookup first moves MAP_MOVE of its slots into the new one (map_step), so no lookup
 * rehashes the whole table (98,000 cells took 5-16 ms on the loop, all at once). The slots
 * moved stay in the old table too (a probe there must not stop early at a hole); the new table
 * is looked in first, so they are found there. */
struct cellmap {
    struct mslot *slots;
    size_t cap, count; /* count: the cells in both tables */
    struct mslot *old; /* growing: the table before, its slots from `moved` on not moved yet */
    size_t old_cap, moved;
    /* Cells the eviction freed, kept by size class for the cells read back after it: handed
     * back to malloc one at a time between its allocations, they made each calloc of a new
     * cell 2-3 times as dear (its bins fragmented; perf: 2.75% of the loop against 1.0%). */
    void *spare[CELL_CLASSES];
    size_t nspare, spare_max;
};

/* The cell of key (hash h), or NULL; *at (if not NULL) gets its slot, or the new table's slot
 * where it would go. Call map_step first: a move after it may take that slot. */
struct cell *map_get(const struct cellmap *m, const uint8_t *key, size_t klen, uint64_t h,
                     struct mslot **at);
/* Moves up to n of a growing map's old slots into the new table (all: SIZE_MAX). */
void map_move(struct cellmap *m, size_t n);
#define MAP_MOVE 16 /* old slots moved per lookup while the map grows */

/* map_move while the map grows: the lookups' step. */
static inline void map_step(struct cellmap *m, size_t n)
{
    if (__builtin_expect(m->old != NULL, 0))
        map_move(m, n);
}

/* Every cell in one table (a growing map's move finished), for a walk over map.slots. */
void map_settle(struct cellmap *m);
/* Twice the slots, the cells moved a few at a time by the lookups that follow (map_step). */
int map_grow(struct cellmap *m);
/* Frees every cell (and the spares); the slots stay. */
void map_clear(struct cellmap *m);

/* A new zeroed cell with room for nv counters, a memo if has_memo, klen key bytes and a tag
 * (a spare one if the eviction left one); NULL when out of memory. Not in the map yet: its
 * caller puts it in the slot map_get gave. */
struct cell *map_cell_new(struct cellmap *m, unsigned nv, bool has_memo, size_t klen);
/* A cell from map_cell_new that was never put in the map, given up. */
void map_cell_free(struct cellmap *m, struct cell *c);

/* The eviction's clock hand: where it is, and how far it went in this eviction. */
struct map_clock {
    size_t hand;   /* the slot it looks at next; kept from one eviction to the next */
    size_t cap;    /* the table's size it walks (it starts over when the map grows) */
    size_t walked; /* slots passed in this eviction: two rounds at most */
};
/*
 * Walks the hand until the map holds target cells, or it went round twice, or the clock
 * reached until_ns (read every 1,024 slots): a cell whose slot is not SLOT_USED and that
 * may_go(c, arg) says may go is freed (kept as a spare, up to m->spare_max), and the cells after
 * it shifted back into its slot; the others lose SLOT_USED. A growing map finishes its move
 * first (in chunks between clock readings too). Returns true when done (k->walked restarts then),
 * false when the clock stopped it; *freed counts the cells freed.
 */
bool map_evict(struct cellmap *m, struct map_clock *k, size_t target,
               bool (*may_go)(const struct cell *c, const void *arg), const void *arg,
               uint64_t until_ns, uint64_t *freed);

#endif
