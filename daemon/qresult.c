#include "qresult.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fwunits.h"
#include "rollup.h"
#include "tz.h"

#define U(x) FLOORWALKER__TABLE__UNIT__##x

/*
 * The unit of every column the daemon's tables have: (table, column) first, then the column
 * alone. A column missing here goes out as UNIT_UNSPECIFIED (clients show it raw);
 * tests/integration/test_units.py asks every query kind and fails on one.
 */
static const struct {
    const char *table, *col;
    Floorwalker__Table__Unit unit;
} catalogue[] = {
    {"by_dimension", "value", U(TEXT)},
    {"daemon", "value", U(NUMBER)},
    {"alerts", "value", U(COUNT)}, /* the rule's own measure: see the message */
    {"alerts", "threshold", U(COUNT)},
    {NULL, "store", U(STORE)},
    {NULL, "store_name", U(STORE_NAME)},
    /* text */
    {NULL, "period", U(TEXT)},
    {NULL, "scope", U(TEXT)},
    {NULL, "sku", U(TEXT)},
    {NULL, "category", U(TEXT)},
    {NULL, "cashier", U(TEXT)},
    {NULL, "drawer", U(TEXT)},
    {NULL, "employee", U(TEXT)},
    {NULL, "kind", U(TEXT)},
    {NULL, "code", U(TEXT)},
    {NULL, "terminal", U(TEXT)},
    {NULL, "severity", U(TEXT)},
    {NULL, "channel", U(TEXT)},
    {NULL, "status", U(TEXT)},
    {NULL, "dimension", U(TEXT)},
    {NULL, "rule", U(TEXT)},
    {NULL, "state", U(TEXT)},
    {NULL, "region", U(TEXT)},
    {NULL, "subject", U(TEXT)},
    {NULL, "message", U(TEXT)},
    {NULL, "alert_id", U(TEXT)},
    {NULL, "complaint_id", U(TEXT)},
    {NULL, "reason", U(TEXT)},
    {NULL, "name", U(TEXT)},
    {NULL, "exporter", U(TEXT)},
    {NULL, "sla_state", U(TEXT)},
    {NULL, "timezone", U(TEXT)},
    {NULL, "currency", U(TEXT)},
    /* counts */
    {NULL, "transactions", U(COUNT)},
    {NULL, "returns", U(COUNT)},
    {NULL, "voids", U(COUNT)},
    {NULL, "late", U(COUNT)},
    {NULL, "early_leave", U(COUNT)},
    {NULL, "no_show", U(COUNT)},
    {NULL, "opened", U(COUNT)},
    {NULL, "responded", U(COUNT)},
    {NULL, "resolved", U(COUNT)},
    {NULL, "escalated", U(COUNT)},
    {NULL, "reopened", U(COUNT)},
    {NULL, "first_responses", U(COUNT)},
    {NULL, "within_sla", U(COUNT)},
    {NULL, "rank", U(COUNT)},
    {NULL, "epoch", U(COUNT)},
    {NULL, "seq", U(COUNT)},
    {NULL, "acked_seq", U(COUNT)},
    {NULL, "pos", U(COUNT)},
    {NULL, "bytes", U(COUNT)},
    {NULL, "active", U(COUNT)},
    {NULL, "fired", U(COUNT)},
    {NULL, "pub_seq", U(COUNT)},
    {NULL, "events", U(COUNT)},
    {NULL, "count", U(COUNT)},
    {NULL, "commits", U(COUNT)},
    {NULL, "below_us", U(COUNT)},
    {NULL, "up_to_events", U(COUNT)},
    {NULL, "on_duty", U(COUNT)},
    {NULL, "on_rota", U(COUNT)},
    {NULL, "on_break", U(COUNT)},
    {NULL, "spool_depth", U(COUNT)},
    {NULL, "reported_depth", U(COUNT)},
    {NULL, "currency_digits", U(COUNT)},
    {NULL, "lag_events", U(COUNT)},
    /* quantities */
    {NULL, "items_milli", U(QTY_MILLI)},
    {NULL, "qty_milli", U(QTY_MILLI)},
    {NULL, "promo_qty_milli", U(QTY_MILLI)},
    {NULL, "on_hand_milli", U(QTY_MILLI)},
    {NULL, "sold_28d_milli", U(QTY_MILLI)},
    {NULL, "count_variance_milli", U(QTY_MILLI)},
    {NULL, "count_variance_gross_milli", U(QTY_MILLI)},
    /* money */
    {NULL, "gross", U(MONEY)},
    {NULL, "discounts", U(MONEY)},
    {NULL, "returns_cents", U(MONEY)},
    {NULL, "voids_cents", U(MONEY)},
    {NULL, "net", U(MONEY)},
    {NULL, "cash", U(MONEY)},
    {NULL, "card", U(MONEY)},
    {NULL, "mobile", U(MONEY)},
    {NULL, "voucher", U(MONEY)},
    {NULL, "other", U(MONEY)},
    {NULL, "avg_ticket", U(MONEY)},
    {NULL, "target", U(MONEY)},
    {NULL, "target_due", U(MONEY)},
    {NULL, "promo_net", U(MONEY)},
    {NULL, "over_short", U(MONEY)},
    {NULL, "expected_cents", U(MONEY)},
    {NULL, "value_cents", U(MONEY)},
    {NULL, "shrink_value", U(MONEY)},
    {NULL, "net_sales", U(MONEY)},
    {NULL, "count_variance_value", U(MONEY)},
    {NULL, "count_variance_gross_value", U(MONEY)},
    {NULL, "sales_per_labour_hour", U(MONEY)},
    /* plain numbers, ratios */
    {NULL, "items_per_txn", U(NUMBER)},
    {NULL, "days_of_cover", U(NUMBER)},
    {NULL, "return_rate", U(RATIO)},
    {NULL, "attainment", U(RATIO)},
    {NULL, "within_sla_share", U(RATIO)},
    {NULL, "shrink_rate", U(RATIO)},
    /* durations */
    {NULL, "scheduled_min", U(DURATION_MIN)},
    {NULL, "worked_min", U(DURATION_MIN)},
    {NULL, "first_response_mean_min", U(DURATION_MIN)},
    {NULL, "first_response_p90_min", U(DURATION_MIN)},
    {NULL, "on_duty_min", U(DURATION_MIN)},
    {NULL, "age_h", U(DURATION_H)},
    {NULL, "lag_ms", U(DURATION_MS)},
    /* instants */
    {NULL, "received_ms", U(TIME_MS)},
    {NULL, "updated_ms", U(TIME_MS)},
    {NULL, "opened_ms", U(TIME_MS)},
    {NULL, "clocked_in_ms", U(TIME_MS)},
    {NULL, "shift_end_ms", U(TIME_MS)},
    {NULL, "first_fired_ms", U(TIME_MS)},
    {NULL, "reported_ms", U(TIME_MS)},
};

