#include "reports.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "htab.h"
#include "log.h"
#include "sales_due.h"
#include "tz.h"

#define MAX_RANGE_DAYS 400
#define DEFAULT_LIMIT 10

/* One store of the query's scope with its own resolved day range (words like "today" depend on
 * the store's zone). */
struct scoped {
    const struct store_info *s;
    int32_t d1, d2;
};

struct ctx {
    struct rollup *r;
    struct store_txn *txn;
    const Floorwalker__Query *q;
    struct result *res;
    int64_t now_ms;
    struct scoped *v;
    size_t n;
    const char *scope;      /* "store", "region", "chain" */
    const char *scope_name; /* store id, region, or "chain" */
};

/* ---- dates and scope ------------------------------------------------------------------------ */

/* Resolves a date or a word into [lo, hi] for one store; -1 if not a date. */
static int resolve_day(const char *s, int32_t today, int32_t *lo, int32_t *hi)
{
    if (!strcmp(s, "today")) {
        *lo = *hi = today;
    } else if (!strcmp(s, "yesterday")) {
        *lo = *hi = today - 1;
    } else if (!strcmp(s, "this-week")) {
        *lo = tz_week_start(today);
        *hi = today;
    } else if (!strcmp(s, "last-week")) {
        *lo = tz_week_start(today) - 7;
        *hi = *lo + 6;
    } else if (!strcmp(s, "this-month")) {
        *lo = tz_month_start(today);
        *hi = today;
    } else if (!strcmp(s, "last-month")) {
        *hi = tz_month_start(today) - 1;
        *lo = tz_month_start(*hi);
    } else {
        int32_t d;
        if (tz_parse_day(s, &d) != 0)
            return -1;
        *lo = *hi = d;
    }
    return 0;
}

static int in_scope(const struct ctx *c, const struct store_info *s)
{
    const Floorwalker__Query *q = c->q;
    if (!strcmp(c->scope, "store"))
        return !strcmp(s->id, q->store_id);
    if (!strcmp(c->scope, "region"))
        return !strcmp(s->region, q->region);
    return 1;
}

static const char *const date_help =
    "YYYY-MM-DD, today, yesterday, this-week, last-week, this-month or last-month";

const char *reports_scope(const Floorwalker__Query *q)
{
    return q->scope && q->scope[0] ? q->scope
           : q->store_id[0]        ? "store"
           : q->region[0]          ? "region"
                                   : "chain";
}

bool reports_serves(Floorwalker__Query__Kind kind)
{
    switch (kind) {
    case FLOORWALKER__QUERY__KIND__SALES:
    case FLOORWALKER__QUERY__KIND__TOP_SKUS:
    case FLOORWALKER__QUERY__KIND__BOTTOM_SKUS:
    case FLOORWALKER__QUERY__KIND__CATEGORIES:
    case FLOORWALKER__QUERY__KIND__CASHIERS:
    case FLOORWALKER__QUERY__KIND__COMPLAINTS:
    case FLOORWALKER__QUERY__KIND__STOCK:
    case FLOORWALKER__QUERY__KIND__ATTENDANCE:
        return true;
    default:
        return false;
    }
}

/* Fills c->v with the stores of the scope and their day ranges; 0, or -1 with res's error. */
static int resolve_scope(struct ctx *c)
{
    const Floorwalker__Query *q = c->q;
    const char *scope = reports_scope(q);
    if (strcmp(scope, "store") && strcmp(scope, "region") && strcmp(scope, "chain")) {
        res_error(c->res, "scope \"%.40s\": expected store, region or chain", scope);
        return -1;
    }
    c->scope = scope;
    if (!strcmp(scope, "store")) {
        if (!q->store_id[0]) {
            res_error(c->res, "scope store needs a store id");
            return -1;
        }
        if (!rollup_store(c->r, q->store_id)) {
            res_not_found(c->res, "unknown store \"%.64s\"", q->store_id);
            return -1;
        }
        c->scope_name = q->store_id;
    } else if (!strcmp(scope, "region")) {
        if (!q->region[0]) {
            res_error(c->res, "scope region needs a region");
            return -1;
        }
        c->scope_name = q->region;
    } else {
        c->scope_name = "chain";
    }
    size_t ns;
    const struct store_info *const *all = rollup_stores(c->r, &ns);
    c->v = arena_alloc(c->res->a, (ns ? ns : 1) * sizeof *c->v);
    if (!c->v) {
        c->res->oom = true;
        return -1;
    }
    const char *from = q->from_day[0] ? q->from_day : "today";
    const char *to = q->to_day[0] ? q->to_day : from;
    for (size_t i = 0; i < ns; i++) {
        if (!in_scope(c, all[i]))
            continue;
        struct tz_local l;
        tz_local(all[i]->tz, c->now_ms, &l);
        int32_t lo, hi, lo2, hi2;
        if (resolve_day(from, l.day, &lo, &hi) != 0) {
            res_error(c->res, "from \"%.40s\" is not a date: use %s", from, date_help);
            return -1;
        }
        if (resolve_day(to, l.day, &lo2, &hi2) != 0) {
            res_error(c->res, "to \"%.40s\" is not a date: use %s", to, date_help);
            return -1;
        }
        if (hi2 < lo) {
            res_error(c->res, "the range ends (%s) before it starts (%s)", to, from);
            return -1;
        }
        if (hi2 - lo + 1 > MAX_RANGE_DAYS) {
            res_error(c->res, "the range is %d days; at most %d", hi2 - lo + 1, MAX_RANGE_DAYS);
            return -1;
        }
        c->v[c->n++] = (struct scoped){all[i], lo, hi2};
    }
    if (!c->n && !strcmp(scope, "region")) {
        res_not_found(c->res, "no store in region \"%.64s\"", q->region);
        return -1;
    }
    if (!c->n && !strcmp(scope, "chain")) {
        /* An empty chain is still a valid question: check the dates alone. */
        int32_t lo, hi;
        if (resolve_day(from, 0, &lo, &hi) || resolve_day(to, 0, &lo, &hi)) {
            res_error(c->res, "not a date: use %s", date_help);
            return -1;
        }
    }
    return 0;
}

