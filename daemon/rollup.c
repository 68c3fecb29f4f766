/*
 * The rollups' cells in memory (rollup.h): applying events to them, reading them, evicting them
 * (the cells and their map are cellmap.c's).
 * What goes to LMDB (checkpoints, replay, rebuild, retention) is rollup_persist.c's; what both
 * share, rollup_int.h.
 */
#include "rollup.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwunits.h"
#include "grow.h"
#include "hash.h"
#include "htab.h"
#include "log.h"
#include "tz.h"

#include "rollup_int.h"

void rollup_set_hook(struct rollup *r, rollup_hook_fn fn, void *arg)
{
    r->hook = fn;
    r->hook_arg = arg;
}

/* clang-format off */
static const uint8_t nv_of[256] = {
    [CELL_SALES_HOUR] = SH_N,
    [CELL_PRODUCT] = PR_N,
    [CELL_CATEGORY] = CA_N,
    [CELL_CASHIER] = KA_N,
    [CELL_TARGET] = 1,
    [CELL_MOVES] = MV_N,
    [CELL_SKU_MOVES] = MV_N,
    [CELL_ON_HAND] = OH_N,
    [CELL_COMPLAINTS] = CQ_N,
    [CELL_COMPLAINT_BY] = 4,
    [CELL_RESPONSE] = 1,
    [CELL_COMPLAINT] = CX_N,
    [CELL_DRAWER] = DR_N,
    [CELL_CASHIER_DRAWER] = 1,
    [CELL_SHIFT] = SS_N,
    [CELL_DAY_SHIFT] = FS_N,
    [CELL_ATTENDANCE] = AT_N,
    [CELL_WORKER] = WK_N,
    [CELL_ON_DUTY] = 1,
    [CELL_STORE] = 1,
    [CELL_SALES_DAY] = SH_N,
    [CELL_ON_DUTY_NOW] = 1,
    [CELL_SURGE] = SURGE_MAX + 1,
};

/* The cell types that carry the rules' memo (struct rollup_memo, rollup_peek_memo). */
static const bool memo_of[256] = {
    [CELL_ON_HAND] = true, /* the stock rules' (rules_event.c) */
};
/* clang-format on */

/* Day-keyed types scan by (type, store, day); state types by (type, store); stores by type. */
static bool day_keyed(uint8_t t)
{
    switch (t) {
    case CELL_SALES_HOUR:
    case CELL_PRODUCT:
    case CELL_CATEGORY:
    case CELL_CASHIER:
    case CELL_TARGET:
    case CELL_MOVES:
    case CELL_SKU_MOVES:
    case CELL_COMPLAINTS:
    case CELL_COMPLAINT_BY:
    case CELL_RESPONSE:
    case CELL_DAY_SHIFT:
    case CELL_ATTENDANCE:
    case CELL_ON_DUTY:
    case CELL_SALES_DAY:
        return true;
    default:
        return false;
    }
}

/* Length of the scan prefix of a key: see day_keyed. */
static size_t prefix_len(const uint8_t *key, size_t klen)
{
    if (key[0] == CELL_STORE)
        return 1;
    const uint8_t *nul = memchr(key + 1, 0, klen - 1);
    size_t n = nul ? (size_t)(nul - key) + 1 : klen;
    return day_keyed(key[0]) ? n + 4 : n;
}

bool rollup_evict_due(struct rollup *r)
{
    struct evict *e = &r->evict;
    /* Not while a checkpoint is in flight: its cells are clean but not evictable yet, and at
     * full load with many stores that is most of them (every merge slice ended in an eviction
     * that walked the whole map twice for little). */
    size_t target = (size_t)(r->cfg->cache_cells / 4 * 3);
    size_t clean = r->cells.count > r->ndirty ? r->cells.count - r->ndirty : 0;
    /* Nor when the clean cells are not half of what is over the target: the walk would cost
     * two rounds of the map for little (the dirty ones wait for the next checkpoint). */
    if (!e->on && !r->cp.on && (int64_t)r->cells.count > r->cfg->cache_cells &&
        clean > (r->cells.count - target) / 2) {
        e->on = true;
        e->target = target;
        r->cells.spare_max = (size_t)r->cfg->cache_cells - e->target;
    }
    return e->on;
}

/* Whether LMDB has cell c as it is in memory. */
static bool evictable(const struct cell *c, const void *arg)
{
    return !c->dirty && !cell_in_cp(arg, c);
}

bool rollup_evict_step(struct rollup *r, uint64_t until_ns)
{
    struct evict *e = &r->evict;
    if (!e->on)
        return true;
    if (!map_evict(&r->cells, &e->clock, e->target, evictable, r, until_ns,
                   &r->stats.evicted_cells))
        return false;
    e->on = false;
    r->stats.evictions++;
    return true;
}

/* ---- keys and values ------------------------------------------------------------------------ */

/* Copies id (at most FW_ID_MAX bytes of it) and its NUL to out; returns the bytes written.
 * One pass, no calls: ids are a few bytes, and a key is built for every cell an event
 * touches (strnlen and memcpy were 6% of the loop). */
static size_t put_id(uint8_t *out, const char *id)
{
    size_t l = 0;
    for (; l < FW_ID_MAX && id[l]; l++)
        out[l] = (uint8_t)id[l];
    out[l] = 0;
    return l + 1;
}

size_t rollup_key(uint8_t *out, uint8_t type, const char *store, const char *fmt, ...)
{
    size_t n = 0;
    out[n++] = type;
    if (store)
        n += put_id(out + n, store);
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        switch (*fmt) {
        case 'd': {
            uint32_t d = (uint32_t)va_arg(ap, int32_t) ^ 0x80000000u; /* sorts negatives first */
            out[n++] = (uint8_t)(d >> 24);
            out[n++] = (uint8_t)(d >> 16);
            out[n++] = (uint8_t)(d >> 8);
            out[n++] = (uint8_t)d;
            break;
        }
        case 'h':
        case 'b':
            out[n++] = (uint8_t)va_arg(ap, int);
            break;
        case 's':
            n += put_id(out + n, va_arg(ap, const char *));
            break;
        }
    }
    va_end(ap);
    return n;
}

/* LMDB value: nv (1 byte), taglen (1 byte), nv little-endian int64, tag. */
size_t encode_value(const struct cell *c, uint8_t *out)
{
    size_t n = 0;
    out[n++] = c->nv;
    out[n++] = c->taglen;
    for (unsigned i = 0; i < c->nv; i++) {
        uint64_t v = (uint64_t)c->v[i];
        for (int b = 0; b < 8; b++)
            out[n++] = (uint8_t)(v >> (8 * b));
    }
    memcpy(out + n, cell_tag(c), c->taglen);
    return n + c->taglen;
}

