/* The rollups' cells in memory and their map (cellmap.h). */
#include "cellmap.h"

#include <stdlib.h>
#include <string.h>

/* The slot of key (hash h) in the table of cap slots: its cell's, or the empty one where it
 * would go. */
static struct mslot *table_slot(struct mslot *slots, size_t cap, const uint8_t *key, size_t klen,
                                uint64_t h)
{
    size_t mask = cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct mslot *sl = &slots[i];
        if (!sl->c ||
            (!((sl->hash ^ h) << 1) && sl->c->klen == klen && !memcmp(cell_key(sl->c), key, klen)))
            return sl;
    }
}

/* The empty slot for a cell known not to be in the table (a rehash, a move). */
static struct mslot *table_free_slot(struct mslot *slots, size_t cap, uint64_t h)
{
    size_t mask = cap - 1;
    size_t i = h & mask;
    while (slots[i].c)
        i = (i + 1) & mask;
    return &slots[i];
}

void map_move(struct cellmap *m, size_t n)
{
    for (; n && m->moved < m->old_cap; n--, m->moved++) {
        const struct mslot *sl = &m->old[m->moved];
        if (sl->c)
            *table_free_slot(m->slots, m->cap, sl->hash) = *sl;
    }
    if (m->moved == m->old_cap) {
        free(m->old);
        m->old = NULL;
    }
}

void map_settle(struct cellmap *m)
{
    map_step(m, SIZE_MAX);
}

struct cell *map_get(const struct cellmap *m, const uint8_t *key, size_t klen, uint64_t h,
                     struct mslot **at)
{
    struct mslot *sl = table_slot(m->slots, m->cap, key, klen, h);
    if (__builtin_expect(!sl->c && m->old, 0)) {
        struct mslot *o = table_slot(m->old, m->old_cap, key, klen, h);
        if (o->c)
            sl = o;
    }
    if (at)
        *at = sl;
    return sl->c;
}

/* One still growing finishes first. */
int map_grow(struct cellmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 4096;
    struct mslot *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return -1;
    map_settle(m);
    m->old = m->slots;
    m->old_cap = m->cap;
    m->moved = 0;
    m->slots = ns;
    m->cap = cap;
    return 0;
}

/* ---- the cells' memory ---------------------------------------------------------------------- */

/* A spare cell is poisoned for AddressSanitizer as a freed one is: a dangling pointer to an
 * evicted cell is still caught. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FW_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FW_ASAN 1
#endif
#ifdef FW_ASAN
#include <sanitizer/asan_interface.h>
#define SPARE_HIDE(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SPARE_SHOW(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SPARE_HIDE(p, n) ((void)(p), (void)(n))
#define SPARE_SHOW(p, n) ((void)(p), (void)(n))
#endif

static size_t cell_class(size_t nv, bool has_memo, size_t klen)
{
    size_t size = sizeof(struct cell) + nv * sizeof(int64_t) +
                  (has_memo ? sizeof(struct rollup_memo) : 0) + klen + TAG_MAX + 1;
    return (size + 15) / 16;
}

/* A zeroed cell of class cl: a spare one, else a new one. */
static struct cell *cell_alloc(struct cellmap *m, size_t cl)
{
    void *p = cl < CELL_CLASSES ? m->spare[cl] : NULL;
    if (!p)
        return calloc(cl, 16);
    SPARE_SHOW(p, cl * 16);
    memcpy(&m->spare[cl], p, sizeof p);
    m->nspare--;
    return memset(p, 0, cl * 16);
}

/* Cell c is not wanted any more: kept as a spare while there is room, else freed. */
void map_cell_free(struct cellmap *m, struct cell *c)
{
    size_t cl = cell_class(c->nv, c->has_memo, c->klen);
    if (cl >= CELL_CLASSES || m->nspare >= m->spare_max) {
        free(c);
        return;
    }
    memcpy(c, &m->spare[cl], sizeof m->spare[cl]); /* the list runs through the cells */
    SPARE_HIDE(c, cl * 16);
    m->spare[cl] = c;
    m->nspare++;
}

static void spares_free(struct cellmap *m)
{
    for (size_t cl = 0; cl < CELL_CLASSES; cl++) {
        while (m->spare[cl]) {
            void *next;
            SPARE_SHOW(m->spare[cl], cl * 16);
            memcpy(&next, m->spare[cl], sizeof next);
            free(m->spare[cl]);
            m->spare[cl] = next;
        }
    }
    m->nspare = 0;
}

void map_clear(struct cellmap *m)
{
    map_settle(m); /* a moved cell is in both tables until then */
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].c);
        m->slots[i].c = NULL;
    }
    m->count = 0;
    spares_free(m);
}

/* Empties slot i of a grown map (not growing), shifting the cells after it back where their
 * probe would pass it (linear probing's deletion: no tombstones, no probe stops early). */
static void map_delete(struct cellmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    m->slots[i].c = NULL;
    for (size_t j = (i + 1) & mask; m->slots[j].c; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) < ((j - i) & mask))
            continue; /* its home is after i: its probe never passes i */
        m->slots[i] = m->slots[j];
        m->slots[j].c = NULL;
        i = j;
    }
    m->count--;
}

struct cell *map_cell_new(struct cellmap *m, unsigned nv, bool has_memo, size_t klen)
{
    struct cell *c = cell_alloc(m, cell_class(nv, has_memo, klen));
    if (c) {
        c->klen = (uint8_t)klen;
        c->nv = (uint8_t)nv;
        c->has_memo = has_memo;
    }
    return c;
}

#define CLOCK_CHUNK 1024 /* slots looked at between clock readings */

bool map_evict(struct cellmap *m, struct map_clock *k, size_t target,
               bool (*may_go)(const struct cell *c, const void *arg), const void *arg,
               uint64_t until_ns, uint64_t *freed)
{
    while (m->old) { /* growing: its move first, in chunks between clock readings */
        map_move(m, CLOCK_CHUNK * MAP_MOVE);
        if (m->old && fw_mono_ns() >= until_ns)
            return false;
    }
    if (k->cap != m->cap) {
        k->cap = m->cap;
        k->hand = 0;
    }
    size_t mask = m->cap - 1;
    for (size_t n = 1; m->count > target && k->walked < 2 * m->cap; n++) {
        struct mslot *sl = &m->slots[k->hand];
        struct cell *c = sl->c;
        if (c && !(sl->hash & SLOT_USED) && may_go(c, arg)) {
            map_cell_free(m, c);
            map_delete(m, k->hand); /* the hand looks at what shifted into the slot next */
            ++*freed;
        } else {
            sl->hash &= ~SLOT_USED;
            k->hand = (k->hand + 1) & mask;
            k->walked++;
        }
        if (n % CLOCK_CHUNK == 0 && fw_mono_ns() >= until_ns)
            return false;
    }
    k->walked = 0;
    return true;
}