static const char *granularity(struct ctx *c)
{
    const char *g = c->q->granularity;
    if (!g || !g[0])
        return "day";
    if (!strcmp(g, "hour") || !strcmp(g, "day") || !strcmp(g, "week") || !strcmp(g, "month"))
        return g;
    res_error(c->res, "granularity \"%.40s\": expected hour, day, week or month", g);
    return NULL;
}

static void period_label(const char *g, int32_t day, int hour, char *out, size_t len)
{
    char d[11];
    if (!strcmp(g, "week"))
        day = tz_week_start(day);
    tz_format_day(day, d);
    if (!strcmp(g, "hour"))
        snprintf(out, len, "%s %02d:00", d, hour);
    else if (!strcmp(g, "month"))
        snprintf(out, len, "%.7s", d);
    else
        snprintf(out, len, "%s", d);
}

/* ---- buckets: a label -> counters map that comes out sorted --------------------------------- */

#define BUCKET_N 24

struct bucket {
    char label[96];
    int64_t v[BUCKET_N];
    char tag[FW_ID_MAX + 1];
};

struct buckets {
    struct htab *h;
    struct bucket **v;
    size_t n, cap;
};

static struct bucket *bucket(struct buckets *b, const char *label)
{
    struct bucket *x = htab_get(b->h, label);
    if (x)
        return x;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        struct bucket **nv = realloc(b->v, ncap * sizeof *nv);
        if (!nv)
            return NULL;
        b->v = nv;
        b->cap = ncap;
    }
    x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    snprintf(x->label, sizeof x->label, "%s", label);
    if (htab_put(b->h, label, x) != 0) {
        free(x);
        return NULL;
    }
    b->v[b->n++] = x;
    return x;
}

static int cmp_bucket(const void *a, const void *b)
{
    return strcmp((*(struct bucket *const *)a)->label, (*(struct bucket *const *)b)->label);
}

static int buckets_init(struct buckets *b)
{
    memset(b, 0, sizeof *b);
    b->h = htab_new();
    return b->h ? 0 : -1;
}

static void buckets_sort(struct buckets *b)
{
    if (b->n)
        qsort(b->v, b->n, sizeof *b->v, cmp_bucket);
}

static void buckets_free(struct buckets *b)
{
    htab_destroy(&b->h, free);
    free(b->v);
}

/* Scans prefix (type, store, day) for every day of every scoped store, calling fn. */
static int scan_days(struct ctx *c, uint8_t type, rollup_visit_fn fn, void *arg)
{
    uint8_t k[160];
    for (size_t i = 0; i < c->n; i++)
        for (int32_t d = c->v[i].d1; d <= c->v[i].d2; d++) {
            size_t kl = rollup_key(k, type, c->v[i].s->id, "d", d);
            if (rollup_scan(c->r, c->txn, k, kl, fn, arg) != FW_OK) {
                c->res->oom = true;
                return -1;
            }
        }
    return 0;
}

/* Suffix helpers: a NUL-terminated id at p (within n bytes). */
/* Every id in a key is at most FW_ID_MAX (validated at ingest); a longer one reads as "". */
static void suffix_id(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    char id[FW_ID_MAX + 1];
    if (!rollup_suffix_id(p, n, id))
        id[0] = 0;
    snprintf(out, outlen, "%s", id);
}

/* The bucket named by the id at the start of a key suffix; sets *oom when out of memory. */
static struct bucket *bucket_of(struct buckets *b, const uint8_t *suf, size_t n, int *oom)
{
    char id[FW_ID_MAX + 1];
    suffix_id(suf, n, id, sizeof id);
    struct bucket *x = bucket(b, id);
    if (!x)
        *oom = 1;
    return x;
}