bool decode_value(const MDB_val *val, int64_t *v, size_t maxv, char *tag, size_t taglen)
{
    const uint8_t *p = val->mv_data;
    if (val->mv_size < 2)
        return false;
    size_t nv = p[0], tl = p[1];
    if (val->mv_size != 2 + nv * 8 + tl)
        return false;
    for (size_t i = 0; i < maxv; i++) {
        uint64_t x = 0;
        if (i < nv)
            for (int b = 7; b >= 0; b--)
                x = (x << 8) | p[2 + i * 8 + (size_t)b];
        v[i] = (int64_t)x;
    }
    if (tag && taglen) {
        size_t l = tl < taglen - 1 ? tl : taglen - 1;
        memcpy(tag, p + 2 + nv * 8, l);
        tag[l] = 0;
    }
    return true;
}

/* ---- stores and zones ----------------------------------------------------------------------- */

static const struct tz *zone(struct rollup *r, const char *name)
{
    struct tz *z = htab_get(r->zones, name);
    if (z)
        return z;
    fw_err e = tz_load(&z, name);
    if (e != FW_OK) {
        log_warn("time zone \"%s\": %s; using UTC", name, fw_strerror(e));
        if (strcmp(name, "UTC"))
            return zone(r, "UTC");
        return NULL;
    }
    if (htab_put(r->zones, name, z) != 0) {
        tz_destroy(&z);
        return NULL;
    }
    return z;
}

/* What a store takes from the configuration (or the defaults, in zero-config): its region, zone,
 * hours and the thresholds of its live lists. false: the zone is unknown (s->tz unchanged). */
static bool store_configure(struct rollup *r, struct store_info *s)
{
    const struct config_store *cs = config_find_store(r->cfg, s->id);
    const struct tz *z = zone(r, cs ? cs->timezone : "UTC");
    snprintf(s->region, sizeof s->region, "%s", cs ? cs->region : "default");
    config_hours(r->cfg, s->id, &s->open_min, &s->close_min);
    s->complaint_sla_ms = config_threshold(r->cfg, s->id, TH_COMPLAINT_SLA_HOURS) * 3600000LL;
    s->no_show_ms = config_threshold(r->cfg, s->id, TH_NO_SHOW_MINUTES) * 60000LL;
    if (z)
        s->tz = z;
    return z != NULL;
}

static struct store_info *store_add(struct rollup *r, const char *id)
{
    struct store_info *s = htab_get(r->stores, id);
    if (s)
        return s;
    const struct config_store *cs = config_find_store(r->cfg, id);
    if (r->cfg->nstores && !cs)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->id, sizeof s->id, "%s", id);
    if (!store_configure(r, s) || htab_put(r->stores, id, s) != 0) {
        free(s);
        return NULL;
    }
    r->stores_changed = true;
    return s;
}

struct refresh {
    struct rollup *r;
};

static void refresh_store(const char *key, void *val, void *arg)
{
    struct rollup *r = ((struct refresh *)arg)->r;
    store_configure(r, val);
}

void rollup_config_changed(struct rollup *r)
{
    struct refresh rf = {r};
    htab_foreach(r->stores, refresh_store, &rf);
    for (size_t i = 0; i < r->cfg->nstores; i++)
        store_add(r, r->cfg->stores[i].id);
    r->stores_changed = true;
}

const struct store_info *rollup_store(struct rollup *r, const char *store)
{
    return htab_get(r->stores, store);
}

static int cmp_store(const void *a, const void *b)
{
    return strcmp((*(struct store_info *const *)a)->id, (*(struct store_info *const *)b)->id);
}

static void collect_store(const char *key, void *val, void *arg)
{
    struct rollup *r = arg;
    r->sorted[r->nsorted++] = val;
}

const struct store_info *const *rollup_stores(struct rollup *r, size_t *n)
{
    if (r->stores_changed) {
        struct store_info **v = realloc(r->sorted, (htab_count(r->stores) + 1) * sizeof *v);
        if (v) {
            r->sorted = v;
            r->nsorted = 0;
            htab_foreach(r->stores, collect_store, r);
            qsort(r->sorted, r->nsorted, sizeof *r->sorted, cmp_store);
            r->stores_changed = false;
        }
    }
    *n = r->nsorted;
    return (const struct store_info *const *)r->sorted;
}

/* ---- cells ---------------------------------------------------------------------------------- */

static void hexkey(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* A cell could not be read from LMDB: counted, and said now and then. */
static void read_failed(struct rollup *r, const uint8_t *key, fw_err err)
{
    if (r->stats.read_errors++ % 100000 == 0)
        log_err("rollups: a cell of type '%c' could not be read from LMDB (%s; %" PRIu64
                " so far): events applied meanwhile miss it, and the rollups are short until "
                "`floorwalkerd --rebuild` recounts them from the log",
                key[0], fw_strerror(err), r->stats.read_errors);
}

/* The cell for key of hash h (fw_hash), from memory, else LMDB, else new and zero. NULL when
 * out of memory or when LMDB could not be read (read_failed). */
static struct cell *cell_get_h(struct rollup *r, const uint8_t *key, size_t klen, uint64_t h)
{
    if ((r->cells.count + 1) * 4 > r->cells.cap * 3 && map_grow(&r->cells) != 0)
        return NULL;
    map_step(&r->cells, MAP_MOVE);
    struct mslot *slot;
    struct cell *found = map_get(&r->cells, key, klen, h, &slot);
    if (found) {
        slot->hash |= SLOT_USED;
        return found;
    }
    uint8_t nv = nv_of[key[0]];
    bool has_memo = memo_of[key[0]];
    struct cell *c = map_cell_new(&r->cells, nv, has_memo, klen);
    if (!c)
        return NULL;
    memcpy(cell_key(c), key, klen);
    if (!r->reading) {
        store_txn_begin(r->st, &r->rtxn, true);
        r->reading = !r->rtxn.err;
    }
    fw_err err = r->reading ? FW_OK : r->rtxn.err;
    if (r->reading) {
        MDB_val v;
        err = store_txn_get_raw(&r->rtxn, r->db, key, klen, &v);
        if (err == FW_OK && !decode_value(&v, c->v, c->nv, cell_tag(c), TAG_MAX + 1))
            err = FW_ECORRUPT;
        if (err == FW_OK) {
            c->in_lmdb = true;
            c->taglen = (uint8_t)strlen(cell_tag(c));
        }
    }
    if (err != FW_OK && err != FW_ENOTFOUND) {
        /* Not read: a zero cell in its place would be checkpointed over what LMDB holds. The
         * event's figure for it is lost instead, and said. */
        map_cell_free(&r->cells, c);
        read_failed(r, key, err);
        return NULL;
    }
    slot->hash = h | SLOT_USED;
    slot->c = c;
    r->cells.count++;
    return c;
}

struct cell *cell_get(struct rollup *r, const uint8_t *key, size_t klen)
{
    return cell_get_h(r, key, klen, fw_hash(key, klen));
}

/*
 * Cells looked up together: their keys and hashes first, and their map slots prefetched, then
 * the cells their slots hold, then the lookups (cell_get_h), so that the cache misses of a
 * sale's lines (product and on-hand cells: the large, random part of the working set) overlap
 * instead of coming one after another.
 */
struct pkey {
    uint8_t k[CELL_KEYMAX];
    size_t kl;
    uint64_t h;
};

static void prefetch_cells(const struct rollup *r, struct pkey *p, size_t n)
{
    size_t mask = r->cells.cap - 1;
    for (size_t i = 0; i < n; i++) {
        p[i].h = fw_hash(p[i].k, p[i].kl);
        __builtin_prefetch(&r->cells.slots[p[i].h & mask]);
    }
    for (size_t i = 0; i < n; i++) {
        const struct mslot *sl = &r->cells.slots[p[i].h & mask];
        if (sl->c && !((sl->hash ^ p[i].h) << 1))
            __builtin_prefetch(sl->c);
    }
}

/* Indexes a cell that LMDB does not have by its scan prefix, so scans find it. */
void newidx_add(struct htab *idx, struct cell *c)
{
    char hk[2 * CELL_KEYMAX + 1];
    hexkey(cell_key(c), prefix_len(cell_key(c), c->klen), hk);
    struct newlist *l = htab_get(idx, hk);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l || htab_put(idx, hk, l) != 0) {
            free(l);
            return;
        }
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        struct cell **v = realloc(l->v, ncap * sizeof *v);
        if (!v)
            return;
        l->v = v;
        l->cap = ncap;
    }
    l->v[l->n++] = c;
}