Floorwalker__Table__Unit res_unit(const char *table, const char *col)
{
    for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++)
        if ((!catalogue[i].table || !strcmp(catalogue[i].table, table)) &&
            !strcmp(catalogue[i].col, col))
            return catalogue[i].unit;
    return U(UNIT_UNSPECIFIED);
}

enum rcol_kind { RC_COPY, RC_STORE_NAME, RC_LOCAL };

struct rcol {
    int src;
    enum rcol_kind kind;
};

static void *grow_ptrs(struct arena *a, void *old, size_t n, size_t *cap)
{
    if (n < *cap)
        return old;
    size_t ncap = *cap ? *cap * 2 : 8;
    void **p = arena_alloc(a, ncap * sizeof(void *));
    if (p && old)
        memcpy(p, old, *cap * sizeof(void *));
    *cap = ncap;
    return p;
}

/* "<base>_local" for a "<base>_ms" column, in the arena. */
static char *local_name(struct arena *a, const char *col)
{
    size_t n = strlen(col);
    char *out = arena_alloc(a, n + 8);
    if (out)
        snprintf(out, n + 8, "%.*s_local", (int)(n > 3 ? n - 3 : n), col);
    return out;
}

/* The columns with the added ones, their units and where each comes from. */
static bool plan_table(struct result *res, struct rtable *rt, const char *name, const char **src,
                       int nsrc)
{
    Floorwalker__Table *t = rt->t;
    int nout = nsrc;
    for (int i = 0; i < nsrc && res->env; i++) {
        Floorwalker__Table__Unit u = res_unit(name, src[i]);
        nout += u == U(STORE) || u == U(TIME_MS);
    }
    char **cols = arena_alloc(res->a, (size_t)nout * sizeof *cols);
    Floorwalker__Table__Unit *units = arena_alloc(res->a, (size_t)nout * sizeof *units);
    struct rcol *plan = arena_alloc(res->a, (size_t)nout * sizeof *plan);
    if (!cols || !units || !plan)
        return false;
    int j = 0;
    rt->store_src = rt->term_src = -1;
    for (int i = 0; i < nsrc; i++) {
        Floorwalker__Table__Unit u = res_unit(name, src[i]);
        cols[j] = (char *)src[i];
        units[j] = u;
        plan[j++] = (struct rcol){i, RC_COPY};
        if (u == U(STORE) && rt->store_src < 0)
            rt->store_src = i;
        if (!strcmp(src[i], "terminal"))
            rt->term_src = i;
        if (!res->env)
            continue;
        if (u == U(STORE)) {
            cols[j] = "store_name";
            units[j] = U(STORE_NAME);
            plan[j++] = (struct rcol){i, RC_STORE_NAME};
        } else if (u == U(TIME_MS)) {
            if (!(cols[j] = local_name(res->a, src[i])))
                return false;
            units[j] = U(TIME_LOCAL);
            plan[j++] = (struct rcol){i, RC_LOCAL};
        }
    }
    t->columns = cols;
    t->n_columns = (size_t)nout;
    t->units = units;
    t->n_units = (size_t)nout;
    rt->plan = nout > nsrc ? plan : NULL;
    rt->nsrc = nsrc;
    return true;
}