static double ratio(int64_t a, int64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* ---- sales ---------------------------------------------------------------------------------- */

enum { SB_TARGET = SH_N, SB_DUE };

static void q_sales(struct ctx *c)
{
    const char *g = granularity(c);
    if (!g)
        return;
    struct buckets b;
    if (buckets_init(&b)) {
        c->res->oom = true;
        return;
    }
    uint8_t k[160];
    char label[96];
    for (size_t i = 0; i < c->n; i++) {
        const struct scoped *sc = &c->v[i];
        bool hourly = !strcmp(g, "hour");
        struct tz_local now;
        tz_local(sc->s->tz, c->now_ms, &now);
        struct sales_profile prof = {.day = -1};
        for (int32_t d = sc->d1; d <= sc->d2; d++) {
            /* Hours for hour rows (kept hourly_retention_days), the day cell otherwise. */
            for (int h = 0; h < (hourly ? 24 : 1); h++) {
                int64_t v[SH_N];
                size_t kl = hourly ? rollup_key(k, CELL_SALES_HOUR, sc->s->id, "dh", d, h)
                                   : rollup_key(k, CELL_SALES_DAY, sc->s->id, "d", d);
                if (!rollup_get(c->r, c->txn, k, kl, v, SH_N, NULL, 0))
                    continue;
                if (!v[SH_TXNS] && !v[SH_RET_N] && !v[SH_VOID_N])
                    continue;
                period_label(g, d, h, label, sizeof label);
                struct bucket *x = bucket(&b, label);
                if (!x)
                    goto oom;
                for (int j = 0; j < SH_N; j++)
                    x->v[j] += v[j];
                x->tag[0] = 1; /* has sales */
            }
            int64_t t;
            size_t kl = rollup_key(k, CELL_TARGET, sc->s->id, "d", d);
            if (rollup_get(c->r, c->txn, k, kl, &t, 1, NULL, 0) && t > 0 && strcmp(g, "hour")) {
                period_label(g, d, 0, label, sizeof label);
                struct bucket *x = bucket(&b, label);
                if (!x)
                    goto oom;
                x->v[SB_TARGET] += t;
                /* What of it is due by now: all of a past day, none of a day to come. */
                if (d == now.day && prof.day != d)
                    sales_profile_read(c->r, c->txn, sc->s->id, d, &prof);
                x->v[SB_DUE] += d < now.day   ? t
                                : d > now.day ? 0
                                              : sales_due(&prof, t, 100, sc->s->open_min,
                                                          sc->s->close_min, now.hour, now.minute);
            }
        }
    }
    buckets_sort(&b);
    struct rtable t =
        res_table(c->res, "sales", 22, "period", "scope", "transactions", "items_milli", "gross",
                  "discounts", "returns", "returns_cents", "voids", "voids_cents", "net", "cash",
                  "card", "mobile", "voucher", "other", "avg_ticket", "items_per_txn",
                  "return_rate", "target", "attainment", "target_due");
    for (size_t i = 0; i < b.n; i++) {
        const struct bucket *x = b.v[i];
        if (!x->tag[0])
            continue; /* a target alone is not a sales row */
        const int64_t *v = x->v;
        res_row(c->res, &t, "ssiiiiiiiiiiiiiioooOoO", x->label, c->scope_name, v[SH_TXNS],
                v[SH_ITEMS], v[SH_GROSS], v[SH_DISC], v[SH_RET_N], v[SH_RET_C], v[SH_VOID_N],
                v[SH_VOID_C], v[SH_NET], v[SH_TENDER0], v[SH_TENDER0 + 1], v[SH_TENDER0 + 2],
                v[SH_TENDER0 + 3], v[SH_TENDER0 + 4], v[SH_TXNS] != 0, ratio(v[SH_NET], v[SH_TXNS]),
                v[SH_TXNS] != 0,
                v[SH_TXNS] ? (double)v[SH_ITEMS] / 1000.0 / (double)v[SH_TXNS] : 0.0,
                v[SH_GROSS] != 0, ratio(v[SH_RET_C], v[SH_GROSS]), v[SB_TARGET] != 0, v[SB_TARGET],
                v[SB_TARGET] != 0, ratio(v[SH_NET], v[SB_TARGET]), v[SB_TARGET] != 0, v[SB_DUE]);
    }
    buckets_free(&b);
    return;
oom:
    buckets_free(&b);
    c->res->oom = true;
}

/* ---- products and categories ---------------------------------------------------------------- */

struct agg {
    struct buckets *b;
    int oom;
};

static void visit_product(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct agg *a = arg;
    struct bucket *x = bucket_of(a->b, suf, n, &a->oom);
    if (!x)
        return;
    for (int i = 0; i < PR_N; i++)
        x->v[i] += v[i];
    x->v[PR_N] = 1; /* seen */
    if (!x->tag[0] && tag)
        snprintf(x->tag, sizeof x->tag, "%s", tag);
}

static void visit_on_hand_skus(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                               const char *tag)
{
    struct agg *a = arg;
    if (v[OH_QTY] <= 0)
        return;
    char sku[FW_ID_MAX + 1];
    suffix_id(suf, n, sku, sizeof sku);
    struct bucket *x = bucket(a->b, sku);
    if (!x)
        a->oom = 1;
    else if (!x->tag[0] && tag)
        snprintf(x->tag, sizeof x->tag, "%s", tag);
}

static int top_cmp_desc(const void *pa, const void *pb)
{
    const struct bucket *a = *(struct bucket *const *)pa, *b = *(struct bucket *const *)pb;
    if (a->v[PR_QTY] != b->v[PR_QTY])
        return a->v[PR_QTY] > b->v[PR_QTY] ? -1 : 1;
    if (a->v[PR_NET] != b->v[PR_NET])
        return a->v[PR_NET] > b->v[PR_NET] ? -1 : 1;
    return strcmp(a->label, b->label);
}

static int top_cmp_asc(const void *pa, const void *pb)
{
    const struct bucket *a = *(struct bucket *const *)pa, *b = *(struct bucket *const *)pb;
    if (a->v[PR_QTY] != b->v[PR_QTY])
        return a->v[PR_QTY] < b->v[PR_QTY] ? -1 : 1;
    if (a->v[PR_NET] != b->v[PR_NET])
        return a->v[PR_NET] < b->v[PR_NET] ? -1 : 1;
    return strcmp(a->label, b->label);
}

static void q_skus(struct ctx *c, bool top)
{
    struct buckets b;
    struct agg a = {&b, 0};
    if (buckets_init(&b)) {
        c->res->oom = true;
        return;
    }
    if (scan_days(c, CELL_PRODUCT, visit_product, &a) != 0)
        goto out;
    if (!top) {
        uint8_t k[160];
        for (size_t i = 0; i < c->n; i++) {
            size_t kl = rollup_key(k, CELL_ON_HAND, c->v[i].s->id, "");
            if (rollup_scan(c->r, c->txn, k, kl, visit_on_hand_skus, &a) != FW_OK)
                a.oom = 1;
        }
    }
    if (a.oom) {
        c->res->oom = true;
        goto out;
    }
    if (b.n)
        qsort(b.v, b.n, sizeof *b.v, top ? top_cmp_desc : top_cmp_asc);
    uint32_t limit = c->q->limit ? c->q->limit : DEFAULT_LIMIT;
    struct rtable t = res_table(c->res, "skus", 7, "rank", "sku", "category", "qty_milli", "net",
                                "promo_qty_milli", "promo_net");
    for (size_t i = 0; i < b.n && i < limit; i++) {
        const struct bucket *x = b.v[i];
        res_row(c->res, &t, "issiiii", (int64_t)(i + 1), x->label, x->tag, x->v[PR_QTY],
                x->v[PR_NET], x->v[PR_PROMO_QTY], x->v[PR_PROMO_NET]);
    }
out:
    buckets_free(&b);
}

static void visit_category(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                           const char *tag)
{
    struct agg *a = arg;
    struct bucket *x = bucket_of(a->b, suf, n, &a->oom);
    if (!x)
        return;
    x->v[CA_QTY] += v[CA_QTY];
    x->v[CA_NET] += v[CA_NET];
}

static void q_categories(struct ctx *c)
{
    struct buckets b;
    struct agg a = {&b, 0};
    if (buckets_init(&b)) {
        c->res->oom = true;
        return;
    }
    if (scan_days(c, CELL_CATEGORY, visit_category, &a) == 0 && !a.oom) {
        buckets_sort(&b);
        struct rtable t = res_table(c->res, "categories", 3, "category", "qty_milli", "net");
        for (size_t i = 0; i < b.n; i++)
            res_row(c->res, &t, "sii", b.v[i]->label, b.v[i]->v[CA_QTY], b.v[i]->v[CA_NET]);
    } else {
        c->res->oom = true;
    }
    buckets_free(&b);
}

/* ---- cashiers ------------------------------------------------------------------------------- */

struct cashier_agg {
    struct buckets *b;
    const char *store;
    int oom;
};

static void visit_cashier(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct cashier_agg *a = arg;
    char id[FW_ID_MAX + 1], label[2 * FW_ID_MAX + 4];
    suffix_id(suf, n, id, sizeof id);
    snprintf(label, sizeof label, "%s\x1f%s", a->store, id);
    struct bucket *x = bucket(a->b, label);
    if (!x) {
        a->oom = 1;
        return;
    }
    for (int i = 0; i < KA_N; i++)
        x->v[i] += v[i];
}

struct live {
    struct ctx *c;
    struct rtable t;
    const char *store;
};

static void visit_drawer(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                         const char *tag)
{
    struct live *l = arg;
    char id[FW_ID_MAX + 1];
    if (!v[DR_OPEN])
        return;
    suffix_id(suf, n, id, sizeof id);
    res_row(l->c->res, &l->t, "sssi", l->store, id, tag ? tag : "", v[DR_EXPECTED]);
}

static void q_cashiers(struct ctx *c)
{
    struct buckets b;
    if (buckets_init(&b)) {
        c->res->oom = true;
        return;
    }
    uint8_t k[160];
    struct cashier_agg a = {&b, NULL, 0};
    for (size_t i = 0; i < c->n && !a.oom; i++) {
        a.store = c->v[i].s->id;
        for (int32_t d = c->v[i].d1; d <= c->v[i].d2; d++) {
            size_t kl = rollup_key(k, CELL_CASHIER, a.store, "d", d);
            if (rollup_scan(c->r, c->txn, k, kl, visit_cashier, &a) != FW_OK)
                a.oom = 1;
        }
    }
    if (a.oom) {
        c->res->oom = true;
    } else {
        buckets_sort(&b);
        struct rtable t = res_table(c->res, "cashiers", 8, "store", "cashier", "transactions",
                                    "net", "items_milli", "returns", "voids", "over_short");
        for (size_t i = 0; i < b.n; i++) {
            char *sep = strchr(b.v[i]->label, '\x1f');
            *sep = 0;
            const int64_t *v = b.v[i]->v;
            res_row(c->res, &t, "ssiiiiii", b.v[i]->label, sep + 1, v[KA_TXNS], v[KA_NET],
                    v[KA_ITEMS], v[KA_RET_N], v[KA_VOID_N], v[KA_OVER_SHORT]);
        }
        /* Live: the drawers open now and the cash each should hold. */
        struct live l = {
            c, res_table(c->res, "drawers", 4, "store", "drawer", "cashier", "expected_cents"),
            NULL};
        for (size_t i = 0; i < c->n; i++) {
            l.store = c->v[i].s->id;
            size_t kl = rollup_key(k, CELL_DRAWER, l.store, "");
            if (rollup_scan(c->r, c->txn, k, kl, visit_drawer, &l) != FW_OK)
                c->res->oom = true;
        }
    }
    buckets_free(&b);
}

/* ---- complaints ----------------------------------------------------------------------------- */

struct complaint_agg {
    struct ctx *c;
    int64_t q[CQ_N];
    int64_t *fr;
    size_t nfr, frcap;
    struct buckets *by;
    struct rtable open;
    const char *store;
    int64_t sla_ms; /* the store's complaint_sla_hours, as complaint_overdue judges */
    int oom;
};

static void visit_complaints(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                             const char *tag)
{
    struct complaint_agg *a = arg;
    for (int i = 0; i < CQ_N; i++)
        a->q[i] += v[i];
}

static void visit_response(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                           const char *tag)
{
    struct complaint_agg *a = arg;
    if (a->nfr == a->frcap) {
        size_t ncap = a->frcap ? a->frcap * 2 : 64;
        int64_t *nf = realloc(a->fr, ncap * sizeof *nf);
        if (!nf) {
            a->oom = 1;
            return;
        }
        a->fr = nf;
        a->frcap = ncap;
    }
    a->fr[a->nfr++] = v[0];
}

static void visit_complaint_by(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                               const char *tag)
{
    struct complaint_agg *a = arg;
    if (n < 2)
        return;
    const char *dim = suf[0] == 'c' ? "category" : suf[0] == 's' ? "severity" : "channel";
    char val[FW_ID_MAX + 1], label[FW_ID_MAX + 16];
    suffix_id(suf + 1, n - 1, val, sizeof val);
    snprintf(label, sizeof label, "%s\x1f%s", dim, val);
    struct bucket *x = bucket(a->by, label);
    if (!x) {
        a->oom = 1;
        return;
    }
    for (int i = 0; i < 4; i++)
        x->v[i] += v[i];
}

static const char *const sev_names[] = {"", "MINOR", "MAJOR", "CRITICAL"};
static const char *const chan_names[] = {"", "COUNTER", "PHONE", "ONLINE", "REGULATOR"};

static void visit_open(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                       const char *tag)
{
    struct complaint_agg *a = arg;
    if (!v[CX_OPEN] || !v[CX_OPENED_MS])
        return;
    char id[FW_ID_MAX + 1];
    suffix_id(suf, n, id, sizeof id);
    int64_t age = a->c->now_ms - v[CX_OPENED_MS];
    const char *state = !v[CX_RESPONDED_MS] && age > a->sla_ms ? "overdue" : "ok";
    int64_t sev = v[CX_SEVERITY], ch = v[CX_CHANNEL];
    res_row(a->c->res, &a->open, "ssidsssis", a->store, id, v[CX_OPENED_MS],
            (double)age / 3600000.0, sev >= 0 && sev <= 3 ? sev_names[sev] : "",
            ch >= 0 && ch <= 4 ? chan_names[ch] : "", tag ? tag : "",
            (int64_t)(v[CX_RESPONDED_MS] != 0), state);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void q_complaints(struct ctx *c)
{
    struct buckets by;
    struct complaint_agg a = {.c = c, .by = &by};
    if (buckets_init(&by)) {
        c->res->oom = true;
        return;
    }
    if (scan_days(c, CELL_COMPLAINTS, visit_complaints, &a) ||
        scan_days(c, CELL_RESPONSE, visit_response, &a) ||
        scan_days(c, CELL_COMPLAINT_BY, visit_complaint_by, &a) || a.oom) {
        c->res->oom = true;
        goto out;
    }
    struct rtable t =
        res_table(c->res, "complaints", 10, "opened", "responded", "resolved", "escalated",
                  "reopened", "first_responses", "first_response_mean_min",
                  "first_response_p90_min", "within_sla", "within_sla_share");
    const int64_t *q = a.q;
    if (q[CQ_FR_N]) {
        qsort(a.fr, a.nfr, sizeof *a.fr, cmp_i64);
        size_t rank = (9 * a.nfr + 9) / 10; /* ceil(0.9 n) */
        double p90 = a.nfr ? (double)a.fr[rank - 1] / 60000.0 : 0;
        res_row(c->res, &t, "iiiiiiddid", q[CQ_OPENED], q[CQ_RESPONDED], q[CQ_RESOLVED],
                q[CQ_ESCALATED], q[CQ_REOPENED], q[CQ_FR_N],
                (double)q[CQ_FR_SUM] / (double)q[CQ_FR_N] / 60000.0, p90, q[CQ_FR_SLA],
                (double)q[CQ_FR_SLA] / (double)q[CQ_FR_N]);
    } else {
        res_row(c->res, &t, "iiiiiinnin", q[CQ_OPENED], q[CQ_RESPONDED], q[CQ_RESOLVED],
                q[CQ_ESCALATED], q[CQ_REOPENED], (int64_t)0, (int64_t)0);
    }
    buckets_sort(&by);
    struct rtable tb = res_table(c->res, "by_dimension", 6, "dimension", "value", "opened",
                                 "responded", "resolved", "escalated");
    for (size_t i = 0; i < by.n; i++) {
        char *sep = strchr(by.v[i]->label, '\x1f');
        *sep = 0;
        const int64_t *v = by.v[i]->v;
        res_row(c->res, &tb, "ssiiii", by.v[i]->label, sep + 1, v[0], v[1], v[2], v[3]);
    }
    a.open = res_table(c->res, "open", 9, "store", "complaint_id", "opened_ms", "age_h", "severity",
                       "channel", "category", "responded", "sla_state");
    uint8_t k[160];
    for (size_t i = 0; i < c->n; i++) {
        a.store = c->v[i].s->id;
        a.sla_ms = c->v[i].s->complaint_sla_ms;
        size_t kl = rollup_key(k, CELL_COMPLAINT, a.store, "");
        if (rollup_scan(c->r, c->txn, k, kl, visit_open, &a) != FW_OK)
            c->res->oom = true;
    }
out:
    free(a.fr);
    buckets_free(&by);
}

/* Net sales of the scoped stores over their ranges. */
static int64_t scoped_net(struct ctx *c)
{
    uint8_t k[160];
    int64_t net = 0;
    for (size_t i = 0; i < c->n; i++)
        for (int32_t d = c->v[i].d1; d <= c->v[i].d2; d++) {
            int64_t v[SH_N];
            size_t kl = rollup_key(k, CELL_SALES_DAY, c->v[i].s->id, "d", d);
            if (rollup_get(c->r, c->txn, k, kl, v, SH_N, NULL, 0))
                net += v[SH_NET];
        }
    return net;
}

/* ---- stock ---------------------------------------------------------------------------------- */

static const char *const move_names[] = {
    "",       "RECEIVE", "TRANSFER_IN", "TRANSFER_OUT", "RETURN_TO_VENDOR",
    "DAMAGE", "SHRINK",  "ADJUST",      "COUNT"};

struct stock_agg {
    struct ctx *c;
    struct buckets *sold;
    struct rtable t;
    const char *store;
    int64_t moves[9][MV_N];
    int oom;
};

static void visit_sold(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                       const char *tag)
{
    struct stock_agg *a = arg;
    struct bucket *x = bucket_of(a->sold, suf, n, &a->oom);
    if (!x)
        return;
    x->v[0] += v[PR_QTY];
}

static void visit_on_hand(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                          const char *tag)
{
    struct stock_agg *a = arg;
    char sku[FW_ID_MAX + 1];
    suffix_id(suf, n, sku, sizeof sku);
    if (a->c->q->sku[0] && strcmp(sku, a->c->q->sku))
        return;
    const struct bucket *x = htab_get(a->sold->h, sku);
    int64_t sold = x ? x->v[0] : 0, oh = v[OH_QTY];
    const char *status = "ok";
    if (oh <= 0)
        status = "out";
    if (sold > 0) {
        double cover = (double)oh / ((double)sold / 28.0);
        if (oh > 0 && cover < 3.0)
            status = "low";
        res_row(a->c->res, &a->t, "ssiids", a->store, sku, oh, sold, cover, status);
    } else {
        res_row(a->c->res, &a->t, "ssiins", a->store, sku, oh, sold, status);
    }
}

static void visit_moves(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                        const char *tag)
{
    struct stock_agg *a = arg;
    if (n < 1 || suf[0] > 8)
        return;
    for (int i = 0; i < MV_N; i++)
        a->moves[suf[0]][i] += v[i];
}

/* A SKU's moves cell (suffix: sku, NUL, kind): added when it is the SKU asked for. */
static void visit_sku_moves(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                            const char *tag)
{
    struct stock_agg *a = arg;
    size_t l = strlen(a->c->q->sku);
    if (n == l + 2 && !memcmp(suf, a->c->q->sku, l) && suf[l] == 0)
        visit_moves(arg, suf + l + 1, 1, v, nv, tag);
}

/*
 * query stock --sku: the moves of that SKU (its own cells), and the net sales it is judged
 * against are that SKU's (the products cells), so moves, summary and on hand all answer for it.
 * Scans go by (type, store, day), the unit rollup_scan merges memory over LMDB in.
 */
static int scan_sku_moves(struct ctx *c, struct stock_agg *a, int64_t *net)
{
    uint8_t k[160];
    *net = 0;
    for (size_t i = 0; i < c->n; i++)
        for (int32_t d = c->v[i].d1; d <= c->v[i].d2; d++) {
            size_t kl = rollup_key(k, CELL_SKU_MOVES, c->v[i].s->id, "d", d);
            if (rollup_scan(c->r, c->txn, k, kl, visit_sku_moves, a) != FW_OK)
                return -1;
            int64_t v[PR_N];
            kl = rollup_key(k, CELL_PRODUCT, c->v[i].s->id, "ds", d, c->q->sku);
            if (rollup_get(c->r, c->txn, k, kl, v, PR_N, NULL, 0))
                *net += v[PR_NET];
        }
    return 0;
}

static void q_stock(struct ctx *c)
{
    struct buckets sold;
    struct stock_agg a = {.c = c, .sold = &sold};
    if (buckets_init(&sold)) {
        c->res->oom = true;
        return;
    }
    a.t = res_table(c->res, "on_hand", 6, "store", "sku", "on_hand_milli", "sold_28d_milli",
                    "days_of_cover", "status");
    uint8_t k[160];
    for (size_t i = 0; i < c->n && !a.oom; i++) {
        const struct store_info *s = c->v[i].s;
        struct tz_local l;
        tz_local(s->tz, c->now_ms, &l);
        htab_destroy(&sold.h, free);
        free(sold.v);
        if (buckets_init(&sold)) {
            a.oom = 1;
            break;
        }
        for (int32_t d = l.day - 27; d <= l.day; d++) {
            size_t kl = rollup_key(k, CELL_PRODUCT, s->id, "d", d);
            if (rollup_scan(c->r, c->txn, k, kl, visit_sold, &a) != FW_OK)
                a.oom = 1;
        }
        a.store = s->id;
        size_t kl = rollup_key(k, CELL_ON_HAND, s->id, "");
        if (rollup_scan(c->r, c->txn, k, kl, visit_on_hand, &a) != FW_OK)
            a.oom = 1;
    }
    int64_t net = 0;
    if (a.oom ||
        (c->q->sku[0] ? scan_sku_moves(c, &a, &net) : scan_days(c, CELL_MOVES, visit_moves, &a))) {
        c->res->oom = true;
        goto out;
    }
    if (!c->q->sku[0])
        net = scoped_net(c);
    struct rtable tm = res_table(c->res, "moves", 3, "kind", "qty_milli", "value_cents");
    for (int i = 1; i <= 8; i++)
        if (a.moves[i][MV_QTY] || a.moves[i][MV_VALUE])
            res_row(c->res, &tm, "sii", move_names[i], a.moves[i][MV_QTY], a.moves[i][MV_VALUE]);
    /* count_variance_*: net (signed); count_variance_gross_*: without the sign. */
    struct rtable ts = res_table(c->res, "summary", 7, "shrink_value", "net_sales", "shrink_rate",
                                 "count_variance_milli", "count_variance_value",
                                 "count_variance_gross_milli", "count_variance_gross_value");
    int64_t shrink = a.moves[FLOORWALKER__STOCK_MOVE__KIND__DAMAGE][MV_VALUE] +
                     a.moves[FLOORWALKER__STOCK_MOVE__KIND__SHRINK][MV_VALUE];
    const int64_t *count = a.moves[FLOORWALKER__STOCK_MOVE__KIND__COUNT];
    res_row(c->res, &ts, "iioiiii", shrink, net, net > 0,
            net > 0 ? (double)shrink / (double)net : 0.0, count[MV_QTY], count[MV_VALUE],
            count[MV_GROSS_QTY], count[MV_GROSS_VALUE]);
out:
    buckets_free(&sold);
}

/* ---- attendance ----------------------------------------------------------------------------- */

enum { EB_SCHED, EB_WORKED, EB_LATE, EB_EARLY, EB_NOSHOW };

struct att_agg {
    struct ctx *c;
    struct buckets *emp;
    const char *store;
    int64_t no_show_ms; /* the store's no_show_minutes, as no_show judges */
    int64_t net;
    int oom;
};

static struct bucket *emp_bucket(struct att_agg *a, const uint8_t *suf, size_t n)
{
    char id[FW_ID_MAX + 1], label[2 * FW_ID_MAX + 4];
    suffix_id(suf, n, id, sizeof id);
    if (a->c->q->employee_id[0] && strcmp(id, a->c->q->employee_id))
        return NULL;
    snprintf(label, sizeof label, "%s\x1f%s", a->store, id);
    struct bucket *x = bucket(a->emp, label);
    if (!x)
        a->oom = 1;
    return x;
}

static void visit_attendance(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                             const char *tag)
{
    struct bucket *x = emp_bucket(arg, suf, n);
    if (!x)
        return;
    x->v[EB_SCHED] += v[AT_SCHED_MS];
    x->v[EB_WORKED] += v[AT_WORKED_MS];
    x->v[EB_LATE] += v[AT_LATE];
    x->v[EB_EARLY] += v[AT_EARLY];
}

static void visit_day_shift(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                            const char *tag)
{
    struct att_agg *a = arg;
    if (!v[FS_LIVE] || v[FS_CLOCK_IN] || v[FS_START] + a->no_show_ms >= a->c->now_ms)
        return;
    struct bucket *x = emp_bucket(a, suf, n);
    if (x)
        x->v[EB_NOSHOW]++;
}

static void visit_worker(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                         const char *tag)
{
    struct live *l = arg;
    char id[FW_ID_MAX + 1];
    if (!v[WK_IN_MS])
        return;
    suffix_id(suf, n, id, sizeof id);
    if (l->c->q->employee_id[0] && strcmp(id, l->c->q->employee_id))
        return;
    res_row(l->c->res, &l->t, "ssiiO", l->store, id, v[WK_IN_MS], (int64_t)(v[WK_BREAK_START] != 0),
            v[WK_HAS_SHIFT] != 0, v[WK_SHIFT_END]);
}

struct rota_count {
    int64_t now, n;
};

static void visit_rota_now(void *arg, const uint8_t *suf, size_t n, const int64_t *v, size_t nv,
                           const char *tag)
{
    struct rota_count *rc = arg;
    if (tag && tag[0] && rollup_shift_running(v, rc->now))
        rc->n++;
}

static void q_attendance(struct ctx *c)
{
    struct buckets emp;
    struct att_agg a = {.c = c, .emp = &emp};
    if (buckets_init(&emp)) {
        c->res->oom = true;
        return;
    }
    struct rtable ts = res_table(c->res, "attendance", 7, "store", "scheduled_min", "worked_min",
                                 "late", "early_leave", "no_show", "sales_per_labour_hour");
    struct rtable te = res_table(c->res, "employees", 7, "store", "employee", "scheduled_min",
                                 "worked_min", "late", "early_leave", "no_show");
    struct rtable td = res_table(c->res, "on_duty", 3, "period", "store", "on_duty_min");
    uint8_t k[160];
    for (size_t i = 0; i < c->n && !a.oom; i++) {
        const struct scoped *sc = &c->v[i];
        a.store = sc->s->id;
        a.no_show_ms = sc->s->no_show_ms;
        size_t first = emp.n;
        int64_t net = 0;
        for (int32_t d = sc->d1; d <= sc->d2; d++) {
            size_t kl = rollup_key(k, CELL_ATTENDANCE, a.store, "d", d);
            if (rollup_scan(c->r, c->txn, k, kl, visit_attendance, &a) != FW_OK)
                a.oom = 1;
            kl = rollup_key(k, CELL_DAY_SHIFT, a.store, "d", d);
            if (rollup_scan(c->r, c->txn, k, kl, visit_day_shift, &a) != FW_OK)
                a.oom = 1;
            int64_t v[SH_N];
            kl = rollup_key(k, CELL_SALES_DAY, a.store, "d", d);
            if (rollup_get(c->r, c->txn, k, kl, v, SH_N, NULL, 0))
                net += v[SH_NET];
            for (int h = 0; h < 24; h++) {
                int64_t duty;
                kl = rollup_key(k, CELL_ON_DUTY, a.store, "dh", d, h);
                if (rollup_get(c->r, c->txn, k, kl, &duty, 1, NULL, 0) && duty) {
                    char label[32];
                    period_label("hour", d, h, label, sizeof label);
                    res_row(c->res, &td, "ssd", label, a.store, (double)duty / 60000.0);
                }
            }
        }
        int64_t tot[5] = {0};
        for (size_t j = first; j < emp.n; j++)
            for (int f = 0; f < 5; f++)
                tot[f] += emp.v[j]->v[f];
        /* Over the worked minutes shown: seconds of work (a sim run fast) are 0 minutes, and
         * sales over them are none, not a huge rate. */
        int64_t worked_min = tot[EB_WORKED] / 60000;
        res_row(c->res, &ts, "siiiiio", a.store, tot[EB_SCHED] / 60000, worked_min, tot[EB_LATE],
                tot[EB_EARLY], tot[EB_NOSHOW], worked_min > 0,
                worked_min > 0 ? (double)net / ((double)worked_min / 60.0) : 0.0);
    }
    if (a.oom) {
        c->res->oom = true;
        goto out;
    }
    /* Live: who is clocked in now. */
    struct live l = {c,
                     res_table(c->res, "on_shift", 5, "store", "employee", "clocked_in_ms",
                               "on_break", "shift_end_ms"),
                     NULL};
    for (size_t i = 0; i < c->n; i++) {
        l.store = c->v[i].s->id;
        size_t kl = rollup_key(k, CELL_WORKER, l.store, "");
        if (rollup_scan(c->r, c->txn, k, kl, visit_worker, &l) != FW_OK)
            c->res->oom = true;
    }
    /* Live: the shifts on the rota now (those of yesterday too, across midnight) against who
     * is on duty now (clocked in, not on break), understaffed's two figures. */
    struct rtable tr = res_table(c->res, "rota_now", 3, "store", "on_rota", "on_duty");
    for (size_t i = 0; i < c->n; i++) {
        const char *id = c->v[i].s->id;
        struct tz_local now;
        tz_local(c->v[i].s->tz, c->now_ms, &now);
        struct rota_count rc = {c->now_ms, 0};
        for (int32_t d = now.day - 1; d <= now.day; d++) {
            size_t kl = rollup_key(k, CELL_DAY_SHIFT, id, "d", d);
            if (rollup_scan(c->r, c->txn, k, kl, visit_rota_now, &rc) != FW_OK)
                c->res->oom = true;
        }
        int64_t duty = 0;
        size_t kl = rollup_key(k, CELL_ON_DUTY_NOW, id, "");
        rollup_get(c->r, c->txn, k, kl, &duty, 1, NULL, 0);
        res_row(c->res, &tr, "sii", id, rc.n, duty);
    }
    buckets_sort(&emp);
    for (size_t j = 0; j < emp.n; j++) {
        char *sep = strchr(emp.v[j]->label, '\x1f');
        *sep = 0;
        const int64_t *v = emp.v[j]->v;
        res_row(c->res, &te, "ssiiiii", emp.v[j]->label, sep + 1, v[EB_SCHED] / 60000,
                v[EB_WORKED] / 60000, v[EB_LATE], v[EB_EARLY], v[EB_NOSHOW]);
    }
out:
    buckets_free(&emp);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

void reports_run(struct rollup *r, struct store *st, const Floorwalker__Query *q,
                 struct result *res, int64_t now_ms)
{
    struct ctx c = {.r = r, .q = q, .res = res, .now_ms = now_ms};
    if (resolve_scope(&c) != 0)
        return;
    struct store_txn t;
    store_txn_begin(st, &t, true);
    if (t.err) {
        res_error(res, "cannot read the database");
        return;
    }
    c.txn = &t;
    switch (q->kind) {
    case FLOORWALKER__QUERY__KIND__SALES:
        q_sales(&c);
        break;
    case FLOORWALKER__QUERY__KIND__TOP_SKUS:
        q_skus(&c, true);
        break;
    case FLOORWALKER__QUERY__KIND__BOTTOM_SKUS:
        q_skus(&c, false);
        break;
    case FLOORWALKER__QUERY__KIND__CATEGORIES:
        q_categories(&c);
        break;
    case FLOORWALKER__QUERY__KIND__CASHIERS:
        q_cashiers(&c);
        break;
    case FLOORWALKER__QUERY__KIND__COMPLAINTS:
        q_complaints(&c);
        break;
    case FLOORWALKER__QUERY__KIND__STOCK:
        q_stock(&c);
        break;
    case FLOORWALKER__QUERY__KIND__ATTENDANCE:
        q_attendance(&c);
        break;
    default:
        res_error(res, "not a rollup query");
        break;
    }
    store_txn_abort(&t);
}

/* ---- rollup reports on the PUB socket ---------------------------------------------------------
 */

/* Keeps only the sales row of one period (the hour being reported). */
static void keep_period(Floorwalker__QueryResult *r, const char *period)
{
    for (size_t i = 0; i < r->n_tables; i++) {
        Floorwalker__Table *t = r->tables[i];
        size_t j = 0;
        for (size_t k = 0; k < t->n_rows; k++)
            if (t->rows[k]->n_cells && t->rows[k]->cells[0]->v_case == FLOORWALKER__VALUE__V_S &&
                !strcmp(t->rows[k]->cells[0]->s, period))
                t->rows[j++] = t->rows[k];
        t->n_rows = j;
    }
}

/* Publishes the rollup report of a store-local hour (and of the day, at its end) on
 * rollup/<region>/<store>/hour|day: a QueryResult with the same tables as the queries. */
void reports_publish(struct rollup *r, struct store *st, struct alerts *a,
                     const struct store_info *s, int32_t day, int hour, bool day_end, int64_t now)
{
    struct arena ar;
    arena_init(&ar, 64 << 20);
    char d[11], period[32], topic[200];
    tz_format_day(day, d);
    for (int pass = 0; pass < (day_end ? 2 : 1); pass++) {
        struct result res = {.a = &ar, .r = FLOORWALKER__QUERY_RESULT__INIT};
        Floorwalker__Query q = FLOORWALKER__QUERY__INIT;
        q.store_id = (char *)s->id;
        q.from_day = d;
        q.to_day = d;
        if (pass == 0) {
            q.kind = FLOORWALKER__QUERY__KIND__SALES;
            q.granularity = (char *)"hour";
            reports_run(r, st, &q, &res, now);
            snprintf(period, sizeof period, "%s %02d:00", d, hour);
            keep_period(&res.r, period);
        } else {
            static const Floorwalker__Query__Kind kinds[] = {
                FLOORWALKER__QUERY__KIND__SALES, FLOORWALKER__QUERY__KIND__CASHIERS,
                FLOORWALKER__QUERY__KIND__COMPLAINTS, FLOORWALKER__QUERY__KIND__STOCK,
                FLOORWALKER__QUERY__KIND__ATTENDANCE};
            for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                q.kind = kinds[i];
                reports_run(r, st, &q, &res, now);
            }
        }
        if (res.oom || res.r.status != FLOORWALKER__QUERY_RESULT__STATUS__OK) {
            log_warn("rollup report of %s %s: %s", s->id, d,
                     res.oom ? "out of memory" : res.r.error);
            break;
        }
        size_t n = floorwalker__query_result__get_packed_size(&res.r);
        uint8_t *buf = arena_alloc(&ar, n ? n : 1);
        if (buf) {
            floorwalker__query_result__pack(&res.r, buf);
            snprintf(topic, sizeof topic, "rollup/%s/%s/%s", s->region, s->id,
                     pass ? "day" : "hour");
            alerts_publish(a, topic, buf, n);
        }
    }
    arena_destroy(&ar);
}