bool dirty_room(struct rollup *r, size_t need)
{
    struct cell **v = grow_array(r->dirty, &r->dirty_cap, need, sizeof *v);
    if (v)
        r->dirty = v;
    return v != NULL;
}

void cell_dirty(struct rollup *r, struct cell *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    if (dirty_room(r, r->ndirty + 1))
        r->dirty[r->ndirty++] = c;
    else
        r->dirty_lost = true;
    if (!c->in_lmdb)
        newidx_add(r->newidx, c);
}

/* Adds deltas to the first n counters of a cell (use ADD: it counts and converts them). */
static struct cell *add_arr_c(struct rollup *r, struct cell *c, const int64_t *d, size_t n)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < n && i < c->nv; i++)
        c->v[i] += d[i];
    cell_dirty(r, c);
    return c;
}

static struct cell *add_arr(struct rollup *r, const uint8_t *key, size_t klen, const int64_t *d,
                            size_t n)
{
    return add_arr_c(r, cell_get(r, key, klen), d, n);
}

#define ADD(r, k, kl, ...)                                                                         \
    add_arr(r, k, kl, (const int64_t[]){__VA_ARGS__},                                              \
            sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static void set_tag(struct cell *c, const char *tag)
{
    size_t l = strnlen(tag, TAG_MAX);
    memcpy(cell_tag(c), tag, l);
    cell_tag(c)[l] = 0;
    c->taglen = (uint8_t)l;
}

/* ---- apply ---------------------------------------------------------------------------------- */

static int32_t local_day(const struct store_info *s, int64_t ms, int *hour)
{
    struct tz_local l;
    tz_local(s->tz, ms, &l);
    if (hour)
        *hour = l.hour;
    return l.day;
}

/*
 * One sale line on its SKU's day cell. A SALE line adds to the totals, and to the promo figures
 * when it carries a promo. A RETURN or POST_VOID line takes back: with a promo, from both; without
 * one (a till need not repeat the promo of the receipt it voids), from the regular-price units
 * first. When it takes more than those, every unit left is a promo one: the promo figures become
 * the totals (none when nothing is left), so they never exceed them.
 */
static void product_line(struct cell *c, int64_t sign, int64_t qty, int64_t lnet, bool promo)
{
    int64_t *v = c->v;
    v[PR_QTY] += sign * qty;
    v[PR_NET] += sign * lnet;
    if (promo) {
        v[PR_PROMO_QTY] += sign * qty;
        v[PR_PROMO_NET] += sign * lnet;
    } else if (sign < 0 && v[PR_PROMO_QTY] > 0 && v[PR_QTY] < v[PR_PROMO_QTY]) {
        bool left = v[PR_QTY] > 0;
        v[PR_PROMO_QTY] = left ? v[PR_QTY] : 0;
        v[PR_PROMO_NET] = left ? v[PR_NET] : 0;
    }
}

#define SALE_PREFETCH 16 /* lines whose cells are looked up together */

/* The product and on-hand keys of sale lines from..from+SALE_PREFETCH (pk[2j], pk[2j+1] for
 * line from+j), their cells prefetched (prefetch_cells). */
static void sale_keys(const struct rollup *r, const struct store_info *s, int32_t day,
                      const Floorwalker__Sale *sa, size_t from, struct pkey *pk)
{
    size_t n = sa->n_lines - from < SALE_PREFETCH ? sa->n_lines - from : SALE_PREFETCH;
    for (size_t j = 0; j < n; j++) {
        const char *sku = sa->lines[from + j]->sku;
        pk[2 * j].kl = rollup_key(pk[2 * j].k, CELL_PRODUCT, s->id, "ds", day, sku);
        pk[2 * j + 1].kl = rollup_key(pk[2 * j + 1].k, CELL_ON_HAND, s->id, "s", sku);
    }
    prefetch_cells(r, pk, 2 * n);
}

static void apply_sale(struct rollup *r, const struct store_info *s, int32_t day, int hour,
                       int64_t t, const Floorwalker__Sale *sa, struct rollup_applied *ap)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl;
    struct cell **oh = grow_array(r->on_hand, &r->on_hand_cap, sa->n_lines, sizeof *oh);
    if (oh) { /* else the hook looks them up */
        r->on_hand = oh;
        ap->n_on_hand = sa->n_lines;
    }
    int64_t items = 0, gross = 0, disc = 0;
    int kind = sa->kind;
    int64_t sign = kind == FLOORWALKER__SALE__KIND__SALE ? 1 : -1;
    /* Each line's product and on-hand cells, looked up SALE_PREFETCH lines at a time. */
    struct pkey pk[2 * SALE_PREFETCH];
    for (size_t i = 0; i < sa->n_lines; i++) {
        const Floorwalker__SaleLine *ln = sa->lines[i];
        const struct pkey *lk = &pk[2 * (i % SALE_PREFETCH)];
        if (i % SALE_PREFETCH == 0)
            sale_keys(r, s, day, sa, i, pk);
        int64_t lg = (int64_t)fw_milli_value(ln->qty_milli, ln->unit_price_cents);
        int64_t lnet = lg - ln->discount_cents;
        items += ln->qty_milli;
        gross += lg;
        disc += ln->discount_cents;
        struct cell *c = cell_get_h(r, lk[0].k, lk[0].kl, lk[0].h);
        if (c) {
            product_line(c, sign, ln->qty_milli, lnet, ln->promo && ln->promo[0]);
            cell_dirty(r, c);
        }
        if (c && !cell_tag(c)[0] && ln->category)
            set_tag(c, ln->category);
        kl = rollup_key(k, CELL_CATEGORY, s->id, "ds", day, ln->category ? ln->category : "");
        ADD(r, k, kl, sign * ln->qty_milli, sign * lnet);
        c = add_arr_c(r, cell_get_h(r, lk[1].k, lk[1].kl, lk[1].h),
                      (const int64_t[]){-sign * ln->qty_milli}, 1);
        if (ap->n_on_hand)
            r->on_hand[i] = c;
        if (c && !cell_tag(c)[0] && ln->category)
            set_tag(c, ln->category);
        if (c && kind == FLOORWALKER__SALE__KIND__SALE && t > c->v[OH_LAST_SOLD_MS])
            c->v[OH_LAST_SOLD_MS] = t;
    }
    int64_t sh[SH_N] = {0};
    if (kind == FLOORWALKER__SALE__KIND__SALE) {
        sh[SH_TXNS] = 1;
        sh[SH_ITEMS] = items;
        sh[SH_GROSS] = gross;
        sh[SH_DISC] = disc;
    } else if (kind == FLOORWALKER__SALE__KIND__RETURN) {
        sh[SH_RET_N] = 1;
        sh[SH_RET_C] = sa->total_cents;
    } else {
        sh[SH_VOID_N] = 1;
        sh[SH_VOID_C] = sa->total_cents;
    }
    sh[SH_NET] = sign * sa->total_cents;
    int64_t cash = 0;
    for (size_t i = 0; i < sa->n_tenders; i++) {
        int m = sa->tenders[i]->method;
        if (m >= 1 && m <= 5)
            sh[SH_TENDER0 + m - 1] += sign * sa->tenders[i]->amount_cents;
        if (m == FLOORWALKER__TENDER__METHOD__CASH)
            cash += sign * sa->tenders[i]->amount_cents;
    }
    /* The hour (kept hourly_retention_days) and the day (kept for good). */
    for (int pass = 0; pass < 2; pass++) {
        kl = pass ? rollup_key(k, CELL_SALES_DAY, s->id, "d", day)
                  : rollup_key(k, CELL_SALES_HOUR, s->id, "dh", day, hour);
        struct cell *c = cell_get(r, k, kl);
        if (c) {
            for (int i = 0; i < SH_N; i++)
                c->v[i] += sh[i];
            cell_dirty(r, c);
        }
        if (pass) {
            r->sales_day = c;
            ap->sales_day = c != NULL;
        }
    }
    kl = rollup_key(k, CELL_CASHIER, s->id, "ds", day, sa->cashier_id);
    ADD(r, k, kl, (int64_t)(kind == FLOORWALKER__SALE__KIND__SALE), sign * sa->total_cents,
        kind == FLOORWALKER__SALE__KIND__SALE ? items : 0,
        (int64_t)(kind == FLOORWALKER__SALE__KIND__RETURN),
        (int64_t)(kind == FLOORWALKER__SALE__KIND__POST_VOID), 0);
    if (cash) {
        /* Cash moves the drawer the cashier has open. */
        kl = rollup_key(k, CELL_CASHIER_DRAWER, s->id, "s", sa->cashier_id);
        struct cell *cd = cell_get(r, k, kl);
        if (cd && cd->v[0] && cell_tag(cd)[0]) {
            kl = rollup_key(k, CELL_DRAWER, s->id, "s", cell_tag(cd));
            struct cell *d = cell_get(r, k, kl);
            if (d && d->v[DR_OPEN]) {
                d->v[DR_EXPECTED] += cash;
                cell_dirty(r, d);
            }
        }
    }
}