struct rtable res_table(struct result *res, const char *name, int ncols, ...)
{
    struct rtable rt = {NULL, 0, NULL, 0, -1, -1};
    Floorwalker__Table *t = arena_alloc(res->a, sizeof *t);
    const char **src = arena_alloc(res->a, (size_t)ncols * sizeof *src);
    Floorwalker__Table **tabs = grow_ptrs(res->a, res->r.tables, res->r.n_tables, &res->tables_cap);
    if (!t || !src || !tabs) {
        res->oom = true;
        return rt;
    }
    floorwalker__table__init(t);
    t->name = (char *)name;
    va_list ap;
    va_start(ap, ncols);
    for (int i = 0; i < ncols; i++)
        src[i] = va_arg(ap, const char *);
    va_end(ap);
    rt.t = t;
    if (!plan_table(res, &rt, name, src, ncols)) {
        res->oom = true;
        rt.t = NULL;
        return rt;
    }
    if (res->env) {
        t->currency = (char *)res->env->currency;
        t->currency_digits = (uint32_t)res->env->currency_digits;
    }
    res->r.tables = tabs;
    tabs[res->r.n_tables++] = t;
    return rt;
}

/* The zone of a row: its store's, else its terminal's store's; NULL (UTC) if neither. */
static const struct tz *row_zone(struct result *res, const struct rtable *rt,
                                 const Floorwalker__Value *vals)
{
    const char *store = NULL;
    if (rt->store_src >= 0 && vals[rt->store_src].v_case == FLOORWALKER__VALUE__V_S)
        store = vals[rt->store_src].s;
    else if (rt->term_src >= 0 && vals[rt->term_src].v_case == FLOORWALKER__VALUE__V_S) {
        const struct config_terminal *ct =
            config_find_terminal(res->env->cfg, vals[rt->term_src].s);
        store = ct ? ct->store : NULL;
    }
    if (!store || !res->env->rollup)
        return NULL;
    const struct store_info *si = rollup_store(res->env->rollup, store);
    return si ? si->tz : NULL;
}

/* The row's cells in the table's column order, the added ones computed from vals. */
static Floorwalker__Value **plan_row(struct result *res, const struct rtable *rt,
                                     Floorwalker__Value *vals)
{
    size_t nout = rt->t->n_columns;
    Floorwalker__Value **cells = arena_alloc(res->a, nout * sizeof *cells);
    Floorwalker__Value *added = arena_alloc(res->a, nout * sizeof *added);
    if (!cells || !added)
        return NULL;
    for (size_t j = 0; j < nout; j++) {
        const struct rcol *c = &rt->plan[j];
        const Floorwalker__Value *v = &vals[c->src];
        if (c->kind == RC_COPY) {
            cells[j] = &vals[c->src];
            continue;
        }
        floorwalker__value__init(&added[j]);
        cells[j] = &added[j];
        char buf[FW_FMT_MAX];
        if (c->kind == RC_STORE_NAME && v->v_case == FLOORWALKER__VALUE__V_S) {
            added[j].v_case = FLOORWALKER__VALUE__V_S;
            added[j].s = (char *)config_store_name(res->env->cfg, v->s);
        } else if (c->kind == RC_LOCAL && v->v_case == FLOORWALKER__VALUE__V_I && v->i > 0) {
            fw_fmt_iso8601(buf, sizeof buf, v->i, row_zone(res, rt, vals));
            added[j].v_case = FLOORWALKER__VALUE__V_S;
            if (!(added[j].s = arena_strdup(res->a, buf)))
                return NULL;
        }
    }
    return cells;
}