static void apply_stock(struct rollup *r, const struct store_info *s, int32_t day,
                        const Floorwalker__StockMove *m, struct rollup_applied *ap)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_ON_HAND, s->id, "s", m->sku);
    struct cell *oh = cell_get(r, k, kl);
    if (!oh)
        return;
    struct cell **v = grow_array(r->on_hand, &r->on_hand_cap, 1, sizeof *v);
    if (v) {
        r->on_hand = v;
        r->on_hand[0] = oh;
        ap->n_on_hand = 1;
    }
    int64_t q = m->qty_milli, moved = q;
    if (!cell_tag(oh)[0] && m->category)
        set_tag(oh, m->category); /* the SKU's category, for SKUs never sold */
    switch (m->kind) {
    case FLOORWALKER__STOCK_MOVE__KIND__RECEIVE:
    case FLOORWALKER__STOCK_MOVE__KIND__TRANSFER_IN:
    case FLOORWALKER__STOCK_MOVE__KIND__ADJUST:
        oh->v[OH_QTY] += q;
        break;
    case FLOORWALKER__STOCK_MOVE__KIND__COUNT:
        moved = q - oh->v[OH_QTY]; /* the variance */
        oh->v[OH_QTY] = q;
        break;
    default:
        oh->v[OH_QTY] -= q;
        break;
    }
    cell_dirty(r, oh);
    int64_t value = (int64_t)fw_milli_value(moved, m->unit_cost_cents);
    bool count = m->kind == FLOORWALKER__STOCK_MOVE__KIND__COUNT;
    int64_t gq = count ? (moved < 0 ? -moved : moved) : 0;
    int64_t gv = count ? (value < 0 ? -value : value) : 0;
    kl = rollup_key(k, CELL_MOVES, s->id, "db", day, (int)m->kind);
    ADD(r, k, kl, moved, value, gq, gv);
    kl = rollup_key(k, CELL_SKU_MOVES, s->id, "dsb", day, m->sku, (int)m->kind);
    ADD(r, k, kl, moved, value, gq, gv);
    ap->before = q - moved; /* COUNT: the book it replaced */
}

static void apply_drawer(struct rollup *r, const struct store_info *s, int32_t day,
                         const Floorwalker__Drawer *d, struct rollup_applied *ap)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_DRAWER, s->id, "s", d->drawer_id);
    struct cell *c = cell_get(r, k, kl);
    if (!c)
        return;
    switch (d->kind) {
    case FLOORWALKER__DRAWER__KIND__OPEN: {
        c->v[DR_OPEN] = 1;
        c->v[DR_EXPECTED] = d->amount_cents;
        set_tag(c, d->cashier_id ? d->cashier_id : "");
        if (d->cashier_id && d->cashier_id[0]) {
            kl = rollup_key(k, CELL_CASHIER_DRAWER, s->id, "s", d->cashier_id);
            struct cell *cd = cell_get(r, k, kl);
            if (cd) {
                cd->v[0] = 1;
                set_tag(cd, d->drawer_id);
                cell_dirty(r, cd);
            }
        }
        break;
    }
    case FLOORWALKER__DRAWER__KIND__PICKUP:
    case FLOORWALKER__DRAWER__KIND__PAID_OUT:
        c->v[DR_EXPECTED] -= d->amount_cents;
        break;
    case FLOORWALKER__DRAWER__KIND__PAID_IN:
        c->v[DR_EXPECTED] += d->amount_cents;
        break;
    case FLOORWALKER__DRAWER__KIND__CLOSE: {
        const char *cashier = cell_tag(c)[0] ? cell_tag(c) : (d->cashier_id ? d->cashier_id : "");
        int64_t over = d->counted_cents - c->v[DR_EXPECTED];
        kl = rollup_key(k, CELL_CASHIER, s->id, "ds", day, cashier);
        ADD(r, k, kl, 0, 0, 0, 0, 0, over);
        ap->before = c->v[DR_EXPECTED];
        snprintf(ap->cashier, sizeof ap->cashier, "%s", cashier);
        if (cashier[0]) {
            kl = rollup_key(k, CELL_CASHIER_DRAWER, s->id, "s", cashier);
            struct cell *cd = cell_get(r, k, kl);
            if (cd && !strcmp(cell_tag(cd), d->drawer_id)) {
                cd->v[0] = 0;
                cell_dirty(r, cd);
            }
        }
        c->v[DR_OPEN] = 0;
        c->v[DR_EXPECTED] = 0;
        break;
    }
    default:
        return;
    }
    cell_dirty(r, c);
}

/* The times of the store's last SURGE_MAX complaint openings, newest first, by event time (a
 * late complaint takes its place in time, not in arrival): v[0] count, v[1..] times. */
static void surge_add(struct rollup *r, const struct store_info *s, int64_t t)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_SURGE, s->id, "");
    struct cell *v = cell_get(r, k, kl);
    if (!v)
        return;
    int64_t cnt = v->v[0], pos = 1;
    while (pos <= cnt && v->v[pos] > t)
        pos++;
    if (pos > SURGE_MAX)
        return;
    int64_t last = cnt < SURGE_MAX ? cnt : SURGE_MAX - 1;
    for (int64_t i = last; i >= pos; i--)
        v->v[i + 1] = v->v[i];
    v->v[pos] = t;
    if (cnt < SURGE_MAX)
        v->v[0]++;
    cell_dirty(r, v);
}

static const char *const severity_names[] = {"", "MINOR", "MAJOR", "CRITICAL"};
static const char *const channel_names[] = {"", "COUNTER", "PHONE", "ONLINE", "REGULATOR"};

static void apply_complaint(struct rollup *r, const struct store_info *s, int32_t day, int64_t t,
                            const Floorwalker__Complaint *p)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_COMPLAINT, s->id, "s", p->complaint_id);
    struct cell *x = cell_get(r, k, kl);
    int64_t q[CQ_N] = {0};
    if (!x)
        return;
    switch (p->action) {
    case FLOORWALKER__COMPLAINT__ACTION__OPENED: {
        q[CQ_OPENED] = 1;
        x->v[CX_OPENED_MS] = t;
        x->v[CX_RESPONDED_MS] = 0;
        x->v[CX_OPEN] = 1;
        x->v[CX_SEVERITY] = p->severity;
        x->v[CX_CHANNEL] = p->channel;
        set_tag(x, p->category ? p->category : "");
        surge_add(r, s, t);
        break;
    }
    case FLOORWALKER__COMPLAINT__ACTION__RESPONDED:
    case FLOORWALKER__COMPLAINT__ACTION__RESOLVED:
        q[p->action == FLOORWALKER__COMPLAINT__ACTION__RESPONDED ? CQ_RESPONDED : CQ_RESOLVED] = 1;
        if (x->v[CX_OPENED_MS] && !x->v[CX_RESPONDED_MS]) {
            int64_t fr = t - x->v[CX_OPENED_MS];
            x->v[CX_RESPONDED_MS] = t;
            q[CQ_FR_N] = 1;
            q[CQ_FR_SUM] = fr;
            q[CQ_FR_SLA] = fr <= COMPLAINT_SLA_MS;
            kl = rollup_key(k, CELL_RESPONSE, s->id, "ds", day, p->complaint_id);
            struct cell *rc = cell_get(r, k, kl);
            if (rc) {
                rc->v[0] = fr;
                cell_dirty(r, rc);
            }
        }
        if (p->action == FLOORWALKER__COMPLAINT__ACTION__RESOLVED)
            x->v[CX_OPEN] = 0;
        break;
    case FLOORWALKER__COMPLAINT__ACTION__ESCALATED:
        q[CQ_ESCALATED] = 1;
        break;
    case FLOORWALKER__COMPLAINT__ACTION__REOPENED:
        q[CQ_REOPENED] = 1;
        if (x->v[CX_OPENED_MS])
            x->v[CX_OPEN] = 1;
        break;
    default:
        return;
    }
    cell_dirty(r, x);
    /* Actions by the complaint's category, severity and channel (as OPENED set them). */
    if (x->v[CX_OPENED_MS] && p->action != FLOORWALKER__COMPLAINT__ACTION__REOPENED) {
        int64_t sev = x->v[CX_SEVERITY], ch = x->v[CX_CHANNEL];
        const char *dims[3] = {cell_tag(x), sev >= 1 && sev <= 3 ? severity_names[sev] : "",
                               ch >= 1 && ch <= 4 ? channel_names[ch] : ""};
        for (int i = 0; i < 3; i++) {
            kl = rollup_key(k, CELL_COMPLAINT_BY, s->id, "dbs", day, (int)"csh"[i], dims[i]);
            struct cell *b = cell_get(r, k, kl);
            if (b) {
                b->v[p->action - 1]++; /* OPENED, RESPONDED, RESOLVED, ESCALATED */
                cell_dirty(r, b);
            }
        }
    }
    kl = rollup_key(k, CELL_COMPLAINTS, s->id, "d", day);
    struct cell *c = cell_get(r, k, kl);
    if (c) {
        for (int i = 0; i < CQ_N; i++)
            c->v[i] += q[i];
        cell_dirty(r, c);
    }
}