void res_row(struct result *res, struct rtable *rt, const char *fmt, ...)
{
    Floorwalker__Table *t = rt->t;
    if (!t)
        return;
    size_t n = strlen(fmt);
    if (rt->plan && n != (size_t)rt->nsrc) {
        res->oom = true; /* a programming error: a row that does not fit its table */
        return;
    }
    Floorwalker__Row *row = arena_alloc(res->a, sizeof *row);
    Floorwalker__Value *vals = arena_alloc(res->a, n * sizeof *vals);
    Floorwalker__Value **cells = arena_alloc(res->a, (n ? n : 1) * sizeof *cells);
    Floorwalker__Row **rows = grow_ptrs(res->a, t->rows, t->n_rows, &rt->cap);
    if (!row || !vals || !cells || !rows) {
        res->oom = true;
        return;
    }
    floorwalker__row__init(row);
    va_list ap;
    va_start(ap, fmt);
    for (size_t i = 0; i < n; i++) {
        floorwalker__value__init(&vals[i]);
        switch (fmt[i]) {
        case 's':
            vals[i].v_case = FLOORWALKER__VALUE__V_S;
            vals[i].s = arena_strdup(res->a, va_arg(ap, const char *));
            if (!vals[i].s)
                res->oom = true;
            break;
        case 'i':
            vals[i].v_case = FLOORWALKER__VALUE__V_I;
            vals[i].i = va_arg(ap, int64_t);
            break;
        case 'd':
            vals[i].v_case = FLOORWALKER__VALUE__V_D;
            vals[i].d = va_arg(ap, double);
            break;
        case 'o': { /* optional double: int present, double value */
            int present = va_arg(ap, int);
            double d = va_arg(ap, double);
            if (present) {
                vals[i].v_case = FLOORWALKER__VALUE__V_D;
                vals[i].d = d;
            }
            break;
        }
        case 'O': { /* optional int64: int present, int64_t value */
            int present = va_arg(ap, int);
            int64_t x = va_arg(ap, int64_t);
            if (present) {
                vals[i].v_case = FLOORWALKER__VALUE__V_I;
                vals[i].i = x;
            }
            break;
        }
        default: /* 'n': no value */
            break;
        }
        cells[i] = &vals[i];
    }
    va_end(ap);
    row->cells = cells;
    row->n_cells = n;
    if (rt->plan) {
        if (!(row->cells = plan_row(res, rt, vals))) {
            res->oom = true;
            return;
        }
        row->n_cells = t->n_columns;
    }
    t->rows = rows;
    t->rows[t->n_rows++] = row;
}

__attribute__((format(printf, 3, 0))) static void
res_status(struct result *res, Floorwalker__QueryResult__Status status, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    res->r.status = status;
    res->r.error = arena_strdup(res->a, buf);
}

void res_error(struct result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    res_status(res, FLOORWALKER__QUERY_RESULT__STATUS__ERROR, fmt, ap);
    va_end(ap);
}

void res_not_found(struct result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    res_status(res, FLOORWALKER__QUERY_RESULT__STATUS__NOT_FOUND, fmt, ap);
    va_end(ap);
}

void res_store_info(struct result *res, const char *store)
{
    for (size_t i = 0; i < res->r.n_stores; i++)
        if (!strcmp(res->r.stores[i]->id, store))
            return;
    Floorwalker__StoreInfo *si = arena_alloc(res->a, sizeof *si);
    Floorwalker__StoreInfo **v =
        grow_ptrs(res->a, res->r.stores, res->r.n_stores, &res->stores_cap);
    if (!si || !v) {
        res->oom = true;
        return;
    }
    floorwalker__store_info__init(si);
    const char *code;
    int digits;
    config_store_currency(res->env->cfg, store, &code, &digits);
    const struct store_info *ri = res->env->rollup ? rollup_store(res->env->rollup, store) : NULL;
    si->id = arena_strdup(res->a, store);
    si->name = (char *)config_store_name(res->env->cfg, store);
    si->region =
        ri ? arena_strdup(res->a, ri->region) : (char *)config_store_region(res->env->cfg, store);
    si->timezone = ri && ri->tz ? (char *)tz_name(ri->tz) : "UTC";
    si->currency = (char *)code;
    si->currency_digits = (uint32_t)digits;
    if (!si->id || !si->region) {
        res->oom = true;
        return;
    }
    res->r.stores = v;
    v[res->r.n_stores++] = si;
}

void res_finish(struct result *res)
{
    if (!res->env || res->oom || res->r.status != FLOORWALKER__QUERY_RESULT__STATUS__OK)
        return;
    for (size_t i = 0; i < res->r.n_tables; i++) {
        const Floorwalker__Table *t = res->r.tables[i];
        for (size_t c = 0; c < t->n_units; c++) {
            /* A "scope" column names a store, a region or the chain: its stores are described
             * too, so clients can show the store's name there. */
            bool scope = !strcmp(t->columns[c], "scope");
            if (t->units[c] != U(STORE) && !scope)
                continue;
            for (size_t r = 0; r < t->n_rows; r++) {
                const Floorwalker__Value *v = t->rows[r]->cells[c];
                if (v->v_case != FLOORWALKER__VALUE__V_S || !v->s[0])
                    continue;
                /* (only a configured store has a name to show) */
                if (!scope || config_find_store(res->env->cfg, v->s))
                    res_store_info(res, v->s);
            }
        }
    }
}