static void apply_shift(struct rollup *r, const struct store_info *s, const Floorwalker__Shift *sh)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_SHIFT, s->id, "s", sh->shift_id);
    struct cell *c = cell_get(r, k, kl);
    if (!c)
        return;
    if (c->v[SS_LIVE]) {
        /* A new version replaces the old: take the old one out of its day. */
        int32_t od = (int32_t)c->v[SS_DAY];
        kl = rollup_key(k, CELL_ATTENDANCE, s->id, "ds", od, cell_tag(c));
        ADD(r, k, kl, -(c->v[SS_END] - c->v[SS_START]));
        kl = rollup_key(k, CELL_DAY_SHIFT, s->id, "ds", od, cell_tag(c));
        struct cell *f = cell_get(r, k, kl);
        if (f && !strcmp(cell_tag(f), sh->shift_id)) {
            f->v[FS_LIVE] = 0;
            cell_dirty(r, f);
        }
        c->v[SS_LIVE] = 0;
    }
    if (!sh->cancelled) {
        int32_t day = local_day(s, sh->start_ms, NULL);
        c->v[SS_DAY] = day;
        c->v[SS_START] = sh->start_ms;
        c->v[SS_END] = sh->end_ms;
        c->v[SS_LIVE] = 1;
        set_tag(c, sh->employee_id);
        kl = rollup_key(k, CELL_ATTENDANCE, s->id, "ds", day, sh->employee_id);
        ADD(r, k, kl, sh->end_ms - sh->start_ms);
        kl = rollup_key(k, CELL_DAY_SHIFT, s->id, "ds", day, sh->employee_id);
        struct cell *f = cell_get(r, k, kl);
        if (f) {
            bool same = !strcmp(cell_tag(f), sh->shift_id);
            f->v[FS_START] = sh->start_ms;
            f->v[FS_END] = sh->end_ms;
            f->v[FS_LIVE] = 1;
            if (!same)
                f->v[FS_CLOCK_IN] = 0;
            set_tag(f, sh->shift_id);
            cell_dirty(r, f);
        }
    }
    cell_dirty(r, c);
}

/* Adds an on-duty interval [a, b) to the store-local hours it covers. Local hours begin on UTC
 * quarter hours in every zone, so pieces end at the next quarter hour or at b. */
static void on_duty(struct rollup *r, const struct store_info *s, int64_t a, int64_t b)
{
    uint8_t k[CELL_KEYMAX];
    const int64_t q = 15 * 60 * 1000;
    while (a < b) {
        int64_t next = (a / q + 1) * q;
        if (next > b)
            next = b;
        int hour;
        int32_t day = local_day(s, a, &hour);
        size_t kl = rollup_key(k, CELL_ON_DUTY, s->id, "dh", day, hour);
        ADD(r, k, kl, next - a);
        a = next;
    }
}

/* Employees of a store clocked in and not on break, for understaffed. */
static void on_duty_now(struct rollup *r, const struct store_info *s, int64_t delta)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_ON_DUTY_NOW, s->id, "");
    ADD(r, k, kl, delta);
}

static void apply_attendance(struct rollup *r, const struct store_info *s, int64_t t,
                             const Floorwalker__Attendance *at, struct rollup_applied *ap)
{
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_WORKER, s->id, "s", at->employee_id);
    struct cell *w = cell_get(r, k, kl);
    if (!w)
        return;
    switch (at->kind) {
    case FLOORWALKER__ATTENDANCE__KIND__CLOCK_IN: {
        if (w->v[WK_IN_MS])
            break; /* already in: a repeated clock-in changes nothing */
        memset(w->v, 0, w->nv * sizeof *w->v);
        w->v[WK_IN_MS] = t;
        w->v[WK_DUTY_SINCE] = t;
        /* The employee's shift whose start is nearest, within 12 hours. */
        int32_t d0 = local_day(s, t, NULL);
        struct cell *best = NULL;
        int64_t bestd = 12 * 3600 * 1000LL + 1;
        int32_t bestday = 0;
        for (int32_t d = d0 - 1; d <= d0 + 1; d++) {
            kl = rollup_key(k, CELL_DAY_SHIFT, s->id, "ds", d, at->employee_id);
            struct cell *f = cell_get(r, k, kl);
            if (!f || !f->v[FS_LIVE] || f->v[FS_CLOCK_IN])
                continue;
            int64_t dist = f->v[FS_START] > t ? f->v[FS_START] - t : t - f->v[FS_START];
            if (dist < bestd) {
                bestd = dist;
                best = f;
                bestday = d;
            }
        }
        if (best) {
            best->v[FS_CLOCK_IN] = t;
            cell_dirty(r, best);
            w->v[WK_HAS_SHIFT] = 1;
            w->v[WK_SHIFT_DAY] = bestday;
            w->v[WK_SHIFT_END] = best->v[FS_END];
            if (t > best->v[FS_START] + LATE_AFTER_MS) {
                kl = rollup_key(k, CELL_ATTENDANCE, s->id, "ds", bestday, at->employee_id);
                ADD(r, k, kl, 0, 0, 1, 0);
            }
            ap->shift = true;
            ap->shift_day = bestday;
            ap->shift_start = best->v[FS_START];
            ap->shift_end = best->v[FS_END];
            snprintf(ap->shift_id, sizeof ap->shift_id, "%s", cell_tag(best));
        }
        on_duty_now(r, s, 1);
        break;
    }
    case FLOORWALKER__ATTENDANCE__KIND__BREAK_START:
        if (!w->v[WK_IN_MS] || w->v[WK_BREAK_START])
            break;
        on_duty(r, s, w->v[WK_DUTY_SINCE], t);
        w->v[WK_BREAK_START] = t;
        on_duty_now(r, s, -1);
        break;
    case FLOORWALKER__ATTENDANCE__KIND__BREAK_END:
        if (!w->v[WK_IN_MS] || !w->v[WK_BREAK_START])
            break;
        w->v[WK_BREAK_MS] += t - w->v[WK_BREAK_START];
        w->v[WK_BREAK_START] = 0;
        w->v[WK_DUTY_SINCE] = t;
        on_duty_now(r, s, 1);
        break;
    case FLOORWALKER__ATTENDANCE__KIND__CLOCK_OUT: {
        if (!w->v[WK_IN_MS])
            break;
        int64_t brk = w->v[WK_BREAK_MS];
        if (w->v[WK_BREAK_START]) {
            brk += t - w->v[WK_BREAK_START];
        } else {
            on_duty(r, s, w->v[WK_DUTY_SINCE], t);
            on_duty_now(r, s, -1);
        }
        int64_t worked = t - w->v[WK_IN_MS] - brk;
        int32_t in_day = local_day(s, w->v[WK_IN_MS], NULL);
        kl = rollup_key(k, CELL_ATTENDANCE, s->id, "ds", in_day, at->employee_id);
        ADD(r, k, kl, 0, worked > 0 ? worked : 0, 0, 0);
        if (w->v[WK_HAS_SHIFT] && t < w->v[WK_SHIFT_END] - EARLY_LEAVE_MS) {
            kl = rollup_key(k, CELL_ATTENDANCE, s->id, "ds", (int32_t)w->v[WK_SHIFT_DAY],
                            at->employee_id);
            ADD(r, k, kl, 0, 0, 0, 1);
        }
        ap->shift = w->v[WK_HAS_SHIFT] != 0;
        ap->shift_day = (int32_t)w->v[WK_SHIFT_DAY];
        ap->shift_end = w->v[WK_SHIFT_END];
        memset(w->v, 0, w->nv * sizeof *w->v);
        break;
    }
    default:
        return;
    }
    cell_dirty(r, w);
}

static void apply_one(struct rollup *r, const Floorwalker__Event *e)
{
    struct store_info *s = store_add(r, e->store_id);
    if (!s)
        return; /* validated at ingest; a store removed from the config since is skipped */
    uint8_t k[CELL_KEYMAX];
    size_t kl = rollup_key(k, CELL_STORE, s->id, "");
    struct cell *z = cell_get(r, k, kl);
    if (z && !z->v[0]) {
        z->v[0] = 1;
        cell_dirty(r, z);
    }
    int hour;
    int32_t day = local_day(s, e->event_time_ms, &hour);
    struct rollup_applied ap = {.e = e, .s = s, .day = day};
    switch (e->body_case) {
    case FLOORWALKER__EVENT__BODY_SALE:
        apply_sale(r, s, day, hour, e->event_time_ms, e->sale, &ap);
        break;
    case FLOORWALKER__EVENT__BODY_STOCK_MOVE:
        apply_stock(r, s, day, e->stock_move, &ap);
        break;
    case FLOORWALKER__EVENT__BODY_DRAWER:
        apply_drawer(r, s, day, e->drawer, &ap);
        break;
    case FLOORWALKER__EVENT__BODY_COMPLAINT:
        apply_complaint(r, s, day, e->event_time_ms, e->complaint);
        break;
    case FLOORWALKER__EVENT__BODY_SHIFT:
        apply_shift(r, s, e->shift);
        break;
    case FLOORWALKER__EVENT__BODY_ATTENDANCE:
        apply_attendance(r, s, e->event_time_ms, e->attendance, &ap);
        break;
    case FLOORWALKER__EVENT__BODY_SALES_TARGET: {
        int32_t td;
        if (tz_parse_day(e->sales_target->business_day, &td) == 0) {
            kl = rollup_key(k, CELL_TARGET, s->id, "d", td);
            struct cell *c = cell_get(r, k, kl);
            if (c) {
                c->v[0] = e->sales_target->target_cents;
                cell_dirty(r, c);
            }
        }
        break;
    }
    default:
        break;
    }
    if (r->hook)
        r->hook(r->hook_arg, &ap);
}

void end_reads(struct rollup *r)
{
    if (r->reading) {
        store_txn_abort(&r->rtxn);
        r->reading = false;
    }
}

void rollup_apply(struct rollup *r, const Floorwalker__Event *const *evs, const uint64_t *pos,
                  size_t n)
{
    if (r->snap.on && n)
        rollup_snapshot_drop(r); /* its cells are about to change */
    for (size_t i = 0; i < n; i++) {
        if (pos[i] <= r->pos)
            continue; /* already included (replay after a checkpoint) */
        apply_one(r, evs[i]);
        r->pos = pos[i];
    }
    end_reads(r);
}

size_t rollup_dirty(const struct rollup *r)
{
    return r->ndirty;
}

uint64_t rollup_position(const struct rollup *r)
{
    return r->pos;
}

void rollup_get_stats(const struct rollup *r, struct rollup_stats *out)
{
    *out = r->stats;
    out->cached_cells = r->cells.count;
}

/* ---- read side ------------------------------------------------------------------------------ */

/* Copies c's counters (zero past its own) and tag out; c NULL: zeros and "". */
static void read_cell(const struct cell *c, int64_t *counters, size_t n, char *tag, size_t taglen)
{
    for (size_t i = 0; i < n; i++)
        counters[i] = c && i < c->nv ? c->v[i] : 0;
    if (tag && taglen)
        snprintf(tag, taglen, "%s", c ? cell_tag(c) : "");
}

static struct cell *peek(struct rollup *r, const uint8_t *key, size_t klen, int64_t *counters,
                         size_t n, char *tag, size_t taglen)
{
    struct cell *c = cell_get(r, key, klen);
    read_cell(c, counters, n, tag, taglen);
    return c;
}

bool rollup_peek(struct rollup *r, const uint8_t *key, size_t klen, int64_t *counters, size_t n,
                 char *tag, size_t taglen)
{
    return peek(r, key, klen, counters, n, tag, taglen) != NULL;
}

bool rollup_on_hand(struct rollup *r, const struct rollup_applied *ap, size_t i, int64_t *counters,
                    size_t n, struct rollup_memo **memo)
{
    struct cell *c = i < ap->n_on_hand ? r->on_hand[i] : NULL;
    if (!c)
        return false;
    read_cell(c, counters, n, NULL, 0);
    *memo = cell_memo(c);
    return true;
}

bool rollup_sales_day(struct rollup *r, const struct rollup_applied *ap, int64_t *counters,
                      size_t n)
{
    if (!ap->sales_day)
        return false;
    read_cell(r->sales_day, counters, n, NULL, 0);
    return true;
}

bool rollup_peek_memo(struct rollup *r, const uint8_t *key, size_t klen, int64_t *counters,
                      size_t n, struct rollup_memo **memo)
{
    struct cell *c = peek(r, key, klen, counters, n, NULL, 0);
    *memo = c ? cell_memo(c) : NULL;
    return c != NULL;
}

bool rollup_get(struct rollup *r, struct store_txn *txn, const uint8_t *key, size_t klen,
                int64_t *counters, size_t n, char *tag, size_t taglen)
{
    struct cell *c = r->cells.cap ? map_get(&r->cells, key, klen, fw_hash(key, klen), NULL) : NULL;
    read_cell(c, counters, n, tag, taglen);
    if (c)
        return true;
    MDB_val v;
    if (txn && store_txn_get_raw(txn, r->db, key, klen, &v) == FW_OK)
        return decode_value(&v, counters, n, tag, taglen);
    return false;
}

struct scan_item {
    const uint8_t *key;
    size_t klen;
    int64_t v[CELL_MAXV];
    char tag[TAG_MAX + 1];
};

static int cmp_item(const void *a, const void *b)
{
    const struct scan_item *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

fw_err rollup_scan(struct rollup *r, struct store_txn *txn, const uint8_t *prefix, size_t plen,
                   rollup_visit_fn fn, void *arg)
{
    struct scan_item *items = NULL;
    size_t n = 0, cap = 0;
    uint8_t *keys = NULL; /* copies of LMDB keys (the txn's pages stay valid, but be safe) */
    size_t kused = 0, kcap = 0;
    fw_err err = FW_OK;
    struct store_cursor cur = {0};
    char hk[2 * CELL_KEYMAX + 1];
    struct newlist *nl = NULL;

    if (txn && store_cursor_open(txn, r->db, &cur)) {
        MDB_val k, v;
        for (bool ok = store_cursor_seek(&cur, prefix, plen, &k, &v); ok;
             ok = store_cursor_get(&cur, STORE_NEXT, &k, &v)) {
            if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
                break;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                struct scan_item *ni = realloc(items, cap * sizeof *ni);
                if (!ni) {
                    err = FW_ENOMEM;
                    goto out;
                }
                items = ni;
            }
            if (kused + k.mv_size > kcap) {
                /* Keys are referenced by offset until the end, then fixed up. */
                size_t ncap = kcap ? kcap * 2 : 4096;
                while (ncap < kused + k.mv_size)
                    ncap *= 2;
                uint8_t *nk = realloc(keys, ncap);
                if (!nk) {
                    err = FW_ENOMEM;
                    goto out;
                }
                keys = nk;
                kcap = ncap;
            }
            memcpy(keys + kused, k.mv_data, k.mv_size);
            struct scan_item *it = &items[n++];
            it->key = (const uint8_t *)(uintptr_t)kused;
            it->klen = k.mv_size;
            kused += k.mv_size;
            /* Memory has the newer value when the cell is cached. */
            if (!rollup_get(r, NULL, k.mv_data, k.mv_size, it->v, CELL_MAXV, it->tag,
                            sizeof it->tag))
                decode_value(&v, it->v, CELL_MAXV, it->tag, sizeof it->tag);
        }
    }
    for (size_t i = 0; i < n; i++)
        items[i].key = keys + (uintptr_t)items[i].key;
    hexkey(prefix, plen, hk);
    /* Cells LMDB does not have yet: new since the last checkpoint, and new in the one in
     * flight. A scan whose transaction began after that one committed finds its cells in LMDB
     * too: duplicates (same value, from memory) are dropped after the sort. */
    struct newlist *lists[2] = {
        r->newidx ? htab_get(r->newidx, hk) : NULL,
        r->cp.on && r->cp.idx ? htab_get(r->cp.idx, hk) : NULL,
    };
    bool merged = false;
    for (size_t li = 0; li < 2; li++) {
        nl = lists[li];
        if (!nl || !nl->n)
            continue;
        struct scan_item *ni = realloc(items, (n + nl->n) * sizeof *ni);
        if (!ni) {
            err = FW_ENOMEM;
            goto out;
        }
        items = ni;
        for (size_t i = 0; i < nl->n; i++) {
            struct cell *c = nl->v[i];
            struct scan_item *it = &items[n++];
            it->key = cell_key(c);
            it->klen = c->klen;
            memset(it->v, 0, sizeof it->v);
            memcpy(it->v, c->v, c->nv * sizeof *c->v);
            memcpy(it->tag, cell_tag(c), c->taglen + 1u);
        }
        merged = true;
    }
    if (merged) {
        qsort(items, n, sizeof *items, cmp_item);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (!u || cmp_item(&items[u - 1], &items[i]))
                items[u++] = items[i];
        n = u;
    }
    for (size_t i = 0; i < n; i++)
        fn(arg, items[i].key + plen, items[i].klen - plen, items[i].v, nv_of[items[i].key[0]],
           items[i].tag);
out:
    store_cursor_close(&cur);
    free(items);
    free(keys);
    return err;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

bool rollup_suffix_id(const uint8_t *suf, size_t n, char out[FW_ID_MAX + 1])
{
    size_t l = strnlen((const char *)suf, n);
    if (l > FW_ID_MAX)
        return false;
    memcpy(out, suf, l);
    out[l] = 0;
    return true;
}

static void load_store(void *arg, const uint8_t *suffix, size_t slen, const int64_t *v, size_t n,
                       const char *tag)
{
    struct rollup *r = arg;
    char id[FW_ID_MAX + 1];
    if (!rollup_suffix_id(suffix, slen, id) || !id[0])
        return;
    store_add(r, id);
}

/* A staged checkpoint, read back at start (store_write's fill). */
fw_err rollup_create(struct rollup **out, const struct config *cfg, struct store *st)
{
    struct rollup *r = calloc(1, sizeof *r);
    if (!r)
        return FW_ENOMEM;
    r->cfg = cfg;
    r->st = st;
    r->newidx = htab_new();
    r->stores = htab_new();
    r->zones = htab_new();
    fw_err err = FW_ENOMEM;
    if (!r->newidx || !r->stores || !r->zones || map_grow(&r->cells) != 0)
        goto fail;
    if ((err = store_db_open(st, "rollups", &r->db)) != FW_OK ||
        (err = rollup_merge_staged(r)) != FW_OK)
        goto fail;
    struct store_txn t;
    store_txn_begin(st, &t, true);
    MDB_val v;
    if (store_txn_get_raw(&t, store_db(st, STORE_META), KEY_POSITION, 1, &v) == FW_OK &&
        v.mv_size == 8)
        r->pos = be64_get(v.mv_data);
    err = FW_ENOMEM;
    for (size_t i = 0; i < cfg->nstores; i++)
        if (!store_add(r, cfg->stores[i].id)) {
            store_txn_abort(&t);
            goto fail;
        }
    uint8_t p = CELL_STORE;
    err = t.err ? t.err : rollup_scan(r, &t, &p, 1, load_store, r);
    store_txn_abort(&t);
    if (err)
        goto fail;
    *out = r;
    return FW_OK;
fail:
    rollup_destroy(&r);
    return err;
}

static void free_zone(void *p)
{
    struct tz *z = p;
    tz_destroy(&z);
}

void rollup_destroy(struct rollup **pr)
{
    struct rollup *r = *pr;
    if (!r)
        return;
    end_reads(r);
    map_clear(&r->cells);
    free(r->cells.slots);
    htab_destroy(&r->newidx, free_newlist);
    htab_destroy(&r->cp.idx, free_newlist);
    free(r->cp.cells);
    free(r->cp.rec);
    free(r->cp.out);
    free(r->cp.ents);
    free(r->dirty);
    free(r->on_hand);
    htab_destroy(&r->stores, free);
    htab_destroy(&r->zones, free_zone);
    free(r->sorted);
    free(r);
    *pr = NULL;
}
